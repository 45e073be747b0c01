#![cfg(not(target_arch = "wasm32"))]
//! Flow time from the outside: t = λ·k in every output, `--max-flow-time`, the paper-flow
//! preset's grid, the step-equivalence report checked against an independent computation
//! from the files, old files and folders that predate flow time, and the robustness items
//! (memory refusal, a panicking run in a sweep, the 2^53 − 1 cap giving one message).

use gauss_newton::sweep::flow_step;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

mod common;
use common::{gn, ok, results};

fn tmp(name: &str) -> PathBuf {
    common::tmp("flow", name)
}

const RUN: &[&str] = &[
    "run", "--m", "30", "--n", "20", "--n-test", "50", "--d", "5", "--quiet",
];

#[test]
fn csv_and_json_carry_flow_time_and_max_flow_time_sets_the_step_limit() {
    let dir = tmp("outputs");
    let (csv, json) = (dir.join("r.csv"), dir.join("r.json"));
    for out in [&csv, &json] {
        ok(gn()
            .args(RUN)
            .args([
                "--method",
                "gd",
                "--lr",
                "3",
                "--max-flow-time",
                "10",
                "--eval-every",
                "1",
                "--out",
            ])
            .arg(out));
    }
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(header.last(), Some(&"flow_time"));
    assert_eq!(header[0], "iter");
    let rows: Vec<Vec<String>> = lines
        .map(|l| l.split(',').map(String::from).collect())
        .collect();
    // ⌈10/3⌉ = 4 steps: records at iterations 0..=4, t = 3k.
    assert_eq!(rows.len(), 5);
    for (k, r) in rows.iter().enumerate() {
        assert_eq!(r.len(), header.len());
        assert_eq!(r[0].parse::<u64>().unwrap(), k as u64);
        assert_eq!(r.last().unwrap().parse::<f64>().unwrap(), 3.0 * k as f64);
    }
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(v["config"]["max_flow_time"], 10.0);
    assert_eq!(v["config"]["max_iter"], 4);
    assert_eq!(v["summary"]["status"], "max_iter");
    assert_eq!(v["summary"]["iterations"], 4);
    assert_eq!(v["summary"]["flow_time"], 12.0);
    assert_eq!(v["summary"]["max_iter"], 4);
    for r in v["records"].as_array().unwrap() {
        assert_eq!(
            r["flow_time"].as_f64().unwrap(),
            3.0 * r["iter"].as_f64().unwrap()
        );
    }
    // Both limits at once is refused, naming the flags.
    let out = gn()
        .args(RUN)
        .args(["--max-flow-time", "10", "--max-iter", "5"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--max-flow-time") && err.lines().count() == 1,
        "{err}"
    );
    // A bad flow time names its flag.
    for bad in ["0", "-1", "nan", "inf"] {
        let out = gn()
            .args(RUN)
            .args(["--max-flow-time", bad])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success()
                && err.contains("--max-flow-time")
                && err.trim_end().lines().count() == 1,
            "{bad}: {err}"
        );
    }
}

#[test]
fn a_run_larger_than_the_available_memory_is_refused_before_allocating() {
    let dir = tmp("memory");
    let out_file = dir.join("big.json");
    let out = gn()
        .args(["run", "--n", "100000", "--m", "1000000", "--quiet", "--out"])
        .arg(&out_file)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains("--n 100000") && err.contains("--m 1000000") && err.contains("GiB"),
        "{err}"
    );
    assert!(!out_file.exists());
    // The limit is the machine's (or GN_MEM_LIMIT's): a small run under a tiny limit is refused too,
    // and passes under a large one.
    let out = gn()
        .env("GN_MEM_LIMIT", "1000")
        .args(RUN)
        .args(["--max-iter", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("available"));
    ok(gn()
        .env("GN_MEM_LIMIT", "1e12")
        .args(RUN)
        .args(["--max-iter", "1"]));
}

fn sweep_list(dir: &Path, args: &[&str]) -> Vec<(String, String)> {
    let out = ok(gn()
        .arg("sweep")
        .args(args)
        .arg("--out")
        .arg(dir)
        .arg("--list"));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let (a, b) = l.split_once('\t').unwrap();
            (a.to_string(), b.to_string())
        })
        .collect()
}

