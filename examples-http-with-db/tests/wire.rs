//! The server and the client as real processes against the embedded
//! collector on free ports: one trace across client, server, database and
//! cache, on the embedded defaults and on private MariaDB and Redis servers;
//! the log lines; bad flags, bad input and a database that goes away.

use std::time::Duration;

use collector::{Collector, Span, SpanKind, Trace};
use testkit::exporter::collector;
use testkit::process::{self, Finished, RunningServer};
use testkit::servers::{MariaDb, Redis};
use testkit::{expect, http};

const SERVER: &str = env!("CARGO_BIN_EXE_http-db-server");
const CLIENT: &str = env!("CARGO_BIN_EXE_http-db-client");
const LIMIT: Duration = Duration::from_secs(30);
const WAIT: Duration = Duration::from_secs(10);

/// Exports every 100 ms instead of every 5 s.
const QUICK_EXPORT: [(&str, &str); 1] = [("OTEL_BSP_SCHEDULE_DELAY", "100")];

/// The server on a free port, exporting to `collector`, with `args` added
/// (`--db`, `--redis`).
async fn server(collector: &Collector, args: &[&str]) -> RunningServer {
    let mut command = process::example_command(SERVER);
    command
        .args([
            "--listen",
            "127.0.0.1:0",
            "--endpoint",
            &collector.http_endpoint(),
        ])
        .args(args)
        .envs(QUICK_EXPORT);
    process::start_server(&mut command, LIMIT).await.unwrap()
}

/// The server binary with `args` (no collector needed), run to its end.
async fn server_run(args: &[&str]) -> Finished {
    let mut command = process::example_command(SERVER);
    command.args(["--listen", "127.0.0.1:0"]).args(args);
    process::run(&mut command, LIMIT).await.unwrap()
}

async fn client(collector: &Collector, url: &str, args: &[&str]) -> Finished {
    let mut command = process::example_command(CLIENT);
    command
        .args(["--url", url, "--endpoint", &collector.http_endpoint()])
        .args(args);
    process::run(&mut command, LIMIT).await.unwrap()
}

/// The trace of the client's run: 13 spans once complete; when fewer come,
/// the client's trace as it is, for the check to say what differs.
async fn trace_of(collector: &Collector) -> Trace {
    match collector
        .wait_for_trace(|t| t.spans.len() >= 13, WAIT)
        .await
    {
        Ok(trace) => trace,
        Err(_) => collector
            .traces()
            .into_iter()
            .find(|t| t.span_named("StartRequests").is_some())
            .unwrap_or_else(|| panic!("no client trace: {:#?}", collector.traces())),
    }
}

fn check(trace: &Trace) {
    if let Err(problems) = expect::http_with_db(trace) {
        panic!("{problems:#?}\n{trace:#?}");
    }
}

/// The spans the server made below its server spans: database and cache.
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

