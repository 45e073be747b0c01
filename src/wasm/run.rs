//! The [`Run`] class: one training run owned by Rust, which the Web Worker steps and reads.

use super::clock::{install_panic_hook, now_ms};
use super::form::parse_config;
use super::parse::{js_error, to_js};
use super::PACKED_KEYS;
use crate::config::Config;
use crate::picture;
use crate::results::{records_csv_with_flow_time, Record};
use crate::trainer::Trainer;
use serde::Serialize;
use wasm_bindgen::prelude::*;

/// The learned-function picture: this many points on the line x(s) = s·ŵ*_1, s ∈ [−3, 3].
const LINE_POINTS: usize = 201;
const LINE_S_MAX: f64 = 3.0;
/// The hidden-units picture's summary counts units within this angle (degrees) of a teacher
/// direction.
const NEAR_DEG: f64 = 10.0;

/// What [`Run::progress`] answers.
#[derive(Serialize)]
struct Progress<'a> {
    method: &'static str,
    iteration: u64,
    max_iter: u64,
    status: &'static str,
    finished: bool,
    /// Seconds spent computing steps so far (pauses excluded).
    compute_s: f64,
    /// Seconds spent drawing the data and measuring the baseline.
    setup_s: f64,
    /// Steps per second over the recent slices.
    it_per_s: Option<f64>,
    /// Seconds until the iteration limit at that speed (an upper bound: a run may converge
    /// earlier).
    eta_s: Option<f64>,
    records: usize,
    last: Option<&'a Record>,
    rf_test_loss: Option<f64>,
    /// Seconds spent computing the pictures ([`Run::picture`]) so far.
    picture_s: f64,
}

/// One training run, owned by Rust; JS steps it and reads what it made.
#[wasm_bindgen]
pub struct Run {
    config: Config,
    trainer: Trainer,
    records: Vec<Record>,
    compute_s: f64,
    setup_s: f64,
    /// (steps, seconds) of recent work, for the speed estimate.
    recent: std::collections::VecDeque<(u64, f64)>,
    /// The learned-function picture's line: positions s and inputs x(s), one per row.
    line_s: Vec<f64>,
    line_x: nalgebra::DMatrix<f64>,
    /// Seconds spent in [`Run::picture`].
    picture_s: f64,
}

impl Run {
    fn build(config: Config) -> Result<Run, JsValue> {
        let t0 = now_ms();
        let trainer = Trainer::new(config.clone()).map_err(|e| {
            let problems = match &e {
                crate::Error::Invalid(p) => p.clone(),
                _ => Vec::new(),
            };
            js_error(&e.to_string(), &problems)
        })?;
        let (line_s, line_x) =
            picture::line_inputs(&trainer.data().teacher.u, LINE_POINTS, LINE_S_MAX);
        let setup_s = (now_ms() - t0) / 1e3;
        Ok(Run {
            config,
            trainer,
            records: Vec::new(),
            compute_s: 0.0,
            setup_s,
            recent: Default::default(),
            line_s,
            line_x,
            picture_s: 0.0,
        })
    }

    /// One call of the core's `advance`, timed; its records get `elapsed_s`.
    fn timed_advance(&mut self, steps: u64) -> usize {
        let before = self.trainer.iteration();
        let t0 = now_ms();
        let new = self.trainer.advance(steps);
        let dt = (now_ms() - t0) / 1e3;
        self.compute_s += dt;
        let taken = self.trainer.iteration() - before;
        self.recent.push_back((taken, dt));
        while self.recent.len() > 1 && self.recent.iter().map(|r| r.1).sum::<f64>() > 3.0 {
            self.recent.pop_front();
        }
        let count = new.len();
        for mut r in new {
            r.elapsed_s = Some(self.compute_s);
            self.records.push(r);
        }
        count
    }

    fn records_from(&self, start: usize) -> &[Record] {
        &self.records[start.min(self.records.len())..]
    }
}

