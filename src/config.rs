//! The configuration of one training run, its defaults (the paper's) and its validation.
//!
//! Validation lives here once: the CLI, the Web Worker and the page all call
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

/// Everything that defines a run. Field names are those of the checkpoint's `config` object
/// (DESIGN.md §5); keys missing from a file take the defaults below (the paper's values).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    pub method: Method,
    pub activation: Activation,
    /// Initial weight scale: U, b ~ N(0, τ₀²).
    pub tau0: f64,
    /// Number of training inputs N.
    pub n: usize,
    /// Hidden units M of the student.
    pub m: usize,
    /// Input dimension d.
    pub d: usize,
    /// Hidden units M* of the teacher.
    pub m_teacher: usize,
    /// Number of test inputs.
    pub n_test: usize,
    /// Step size λ.
    pub lr: f64,
    /// Smallest damping ε₀ of GN.
    pub eps0: f64,
    /// Relative tolerance: converged once L_k ≤ tol · L₁.
    pub tol: f64,
    pub seed: u64,
    /// Steps in total, across resumes.
    pub max_iter: u64,
    /// Record every this many iterations (and at the first and last).
    pub eval_every: u64,
    /// Also record the last-layer refit test loss at each record point.
    pub refit: bool,
    /// Stop once the flow time t = λ·k reaches this (DESIGN.md §3): the step limit is then
    /// `max_iter` = ⌈T/λ⌉, set by [`Config::apply_max_flow_time`]. Absent in files written
    /// before flow time existed, and omitted when not set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_flow_time: Option<f64>,
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

impl Default for Config {
    fn default() -> Self {
        Config {
            method: Method::Gn,
            activation: Activation::Silu,
            tau0: 0.1,
            n: 500,
            m: 5000,
            d: 10,
            m_teacher: 5,
            n_test: 10_000,
            lr: 10.0,
            eps0: 1e-7,
            tol: 1e-8,
            seed: 1,
            max_iter: 2_000_000,
            eval_every: 100,
            refit: false,
            max_flow_time: None,
        }
    }
}

impl Config {
    /// Every problem with this configuration, each naming its field and the allowed range.
    /// An empty list means the configuration can be run.
    pub fn problems(&self) -> Vec<FieldError> {
        let mut out = Vec::new();
        let mut positive = |field: &str, x: f64| {
            if !x.is_finite() || x <= 0.0 {
                out.push(FieldError::new(
                    field,
                    format!("must be a finite number > 0, got {x}"),
                ));
            }
        };
        positive("tau0", self.tau0);
        positive("lr", self.lr);
        positive("tol", self.tol);
        if !self.eps0.is_finite() || self.eps0 < 0.0 {
            out.push(FieldError::new(
                "eps0",
                format!("must be a finite number >= 0, got {}", self.eps0),
            ));
        }
        let mut count = |field: &str, x: usize, max: usize| {
            if x == 0 || x > max {
                out.push(FieldError::new(
                    field,
                    format!("must be an integer in 1..={max}, got {x}"),
                ));
            }
        };
        count("n", self.n, MAX_N);
        count("m", self.m, MAX_M);
        count("d", self.d, MAX_D);
        count("m_teacher", self.m_teacher, MAX_M);
        count("n_test", self.n_test, MAX_N_TEST);
        let mut whole = |field: &str, x: u64, min: u64| {
            if x < min || x > MAX_SAFE_INTEGER {
                let range = format!("{min}..={MAX_SAFE_INTEGER} (2^53 - 1)");
                out.push(FieldError::new(
                    field,
                    format!("must be an integer in {range}, got {x}"),
                ));
            }
        };
        whole("seed", self.seed, 0);
        whole("max_iter", self.max_iter, 0);
        whole("eval_every", self.eval_every, 1);
        if let Some(t) = self.max_flow_time {
            if !t.is_finite() || t <= 0.0 {
                out.push(FieldError::new(
                    "max_flow_time",
                    format!("must be a finite number > 0, got {t}"),
                ));
            } else if self.lr.is_finite()
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
