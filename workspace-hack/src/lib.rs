//! The workspace-hack crate: no code, only dependencies (see Cargo.toml for why).
