//! What became of an example's spans and log records, and why not.
//!
//! `common::telemetry::init` builds the SDK's chain; this crate watches it
//! at three points, through one [`Watch`] per signal:
//!
//! - on the wire: [`Wire`] is the one HTTP client or gRPC channel both
//!   exporters use; [`Watch::http_client`] and [`Watch::interceptor`] put
//!   the resolved headers on each attempt and record how it went;
//! - around the exporter: [`Watch::exporter`] counts what the collector
//!   acknowledged, and works out why not at the signal's own endpoint
//!   (the diagnosis probes the address when the error alone cannot tell);
//! - in the process's `tracing` subscriber: [`GrpcAnswers`] takes the gRPC
//!   server's message and an OTLP partial success from the gRPC exporter's
//!   own log, the only place it puts them;
//! - before the batch processor: [`Watch::ended_spans`] and
//!   [`Watch::emitted_logs`] count everything handed to the chain, so that
//!   what the processor drops shows up too.
//!
//! While the process runs, the counting exporter tells a failure streak as
//! it happens (a warning at its first failed export, a line at most every
//! 10 s while it lasts, one when delivery recovers); [`Watch::closing`]
//! leaves what fails in the final flush to the report. At shutdown
//! [`Watch::spans_report`] and [`Watch::logs_report`] make the
//! [`DeliveryReport`] an example prints as its last lines.

mod diagnose;
mod report;
mod sdk_events;
mod transport;

use anyhow::bail;
use opentelemetry_sdk::error::OTelSdkResult;
use otlp_config::{Endpoint, ExporterConfig, Protocol, Signal};

use diagnose::Target;
use report::Recorder;
pub use report::{CountingExporter, DeliveryReport, EmittedLogs, EndedSpans, LogsDelivery};
pub use sdk_events::GrpcAnswers;
pub use transport::ObservedHttpClient;

/// How the exporters reach the collector: over OTLP/HTTP one blocking
/// client, over OTLP/gRPC one channel (one HTTP/2 connection), shared by
/// the span and the log exporter when they go to the same place.
#[derive(Debug, Clone)]
pub enum Wire {
    Http(reqwest::blocking::Client),
    Grpc(GrpcChannel),
}

impl Wire {
    /// The client or channel of the configuration's protocol, with its TLS
    /// settings. OTLP/gRPC must be set up inside a tokio runtime (the
    /// channel lives on it); the HTTP client is built on a thread of its
    /// own (reqwest's blocking client must not be built on a runtime's).
    pub fn new(config: &ExporterConfig) -> anyhow::Result<Wire> {
        Ok(match config.protocol {
            Protocol::Http => Wire::Http(std::thread::scope(|scope| {
                scope
                    .spawn(|| transport::blocking_client(config))
                    .join()
                    .map_err(|_| anyhow::anyhow!("setting up the HTTP client panicked"))?
            })?),
            Protocol::Grpc => {
                if tokio::runtime::Handle::try_current().is_err() {
                    bail!(
                        "the OTLP/gRPC exporter needs a tokio runtime: call telemetry::init \
                         inside #[tokio::main]"
                    );
                }
                Wire::Grpc(GrpcChannel {
                    endpoint: config.endpoint.clone(),
                    channel: transport::grpc_channel(config, &config.endpoint)?,
                })
            }
        })
    }
}

/// The gRPC channel to the traces' endpoint.
#[derive(Debug, Clone)]
pub struct GrpcChannel {
    endpoint: Endpoint,
    channel: tonic::transport::Channel,
}

impl GrpcChannel {
    /// The channel to `endpoint`: this one when it goes there, else a new
    /// one (opened at its first export).
    pub fn to(
        &self,
        config: &ExporterConfig,
        endpoint: &Endpoint,
    ) -> anyhow::Result<tonic::transport::Channel> {
        if *endpoint == self.endpoint {
            return Ok(self.channel.clone());
        }
        transport::grpc_channel(config, endpoint)
    }
}

/// One signal's delivery: what it handed to its chain, what the collector
/// acknowledged, and the cause of a failure, at that signal's endpoint.
#[derive(Debug, Clone)]
pub struct Watch {
    recorder: Recorder,
    target: Target,
    headers: http::HeaderMap,
}

impl Watch {
    /// Watches `signal`'s exports to `endpoint`.
    pub fn new(config: &ExporterConfig, signal: Signal, endpoint: &Endpoint) -> Watch {
        Watch {
            recorder: Recorder::default(),
            target: Target::new(config, signal, endpoint),
            headers: config.headers.clone(),
        }
    }

    /// `client` for this signal's exporter: the resolved headers on every
    /// request, each attempt and its answer recorded.
    pub fn http_client(&self, client: &reqwest::blocking::Client) -> ObservedHttpClient {
        ObservedHttpClient::new(client.clone(), self.headers.clone(), self.recorder.clone())
    }

    /// The gRPC interceptor of this signal's exporter: the resolved
    /// metadata on every call, each attempt counted.
    pub fn interceptor(
        &self,
    ) -> impl FnMut(tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status>
    + Clone
    + Send
    + Sync
    + 'static {
        transport::interceptor(&self.headers, self.recorder.clone())
    }

    /// `exporter`, counted: what the collector acknowledged, and why not.
    pub fn exporter<E>(&self, exporter: E) -> CountingExporter<E> {
        CountingExporter::new(exporter, self.target.clone(), self.recorder.clone())
    }

    /// A span processor that counts every ended span.
    pub fn ended_spans(&self) -> EndedSpans {
        EndedSpans(self.recorder.clone())
    }

    /// A log processor that counts every emitted record.
    pub fn emitted_logs(&self) -> EmittedLogs {
        EmittedLogs(self.recorder.clone())
    }

    /// The process is about to flush for the last time: a failure from now
    /// on is left to the final report (no warning line as it happens).
    pub fn closing(&self) {
        self.recorder.closing();
    }

    /// The report of the spans, once their provider has shut down with
    /// `outcome`; `queue_size` is the batch processor's.
    pub fn spans_report(&self, outcome: OTelSdkResult, queue_size: usize) -> DeliveryReport {
        DeliveryReport::new(
            self.target.endpoint.to_string(),
            &self.recorder,
            outcome,
            queue_size,
        )
    }

    /// The report of the log records, once their provider has shut down.
    pub fn logs_report(&self, outcome: OTelSdkResult) -> LogsDelivery {
        LogsDelivery::new(self.target.endpoint.to_string(), &self.recorder, outcome)
    }
}
