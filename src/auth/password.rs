//! Password hashing (argon2id, off the async runtime) and the password policy.

use std::cell::RefCell;

use argon2::password_hash::{rand_core::OsRng, Output, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};

use crate::error::{AppError, AppResult};

/// Password hashing runs on a pool of its own: one thread per core, at a lower scheduling
/// priority (nice 10) on Linux. A burst of logins then uses the CPU the other requests leave
/// and waits its turn instead of starving them (tokio's blocking pool would run every
/// concurrent hash at once, each on its own thread at full priority), and argon2's 19 MiB
/// per hash is bounded by the pool's size.
type Job = Box<dyn FnOnce() + Send>;

fn pool() -> &'static std::sync::mpsc::Sender<Job> {
    static POOL: std::sync::OnceLock<std::sync::mpsc::Sender<Job>> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        let (jobs, rx) = std::sync::mpsc::channel::<Job>();
        let rx = std::sync::Arc::new(std::sync::Mutex::new(rx));
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        for i in 0..threads {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("yaoshi-argon2-{i}"))
                .spawn(move || {
                    lower_priority();
                    loop {
                        let job = match rx.lock() {
                            Ok(r) => r.recv(),
                            Err(poisoned) => poisoned.into_inner().recv(),
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "could not start a password hashing thread");
            }
        }
        jobs
    })
}

/// Nice 10 for the calling thread (Linux applies `setpriority` to one thread by its id).
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: plain system calls on the calling thread's own id; no memory is shared.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        if libc::setpriority(libc::PRIO_PROCESS, tid, 10) != 0 {
            tracing::debug!("could not lower the password hashing thread's priority");
        }
    }
}

/// Runs `f` on the hashing pool and waits for it without blocking the runtime.
async fn on_pool<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> anyhow::Result<T> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move || {
        let _ = tx.send(f());
    });
    pool()
        .send(job)
        .map_err(|_| anyhow::anyhow!("password hashing pool stopped"))?;
    rx.await
        .map_err(|_| anyhow::anyhow!("password hashing job lost"))
}

/// The most memory a hashing thread keeps between hashes (a stored hash asking for more is
/// computed in memory of its own, freed after).
const KEEP_BLOCKS: usize = 64 * 1024;

thread_local! {
    /// argon2's working memory, kept by each hashing thread: allocating 19 MiB afresh for
    /// every hash cost a third of the hash in page faults. Zeroed after every use.
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// argon2 `a` over `password` and `salt` into `out`, in this thread's kept memory.
fn compute(a: &Argon2<'_>, params: &Params, password: &[u8], salt: &[u8], out: &mut [u8]) -> bool {
    let need = params.block_count();
    if need > KEEP_BLOCKS {
        return a.hash_password_into(password, salt, out).is_ok();
    }
    MEMORY.with(|m| {
        let mut m = m.borrow_mut();
        if m.len() < need {
            m.resize(need, Block::default());
        }
        let ok = a
            .hash_password_into_with_memory(password, salt, out, &mut m[..need])
            .is_ok();
        // Residual information: nothing derived from a password stays in memory.
        m[..need].fill(Block::default());
        ok
    })
}

/// Hashes with the default parameters (argon2id, 19 MiB, 2 passes) and a random salt, as a
/// PHC string; on the calling thread.
pub fn hash_now(password: &str) -> anyhow::Result<String> {
    let params = Params::default();
    let a = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_bytes = [0u8; 64];
    let raw_salt = salt
        .decode_b64(&mut salt_bytes)
        .map_err(|e| anyhow::anyhow!("argon2 salt: {e}"))?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    if !compute(&a, &params, password.as_bytes(), raw_salt, &mut out) {
        anyhow::bail!("argon2 failed");
    }
    let output = Output::new(&out).map_err(|e| anyhow::anyhow!("argon2 output: {e}"))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: (&params)
            .try_into()
            .map_err(|e| anyhow::anyhow!("argon2 params: {e}"))?,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    };
    Ok(phc.to_string())
}

