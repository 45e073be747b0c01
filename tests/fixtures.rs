//! One step from the shared fixtures (`tests/fixtures/`, copied from `../shared/fixtures`):
//! the weights after one GD or GN step must match values that agree with the paper authors'
//! own optimizer, to 1e-9 of the update's size.
#![cfg(not(target_arch = "wasm32"))]

use gauss_newton::{Checkpoint, Network, Trainer};
use serde_json::Value;

fn net(v: &Value, d: usize) -> Network {
    let nj: gauss_newton::checkpoint::NetworkJson = serde_json::from_value(v.clone()).unwrap();
    nj.to_network("expected", d).unwrap()
}

fn max_abs_diff(a: &Network, b: &Network) -> f64 {
    let mut worst: f64 = 0.0;
    for (x, y) in
        a.u.iter()
            .zip(b.u.iter())
            .chain(a.b.iter().zip(b.b.iter()))
            .chain(a.v.iter().zip(b.v.iter()))
    {
        worst = worst.max((x - y).abs());
    }
    worst
}

fn check_fixture(name: &str) {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    let root: Value = serde_json::from_str(&text).unwrap();
    let ck = Checkpoint::from_json(&text).expect("fixture checkpoint loads");
    let mut t = Trainer::from_checkpoint(&ck).unwrap();
    let before = t.student().clone();
    let records = t.advance(1);
    let exp = &root["expected_after_one_step"];
    let d = t.config().d;
    let expected = net(&exp["student"], d);
    let scale = max_abs_diff(&expected, &before);
    let err = max_abs_diff(t.student(), &expected);
    assert!(
        err <= 1e-9 * scale,
        "{name}: max |got − expected| = {err:e}, update size {scale:e}"
    );
    assert_eq!(t.iteration(), 1);
    let first = &records[0];
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs().max(1e-300);
    assert!(
        close(first.train_loss, exp["train_loss_before"].as_f64().unwrap()),
        "{name}: loss before"
    );
    let last = records.last().unwrap();
    assert_eq!(last.iter, 1);
    assert!(
        close(last.train_loss, exp["train_loss_after"].as_f64().unwrap()),
        "{name}: loss after {}",
        last.train_loss
    );
    assert!(
        close(
            last.test_loss.unwrap(),
            exp["test_loss_after"].as_f64().unwrap()
        ),
        "{name}: test loss after"
    );
    if let Some(smin) = exp.get("sigma_min").and_then(Value::as_f64) {
        let smax = exp["sigma_max"].as_f64().unwrap();
        let eps = exp["eps"].as_f64().unwrap();
        assert!(
            (first.sigma_min.unwrap() - smin).abs() <= 1e-9 * smax,
            "{name}: sigma_min {} vs {smin}",
            first.sigma_min.unwrap()
        );
        assert!(close(first.sigma_max.unwrap(), smax), "{name}: sigma_max");
        assert!(
            (first.eps.unwrap() - eps).abs() <= 1e-9 * smax,
            "{name}: eps"
        );
    }
}

#[test]
fn gd_step_matches_fixture() {
    check_fixture("official-step-gd-silu.json");
}

#[test]
fn gn_first_step_matches_fixture() {
    check_fixture("official-step-gn-silu-first.json");
}

#[test]
fn gn_step_matches_fixture() {
    check_fixture("official-step-gn-silu.json");
}