/// A tiny sweep: GD at λ = 2 and 5 to flow time t = 20.
const TWO_GD_RUNS: &[&str] = &[
    "--m",
    "20",
    "--n",
    "8",
    "--n-test",
    "20",
    "--method",
    "gd",
    "--lr",
    "2,5",
    "--max-flow-time",
    "20",
    "--quiet",
];

#[test]
fn a_folder_written_before_flow_time_still_loads_and_resumes() {
    // The committed quick preset was written before flow time existed.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("results/quick/runs");
    let dir = tmp("old-folder");
    let mut copied = 0;
    for e in std::fs::read_dir(&root).unwrap() {
        let p = e.unwrap().path();
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(
            !text.contains("flow_time"),
            "{} already has flow_time",
            p.display()
        );
        std::fs::write(dir.join(p.file_name().unwrap()), text).unwrap();
        copied += 1;
    }
    let listed = sweep_list(&dir, &["--preset", "quick"]);
    assert_eq!(listed.len(), copied);
    assert!(listed.iter().all(|(_, st)| st == "done"), "{listed:?}");
    // And a fresh flow-time folder whose flow_time keys are stripped reads back the same: the
    // report's t column is λ × iterations either way.
    let fresh = tmp("stripped");
    ok(gn().arg("sweep").args(TWO_GD_RUNS).arg("--out").arg(&fresh));
    let before = ok(gn().arg("report").arg(&fresh)).stdout;
    for (name, mut v) in results(&fresh) {
        for r in v["records"].as_array_mut().unwrap() {
            r.as_object_mut().unwrap().remove("flow_time");
        }
        v["summary"].as_object_mut().unwrap().remove("flow_time");
        v["summary"].as_object_mut().unwrap().remove("max_iter");
        std::fs::write(
            fresh.join(format!("{name}.json")),
            serde_json::to_string(&v).unwrap(),
        )
        .unwrap();
    }
    let after = ok(gn().arg("report").arg(&fresh)).stdout;
    assert_eq!(
        String::from_utf8_lossy(&before),
        String::from_utf8_lossy(&after)
    );
    assert!(
        String::from_utf8_lossy(&after).contains("| 2.0000e1 | 10 |"),
        "λ = 2 × 10 steps: {}",
        String::from_utf8_lossy(&after)
    );
}

/// `results/paper/flow/runs` keeps its run files gzipped (`NAME.json.gz`, by the system's
/// `gzip`, an implementation independent of ours): the report and a sweep read them as the JSON
/// they hold, and a run present both ways is an error that names it.
#[test]
fn gzipped_result_files_read_as_the_json_they_hold() {
    let dir = tmp("gzipped");
    ok(gn().arg("sweep").args(TWO_GD_RUNS).arg("--out").arg(&dir));
    let before = String::from_utf8_lossy(&ok(gn().arg("report").arg(&dir)).stdout).into_owned();
    let names: Vec<String> = results(&dir).into_keys().collect();
    assert_eq!(names.len(), 2);
    let json = dir.join(format!("{}.json", names[0]));
    let kept = std::fs::read(&json).unwrap();
    let gzip = std::process::Command::new("gzip")
        .arg("-n")
        .arg(&json)
        .status()
        .expect("gzip runs");
    assert!(gzip.success());
    assert!(!json.exists() && dir.join(format!("{}.json.gz", names[0])).exists());

    let after = String::from_utf8_lossy(&ok(gn().arg("report").arg(&dir)).stdout).into_owned();
    assert_eq!(before, after);
    let listed = sweep_list(&dir, TWO_GD_RUNS);
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().all(|(_, st)| st == "done"), "{listed:?}");

    std::fs::write(&json, kept).unwrap();
    let out = gn().arg("report").arg(&dir).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a run there twice must fail");
    assert!(
        err.contains(&names[0]) && err.contains("twice"),
        "the error names the run: {err}"
    );
}

