//! The sweep under way: workers that take runs from one queue, each on its own thread pool,
//! claim each run (so other sweeps into the folder skip it), catch a run's panic as its
//! failure, and print one line per finished run, a progress bar on a terminal, and the
//! closing line.

use super::folder::{run_one, state, State};
use crate::claim::{self, Claimed};
use gauss_newton::sweep::Planned;
use gauss_newton::RunResult;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::sync::Mutex;
use std::time::Instant;

/// The text of a caught panic (`panic!("…")` payloads are `&str` or `String`).
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(no message)".into()
    }
}

/// Locks the sweep's shared state even if a thread panicked while holding it (its data —
/// counters and names — stays consistent at every point a panic could occur).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The progress line's list of runs under way, with their steps at the last checkpoint.
fn running(active: &[(String, u64, u64)]) -> String {
    let parts: Vec<String> = active
        .iter()
        .map(|(n, k, max)| format!("{n} [{k}/{max} steps]"))
        .collect();
    format!("running {}", parts.join(", "))
}

fn fmt_secs(s: f64) -> String {
    let s = s.max(0.0).round() as u64;
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    } else if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

/// The sweep's progress bar on a terminal (hidden otherwise), at `done` of `total` runs.
fn progress_bar(tty: bool, total: u64, done: u64) -> ProgressBar {
    if !tty {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr_with_hz(2));
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} runs {pos}/{len} [{elapsed_precise}] ETA {eta} {wide_msg}",
        )
        .expect("valid template"),
    );
    bar.set_position(done);
    bar.reset_eta();
    bar.enable_steady_tick(std::time::Duration::from_millis(500));
    bar
}

/// What the sweep's workers share, behind one lock.
struct Shared {
    queue: std::vec::IntoIter<Planned>,
    /// Runs under way: name, steps taken (at the last checkpoint), step limit.
    active: Vec<(String, u64, u64)>,
    done: usize,
    ran: usize,
    /// Runs left to other sweeps: all of them, and those still under way there.
    skipped: usize,
    elsewhere: usize,
    errors: Vec<String>,
}

/// The sweep under way: its options, shared state, progress bar and clock.
pub struct Sweep<'a> {
    dir: &'a Path,
    checkpoint_every: u64,
    threads: usize,
    total: u64,
    to_run: usize,
    tty: bool,
    shared: Mutex<Shared>,
    bar: ProgressBar,
    start: Instant,
}

impl<'a> Sweep<'a> {
    /// A sweep of `total` runs into `dir`, `done` of them finished, `todo` to run.
    pub fn new(
        dir: &'a Path,
        checkpoint_every: u64,
        threads: usize,
        tty: bool,
        total: usize,
        done: usize,
        todo: Vec<Planned>,
    ) -> Self {
        let total = total as u64;
        Sweep {
            dir,
            checkpoint_every,
            threads,
            total,
            to_run: todo.len(),
            tty,
            bar: progress_bar(tty, total, done as u64),
            shared: Mutex::new(Shared {
                queue: todo.into_iter(),
                active: Vec::new(),
                done,
                ran: 0,
                skipped: 0,
                elsewhere: 0,
                errors: Vec::new(),
            }),
            start: Instant::now(),
        }
    }

    /// Runs the queue on `jobs` workers, then prints the closing line; the failures are the
    /// error.
    pub fn run(self, jobs: usize) -> Result<(), String> {
        std::thread::scope(|scope| {
            for _ in 0..jobs {
                scope.spawn(|| self.worker());
            }
        });
        self.finish()
    }
}

