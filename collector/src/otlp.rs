//! From bytes on the wire to OTLP messages: decoding an export request
//! body (protobuf or JSON, optionally gzip) within a size limit. What the
//! store keeps of the messages is `stored`'s business; storing them is
//! `ingest`'s.

use std::borrow::Cow;
use std::io::Read as _;

use flate2::read::MultiGzDecoder;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

use crate::model::{Span, Transport};
use crate::stored::{self, BadId, Cut};

/// Why a body could not be decoded or stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// More than the limit, compressed or decompressed.
    #[error("body too large: the limit is {limit} bytes, compressed or decompressed")]
    TooLarge { limit: usize },
    /// Not gzip although the request said so.
    #[error("invalid gzip body: {0}")]
    Gzip(String),
    /// Not the export request expected (`ExportTraceServiceRequest`, or
    /// `ExportLogsServiceRequest`) in the encoding of its transport.
    #[error("malformed {encoding}: {1}", encoding = encoding_name(*.0))]
    Malformed(Transport, String),
    /// A span with an id of the wrong length: the request is refused whole,
    /// as the OpenTelemetry Collector refuses it.
    #[error("malformed {encoding}: {1}", encoding = encoding_name(*.0))]
    BadId(Transport, BadId),
}

impl DecodeError {
    /// A protobuf request `wire` refused.
    pub(crate) fn refused(transport: Transport, refused: stored::Refused) -> DecodeError {
        match refused {
            stored::Refused::Malformed(e) => DecodeError::Malformed(transport, e.to_string()),
            stored::Refused::BadId(e) => DecodeError::BadId(transport, e),
        }
    }
}

/// How a message over `transport` is encoded, in words.
fn encoding_name(transport: Transport) -> &'static str {
    match transport {
        Transport::HttpJson => "OTLP/JSON",
        Transport::Grpc | Transport::HttpProtobuf => "OTLP protobuf",
    }
}

/// Decodes a traces export body as it comes over `transport` (JSON for
/// `HttpJson`, protobuf otherwise). A gzip body is inflated to at most
/// `limit` bytes (a gzip bomb never allocates more).
pub fn decode(
    body: &[u8],
    transport: Transport,
    gzip: bool,
    limit: usize,
) -> Result<ExportTraceServiceRequest, DecodeError> {
    decode_message(body, transport, gzip, limit)
}

/// Decodes a logs export body, within the same limits as [`decode`].
pub fn decode_logs(
    body: &[u8],
    transport: Transport,
    gzip: bool,
    limit: usize,
) -> Result<ExportLogsServiceRequest, DecodeError> {
    decode_message(body, transport, gzip, limit)
}

/// The body, inflated if `gzip` (to at most `limit` bytes: a gzip bomb
/// never allocates more); more than `limit` either way is an error.
pub(crate) fn inflate(body: &[u8], gzip: bool, limit: usize) -> Result<Cow<'_, [u8]>, DecodeError> {
    if body.len() > limit {
        return Err(DecodeError::TooLarge { limit });
    }
    if !gzip {
        return Ok(Cow::Borrowed(body));
    }
    let mut out = Vec::new();
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    MultiGzDecoder::new(body)
        .take(cap)
        .read_to_end(&mut out)
        .map_err(|e| DecodeError::Gzip(e.to_string()))?;
    if out.len() > limit {
        return Err(DecodeError::TooLarge { limit });
    }
    Ok(Cow::Owned(out))
}

fn decode_message<M>(
    body: &[u8],
    transport: Transport,
    gzip: bool,
    limit: usize,
) -> Result<M, DecodeError>
where
    M: prost::Message + Default + serde::de::DeserializeOwned,
{
    let body = inflate(body, gzip, limit)?;
    let body = &body[..];
    match transport {
        Transport::HttpJson => serde_json::from_slice(body)
            .map_err(|e| DecodeError::Malformed(transport, e.to_string())),
        Transport::Grpc | Transport::HttpProtobuf => {
            M::decode(body).map_err(|e| DecodeError::Malformed(transport, e.to_string()))
        }
    }
}

/// Every span of an export request as the API would show it (values no
/// longer than `max_value_bytes`): conversion in one call, for scripts and
/// the fuzz targets.
pub fn spans(
    request: ExportTraceServiceRequest,
    transport: Transport,
    path: &str,
    max_value_bytes: usize,
) -> Result<Vec<Span>, BadId> {
    let cut = Cut {
        max_bytes: max_value_bytes,
    };
    Ok(shown(stored::convert(request, transport, path, cut)?))
}

/// Every span of a protobuf traces export body as the receivers read it
/// (without decoding each span whole: see `wire`), as the API would show
/// it: for scripts and the fuzz targets.
pub fn protobuf_spans(
    body: &[u8],
    gzip: bool,
    limit: usize,
    max_value_bytes: usize,
) -> Result<Vec<Span>, DecodeError> {
    let transport = Transport::HttpProtobuf;
    let body = inflate(body, gzip, limit)?;
    let cut = Cut {
        max_bytes: max_value_bytes,
    };
    let runs = stored::convert_protobuf(&body, transport, "/v1/traces", cut)
        .map_err(|refused| DecodeError::refused(transport, refused))?;
    Ok(shown(runs))
}

/// Every span of `runs` as the API shows it.
fn shown(runs: Vec<stored::Run>) -> Vec<Span> {
    let mut spans = Vec::new();
    for (trace_id, run) in runs {
        let trace_id = stored::hex(&trace_id);
        spans.extend(run.iter().map(|span| span.to_span(&trace_id)));
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gzip_bomb_stops_at_the_limit() {
        use std::io::Write as _;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&vec![0u8; 1 << 20]).unwrap();
        let bomb = gz.finish().unwrap();
        assert!(bomb.len() < 4096);
        assert_eq!(
            decode(&bomb, Transport::HttpProtobuf, true, 64 * 1024),
            Err(DecodeError::TooLarge { limit: 64 * 1024 })
        );
    }
}
