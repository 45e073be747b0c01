//! The flow-time report: GD's step-equivalence study, GD's step in each run against its
//! stability bound, and the paper's claims in flow time, measured against the paper-flow grid.

use super::{num, CLOSE_FACTOR, SMALL_TAU0, WELL_BELOW};
use crate::analysis::{self, step_equivalence};
use crate::flow::{EQUIV_TOL, HORIZON_T, REFERENCE_LR, STUDY_T};
use crate::runs::Run;
use crate::sweep::Planned;
use crate::sweep::{expand, flow_step, preset_blocks, Preset, LAMBDA_STAR};
use crate::{Config, Method, RunResult};
use serde_json::Value;
use std::fmt::Write as _;

/// The flow-time report (folders with runs stopped at a flow time, e.g. the paper-flow
/// preset's): the step-equivalence study, GD's step in each run against its stability bound,
/// and the claims in flow time measured against the paper-flow grid. Returns the Markdown
/// sections and the JSON verdicts.
pub(super) fn flow_report(runs: &[Run]) -> Result<(String, Vec<serde_json::Value>), String> {
    let plan = expand(&preset_blocks(Preset::PaperFlow))?;
    let found: Vec<crate::RunResult> = runs.iter().map(|r| r.r.clone()).collect();
    let mut s = String::new();
    let mut json = Vec::new();
    step_equivalence_section(&plan, &found, &mut s, &mut json)?;
    gd_steps_section(&plan, &found, &mut s, &mut json)?;
    claims_section(&plan, &found, &mut s, &mut json)?;
    let _ = writeln!(s);
    Ok((s, json))
}

/// Part 1: the step-equivalence study and λ* measured.
fn step_equivalence_section(
    plan: &[Planned],
    found: &[RunResult],
    s: &mut String,
    json: &mut Vec<Value>,
) -> Result<(), String> {
    // 1. Step equivalence.
    // A cell of the study: GD runs to one flow time at one (N, τ₀, seed), at more than one λ
    // (a horizon run of the paper-flow grid is one λ: nothing to compare it with). Runs found
    // count where they are; the plan, for how many cells there should be.
    let compared = |c: &Config, among: &[&Config]| {
        c.method == Method::Gd
            && !c.refit
            && c.max_flow_time.is_some()
            && among
                .iter()
                .any(|o| o.lr != c.lr && analysis::same_cell(o, c))
    };
    let found_configs: Vec<&Config> = found.iter().map(|r| &r.config).collect();
    let planned: Vec<&Config> = plan.iter().map(|p| &p.config).collect();
    let study: Vec<&RunResult> = found
        .iter()
        .filter(|r| compared(&r.config, &found_configs))
        .collect();
    let cells = step_equivalence(&study, REFERENCE_LR, EQUIV_TOL);
    let study_cells = planned
        .iter()
        .filter(|c| c.lr == REFERENCE_LR && compared(c, &planned))
        .count();
    let measured = analysis::flow_equivalent_steps(&cells);
    let _ = writeln!(
        s,
        "## Step equivalence: GD on one flow-time axis
"
    );
    let _ = writeln!(
        s,
        "GD runs to a common flow time t = λ·k (the paper-flow study: {STUDY_T:e}) at several λ, compared with λ = {REFERENCE_LR} at every flow time both recorded. A step is flow-equivalent in a cell when its train and test losses stay within {}% of λ = {REFERENCE_LR}'s at every common t (and it did not diverge); the cell's largest equivalent λ is the largest such that it and every smaller step are. {} of the paper-flow grid's {study_cells} cells have their reference run and another λ.\n",
        EQUIV_TOL * 100.0,
        cells.len()
    );
    cells_table(&cells, s);
    flow_steps_table(&measured, s);
    json.push(serde_json::json!({
        "id": "step-equivalence",
        "flow_steps": measured.iter().map(|m| serde_json::json!({
            "tau0": m.tau0, "measured": m.lr, "cells": m.cells, "preset": flow_step(m.tau0),
        })).collect::<Vec<_>>(),
        "cells_found": cells.len(),
        "cells_expected": study_cells,
        "cells": cells,
    }));
    Ok(())
}

/// Each cell's comparisons (one row per λ) and its largest flow-equivalent step.
fn cells_table(cells: &[analysis::EquivalenceCell], s: &mut String) {
    let _ = writeln!(s, "| N | τ₀ | λ | status | common t | max rel. diff, train | max rel. diff, test | at t | within 1 % | last common t | rel. diff there, train | test |");
    let _ = writeln!(
        s,
        "|---:|---:|---:|---|---:|---:|---:|---:|---|---:|---:|---:|"
    );
    for c in cells {
        for x in &c.comparisons {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                c.n,
                c.tau0,
                x.lr,
                x.status.name(),
                x.common_times,
                num(Some(x.max_rel_train)),
                num(Some(x.max_rel_test)),
                x.worst_t.map(|t| format!("{t:.0}")).unwrap_or("–".into()),
                if x.equivalent { "yes" } else { "**no**" },
                x.last_t.map(|t| format!("{t:.0}")).unwrap_or("–".into()),
                num(x.last_rel_train),
                num(x.last_rel_test),
            );
        }
    }
    let _ = writeln!(s);
    for c in cells {
        let _ = writeln!(
            s,
            "- N={} τ₀={}: largest flow-equivalent λ = {} (compared up to t = {:.0})",
            c.n, c.tau0, c.largest_equivalent, c.reference_t
        );
    }
}

