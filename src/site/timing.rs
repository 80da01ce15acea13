//! Stage timings of a site build, printed to standard error when `LOKET_SITE_TIMINGS`
//! is set: how benchmarks find where a build's time goes (see BENCHMARKS.md).

use std::time::Instant;

/// Prints the time since the previous mark under a stage name, when enabled.
pub struct Timings {
    enabled: bool,
    last: Instant,
}

impl Timings {
    pub fn from_env() -> Timings {
        Timings {
            enabled: std::env::var_os("LOKET_SITE_TIMINGS").is_some(),
            last: Instant::now(),
        }
    }

    pub fn mark(&mut self, stage: &str) {
        let now = Instant::now();
        if self.enabled {
            let ms = now.duration_since(self.last).as_secs_f64() * 1000.0;
            eprintln!("site timing: {stage:<24} {ms:>9.1} ms");
        }
        self.last = now;
    }
}
