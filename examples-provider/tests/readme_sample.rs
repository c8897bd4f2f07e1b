//! The README's collector sample is what the collector binary prints for
//! the README's run of 20 requests at one in two with the simple
//! processor: every sampled trace as the sample shows it (trace ids and
//! durations aside).

use std::time::Duration;

use testkit::process;
use testkit::samples::{
    PrintingCollector, SAMPLE_COLLECTOR, assert_collector_sample, hello_server,
};

const GRPC: &str = env!("CARGO_BIN_EXE_provider-grpc");
const LIMIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread")]
async fn the_readme_shows_what_the_collector_prints() {
    let collector = PrintingCollector::start();
    let server = hello_server(&collector).await;
    let mut command = process::example_command(GRPC);
    command
        .args(["--url", &server.url("/hello")])
        .args(["--endpoint", collector.grpc_endpoint()])
        .args(["--count", "20", "--sampler", "parentbased_traceidratio"])
        .args(["--sampler-arg", "0.5", "--processor", "simple"]);
    let out = process::run(&mut command, LIMIT).await.unwrap();
    assert!(out.status.success(), "{}", out.stderr);
    // At one in two, none of 20 sampled is one chance in a million.
    let sampled = out.stdout.matches(", sampled)").count();
    assert!(sampled > 0, "{}", out.stdout);
    for _ in 0..sampled {
        let printed = collector.next_traces(1, LIMIT);
        assert_collector_sample(env!("CARGO_MANIFEST_DIR"), SAMPLE_COLLECTOR, &printed, &[]);
    }
    server.stop(LIMIT).await.unwrap();
    let late = collector.printed_meanwhile(Duration::from_millis(1500));
    assert!(late.is_empty(), "printed after the sample: {late:#?}");
}
