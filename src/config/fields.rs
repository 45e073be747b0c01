//! The one declaration of a run's settings: `declare_config!` turns a list of fields (name,
//! type, default, allowed range, help text, and whether it is a sweep axis or fixed by a
//! checkpoint) into the [`Config`](super::Config) struct, its `Default`, the field table
//! [`FIELDS`](super::FIELDS), the range checks and accessors by name. The CLI's flags, the
//! sweep's axes, the Slurm command line, the page's form parser and the page's field list are
//! all driven by that table, so adding a field means adding one line there (and using it).
//!
//! [`FieldValue`] says how each field type reads from the command line (text) and from the
//! page (JSON), and writes back.

use super::{Activation, FieldError, Method, MAX_SAFE_INTEGER};
use serde::Serialize;
use serde_json::Value;

/// The allowed values of a field, checked by [`Config::problems`](super::Config::problems).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Range {
    /// Any value of the type (choices, flags).
    Any,
    /// A finite number > 0 (when set, for an optional number).
    Positive,
    /// A finite number ≥ 0.
    NonNegative,
    /// An integer in 1..=max.
    Count { max: usize },
    /// An integer in min..=2^53 − 1.
    Whole { min: u64 },
}

impl Range {
    /// The range as the help text and the page show it.
    pub fn describe(&self) -> String {
        match self {
            Range::Any => String::new(),
            Range::Positive => "a finite number > 0".into(),
            Range::NonNegative => "a finite number >= 0".into(),
            Range::Count { max } => format!("an integer in 1..={max}"),
            Range::Whole { min } => format!("an integer in {min}..={MAX_SAFE_INTEGER} (2^53 - 1)"),
        }
    }

    fn check_number(&self, x: f64) -> Option<String> {
        match self {
            Range::Positive if !x.is_finite() || x <= 0.0 => {
                Some(format!("must be a finite number > 0, got {x}"))
            }
            Range::NonNegative if !x.is_finite() || x < 0.0 => {
                Some(format!("must be a finite number >= 0, got {x}"))
            }
            _ => None,
        }
    }

    fn check_integer(&self, x: u64) -> Option<String> {
        let bad = match self {
            Range::Count { max } => x == 0 || x > *max as u64,
            Range::Whole { min } => x < *min || x > MAX_SAFE_INTEGER,
            _ => false,
        };
        bad.then(|| format!("must be {}, got {x}", self.describe()))
    }
}

/// What kind of value a field holds (how the CLI and the page read it).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A real number.
    Number,
    /// A real number, or unset.
    OptionalNumber,
    /// A whole number ≥ 0.
    Integer,
    /// true / false (on the command line: a flag that sets it).
    Flag,
    /// One of a few names.
    Choice(&'static [&'static str]),
}

/// One field of [`Config`](super::Config) as the table describes it.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct FieldSpec {
    /// The name in files and on the page; the flag is `--name` with `_` as `-`.
    pub name: &'static str,
    pub help: &'static str,
    pub kind: Kind,
    pub range: Range,
    /// A grid axis of `gn sweep` (a comma list there), with its nesting depth in the grid's
    /// fixed order (0 outermost); `None`: one value across a sweep.
    pub axis: Option<u8>,
    /// Fixed by a checkpoint (the data and the initialisation): may be repeated, not changed,
    /// when resuming.
    pub fixed: bool,
    /// The placeholder of its value in the help (`T`, `N`, …).
    pub value_name: &'static str,
    /// The field this one replaces on the command line (given both is an error).
    pub conflicts_with: Option<&'static str>,
    /// Reads the field's value from command-line text (JSON out, as `Config::set` takes).
    #[serde(skip)]
    pub parse_text: fn(&str) -> Result<Value, String>,
}

impl FieldSpec {
    /// The command-line flag: `max_iter` → `--max-iter`.
    pub fn flag(&self) -> String {
        flag(self.name)
    }

    /// The field's default, as JSON.
    pub fn default_value(&self) -> Value {
        super::Config::default()
            .get(self.name)
            .unwrap_or(Value::Null)
    }

