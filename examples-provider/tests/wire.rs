//! Both binaries as real processes, with the real `examples-http` server,
//! against the embedded collector on free ports: what each sampler exports,
//! that the parent-based server records exactly the client's sampled
//! traces, and both span processors on both exporters.

use std::collections::BTreeSet;
use std::time::Duration;

use collector::{Collector, Transport};
use testkit::expect;
use testkit::exporter::{assert_grpc_export, collector};
use testkit::process::{self, Finished, RunningServer};

const GRPC: &str = env!("CARGO_BIN_EXE_provider-grpc");
const HTTP: &str = env!("CARGO_BIN_EXE_provider-http");
const LIMIT: Duration = Duration::from_secs(60);
const WAIT: Duration = Duration::from_secs(10);
/// Long enough for the server's 100 ms batches to arrive when nothing is
/// expected: what did not come by then is not coming.
const QUIET: Duration = Duration::from_millis(1500);

/// `examples-http`'s server (parent-based sampler, the default), exporting
/// every 100 ms to `collector`.
async fn server(collector: &Collector) -> RunningServer {
    let binary =
        process::workspace_binary("examples-http", "server").unwrap_or_else(|e| panic!("{e:#}"));
    let env = [("OTEL_BSP_SCHEDULE_DELAY", "100")];
    process::example_server(binary.to_str().unwrap(), &collector.http_endpoint(), &env)
        .await
        .unwrap()
}

fn endpoint(binary: &str, collector: &Collector) -> String {
    if binary == GRPC {
        collector.grpc_endpoint()
    } else {
        collector.http_endpoint()
    }
}

async fn run(
    binary: &str,
    collector: &Collector,
    server: &RunningServer,
    args: &[&str],
    env: &[(&str, &str)],
) -> Finished {
    let mut command = process::example_command(binary);
    command
        .args(["--url", &server.url("/hello")])
        .args(["--endpoint", &endpoint(binary, collector)])
        .args(args)
        .envs(env.iter().copied());
    process::run(&mut command, LIMIT).await.unwrap()
}

/// The `hello:john (trace ID, sampled|not sampled)` lines: (trace id, sampled).
fn decisions(stdout: &str) -> Vec<(String, bool)> {
    stdout
        .lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("hello:john (trace ")?;
            let (id, decision) = rest.strip_suffix(')')?.split_once(", ")?;
            Some((id.to_owned(), decision == "sampled"))
        })
        .collect()
}

/// Go's `TraceIDRatioBased`: sampled iff the trace id's last 8 bytes, big
/// endian, shifted right by one, are below `ratio * 2^63`.
fn go_ratio_decision(trace_id: &str, ratio: f64) -> bool {
    let low = u64::from_str_radix(&trace_id[16..], 16).unwrap();
    (low >> 1) < (ratio * (1u64 << 63) as f64) as u64
}