/// Parses `--dry-run`'s table: name → (method, lr, max_iter, max_flow_time, eval_every, why);
/// and its count line, the first after the table (a line on the time left may follow).
fn dry_run(args: &[&str]) -> (Vec<Vec<String>>, String) {
    let dir = tmp("dry");
    let out = ok(gn()
        .args(["sweep", "--preset", "paper-flow", "--dry-run", "--out"])
        .arg(&dir)
        .args(args));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("name\tmethod\tlr"));
    let k = lines
        .iter()
        .skip(1)
        .take_while(|l| l.contains('\t'))
        .count();
    let rows = lines[1..=k]
        .iter()
        .map(|l| l.split('\t').map(String::from).collect())
        .collect();
    (rows, lines[k + 1].to_string())
}

#[test]
fn the_paper_flow_preset_has_the_issues_grid() {
    let (rows, last) = dry_run(&[]);
    assert_eq!(rows.len(), 72 + 63 + 77 + 24);
    assert!(last.starts_with("236 runs"), "{last}");
    let f = |r: &Vec<String>, i: usize| r[i].parse::<f64>().unwrap();
    // Study: GD, 6 steps × τ₀ ∈ {0.01, 0.1, 0.5, 1, 5, 10} × N ∈ {100, 500}, seed 1, to
    // t = 2·10⁵, recording every t = 3000 (a whole number of steps for each λ).
    let (study, _) = dry_run(&["--part", "study"]);
    assert_eq!(study.len(), 72);
    for r in &study {
        let (lr, max_iter, t, every) = (f(r, 2), f(r, 3), f(r, 4), f(r, 5));
        assert_eq!(r[1], "gd");
        assert_eq!(t, 2e5);
        assert_eq!(max_iter, (2e5 / lr).ceil(), "{r:?}");
        assert_eq!(every * lr, 3000.0, "{r:?}");
        assert!(r[0].contains("-m5000-") && r[0].contains("-seed1-") && r[0].ends_with("-t200000"));
    }
    // GD to the horizon: each τ₀'s flow step unless step·λ_max(A)/N > 1 (half the bound),
    // every τ₀, N = 100 (5 seeds), 500 (3), 1000 (1).
    let (horizon, _) = dry_run(&["--part", "horizon"]);
    assert_eq!(horizon.len(), 7 * 9);
    let mut lowered = 0;
    let tau0_of = |name: &str| -> f64 {
        name.split("tau0_")
            .nth(1)
            .unwrap()
            .split('-')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    for r in &horizon {
        let why = &r[7];
        let lr = f(r, 2);
        let star = flow_step(tau0_of(&r[0]));
        if !why.starts_with("lowered") {
            assert_eq!(lr, star, "the τ₀'s flow step: {r:?}");
        }
        assert_eq!(f(r, 3), (2e7 / lr).ceil(), "{r:?}");
        // Records every t = 2·10⁴, but every 1000 steps at τ₀ = 100 (λ ≈ 0.23 there).
        if tau0_of(&r[0]) == 100.0 {
            assert_eq!(f(r, 5), 1000.0, "{r:?}");
        } else {
            assert_eq!(f(r, 5), (2e4 / lr).round(), "{r:?}");
        }
        // "(… λ_max(A) at init = X)": λ·λ_max/N must be < 1 (half the bound) for every run.
        let lmax: f64 = why
            .rsplit("= ")
            .next()
            .unwrap()
            .trim_end_matches(')')
            .parse()
            .unwrap();
        let n: f64 = r[0]
            .split("-n")
            .nth(1)
            .unwrap()
            .split('-')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(lr * lmax / n <= 1.0 + 1e-12, "{r:?}");
        if why.starts_with("lowered") {
            lowered += 1;
            assert!(star * lmax / n > 1.0, "{r:?}");
            assert!(
                lr * lmax / n > 0.9,
                "lowered to about half the bound: {r:?}"
            );
        }
    }
    assert!(horizon
        .iter()
        .filter(|r| r[0].contains("tau0_100-"))
        .all(|r| r[7].starts_with("lowered")));
    assert!(lowered >= 9);
    let (gn_rows, _) = dry_run(&["--part", "gn"]);
    assert_eq!(gn_rows.len(), 7 * (5 + 3 + 1 + 1 + 1));
    assert!(gn_rows
        .iter()
        .all(|r| r[1] == "gn" && f(r, 2) == 10.0 && r[4] == "-"));
    let (hidden, _) = dry_run(&["--part", "hidden"]);
    assert_eq!(hidden.len(), 24);
    assert!(hidden
        .iter()
        .all(|r| r[0].contains("-refit") && r[0].contains("-n500-")));
    assert_eq!(hidden.iter().filter(|r| r[1] == "gn").count(), 18);
}

/// The committed paper-flow runs are the preset's own: a dry run of the whole preset over
/// `results/paper/flow/runs` finds every file there as one of its runs, made with the same
/// configuration (a file made otherwise, e.g. with another record spacing, is an error).
#[test]
fn the_committed_paper_flow_runs_are_the_presets_runs() {
    let runs = Path::new(env!("CARGO_MANIFEST_DIR")).join("results/paper/flow/runs");
    let files = results(&runs).len();
    assert!(files > 100, "{files} run files in {}", runs.display());
    let out = ok(gn()
        .args(["sweep", "--preset", "paper-flow", "--dry-run", "--out"])
        .arg(&runs));
    let text = String::from_utf8_lossy(&out.stdout);
    let done = text
        .lines()
        .filter(|l| l.split('\t').nth(6) == Some("done"))
        .count();
    assert_eq!(
        done, files,
        "every committed run file is a finished run of the preset"
    );
}

#[test]
fn the_step_equivalence_report_agrees_with_an_independent_computation() {
    let dir = tmp("equiv");
    ok(gn()
        .arg("sweep")
        .args([
            "--m",
            "1000",
            "--n",
            "10",
            "--n-test",
            "40",
            "--d",
            "4",
            "--method",
            "gd",
            "--tau0",
            "1",
            "--lr",
            "10,16,20,40,400",
            "--max-flow-time",
            "4000",
            "--record-every-t",
            "80",
            "--quiet",
            "--out",
        ])
        .arg(&dir));
    let json = dir.join("claims.json.out");
    let md =
        String::from_utf8_lossy(&ok(gn().arg("report").arg(&dir).arg("--json").arg(&json)).stdout)
            .into_owned();
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let arr = v.as_array().unwrap();
    let eq = arr.iter().find(|x| x["id"] == "step-equivalence").unwrap();
    let cells = eq["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 1);
    let res = results(&dir);
    let by_lr = |lr: f64| {
        res.values()
            .find(|r| r["config"]["lr"].as_f64() == Some(lr))
            .unwrap()
            .clone()
    };
    let reference = by_lr(10.0);
    let ref_at: BTreeMap<u64, (f64, f64)> = reference["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["flow_time"].as_f64().unwrap().round() as u64,
                (
                    r["train_loss"].as_f64().unwrap_or(f64::NAN),
                    r["test_loss"].as_f64().unwrap_or(f64::NAN),
                ),
            )
        })
        .collect();
    let mut prefix = true;
    let mut largest = 10.0;
    let mut verdicts = Vec::new();
    for c in cells[0]["comparisons"].as_array().unwrap() {
        let lr = c["lr"].as_f64().unwrap();
        let run = by_lr(lr);
        let (mut common, mut dtr, mut dte) = (0, 0.0f64, 0.0f64);
        for r in run["records"].as_array().unwrap() {
            let t = r["flow_time"].as_f64().unwrap();
            let Some(&(a, b)) = ref_at
                .get(&(t.round() as u64))
                .filter(|_| (t - t.round()).abs() < 1e-9)
            else {
                continue;
            };
            common += 1;
            let rel = |x: Option<f64>, y: f64| match x {
                Some(x) if x.is_finite() && y.is_finite() => (x - y).abs() / y.abs(),
                _ => f64::INFINITY,
            };
            dtr = dtr.max(rel(r["train_loss"].as_f64(), a));
            dte = dte.max(rel(r["test_loss"].as_f64(), b));
        }
        assert_eq!(c["common_times"].as_u64().unwrap(), common, "λ = {lr}");
        let close = |x: &Value, y: f64| match x.as_f64() {
            Some(x) => (x - y).abs() <= 1e-12 * y.abs().max(1e-300),
            None => !y.is_finite(), // serde writes ∞ as null
        };
        assert!(
            close(&c["max_rel_train"], dtr),
            "λ = {lr}: {} vs {dtr}",
            c["max_rel_train"]
        );
        assert!(
            close(&c["max_rel_test"], dte),
            "λ = {lr}: {} vs {dte}",
            c["max_rel_test"]
        );
        let equivalent =
            run["summary"]["status"] != "diverged" && common >= 2 && dtr <= 0.01 && dte <= 0.01;
        assert_eq!(c["equivalent"].as_bool().unwrap(), equivalent, "λ = {lr}");
        prefix &= equivalent;
        verdicts.push(equivalent);
        if prefix {
            largest = lr;
        }
    }
    assert_eq!(cells[0]["largest_equivalent"].as_f64().unwrap(), largest);
    // This cell has steps on both sides of the 1 % line (the check is not vacuous).
    assert!(
        verdicts.contains(&true) && verdicts.contains(&false),
        "{verdicts:?}"
    );
    assert!(
        md.contains("## Step equivalence") && md.contains(&format!("| 1 | {largest} | ")),
        "{md}"
    );
    // The claims are measured against the paper-flow grid, which this folder does not touch.
    for id in ["a", "b", "c", "d"] {
        let c = arr.iter().find(|x| x["id"] == id).unwrap();
        assert!(
            c["verdict"]
                .as_str()
                .unwrap()
                .starts_with("incomplete: 0 of "),
            "{c}"
        );
        assert_eq!(c["holds"], Value::Null);
        assert!(md.contains(&format!("**({id}) incomplete: 0 of")), "{md}");
    }
    // The step-equivalence figure is drawn on the flow-time axis.
    let figs = tmp("equiv-figs");
    ok(gn().arg("plot").arg(&dir).arg("--out").arg(&figs));
    let svg = std::fs::read_to_string(figs.join("step_equivalence.svg")).unwrap();
    assert!(
        svg.contains("flow time") && svg.contains("<polyline") && svg.contains("λ = 400"),
        "step_equivalence.svg"
    );
    assert!(std::fs::read(figs.join("step_equivalence.png"))
        .unwrap()
        .starts_with(b"\x89PNG"));
}

