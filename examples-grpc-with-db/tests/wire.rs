//! The server and the client as real processes against the embedded
//! collector on free ports: one trace across client, server, database and
//! cache, on the embedded defaults and on private MariaDB and Redis
//! servers; the log lines; bad flags, bad input, an unreachable server or
//! database, and a database that goes away mid-run and comes back.

use std::time::{Duration, Instant};

use collector::{Collector, Span, SpanKind, Trace};
use examples_grpc_with_db::otel::{ClientTracing, TracedClient};
use examples_grpc_with_db::proto::user_client::UserClient;
use examples_grpc_with_db::proto::{DeleteReq, InsertReq, QueryReq};
use http::Uri;
use testkit::expect;
use testkit::exporter::collector;
use testkit::process::{self, Finished, RunningServer};
use testkit::servers::{MariaDb, Redis};
use tonic::Code;
use tonic::transport::{Channel, Endpoint};
use tower::ServiceBuilder;

const SERVER: &str = env!("CARGO_BIN_EXE_grpc-db-server");
const CLIENT: &str = env!("CARGO_BIN_EXE_grpc-db-client");
const LIMIT: Duration = Duration::from_secs(30);
const WAIT: Duration = Duration::from_secs(10);

/// The trace of one client run: 15 spans once complete.
const SPANS: usize = 15;

/// The client's stdout on a fresh server with the defaults.
const STDOUT: &str = "\
insert id: 1
query result: {\"id\":1,\"name\":\"john\"}
delete id: 1
delete id: -1 refused: INVALID_ARGUMENT: User id is required for deleting.
";

/// GoFrame's hostile name: stored and returned as it is.
const HOSTILE: &str = "o'hara\"); DROP TABLE user;--";

/// Exports every 100 ms instead of every 5 s.
const QUICK_EXPORT: [(&str, &str); 1] = [("OTEL_BSP_SCHEDULE_DELAY", "100")];

/// The server on a free port, exporting to `collector`, with `args` added
/// (`--db`, `--redis`).
async fn server(collector: &Collector, args: &[&str]) -> RunningServer {
    let mut command = process::example_command(SERVER);
    command
        .args(["--listen", "127.0.0.1:0"])
        .args(["--endpoint", &collector.grpc_endpoint()])
        .args(args)
        .envs(QUICK_EXPORT);
    process::start_server(&mut command, LIMIT).await.unwrap()
}

/// A binary with `args` (no collector needed), run to its end.
async fn run(binary: &str, args: &[&str]) -> Finished {
    let mut command = process::example_command(binary);
    command.args(args);
    process::run(&mut command, LIMIT).await.unwrap()
}

async fn client(collector: &Collector, server: &RunningServer, args: &[&str]) -> Finished {
    let url = server.url("");
    let endpoint = collector.grpc_endpoint();
    let mut command = process::example_command(CLIENT);
    command
        .args(["--url", &url, "--endpoint", &endpoint])
        .args(args);
    process::run(&mut command, LIMIT).await.unwrap()
}

/// A client in this test, for the calls the example client does not make:
/// the generated client behind the example's client layer.
async fn user_client(server: &RunningServer) -> UserClient<TracedClient<Channel>> {
    let url: Uri = server.url("").parse().unwrap();
    let channel = Endpoint::from(url.clone())
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(20))
        .connect()
        .await
        .unwrap();
    UserClient::new(
        ServiceBuilder::new()
            .layer(ClientTracing::new(&url))
            .service(channel),
    )
}

/// The trace of the client's run, once complete.
async fn trace_of(collector: &Collector) -> Trace {
    collector
        .wait_for_trace(|t| t.spans.len() >= SPANS, WAIT)
        .await
        .unwrap_or_else(|_| panic!("no trace of {SPANS} spans: {:#?}", collector.traces()))
}

fn check(trace: &Trace) {
    if let Err(problems) = expect::grpc_with_db(trace) {
        panic!("{problems:#?}\n{}", tree(trace));
    }
}

/// The spans the server made below its SERVER spans: database and cache.
fn store_spans(trace: &Trace) -> Vec<&Span> {
    trace
        .spans
        .iter()
        .filter(|s| trace.parent(s).is_some_and(|p| p.kind == SpanKind::Server))
        .collect()
}

