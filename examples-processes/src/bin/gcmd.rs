//! A command-line program that calls itself, traced as GoFrame's `gcmd`
//! does: each command opens a SERVER span named after itself where it
//! runs, in the context found in the environment. `gcmd main` (the default)
//! runs `gcmd sub` as a child process; the child's `gcmd sub` span lands
//! under the parent's `gcmd main` span, in one trace, both exported.
//!
//! `gproc` shows a program that runs others (one span over the child's
//! run); this one shows a CLI whose every command is traced like a request.
//!
//! Run with (start a collector first: `cargo run -p collector`)
//!
//! ```text
//! cargo run -p examples-processes --bin gcmd
//! cargo run -p examples-processes --bin gcmd -- --baggage user=john main
//! ```

use std::future::Future;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::{CommandFactory as _, FromArgMatches as _, Parser, Subcommand};
use common::config::HttpExporterArgs;
use common::telemetry;
use examples_processes::child::{self, ChildArgs, ExporterFlags};
use examples_processes::{ChildEnv, EnvExtractor, Names};
use opentelemetry::trace::{FutureExt as _, SpanKind, Status, TraceContextExt as _, Tracer as _};
use opentelemetry::{Context, global};

const SERVICE_NAME: &str = "gcmd";
const SUB_SERVICE_NAME: &str = "gcmd-sub";

/// A program whose commands are traced; `main` runs `sub` as a child process.
#[derive(Debug, Parser)]
#[command(version, after_help = common::config::env::help())]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,

    #[command(flatten)]
    child: ChildArgs,

    #[command(flatten)]
    otlp: HttpExporterArgs,
}

#[derive(Debug, Clone, Copy, Subcommand)]
enum Command {
    /// The main process (the default): runs `gcmd sub`
    Main,
    /// The sub process: continues the trace found in its environment
    Sub,
}

impl Command {
    /// The command's name as the span's: low-cardinality, unlike the
    /// whole command line GoFrame uses.
    fn span_name(&self) -> &'static str {
        match self {
            Command::Main => "gcmd main",
            Command::Sub => "gcmd sub",
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    // The matches as well as the parsed flags: they tell which exporter
    // flags were given on the command line, to hand them to the child.
    let matches = Cli::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(error) => error.exit(),
    };
    // Read once, at start-up: the context this process was started in.
    let names = cli.child.names();
    let inherited = EnvExtractor::from_process(names);

    let command = cli.command.unwrap_or(Command::Main);
    let service = match command {
        Command::Main => SERVICE_NAME,
        Command::Sub => SUB_SERVICE_NAME,
    };
    let telemetry = match cli
        .otlp
        .resolve(service)
        .and_then(|config| telemetry::init(&config))
    {
        Ok(telemetry) => telemetry,
        Err(error) => {
            eprintln!("error: {error:#}");
            return ExitCode::from(2);
        }
    };
    let parent = inherited.extract();

    let ran = run(service, command.span_name(), &parent, async {
        match command {
            Command::Main => {
                let flags = ExporterFlags::from_matches(&matches);
                main_command(&cli.child, flags).await
            }
            Command::Sub => sub_command(),
        }
    })
    .await;
    let delivered = telemetry.shutdown().exit_code();
    match ran {
        Ok(()) => delivered,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs a command inside its SERVER span (a child of the context from the
/// environment, as a server's span is of the request's headers); a failed
/// command is an error span.
async fn run(
    service: &'static str,
    name: &'static str,
    parent: &Context,
    command: impl Future<Output = anyhow::Result<()>>,
) -> anyhow::Result<()> {
    let tracer = global::tracer(service);
    let span = tracer
        .span_builder(name)
        .with_kind(SpanKind::Server)
        .start_with_context(&tracer, parent);
    let cx = parent.with_span(span);
    let result = command.with_context(cx.clone()).await;
    if let Err(error) = &result {
        cx.span().set_status(Status::error(format!("{error:#}")));
    }
    cx.span().end();
    result
}

/// `gcmd main`: logs GoFrame's line, then runs `gcmd sub` with this
/// command's context (and the baggage) in its environment.
async fn main_command(args: &ChildArgs, flags: ExporterFlags) -> anyhow::Result<()> {
    tracing::info!("this is main process");
    let cx = args.with_baggage(&Context::current());

    let names = args.names();
    let mut env = ChildEnv::inherit(names);
    flags.hand_to(&mut env, &|name| std::env::var(name).ok());
    env.inject(&cx);

    let exe = std::env::current_exe().context("cannot find this program's executable")?;
    let mut command = tokio::process::Command::new(exe);
    if names == Names::WithGoFrame {
        command.arg("--goframe-env");
    }
    command.arg("sub");
    let ran = child::run(&mut command, &env, args.timeout())
        .await
        .context("cannot run `gcmd sub`")?;
    if !ran.outcome.success() {
        bail!("`gcmd sub` {}", ran.outcome);
    }
    Ok(())
}

/// `gcmd sub`: GoFrame's line, and the baggage it received.
fn sub_command() -> anyhow::Result<()> {
    tracing::info!("this is sub process");
    child::print_baggage(&Context::current());
    Ok(())
}
