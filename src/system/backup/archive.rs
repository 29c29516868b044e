//! The backup file format, independent of any database.
//!
//! A backup is one file: a tar archive compressed with zstd, followed by a zstd *skippable
//! frame* that holds the SM3 digest of every byte before it (the digest of the whole).
//! Standard tools still read it (`zstd -dc FILE | tar t`; decoders skip skippable frames).
//!
//! Inside the tar, in this order:
//! - the database: `yaoshi.db` (a SQLite copy) or `database.pgdump` (`pg_dump --format=custom`);
//! - the file store, `files/ab/<sha256>`, exactly as under the data dir;
//! - `manifest.json` last: format version, when, backend, app and schema version, every
//!   other entry with its size and SM3 digest, each table's row count, and a note that the
//!   keys are not in the backup.
//!
//! Reading checks the digest of the whole first, then every entry against the manifest;
//! an entry the format does not name (a path outside these, a link, a device) is refused.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};
use sm3::{Digest, Sm3};

pub const FORMAT: &str = "yaoshi-backup";
pub const FORMAT_VERSION: u32 = 1;
pub const MANIFEST: &str = "manifest.json";
pub const SQLITE_DB: &str = "yaoshi.db";
pub const PG_DUMP: &str = "database.pgdump";
pub const KEYS_NOTE: &str = "加密密钥（数据目录下的 yaoshi.key 或 YAOSHI_KEY_FILE 指定的文件）不在备份中，须另行备份并与备份文件分开保管；没有密钥，备份中的加密字段无法读取。";

/// The skippable frame at the end: magic, length, then `yaoshi-backup:sm3:` and 64 hex digits.
const TRAILER_MAGIC: u32 = 0x184D_2A5E;
const TRAILER_TAG: &[u8] = b"yaoshi-backup:sm3:";
const TRAILER_DATA_LEN: usize = TRAILER_TAG.len() + 64;
pub const TRAILER_LEN: usize = 8 + TRAILER_DATA_LEN;
/// Larger manifests are not ours (a city's is a few kilobytes).
const MAX_MANIFEST: u64 = 16 * 1024 * 1024;
const ZSTD_LEVEL: i32 = 3;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryInfo {
    pub path: String,
    pub size: u64,
    pub sm3: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub format_version: u32,
    /// RFC 3339, Beijing time.
    pub created_at: String,
    /// `sqlite` or `postgres`.
    pub backend: String,
    pub app_version: String,
    /// The newest migration applied to the database that was backed up.
    pub schema_version: i64,
    pub digest_algorithm: String,
    /// Always false: keys are kept apart from the data they protect.
    pub keys_included: bool,
    pub keys_note: String,
    pub entries: Vec<EntryInfo>,
    /// Rows per table, counted in the same snapshot as the copy.
    pub tables: BTreeMap<String, i64>,
    /// Where the audit chain stood when the backup was taken (`audit::checkpoint`): a copy
    /// of the anchor outside the database.
    #[serde(default)]
    pub audit_checkpoint: Option<crate::audit::checkpoint::Checkpoint>,
    /// HMAC-SM3 (the key file's backup key) of this manifest with `seal` empty: a backup
    /// made without the key is refused, not only a damaged one.
    #[serde(default)]
    pub seal: String,
}

impl Manifest {
    pub fn new(
        created_at: String,
        backend: &str,
        schema_version: i64,
        tables: BTreeMap<String, i64>,
    ) -> Manifest {
        Manifest {
            format: FORMAT.into(),
            format_version: FORMAT_VERSION,
            created_at,
            backend: backend.into(),
            app_version: env!("CARGO_PKG_VERSION").into(),
            schema_version,
            digest_algorithm: "SM3".into(),
            keys_included: false,
            keys_note: KEYS_NOTE.into(),
            entries: Vec::new(),
            tables,
            audit_checkpoint: None,
            seal: String::new(),
        }
    }

