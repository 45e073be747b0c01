//! Integer settings above 2^53 − 1 (the largest integer a JavaScript number holds exactly) are
//! refused by `Config::validate`, with the field and the allowed range: the same rule for the
//! CLI, the worker and the page (whose form check used to panic converting such a seed for JS).

use gauss_newton::config::MAX_SAFE_INTEGER;
use gauss_newton::Config;
use std::process::Command;

#[test]
fn every_integer_field_is_capped_at_two_to_the_53_minus_one() {
    assert_eq!(MAX_SAFE_INTEGER, 9_007_199_254_740_991);
    let ok = Config {
        seed: MAX_SAFE_INTEGER,
        max_iter: MAX_SAFE_INTEGER,
        eval_every: MAX_SAFE_INTEGER,
        ..Config::default()
    };
    assert_eq!(ok.validate(), Ok(()));
    let bad = Config {
        seed: u64::MAX,
        max_iter: MAX_SAFE_INTEGER + 1,
        eval_every: u64::MAX,
        ..Config::default()
    };
    let problems = bad.validate().unwrap_err();
    let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(fields, ["seed", "max_iter", "eval_every"]);
    for p in &problems {
        assert!(p.message.contains("..=9007199254740991"), "{p}");
    }
    // The sizes have their own, smaller caps, all below 2^53.
    for max in [
        gauss_newton::config::MAX_N,
        gauss_newton::config::MAX_M,
        gauss_newton::config::MAX_N_TEST,
    ] {
        assert!((max as u64) < MAX_SAFE_INTEGER);
    }
}

#[test]
fn the_cli_refuses_a_seed_beyond_two_to_the_53_naming_the_range() {
    let out = Command::new(env!("CARGO_BIN_EXE_gn"))
        .args([
            "run",
            "--seed",
            "18446744073709551615",
            "--m",
            "10",
            "--n",
            "10",
            "--n-test",
            "10",
            "--max-iter",
            "1",
            "--quiet",
        ])
        .output()
        .expect("gn runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("seed") && err.contains("9007199254740991"),
        "{err}"
    );
}