/// A handmade finished run of the paper-flow grid's kinds.
#[allow(clippy::too_many_arguments)]
fn fake(
    dir: &Path,
    method: &str,
    tau0: f64,
    n: u64,
    seed: u64,
    lr: f64,
    flow: Option<f64>,
    status: &str,
    iters: u64,
    test: f64,
) {
    let mut config = serde_json::json!({"method": method, "tau0": tau0, "n": n, "m": 5000, "lr": lr, "seed": seed, "max_iter": iters});
    if let Some(t) = flow {
        config["max_flow_time"] = t.into();
    }
    let v = serde_json::json!({
        "config": config,
        "records": [{"iter": 0, "train_loss": 1.0, "test_loss": 1.0, "sigma_min": null, "sigma_max": 1.0, "eps": null,
                     "step_norm": null, "alignment": null, "refit_test_loss": null, "elapsed_s": null}],
        "summary": {"status": status, "iterations": iters, "final_train_loss": 1e-9, "final_test_loss": test,
                    "rf_test_loss": 0.5, "refit_test_loss": test / 2.0, "wall_s": 1.0}
    });
    let name = format!("{method}-{tau0}-{n}-{seed}-{lr}.json");
    std::fs::write(dir.join(name), serde_json::to_string(&v).unwrap()).unwrap();
}

