#![cfg(not(target_arch = "wasm32"))]
//! Property-based tests of the two inputs the outside world writes: configurations and
//! `gn-checkpoint-v1` files. Random and mutated inputs never panic, every error names its
//! field or JSON path, and ≥ 300 mutated checkpoints go through what `gn run --resume` does
//! (parse, resolve the config, build the trainer) without a panic.

use gauss_newton::config::MAX_SAFE_INTEGER;
use gauss_newton::{Activation, Checkpoint, Config, Error, Method, Trainer};
use proptest::prelude::*;
use serde_json::Value;

const FIELDS: [&str; 16] = [
    "method",
    "activation",
    "tau0",
    "n",
    "m",
    "d",
    "m_teacher",
    "n_test",
    "lr",
    "eps0",
    "tol",
    "seed",
    "max_iter",
    "eval_every",
    "refit",
    "max_flow_time",
];

fn any_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(0.0),
        Just(-0.0),
        -10.0..10.0f64,
        1e-300..1e300f64,
    ]
}

fn any_count() -> impl Strategy<Value = usize> {
    prop_oneof![
        0..20usize,
        Just(usize::MAX),
        0..2_000_000usize,
        any::<usize>()
    ]
}

fn any_u64() -> impl Strategy<Value = u64> {
    prop_oneof![
        0..20u64,
        Just(u64::MAX),
        Just(MAX_SAFE_INTEGER),
        Just(MAX_SAFE_INTEGER + 1),
        any::<u64>()
    ]
}

prop_compose! {
    fn any_config()(
        gn in any::<bool>(), act in 0..3u8, tau0 in any_f64(), n in any_count(), m in any_count(), d in any_count(),
        m_teacher in any_count(), n_test in any_count(), lr in any_f64(), eps0 in any_f64(), tol in any_f64(),
        seed in any_u64(), max_iter in any_u64(), eval_every in any_u64(), refit in any::<bool>(),
        flow in prop::option::of(any_f64()),
    ) -> Config {
        Config {
            method: if gn { Method::Gn } else { Method::Gd },
            activation: [Activation::Silu, Activation::Relu, Activation::Tanh][act as usize],
            tau0, n, m, d, m_teacher, n_test, lr, eps0, tol, seed, max_iter, eval_every, refit, max_flow_time: flow,
        }
    }
}

/// Each rule checked independently of `Config::problems`: the fields that must be refused.
fn must_refuse(c: &Config) -> Vec<&'static str> {
    let mut out = Vec::new();
    let pos = |x: f64| x.is_finite() && x > 0.0;
    for (f, x) in [("tau0", c.tau0), ("lr", c.lr), ("tol", c.tol)] {
        if !pos(x) {
            out.push(f);
        }
    }
    if !(c.eps0.is_finite() && c.eps0 >= 0.0) {
        out.push("eps0");
    }
    for (f, x, max) in [
        ("n", c.n, 100_000),
        ("m", c.m, 1_000_000),
        ("d", c.d, 10_000),
        ("m_teacher", c.m_teacher, 1_000_000),
        ("n_test", c.n_test, 1_000_000),
    ] {
        if x == 0 || x > max {
            out.push(f);
        }
    }
    if c.eval_every == 0 {
        out.push("eval_every");
    }
    if let Some(t) = c.max_flow_time {
        if !pos(t) || (pos(c.lr) && (t / c.lr).ceil() > MAX_SAFE_INTEGER as f64 * (1.0 + 1e-9)) {
            out.push("max_flow_time");
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn config_validation_never_panics_and_names_each_field(c in any_config()) {
        let problems = c.problems();
        for p in &problems {
            prop_assert!(FIELDS.contains(&p.field.as_str()), "unknown field {:?}", p.field);
            prop_assert!(!p.message.is_empty());
        }
        let named: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        for f in must_refuse(&c) {
            prop_assert!(named.contains(&f), "{f} not refused: {c:?} → {problems:?}");
        }
        prop_assert_eq!(c.validate().is_ok(), problems.is_empty());
        // Flow time: an accepted limit gives a step count that reaches it, and not one step more.
        if let (Some(t), true) = (c.max_flow_time, problems.is_empty()) {
            let mut r = c.clone();
            r.apply_max_flow_time();
            let k = r.max_iter as f64;
            prop_assert!(k >= 1.0);
            prop_assert!(c.lr * k >= t * (1.0 - 1e-9), "{} steps of {} do not reach {}", k, c.lr, t);
            prop_assert!(k <= 1.0 || c.lr * (k - 1.0) < t * (1.0 + 1e-9), "{} steps of {} overshoot {}", k, c.lr, t);
        }
    }

    #[test]
    fn config_json_round_trips_and_random_objects_never_panic(c in any_config(), junk in any_json(3)) {
        let text = serde_json::to_string(&c).unwrap();
        // Non-finite numbers are written as null, which does not read back as a number (an
        // error naming the place, not a panic); finite configurations round-trip exactly.
        let back = serde_json::from_str::<Config>(&text);
        if [c.tau0, c.lr, c.eps0, c.tol].iter().all(|x| x.is_finite()) && c.max_flow_time.is_none_or(f64::is_finite) {
            prop_assert_eq!(back.unwrap(), c);
        } else if let Err(e) = back {
            prop_assert!(e.to_string().contains("column"), "{}", e);
        }
        let _ = serde_json::from_value::<Config>(junk);
    }
}

fn any_json(depth: u32) -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1e6..1e6f64).prop_map(Value::from),
        "[a-z_]{0,8}".prop_map(Value::from),
    ];
    leaf.prop_recursive(depth, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map(
                prop_oneof![
                    Just("n".to_string()),
                    Just("tau0".to_string()),
                    Just("method".to_string()),
                    "[a-z_]{1,8}".prop_map(String::from)
                ],
                inner,
                0..4
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn fixture() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/official-step-gn-silu.json"
    );
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    v["checkpoint"].clone()
}

