//! The step-wise training loop (DESIGN.md §3, "Loop"): a [`Trainer`] owns the data, the
//! student and the run's progress, and [`Trainer::advance`] takes a given number of steps,
//! returning the records made on the way. It holds no clock, thread, file or terminal: the
//! CLI and the Web Worker drive it and measure time themselves.

use crate::checkpoint::{matrix_to_rows, Checkpoint, NetworkJson, WarmStartJson, FORMAT};
use crate::config::{Config, Method, DIVERGENCE_FACTOR};
use crate::damping::WarmStart;
use crate::data::{init_student, Dataset};
use crate::error::Error;
use crate::metrics;
use crate::network::{Features, Network};
use crate::results::{Record, RunResult, Status, Summary};
use crate::step::{self, GnSolver, GnState};
use nalgebra::{DMatrix, DVector};

/// One training run in progress.
pub struct Trainer {
    config: Config,
    data: Dataset,
    student: Network,
    /// Steps taken so far.
    iteration: u64,
    loss_first: Option<f64>,
    status: Status,
    rf_test_loss: Option<f64>,
    last: Option<Record>,
    /// S and D of the current step, kept between steps so their memory is reused.
    work: Features,
    /// GN's solver, warm start and fallback count.
    gn: GnState,
    /// How GD steps between records are taken ([`Trainer::set_gd_path`]).
    gd_path: GdPath,
    /// For [`GdPath::Carried`]: f and the carry (unit-major, N per unit) at the current θ,
    /// kept from one GD step to the next; dropped whenever θ changes another way.
    carried: Option<(DVector<f64>, Vec<f64>)>,
}

/// How GD takes its steps between records (a record always takes the stored path).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GdPath {
    /// S and D stored, then Jᵀg from them (the reference; the path every record takes).
    Stored,
    /// One fused pass over the units per step, S and D never stored: σ, σ' from the carry the
    /// previous step left (SiLU's sigmoid, N·M numbers), the update, then the next f and carry.
    Carried,
}

impl GdPath {
    /// The faster path for N inputs and M units, as measured by `gn bench` (README, "Speed";
    /// M = 5000, both threads / one thread): stored below N·M = 1.25·10⁶ (N = 100: 1.17
    /// against 1.31 ms / 2.12 against 2.36 ms; N = 200 split: 2.26 against 1.99 / 4.24 against
    /// 4.32), carried from there on (N = 300: 3.12 against 3.38 / 5.41 against 6.28; N = 500:
    /// 4.74 against 5.32; N = 1000: 10.1 against 11.8), with half the memory; always stored in
    /// wasm (313 against 250 it/s at N = 200, M = 1000).
    pub fn for_size(n: usize, m: usize) -> GdPath {
        if cfg!(target_arch = "wasm32") || n.saturating_mul(m) < 1_250_000 {
            GdPath::Stored
        } else {
            GdPath::Carried
        }
    }
}

impl Trainer {
    /// A new run: draws the data, the teacher and the student from the seed, and measures
    /// the random-features baseline (last-layer refit at initialisation).
    pub fn new(config: Config) -> Result<Trainer, Error> {
        config.validate()?;
        let data = Dataset::generate(&config);
        let student = init_student(&config);
        let mut t = Trainer::assemble(config, data, student, 0, None, None);
        t.rf_test_loss = t.refit_test_loss();
        Ok(t)
    }

