//! Every example the tour runs, in the order of the GoFrame documentation,
//! as data: what it shows, what to read, how it runs, and what it must
//! produce. `main.rs` walks the table; adding an example is adding an entry.

use collector::{Collector, Trace, Transport};
use testkit::expect;

use crate::checks;

/// Demo tokens: the collector accepts any, the tour checks they arrive.
const INPROCESS_TOKEN: &str = "demo-token-inprocess";
const OTLP_TOKEN: &str = "demo-token-otlp";
/// A hosted backend's URL path, as in GoFrame's `otlphttp.Init(name, endpoint, path)`.
const CUSTOM_PATH: &str = "/adapt_x/api/otlp/traces";
const SERVER_SERVICE: &str = "otlp-http-server";
/// The baggage gproc hands its child, which prints it.
const PROCESSES_BAGGAGE: &str = "tour=child";
/// Requests of the provider example: at one in two, the chance that none is
/// sampled (and nothing can be drawn) is one in a million.
const PROVIDER_COUNT: usize = 20;

/// One example: a process of its own, and the trace it must leave.
pub(crate) struct Example {
    pub(crate) title: &'static str,
    /// What it shows, said before it runs.
    pub(crate) shows: &'static str,
    /// The files to read (`--step`).
    pub(crate) read: &'static [&'static str],
    pub(crate) program: Program,
    /// Its flags, given where the collector and the server listen.
    pub(crate) args: fn(&Endpoints) -> Vec<Flag>,
    /// The server it calls, if any: the tour starts each server before the
    /// first example that calls it and stops it at the end.
    pub(crate) server: Option<&'static Server>,
    /// Whether the process should exit with status 0.
    pub(crate) succeeds: bool,
    /// A check of its stdout: every problem found.
    pub(crate) stdout: fn(&str) -> Result<(), Vec<String>>,
    /// Its trace is the first new one of its run (the tour marks each run)
    /// with at least `spans` spans; its root span belongs to `root_service`.
    pub(crate) root_service: &'static str,
    pub(crate) spans: usize,
    /// ... and, once its processes have flushed, at least `logs` log
    /// records (a long-running server sends its own a batch later).
    pub(crate) logs: usize,
    /// The documented shape of that trace.
    pub(crate) shape: fn(&Trace, &Collector) -> Result<(), Vec<String>>,
}

/// A binary of a workspace package.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Program {
    pub(crate) package: &'static str,
    /// `None`: the package's only binary, named after the package.
    pub(crate) bin: Option<&'static str>,
}

