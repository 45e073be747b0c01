#![cfg(not(target_arch = "wasm32"))]
//! `gn sweep`, `gn plot`, `gn report` and `gn slurm` (script only; the Slurm end-to-end test
//! is scripts/test-sweep.sh): resume after a kill, sharding, presets, figures, claim checks.
//! Every grid here is tiny (M ≤ 40, N ≤ 30), so the whole file runs in seconds.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::{gn, ok as run_ok, results};

fn tmp(name: &str) -> PathBuf {
    common::tmp("sweep", name)
}

fn files_with_ext(dir: &Path, ext: &str) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().and_then(|x| x.to_str()) == Some(ext))
        .collect()
}

/// A result without its timings (elapsed_s, wall_s), which differ from run to run.
fn untimed(v: &Value) -> Value {
    let mut v = v.clone();
    v["summary"]["wall_s"] = Value::Null;
    for r in v["records"].as_array_mut().unwrap() {
        r["elapsed_s"] = Value::Null;
    }
    v
}

/// Asserts that a dry run's time-left line shows `seconds` (> 0), to the 1e-3 its five digits
/// allow.
fn assert_time_left(text: &str, seconds: f64) {
    let shown: f64 = text
        .split(" of one thread (")
        .nth(1)
        .and_then(|t| t.split(' ').next())
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("no time left shown: {text}"));
    assert!(
        seconds > 0.0 && (shown - seconds).abs() <= 1e-3 * seconds,
        "{shown} s shown, {seconds} s from the files: {text}"
    );
}

const SMALL: &[&str] = &[
    "--m",
    "30",
    "--n-test",
    "50",
    "--d",
    "4",
    "--m-teacher",
    "3",
];

fn sweep(dir: &Path, extra: &[&str]) -> Command {
    let mut c = gn();
    c.arg("sweep")
        .args(SMALL)
        .args(extra)
        .arg("--out")
        .arg(dir)
        .arg("--quiet");
    c
}