    /// The default as the help shows it (`None` for an unset option or a false flag).
    pub fn default_text(&self) -> Option<String> {
        super::Config::default().text(self.name)
    }
}

/// The command-line flag for a config field: `max_iter` → `--max-iter`.
pub fn flag(field: &str) -> String {
    format!("--{}", field.replace('_', "-"))
}

/// The spec of the field `name`, if there is one.
pub fn field(name: &str) -> Option<&'static FieldSpec> {
    super::FIELDS.iter().find(|f| f.name == name)
}

/// A value of the field `name` as command-line text (`0.1`, `gn`, `500`); `None` for an unset
/// option or a false flag, or a value the field does not take.
pub fn value_text(name: &str, v: &Value) -> Option<String> {
    let mut c = super::Config::default();
    c.set(name, name, v).ok()?;
    c.text(name)
}

/// A field type: how it reads from text (CLI) and JSON (page), writes back and is checked.
pub trait FieldValue: Sized {
    const KIND: Kind;
    /// From command-line text; the message says what is allowed.
    fn from_text(s: &str) -> Result<Self, String>;
    /// From a JS number, a typed string or a boolean; errors name `field`.
    fn from_json(field: &str, v: &Value) -> Result<Self, FieldError>;
    fn to_json(&self) -> Value;
    /// As command-line text; `None` when there is nothing to write (unset, false).
    fn to_text(&self) -> Option<String>;
    /// The problem with this value under `range`, if any.
    fn check(&self, _range: &Range) -> Option<String> {
        None
    }
}

/// [`FieldSpec::parse_text`] for a field of type `T`.
pub fn parse_text_as<T: FieldValue>(s: &str) -> Result<Value, String> {
    T::from_text(s).map(|v| v.to_json())
}

