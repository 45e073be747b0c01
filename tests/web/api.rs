//! The wasm exports (`gauss_newton::wasm`) as JavaScript sees them, shared by `tests/web.rs`
//! (the page's main thread) and `tests/web_worker.rs` (a dedicated Web Worker): a run converges,
//! invalid configs give readable errors with their fields, records are plain JS objects with the
//! documented keys, a seeded run makes the same records as the native core
//! (`tests/fixtures/native-small-records.json`, kept current by `tests/native_records_fixture.rs`),
//! and the hidden layer's kernels, as wasm compiles them, give each row the scalar forms' bits.

use gauss_newton::wasm::{
    check_form, new_seed, page_spec, validate, Run, PACKED_KEYS, RECORD_KEYS,
};
use js_sys::{Array, Object, Reflect};
use serde::Serialize;
use serde_json::{json, Value};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::wasm_bindgen_test;

const FIXTURE: &str = include_str!("../fixtures/native-small-records.json");

/// A JSON value as a plain JS object (what a page would pass).
fn js(v: Value) -> JsValue {
    v.serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .unwrap()
}

/// A JS value back as JSON (null for undefined, to check for missing keys separately).
fn json_of(v: &JsValue) -> Value {
    serde_wasm_bindgen::from_value(v.clone()).unwrap()
}

fn get(obj: &JsValue, key: &str) -> JsValue {
    Reflect::get(obj, &JsValue::from_str(key)).unwrap()
}

fn small(method: &str) -> Value {
    json!({ "method": method, "tau0": 1.0, "n": 16, "m": 64, "n_test": 200, "seed": 3,
            "max_iter": 400, "eval_every": 10, "lr": 2.0 })
}

#[wasm_bindgen_test]
fn a_gn_run_converges() {
    let mut run = Run::new(js(small("gn"))).expect("valid config");
    let mut rounds = 0;
    while !run.is_finished() {
        run.step(50);
        rounds += 1;
        assert!(rounds < 20, "did not finish in 1000 steps");
    }
    assert_eq!(run.status(), "converged");
    let summary = json_of(&run.summary());
    assert_eq!(summary["status"], "converged");
    let records = json_of(&run.records(0));
    let first = records[0]["train_loss"].as_f64().unwrap();
    let last = summary["final_train_loss"].as_f64().unwrap();
    assert!(last <= 1e-8 * first, "final loss {last} vs first {first}");
    assert!(summary["wall_s"].as_f64().unwrap() >= 0.0);
    assert!(summary["rf_test_loss"].as_f64().unwrap() > 0.0);
}

#[wasm_bindgen_test]
fn a_gd_run_lowers_the_loss_and_resets() {
    let mut run = Run::new(js(
        json!({ "method": "gd", "tau0": 1.0, "n": 16, "m": 64, "n_test": 200,
                                       "lr": 5.0, "max_iter": 60, "eval_every": 20 }),
    ))
    .unwrap();
    run.step(1000);
    assert!(run.is_finished());
    assert_eq!(run.status(), "max_iter");
    assert_eq!(run.iteration(), 60.0);
    let records = json_of(&run.records(0));
    let losses: Vec<f64> = records
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["train_loss"].as_f64().unwrap())
        .collect();
    assert_eq!(losses.len(), 4, "records at 0, 20, 40, 60");
    assert!(
        losses.windows(2).all(|w| w[1] < w[0]),
        "GD lowers the loss: {losses:?}"
    );
    run.reset().unwrap();
    assert_eq!(run.iteration(), 0.0);
    assert_eq!(run.record_count(), 0);
    assert!(!run.is_finished());
}

