//! The README's collector sample is what the collector binary prints for
//! the README's run: the server, then the client on `/hello` and on
//! `/error` (trace ids and durations aside).

use std::time::Duration;

use testkit::process::{self, Finished, RunningServer};
use testkit::samples::{PrintingCollector, SAMPLE_COLLECTOR, assert_collector_sample};

const SERVER: &str = env!("CARGO_BIN_EXE_server");
const CLIENT: &str = env!("CARGO_BIN_EXE_client");
const LIMIT: Duration = Duration::from_secs(30);

async fn client(collector: &PrintingCollector, server: &RunningServer, path: &str) -> Finished {
    let mut command = process::example_command(CLIENT);
    command.args([
        "--url",
        &server.url(path),
        "--endpoint",
        collector.http_endpoint(),
    ]);
    process::run(&mut command, LIMIT).await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_readme_shows_what_the_collector_prints() {
    let collector = PrintingCollector::start();
    // The server on its own defaults (its batch every 500 ms), as the
    // README starts it.
    let server = process::example_server(SERVER, collector.http_endpoint(), &[])
        .await
        .unwrap();
    let mut printed = Vec::new();
    for (path, succeeds) in [("/hello", true), ("/error", false)] {
        let out = client(&collector, &server, path).await;
        assert_eq!(out.status.success(), succeeds, "{}", out.stderr);
        if !printed.is_empty() {
            printed.push(String::new());
        }
        printed.extend(collector.next_traces(1, LIMIT));
    }
    let addr = server.addr().to_string();
    assert_collector_sample(
        env!("CARGO_MANIFEST_DIR"),
        SAMPLE_COLLECTOR,
        &printed,
        &[(&addr, "127.0.0.1:8000")],
    );
    server.stop(LIMIT).await.unwrap();
    let late = collector.printed_meanwhile(Duration::from_millis(1500));
    assert!(late.is_empty(), "printed after the sample: {late:#?}");
}
