//! The WebAssembly boundary (compiled only for `wasm32`): a thin wasm-bindgen layer over the
//! same [`Trainer`] the CLI drives. Rust owns all state and numerics; JavaScript sends commands
//! and draws.
//!
//! What lives here:
//! - [`Run`]: one training run (built from a config object), stepped by count ([`Run::step`])
//!   or by time budget ([`Run::run_for`], which the Web Worker calls in ~50 ms slices), with
//!   records as JS objects or packed into a `Float64Array`, the summary, CSV/JSON export and
//!   reset. It measures compute time with `performance.now()` (the core has no clock) and fills
//!   each record's `elapsed_s`.
//! - the page's rules, so that the page shows exactly what the CLI would say:
//!   [`check_form`] (the page's form → one config per method, or every problem with its field),
//!   [`validate`] (one config object → its problems), the browser memory budget, and
//!   [`page_spec`] (defaults, the paper's grids, presets and record keys);
//! - [`new_seed`] (getrandom's browser backend) and the panic hook, which reports a panic both
//!   to the console and to `globalThis.gnPanicMessage`, where the worker picks it up.
//!
//! Field values from the page may be numbers or the strings typed into inputs; they are parsed
//! here, so "abc", "" or "2.5" for N give the same readable message everywhere.

use crate::config::{Activation, Config, FieldError, Method, MAX_SAFE_INTEGER, PAPER_N, PAPER_TAU0};
use crate::picture;
use crate::results::{records_csv, Record};
use crate::trainer::Trainer;
use serde::Serialize;
use serde_json::{Map, Value};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

/// A run whose estimated peak memory exceeds this is refused in the browser (a 32-bit wasm
/// memory tops out at 4 GiB, and the page may run two workers side by side).
pub const BROWSER_MEMORY_BUDGET: f64 = 1024.0 * 1024.0 * 1024.0;

/// The keys of a record, in the CSV's column order (and the packed array's).
pub const RECORD_KEYS: [&str; 10] = [
    "iter",
    "train_loss",
    "test_loss",
    "sigma_min",
    "sigma_max",
    "eps",
    "step_norm",
    "alignment",
    "refit_test_loss",
    "elapsed_s",
];

/// The columns of [`Run::records_packed`]: the record's keys, then the flow time t = λ·k
/// (DESIGN.md §3), the page's other time axis.
pub const PACKED_KEYS: [&str; 11] = [
    "iter",
    "train_loss",
    "test_loss",
    "sigma_min",
    "sigma_max",
    "eps",
    "step_norm",
    "alignment",
    "refit_test_loss",
    "elapsed_s",
    "flow_time",
];

/// The learned-function picture: this many points on the line x(s) = s·ŵ*_1, s ∈ [−3, 3].
const LINE_POINTS: usize = 201;
const LINE_S_MAX: f64 = 3.0;
/// The hidden-units picture's summary counts units within this angle (degrees) of a teacher
/// direction.
const NEAR_DEG: f64 = 10.0;

/// The page's form defaults: sizes suited to a browser tab (the CLI's are the paper's).
const BROWSER_N: usize = 200;
const BROWSER_M: usize = 1000;
const BROWSER_MAX_ITER: u64 = 5000;
/// GN takes few, costly steps and GD many cheap ones; a record (test loss on 10 000 inputs)
/// costs about as much as a few GN steps or ~30 GD steps at the default sizes.
const BROWSER_EVAL_EVERY_GN: u64 = 5;
const BROWSER_EVAL_EVERY_GD: u64 = 100;

// ---------------------------------------------------------------------------------------------
// Set-up: panic hook and clock
// ---------------------------------------------------------------------------------------------

/// Runs when the module is instantiated: installs the panic hook.
#[wasm_bindgen(start)]
pub fn start() {
    install_panic_hook();
}

/// Reports a panic to the console (with its message and location) and stores the message in
/// `globalThis.gnPanicMessage`, so the worker can tell the page what went wrong.
pub fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            console_error_panic_hook::hook(info);
            let _ = js_sys::Reflect::set(
                &js_sys::global(),
                &JsValue::from_str("gnPanicMessage"),
                &JsValue::from_str(&info.to_string()),
            );
        }));
    });
}

