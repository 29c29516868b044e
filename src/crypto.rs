//! Personal data encrypted at rest (GB/T 39786, 等保2.0 三级 数据保密性): members' resident
//! ID numbers and phone numbers.
//!
//! **Algorithms.** SM4 (GB/T 32907) in GCM mode (`AesGcm<Sm4, U12>`, the construction of
//! RFC 8998) with a random 96-bit nonce per value and a 128-bit tag; SM3-HMAC (GB/T 32905
//! over RFC 2104) for key derivation and for the blind index.
//!
//! **Stored form.** `v1.<key id>.<base64url(nonce ‖ ciphertext ‖ tag)>`. The associated data
//! is `yaoshi|v1|<key id>|<column>` (e.g. `member.phone`), so a value copied into another
//! column, or relabelled with another key id, fails authentication. An empty phone is stored
//! empty: it says only that no phone is on file, and every search or rotation skips it.
//! A value not starting with `v1.` is plaintext from before encryption; reading one is an
//! error (the start-up pass encrypts them all before the server answers).
//!
//! **Keys** come from a key file named by `YAOSHI_KEY_FILE` / `key_file`, never from the
//! database. It is text:
//!
//! ```text
//! index <64 hex>        # master of the blind-index key; never rotated
//! key k1 <64 hex>       # a data master key; any number of them
//! key k2 <64 hex>
//! current k2            # the key new values are written under
//! ```
//!
//! Every master is 32 random bytes. Working keys are derived with SM3-HMAC under distinct
//! labels: the SM4 key of key `k` is the first 16 bytes of `HMAC-SM3(master_k, "yaoshi v1
//! SM4-GCM data key")`; the blind-index key is `HMAC-SM3(index master, "yaoshi v1 SM3-HMAC
//! blind index")`.
//!
//! **Why a separate index master.** Equality lookups (the full ID number in the search box,
//! import matching, uniqueness) go through `id_hash = HMAC-SM3(index key, "member.id_number"
//! ‖ 0 ‖ id)`. If that key followed the current data key, every hash would change at a
//! rotation and lookups would miss the rows not yet re-encrypted. So it has its own master,
//! generated once with the file. Rotating data keys never touches it; rotating the index key
//! itself would mean recomputing every hash and is not offered.
//!
//! **The 4-digit search.** `id_suffix` used to hold the last four characters of the ID in
//! plaintext. Together with `birth_date` and `gender` (plaintext, used for sorting and rules)
//! they leave only the 6-digit region code unknown, and the check character in the suffix
//! rules out ten in eleven of those: a database dump would give each ID number away among a
//! handful of candidates. So `id_suffix` now holds a keyed hash of the four characters as
//! well (64 bits, `HMAC-SM3(index key, "member.id_suffix" ‖ 0 ‖ suffix)`), and the search by
//! the last four hashes the query the same way. Without the key file the stored values
//! reveal only which members share a suffix.
//!
//! See docs/CRYPTO.md for the procedures (first start, new key, rotation, backups).

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use aes_gcm::aead::consts::U12;
use aes_gcm::aead::generic_array::GenericArray;
use aes_gcm::{AeadInPlace, AesGcm, KeyInit};
use anyhow::Context;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sm3::Sm3;
use sm4::Sm4;
use zeroize::Zeroizing;

type Sm4Gcm = AesGcm<Sm4, U12>;
pub type HmacSm3 = Hmac<Sm3>;

/// The format version written in front of every stored value.
pub const VERSION: &str = "v1";
pub const PREFIX: &str = "v1.";
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
const LABEL_DATA: &[u8] = b"yaoshi v1 SM4-GCM data key";
const LABEL_INDEX: &[u8] = b"yaoshi v1 SM3-HMAC blind index";
const LABEL_SEAL: &[u8] = b"yaoshi v1 SM3-HMAC audit archive seal";
const LABEL_CHAIN: &[u8] = b"yaoshi v1 SM3-HMAC audit chain";
const LABEL_BACKUP: &[u8] = b"yaoshi v1 SM3-HMAC backup manifest";

/// An encrypted column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    IdNumber,
    Phone,
    /// A user's TOTP secret (base32), enabled or awaiting confirmation.
    TotpSecret,
    /// The second half of a one-time password awaiting a second admin's confirmation.
    ApprovalSecret,
}

