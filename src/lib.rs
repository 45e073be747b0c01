//! Gauss-Newton vs gradient descent on over-parameterized two-layer networks: the training
//! core of the companion to "Rethinking Gauss-Newton for learning over-parameterized models"
//! (Arbel, Menegaux, Wolinski, NeurIPS 2023). `../shared/DESIGN.md` specifies every formula.
//!
//! Where things live:
//! - [`config`]: the run's configuration, declared once as a field table that drives the CLI,
//!   the sweep's axes and the page's form; defaults and validation;
//! - [`data`]: the seeded teacher-student data;
//! - [`network`]: the mean-field network, its features and Jᵀz;
//! - [`hidden`]: the hidden layer's kernel (pre-activation, σ and σ' fused per unit);
//! - [`damping`]: GN's ε and z from a Cholesky factor and Lanczos (no eigendecomposition);
//! - [`step`]: **the GD and GN update rules** and the NTK Gram matrix;
//! - [`metrics`]: losses, teacher alignment, last-layer refit;
//! - [`trainer`]: the step-wise loop with stopping and records;
//! - [`checkpoint`]: the `gn-checkpoint-v1` file;
//! - [`results`]: records, summary, CSV/JSON (the record's fields declared once);
//! - [`sweep`]: sweep grids, presets (`paper-flow` and λ*), run names, sharding;
//! - [`linalg`]: faer kernels on nalgebra matrices;
//! - [`picture`]: the page's hidden-units and learned-function pictures;
//! - [`runs`]: loading a folder of run results;
//! - [`analysis`]: GD's step-equivalence study and the paper's claims in flow time;
//! - [`report`]: `gn report`'s Markdown and claim checks;
//! - `figures` (native only): `gn plot`'s figures, declared as spec tables, drawn with plotters;
//! - [`flow`]: flow time t = λ·k, GD's stability bound and λ* choice.
//!
//! The core does no I/O and reads no clock, so the same code runs natively and in wasm.

pub mod activation;
pub mod analysis;
pub mod checkpoint;
pub mod config;
pub mod damping;
pub mod data;
pub mod error;
pub mod flow;
pub mod hidden;
pub mod linalg;
pub mod metrics;
pub mod network;
pub mod picture;
pub mod report;
pub mod results;
pub mod runs;
pub mod step;
pub mod sweep;
pub mod trainer;

pub use checkpoint::Checkpoint;
pub use config::{Activation, Config, FieldError, FieldSpec, Method, FIELDS};
pub use error::Error;
pub use network::Network;
pub use results::{Record, RunResult, Status, Summary};
pub use trainer::{GdPath, Trainer};

#[cfg(not(target_arch = "wasm32"))]
pub mod figures;
#[cfg(target_arch = "wasm32")]
pub mod wasm;