/// Milliseconds from `performance.now()`: the worker scope's clock where the demo trains, the
/// window's on a page (tests), `Date.now()` as a last resort.
fn now_ms() -> f64 {
    let global = js_sys::global();
    let perf = match global.dyn_ref::<web_sys::WorkerGlobalScope>() {
        Some(worker) => worker.performance(),
        None => js_sys::Reflect::get(&global, &JsValue::from_str("performance"))
            .ok()
            .and_then(|p| p.dyn_into::<web_sys::Performance>().ok()),
    };
    perf.map(|p| p.now()).unwrap_or_else(js_sys::Date::now)
}

/// Plain JS objects with `null` for absent values (never `undefined`), so every documented
/// key is present. Never panics: a value JS cannot hold (none should reach here: integer
/// fields are capped at 2^53 − 1 by [`Config::problems`]) becomes a JS `Error` object.
fn to_js<T: Serialize + ?Sized>(value: &T) -> JsValue {
    let ser = serde_wasm_bindgen::Serializer::new()
        .serialize_missing_as_null(true)
        .serialize_maps_as_objects(true);
    value
        .serialize(&ser)
        .unwrap_or_else(|e| js_sys::Error::new(&format!("a value could not be converted for the page: {e}")).into())
}

/// A JS `Error` with the given message and, if any, a `problems` array of `{field, message}`.
fn js_error(message: &str, problems: &[FieldError]) -> JsValue {
    let err = js_sys::Error::new(message);
    if !problems.is_empty() {
        let _ = js_sys::Reflect::set(&err, &JsValue::from_str("problems"), &to_js(problems));
    }
    err.into()
}

// ---------------------------------------------------------------------------------------------
// Parsing and validation (the page's rules)
// ---------------------------------------------------------------------------------------------

/// Reads a JS object into a JSON map; anything else is a problem with field "config".
fn object_of(value: &JsValue) -> Result<Map<String, Value>, FieldError> {
    if value.is_undefined() || value.is_null() {
        return Ok(Map::new());
    }
    match serde_wasm_bindgen::from_value::<Value>(value.clone()) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(FieldError::new("config", "must be an object of settings")),
        Err(e) => Err(FieldError::new("config", format!("could not be read: {e}"))),
    }
}

fn shown(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

/// A number from a JS number or a typed string.
fn parse_f64(field: &str, v: &Value) -> Result<f64, FieldError> {
    let x = match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) if !s.trim().is_empty() => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    x.ok_or_else(|| FieldError::new(field, format!("must be a number, got {}", shown(v))))
}

/// A whole number ≥ 0 from a JS number or a typed string ("1e4" is fine, "2.5" is not).
/// Values above 2^53 − 1 parse here and are refused, naming the range, by [`Config::problems`].
fn parse_u64(field: &str, v: &Value) -> Result<u64, FieldError> {
    let bad = || {
        let range = format!("0..={MAX_SAFE_INTEGER} (2^53 - 1)");
        FieldError::new(field, format!("must be a whole number in {range}, got {}", shown(v)))
    };
    if let Value::String(s) = v {
        if let Ok(k) = s.trim().parse::<u64>() {
            return Ok(k);
        }
    }
    if let Value::Number(n) = v {
        if let Some(k) = n.as_u64() {
            return Ok(k);
        }
    }
    let x = parse_f64(field, v).map_err(|_| bad())?;
    if x.fract() == 0.0 && (0.0..=9_007_199_254_740_992.0).contains(&x) {
        Ok(x as u64)
    } else {
        Err(bad())
    }
}

fn parse_usize(field: &str, v: &Value) -> Result<usize, FieldError> {
    parse_u64(field, v).and_then(|k| {
        usize::try_from(k).map_err(|_| {
            FieldError::new(field, format!("must be a whole number in 0..={}, got {k}", usize::MAX))
        })
    })
}

fn parse_bool(field: &str, v: &Value) -> Result<bool, FieldError> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "on" | "yes" => Ok(true),
            "false" | "0" | "off" | "no" | "" => Ok(false),
            _ => Err(FieldError::new(field, format!("must be true or false, got {s:?}"))),
        },
        Value::Number(n) if n.as_f64() == Some(0.0) || n.as_f64() == Some(1.0) => Ok(n.as_f64() == Some(1.0)),
        _ => Err(FieldError::new(field, format!("must be true or false, got {}", shown(v)))),
    }
}

