//! The floor of `loket apply` for new mail accounts: the same number of
//! SHA512-CRYPT hashes (same crate, same parameters, `credentials::sha512_crypt`)
//! on all cores through rayon, and nothing else. `scripts/bench-apply.sh` runs it
//! before the apply it compares.
//!
//! ```text
//! cargo run --release --example hash_floor -- N
//! ```
//! Prints `floor N hashes: S s (T threads)`.

use std::time::Instant;

use loket::apply::credentials::{generate_password, sha512_crypt};
use rayon::prelude::*;

fn main() {
    let n: usize = match std::env::args().nth(1).map(|a| a.parse()) {
        None => 10_000,
        Some(Ok(n)) => n,
        Some(Err(e)) => {
            eprintln!("usage: hash_floor [N]: {e}");
            std::process::exit(2);
        }
    };
    // The passwords are made outside the timing: the floor is the hashing alone.
    let passwords: Vec<_> = (0..n).map(|_| generate_password()).collect();
    let start = Instant::now();
    let hashes: Vec<String> = passwords
        .par_iter()
        .map(|p| sha512_crypt(p).expect("SHA512-CRYPT of a generated password"))
        .collect();
    let secs = start.elapsed().as_secs_f64();
    // Used, so no hash can be optimised away.
    assert!(hashes.iter().all(|h| h.starts_with("$6$")));
    println!(
        "floor {n} hashes: {secs:.2} s ({} threads)",
        rayon::current_num_threads()
    );
}