#[test]
fn killed_sweep_resumes_to_the_same_results_as_an_uninterrupted_one() {
    // One long GD run (so the kill lands mid-run) and a few short ones.
    let grid = [
        "--method",
        "gd,gn",
        "--tau0",
        "0.1,1",
        "--n",
        "20",
        "--max-iter",
        "60000",
        "--eval-every",
        "500",
        "--checkpoint-every",
        "1000",
        "--tol",
        "1e-30",
        "--jobs",
        "1",
    ];
    let whole = tmp("resume-whole");
    run_ok(&mut sweep(&whole, &grid));

    let cut = tmp("resume-cut");
    let mut child = sweep(&cut, &grid)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill it once a checkpoint exists (a run is under way) and some steps were taken.
    let start = Instant::now();
    loop {
        let ck = files_with_ext(&cut, "ckpt");
        if !ck.is_empty() {
            std::thread::sleep(Duration::from_millis(20));
            break;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the sweep finished before it could be killed"
        );
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "no checkpoint appeared"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL: no chance to clean up
    child.wait().unwrap();
    let left = files_with_ext(&cut, "ckpt");
    assert!(
        !left.is_empty(),
        "the kill should leave an unfinished run's checkpoint"
    );
    let partial = results(&cut).len();
    assert!(
        partial < results(&whole).len(),
        "the kill should land before the end"
    );
    // No temporary file is mistaken for a result, and every result present parses.
    for (name, v) in results(&cut) {
        assert!(
            v["summary"]["status"].is_string(),
            "{name} is a whole result"
        );
    }

    // The dry run's steps left: each unfinished run's step limit less the steps its
    // checkpoint has taken, summed from its table. And the time they take: the checkpoint's
    // own seconds per step for the partial run, the median over the finished runs of the
    // same method for a new one (every run here has N = 20 and no flow-time limit), from
    // the files themselves (shown to 5 digits).
    let mut dry = grid.to_vec();
    dry.push("--dry-run");
    let out = run_ok(&mut sweep(&cut, &dry));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let done = results(&cut);
    let mut paces: std::collections::BTreeMap<String, Vec<f64>> = Default::default();
    for v in done.values() {
        let s = &v["summary"];
        let pace = s["wall_s"].as_f64().unwrap() / s["iterations"].as_f64().unwrap();
        let method = v["config"]["method"].as_str().unwrap().to_string();
        paces.entry(method).or_default().push(pace);
    }
    let median = |method: &str| {
        let mut v = paces.get(method)?.clone();
        v.sort_by(f64::total_cmp);
        let k = v.len();
        Some(if k % 2 == 1 {
            v[k / 2]
        } else {
            (v[k / 2 - 1] + v[k / 2]) / 2.0
        })
    };
    let (mut left, mut not_done, mut partial_seen) = (0u64, 0, false);
    let (mut seconds, mut own, mut pooled, mut unknown) = (0.0, 0, 0, 0);
    for line in text.lines().skip(1).filter(|l| l.contains('\t')) {
        let f: Vec<&str> = line.split('\t').collect();
        let max_iter: u64 = f[3].parse().unwrap();
        if let Some(k) = f[6].strip_prefix("partial (") {
            let k: u64 = k.split(' ').next().unwrap().parse().unwrap();
            left += max_iter - k;
            not_done += 1;
            partial_seen = true;
            let ck: Value = serde_json::from_str(
                &std::fs::read_to_string(cut.join(format!("{}.ckpt", f[0]))).unwrap(),
            )
            .unwrap();
            assert_eq!(ck["iteration"].as_u64(), Some(k), "{}", f[0]);
            let pace = ck["sweep"]["wall_s"].as_f64().unwrap() / k as f64;
            seconds += pace * (max_iter - k) as f64;
            own += 1;
        } else if f[6] == "new" {
            left += max_iter;
            not_done += 1;
            match median(f[1]) {
                Some(p) => {
                    seconds += p * max_iter as f64;
                    pooled += 1;
                }
                None => unknown += 1,
            }
        }
    }
    assert!(partial_seen, "{text}");
    assert!(
        text.contains(&format!("{not_done} not done, at most {left} steps left\n")),
        "{text}"
    );
    let last = text.lines().last().unwrap();
    assert!(own + pooled > 0, "the partial run has its own pace: {text}");
    let not_counted = if unknown > 0 {
        format!("; {unknown} with neither, not counted")
    } else {
        String::new()
    };
    assert!(
        last.ends_with(&format!(
            "s): {own} run(s) at their checkpoint's own pace, {pooled} at the median of the finished runs of their kind and N{not_counted}"
        )),
        "{last}"
    );
    assert_time_left(last, seconds);

    let out = run_ok(&mut sweep(&cut, &grid));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("resumed"),
        "the second sweep resumes the cut-off run:\n{err}"
    );
    assert!(
        err.contains(&format!("{partial} done")),
        "finished runs are skipped:\n{err}"
    );
    assert!(
        files_with_ext(&cut, "ckpt").is_empty(),
        "checkpoints are removed once a run is done"
    );

    let (a, b) = (results(&whole), results(&cut));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (name, va) in &a {
        assert_eq!(
            untimed(va),
            untimed(&b[name]),
            "{name}: resumed result differs from the uninterrupted one"
        );
    }
    // Running again does nothing.
    let out = run_ok(&mut sweep(&cut, &grid));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("0 to run"), "{err}");
}

fn list(extra: &[&str]) -> Vec<String> {
    let out =
        run_ok(
            gn().arg("sweep")
                .args(extra)
                .args(["--out", "/nonexistent/gn-list", "--list"]),
        );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split('\t').next().unwrap().to_string())
        .collect()
}

