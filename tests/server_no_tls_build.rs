//! The crate builds without its default features (no TLS, no rustls): every TLS item
//! is behind `cfg(feature = "tls")`. Checked by running `cargo check` on the library
//! with `--no-default-features`, in a target directory of its own so it neither waits
//! for nor disturbs the build running these tests.

use std::path::Path;
use std::process::Command;

#[test]
fn library_builds_without_default_features() {
    let Some(cargo) = std::env::var_os("CARGO") else {
        eprintln!("not run by cargo: skipped");
        return;
    };
    let root = env!("CARGO_MANIFEST_DIR");
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("no-default-features");
    let out = Command::new(cargo)
        .current_dir(root)
        .args([
            "check",
            // This package alone: the workspace's other members would add features.
            "-p",
            env!("CARGO_PKG_NAME"),
            "--lib",
            "--no-default-features",
            "--offline",
            "--quiet",
        ])
        .arg("--target-dir")
        .arg(&target)
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "cargo check --no-default-features failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
