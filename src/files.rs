//! The file store behind evidence and photos: content-addressed files under the data dir
//! (`files/ab/abcdef…`), written atomically. One interface, so another store (an
//! S3-compatible one) can replace it without touching the features.
//!
//! On disk everything of the data dir is its owner's alone (0700 folders, 0600 files): the
//! database holds password hashes and the store scans of sign-in sheets, and other local
//! users of the machine read neither.

use std::path::{Path, PathBuf};

use anyhow::Context;
use sha2::{Digest, Sha256};

/// What the first bytes say a file is, among the kinds accepted as evidence.
pub fn sniff(bytes: &[u8]) -> Option<(&'static str, &'static str)> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(("image/jpeg", "jpg"))
    } else if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        Some(("image/png", "png"))
    } else if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some(("image/webp", "webp"))
    } else if bytes.starts_with(b"%PDF-") {
        Some(("application/pdf", "pdf"))
    } else {
        None
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Creates a directory (and its parents) readable by the owner only.
pub fn create_private_dir_all(dir: &Path) -> std::io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(dir)
}

/// Creates a new file (never overwriting) readable by the owner only.
pub fn create_private_file(path: &Path) -> std::io::Result<std::fs::File> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    o.open(path)
}

/// Takes the group's and others' permissions off a file or folder made before the data dir
/// was owner-only (a missing one is left alone); says so in the log. Best effort: a path
/// the server does not own is reported, not fatal.
pub fn make_private(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let Ok(meta) = std::fs::symlink_metadata(path) else {
            return;
        };
        let mode = meta.permissions().mode() & 0o777;
        if meta.file_type().is_symlink() || mode & 0o077 == 0 {
            return;
        }
        let private = mode & 0o700;
        match std::fs::set_permissions(path, std::fs::Permissions::from_mode(private)) {
            Ok(()) => tracing::warn!(
                path = %path.display(),
                "权限 {mode:o} 可被其他用户读取，已收紧为 {private:o}"
            ),
            Err(e) => tracing::warn!(
                path = %path.display(),
                error = %e,
                "权限 {mode:o} 可被其他用户读取，且无法收紧：请执行 chmod go-rwx"
            ),
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// Makes the data dir and the file store's folder (owner-only when made, and made so if an
/// older version left them readable by others), before anything is written there.
pub fn prepare(root: &Path) -> anyhow::Result<()> {
    let store = root.join("files");
    create_private_dir_all(&store)
        .with_context(|| format!("创建文件目录 {} 失败", store.display()))?;
    make_private(root);
    make_private(&store);
    Ok(())
}

fn path_for(root: &Path, hash: &str) -> PathBuf {
    let prefix = hash.get(0..2).unwrap_or("00");
    root.join("files").join(prefix).join(hash)
}

/// Stores the bytes under their hash (a no-op if already there); returns the hash.
pub async fn put(root: &Path, bytes: &[u8]) -> anyhow::Result<String> {
    let hash = sha256_hex(bytes);
    let path = path_for(root, &hash);
    if tokio::fs::try_exists(&path).await.unwrap_or(false) {
        return Ok(hash);
    }
    if let Some(dir) = path.parent() {
        let mut b = tokio::fs::DirBuilder::new();
        b.recursive(true);
        #[cfg(unix)]
        b.mode(0o700);
        b.create(dir)
            .await
            .with_context(|| format!("创建文件目录 {} 失败", dir.display()))?;
    }
    // Write aside, then rename: a crash never leaves half a file under the real name.
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let mut o = tokio::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    o.mode(0o600);
    let mut f = o.open(&tmp).await.context("写入文件失败")?;
    tokio::io::AsyncWriteExt::write_all(&mut f, bytes)
        .await
        .context("写入文件失败")?;
    drop(f);
    tokio::fs::rename(&tmp, &path)
        .await
        .context("保存文件失败")?;
    Ok(hash)
}

/// Like `put`, but returns only once the file and its directory are on disk (fsync), for
/// bytes whose only other copy is about to be deleted.
pub async fn put_durable(root: &Path, bytes: &[u8]) -> anyhow::Result<String> {
    let hash = put(root, bytes).await?;
    let path = path_for(root, &hash);
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        std::fs::File::open(&path)
            .and_then(|f| f.sync_all())
            .with_context(|| format!("同步文件 {} 失败", path.display()))?;
        #[cfg(unix)]
        if let Some(dir) = path.parent() {
            std::fs::File::open(dir)
                .and_then(|d| d.sync_all())
                .with_context(|| format!("同步目录 {} 失败", dir.display()))?;
        }
        Ok(())
    })
    .await??;
    Ok(hash)
}

pub async fn get(root: &Path, hash: &str) -> anyhow::Result<Vec<u8>> {
    if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        anyhow::bail!("无效的文件标识");
    }
    tokio::fs::read(path_for(root, hash))
        .await
        .context("读取文件失败")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_by_content_not_name() {
        assert_eq!(
            sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0]).map(|s| s.0),
            Some("image/jpeg")
        );
        assert_eq!(
            sniff(b"\x89PNG\r\n\x1a\n....").map(|s| s.0),
            Some("image/png")
        );
        assert_eq!(
            sniff(b"RIFF\0\0\0\0WEBPVP8 ").map(|s| s.0),
            Some("image/webp")
        );
        assert_eq!(sniff(b"%PDF-1.7\n").map(|s| s.0), Some("application/pdf"));
        assert_eq!(sniff(b"MZ\x90\0 an exe named photo.jpg"), None);
        assert_eq!(sniff(b"<svg onload=alert(1)>"), None);
        assert_eq!(sniff(b""), None);
    }

    #[tokio::test]
    async fn stores_by_hash_once() {
        let dir = std::env::temp_dir().join(format!("yaoshi-files-{}", std::process::id()));
        let h = put(&dir, b"%PDF-1.4 test").await.expect("put");
        assert_eq!(put(&dir, b"%PDF-1.4 test").await.expect("again"), h);
        assert_eq!(get(&dir, &h).await.expect("get"), b"%PDF-1.4 test");
        assert!(get(&dir, "../../etc/passwd").await.is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[cfg(unix)]
    #[test]
    fn loose_permissions_are_taken_back_to_the_owner() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("yaoshi-private-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        prepare(&dir).expect("prepare");
        let mode = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join("files")), 0o700);
        let f = dir.join("old.db");
        std::fs::write(&f, b"x").expect("write");
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o664)).expect("chmod");
        make_private(&f);
        assert_eq!(mode(&f), 0o600);
        let x = dir.join("tool");
        std::fs::write(&x, b"x").expect("write");
        std::fs::set_permissions(&x, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        make_private(&x);
        assert_eq!(mode(&x), 0o700, "the owner keeps what it had");
        make_private(&dir.join("missing"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
