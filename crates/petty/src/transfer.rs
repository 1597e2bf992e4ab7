//! `petty move --to postgres://...`: the embedded database copied into an empty PostgreSQL
//! database (see `petty_store::move_to_postgres`), with progress, and what was moved, verified.

use anyhow::{Context, bail};
use clap::Args;

use crate::cli::CommonArgs;
use crate::config::Loaded;

#[derive(Args)]
pub(crate) struct MoveArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// The PostgreSQL database to move into (new and empty, or one an interrupted move left):
    /// postgres://USER@HOST/DB
    #[arg(long, value_name = "URL")]
    to: String,
}

pub(crate) async fn run(loaded: Loaded, args: MoveArgs) -> anyhow::Result<()> {
    let config = &loaded.config;
    if config.database_url.is_some() {
        bail!("petty move copies the embedded database: leave out --database-url (the target is --to)");
    }
    if !(args.to.starts_with("postgres://") || args.to.starts_with("postgresql://")) {
        bail!("--to must be a PostgreSQL URL: postgres://USER@HOST/DB");
    }
    let db = config.data_dir.join("petty.db");
    if !db.exists() {
        bail!("there is no Petty database at {} (check --data-dir)", db.display());
    }
    let bar = crate::progress::count(0, "moving", "rows");
    let total = |n: u64| bar.set_length(n);
    let done = |n: u64| bar.inc(n);
    let moved = petty_store::move_to_postgres(&db, &args.to, &total, &done).await;
    bar.finish_and_clear();
    let moved = moved.context("the move stopped (run it again to go on where it stopped)")?;
    let rows: u64 = moved.iter().map(|t| t.rows).sum();
    for t in &moved {
        println!("{:<28} {:>10} rows  sha256 {}", t.table, t.rows, &t.sha256[..16]);
    }
    println!(
        "moved {rows} rows in {} tables into PostgreSQL; every table has the same rows and checksum on both sides. \
         Start Petty on it with --database-url (or PETTY_DATABASE_URL); keep {} as it is until you are sure.",
        moved.len(),
        db.display()
    );
    Ok(())
}