#[wasm_bindgen_test]
fn invalid_configs_give_readable_errors() {
    let err = Run::new(js(json!({ "n": 0, "tau0": -1.0, "method": "newton" })))
        .err()
        .expect("refused");
    let err: js_sys::Error = err.dyn_into().expect("a JS Error");
    let message = String::from(err.message());
    for needle in [
        "method",
        "must be gn or gd",
        "tau0",
        "must be a finite number > 0",
        "n:",
        "1..=",
    ] {
        assert!(
            message.contains(needle),
            "{needle:?} missing from {message:?}"
        );
    }
    let problems = json_of(&get(&err, "problems"));
    let fields: Vec<&str> = problems
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields.len(), 3, "{problems}");
    for f in ["method", "tau0", "n"] {
        assert!(fields.contains(&f), "{f} not in {fields:?}");
    }
    assert!(problems
        .as_array()
        .unwrap()
        .iter()
        .all(|p| !p["message"].as_str().unwrap().is_empty()));

    // validate() gives the same list for the same object, and nothing for a good one.
    assert_eq!(
        json_of(&validate(js(
            json!({ "n": 0, "tau0": -1.0, "method": "newton" })
        ))),
        problems
    );
    assert_eq!(json_of(&validate(js(small("gd")))), json!([]));

    // Typed strings are parsed in Rust, with the field named.
    let v = json_of(&validate(js(
        json!({ "n": "abc", "eval_every": "2.5", "seed": "12", "tau0": "1e-2" }),
    )));
    let mut v: Vec<Value> = v.as_array().unwrap().clone();
    v.sort_by_key(|p| p["field"].as_str().unwrap().to_string());
    assert_eq!(
        v,
        [
            json!({ "field": "eval_every", "message": "must be a whole number in 0..=9007199254740991 (2^53 - 1), got \"2.5\"" }),
            json!({ "field": "n", "message": "must be a whole number in 0..=9007199254740991 (2^53 - 1), got \"abc\"" }),
        ]
    );
    let unknown = json_of(&validate(js(json!({ "tua0": 1 }))));
    assert_eq!(unknown[0]["field"], "tua0");
    let not_object = json_of(&validate(JsValue::from_f64(3.0)));
    assert_eq!(not_object[0]["field"], "config");
}

