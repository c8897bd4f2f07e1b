//! Load on the server, with tracing on and off: requests per second, latency
//! percentiles, and whether any span was dropped on the way to the collector.
//!
//! Run with (release build; loopback only; bounded in time)
//!
//! ```text
//! cargo bench -p examples-http --bench load
//! cargo bench -p examples-http --bench load -- --connections 50 --seconds 10
//! ```
//!
//! For each mode it starts the embedded collector in this process, the
//! `server` binary on a free port, drives `GET /hello` (with a `baggage`
//! header) over `--connections` keep-alive connections for `--seconds`, then
//! stops the server with SIGTERM and reads its delivery report: every
//! request answered must have left 2 spans (`GET /hello` and `HelloHandler`).
//! "Tracing off" is the standard `OTEL_TRACES_SAMPLER=always_off`: the layer
//! and the propagators still run, no span is recorded.
//!
//! The SDK's batch processor holds at most `OTEL_BSP_MAX_QUEUE_SIZE` spans
//! (2048) between exports and drops what does not fit; set that variable (or
//! `OTEL_BSP_MAX_EXPORT_BATCH_SIZE`, `OTEL_BSP_SCHEDULE_DELAY`) when running
//! the bench to try other settings: it is passed on to the server.

use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use collector::{Collector, CollectorConfig};
use testkit::process;

const SERVER: &str = env!("CARGO_BIN_EXE_server");
/// Spans the server records per `/hello` request.
const SPANS_PER_REQUEST: usize = 2;

/// The batch span processor settings the SDK reads from the environment.
const BSP_VARIABLES: [&str; 3] = [
    "OTEL_BSP_MAX_QUEUE_SIZE",
    "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
    "OTEL_BSP_SCHEDULE_DELAY",
];

struct Options {
    connections: usize,
    seconds: u64,
}

fn options() -> anyhow::Result<Options> {
    let mut options = Options {
        connections: 50,
        seconds: 5,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            // `cargo bench` passes `--bench` to every bench target.
            "--bench" => {}
            "--connections" => {
                options.connections = args.next().context("--connections N")?.parse()?;
            }
            "--seconds" => options.seconds = args.next().context("--seconds T")?.parse()?,
            other => bail!("unknown argument `{other}` (use --connections N --seconds T)"),
        }
    }
    if !(1..=500).contains(&options.connections) || !(1..=60).contains(&options.seconds) {
        bail!("--connections must be 1..=500 and --seconds 1..=60");
    }
    Ok(options)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let options = options()?;
    // reqwest is built without a default TLS provider; this one is ring.
    let _ = rustls::crypto::ring::default_provider().install_default();
    println!(
        "GET /hello, {} connections, {} s per mode, loopback, {} CPUs",
        options.connections,
        options.seconds,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    for (mode, env) in [
        ("tracing on", None),
        ("tracing off", Some(("OTEL_TRACES_SAMPLER", "always_off"))),
    ] {
        measure(mode, env, &options).await?;
    }
    Ok(())
}

async fn measure(mode: &str, env: Option<(&str, &str)>, options: &Options) -> anyhow::Result<()> {
    // Few traces kept (memory), but every export request logged (the count).
    let config = CollectorConfig {
        max_traces: 100,
        max_requests: 1_000_000,
        ..CollectorConfig::ephemeral()
    };
    let collector = Collector::start(config).await?;
    let mut command = process::example_command(SERVER);
    command.args([
        "--listen",
        "127.0.0.1:0",
        "--endpoint",
        &collector.http_endpoint(),
    ]);
    command.envs(env);
    // The batch processor's knobs pass through, to try a bigger queue.
    for name in BSP_VARIABLES {
        if let Ok(value) = std::env::var(name) {
            command.env(name, value);
        }
    }
    let server = process::start_server(&mut command, Duration::from_secs(30)).await?;
    let url = server.url("/hello");
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(options.connections)
        .timeout(Duration::from_secs(5))
        .build()?;

    let started = Instant::now();
    let deadline = started + Duration::from_secs(options.seconds);
    let workers: Vec<_> = (0..options.connections)
        .map(|_| {
            let (client, url) = (client.clone(), url.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut failures = 0_usize;
                while Instant::now() < deadline {
                    let sent = Instant::now();
                    let answer = client.get(&url).header("baggage", "name=load").send().await;
                    match answer {
                        Ok(response) if response.status().is_success() => {
                            match response.text().await {
                                Ok(_) => latencies.push(sent.elapsed()),
                                Err(_) => failures += 1,
                            }
                        }
                        _ => failures += 1,
                    }
                }
                (latencies, failures)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut failures = 0;
    for worker in workers {
        let (mut mine, failed) = worker.await?;
        latencies.append(&mut mine);
        failures += failed;
    }
    let elapsed = started.elapsed();
    drop(client);

    server.terminate()?;
    let out = server.wait(Duration::from_secs(30)).await?;
    let exported = out
        .stderr
        .lines()
        .find_map(|line| {
            // `exported N spans to URL`, or, when spans were dropped,
            // `error: could not deliver M spans to URL: ... (N exported); ...`
            let count = match line.strip_prefix("exported ") {
                Some(rest) => rest.split(' ').next()?,
                None => line.split(" exported)").next()?.rsplit('(').next()?,
            };
            count.parse::<usize>().ok()
        })
        .with_context(|| {
            let tail: Vec<&str> = out.stderr.lines().rev().take(3).collect();
            format!("no `exported N spans` line from the server: {tail:?}")
        })?;
    let received: usize = collector
        .requests()
        .iter()
        .map(|request| request.span_count)
        .sum();
    collector.shutdown().await;

    latencies.sort_unstable();
    let requests = latencies.len();
    let percentile = |p: f64| {
        let index = ((requests as f64 * p).ceil() as usize).clamp(1, requests.max(1)) - 1;
        latencies
            .get(index)
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    println!(
        "{mode:>11}: {requests} requests in {:.1} s = {:.0} req/s; latency p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms; {failures} failed",
        elapsed.as_secs_f64(),
        requests as f64 / elapsed.as_secs_f64(),
        percentile(0.50),
        percentile(0.90),
        percentile(0.99),
        percentile(1.0),
    );
    let expected = if env.is_some() {
        0
    } else {
        SPANS_PER_REQUEST * requests
    };
    let verdict = if exported == expected {
        "none dropped".to_owned()
    } else if exported < expected {
        format!("{} DROPPED", expected - exported)
    } else {
        format!("{} more than expected", exported - expected)
    };
    println!(
        "{:>11}  spans: expected {expected}, server exported {exported} ({verdict}); the collector received {received}",
        ""
    );
    Ok(())
}
