//! Black-box, contract, handler and template tests, compiled into one test binary.

mod events;
mod template;

use std::path::{Path, PathBuf};

/// The repository root: where `template.yaml` and `events/` live.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate sits one level below the repository root")
        .to_path_buf()
}
