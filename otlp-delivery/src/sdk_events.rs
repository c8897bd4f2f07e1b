//! What the gRPC exporter heard from the server. opentelemetry-otlp keeps
//! a gRPC status's message out of the error it returns (it gives the code
//! only) and hands an OTLP partial success to nobody; both go to its own
//! log, as `tracing` events (its `internal-logs` feature). The gRPC channel
//! is tonic's, with no place to watch answers the way the HTTP client is
//! watched, so this layer of the process's subscriber takes the two events
//! and records them with the export under way:
//!
//! - `Tonic{Traces,Logs}Client.ExportFailed`: `grpc_message`, the server's
//!   own words (a status made locally, from a transport error, is told
//!   apart by the diagnosis and never shown as the server's);
//! - `Tonic{Traces,Logs}Client.PartialSuccess`: `rejected_spans` or
//!   `rejected_log_records`, and `error_message`.
//!
//! The events come on the batch processor's thread, from inside the
//! export, before the exporter returns: the counting exporter finds them.

use std::fmt;

use otlp_config::text::one_line;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

use crate::Watch;
use crate::transport::mask;

/// The `tracing` target of opentelemetry-otlp's own log.
const TARGET: &str = "opentelemetry-otlp";

/// The layer that records the gRPC exporters' answers into the spans' and
/// the log records' [`Watch`].
#[derive(Debug)]
pub struct GrpcAnswers {
    spans: Watch,
    logs: Option<Watch>,
}

impl GrpcAnswers {
    /// Records the answers to the span exporter into `spans`, those to the
    /// log exporter into `logs`.
    pub fn new(spans: &Watch, logs: Option<&Watch>) -> GrpcAnswers {
        GrpcAnswers {
            spans: spans.clone(),
            logs: logs.cloned(),
        }
    }

    /// This layer with the only filter it needs (opentelemetry-otlp's
    /// events, at every level), whatever `RUST_LOG` says.
    pub fn filtered<S>(self) -> impl Layer<S>
    where
        S: Subscriber + for<'span> LookupSpan<'span>,
    {
        self.with_filter(Targets::new().with_target(TARGET, LevelFilter::DEBUG))
    }
}

impl<S: Subscriber> Layer<S> for GrpcAnswers {
    fn on_event(&self, event: &Event<'_>, _cx: Context<'_, S>) {
        let name = event.metadata().name();
        let watch = match name.split_once('.') {
            Some(("TonicTracesClient", _)) => &self.spans,
            Some(("TonicLogsClient", _)) => match &self.logs {
                Some(logs) => logs,
                None => return,
            },
            _ => return,
        };
        let mut fields = Fields::default();
        event.record(&mut fields);
        let said = |text: &str| mask(&watch.headers, one_line(text, 200));
        if name.ends_with(".ExportFailed") {
            if let Some(message) = fields.grpc_message {
                watch.recorder.grpc_message(said(&message));
            }
        } else if name.ends_with(".PartialSuccess")
            && let Some(rejected) = fields.rejected
        {
            let message = fields.error_message.unwrap_or_default();
            watch.recorder.rejected(rejected, said(&message));
        }
    }
}

/// The fields of the two events this layer reads.
#[derive(Default)]
struct Fields {
    grpc_message: Option<String>,
    error_message: Option<String>,
    rejected: Option<i64>,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "grpc_message" => self.grpc_message = Some(value.to_owned()),
            "error_message" => self.error_message = Some(value.to_owned()),
            _ => {}
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        if matches!(field.name(), "rejected_spans" | "rejected_log_records") {
            self.rejected = Some(value);
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.record_i64(field, i64::try_from(value).unwrap_or(i64::MAX));
    }

    fn record_debug(&mut self, _field: &Field, _value: &dyn fmt::Debug) {}
}
