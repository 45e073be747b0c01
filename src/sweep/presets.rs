//! The preset grids of `gn sweep --preset`: the paper's grid, hidden learning, a quick small
//! version of both, and `paper-flow` (the paper's claims in flow time: GD's step-equivalence
//! study, GD at each τ₀'s flow-equivalent step lowered where unstable, GN to convergence, and the
//! hidden-learning runs).

use super::grid::Block;
use crate::config::{PAPER_N, PAPER_TAU0};
use crate::flow::{HIDDEN_T, HORIZON_T, STUDY_T};

/// A preset grid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Preset {
    Paper,
    Hidden,
    Quick,
    PaperFlow,
}

impl Preset {
    pub const ALL: [Preset; 4] = [
        Preset::Paper,
        Preset::Hidden,
        Preset::Quick,
        Preset::PaperFlow,
    ];

    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Preset::Paper => "paper",
            Preset::Hidden => "hidden",
            Preset::Quick => "quick",
            Preset::PaperFlow => "paper-flow",
        }
    }

    pub fn parse(s: &str) -> Option<Preset> {
        Preset::ALL.into_iter().find(|p| p.name() == s)
    }

    /// What the preset runs, for the help.
    pub fn about(self) -> &'static str {
        match self {
            Preset::Paper => "The paper's grid: 7 τ₀ × N ∈ {100, 500, 1000, 1500, 2000} × GN, GD at λ = 10 × 5 seeds, M = 5000",
            Preset::Hidden => "Hidden learning: GN at τ₀ ∈ {0.01, 0.1} over λ ∈ {0.1, 1, 10} with --refit, plus GD, N = 500",
            Preset::Quick => "A small version of both (M = 500, N ∈ {100, 200}, 2 seeds): about 10 minutes on 2 cores",
            Preset::PaperFlow => "The paper's claims in flow time, M = 5000: GD's step-equivalence study, GD to t = 2·10⁷ at each τ₀'s flow-equivalent step (lowered where GD's stability bound forbids it), GN at λ = 10 to convergence, and the hidden-learning runs (see `gn sweep --preset paper-flow --dry-run`)",
        }
    }

    /// The parts a preset's blocks may belong to (`--part`).
    pub const PARTS: [&'static str; 4] = ["study", "horizon", "gn", "hidden"];
}

/// The paper's GD step, λ = 10: the reference of the step-equivalence study, the step of the
/// hidden part's GD runs, and of horizon runs at a τ₀ the study does not cover (τ₀ = 100,
/// where GD's stability bound sets the step instead).
pub const LAMBDA_STAR: f64 = 10.0;
/// The τ₀ of GD's step-equivalence study: every τ₀ of the paper's grid but 100.
pub const STUDY_TAU0: [f64; 6] = [0.01, 0.1, 0.5, 1.0, 5.0, 10.0];
/// GD's flow-equivalent step per τ₀ at M = 5000, as measured by the step-equivalence study
/// (`gn report results/paper/flow/runs`, "Step equivalence"): for each τ₀ the smallest over
/// N ∈ {100, 500} of the cell's largest step whose train and test losses stay within 1 % of
/// λ = 10's at every common flow time. The report flags a value here that differs from the
/// measured one.
///
/// Measured (72 runs, seed 1, M = 5000): at τ₀ ∈ {0.01, 0.1} already λ = 30 strays by
/// 1.1–2.0 % while the loss falls fast (t ≈ 15 000–30 000), though it ends within 0.13 % at
/// t = 2·10⁵, so those runs keep the paper's λ = 10. At τ₀ = 0.5 λ = 30 stays within 0.26 %
/// and λ = 100 strays by 1.0–1.2 %; at τ₀ = 1 steps up to 300 stay within 0.63 %; at τ₀ = 5 up
/// to 100 within 0.63 % (300 leaves the flow); at τ₀ = 10 λ = 30 stays within 0.23 % and 100
/// leaves the flow.
pub const FLOW_STEP: [(f64, f64); 6] = [
    (0.01, 10.0),
    (0.1, 10.0),
    (0.5, 30.0),
    (1.0, 300.0),
    (5.0, 100.0),
    (10.0, 30.0),
];

