//! The README's collector samples are what the collector binary prints for
//! the README's runs on MariaDB and Redis: the server's start-up log
//! records and the client's run, then the same
//! client with the database stopped (trace ids and durations aside).

use std::time::Duration;

use testkit::samples::{DbSample, SAMPLE_COLLECTOR, assert_collector_sample};

const SERVER: &str = env!("CARGO_BIN_EXE_grpc-db-server");
const CLIENT: &str = env!("CARGO_BIN_EXE_grpc-db-client");
const LIMIT: Duration = Duration::from_secs(30);
const OUTAGE: &str = "<!-- sample collector outage -->";

#[tokio::test(flavor = "multi_thread")]
async fn the_readme_shows_what_the_collector_prints() {
    let test = "examples-grpc-with-db the_readme_shows_what_the_collector_prints";
    let Some(mut run) = DbSample::start(test, SERVER, CLIENT, true, LIMIT).await else {
        return;
    };
    let collector = &run.collector;
    let dir = env!("CARGO_MANIFEST_DIR");
    // Its start-up log records (`SELECT VERSION()`, `CREATE TABLE`) come
    // first, of no trace.
    let mut printed = collector.next_lines(2, LIMIT);

    let out = run.client().await;
    assert!(out.status.success(), "{}", out.stderr);
    printed.extend(collector.next_traces(1, LIMIT));
    assert_collector_sample(dir, SAMPLE_COLLECTOR, &printed, &[]);

    run.mariadb.stop().await;
    let out = run.client().await;
    assert!(!out.status.success(), "{}", out.stderr);
    let printed = collector.next_traces(1, LIMIT);
    assert_collector_sample(dir, OUTAGE, &printed, &[]);

    run.server.stop(LIMIT).await.unwrap();
    let late = collector.printed_meanwhile(Duration::from_millis(1500));
    assert!(late.is_empty(), "printed after the samples: {late:#?}");
}