fn parse_str<'a>(field: &str, v: &'a Value) -> Result<&'a str, FieldError> {
    v.as_str().ok_or_else(|| FieldError::new(field, format!("must be a string, got {}", shown(v))))
}

/// Sets one config field from a JS value; `key` is the config's field name, `field` the name
/// reported in problems (the page's input, e.g. `lr_gd`).
fn set_field(cfg: &mut Config, key: &str, field: &str, v: &Value) -> Result<(), FieldError> {
    let rename = |mut e: FieldError| {
        e.field = field.to_string();
        e
    };
    match key {
        "method" => cfg.method = Method::parse(parse_str(field, v)?).map_err(rename)?,
        "activation" => cfg.activation = Activation::parse(parse_str(field, v)?).map_err(rename)?,
        "tau0" => cfg.tau0 = parse_f64(field, v)?,
        "lr" => cfg.lr = parse_f64(field, v)?,
        "eps0" => cfg.eps0 = parse_f64(field, v)?,
        "tol" => cfg.tol = parse_f64(field, v)?,
        "n" => cfg.n = parse_usize(field, v)?,
        "m" => cfg.m = parse_usize(field, v)?,
        "d" => cfg.d = parse_usize(field, v)?,
        "m_teacher" => cfg.m_teacher = parse_usize(field, v)?,
        "n_test" => cfg.n_test = parse_usize(field, v)?,
        "seed" => cfg.seed = parse_u64(field, v)?,
        "max_iter" => cfg.max_iter = parse_u64(field, v)?,
        "eval_every" => cfg.eval_every = parse_u64(field, v)?,
        "refit" => cfg.refit = parse_bool(field, v)?,
        _ => return Err(FieldError::new(field, "is not a setting of a run")),
    }
    Ok(())
}

/// The browser's own rule on top of the core's: the run must fit a tab's memory.
fn browser_problems(cfg: &Config) -> Vec<FieldError> {
    let bytes = cfg.estimated_bytes();
    if bytes <= BROWSER_MEMORY_BUDGET {
        return Vec::new();
    }
    vec![FieldError::new(
        "size",
        format!(
            "N = {} with M = {} needs about {:.1} GB, more than a browser tab can give ({:.1} GB per run): \
             run it with the native CLI instead, e.g. `gn run --tau0 {} --n {} --m {}` \
             (add `--method gd` for gradient descent)",
            cfg.n,
            cfg.m,
            bytes / 1e9,
            BROWSER_MEMORY_BUDGET / 1e9,
            cfg.tau0,
            cfg.n,
            cfg.m,
        ),
    )]
}

/// A config from a JS object of config fields (numbers or strings), starting from the
/// paper's defaults, and every problem found: parse errors, the core's rules, the browser's.
fn parse_config(value: &JsValue) -> (Config, Vec<FieldError>) {
    let mut cfg = Config::default();
    let mut problems = Vec::new();
    match object_of(value) {
        Ok(map) => {
            for (key, v) in &map {
                if v.is_null() {
                    continue;
                }
                if let Err(e) = set_field(&mut cfg, key, key, v) {
                    problems.push(e);
                }
            }
        }
        Err(e) => problems.push(e),
    }
    finish(&cfg, &mut problems);
    (cfg, problems)
}

/// Adds the core's and the browser's problems for fields that parsed.
fn finish(cfg: &Config, problems: &mut Vec<FieldError>) {
    let failed: Vec<String> = problems.iter().map(|p| p.field.clone()).collect();
    for p in cfg.problems().into_iter().chain(browser_problems(cfg)) {
        if !failed.contains(&p.field) {
            problems.push(p);
        }
    }
}

/// The problems with one config object (`{field, message}` each; empty if it can run):
/// the same rules as the CLI, plus the browser's memory budget.
#[wasm_bindgen]
pub fn validate(config: JsValue) -> JsValue {
    to_js(&parse_config(&config).1)
}

/// What [`check_form`] answers.
#[derive(Serialize)]
struct FormCheck {
    /// True if every run can start.
    ok: bool,
    problems: Vec<FieldError>,
    /// One config per method to run (GN first), when `ok`.
    configs: Vec<Config>,
    /// Estimated peak memory of each run, in bytes.
    estimated_bytes: Vec<f64>,
}

