//! What `provider-grpc` and `provider-http` share, beside the pipeline they
//! each build in their own `main.rs`:
//!
//! - [`RunArgs`]: the flags beside the exporter's: what to call, how often,
//!   which sampler and processor;
//! - [`SamplerName`] and [`sampler_choice`]: `--sampler`/`--sampler-arg`, with
//!   `OTEL_TRACES_SAMPLER`/`OTEL_TRACES_SAMPLER_ARG` when the flags are absent;
//! - [`count_limit`]: a span limit from its standard variable, checked;
//! - [`Counted`]: a span exporter that counts what the collector accepted;
//! - [`OffRuntime`]: runs a synchronous export outside the tokio runtime,
//!   for the simple span processor;
//! - [`call_hello`]: the requests, each its own trace, and [`Summary`]: what
//!   a run did, and the range the sampler should land in.

use std::collections::HashSet;
use std::fmt;
use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};

use anyhow::bail;
use common::client::{self, TracedClient, Url};
use opentelemetry::baggage::BaggageExt as _;
use opentelemetry::trace::{
    FutureExt as _, Span as _, Status, TraceContextExt as _, TraceId, Tracer as _,
};
use opentelemetry::{Context, KeyValue, global};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

/// The flags both binaries take beside their exporter's.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// URL to call
    #[arg(long, value_name = "URL", default_value = client::DEFAULT_URL)]
    pub url: Url,
    /// Requests to make, each its own trace
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub count: u32,
    /// Sampler [env: OTEL_TRACES_SAMPLER] [default: traceidratio]
    #[arg(long, value_enum)]
    pub sampler: Option<SamplerName>,
    /// Ratio of the *traceidratio samplers, 0 to 1 [env: OTEL_TRACES_SAMPLER_ARG] [default: 0.1]
    #[arg(long, value_name = "RATIO")]
    pub sampler_arg: Option<f64>,
    /// Span processor: `batch` exports in the background, `simple` as each span ends
    #[arg(long, value_enum, default_value_t = Processor::Batch)]
    pub processor: Processor,
}

/// `--processor`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Processor {
    Batch,
    Simple,
}

/// The standard sampler names (`OTEL_TRACES_SAMPLER`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum SamplerName {
    AlwaysOn,
    AlwaysOff,
    #[value(name = "traceidratio")]
    TraceIdRatio,
    ParentbasedAlwaysOn,
    ParentbasedAlwaysOff,
    #[value(name = "parentbased_traceidratio")]
    ParentbasedTraceIdRatio,
}

/// The accepted sampler names, for error messages.
pub const SAMPLERS: &str = "always_on, always_off, traceidratio, parentbased_always_on, \
                            parentbased_always_off, parentbased_traceidratio";

/// GoFrame's provider example samples 10% of the traces.
pub const DEFAULT_RATIO: f64 = 0.1;

impl SamplerName {
    /// Whether `--sampler-arg` means something for it.
    pub fn takes_ratio(self) -> bool {
        matches!(
            self,
            SamplerName::TraceIdRatio | SamplerName::ParentbasedTraceIdRatio
        )
    }

    /// The probability that a new root span (no parent) is sampled.
    pub fn root_probability(self, ratio: f64) -> f64 {
        match self {
            SamplerName::AlwaysOn | SamplerName::ParentbasedAlwaysOn => 1.0,
            SamplerName::AlwaysOff | SamplerName::ParentbasedAlwaysOff => 0.0,
            SamplerName::TraceIdRatio | SamplerName::ParentbasedTraceIdRatio => ratio,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            SamplerName::AlwaysOn => "always_on",
            SamplerName::AlwaysOff => "always_off",
            SamplerName::TraceIdRatio => "traceidratio",
            SamplerName::ParentbasedAlwaysOn => "parentbased_always_on",
            SamplerName::ParentbasedAlwaysOff => "parentbased_always_off",
            SamplerName::ParentbasedTraceIdRatio => "parentbased_traceidratio",
        }
    }
}

impl fmt::Display for SamplerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The sampler and its ratio: flag > `OTEL_TRACES_SAMPLER(_ARG)` > GoFrame's
/// `traceidratio` 0.1. A bad variable is an error that names it and the
/// accepted values (the SDK would fall back silently).
pub fn sampler_choice(
    flag: Option<SamplerName>,
    flag_arg: Option<f64>,
) -> anyhow::Result<(SamplerName, f64)> {
    let name = match flag {
        Some(name) => name,
        None => match env("OTEL_TRACES_SAMPLER") {
            None => SamplerName::TraceIdRatio,
            Some(value) => {
                <SamplerName as clap::ValueEnum>::from_str(&value, true).map_err(|_| {
                    anyhow::anyhow!(
                        "invalid OTEL_TRACES_SAMPLER `{value}`: expected one of: {SAMPLERS}"
                    )
                })?
            }
        },
    };
    let ratio = match flag_arg {
        Some(ratio) => check_ratio("--sampler-arg", &ratio.to_string())?,
        None => match env("OTEL_TRACES_SAMPLER_ARG") {
            Some(value) => check_ratio("OTEL_TRACES_SAMPLER_ARG", &value)?,
            // The specification's default is 1.0; GoFrame's example uses 0.1.
            None if flag.is_none() && env("OTEL_TRACES_SAMPLER").is_some() => 1.0,
            None => DEFAULT_RATIO,
        },
    };
    Ok((name, ratio))
}