impl Sweep<'_> {
    fn log(&self, line: String) {
        if self.tty {
            self.bar.println(line);
        } else {
            eprintln!("{line}");
        }
    }

    /// The next run of the queue, marked as under way.
    fn next(&self) -> Option<Planned> {
        let mut s = lock(&self.shared);
        let next = s.queue.next();
        if let Some(p) = &next {
            s.active.push((p.name.clone(), 0, p.config.max_iter));
            self.bar.set_message(running(&s.active));
        }
        next
    }

    /// One worker: takes runs from the queue until it is empty, each on a pool of
    /// `threads` threads. A run that panics is reported as failed with the panic's message;
    /// the others go on (the lock is never held while a run computes).
    fn worker(&self) {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(self.threads)
            .build()
            .expect("a thread pool");
        while let Some(p) = self.next() {
            let held = match claim::claim(self.dir, &p.name) {
                Ok(Claimed::Mine(c)) => Some(c),
                Ok(Claimed::Elsewhere) => {
                    self.skipped(&p, false);
                    continue;
                }
                Ok(Claimed::Unlockable(why)) => {
                    self.log(format!("{}: {why}; running it unclaimed", p.name));
                    None
                }
                Err(e) => {
                    self.finished(&p, Err(e), 0.0);
                    continue;
                }
            };
            // Another sweep may have finished it since this one listed it.
            if matches!(state(self.dir, &p), Ok(State::Done)) {
                if let Some(c) = held {
                    c.release_finished();
                }
                self.skipped(&p, true);
                continue;
            }
            let t0 = Instant::now();
            let progress = |k: u64, max: u64| {
                let mut s = lock(&self.shared);
                if let Some(a) = s.active.iter_mut().find(|a| a.0 == p.name) {
                    a.1 = k;
                    a.2 = max;
                }
                self.bar.set_message(running(&s.active));
            };
            let outcome = pool
                .install(|| {
                    std::panic::catch_unwind(AssertUnwindSafe(|| {
                        run_one(self.dir, &p, self.checkpoint_every, &progress)
                    }))
                })
                .unwrap_or_else(|panic| Err(format!("panicked: {}", panic_message(&*panic))));
            if let (Ok(_), Some(c)) = (&outcome, held) {
                c.release_finished();
            }
            self.finished(&p, outcome, t0.elapsed().as_secs_f64());
        }
    }

    /// Records a run left to another sweep: under way there, or already `done` by it.
    fn skipped(&self, p: &Planned, done: bool) {
        let mut s = lock(&self.shared);
        s.active.retain(|a| a.0 != p.name);
        s.skipped += 1;
        let what = if done {
            s.done += 1;
            "done by another sweep"
        } else {
            s.elsewhere += 1;
            "running in another sweep: skipped"
        };
        self.log(format!("[{}/{}] {}: {what}", s.done, self.total, p.name));
        self.bar.set_position(s.done as u64);
        self.bar.set_message(running(&s.active));
    }

    /// Records a finished (or failed) run and prints its line.
    fn finished(&self, p: &Planned, outcome: Result<(RunResult, bool), String>, secs: f64) {
        let mut s = lock(&self.shared);
        s.active.retain(|a| a.0 != p.name);
        s.done += 1;
        s.ran += 1;
        let elapsed = self.start.elapsed().as_secs_f64();
        let left = self.to_run.saturating_sub(s.ran + s.skipped);
        let eta = elapsed / s.ran as f64 * left as f64;
        let line = match outcome {
            Ok((r, resumed)) => format!(
                "[{}/{}] {}: {} after {} iterations, test loss {} ({:.1} s{}) ETA {}",
                s.done,
                self.total,
                p.name,
                r.summary.status.name(),
                r.summary.iterations,
                r.summary
                    .final_test_loss
                    .map(|x| format!("{x:.4e}"))
                    .unwrap_or("-".into()),
                secs,
                if resumed { ", resumed" } else { "" },
                fmt_secs(eta)
            ),
            Err(e) => {
                s.errors.push(format!("{}: {e}", p.name));
                format!("[{}/{}] {}: FAILED: {e}", s.done, self.total, p.name)
            }
        };
        self.log(line);
        self.bar.set_position(s.done as u64);
        self.bar.set_message(running(&s.active));
    }

    /// The closing line, and the failures as the error.
    fn finish(self) -> Result<(), String> {
        self.bar.finish_and_clear();
        let s = self
            .shared
            .into_inner()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        eprintln!(
            "gn sweep: {} of {} runs done in {}{}{}",
            s.done - s.errors.len(),
            self.total,
            fmt_secs(self.start.elapsed().as_secs_f64()),
            if s.elsewhere == 0 {
                String::new()
            } else {
                format!(", {} left to another sweep", s.elsewhere)
            },
            if s.errors.is_empty() {
                String::new()
            } else {
                format!(", {} failed", s.errors.len())
            }
        );
        if s.errors.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "{} run(s) failed: {}",
                s.errors.len(),
                s.errors.join("; ")
            ))
        }
    }
}