#[wasm_bindgen_test]
fn the_form_check_names_the_form_fields() {
    let defaults = get(&page_spec(), "defaults");
    let ok = json_of(&check_form(defaults.clone()));
    assert_eq!(ok["ok"], true, "{ok}");
    assert_eq!(ok["configs"].as_array().unwrap().len(), 2);
    assert_eq!(ok["configs"][0]["method"], "gn");
    assert_eq!(ok["configs"][1]["method"], "gd");

    let mut form = json_of(&defaults);
    form["n"] = json!("-5");
    form["lr_gd"] = json!("0");
    form["method"] = json!("both");
    let bad = json_of(&check_form(js(form.clone())));
    assert_eq!(bad["ok"], false);
    assert_eq!(bad["configs"], json!([]));
    let fields: Vec<&str> = bad["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["n", "lr_gd"], "{bad}");

    // The λ of a method that does not run is not checked.
    form["n"] = json!(200);
    form["method"] = json!("gn");
    assert_eq!(json_of(&check_form(js(form.clone())))["ok"], true);

    // Too large for a tab: refused with a pointer to the native CLI.
    form["n"] = json!(20000);
    form["m"] = json!(5000);
    let big = json_of(&check_form(js(form)));
    assert_eq!(big["ok"], false);
    assert_eq!(big["problems"][0]["field"], "size");
    let msg = big["problems"][0]["message"].as_str().unwrap();
    assert!(
        msg.contains("native CLI") && msg.contains("gn run"),
        "{msg}"
    );
    assert!(big["estimated_bytes"][0].as_f64().unwrap() > 1e9);
}

#[wasm_bindgen_test]
fn presets_are_valid_forms() {
    let spec = page_spec();
    let defaults = json_of(&get(&spec, "defaults"));
    let presets = json_of(&get(&spec, "presets"));
    assert!(presets.as_array().unwrap().len() >= 2);
    for p in presets.as_array().unwrap() {
        let mut form = defaults.clone();
        for (k, v) in p["values"].as_object().unwrap() {
            form[k] = v.clone();
        }
        let check = json_of(&check_form(js(form)));
        assert_eq!(check["ok"], true, "preset {}: {check}", p["id"]);
        assert!(!p["description"].as_str().unwrap().is_empty());
    }
    let keys = json_of(&get(&spec, "record_keys"));
    assert_eq!(keys, json!(PACKED_KEYS));
    assert_eq!(
        &PACKED_KEYS[..RECORD_KEYS.len()],
        RECORD_KEYS,
        "the record's keys, then flow_time"
    );
}

#[wasm_bindgen_test]
fn records_are_js_objects_with_the_documented_keys() {
    let mut run = Run::new(js(
        json!({ "method": "gn", "tau0": 1.0, "n": 16, "m": 64, "n_test": 200,
                                       "max_iter": 3, "eval_every": 1, "refit": true }),
    ))
    .unwrap();
    let made = run.step(10);
    let arr: Array = made.dyn_into().expect("an Array");
    assert_eq!(arr.length(), 4, "records at 0, 1, 2 and the final 3");
    for rec in arr.iter() {
        assert!(rec.is_object() && !Array::is_array(&rec));
        let keys: Vec<String> = Object::keys(rec.unchecked_ref::<Object>())
            .iter()
            .map(|k| k.as_string().unwrap())
            .collect();
        assert_eq!(keys, RECORD_KEYS, "keys in CSV order");
        for k in RECORD_KEYS {
            let v = get(&rec, k);
            assert!(v.as_f64().is_some() || v.is_null(), "{k} is {v:?}");
        }
        assert!(
            get(&rec, "elapsed_s").as_f64().unwrap() >= 0.0,
            "the worker's clock fills elapsed_s"
        );
    }
    // Every step of GN records its spectrum and damping; the last record has no step.
    let last = arr.get(3);
    assert_eq!(get(&last, "iter").as_f64(), Some(3.0));
    assert!(get(&last, "step_norm").is_null());
    assert!(get(&arr.get(0), "eps").as_f64().unwrap() > 0.0);

    // The packed form holds the same numbers, row by row.
    let packed = run.records_packed(0).to_vec();
    let width = PACKED_KEYS.len();
    assert_eq!(packed.len(), 4 * width);
    for (r, rec) in arr.iter().enumerate() {
        for (j, k) in RECORD_KEYS.iter().enumerate() {
            let v = get(&rec, k).as_f64().unwrap_or(f64::NAN);
            let p = packed[r * width + j];
            assert!(v == p || (v.is_nan() && p.is_nan()), "{k}: {v} vs {p}");
        }
        // The flow time t = λ·k (λ = 10, the default).
        assert_eq!(packed[r * width + width - 1], 10.0 * packed[r * width]);
    }
    assert_eq!(run.records_packed(3).length(), width as u32);

    // Progress reports iteration, status, speed and the latest record.
    let progress = json_of(&run.progress());
    assert_eq!(progress["iteration"], 3);
    assert_eq!(progress["status"], "max_iter");
    assert_eq!(progress["finished"], true);
    assert_eq!(progress["last"]["iter"], 3);
}

#[wasm_bindgen_test]
fn exports_match_the_cli_formats() {
    let mut run = Run::new(js(small("gd"))).unwrap();
    run.step(25);
    let csv = run.csv();
    let mut lines = csv.lines();
    // The CLI's columns: the record's fields, then the flow time t = λ·k.
    assert_eq!(
        lines.next().unwrap(),
        gauss_newton::results::CSV_HEADER_FLOW
    );
    assert_eq!(
        gauss_newton::results::CSV_HEADER_FLOW,
        format!("{},flow_time", RECORD_KEYS.join(","))
    );
    assert_eq!(lines.count(), run.record_count());
    let doc: Value = serde_json::from_str(&run.json()).unwrap();
    assert_eq!(doc["config"]["method"], "gd");
    assert_eq!(doc["records"].as_array().unwrap().len(), run.record_count());
    assert_eq!(doc["summary"]["status"], "running");
    assert_eq!(doc["summary"]["iterations"], 25);
}

#[wasm_bindgen_test]
fn time_slices_stop_on_time() {
    let mut run = Run::new(js(
        json!({ "method": "gd", "n": 16, "m": 64, "n_test": 200, "max_iter": 1000000 }),
    ))
    .unwrap();
    run.run_for(60_000.0, 5);
    assert_eq!(run.iteration(), 5.0, "max_steps bounds a slice");
    run.run_for(0.0, u32::MAX);
    assert_eq!(run.iteration(), 6.0, "a slice takes at least one step");
    run.run_for(20.0, u32::MAX);
    let it = run.iteration();
    assert!(
        it > 6.0 && it < 1_000_000.0,
        "a 20 ms slice takes some steps, not all: {it}"
    );
}

#[wasm_bindgen_test]
fn same_seed_same_records_as_the_native_core() {
    let fixture: Value = serde_json::from_str(FIXTURE).unwrap();
    let mut worst: f64 = 0.0;
    for case in fixture["runs"].as_array().unwrap() {
        let mut run = Run::new(js(case["config"].clone())).unwrap();
        run.step(1_000_000);
        let got = json_of(&run.records(0));
        let want = case["records"].as_array().unwrap();
        let got = got.as_array().unwrap();
        assert_eq!(
            got.len(),
            want.len(),
            "{}: number of records",
            case["config"]["method"]
        );
        for (g, w) in got.iter().zip(want) {
            let scale = w["sigma_max"].as_f64().unwrap_or(0.0);
            for (key, wv) in w.as_object().unwrap() {
                if key == "elapsed_s" {
                    continue;
                }
                match (g[key].as_f64(), wv.as_f64()) {
                    (Some(a), Some(b)) => {
                        let floor = if key == "sigma_min" || key == "eps" {
                            scale
                        } else {
                            0.0
                        };
                        let err = (a - b).abs() / floor.max(a.abs()).max(b.abs()).max(1e-300);
                        worst = worst.max(err);
                        assert!(
                            err <= 1e-9,
                            "{} iter {}: {key} = {a} in wasm, {b} natively",
                            case["config"]["method"],
                            w["iter"]
                        );
                    }
                    _ => assert_eq!(&g[key], wv, "{key}"),
                }
            }
        }
        assert_eq!(json_of(&run.summary())["status"], case["summary"]["status"]);
    }
    web_sys::console::log_1(&format!("wasm vs native: worst relative difference {worst:e}").into());
}

#[wasm_bindgen_test]
fn seeds_come_from_the_browser() {
    let a = new_seed().unwrap();
    let b = new_seed().unwrap();
    let c = new_seed().unwrap();
    assert!(a >= 1 && b >= 1 && c >= 1);
    assert!(a != b || b != c, "three equal random seeds");
}

#[wasm_bindgen_test]
fn integers_beyond_two_to_the_53_are_refused_with_the_range_not_a_panic() {
    let huge = json!({ "seed": "18446744073709551615", "max_iter": 1e300, "eval_every": "9007199254740992",
                       "n": "99999999999999999999999" });
    let problems = json_of(&validate(js(huge.clone())));
    let fields: Vec<&str> = problems
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["field"].as_str().unwrap())
        .collect();
    for f in ["seed", "max_iter", "eval_every", "n"] {
        assert!(fields.contains(&f), "{f} not in {problems}");
    }
    for p in problems.as_array().unwrap() {
        assert!(
            p["message"].as_str().unwrap().contains("9007199254740991"),
            "{p}"
        );
    }
    // The page's form check answers (it used to panic converting the u64 seed for JS).
    let mut form = json_of(&get(&page_spec(), "defaults"));
    form["seed"] = json!("18446744073709551615");
    let check = json_of(&check_form(js(form)));
    assert_eq!(check["ok"], false);
    assert_eq!(check["problems"][0]["field"], "seed", "{check}");
    let ok = json_of(&validate(js(
        json!({ "seed": "9007199254740991", "n": 10, "m": 10, "n_test": 10 }),
    )));
    assert_eq!(ok, json!([]));
}

