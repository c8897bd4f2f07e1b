//! The README's collector samples are what the collector binary prints for
//! the README's runs on MariaDB and Redis: the server's start-up log
//! records and the client's run, then the same
//! client with the database stopped (trace ids and durations aside).

use std::time::Duration;

use testkit::process::{self, Finished, RunningServer};
use testkit::samples::{PrintingCollector, SAMPLE_COLLECTOR, assert_collector_sample};
use testkit::servers::{MariaDb, Redis};

const SERVER: &str = env!("CARGO_BIN_EXE_grpc-db-server");
const CLIENT: &str = env!("CARGO_BIN_EXE_grpc-db-client");
const LIMIT: Duration = Duration::from_secs(30);
const OUTAGE: &str = "<!-- sample collector outage -->";

async fn client(collector: &PrintingCollector, server: &RunningServer) -> Finished {
    let mut command = process::example_command(CLIENT);
    command.args([
        "--url",
        &server.url(""),
        "--endpoint",
        collector.grpc_endpoint(),
    ]);
    process::run(&mut command, LIMIT).await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_readme_shows_what_the_collector_prints() {
    let test = "examples-grpc-with-db the_readme_shows_what_the_collector_prints";
    let Some(mut mariadb) = MariaDb::start(test).await else {
        return;
    };
    let Some(redis) = Redis::start(test).await else {
        return;
    };
    let collector = PrintingCollector::start();
    // The server on its own defaults (its batch every 500 ms).
    let mut command = process::example_command(SERVER);
    command
        .args(["--listen", "127.0.0.1:0"])
        .args(["--endpoint", collector.grpc_endpoint()])
        .args(["--db", &mariadb.url(), "--redis", &redis.url()]);
    let server = process::start_server(&mut command, LIMIT).await.unwrap();
    let dir = env!("CARGO_MANIFEST_DIR");
    // Its start-up log records (`SELECT VERSION()`, `CREATE TABLE`) come
    // first, of no trace.
    let mut printed = collector.next_lines(2, LIMIT);

    let out = client(&collector, &server).await;
    assert!(out.status.success(), "{}", out.stderr);
    printed.extend(collector.next_traces(1, LIMIT));
    assert_collector_sample(dir, SAMPLE_COLLECTOR, &printed, &[]);

    mariadb.stop().await;
    let out = client(&collector, &server).await;
    assert!(!out.status.success(), "{}", out.stderr);
    let printed = collector.next_traces(1, LIMIT);
    assert_collector_sample(dir, OUTAGE, &printed, &[]);

    server.stop(LIMIT).await.unwrap();
    let late = collector.printed_meanwhile(Duration::from_millis(1500));
    assert!(late.is_empty(), "printed after the samples: {late:#?}");
}
