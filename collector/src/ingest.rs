//! The one way in: an export request, decoded, stored. Both receivers
//! (OTLP/gRPC and OTLP/HTTP), the web view's upload and `--load` call
//! [`ingest`], for traces and for logs alike.

use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

use crate::model::ReceivedRequest;
use crate::store::Store;
use crate::stored::{self, BadId};

/// A decoded export request: the spans of traces, or log records.
#[derive(Debug)]
pub(crate) enum Export {
    Traces(ExportTraceServiceRequest),
    Logs(ExportLogsServiceRequest),
}

/// What storing an export request did.
#[derive(Debug, Default)]
pub(crate) struct Stored {
    /// The traces it had spans or log records of, in order of first
    /// appearance.
    pub(crate) trace_ids: Vec<String>,
    /// Spans and log records converted (retried spans and records over a
    /// limit included).
    pub(crate) spans: usize,
    pub(crate) log_records: usize,
    /// Log records not kept: their trace had its limit of records.
    pub(crate) rejected_logs: u64,
}

/// Converts `export` (cutting values over the store's value limit) and
/// stores it, logging `received` with its count of spans or records. A span
/// id or trace id of the wrong length refuses the whole request; log
/// records are never refused (an invalid id only means no trace, as the
/// logs data model says).
pub(crate) fn ingest(
    store: &Store,
    export: Export,
    mut received: ReceivedRequest,
) -> Result<Stored, BadId> {
    let transport = received.transport;
    let mut trace_ids = Vec::new();
    let mut add = |id: &stored::TraceId| {
        if !trace_ids.contains(id) {
            trace_ids.push(*id);
        }
    };
    let (spans, log_records, rejected_logs) = match export {
        Export::Traces(request) => {
            let runs = stored::convert(request, transport, &received.path, store.cut())?;
            let spans = runs.iter().map(|(_, run)| run.len()).sum();
            received.span_count = spans;
            runs.iter().for_each(|(id, _)| add(id));
            store.insert(received, runs);
            (spans, 0, 0)
        }
        Export::Logs(request) => {
            let runs = stored::convert_logs(request, transport, &received.path, store.cut());
            let records = runs.iter().map(|(_, run)| run.len()).sum();
            received.log_record_count = records;
            runs.iter().filter_map(|(id, _)| id.as_ref()).for_each(add);
            (0, records, store.insert_logs(received, runs))
        }
    };
    Ok(Stored {
        trace_ids: trace_ids.iter().map(|id| stored::hex(id)).collect(),
        spans,
        log_records,
        rejected_logs,
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