/// The form's shared keys; `method` may also be "both".
const FORM_KEYS: [&str; 8] = ["method", "activation", "tau0", "n", "m", "seed", "max_iter", "refit"];
/// Settings each method has its own of in the form, as `lr_gn`, `lr_gd`, `eval_every_gn`, …
/// (GD takes many more, cheaper steps than GN, so it wants its own step and record interval).
const PER_METHOD_KEYS: [&str; 2] = ["lr", "eval_every"];

/// Splits a form key like `lr_gd` into (`lr`, GD).
fn per_method(key: &str) -> Option<(&'static str, Method)> {
    PER_METHOD_KEYS.iter().find_map(|base| {
        let rest = key.strip_prefix(base)?.strip_prefix('_')?;
        Method::parse(rest).ok().map(|m| (*base, m))
    })
}

/// Checks the page's form (`{method: "gn"|"gd"|"both", tau0, n, m, activation, seed, max_iter,
/// refit, lr_gn, lr_gd, eval_every_gn, eval_every_gd}`, values as numbers or typed strings)
/// and answers `{ok, problems: [{field, message}], configs: [config per method],
/// estimated_bytes}`. Problems name the form's fields (`lr_gd`, not `lr`); a run too large for
/// a tab gets the field `size`.
#[wasm_bindgen]
pub fn check_form(form: JsValue) -> JsValue {
    let mut problems = Vec::new();
    let map = object_of(&form).unwrap_or_else(|e| {
        problems.push(e);
        Map::new()
    });
    let methods = match map.get("method").map(|v| (v, v.as_str().map(|s| s.trim().to_ascii_lowercase()))) {
        None => vec![Method::Gn, Method::Gd],
        Some((_, Some(s))) if s == "both" => vec![Method::Gn, Method::Gd],
        Some((v, s)) => match s.as_deref().map(Method::parse) {
            Some(Ok(m)) => vec![m],
            _ => {
                problems.push(FieldError::new("method", format!("must be gn, gd or both, got {}", shown(v))));
                vec![]
            }
        },
    };
    let mut base = Config::default();
    for (key, v) in &map {
        if v.is_null() || key == "method" || per_method(key).is_some() {
            continue;
        }
        if !FORM_KEYS.contains(&key.as_str()) {
            problems.push(FieldError::new(key.as_str(), "is not a field of the form"));
        } else if let Err(e) = set_field(&mut base, key, key, v) {
            problems.push(e);
        }
    }
    let mut configs = Vec::new();
    for method in methods {
        let mut cfg = Config { method, ..base.clone() };
        let mut all = problems.clone();
        for (key, v) in &map {
            match per_method(key) {
                Some((name, m)) if m == method && !v.is_null() => {
                    if let Err(e) = set_field(&mut cfg, name, key, v) {
                        all.push(e);
                    }
                }
                _ => {}
            }
        }
        finish(&cfg, &mut all);
        for mut p in all {
            if PER_METHOD_KEYS.contains(&p.field.as_str()) {
                p.field = format!("{}_{}", p.field, method.name());
            }
            if !problems.contains(&p) {
                problems.push(p);
            }
        }
        configs.push(cfg);
    }
    let ok = problems.is_empty() && !configs.is_empty();
    let estimated_bytes = configs.iter().map(Config::estimated_bytes).collect();
    to_js(&FormCheck { ok, problems, configs: if ok { configs } else { Vec::new() }, estimated_bytes })
}

// ---------------------------------------------------------------------------------------------
// What the page needs to know: defaults, grids, presets
// ---------------------------------------------------------------------------------------------

#[derive(Serialize)]
struct Preset {
    id: &'static str,
    label: &'static str,
    description: &'static str,
    /// Form values the preset sets (others keep their current value).
    values: Map<String, Value>,
    /// For a preset whose GD step is not the paper's: the label and form values of the same
    /// preset with the paper's λ = 10 for GD (over the same flow time).
    paper_step: Option<(&'static str, Map<String, Value>)>,
}

#[derive(Serialize)]
struct PageSpec {
    /// The page's form at first visit.
    defaults: Map<String, Value>,
    /// The paper's defaults (the CLI's), for reference.
    paper: Config,
    tau0_grid: Vec<f64>,
    n_grid: Vec<usize>,
    m_grid: Vec<usize>,
    presets: Vec<Preset>,
    record_keys: Vec<&'static str>,
    memory_budget_bytes: f64,
}

fn form(pairs: &[(&str, Value)]) -> Map<String, Value> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
}

