//! The tour: every example of this workspace, in the order of the GoFrame
//! documentation, against a collector running inside the tour, with each
//! trace drawn as a waterfall in the terminal. Nothing to install: no
//! Docker, no protoc, no network.
//!
//! 1. It builds the example binaries (`cargo build`, the tour's own
//!    profile; cargo shows its progress).
//! 2. It starts the embedded collector in this process: OTLP/gRPC on
//!    127.0.0.1:4317 and OTLP/HTTP on 127.0.0.1:4318 when they are free,
//!    free ports otherwise.
//! 3. It walks the table of examples (`examples.rs`), each run as a process
//!    of its own pointed at that collector, and printed as the `cargo run`
//!    command that does the same: in-process spans over HTTP, then over
//!    gRPC; the HTTP server and client; the otlp gRPC and HTTP clients
//!    against that server; a call of the server's failing route, `/error`;
//!    then the gRPC and the HTTP user services on a database and a cache
//!    (embedded SQLite, a cache in process), each client against its own
//!    server; a trace across a parent and its child process; and the
//!    provider built by hand, sampling one trace in two.
//! 4. After each one it draws the trace the collector received, and checks
//!    the trace has the documented shape (`testkit::expect`) and the
//!    process its exit status and output.
//! 5. It ends with a summary, and exits with status 0 only if all held (1
//!    if something differed, 2 on an error); with `--serve` the collector
//!    keeps running first, drawing every trace that arrives.
//!
//! Every line fits the terminal (its width, else `COLUMNS`, else 100
//! columns); span names are never cut, attributes are.
//!
//! Run with
//!
//! ```text
//! cargo run -p tour
//! cargo run -p tour -- --step    # before each example: what it shows, what to read; Enter runs it
//! cargo run -p tour -- --serve   # keep the collector running at the end, for your own runs
//! ```

mod binaries;
mod checks;
mod examples;
mod run;
mod serve;
mod show;
mod waterfall;

use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser;

use crate::binaries::Binaries;
use crate::examples::EXAMPLES;
use crate::run::Tour;
use crate::show::Screen;

/// A tour of every tracing example: runs each one against an embedded
/// collector and draws the trace it produced.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    /// Before each example, say what it shows, which file to read and how to
    /// run it alone, then wait for Enter
    #[arg(long)]
    step: bool,

    /// Keep the collector running at the end (until Ctrl-C) and draw every
    /// trace that arrives
    #[arg(long)]
    serve: bool,

    /// Do not run `cargo build`: use the example binaries already built next
    /// to the tour's executable
    #[arg(long)]
    no_build: bool,

    /// Width of the waterfall's time axis, in columns (narrower when the
    /// terminal is)
    #[arg(long, value_name = "COLUMNS", default_value_t = 40)]
    width: usize,

    /// Free ports for the collector even if 4317/4318 are free (tests)
    #[arg(long, hide = true)]
    ephemeral_ports: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let screen = Screen::new();
    match build_and_tour(&cli, &screen) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

/// The build (blocking, before any async work), then the tour.
fn build_and_tour(cli: &Cli, screen: &Screen) -> anyhow::Result<bool> {
    if !cli.no_build {
        screen.line("building the examples (cargo build; the first time takes a few minutes)");
        binaries::build()?;
    }
    let binaries = Binaries::locate()?;
    tokio::runtime::Runtime::new()
        .context("cannot start the async runtime")?
        .block_on(tour(cli, screen, &binaries))
}

/// The whole tour; `Ok(true)` if every example behaved as documented.
async fn tour(cli: &Cli, screen: &Screen, binaries: &Binaries) -> anyhow::Result<bool> {
    let collector = run::start_collector(screen, cli.ephemeral_ports).await?;

    let mut tour = Tour::new(&collector, binaries, screen, cli.step, cli.width);
    for (i, example) in EXAMPLES.iter().enumerate() {
        tour.example(i + 1, EXAMPLES.len(), example).await;
    }
    tour.stop_servers().await;
    let held = tour.summary();

    if cli.serve {
        serve::until_ctrl_c(screen, &collector, tour).await;
    }
    collector.shutdown().await;
    screen.blank();
    screen.line("the collector and its web view have stopped with the tour");
    if !cli.serve {
        screen.line("run with --serve to keep the collector and web view running");
    }
    Ok(held)
}
