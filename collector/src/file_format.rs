//! Files of traces and log records: what `collector --load FILE`, the web
//! view's upload (`POST /api/traces`) and a file dropped on the page read,
//! and what `GET /api/export` writes.
//!
//! A file is OTLP/JSON (hex ids), gzip-compressed or not (told by its
//! first bytes), in one of two shapes:
//!
//! - one export request: an `ExportTraceServiceRequest` (what
//!   `GET /api/traces/{id}/otlp` saves) or an `ExportLogsServiceRequest`,
//!   on one line or pretty-printed over many;
//! - JSON Lines, the OpenTelemetry file format (what an SDK's or the
//!   OpenTelemetry Collector's file exporter writes): one `TracesData` or
//!   `LogsData` object per line, blank lines skipped.
//!
//! It is read as a stream: line by line, each line stored as it comes (a
//! request of its own), or one document through `serde_json::from_reader`;
//! so a file is bounded by the store's limits, not by memory for its text.
//! Metrics, profiles, protobuf and plain text are refused with what is
//! supported.

use std::io::{BufRead, BufReader, Read};

use flate2::read::MultiGzDecoder;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::logs::v1::{LogsData, ResourceLogs};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, TracesData};
use serde::Deserialize;
use serde::de::IgnoredAny;

use crate::ingest::{self, Export};
use crate::model::{ReceivedRequest, Signal, Transport};
use crate::store::Store;

/// What the supported files are, for an error about one that is not.
const SUPPORTED: &str = "supported: OTLP/JSON traces or logs, gzip-compressed or not: one \
     ExportTraceServiceRequest or ExportLogsServiceRequest (as GET /api/traces/{id}/otlp saves), \
     or JSON Lines of TracesData/LogsData, one object per line (as GET /api/export and the \
     OpenTelemetry file exporter write)";

/// Log records per `LogsData` line of an export.
const LOGS_PER_LINE: usize = 1000;

/// What a file held, once stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Loaded {
    /// The traces it had spans of, in order of first appearance.
    pub trace_ids: Vec<String>,
    pub spans: usize,
    pub log_records: usize,
}

/// Why a file could not be read. For JSON Lines, the lines before the one
/// named are stored already.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileError {
    /// More bytes than the limit, after decompression.
    TooLarge { limit: u64 },
    /// Reading failed (or the gzip data is corrupt).
    Read(String),
    /// Not a kind of file this reads (`line` for JSON Lines).
    Unsupported { line: Option<usize>, found: String },
    /// JSON, but not OTLP/JSON as expected.
    Malformed { line: Option<usize>, error: String },
}

impl std::fmt::Display for FileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let at = |line: &Option<usize>| line.map(|n| format!("line {n}: ")).unwrap_or_default();
        match self {
            FileError::TooLarge { limit } => {
                write!(f, "too large: the limit is {limit} bytes, decompressed")
            }
            FileError::Read(e) => write!(f, "cannot read it: {e}"),
            FileError::Unsupported { line, found } => {
                write!(f, "{}{found}; {SUPPORTED}", at(line))
            }
            FileError::Malformed { line, error } => {
                write!(f, "{}malformed OTLP/JSON: {error}", at(line))
            }
        }
    }
}

impl std::error::Error for FileError {}

/// One object of a file: the fields that tell what it holds. An
/// `ExportTraceServiceRequest` reads as a `TracesData` (the same field).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Data {
    #[serde(default)]
    resource_spans: Option<Vec<ResourceSpans>>,
    #[serde(default)]
    resource_logs: Option<Vec<ResourceLogs>>,
    #[serde(default)]
    resource_metrics: Option<IgnoredAny>,
    #[serde(default)]
    resource_profiles: Option<IgnoredAny>,
}

/// Reads a file from `input` and stores what it holds, each request logged
/// with `origin` as its path. At most `limit` bytes are read, after
/// decompression.
pub(crate) fn load(
    store: &Store,
    input: impl Read,
    limit: u64,
    origin: &str,
) -> Result<Loaded, FileError> {
    let mut input = BufReader::new(input);
    let gzip = input
        .fill_buf()
        .map_err(|e| FileError::Read(e.to_string()))?
        .starts_with(&[0x1f, 0x8b]);
    let mut limited = Limited {
        inner: if gzip {
            Box::new(MultiGzDecoder::new(input)) as Box<dyn Read>
        } else {
            Box::new(input)
        },
        left: limit,
        exceeded: false,
    };
    let result = read(store, BufReader::new(&mut limited), origin);
    if limited.exceeded {
        return Err(FileError::TooLarge { limit });
    }
    result
}

/// A reader that fails once more than `left` bytes were asked of it.
struct Limited<R> {
    inner: R,
    left: u64,
    exceeded: bool,
}

impl<R: Read> Read for Limited<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        match self.left.checked_sub(n as u64) {
            Some(left) => {
                self.left = left;
                Ok(n)
            }
            None => {
                self.exceeded = true;
                Err(std::io::Error::other("over the size limit"))
            }
        }
    }
}

