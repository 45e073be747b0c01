//! `gn plot DIR --out FIGDIR`: the paper's figures from a sweep's results, each as SVG and
//! PNG; what each figure plots and how it is drawn live in the library (`figures`).

use clap::Args;
use gauss_newton::figures;
use gauss_newton::runs::load_dir;
use std::path::PathBuf;

#[derive(Args, Clone, Debug)]
pub struct PlotArgs {
    /// Folder of run results (a `gn sweep --out` folder)
    pub dir: PathBuf,
    /// Folder for the figures (created if missing)
    #[arg(long, value_name = "FIGDIR")]
    pub out: PathBuf,
    /// N of the per-iteration figures [default: every N present]
    #[arg(long)]
    pub n: Option<usize>,
    /// Seed of the per-iteration figures [default: the smallest present]
    #[arg(long)]
    pub seed: Option<u64>,
    /// Image width in pixels of one panel (the figure is a grid of panels)
    #[arg(long, default_value_t = 420)]
    pub panel_width: u32,
}

/// Writes the folder's figures and prints each file written.
pub fn main(args: PlotArgs) -> Result<(), String> {
    figures::register_font()?;
    let runs = load_dir(&args.dir)?;
    std::fs::create_dir_all(&args.out)
        .map_err(|x| format!("--out {}: cannot create ({x})", args.out.display()))?;
    let figs = figures::figures(&runs, args.n, args.seed);
    if figs.is_empty() {
        return Err(format!("{}: nothing to plot", args.dir.display()));
    }
    for fig in &figs {
        for p in figures::save(fig, &args.out, args.panel_width.max(200))? {
            println!("{}", p.display());
        }
    }
    Ok(())
}