#[tokio::test(flavor = "multi_thread")]
async fn one_trace_across_client_server_database_and_cache() {
    let collector = collector(None).await;
    let server = server(&collector, &[]).await;
    let out = client(&collector, &server.url(""), &[]).await;
    assert!(out.status.success(), "{}", out.stderr);
    expect::http_db_output(&out.stdout).unwrap();
    assert_eq!(
        out.stdout,
        "insert id: 1\nquery result: {\"id\":1,\"name\":\"john\"}\ndelete id: 1\n"
    );

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

    // Both sides log with the trace id of the one trace: the client its
    // results, the server an access line per request and a line per SQL statement.
    let id = trace.trace_id.clone();
    for line in [
        "insert id: 1",
        "query result: {\"id\":1,\"name\":\"john\"}",
        "delete id: 1",
    ] {
        assert!(
            out.stderr.contains(&format!("{{{id}}} {line}")),
            "{}",
            out.stderr
        );
    }
    let server_out = server.stop(LIMIT).await.unwrap();
    let logged = |needle: &str| {
        server_out
            .stderr
            .lines()
            .any(|l| l.contains(&format!("{{{id}}} ")) && l.contains(needle))
    };
    for access in [
        "200 POST /user/insert ",
        "200 GET /user/query ",
        "200 POST /user/delete ",
    ] {
        assert!(
            logged(access),
            "no access line `{access}`:\n{}",
            server_out.stderr
        );
    }
    for statement in ["INSERT INTO", "SELECT", "DELETE FROM"] {
        assert!(
            logged(statement),
            "no SQL line `{statement}`:\n{}",
            server_out.stderr
        );
    }
    assert!(
        server_out.stderr.contains("users: ") && server_out.stderr.contains("exported "),
        "{}",
        server_out.stderr
    );

    // The access lines are log records on their server span.
    let trace = collector.trace(&id).expect("the trace");
    for route in ["POST /user/insert", "GET /user/query", "POST /user/delete"] {
        let span = trace.span_named(route).unwrap();
        let on_span = trace.logs.iter().any(|log| {
            log.body.starts_with(&format!("200 {route} "))
                && log.span_id.as_deref() == Some(span.span_id.as_str())
        });
        assert!(on_span, "no access record on {route}: {:#?}", trace.logs);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn readme_sample_output_is_what_the_client_prints() {
    let collector = collector(None).await;
    let server = server(&collector, &[]).await;
    let out = client(&collector, &server.url(""), &[]).await;
    assert!(out.status.success(), "{}", out.stderr);
    let readmes = [
        include_str!("../README.md"),
        include_str!("../README.zh.md"),
    ];
    process::assert_readme_samples(&readmes, &out.stdout);
    server.stop(LIMIT).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn no_server_names_the_url_and_how_to_start_it() {
    let collector = collector(None).await;
    let url = format!("http://127.0.0.1:{}", process::closed_port().unwrap());
    let out = client(&collector, &url, &[]).await;
    assert_eq!(out.status.code(), Some(1), "{}", out.stderr);
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    let errors = errors(&out);
    assert_eq!(errors.len(), 1, "{}", out.stderr);
    assert!(
        errors[0].starts_with(&format!(
            "error: cannot reach the server at {url}/user/insert:"
        )) && errors[0].contains("`cargo run -p examples-http-with-db --bin http-db-server`"),
        "{}",
        errors[0]
    );
    assert!(out.elapsed < Duration::from_secs(10), "{:?}", out.elapsed);
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_db_or_redis_urls_exit_2_naming_the_flag() {
    for (flag, value) in [
        ("--db", "postgres://root@127.0.0.1/test"),
        ("--db", "mysql://root:12345678@127.0.0.1:99999/test"),
        ("--redis", "http://127.0.0.1:6379"),
        ("--redis", "redis://127.0.0.1:notaport/0"),
    ] {
        let out = server_run(&[flag, value]).await;
        assert_eq!(out.status.code(), Some(2), "{flag} {value}: {}", out.stderr);
        // clap's line for a value its parser refused, e.g.
        // `error: invalid value '...' for '--db <URL>': unknown database ...`
        let line = format!("for '{flag} <URL>': ");
        assert!(
            out.stderr.starts_with("error: invalid value '") && out.stderr.contains(&line),
            "{flag} {value}: {}",
            out.stderr
        );
        assert!(!out.stderr.contains("12345678"), "{}", out.stderr);
        assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_database_at_start_is_one_line_with_the_password_masked() {
    let port = process::closed_port().unwrap();
    let url = format!("mysql://root:12345678@127.0.0.1:{port}/test");
    let out = server_run(&["--db", &url]).await;
    assert_eq!(out.status.code(), Some(1), "{}", out.stderr);
    let errors = errors(&out);
    assert_eq!(errors.len(), 1, "{}", out.stderr);
    assert!(
        errors[0].contains(&format!("127.0.0.1:{port}")),
        "{}",
        errors[0]
    );
    assert!(!out.stderr.contains("12345678"), "{}", out.stderr);
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    assert!(!out.stderr.contains("listening on"), "{}", out.stderr);
    assert!(out.elapsed < Duration::from_secs(10), "{:?}", out.elapsed);
}

/// The envelope of an answer, parsed.
fn envelope(response: &http::HttpResponse) -> serde_json::Value {
    serde_json::from_slice(&response.body)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", response.text()))
}

const FORM: [(&str, &str); 1] = [("Content-Type", "application/x-www-form-urlencoded")];

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_refused_and_a_hostile_name_is_stored_verbatim() {
    let collector = collector(None).await;
    let server = server(&collector, &[]).await;

    let long = format!("name={}", "x".repeat(46));
    let response = http::post(server.addr(), "/user/insert", &FORM, long.as_bytes()).await;
    assert_eq!(response.status, 400, "{}", response.text());
    assert_eq!(
        envelope(&response),
        serde_json::json!({"code":51,"message":"The name may be at most 45 characters, got 46.","data":null})
    );
    let response = http::get(server.addr(), "/user/query?id=999", &[]).await;
    assert_eq!(response.status, 404, "{}", response.text());
    assert_eq!(envelope(&response)["message"], "no user with id 999");

    // Through the client, as a learner would try it.
    let hostile = "o'hara\"); DROP TABLE user;--";
    let out = client(&collector, &server.url(""), &["--name", hostile]).await;
    assert!(out.status.success(), "{}", out.stderr);
    let result = serde_json::json!({"id": 1, "name": hostile});
    assert!(
        out.stdout.contains(&format!("query result: {result}\n")),
        "{}",
        out.stdout
    );
    // The table is still there, and the name is in no span.
    let out = client(&collector, &server.url(""), &[]).await;
    assert!(out.status.success(), "{}", out.stderr);
    assert!(out.stdout.starts_with("insert id: 2\n"), "{}", out.stdout);
    for trace in collector.traces() {
        for span in &trace.spans {
            let text = format!("{:?}{:?}", span.attributes, span.events);
            assert!(!text.contains("o'hara"), "{span:#?}");
        }
    }
    server.stop(LIMIT).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn on_mariadb_and_redis_the_trace_names_them() {
    let test = "on_mariadb_and_redis_the_trace_names_them";
    let (Some(db), Some(redis)) = (MariaDb::start(test).await, Redis::start(test).await) else {
        return;
    };
    let collector = collector(None).await;
    let server = server(&collector, &["--db", &db.url(), "--redis", &redis.url()]).await;
    assert!(
        server.stderr().contains("MariaDB") || server.stderr().contains("mariadb"),
        "{}",
        server.stderr()
    );
    let out = client(&collector, &server.url(""), &[]).await;
    assert!(out.status.success(), "{}", out.stderr);
    expect::http_db_output(&out.stdout).unwrap();

    let trace = trace_of(&collector).await;
    check(&trace);
    for span in store_spans(&trace) {
        if span.name.ends_with(" user") {
            assert_eq!(
                span.attr_str("db.system.name"),
                Some("mariadb"),
                "{span:#?}"
            );
            assert_eq!(
                span.attr_i64("server.port"),
                Some(i64::from(db.port())),
                "{span:#?}"
            );
        } else {
            assert_eq!(span.kind, SpanKind::Client, "{span:#?}");
            assert_eq!(span.attr_str("db.system.name"), Some("redis"), "{span:#?}");
            assert_eq!(
                span.attr_i64("server.port"),
                Some(i64::from(redis.port())),
                "{span:#?}"
            );
        }
    }
    // The service map: MariaDB and Redis as nodes of their own, named by
    // system, address and port, with as many calls as the trace has spans
    // of each.
    let (sql, cached): (Vec<&Span>, Vec<&Span>) = store_spans(&trace)
        .into_iter()
        .partition(|s| s.name.ends_with(" user"));
    assert!(!sql.is_empty() && !cached.is_empty(), "{trace:#?}");
    let map = collector.map();
    let node = |name: String| {
        map.nodes
            .iter()
            .find(|n| n.name == name)
            .map(|n| (n.kind, n.calls, n.errors))
            .unwrap_or_else(|| panic!("no node {name}: {map:#?}"))
    };
    use collector::NodeKind::{Cache, Database};
    assert_eq!(
        node(format!("mariadb 127.0.0.1:{}", db.port())),
        (Database, sql.len() as u64, 0)
    );
    assert_eq!(
        node(format!("redis 127.0.0.1:{}", redis.port())),
        (Cache, cached.len() as u64, 0)
    );
    server.stop(LIMIT).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_database_that_goes_away_is_a_503_until_it_returns() {
    let test = "a_database_that_goes_away_is_a_503_until_it_returns";
    let Some(mut db) = MariaDb::start(test).await else {
        return;
    };
    let collector = collector(None).await;
    let server = server(&collector, &["--db", &db.url()]).await;
    let insert = || http::post(server.addr(), "/user/insert", &FORM, b"name=john");
    assert_eq!(insert().await.status, 200);

    db.stop().await;
    let response = insert().await;
    assert_eq!(response.status, 503, "{}", response.text());
    let body = envelope(&response);
    assert_eq!(body["code"], 52, "{body}");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("the database is unavailable")),
        "{body}"
    );
    // The server span says why: status Error and the cause as an exception.
    let trace = collector
        .wait_for_trace(
            |t| {
                t.spans
                    .iter()
                    .any(|s| s.name == "POST /user/insert" && s.is_error())
            },
            WAIT,
        )
        .await
        .unwrap_or_else(|_| panic!("no failed insert: {:#?}", collector.traces()));
    let span = trace.span_named("POST /user/insert").unwrap();
    assert_eq!(span.attr_i64("http.response.status_code"), Some(503));
    let why = span
        .events
        .iter()
        .find(|e| e.name == "exception")
        .and_then(|e| e.attributes.get("exception.message"))
        .and_then(|m| m.as_str())
        .unwrap_or_else(|| panic!("no exception on {span:#?}"));
    assert!(why.starts_with("the database is unavailable"), "{why}");

    // Back: the next requests succeed (the pool reconnects), within bounds.
    db.restart().await;
    let mut last = insert().await;
    for _ in 0..50 {
        if last.status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        last = insert().await;
    }
    assert_eq!(last.status, 200, "{}", last.text());
    server.stop(LIMIT).await.unwrap();
}
