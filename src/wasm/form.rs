//! The page's rules and prose: the form's checks (the core's rules, the same as the CLI's,
//! plus the browser's memory budget), the defaults, the paper's grids and the presets with
//! their notes.

use super::parse::{object_of, set_field, shown, to_js};
use super::PACKED_KEYS;
use crate::config::{Config, FieldError, FieldSpec, Method, FIELDS, PAPER_N, PAPER_TAU0};
use serde::Serialize;
use serde_json::{json, Map, Value};
use wasm_bindgen::prelude::*;

/// A run whose estimated peak memory exceeds this is refused in the browser (a 32-bit wasm
/// memory tops out at 4 GiB, and the page may run two workers side by side).
pub const BROWSER_MEMORY_BUDGET: f64 = 1024.0 * 1024.0 * 1024.0;

/// The page's form defaults: sizes suited to a browser tab (the CLI's are the paper's).
const BROWSER_N: usize = 200;
const BROWSER_M: usize = 1000;
const BROWSER_MAX_ITER: u64 = 5000;
/// GN takes few, costly steps and GD many cheap ones; a record (test loss on 10 000 inputs)
/// costs about as much as a few GN steps or ~30 GD steps at the default sizes.
const BROWSER_EVAL_EVERY_GN: u64 = 5;
const BROWSER_EVAL_EVERY_GD: u64 = 100;

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
pub(super) fn parse_config(value: &JsValue) -> (Config, Vec<FieldError>) {
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
    cfg.apply_max_flow_time();
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

/// The config fields the page's form shows, in URL order; `method` may also be "both".
const FORM_FIELDS: [&str; 10] = [
    "method",
    "tau0",
    "n",
    "m",
    "lr",
    "activation",
    "seed",
    "max_iter",
    "eval_every",
    "refit",
];
/// Settings each method has its own of in the form, as `lr_gn`, `lr_gd`, `eval_every_gn`, …
/// (GD takes many more, cheaper steps than GN, so it wants its own step and record interval).
const PER_METHOD_KEYS: [&str; 2] = ["lr", "eval_every"];

/// The form's keys in URL order: each field of [`FORM_FIELDS`], the per-method ones once per
/// method. The page reads them from [`page_spec`] rather than repeating them.
fn form_keys() -> Vec<String> {
    FORM_FIELDS
        .iter()
        .flat_map(|f| {
            if PER_METHOD_KEYS.contains(f) {
                vec![format!("{f}_gn"), format!("{f}_gd")]
            } else {
                vec![f.to_string()]
            }
        })
        .collect()
}

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
    let methods = match map
        .get("method")
        .map(|v| (v, v.as_str().map(|s| s.trim().to_ascii_lowercase())))
    {
        None => vec![Method::Gn, Method::Gd],
        Some((_, Some(s))) if s == "both" => vec![Method::Gn, Method::Gd],
        Some((v, s)) => match s.as_deref().map(Method::parse) {
            Some(Ok(m)) => vec![m],
            _ => {
                problems.push(FieldError::new(
                    "method",
                    format!("must be gn, gd or both, got {}", shown(v)),
                ));
                vec![]
            }
        },
    };
    let mut base = Config::default();
    for (key, v) in &map {
        if v.is_null() || key == "method" || per_method(key).is_some() {
            continue;
        }
        if !FORM_FIELDS.contains(&key.as_str()) || PER_METHOD_KEYS.contains(&key.as_str()) {
            problems.push(FieldError::new(key.as_str(), "is not a field of the form"));
        } else if let Err(e) = set_field(&mut base, key, key, v) {
            problems.push(e);
        }
    }
    let mut configs = Vec::new();
    for method in methods {
        let mut cfg = Config {
            method,
            ..base.clone()
        };
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
    to_js(&FormCheck {
        ok,
        problems,
        configs: if ok { configs } else { Vec::new() },
        estimated_bytes,
    })
}

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
    /// The form's keys, in URL order.
    form_keys: Vec<String>,
    /// The field table: every setting of a run, its help, kind, range and sweep role.
    fields: &'static [FieldSpec],
    memory_budget_bytes: f64,
}

fn form(pairs: &[(&str, Value)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

/// Defaults for the page's form, the paper's grids, presets and the record keys.
#[wasm_bindgen]
pub fn page_spec() -> JsValue {
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
    let presets = vec![kernel_preset(), feature_preset(), hidden_preset()];
    to_js(&PageSpec {
        defaults,
        paper,
        tau0_grid: PAPER_TAU0.to_vec(),
        n_grid: PAPER_N.to_vec(),
        m_grid: vec![500, 1000, 2000, 5000],
        presets,
        record_keys: PACKED_KEYS.to_vec(),
        form_keys: form_keys(),
        fields: FIELDS,
        memory_budget_bytes: BROWSER_MEMORY_BUDGET,
    })
}

/// The kernel regime: large τ₀, both methods.
fn kernel_preset() -> Preset {
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
    }
}

/// The feature-learning regime: small τ₀, both methods, GD at its flow-equivalent step.
fn feature_preset() -> Preset {
    Preset {
        id: "feature",
        label: "Feature-learning regime",
        description: "Small initial weights (τ₀ = 0.01): GN fits the training set in under \
                      200 steps, yet GD's solution generalizes better and its hidden units \
                      gather on the teacher's directions. GD runs at λ = 30, its flow-equivalent \
                      step: measured natively at these sizes (seed 1, flow time t = λ·k up to \
                      60 000), its train and test losses stay within 0.7 % of λ = 10's at equal \
                      t, except in the fast drop off the initial plateau near t = 6000 (12 %; no \
                      λ ≥ 20 stays within 1 % there); λ = 50 drifts 1.4 % off, λ = 100 3.3 %.",
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
            form(&[
                ("lr_gd", json!(10.0)),
                ("max_iter", json!(6000)),
                ("eval_every_gd", json!(100)),
            ]),
        )),
    }
}

/// Hidden learning: small τ₀, a small GN step, the refit recorded.
fn hidden_preset() -> Preset {
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
    }
}

/// The columns of [`Run::records_packed`]: a record's keys in the CSV's column order, then
/// `flow_time`.
#[wasm_bindgen]
pub fn record_keys() -> js_sys::Array {
    PACKED_KEYS.iter().map(|k| JsValue::from_str(k)).collect()
}

/// The file stem of a run of this config object: the library's [`crate::sweep::run_name`],
/// the name `gn sweep` gives its files, so the page's exports and sweep folders agree.
#[wasm_bindgen]
pub fn run_name(config: JsValue) -> String {
    crate::sweep::run_name(&parse_config(&config).0)
}
