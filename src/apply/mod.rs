//! Applying `accounts/` to live systems. Backends live one per file (or folder).

pub mod ssh;