/// Defaults for the page's form, the paper's grids, presets and the record keys.
#[wasm_bindgen]
pub fn page_spec() -> JsValue {
    use serde_json::json;
    let paper = Config::default();
    let defaults = form(&[
        ("method", json!("both")),
        ("tau0", json!(0.01)),
        ("n", json!(BROWSER_N)),
        ("m", json!(BROWSER_M)),
        ("lr_gn", json!(paper.lr)),
        ("lr_gd", json!(paper.lr)),
        ("activation", json!(paper.activation.name())),
        ("seed", json!(paper.seed)),
        ("max_iter", json!(BROWSER_MAX_ITER)),
        ("eval_every_gn", json!(BROWSER_EVAL_EVERY_GN)),
        ("eval_every_gd", json!(BROWSER_EVAL_EVERY_GD)),
        ("refit", json!(false)),
    ]);
    let presets = vec![
        Preset {
            id: "kernel",
            label: "Kernel regime",
            description: "Large initial weights (τ₀ = 10): the hidden layer barely moves, GN and GD \
                          end at the same test loss, close to the random-features baseline. GD's \
                          step is halved to stay below its stability limit 2N/λ_max(A).",
            values: form(&[
                ("method", json!("both")),
                ("tau0", json!(10.0)),
                ("n", json!(BROWSER_N)),
                ("m", json!(BROWSER_M)),
                ("lr_gn", json!(10.0)),
                ("lr_gd", json!(5.0)),
                ("max_iter", json!(3000)),
                ("eval_every_gn", json!(5)),
                ("eval_every_gd", json!(50)),
                ("refit", json!(false)),
            ]),
            paper_step: None,
        },
        Preset {
            id: "feature",
            label: "Feature-learning regime",
            description: "Small initial weights (τ₀ = 0.01): GN fits the training set in under \
                          200 steps, yet GD's solution generalizes better and its hidden units \
                          gather on the teacher's directions. GD takes λ = 30, its flow-equivalent \
                          step here: measured natively (M = 1000, N = 200, seed 1, records every \
                          t = 300 up to flow time t = λ·k = 60 000), λ = 30's train and test losses \
                          stay within 0.7 % of λ = 10's at equal t, except in the fast drop off the \
                          initial plateau (t ≈ 6000, where the loss falls tenfold within Δt ≈ 1500 \
                          and a small shift in time moves it by 12 %; no λ ≥ 20 stays within 1 % \
                          there). λ = 50 is off by 1.4 %, λ = 100 by 3.3 % (25 % and 63 % in the \
                          drop). At t = 60 000 (2000 steps) GD's test loss is 8.2e-3, GN's 8.8e-3.",
            values: form(&[
                ("method", json!("both")),
                ("tau0", json!(0.01)),
                ("n", json!(BROWSER_N)),
                ("m", json!(BROWSER_M)),
                ("lr_gn", json!(10.0)),
                ("lr_gd", json!(30.0)),
                ("max_iter", json!(2000)),
                ("eval_every_gn", json!(10)),
                ("eval_every_gd", json!(50)),
                ("refit", json!(false)),
            ]),
            paper_step: Some((
                "GD with the paper's step λ = 10 (6000 steps, the same flow time)",
                form(&[("lr_gd", json!(10.0)), ("max_iter", json!(6000)), ("eval_every_gd", json!(100))]),
            )),
        },
        Preset {
            id: "hidden",
            label: "Hidden learning",
            description: "Small τ₀ and a small GN step (λ = 0.1): GN's own test loss stays high, \
                          but refitting only its last layer on the features it learned gives a \
                          far better test loss than the random-features baseline.",
            values: form(&[
                ("method", json!("gn")),
                ("tau0", json!(0.01)),
                ("n", json!(BROWSER_N)),
                ("m", json!(BROWSER_M)),
                ("lr_gn", json!(0.1)),
                ("max_iter", json!(1000)),
                ("eval_every_gn", json!(20)),
                ("refit", json!(true)),
            ]),
            paper_step: None,
        },
    ];
    to_js(&PageSpec {
        defaults,
        paper,
        tau0_grid: PAPER_TAU0.to_vec(),
        n_grid: PAPER_N.to_vec(),
        m_grid: vec![500, 1000, 2000, 5000],
        presets,
        record_keys: PACKED_KEYS.to_vec(),
        memory_budget_bytes: BROWSER_MEMORY_BUDGET,
    })
}