/// The step GD's horizon runs ask for at τ₀: [`FLOW_STEP`]'s, or [`LAMBDA_STAR`] at a τ₀
/// outside the study. (A run then takes half its stability bound if that is smaller.)
pub fn flow_step(tau0: f64) -> f64 {
    FLOW_STEP
        .iter()
        .find(|(t, _)| *t == tau0)
        .map_or(LAMBDA_STAR, |&(_, lr)| lr)
}
/// The steps of GD's step-equivalence study.
pub const STUDY_LR: [f64; 6] = [10.0, 30.0, 100.0, 300.0, 1000.0, 3000.0];
/// The study's record spacing (3000 is a whole number of steps for every λ of the study, so
/// all of them record at the same flow times).
pub const STUDY_DT: f64 = 3000.0;

fn seeds(k: u64) -> std::ops::RangeInclusive<u64> {
    1..=k
}

/// The blocks of a preset (later blocks may repeat a run of an earlier one: the first wins).
pub fn preset_blocks(p: Preset) -> Vec<Block> {
    match p {
        Preset::Paper => paper_blocks(),
        Preset::Hidden => hidden_blocks(),
        Preset::Quick => quick_blocks(),
        Preset::PaperFlow => paper_flow_blocks(),
    }
}

fn paper_blocks() -> Vec<Block> {
    let base = Block::default()
        .axis("tau0", PAPER_TAU0)
        .axis("n", PAPER_N)
        .axis("seed", seeds(5))
        .axis("lr", [10.0])
        .axis("m", [5000]);
    vec![
        base.clone().axis("method", ["gn"]).set("eval_every", 10),
        base.axis("method", ["gd"]).set("eval_every", 100),
    ]
}

fn hidden_blocks() -> Vec<Block> {
    let base = Block::default()
        .axis("tau0", [0.01, 0.1])
        .axis("n", [500])
        .axis("seed", seeds(5))
        .axis("m", [5000])
        .set("refit", true);
    let gn = |lr: f64, every: u64| {
        base.clone()
            .axis("method", ["gn"])
            .axis("lr", [lr])
            .set("eval_every", every)
    };
    vec![
        gn(10.0, 10),
        gn(1.0, 100),
        gn(0.1, 1000),
        base.clone()
            .axis("method", ["gd"])
            .axis("lr", [10.0])
            .set("eval_every", 100),
    ]
}

fn quick_blocks() -> Vec<Block> {
    let base = Block::default()
        .axis("tau0", PAPER_TAU0)
        .axis("n", [100, 200])
        .axis("seed", [1, 2])
        .axis("lr", [10.0])
        .axis("m", [500])
        .set("refit", true)
        .set("n_test", 2000);
    let hidden = |lr: f64, every: u64| {
        base.clone()
            .axis("tau0", [0.01, 0.1])
            .axis("n", [100])
            .axis("method", ["gn"])
            .axis("lr", [lr])
            .set("max_iter", 20_000)
            .set("eval_every", every)
    };
    vec![
        base.clone()
            .axis("method", ["gn"])
            .set("max_iter", 20_000)
            .set("eval_every", 5),
        base.clone()
            .axis("method", ["gd"])
            .set("max_iter", 10_000)
            .set("eval_every", 100),
        hidden(1.0, 20),
        hidden(0.1, 200),
    ]
}

/// A `paper-flow` block that stops at flow time `t` and records every `dt` of flow time.
fn flow_block(part: &'static str, t: f64, dt: f64, refit: bool) -> Block {
    let mut b = Block::default().axis("m", [5000]).set("max_flow_time", t);
    if refit {
        b = b.set("refit", true);
    }
    Block {
        record_dt: Some(dt),
        part,
        ..b
    }
}

/// Part 1, step equivalence: GD at each λ to t = 2·10⁵, records every t = 3000.
fn study_blocks() -> Vec<Block> {
    STUDY_LR
        .iter()
        .map(|&lr| {
            flow_block("study", STUDY_T, STUDY_DT, false)
                .axis("method", ["gd"])
                .axis("tau0", STUDY_TAU0)
                .axis("n", [100, 500])
                .axis("seed", [1])
                .axis("lr", [lr])
        })
        .collect()
}