#[test]
fn the_paper_figure_has_a_panel_per_n_with_gn_gd_random_features_and_refit() {
    let dir = tmp("paper-fig");
    for (i, tau0) in [0.01, 0.1, 1.0].into_iter().enumerate() {
        for n in [100, 500] {
            fake(
                &dir,
                "gn",
                tau0,
                n,
                1,
                10.0,
                None,
                "converged",
                100,
                0.03 * (i + 1) as f64,
            );
            fake(
                &dir,
                "gd",
                tau0,
                n,
                1,
                100.0,
                Some(2e7),
                "max_iter",
                200_000,
                0.01 * (i + 1) as f64,
            );
        }
    }
    let figs = tmp("paper-fig-out");
    let out = ok(gn().arg("plot").arg(&dir).arg("--out").arg(&figs));
    assert!(String::from_utf8_lossy(&out.stdout).contains("paper_test_loss_vs_tau0.svg"));
    let svg = std::fs::read_to_string(figs.join("paper_test_loss_vs_tau0.svg")).unwrap();
    for label in [
        "N = 100",
        "N = 500",
        "GN (λ = 10)",
        "GD (t = 2e7",
        "random features",
        "GN refit",
        "τ₀",
    ] {
        assert!(svg.contains(label), "no {label:?} in the figure");
    }
}

