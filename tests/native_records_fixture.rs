//! Keeps `tests/fixtures/native-small-records.json` honest: the records the native core makes
//! for two small seeded runs (GN and GD). The wasm tests (`tests/web/api.rs`, run in Chromium by
//! `wasm-pack test`) compare the browser build against this file, so this native test
//! regenerates the records and checks that the file still holds them; a stale fixture fails
//! here. Set `GN_UPDATE_FIXTURES=1` to rewrite the file after an intended change of the numbers.
#![cfg(not(target_arch = "wasm32"))]

use gauss_newton::{Config, Record, Trainer};
use serde_json::{json, Value};

const PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/native-small-records.json"
);

/// The fixture's runs: small enough to take milliseconds, well conditioned enough that
/// rounding differences (wasm has no FMA) stay near 1e-12 over the whole run.
fn cases() -> Vec<Config> {
    let base = Config {
        tau0: 1.0,
        n: 16,
        m: 64,
        n_test: 200,
        seed: 7,
        max_iter: 40,
        eval_every: 4,
        refit: true,
        ..Config::default()
    };
    vec![
        Config {
            method: gauss_newton::Method::Gn,
            lr: 2.0,
            ..base.clone()
        },
        Config {
            method: gauss_newton::Method::Gd,
            lr: 5.0,
            ..base
        },
    ]
}

fn generate() -> Value {
    let runs: Vec<Value> = cases()
        .into_iter()
        .map(|cfg| {
            let mut t = Trainer::new(cfg.clone()).expect("valid fixture config");
            let records: Vec<Record> = t.run();
            json!({ "config": cfg, "records": records, "summary": t.summary(None) })
        })
        .collect();
    json!({
        "about": "Records of the native core for small seeded runs; regenerated and checked by \
                  tests/native_records_fixture.rs, compared with the wasm build by tests/web/api.rs.",
        "runs": runs,
    })
}

/// True if a and b agree to `rel` relative to `scale` (or to each other).
fn close(a: &Value, b: &Value, rel: f64, scale: f64) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => (x - y).abs() <= rel * scale.max(x.abs()).max(y.abs()),
        _ => a == b,
    }
}

#[test]
fn native_records_fixture_is_current() {
    let fresh = generate();
    if std::env::var("GN_UPDATE_FIXTURES").as_deref() == Ok("1")
        || !std::path::Path::new(PATH).exists()
    {
        std::fs::write(PATH, serde_json::to_string_pretty(&fresh).unwrap() + "\n").unwrap();
        eprintln!("wrote {PATH}");
    }
    let stored: Value = serde_json::from_str(&std::fs::read_to_string(PATH).unwrap()).unwrap();
    let (fresh_runs, stored_runs) = (
        fresh["runs"].as_array().unwrap(),
        stored["runs"].as_array().unwrap(),
    );
    assert_eq!(fresh_runs.len(), stored_runs.len(), "number of runs");
    for (f, s) in fresh_runs.iter().zip(stored_runs) {
        assert_eq!(
            f["config"], s["config"],
            "config changed: rerun with GN_UPDATE_FIXTURES=1"
        );
        let (fr, sr) = (
            f["records"].as_array().unwrap(),
            s["records"].as_array().unwrap(),
        );
        assert_eq!(fr.len(), sr.len(), "number of records");
        assert!(fr.len() >= 5, "the fixture should have several records");
        for (a, b) in fr.iter().zip(sr) {
            let scale = a["sigma_max"].as_f64().unwrap_or(0.0);
            for (key, va) in a.as_object().unwrap() {
                // Another CPU may round differently in faer's kernels: same tolerance as wasm.
                let floor = if key == "sigma_min" || key == "eps" {
                    scale
                } else {
                    0.0
                };
                assert!(
                    close(va, &b[key], 1e-9, floor),
                    "{} record {}: {key} = {va} now, {} in the fixture (GN_UPDATE_FIXTURES=1 rewrites it)",
                    f["config"]["method"],
                    a["iter"],
                    b[key]
                );
            }
        }
        assert_eq!(f["summary"]["status"], s["summary"]["status"]);
    }
}
