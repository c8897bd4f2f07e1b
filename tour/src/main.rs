//! The tour: every example of this workspace, in the order of the GoFrame
//! documentation, against a collector running inside the tour, with each
//! trace drawn as a waterfall in the terminal. Nothing to install: no
//! Docker, no protoc, no network.
//!
//! 1. It builds the example binaries (`cargo build`, the tour's own profile).
//! 2. It starts the embedded collector in this process: OTLP/gRPC on
//!    127.0.0.1:4317 and OTLP/HTTP on 127.0.0.1:4318 when they are free,
//!    free ports otherwise.
//! 3. It runs each example as a process of its own, pointed at that
//!    collector: in-process spans over HTTP, then over gRPC; the HTTP server
//!    and client; the otlp gRPC and HTTP clients against that server; and a
//!    call of the server's failing route, `/error`.
//! 4. After each one it draws the trace the collector received, and checks
//!    the trace has the documented shape (`testkit::expect`) and the
//!    process its exit status and output.
//! 5. It ends with a summary, and exits with status 0 only if all held.
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
mod waterfall;

use std::collections::HashSet;
use std::io::{IsTerminal as _, Write as _};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use collector::{Collector, CollectorConfig, Trace, Transport};
use testkit::expect;
use testkit::process::{self, Finished, RunningServer};

use crate::binaries::Binaries;
use crate::waterfall::waterfall;
use collector::text;

/// Longest an example process may run before it is killed.
const PROCESS_LIMIT: Duration = Duration::from_secs(30);
/// Longest to wait for an example's trace once its process has ended.
const TRACE_WAIT: Duration = Duration::from_secs(10);
/// Demo tokens: the collector accepts any, the tour checks they arrive.
const INPROCESS_TOKEN: &str = "demo-token-inprocess";
const OTLP_TOKEN: &str = "demo-token-otlp";
/// A hosted backend's URL path, as in GoFrame's `otlphttp.Init(name, endpoint, path)`.
const CUSTOM_PATH: &str = "/adapt_x/api/otlp/traces";
const SERVER_SERVICE: &str = "otlp-http-server";

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

    /// Width of the waterfall's time axis, in columns
    #[arg(long, value_name = "COLUMNS", default_value_t = 40)]
    width: usize,

    /// Free ports for the collector even if 4317/4318 are free (tests)
    #[arg(long, hide = true)]
    ephemeral_ports: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match tour(&cli).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

/// The whole tour; `Ok(true)` if every example behaved as documented.
async fn tour(cli: &Cli) -> anyhow::Result<bool> {
    if !cli.no_build {
        println!("building examples (the first time takes a few minutes)...");
        binaries::build()?;
    }
    let bins = Binaries::locate()?;
    let collector = start_collector(cli.ephemeral_ports).await?;

    let mut tour = Tour::new(&collector, cli);
    walkthrough(&mut tour, &bins).await;
    let held = tour.summary();

    if cli.serve {
        serve_until_ctrl_c(&collector, tour.seen, tour.width).await;
    }
    collector.shutdown().await;
    Ok(held)
}