fn trace_ids(collector: &Collector, service: &str) -> BTreeSet<String> {
    collector
        .spans()
        .into_iter()
        .filter(|span| span.service_name == service)
        .map(|span| span.trace_id)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn always_off_exports_nothing_and_says_why() {
    let collector = collector(None).await;
    let server = server(&collector).await;
    for binary in [GRPC, HTTP] {
        let out = run(
            binary,
            &collector,
            &server,
            &["--sampler", "always_off"],
            &[],
        )
        .await;
        assert!(out.status.success(), "{}", out.stderr);
        assert_eq!(decisions(&out.stdout).len(), 1, "{}", out.stdout);
        assert!(
            out.stdout.contains(
                "nothing was exported: the sampler always_off drops every new trace; \
                 run with --sampler always_on to see the trace"
            ),
            "{}",
            out.stdout
        );
    }
    // Nor did the server record its side: it follows the client's decision.
    tokio::time::sleep(QUIET).await;
    assert_eq!(collector.span_count(), 0, "{:#?}", collector.spans());
    server.stop(LIMIT).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn default_ratio_single_unsampled_run_says_how_to_see_it() {
    let collector = collector(None).await;
    let server = server(&collector).await;
    // Run until one is not sampled (9 in 10 are not); each says what it did.
    for _ in 0..20 {
        let out = run(HTTP, &collector, &server, &[], &[]).await;
        assert!(out.status.success(), "{}", out.stderr);
        let [(id, sampled)] = &decisions(&out.stdout)[..] else {
            panic!("{}", out.stdout)
        };
        assert_eq!(*sampled, go_ratio_decision(id, 0.1), "{id}");
        assert!(
            out.stdout
                .contains("sampler traceidratio 0.1: 1 trace started")
        );
        if !*sampled {
            assert!(
                out.stdout.contains(
                    "nothing was exported: the sampler dropped this trace (it keeps about 10% \
                     of them); run with --sampler always_on to see the trace"
                ),
                "{}",
                out.stdout
            );
            tokio::time::sleep(QUIET).await;
            // No span of it, on either side. (The server's log line still
            // arrives: the sampler decides about spans, not log records.)
            let trace = collector.trace(id);
            assert!(
                trace.as_ref().is_none_or(|t| t.spans.is_empty()),
                "{trace:#?}"
            );
            server.stop(LIMIT).await.unwrap();
            return;
        }
    }
    panic!("20 runs in a row were sampled at a ratio of 0.1");
}

#[tokio::test(flavor = "multi_thread")]
async fn always_on_exports_one_trace_across_both_processes_with_the_resource() {
    let collector = collector(None).await;
    let server = server(&collector).await;
    let env = [(
        "OTEL_RESOURCE_ATTRIBUTES",
        "deployment.environment.name=workshop",
    )];
    let args = ["--sampler", "always_on", "--token", "tok-provider-1"];
    let out = run(GRPC, &collector, &server, &args, &env).await;
    assert!(out.status.success(), "{}", out.stderr);
    let [(id, true)] = &decisions(&out.stdout)[..] else {
        panic!("{}", out.stdout)
    };
    assert!(
        out.stdout
            .contains("sampler always_on: 1 trace started, 1 sampled, 1 exported (2 spans)"),
        "{}",
        out.stdout
    );

    let trace = collector
        .wait_for_trace(|t| t.trace_id == *id && t.spans.len() >= 4, WAIT)
        .await
        .unwrap_or_else(|_| panic!("no trace {id}: {:#?}", collector.traces()));
    if let Err(problems) = expect::http_request(&trace, "otlp-grpc-client", "otlp-http-server") {
        panic!("{problems:#?}\n{trace:#?}");
    }
    let root = trace.span_named("StartRequests").unwrap();
    assert_eq!(root.transport, Transport::Grpc);
    for key in [
        "host.name",
        "os.type",
        "process.pid",
        "telemetry.sdk.language",
    ] {
        assert!(
            root.resource.get(key).is_some(),
            "{key}: {:#?}",
            root.resource
        );
    }
    assert_eq!(
        root.resource_str("deployment.environment.name"),
        Some("workshop")
    );
    // The process detector's command line, with the token masked.
    let resource = format!("{:?}", root.resource);
    assert!(resource.contains("[redacted]"), "{resource}");
    assert!(!resource.contains("tok-provider-1"), "{resource}");
    for request in collector
        .requests()
        .iter()
        .filter(|r| r.transport == Transport::Grpc)
    {
        assert_grpc_export(request, Some("tok-provider-1"));
    }
    server.stop(LIMIT).await.unwrap();
}

/// 200 requests at a ratio of 0.5, from each binary (gRPC: `traceidratio`,
/// HTTP: `parentbased_traceidratio`): every decision is the Go SDK's for
/// that trace id, the count lands in the binomial range, and the server
/// (parent-based) recorded exactly the client's sampled traces: no orphans.
#[tokio::test(flavor = "multi_thread")]
async fn ratio_over_200_requests_and_the_server_follows_the_client() {
    let collector = collector(None).await;
    let server = server(&collector).await;
    let mut all_sampled = BTreeSet::new();
    let runs = [
        (GRPC, "traceidratio", "otlp-grpc-client"),
        (HTTP, "parentbased_traceidratio", "otlp-http-client"),
    ];
    for (binary, sampler, service) in runs {
        let args = [
            "--count",
            "200",
            "--sampler",
            sampler,
            "--sampler-arg",
            "0.5",
        ];
        let out = run(binary, &collector, &server, &args, &[]).await;
        assert!(out.status.success(), "{}", out.stderr);
        let decisions = decisions(&out.stdout);
        assert_eq!(decisions.len(), 200, "{}", out.stdout);
        for (id, sampled) in &decisions {
            assert_eq!(*sampled, go_ratio_decision(id, 0.5), "{id}");
        }
        let sampled: BTreeSet<String> = decisions
            .iter()
            .filter(|(_, sampled)| *sampled)
            .map(|(id, _)| id.clone())
            .collect();
        // A 99% interval fails one run in a hundred; this one, 1 in 10^8.
        let n = sampled.len();
        assert!((60..=140).contains(&n), "{n}");
        assert!(
            out.stdout.contains(&format!(
                "sampler {sampler} 0.5: 200 traces started, {n} sampled, {n} exported ({} spans)\n\
                 expected sampled: 82 to 118 of 200 (99% binomial interval, p = 0.5)",
                2 * n
            )),
            "{}",
            out.stdout
        );
        collector
            .wait_for_spans(4 * (all_sampled.len() + n), WAIT)
            .await
            .unwrap();
        assert_eq!(trace_ids(&collector, service), sampled);
        all_sampled.extend(sampled);
    }
    tokio::time::sleep(QUIET).await;
    assert_eq!(trace_ids(&collector, "otlp-http-server"), all_sampled);
    assert_eq!(collector.span_count(), 4 * all_sampled.len());
    server.stop(LIMIT).await.unwrap();
}

/// The contrast, GoFrame's set-up: a server whose sampler is not parent-based
/// (`always_on`, as GoFrame's `otlphttp.Init`) records the requests of a
/// trace the client dropped: its spans reach the collector without the
/// client span they name as parent.
#[tokio::test(flavor = "multi_thread")]
async fn a_server_that_is_not_parent_based_leaves_orphans() {
    let collector = collector(None).await;
    let binary =
        process::workspace_binary("examples-http", "server").unwrap_or_else(|e| panic!("{e:#}"));
    let env = [
        ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ("OTEL_TRACES_SAMPLER", "always_on"),
    ];
    let server =
        process::example_server(binary.to_str().unwrap(), &collector.http_endpoint(), &env)
            .await
            .unwrap();
    let out = run(GRPC, &collector, &server, &["--sampler", "always_off"], &[]).await;
    assert!(out.status.success(), "{}", out.stderr);
    let [(id, false)] = &decisions(&out.stdout)[..] else {
        panic!("{}", out.stdout)
    };
    let spans = collector.wait_for_spans(2, WAIT).await.unwrap();
    let server_span = spans.iter().find(|s| s.name == "GET /hello").unwrap();
    assert_eq!(server_span.trace_id, *id);
    let parent = server_span
        .parent_span_id
        .as_deref()
        .expect("a remote parent");
    assert!(spans.iter().all(|s| s.span_id != parent), "{spans:#?}");
    assert!(spans.iter().all(|s| s.service_name == "otlp-http-server"));
    server.stop(LIMIT).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn simple_processor_on_both_exporters() {
    let collector = collector(None).await;
    let server = server(&collector).await;
    for (binary, service) in [(GRPC, "otlp-grpc-client"), (HTTP, "otlp-http-client")] {
        let args = [
            "--processor",
            "simple",
            "--sampler",
            "always_on",
            "--count",
            "3",
        ];
        let out = run(binary, &collector, &server, &args, &[]).await;
        assert!(out.status.success(), "{}", out.stderr);
        assert!(
            out.stdout
                .contains("sampler always_on: 3 traces started, 3 sampled, 3 exported (6 spans)"),
            "{}",
            out.stdout
        );
        for (id, _) in decisions(&out.stdout) {
            let trace = collector
                .wait_for_trace(|t| t.trace_id == id && t.spans.len() >= 4, WAIT)
                .await
                .unwrap_or_else(|_| panic!("no trace {id}: {:#?}", collector.traces()));
            if let Err(problems) = expect::http_request(&trace, service, "otlp-http-server") {
                panic!("{problems:#?}\n{trace:#?}");
            }
        }
    }
    server.stop(LIMIT).await.unwrap();
}

/// Flags, environment, and the message the run must print.
type Case = (
    &'static [&'static str],
    &'static [(&'static str, &'static str)],
    &'static str,
);

#[tokio::test(flavor = "multi_thread")]
async fn bad_sampler_values_exit_2_naming_the_accepted_ones() {
    let accepted = "always_on, always_off, traceidratio, parentbased_always_on, \
                    parentbased_always_off, parentbased_traceidratio";
    let cases: [Case; 4] = [
        (
            &["--sampler", "sometimes"],
            &[],
            "[possible values: always_on",
        ),
        (
            &[],
            &[("OTEL_TRACES_SAMPLER", "sometimes")],
            "invalid OTEL_TRACES_SAMPLER `sometimes`: expected one of: ",
        ),
        (
            &["--sampler-arg", "1.5"],
            &[],
            "invalid --sampler-arg `1.5`: expected a number from 0 to 1",
        ),
        (
            &[],
            &[("OTEL_SPAN_EVENT_COUNT_LIMIT", "-1")],
            "invalid OTEL_SPAN_EVENT_COUNT_LIMIT `-1`: expected a whole number",
        ),
    ];
    for binary in [GRPC, HTTP] {
        for (args, env, message) in cases {
            let mut command = process::example_command(binary);
            command.args(args).envs(env.iter().copied());
            let out = process::run(&mut command, LIMIT).await.unwrap();
            assert_eq!(out.status.code(), Some(2), "{}", out.stderr);
            assert!(out.stderr.contains(message), "{}", out.stderr);
            if env
                .first()
                .is_some_and(|(name, _)| *name == "OTEL_TRACES_SAMPLER")
            {
                assert!(out.stderr.contains(accepted), "{}", out.stderr);
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_collector_is_a_failure_that_says_so() {
    let server_collector = collector(None).await;
    let server = server(&server_collector).await;
    let closed = format!("http://127.0.0.1:{}", process::closed_port().unwrap());
    for binary in [GRPC, HTTP] {
        let mut command = process::example_command(binary);
        command.args([
            "--url",
            &server.url("/hello"),
            "--endpoint",
            &closed,
            "--sampler",
            "always_on",
        ]);
        let out = process::run(&mut command, LIMIT).await.unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", out.stderr);
        assert!(
            out.stderr
                .contains("error: 1 sampled trace was not delivered to http://127.0.0.1:"),
            "{}",
            out.stderr
        );
    }
    server.stop(LIMIT).await.unwrap();
}

/// Both READMEs show what `--sampler always_off` prints (but the trace id).
#[tokio::test(flavor = "multi_thread")]
async fn readme_sample_is_what_always_off_prints() {
    let collector = collector(None).await;
    let server = server(&collector).await;
    let out = run(GRPC, &collector, &server, &["--sampler", "always_off"], &[]).await;
    assert!(out.status.success(), "{}", out.stderr);
    let [(id, false)] = &decisions(&out.stdout)[..] else {
        panic!("{}", out.stdout)
    };
    let readmes = [
        include_str!("../README.md"),
        include_str!("../README.zh.md"),
    ];
    for readme in readmes {
        let sample = process::readme_sample(readme, "<!-- sample always_off -->")
            .expect("README has the always_off sample");
        let (sample_id, _) = decisions(sample)
            .pop()
            .expect("a request line in the sample");
        assert_eq!(sample.trim(), out.stdout.replace(id, &sample_id).trim());
    }
    server.stop(LIMIT).await.unwrap();
}