impl Field {
    /// The table and column, bound into the ciphertext as associated data.
    pub fn column(self) -> &'static str {
        match self {
            Field::IdNumber => "member.id_number",
            Field::Phone => "member.phone",
            // Pending and enabled secrets share one label: enrolment moves the value over.
            Field::TotpSecret => "app_user.totp_secret",
            Field::ApprovalSecret => "admin_approval.second_half",
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error("密文格式不正确")]
    Malformed,
    #[error("缺少密钥 {0}：数据由该密钥加密，但密钥文件中没有它")]
    UnknownKey(String),
    #[error("解密失败：密文被篡改，或密钥与数据不匹配")]
    Tampered,
    #[error("数据库中的个人信息未加密")]
    Plaintext,
    #[error("加密失败")]
    Encrypt,
}

/// What a key file holds: masters by id, the blind-index master, the current id.
pub struct KeyFile {
    pub index: Zeroizing<[u8; 32]>,
    pub keys: Vec<(String, Zeroizing<[u8; 32]>)>,
    pub current: String,
}

impl fmt::Debug for KeyFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyFile")
            .field(
                "keys",
                &self.keys.iter().map(|(id, _)| id).collect::<Vec<_>>(),
            )
            .field("current", &self.current)
            .finish_non_exhaustive()
    }
}

/// Key ids: ASCII letters, digits, `-` and `_`, at most 32 (no `.`, the separator).
pub fn valid_key_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 32
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn random_master() -> Zeroizing<[u8; 32]> {
    let mut k = Zeroizing::new([0u8; 32]);
    rand::rngs::OsRng.fill_bytes(k.as_mut());
    k
}

fn parse_master(hex_text: &str) -> Option<Zeroizing<[u8; 32]>> {
    let mut k = Zeroizing::new([0u8; 32]);
    hex::decode_to_slice(hex_text, k.as_mut()).ok()?;
    Some(k)
}

impl KeyFile {
    /// A fresh file: a new index master and one data key, `k1`, current.
    pub fn generate() -> KeyFile {
        KeyFile {
            index: random_master(),
            keys: vec![("k1".to_string(), random_master())],
            current: "k1".to_string(),
        }
    }

    pub fn parse(text: &str) -> Result<KeyFile, String> {
        let mut index = None;
        let mut keys: Vec<(String, Zeroizing<[u8; 32]>)> = Vec::new();
        let mut current = None;
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let n = i + 1;
            let parts: Vec<&str> = line.split_whitespace().collect();
            match parts.as_slice() {
                ["index", hex_text] => {
                    if index.is_some() {
                        return Err(format!("第 {n} 行：index 只能有一行"));
                    }
                    index = Some(
                        parse_master(hex_text)
                            .ok_or_else(|| format!("第 {n} 行：index 应为64位十六进制"))?,
                    );
                }
                ["key", id, hex_text] => {
                    if !valid_key_id(id) {
                        return Err(format!(
                            "第 {n} 行：密钥编号“{id}”只能由字母、数字、- 和 _ 组成（不超过32个字符）"
                        ));
                    }
                    if keys.iter().any(|(k, _)| k == id) {
                        return Err(format!("第 {n} 行：密钥编号 {id} 重复"));
                    }
                    let k = parse_master(hex_text)
                        .ok_or_else(|| format!("第 {n} 行：密钥 {id} 应为64位十六进制"))?;
                    keys.push((id.to_string(), k));
                }
                ["current", id] => {
                    if current.is_some() {
                        return Err(format!("第 {n} 行：current 只能有一行"));
                    }
                    current = Some(id.to_string());
                }
                _ => {
                    return Err(format!(
                        "第 {n} 行无法识别（应为 index <十六进制>、key <编号> <十六进制> 或 current <编号>）"
                    ))
                }
            }
        }
        let index = index.ok_or("缺少 index 行（盲索引主密钥）")?;
        let current = current.ok_or("缺少 current 行（当前密钥编号）")?;
        if !keys.iter().any(|(k, _)| *k == current) {
            return Err(format!("当前密钥 {current} 不在文件中"));
        }
        Ok(KeyFile {
            index,
            keys,
            current,
        })
    }

    pub fn to_text(&self) -> String {
        let mut s = String::from(
            "# 钥匙 Yaoshi 个人信息加密密钥。请移出数据目录、单独备份；丢失后已加密的身份证号和手机号无法恢复。\n\
             # index：盲索引主密钥（永不更换）；key <编号>：数据主密钥；current：新数据使用的密钥。\n",
        );
        s.push_str(&format!("index {}\n", hex::encode(self.index.as_ref())));
        for (id, k) in &self.keys {
            s.push_str(&format!("key {id} {}\n", hex::encode(k.as_ref())));
        }
        s.push_str(&format!("current {}\n", self.current));
        s
    }

    /// Adds a new random key (`k<n+1>`) and makes it current; returns its id.
    pub fn add_key(&mut self) -> String {
        let mut n = self.keys.len() + 1;
        while self.keys.iter().any(|(k, _)| *k == format!("k{n}")) {
            n += 1;
        }
        let id = format!("k{n}");
        self.keys.push((id.clone(), random_master()));
        self.current = id.clone();
        id
    }

    pub fn read(path: &Path) -> anyhow::Result<KeyFile> {
        let text = Zeroizing::new(
            std::fs::read_to_string(path)
                .with_context(|| format!("读取密钥文件 {} 失败", path.display()))?,
        );
        warn_if_readable_by_others(path);
        KeyFile::parse(&text)
            .map_err(|e| anyhow::anyhow!("密钥文件 {} 格式错误：{e}", path.display()))
    }

    /// Replaces the file: written aside (mode 0600), synced, then renamed over it.
    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        let tmp = write_aside(path, &self.to_text())?;
        std::fs::rename(&tmp, path)
            .with_context(|| format!("写入密钥文件 {} 失败", path.display()))?;
        sync_dir(path);
        Ok(())
    }

    /// Creates the file only if none exists yet (two processes starting at once on a new
    /// data directory must not both write one). Returns false if another was there first.
    pub fn create_new(&self, path: &Path) -> anyhow::Result<bool> {
        let tmp = write_aside(path, &self.to_text())?;
        let linked = std::fs::hard_link(&tmp, path);
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => {
                sync_dir(path);
                Ok(true)
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(e).with_context(|| format!("创建密钥文件 {} 失败", path.display())),
        }
    }
}