/// The columns of [`Run::records_packed`]: a record's keys in the CSV's column order, then
/// `flow_time`.
#[wasm_bindgen]
pub fn record_keys() -> js_sys::Array {
    PACKED_KEYS.iter().map(|k| JsValue::from_str(k)).collect()
}

/// A fresh random seed (1 ..= 2³²−1) from the browser's `crypto.getRandomValues`.
#[wasm_bindgen]
pub fn new_seed() -> Result<u32, JsValue> {
    let mut buf = [0u8; 4];
    getrandom::fill(&mut buf).map_err(|e| js_error(&format!("no random numbers: {e}"), &[]))?;
    Ok(u32::from_le_bytes(buf).max(1))
}

/// Panics on purpose, so tests can check that a crash reaches the page.
#[wasm_bindgen]
pub fn crash_for_testing() {
    panic!("crash_for_testing was called");
}

// ---------------------------------------------------------------------------------------------
// A run
// ---------------------------------------------------------------------------------------------

/// What [`Run::progress`] answers.
#[derive(Serialize)]
struct Progress<'a> {
    method: &'static str,
    iteration: u64,
    max_iter: u64,
    status: &'static str,
    finished: bool,
    /// Seconds spent computing steps so far (pauses excluded).
    compute_s: f64,
    /// Seconds spent drawing the data and measuring the baseline.
    setup_s: f64,
    /// Steps per second over the recent slices.
    it_per_s: Option<f64>,
    /// Seconds until the iteration limit at that speed (an upper bound: a run may converge
    /// earlier).
    eta_s: Option<f64>,
    records: usize,
    last: Option<&'a Record>,
    rf_test_loss: Option<f64>,
    /// Seconds spent computing the pictures ([`Run::picture`]) so far.
    picture_s: f64,
}

/// One training run, owned by Rust; JS steps it and reads what it made.
#[wasm_bindgen]
pub struct Run {
    config: Config,
    trainer: Trainer,
    records: Vec<Record>,
    compute_s: f64,
    setup_s: f64,
    /// (steps, seconds) of recent work, for the speed estimate.
    recent: std::collections::VecDeque<(u64, f64)>,
    /// The learned-function picture's line: positions s and inputs x(s), one per row.
    line_s: Vec<f64>,
    line_x: nalgebra::DMatrix<f64>,
    /// Seconds spent in [`Run::picture`].
    picture_s: f64,
}

impl Run {
    fn build(config: Config) -> Result<Run, JsValue> {
        let t0 = now_ms();
        let trainer = Trainer::new(config.clone()).map_err(|e| {
            let problems = match &e {
                crate::Error::Invalid(p) => p.clone(),
                _ => Vec::new(),
            };
            js_error(&e.to_string(), &problems)
        })?;
        let (line_s, line_x) = picture::line_inputs(&trainer.data().teacher.u, LINE_POINTS, LINE_S_MAX);
        let setup_s = (now_ms() - t0) / 1e3;
        Ok(Run {
            config,
            trainer,
            records: Vec::new(),
            compute_s: 0.0,
            setup_s,
            recent: Default::default(),
            line_s,
            line_x,
            picture_s: 0.0,
        })
    }

    /// One call of the core's `advance`, timed; its records get `elapsed_s`.
    fn timed_advance(&mut self, steps: u64) -> usize {
        let before = self.trainer.iteration();
        let t0 = now_ms();
        let new = self.trainer.advance(steps);
        let dt = (now_ms() - t0) / 1e3;
        self.compute_s += dt;
        let taken = self.trainer.iteration() - before;
        self.recent.push_back((taken, dt));
        while self.recent.len() > 1 && self.recent.iter().map(|r| r.1).sum::<f64>() > 3.0 {
            self.recent.pop_front();
        }
        let count = new.len();
        for mut r in new {
            r.elapsed_s = Some(self.compute_s);
            self.records.push(r);
        }
        count
    }

