//! wasm-bindgen tests of the browser build, on a page's main thread in headless Chromium
//! (`scripts/web-test.sh`, i.e. `wasm-pack test --headless --chrome -- --test web`). The tests
//! themselves are in `tests/web/api.rs`; `tests/web_worker.rs` runs them in a Web Worker.
#![cfg(target_arch = "wasm32")]

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

#[path = "web/api.rs"]
mod api;