    /// The bytes the seal covers: the manifest with `seal` empty.
    pub fn sealed_bytes(&self) -> Vec<u8> {
        let mut m = self.clone();
        m.seal = String::new();
        serde_json::to_vec(&m).unwrap_or_default()
    }

    pub fn parse(bytes: &[u8]) -> anyhow::Result<Manifest> {
        let m: Manifest = serde_json::from_slice(bytes).context("备份清单格式错误")?;
        if m.format != FORMAT {
            bail!("不是钥匙备份的清单（格式为 “{}”）", m.format);
        }
        if m.format_version > FORMAT_VERSION {
            bail!(
                "备份格式版本 {} 由较新版本的钥匙生成，本程序只认识到版本 {FORMAT_VERSION}，请用新版程序",
                m.format_version
            );
        }
        if m.digest_algorithm != "SM3" {
            bail!("备份清单的摘要算法 “{}” 不受支持", m.digest_algorithm);
        }
        if m.backend != "sqlite" && m.backend != "postgres" {
            bail!("备份清单的数据库类型 “{}” 不受支持", m.backend);
        }
        Ok(m)
    }

    /// Checks what was read against what the manifest lists: same paths, sizes and digests,
    /// nothing missing, nothing extra, and the database the backend calls for.
    pub fn check_entries(&self, seen: &[EntryInfo]) -> Result<(), String> {
        let listed: BTreeMap<&str, &EntryInfo> =
            self.entries.iter().map(|e| (e.path.as_str(), e)).collect();
        if listed.len() != self.entries.len() {
            return Err("清单中有重复的条目".into());
        }
        let mut found = BTreeSet::new();
        for e in seen {
            let Some(l) = listed.get(e.path.as_str()) else {
                return Err(format!("条目 {} 不在清单中", e.path));
            };
            if !found.insert(e.path.as_str()) {
                return Err(format!("条目 {} 出现了两次", e.path));
            }
            if l.size != e.size {
                return Err(format!(
                    "条目 {} 的大小不符（清单 {} 字节，实际 {} 字节）",
                    e.path, l.size, e.size
                ));
            }
            if !l.sm3.eq_ignore_ascii_case(&e.sm3) {
                return Err(format!("条目 {} 的 SM3 校验值不符", e.path));
            }
        }
        if let Some(missing) = listed.keys().find(|p| !found.contains(*p)) {
            return Err(format!("缺少清单中的条目 {missing}"));
        }
        let db = self.database_entry();
        if !found.contains(db) {
            return Err(format!("缺少数据库条目 {db}"));
        }
        Ok(())
    }

    /// The name of the database inside the archive.
    pub fn database_entry(&self) -> &'static str {
        if self.backend == "postgres" {
            PG_DUMP
        } else {
            SQLITE_DB
        }
    }

    /// How many files of the file store the backup holds, and their bytes.
    pub fn store_totals(&self) -> (usize, u64) {
        self.entries
            .iter()
            .filter(|e| e.path.starts_with("files/"))
            .fold((0, 0), |(n, b), e| (n + 1, b + e.size))
    }

    pub fn total_rows(&self) -> i64 {
        self.tables.values().sum()
    }
}

/// What an entry of the archive is, by its path; `None` for anything the format does not name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Manifest,
    Database,
    StoreFile,
}

pub fn kind_of(path: &str) -> Option<Kind> {
    match path {
        MANIFEST => Some(Kind::Manifest),
        SQLITE_DB | PG_DUMP => Some(Kind::Database),
        _ => {
            let rest = path.strip_prefix("files/")?;
            let (prefix, name) = rest.split_once('/')?;
            (is_hex(prefix, 2) && is_hex(name, 64) && name.starts_with(prefix))
                .then_some(Kind::StoreFile)
        }
    }
}

/// Lower-case hex digits, exactly `len` of them.
pub fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// SM3 of everything read through it.
pub struct HashReader<R> {
    inner: R,
    hash: Sm3,
    count: u64,
}