fn check_ratio(source: &str, value: &str) -> anyhow::Result<f64> {
    match value.trim().parse::<f64>() {
        Ok(ratio) if (0.0..=1.0).contains(&ratio) => Ok(ratio),
        _ => bail!("invalid {source} `{value}`: expected a number from 0 to 1, for example 0.25"),
    }
}

/// A non-empty environment variable.
fn env(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// Where the spans go: `--endpoint` (plus `path` for OTLP/HTTP), else
/// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` as is, else
/// `OTEL_EXPORTER_OTLP_ENDPOINT` (plus `path`), else `default` (plus `path`).
/// It is checked as every example's endpoint is (`http://` or `https://`:
/// without a scheme the token would be sent in plaintext by guess; a port
/// in range; no query, fragment or credentials).
pub fn traces_endpoint(
    flag: Option<&str>,
    default: &str,
    path: Option<&str>,
) -> anyhow::Result<String> {
    // A base that already ends in a signal's path is refused, as every
    // example refuses it.
    let with_path = |base: &str, source: &str| -> anyhow::Result<String> {
        Ok(match path {
            Some(path) => {
                common::config::check_base_url(base, source, path)?;
                format!("{}{path}", base.trim_end_matches('/'))
            }
            None => base.to_owned(),
        })
    };
    let (url, source) = if let Some(flag) = flag {
        (with_path(flag, "--endpoint")?, "--endpoint")
    } else if let Some(url) = env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
        (url, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    } else if let Some(url) = env("OTEL_EXPORTER_OTLP_ENDPOINT") {
        (
            with_path(&url, "OTEL_EXPORTER_OTLP_ENDPOINT")?,
            "OTEL_EXPORTER_OTLP_ENDPOINT",
        )
    } else {
        (with_path(default, "the default")?, "the default")
    };
    common::config::check_collector_url(&url, source)
}

/// The span limit named by `variable` (a count), else `default`.
pub fn count_limit(variable: &str, default: u32) -> anyhow::Result<u32> {
    match env(variable) {
        None => Ok(default),
        Some(value) => value.parse::<u32>().map_err(|_| {
            anyhow::anyhow!(
                "invalid {variable} `{value}`: expected a whole number from 0 to {}",
                u32::MAX
            )
        }),
    }
}

/// The standard limits the Rust SDK has no setting for: said once if set.
pub const UNSUPPORTED_LIMITS: [&str; 3] = [
    "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT",
    "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT",
    "OTEL_ATTRIBUTE_COUNT_LIMIT",
];

/// Notes for the variables of [`UNSUPPORTED_LIMITS`] that are set.
pub fn unsupported_limits() -> Vec<String> {
    UNSUPPORTED_LIMITS
        .iter()
        .filter(|name| env(name).is_some())
        .map(|name| {
            format!(
                "note: {name} is set, but the Rust SDK has no such limit (opentelemetry_sdk 0.33 \
                 limits counts per span, event and link, not value lengths or all attributes)"
            )
        })
        .collect()
}

/// What the collector accepted, shared between [`Counted`] and the summary.
#[derive(Debug, Default)]
struct Tally {
    spans: usize,
    traces: HashSet<TraceId>,
    failed_spans: usize,
    last_error: Option<String>,
}

/// Counts what the exporter it wraps delivered (the export returned Ok): how
/// many spans, of how many traces; and what failed, with the last error.
#[derive(Debug)]
pub struct Counted<E> {
    inner: E,
    tally: Arc<Mutex<Tally>>,
}

/// The reading side of a [`Counted`] exporter.
#[derive(Debug, Clone)]
pub struct Delivered(Arc<Mutex<Tally>>);

impl<E> Counted<E> {
    pub fn new(inner: E) -> (Counted<E>, Delivered) {
        let tally = Arc::new(Mutex::new(Tally::default()));
        (
            Counted {
                inner,
                tally: Arc::clone(&tally),
            },
            Delivered(tally),
        )
    }
}

impl<E: SpanExporter> SpanExporter for Counted<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let spans = batch.len();
        let traces: Vec<TraceId> = batch.iter().map(|s| s.span_context.trace_id()).collect();
        let result = self.inner.export(batch).await;
        let mut tally = self.tally.lock().unwrap_or_else(PoisonError::into_inner);
        match &result {
            Ok(()) => {
                tally.spans += spans;
                tally.traces.extend(traces);
            }
            Err(error) => {
                tally.failed_spans += spans;
                tally.last_error = Some(error.to_string());
            }
        }
        result
    }

    fn shutdown_with_timeout(&self, timeout: std::time::Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &opentelemetry_sdk::Resource) {
        self.inner.set_resource(resource);
    }
}