#[test]
fn shards_are_disjoint_and_cover_the_grid_each_run_once() {
    let grid = [
        "--method",
        "gn,gd",
        "--tau0",
        "0.01,0.1,1",
        "--n",
        "10,15",
        "--seed",
        "1,2",
        "--m",
        "20",
    ];
    let all = list(&grid);
    assert_eq!(all.len(), 24);
    for k in [1usize, 3, 5, 24, 30] {
        let mut seen = Vec::new();
        for i in 1..=k {
            let shard = format!("{i}/{k}");
            let mut g = grid.to_vec();
            g.extend(["--shard", &shard]);
            seen.extend(list(&g));
        }
        let mut sorted = seen.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), seen.len(), "K={k}: a run is in two shards");
        let mut want = all.clone();
        want.sort();
        assert_eq!(sorted, want, "K={k}: the shards do not cover the grid");
    }

    // Really run 3 shards into one folder: each result once, the union the whole grid.
    let dir = tmp("shards");
    let g = [
        "--method",
        "gn,gd",
        "--tau0",
        "0.1,1",
        "--n",
        "10",
        "--seed",
        "1,2",
        "--max-iter",
        "30",
        "--eval-every",
        "10",
    ];
    for i in 1..=3 {
        let s = format!("{i}/3");
        let mut a = g.to_vec();
        a.extend(["--shard", &s]);
        run_ok(&mut sweep(&dir, &a));
    }
    let got = results(&dir);
    assert_eq!(got.len(), 8);
    let mut whole = g.to_vec();
    whole.extend(SMALL);
    let names = list(&whole);
    assert_eq!(got.keys().cloned().collect::<Vec<_>>(), {
        let mut n = names.clone();
        n.sort();
        n
    });
    // The whole grid again: all done.
    let out = run_ok(&mut sweep(&dir, &g));
    assert!(String::from_utf8_lossy(&out.stderr).contains("8 done, 0 to run"));
}

