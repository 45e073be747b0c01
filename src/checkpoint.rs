//! The checkpoint file (DESIGN.md §5), a public contract: `gn-checkpoint-v1` JSON holding the
//! configuration, the data, the teacher and the student, enough to resume a run exactly.
//!
//! Parsing checks everything a file written by another tool could get wrong (format tag,
//! shapes that disagree, non-finite numbers) and names the offending field.

use crate::config::Config;
use crate::error::Error;
use crate::network::Network;
use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The format tag every checkpoint carries.
pub const FORMAT: &str = "gn-checkpoint-v1";

/// A network's weights as JSON arrays: `u` has one row of d numbers per hidden unit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NetworkJson {
    pub u: Vec<Vec<f64>>,
    pub b: Vec<f64>,
    pub v: Vec<f64>,
}

/// The checkpoint as stored. Extra keys are allowed when reading.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub format: String,
    pub config: Config,
    /// Steps already taken.
    pub iteration: u64,
    /// L₁ once known.
    pub loss_first: Option<f64>,
    pub x_train: Vec<Vec<f64>>,
    pub y_train: Vec<f64>,
    pub x_test: Vec<Vec<f64>>,
    pub y_test: Vec<f64>,
    pub teacher: NetworkJson,
    pub student: NetworkJson,
    /// Random-features test loss, when known (an extra key of ours).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rf_test_loss: Option<f64>,
    /// GN's warm start for its next λ_min search (an extra key of ours), so that a resumed
    /// GN run takes bit-for-bit the steps of an uninterrupted one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gn_warm_start: Option<WarmStartJson>,
}

/// [`crate::damping::WarmStart`] as stored: the last step's ε and λ_min's eigenvector.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WarmStartJson {
    pub shift: f64,
    pub vector: Vec<f64>,
}

pub fn rows_to_matrix(rows: &[Vec<f64>], cols: usize) -> DMatrix<f64> {
    DMatrix::from_fn(rows.len(), cols, |i, j| rows[i][j])
}

pub fn matrix_to_rows(a: &DMatrix<f64>) -> Vec<Vec<f64>> {
    a.row_iter().map(|r| r.iter().copied().collect()).collect()
}

impl NetworkJson {
    pub fn from_network(net: &Network) -> Self {
        NetworkJson {
            u: matrix_to_rows(&net.u),
            b: net.b.iter().copied().collect(),
            v: net.v.iter().copied().collect(),
        }
    }

    /// Checks shapes and values, naming `name.u` etc. on failure.
    pub fn to_network(&self, name: &str, d: usize) -> Result<Network, Error> {
        let m = self.u.len();
        if m == 0 {
            return Err(Error::field(
                format!("{name}.u"),
                "must have at least one row",
            ));
        }
        check_rows(&format!("{name}.u"), &self.u, d)?;
        check_len(
            &format!("{name}.b"),
            &self.b,
            m,
            &format!("{name}.u has {m} rows"),
        )?;
        check_len(
            &format!("{name}.v"),
            &self.v,
            m,
            &format!("{name}.u has {m} rows"),
        )?;
        Ok(Network {
            u: rows_to_matrix(&self.u, d),
            b: DVector::from_column_slice(&self.b),
            v: DVector::from_column_slice(&self.v),
        })
    }
}

fn check_rows(field: &str, rows: &[Vec<f64>], d: usize) -> Result<(), Error> {
    for (i, r) in rows.iter().enumerate() {
        if r.len() != d {
            return Err(Error::field(
                format!("{field}[{i}]"),
                format!("must have d = {d} numbers, has {}", r.len()),
            ));
        }
    }
    Ok(())
}

fn check_len(field: &str, v: &[f64], len: usize, why: &str) -> Result<(), Error> {
    if v.len() != len {
        return Err(Error::field(
            field,
            format!("must have {len} numbers ({why}), has {}", v.len()),
        ));
    }
    Ok(())
}