impl<R: Read> HashReader<R> {
    pub fn new(inner: R) -> Self {
        HashReader {
            inner,
            hash: Sm3::new(),
            count: 0,
        }
    }

    pub fn finish(self) -> (String, u64) {
        (hex::encode(self.hash.finalize()), self.count)
    }
}

impl<R: Read> Read for HashReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}

/// SM3 of everything written through it.
struct HashWriter<W> {
    inner: W,
    hash: Sm3,
}

impl<W: Write> Write for HashWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Reads exactly `size` bytes from `inner`, or fails: a file that shrank while it was
/// being packed must not produce a short entry.
struct Exact<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Exact<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            return Ok(0);
        }
        let max = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..max])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "文件在备份过程中变短了",
            ));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

type Sink = zstd::Encoder<'static, HashWriter<BufWriter<File>>>;

/// Seals a manifest's bytes (`KeyRing::backup_seal`).
pub type Sealer<'a> = dyn Fn(&[u8]) -> String + 'a;

/// Writes a backup file entry by entry; [`Writer::finish`] adds the manifest and the trailer.
pub struct Writer {
    tar: tar::Builder<Sink>,
    entries: Vec<EntryInfo>,
    mtime: u64,
}

impl Writer {
    /// Starts a backup in `file` (already created, empty); `mtime` stamps every entry.
    pub fn new(file: File, mtime: u64) -> anyhow::Result<Writer> {
        let sink = HashWriter {
            inner: BufWriter::with_capacity(1 << 20, file),
            hash: Sm3::new(),
        };
        let mut enc = zstd::Encoder::new(sink, ZSTD_LEVEL).context("初始化压缩失败")?;
        enc.include_checksum(true).context("初始化压缩失败")?;
        Ok(Writer {
            tar: tar::Builder::new(enc),
            entries: Vec::new(),
            mtime,
        })
    }

    fn header(&self, size: u64) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_size(size);
        h.set_mode(0o600);
        h.set_mtime(self.mtime);
        h.set_uid(0);
        h.set_gid(0);
        h
    }

    /// Adds the file at `src` as `name`; with `sha256`, also returns the SHA-256 of its bytes.
    pub fn add_file(
        &mut self,
        name: &str,
        src: &Path,
        sha256: bool,
    ) -> anyhow::Result<Option<String>> {
        if kind_of(name).is_none() || name == MANIFEST {
            bail!("内部错误：{name} 不是备份条目的名称");
        }
        let file = File::open(src).with_context(|| format!("读取 {} 失败", src.display()))?;
        let size = file
            .metadata()
            .with_context(|| format!("读取 {} 失败", src.display()))?
            .len();
        let mut header = self.header(size);
        let mut sha = sha256.then(sha2::Sha256::default);
        let mut reader = HashReader::new(Tee {
            inner: Exact {
                inner: io::BufReader::with_capacity(1 << 20, file),
                left: size,
            },
            sha: sha.as_mut(),
        });
        self.tar
            .append_data(&mut header, name, &mut reader)
            .with_context(|| format!("打包 {} 失败", src.display()))?;
        let (sm3, count) = reader.finish();
        if count != size {
            bail!("打包 {} 失败：文件在备份过程中被改变", src.display());
        }
        self.entries.push(EntryInfo {
            path: name.into(),
            size,
            sm3,
        });
        Ok(sha.map(|h| hex::encode(sha2::Digest::finalize(h))))
    }

    /// Writes the manifest (listing the entries added, sealed by `seal` when given) and the
    /// digest of the whole; returns the file, the digest and the manifest as written.
    pub fn finish(
        mut self,
        mut manifest: Manifest,
        seal: Option<&Sealer<'_>>,
    ) -> anyhow::Result<(File, String, Manifest)> {
        manifest.entries = std::mem::take(&mut self.entries);
        if let Some(seal) = seal {
            manifest.seal = seal(&manifest.sealed_bytes());
        }
        let json = serde_json::to_vec_pretty(&manifest).context("生成备份清单失败")?;
        let mut header = self.header(json.len() as u64);
        self.tar
            .append_data(&mut header, MANIFEST, json.as_slice())
            .context("写入备份清单失败")?;
        let enc = self.tar.into_inner().context("写入备份失败")?;
        let sink = enc.finish().context("压缩备份失败")?;
        let digest = hex::encode(sink.hash.finalize());
        let mut out = sink.inner;
        out.write_all(&trailer(&digest))
            .context("写入备份校验值失败")?;
        let file = out
            .into_inner()
            .map_err(|e| anyhow::anyhow!("写入备份失败：{}", e.error()))?;
        Ok((file, digest, manifest))
    }
}