#[test]
fn sweeps_into_one_folder_skip_the_runs_another_sweep_holds() {
    let g = [
        "--method",
        "gd",
        "--tau0",
        "0.1,1",
        "--n",
        "10",
        "--seed",
        "1,2",
        "--max-iter",
        "400",
        "--eval-every",
        "100",
        "--tol",
        "1e-30",
    ];
    let mut whole = g.to_vec();
    whole.extend(SMALL);
    let names = list(&whole);
    assert_eq!(names.len(), 4);
    let lock_file = |dir: &Path, name: &str| dir.join(format!(".{name}.lock"));

    // This process holds one run's lock, as a sweep running it would: the sweep skips it.
    let dir = tmp("claims");
    let held = std::fs::File::create(lock_file(&dir, &names[1])).unwrap();
    held.try_lock().unwrap();
    let mut dry = g.to_vec();
    dry.push("--dry-run");
    let out = run_ok(&mut sweep(&dir, &dry));
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.starts_with(names[1].as_str()))
        .unwrap();
    assert!(line.contains("new, running in another sweep"), "{line}");
    assert!(
        text.contains("4 runs, at most 1600 steps in all; 4 not done, at most 1600 steps left\n"),
        "{text}"
    );
    // Nothing finished and nothing checkpointed: no pace to estimate the time by.
    assert!(
        text.ends_with("at the pace measured here: none yet (4 run(s) left, none with a checkpoint or a finished run of its kind and N)\n"),
        "{text}"
    );
    let out = run_ok(&mut sweep(&dir, &g));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("{}: running in another sweep: skipped", names[1])),
        "{err}"
    );
    assert!(
        err.contains("3 of 4 runs done") && err.contains("1 left to another sweep"),
        "{err}"
    );
    let got = results(&dir);
    assert_eq!(got.len(), 3);
    assert!(!got.contains_key(&names[1]), "the held run is not run");
    let out = run_ok(&mut sweep(&dir, &dry));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("1 not done, at most 400 steps left\n"),
        "{text}"
    );
    // The held run is new; the three finished runs of its kind and N time it: the middle
    // of their seconds per step, times its 400 steps.
    assert!(
        text.ends_with("0 run(s) at their checkpoint's own pace, 1 at the median of the finished runs of their kind and N\n"),
        "{text}"
    );
    let mut paces: Vec<f64> = got
        .values()
        .map(|v| {
            v["summary"]["wall_s"].as_f64().unwrap() / v["summary"]["iterations"].as_f64().unwrap()
        })
        .collect();
    paces.sort_by(f64::total_cmp);
    let want = paces[1] * 400.0;
    assert_time_left(&text, want);
    // Released (as when that sweep ends, however it ends), the next sweep runs it.
    drop(held);
    let out = run_ok(&mut sweep(&dir, &g));
    assert!(String::from_utf8_lossy(&out.stderr).contains("3 done, 1 to run"));
    assert_eq!(results(&dir).len(), 4);
    let locks = |dir: &Path| -> Vec<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".lock"))
            .collect()
    };
    assert!(
        locks(&dir).is_empty(),
        "finished runs leave no lock file: {:?}",
        locks(&dir)
    );

    // Two sweeps of one grid started together: every run is run by exactly one of them.
    let dir = tmp("claims-two");
    let mut longer = g.to_vec();
    longer[9] = "20000";
    let kids: Vec<_> = (0..2)
        .map(|_| {
            sweep(&dir, &longer)
                .args(["--jobs", "1"])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let logs: Vec<String> = kids
        .into_iter()
        .map(|k| {
            let out = k.wait_with_output().unwrap();
            assert!(out.status.success());
            String::from_utf8_lossy(&out.stderr).into_owned()
        })
        .collect();
    for name in &names {
        let ran = logs
            .iter()
            .flat_map(|l| l.lines())
            .filter(|l| l.contains(&format!("{name}: ")) && l.contains(" iterations, test loss"))
            .count();
        assert_eq!(ran, 1, "{name} run {ran} times:\n{}\n{}", logs[0], logs[1]);
    }
    assert_eq!(results(&dir).len(), 4);
    assert!(
        locks(&dir).is_empty(),
        "finished runs leave no lock file: {:?}",
        locks(&dir)
    );
}

#[test]
fn bad_shards_and_changed_configurations_are_refused() {
    for bad in ["0/3", "4/3", "1/0", "x", "1-3"] {
        let out = gn()
            .args(["sweep", "--out", "/tmp/gn-x", "--list", "--shard", bad])
            .output()
            .unwrap();
        assert!(!out.status.success(), "--shard {bad} should be refused");
        assert!(String::from_utf8_lossy(&out.stderr).contains("--shard"));
    }
    let dir = tmp("changed");
    run_ok(&mut sweep(
        &dir,
        &["--tau0", "0.5", "--n", "10", "--max-iter", "5"],
    ));
    let out = sweep(
        &dir,
        &[
            "--tau0",
            "0.5",
            "--n",
            "10",
            "--max-iter",
            "5",
            "--eps0",
            "0.001",
        ],
    )
    .output()
    .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("another configuration") && err.contains("eps0"),
        "{err}"
    );
}

#[test]
fn presets_have_the_papers_grids() {
    assert_eq!(list(&["--preset", "paper"]).len(), 7 * 5 * 2 * 5);
    let col = list(&["--preset", "paper", "--n", "500", "--seed", "1"]);
    assert_eq!(col.len(), 14);
    assert!(col.iter().all(|n| n.contains("-n500-m5000-lr10-seed1")));
    // Narrowing by method keeps that method's block of the preset.
    let gd = list(&[
        "--preset", "paper", "--n", "500", "--seed", "1", "--method", "gd",
    ]);
    assert_eq!(gd.len(), 7);
    let hidden = list(&["--preset", "hidden", "--seed", "1"]);
    assert_eq!(hidden.len(), 2 * 3 + 2);
    assert!(hidden
        .iter()
        .any(|n| n.starts_with("gn-silu-tau0_0.01-n500-m5000-lr0.1-seed1-refit")));
    let quick = list(&["--preset", "quick"]);
    assert!(
        quick.iter().any(|n| n.contains("lr0.1")),
        "the quick preset includes hidden learning"
    );
    assert!(quick.iter().all(|n| n.contains("-m500-")));
}

