//! The README's collector samples are what the collector binary prints for
//! the README's runs on MariaDB and Redis: the server's start-up log
//! records and the client's run, then an insert from curl (no
//! `traceparent`) with the database stopped (trace ids and durations
//! aside).

use std::time::Duration;

use testkit::http;
use testkit::samples::{DbSample, assert_collector_sample};

const SERVER: &str = env!("CARGO_BIN_EXE_http-db-server");
const CLIENT: &str = env!("CARGO_BIN_EXE_http-db-client");
const LIMIT: Duration = Duration::from_secs(30);
const OUTAGE: &str = "<!-- sample collector outage -->";
/// What `curl -d name=john` sends.
const FORM: [(&str, &str); 1] = [("Content-Type", "application/x-www-form-urlencoded")];

#[tokio::test(flavor = "multi_thread")]
async fn the_readme_shows_what_the_collector_prints() {
    let test = "examples-http-with-db the_readme_shows_what_the_collector_prints";
    let Some(mut run) = DbSample::start(test, SERVER, CLIENT, false, LIMIT).await else {
        return;
    };
    let dir = env!("CARGO_MANIFEST_DIR");
    run.assert_first_sample(dir).await;

    run.mariadb.stop().await;
    let response = http::post(run.server.addr(), "/user/insert", &FORM, b"name=john").await;
    assert_eq!(response.status, 503);
    let printed = run.collector.next_traces(1, LIMIT);
    assert_collector_sample(dir, OUTAGE, &printed, &[]);

    run.finish().await;
}
