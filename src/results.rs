//! What a run produces: records, its final status and summary, and their CSV and JSON forms
//! (one definition, shared by the CLI, the sweeps and the browser's export buttons).

use crate::config::{flow_time, Config};
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

/// Declares [`Record`] once: its fields in CSV column order, from which the struct, the CSV
/// header and row, the key lists and the page's packed rows all follow.
macro_rules! declare_record {
    (
        $(#[$fmeta:meta])* $first:ident: $fty:ty,
        $( $(#[$meta:meta])* $name:ident: $ty:ty, )*
    ) => {
        /// One row of the record: the state θ_k after `iter` steps, and the step taken from it.
        #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
        pub struct Record {
            $(#[$fmeta])* pub $first: $fty,
            $( $(#[$meta])* pub $name: $ty, )*
        }

        /// The keys of a record, in the CSV's column order.
        pub const RECORD_KEYS: &[&str] = &[stringify!($first) $(, stringify!($name))*];
        /// The columns of the page's packed records: the record's keys, then the flow time
        /// t = λ·k (DESIGN.md §3).
        pub const PACKED_KEYS: &[&str] =
            &[stringify!($first) $(, stringify!($name))*, "flow_time"];
        /// The CSV header of [`records_csv`]: [`RECORD_KEYS`] joined by commas.
        pub const CSV_HEADER: &str = concat!(stringify!($first) $(, ",", stringify!($name))*);
        /// The CSV header of [`records_csv_with_flow_time`]: [`CSV_HEADER`], `flow_time` last.
        pub const CSV_HEADER_FLOW: &str =
            concat!(stringify!($first) $(, ",", stringify!($name))*, ",flow_time");

        impl Record {
            /// One CSV line (no newline); empty cells where a value was not computed.
            pub fn csv_row(&self) -> String {
                let mut out = Cell::text(&self.$first);
                $( out.push(','); out.push_str(&Cell::text(&self.$name)); )*
                out
            }

            /// Appends the record as numbers in [`PACKED_KEYS`] order (NaN where a value is
            /// absent), the flow time that of a run of step size `lr`.
            pub fn pack_into(&self, lr: f64, out: &mut Vec<f64>) {
                out.push(Cell::number(&self.$first));
                $( out.push(Cell::number(&self.$name)); )*
                out.push(self.flow_time(lr));
            }
        }
    };
}

/// How one record value reads in CSV and in the packed numbers.
trait Cell {
    fn text(&self) -> String;
    fn number(&self) -> f64;
}

impl Cell for u64 {
    fn text(&self) -> String {
        self.to_string()
    }
    fn number(&self) -> f64 {
        *self as f64
    }
}

impl Cell for f64 {
    fn text(&self) -> String {
        format!("{self:e}")
    }
    fn number(&self) -> f64 {
        *self
    }
}

impl Cell for Option<f64> {
    fn text(&self) -> String {
        self.map(|v| format!("{v:e}")).unwrap_or_default()
    }
    fn number(&self) -> f64 {
        self.unwrap_or(f64::NAN)
    }
}

declare_record! {
    iter: u64,
    /// Written as null in JSON when not finite (a diverged run).
    #[serde(deserialize_with = "null_as_nan")]
    train_loss: f64,
    test_loss: Option<f64>,
    /// λ_min(A), A = J Jᵀ at θ_k.
    sigma_min: Option<f64>,
    /// λ_max(A).
    sigma_max: Option<f64>,
    /// GN's damping ε = max(ε₀, λ_min(A)).
    eps: Option<f64>,
    /// ‖θ_{k+1} − θ_k‖ (absent at the last record: no step was taken).
    step_norm: Option<f64>,
    alignment: Option<f64>,
    refit_test_loss: Option<f64>,
    /// Seconds since the run started, filled in by the caller (the core has no clock).
    elapsed_s: Option<f64>,
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
    /// GN steps whose fast solve could not certify ε and used the eigendecomposition
    /// (`damping`); 0 for GD and in files written before it was counted.
    #[serde(default)]
    pub gn_fallbacks: u64,
}

/// A finished (or interrupted) run as written to `--out FILE.json`.
///
/// In JSON every record and the summary also carry `flow_time`, t = λ·k (DESIGN.md §3),
/// computed from `config.lr` when written; files without it (written before it existed) load
/// the same, since it is always derived from `config.lr` and the iteration.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct RunResult {
    pub config: Config,
    pub records: Vec<Record>,
    pub summary: Summary,
}

/// A record as written: its fields, then `flow_time` last.
#[derive(Serialize)]
struct RecordOut<'a> {
    #[serde(flatten)]
    record: &'a Record,
    flow_time: f64,
}

/// The summary as written: its fields, then `flow_time` (λ × iterations) and the step limit.
#[derive(Serialize)]
struct SummaryOut<'a> {
    #[serde(flatten)]
    summary: &'a Summary,
    flow_time: f64,
    max_iter: u64,
}

#[derive(Serialize)]
struct RunResultOut<'a> {
    config: &'a Config,
    records: Vec<RecordOut<'a>>,
    summary: SummaryOut<'a>,
}

impl Serialize for RunResult {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let lr = self.config.lr;
        RunResultOut {
            config: &self.config,
            records: self
                .records
                .iter()
                .map(|record| RecordOut {
                    record,
                    flow_time: record.flow_time(lr),
                })
                .collect(),
            summary: SummaryOut {
                summary: &self.summary,
                flow_time: flow_time(lr, self.summary.iterations),
                max_iter: self.config.max_iter,
            },
        }
        .serialize(s)
    }
}

impl Record {
    /// The flow time t = λ·k of this record, for a run with step size `lr`.
    pub fn flow_time(&self, lr: f64) -> f64 {
        flow_time(lr, self.iter)
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

/// Records as a CSV document with header, `flow_time` = λ·iter as the last column (what
/// `gn run --out FILE.csv` writes).
pub fn records_csv_with_flow_time(records: &[Record], lr: f64) -> String {
    let mut out = String::with_capacity(80 * (records.len() + 1));
    out.push_str(CSV_HEADER_FLOW);
    out.push('\n');
    for r in records {
        out.push_str(&r.csv_row());
        out.push(',');
        out.push_str(&Cell::text(&r.flow_time(lr)));
        out.push('\n');
    }
    out
}

impl RunResult {
    /// The records as CSV with the `flow_time` column (λ from the config).
    pub fn records_csv(&self) -> String {
        records_csv_with_flow_time(&self.records, self.config.lr)
    }

    /// The flow time reached: λ × iterations.
    pub fn flow_time(&self) -> f64 {
        flow_time(self.config.lr, self.summary.iterations)
    }

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
