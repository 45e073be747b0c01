//! The configuration of one training run, its defaults (the paper's) and its validation.
//!
//! The fields themselves are declared once, in the `declare_config!` table below ([`fields`]
//! explains the mechanism). Validation lives here once: the CLI, the Web Worker and the page all call
//! [`Config::validate`], so every front end shows the same rules and messages.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Which update rule trains the network (DESIGN.md §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Damped generalised Gauss-Newton.
    Gn,
    /// Plain gradient descent.
    Gd,
}

/// The hidden layer's nonlinearity σ.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// σ(h) = h · sigmoid(h) (the paper's choice).
    #[default]
    Silu,
    /// σ(h) = max(h, 0).
    Relu,
    /// σ(h) = tanh(h).
    Tanh,
}

impl Method {
    /// Parses `gn` or `gd`; the error names the field and what is allowed.
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "gn" => Ok(Method::Gn),
            "gd" => Ok(Method::Gd),
            _ => Err(FieldError::new(
                "method",
                format!("must be gn or gd, got {s:?}"),
            )),
        }
    }
    /// The lowercase name used in files and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Method::Gn => "gn",
            Method::Gd => "gd",
        }
    }
}

impl Activation {
    /// Parses `silu`, `relu` or `tanh`; the error names the field and what is allowed.
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "silu" => Ok(Activation::Silu),
            "relu" => Ok(Activation::Relu),
            "tanh" => Ok(Activation::Tanh),
            _ => Err(FieldError::new(
                "activation",
                format!("must be silu, relu or tanh, got {s:?}"),
            )),
        }
    }
    /// The lowercase name used in files and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Activation::Silu => "silu",
            Activation::Relu => "relu",
            Activation::Tanh => "tanh",
        }
    }
}

/// One problem with a configuration: the field and a readable message saying what is allowed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

pub mod fields;

use fields::declare_config;
pub use fields::{field, flag, value_text, FieldSpec, Kind, Overrides};
pub use fields::{FieldValue, Range};
use serde_json::Value;

// The run's settings, declared once (see [`fields`]): the struct `Config`, its defaults (the
// paper's), the field table `FIELDS` and the range checks. Axis depths give the sweep grid's
// fixed order (0 outermost), which sharding and resumed sweeps rely on.
declare_config! {
    method: Method = Method::Gn, Range::Any, axis: Some(5), fixed: false,
        value_name: "METHOD", conflicts_with: None,
        help: "Update rule: gn (damped Gauss-Newton) or gd (gradient descent)";
    activation: Activation = Activation::Silu, Range::Any, axis: Some(3), fixed: true,
        value_name: "ACTIVATION", conflicts_with: None,
        help: "Nonlinearity: silu, relu or tanh";
    /// Initial weight scale: U, b ~ N(0, τ₀²).
    tau0: f64 = 0.1, Range::Positive, axis: Some(6), fixed: true,
        value_name: "TAU0", conflicts_with: None,
        help: "Initial weight scale τ₀ (U, b ~ N(0, τ₀²)); the paper's grid is 0.01, 0.1, 0.5, 1, 5, 10, 100 (0.1: the feature-learning regime)";
    /// Number of training inputs N.
    n: usize = 500, Range::Count { max: MAX_N }, axis: Some(1), fixed: true,
        value_name: "N", conflicts_with: None,
        help: "Training inputs N";
    /// Hidden units M of the student.
    m: usize = 5000, Range::Count { max: MAX_M }, axis: Some(0), fixed: true,
        value_name: "M", conflicts_with: None,
        help: "Hidden units M";
    /// Input dimension d.
    d: usize = 10, Range::Count { max: MAX_D }, axis: None, fixed: true,
        value_name: "D", conflicts_with: None,
        help: "Input dimension d";
    /// Hidden units M* of the teacher.
    m_teacher: usize = 5, Range::Count { max: MAX_M }, axis: None, fixed: true,
        value_name: "M_TEACHER", conflicts_with: None,
        help: "Teacher hidden units M*";
    /// Number of test inputs.
    n_test: usize = 10_000, Range::Count { max: MAX_N_TEST }, axis: None, fixed: true,
        value_name: "N_TEST", conflicts_with: None,
        help: "Test inputs";
    /// Step size λ.
    lr: f64 = 10.0, Range::Positive, axis: Some(4), fixed: false,
        value_name: "LR", conflicts_with: None,
        help: "Step size λ";
    /// Smallest damping ε₀ of GN.
    eps0: f64 = 1e-7, Range::NonNegative, axis: None, fixed: false,
        value_name: "EPS0", conflicts_with: None,
        help: "GN's smallest damping ε₀";
    /// Relative tolerance: converged once L_k ≤ tol · L₁.
    tol: f64 = 1e-8, Range::Positive, axis: None, fixed: false,
        value_name: "TOL", conflicts_with: None,
        help: "Stop once L_k ≤ tol · L₁";
    seed: u64 = 1, Range::Whole { min: 0 }, axis: Some(2), fixed: true,
        value_name: "SEED", conflicts_with: None,
        help: "Seed of the data, the teacher and the initialisation";
    /// Steps in total, across resumes.
    max_iter: u64 = 2_000_000, Range::Whole { min: 0 }, axis: None, fixed: false,
        value_name: "MAX_ITER", conflicts_with: None,
        help: "Steps in total, across resumes";
    /// Record every this many iterations (and at the first and last).
    eval_every: u64 = 100, Range::Whole { min: 1 }, axis: None, fixed: false,
        value_name: "K", conflicts_with: None,
        help: "Record every K iterations (and the first and last)";
    /// Also record the last-layer refit test loss at each record point.
    refit: bool = false, Range::Any, axis: None, fixed: false,
        value_name: "", conflicts_with: None,
        help: "Also record the last-layer refit test loss at each record (hidden-learning probe)";
    /// Stop once the flow time t = λ·k reaches this (DESIGN.md §3): the step limit is then
    /// `max_iter` = ⌈T/λ⌉, set by [`Config::apply_max_flow_time`]. Absent in files written
    /// before flow time existed, and omitted when not set.
    #[serde(skip_serializing_if = "Option::is_none")]
    max_flow_time: Option<f64> = None, Range::Positive, axis: None, fixed: false,
        value_name: "T", conflicts_with: Some("max_iter"),
        help: "Stop at flow time T = λ·k: sets the step limit to ⌈T/λ⌉ (instead of --max-iter)";
}

