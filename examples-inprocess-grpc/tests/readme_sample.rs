//! The README's collector sample is what the collector binary prints for
//! one run of the example (trace ids and durations aside).

use std::time::Duration;

use testkit::exporter;
use testkit::samples::{PrintingCollector, SAMPLE_COLLECTOR, assert_collector_sample};

const BIN: &str = env!("CARGO_BIN_EXE_examples-inprocess-grpc");

#[tokio::test(flavor = "multi_thread")]
async fn the_readme_shows_what_the_collector_prints() {
    let collector = PrintingCollector::start();
    let out = exporter::run(BIN, &["--endpoint", collector.grpc_endpoint()], &[]).await;
    assert!(out.status.success(), "{}", out.stderr);
    let printed = collector.next_traces(1, Duration::from_secs(30));
    assert_collector_sample(env!("CARGO_MANIFEST_DIR"), SAMPLE_COLLECTOR, &printed, &[]);
    let late = collector.printed_meanwhile(Duration::from_millis(1500));
    assert!(late.is_empty(), "printed after the sample: {late:#?}");
}
