//! Running the examples: the embedded collector, each example as a
//! process of its own, the servers the client examples call, and what each
//! one left: exit status, output, trace, checks.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use collector::{Collector, CollectorConfig, Trace, text};
use testkit::process::{self, RunningServer};

use crate::binaries::Binaries;
use crate::examples::{Endpoints, Example, Server};
use crate::show::Screen;
use crate::waterfall::waterfall;

/// Longest an example process may run before it is killed.
const PROCESS_LIMIT: Duration = Duration::from_secs(30);
/// Longest to wait for an example's trace once its process has ended.
const TRACE_WAIT: Duration = Duration::from_secs(10);
/// A waterfall is indented this much under its example.
const INDENT: &str = "   ";
/// The resource attribute the tour sets on each example it runs (through
/// `OTEL_RESOURCE_ATTRIBUTES`): its trace is the one that carries it, and a
/// trace without it (a run of your own during a pause) is another trace.
pub(crate) const RUN_ATTRIBUTE: &str = "tour.run";

/// The embedded collector, on the standard ports if they are free (and
/// `ephemeral` is off), free ports otherwise.
pub(crate) async fn start_collector(screen: &Screen, ephemeral: bool) -> anyhow::Result<Collector> {
    if !ephemeral {
        let standard = CollectorConfig {
            print_traces: false,
            ..CollectorConfig::default()
        };
        match Collector::start(standard).await {
            Ok(collector) => {
                screen.collector("collector (inside the tour, the standard ports):", &collector);
                return Ok(collector);
            }
            Err(_) => screen.line(
                "127.0.0.1:4317/4318/16686 are taken (another collector, or Jaeger?): using free ports",
            ),
        }
    }
    let collector = Collector::start(CollectorConfig::ephemeral()).await?;
    screen.collector("collector (inside the tour, free ports):", &collector);
    Ok(collector)
}

/// How one example went.
pub(crate) struct Outcome {
    pub(crate) title: &'static str,
    /// The spans of its trace, if one came.
    pub(crate) spans: Option<usize>,
    pub(crate) problems: Vec<String>,
}

/// A server, from the first example that calls it to the end.
enum ServerState {
    Running(Box<RunningServer>),
    /// It did not start: the examples that call it are not run.
    Failed,
}

/// The walk through the examples, and what it found.
pub(crate) struct Tour<'a> {
    collector: &'a Collector,
    binaries: &'a Binaries,
    screen: &'a Screen,
    /// `--step`, until stdin is closed.
    pause: bool,
    step: bool,
    /// Columns of the waterfall's time axis.
    bar_width: usize,
    endpoints: Endpoints,
    /// The servers started so far, in the order they were.
    servers: Vec<(&'static Server, ServerState)>,
    outcomes: Vec<Outcome>,
    /// Problems that belong to no one example (the server's own exit).
    other_problems: Vec<String>,
    /// Trace ids drawn already.
    drawn: HashSet<String>,
    /// This tour's runs are `tour.run=<session>-<number>`.
    session: String,
}