/// The `error:` lines of a process's stderr.
fn errors(out: &Finished) -> Vec<&str> {
    out.stderr
        .lines()
        .filter(|l| l.starts_with("error:"))
        .collect()
}

/// The trace as the READMEs show it: each span with its service, kind and
/// what matters about it, children indented under their parent.
fn tree(trace: &Trace) -> String {
    fn walk(trace: &Trace, span: &Span, depth: usize, out: &mut String) {
        let mut line = format!(
            "{}{} [{}] {}",
            "  ".repeat(depth),
            span.name,
            span.service_name,
            span.kind
        );
        let details = [
            "rpc.response.status_code",
            "baggage.uid",
            "db.system.name",
            "db.query.text",
        ];
        for key in details {
            if let Some(value) = span.attr_str(key) {
                line.push_str(&format!("  {key}={value}"));
            }
        }
        if let Some(hit) = span.attr_bool("cache.hit") {
            line.push_str(&format!("  cache.hit={hit}"));
        }
        if span.is_error() {
            line.push_str(&format!("  status=error: {}", span.status_message));
        }
        out.push_str(&line);
        out.push('\n');
        for child in trace.children(span) {
            walk(trace, child, depth + 1, out);
        }
    }
    let mut out = String::new();
    if let Some(root) = trace.root() {
        walk(trace, root, 0, &mut out);
    }
    out
}

/// Where the READMEs show the trace tree.
const TRACE_TREE: &str = "<!-- trace tree -->";

#[tokio::test(flavor = "multi_thread")]
async fn one_trace_across_client_server_database_and_cache() {
    let collector = collector(None).await;
    let server = server(&collector, &[]).await;
    assert!(
        server
            .stderr()
            .contains("serving user.User from SQLite in memory"),
        "{}",
        server.stderr()
    );
    let out = client(&collector, &server, &[]).await;
    assert!(out.status.success(), "{}", out.stderr);
    assert_eq!(out.stdout, STDOUT);

    let trace = trace_of(&collector).await;
    check(&trace);
    for span in store_spans(&trace) {
        let (kind, system) = if span.name.ends_with(" user") {
            (SpanKind::Client, Some("sqlite"))
        } else {
            (SpanKind::Internal, None)
        };
        assert_eq!(
            (span.kind, span.attr_str("db.system.name")),
            (kind, system),
            "{span:#?}"
        );
    }
    // The baggage the client set arrived at the server, on every call.
    for span in trace.spans.iter().filter(|s| s.kind == SpanKind::Server) {
        assert_eq!(span.attr_str("baggage.uid"), Some("100"), "{span:#?}");
    }

    // Both sides log with the trace id of the one trace: the client its
    // results, the server an access line per call and a line per SQL statement.
    let id = trace.trace_id.clone();
    for line in STDOUT.lines() {
        assert!(
            out.stderr.contains(&format!("{{{id}}} {line}")),
            "{}",
            out.stderr
        );
    }
    assert!(out.stderr.contains("exported 5 spans"), "{}", out.stderr);
    let server_log = server.stderr();
    let access: Vec<&str> = server_log
        .lines()
        .filter(|l| l.contains(&format!("{{{id}}} /user.User/")))
        .collect();
    assert_eq!(access.len(), 4, "{server_log}");
    for (line, (method, code)) in access.iter().zip([
        ("Insert", "OK"),
        ("Query", "OK"),
        ("Delete", "OK"),
        (
            "Delete",
            "INVALID_ARGUMENT: User id is required for deleting.",
        ),
    ]) {
        let (_, rest) = line.split_once(&format!("/user.User/{method} ")).unwrap();
        assert!(rest.ends_with(&format!(" ms {code}")), "{line}");
    }
    for statement in [
        "INSERT INTO user",
        "SELECT uid, name FROM user",
        "DELETE FROM user",
    ] {
        assert!(
            server_log
                .lines()
                .any(|l| l.contains(&format!("{{{id}}} [")) && l.contains(statement)),
            "{server_log}"
        );
    }
    // No log line of the server shows the user's name either.
    assert!(!server_log.contains("john"), "{server_log}");

    let stopped = server.stop(LIMIT).await.unwrap();
    assert!(
        stopped.stderr.contains("exported 10 spans"),
        "{}",
        stopped.stderr
    );
    // The access lines are log records on their SERVER span.
    let trace = collector
        .traces()
        .into_iter()
        .find(|t| t.trace_id == id)
        .unwrap();
    let servers = trace
        .spans
        .iter()
        .filter(|s| s.kind == SpanKind::Server)
        .map(|s| s.span_id.as_str());
    for span_id in servers {
        let records: Vec<&str> = trace
            .logs
            .iter()
            .filter(|l| l.span_id.as_deref() == Some(span_id))
            .map(|l| l.body.as_str())
            .collect();
        assert!(
            records.iter().any(|body| body.starts_with("/user.User/")),
            "{records:?}"
        );
    }

    // The READMEs show this stdout and this trace.
    let readmes = [
        include_str!("../README.md"),
        include_str!("../README.zh.md"),
    ];
    process::assert_readme_samples(&readmes, STDOUT);
    for readme in readmes {
        let sample = process::readme_sample(readme, TRACE_TREE).expect("a trace tree block");
        assert_eq!(sample, tree(&trace));
    }
}

