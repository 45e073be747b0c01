//! wasm-bindgen tests of the browser build inside a dedicated Web Worker, where the demo trains
//! (`wasm-pack test --headless --chrome -- --test web_worker`): the same tests as `tests/web.rs`
//! (`tests/web/api.rs`), in the worker's global scope (no `window`; `performance` and
//! `crypto.getRandomValues` come from the `WorkerGlobalScope`).
#![cfg(target_arch = "wasm32")]

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);

#[path = "web/api.rs"]
mod api;