/// Every example, in the documentation's order.
async fn walkthrough(tour: &mut Tour<'_>, bins: &Binaries) {
    let collector = tour.collector;
    let grpc = collector.grpc_endpoint();
    let http = collector.http_endpoint();

    tour.introduce(&INPROCESS_HTTP).await;
    tour.run(Run {
        binary: &bins.inprocess_http,
        args: vec!["--endpoint".into(), http.clone()],
        succeeds: true,
        stdout: expect::inprocess_output,
        root_service: "inprocess",
        spans: 9,
        shape: |trace, _| {
            checks::all([
                expect::inprocess(trace, "inprocess"),
                checks::arrived_via(trace, "inprocess", Transport::HttpProtobuf, "/v1/traces"),
            ])
        },
    })
    .await;

    tour.introduce(&INPROCESS_GRPC).await;
    tour.run(Run {
        binary: &bins.inprocess_grpc,
        args: vec![
            "--endpoint".into(),
            grpc.clone(),
            "--token".into(),
            INPROCESS_TOKEN.into(),
        ],
        succeeds: true,
        stdout: expect::inprocess_output,
        root_service: "inprocess-grpc",
        spans: 9,
        shape: |trace, collector| {
            checks::all([
                expect::inprocess(trace, "inprocess-grpc"),
                checks::arrived_via_grpc(trace, "inprocess-grpc"),
                checks::token_arrived(collector, INPROCESS_TOKEN),
            ])
        },
    })
    .await;

    // The server runs from here to the end: every remaining client calls it.
    tour.introduce(&HTTP_CLIENT_SERVER).await;
    let Some(server) = tour.start_server(&bins.server, &http).await else {
        tour.skip(&[&HTTP_CLIENT_SERVER, &OTLP_GRPC, &OTLP_HTTP, &ERROR_ROUTE]);
        return;
    };
    let hello = server.url("/hello");
    tour.run(Run {
        binary: &bins.client,
        args: vec![
            "--url".into(),
            hello.clone(),
            "--endpoint".into(),
            http.clone(),
        ],
        succeeds: true,
        stdout: |out| expect::http_output(out, "hello:GoFrame"),
        root_service: "otlp-http-client",
        spans: 4,
        shape: |trace, _| expect::http_request(trace, "otlp-http-client", SERVER_SERVICE),
    })
    .await;

    tour.introduce(&OTLP_GRPC).await;
    tour.run(Run {
        binary: &bins.otlp_grpc,
        args: vec![
            "--url".into(),
            hello.clone(),
            "--endpoint".into(),
            grpc.clone(),
            "--token".into(),
            OTLP_TOKEN.into(),
        ],
        succeeds: true,
        stdout: |out| expect::http_output(out, "hello:john"),
        root_service: "otlp-grpc-client",
        spans: 4,
        shape: |trace, collector| {
            checks::all([
                expect::http_request(trace, "otlp-grpc-client", SERVER_SERVICE),
                checks::arrived_via_grpc(trace, "otlp-grpc-client"),
                checks::token_arrived(collector, OTLP_TOKEN),
            ])
        },
    })
    .await;

    tour.introduce(&OTLP_HTTP).await;
    tour.run(Run {
        binary: &bins.otlp_http,
        args: vec![
            "--url".into(),
            hello.clone(),
            "--endpoint".into(),
            http.clone(),
            "--path".into(),
            CUSTOM_PATH.into(),
        ],
        succeeds: true,
        stdout: |out| expect::http_output(out, "hello:john"),
        root_service: "otlp-http-client",
        spans: 4,
        shape: |trace, _| {
            checks::all([
                expect::http_request(trace, "otlp-http-client", SERVER_SERVICE),
                checks::arrived_via(
                    trace,
                    "otlp-http-client",
                    Transport::HttpProtobuf,
                    CUSTOM_PATH,
                ),
            ])
        },
    })
    .await;

    tour.introduce(&ERROR_ROUTE).await;
    tour.run(Run {
        binary: &bins.client,
        args: vec![
            "--url".into(),
            server.url("/error"),
            "--endpoint".into(),
            http.clone(),
        ],
        // Meant to fail: the client exits with status 1.
        succeeds: false,
        stdout: checks::no_output,
        root_service: "otlp-http-client",
        spans: 3,
        shape: |trace, _| expect::http_error(trace, "otlp-http-client", SERVER_SERVICE),
    })
    .await;

    tour.stop_server(server).await;
}

/// What a presenter says before an example runs.
struct Intro {
    title: &'static str,
    shows: &'static str,
    read: &'static [&'static str],
    alone: &'static [&'static str],
}

const INPROCESS_HTTP: Intro = Intro {
    title: "In-process spans, exported over OTLP/HTTP",
    shows: "One process traces its own function calls: main -> GetUser(1), GetUser(100) -> \
            GetInfo, GetDetail, GetScores, one trace of 9 spans, exported over OTLP/HTTP \
            (protobuf, gzip). User 1 does not exist: visible in the trace, not an error.",
    read: &["examples-inprocess-http/src/main.rs", "common/src/users.rs"],
    alone: &[
        "cargo run -p collector                 # in another terminal",
        "cargo run -p examples-inprocess-http",
    ],
};

