//! Times each `loket check` rule on an instance, for finding slow rules.
//!
//! ```text
//! cargo run --release --example profile_check -- DIR
//! ```

use std::io::Write as _;
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
    // Write errors (a closed pipe) end the report quietly.
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "load      {:>8.1} ms", t.elapsed().as_secs_f64() * 1e3);
    let t = Instant::now();
    let cx = Context {
        inst: &inst,
        config: inst.config.as_ref(),
        index: Index::build(&inst),
        today: jiff::civil::date(2026, 11, 24),
        base: None,
        base_tickets: None,
    };
    let _ = writeln!(out, "index     {:>8.1} ms", t.elapsed().as_secs_f64() * 1e3);
    for r in RULES {
        let t = Instant::now();
        let mut diags = Vec::new();
        (r.run)(&cx, &mut diags);
        if writeln!(
            out,
            "{} {:<24} {:>8.1} ms  {} diagnostics",
            r.code,
            r.name,
            t.elapsed().as_secs_f64() * 1e3,
            diags.len()
        )
        .is_err()
        {
            return;
        }
    }
}