#[wasm_bindgen]
impl Run {
    /// A new run from a config object (keys as in the checkpoint's `config`; missing keys take
    /// the paper's defaults). Throws an `Error` whose message lists the problems and whose
    /// `problems` property has them as `{field, message}`.
    #[wasm_bindgen(constructor)]
    pub fn new(config: JsValue) -> Result<Run, JsValue> {
        install_panic_hook();
        let (cfg, problems) = parse_config(&config);
        if !problems.is_empty() {
            let text: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
            return Err(js_error(&format!("invalid {}", text.join("; ")), &problems));
        }
        Run::build(cfg)
    }

    /// Takes up to `steps` steps; returns the records made, as JS objects with every key of
    /// [`super::RECORD_KEYS`] (null where a value was not computed).
    pub fn step(&mut self, steps: u32) -> JsValue {
        let start = self.records.len();
        for _ in 0..steps {
            if self.trainer.is_finished() {
                break;
            }
            self.timed_advance(1);
        }
        to_js(self.records_from(start))
    }

    /// Steps for at most about `budget_ms` milliseconds (at least one step, at most
    /// `max_steps`) or until the run ends: it stops before a step that, at the pace of the
    /// last one, would overrun the budget, so a slice rarely lasts longer than the budget or
    /// one step. Returns the number of new records; read them with [`Run::records_packed`] or
    /// [`Run::records`].
    pub fn run_for(&mut self, budget_ms: f64, max_steps: u32) -> usize {
        let t0 = now_ms();
        let mut made = 0;
        let mut taken = 0;
        while !self.trainer.is_finished() && taken < max_steps.max(1) {
            let before = now_ms();
            made += self.timed_advance(1);
            taken += 1;
            let now = now_ms();
            let last_step_ms = now - before;
            if now - t0 + last_step_ms > budget_ms {
                break;
            }
        }
        made
    }

    /// Steps taken so far.
    pub fn iteration(&self) -> f64 {
        self.trainer.iteration() as f64
    }

    /// "running", "converged", "max_iter" or "diverged".
    pub fn status(&self) -> String {
        self.trainer.status().name().to_string()
    }

    #[wasm_bindgen(js_name = isFinished)]
    pub fn is_finished(&self) -> bool {
        self.trainer.is_finished()
    }

    /// How many records were made so far.
    #[wasm_bindgen(js_name = recordCount)]
    pub fn record_count(&self) -> usize {
        self.records.len()
    }

    /// Records from index `start` on, as JS objects.
    pub fn records(&self, start: usize) -> JsValue {
        to_js(self.records_from(start))
    }

    /// Records from index `start` on, packed row by row into one `Float64Array` of
    /// `PACKED_KEYS.length` columns (NaN where a value is absent): cheap to post to the page.
    #[wasm_bindgen(js_name = recordsPacked)]
    pub fn records_packed(&self, start: usize) -> js_sys::Float64Array {
        let rows = self.records_from(start);
        let mut out = Vec::with_capacity(rows.len() * PACKED_KEYS.len());
        for r in rows {
            r.pack_into(self.config.lr, &mut out);
        }
        js_sys::Float64Array::from(out.as_slice())
    }

    /// Iteration, limit, status, compute time, speed, ETA, the latest record and the
    /// random-features baseline, as one object.
    pub fn progress(&self) -> JsValue {
        let (steps, secs) = self
            .recent
            .iter()
            .fold((0u64, 0.0), |a, r| (a.0 + r.0, a.1 + r.1));
        let it_per_s = (secs > 0.0 && steps > 0).then(|| steps as f64 / secs);
        let left = self
            .config
            .max_iter
            .saturating_sub(self.trainer.iteration()) as f64;
        let finished = self.trainer.is_finished();
        let eta_s = if finished {
            Some(0.0)
        } else {
            it_per_s.map(|r| left / r)
        };
        to_js(&Progress {
            method: self.config.method.name(),
            iteration: self.trainer.iteration(),
            max_iter: self.config.max_iter,
            status: self.trainer.status().name(),
            finished,
            compute_s: self.compute_s,
            setup_s: self.setup_s,
            it_per_s,
            eta_s,
            records: self.records.len(),
            last: self.records.last(),
            rf_test_loss: self.trainer.summary(None).rf_test_loss,
            picture_s: self.picture_s,
        })
    }