const INPROCESS_GRPC: Intro = Intro {
    title: "In-process spans, exported over OTLP/gRPC with a token",
    shows: "The same 9 spans, exported over OTLP/gRPC with gzip and a token sent as \
            `authentication` metadata (GoFrame: otlpgrpc.Init(name, endpoint, token)).",
    read: &[
        "examples-inprocess-grpc/src/main.rs",
        "common/src/telemetry.rs",
    ],
    alone: &["cargo run -p examples-inprocess-grpc -- --token demo-token"],
};

const HTTP_CLIENT_SERVER: Intro = Intro {
    title: "HTTP server and client: one trace across two processes",
    shows: "The client opens StartRequests, puts the baggage name=GoFrame and calls /hello; \
            the traceparent and baggage headers carry both to the server, whose spans join \
            the same trace, and which answers hello:GoFrame from the baggage.",
    read: &[
        "examples-http/src/bin/client.rs",
        "examples-http/src/bin/server.rs",
        "common/src/client.rs",
    ],
    alone: &[
        "cargo run -p examples-http --bin server   # in another terminal",
        "cargo run -p examples-http --bin client",
    ],
};

const OTLP_GRPC: Intro = Intro {
    title: "The same call, exported over OTLP/gRPC with a token",
    shows: "The client call again (baggage name=john, answer hello:john), its spans sent \
            over OTLP/gRPC with a token, the server's over OTLP/HTTP: one trace all the same.",
    read: &["examples-otlp/src/bin/grpc.rs"],
    alone: &["cargo run -p examples-otlp --bin grpc -- --token demo-token   # server running"],
};

const OTLP_HTTP: Intro = Intro {
    title: "The same call, exported over OTLP/HTTP to a custom path",
    shows: "The client call again, its spans sent over OTLP/HTTP to the URL path a hosted \
            backend asks for (GoFrame: otlphttp.Init(name, endpoint, path)).",
    read: &["examples-otlp/src/bin/http.rs"],
    alone: &[
        "cargo run -p examples-otlp --bin http -- --path /adapt_x/api/otlp/traces   # server running",
    ],
};

const ERROR_ROUTE: Intro = Intro {
    title: "A failing call: the server's /error route (expected to fail)",
    shows: "/error always answers 500. The client exits with status 1, as it should, and \
            the trace shows the failure on both sides: status Error, status code 500, the \
            cause as an exception event on the server span.",
    read: &["examples-http/src/bin/server.rs (error_handler)"],
    alone: &["cargo run -p examples-http --bin client -- --url http://127.0.0.1:8000/error"],
};

/// One example process and what it must produce.
struct Run<'a> {
    binary: &'a Path,
    args: Vec<String>,
    /// Whether the process should exit with status 0.
    succeeds: bool,
    stdout: fn(&str) -> Result<(), Vec<String>>,
    /// The trace is the first new one with at least `spans` spans whose root
    /// span belongs to `root_service`.
    root_service: &'static str,
    spans: usize,
    /// The documented shape of that trace.
    shape: fn(&Trace, &Collector) -> Result<(), Vec<String>>,
}

/// How one example went.
struct Outcome {
    title: &'static str,
    spans: Option<usize>,
    problems: Vec<String>,
}

struct Tour<'c> {
    collector: &'c Collector,
    step: bool,
    stdin_open: bool,
    width: usize,
    /// Examples introduced so far.
    number: usize,
    current: &'static str,
    outcomes: Vec<Outcome>,
    /// Problems that belong to no one example (the server's own exit).
    other_problems: Vec<String>,
    /// Trace ids drawn already.
    seen: HashSet<String>,
}

/// How many examples the tour runs, for "3/6".
const EXAMPLES: usize = 6;