/// A small grid with both methods, three τ₀, two λ for GN (with the refit probe) and two seeds.
fn small_grid(dir: &Path) {
    run_ok(&mut sweep(
        dir,
        &[
            "--method",
            "gn,gd",
            "--tau0",
            "0.05,1,5",
            "--n",
            "25",
            "--seed",
            "1,2",
            "--lr",
            "10",
            "--max-iter",
            "3000",
            "--eval-every",
            "20",
            "--refit",
        ],
    ));
    run_ok(&mut sweep(
        dir,
        &[
            "--method",
            "gn",
            "--tau0",
            "0.05",
            "--n",
            "25",
            "--seed",
            "1,2",
            "--lr",
            "1",
            "--max-iter",
            "3000",
            "--eval-every",
            "20",
            "--refit",
        ],
    ));
}

#[test]
fn plots_are_written_as_svg_and_png() {
    let dir = tmp("plot-runs");
    small_grid(&dir);
    let figs = tmp("plot-figs");
    let out = run_ok(gn().arg("plot").arg(&dir).arg("--out").arg(&figs));
    let listed: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(String::from)
        .collect();
    for stem in [
        "loss_vs_iter_n25",
        "sigma_min_vs_iter_n25",
        "alignment_vs_iter_n25",
        "test_loss_vs_tau0",
        "iterations_vs_tau0",
        "lambda_sweep",
        "hidden_learning",
    ] {
        for ext in ["svg", "png"] {
            let p = figs.join(format!("{stem}.{ext}"));
            assert!(
                listed.iter().any(|l| Path::new(l) == p),
                "{} not listed",
                p.display()
            );
            let bytes = std::fs::read(&p).unwrap_or_else(|_| panic!("{} missing", p.display()));
            assert!(bytes.len() > 2000, "{} is (nearly) empty", p.display());
            if ext == "png" {
                assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
            } else {
                let text = String::from_utf8(bytes).unwrap();
                assert!(
                    text.contains("<svg") && text.contains("<polyline"),
                    "{} has no lines",
                    p.display()
                );
                assert!(
                    text.contains("τ₀") || stem == "lambda_sweep",
                    "{} has no τ₀ label",
                    p.display()
                );
            }
        }
    }
}

fn claims(dir: &Path) -> (String, Vec<Value>) {
    let json = dir.join("claims.json");
    let out = run_ok(gn().arg("report").arg(dir).arg("--json").arg(&json));
    let md = String::from_utf8_lossy(&out.stdout).into_owned();
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let _ = std::fs::remove_file(&json);
    (md, v.as_array().unwrap().clone())
}

fn verdict(claims: &[Value], id: &str) -> Value {
    claims.iter().find(|c| c["id"] == id).unwrap()["holds"].clone()
}