/// A small deterministic generator for the mutations (xorshift64*).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn replacement(r: &mut Rng) -> Value {
    match r.below(14) {
        0 => Value::Null,
        1 => Value::from(-1),
        2 => Value::from(0),
        3 => Value::from(u64::MAX),
        4 => Value::from(1e308),
        5 => Value::from(-1e308),
        6 => Value::from("x"),
        7 => Value::from(true),
        8 => Value::Array(vec![]),
        9 => Value::Array(vec![Value::from(1.0)]),
        10 => Value::Object(Default::default()),
        11 => Value::from(2.5),
        12 => Value::from(MAX_SAFE_INTEGER + 1),
        _ => Value::Array(vec![Value::Array(vec![Value::from(0.0); 3])]),
    }
}

/// One structural mutation at a random place: delete a key or element, replace a value,
/// shorten or lengthen an array.
fn mutate(v: &mut Value, r: &mut Rng) {
    // Walk down a random path, stopping at random.
    let mut cur = v;
    loop {
        let stop = r.below(4) == 0;
        let next_is_container = match cur {
            Value::Object(m) => !m.is_empty(),
            Value::Array(a) => !a.is_empty(),
            _ => false,
        };
        if stop || !next_is_container {
            break;
        }
        cur = match cur {
            Value::Object(m) => {
                let keys: Vec<String> = m.keys().cloned().collect();
                let k = &keys[r.below(keys.len())];
                if r.below(6) == 0 {
                    m.remove(k);
                    return;
                }
                m.get_mut(k).unwrap()
            }
            Value::Array(a) => {
                let i = r.below(a.len());
                match r.below(8) {
                    0 => {
                        a.remove(i);
                        return;
                    }
                    1 => {
                        let dup = a[i].clone();
                        a.push(dup);
                        return;
                    }
                    _ => &mut a[i],
                }
            }
            _ => unreachable!(),
        };
    }
    *cur = replacement(r);
}

/// What `gn run --resume` does with a file's text, in the library: parse, resolve, build.
fn resume(text: &str) -> Result<(), Error> {
    let ck = Checkpoint::from_json(text)?;
    let _ = ck.resolved_config();
    let mut ck = ck;
    ck.config.max_iter = ck.iteration.saturating_add(1);
    Trainer::from_checkpoint(&ck).map(|_| ())
}

/// Every error names a field (Invalid) or says where in the JSON text it is (Parse).
fn names_its_place(e: &Error) -> bool {
    match e {
        Error::Invalid(ps) => !ps.is_empty() && ps.iter().all(|p| !p.field.is_empty()),
        Error::Parse(msg) => (msg.contains("line") && msg.contains("column")) || msg.contains('`'),
    }
}

#[test]
fn three_hundred_and_more_mutated_checkpoints_resume_or_fail_cleanly() {
    let base = fixture();
    assert!(
        resume(&base.to_string()).is_ok(),
        "the fixture itself resumes"
    );
    let mut r = Rng(0x9E37_79B9_7F4A_7C15);
    let (mut ok, mut refused, mut panics) = (0, 0, Vec::new());
    for case in 0..600 {
        let mut v = base.clone();
        for _ in 0..=r.below(3) {
            mutate(&mut v, &mut r);
        }
        let mut text = v.to_string();
        if case % 5 == 0 {
            // Text-level damage too: truncation or a flipped character.
            let at = r.below(text.len());
            if r.below(2) == 0 {
                text.truncate(at);
            } else if text.is_char_boundary(at) && text.is_char_boundary(at + 1) {
                text.replace_range(at..at + 1, "]");
            }
        }
        let outcome = std::panic::catch_unwind(|| resume(&text));
        match outcome {
            Ok(Ok(())) => ok += 1,
            Ok(Err(e)) => {
                refused += 1;
                assert!(
                    names_its_place(&e),
                    "case {case}: error names no field or place: {e}\n{text}"
                );
            }
            Err(_) => panics.push((case, text)),
        }
    }
    if let Some((_, text)) = panics.first() {
        std::fs::write(
            std::env::temp_dir().join("gn-panicking-checkpoint.json"),
            text,
        )
        .unwrap();
    }
    assert!(
        panics.is_empty(),
        "{} of 600 mutated checkpoints panicked (first: case {}, saved to {}/gn-panicking-checkpoint.json)",
        panics.len(),
        panics[0].0,
        std::env::temp_dir().display()
    );
    assert!(
        refused >= 300,
        "only {refused} mutations were refused ({ok} resumed): the mutations are too weak"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_json_is_never_a_checkpoint_and_never_panics(v in any_json(4)) {
        let mut root = v;
        if let Value::Object(m) = &mut root {
            if m.len() % 2 == 0 {
                m.insert("format".into(), "gn-checkpoint-v1".into());
            }
        }
        match Checkpoint::from_json(&root.to_string()) {
            Ok(_) => prop_assert!(false, "random JSON accepted as a checkpoint"),
            Err(e) => prop_assert!(names_its_place(&e), "{}", e),
        }
    }
}