/// Feeds what passes through to an optional SHA-256 as well.
struct Tee<'a, R> {
    inner: R,
    sha: Option<&'a mut sha2::Sha256>,
}

impl<R: Read> Read for Tee<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(h) = self.sha.as_mut() {
            sha2::Digest::update(&mut **h, &buf[..n]);
        }
        Ok(n)
    }
}

/// The skippable frame holding the digest of the whole.
pub fn trailer(digest_hex: &str) -> Vec<u8> {
    let mut t = Vec::with_capacity(TRAILER_LEN);
    t.extend_from_slice(&TRAILER_MAGIC.to_le_bytes());
    t.extend_from_slice(&(TRAILER_DATA_LEN as u32).to_le_bytes());
    t.extend_from_slice(TRAILER_TAG);
    t.extend_from_slice(digest_hex.as_bytes());
    t
}

/// The digest a trailer holds, if these bytes are one.
pub fn parse_trailer(bytes: &[u8]) -> Option<String> {
    if bytes.len() != TRAILER_LEN
        || bytes[0..4] != TRAILER_MAGIC.to_le_bytes()
        || bytes[4..8] != (TRAILER_DATA_LEN as u32).to_le_bytes()
        || !bytes[8..].starts_with(TRAILER_TAG)
    {
        return None;
    }
    let hex = std::str::from_utf8(&bytes[8 + TRAILER_TAG.len()..]).ok()?;
    is_hex(hex, 64).then(|| hex.to_string())
}

/// What a backup file was found to hold.
#[derive(Clone, Debug)]
pub struct Verified {
    pub manifest: Manifest,
    /// SM3 of the whole file (before the trailer).
    pub digest: String,
    /// The file's size in bytes.
    pub size: u64,
}

fn open_checked(path: &Path) -> anyhow::Result<(File, u64, String)> {
    let mut f = File::open(path).with_context(|| format!("无法打开备份文件 {}", path.display()))?;
    let size = f
        .metadata()
        .with_context(|| format!("无法读取备份文件 {}", path.display()))?
        .len();
    let not_ours = || {
        anyhow::anyhow!(
            "{} 不是钥匙备份文件，或文件不完整（缺少结尾的校验块），未做任何恢复",
            path.display()
        )
    };
    if size < TRAILER_LEN as u64 {
        return Err(not_ours());
    }
    let body = size - TRAILER_LEN as u64;
    let mut t = vec![0u8; TRAILER_LEN];
    f.seek(SeekFrom::Start(body))
        .and_then(|_| f.read_exact(&mut t))
        .with_context(|| format!("无法读取备份文件 {}", path.display()))?;
    let expected = parse_trailer(&t).ok_or_else(not_ours)?;
    f.seek(SeekFrom::Start(0))
        .with_context(|| format!("无法读取备份文件 {}", path.display()))?;
    Ok((f, body, expected))
}