#[test]
fn report_claims_agree_with_the_data() {
    let dir = tmp("report-runs");
    small_grid(&dir);
    let (md, cl) = claims(&dir);
    let res = results(&dir);
    assert!(md.contains("| method |"), "{md}");
    assert_eq!(
        md.matches("\n| GN |").count() + md.matches("\n| GD |").count(),
        res.len()
    );
    // Recompute (a) and (b) from the files, independently of the report's code.
    let get = |m: &str, t: f64, seed: u64, lr: f64| {
        res.values()
            .find(|v| {
                let c = &v["config"];
                c["method"] == m
                    && c["tau0"].as_f64() == Some(t)
                    && c["seed"] == seed
                    && c["lr"].as_f64() == Some(lr)
            })
            .unwrap()
            .clone()
    };
    let mut a = true;
    for t in [0.05, 1.0, 5.0] {
        for s in [1, 2] {
            let (g, d) = (get("gn", t, s, 10.0), get("gd", t, s, 10.0));
            let gi = g["summary"]["iterations"].as_u64().unwrap();
            let di = d["summary"]["iterations"].as_u64().unwrap();
            a &= g["summary"]["status"] == "converged"
                && (d["summary"]["status"] != "converged" || gi < di);
        }
    }
    assert_eq!(verdict(&cl, "a"), Value::Bool(a));
    let mean = |m: &str| {
        (get(m, 0.05, 1, 10.0)["summary"]["final_test_loss"]
            .as_f64()
            .unwrap()
            + get(m, 0.05, 2, 10.0)["summary"]["final_test_loss"]
                .as_f64()
                .unwrap())
            / 2.0
    };
    let any_div = [1, 2]
        .iter()
        .any(|&s| get("gd", 0.05, s, 10.0)["summary"]["status"] == "diverged");
    assert_eq!(
        verdict(&cl, "b"),
        Value::Bool(!any_div && mean("gd") < mean("gn"))
    );
    // (d) part 2 from the files.
    let gn_mean = |lr: f64| {
        (get("gn", 0.05, 1, lr)["summary"]["final_test_loss"]
            .as_f64()
            .unwrap()
            + get("gn", 0.05, 2, lr)["summary"]["final_test_loss"]
                .as_f64()
                .unwrap())
            / 2.0
    };
    let d = verdict(&cl, "d");
    if gn_mean(1.0) >= gn_mean(10.0) {
        assert_eq!(d, Value::Bool(false));
    }
    for c in &cl {
        let word = match c["holds"].as_bool() {
            Some(true) => "holds",
            Some(false) => "fails",
            None => "no data",
        };
        assert!(
            md.contains(&format!("**({}) {word}**", c["id"].as_str().unwrap())),
            "{md}"
        );
    }
}

/// A handmade result: the fields the report reads.
#[allow(clippy::too_many_arguments)]
fn fake(
    dir: &Path,
    method: &str,
    tau0: f64,
    lr: f64,
    status: &str,
    iters: u64,
    test: f64,
    refit_curve: &[(u64, f64, f64)],
) {
    let records: Vec<Value> = refit_curve
        .iter()
        .map(|&(it, t, r)| serde_json::json!({"iter": it, "train_loss": 1.0, "test_loss": t, "sigma_min": null,
            "sigma_max": null, "eps": null, "step_norm": null, "alignment": null, "refit_test_loss": r, "elapsed_s": null}))
        .collect();
    let v = serde_json::json!({
        "config": {"method": method, "tau0": tau0, "n": 50, "m": 100, "lr": lr, "seed": 1, "refit": !refit_curve.is_empty()},
        "records": records,
        "summary": {"status": status, "iterations": iters, "final_train_loss": 1e-9, "final_test_loss": test,
            "rf_test_loss": 0.05, "refit_test_loss": test, "wall_s": 1.0}
    });
    let name = format!("{method}-tau0_{tau0}-lr{lr}.json");
    std::fs::write(dir.join(name), serde_json::to_string(&v).unwrap()).unwrap();
}