/// Runs each export outside the tokio runtime, for the simple span processor.
///
/// `SimpleSpanProcessor` exports in the thread that ends the span, and waits
/// (`futures_executor::block_on`). Here that thread is a runtime thread: the
/// blocking HTTP client must not run there (reqwest refuses, and the
/// thread's other tasks would stall), and a worker parked on a gRPC export
/// can starve the very tasks the export waits for. `block_in_place` hands
/// the worker's other tasks to another thread and leaves the runtime
/// context for the duration of the export.
#[derive(Debug)]
pub struct OffRuntime<E>(pub E);

impl<E: SpanExporter> SpanExporter for OffRuntime<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let export = self.0.export(batch);
        let on_worker = tokio::runtime::Handle::try_current()
            .is_ok_and(|rt| rt.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
        if on_worker {
            tokio::task::block_in_place(|| block_on(export))
        } else {
            block_on(export)
        }
    }

    fn shutdown_with_timeout(&self, timeout: std::time::Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.0.force_flush()
    }

    fn set_resource(&mut self, resource: &opentelemetry_sdk::Resource) {
        self.0.set_resource(resource);
    }
}

/// Polls `future` to completion on this thread, outside any runtime (the
/// blocking HTTP client refuses to run inside one; the gRPC exporter's
/// channel runs on the runtime's workers, so it needs none here).
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = std::task::Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = std::task::Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let std::task::Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        std::thread::park();
    }
}

/// What a run did: traces started, sampled, delivered; printed at the end.
#[derive(Debug)]
pub struct Summary {
    pub sampler: SamplerName,
    pub ratio: f64,
    /// Trace ids of the requests, and whether the sampler kept each.
    pub traces: Vec<(TraceId, bool)>,
}

impl Summary {
    pub fn sampled(&self) -> usize {
        self.traces.iter().filter(|(_, sampled)| *sampled).count()
    }

    /// The summary lines (for stdout), and when a sampled trace was not
    /// delivered, the error that says so (for stderr).
    pub fn report(&self, delivered: &Delivered, endpoint: &str) -> (String, Option<String>) {
        let tally = delivered.0.lock().unwrap_or_else(PoisonError::into_inner);
        let started = self.traces.len();
        let sampled = self.sampled();
        let missing = self
            .traces
            .iter()
            .filter(|(id, sampled)| *sampled && !tally.traces.contains(id))
            .count();
        let sampler = if self.sampler.takes_ratio() {
            format!("{} {}", self.sampler, self.ratio)
        } else {
            self.sampler.to_string()
        };
        let p = self.sampler.root_probability(self.ratio);
        let mut out = format!(
            "sampler {sampler}: {started} {} started, {sampled} sampled, {} exported ({} spans)\n",
            plural(started, "trace", "traces"),
            sampled - missing,
            tally.spans,
        );
        let (low, high) = binomial_interval(started as u64, p);
        out += &format!(
            "expected sampled: {low} to {high} of {started} (99% binomial interval, p = {p})\n"
        );
        if sampled == 0 && started > 0 {
            let why = match self.sampler {
                SamplerName::AlwaysOff | SamplerName::ParentbasedAlwaysOff => {
                    format!("the sampler {} drops every new trace", self.sampler)
                }
                _ if started == 1 => format!(
                    "the sampler dropped this trace (it keeps about {:.0}% of them)",
                    p * 100.0
                ),
                _ => "the sampler dropped every trace".to_owned(),
            };
            out += &format!(
                "nothing was exported: {why}; run with --sampler always_on to see the trace\n"
            );
        }
        let failure = (missing > 0).then(|| {
            let cause = tally
                .last_error
                .as_deref()
                .unwrap_or("no export finished in time");
            format!(
                "{missing} sampled {} not delivered to {endpoint}: {cause} \
                 (is a collector running there? `cargo run -p collector` starts one)",
                plural(missing, "trace was", "traces were")
            )
        });
        (out, failure)
    }
}

