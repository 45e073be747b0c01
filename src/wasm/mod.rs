//! The WebAssembly boundary (compiled only for `wasm32`): a thin wasm-bindgen layer over the
//! same [`Trainer`](crate::Trainer) the CLI drives. Rust owns all state and numerics;
//! JavaScript sends commands and draws.
//!
//! One file per job:
//! - [`clock`]: the panic hook (a panic reaches the console and `globalThis.gnPanicMessage`,
//!   where the worker picks it up), the `performance.now()` clock, [`new_seed`];
//! - [`parse`]: JS values in and out: the page's numbers or typed strings parsed into config
//!   fields with readable, field-naming messages ("abc", "" or "2.5" for N read the same
//!   everywhere), and plain JS objects out, never a panic;
//! - [`form`]: the page's rules and prose: [`validate`] (one config object → its problems),
//!   [`check_form`] (the page's form → one config per method, or every problem with its
//!   field), the browser memory budget, and [`page_spec`] (defaults, the paper's grids, the
//!   presets and their notes, the record keys);
//! - [`run`]: the [`Run`] class: one training run stepped by count or by time budget (the Web
//!   Worker calls [`Run::run_for`] in ~50 ms slices), its records, progress, summary, exports,
//!   and the pictures of what it has learned ([`Run::picture`], [`Run::line`]).

pub mod clock;
pub mod form;
pub mod parse;
pub mod run;

pub use clock::{crash_for_testing, install_panic_hook, new_seed, start};
pub use form::{check_form, page_spec, record_keys, run_name, validate, BROWSER_MEMORY_BUDGET};
pub use run::Run;

pub use crate::results::{PACKED_KEYS, RECORD_KEYS};
