//! The server and the client as two real processes against the embedded
//! collector on free ports: one trace across both, baggage on the wire,
//! concurrency, hostile headers, the failing route, no server, SIGTERM.

use std::collections::BTreeSet;
use std::hash::BuildHasher as _;
use std::time::Duration;

use collector::{Collector, Trace};
use testkit::exporter::collector;
use testkit::process::{self, Finished, RunningServer};
use testkit::{expect, http};

const SERVER: &str = env!("CARGO_BIN_EXE_server");
const CLIENT: &str = env!("CARGO_BIN_EXE_client");
const LIMIT: Duration = Duration::from_secs(30);
const WAIT: Duration = Duration::from_secs(10);

/// The server on a free port, exporting to `collector`; `env` adds variables
/// such as a short batch delay, so that spans arrive while it runs.
async fn server(collector: &Collector, env: &[(&str, &str)]) -> RunningServer {
    process::example_server(SERVER, &collector.http_endpoint(), env)
        .await
        .unwrap()
}

/// Exports every 100 ms instead of every 5 s.
const QUICK_EXPORT: [(&str, &str); 1] = [("OTEL_BSP_SCHEDULE_DELAY", "100")];

async fn client(collector: &Collector, url: &str) -> Finished {
    let mut command = process::example_command(CLIENT);
    command.args(["--url", url, "--endpoint", &collector.http_endpoint()]);
    process::run(&mut command, LIMIT).await.unwrap()
}

async fn trace_of(collector: &Collector, spans: usize) -> Trace {
    collector
        .wait_for_trace(|t| t.spans.len() >= spans, WAIT)
        .await
        .unwrap_or_else(|_| panic!("no trace of {spans} spans: {:#?}", collector.traces()))
}