/// The τ₀ grid of the paper.
pub const PAPER_TAU0: [f64; 7] = [0.01, 0.1, 0.5, 1.0, 5.0, 10.0, 100.0];
/// The N grid of the paper.
pub const PAPER_N: [usize; 5] = [100, 500, 1000, 1500, 2000];

/// Largest sizes accepted, so that a typo cannot ask for terabytes.
pub const MAX_N: usize = 100_000;
pub const MAX_M: usize = 1_000_000;
pub const MAX_D: usize = 10_000;
pub const MAX_N_TEST: usize = 1_000_000;
/// Largest whole number any integer field accepts: 2^53 − 1, the largest integer a JavaScript
/// number (and a JSON reader in most languages) holds exactly.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;
/// Divergence: L_k > DIVERGENCE_FACTOR · L₁ (or not finite).
pub const DIVERGENCE_FACTOR: f64 = 1e6;

/// `MemAvailable` of a /proc/meminfo text, in bytes (`None` if absent or malformed).
pub fn parse_meminfo_available(meminfo: &str) -> Option<f64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let mut parts = line["MemAvailable:".len()..].split_whitespace();
    let value: f64 = parts.next()?.parse().ok()?;
    let scale = match parts.next() {
        Some("kB") | Some("KB") | Some("kb") => 1024.0,
        None => 1.0,
        Some(_) => return None,
    };
    Some(value * scale)
}

/// The flow time t = λ·k after k steps of size λ (DESIGN.md §3).
pub fn flow_time(lr: f64, k: u64) -> f64 {
    lr * k as f64
}

/// The number of steps of size `lr` that reach flow time `t`: ⌈t/λ⌉, where a quotient
/// within 1e-9 (relative) of an integer counts as that integer (so 2·10⁵ / 30 is 6667 steps
/// and 0.3 / 0.1 is 3, not 4). `None` if t or λ is not a finite number > 0 or the count
/// exceeds 2^53 − 1.
pub fn steps_for_flow_time(t: f64, lr: f64) -> Option<u64> {
    if !(t.is_finite() && t > 0.0 && lr.is_finite() && lr > 0.0) {
        return None;
    }
    let q = t / lr;
    let r = q.round();
    let k = if (q - r).abs() <= 1e-9 * r.max(1.0) {
        r
    } else {
        q.ceil()
    };
    let k = k.max(1.0);
    (k <= MAX_SAFE_INTEGER as f64).then_some(k as u64)
}

impl Config {
    /// Every problem with this configuration, each naming its field and the allowed range.
    /// An empty list means the configuration can be run.
    pub fn problems(&self) -> Vec<FieldError> {
        let mut out = self.range_problems();
        // Cross-field: the flow-time limit must be a step count the run can take.
        if let Some(t) = self.max_flow_time {
            if t.is_finite()
                && t > 0.0
                && self.lr.is_finite()
                && self.lr > 0.0
                && steps_for_flow_time(t, self.lr).is_none()
            {
                out.push(FieldError::new(
                    "max_flow_time",
                    format!("needs at most {MAX_SAFE_INTEGER} steps of size lr = {}, got {t} (that is {:e} steps)", self.lr, t / self.lr),
                ));
            }
        }
        out
    }

    /// `Ok` if the configuration can be run, else every problem found.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let problems = self.problems();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    /// Sets `max_iter` to ⌈T/λ⌉ when `max_flow_time` = T is set (no-op otherwise, or when the
    /// step count is out of range: [`Config::problems`] reports that).
    pub fn apply_max_flow_time(&mut self) {
        if let Some(k) = self
            .max_flow_time
            .and_then(|t| steps_for_flow_time(t, self.lr))
        {
            self.max_iter = k;
        }
    }

    /// The flow time t = λ·k after `k` steps (DESIGN.md §3).
    pub fn flow_time(&self, k: u64) -> f64 {
        flow_time(self.lr, k)
    }

    /// Number of trainable parameters P = M(d + 2).
    pub fn num_params(&self) -> usize {
        self.m * (self.d + 2)
    }

    /// Rough peak memory of a run in bytes: a handful of N×M matrices, the N×N Gram
    /// matrix and its factors, and the test set with the fused forward pass's partial outputs.
    pub fn estimated_bytes(&self) -> f64 {
        let (n, m, d) = (self.n as f64, self.m as f64, self.d as f64);
        let nm = 4.0 * n * m; // H, S, D and a scratch copy
        let nn = 5.0 * n * n; // S Sᵀ, D Dᵀ, X Xᵀ+1, A, eigenvectors
                              // The test inputs and labels, and the fused forward pass's partial outputs (two per chunk of units).
        let chunks = (m / crate::linalg::UNIT_CHUNK as f64).ceil();
        let test = self.n_test as f64 * (d + 2.0 + 2.0 * chunks);
        8.0 * (nm + nn + test + m * (d + 2.0) * 3.0)
    }
}
