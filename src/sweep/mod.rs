//! Sweeps as data: a grid of runs described by [`Block`]s (axes and fixed settings), the
//! presets ([`presets`]: the paper's grids, including `paper-flow` and its flow-step logic), the
//! expansion into named runs ([`grid::expand`]), sharding, and the one run-naming function
//! [`run_name`] shared by sweep folders and the page's exports. No I/O: `gn sweep` runs the
//! plan, the report reads it back.

pub mod grid;
pub mod presets;

pub use grid::{blocks, expand, narrow, Block, Planned, Request};
pub use presets::{
    flow_step, preset_blocks, Preset, FLOW_STEP, LAMBDA_STAR, STUDY_DT, STUDY_LR, STUDY_TAU0,
};

use crate::config::Config;

/// A number as it appears in a file name: shortest form, `.` kept, no exponent surprises.
fn num_name(x: f64) -> String {
    format!("{x}")
}

/// The file stem of a run: every grid axis, plus `-refit` when the refit is recorded and
/// `-tT` when the run stops at flow time T. Sweep folders name their files by it, and the
/// page's exports too.
pub fn run_name(c: &Config) -> String {
    format!(
        "{}-{}-tau0_{}-n{}-m{}-lr{}-seed{}{}{}",
        c.method.name(),
        c.activation.name(),
        num_name(c.tau0),
        c.n,
        c.m,
        num_name(c.lr),
        c.seed,
        if c.refit { "-refit" } else { "" },
        c.max_flow_time
            .map(|t| format!("-t{}", num_name(t)))
            .unwrap_or_default()
    )
}

/// `I/K`: the I-th of K shares of the grid, I in 1..=K.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl std::str::FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> Result<Shard, String> {
        let bad = || format!("must be I/K with 1 <= I <= K, got {s:?}");
        let (i, k) = s.split_once('/').ok_or_else(bad)?;
        let index: usize = i.trim().parse().map_err(|_| bad())?;
        let count: usize = k.trim().parse().map_err(|_| bad())?;
        if count == 0 || index == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// The runs of shard `I/K`: those at positions I-1, I-1+K, … of the grid's fixed order
/// (round robin, so each shard gets a mix of cheap and costly runs).
pub fn shard_runs(all: Vec<Planned>, shard: Option<Shard>) -> Vec<Planned> {
    match shard {
        None => all,
        Some(s) => all
            .into_iter()
            .enumerate()
            .filter(|(i, _)| i % s.count == s.index - 1)
            .map(|(_, p)| p)
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Method;

    #[test]
    fn names_carry_every_axis_and_the_flow_time_limit() {
        let c = Config {
            method: Method::Gd,
            tau0: 0.01,
            n: 100,
            lr: 30.0,
            refit: true,
            max_flow_time: Some(2e5),
            ..Config::default()
        };
        assert_eq!(
            run_name(&c),
            "gd-silu-tau0_0.01-n100-m5000-lr30-seed1-refit-t200000"
        );
        assert_eq!(
            run_name(&Config::default()),
            "gn-silu-tau0_0.1-n500-m5000-lr10-seed1"
        );
    }

    #[test]
    fn shards_are_disjoint_and_cover_the_grid() {
        let all = expand(&[Block::default()
            .axis("tau0", [0.1, 1.0, 10.0])
            .axis("n", [10, 20])])
        .unwrap();
        assert_eq!(all.len(), 6);
        let mut names: Vec<String> = (1..=4)
            .flat_map(|i| shard_runs(all.clone(), Some(Shard { index: i, count: 4 })))
            .map(|p| p.name)
            .collect();
        names.sort();
        let mut want: Vec<String> = all.iter().map(|p| p.name.clone()).collect();
        want.sort();
        assert_eq!(names, want);
        assert!("0/3".parse::<Shard>().is_err() && "4/3".parse::<Shard>().is_err());
        assert_eq!("2/3".parse::<Shard>().unwrap().to_string(), "2/3");
    }
}