fn read(store: &Store, mut input: impl BufRead, origin: &str) -> Result<Loaded, FileError> {
    let mut loaded = Loaded::default();
    let mut line = Vec::new();
    let mut number = 0;
    // The first line that is not blank tells the shape.
    loop {
        line.clear();
        if read_line(&mut input, &mut line)? == 0 {
            return Err(FileError::Unsupported {
                line: None,
                found: "the file is empty".to_owned(),
            });
        }
        number += 1;
        if !line.trim_ascii().is_empty() {
            break;
        }
    }
    if !line.trim_ascii_start().starts_with(b"{") {
        return Err(FileError::Unsupported {
            line: None,
            found: "not JSON (protobuf or text?)".to_owned(),
        });
    }
    match serde_json::from_slice::<Data>(&line) {
        // JSON Lines (or one export request on one line).
        Ok(data) => {
            store_data(store, data, Some(number), origin, &mut loaded)?;
            loop {
                line.clear();
                if read_line(&mut input, &mut line)? == 0 {
                    return Ok(loaded);
                }
                number += 1;
                if line.trim_ascii().is_empty() {
                    continue;
                }
                let data =
                    serde_json::from_slice::<Data>(&line).map_err(|e| FileError::Malformed {
                        line: Some(number),
                        error: e.to_string(),
                    })?;
                store_data(store, data, Some(number), origin, &mut loaded)?;
            }
        }
        // One document over several lines.
        Err(e) if e.is_eof() => {
            let rest = std::io::Cursor::new(line).chain(input);
            let data: Data = serde_json::from_reader(rest).map_err(|e| FileError::Malformed {
                line: None,
                error: e.to_string(),
            })?;
            store_data(store, data, None, origin, &mut loaded)?;
            Ok(loaded)
        }
        Err(e) => Err(FileError::Malformed {
            line: Some(number),
            error: e.to_string(),
        }),
    }
}

/// One line, with its end; 0 at the end of the input.
fn read_line(input: &mut impl BufRead, line: &mut Vec<u8>) -> Result<usize, FileError> {
    input
        .read_until(b'\n', line)
        .map_err(|e| FileError::Read(e.to_string()))
}

fn store_data(
    store: &Store,
    data: Data,
    line: Option<usize>,
    origin: &str,
    loaded: &mut Loaded,
) -> Result<(), FileError> {
    let unsupported = |found: &str| FileError::Unsupported {
        line,
        found: found.to_owned(),
    };
    match data {
        Data {
            resource_spans: None,
            resource_logs: None,
            resource_metrics,
            resource_profiles,
        } => Err(if resource_metrics.is_some() {
            unsupported("metrics (resourceMetrics) are not kept by this collector")
        } else if resource_profiles.is_some() {
            unsupported("profiles (resourceProfiles) are not kept by this collector")
        } else {
            unsupported("an object with neither resourceSpans nor resourceLogs")
        }),
        Data {
            resource_spans,
            resource_logs,
            ..
        } => {
            if let Some(resource_spans) = resource_spans {
                store_spans(store, resource_spans, origin, loaded)
                    .map_err(|error| FileError::Malformed { line, error })?;
            }
            if let Some(resource_logs) = resource_logs {
                loaded.log_records += store_logs(store, resource_logs, origin);
            }
            Ok(())
        }
    }
}

/// Through the one ingest path, as the OTLP/HTTP receiver stores a traces
/// export.
fn store_spans(
    store: &Store,
    resource_spans: Vec<ResourceSpans>,
    origin: &str,
    loaded: &mut Loaded,
) -> Result<(), String> {
    let export = Export::Traces(ExportTraceServiceRequest { resource_spans });
    let stored = ingest::ingest(store, export, received(Signal::Traces, origin))
        .map_err(|e| e.to_string())?;
    // With `--store`, a big file waits for the writer as senders do.
    store.persist_room_blocking();
    loaded.spans += stored.spans;
    for id in stored.trace_ids() {
        if !loaded.trace_ids.contains(&id) {
            loaded.trace_ids.push(id);
        }
    }
    Ok(())
}

/// Through the one ingest path, as the OTLP/HTTP receiver stores a logs
/// export; how many records.
fn store_logs(store: &Store, resource_logs: Vec<ResourceLogs>, origin: &str) -> usize {
    let export = Export::Logs(ExportLogsServiceRequest { resource_logs });
    // Log records are never refused whole.
    let records =
        ingest::ingest(store, export, received(Signal::Logs, origin)).map_or(0, |s| s.log_records);
    store.persist_room_blocking();
    records
}

fn received(signal: Signal, origin: &str) -> ReceivedRequest {
    ReceivedRequest {
        transport: Transport::HttpJson,
        signal,
        path: origin.to_owned(),
        headers: Default::default(),
        span_count: 0,
        log_record_count: 0,
    }
}

/// Everything stored, as JSON Lines: per trace a `TracesData` line (its
/// spans under the resources and scopes they came with) and a `LogsData`
/// line of its log records, then the records of no trace; with `run`, only
/// the traces of that run and the records of no trace that arrived in it.
/// Each line goes to `emit`, which says whether to go on (false: the reader left).
pub(crate) fn export(store: &Store, run: Option<u32>, mut emit: impl FnMut(Vec<u8>) -> bool) {
    let (traces, trace_less) = store.run_contents(run);
    for trace in traces {
        let spans = trace.to_otlp();
        if !spans.resource_spans.is_empty()
            && !emit(json_line(&TracesData {
                resource_spans: spans.resource_spans,
            }))
        {
            return;
        }
        if !emit_logs(&mut emit, trace.logs_to_otlp(LOGS_PER_LINE)) {
            return;
        }
    }
    emit_logs(
        &mut emit,
        crate::store::export_logs(&trace_less, None, LOGS_PER_LINE),
    );
}

/// Each request as a `LogsData` line; false as soon as `emit` says stop.
fn emit_logs(
    emit: &mut impl FnMut(Vec<u8>) -> bool,
    requests: Vec<ExportLogsServiceRequest>,
) -> bool {
    requests.into_iter().all(|request| {
        emit(json_line(&LogsData {
            resource_logs: request.resource_logs,
        }))
    })
}

/// Compact JSON and a line end (the protobuf types always serialize).
fn json_line(data: &impl serde::Serialize) -> Vec<u8> {
    let mut line = serde_json::to_vec(data).unwrap_or_default();
    line.push(b'\n');
    line
}
