//! `gn run` from the outside: output formats, checkpoint + resume through files, and every
//! bad input giving one error line that names the field, with no panic and no output file.
#![cfg(not(target_arch = "wasm32"))]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const SMALL: &[&str] = &[
    "run",
    "--m",
    "30",
    "--n",
    "20",
    "--n-test",
    "50",
    "--d",
    "5",
    "--eval-every",
    "4",
];

fn gn(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gn"))
        .args(args)
        .output()
        .expect("gn runs")
}

fn tmpdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gn-cli-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn run_ok(args: &[&str]) -> Output {
    let out = gn(args);
    assert!(
        out.status.success(),
        "gn {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn csv_and_json_outputs_have_the_documented_shape() {
    let dir = tmpdir("formats");
    let csv = dir.join("r.csv");
    let json = dir.join("r.json");
    let mut args = SMALL.to_vec();
    args.extend(["--max-iter", "10", "--refit", "--quiet", "--out", s(&csv)]);
    run_ok(&args);
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "iter,train_loss,test_loss,sigma_min,sigma_max,eps,step_norm,alignment,refit_test_loss,elapsed_s,flow_time"
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(
        rows.iter().map(|r| r[0]).collect::<Vec<_>>(),
        ["0", "4", "8", "10"]
    );
    assert!(rows
        .iter()
        .all(|r| r.len() == 11 && !r[8].is_empty() && !r[9].is_empty()));
    // flow_time, last: t = λ·k with the default λ = 10.
    for r in &rows {
        assert_eq!(
            r[10].parse::<f64>().unwrap(),
            10.0 * r[0].parse::<f64>().unwrap()
        );
    }
    assert!(
        rows.last().unwrap()[6].is_empty(),
        "no step from the final state"
    );

    args.pop();
    args.push(s(&json));
    run_ok(&args);
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    for key in [
        "status",
        "iterations",
        "final_train_loss",
        "final_test_loss",
        "rf_test_loss",
        "refit_test_loss",
        "wall_s",
        "flow_time",
        "max_iter",
    ] {
        assert!(v["summary"].get(key).is_some(), "summary lacks {key}");
    }
    assert_eq!(v["summary"]["status"], "max_iter");
    assert_eq!(v["config"]["m"], 30);
    let rec = &v["records"][0];
    for key in [
        "iter",
        "train_loss",
        "test_loss",
        "sigma_min",
        "sigma_max",
        "eps",
        "step_norm",
        "alignment",
        "refit_test_loss",
        "elapsed_s",
        "flow_time",
    ] {
        assert!(rec.get(key).is_some(), "record lacks {key}");
    }
    assert_eq!(v["summary"]["flow_time"], 100.0);
    let last = v["records"].as_array().unwrap().last().unwrap();
    assert_eq!(last["flow_time"], 100.0);
}

#[test]
fn checkpoint_and_resume_through_files_match_an_uninterrupted_run() {
    let dir = tmpdir("resume");
    let (whole, part, rest, ck) = (
        dir.join("whole.json"),
        dir.join("part.json"),
        dir.join("rest.json"),
        dir.join("ck.json"),
    );
    let mut a = SMALL.to_vec();
    a.extend([
        "--method",
        "gd",
        "--max-iter",
        "24",
        "--quiet",
        "--out",
        s(&whole),
    ]);
    run_ok(&a);
    let mut b = SMALL.to_vec();
    b.extend([
        "--method",
        "gd",
        "--max-iter",
        "12",
        "--quiet",
        "--checkpoint",
        s(&ck),
        "--checkpoint-every",
        "5",
        "--out",
        s(&part),
    ]);
    run_ok(&b);
    run_ok(&[
        "run",
        "--resume",
        s(&ck),
        "--max-iter",
        "24",
        "--quiet",
        "--out",
        s(&rest),
    ]);
    let load = |p: &Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    };
    let strip = |v: &serde_json::Value| -> Vec<serde_json::Value> {
        v["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let mut r = r.clone();
                r["elapsed_s"] = serde_json::Value::Null;
                r
            })
            .collect()
    };
    let whole_r = strip(&load(&whole));
    let rest_r = strip(&load(&rest));
    let tail: Vec<_> = whole_r
        .iter()
        .filter(|r| r["iter"].as_u64().unwrap() >= 12)
        .cloned()
        .collect();
    assert_eq!(
        rest_r, tail,
        "resumed records differ from the uninterrupted run"
    );
    assert_eq!(load(&rest)["summary"]["iterations"], 24);
    let ck_v = load(&ck);
    assert_eq!(ck_v["format"], "gn-checkpoint-v1");
    assert_eq!(
        ck_v["iteration"], 12,
        "the checkpoint holds the first run's end"
    );
}

