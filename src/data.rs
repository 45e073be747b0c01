//! Teacher-student data (DESIGN.md §2), drawn from a seed.
//!
//! Four independent ChaCha streams of one seed: the teacher, the training pool, the test set
//! and the student's initialisation. Rows are drawn one after another, so the first N rows of
//! the pool do not depend on its size: the N = 100 set is a subset of the N = 500 set, and the
//! student's initial weights do not depend on N.

use crate::config::Config;
use crate::network::Network;
use nalgebra::{DMatrix, DVector};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use rand_distr::{Distribution, StandardNormal};

/// The training and test sets and the teacher that labelled them.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    /// N×d training inputs.
    pub x_train: DMatrix<f64>,
    pub y_train: DVector<f64>,
    /// n_test×d test inputs.
    pub x_test: DMatrix<f64>,
    pub y_test: DVector<f64>,
    pub teacher: Network,
}

const STREAM_TEACHER: u64 = 0;
const STREAM_TRAIN: u64 = 1;
const STREAM_TEST: u64 = 2;
const STREAM_STUDENT: u64 = 3;

fn rng(seed: u64, stream: u64) -> ChaCha20Rng {
    let mut r = ChaCha20Rng::seed_from_u64(seed);
    r.set_stream(stream);
    r
}

/// A rows×cols matrix of N(0, scale²) entries, drawn row by row.
fn normal_rows(r: &mut ChaCha20Rng, rows: usize, cols: usize, scale: f64) -> DMatrix<f64> {
    let mut a = DMatrix::zeros(rows, cols);
    for i in 0..rows {
        for j in 0..cols {
            let z: f64 = StandardNormal.sample(r);
            a[(i, j)] = scale * z;
        }
    }
    a
}

fn normal_vec(r: &mut ChaCha20Rng, len: usize, scale: f64) -> DVector<f64> {
    DVector::from_iterator(
        len,
        (0..len).map(|_| {
            let z: f64 = StandardNormal.sample(r);
            scale * z
        }),
    )
}

impl Dataset {
    /// Draws the teacher (all parameters N(0, 1)), the training inputs (the first N of the
    /// pool) and the test inputs, x ~ N(0, I_d), and labels them y = f*(x), without noise.
    pub fn generate(cfg: &Config) -> Dataset {
        let mut r = rng(cfg.seed, STREAM_TEACHER);
        let u = normal_rows(&mut r, cfg.m_teacher, cfg.d, 1.0);
        let b = normal_vec(&mut r, cfg.m_teacher, 1.0);
        let v = normal_vec(&mut r, cfg.m_teacher, 1.0);
        let teacher = Network { u, b, v };
        let x_train = normal_rows(&mut rng(cfg.seed, STREAM_TRAIN), cfg.n, cfg.d, 1.0);
        let x_test = normal_rows(&mut rng(cfg.seed, STREAM_TEST), cfg.n_test, cfg.d, 1.0);
        let y_train = teacher.predict(cfg.activation, &x_train);
        let y_test = teacher.predict(cfg.activation, &x_test);
        Dataset {
            x_train,
            y_train,
            x_test,
            y_test,
            teacher,
        }
    }
}

/// The student at initialisation: U, b ~ N(0, τ₀²) i.i.d., v = 0 (so f ≡ 0).
pub fn init_student(cfg: &Config) -> Network {
    let mut r = rng(cfg.seed, STREAM_STUDENT);
    let u = normal_rows(&mut r, cfg.m, cfg.d, cfg.tau0);
    let b = normal_vec(&mut r, cfg.m, cfg.tau0);
    Network {
        u,
        b,
        v: DVector::zeros(cfg.m),
    }
}
