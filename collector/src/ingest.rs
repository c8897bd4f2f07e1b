//! The one way in: an export request, decoded, stored. Both receivers
//! (OTLP/gRPC and OTLP/HTTP), the web view's upload and `--load` call
//! [`ingest`], for traces and for logs alike.

use std::collections::HashSet;

use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

use crate::model::ReceivedRequest;
use crate::otlp::DecodeError;
use crate::store::Store;
use crate::stored;

/// An export request: the spans of traces, decoded or as protobuf bytes
/// (read by `wire`, without decoding each span whole), or log records.
#[derive(Debug)]
pub(crate) enum Export<'a> {
    Traces(ExportTraceServiceRequest),
    TracesProtobuf(&'a [u8]),
    Logs(ExportLogsServiceRequest),
}

/// What storing an export request did.
#[derive(Debug, Default)]
pub(crate) struct Stored {
    /// The trace of each run of spans or log records, in order (a trace
    /// may come more than once): kept as they are, since the receivers do
    /// not ask for them; [`Stored::trace_ids`] makes the list.
    runs: Vec<stored::TraceId>,
    /// Spans and log records converted (retried spans and records over a
    /// limit included).
    pub(crate) spans: usize,
    pub(crate) log_records: usize,
    /// Log records not kept: their trace had its limit of records.
    pub(crate) rejected_logs: u64,
}

impl Stored {
    /// The traces it had spans or log records of, each once, in order of
    /// first appearance, in hex.
    pub(crate) fn trace_ids(&self) -> Vec<String> {
        let mut seen = HashSet::new();
        self.runs
            .iter()
            .filter(|id| seen.insert(**id))
            .map(|id| stored::hex(id))
            .collect()
    }
}

/// Converts `export` (cutting values over the store's value limit) and
/// stores it, logging `received` with its count of spans or records. A span
/// id or trace id of the wrong length refuses the whole request; log
/// records are never refused (an invalid id only means no trace, as the
/// logs data model says).
pub(crate) fn ingest(
    store: &Store,
    export: Export<'_>,
    mut received: ReceivedRequest,
) -> Result<Stored, DecodeError> {
    let transport = received.transport;
    let path = &received.path;
    let runs = match export {
        Export::Logs(request) => {
            let runs = stored::convert_logs(request, transport, path, store.cut());
            let log_records = runs.iter().map(|(_, run)| run.len()).sum();
            received.log_record_count = log_records;
            return Ok(Stored {
                runs: runs.iter().filter_map(|(id, _)| *id).collect(),
                spans: 0,
                log_records,
                rejected_logs: store.insert_logs(received, runs),
            });
        }
        Export::Traces(request) => stored::convert(request, transport, path, store.cut())
            .map_err(|e| DecodeError::BadId(transport, e))?,
        Export::TracesProtobuf(body) => {
            stored::convert_protobuf(body, transport, path, store.cut())
                .map_err(|refused| DecodeError::refused(transport, refused))?
        }
    };
    let spans = runs.iter().map(|(_, run)| run.len()).sum();
    received.span_count = spans;
    let trace_runs = runs.iter().map(|(id, _)| *id).collect();
    store.insert(received, runs);
    Ok(Stored {
        runs: trace_runs,
        spans,
        log_records: 0,
        rejected_logs: 0,
    })
}

/// The answer to a logs export of which `rejected` records were not kept:
/// empty when all were, else a partial success that says why.
pub(crate) fn logs_response(rejected: u64) -> ExportLogsServiceResponse {
    ExportLogsServiceResponse {
        partial_success: (rejected > 0).then(|| ExportLogsPartialSuccess {
            rejected_log_records: i64::try_from(rejected).unwrap_or(i64::MAX),
            error_message: format!(
                "{rejected} log record(s) not kept: their trace reached the collector's \
                 per-trace limit of log records (--max-logs-per-trace)"
            ),
        }),
    }
}