/// How a JSON value is shown in messages: strings quoted, the rest as JSON.
pub fn shown(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

impl FieldValue for f64 {
    const KIND: Kind = Kind::Number;
    fn from_text(s: &str) -> Result<Self, String> {
        s.trim()
            .parse::<f64>()
            .map_err(|_| format!("must be a number, got {s:?}"))
    }
    fn from_json(field: &str, v: &Value) -> Result<Self, FieldError> {
        let x = match v {
            Value::Number(n) => n.as_f64(),
            Value::String(s) if !s.trim().is_empty() => s.trim().parse::<f64>().ok(),
            _ => None,
        };
        x.ok_or_else(|| FieldError::new(field, format!("must be a number, got {}", shown(v))))
    }
    /// A number; NaN and ±inf (which JSON has no numbers for) as the strings "NaN", "inf",
    /// "-inf", which read back the same, so that the range check can name them.
    fn to_json(&self) -> Value {
        if self.is_finite() {
            serde_json::json!(self)
        } else {
            Value::String(self.to_string())
        }
    }
    fn to_text(&self) -> Option<String> {
        Some(self.to_string())
    }
    fn check(&self, range: &Range) -> Option<String> {
        range.check_number(*self)
    }
}

impl FieldValue for Option<f64> {
    const KIND: Kind = Kind::OptionalNumber;
    fn from_text(s: &str) -> Result<Self, String> {
        f64::from_text(s).map(Some)
    }
    fn from_json(field: &str, v: &Value) -> Result<Self, FieldError> {
        match v {
            Value::Null => Ok(None),
            _ => f64::from_json(field, v).map(Some),
        }
    }
    fn to_json(&self) -> Value {
        self.map_or(Value::Null, |x| x.to_json())
    }
    fn to_text(&self) -> Option<String> {
        self.map(|x| x.to_string())
    }
    fn check(&self, range: &Range) -> Option<String> {
        self.and_then(|x| range.check_number(x))
    }
}

impl FieldValue for u64 {
    const KIND: Kind = Kind::Integer;
    fn from_text(s: &str) -> Result<Self, String> {
        s.trim()
            .parse::<u64>()
            .map_err(|_| format!("must be a whole number >= 0, got {s:?}"))
    }
    /// "1e4" is fine, "2.5" is not. Values above 2^53 − 1 parse here and are refused, naming
    /// the range, by the range check.
    fn from_json(field: &str, v: &Value) -> Result<Self, FieldError> {
        let bad = || {
            let range = format!("0..={MAX_SAFE_INTEGER} (2^53 - 1)");
            FieldError::new(
                field,
                format!("must be a whole number in {range}, got {}", shown(v)),
            )
        };
        if let Some(k) = v.as_str().and_then(|s| s.trim().parse::<u64>().ok()) {
            return Ok(k);
        }
        if let Some(k) = v.as_u64() {
            return Ok(k);
        }
        let x = f64::from_json(field, v).map_err(|_| bad())?;
        if x.fract() == 0.0 && (0.0..=9_007_199_254_740_992.0).contains(&x) {
            Ok(x as u64)
        } else {
            Err(bad())
        }
    }
    fn to_json(&self) -> Value {
        serde_json::json!(self)
    }
    fn to_text(&self) -> Option<String> {
        Some(self.to_string())
    }
    fn check(&self, range: &Range) -> Option<String> {
        range.check_integer(*self)
    }
}

impl FieldValue for usize {
    const KIND: Kind = Kind::Integer;
    fn from_text(s: &str) -> Result<Self, String> {
        s.trim()
            .parse::<usize>()
            .map_err(|_| format!("must be a whole number >= 0, got {s:?}"))
    }
    fn from_json(field: &str, v: &Value) -> Result<Self, FieldError> {
        u64::from_json(field, v).and_then(|k| {
            usize::try_from(k).map_err(|_| {
                FieldError::new(
                    field,
                    format!("must be a whole number in 0..={}, got {k}", usize::MAX),
                )
            })
        })
    }
    fn to_json(&self) -> Value {
        serde_json::json!(self)
    }
    fn to_text(&self) -> Option<String> {
        Some(self.to_string())
    }
    fn check(&self, range: &Range) -> Option<String> {
        range.check_integer(*self as u64)
    }
}

impl FieldValue for bool {
    const KIND: Kind = Kind::Flag;
    fn from_text(s: &str) -> Result<Self, String> {
        Self::from_json("", &Value::String(s.into())).map_err(|e| e.message)
    }
    fn from_json(field: &str, v: &Value) -> Result<Self, FieldError> {
        let bad = || FieldError::new(field, format!("must be true or false, got {}", shown(v)));
        match v {
            Value::Bool(b) => Ok(*b),
            Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "on" | "yes" => Ok(true),
                "false" | "0" | "off" | "no" | "" => Ok(false),
                _ => Err(bad()),
            },
            Value::Number(n) if n.as_f64() == Some(0.0) || n.as_f64() == Some(1.0) => {
                Ok(n.as_f64() == Some(1.0))
            }
            _ => Err(bad()),
        }
    }
    fn to_json(&self) -> Value {
        Value::Bool(*self)
    }
    fn to_text(&self) -> Option<String> {
        self.then(|| "true".into())
    }
}

/// A field that is one of a few names (`Method`, `Activation`).
macro_rules! choice_field {
    ($ty:ty, $names:expr) => {
        impl FieldValue for $ty {
            const KIND: Kind = Kind::Choice(&$names);
            fn from_text(s: &str) -> Result<Self, String> {
                <$ty>::parse(s).map_err(|e| e.message)
            }
            fn from_json(field: &str, v: &Value) -> Result<Self, FieldError> {
                let s = v.as_str().ok_or_else(|| {
                    FieldError::new(field, format!("must be a string, got {}", shown(v)))
                })?;
                <$ty>::parse(s).map_err(|e| FieldError::new(field, e.message))
            }
            fn to_json(&self) -> Value {
                Value::String(self.name().into())
            }
            fn to_text(&self) -> Option<String> {
                Some(self.name().into())
            }
        }
    };
}
choice_field!(Method, ["gn", "gd"]);
choice_field!(Activation, ["silu", "relu", "tanh"]);