fn write_aside(path: &Path, text: &str) -> anyhow::Result<PathBuf> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("创建目录 {} 失败", dir.display()))?;
    }
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(
        ".{}-{:08x}.tmp",
        std::process::id(),
        rand::random::<u32>()
    ));
    let tmp = path.with_file_name(name);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(&tmp)
        .with_context(|| format!("创建密钥文件 {} 失败", tmp.display()))?;
    f.write_all(text.as_bytes())
        .and_then(|()| f.sync_all())
        .with_context(|| format!("写入密钥文件 {} 失败", tmp.display()))?;
    Ok(tmp)
}

/// Makes a rename or link in the key file's directory durable (best effort).
fn sync_dir(path: &Path) {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
}

fn warn_if_readable_by_others(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path) {
            if meta.permissions().mode() & 0o077 != 0 {
                tracing::warn!(
                    path = %path.display(),
                    "密钥文件可被其他用户读取，请执行 chmod 600"
                );
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// A keyed SM3-HMAC. Keys shorter than SM3's 64-byte block are zero-padded by HMAC's
/// definition, so padding them here gives the same MAC and an infallible constructor.
fn hmac_sm3(key: &[u8; 32]) -> HmacSm3 {
    let mut block = Zeroizing::new([0u8; 64]);
    block[..32].copy_from_slice(key);
    <HmacSm3 as KeyInit>::new(GenericArray::from_slice(block.as_ref()))
}

fn derive(master: &[u8; 32], label: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut mac = hmac_sm3(master);
    mac.update(label);
    Zeroizing::new(mac.finalize().into_bytes().into())
}

/// The stored forms of a member's protected fields, all written together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub id_number: String,
    pub id_hash: String,
    pub id_suffix: String,
    pub phone: String,
}

/// The working keys of one key file: immutable once derived.
pub struct Keys {
    current: String,
    data: BTreeMap<String, Sm4Gcm>,
    index: HmacSm3,
    /// Seals audit archives; derived from the index master, which rotation keeps, so an
    /// archive sealed years ago still verifies.
    seal: HmacSm3,
    /// Keys the live audit chain (each row's MAC and the checkpoint outside the database);
    /// derived from the index master too, so it outlives rotations.
    chain: HmacSm3,
    /// Seals backup manifests, so a forged backup (consistent digests, no key) is refused.
    backup: HmacSm3,
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keys")
            .field("keys", &self.data.keys().collect::<Vec<_>>())
            .field("current", &self.current)
            .finish_non_exhaustive()
    }
}

/// The key id of a stored value; `None` for an empty or plaintext value.
pub fn key_id_of(stored: &str) -> Option<&str> {
    let rest = stored.strip_prefix(PREFIX)?;
    let (id, _) = rest.split_once('.')?;
    Some(id)
}

/// Whether a stored value is plaintext from before encryption (empty counts as encrypted).
pub fn is_plaintext(stored: &str) -> bool {
    !stored.is_empty() && !stored.starts_with(PREFIX)
}

fn aad(key_id: &str, field: Field) -> String {
    format!("yaoshi|{VERSION}|{key_id}|{}", field.column())
}

