//! A grid of runs: [`Block`]s of axes (a list of values per sweep-axis field of the field
//! table) and fixed settings, narrowed by what the command line gives ([`blocks`]), and
//! expanded into named, validated runs in a fixed order ([`expand`]).

use super::presets::{preset_blocks, Preset};
use crate::config::{field, flag, Config, FieldError, Method, Overrides, FIELDS};
use crate::flow;
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};

/// One block of a grid: the axes and the settings that go with them.
#[derive(Clone, Debug, Default)]
pub struct Block {
    /// Values of the sweep-axis fields; an axis not listed takes its default.
    pub axes: BTreeMap<&'static str, Vec<Value>>,
    /// One value across the block.
    pub scalars: Overrides,
    /// Record every this much flow time: eval_every = round(dt/λ) (at least 1) per λ.
    pub record_dt: Option<f64>,
    /// The part of its preset this block belongs to (`--part` selects parts).
    pub part: &'static str,
    /// GD runs take their λ only if it is at most half of GD's stability bound 2N/λ_max(A)
    /// at initialisation, else half the bound (rounded down to 2 digits): see
    /// [`flow::choose_gd_step`].
    pub stable_gd: bool,
}

impl Block {
    /// Sets the values of the axis `name` (a sweep-axis field; panics otherwise, as a preset
    /// written wrong should).
    pub fn axis<T: Serialize>(mut self, name: &str, values: impl IntoIterator<Item = T>) -> Self {
        let spec = field(name)
            .filter(|f| f.axis.is_some())
            .expect("a sweep axis");
        let values = values
            .into_iter()
            .map(|v| {
                let v = serde_json::to_value(v).expect("JSON");
                crate::config::fields::normalise(name, &v).expect("a value of the axis")
            })
            .collect();
        self.axes.insert(spec.name, values);
        self
    }

    /// Sets one field for the whole block.
    pub fn set(mut self, name: &str, value: impl Serialize) -> Self {
        self.scalars = self.scalars.with(name, value);
        self
    }

    /// The values of axis `name`, the default when not listed.
    pub fn axis_values(&mut self, name: &'static str) -> &mut Vec<Value> {
        self.axes
            .entry(name)
            .or_insert_with(|| vec![Config::default().get(name).expect("a field")])
    }
}

