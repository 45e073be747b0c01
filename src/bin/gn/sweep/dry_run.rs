//! `gn sweep --list` and `--dry-run`: each run of the grid with its state in the folder (and,
//! for the dry run, its step, limits and why GD uses its step), then the steps left and the
//! time they take at the pace measured in the folder.

use super::folder::{examine, State};
use crate::claim;
use gauss_newton::report::compute;
use gauss_newton::sweep::{Planned, Shard};
use std::path::Path;

/// `--dry-run`: one line per run (name, method, λ and why, step limit, flow-time limit,
/// record spacing, state), then the count and the steps left, then the time those steps take
/// at the pace measured in the folder: an unfinished run's own (its checkpoint's seconds per
/// step), else the median of the finished runs of its row among those listed (kind and N, as
/// `gn report`'s Compute table groups them).
pub fn text(
    runs: &[Planned],
    dir: &Path,
    total_grid: usize,
    shard: Option<Shard>,
) -> Result<String, String> {
    let mut out = String::new();
    out.push_str("name\tmethod\tlr\tmax_iter\tmax_flow_time\teval_every\tstate\tstep\n");
    let (mut steps, mut left, mut not_done): (u128, u128, usize) = (0, 0, 0);
    let mut finished = Vec::new(); // (row, seconds per step) of the finished, timed runs
    let mut pending = Vec::new(); // (row, steps left, own seconds per step) of the others
    for p in runs {
        let c = &p.config;
        let (st, state, pace) = state_text(dir, p)?;
        let taken = match state {
            State::Done => None,
            State::Partial(k) => Some(k),
            State::New => Some(0),
        };
        match taken {
            Some(k) => {
                let k_left = c.max_iter.saturating_sub(k);
                not_done += 1;
                left += k_left as u128;
                pending.push((compute::row(c), k_left, pace));
            }
            None => finished.extend(pace.map(|x| (compute::row(c), x))),
        }
        let why = match p.step {
            Some(s) if s.lowered => format!(
                "lowered: flow step {} > half of GD's bound 2N/λ_max(A) = {:.4e} (λ_max(A) at init = {:.4e})",
                s.wanted, s.bound, s.lambda_max
            ),
            Some(s) => format!("flow step (bound 2N/λ_max(A) = {:.4e}, λ_max(A) at init = {:.4e})", s.bound, s.lambda_max),
            None => String::new(),
        };
        steps += c.max_iter as u128;
        out.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
            p.name,
            c.method.name(),
            c.lr,
            c.max_iter,
            c.max_flow_time
                .map(|t| format!("{t:e}"))
                .unwrap_or_else(|| "-".into()),
            c.eval_every,
            st,
            why
        ));
    }
    let shard_text = shard
        .map(|s| format!(" (shard {s} of a {total_grid}-run grid)"))
        .unwrap_or_default();
    out.push_str(&format!(
        "{} runs{shard_text}, at most {steps} steps in all; {not_done} not done, at most {left} steps left\n",
        runs.len()
    ));
    if not_done > 0 {
        out.push_str(&time_left_text(&finished, &pending));
    }
    Ok(out)
}

/// The dry run's last line: the time the steps left take on one thread at the pace measured
/// in the folder, and how many runs each pace timed (see [`text`]).
fn time_left_text(
    finished: &[(compute::Row, f64)],
    pending: &[(compute::Row, u64, Option<f64>)],
) -> String {
    let median = compute::median_pace(finished.iter().cloned());
    let (mut seconds, mut own, mut pooled, mut unknown) = (0.0, 0, 0, 0);
    for (row, k_left, pace) in pending {
        match (pace, median.get(row)) {
            (Some(p), _) => {
                own += 1;
                seconds += p * *k_left as f64;
            }
            (None, Some(p)) => {
                pooled += 1;
                seconds += p * *k_left as f64;
            }
            (None, None) => unknown += 1,
        }
    }
    if own + pooled == 0 {
        return format!("at the pace measured here: none yet ({unknown} run(s) left, none with a checkpoint or a finished run of its kind and N)\n");
    }
    let untimed = if unknown > 0 {
        format!("; {unknown} with neither, not counted")
    } else {
        String::new()
    };
    format!(
        "at the pace measured here, at most {} of one thread ({seconds:.4e} s): {own} run(s) at their checkpoint's own pace, {pooled} at the median of the finished runs of their kind and N{untimed}\n",
        compute::duration(seconds)
    )
}

/// A run's state as `--list` and `--dry-run` print it (`new` where the folder is missing),
/// the state itself, and the seconds per step the folder records for it.
pub fn state_text(dir: &Path, p: &Planned) -> Result<(String, State, Option<f64>), String> {
    let (st, pace) = if dir.exists() {
        examine(dir, p)?
    } else {
        (State::New, None)
    };
    let elsewhere = st != State::Done && dir.exists() && claim::held_elsewhere(dir, &p.name);
    let text = match (&st, elsewhere) {
        (State::Done, _) => "done".to_string(),
        (State::Partial(k), false) => format!("partial ({k} steps)"),
        (State::Partial(k), true) => format!("partial ({k} steps), running in another sweep"),
        (State::New, false) => "new".to_string(),
        (State::New, true) => "new, running in another sweep".to_string(),
    };
    Ok((text, st, pace))
}