    /// Resumes from a checkpoint, using its data and weights as they are. The checkpoint's
    /// config (with the shapes its arrays imply) is the run's config.
    pub fn from_checkpoint(ck: &Checkpoint) -> Result<Trainer, Error> {
        // A checkpoint built in code never went through `from_json`: check before indexing.
        ck.check(&serde_json::Value::Object(Default::default()))?;
        let config = ck.resolved_config();
        config.validate()?;
        let d = config.d;
        let data = Dataset {
            x_train: crate::checkpoint::rows_to_matrix(&ck.x_train, d),
            y_train: DVector::from_column_slice(&ck.y_train),
            x_test: crate::checkpoint::rows_to_matrix(&ck.x_test, d),
            y_test: DVector::from_column_slice(&ck.y_test),
            teacher: ck.teacher.to_network("teacher", d)?,
        };
        let student = ck.student.to_network("student", d)?;
        let mut t = Trainer::assemble(
            config,
            data,
            student,
            ck.iteration,
            ck.loss_first,
            ck.rf_test_loss,
        );
        if t.iteration == 0 && t.rf_test_loss.is_none() {
            t.rf_test_loss = t.refit_test_loss();
        }
        if let Some(w) = &ck.gn_warm_start {
            t.gn.warm = WarmStart {
                shift: Some(w.shift),
                vector: Some(DVector::from_column_slice(&w.vector)),
            };
        }
        Ok(t)
    }

