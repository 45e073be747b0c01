//! The training loop's contracts: determinism, exact resume from a checkpoint, nested
//! training sets, checkpoints from other tools, stopping rules and divergence as a status.
#![cfg(not(target_arch = "wasm32"))]

use gauss_newton::data::Dataset;
use gauss_newton::{Checkpoint, Config, Method, Record, Status, Trainer};

fn tiny(method: Method) -> Config {
    Config {
        method,
        n: 25,
        m: 40,
        d: 6,
        n_test: 100,
        tau0: 0.5,
        max_iter: 40,
        eval_every: 5,
        refit: true,
        ..Config::default()
    }
}

#[test]
fn same_seed_gives_identical_records_and_other_seed_differs() {
    for method in [Method::Gn, Method::Gd] {
        let run = |seed| {
            let mut t = Trainer::new(Config {
                seed,
                ..tiny(method)
            })
            .unwrap();
            let records = t.run();
            assert_eq!(
                records.last().unwrap().iter,
                t.iteration(),
                "the last record is the final state"
            );
            (records, t.student().clone())
        };
        let (a, wa) = run(4);
        let (b, wb) = run(4);
        assert_eq!(a, b, "{method:?}: same seed, different records");
        assert_eq!(wa, wb);
        let (c, _) = run(5);
        assert_ne!(a, c, "{method:?}: different seeds gave the same records");
        assert_eq!(a.first().unwrap().iter, 0);
        assert!(a
            .iter()
            .all(|r| r.refit_test_loss.is_some() && r.test_loss.is_some()));
    }
}

#[test]
fn resume_from_checkpoint_continues_exactly() {
    for method in [Method::Gn, Method::Gd] {
        let mut whole = Trainer::new(tiny(method)).unwrap();
        let all = whole.run();

        let mut first = Trainer::new(Config {
            max_iter: 15,
            ..tiny(method)
        })
        .unwrap();
        let head = first.run();
        assert_eq!(first.status(), Status::MaxIter);
        let text = first.checkpoint().to_json();
        let ck = Checkpoint::from_json(&text).unwrap();
        let mut second = Trainer::from_checkpoint(&ck).unwrap();
        second.set_max_iter(40);
        let tail = second.run();

        assert_eq!(
            second.student(),
            whole.student(),
            "{method:?}: final weights differ after resume"
        );
        // The first run's last record is its final state (no step taken from it); the resumed
        // run records that same state again, now with the step it takes.
        assert_eq!(head.last().unwrap().iter, 15);
        assert_eq!(head.last().unwrap().step_norm, None);
        let mut joined: Vec<Record> = head[..head.len() - 1].to_vec();
        joined.extend(tail);
        assert_eq!(joined, all, "{method:?}: records differ after resume");
        assert_eq!(
            second.summary(None).rf_test_loss,
            whole.summary(None).rf_test_loss
        );
    }
}

#[test]
fn training_sets_are_nested_and_test_set_fixed() {
    let small = Dataset::generate(&Config {
        n: 100,
        ..Config::default()
    });
    let large = Dataset::generate(&Config {
        n: 500,
        ..Config::default()
    });
    assert_eq!(small.x_train, large.x_train.rows(0, 100).into_owned());
    assert_eq!(small.y_train, large.y_train.rows(0, 100).into_owned());
    assert_eq!(small.x_test, large.x_test);
    assert_eq!(small.teacher, large.teacher);
    assert_eq!(small.x_test.nrows(), 10_000);
    let other = Dataset::generate(&Config {
        n: 100,
        seed: 2,
        ..Config::default()
    });
    assert_ne!(small.x_train, other.x_train);
}

#[test]
fn checkpoint_from_another_tool_with_missing_config_keys_loads() {
    let t = Trainer::new(tiny(Method::Gn)).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&t.checkpoint().to_json()).unwrap();
    // Another tool writes only some config keys, plus keys of its own.
    v["config"] = serde_json::json!({"method": "gd", "lr": 0.5, "written_by": "other"});
    v["extra"] = serde_json::json!([1, 2, 3]);
    v.as_object_mut().unwrap().remove("rf_test_loss");
    let ck = Checkpoint::from_json(&v.to_string()).unwrap();
    let cfg = ck.resolved_config();
    assert_eq!(cfg.method, Method::Gd);
    assert_eq!(cfg.lr, 0.5);
    assert_eq!(
        (cfg.n, cfg.m, cfg.d, cfg.n_test),
        (25, 40, 6, 100),
        "shapes come from the arrays"
    );
    assert_eq!(cfg.eps0, 1e-7, "missing keys take defaults");
    assert_eq!(cfg.max_iter, 2_000_000);
    let mut r = Trainer::from_checkpoint(&ck).unwrap();
    assert_eq!(
        r.data().x_train,
        t.data().x_train,
        "data used as written, not redrawn"
    );
    r.set_max_iter(3);
    r.run();
    assert_eq!(r.iteration(), 3);
}