impl Checkpoint {
    /// Parses and checks a checkpoint. Accepts the checkpoint at the top level or under a
    /// `checkpoint` key (as in the shared one-step fixtures). The data's shapes fix n, m, d,
    /// m_teacher and n_test; a value stated in `config` that disagrees is an error.
    pub fn from_json(text: &str) -> Result<Checkpoint, Error> {
        let mut root: Value = serde_json::from_str(text)
            .map_err(|e| Error::Parse(format!("not valid JSON ({e})")))?;
        if root.get("format").is_none() {
            if let Some(inner) = root.get_mut("checkpoint") {
                root = inner.take();
            }
        }
        match root.get("format").and_then(Value::as_str) {
            Some(FORMAT) => {}
            Some(other) => {
                return Err(Error::field(
                    "format",
                    format!("must be \"{FORMAT}\", got {other:?}"),
                ))
            }
            None => {
                return Err(Error::field(
                    "format",
                    format!("missing: must be \"{FORMAT}\""),
                ))
            }
        }
        let stated: Value = root
            .get("config")
            .cloned()
            .unwrap_or(Value::Object(Default::default()));
        if !stated.is_object() {
            return Err(Error::field("config", "must be an object"));
        }
        let ck: Checkpoint = serde_path_to_error::deserialize(root).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            if path == "." {
                Error::Parse(inner.to_string())
            } else {
                Error::field(path, inner.to_string())
            }
        })?;
        ck.check(&stated)?;
        Ok(ck)
    }

    /// Checks that the arrays agree with each other and with the shapes `config` states
    /// (`stated`: the config object as written, or an empty object).
    pub(crate) fn check(&self, stated: &Value) -> Result<(), Error> {
        let d = self
            .student
            .u
            .first()
            .map(Vec::len)
            .ok_or_else(|| Error::field("student.u", "must have at least one row"))?;
        if d == 0 {
            return Err(Error::field(
                "student.u[0]",
                "must have at least one number",
            ));
        }
        let implied = [
            ("n", self.x_train.len(), "x_train's rows"),
            ("m", self.student.u.len(), "student.u's rows"),
            ("d", d, "student.u's row length"),
            ("m_teacher", self.teacher.u.len(), "teacher.u's rows"),
            ("n_test", self.x_test.len(), "x_test's rows"),
        ];
        for (key, value, source) in implied {
            if let Some(s) = stated.get(key) {
                if s.as_u64() != Some(value as u64) {
                    return Err(Error::field(
                        format!("config.{key}"),
                        format!("is {s} but the checkpoint has {value} ({source})"),
                    ));
                }
            }
        }
        if self.x_train.is_empty() {
            return Err(Error::field("x_train", "must have at least one row"));
        }
        check_rows("x_train", &self.x_train, d)?;
        check_len(
            "y_train",
            &self.y_train,
            self.x_train.len(),
            "one per x_train row",
        )?;
        check_rows("x_test", &self.x_test, d)?;
        check_len(
            "y_test",
            &self.y_test,
            self.x_test.len(),
            "one per x_test row",
        )?;
        self.teacher.to_network("teacher", d)?;
        self.student.to_network("student", d)?;
        if let Some(l) = self.loss_first {
            if !l.is_finite() || l < 0.0 {
                return Err(Error::field(
                    "loss_first",
                    format!("must be null or a finite number >= 0, got {l}"),
                ));
            }
        }
        if let Some(w) = &self.gn_warm_start {
            if !(w.shift.is_finite() && w.shift > 0.0) {
                return Err(Error::field(
                    "gn_warm_start.shift",
                    format!("must be a finite number > 0, got {}", w.shift),
                ));
            }
            check_len(
                "gn_warm_start.vector",
                &w.vector,
                self.x_train.len(),
                "one per x_train row",
            )?;
            if let Some(i) = w.vector.iter().position(|x| !x.is_finite()) {
                return Err(Error::field(
                    format!("gn_warm_start.vector[{i}]"),
                    "must be a finite number",
                ));
            }
        }
        Ok(())
    }

    /// The configuration with the shapes the data implies.
    pub fn resolved_config(&self) -> Config {
        let mut c = self.config.clone();
        c.n = self.x_train.len();
        c.m = self.student.u.len();
        c.d = self.student.u[0].len();
        c.m_teacher = self.teacher.u.len();
        c.n_test = self.x_test.len();
        c
    }

    /// Compact JSON; f64 written in their shortest round-trip form, so resuming is exact.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a checkpoint always serialises")
    }
}