#[test]
fn fixture_checkpoints_resume_through_the_cli() {
    let dir = tmpdir("fixture");
    let fixture = format!(
        "{}/tests/fixtures/official-step-gn-silu.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let out = dir.join("after.json");
    run_ok(&[
        "run",
        "--resume",
        &fixture,
        "--quiet",
        "--checkpoint",
        s(&out),
    ]);
    let after: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let fix: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&fixture).unwrap()).unwrap();
    assert_eq!(after["iteration"], 1);
    let got = after["student"]["v"].as_array().unwrap();
    let want = fix["expected_after_one_step"]["student"]["v"]
        .as_array()
        .unwrap();
    for (g, w) in got.iter().zip(want) {
        assert!((g.as_f64().unwrap() - w.as_f64().unwrap()).abs() < 1e-9);
    }
}

/// Each bad input: non-zero exit, one stderr line naming the field, no panic, no output file.
#[test]
fn bad_inputs_give_one_line_naming_the_field() {
    let dir = tmpdir("bad");
    let good_ck = dir.join("good.json");
    let first_out = dir.join("x.csv");
    let mut a = SMALL.to_vec();
    a.extend([
        "--max-iter",
        "2",
        "--quiet",
        "--checkpoint",
        s(&good_ck),
        "--out",
        s(&first_out),
    ]);
    run_ok(&a);
    let good: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&good_ck).unwrap()).unwrap();
    let write = |name: &str, text: String| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    };
    let truncated = write("truncated.json", {
        let t = good.to_string();
        t[..t.len() / 3].to_string()
    });
    let malformed = write(
        "malformed.json",
        "{\"format\": \"gn-checkpoint-v1\", \"config\": [1,2]}".to_string(),
    );
    let wrong_rows = write("rows.json", {
        let mut v = good.clone();
        v["x_train"][2].as_array_mut().unwrap().pop();
        v.to_string()
    });
    let wrong_m = write("m.json", {
        let mut v = good.clone();
        v["student"]["b"].as_array_mut().unwrap().pop();
        v.to_string()
    });
    let wrong_n = write("n.json", {
        let mut v = good.clone();
        v["config"]["n"] = 999.into();
        v.to_string()
    });
    let wrong_fmt = write("fmt.json", {
        let mut v = good.clone();
        v["format"] = "other".into();
        v.to_string()
    });
    let missing = dir.join("missing.json").to_str().unwrap().to_string();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--n", "0"], "--n"),
        (vec!["--m", "0"], "--m"),
        (vec!["--tau0", "0"], "--tau0"),
        (vec!["--tau0", "-1"], "--tau0"),
        (vec!["--tau0", "NaN"], "--tau0"),
        (vec!["--tau0", "inf"], "--tau0"),
        (vec!["--lr", "0"], "--lr"),
        (vec!["--lr", "-3"], "--lr"),
        (vec!["--lr", "nan"], "--lr"),
        (vec!["--eps0", "-1e-9"], "--eps0"),
        (vec!["--tol", "infinity"], "--tol"),
        (vec!["--n", "abc"], "--n"),
        (vec!["--n", "-5"], "--n"),
        (vec!["--method", "adam"], "--method"),
        (vec!["--activation", "gelu"], "--activation"),
        (vec!["--eval-every", "0"], "--eval-every"),
        (vec!["--resume", &missing], "missing.json"),
        (vec!["--resume", &truncated], "truncated.json"),
        (vec!["--resume", &malformed], "config"),
        (vec!["--resume", &wrong_rows], "x_train[2]"),
        (vec!["--resume", &wrong_m], "student.b"),
        (vec!["--resume", &wrong_n], "config.n"),
        (vec!["--resume", &wrong_fmt], "format"),
        (vec!["--resume", s(&good_ck), "--n", "21"], "--n"),
    ];
    for (i, (bad, field)) in cases.iter().enumerate() {
        let out_file = dir.join(format!("out-{i}.json"));
        let mut args = vec!["run", "--quiet", "--max-iter", "3", "--out", s(&out_file)];
        args.extend(bad.iter().copied());
        let out = gn(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{bad:?} was accepted");
        assert_eq!(
            err.trim_end().lines().count(),
            1,
            "{bad:?}: not one line: {err}"
        );
        assert!(
            err.contains(field),
            "{bad:?}: error does not name {field}: {err}"
        );
        assert!(!err.contains("panicked"), "{bad:?}: panic: {err}");
        assert!(!out_file.exists(), "{bad:?}: wrote an output file");
    }
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left behind");
}

#[test]
fn a_diverging_run_is_reported_not_a_crash() {
    let dir = tmpdir("diverge");
    let out = dir.join("d.json");
    let mut a = SMALL.to_vec();
    a.extend([
        "--method",
        "gd",
        "--lr",
        "1e9",
        "--tau0",
        "1",
        "--max-iter",
        "500",
        "--out",
        s(&out),
    ]);
    let o = run_ok(&a);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("diverged"),
        "summary does not say diverged: {err}"
    );
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(v["summary"]["status"], "diverged");
}