    /// The summary so far (`wall_s` is the compute time, pauses excluded).
    pub fn summary(&self) -> JsValue {
        to_js(&self.trainer.summary(Some(self.compute_s)))
    }

    /// The run's config as an object.
    pub fn config(&self) -> JsValue {
        to_js(&self.config)
    }

    /// The records as CSV, the same columns as the CLI's (flow time last).
    pub fn csv(&self) -> String {
        records_csv_with_flow_time(&self.records, self.config.lr)
    }

    /// Config, records and summary as JSON, the same document as the CLI's `--out`.
    pub fn json(&self) -> String {
        self.trainer
            .result(self.records.clone(), Some(self.compute_s))
            .to_json()
    }

    /// Starts the same run over from iteration 0 (same config, same seed).
    pub fn reset(&mut self) -> Result<(), JsValue> {
        *self = Run::build(self.config.clone())?;
        Ok(())
    }

    /// The pictures of what the network has learned now ([`crate::picture`]), as
    /// `{units, near_units, near_share, line}`: `units` packs (angle in degrees to the nearest
    /// teacher direction, share M·p_i) per hidden unit into a `Float64Array` of 2M numbers;
    /// `near_units` counts the units within 10° of a teacher direction and `near_share` is
    /// their fraction of Σ‖u_i‖²; `line` holds the student's outputs on the points of
    /// [`Run::line`]. Its compute time is added to `picture_s` of [`Run::progress`].
    pub fn picture(&mut self) -> JsValue {
        let t0 = now_ms();
        let student = self.trainer.student();
        let (angles, shares) = picture::unit_points(&student.u, &self.trainer.data().teacher.u);
        let (near_units, near_share) = picture::near_teacher(&angles, &shares, NEAR_DEG);
        let units: Vec<f64> = angles
            .iter()
            .zip(&shares)
            .flat_map(|(a, p)| [*a, *p])
            .collect();
        let line = picture::line_outputs(student, self.config.activation, &self.line_x);
        let out = js_sys::Object::new();
        let set = |k: &str, v: JsValue| js_sys::Reflect::set(&out, &JsValue::from_str(k), &v);
        let _ = set("units", js_sys::Float64Array::from(units.as_slice()).into());
        let _ = set("near_units", JsValue::from_f64(near_units as f64));
        let _ = set("near_share", JsValue::from_f64(near_share));
        let _ = set("line", js_sys::Float64Array::from(line.as_slice()).into());
        self.picture_s += (now_ms() - t0) / 1e3;
        out.into()
    }

    /// The learned-function picture's fixed part, `{s, teacher, near_deg}`: the positions s
    /// on the line x(s) = s·ŵ*_1 (ŵ*_1 the teacher's first unit direction) and the teacher's
    /// outputs there (`Float64Array`s), and the angle [`Run::picture`] counts as near.
    pub fn line(&self) -> JsValue {
        let data = self.trainer.data();
        let teacher = picture::line_outputs(&data.teacher, self.config.activation, &self.line_x);
        let out = js_sys::Object::new();
        let set = |k: &str, v: JsValue| js_sys::Reflect::set(&out, &JsValue::from_str(k), &v);
        let _ = set(
            "s",
            js_sys::Float64Array::from(self.line_s.as_slice()).into(),
        );
        let _ = set(
            "teacher",
            js_sys::Float64Array::from(teacher.as_slice()).into(),
        );
        let _ = set("near_deg", JsValue::from_f64(NEAR_DEG));
        out.into()
    }

    /// Estimated peak memory of this run, in bytes.
    #[wasm_bindgen(js_name = estimatedBytes)]
    pub fn estimated_bytes(&self) -> f64 {
        self.config.estimated_bytes()
    }
}
