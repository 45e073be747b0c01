//! The crate's error type: bad configurations, bad checkpoints, and what a caller did wrong.

use crate::config::FieldError;
use std::fmt;

/// Everything that can go wrong before or while setting up a run. Training itself never
/// errors: divergence is a [`crate::Status`], not an error.
#[derive(Clone, Debug, PartialEq)]
pub enum Error {
    /// One or more fields are out of their allowed range.
    Invalid(Vec<FieldError>),
    /// A checkpoint could not be parsed (malformed or truncated JSON, wrong format tag).
    Parse(String),
}

impl Error {
    /// A single invalid field.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Invalid(vec![FieldError::new(field, message)])
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Invalid(problems) => {
                let parts: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
                write!(f, "invalid {}", parts.join("; "))
            }
            Error::Parse(msg) => write!(f, "{msg}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<Vec<FieldError>> for Error {
    fn from(problems: Vec<FieldError>) -> Self {
        Error::Invalid(problems)
    }
}