impl Keys {
    pub fn new(file: &KeyFile) -> Keys {
        let data = file
            .keys
            .iter()
            .map(|(id, master)| {
                let k = derive(master, LABEL_DATA);
                let key = GenericArray::from_slice(&k[..16]);
                (id.clone(), Sm4Gcm::new(key))
            })
            .collect();
        let index = hmac_sm3(&derive(&file.index, LABEL_INDEX));
        let seal = hmac_sm3(&derive(&file.index, LABEL_SEAL));
        let chain = hmac_sm3(&derive(&file.index, LABEL_CHAIN));
        let backup = hmac_sm3(&derive(&file.index, LABEL_BACKUP));
        Keys {
            current: file.current.clone(),
            data,
            index,
            seal,
            chain,
            backup,
        }
    }

    pub fn current_id(&self) -> &str {
        &self.current
    }

    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.data.keys().map(String::as_str)
    }

    pub fn has(&self, id: &str) -> bool {
        self.data.contains_key(id)
    }

    /// The seal (HMAC-SM3) of an audit archive's bytes, 64 hex digits.
    pub fn seal(&self, bytes: &[u8]) -> String {
        let mut mac = self.seal.clone();
        mac.update(bytes);
        hex::encode(mac.finalize().into_bytes())
    }

    /// The keyed MAC of the audit chain (an HMAC-SM3 to feed).
    pub fn chain_mac(&self) -> HmacSm3 {
        self.chain.clone()
    }

    /// The seal of a backup manifest's bytes, 64 hex digits.
    pub fn backup_seal(&self, bytes: &[u8]) -> String {
        let mut mac = self.backup.clone();
        mac.update(bytes);
        hex::encode(mac.finalize().into_bytes())
    }

    /// Whether `seal_hex` is the backup seal of `bytes` (constant time).
    pub fn backup_seal_matches(&self, bytes: &[u8], seal_hex: &str) -> bool {
        let Ok(tag) = hex::decode(seal_hex) else {
            return false;
        };
        let mut mac = self.backup.clone();
        mac.update(bytes);
        mac.verify_slice(&tag).is_ok()
    }

    /// Whether `seal_hex` is the seal of `bytes` (compared in constant time).
    pub fn seal_matches(&self, bytes: &[u8], seal_hex: &str) -> bool {
        let Ok(tag) = hex::decode(seal_hex) else {
            return false;
        };
        let mut mac = self.seal.clone();
        mac.update(bytes);
        mac.verify_slice(&tag).is_ok()
    }

    /// `v1.<current>.`: what every value under the current key starts with.
    pub fn current_prefix(&self) -> String {
        prefix_of(&self.current)
    }

    /// Encrypts under the current key; an empty value stays empty.
    pub fn encrypt(&self, field: Field, plain: &str) -> Result<String, CryptoError> {
        if plain.is_empty() {
            return Ok(String::new());
        }
        self.encrypt_with(&self.current, field, plain)
    }

    fn encrypt_with(&self, id: &str, field: Field, plain: &str) -> Result<String, CryptoError> {
        let cipher = self
            .data
            .get(id)
            .ok_or_else(|| CryptoError::UnknownKey(id.to_string()))?;
        let mut buf = Vec::with_capacity(NONCE_LEN + plain.len() + TAG_LEN);
        let mut nonce = [0u8; NONCE_LEN];
        rand::thread_rng().fill_bytes(&mut nonce);
        buf.extend_from_slice(&nonce);
        buf.extend_from_slice(plain.as_bytes());
        let tag = cipher
            .encrypt_in_place_detached(
                GenericArray::from_slice(&nonce),
                aad(id, field).as_bytes(),
                &mut buf[NONCE_LEN..],
            )
            .map_err(|_| CryptoError::Encrypt)?;
        buf.extend_from_slice(&tag);
        let mut out = String::with_capacity(PREFIX.len() + id.len() + 1 + buf.len() * 4 / 3 + 2);
        out.push_str(PREFIX);
        out.push_str(id);
        out.push('.');
        URL_SAFE_NO_PAD.encode_string(&buf, &mut out);
        Ok(out)
    }

    /// Decrypts a stored value; an empty value stays empty, plaintext is an error.
    pub fn decrypt(&self, field: Field, stored: &str) -> Result<String, CryptoError> {
        if stored.is_empty() {
            return Ok(String::new());
        }
        let rest = stored.strip_prefix(PREFIX).ok_or(CryptoError::Plaintext)?;
        let (id, body) = rest.split_once('.').ok_or(CryptoError::Malformed)?;
        let cipher = self
            .data
            .get(id)
            .ok_or_else(|| CryptoError::UnknownKey(id.to_string()))?;
        let mut buf = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| CryptoError::Malformed)?;
        if buf.len() < NONCE_LEN + TAG_LEN {
            return Err(CryptoError::Malformed);
        }
        let tag_at = buf.len() - TAG_LEN;
        let (head, tag) = buf.split_at_mut(tag_at);
        let (nonce, msg) = head.split_at_mut(NONCE_LEN);
        cipher
            .decrypt_in_place_detached(
                GenericArray::from_slice(nonce),
                aad(id, field).as_bytes(),
                msg,
                GenericArray::from_slice(tag),
            )
            .map_err(|_| CryptoError::Tampered)?;
        String::from_utf8(msg.to_vec()).map_err(|_| CryptoError::Malformed)
    }

    /// Plaintext from before encryption passes through; anything else is decrypted.
    pub fn open_legacy(&self, field: Field, stored: &str) -> Result<String, CryptoError> {
        if is_plaintext(stored) {
            Ok(stored.trim().to_string())
        } else {
            self.decrypt(field, stored)
        }
    }

    fn keyed_hash(&self, domain: &str, value: &str) -> [u8; 32] {
        let mut mac = self.index.clone();
        mac.update(domain.as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// The blind index of a full ID number (as validated: upper-case `X`), 64 hex digits.
    pub fn id_hash(&self, id_number: &str) -> String {
        hex::encode(self.keyed_hash("member.id_number", id_number))
    }

    /// The keyed hash of an ID number's last four characters, 16 hex digits.
    pub fn suffix_hash(&self, suffix: &str) -> String {
        hex::encode(&self.keyed_hash("member.id_suffix", suffix)[..8])
    }

    /// Everything stored for a member's ID number and phone, under the current key.
    pub fn seal_member(&self, id_number: &str, phone: &str) -> Result<Sealed, CryptoError> {
        let suffix = id_number
            .char_indices()
            .rev()
            .nth(3)
            .map_or(id_number, |(i, _)| &id_number[i..]);
        Ok(Sealed {
            id_number: self.encrypt(Field::IdNumber, id_number)?,
            id_hash: self.id_hash(id_number),
            id_suffix: self.suffix_hash(suffix),
            phone: self.encrypt(Field::Phone, phone)?,
        })
    }
}

/// How often a process may re-read its key file on meeting an unknown key id.
const RELOAD_EVERY: Duration = Duration::from_secs(5);

/// The keys a process uses, loaded at start-up into `AppState`.
///
/// After `yaoshi keys new` the running servers do not know the new key until they restart.
/// So that `yaoshi keys rotate` run before every restart does not make rows unreadable,
/// a value under a key id this process does not know makes it re-read its key file (at
/// most every 5 seconds) and, if the file now has that key, switch to it — including its
/// `current`. A re-read file whose blind-index key differs is refused (and logged).
pub struct KeyRing {
    path: PathBuf,
    keys: RwLock<Arc<Keys>>,
    last_reload: Mutex<Option<Instant>>,
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field("path", &self.path)
            .field("keys", &self.snapshot())
            .finish()
    }
}

