//! Times each `loket check` rule on an instance, for finding slow rules.
//!
//! ```text
//! cargo run --release --example profile_check -- DIR
//! ```

use std::time::Instant;

use loket::check::{Context, Index, RULES};
use loket::model::Instance;

fn main() {
    let dir = std::env::args().nth(1).unwrap_or_else(|| ".".into());
    let t = Instant::now();
    let inst = match Instance::load(std::path::Path::new(&dir)) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    println!("load      {:>8.1} ms", t.elapsed().as_secs_f64() * 1e3);
    let t = Instant::now();
    let cx = Context {
        inst: &inst,
        config: inst.config.as_ref(),
        index: Index::build(&inst),
        today: jiff::civil::date(2026, 11, 24),
        base: None,
        base_tickets: None,
    };
    println!("index     {:>8.1} ms", t.elapsed().as_secs_f64() * 1e3);
    for r in RULES {
        let t = Instant::now();
        let mut out = Vec::new();
        (r.run)(&cx, &mut out);
        println!(
            "{} {:<24} {:>8.1} ms  {} diagnostics",
            r.code,
            r.name,
            t.elapsed().as_secs_f64() * 1e3,
            out.len()
        );
    }
}
