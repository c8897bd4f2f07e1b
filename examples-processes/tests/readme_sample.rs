//! The README's collector sample is what the collector binary prints for
//! the README's steps 2 to 5 (trace ids and durations aside).

use std::time::Duration;

use testkit::process;
use testkit::samples::{PrintingCollector, SAMPLE_COLLECTOR, assert_collector_sample};

const GPROC: &str = env!("CARGO_BIN_EXE_gproc");
const GCMD: &str = env!("CARGO_BIN_EXE_gcmd");
const LIMIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread")]
async fn the_readme_shows_what_the_collector_prints() {
    let collector = PrintingCollector::start();
    let steps: [(&str, &[&str], bool); 4] = [
        (
            GPROC,
            &["--baggage", "user=john", "--baggage", "job=42"],
            true,
        ),
        (GCMD, &["--baggage", "user=john"], true),
        (GPROC, &["--shell", "exit 3"], false),
        (
            GPROC,
            &["--shell", "sleep 30; echo never", "--timeout", "1"],
            false,
        ),
    ];
    let mut printed = Vec::new();
    for (binary, args, succeeds) in steps {
        let mut command = process::example_command(binary);
        for name in ["TRACEPARENT", "TRACESTATE", "BAGGAGE"] {
            command.env_remove(name);
        }
        command
            .args(["--endpoint", collector.http_endpoint()])
            .args(args);
        let out = process::run(&mut command, LIMIT).await.unwrap();
        assert_eq!(out.status.success(), succeeds, "{args:?}: {}", out.stderr);
        if !printed.is_empty() {
            printed.push(String::new());
        }
        printed.extend(collector.next_traces(1, LIMIT));
    }
    assert_collector_sample(env!("CARGO_MANIFEST_DIR"), SAMPLE_COLLECTOR, &printed, &[]);
    let late = collector.printed_meanwhile(Duration::from_millis(1500));
    assert!(late.is_empty(), "printed after the sample: {late:#?}");
}
