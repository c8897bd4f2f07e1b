//! One trace across two processes: the parent opens a span, injects its
//! context into the child's copy of the environment (`TRACEPARENT`,
//! `TRACESTATE`, `BAGGAGE`), and runs the child inside the span; the child
//! extracts the context at start-up and its spans join the same trace.
//! Both export. The child is this same program (`gproc sub`), or a shell
//! command with `--shell` (GoFrame's `gproc.ShellRun`).
//!
//! A process started with `TRACEPARENT` in its environment continues that
//! trace, so `gproc` can itself be the child of a script or another tool.
//!
//! Run with (start a collector first: `cargo run -p collector`)
//!
//! ```text
//! cargo run -p examples-processes --bin gproc
//! cargo run -p examples-processes --bin gproc -- --baggage user=john
//! cargo run -p examples-processes --bin gproc -- --shell 'exit 3'
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{CommandFactory as _, FromArgMatches as _, Parser, Subcommand};
use common::config::HttpExporterArgs;
use common::telemetry;
use examples_processes::child::{self, ChildArgs, ExporterFlags, Ran};
use examples_processes::{ChildEnv, EnvExtractor, Names};
use opentelemetry::trace::{FutureExt as _, SpanKind, Status, TraceContextExt as _, Tracer as _};
use opentelemetry::{Array, Context, KeyValue, StringValue, Value, global};
use opentelemetry_semantic_conventions::attribute::{
    PROCESS_COMMAND, PROCESS_COMMAND_ARGS, PROCESS_EXIT_CODE, PROCESS_PID,
};

const SERVICE_NAME: &str = "gproc";
const SUB_SERVICE_NAME: &str = "gproc-sub";

/// Runs a child process inside a span; the trace continues in the child.
#[derive(Debug, Parser)]
#[command(version, after_help = common::config::env::help())]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,

    /// Run this shell command (`sh -c CMD`) as the child instead of `gproc sub`
    #[arg(long, value_name = "CMD")]
    shell: Option<String>,

    #[command(flatten)]
    child: ChildArgs,

    #[command(flatten)]
    otlp: HttpExporterArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The child: continues the trace found in its environment
    Sub,
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

    let service = match cli.command {
        Some(Command::Sub) => SUB_SERVICE_NAME,
        None => SERVICE_NAME,
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
    // Extracted after `init`, which installs the W3C propagators.
    let parent = inherited.extract();

    let ran = match cli.command {
        Some(Command::Sub) => sub(parent),
        None => main_process(&cli, &matches, parent, names).await,
    };
    let delivered = telemetry.shutdown().exit_code();
    if ran { delivered } else { ExitCode::FAILURE }
}

/// The parent: one span over the child's whole run.
async fn main_process(
    cli: &Cli,
    matches: &clap::ArgMatches,
    parent: Context,
    names: Names,
) -> bool {
    let (program, args, name) = match child_command(cli) {
        Ok(command) => command,
        Err(error) => {
            eprintln!("error: {error:#}");
            return false;
        }
    };
    // INTERNAL, as GoFrame's: the child is not a service answering a
    // request, it is part of this program's work.
    let tracer = global::tracer(SERVICE_NAME);
    let span = tracer
        .span_builder(name.clone())
        .with_kind(SpanKind::Internal)
        .with_attributes([
            KeyValue::new(PROCESS_COMMAND, program.display().to_string()),
            KeyValue::new(
                PROCESS_COMMAND_ARGS,
                Value::Array(Array::String(
                    args.iter().cloned().map(StringValue::from).collect(),
                )),
            ),
        ])
        .start_with_context(&tracer, &parent);
    // The baggage the parent was started with, plus --baggage.
    let cx = cli.child.with_baggage(&parent.with_span(span));

    // Everything below runs in the span's context (log lines carry its trace id).
    let ok = async {
        tracing::info!("this is main process");
        // The child's environment: a copy of ours, the stale context
        // removed, our exporter flags as variables, our span's context.
        let mut env = ChildEnv::inherit(names);
        ExporterFlags::from_matches(matches).hand_to(&mut env, &|name| std::env::var(name).ok());
        env.inject(&cx);

        let mut command = tokio::process::Command::new(&program);
        command.args(&args);
        match child::run(&mut command, &env, cli.child.timeout()).await {
            Ok(ran) => record(&cx, &name, ran),
            Err(error) => {
                let message = format!("cannot run `{name}`: {error}");
                cx.span().set_status(Status::error(message.clone()));
                tracing::error!("{message}");
                false
            }
        }
    }
    .with_context(cx.clone())
    .await;
    cx.span().end();
    ok
}

/// The child's program, arguments and span name: this program again
/// (`gproc sub`), or `sh -c CMD`.
fn child_command(cli: &Cli) -> anyhow::Result<(PathBuf, Vec<String>, String)> {
    if let Some(shell) = &cli.shell {
        return Ok(("sh".into(), vec!["-c".into(), shell.clone()], shell.clone()));
    }
    let exe = std::env::current_exe()
        .context("cannot find this program's executable to run it as the child")?;
    let mut args = vec!["sub".to_owned()];
    if cli.child.goframe_env {
        args.insert(0, "--goframe-env".to_owned());
    }
    Ok((exe, args, "gproc sub".to_owned()))
}

/// The child process on the span (semantic conventions `process.*`); an
/// error unless it exited with 0.
fn record(cx: &Context, name: &str, ran: Ran) -> bool {
    let span = cx.span();
    span.set_attribute(KeyValue::new(PROCESS_PID, i64::from(ran.pid)));
    if let Some(code) = ran.outcome.exit_code() {
        span.set_attribute(KeyValue::new(PROCESS_EXIT_CODE, i64::from(code)));
    }
    let outcome = ran.outcome;
    if outcome.success() {
        tracing::info!("`{name}` {outcome}");
        return true;
    }
    span.set_status(Status::error(format!("`{name}` {outcome}")));
    tracing::error!("`{name}` {outcome}");
    false
}

/// The child: its own span under the parent's, and the baggage it received.
fn sub(parent: Context) -> bool {
    let span = global::tracer(SUB_SERVICE_NAME).start_with_context("sub", &parent);
    let cx = parent.with_span(span);
    let _attached = cx.clone().attach();
    tracing::info!("this is sub process");
    child::print_baggage(&cx);
    cx.span().end();
    true
}