/// Each τ₀'s flow-equivalent step as measured against the one the preset asks for.
fn flow_steps_table(measured: &[analysis::FlowStep], s: &mut String) {
    let _ = writeln!(
        s,
        "\n**GD's flow-equivalent step per τ₀** (the smallest over N of the cells' largest equivalent steps) against the step the paper-flow preset's horizon runs ask for (`FLOW_STEP` in src/sweep/presets.rs; λ = {LAMBDA_STAR} at a τ₀ outside the study):\n"
    );
    let _ = writeln!(s, "| τ₀ | cells | measured λ | preset λ |");
    let _ = writeln!(s, "|---:|---:|---:|---|");
    for m in measured {
        let preset = flow_step(m.tau0);
        let mark = if preset == m.lr {
            String::new()
        } else {
            " — **differs from the measured step: update `FLOW_STEP`**".to_string()
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {preset}{mark} |",
            m.tau0, m.cells, m.lr
        );
    }
    let _ = writeln!(s);
}

/// Part 2: GD's step in each run of the grid, and why.
fn gd_steps_section(
    plan: &[Planned],
    found: &[RunResult],
    s: &mut String,
    json: &mut Vec<Value>,
) -> Result<(), String> {
    // 2. GD's step per run.
    let _ = writeln!(
        s,
        "## GD's step in each run, and why
"
    );
    let _ = writeln!(
        s,
        "GD is stable only while λ·λ_max(A)/N < 2 (DESIGN.md §3); λ_max(A) is that of the NTK Gram matrix at initialisation (v = 0, A = S Sᵀ/M²). Each GD run of the paper-flow grid asks for its τ₀'s flow-equivalent step (the table above; λ = {LAMBDA_STAR} at a τ₀ outside the study) and runs at it if it is at most half the bound 2N/λ_max(A), else at half the bound rounded down to two digits. GD runs of the step-equivalence study take their λ as given (a divergence there is a result).\n"
    );
    let _ = writeln!(s, "| τ₀ | N | seed | refit | λ used | why | λ_max(A) at init | bound 2N/λ_max | λ·λ_max/N | t limit | steps | status |");
    let _ = writeln!(
        s,
        "|---:|---:|---:|---|---:|---|---:|---:|---:|---:|---:|---|"
    );
    let mut rows = Vec::new();
    for p in plan.iter().filter(|p| p.step.is_some()) {
        let st = p.step.expect("filtered");
        let c = &p.config;
        let run = found.iter().find(|r| analysis::same_run(c, &r.config));
        let status = run
            .map(|r| format!("{} at t = {:.3e}", r.summary.status.name(), r.flow_time()))
            .unwrap_or("not run".into());
        let why = if st.lowered {
            format!("half the bound (λ = {} asked > half of it)", st.wanted)
        } else if crate::sweep::FLOW_STEP.iter().any(|(t, _)| *t == c.tau0) {
            format!("flow-equivalent at τ₀ = {}", c.tau0)
        } else {
            format!("the paper's λ = {LAMBDA_STAR}")
        };
        let ratio = c.lr * st.lambda_max / c.n as f64;
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {why} | {} | {} | {:.3} | {:e} | {} | {status} |",
            c.tau0,
            c.n,
            c.seed,
            if c.refit { "yes" } else { "no" },
            c.lr,
            num(Some(st.lambda_max)),
            num(Some(st.bound)),
            ratio,
            c.max_flow_time.unwrap_or(f64::NAN),
            c.max_iter,
        );
        rows.push(serde_json::json!({"name": p.name, "tau0": c.tau0, "n": c.n, "seed": c.seed, "refit": c.refit, "lr": c.lr,
            "lowered": st.lowered, "lr_asked": st.wanted, "lambda_max_init": st.lambda_max, "bound": st.bound,
            "ratio": ratio, "max_iter": c.max_iter, "status": run.map(|r| r.summary.status.name())}));
    }
    json.push(serde_json::json!({"id": "gd-steps", "runs": rows}));
    Ok(())
}

/// Part 3: the paper's claims in flow time, against the paper-flow grid.
fn claims_section(
    plan: &[Planned],
    found: &[RunResult],
    s: &mut String,
    json: &mut Vec<Value>,
) -> Result<(), String> {
    // 3. Claims.
    let expected: Vec<Config> = plan.iter().map(|p| p.config.clone()).collect();
    let verdicts = vec![
        analysis::claim_a(&expected, found, HORIZON_T),
        analysis::claim_bc(&expected, found, HORIZON_T, true, CLOSE_FACTOR),
        analysis::claim_bc(&expected, found, HORIZON_T, false, CLOSE_FACTOR),
        analysis::claim_d(&expected, found, SMALL_TAU0, WELL_BELOW),
    ];
    let _ = writeln!(
        s,
        "## The paper's claims in flow time
"
    );
    let _ = writeln!(
        s,
        "Measured against the paper-flow grid ({} runs): a claim is decided only when every run it needs is finished; until then it says how many are. GD's runs count at t = {HORIZON_T:e} or at convergence; a diverged run is listed with its step and bound and never used for a verdict.\n",
        plan.len()
    );
    for v in &verdicts {
        let _ = writeln!(s, "- **({}) {}** — {}", v.id, v.verdict, v.statement);
        for d in &v.details {
            let _ = writeln!(s, "  - {d}");
        }
        if !v.missing.is_empty() {
            let more = if v.expected - v.found > v.missing.len() {
                format!(" and {} more", v.expected - v.found - v.missing.len())
            } else {
                String::new()
            };
            let _ = writeln!(s, "  - missing: {}{more}", v.missing.join("; "));
        }
        json.push(serde_json::to_value(v).map_err(|e| e.to_string())?);
    }
    Ok(())
}