#[wasm_bindgen_test]
fn the_pictures_have_one_point_per_unit_and_one_output_per_line_point() {
    let mut run = Run::new(js(
        json!({ "method": "gd", "tau0": 0.5, "n": 16, "m": 64, "n_test": 200,
                                       "max_iter": 20, "eval_every": 10, "lr": 5.0 }),
    ))
    .unwrap();
    let line = run.line();
    let s = js_sys::Float64Array::from(get(&line, "s")).to_vec();
    let teacher = js_sys::Float64Array::from(get(&line, "teacher")).to_vec();
    assert_eq!((s.len(), teacher.len()), (201, 201));
    assert!(teacher.iter().all(|y| y.is_finite()) && teacher.iter().any(|y| *y != 0.0));
    let before = run.picture();
    let student = js_sys::Float64Array::from(get(&before, "line")).to_vec();
    assert!(
        student.iter().all(|y| *y == 0.0),
        "v = 0 at the start: f = 0"
    );
    run.step(20);
    let after = run.picture();
    let units = js_sys::Float64Array::from(get(&after, "units")).to_vec();
    assert_eq!(units.len(), 2 * 64);
    let mean_share: f64 = units.chunks(2).map(|c| c[1]).sum::<f64>() / 64.0;
    assert!(
        (mean_share - 1.0).abs() < 1e-9,
        "shares average to 1: {mean_share}"
    );
    assert!(units.chunks(2).all(|c| (0.0..=180.0).contains(&c[0])));
    let student = js_sys::Float64Array::from(get(&after, "line")).to_vec();
    assert!(student.iter().any(|y| *y != 0.0), "GD moved the outputs");
    assert!(json_of(&run.progress())["picture_s"].as_f64().unwrap() >= 0.0);
}