/// GoFrame's client call, `count` times: each under its own root span
/// `StartRequests` (so each its own trace, sampled or not by the sampler
/// when that span starts), with the baggage `name=john`, through the
/// traced client; each answer printed with its trace id and the decision.
/// Stops at the first failed request, and says so in the result's `bool`.
pub async fn call_hello(
    service: &'static str,
    args: &RunArgs,
    sampler: SamplerName,
    ratio: f64,
) -> anyhow::Result<(Summary, bool)> {
    let http = TracedClient::new()?;
    let tracer = global::tracer(service);
    let mut summary = Summary {
        sampler,
        ratio,
        traces: Vec::new(),
    };
    for _ in 0..args.count {
        let span = tracer.start("StartRequests");
        // The sampler decided when the span started.
        let (trace_id, sampled) = (
            span.span_context().trace_id(),
            span.span_context().is_sampled(),
        );
        summary.traces.push((trace_id, sampled));
        let cx = Context::current_with_span(span).with_baggage([KeyValue::new("name", "john")]);
        let answer = http.get(&args.url).with_context(cx.clone()).await;
        if let Err(error) = &answer {
            cx.span().set_status(Status::error(error.to_string()));
        }
        cx.span().end();
        match answer {
            Ok(answer) => println!("{answer} (trace {trace_id}, {})", decision(sampled)),
            Err(error) => {
                eprintln!("error: {error:#}");
                return Ok((summary, true));
            }
        }
    }
    Ok((summary, false))
}

fn decision(sampled: bool) -> &'static str {
    if sampled { "sampled" } else { "not sampled" }
}

impl Summary {
    /// Prints the summary (stdout) and a delivery failure (stderr); the
    /// exit status: a failure if a request `failed` or a sampled trace was
    /// not delivered to `endpoint`.
    pub fn finish(&self, delivered: &Delivered, endpoint: &str, failed: bool) -> ExitCode {
        let (report, undelivered) = self.report(delivered, endpoint);
        print!("\n{report}");
        if let Some(error) = &undelivered {
            eprintln!("error: {error}");
        }
        if failed || undelivered.is_some() {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        }
    }
}

fn plural(n: usize, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 { one } else { many }
}

/// The central 99% interval of Binomial(n, p): the smallest `low` with
/// P(X <= low) >= 0.005 and the smallest `high` with P(X <= high) >= 0.995.
pub fn binomial_interval(n: u64, p: f64) -> (u64, u64) {
    if p <= 0.0 {
        return (0, 0);
    }
    if p >= 1.0 {
        return (n, n);
    }
    // pmf(k) in log space, so that (1 - p)^n does not underflow.
    let (lp, lq) = (p.ln(), (1.0 - p).ln());
    let mut log_pmf = n as f64 * lq;
    let mut cdf = 0.0;
    let mut low = None;
    for k in 0..=n {
        cdf += log_pmf.exp();
        if low.is_none() && cdf >= 0.005 {
            low = Some(k);
        }
        if cdf >= 0.995 {
            return (low.unwrap_or(k), k);
        }
        log_pmf += ((n - k) as f64).ln() - ((k + 1) as f64).ln() + lp - lq;
    }
    (low.unwrap_or(n), n)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The flag is checked as every example's `--endpoint` is (the flag
    /// wins over the variables, so the environment does not matter here).
    #[test]
    fn the_endpoint_flag_is_checked_and_its_credentials_never_shown() {
        let endpoint =
            |flag: &str| traces_endpoint(Some(flag), "http://localhost:4318", Some("/v1/traces"));
        assert_eq!(
            endpoint("http://127.0.0.1:4318").unwrap(),
            "http://127.0.0.1:4318/v1/traces"
        );
        for (flag, says) in [
            ("127.0.0.1:4318", "it has no scheme"),
            ("http://127.0.0.1:99999", "invalid collector endpoint"),
            ("http://127.0.0.1:4318?x=1", "invalid collector endpoint"),
            ("http://me:hunter2@127.0.0.1:4318", "credentials in the URL"),
            // A base with the signal's path already: /v1/traces/v1/traces.
            ("http://127.0.0.1:4318/v1/traces", "it ends in /v1/traces"),
            (
                "http://me:hunter2@127.0.0.1:4318/v1/traces/",
                "it ends in /v1/traces",
            ),
        ] {
            let error = format!("{:#}", endpoint(flag).unwrap_err());
            assert!(error.contains(says), "{flag}: {error}");
            assert!(error.contains("--endpoint"), "{flag}: {error}");
            assert!(!error.contains("hunter2"), "{flag}: {error}");
        }
    }

    #[test]
    fn binomial_intervals() {
        assert_eq!(binomial_interval(200, 0.5), (82, 118));
        assert_eq!(binomial_interval(1, 0.1), (0, 1));
        assert_eq!(binomial_interval(10, 0.0), (0, 0));
        assert_eq!(binomial_interval(10, 1.0), (10, 10));
        // Large n: the normal approximation, 10,000 +- 2.576 * sqrt(9,000).
        assert_eq!(binomial_interval(100_000, 0.1), (9756, 10245));
    }
}