/// A flag and its value.
pub(crate) type Flag = (&'static str, String);

/// Where the collector and the example's server listen.
#[derive(Debug, Clone)]
pub(crate) struct Endpoints {
    pub(crate) grpc: String,
    pub(crate) http: String,
    /// The base URL of the server the example calls, once it runs.
    pub(crate) server: Option<String>,
}

/// A server that client examples call: a process the tour keeps running.
#[derive(Debug)]
pub(crate) struct Server {
    /// What the tour calls it.
    pub(crate) name: &'static str,
    pub(crate) program: Program,
    /// Its base URL when run with its defaults (what the `--step` hints assume).
    pub(crate) default_url: &'static str,
    /// Its flags: a free port, spans to the tour's collector.
    pub(crate) args: fn(&Endpoints) -> Vec<Flag>,
}

/// examples-http's server, which the hello clients call.
pub(crate) const HELLO_SERVER: Server = Server {
    name: "the hello server",
    program: Program {
        package: "examples-http",
        bin: Some("server"),
    },
    default_url: "http://127.0.0.1:8000",
    args: |at| {
        vec![
            ("--listen", "127.0.0.1:0".to_owned()),
            ("--endpoint", at.http.clone()),
        ]
    },
};

/// The gRPC user service, on its defaults: SQLite in memory, a cache in
/// process; it exports over OTLP/gRPC, as GoFrame's does.
pub(crate) const GRPC_DB_SERVER: Server = Server {
    name: "the gRPC user service",
    program: Program {
        package: "examples-grpc-with-db",
        bin: Some("grpc-db-server"),
    },
    default_url: "http://127.0.0.1:8001",
    args: |at| {
        vec![
            ("--listen", "127.0.0.1:0".to_owned()),
            ("--endpoint", at.grpc.clone()),
        ]
    },
};

/// The HTTP user service, on its defaults.
pub(crate) const HTTP_DB_SERVER: Server = Server {
    name: "the HTTP user service",
    program: Program {
        package: "examples-http-with-db",
        bin: Some("http-db-server"),
    },
    default_url: "http://127.0.0.1:8002",
    args: |at| {
        vec![
            ("--listen", "127.0.0.1:0".to_owned()),
            ("--endpoint", at.http.clone()),
        ]
    },
};

/// Every server, in the order the tour starts them.
pub(crate) const SERVERS: [&Server; 3] = [&HELLO_SERVER, &GRPC_DB_SERVER, &HTTP_DB_SERVER];

pub(crate) const EXAMPLES: &[Example] = &[
    Example {
        title: "In-process spans, exported over OTLP/HTTP",
        shows: "One process traces its own function calls: main -> GetUser(1), GetUser(100) -> \
                GetInfo, GetDetail, GetScores, one trace of 9 spans, exported over OTLP/HTTP \
                (protobuf, gzip). User 1 does not exist: visible in the trace, not an error.",
        read: &["examples-inprocess-http/src/main.rs", "common/src/users.rs"],
        program: Program {
            package: "examples-inprocess-http",
            bin: None,
        },
        args: |at| vec![("--endpoint", at.http.clone())],
        server: None,
        succeeds: true,
        stdout: expect::inprocess_output,
        root_service: "inprocess",
        spans: 9,
        logs: 2,
        shape: |trace, _| {
            checks::all([
                expect::inprocess(trace, "inprocess"),
                expect::inprocess_logs(trace, "inprocess", false),
                checks::arrived_via(trace, "inprocess", Transport::HttpProtobuf, "/v1/traces"),
            ])
        },
    },
    Example {
        title: "In-process spans, exported over OTLP/gRPC with a token",
        shows: "The same 9 spans, exported over OTLP/gRPC with gzip and a token sent as \
                `authentication` metadata (GoFrame: otlpgrpc.Init(name, endpoint, token)).",
        read: &[
            "examples-inprocess-grpc/src/main.rs",
            "common/src/telemetry.rs",
        ],
        program: Program {
            package: "examples-inprocess-grpc",
            bin: None,
        },
        args: |at| {
            vec![
                ("--endpoint", at.grpc.clone()),
                ("--token", INPROCESS_TOKEN.to_owned()),
            ]
        },
        server: None,
        succeeds: true,
        stdout: expect::inprocess_output,
        root_service: "inprocess-grpc",
        spans: 9,
        logs: 2,
        shape: |trace, collector| {
            checks::all([
                expect::inprocess(trace, "inprocess-grpc"),
                expect::inprocess_logs(trace, "inprocess-grpc", false),
                checks::arrived_via_grpc(trace, "inprocess-grpc"),
                checks::token_arrived(collector, INPROCESS_TOKEN),
            ])
        },
    },
    Example {
        title: "The same spans with `tracing` and #[instrument]",
        shows: "The trace of the first example, span for span, written the way most Rust \
                services are: #[tracing::instrument] spans (tracing-opentelemetry) and \
                tracing::info! log lines, which also travel as OTLP log records on the span \
                they were written in (the `·` lines under a span).",
        read: &[
            "examples-inprocess-tracing/src/main.rs",
            "common/src/log.rs",
        ],
        program: Program {
            package: "examples-inprocess-tracing",
            bin: None,
        },
        args: |at| vec![("--endpoint", at.http.clone())],
        server: None,
        succeeds: true,
        stdout: expect::inprocess_output,
        root_service: "inprocess-tracing",
        spans: 9,
        logs: 3,
        shape: |trace, _| {
            checks::all([
                expect::inprocess(trace, "inprocess-tracing"),
                expect::inprocess_logs(trace, "inprocess-tracing", true),
                checks::arrived_via(
                    trace,
                    "inprocess-tracing",
                    Transport::HttpProtobuf,
                    "/v1/traces",
                ),
            ])
        },
    },
    Example {
        title: "HTTP server and client: one trace across two processes",
        shows: "The client opens StartRequests, puts the baggage name=GoFrame and calls /hello; \
                the traceparent and baggage headers carry both to the server, whose spans join \
                the same trace, and which answers hello:GoFrame from the baggage.",
        read: &[
            "examples-http/src/bin/client.rs",
            "examples-http/src/bin/server.rs",
            "common/src/client.rs",
        ],
        program: Program {
            package: "examples-http",
            bin: Some("client"),
        },
        args: |at| {
            vec![
                ("--url", at.server_url("/hello")),
                ("--endpoint", at.http.clone()),
            ]
        },
        server: Some(&HELLO_SERVER),
        succeeds: true,
        stdout: |out| expect::http_output(out, "hello:GoFrame"),
        root_service: "otlp-http-client",
        spans: 4,
        logs: 2,
        shape: |trace, _| {
            checks::all([
                expect::http_request(trace, "otlp-http-client", SERVER_SERVICE),
                expect::http_logs(trace, "hello:GoFrame", "GoFrame"),
            ])
        },
    },
    Example {
        title: "The same call, exported over OTLP/gRPC with a token",
        shows: "The client call again (baggage name=john, answer hello:john), its spans sent \
                over OTLP/gRPC with a token, the server's over OTLP/HTTP: one trace all the same.",
        read: &["examples-otlp/src/bin/grpc.rs"],
        program: Program {
            package: "examples-otlp",
            bin: Some("grpc"),
        },
        args: |at| {
            vec![
                ("--url", at.server_url("/hello")),
                ("--endpoint", at.grpc.clone()),
                ("--token", OTLP_TOKEN.to_owned()),
            ]
        },
        server: Some(&HELLO_SERVER),
        succeeds: true,
        stdout: |out| expect::http_output(out, "hello:john"),
        root_service: "otlp-grpc-client",
        spans: 4,
        logs: 2,
        shape: |trace, collector| {
            checks::all([
                expect::http_request(trace, "otlp-grpc-client", SERVER_SERVICE),
                expect::http_logs(trace, "hello:john", "john"),
                checks::arrived_via_grpc(trace, "otlp-grpc-client"),
                checks::token_arrived(collector, OTLP_TOKEN),
            ])
        },
    },
    Example {
        title: "The same call, exported over OTLP/HTTP to a custom path",
        shows: "The client call again, its spans sent over OTLP/HTTP to the URL path a hosted \
                backend asks for (GoFrame: otlphttp.Init(name, endpoint, path)).",
        read: &["examples-otlp/src/bin/http.rs"],
        program: Program {
            package: "examples-otlp",
            bin: Some("http"),
        },
        args: |at| {
            vec![
                ("--url", at.server_url("/hello")),
                ("--endpoint", at.http.clone()),
                ("--path", CUSTOM_PATH.to_owned()),
            ]
        },
        server: Some(&HELLO_SERVER),
        succeeds: true,
        stdout: |out| expect::http_output(out, "hello:john"),
        root_service: "otlp-http-client",
        spans: 4,
        logs: 2,
        shape: |trace, _| {
            checks::all([
                expect::http_request(trace, "otlp-http-client", SERVER_SERVICE),
                expect::http_logs(trace, "hello:john", "john"),
                checks::arrived_via(
                    trace,
                    "otlp-http-client",
                    Transport::HttpProtobuf,
                    CUSTOM_PATH,
                ),
            ])
        },
    },
    Example {
        title: "A failing call: the server's /error route (expected to fail)",
        shows: "/error always answers 500. The client exits with status 1, as it should, and \
                the trace shows the failure on both sides: status Error, status code 500, the \
                cause as an exception event on the server span.",
        read: &["examples-http/src/bin/server.rs (error_handler)"],
        program: Program {
            package: "examples-http",
            bin: Some("client"),
        },
        args: |at| {
            vec![
                ("--url", at.server_url("/error")),
                ("--endpoint", at.http.clone()),
            ]
        },
        server: Some(&HELLO_SERVER),
        // Meant to fail: the client exits with status 1.
        succeeds: false,
        stdout: checks::no_output,
        root_service: "otlp-http-client",
        spans: 3,
        logs: 1,
        shape: |trace, _| expect::http_error(trace, "otlp-http-client", SERVER_SERVICE),
    },
    Example {
        title: "A gRPC service on a database and a cache",
        shows: "The client opens StartRequests (baggage uid=100) and calls the user.User service: \
                Insert, Query, Delete, and Delete(-1), which the service refuses \
                (INVALID_ARGUMENT): an error on the client's span, not on the server's. Under \
                each call, the server's database and cache spans: which query ran, with \
                placeholders, never values, and whether the cache answered.",
        read: &[
            "examples-grpc-with-db/src/bin/grpc-db-client.rs",
            "examples-grpc-with-db/src/bin/grpc-db-server.rs",
            "examples-grpc-with-db/src/otel.rs",
            "userdb/src/db.rs",
        ],
        program: Program {
            package: "examples-grpc-with-db",
            bin: Some("grpc-db-client"),
        },
        args: |at| {
            vec![
                ("--url", at.server_url("")),
                ("--endpoint", at.grpc.clone()),
            ]
        },
        server: Some(&GRPC_DB_SERVER),
        succeeds: true,
        stdout: expect::grpc_db_output,
        root_service: "otlp-grpc-client",
        spans: 15,
        // The client's four lines, and the server's access line per call
        // and SQL line per statement.
        logs: 4 + 4 + 3,
        shape: |trace, _| {
            checks::all([
                expect::grpc_with_db(trace),
                checks::arrived_via_grpc(trace, "otlp-grpc-client"),
            ])
        },
    },
    Example {
        title: "An HTTP service on a database and a cache",
        shows: "The same user service over HTTP (GoFrame's JSON envelope): insert, query, \
                delete, each a client span, the server span of the tower layer, and the \
                database and cache spans under it.",
        read: &[
            "examples-http-with-db/src/bin/http-db-client.rs",
            "examples-http-with-db/src/bin/http-db-server.rs",
            "userdb/src/cache.rs",
        ],
        program: Program {
            package: "examples-http-with-db",
            bin: Some("http-db-client"),
        },
        args: |at| {
            vec![
                ("--url", at.server_url("")),
                ("--endpoint", at.http.clone()),
            ]
        },
        server: Some(&HTTP_DB_SERVER),
        succeeds: true,
        stdout: expect::http_db_output,
        root_service: "otlp-http-client-with-db",
        spans: 13,
        logs: 3 + 3 + 3,
        shape: |trace, _| expect::http_with_db(trace),
    },
    Example {
        title: "A trace across child processes",
        shows: "gproc runs a child process (itself, with `sub`) and hands it the trace and the \
                baggage in its environment (TRACEPARENT, BAGGAGE): the child's span lands under \
                the parent's, which covers the child's whole run and records its pid and exit \
                code. Both processes export; the child prints the baggage it received.",
        read: &[
            "examples-processes/src/bin/gproc.rs",
            "examples-processes/src/env_carrier.rs",
        ],
        program: Program {
            package: "examples-processes",
            bin: Some("gproc"),
        },
        args: |at| {
            vec![
                ("--endpoint", at.http.clone()),
                ("--baggage", PROCESSES_BAGGAGE.to_owned()),
            ]
        },
        server: None,
        succeeds: true,
        stdout: |out| expect::processes_output(out, PROCESSES_BAGGAGE),
        root_service: "gproc",
        spans: 2,
        // `this is main process`, `this is sub process`, and the child's exit.
        logs: 3,
        shape: |trace, _| expect::processes(trace),
    },
    Example {
        title: "The provider built by hand: sampling made visible",
        shows: "provider-grpc builds its tracer provider step by step (resource, sampler, span \
                limits, exporter, processor) and calls the hello server 20 times, sampling \
                one trace in two by trace id; it says how many were sampled and exported. The \
                server samples parent-based: it records exactly the client's sampled traces, \
                so no server span is left without its client (GoFrame's demo leaves them \
                orphaned). The first sampled trace is drawn.",
        read: &["examples-provider/src/bin/provider-grpc.rs"],
        program: Program {
            package: "examples-provider",
            bin: Some("provider-grpc"),
        },
        args: |at| {
            vec![
                ("--url", at.server_url("/hello")),
                ("--endpoint", at.grpc.clone()),
                ("--count", PROVIDER_COUNT.to_string()),
                ("--sampler-arg", "0.5".to_owned()),
            ]
        },
        server: Some(&HELLO_SERVER),
        succeeds: true,
        stdout: |out| expect::provider_output(out, PROVIDER_COUNT),
        root_service: "otlp-grpc-client",
        spans: 4,
        // The server's HelloHandler line (the client sends no log records).
        logs: 1,
        shape: |trace, collector| {
            checks::all([
                expect::http_request(trace, "otlp-grpc-client", SERVER_SERVICE),
                checks::arrived_via_grpc(trace, "otlp-grpc-client"),
                expect::no_orphans(collector, SERVER_SERVICE),
            ])
        },
    },
];

impl Program {
    /// The executable's file name.
    pub(crate) fn binary(&self) -> &'static str {
        self.bin.unwrap_or(self.package)
    }

    /// The command a user types to run it with `flags`: `cargo run -p
    /// PACKAGE [--bin BIN] [-- FLAGS]`, split into words (a flag and its
    /// value are one word, so that a line is never broken between them).
    pub(crate) fn cargo_run(&self, flags: &[Flag]) -> Vec<String> {
        let mut words = vec![format!("cargo run -p {}", self.package)];
        if let Some(bin) = self.bin {
            words.push(format!("--bin {bin}"));
        }
        // The tour runs the binaries of its own profile.
        if cfg!(not(debug_assertions)) {
            words.push("--release".to_owned());
        }
        if !flags.is_empty() {
            words.push("--".to_owned());
        }
        words.extend(flags.iter().map(|(flag, value)| format!("{flag} {value}")));
        words
    }
}

