//! Set-up and the outside world: the panic hook, the clock and random seeds.

use super::parse::js_error;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

/// Runs when the module is instantiated: installs the panic hook.
#[wasm_bindgen(start)]
pub fn start() {
    install_panic_hook();
}

/// Reports a panic to the console (with its message and location) and stores the message in
/// `globalThis.gnPanicMessage`, so the worker can tell the page what went wrong.
pub fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            console_error_panic_hook::hook(info);
            let _ = js_sys::Reflect::set(
                &js_sys::global(),
                &JsValue::from_str("gnPanicMessage"),
                &JsValue::from_str(&info.to_string()),
            );
        }));
    });
}

/// Milliseconds from `performance.now()`: the worker scope's clock where the demo trains, the
/// window's on a page (tests), `Date.now()` as a last resort.
pub(super) fn now_ms() -> f64 {
    let global = js_sys::global();
    let perf = match global.dyn_ref::<web_sys::WorkerGlobalScope>() {
        Some(worker) => worker.performance(),
        None => js_sys::Reflect::get(&global, &JsValue::from_str("performance"))
            .ok()
            .and_then(|p| p.dyn_into::<web_sys::Performance>().ok()),
    };
    perf.map(|p| p.now()).unwrap_or_else(js_sys::Date::now)
}

/// A fresh random seed (1 ..= 2³²−1) from the browser's `crypto.getRandomValues`.
#[wasm_bindgen]
pub fn new_seed() -> Result<u32, JsValue> {
    let mut buf = [0u8; 4];
    getrandom::fill(&mut buf).map_err(|e| js_error(&format!("no random numbers: {e}"), &[]))?;
    Ok(u32::from_le_bytes(buf).max(1))
}

/// Panics on purpose, so tests can check that a crash reaches the page.
#[wasm_bindgen]
pub fn crash_for_testing() {
    panic!("crash_for_testing was called");
}
