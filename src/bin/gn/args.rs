//! The config flags, built from the library's field table ([`gauss_newton::FIELDS`]) with
//! clap's builder API: `gn run` takes one value per field ([`ConfigArgs`]), `gn sweep` a comma
//! list for each sweep axis and one value for the rest ([`GridArgs`]).

use clap::{Arg, ArgAction, ArgMatches, Args, Command, FromArgMatches};
use gauss_newton::config::{FieldSpec, Kind, Overrides};
use gauss_newton::FIELDS;
use serde_json::Value;

/// The flag of one field; `list` makes it a comma list (a sweep axis).
/// The flag of one field. For `gn sweep` (`sweep`), sweep axes take comma lists, and a
/// flow-time limit and a step limit may be given together (the flow time wins).
fn field_arg(f: &'static FieldSpec, sweep: bool, extra_help: &str) -> Arg {
    let default = f
        .default_text()
        .map(|d| match d.parse::<f64>() {
            Ok(x) if d.len() > 8 => format!("{x:e}"),
            _ => d,
        })
        .map(|d| format!(" [default: {d}{extra_help}]"))
        .unwrap_or_default();
    // clap keeps the name for the life of the program, as it does a literal's.
    let long: &'static str = Box::leak(f.name.replace('_', "-").into_boxed_str());
    let arg = Arg::new(f.name)
        .long(long)
        .help(format!("{}{default}", f.help));
    if f.kind == Kind::Flag {
        return arg.action(ArgAction::SetTrue);
    }
    let parse = f.parse_text;
    let arg = arg
        .value_name(f.value_name)
        .value_parser(move |s: &str| parse(s));
    // A negative value reaches the field's own message ("-1e-9" is a value, not a flag).
    let arg = match f.kind {
        Kind::Number | Kind::OptionalNumber => arg.allow_hyphen_values(true),
        _ => arg.allow_negative_numbers(true),
    };
    let arg = match f.conflicts_with {
        Some(other) if !sweep => arg.conflicts_with(other),
        _ => arg,
    };
    if sweep && f.axis.is_some() {
        let help = format!("{}; a comma-separated list, one grid axis{default}", f.help);
        arg.value_delimiter(',')
            .action(ArgAction::Append)
            .help(help)
    } else {
        arg.action(ArgAction::Set)
    }
}

/// The value given for `f`, if any (`true` for a flag that is set).
fn given(m: &ArgMatches, f: &FieldSpec) -> Option<Value> {
    if f.kind == Kind::Flag {
        return m.get_flag(f.name).then_some(Value::Bool(true));
    }
    m.get_one::<Value>(f.name).cloned()
}

fn into_overrides(m: &ArgMatches, fields: impl Iterator<Item = &'static FieldSpec>) -> Overrides {
    let mut o = Overrides::default();
    for f in fields {
        if let Some(v) = given(m, f) {
            o.set(f.name, &v)
                .expect("a value parsed by the field's parser");
        }
    }
    o
}

/// The flags that set a [`gauss_newton::Config`], one per field of the table. Each is
/// optional: unset flags keep the paper's defaults, or the checkpoint's values when resuming.
#[derive(Clone, Debug, Default)]
pub struct ConfigArgs {
    pub given: Overrides,
}

impl FromArgMatches for ConfigArgs {
    fn from_arg_matches(m: &ArgMatches) -> Result<Self, clap::Error> {
        Ok(ConfigArgs {
            given: into_overrides(m, FIELDS.iter()),
        })
    }
    fn update_from_arg_matches(&mut self, m: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(m)?;
        Ok(())
    }
}

impl Args for ConfigArgs {
    fn augment_args(cmd: Command) -> Command {
        cmd.args(FIELDS.iter().map(|f| field_arg(f, false, "")))
    }
    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}

/// `gn sweep`'s config flags: a comma list per sweep axis (each replaces or narrows the
/// preset's), one value for every other field (it replaces the preset's).
#[derive(Clone, Debug, Default)]
pub struct GridArgs {
    /// Axes given, in the table's order.
    pub axes: Vec<(&'static str, Vec<Value>)>,
    pub scalars: Overrides,
}

impl FromArgMatches for GridArgs {
    fn from_arg_matches(m: &ArgMatches) -> Result<Self, clap::Error> {
        let axes = FIELDS
            .iter()
            .filter(|f| f.axis.is_some())
            .filter_map(|f| {
                let values: Vec<Value> = m.get_many::<Value>(f.name)?.cloned().collect();
                Some((f.name, values))
            })
            .collect();
        let scalars = into_overrides(m, FIELDS.iter().filter(|f| f.axis.is_none()));
        Ok(GridArgs { axes, scalars })
    }
    fn update_from_arg_matches(&mut self, m: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(m)?;
        Ok(())
    }
}

impl Args for GridArgs {
    fn augment_args(cmd: Command) -> Command {
        cmd.args(FIELDS.iter().map(|f| match f.axis {
            Some(_) => field_arg(f, true, ""),
            None => field_arg(f, true, ", or the preset's"),
        }))
    }
    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}
