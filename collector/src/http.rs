//! OTLP/HTTP receiver: POST on any path (exporters may be configured with
//! vendor paths such as `/adapt_x/api/otlp/traces`), protobuf or JSON,
//! optionally gzip-compressed. A path ending in `/v1/logs` (what an OTLP
//! log exporter appends to its endpoint) carries logs, any other path
//! traces.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use prost::Message as _;

use crate::ingest::{self, Export};
use crate::model::{ReceivedRequest, Signal, Transport};
use crate::otlp::{self, DecodeError};
use crate::store::Store;

const PROTOBUF: &str = "application/x-protobuf";
const JSON: &str = "application/json";
/// The path suffix that makes a request a logs export.
pub(crate) const LOGS_SUFFIX: &str = "/v1/logs";

/// What a POST to `path` carries.
fn signal_of(path: &str) -> Signal {
    if path.ends_with(LOGS_SUFFIX) {
        Signal::Logs
    } else {
        Signal::Traces
    }
}

#[derive(Debug, Clone)]
struct HttpState {
    store: Store,
    max_body_bytes: usize,
}

/// Every path answers; only POST is allowed.
pub(crate) fn router(store: Store, max_body_bytes: usize) -> Router {
    Router::new()
        .fallback(export)
        .with_state(HttpState {
            store,
            max_body_bytes,
        })
        .layer(DefaultBodyLimit::max(max_body_bytes))
}

/// A rejected request: status and a short plain-text reason.
struct Rejection(StatusCode, String);

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        (self.0, format!("{}\n", self.1)).into_response()
    }
}

async fn export(State(state): State<HttpState>, request: Request) -> Response {
    match receive(&state, request).await {
        Ok(response) => response,
        Err(rejection) => rejection.into_response(),
    }
}

async fn receive(state: &HttpState, request: Request) -> Result<Response, Rejection> {
    if request.method() != Method::POST {
        let mut response = Rejection(
            StatusCode::METHOD_NOT_ALLOWED,
            format!(
                "method {} not allowed: OTLP/HTTP exports use POST",
                request.method()
            ),
        )
        .into_response();
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return Ok(response);
    }
    let path = request.uri().path().to_owned();
    let signal = signal_of(&path);
    let headers = request.headers().clone();

    let transport = match media_type(&headers).as_deref() {
        Some(PROTOBUF) => Transport::HttpProtobuf,
        Some(JSON) => Transport::HttpJson,
        other => {
            return Err(Rejection(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!(
                    "unsupported content type {}: use {PROTOBUF} or {JSON}",
                    other.unwrap_or("(none)")
                ),
            ));
        }
    };
    let gzip = gzip(&headers).map_err(|e| Rejection(StatusCode::BAD_REQUEST, e))?;

    let body = Bytes::from_request(request, &())
        .await
        .map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                decode_error(DecodeError::TooLarge {
                    limit: state.max_body_bytes,
                })
            } else {
                Rejection(
                    StatusCode::BAD_REQUEST,
                    format!("could not read body: {rejection}"),
                )
            }
        })?;
    let received = ReceivedRequest {
        transport,
        signal,
        path,
        headers: headers
            .iter()
            .filter_map(|(name, value)| {
                Some((
                    name.as_str().to_ascii_lowercase(),
                    value.to_str().ok()?.to_owned(),
                ))
            })
            .collect(),
        span_count: 0,
        log_record_count: 0,
    };
    let limit = state.max_body_bytes;
    // Protobuf traces are read by `wire`, without decoding each span whole.
    let inflated = match (signal, transport) {
        (Signal::Traces, Transport::HttpProtobuf) => {
            Some(otlp::inflate(&body, gzip, limit).map_err(decode_error)?)
        }
        _ => None,
    };
    let export = match (signal, &inflated) {
        (Signal::Traces, Some(bytes)) => Ok(Export::TracesProtobuf(bytes)),
        (Signal::Traces, None) => otlp::decode(&body, transport, gzip, limit).map(Export::Traces),
        (Signal::Logs, _) => otlp::decode_logs(&body, transport, gzip, limit).map(Export::Logs),
    };
    let export = export.map_err(|e| {
        let malformed = matches!(e, DecodeError::Malformed(..));
        let mut rejection = decode_error(e);
        if malformed && signal == Signal::Logs {
            rejection.1.push_str(
                " (a POST to a path ending in /v1/logs carries logs: an \
                 ExportLogsServiceRequest; any other path carries traces)",
            );
        }
        rejection
    })?;
    let stored = ingest::ingest(&state.store, export, received).map_err(decode_error)?;
    drop(body);
    state.store.persist_room().await;
    match signal {
        Signal::Traces => {
            // The response is encoded like the request.
            let response = match transport {
                Transport::HttpJson => ([(header::CONTENT_TYPE, JSON)], "{}").into_response(),
                _ => (
                    [(header::CONTENT_TYPE, PROTOBUF)],
                    ExportTraceServiceResponse::default().encode_to_vec(),
                )
                    .into_response(),
            };
            Ok(response)
        }
        Signal::Logs => {
            let response = ingest::logs_response(stored.rejected_logs);
            Ok(match transport {
                Transport::HttpJson => {
                    let json = match response.partial_success {
                        // An empty message, written as the traces one is.
                        None => "{}".to_owned(),
                        Some(_) => serde_json::to_string(&response).unwrap_or_default(),
                    };
                    ([(header::CONTENT_TYPE, JSON)], json).into_response()
                }
                _ => ([(header::CONTENT_TYPE, PROTOBUF)], response.encode_to_vec()).into_response(),
            })
        }
    }
}

/// The media type without parameters, lowercased (`application/json; charset=utf-8` -> `application/json`).
pub(crate) fn media_type(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    let media = value.split(';').next().unwrap_or_default().trim();
    Some(media.to_ascii_lowercase())
}

/// Whether the body is gzip-compressed (`Content-Encoding`); an encoding
/// other than gzip or none is an error that says so.
pub(crate) fn gzip(headers: &HeaderMap) -> Result<bool, String> {
    let encoding = headers.get(header::CONTENT_ENCODING).map(|v| {
        v.to_str()
            .unwrap_or("(not ASCII)")
            .trim()
            .to_ascii_lowercase()
    });
    match encoding.as_deref() {
        None | Some("" | "identity") => Ok(false),
        Some("gzip") => Ok(true),
        Some(other) => Err(format!(
            "unsupported content encoding {other}: use gzip or none"
        )),
    }
}

fn decode_error(error: DecodeError) -> Rejection {
    let status = match error {
        DecodeError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        DecodeError::Gzip(_) | DecodeError::Malformed(..) | DecodeError::BadId(..) => {
            StatusCode::BAD_REQUEST
        }
    };
    Rejection(status, error.to_string())
}