/// SIGTERM, then a clean exit within the limit.
async fn stop(server: RunningServer) -> Finished {
    server.stop(LIMIT).await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn one_trace_across_client_and_server() {
    let collector = collector(None).await;
    let server = server(&collector, &QUICK_EXPORT).await;
    let out = client(&collector, &server.url("/hello")).await;
    assert!(out.status.success(), "{}", out.stderr);
    expect::http_output(&out.stdout, "hello:GoFrame").unwrap();

    let trace = trace_of(&collector, 4).await;
    if let Err(problems) = expect::http_request(&trace, "otlp-http-client", "otlp-http-server") {
        panic!("{problems:#?}\n{trace:#?}");
    }
    // Both sides log with the trace id of the one trace.
    let id = &trace.trace_id.clone();
    assert!(
        out.stderr
            .contains(&format!("{{{id}}} answer: hello:GoFrame")),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("exported 2 spans to"), "{}", out.stderr);
    assert!(
        server
            .stderr()
            .contains(&format!("{{{id}}} HelloHandler: name=\"GoFrame\"")),
        "{}",
        server.stderr()
    );
    // The client span carries the HTTP semantic-convention attributes.
    let get = trace.span_named("GET").unwrap();
    assert_eq!(
        get.attr_str("url.full"),
        Some(server.url("/hello").as_str())
    );
    assert_eq!(get.attr_str("server.address"), Some("127.0.0.1"));
    assert_eq!(
        get.attr_i64("server.port"),
        Some(i64::from(server.addr().port()))
    );
    let out = stop(server).await;
    assert!(out.stderr.contains("exported 2 spans to"), "{}", out.stderr);
    // Each side's log line is a log record on the span it was written in.
    let trace = collector
        .traces()
        .into_iter()
        .find(|t| t.trace_id == *id)
        .expect("the trace");
    if let Err(problems) = expect::http_logs(&trace, "hello:GoFrame", "GoFrame") {
        panic!("{problems:#?}\n{:#?}", trace.logs);
    }
}

/// A random, valid W3C trace id and span id.
fn ids(seed: usize) -> (String, String) {
    let random = std::collections::hash_map::RandomState::new();
    let trace = format!(
        "{:016x}{:016x}",
        random.hash_one(seed) | 1,
        random.hash_one(seed + 1_000_000)
    );
    let span = format!("{:016x}", random.hash_one(seed + 2_000_000) | 1);
    (trace, span)
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_requests_keep_their_own_trace_and_baggage() {
    const REQUESTS: usize = 50;
    let collector = collector(None).await;
    let server = server(&collector, &QUICK_EXPORT).await;
    let addr = server.addr();

    let requests: Vec<_> = (0..REQUESTS)
        .map(|i| {
            let (trace_id, parent_id) = ids(i);
            tokio::spawn(async move {
                let traceparent = format!("00-{trace_id}-{parent_id}-01");
                let baggage = format!("name=user-{i}");
                let response = http::get(
                    addr,
                    "/hello",
                    &[("traceparent", &traceparent), ("baggage", &baggage)],
                )
                .await;
                (i, trace_id, parent_id, response)
            })
        })
        .collect();
    let mut sent = Vec::new();
    for request in requests {
        let (i, trace_id, parent_id, response) = request.await.unwrap();
        assert_eq!(response.status, 200);
        assert_eq!(response.text(), format!("hello:user-{i}"));
        sent.push((trace_id, parent_id));
    }

    let spans = collector
        .wait_for_spans(2 * REQUESTS, WAIT)
        .await
        .unwrap_or_else(|_| panic!("{} spans arrived", collector.spans().len()));
    // Give a stray extra span the chance to show up, then check exactly.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(collector.spans().len(), 2 * REQUESTS, "{spans:#?}");
    assert_eq!(collector.traces().len(), REQUESTS);
    for (trace_id, parent_id) in &sent {
        let trace = collector.trace(trace_id).expect("one trace per request");
        assert_eq!(trace.spans.len(), 2, "{trace:#?}");
        let server_span = trace.span_named("GET /hello").unwrap();
        assert_eq!(server_span.kind, collector::SpanKind::Server);
        assert_eq!(server_span.parent_span_id.as_ref(), Some(parent_id));
        let handler = trace.span_named("HelloHandler").unwrap();
        assert_eq!(trace.parent(handler), Some(server_span));
    }
    stop(server).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_headers_are_served_as_a_new_root_trace() {
    let collector = collector(None).await;
    let server = server(&collector, &QUICK_EXPORT).await;
    let oversized = format!("name={}", "x".repeat(16 * 1024));
    let cases: [(&[(&str, &str)], &str); 5] = [
        (
            &[
                ("traceparent", "00-not-a-trace-id-01"),
                ("baggage", "name=ok"),
            ],
            "hello:ok",
        ),
        (
            &[(
                "traceparent",
                "00-00000000000000000000000000000000-0000000000000000-01",
            )],
            "hello:",
        ),
        (&[("baggage", &oversized)], "hello:"),
        (&[("baggage", ",;;=,=,name")], "hello:"),
        (&[("baggage", "name")], "hello:"),
    ];
    for (headers, answer) in cases {
        let response = http::get(server.addr(), "/hello", headers).await;
        assert_eq!(response.status, 200, "{headers:?}");
        assert_eq!(response.text(), answer, "{headers:?}");
    }
    collector
        .wait_for_spans(2 * cases.len(), WAIT)
        .await
        .unwrap();
    let traces = collector.traces();
    assert_eq!(traces.len(), cases.len(), "{traces:#?}");
    for trace in traces {
        // A new trace, started by the server: its span has no parent.
        let root = trace.root().unwrap();
        assert_eq!(root.name, "GET /hello");
        assert_eq!(root.parent_span_id, None);
        assert!(trace.is_complete());
    }
    stop(server).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn failing_route_gives_an_error_trace_on_both_sides() {
    let collector = collector(None).await;
    let server = server(&collector, &QUICK_EXPORT).await;
    let out = client(&collector, &server.url("/error")).await;
    assert_eq!(out.status.code(), Some(1), "{}", out.stderr);
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    assert!(
        out.stderr
            .contains("error: the server at http://127.0.0.1:")
            && out.stderr.contains("answered 500 Internal Server Error"),
        "{}",
        out.stderr
    );
    let trace = trace_of(&collector, 3).await;
    if let Err(problems) = expect::http_error(&trace, "otlp-http-client", "otlp-http-server") {
        panic!("{problems:#?}\n{trace:#?}");
    }
    stop(server).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retry_is_linked_to_the_first_attempt() {
    let collector = collector(None).await;
    let server = server(&collector, &QUICK_EXPORT).await;
    let mut command = process::example_command(CLIENT);
    let url = server.url("/error");
    command.args(["--url", &url, "--retries", "1"]);
    command.args(["--endpoint", &collector.http_endpoint()]);
    let out = process::run(&mut command, LIMIT).await.unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", out.stderr);
    assert!(out.stderr.contains("trying again"), "{}", out.stderr);
    // StartRequests, and twice: GET -> GET /error.
    let trace = trace_of(&collector, 5).await;
    let gets = trace.spans_named("GET");
    let [first, retry] = gets[..] else {
        panic!("two attempts: {trace:#?}");
    };
    assert!(first.links.is_empty(), "{first:#?}");
    let links: Vec<(&str, &str)> = retry
        .links
        .iter()
        .map(|l| (l.trace_id.as_str(), l.span_id.as_str()))
        .collect();
    assert_eq!(links, [(first.trace_id.as_str(), first.span_id.as_str())]);
    // The collector shows it from the other side too.
    let stored = collector.trace(&trace.trace_id).unwrap();
    let first = stored
        .spans
        .iter()
        .find(|s| s.span_id == first.span_id)
        .unwrap();
    let from: Vec<&str> = first
        .linked_from
        .iter()
        .map(|l| l.span_id.as_str())
        .collect();
    assert_eq!(from, [retry.span_id.as_str()]);
    stop(server).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn no_server_says_how_to_start_it_and_still_delivers_the_trace() {
    let collector = collector(None).await;
    let url = format!("http://127.0.0.1:{}/hello", process::closed_port().unwrap());
    let out = client(&collector, &url).await;
    assert_eq!(out.status.code(), Some(1), "{}", out.stderr);
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    let errors: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("error:"))
        .collect();
    assert_eq!(errors.len(), 1, "{}", out.stderr);
    assert!(
        errors[0].starts_with(&format!("error: cannot reach the server at {url}:"))
            && errors[0].contains("cargo run -p examples-http --bin server"),
        "{}",
        errors[0]
    );
    assert!(out.stderr.contains("exported 2 spans to"), "{}", out.stderr);
    assert!(out.elapsed < Duration::from_secs(10), "{:?}", out.elapsed);

    let trace = trace_of(&collector, 2).await;
    let root = trace.root().unwrap();
    assert_eq!(root.name, "StartRequests");
    assert!(root.is_error(), "{root:#?}");
    let get = trace.span_named("GET").unwrap();
    assert_eq!(get.kind, collector::SpanKind::Client);
    assert!(get.is_error());
    assert_eq!(get.attr_str("error.type"), Some("connect"));
    assert!(get.events.iter().any(|e| e.name == "exception"));
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_flushes_the_spans_of_recent_requests() {
    const REQUESTS: usize = 5;
    let collector = collector(None).await;
    // The default batch delay (5 s): only the shutdown flush can deliver in time.
    let server = server(&collector, &[]).await;
    for i in 0..REQUESTS {
        let baggage = format!("name=n{i}");
        let response = http::get(server.addr(), "/hello", &[("baggage", &baggage)]).await;
        assert_eq!(response.text(), format!("hello:n{i}"));
    }
    let out = stop(server).await;
    assert!(out.elapsed < LIMIT);
    // Already there when the process has exited: no waiting.
    assert_eq!(collector.spans().len(), 2 * REQUESTS, "{}", out.stderr);
    let names: BTreeSet<String> = collector.spans().into_iter().map(|s| s.name).collect();
    assert_eq!(
        names,
        BTreeSet::from(["GET /hello".to_owned(), "HelloHandler".to_owned()])
    );
    assert!(
        out.stderr.contains("shutting down")
            && out
                .stderr
                .contains(&format!("exported {} spans to", 2 * REQUESTS)),
        "{}",
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn readme_sample_output_is_what_the_client_prints() {
    let collector = collector(None).await;
    let server = server(&collector, &[]).await;
    let out = client(&collector, &server.url("/hello")).await;
    assert!(out.status.success(), "{}", out.stderr);
    let readmes = [
        include_str!("../README.md"),
        include_str!("../README.zh.md"),
    ];
    process::assert_readme_samples(&readmes, &out.stdout);
    stop(server).await;
}
