//! `gn report DIR`: loads the runs, has the library write the report ([`gauss_newton::report`])
//! and writes it out.

use clap::Args;
use gauss_newton::report::report;
use gauss_newton::runs::load_dir;
use std::path::PathBuf;

#[derive(Args, Clone, Debug)]
pub struct ReportArgs {
    /// Folder of run results (a `gn sweep --out` folder)
    pub dir: PathBuf,
    /// Write the Markdown to FILE instead of stdout
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Also write the claim checks as JSON to FILE
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

pub fn main(args: ReportArgs) -> Result<(), String> {
    let runs = load_dir(&args.dir)?;
    let (md, json) = report(&runs, &args.dir.display().to_string())?;
    if let Some(path) = &args.json {
        crate::files::write_atomic(path, &json)?;
    }
    match &args.out {
        Some(path) => crate::files::write_atomic(path, &md),
        None => {
            print!("{md}");
            Ok(())
        }
    }
}
