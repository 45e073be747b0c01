//! JS values in and out. In: the page's settings, as JS numbers or the strings typed into
//! inputs, parsed into [`Config`] fields; every failure is a [`FieldError`] naming the field and
//! what is allowed. Out: plain JS objects (`null` for absent values), never a panic.

use crate::config::{Activation, Config, FieldError, Method, MAX_SAFE_INTEGER};
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

pub(super) fn shown(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

/// A number from a JS number or a typed string.
fn parse_f64(field: &str, v: &Value) -> Result<f64, FieldError> {
    let x = match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) if !s.trim().is_empty() => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    x.ok_or_else(|| FieldError::new(field, format!("must be a number, got {}", shown(v))))
}

/// A whole number ≥ 0 from a JS number or a typed string ("1e4" is fine, "2.5" is not).
/// Values above 2^53 − 1 parse here and are refused, naming the range, by [`Config::problems`].
fn parse_u64(field: &str, v: &Value) -> Result<u64, FieldError> {
    let bad = || {
        let range = format!("0..={MAX_SAFE_INTEGER} (2^53 - 1)");
        FieldError::new(
            field,
            format!("must be a whole number in {range}, got {}", shown(v)),
        )
    };
    if let Value::String(s) = v {
        if let Ok(k) = s.trim().parse::<u64>() {
            return Ok(k);
        }
    }
    if let Value::Number(n) = v {
        if let Some(k) = n.as_u64() {
            return Ok(k);
        }
    }
    let x = parse_f64(field, v).map_err(|_| bad())?;
    if x.fract() == 0.0 && (0.0..=9_007_199_254_740_992.0).contains(&x) {
        Ok(x as u64)
    } else {
        Err(bad())
    }
}

fn parse_usize(field: &str, v: &Value) -> Result<usize, FieldError> {
    parse_u64(field, v).and_then(|k| {
        usize::try_from(k).map_err(|_| {
            FieldError::new(
                field,
                format!("must be a whole number in 0..={}, got {k}", usize::MAX),
            )
        })
    })
}

fn parse_bool(field: &str, v: &Value) -> Result<bool, FieldError> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "on" | "yes" => Ok(true),
            "false" | "0" | "off" | "no" | "" => Ok(false),
            _ => Err(FieldError::new(
                field,
                format!("must be true or false, got {s:?}"),
            )),
        },
        Value::Number(n) if n.as_f64() == Some(0.0) || n.as_f64() == Some(1.0) => {
            Ok(n.as_f64() == Some(1.0))
        }
        _ => Err(FieldError::new(
            field,
            format!("must be true or false, got {}", shown(v)),
        )),
    }
}

fn parse_str<'a>(field: &str, v: &'a Value) -> Result<&'a str, FieldError> {
    v.as_str()
        .ok_or_else(|| FieldError::new(field, format!("must be a string, got {}", shown(v))))
}

/// Sets one config field from a JS value; `key` is the config's field name, `field` the name
/// reported in problems (the page's input, e.g. `lr_gd`).
pub(super) fn set_field(
    cfg: &mut Config,
    key: &str,
    field: &str,
    v: &Value,
) -> Result<(), FieldError> {
    let rename = |mut e: FieldError| {
        e.field = field.to_string();
        e
    };
    match key {
        "method" => cfg.method = Method::parse(parse_str(field, v)?).map_err(rename)?,
        "activation" => cfg.activation = Activation::parse(parse_str(field, v)?).map_err(rename)?,
        "tau0" => cfg.tau0 = parse_f64(field, v)?,
        "lr" => cfg.lr = parse_f64(field, v)?,
        "eps0" => cfg.eps0 = parse_f64(field, v)?,
        "tol" => cfg.tol = parse_f64(field, v)?,
        "n" => cfg.n = parse_usize(field, v)?,
        "m" => cfg.m = parse_usize(field, v)?,
        "d" => cfg.d = parse_usize(field, v)?,
        "m_teacher" => cfg.m_teacher = parse_usize(field, v)?,
        "n_test" => cfg.n_test = parse_usize(field, v)?,
        "seed" => cfg.seed = parse_u64(field, v)?,
        "max_iter" => cfg.max_iter = parse_u64(field, v)?,
        "eval_every" => cfg.eval_every = parse_u64(field, v)?,
        "refit" => cfg.refit = parse_bool(field, v)?,
        _ => return Err(FieldError::new(field, "is not a setting of a run")),
    }
    Ok(())
}