#[test]
fn claim_checks_hold_and_fail_as_they_should_on_handmade_results() {
    // The paper's picture: every claim holds.
    let good = tmp("claims-good");
    fake(&good, "gn", 0.01, 10.0, "converged", 100, 0.2, &[]);
    fake(&good, "gd", 0.01, 10.0, "max_iter", 5000, 0.01, &[]);
    fake(&good, "gn", 100.0, 10.0, "converged", 120, 0.040, &[]);
    fake(&good, "gd", 100.0, 10.0, "converged", 90000, 0.045, &[]);
    fake(
        &good,
        "gn",
        0.01,
        0.1,
        "converged",
        9000,
        0.02,
        &[(0, 1.0, 0.05), (100, 0.5, 0.004), (9000, 0.02, 0.02)],
    );
    // Refit below the model but not below random features (0.05) is not hidden learning.
    let weak = tmp("claims-weak");
    fake(&weak, "gn", 0.01, 10.0, "converged", 100, 0.2, &[]);
    fake(
        &weak,
        "gn",
        0.01,
        0.1,
        "converged",
        9000,
        0.02,
        &[(0, 1.0, 0.05), (100, 0.5, 0.04), (9000, 0.02, 0.02)],
    );
    let (_, cl) = claims(&weak);
    assert_eq!(verdict(&cl, "d"), Value::Bool(false), "{cl:?}");
    let (_, cl) = claims(&good);
    for id in ["a", "b", "c", "d"] {
        assert_eq!(
            verdict(&cl, id),
            Value::Bool(true),
            "({id}) should hold: {cl:?}"
        );
    }
    // The opposite picture: every claim fails.
    let bad = tmp("claims-bad");
    fake(&bad, "gn", 0.01, 10.0, "converged", 100, 0.01, &[]);
    fake(&bad, "gd", 0.01, 10.0, "converged", 50, 0.2, &[]);
    fake(&bad, "gn", 100.0, 10.0, "converged", 120, 0.040, &[]);
    fake(&bad, "gd", 100.0, 10.0, "diverged", 2, 1e10, &[]);
    fake(
        &bad,
        "gn",
        0.01,
        0.1,
        "converged",
        9000,
        0.5,
        &[(0, 1.0, 0.05), (100, 0.6, 0.4), (9000, 0.5, 0.5)],
    );
    let (md, cl) = claims(&bad);
    for id in ["a", "b", "c", "d"] {
        assert_eq!(
            verdict(&cl, id),
            Value::Bool(false),
            "({id}) should fail: {cl:?}"
        );
    }
    assert!(md.contains("GD 1.000e10 (diverged)"), "{md}");
}

#[test]
fn committed_quick_report_is_what_gn_report_makes_of_the_committed_runs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("results/quick");
    let (runs, report) = (root.join("runs"), root.join("report.md"));
    if !report.exists() {
        eprintln!("no committed results/quick/report.md yet: skipping");
        return;
    }
    let out = run_ok(gn().arg("report").arg(&runs));
    let made = String::from_utf8_lossy(&out.stdout)
        .replace(&runs.display().to_string(), "results/quick/runs");
    let committed = std::fs::read_to_string(&report).unwrap();
    assert_eq!(
        made, committed,
        "results/quick/report.md is stale: regenerate it with gn report"
    );
    // The quick preset shows the paper's picture where the paper's claims hold.
    assert!(committed.contains("**(a) holds**"), "{committed}");
    assert!(committed.contains("**(b) holds**"), "{committed}");
    assert!(committed.contains("**(d) holds**"), "{committed}");
}

#[test]
fn slurm_writes_a_job_array_of_shards() {
    let dir = tmp("slurm-script");
    let out = run_ok(
        gn().arg("slurm")
            .args(SMALL)
            .args([
                "--tau0", "0.1,1", "--method", "gn,gd", "--n", "10", "--tasks", "3",
            ])
            .arg("--out")
            .arg(&dir),
    );
    assert!(out.stdout.is_empty());
    let script = std::fs::read_to_string(dir.join("sweep.sbatch")).unwrap();
    assert!(script.starts_with("#!/bin/bash\n"));
    assert!(script.contains("#SBATCH --array=1-3\n"), "{script}");
    assert!(
        script.contains("--shard \"${SLURM_ARRAY_TASK_ID}/3\""),
        "{script}"
    );
    assert!(
        script.contains(" sweep ") && script.contains("--tau0 0.1,1") && script.contains("--m 30"),
        "{script}"
    );
    // K is capped at the number of runs, and --shard is refused.
    let out = run_ok(
        gn().arg("slurm")
            .args(["--tau0", "0.1", "--tasks", "9"])
            .arg("--out")
            .arg(&dir),
    );
    let _ = out;
    assert!(std::fs::read_to_string(dir.join("sweep.sbatch"))
        .unwrap()
        .contains("--array=1-1\n"));
    let out = gn()
        .arg("slurm")
        .args(["--shard", "1/2"])
        .arg("--out")
        .arg(&dir)
        .output()
        .unwrap();
    assert!(!out.status.success());
}