impl Endpoints {
    /// Where everything listens when each program runs with its defaults
    /// (`cargo run -p collector`, `server` on its default address): what
    /// the `--step` hints assume.
    pub(crate) fn standard(server: Option<&Server>) -> Endpoints {
        Endpoints {
            grpc: "http://localhost:4317".to_owned(),
            http: "http://localhost:4318".to_owned(),
            server: server.map(|server| server.default_url.to_owned()),
        }
    }

    /// `path` on the server (on examples-http's default address until one runs).
    pub(crate) fn server_url(&self, path: &str) -> String {
        let base = self.server.as_deref().unwrap_or(HELLO_SERVER.default_url);
        format!("{base}{path}")
    }
}

impl Example {
    /// How to run it alone after the tour, in terminals of its own: the collector, the
    /// server if it calls it, then the example with the flags that differ
    /// from its defaults (its tokens and paths: the ones the tour used).
    pub(crate) fn alone(&self) -> Vec<(Vec<String>, Option<&'static str>)> {
        let standard = Endpoints::standard(self.server);
        let defaults = [
            standard.grpc.clone(),
            standard.http.clone(),
            standard.server_url(""),
            standard.server_url("/hello"),
        ];
        let flags: Vec<Flag> = (self.args)(&standard)
            .into_iter()
            .filter(|(_, value)| !defaults.contains(value))
            .collect();
        let collector = Program {
            package: "collector",
            bin: None,
        };
        // While the tour runs, its own collector holds the ports.
        let mut commands = vec![(
            collector.cargo_run(&[]),
            Some("in another terminal, once the tour has ended"),
        )];
        if let Some(server) = self.server {
            commands.push((server.program.cargo_run(&[]), Some("in another terminal")));
        }
        commands.push((self.program.cargo_run(&flags), None));
        commands
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The README's numbered list of steps: one item per example of the
    /// table, in its order, each linking its package's README (an item
    /// may name none when an earlier one did).
    #[test]
    fn the_readmes_list_every_step_in_order() {
        for (readme, link) in [
            (include_str!("../README.md"), "README.md"),
            (include_str!("../README.zh.md"), "README.zh.md"),
        ] {
            // Each item with its continuation lines.
            let mut items: Vec<String> = Vec::new();
            for line in readme.lines() {
                let numbered = line
                    .split_once(". ")
                    .is_some_and(|(n, _)| n.parse::<usize>().is_ok());
                match items.last_mut() {
                    _ if numbered => items.push(line.to_owned()),
                    Some(item) if line.starts_with("   ") && !item.ends_with('.') => {
                        item.push(' ');
                        item.push_str(line.trim());
                    }
                    _ => {}
                }
            }
            assert_eq!(items.len(), EXAMPLES.len(), "{items:#?}");
            for (i, (item, example)) in items.iter().zip(EXAMPLES).enumerate() {
                assert!(item.starts_with(&format!("{}. ", i + 1)), "{item}");
                let package = example.program.package;
                let links = item.contains("](../");
                let earlier = EXAMPLES[..i].iter().any(|e| e.program.package == package);
                assert!(
                    item.contains(&format!("[{package}](../{package}/{link})"))
                        || (!links && earlier),
                    "step {}, {}: the item should link {package}: {item}",
                    i + 1,
                    example.title
                );
            }
        }
    }

    #[test]
    fn commands_are_what_a_user_types() {
        let at = Endpoints {
            grpc: "http://127.0.0.1:1".into(),
            http: "http://127.0.0.1:2".into(),
            server: Some("http://127.0.0.1:3".into()),
        };
        let otlp_http = &EXAMPLES[5];
        assert_eq!(
            otlp_http
                .program
                .cargo_run(&(otlp_http.args)(&at))
                .join(" "),
            "cargo run -p examples-otlp --bin http -- --url http://127.0.0.1:3/hello \
             --endpoint http://127.0.0.1:2 --path /adapt_x/api/otlp/traces"
        );
        assert_eq!(
            EXAMPLES[0]
                .program
                .cargo_run(&(EXAMPLES[0].args)(&at))
                .join(" "),
            "cargo run -p examples-inprocess-http -- --endpoint http://127.0.0.1:2"
        );
    }

    #[test]
    fn run_alone_hints_keep_the_tokens_and_paths_the_tour_used() {
        let last = |example: &Example| example.alone().pop().unwrap().0.join(" ");
        assert_eq!(last(&EXAMPLES[0]), "cargo run -p examples-inprocess-http");
        assert_eq!(
            last(&EXAMPLES[1]),
            "cargo run -p examples-inprocess-grpc -- --token demo-token-inprocess"
        );
        assert_eq!(
            last(&EXAMPLES[2]),
            "cargo run -p examples-inprocess-tracing"
        );
        assert_eq!(
            last(&EXAMPLES[3]),
            "cargo run -p examples-http --bin client"
        );
        assert_eq!(
            last(&EXAMPLES[4]),
            "cargo run -p examples-otlp --bin grpc -- --token demo-token-otlp"
        );
        assert_eq!(
            last(&EXAMPLES[5]),
            "cargo run -p examples-otlp --bin http -- --path /adapt_x/api/otlp/traces"
        );
        assert_eq!(
            last(&EXAMPLES[6]),
            "cargo run -p examples-http --bin client -- --url http://127.0.0.1:8000/error"
        );
        // The with-db clients call their own servers, on their default addresses.
        assert_eq!(
            last(&EXAMPLES[7]),
            "cargo run -p examples-grpc-with-db --bin grpc-db-client"
        );
        assert_eq!(
            last(&EXAMPLES[8]),
            "cargo run -p examples-http-with-db --bin http-db-client"
        );
        assert_eq!(
            EXAMPLES[8].alone()[1].0.join(" "),
            "cargo run -p examples-http-with-db --bin http-db-server"
        );
        assert_eq!(
            last(&EXAMPLES[9]),
            "cargo run -p examples-processes --bin gproc -- --baggage tour=child"
        );
        assert_eq!(
            last(&EXAMPLES[10]),
            "cargo run -p examples-provider --bin provider-grpc -- --count 20 --sampler-arg 0.5"
        );
        let first = EXAMPLES[4].alone();
        assert_eq!(first[0].0.join(" "), "cargo run -p collector");
        assert_eq!(
            first[1].0.join(" "),
            "cargo run -p examples-http --bin server"
        );
    }
}