/// Declares `Config` from one list of fields; see the module doc. Each entry:
///
/// ```text
/// /// doc comment (and serde attributes) of the struct field
/// name: Type = default, range, axis: Some(depth) | None, fixed: bool, value_name: "X",
///     conflicts_with: Some("other") | None, help: "the help text";
/// ```
macro_rules! declare_config {
    ($(
        $(#[$meta:meta])*
        $name:ident: $ty:ty = $default:expr, $range:expr, axis: $axis:expr, fixed: $fixed:expr,
        value_name: $value_name:literal, conflicts_with: $conflicts:expr, help: $help:literal;
    )*) => {
        /// Everything that defines a run. Field names are those of the checkpoint's `config`
        /// object (DESIGN.md §5); keys missing from a file take the defaults (the paper's
        /// values). Declared once, with [`FIELDS`], by `declare_config!`.
        #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
        #[serde(default)]
        pub struct Config {
            $( $(#[$meta])* pub $name: $ty, )*
        }

        impl Default for Config {
            fn default() -> Self {
                Config { $( $name: $default, )* }
            }
        }

        /// The field table: one entry per field of [`Config`], in declaration order.
        pub const FIELDS: &[FieldSpec] = &[$(
            FieldSpec {
                name: stringify!($name),
                help: $help,
                kind: <$ty as FieldValue>::KIND,
                range: $range,
                axis: $axis,
                fixed: $fixed,
                value_name: $value_name,
                conflicts_with: $conflicts,
                parse_text: fields::parse_text_as::<$ty>,
            },
        )*];

        impl Config {
            /// Sets the field `name` from a JSON value (a number, a typed string, a boolean);
            /// problems are reported under `label` (the page's input, e.g. `lr_gd`).
            pub fn set(&mut self, name: &str, label: &str, v: &Value) -> Result<(), FieldError> {
                match name {
                    $( stringify!($name) => self.$name = <$ty as FieldValue>::from_json(label, v)?, )*
                    _ => return Err(FieldError::new(label, "is not a setting of a run")),
                }
                Ok(())
            }

            /// The field `name` as JSON (`None` if there is no such field).
            pub fn get(&self, name: &str) -> Option<Value> {
                match name {
                    $( stringify!($name) => Some(FieldValue::to_json(&self.$name)), )*
                    _ => None,
                }
            }

            /// The field `name` as command-line text (`None` if unset, false or unknown).
            pub fn text(&self, name: &str) -> Option<String> {
                match name {
                    $( stringify!($name) => FieldValue::to_text(&self.$name), )*
                    _ => None,
                }
            }

            /// Each field's own range check, in table order.
            fn range_problems(&self) -> Vec<FieldError> {
                let mut out = Vec::new();
                $(
                    if let Some(message) = FieldValue::check(&self.$name, &$range) {
                        out.push(FieldError::new(stringify!($name), message));
                    }
                )*
                out
            }
        }
    };
}
pub(crate) use declare_config;

/// Field values given by hand (command-line flags, a preset's settings), applied over a
/// config: only the fields given change.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Overrides(std::collections::BTreeMap<&'static str, Value>);

impl Overrides {
    /// Gives the field `name` the value `v` (normalised through the field's type, so that
    /// `10` and `10.0` are the same step). Errors name the field.
    pub fn set(&mut self, name: &str, v: &Value) -> Result<(), FieldError> {
        let spec = field(name).ok_or_else(|| FieldError::new(name, "is not a setting of a run"))?;
        self.0.insert(spec.name, normalise(spec.name, v)?);
        Ok(())
    }

    /// [`Overrides::set`] for values written in code (presets); panics on a bad one.
    pub fn with(mut self, name: &str, v: impl Serialize) -> Self {
        let v = serde_json::to_value(v).expect("a preset value is JSON");
        self.set(name, &v).expect("a preset value fits its field");
        self
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name)
    }

    pub fn remove(&mut self, name: &str) {
        self.0.remove(name);
    }

    pub fn is_set(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    /// The fields given, in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &Value)> {
        self.0.iter().map(|(k, v)| (*k, v))
    }

    /// Every value given laid over `other`'s.
    pub fn over(&self, other: &Overrides) -> Overrides {
        let mut out = other.clone();
        out.0.extend(self.0.iter().map(|(k, v)| (*k, v.clone())));
        out
    }

    /// Sets the fields given on `c`. An explicit step limit replaces a flow-time limit that is
    /// not given with it; the step limit of a flow-time limit is then worked out
    /// ([`Config::apply_max_flow_time`](super::Config::apply_max_flow_time)).
    pub fn apply(&self, c: &mut super::Config) -> Result<(), FieldError> {
        for (name, v) in &self.0 {
            c.set(name, name, v)?;
        }
        if self.is_set("max_iter") && !self.is_set("max_flow_time") {
            c.max_flow_time = None;
        }
        c.apply_max_flow_time();
        Ok(())
    }
}

/// `v` as the field `name` stores it (`10` → `10.0` for a number field).
pub fn normalise(name: &str, v: &Value) -> Result<Value, FieldError> {
    let mut c = super::Config::default();
    c.set(name, name, v)?;
    Ok(c.get(name).unwrap_or(Value::Null))
}

#[cfg(test)]
mod tests {
    use super::super::{Config, FIELDS};
    use super::*;
    use serde_json::json;

    #[test]
    fn every_field_round_trips_through_json_and_text() {
        let c = Config::default();
        for f in FIELDS {
            let v = c.get(f.name).unwrap();
            let mut d = Config::default();
            d.set(f.name, f.name, &v).unwrap();
            assert_eq!(d, c, "{}", f.name);
            if let Some(t) = c.text(f.name) {
                assert_eq!((f.parse_text)(&t).unwrap(), v, "{}", f.name);
            }
        }
        // The table and the struct agree: serde writes the same keys, in the same order.
        let text = serde_json::to_string(&c).unwrap();
        let at: Vec<usize> = FIELDS
            .iter()
            .filter(|f| f.name != "max_flow_time")
            .map(|f| text.find(&format!("\"{}\":", f.name)).unwrap())
            .collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "{text}");
    }

    #[test]
    fn bad_values_name_the_field_and_what_is_allowed() {
        let mut c = Config::default();
        let e = c.set("n", "n", &json!("2.5")).unwrap_err();
        assert_eq!(e.field, "n");
        assert!(e.message.contains("whole number"), "{e}");
        let e = c.set("method", "m_box", &json!("sgd")).unwrap_err();
        assert_eq!(
            (e.field.as_str(), e.message.as_str()),
            ("m_box", "must be gn or gd, got \"sgd\"")
        );
        assert_eq!(
            c.set("nope", "nope", &json!(1)).unwrap_err().message,
            "is not a setting of a run"
        );
        assert_eq!(
            (field("tau0").unwrap().parse_text)("x").unwrap_err(),
            "must be a number, got \"x\""
        );
        c.n = 0;
        c.tau0 = -1.0;
        let p = c.problems();
        assert_eq!(
            p.iter().map(|p| p.field.as_str()).collect::<Vec<_>>(),
            ["tau0", "n"]
        );
        assert_eq!(
            p[1].message,
            format!("must be an integer in 1..={}, got 0", super::super::MAX_N)
        );
    }

    #[test]
    fn overrides_normalise_and_a_step_limit_replaces_a_flow_time_limit() {
        let o = Overrides::default().with("lr", 10).with("max_iter", 7);
        assert_eq!(o.get("lr"), Some(&json!(10.0)));
        let mut c = Config {
            max_flow_time: Some(100.0),
            ..Config::default()
        };
        o.apply(&mut c).unwrap();
        assert_eq!((c.max_iter, c.max_flow_time), (7, None));
        let o = Overrides::default()
            .with("max_flow_time", 100.0)
            .with("lr", 30.0);
        let mut c = Config::default();
        o.apply(&mut c).unwrap();
        assert_eq!(c.max_iter, 4);
        assert_eq!(value_text("method", &json!("gd")).as_deref(), Some("gd"));
        assert_eq!(value_text("refit", &json!(false)), None);
    }
}
