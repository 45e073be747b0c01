//! Helpers shared by the tests that drive the `gn` binary (tests/flow.rs, tests/sweep.rs).
#![allow(dead_code)]

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The `gn` binary, one thread per run.
pub fn gn() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_gn"));
    c.env("RAYON_NUM_THREADS", "1");
    c
}

/// A fresh, empty temporary folder `gn-{suite}-test-PID-{name}`.
pub fn tmp(suite: &str, name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("gn-{suite}-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Runs `cmd`, failing the test (with its output) unless it succeeds.
pub fn ok(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("gn runs");
    assert!(
        out.status.success(),
        "gn failed: {}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The result files of a folder: name → parsed JSON.
pub fn results(dir: &Path) -> BTreeMap<String, Value> {
    let mut m = BTreeMap::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if let Some(name) = gauss_newton::runs::result_name(&p) {
            let text = gauss_newton::runs::read_result_text(&p).unwrap();
            m.insert(name, serde_json::from_str(&text).unwrap());
        }
    }
    m
}
