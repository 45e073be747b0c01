//! JS values in and out. In: the page's settings, as JS numbers or the strings typed into
//! inputs, parsed into [`Config`] fields by the field table ([`crate::config::fields`]); every
//! failure is a [`FieldError`] naming the field and what is allowed. Out: plain JS objects (`null` for absent values), never a panic.

use crate::config::{Config, FieldError};
use serde::Serialize;
use serde_json::{Map, Value};
use wasm_bindgen::prelude::*;

/// Plain JS objects with `null` for absent values (never `undefined`), so every documented
/// key is present. Never panics: a value JS cannot hold (none should reach here: integer
/// fields are capped at 2^53 − 1 by [`Config::problems`]) becomes a JS `Error` object.
pub(super) fn to_js<T: Serialize + ?Sized>(value: &T) -> JsValue {
    let ser = serde_wasm_bindgen::Serializer::new()
        .serialize_missing_as_null(true)
        .serialize_maps_as_objects(true);
    value.serialize(&ser).unwrap_or_else(|e| {
        js_sys::Error::new(&format!("a value could not be converted for the page: {e}")).into()
    })
}

/// A JS `Error` with the given message and, if any, a `problems` array of `{field, message}`.
pub(super) fn js_error(message: &str, problems: &[FieldError]) -> JsValue {
    let err = js_sys::Error::new(message);
    if !problems.is_empty() {
        let _ = js_sys::Reflect::set(&err, &JsValue::from_str("problems"), &to_js(problems));
    }
    err.into()
}

/// Reads a JS object into a JSON map; anything else is a problem with field "config".
pub(super) fn object_of(value: &JsValue) -> Result<Map<String, Value>, FieldError> {
    if value.is_undefined() || value.is_null() {
        return Ok(Map::new());
    }
    match serde_wasm_bindgen::from_value::<Value>(value.clone()) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(FieldError::new("config", "must be an object of settings")),
        Err(e) => Err(FieldError::new("config", format!("could not be read: {e}"))),
    }
}

pub(super) use crate::config::fields::shown;

/// Sets one config field from a JS value; `key` is the config's field name, `field` the name
/// reported in problems (the page's input, e.g. `lr_gd`). The parsing is the field table's
/// ([`Config::set`]).
pub(super) fn set_field(
    cfg: &mut Config,
    key: &str,
    field: &str,
    v: &Value,
) -> Result<(), FieldError> {
    cfg.set(key, field, v)
}
