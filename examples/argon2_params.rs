//! Time per argon2id verification on this machine: the crate's own (fresh memory for each
//! hash) against `yaoshi::auth::password::verify_now` (memory kept by the thread, zeroed
//! after each use), for the default parameters and the other sets OWASP lists as equally
//! strong. `cargo run --release --example argon2_params`; figures in BENCHMARKS.md.

use std::time::Instant;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

fn median_ms(mut f: impl FnMut() -> bool) -> f64 {
    assert!(f(), "the password must verify");
    let mut ms: Vec<f64> = (0..21)
        .map(|_| {
            let t0 = Instant::now();
            let ok = f();
            let dt = t0.elapsed().as_secs_f64() * 1000.0;
            assert!(ok);
            dt
        })
        .collect();
    ms.sort_by(f64::total_cmp);
    ms[ms.len() / 2]
}

fn main() {
    let salt = SaltString::encode_b64(b"0123456789abcdef").expect("salt");
    println!("| memory, passes | fresh memory each time | memory kept, zeroed |");
    println!("|---|---|---|");
    for (m, t) in [
        (19_456u32, 2u32),
        (47_104, 1),
        (12_288, 3),
        (9_216, 4),
        (7_168, 5),
    ] {
        let Ok(params) = Params::new(m, t, 1, None) else {
            continue;
        };
        let a = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let Ok(stored) = a.hash_password(b"Correct-Horse-9", &salt) else {
            continue;
        };
        let stored = stored.to_string();
        let fresh = median_ms(|| {
            PasswordHash::new(&stored)
                .is_ok_and(|h| a.verify_password(b"Correct-Horse-9", &h).is_ok())
        });
        let kept = median_ms(|| yaoshi::auth::password::verify_now("Correct-Horse-9", &stored));
        let default = if (m, t) == (19_456, 2) {
            " (default)"
        } else {
            ""
        };
        println!(
            "| {} MiB, {t}{default} | {fresh:.2} ms | {kept:.2} ms |",
            m / 1024
        );
    }
}
