//! The README's collector sample is what the collector binary prints for
//! the README's runs: `grpc`, then `http --path /adapt_xxx/api/otlp/traces`,
//! both calling `examples-http`'s server (trace ids and durations aside).

use std::time::Duration;

use testkit::process;
use testkit::samples::{
    PrintingCollector, SAMPLE_COLLECTOR, assert_collector_sample, hello_server,
};

const GRPC: &str = env!("CARGO_BIN_EXE_grpc");
const HTTP: &str = env!("CARGO_BIN_EXE_http");
const LIMIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread")]
async fn the_readme_shows_what_the_collector_prints() {
    let collector = PrintingCollector::start();
    let server = hello_server(&collector).await;
    let url = server.url("/hello");
    let runs: [(&str, Vec<&str>); 2] = [
        (
            GRPC,
            vec!["--url", &url, "--endpoint", collector.grpc_endpoint()],
        ),
        (
            HTTP,
            vec![
                "--url",
                &url,
                "--endpoint",
                collector.http_endpoint(),
                "--path",
                "/adapt_xxx/api/otlp/traces",
            ],
        ),
    ];
    let mut printed = Vec::new();
    for (binary, args) in runs {
        let mut command = process::example_command(binary);
        command.args(args);
        let out = process::run(&mut command, LIMIT).await.unwrap();
        assert!(out.status.success(), "{}", out.stderr);
        if !printed.is_empty() {
            printed.push(String::new());
        }
        printed.extend(collector.next_traces(1, LIMIT));
    }
    assert_collector_sample(env!("CARGO_MANIFEST_DIR"), SAMPLE_COLLECTOR, &printed, &[]);
    server.stop(LIMIT).await.unwrap();
    let late = collector.printed_meanwhile(Duration::from_millis(1500));
    assert!(late.is_empty(), "printed after the sample: {late:#?}");
}