/// The digest of the whole, checked before anything inside is read.
fn check_whole(path: &Path) -> anyhow::Result<(u64, String)> {
    let (f, body, expected) = open_checked(path)?;
    let mut r = HashReader::new(io::BufReader::with_capacity(1 << 20, f).take(body));
    io::copy(&mut r, &mut io::sink())
        .with_context(|| format!("读取备份文件 {} 失败", path.display()))?;
    let (actual, n) = r.finish();
    if n != body || actual != expected {
        bail!(
            "备份文件 {} 已损坏或被改动：整体 SM3 校验值不符（应为 {expected}，实为 {actual}），未做任何恢复",
            path.display()
        );
    }
    Ok((body + TRAILER_LEN as u64, actual))
}

/// Checks a backup file completely without writing anything: the digest of the whole, then
/// every entry against the manifest.
pub fn verify(path: &Path) -> anyhow::Result<Verified> {
    walk(path, |_, _, r| {
        io::copy(r, &mut io::sink())?;
        Ok(())
    })
}

/// Unpacks every entry but the manifest under `dest` (which must exist and be empty),
/// checking the whole and each entry as it goes; the caller has run [`verify`] before, so
/// nothing is written from a damaged file, and compares the two digests.
pub fn extract(path: &Path, dest: &Path) -> anyhow::Result<Verified> {
    walk(path, |name, kind, r| {
        if kind == Kind::Manifest {
            io::copy(r, &mut io::sink())?;
            return Ok(());
        }
        let target = dest.join(name);
        if let Some(dir) = target.parent() {
            create_private_dir_all(dir)
                .with_context(|| format!("创建目录 {} 失败", dir.display()))?;
        }
        let mut f = create_private_file(&target)
            .with_context(|| format!("写入 {} 失败", target.display()))?;
        io::copy(r, &mut f).with_context(|| format!("写入 {} 失败", target.display()))?;
        f.sync_all()
            .with_context(|| format!("写入 {} 失败", target.display()))?;
        Ok(())
    })
}

/// Reads the archive once: the digest of the whole, then each entry through `each` while
/// its digest is taken, then the manifest compared with what was read.
fn walk(
    path: &Path,
    mut each: impl FnMut(&str, Kind, &mut dyn Read) -> anyhow::Result<()>,
) -> anyhow::Result<Verified> {
    let (size, digest) = check_whole(path)?;
    let damaged = |e: anyhow::Error| {
        anyhow::anyhow!("备份文件 {} 已损坏：{e:#}，未做任何恢复", path.display())
    };
    let (f, body, _) = open_checked(path)?;
    let dec = zstd::Decoder::new(f.take(body))
        .context("初始化解压失败")
        .map_err(damaged)?;
    let mut archive = tar::Archive::new(dec);
    let mut seen = Vec::new();
    let mut manifest: Option<Manifest> = None;
    let entries = archive.entries().context("读取归档失败").map_err(damaged)?;
    for entry in entries {
        let mut entry = entry.context("读取归档失败").map_err(damaged)?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let kind = kind_of(&name)
            .ok_or_else(|| anyhow::anyhow!("含有不应出现的条目 “{name}”"))
            .map_err(damaged)?;
        if entry.header().entry_type() != tar::EntryType::Regular {
            return Err(damaged(anyhow::anyhow!("条目 “{name}” 不是普通文件")));
        }
        if manifest.is_some() {
            return Err(damaged(anyhow::anyhow!("清单之后还有条目 “{name}”")));
        }
        if kind == Kind::Manifest {
            if entry.size() > MAX_MANIFEST {
                return Err(damaged(anyhow::anyhow!("清单过大")));
            }
            let mut bytes = Vec::new();
            entry
                .read_to_end(&mut bytes)
                .context("读取清单失败")
                .map_err(damaged)?;
            each(&name, kind, &mut bytes.as_slice()).map_err(damaged)?;
            manifest = Some(Manifest::parse(&bytes)?);
            continue;
        }
        let mut r = HashReader::new(&mut entry);
        each(&name, kind, &mut r).map_err(damaged)?;
        io::copy(&mut r, &mut io::sink())
            .context("读取归档失败")
            .map_err(damaged)?;
        let (sm3, size) = r.finish();
        seen.push(EntryInfo {
            path: name,
            size,
            sm3,
        });
    }
    let manifest = manifest.ok_or_else(|| {
        anyhow::anyhow!(
            "备份文件 {} 不完整：缺少清单 {MANIFEST}，未做任何恢复",
            path.display()
        )
    })?;
    manifest
        .check_entries(&seen)
        .map_err(|e| damaged(anyhow::anyhow!(e)))?;
    // Read the rest of the stream so zstd checks its frame checksum too.
    let mut dec = archive.into_inner();
    io::copy(&mut dec, &mut io::sink())
        .context("解压失败")
        .map_err(damaged)?;
    Ok(Verified {
        manifest,
        digest,
        size,
    })
}