    fn records_from(&self, start: usize) -> &[Record] {
        &self.records[start.min(self.records.len())..]
    }
}

#[wasm_bindgen]
impl Run {
    /// A new run from a config object (keys as in the checkpoint's `config`; missing keys take
    /// the paper's defaults). Throws an `Error` whose message lists the problems and whose
    /// `problems` property has them as `{field, message}`.
    #[wasm_bindgen(constructor)]
    pub fn new(config: JsValue) -> Result<Run, JsValue> {
        install_panic_hook();
        let (cfg, problems) = parse_config(&config);
        if !problems.is_empty() {
            let text: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
            return Err(js_error(&format!("invalid {}", text.join("; ")), &problems));
        }
        Run::build(cfg)
    }

    /// Takes up to `steps` steps; returns the records made, as JS objects with every key of
    /// [`RECORD_KEYS`] (null where a value was not computed).
    pub fn step(&mut self, steps: u32) -> JsValue {
        let start = self.records.len();
        for _ in 0..steps {
            if self.trainer.is_finished() {
                break;
            }
            self.timed_advance(1);
        }
        to_js(self.records_from(start))
    }

    /// Steps for at most about `budget_ms` milliseconds (at least one step, at most
    /// `max_steps`) or until the run ends: it stops before a step that, at the pace of the
    /// last one, would overrun the budget, so a slice rarely lasts longer than the budget or
    /// one step. Returns the number of new records; read them with [`Run::records_packed`] or
    /// [`Run::records`].
    pub fn run_for(&mut self, budget_ms: f64, max_steps: u32) -> usize {
        let t0 = now_ms();
        let mut made = 0;
        let mut taken = 0;
        while !self.trainer.is_finished() && taken < max_steps.max(1) {
            let before = now_ms();
            made += self.timed_advance(1);
            taken += 1;
            let now = now_ms();
            let last_step_ms = now - before;
            if now - t0 + last_step_ms > budget_ms {
                break;
            }
        }
        made
    }

    /// Steps taken so far.
    pub fn iteration(&self) -> f64 {
        self.trainer.iteration() as f64
    }

    /// "running", "converged", "max_iter" or "diverged".
    pub fn status(&self) -> String {
        self.trainer.status().name().to_string()
    }

    #[wasm_bindgen(js_name = isFinished)]
    pub fn is_finished(&self) -> bool {
        self.trainer.is_finished()
    }

    /// How many records were made so far.
    #[wasm_bindgen(js_name = recordCount)]
    pub fn record_count(&self) -> usize {
        self.records.len()
    }

    /// Records from index `start` on, as JS objects.
    pub fn records(&self, start: usize) -> JsValue {
        to_js(self.records_from(start))
    }

    /// Records from index `start` on, packed row by row into one `Float64Array` of
    /// `PACKED_KEYS.length` columns (NaN where a value is absent): cheap to post to the page.
    #[wasm_bindgen(js_name = recordsPacked)]
    pub fn records_packed(&self, start: usize) -> js_sys::Float64Array {
        let rows = self.records_from(start);
        let mut out = Vec::with_capacity(rows.len() * PACKED_KEYS.len());
        let nan = f64::NAN;
        for r in rows {
            out.extend_from_slice(&[
                r.iter as f64,
                r.train_loss,
                r.test_loss.unwrap_or(nan),
                r.sigma_min.unwrap_or(nan),
                r.sigma_max.unwrap_or(nan),
                r.eps.unwrap_or(nan),
                r.step_norm.unwrap_or(nan),
                r.alignment.unwrap_or(nan),
                r.refit_test_loss.unwrap_or(nan),
                r.elapsed_s.unwrap_or(nan),
                r.iter as f64 * self.config.lr,
            ]);
        }
        js_sys::Float64Array::from(out.as_slice())
    }