impl KeyRing {
    pub fn new(file: &KeyFile, path: PathBuf) -> KeyRing {
        KeyRing {
            path,
            keys: RwLock::new(Arc::new(Keys::new(file))),
            last_reload: Mutex::new(None),
        }
    }

    pub fn load(path: &Path) -> anyhow::Result<KeyRing> {
        Ok(KeyRing::new(&KeyFile::read(path)?, path.to_path_buf()))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The keys as they are now; a batch of work uses one snapshot throughout.
    pub fn snapshot(&self) -> Arc<Keys> {
        match self.keys.read() {
            Ok(k) => k.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub fn current_id(&self) -> String {
        self.snapshot().current_id().to_string()
    }

    pub fn ids(&self) -> Vec<String> {
        self.snapshot().ids().map(str::to_string).collect()
    }

    pub fn encrypt(&self, field: Field, plain: &str) -> Result<String, CryptoError> {
        self.snapshot().encrypt(field, plain)
    }

    pub fn decrypt(&self, field: Field, stored: &str) -> Result<String, CryptoError> {
        match self.snapshot().decrypt(field, stored) {
            Err(CryptoError::UnknownKey(id)) if self.reload_for(&id) => {
                self.snapshot().decrypt(field, stored)
            }
            r => r,
        }
    }

    pub fn open_legacy(&self, field: Field, stored: &str) -> Result<String, CryptoError> {
        match self.snapshot().open_legacy(field, stored) {
            Err(CryptoError::UnknownKey(id)) if self.reload_for(&id) => {
                self.snapshot().open_legacy(field, stored)
            }
            r => r,
        }
    }

    pub fn id_hash(&self, id_number: &str) -> String {
        self.snapshot().id_hash(id_number)
    }

    /// The keyed MAC of the audit chain (`audit`).
    pub fn chain_mac(&self) -> HmacSm3 {
        self.snapshot().chain_mac()
    }

    pub fn backup_seal(&self, bytes: &[u8]) -> String {
        self.snapshot().backup_seal(bytes)
    }

    pub fn backup_seal_matches(&self, bytes: &[u8], seal_hex: &str) -> bool {
        self.snapshot().backup_seal_matches(bytes, seal_hex)
    }

    pub fn suffix_hash(&self, suffix: &str) -> String {
        self.snapshot().suffix_hash(suffix)
    }

    pub fn seal_member(&self, id_number: &str, phone: &str) -> Result<Sealed, CryptoError> {
        self.snapshot().seal_member(id_number, phone)
    }

    /// Re-reads the key file if it may (see the type's doc); true if it now knows `id`.
    fn reload_for(&self, id: &str) -> bool {
        if self.path.as_os_str().is_empty() {
            return false;
        }
        {
            let Ok(mut last) = self.last_reload.lock() else {
                return false;
            };
            if last.is_some_and(|t| t.elapsed() < RELOAD_EVERY) {
                return false;
            }
            *last = Some(Instant::now());
        }
        let fresh = match KeyFile::read(&self.path) {
            Ok(f) => Keys::new(&f),
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "重新读取密钥文件失败");
                return false;
            }
        };
        if !fresh.has(id) {
            return false;
        }
        const PROBE: &str = "yaoshi key file reload probe";
        if fresh.id_hash(PROBE) != self.snapshot().id_hash(PROBE) {
            tracing::error!(
                path = %self.path.display(),
                "密钥文件的盲索引密钥（index）已被更换，拒绝使用；请恢复原 index 行"
            );
            return false;
        }
        tracing::info!(
            path = %self.path.display(),
            current = fresh.current_id(),
            "遇到新的密钥 {id}，已重新读取密钥文件"
        );
        match self.keys.write() {
            Ok(mut k) => *k = Arc::new(fresh),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(fresh),
        }
        true
    }
}

/// `v1.<id>.`
pub fn prefix_of(id: &str) -> String {
    format!("{PREFIX}{id}.")
}

impl From<CryptoError> for crate::error::AppError {
    fn from(e: CryptoError) -> Self {
        crate::error::AppError::Internal(anyhow::Error::new(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring() -> Keys {
        Keys::new(&KeyFile::generate())
    }

    #[test]
    fn sm4_gcm_matches_rfc_8998() {
        let key = hex::decode("0123456789ABCDEFFEDCBA9876543210").expect("hex");
        let nonce = hex::decode("00001234567800000000ABCD").expect("hex");
        let aad = hex::decode("FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2").expect("hex");
        let mut buf = hex::decode(
            "AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBCCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDD\
             EEEEEEEEEEEEEEEEFFFFFFFFFFFFFFFFEEEEEEEEEEEEEEEEAAAAAAAAAAAAAAAA",
        )
        .expect("hex");
        let cipher = Sm4Gcm::new(GenericArray::from_slice(&key));
        let tag = cipher
            .encrypt_in_place_detached(GenericArray::from_slice(&nonce), &aad, &mut buf)
            .expect("encrypt");
        assert_eq!(
            hex::encode_upper(&buf),
            "17F399F08C67D5EE19D0DC9969C4BB7D5FD46FD3756489069157B282BB200735\
             D82710CA5C22F0CCFA7CBF93D496AC15A56834CBCF98C397B4024A2691233B8D"
        );
        assert_eq!(hex::encode_upper(tag), "83DE3541E4C2B58177E065A9BF7B62EC");
    }

    #[test]
    fn padded_hmac_key_is_the_same_hmac() {
        let key = [7u8; 32];
        let mut a = hmac_sm3(&key);
        let mut b = <HmacSm3 as Mac>::new_from_slice(&key).expect("any length");
        a.update(b"label");
        b.update(b"label");
        assert_eq!(a.finalize().into_bytes(), b.finalize().into_bytes());
    }

    #[test]
    fn round_trip_and_format() {
        let r = ring();
        let c = r
            .encrypt(Field::IdNumber, "11010519491231002X")
            .expect("enc");
        assert!(c.starts_with("v1.k1."), "{c}");
        assert_eq!(key_id_of(&c), Some("k1"));
        assert!(!c.contains("1101"));
        assert_eq!(
            r.decrypt(Field::IdNumber, &c).expect("dec"),
            "11010519491231002X"
        );
        // A random nonce per value: the same plaintext never looks the same twice.
        let c2 = r
            .encrypt(Field::IdNumber, "11010519491231002X")
            .expect("enc");
        assert_ne!(c, c2);
        let p = r.encrypt(Field::Phone, "13800138000").expect("enc");
        assert_eq!(r.decrypt(Field::Phone, &p).expect("dec"), "13800138000");
        assert_eq!(r.encrypt(Field::Phone, "").expect("enc"), "");
        assert_eq!(r.decrypt(Field::Phone, "").expect("dec"), "");
        assert_eq!(
            r.decrypt(Field::Phone, "13800138000"),
            Err(CryptoError::Plaintext)
        );
        assert_eq!(
            r.open_legacy(Field::Phone, "13800138000").expect("legacy"),
            "13800138000"
        );
    }

    #[test]
    fn tampering_is_detected() {
        let r = ring();
        let c = r
            .encrypt(Field::IdNumber, "11010519491231002X")
            .expect("enc");
        let (head, body) = c.rsplit_once('.').expect("body");
        let mut raw = URL_SAFE_NO_PAD.decode(body).expect("b64");
        for i in [0, NONCE_LEN, raw.len() - 1] {
            raw[i] ^= 1;
            let bad = format!("{head}.{}", URL_SAFE_NO_PAD.encode(&raw));
            assert_eq!(r.decrypt(Field::IdNumber, &bad), Err(CryptoError::Tampered));
            raw[i] ^= 1;
        }
        assert_eq!(
            r.decrypt(Field::IdNumber, "v1.k1.AAAA"),
            Err(CryptoError::Malformed)
        );
        assert_eq!(
            r.decrypt(Field::IdNumber, "v1.k1"),
            Err(CryptoError::Malformed)
        );
    }

    #[test]
    fn wrong_or_missing_key_is_an_error() {
        let a = ring();
        let b = ring();
        let c = a.encrypt(Field::Phone, "13800138000").expect("enc");
        assert_eq!(b.decrypt(Field::Phone, &c), Err(CryptoError::Tampered));
        let relabelled = c.replacen("v1.k1.", "v1.k9.", 1);
        assert_eq!(
            a.decrypt(Field::Phone, &relabelled),
            Err(CryptoError::UnknownKey("k9".into()))
        );
    }

    #[test]
    fn associated_data_binds_column_and_key_id() {
        let mut file = KeyFile::generate();
        file.add_key();
        let r = Keys::new(&file);
        assert_eq!(r.current_id(), "k2");
        // A phone's ciphertext moved into the ID number column does not decrypt.
        let c = r.encrypt(Field::Phone, "13800138000").expect("enc");
        assert_eq!(r.decrypt(Field::IdNumber, &c), Err(CryptoError::Tampered));
        // Nor does a value relabelled as another key's, even one the ring holds.
        let relabelled = c.replacen("v1.k2.", "v1.k1.", 1);
        assert_eq!(
            r.decrypt(Field::Phone, &relabelled),
            Err(CryptoError::Tampered)
        );
    }

    #[test]
    fn blind_index_is_deterministic_and_keyed() {
        let file = KeyFile::generate();
        let r1 = Keys::new(&file);
        let r2 = Keys::new(&KeyFile::parse(&file.to_text()).expect("parse"));
        let id = "11010519491231002X";
        assert_eq!(r1.id_hash(id), r2.id_hash(id));
        assert_eq!(r1.id_hash(id).len(), 64);
        assert_ne!(r1.id_hash(id), r1.id_hash("110105194912310037"));
        assert_ne!(r1.id_hash(id), ring().id_hash(id));
        assert_eq!(r1.suffix_hash("002X"), r2.suffix_hash("002X"));
        assert_eq!(r1.suffix_hash("002X").len(), 16);
        assert_ne!(r1.suffix_hash("002X"), ring().suffix_hash("002X"));
        // Hashes of different columns never coincide for the same text.
        assert_ne!(&r1.id_hash("002X")[..16], r1.suffix_hash("002X"));
    }

    #[test]
    fn index_key_survives_a_new_data_key() {
        let mut file = KeyFile::generate();
        let before = Keys::new(&file);
        file.add_key();
        let after = Keys::new(&file);
        assert_eq!(after.current_id(), "k2");
        let id = "11010519491231002X";
        assert_eq!(before.id_hash(id), after.id_hash(id));
        // Old values still decrypt under the new file.
        let c = before.encrypt(Field::IdNumber, id).expect("enc");
        assert_eq!(after.decrypt(Field::IdNumber, &c).expect("dec"), id);
    }

    #[test]
    fn seals_all_columns_together() {
        let r = ring();
        let s = r
            .seal_member("11010519491231002X", "13800138000")
            .expect("seal");
        assert_eq!(s.id_hash, r.id_hash("11010519491231002X"));
        assert_eq!(s.id_suffix, r.suffix_hash("002X"));
        assert_eq!(
            r.decrypt(Field::Phone, &s.phone).expect("dec"),
            "13800138000"
        );
        assert_eq!(
            r.seal_member("11010519491231002X", "").expect("seal").phone,
            ""
        );
    }

    #[test]
    fn key_file_text_round_trips_and_rejects_mistakes() {
        let mut f = KeyFile::generate();
        assert_eq!(f.add_key(), "k2");
        let text = f.to_text();
        let g = KeyFile::parse(&text).expect("parse");
        assert_eq!(g.current, "k2");
        assert_eq!(g.keys.len(), 2);
        assert_eq!(g.index.as_ref(), f.index.as_ref());
        let hexk = "00".repeat(32);
        assert!(KeyFile::parse(&format!("key k1 {hexk}\ncurrent k1\n"))
            .expect_err("no index")
            .contains("index"));
        assert!(
            KeyFile::parse(&format!("index {hexk}\nkey k1 {hexk}\ncurrent k2\n"))
                .expect_err("current")
                .contains("k2")
        );
        assert!(KeyFile::parse(&format!(
            "index {hexk}\nkey k1 {hexk}\nkey k1 {hexk}\ncurrent k1\n"
        ))
        .expect_err("dup")
        .contains("重复"));
        assert!(KeyFile::parse(&format!("index {hexk}\nkey k.1 {hexk}\ncurrent k.1\n")).is_err());
        assert!(KeyFile::parse(&format!("index abc\nkey k1 {hexk}\ncurrent k1\n")).is_err());
        assert!(!format!("{f:?}").contains(&hex::encode(f.index.as_ref())));
    }

    #[test]
    fn a_running_process_picks_up_a_new_key_once() {
        let dir = std::env::temp_dir().join(format!("yaoshi-key-{}", rand::random::<u64>()));
        let path = dir.join("yaoshi.key");
        let mut file = KeyFile::generate();
        assert!(file.create_new(&path).expect("create"));
        let ring = KeyRing::load(&path).expect("load");
        let old = ring.encrypt(Field::Phone, "13800138000").expect("enc");
        // `yaoshi keys new` and a rotation by another process.
        file.add_key();
        file.write(&path).expect("write");
        let other = Keys::new(&file);
        let rotated = other.encrypt(Field::Phone, "13800138000").expect("enc");
        assert!(rotated.starts_with("v1.k2."));
        assert_eq!(
            ring.decrypt(Field::Phone, &rotated).expect("reloaded"),
            "13800138000"
        );
        assert_eq!(ring.current_id(), "k2");
        assert_eq!(ring.decrypt(Field::Phone, &old).expect("k1"), "13800138000");
        // A key that is not in the file either: no second read within the interval.
        file.add_key();
        file.write(&path).expect("write");
        let k3 = Keys::new(&file).encrypt(Field::Phone, "1").expect("enc");
        assert_eq!(
            ring.decrypt(Field::Phone, &k3),
            Err(CryptoError::UnknownKey("k3".into()))
        );
        // A file whose blind-index key changed is never taken.
        let ring = KeyRing::load(&path).expect("load");
        let mut swapped = KeyFile::read(&path).expect("read");
        swapped.index = KeyFile::generate().index;
        let k4 = swapped.add_key();
        swapped.write(&path).expect("write");
        let v = Keys::new(&swapped).encrypt(Field::Phone, "1").expect("enc");
        assert_eq!(
            ring.decrypt(Field::Phone, &v),
            Err(CryptoError::UnknownKey(k4))
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn key_file_is_written_private_and_never_clobbered() {
        let dir = std::env::temp_dir().join(format!("yaoshi-key-{}", rand::random::<u64>()));
        let path = dir.join("yaoshi.key");
        let f = KeyFile::generate();
        assert!(f.create_new(&path).expect("create"));
        assert!(!KeyFile::generate().create_new(&path).expect("second"));
        let back = KeyFile::read(&path).expect("read");
        assert_eq!(back.index.as_ref(), f.index.as_ref());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let mut g = back;
        g.add_key();
        g.write(&path).expect("write");
        assert_eq!(KeyFile::read(&path).expect("read").current, "k2");
        let leftovers = std::fs::read_dir(&dir).expect("dir").count();
        assert_eq!(leftovers, 1);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
