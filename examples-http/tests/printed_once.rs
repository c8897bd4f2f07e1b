//! The README's step-by-step path, as a learner runs it: the collector
//! binary printing traces in one terminal, the server in a second, the
//! client in a third. Each cross-process trace is printed once, whole; a
//! server whose batch comes later than the collector waits gets one line
//! for its late spans, not a second tree.

use std::time::{Duration, Instant};

use testkit::process::{self, RunningServer};
use testkit::samples::PrintingCollector;

const SERVER: &str = env!("CARGO_BIN_EXE_server");
const CLIENT: &str = env!("CARGO_BIN_EXE_client");
const LIMIT: Duration = Duration::from_secs(30);

/// The server exporting to the collector, with only `env` added to a clean
/// environment (no `OTEL_BSP_SCHEDULE_DELAY`: the example's own default).
async fn server(collector: &PrintingCollector, env: &[(&str, &str)]) -> RunningServer {
    process::example_server(SERVER, collector.http_endpoint(), env)
        .await
        .unwrap()
}

/// The client's run; it fails (by design) on `/error`.
async fn client(collector: &PrintingCollector, url: &str) -> process::Finished {
    let mut command = process::example_command(CLIENT);
    command.args(["--url", url, "--endpoint", collector.http_endpoint()]);
    process::run(&mut command, LIMIT).await.unwrap()
}

fn headers(printed: &[String]) -> Vec<&String> {
    printed.iter().filter(|l| l.starts_with("trace ")).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn each_trace_is_printed_once_and_whole_with_the_default_batch_delay() {
    let collector = PrintingCollector::start();
    let server = server(&collector, &[]).await;
    for path in ["/hello", "/hello", "/error"] {
        let out = client(&collector, &server.url(path)).await;
        assert!(out.stderr.contains("exported"), "{}", out.stderr);
    }
    // The server's batch (500 ms by default) and the collector's settle
    // time (1 s) have both passed once nothing is printed for 3 s.
    let printed = collector.printed_meanwhile(Duration::from_secs(3));
    let text = printed.join("\n");
    let headers = headers(&printed);
    assert_eq!(headers.len(), 3, "{text}");
    // /hello: client root, GET, server span, HelloHandler; /error: no handler span.
    for (header, spans) in headers.into_iter().zip([4, 4, 3]) {
        assert!(header.contains(&format!(" {spans} spans ")), "{text}");
        assert!(
            header.contains("services: otlp-http-client, otlp-http-server"),
            "{text}"
        );
        assert!(!header.contains("incomplete"), "{text}");
        assert!(!header.contains('+'), "a late-span line: {text}");
    }
    server.stop(LIMIT).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn spans_after_the_print_get_one_line_not_a_second_tree() {
    let collector = PrintingCollector::start();
    // A batch delay longer than the collector waits: the client's half of
    // the trace is printed first, the server's arrives later.
    let server = server(&collector, &[("OTEL_BSP_SCHEDULE_DELAY", "3000")]).await;
    let started = Instant::now();
    let out = client(&collector, &server.url("/hello")).await;
    assert!(out.status.success(), "{}", out.stderr);
    let mut printed = Vec::new();
    while printed
        .iter()
        .filter(|l: &&String| l.starts_with("trace "))
        .count()
        < 2
        && started.elapsed() < LIMIT
    {
        printed.extend(collector.printed_meanwhile(Duration::from_secs(1)));
    }
    let text = printed.join("\n");
    let headers = headers(&printed);
    assert_eq!(headers.len(), 2, "{text}");
    assert!(headers[0].contains(" 2 spans "), "{text}");
    assert!(headers[0].contains("services: otlp-http-client"), "{text}");
    let late = headers[1];
    assert!(late.contains("+2 spans"), "{text}");
    assert!(late.contains("after it was printed"), "{text}");
    assert!(late.contains("HelloHandler [otlp-http-server]"), "{text}");
    assert!(
        late.contains("batch came later than the collector waits"),
        "{text}"
    );
    // One line, not a tree: nothing indented follows it.
    let after: Vec<&String> = printed
        .iter()
        .skip_while(|l| *l != late)
        .skip(1)
        .filter(|l| !l.is_empty())
        .collect();
    assert!(after.is_empty(), "{text}");
    server.stop(LIMIT).await.unwrap();
}