impl<'c> Tour<'c> {
    fn new(collector: &'c Collector, cli: &Cli) -> Self {
        Tour {
            collector,
            step: cli.step,
            stdin_open: true,
            width: cli.width.clamp(10, 200),
            number: 0,
            current: "",
            outcomes: Vec::new(),
            other_problems: Vec::new(),
            seen: HashSet::new(),
        }
    }

    /// The title; with `--step`, also what to read and how to run it alone,
    /// then a pause until Enter.
    async fn introduce(&mut self, intro: &Intro) {
        self.number += 1;
        self.current = intro.title;
        println!();
        println!("━━ {}/{EXAMPLES} · {}", self.number, intro.title);
        println!("{}", wrap(intro.shows, 78, "   "));
        if !self.step {
            return;
        }
        println!("   read:       {}", intro.read.join(", "));
        for (i, command) in intro.alone.iter().enumerate() {
            let label = if i == 0 { "run alone:" } else { "" };
            println!("   {label:<10}  {command}");
        }
        self.pause().await;
    }

    /// Waits for Enter; on end of input (stdin closed) it never waits again.
    async fn pause(&mut self) {
        if !self.stdin_open {
            return;
        }
        print!("   press Enter to run it ");
        let _ = std::io::stdout().flush();
        let read = tokio::task::spawn_blocking(|| {
            let mut line = String::new();
            std::io::stdin().read_line(&mut line)
        })
        .await;
        if !matches!(read, Ok(Ok(n)) if n > 0) {
            self.stdin_open = false;
            println!("(no input: not pausing any more)");
        } else if !std::io::stdin().is_terminal() {
            // A terminal echoes the Enter; piped input does not.
            println!();
        }
    }

    /// Runs one example, draws its trace, checks both.
    async fn run(&mut self, run: Run<'_>) {
        let mut problems = Vec::new();
        let mut command = process::example_command(&run.binary.to_string_lossy());
        command.args(&run.args);
        println!("$ {} {}", file_name(run.binary), run.args.join(" "));
        match process::run(&mut command, PROCESS_LIMIT).await {
            Ok(out) => {
                show_process(&out);
                if out.status.success() != run.succeeds {
                    problems.push(format!(
                        "the process exited with {}, expected {}; its stderr:\n{}",
                        out.status,
                        if run.succeeds { "success" } else { "a failure" },
                        text::escape(out.stderr.trim_end())
                    ));
                }
                if let Err(found) = (run.stdout)(&out.stdout) {
                    problems.extend(found);
                }
            }
            Err(error) => problems.push(format!("{error:#}")),
        }

        let mut spans = None;
        match self.trace_of(&run).await {
            Some(trace) => {
                println!();
                println!("{}", indent(&waterfall(&trace, self.width), "   "));
                self.seen.insert(trace.trace_id.clone());
                spans = Some(trace.spans.len());
                if let Err(found) = (run.shape)(&trace, self.collector) {
                    problems.extend(found);
                }
            }
            None => problems.push(format!(
                "no new trace from {} reached the collector within {TRACE_WAIT:?}",
                run.root_service
            )),
        }

        println!();
        if problems.is_empty() {
            println!("   ✓ as documented");
        } else {
            for problem in &problems {
                println!("   ✗ {}", indent(problem, "     ").trim_start());
            }
        }
        self.outcomes.push(Outcome {
            title: self.current,
            spans,
            problems,
        });
    }

    /// The example's trace: the first new one from `root_service` with
    /// enough spans; failing that, after the wait, any new one from it, so
    /// that a trace of the wrong shape is still drawn.
    async fn trace_of(&self, run: &Run<'_>) -> Option<Trace> {
        let is_new_from = |trace: &Trace, service: &str| {
            !self.seen.contains(&trace.trace_id)
                && trace
                    .root()
                    .is_some_and(|root| root.service_name == service)
        };
        let found = self
            .collector
            .wait_for_trace(
                |t| is_new_from(t, run.root_service) && t.spans.len() >= run.spans,
                TRACE_WAIT,
            )
            .await;
        match found {
            Ok(trace) => Some(trace),
            Err(_) => self
                .collector
                .traces()
                .into_iter()
                .find(|t| is_new_from(t, run.root_service)),
        }
    }