    /// Iteration, limit, status, compute time, speed, ETA, the latest record and the
    /// random-features baseline, as one object.
    pub fn progress(&self) -> JsValue {
        let (steps, secs) = self.recent.iter().fold((0u64, 0.0), |a, r| (a.0 + r.0, a.1 + r.1));
        let it_per_s = (secs > 0.0 && steps > 0).then(|| steps as f64 / secs);
        let left = self.config.max_iter.saturating_sub(self.trainer.iteration()) as f64;
        let finished = self.trainer.is_finished();
        let eta_s = if finished { Some(0.0) } else { it_per_s.map(|r| left / r) };
        to_js(&Progress {
            method: self.config.method.name(),
            iteration: self.trainer.iteration(),
            max_iter: self.config.max_iter,
            status: self.trainer.status().name(),
            finished,
            compute_s: self.compute_s,
            setup_s: self.setup_s,
            it_per_s,
            eta_s,
            records: self.records.len(),
            last: self.records.last(),
            rf_test_loss: self.trainer.summary(None).rf_test_loss,
            picture_s: self.picture_s,
        })
    }

    /// The summary so far (`wall_s` is the compute time, pauses excluded).
    pub fn summary(&self) -> JsValue {
        to_js(&self.trainer.summary(Some(self.compute_s)))
    }

    /// The run's config as an object.
    pub fn config(&self) -> JsValue {
        to_js(&self.config)
    }

    /// The records as CSV, the same columns as the CLI's.
    pub fn csv(&self) -> String {
        records_csv(&self.records)
    }

    /// Config, records and summary as JSON, the same document as the CLI's `--out`.
    pub fn json(&self) -> String {
        self.trainer.result(self.records.clone(), Some(self.compute_s)).to_json()
    }

    /// Starts the same run over from iteration 0 (same config, same seed).
    pub fn reset(&mut self) -> Result<(), JsValue> {
        *self = Run::build(self.config.clone())?;
        Ok(())
    }

    /// The pictures of what the network has learned now ([`crate::picture`]), as
    /// `{units, near_units, near_share, line}`: `units` packs (angle in degrees to the nearest
    /// teacher direction, share M·p_i) per hidden unit into a `Float64Array` of 2M numbers;
    /// `near_units` counts the units within 10° of a teacher direction and `near_share` is
    /// their fraction of Σ‖u_i‖²; `line` holds the student's outputs on the points of
    /// [`Run::line`]. Its compute time is added to `picture_s` of [`Run::progress`].
    pub fn picture(&mut self) -> JsValue {
        let t0 = now_ms();
        let student = self.trainer.student();
        let (angles, shares) = picture::unit_points(&student.u, &self.trainer.data().teacher.u);
        let (near_units, near_share) = picture::near_teacher(&angles, &shares, NEAR_DEG);
        let units: Vec<f64> = angles.iter().zip(&shares).flat_map(|(a, p)| [*a, *p]).collect();
        let line = picture::line_outputs(student, self.config.activation, &self.line_x);
        let out = js_sys::Object::new();
        let set = |k: &str, v: JsValue| js_sys::Reflect::set(&out, &JsValue::from_str(k), &v);
        let _ = set("units", js_sys::Float64Array::from(units.as_slice()).into());
        let _ = set("near_units", JsValue::from_f64(near_units as f64));
        let _ = set("near_share", JsValue::from_f64(near_share));
        let _ = set("line", js_sys::Float64Array::from(line.as_slice()).into());
        self.picture_s += (now_ms() - t0) / 1e3;
        out.into()
    }

    /// The learned-function picture's fixed part, `{s, teacher, near_deg}`: the positions s
    /// on the line x(s) = s·ŵ*_1 (ŵ*_1 the teacher's first unit direction) and the teacher's
    /// outputs there (`Float64Array`s), and the angle [`Run::picture`] counts as near.
    pub fn line(&self) -> JsValue {
        let data = self.trainer.data();
        let teacher = picture::line_outputs(&data.teacher, self.config.activation, &self.line_x);
        let out = js_sys::Object::new();
        let set = |k: &str, v: JsValue| js_sys::Reflect::set(&out, &JsValue::from_str(k), &v);
        let _ = set("s", js_sys::Float64Array::from(self.line_s.as_slice()).into());
        let _ = set("teacher", js_sys::Float64Array::from(teacher.as_slice()).into());
        let _ = set("near_deg", JsValue::from_f64(NEAR_DEG));
        out.into()
    }

    /// Estimated peak memory of this run, in bytes.
    #[wasm_bindgen(js_name = estimatedBytes)]
    pub fn estimated_bytes(&self) -> f64 {
        self.config.estimated_bytes()
    }
}