/// Part 2: GD to the paper's horizon at each τ₀'s flow-equivalent step ([`flow_step`], lowered
/// where unstable), records every t = 2·10⁴ — but at τ₀ = 100 every [`TAU0_100_RECORD_EVERY`]
/// steps.
fn horizon_blocks() -> Vec<Block> {
    [(100, 5), (500, 3), (1000, 1)]
        .into_iter()
        .flat_map(|(n, k)| {
            PAPER_TAU0.into_iter().map(move |tau0| {
                let b = Block {
                    stable_gd: true,
                    ..flow_block("horizon", HORIZON_T, 2e4, false)
                        .axis("method", ["gd"])
                        .axis("tau0", [tau0])
                        .axis("n", [n])
                        .axis("seed", seeds(k))
                        .axis("lr", [flow_step(tau0)])
                };
                if tau0 == 100.0 {
                    Block {
                        record_dt: None,
                        ..b.set("eval_every", TAU0_100_RECORD_EVERY)
                    }
                } else {
                    b
                }
            })
        })
        .collect()
}

/// GD at τ₀ = 100 records every this many steps: its stable step, λ ≈ 0.23, would make the
/// horizon part's spacing of t = 2·10⁴ about 8.7·10⁴ steps, more than such a run takes to
/// converge (2.3·10⁴ to 9.7·10⁵ steps at N = 100 to 1000).
pub const TAU0_100_RECORD_EVERY: u64 = 1000;

/// Part 3: GN at λ = 10 to convergence (tol 1e-8; the paper's 2·10⁶-step cap), records every 10
/// steps.
fn gn_blocks() -> Vec<Block> {
    [(100, 5), (500, 3), (1000, 1), (1500, 1), (2000, 1)]
        .into_iter()
        .map(|(n, k)| Block {
            part: "gn",
            ..Block::default()
                .axis("m", [5000])
                .axis("method", ["gn"])
                .axis("tau0", PAPER_TAU0)
                .axis("n", [n])
                .axis("seed", seeds(k))
                .axis("lr", [10.0])
                .set("eval_every", 10)
        })
        .collect()
}

/// Part 4, hidden learning: GN at λ ∈ {0.1, 1, 10} with the refit probe to t = 5000, records every
/// t = 50; GD at the paper's λ = 10 with the probe to t = 2·10⁵ for reference.
fn hidden_flow_blocks() -> Vec<Block> {
    let cell = |b: Block| {
        b.axis("tau0", [0.01, 0.1])
            .axis("n", [500])
            .axis("seed", seeds(3))
    };
    let mut out: Vec<Block> = [0.1, 1.0, 10.0]
        .into_iter()
        .map(|lr| {
            cell(flow_block("hidden", HIDDEN_T, 50.0, true))
                .axis("method", ["gn"])
                .axis("lr", [lr])
        })
        .collect();
    out.push(Block {
        stable_gd: true,
        ..cell(flow_block("hidden", STUDY_T, STUDY_DT, true))
            .axis("method", ["gd"])
            .axis("lr", [LAMBDA_STAR])
    });
    out
}

/// The `paper-flow` preset's blocks (README: "Reproducing the paper in flow time").
fn paper_flow_blocks() -> Vec<Block> {
    let mut out = study_blocks();
    out.extend(horizon_blocks());
    out.extend(gn_blocks());
    out.extend(hidden_flow_blocks());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::expand;

    #[test]
    fn preset_sizes() {
        let count = |p| expand(&preset_blocks(p)).unwrap().len();
        assert_eq!(count(Preset::Paper), 7 * 5 * 2 * 5);
        assert_eq!(count(Preset::Hidden), 2 * 5 * 4);
        for p in Preset::ALL {
            assert_eq!(Preset::parse(p.name()), Some(p));
        }
    }

    #[test]
    fn paper_flow_parts_and_flow_steps() {
        let blocks = preset_blocks(Preset::PaperFlow);
        for b in &blocks {
            assert!(Preset::PARTS.contains(&b.part), "{}", b.part);
        }
        let plan = expand(&blocks).unwrap();
        // GD at the horizon runs at its τ₀'s flow step unless its stability bound forbids it.
        for p in plan
            .iter()
            .filter(|p| p.config.max_flow_time == Some(HORIZON_T))
        {
            let s = p.step.expect("a stable-GD block");
            let want = flow_step(p.config.tau0);
            assert_eq!(s.wanted, want);
            assert!(p.config.lr <= want && (s.lowered || p.config.lr == want));
        }
    }
}
