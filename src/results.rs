//! What a run produces: records, its final status and summary, and their CSV and JSON forms
//! (one definition, shared by the CLI, the sweeps and the browser's export buttons).

use crate::config::Config;
use serde::{Deserialize, Serialize};

/// Why a run stopped (or that it has not).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Running,
    /// L_k ≤ tol · L₁.
    Converged,
    /// `max_iter` steps taken.
    MaxIter,
    /// L_k not finite or > 1e6 · L₁.
    Diverged,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Running => "running",
            Status::Converged => "converged",
            Status::MaxIter => "max_iter",
            Status::Diverged => "diverged",
        }
    }
}

/// One row of the record: the state θ_k after `iter` steps, and the step taken from it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub iter: u64,
    /// Written as null in JSON when not finite (a diverged run).
    #[serde(deserialize_with = "null_as_nan")]
    pub train_loss: f64,
    pub test_loss: Option<f64>,
    /// λ_min(A), A = J Jᵀ at θ_k.
    pub sigma_min: Option<f64>,
    /// λ_max(A).
    pub sigma_max: Option<f64>,
    /// GN's damping ε = max(ε₀, λ_min(A)).
    pub eps: Option<f64>,
    /// ‖θ_{k+1} − θ_k‖ (absent at the last record: no step was taken).
    pub step_norm: Option<f64>,
    pub alignment: Option<f64>,
    pub refit_test_loss: Option<f64>,
    /// Seconds since the run started, filled in by the caller (the core has no clock).
    pub elapsed_s: Option<f64>,
}

/// The end of a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub status: Status,
    pub iterations: u64,
    pub final_train_loss: Option<f64>,
    pub final_test_loss: Option<f64>,
    /// Test loss of the last-layer refit at initialisation (random features).
    pub rf_test_loss: Option<f64>,
    /// Test loss of the last-layer refit at the final weights.
    pub refit_test_loss: Option<f64>,
    pub wall_s: Option<f64>,
}

/// A finished (or interrupted) run as written to `--out FILE.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    pub config: Config,
    pub records: Vec<Record>,
    pub summary: Summary,
}

/// The CSV header, in the order of [`Record`]'s fields.
pub const CSV_HEADER: &str =
    "iter,train_loss,test_loss,sigma_min,sigma_max,eps,step_norm,alignment,refit_test_loss,elapsed_s";

fn cell(x: Option<f64>) -> String {
    x.map(|v| format!("{v:e}")).unwrap_or_default()
}

impl Record {
    /// One CSV line (no newline); empty cells where a value was not computed.
    pub fn csv_row(&self) -> String {
        format!(
            "{},{},{},{},{},{},{},{},{},{}",
            self.iter,
            cell(Some(self.train_loss)),
            cell(self.test_loss),
            cell(self.sigma_min),
            cell(self.sigma_max),
            cell(self.eps),
            cell(self.step_norm),
            cell(self.alignment),
            cell(self.refit_test_loss),
            cell(self.elapsed_s),
        )
    }
}

/// Records as a CSV document with header.
pub fn records_csv(records: &[Record]) -> String {
    let mut out = String::with_capacity(64 * (records.len() + 1));
    out.push_str(CSV_HEADER);
    out.push('\n');
    for r in records {
        out.push_str(&r.csv_row());
        out.push('\n');
    }
    out
}

impl RunResult {
    /// Pretty JSON. Non-finite losses (a diverged run) are written as null.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a RunResult always serialises")
    }

    /// Parses a result file written by [`RunResult::to_json`].
    pub fn from_json(text: &str) -> Result<RunResult, serde_json::Error> {
        serde_json::from_str(text)
    }
}

/// serde_json writes a non-finite f64 as null; read it back as NaN.
fn null_as_nan<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}