#[wasm_bindgen_test]
fn the_papers_width_fits_a_tab_up_to_n_200() {
    let mut form = json_of(&get(&page_spec(), "defaults"));
    for n in [100, 200] {
        form["n"] = json!(n);
        form["m"] = json!(5000);
        let check = json_of(&check_form(js(form.clone())));
        assert_eq!(check["ok"], true, "M = 5000, N = {n}: {check}");
    }
}

/// The hidden layer's kernels as wasm compiles them (`f64x2` lanes, `hidden::pre_activation_f64x2`
/// for h) give every row the bits of the scalar forms: h = b + Σ_j x_j u_j as one product and
/// one sum per column in order (wasm has no fused multiply-add), σ and σ' from
/// `SiluWith::<Separate>`, f += c σ. Row counts cover whole blocks, an overlapping last block and
/// fewer rows than a block; d = 13 takes more columns than the paper's 10.
#[wasm_bindgen_test]
fn the_hidden_kernels_give_each_row_the_bits_of_the_scalar_forms() {
    use gauss_newton::activation::{Pointwise, Separate, SiluWith};
    use gauss_newton::hidden::{forward_unit, unit, Unit};
    use gauss_newton::Activation;
    type S = SiluWith<Separate>;
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64 * 6.0 - 3.0
    };
    for d in [3, 10, 13] {
        for n in [5, 8, 16, 37, 203] {
            let x: Vec<f64> = (0..n * d).map(|_| next()).collect();
            let u: Vec<f64> = (0..d).map(|_| next()).collect();
            let (b, v, c) = (next(), next(), next());
            let h = |r: usize| (0..d).fold(b, |h, j| x[j * n + r] * u[j] + h);
            let kernel = Unit { x: &x, u: &u, b };
            let (mut s, mut ds) = (vec![0.0; n], vec![0.0; n]);
            unit(Activation::Silu, &kernel, &mut s, Some((&mut ds, v)));
            let mut f: Vec<f64> = (0..n).map(|r| r as f64 * 0.25).collect();
            forward_unit(Activation::Silu, &kernel, c, &mut f, None);
            for r in 0..n {
                let (want_s, want_ds) = S::value_slope(h(r));
                let at = format!("d = {d}, n = {n}, row {r}");
                assert_eq!(s[r].to_bits(), want_s.to_bits(), "σ, {at}");
                assert_eq!(ds[r].to_bits(), (v * want_ds).to_bits(), "v σ', {at}");
                let want_f = c * S::value(h(r)) + r as f64 * 0.25;
                assert_eq!(f[r].to_bits(), want_f.to_bits(), "f, {at}");
            }
        }
    }
}