    /// `examples-http`'s server on a free port; `None` (and a problem
    /// recorded) if it does not start.
    async fn start_server(&mut self, binary: &Path, endpoint: &str) -> Option<RunningServer> {
        let args = ["--listen", "127.0.0.1:0", "--endpoint", endpoint];
        println!(
            "$ {} {}   # runs until the tour ends",
            file_name(binary),
            args.join(" ")
        );
        let mut command = process::example_command(&binary.to_string_lossy());
        // Export every 100 ms instead of every 5 s, so that each trace is
        // complete as soon as its client has ended.
        command.args(args).env("OTEL_BSP_SCHEDULE_DELAY", "100");
        match process::start_server(&mut command, PROCESS_LIMIT).await {
            Ok(server) => {
                println!("   listening on {}", server.url(""));
                Some(server)
            }
            Err(error) => {
                println!(
                    "   ✗ the server did not start: {}",
                    text::escape(&format!("{error:#}"))
                );
                self.other_problems
                    .push(format!("the server did not start: {error:#}"));
                None
            }
        }
    }

    /// Records examples that could not run.
    fn skip(&mut self, intros: &[&Intro]) {
        for intro in intros {
            self.outcomes.push(Outcome {
                title: intro.title,
                spans: None,
                problems: vec!["not run: the server did not start".to_owned()],
            });
        }
    }

    /// SIGTERM, as `docker stop` sends: the server finishes, flushes its
    /// spans, says where they went and exits with status 0.
    async fn stop_server(&mut self, server: RunningServer) {
        println!();
        println!("━━ stopping the server (SIGTERM): it flushes its last spans and exits");
        let stopped = match server.terminate() {
            Ok(()) => server.wait(PROCESS_LIMIT).await,
            Err(error) => Err(error),
        };
        match stopped {
            Ok(out) => {
                show_process(&out);
                if !out.status.success() {
                    self.other_problems.push(format!(
                        "the server exited with {}:\n{}",
                        out.status,
                        text::escape(out.stderr.trim_end())
                    ));
                }
            }
            Err(error) => self
                .other_problems
                .push(format!("stopping the server: {error:#}")),
        }
    }

    /// Prints the summary; `true` if everything held.
    fn summary(&self) -> bool {
        println!();
        println!("━━ summary");
        for (i, outcome) in self.outcomes.iter().enumerate() {
            let mark = if outcome.problems.is_empty() {
                "✓"
            } else {
                "✗"
            };
            let spans = match outcome.spans {
                Some(n) => format!("1 trace, {n} spans"),
                None => "no trace".to_owned(),
            };
            println!("   {mark} {}. {:<66} {spans}", i + 1, outcome.title);
            for problem in &outcome.problems {
                println!("       - {}", first_line(problem));
            }
        }
        for problem in &self.other_problems {
            println!("   ✗ {}", first_line(problem));
        }
        let run = self.outcomes.iter().filter(|o| o.spans.is_some()).count();
        let spans: usize = self.outcomes.iter().filter_map(|o| o.spans).sum();
        let differences: usize = self
            .outcomes
            .iter()
            .map(|o| o.problems.len())
            .sum::<usize>()
            + self.other_problems.len();
        let verdict = match differences {
            0 => "all as expected".to_owned(),
            1 => "1 difference (above)".to_owned(),
            n => format!("{n} differences (above)"),
        };
        println!(
            "{} examples run, {run} traces, {spans} spans: {verdict}",
            self.outcomes.len()
        );
        differences == 0
    }
}

/// The embedded collector, on the standard ports if they are free.
async fn start_collector(ephemeral: bool) -> anyhow::Result<Collector> {
    if !ephemeral {
        let standard = CollectorConfig {
            print_traces: false,
            ..CollectorConfig::default()
        };
        match Collector::start(standard).await {
            Ok(collector) => {
                show_collector(&collector, "the standard ports");
                return Ok(collector);
            }
            Err(_) => println!(
                "127.0.0.1:4317/4318/16686 are taken (another collector, or Jaeger?): using free ports"
            ),
        }
    }
    let collector = Collector::start(CollectorConfig::ephemeral()).await?;
    show_collector(&collector, "free ports");
    Ok(collector)
}