#[test]
fn a_panicking_run_is_reported_as_failed_and_the_others_finish() {
    let dir = tmp("panic");
    let grid = [
        "sweep",
        "--m",
        "20",
        "--n",
        "8",
        "--n-test",
        "20",
        "--tau0",
        "0.01,0.1,1,5",
        "--max-iter",
        "30",
        "--quiet",
    ];
    let out = gn()
        .env("GN_TEST_PANIC_RUN", "tau0_0.1-")
        .args(grid)
        .args(["--jobs", "2", "--out"])
        .arg(&dir)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("FAILED: panicked: injected panic for gn-silu-tau0_0.1-"),
        "{err}"
    );
    assert!(
        err.contains("3 of 4 runs done") && err.contains("1 failed"),
        "{err}"
    );
    let names: Vec<String> = results(&dir).into_keys().collect();
    assert_eq!(names.len(), 3, "{names:?}");
    assert!(names.iter().all(|n| !n.contains("tau0_0.1-")));
    // Running again without the fault finishes the missing run only.
    let again = ok(gn().args(grid).arg("--out").arg(&dir));
    assert!(String::from_utf8_lossy(&again.stderr).contains("3 done, 1 to run"));
    assert_eq!(results(&dir).len(), 4);
}

/// The message after `FLAG: ` on a one-line error, or None if the command succeeded.
fn refusal(out: &Output, flag: &str) -> Option<String> {
    if out.status.success() {
        return None;
    }
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    let at = err
        .find(&format!("{flag}: "))
        .unwrap_or_else(|| panic!("{flag} not named: {err}"));
    Some(err[at..].trim_end().to_string())
}

#[test]
fn sweep_slurm_and_run_treat_integers_beyond_2_pow_53_alike() {
    let dir = tmp("cap");
    for (flag, value) in [
        ("--seed", "9007199254740992"),
        ("--max-iter", "18446744073709551615"),
        ("--eval-every", "9007199254740993"),
    ] {
        let small = ["--m", "10", "--n", "5", "--n-test", "10", "--tol", "0.9"];
        // (--tol 0.9: an accepted run stops after a step or two, whatever its step limit.)
        let run = gn()
            .args(["run", "--quiet"])
            .args(small)
            .args([flag, value, "--out"])
            .arg(dir.join("r.json"))
            .output()
            .unwrap();
        let sweep = gn()
            .arg("sweep")
            .args(small)
            .args([flag, value, "--list", "--out"])
            .arg(&dir)
            .output()
            .unwrap();
        let slurm = gn()
            .arg("slurm")
            .args(small)
            .args([flag, value, "--out"])
            .arg(&dir)
            .output()
            .unwrap();
        let (a, b, c) = (
            refusal(&run, flag),
            refusal(&sweep, flag),
            refusal(&slurm, flag),
        );
        assert_eq!(a, b, "gn run and gn sweep differ on {flag} {value}");
        assert_eq!(b, c, "gn sweep and gn slurm differ on {flag} {value}");
    }
}