/// Whether `password` matches the PHC string `stored` (any argon2 variant and parameters it
/// names); on the calling thread. The comparison is constant-time.
pub fn verify_now(password: &str, stored: &str) -> bool {
    let Ok(h) = PasswordHash::new(stored) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (h.salt, h.hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(h.algorithm) else {
        return false;
    };
    let version = match h.version.map(Version::try_from) {
        None => Version::default(),
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    let Ok(params) = Params::try_from(&h) else {
        return false;
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(raw_salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let a = Argon2::new(algorithm, version, params.clone());
    let mut out = vec![0u8; expected.len()];
    if !compute(&a, &params, password.as_bytes(), raw_salt, &mut out) {
        return false;
    }
    Output::new(&out).is_ok_and(|o| o == expected)
}

pub async fn hash(password: String) -> AppResult<String> {
    on_pool(move || hash_now(&password))
        .await
        .map_err(AppError::Internal)?
        .map_err(AppError::Internal)
}

pub async fn verify(password: String, stored: String) -> bool {
    on_pool(move || verify_now(&password, &stored))
        .await
        .unwrap_or(false)
}

/// A hash to verify against when the user does not exist, so both paths cost the same.
pub const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$V0Yq0x5FRUUzb2J0cOvqTT1oF1lJmg5n1QmUIbtWcV0";

/// Checks a password against the default policy (the demo's accounts and tests); the
/// policy in force is `policy::current(state)` and its `check_password`.
pub fn check_policy(password: &str, username: &str) -> Result<(), String> {
    super::policy::Policy::default().check_password(password, username)
}

/// A random password that satisfies the policy, for first start and resets.
pub fn generate() -> String {
    use rand::Rng;
    const LOWER: &[u8] = b"abcdefghijkmnpqrstuvwxyz";
    const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
    const DIGIT: &[u8] = b"23456789";
    let mut rng = rand::thread_rng();
    let mut pick = |set: &[u8]| set[rng.gen_range(0..set.len())] as char;
    let mut s = String::new();
    for i in 0..14 {
        s.push(match i % 3 {
            0 => pick(LOWER),
            1 => pick(UPPER),
            _ => pick(DIGIT),
        });
    }
    s.push('#');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_and_verify() {
        let h = hash("Abcdefgh12".into()).await.expect("hash");
        assert!(verify("Abcdefgh12".into(), h.clone()).await);
        assert!(!verify("Abcdefgh13".into(), h).await);
        assert!(!verify("x".into(), DUMMY_HASH.into()).await);
    }

    #[test]
    fn our_hashes_and_the_crates_agree_both_ways() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let ours = hash_now("Abcdefgh12").expect("hash");
        assert!(
            ours.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{ours}"
        );
        let parsed = PasswordHash::new(&ours).expect("phc");
        assert!(Argon2::default()
            .verify_password(b"Abcdefgh12", &parsed)
            .is_ok());
        assert!(Argon2::default()
            .verify_password(b"Abcdefgh13", &parsed)
            .is_err());
        // A hash the crate made, with other parameters and another variant, verifies here.
        let salt = SaltString::generate(&mut OsRng);
        for (alg, m, t) in [
            (Algorithm::Argon2id, 19_456, 2),
            (Algorithm::Argon2id, 7_168, 5),
            (Algorithm::Argon2i, 8_192, 3),
        ] {
            let params = Params::new(m, t, 1, None).expect("params");
            let theirs = Argon2::new(alg, Version::V0x13, params)
                .hash_password(b"Zyx-987-pass", &salt)
                .expect("hash")
                .to_string();
            assert!(verify_now("Zyx-987-pass", &theirs), "{theirs}");
            assert!(!verify_now("Zyx-987-pasS", &theirs), "{theirs}");
        }
        assert!(!verify_now("x", "not a hash"));
        assert!(!verify_now(
            "x",
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ"
        ));
        // The memory kept for the next hash holds nothing of this one.
        MEMORY.with(|m| {
            let m = m.borrow();
            assert!(!m.is_empty());
            assert!(m.iter().all(|b| b.as_ref().iter().all(|w| *w == 0)));
        });
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn more_hashes_than_pool_threads_all_finish_with_their_own_answers() {
        let h = hash("Abcdefgh12".into()).await.expect("hash");
        let jobs: Vec<_> = (0..12)
            .map(|i| {
                let h = h.clone();
                tokio::spawn(async move {
                    let p = if i % 3 == 0 {
                        "wrong-one"
                    } else {
                        "Abcdefgh12"
                    };
                    (i, verify(p.into(), h).await)
                })
            })
            .collect();
        for j in jobs {
            let (i, ok) = j.await.expect("join");
            assert_eq!(ok, i % 3 != 0, "job {i}");
        }
    }

    #[test]
    fn hashing_threads_run_at_a_lower_priority() {
        // The pool starts with the first job; its threads are named and niced.
        let rt = tokio::runtime::Runtime::new().expect("rt");
        rt.block_on(async {
            assert!(!verify("x".into(), DUMMY_HASH.into()).await);
        });
        #[cfg(target_os = "linux")]
        {
            let tasks = std::fs::read_dir("/proc/self/task").expect("tasks");
            let mut niced = 0;
            for t in tasks.flatten() {
                let comm = std::fs::read_to_string(t.path().join("comm")).unwrap_or_default();
                if comm.starts_with("yaoshi-argon2") {
                    let stat = std::fs::read_to_string(t.path().join("stat")).expect("stat");
                    // Field 19 is nice; the name (field 2) has no spaces.
                    let nice: i64 = stat
                        .split_whitespace()
                        .nth(18)
                        .and_then(|v| v.parse().ok())
                        .expect("nice");
                    assert_eq!(nice, 10, "{comm}");
                    niced += 1;
                }
            }
            assert!(niced >= 1, "no hashing thread found");
        }
    }
}
