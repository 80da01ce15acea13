//! Kill points for the crash tests (debug builds only): with
//! `LOKET_FAULT=<point>:<n>`, the process kills itself with SIGKILL the `n`-th time
//! it passes `point`, exactly as an operator's `kill -9` or a lost runner would, but
//! at a chosen place instead of a chosen time. Release builds compile it to nothing.

/// The variable tests set.
pub const ENV: &str = "LOKET_FAULT";

/// Passes the kill point `name`.
#[inline]
pub fn point(name: &str) {
    #[cfg(debug_assertions)]
    imp::point(name);
    #[cfg(not(debug_assertions))]
    let _ = name;
}

#[cfg(debug_assertions)]
mod imp {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicUsize, Ordering};

    static SPEC: OnceLock<Option<(String, usize)>> = OnceLock::new();
    static HITS: AtomicUsize = AtomicUsize::new(0);

    pub fn point(name: &str) {
        let spec = SPEC.get_or_init(|| {
            let v = std::env::var(super::ENV).ok()?;
            let (p, n) = v.rsplit_once(':')?;
            Some((p.to_string(), n.parse().ok()?))
        });
        let Some((p, n)) = spec else { return };
        if p == name && HITS.fetch_add(1, Ordering::SeqCst) + 1 == *n {
            // SAFETY: raising a signal in our own process has no preconditions.
            unsafe {
                libc::raise(libc::SIGKILL);
            }
        }
    }
}