impl<'a> Tour<'a> {
    pub(crate) fn new(
        collector: &'a Collector,
        binaries: &'a Binaries,
        screen: &'a Screen,
        step: bool,
        bar_width: usize,
    ) -> Tour<'a> {
        Tour {
            collector,
            binaries,
            screen,
            pause: step,
            step,
            bar_width: bar_width.clamp(10, 200),
            endpoints: Endpoints {
                grpc: collector.grpc_endpoint(),
                http: collector.http_endpoint(),
                server: None,
            },
            servers: Vec::new(),
            outcomes: Vec::new(),
            other_problems: Vec::new(),
            drawn: HashSet::new(),
            session: session(),
        }
    }

    /// Example `number` of `total`: introduced, run, its trace drawn, both
    /// checked.
    pub(crate) async fn example(&mut self, number: usize, total: usize, example: &Example) {
        let screen = self.screen;
        screen.heading(&format!("{number}/{total} · {}", example.title));
        screen.paragraph(example.shows);
        // Its server first, so that the hints can name where it listens.
        self.endpoints.server = match example.server {
            Some(server) => match self.server_url(server).await {
                Some(url) => Some(url),
                None => {
                    let problems = vec!["not run: its server did not start".to_owned()];
                    screen.problems(&problems);
                    self.outcomes.push(Outcome {
                        title: example.title,
                        spans: None,
                        problems,
                    });
                    return;
                }
            },
            None => None,
        };
        if self.step {
            self.hints(example).await;
        }
        self.draw_others();
        let run = format!("{}-{number}", self.session);
        let mut problems = Vec::new();
        let args = (example.args)(&self.endpoints);
        screen.command("$ ", &example.program.cargo_run(&args), None);
        let binary = self.binaries.path(&example.program);
        let mut command = process::example_command(&binary.to_string_lossy());
        command
            .args(
                args.iter()
                    .flat_map(|(flag, value)| [*flag, value.as_str()]),
            )
            .env("OTEL_RESOURCE_ATTRIBUTES", format!("{RUN_ATTRIBUTE}={run}"));
        match process::run(&mut command, PROCESS_LIMIT).await {
            Ok(out) => {
                let status = format!(
                    "exit status {} after {}",
                    exit_code(out.status),
                    text::duration_of(out.elapsed)
                );
                screen.process(&status, &out);
                if out.status.success() != example.succeeds {
                    problems.push(format!(
                        "the process exited with {}, expected {}; its stderr:\n{}",
                        out.status,
                        if example.succeeds {
                            "success"
                        } else {
                            "a failure"
                        },
                        out.stderr.trim_end()
                    ));
                }
                if let Err(found) = (example.stdout)(&out.stdout) {
                    problems.extend(found);
                }
            }
            Err(error) => problems.push(format!("{error:#}")),
        }

        let mut spans = None;
        match self.trace_of(example, &run).await {
            Some(trace) => {
                screen.blank();
                self.draw(&trace);
                spans = Some(trace.spans.len());
                let root = trace.root().map(|root| root.service_name.as_str());
                if root != Some(example.root_service) {
                    problems.push(format!(
                        "its root span is of {}, expected {}",
                        root.map_or("no span".into(), text::escape),
                        example.root_service
                    ));
                }
                if let Err(found) = (example.shape)(&trace, self.collector) {
                    problems.extend(found);
                }
            }
            None => problems.push(format!(
                "no trace of this run ({RUN_ATTRIBUTE}={run}) reached the collector within {}",
                text::duration_of(TRACE_WAIT)
            )),
        }

        screen.blank();
        if problems.is_empty() {
            screen.line("   ✓ as documented");
        } else {
            screen.problems(&problems);
        }
        self.outcomes.push(Outcome {
            title: example.title,
            spans,
            problems,
        });
    }

    /// `--step`: what to read, how to run it yourself now (against the
    /// tour's collector and server, which hold the ports) and alone after
    /// the tour, then a pause until Enter (none once stdin is closed).
    async fn hints(&mut self, example: &Example) {
        let screen = self.screen;
        screen.words("   read:       ", example.read);
        let now = example.program.cargo_run(&(example.args)(&self.endpoints));
        screen.command(
            "   try it:     ",
            &now,
            Some("now, in another terminal: shown as another trace"),
        );
        for (i, (words, note)) in example.alone().iter().enumerate() {
            let label = if i == 0 { "alone:" } else { "" };
            screen.command(&format!("   {label:<10}  "), words, *note);
        }
        if self.pause {
            self.pause = screen.press_enter().await;
        }
    }

    /// Traces that are none of the tour's runs (yours, sent during a
    /// pause, or another program's), each drawn once, as what they are.
    /// (A trace of log records only, such as one the provider example did
    /// not sample, has no resource to tell: it is not drawn.)
    pub(crate) fn draw_others(&mut self) {
        let ours = format!("{}-", self.session);
        let others: Vec<Trace> = self
            .collector
            .traces()
            .into_iter()
            .filter(|trace| !self.drawn.contains(&trace.trace_id) && !trace.spans.is_empty())
            .filter(|trace| {
                !trace.spans.iter().any(|span| {
                    span.resource
                        .get(RUN_ATTRIBUTE)
                        .and_then(|v| v.as_str())
                        .is_some_and(|run| run.starts_with(&ours))
                })
            })
            .collect();
        for trace in others {
            self.screen
                .heading("another trace arrived (not one of the tour's runs: yours?)");
            self.draw(&trace);
        }
    }

    /// The waterfall of `trace`, fitted to the screen.
    pub(crate) fn draw(&mut self, trace: &Trace) {
        let total = self.screen.cols().saturating_sub(INDENT.len());
        self.screen
            .block(&waterfall(trace, self.bar_width, total), INDENT);
        // Why it took as long as it did, in words (as the web view says it).
        let stats = collector::analysis::trace_stats(trace);
        self.screen
            .prose(&collector::analysis::plain(&stats.summary));
        self.drawn.insert(trace.trace_id.clone());
    }

    /// The example's trace: the first new one of this `run` (a span of it
    /// carries `tour.run=<run>`) with enough spans and log records; failing
    /// that, after the wait, any new one of the run, so that a trace of the
    /// wrong shape is still drawn.
    async fn trace_of(&self, example: &Example, run: &str) -> Option<Trace> {
        let is_new = |trace: &Trace| {
            !self.drawn.contains(&trace.trace_id)
                && trace.spans.iter().any(|span| {
                    span.resource.get(RUN_ATTRIBUTE).and_then(|v| v.as_str()) == Some(run)
                })
        };
        let found = self
            .collector
            .wait_for_trace(
                |t| is_new(t) && t.spans.len() >= example.spans && t.logs.len() >= example.logs,
                TRACE_WAIT,
            )
            .await;
        match found {
            Ok(trace) => Some(trace),
            Err(_) => self.collector.traces().into_iter().find(|t| is_new(t)),
        }
    }

    /// The base URL of `server`, starting it the first time it is needed;
    /// `None` if it did not start.
    async fn server_url(&mut self, server: &'static Server) -> Option<String> {
        let known = self
            .servers
            .iter()
            .find(|(known, _)| std::ptr::eq(*known, server));
        let state = match known {
            Some((_, state)) => state,
            None => {
                let state = self.start_server(server).await;
                self.servers.push((server, state));
                &self.servers[self.servers.len() - 1].1
            }
        };
        match state {
            ServerState::Running(running) => Some(running.url("")),
            ServerState::Failed => None,
        }
    }

    /// `server` on a free port, exporting to the collector.
    async fn start_server(&mut self, server: &Server) -> ServerState {
        let screen = self.screen;
        let args = (server.args)(&self.endpoints);
        screen.command(
            "$ ",
            &server.program.cargo_run(&args),
            Some("runs until the tour ends"),
        );
        // Export every 100 ms instead of every 500 ms (the examples'
        // default), so that each trace is complete soon after its client
        // has ended.
        screen.line(
            "   (with OTEL_BSP_SCHEDULE_DELAY=100: it exports every 100 ms, not every 500 ms)",
        );
        let binary = self.binaries.path(&server.program);
        let mut command = process::example_command(&binary.to_string_lossy());
        command
            .args(
                args.iter()
                    .flat_map(|(flag, value)| [*flag, value.as_str()]),
            )
            .env("OTEL_BSP_SCHEDULE_DELAY", "100");
        match process::start_server(&mut command, PROCESS_LIMIT).await {
            Ok(running) => {
                screen.line(&format!("   listening on {}", running.url("")));
                ServerState::Running(Box::new(running))
            }
            Err(error) => {
                let problem = format!("{} did not start: {error:#}", server.name);
                screen.problems(std::slice::from_ref(&problem));
                self.other_problems.push(problem);
                ServerState::Failed
            }
        }
    }

    /// SIGTERM to every server, as `docker stop` sends: each finishes,
    /// flushes its spans, says where they went and exits with status 0; the
    /// time it took is from the signal to its exit.
    pub(crate) async fn stop_servers(&mut self) {
        for (server, state) in std::mem::take(&mut self.servers) {
            let ServerState::Running(running) = state else {
                continue;
            };
            let name = server.name;
            self.screen.heading(&format!(
                "stopping {name} (SIGTERM): it flushes its last spans and exits"
            ));
            let signalled = Instant::now();
            let stopped = match running.terminate() {
                Ok(()) => running.wait(PROCESS_LIMIT).await,
                Err(error) => Err(error),
            };
            match stopped {
                Ok(out) => {
                    let status = format!(
                        "exit status {}, {} after SIGTERM",
                        exit_code(out.status),
                        text::duration_of(signalled.elapsed())
                    );
                    self.screen.process(&status, &out);
                    if !out.status.success() {
                        self.other_problems.push(format!(
                            "{name} exited with {}:\n{}",
                            out.status,
                            out.stderr.trim_end()
                        ));
                    }
                }
                Err(error) => self
                    .other_problems
                    .push(format!("stopping {name}: {error:#}")),
            }
        }
    }

    /// The summary, after the other traces that came; `true` if everything
    /// held.
    pub(crate) fn summary(&mut self) -> bool {
        self.draw_others();
        self.screen.summary(&self.outcomes, &self.other_problems)
    }

    /// Whether the trace was drawn already.
    pub(crate) fn has_drawn(&self, trace_id: &str) -> bool {
        self.drawn.contains(trace_id)
    }
}

/// What tells this tour's runs from another's: its process id and start
/// time, in hex.
fn session() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{:x}{:08x}", std::process::id(), nanos & 0xffff_ffff)
}

/// An exit code, or `none` (killed by a signal).
fn exit_code(status: std::process::ExitStatus) -> String {
    status.code().map_or("none".to_owned(), |c| c.to_string())
}
