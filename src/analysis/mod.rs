//! The science on finished runs, in two parts:
//!
//! - [`step_study`]: GD's step-equivalence study (which steps follow the same flow,
//!   DESIGN.md §3) and the step each GD run used against its stability bound;
//! - [`claims`]: the paper's claims (a)–(d) checked in flow time. Each holds, fails, or is
//!   incomplete (naming how many of the runs it needs are there), so results can land over
//!   several sessions.
//!
//! Pure functions of [`RunResult`](crate::results::RunResult)s and
//! [`Config`](crate::config::Config)s: no I/O, usable by the CLI and the page.

pub mod claims;
pub mod step_study;

pub use claims::*;
pub use step_study::*;

/// Records for the unit tests of both parts.
#[cfg(test)]
mod testing {
    use crate::results::Record;

    pub fn rec(iter: u64, train: f64, test: f64) -> Record {
        Record {
            iter,
            train_loss: train,
            test_loss: Some(test),
            sigma_min: None,
            sigma_max: None,
            eps: None,
            step_norm: None,
            alignment: None,
            refit_test_loss: None,
            elapsed_s: None,
        }
    }
}