/// What `gn sweep` was asked for: a preset (or one default block), axes and settings that
/// replace or narrow it.
#[derive(Clone, Debug, Default)]
pub struct Request {
    pub preset: Option<Preset>,
    /// Parts of the preset to keep (all when empty).
    pub parts: Vec<String>,
    /// Axes given, each a list of values.
    pub axes: Vec<(&'static str, Vec<Value>)>,
    /// Settings given, one value each.
    pub scalars: Overrides,
    /// Record every this much flow time (replaces the preset's record spacing).
    pub record_every_t: Option<f64>,
}

/// Narrows (or replaces) one axis of every block by the values given on the command line:
/// if some block has some of the values, each block keeps those it has (blocks left with
/// none are dropped), so `--preset paper --method gd` is the preset's GD block; values no
/// block has replace the axis in every block (`--preset quick --n 150`).
pub fn narrow(
    mut blocks: Vec<Block>,
    preset: bool,
    name: &'static str,
    given: &[Value],
) -> Vec<Block> {
    if given.is_empty() {
        return blocks;
    }
    let any = preset
        && blocks
            .iter_mut()
            .any(|b| b.axis_values(name).iter().any(|v| given.contains(v)));
    if !any {
        for b in &mut blocks {
            *b.axis_values(name) = given.to_vec();
        }
        return blocks;
    }
    blocks
        .into_iter()
        .filter_map(|mut b| {
            let kept: Vec<Value> = given
                .iter()
                .filter(|v| b.axis_values(name).contains(v))
                .cloned()
                .collect();
            (!kept.is_empty()).then(|| {
                *b.axis_values(name) = kept;
                b
            })
        })
        .collect()
}

/// The blocks a request asks for: the preset's (or one default block), narrowed or replaced
/// by the axes given (see [`narrow`]); every setting given replaces the preset's.
pub fn blocks(req: &Request) -> Vec<Block> {
    let mut blocks = match req.preset {
        Some(p) => preset_blocks(p),
        None => vec![Block::default()],
    };
    if !req.parts.is_empty() {
        blocks.retain(|b| req.parts.iter().any(|p| p == b.part));
    }
    for (name, values) in &req.axes {
        blocks = narrow(blocks, req.preset.is_some(), name, values);
    }
    let s = &req.scalars;
    for b in &mut blocks {
        b.scalars = s.over(&b.scalars);
        if s.is_set("max_iter") && !s.is_set("max_flow_time") {
            // An explicit step limit replaces the preset's flow-time limit.
            b.scalars.remove("max_flow_time");
        }
        if s.is_set("eval_every") {
            b.record_dt = None;
        }
        if req.record_every_t.is_some() {
            b.record_dt = req.record_every_t;
        }
    }
    blocks
}

/// One run of the grid.
#[derive(Clone, Debug)]
pub struct Planned {
    pub name: String,
    pub config: Config,
    /// For GD runs of a `stable_gd` block: the step asked for, the bound, and the choice.
    pub step: Option<flow::StepChoice>,
}

/// Problems as one line naming the flags.
fn flag_message(problems: &[FieldError]) -> String {
    problems
        .iter()
        .map(|p| format!("{}: {}", flag(&p.field), p.message))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The axis values of every run of a block, in the grid's fixed order (the axes' depths in
/// the field table: the deepest varies fastest).
fn combinations(b: &Block) -> Vec<Vec<(&'static str, Value)>> {
    let mut axes: Vec<_> = FIELDS.iter().filter(|f| f.axis.is_some()).collect();
    axes.sort_by_key(|f| f.axis);
    let mut out: Vec<Vec<(&'static str, Value)>> = vec![Vec::new()];
    for f in axes {
        let values = match b.axes.get(f.name) {
            Some(v) => v.clone(),
            None => vec![f.default_value()],
        };
        out = out
            .into_iter()
            .flat_map(|prefix| {
                values.iter().map(move |v| {
                    let mut p = prefix.clone();
                    p.push((f.name, v.clone()));
                    p
                })
            })
            .collect();
    }
    out
}

/// The configuration of one run of block `b` with axis values `combo`.
fn plan_one(b: &Block, combo: Vec<(&'static str, Value)>) -> Result<Planned, String> {
    let mut given = b.scalars.clone();
    for (name, v) in &combo {
        given.set(name, v).map_err(|e| flag_message(&[e]))?;
    }
    let mut config = Config::default();
    given.apply(&mut config).map_err(|e| flag_message(&[e]))?;
    let mut step = None;
    if b.stable_gd && config.method == Method::Gd && config.validate().is_ok() {
        let choice = stable_step(&config)?;
        config.lr = choice.lr;
        step = Some(choice);
    }
    if let Some(dt) = b.record_dt {
        if !(dt.is_finite() && dt > 0.0) {
            return Err(format!(
                "--record-every-t: must be a finite number > 0, got {dt}"
            ));
        }
        if config.lr.is_finite() && config.lr > 0.0 {
            // saturating: validation reports a huge value
            config.eval_every = ((dt / config.lr).round() as u64).max(1);
        }
    }
    config.apply_max_flow_time();
    config.validate().map_err(|e| flag_message(&e))?;
    Ok(Planned {
        name: super::run_name(&config),
        config,
        step,
    })
}

/// Every run of the blocks, in a fixed order, each name once (the first block wins).
pub fn expand(blocks: &[Block]) -> Result<Vec<Planned>, String> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for b in blocks {
        for combo in combinations(b) {
            let p = plan_one(b, combo)?;
            if seen.insert(p.name.clone()) {
                out.push(p);
            }
        }
    }
    Ok(out)
}

/// GD's step for `config`'s cell (its λ is the step wanted), from λ_max(A) at initialisation.
fn stable_step(config: &Config) -> Result<flow::StepChoice, String> {
    let lmax = flow::init_lambda_max(config).ok_or_else(|| {
        format!(
            "τ₀ = {} N = {} seed {}: λ_max(A) at initialisation is not finite",
            config.tau0, config.n, config.seed
        )
    })?;
    Ok(flow::choose_gd_step(config.n, lmax, config.lr))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_grid_order_is_m_n_seed_activation_lr_method_tau0() {
        let b = Block::default()
            .axis("tau0", [0.1, 1.0])
            .axis("method", ["gn", "gd"])
            .axis("n", [10, 20]);
        let names: Vec<String> = expand(&[b]).unwrap().into_iter().map(|p| p.name).collect();
        assert_eq!(
            &names[..3],
            [
                "gn-silu-tau0_0.1-n10-m5000-lr10-seed1",
                "gn-silu-tau0_1-n10-m5000-lr10-seed1",
                "gd-silu-tau0_0.1-n10-m5000-lr10-seed1",
            ]
        );
        assert_eq!(names.len(), 8);
    }

    #[test]
    fn given_values_narrow_a_preset_or_replace_the_axis() {
        let req = Request {
            preset: Some(Preset::Paper),
            axes: vec![("method", vec![json!("gd")])],
            ..Request::default()
        };
        let b = blocks(&req);
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].scalars.get("eval_every"), Some(&json!(100)));
        let req = Request {
            preset: Some(Preset::Quick),
            axes: vec![("n", vec![json!(150)])],
            scalars: Overrides::default().with("max_iter", 30),
            ..Request::default()
        };
        for b in blocks(&req) {
            assert_eq!(b.axes["n"], vec![json!(150)]);
            assert_eq!(b.scalars.get("max_iter"), Some(&json!(30)));
        }
    }

    #[test]
    fn bad_settings_name_the_flag() {
        let b = Block::default().set("d", 0);
        assert_eq!(
            expand(&[b]).unwrap_err(),
            format!(
                "--d: must be an integer in 1..={}, got 0",
                crate::config::MAX_D
            )
        );
        let b = Block {
            record_dt: Some(-1.0),
            ..Block::default()
        };
        assert!(expand(&[b]).unwrap_err().starts_with("--record-every-t:"));
    }
}