pub use crate::files::{create_private_dir_all, create_private_file};

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(tag: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!(
            "yaoshi-archive-{tag}-{}-{}",
            std::process::id(),
            time::OffsetDateTime::now_utc().unix_timestamp_nanos()
        ));
        std::fs::create_dir_all(&d).expect("dir");
        d
    }

    const HASH: &str = "ab0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd";

    fn build(dir: &Path) -> (std::path::PathBuf, Vec<u8>, Vec<u8>) {
        let db: Vec<u8> = (0..200_000u32).flat_map(|i| i.to_le_bytes()).collect();
        let photo = b"\xFF\xD8\xFF\xE0 a photo".to_vec();
        std::fs::write(dir.join("db"), &db).expect("db");
        std::fs::write(dir.join("photo"), &photo).expect("photo");
        let out = dir.join("b.tar.zst");
        let mut w =
            Writer::new(create_private_file(&out).expect("create"), 1_700_000_000).expect("writer");
        w.add_file(SQLITE_DB, &dir.join("db"), false).expect("db");
        let sha = w
            .add_file(&format!("files/ab/{HASH}"), &dir.join("photo"), true)
            .expect("photo");
        assert_eq!(sha, Some(crate::files::sha256_hex(&photo)));
        let mut tables = BTreeMap::new();
        tables.insert("member".to_string(), 2);
        let m = Manifest::new("2026-01-01T02:00:00+08:00".into(), "sqlite", 10, tables);
        let (f, digest, m) = w.finish(m, None).expect("finish");
        drop(f);
        assert_eq!(m.entries.len(), 2);
        assert_eq!(digest.len(), 64);
        (out, db, photo)
    }

    #[test]
    fn writes_verifies_and_extracts() {
        let dir = scratch("ok");
        let (out, db, photo) = build(&dir);
        let v = verify(&out).expect("verify");
        assert_eq!(v.manifest.backend, "sqlite");
        assert_eq!(v.manifest.tables.get("member"), Some(&2));
        assert!(!v.manifest.keys_included);
        assert_eq!(v.manifest.store_totals(), (1, photo.len() as u64));
        assert_eq!(v.size, std::fs::metadata(&out).expect("meta").len());
        let dest = dir.join("restored");
        std::fs::create_dir(&dest).expect("dest");
        let e = extract(&out, &dest).expect("extract");
        assert_eq!(e.digest, v.digest);
        assert_eq!(std::fs::read(dest.join(SQLITE_DB)).expect("db"), db);
        assert_eq!(
            std::fs::read(dest.join("files/ab").join(HASH)).expect("photo"),
            photo
        );
        assert!(!dest.join(MANIFEST).exists());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn any_flipped_byte_or_truncation_is_refused() {
        let dir = scratch("bad");
        let (out, _, _) = build(&dir);
        let good = std::fs::read(&out).expect("read");
        for at in [
            0,
            40,
            good.len() / 2,
            good.len() - TRAILER_LEN - 1,
            good.len() - 1,
        ] {
            let mut bad = good.clone();
            bad[at] ^= 0x01;
            std::fs::write(&out, &bad).expect("write");
            let e = verify(&out).expect_err("flipped byte accepted");
            let msg = format!("{e:#}");
            assert!(
                msg.contains("损坏") || msg.contains("不完整"),
                "byte {at}: {msg}"
            );
        }
        for len in [0, 10, good.len() / 2, good.len() - 1] {
            std::fs::write(&out, &good[..len]).expect("write");
            assert!(verify(&out).is_err(), "truncated to {len} accepted");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn trailer_round_trips() {
        let d = "0f".repeat(32);
        let t = trailer(&d);
        assert_eq!(t.len(), TRAILER_LEN);
        assert_eq!(parse_trailer(&t), Some(d));
        let mut bad = t.clone();
        bad[0] ^= 1;
        assert_eq!(parse_trailer(&bad), None);
        assert_eq!(parse_trailer(&t[1..]), None);
    }

    #[test]
    fn only_named_entries_belong() {
        assert_eq!(kind_of("manifest.json"), Some(Kind::Manifest));
        assert_eq!(kind_of("yaoshi.db"), Some(Kind::Database));
        assert_eq!(kind_of("database.pgdump"), Some(Kind::Database));
        assert_eq!(kind_of(&format!("files/ab/{HASH}")), Some(Kind::StoreFile));
        for bad in [
            "yaoshi.key",
            "files/yaoshi.key",
            "../yaoshi.db",
            "/etc/passwd",
            "files/ab/../../x",
            &format!("files/cd/{HASH}"),
            &format!("files/AB/{}", HASH.to_uppercase()),
            &format!("files/ab/{HASH}.tmp123"),
            "files/ab/",
        ] {
            assert_eq!(kind_of(bad), None, "{bad}");
        }
    }

    #[test]
    fn manifest_checks_every_entry() {
        let mut m = Manifest::new("t".into(), "sqlite", 1, BTreeMap::new());
        let db = EntryInfo {
            path: SQLITE_DB.into(),
            size: 3,
            sm3: "aa".into(),
        };
        let f = EntryInfo {
            path: format!("files/ab/{HASH}"),
            size: 1,
            sm3: "bb".into(),
        };
        m.entries = vec![db.clone(), f.clone()];
        assert_eq!(m.check_entries(&[db.clone(), f.clone()]), Ok(()));
        let parsed = Manifest::parse(&serde_json::to_vec(&m).expect("json")).expect("round trip");
        assert_eq!(parsed, m);
        assert!(
            m.check_entries(std::slice::from_ref(&db)).is_err(),
            "missing entry"
        );
        let mut changed = f.clone();
        changed.sm3 = "cc".into();
        assert!(m.check_entries(&[db.clone(), changed]).is_err());
        let mut longer = f.clone();
        longer.size = 2;
        assert!(m.check_entries(&[db.clone(), longer]).is_err());
        assert!(m
            .check_entries(&[db.clone(), f.clone(), f.clone()])
            .is_err());
        let extra = EntryInfo {
            path: PG_DUMP.into(),
            size: 0,
            sm3: "dd".into(),
        };
        assert!(m.check_entries(&[db.clone(), f.clone(), extra]).is_err());
        // The database must be there, whatever the list says.
        m.entries = vec![f.clone()];
        assert!(m.check_entries(&[f]).is_err());
    }

    #[test]
    fn manifest_parse_refuses_strangers() {
        let m = Manifest::new("t".into(), "sqlite", 1, BTreeMap::new());
        let mut v = serde_json::to_value(&m).expect("json");
        v["format_version"] = serde_json::json!(FORMAT_VERSION + 1);
        let e = Manifest::parse(v.to_string().as_bytes()).expect_err("newer");
        assert!(e.to_string().contains("较新版本"), "{e}");
        v["format_version"] = serde_json::json!(1);
        v["format"] = serde_json::json!("other");
        assert!(Manifest::parse(v.to_string().as_bytes()).is_err());
        assert!(Manifest::parse(b"not json").is_err());
    }
}