#[test]
fn bad_checkpoints_name_the_field() {
    let good = Trainer::new(tiny(Method::Gn))
        .unwrap()
        .checkpoint()
        .to_json();
    let v: serde_json::Value = serde_json::from_str(&good).unwrap();
    let cases: Vec<(serde_json::Value, &str)> = vec![
        (
            {
                let mut c = v.clone();
                c["format"] = "gn-checkpoint-v9".into();
                c
            },
            "format",
        ),
        (
            {
                let mut c = v.clone();
                c["config"]["n"] = 26.into();
                c
            },
            "config.n",
        ),
        (
            {
                let mut c = v.clone();
                c["y_train"].as_array_mut().unwrap().pop();
                c
            },
            "y_train",
        ),
        (
            {
                let mut c = v.clone();
                c["student"]["u"][3].as_array_mut().unwrap().pop();
                c
            },
            "student.u[3]",
        ),
        (
            {
                let mut c = v.clone();
                c["student"]["v"].as_array_mut().unwrap().pop();
                c
            },
            "student.v",
        ),
        (
            {
                let mut c = v.clone();
                c["teacher"]["b"].as_array_mut().unwrap().push(1.0.into());
                c
            },
            "teacher.b",
        ),
        (
            {
                let mut c = v.clone();
                c["x_test"][0].as_array_mut().unwrap().push(1.0.into());
                c
            },
            "x_test[0]",
        ),
        (
            {
                let mut c = v.clone();
                c["config"]["tau0"] = (-1.0).into();
                c
            },
            "tau0",
        ),
        (
            {
                let mut c = v.clone();
                c["config"]["method"] = "adam".into();
                c
            },
            "method",
        ),
    ];
    for (bad, field) in cases {
        let msg = match Checkpoint::from_json(&bad.to_string()) {
            Err(e) => e.to_string(),
            Ok(ck) => match Trainer::from_checkpoint(&ck) {
                Err(e) => e.to_string(),
                Ok(_) => panic!("accepted a checkpoint with a bad {field}"),
            },
        };
        assert!(
            msg.contains(field),
            "error for {field} does not name it: {msg}"
        );
    }
    let truncated = &good[..good.len() / 2];
    assert!(Checkpoint::from_json(truncated)
        .unwrap_err()
        .to_string()
        .contains("not valid JSON"));
}

#[test]
fn divergence_is_a_status_not_a_panic() {
    let mut t = Trainer::new(Config {
        method: Method::Gd,
        lr: 1e9,
        tau0: 1.0,
        max_iter: 1000,
        ..tiny(Method::Gd)
    })
    .unwrap();
    let records = t.run();
    assert_eq!(t.status(), Status::Diverged);
    assert!(t.iteration() < 1000);
    let last = records.last().unwrap();
    assert!(!last.train_loss.is_finite() || last.train_loss > 1e6 * records[0].train_loss);
    let json = t.result(records, None).to_json();
    assert!(json.contains("\"diverged\""));
    gauss_newton::RunResult::from_json(&json).expect("a diverged run's JSON reads back");
}

#[test]
fn invalid_configs_list_every_problem() {
    let bad = Config {
        n: 0,
        m: 0,
        tau0: f64::NAN,
        lr: -1.0,
        eps0: -1e-3,
        tol: f64::INFINITY,
        eval_every: 0,
        ..Config::default()
    };
    let fields: Vec<String> = bad.problems().into_iter().map(|p| p.field).collect();
    for f in ["n", "m", "tau0", "lr", "eps0", "tol", "eval_every"] {
        assert!(
            fields.iter().any(|x| x == f),
            "no problem reported for {f}: {fields:?}"
        );
    }
    assert!(Trainer::new(bad).is_err());
    assert!(Config::default().problems().is_empty());
}