    fn assemble(
        config: Config,
        data: Dataset,
        student: Network,
        iteration: u64,
        loss_first: Option<f64>,
        rf_test_loss: Option<f64>,
    ) -> Trainer {
        crate::linalg::init();
        Trainer {
            gd_path: GdPath::for_size(config.n, config.m),
            config,
            data,
            student,
            iteration,
            loss_first,
            status: Status::Running,
            rf_test_loss,
            last: None,
            work: Features::default(),
            gn: GnState::default(),
            carried: None,
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }
    pub fn data(&self) -> &Dataset {
        &self.data
    }
    pub fn student(&self) -> &Network {
        &self.student
    }
    /// Steps taken so far.
    pub fn iteration(&self) -> u64 {
        self.iteration
    }
    pub fn status(&self) -> Status {
        self.status
    }
    pub fn is_finished(&self) -> bool {
        self.status != Status::Running
    }
    /// GN steps whose fast solve could not certify its answer and used the eigendecomposition.
    pub fn gn_fallbacks(&self) -> u64 {
        self.gn.fallbacks
    }
    /// Chooses how GN finds ε and z ([`GnSolver::Eig`] is the tested reference path).
    pub fn set_gn_solver(&mut self, solver: GnSolver) {
        self.gn.solver = solver;
    }
    /// How GD steps between records are taken (by default [`GdPath::for_size`]; records
    /// always take the stored path).
    pub fn set_gd_path(&mut self, path: GdPath) {
        self.gd_path = path;
        self.carried = None;
    }
    /// The latest record made, if any.
    pub fn last_record(&self) -> Option<&Record> {
        self.last.as_ref()
    }

    /// Raises (or lowers) the step limit, e.g. to continue a resumed run. A run that had
    /// stopped at its limit becomes running again if the new limit is higher.
    pub fn set_max_iter(&mut self, max_iter: u64) {
        self.config.max_iter = max_iter;
        if self.status == Status::MaxIter && self.iteration < max_iter {
            self.status = Status::Running;
        }
    }

    /// Takes up to `steps` steps and returns the records made on the way. When the step
    /// limit is reached the final state is evaluated at once, so the last record and the
    /// status are always up to date when this returns.
    pub fn advance(&mut self, steps: u64) -> Vec<Record> {
        let mut records = Vec::new();
        let mut taken = 0;
        while !self.is_finished() && taken < steps {
            if let Some(r) = self.iterate() {
                records.push(r);
            }
            if !self.is_finished() {
                taken += 1;
            }
        }
        if !self.is_finished() && self.iteration >= self.config.max_iter {
            records.extend(self.iterate());
        }
        records
    }

    /// Runs until converged, diverged or at the step limit.
    pub fn run(&mut self) -> Vec<Record> {
        self.advance(u64::MAX)
    }

    /// One pass of the loop at θ_k: compute L_k, stop or step, and record when due.
    fn iterate(&mut self) -> Option<Record> {
        let mut feat = std::mem::take(&mut self.work);
        let record = self.iterate_with(&mut feat);
        if !self.is_finished() {
            self.work = feat;
        } else {
            self.carried = None;
        }
        record
    }

    /// Whether the run stops at θ_k with loss L_k (DESIGN.md §3, "Loop").
    fn stop_rule(&self, loss: f64, first: f64, k: u64) -> Option<Status> {
        if !loss.is_finite() || loss > DIVERGENCE_FACTOR * first {
            Some(Status::Diverged)
        } else if loss <= self.config.tol * first {
            Some(Status::Converged)
        } else if k >= self.config.max_iter {
            Some(Status::MaxIter)
        } else {
            None
        }
    }

    /// A GD iteration with no record due by [`GdPath::Carried`] (S and D are never stored):
    /// L_k from the f the previous step left (or a fused forward pass), then θ ← θ − λ Jᵀ g.
    /// False when the full path must take this iteration (a record is due, the run stops
    /// here, or GD takes the stored path).
    fn gd_carried_iteration(&mut self) -> bool {
        let cfg = &self.config;
        let k = self.iteration;
        if self.gd_path == GdPath::Stored
            || cfg.method != Method::Gd
            || k.is_multiple_of(cfg.eval_every)
        {
            return false;
        }
        let (act, lr, x) = (cfg.activation, cfg.lr, &self.data.x_train);
        let (f, mut carry) = self.carried.take().unwrap_or_else(|| {
            let mut carry = vec![0.0; x.nrows() * self.student.m()];
            (self.student.outputs_carried(act, x, &mut carry), carry)
        });
        let loss = metrics::loss(&f, &self.data.y_train);
        let first = *self.loss_first.get_or_insert(loss);
        if self.stop_rule(loss, first, k).is_some() {
            return false;
        }
        let g = (f - &self.data.y_train) / x.nrows() as f64;
        let f_next = self.student.gd_step_carried(act, x, &g, lr, &mut carry);
        self.carried = Some((f_next, carry));
        self.iteration += 1;
        true
    }

    fn iterate_with(&mut self, feat: &mut Features) -> Option<Record> {
        if self.gd_carried_iteration() {
            return None;
        }
        // This iteration changes θ (or ends the run) another way.
        self.carried = None;
        let cfg = &self.config;
        let x = &self.data.x_train;
        self.student.features_into(cfg.activation, x, true, feat);
        let feat = &*feat;
        let f = self.student.outputs(&feat.s);
        let loss = metrics::loss(&f, &self.data.y_train);
        let first = *self.loss_first.get_or_insert(loss);
        let k = self.iteration;
        let stop = self.stop_rule(loss, first, k);
        let cfg = &self.config;
        let record_due = stop.is_some() || k.is_multiple_of(cfg.eval_every);

        let (a, ss) = self.gram_if_needed(feat, loss, stop, record_due);
        let g = (&f - &self.data.y_train) / x.nrows() as f64;
        let method = if stop.is_some() {
            Method::Gd
        } else {
            cfg.method
        };
        let mut dir = step::direction(method, &g, a.as_ref(), cfg.eps0, &mut self.gn, record_due);
        // A is done with: keep only S Sᵀ/M² for the refit (A itself when they are equal).
        let ss = ss.or(a);
        if stop.is_some() && cfg.method == Method::Gn {
            // The last record of a GN run reports GN's damping at the final state too.
            dir.eps = dir.spectrum.map(|s| cfg.eps0.max(s.sigma_min));
        }
        let mut record =
            record_due.then(|| self.record(k, loss, &dir, feat, ss.as_ref(), stop.is_some()));
        match stop {
            Some(status) => self.status = status,
            None if !dir.finite => self.status = Status::Diverged,
            None => {
                let delta = step::update(feat, x, &dir.z, self.config.lr);
                if let Some(r) = record.as_mut() {
                    r.step_norm = Some(delta.norm());
                }
                self.student.axpy(1.0, &delta);
                self.iteration += 1;
            }
        }
        if record.is_some() {
            self.last = record.clone();
        }
        record
    }

    /// The Gram matrix A (and S Sᵀ/M² for the refit, where it differs from A): always for GN
    /// while it runs, at record points for GD (for its spectrum).
    fn gram_if_needed(
        &self,
        feat: &Features,
        loss: f64,
        stop: Option<Status>,
        record_due: bool,
    ) -> (Option<DMatrix<f64>>, Option<DMatrix<f64>>) {
        let cfg = &self.config;
        let need_gram =
            loss.is_finite() && (cfg.method == Method::Gn && stop.is_none() || record_due);
        if !need_gram {
            return (None, None);
        }
        let want_ss = record_due && (cfg.refit || stop.is_some());
        let (a, ss) = step::gram(feat, &self.data.x_train, want_ss);
        (Some(a), ss)
    }

    /// The record of iteration `k` (before its step): losses, spectrum and damping of `dir`,
    /// alignment, and the test losses of the model and (when asked for, or at the end) of
    /// the last-layer refit from `ss`.
    fn record(
        &self,
        k: u64,
        loss: f64,
        dir: &step::Direction,
        feat: &Features,
        ss: Option<&DMatrix<f64>>,
        stopping: bool,
    ) -> Record {
        let cfg = &self.config;
        let refit = (cfg.refit || stopping)
            .then(|| metrics::refit_last_layer(&feat.s, ss?, &self.data.y_train))
            .flatten();
        let (test, refit_test) = metrics::test_losses(
            &self.student,
            cfg.activation,
            &self.data.x_test,
            &self.data.y_test,
            refit.as_ref(),
        );
        Record {
            iter: k,
            train_loss: loss,
            test_loss: Some(test),
            sigma_min: dir.spectrum.map(|s| s.sigma_min),
            sigma_max: dir.spectrum.map(|s| s.sigma_max),
            eps: dir.eps,
            step_norm: None,
            alignment: Some(metrics::alignment(&self.student.u, &self.data.teacher.u)),
            refit_test_loss: refit_test,
            elapsed_s: None,
        }
    }

    /// Test loss of the last-layer refit at the current hidden layer.
    pub fn refit_test_loss(&self) -> Option<f64> {
        let s = self
            .student
            .features(self.config.activation, &self.data.x_train, false)
            .s;
        let m = s.ncols() as f64;
        let ss = crate::linalg::syrk(&s, 1.0 / (m * m));
        let v = metrics::refit_last_layer(&s, &ss, &self.data.y_train)?;
        let (_, refit) = metrics::test_losses(
            &self.student,
            self.config.activation,
            &self.data.x_test,
            &self.data.y_test,
            Some(&v),
        );
        refit
    }

    /// The summary of the run so far. `wall_s` comes from the caller's clock.
    pub fn summary(&self, wall_s: Option<f64>) -> Summary {
        let last = self.last.as_ref();
        Summary {
            status: self.status,
            iterations: self.iteration,
            final_train_loss: last.map(|r| r.train_loss),
            final_test_loss: last.and_then(|r| r.test_loss),
            rf_test_loss: self.rf_test_loss,
            refit_test_loss: last.and_then(|r| r.refit_test_loss),
            wall_s,
            gn_fallbacks: self.gn.fallbacks,
        }
    }

    /// Config, records and summary together, as written to a result file.
    pub fn result(&self, records: Vec<Record>, wall_s: Option<f64>) -> RunResult {
        RunResult {
            config: self.config.clone(),
            records,
            summary: self.summary(wall_s),
        }
    }

    /// Everything needed to resume this run exactly.
    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            format: FORMAT.to_string(),
            config: self.config.clone(),
            iteration: self.iteration,
            loss_first: self.loss_first,
            x_train: matrix_to_rows(&self.data.x_train),
            y_train: self.data.y_train.iter().copied().collect(),
            x_test: matrix_to_rows(&self.data.x_test),
            y_test: self.data.y_test.iter().copied().collect(),
            teacher: NetworkJson::from_network(&self.data.teacher),
            student: NetworkJson::from_network(&self.student),
            rf_test_loss: self.rf_test_loss,
            gn_warm_start: match (&self.gn.warm.shift, &self.gn.warm.vector) {
                (Some(shift), Some(v)) => Some(WarmStartJson {
                    shift: *shift,
                    vector: v.iter().copied().collect(),
                }),
                _ => None,
            },
        }
    }
}