fn show_collector(collector: &Collector, which: &str) {
    println!(
        "collector (inside the tour, {which}): OTLP/gRPC {} · OTLP/HTTP {}",
        collector.grpc_endpoint(),
        collector.http_endpoint()
    );
    if let Some(url) = collector.ui_url() {
        println!("web view: {url}");
    }
}

/// `--serve`: the addresses, then every new trace drawn as it completes,
/// until Ctrl-C.
async fn serve_until_ctrl_c(collector: &Collector, mut seen: HashSet<String>, width: usize) {
    println!();
    println!("━━ the collector keeps running (Ctrl-C to stop)");
    println!("   OTLP/gRPC  {}", collector.grpc_endpoint());
    println!("   OTLP/HTTP  {}", collector.http_endpoint());
    if let Some(url) = collector.ui_url() {
        println!("   web view   {url}");
    }
    println!(
        "   try: cargo run -p examples-inprocess-http -- --endpoint {}",
        collector.http_endpoint()
    );
    // A trace is drawn once it is complete and has not grown for a second.
    let mut sizes: std::collections::HashMap<String, usize> = Default::default();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        tokio::select! {
            _ = &mut ctrl_c => break,
            _ = tick.tick() => {
                for trace in collector.traces() {
                    if seen.contains(&trace.trace_id) {
                        continue;
                    }
                    let size = trace.spans.len();
                    let settled = sizes.insert(trace.trace_id.clone(), size) == Some(size);
                    if settled && trace.is_complete() {
                        println!();
                        println!("{}", indent(&waterfall(&trace, width), "   "));
                        seen.insert(trace.trace_id);
                    }
                }
            }
        }
    }
    println!();
}

/// The exit status, the example's stdout, and the lines of its stderr that
/// tell the story: errors and where the spans went.
fn show_process(out: &Finished) {
    println!(
        "   exit status {} after {:.1} s",
        out.status
            .code()
            .map_or("none".to_owned(), |c| c.to_string()),
        out.elapsed.as_secs_f64()
    );
    for (i, line) in stdout_lines(&out.stdout).iter().enumerate() {
        let label = if i == 0 { "stdout" } else { "" };
        println!("   {label:<6} │ {}", text::escape(line));
    }
    let told = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("error:") || l.starts_with("exported "));
    for (i, line) in told.enumerate() {
        let label = if i == 0 { "stderr" } else { "" };
        println!("   {label:<6} │ {}", text::escape(line));
    }
}

/// Stdout as lines; JSON values (the in-process examples print users as
/// pretty JSON) one per line.
fn stdout_lines(stdout: &str) -> Vec<String> {
    let values: Result<Vec<serde_json::Value>, _> = serde_json::Deserializer::from_str(stdout)
        .into_iter()
        .collect();
    match values {
        Ok(values) if !values.is_empty() => values.iter().map(|v| v.to_string()).collect(),
        _ => stdout.lines().map(str::to_owned).collect(),
    }
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

fn indent(text: &str, prefix: &str) -> String {
    text.lines()
        .map(|line| format!("{prefix}{line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `text` in lines of at most `width` characters, each after `prefix`.
fn wrap(text: &str, width: usize, prefix: &str) -> String {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    lines.push(line);
    indent(&lines.join("\n"), prefix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_keeps_words_whole() {
        assert_eq!(wrap("aa bb cc dd", 5, "> "), "> aa bb\n> cc dd");
        assert_eq!(wrap("", 5, "> "), "");
    }

    #[test]
    fn stdout_json_is_shown_one_value_per_line() {
        assert_eq!(
            stdout_lines("{}\n{\n  \"id\": 1\n}\n"),
            ["{}", "{\"id\":1}"]
        );
        assert_eq!(stdout_lines("hello:GoFrame\n"), ["hello:GoFrame"]);
        assert!(stdout_lines("").is_empty());
    }
}