/// The collector's service map of the client's run: the database (SQLite)
/// and the in-process cache as nodes of their own, each call counted; the
/// refused `Delete` counted as an error on the gRPC edge, which names the
/// methods called.
#[tokio::test(flavor = "multi_thread")]
async fn the_service_map_shows_the_database_the_cache_and_the_methods() {
    let collector = collector(None).await;
    let server = server(&collector, &[]).await;
    let out = client(&collector, &server, &[]).await;
    assert!(out.status.success(), "{}", out.stderr);
    let trace = trace_of(&collector).await;
    check(&trace);
    let map = collector.map();
    let node = |name: &str| {
        let node = map.nodes.iter().find(|n| n.name == name);
        node.map(|n| (n.kind, n.calls, n.errors))
            .unwrap_or_else(|| panic!("no node {name}: {map:#?}"))
    };
    // As many calls as the trace has spans of each.
    let sql = store_spans(&trace)
        .into_iter()
        .filter(|s| s.attr_str("db.system.name") == Some("sqlite"))
        .count() as u64;
    let cached = trace
        .spans
        .iter()
        .filter(|s| s.attr_str("cache.key").is_some())
        .count() as u64;
    assert!(sql > 0 && cached > 0, "{}", tree(&trace));
    use collector::NodeKind::{Cache, Database, Service};
    assert_eq!(node("sqlite"), (Database, sql, 0));
    assert_eq!(
        node("in-process cache (otlp-grpc-server)"),
        (Cache, cached, 0)
    );
    let calls = trace
        .spans
        .iter()
        .filter(|s| s.kind == SpanKind::Server)
        .count() as u64;
    assert_eq!(node("otlp-grpc-server"), (Service, calls, 1));
    let edge = map
        .edges
        .iter()
        .find(|e| e.from == "otlp-grpc-client" && e.to == "otlp-grpc-server")
        .unwrap_or_else(|| panic!("no gRPC edge: {map:#?}"));
    assert_eq!((edge.calls, edge.errors), (calls, 1), "{map:#?}");
    assert_eq!(
        edge.methods,
        ["user.User/Delete", "user.User/Insert", "user.User/Query"],
        "{map:#?}"
    );
    server.stop(LIMIT).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_flags_exit_2_naming_the_flag() {
    for (binary, flag, value) in [
        (SERVER, "--db", "postgres://127.0.0.1/test"),
        (SERVER, "--db", "mysql://[::1"),
        (SERVER, "--redis", "http://127.0.0.1:6379"),
        (SERVER, "--listen", "127.0.0.1"),
        (CLIENT, "--url", "ftp://127.0.0.1:8001"),
        (CLIENT, "--url", "http://127.0.0.1:8001/user"),
    ] {
        let out = run(binary, &[flag, value]).await;
        assert_eq!(out.status.code(), Some(2), "{flag} {value}: {}", out.stderr);
        assert!(out.stderr.contains(flag), "{flag} {value}: {}", out.stderr);
        assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_database_is_one_line_with_the_password_masked() {
    let port = process::closed_port().unwrap();
    let url = format!("mysql://root:s3cret-pw@127.0.0.1:{port}/test");
    let started = Instant::now();
    let out = run(SERVER, &["--listen", "127.0.0.1:0", "--db", &url]).await;
    assert!(started.elapsed() < Duration::from_secs(15), "{out:?}");
    assert_eq!(out.status.code(), Some(1), "{}", out.stderr);
    let [line] = errors(&out)[..] else {
        panic!("expected one error line: {}", out.stderr)
    };
    assert!(line.contains(&format!("127.0.0.1:{port}")), "{line}");
    assert!(!out.stderr.contains("s3cret-pw"), "{}", out.stderr);
    assert!(!out.stderr.contains("listening on"), "{}", out.stderr);
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_server_is_one_line_saying_how_to_start_it() {
    let collector = collector(None).await;
    let port = process::closed_port().unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let mut command = process::example_command(CLIENT);
    command.args(["--url", &url, "--endpoint", &collector.grpc_endpoint()]);
    let out = process::run(&mut command, LIMIT).await.unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", out.stderr);
    assert_eq!(out.stdout, "");
    let [line] = errors(&out)[..] else {
        panic!("expected one error line: {}", out.stderr)
    };
    assert!(line.contains(&format!("127.0.0.1:{port}")), "{line}");
    assert!(line.contains("refused"), "{line}");
    assert!(
        line.contains("cargo run -p examples-grpc-with-db --bin grpc-db-server"),
        "{line}"
    );
    // The root span still went out, with the error.
    let trace = collector
        .wait_for_trace(|t| !t.spans.is_empty(), WAIT)
        .await
        .unwrap();
    let root = trace.root().unwrap();
    assert_eq!(root.name, "StartRequests");
    assert!(root.is_error(), "{root:#?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_call_makes_the_client_exit_1() {
    let collector = collector(None).await;
    let server = server(&collector, &[]).await;
    let out = client(&collector, &server, &["--name", &"a".repeat(46)]).await;
    assert_eq!(out.status.code(), Some(1), "{}", out.stderr);
    assert_eq!(out.stdout, "");
    assert_eq!(
        errors(&out),
        ["error: Insert failed: INVALID_ARGUMENT: The name may be at most 45 characters, got 46."]
    );
    server.stop(LIMIT).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn names_are_checked_and_stored_verbatim_and_unknown_ids_are_not_found() {
    let collector = collector(None).await;
    let server = server(&collector, &[]).await;
    let mut users = user_client(&server).await;
    let insert = |name: &str| InsertReq {
        name: name.to_owned(),
    };

    for (name, message) in [
        ("", "Please input user name."),
        (
            &*"a".repeat(46),
            "The name may be at most 45 characters, got 46.",
        ),
        (
            &*"名".repeat(46),
            "The name may be at most 45 characters, got 46.",
        ),
    ] {
        let status = users.insert(insert(name)).await.unwrap_err();
        assert_eq!(
            (status.code(), status.message()),
            (Code::InvalidArgument, message)
        );
    }
    // The limit counts characters: 45 of 3 bytes each still fit.
    let id = users.insert(insert(&"名".repeat(45))).await.unwrap();
    assert!(id.into_inner().id > 0);

    // A hostile name is data: stored and returned exactly; the table survives.
    let id = users.insert(insert(HOSTILE)).await.unwrap().into_inner().id;
    let found = users.query(QueryReq { id }).await.unwrap().into_inner();
    assert_eq!((found.id, found.name.as_str()), (id, HOSTILE));
    let next = users.insert(insert("next")).await.unwrap().into_inner().id;
    assert_eq!(next, id + 1);

    for status in [
        users.query(QueryReq { id: 999 }).await.unwrap_err(),
        users.delete(DeleteReq { id: 999 }).await.unwrap_err(),
    ] {
        assert_eq!(
            (status.code(), status.message()),
            (Code::NotFound, "no user with id 999")
        );
    }
    let status = users.query(QueryReq { id: 0 }).await.unwrap_err();
    assert_eq!(
        (status.code(), status.message()),
        (Code::InvalidArgument, "User id is required for querying.")
    );
    // Deleted means gone (GoFrame's Delete deleted nothing).
    users.delete(DeleteReq { id }).await.unwrap();
    let status = users.query(QueryReq { id }).await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound);

    // No span carries the names sent, and the refusals are not the
    // server's errors.
    let stopped = server.stop(LIMIT).await.unwrap();
    let spans = collector.spans();
    assert!(spans.len() >= 20, "{spans:#?}");
    for span in &spans {
        let text = serde_json::to_string(&span.attributes).unwrap();
        assert!(
            !text.contains("o'hara") && !text.contains("名"),
            "{span:#?}"
        );
        assert!(!span.status_message.contains("o'hara"), "{span:#?}");
        if span.kind == SpanKind::Server {
            assert!(!span.is_error(), "{span:#?}");
        }
    }
    assert!(!stopped.stderr.contains("o'hara"), "{}", stopped.stderr);
}

/// The same run on real MariaDB and Redis servers; then MariaDB stops
/// mid-run (calls fail UNAVAILABLE, the spans say why) and comes back (the
/// same server process serves again).
#[tokio::test(flavor = "multi_thread")]
async fn on_mariadb_and_redis_and_through_an_outage() {
    let test = "examples-grpc-with-db on_mariadb_and_redis_and_through_an_outage";
    let Some(mut mariadb) = MariaDb::start(test).await else {
        return;
    };
    let Some(redis) = Redis::start(test).await else {
        return;
    };
    let collector = collector(None).await;
    let server = server(
        &collector,
        &["--db", &mariadb.url(), "--redis", &redis.url()],
    )
    .await;
    let started = server.stderr();
    assert!(started.contains("MariaDB"), "{started}");
    assert!(!started.contains("12345678"), "{started}");

    let out = client(&collector, &server, &[]).await;
    assert!(out.status.success(), "{}", out.stderr);
    assert_eq!(out.stdout, STDOUT);
    let trace = trace_of(&collector).await;
    check(&trace);
    for span in store_spans(&trace) {
        let system = if span.name.ends_with(" user") {
            "mariadb"
        } else {
            "redis"
        };
        assert_eq!(span.kind, SpanKind::Client, "{span:#?}");
        assert_eq!(span.attr_str("db.system.name"), Some(system), "{span:#?}");
        assert!(span.attributes.contains_key("server.port"), "{span:#?}");
    }

    // The database goes away: the call fails within its bounds, as
    // UNAVAILABLE that says why.
    let mut users = user_client(&server).await;
    mariadb.stop().await;
    let asked = Instant::now();
    let status = users
        .insert(InsertReq {
            name: "ann".to_owned(),
        })
        .await
        .unwrap_err();
    assert!(asked.elapsed() < Duration::from_secs(15));
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert!(
        status
            .message()
            .starts_with("the database is unavailable: "),
        "{status:?}"
    );
    let failed = collector
        .wait_for_trace(
            |t| {
                t.root()
                    .is_some_and(|r| r.kind == SpanKind::Server && r.is_error())
            },
            WAIT,
        )
        .await
        .unwrap_or_else(|_| panic!("no failed call: {:#?}", collector.traces()));
    let server_span = failed.root().unwrap();
    assert_eq!(
        server_span.attr_str("rpc.response.status_code"),
        Some("UNAVAILABLE")
    );
    assert_eq!(server_span.status_message, status.message());
    let insert = failed.span_named("INSERT user").expect("the INSERT span");
    assert!(insert.is_error(), "{insert:#?}");
    assert!(insert.attributes.contains_key("error.type"), "{insert:#?}");
    assert!(!insert.status_message.is_empty(), "{insert:#?}");

    // It comes back: the same server serves again.
    mariadb.restart().await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let id = loop {
        let request = InsertReq {
            name: "ann".to_owned(),
        };
        match users.insert(request).await {
            Ok(response) => break response.into_inner().id,
            Err(status) if Instant::now() < deadline => {
                assert_eq!(status.code(), Code::Unavailable, "{status:?}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(status) => panic!("the server did not recover: {status:?}"),
        }
    };
    let found = users.query(QueryReq { id }).await.unwrap().into_inner();
    assert_eq!(found.name, "ann");
    server.stop(LIMIT).await.unwrap();
}
