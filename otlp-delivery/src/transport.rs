//! What goes on the wire besides the spans: the HTTP client and the gRPC
//! interceptor put the resolved headers on every export attempt (so a flag
//! beats whatever the exporter read from the environment) and record each
//! attempt for the delivery report; and the TLS settings of both exporters.

use std::sync::Arc;

use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::tonic_types::transport::{Certificate, ClientTlsConfig, Identity};

use crate::diagnose::Failure;
use crate::report::Recorder;
use otlp_config::text::one_line;
use otlp_config::{Endpoint, ExporterConfig};

/// The blocking reqwest client the exporter would build, plus: no
/// redirects (a POST must not turn into a GET), the extra CA and client
/// certificate, and no certificate store at all when neither the traces
/// nor the logs endpoint is `https://`. One serves both exporters.
///
/// Must not run on an async runtime's thread (reqwest's blocking client
/// owns a runtime of its own): `init` builds it on a plain thread.
pub(crate) fn blocking_client(
    config: &ExporterConfig,
) -> anyhow::Result<reqwest::blocking::Client> {
    let mut builder = reqwest::blocking::Client::builder()
        .timeout(config.export_timeout)
        .redirect(reqwest::redirect::Policy::none());
    let tls = config.endpoint.is_https()
        || config
            .logs_endpoint
            .as_ref()
            .is_some_and(Endpoint::is_https);
    if !tls {
        // Plain http:// (redirects are off, so it stays so): no TLS, and
        // no reading of the system's certificate store at start-up.
        builder = builder.tls_certs_only([]);
    }
    if let Some(ca) = &config.tls.ca {
        let certs = reqwest::Certificate::from_pem_bundle(&ca.pem)
            .map_err(|e| anyhow::anyhow!("invalid {}: {e}", ca.source))?;
        builder = builder.tls_certs_merge(certs);
    }
    if let Some((cert, key)) = &config.tls.identity {
        let pem = [cert.pem.as_slice(), b"\n", key.pem.as_slice()].concat();
        let identity = reqwest::Identity::from_pem(&pem)
            .map_err(|e| anyhow::anyhow!("invalid {} / {}: {e}", cert.source, key.source))?;
        builder = builder.identity(identity);
    }
    builder
        .build()
        .map_err(|e| anyhow::anyhow!("cannot build the HTTP client: {e}"))
}

/// A [`blocking_client`] with our headers on every request and a record of
/// each attempt, for one exporter.
#[derive(Debug)]
pub struct ObservedHttpClient {
    client: reqwest::blocking::Client,
    headers: http::HeaderMap,
    recorder: Recorder,
}

impl ObservedHttpClient {
    pub(crate) fn new(
        client: reqwest::blocking::Client,
        headers: http::HeaderMap,
        recorder: Recorder,
    ) -> Self {
        ObservedHttpClient {
            client,
            headers,
            recorder,
        }
    }
}

#[async_trait::async_trait]
impl HttpClient for ObservedHttpClient {
    async fn send_bytes(&self, mut request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        for (name, value) in &self.headers {
            request.headers_mut().insert(name, value.clone());
        }
        self.recorder.attempt();
        let result = self.client.send_bytes(request).await;
        match &result {
            Ok(response) if response.status().is_success() => match otlp_answer(response) {
                Ok(partial) => {
                    if let Some((rejected, message)) = partial {
                        self.recorder.rejected(rejected, self.mask(message));
                    }
                }
                Err(what) => {
                    self.recorder.failed_attempt(Failure::NotOtlp {
                        code: response.status().as_u16(),
                        what: self.mask(what),
                    });
                    // The exporter takes any 2xx for delivered: hand it a
                    // status it fails on and does not retry (the same page
                    // would come again). The report takes the cause above.
                    return Ok(Response::builder()
                        .status(http::StatusCode::UNSUPPORTED_MEDIA_TYPE)
                        .body(Bytes::new())?);
                }
            },
            Ok(response) => {
                self.recorder.failed_attempt(Failure::Status {
                    code: response.status().as_u16(),
                    message: self.mask(response_message(response)),
                    location: response
                        .headers()
                        .get(http::header::LOCATION)
                        .and_then(|v| v.to_str().ok())
                        .map(|v| one_line(v, 200)),
                });
            }
            Err(error) => {
                let timed_out = error
                    .downcast_ref::<reqwest::Error>()
                    .is_some_and(reqwest::Error::is_timeout);
                self.recorder.failed_attempt(Failure::Transport {
                    detail: error_chain(error.as_ref()),
                    timed_out,
                });
            }
        }
        result
    }
}

impl ObservedHttpClient {
    fn mask(&self, text: String) -> String {
        mask(&self.headers, text)
    }
}

/// `text` with every header value we send (the token among them)
/// replaced, should the server echo one.
pub(crate) fn mask(headers: &http::HeaderMap, mut text: String) -> String {
    for value in headers.values() {
        if let Ok(value) = value.to_str()
            && value.len() >= 4
        {
            text = text.replace(value, "[redacted]");
        }
    }
    text
}

/// Reads a success answer as OTLP: `Ok` with the partial success (spans or
/// log records rejected, and the collector's message) if any; `Err` with
/// what came instead (`text/html ("Welcome to nginx!")`), when it is no
/// protobuf export response.
fn otlp_answer(response: &Response<Bytes>) -> Result<Option<(i64, String)>, String> {
    // `ExportTraceServiceResponse` and `ExportLogsServiceResponse`: field 1
    // is the partial success, the same two fields in both.
    #[derive(Clone, PartialEq, prost::Message)]
    struct ExportResponse {
        #[prost(message, optional, tag = "1")]
        partial_success: Option<PartialSuccess>,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    struct PartialSuccess {
        #[prost(int64, tag = "1")]
        rejected: i64,
        #[prost(string, tag = "2")]
        error_message: String,
    }
    let content_type = response
        .headers()
        .get(http::header::CONTENT_TYPE)
        .map(|v| one_line(&String::from_utf8_lossy(v.as_bytes()), 80));
    let media = content_type.as_deref().map(|v| {
        v.split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
    });
    match media.as_deref() {
        // What we send; the specification has the answer in the same type.
        // An empty answer without a type is taken for an empty success.
        Some("application/x-protobuf") | None => {}
        Some(other) => {
            let title = page_title(response.body())
                .map(|t| format!(" (\"{t}\")"))
                .unwrap_or_default();
            return Err(format!("{other}{title}"));
        }
    }
    let Ok(answer) = <ExportResponse as prost::Message>::decode(response.body().as_ref()) else {
        return Err(match content_type {
            Some(kind) => format!("an undecodable {kind} body"),
            None => "an undecodable body without a content type".to_owned(),
        });
    };
    Ok(answer
        .partial_success
        .filter(|p| p.rejected > 0)
        .map(|p| (p.rejected, one_line(&p.error_message, 200))))
}

/// The `<title>` of an HTML page, which names what answered.
fn page_title(body: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(&body[..body.len().min(4096)]);
    let lower = text.to_ascii_lowercase();
    let start = lower.find("<title>")? + "<title>".len();
    let end = start + lower[start..].find("</title>")?;
    let title = one_line(&text[start..end], 80);
    (!title.is_empty()).then_some(title)
}

/// The collector's own words: the `message` of a protobuf `google.rpc.Status`
/// (what OTLP/HTTP specifies for errors), else the body as text.
fn response_message(response: &Response<Bytes>) -> String {
    #[derive(Clone, PartialEq, prost::Message)]
    struct RpcStatus {
        #[prost(int32, tag = "1")]
        code: i32,
        #[prost(string, tag = "2")]
        message: String,
    }
    let protobuf = response
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("protobuf"));
    if protobuf && let Ok(status) = <RpcStatus as prost::Message>::decode(response.body().as_ref())
    {
        return one_line(&status.message, 200);
    }
    one_line(&String::from_utf8_lossy(response.body()), 200)
}

/// An error and its sources, `a: b: c`, as one line.
pub(crate) fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut out = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = cause.source();
    }
    one_line(&out, 400)
}

/// The gRPC interceptor: our metadata replaces whatever the exporter took
/// from the environment, and each call is one attempt (the exporter calls it
/// again on every retry).
pub(crate) fn interceptor(
    headers: &http::HeaderMap,
    recorder: Recorder,
) -> impl FnMut(tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status>
+ Clone
+ Send
+ Sync
+ 'static {
    let metadata = Arc::new(tonic::metadata::MetadataMap::from_headers(headers.clone()));
    move |mut request: tonic::Request<()>| {
        for entry in metadata.iter() {
            if let tonic::metadata::KeyAndValueRef::Ascii(key, value) = entry {
                request.metadata_mut().insert(key.clone(), value.clone());
            }
        }
        recorder.attempt();
        Ok(request)
    }
}

/// The gRPC channel to `endpoint`: one HTTP/2 connection, opened at the
/// first export, that the span and the log exporter share when they go to
/// the same collector. Needs a tokio runtime.
pub(crate) fn grpc_channel(
    config: &ExporterConfig,
    endpoint: &Endpoint,
) -> anyhow::Result<tonic::transport::Channel> {
    let mut channel = tonic::transport::Endpoint::from_shared(endpoint.as_str().to_owned())
        .map_err(|e| anyhow::anyhow!("invalid gRPC endpoint {endpoint}: {e}"))?;
    if endpoint.is_https() {
        channel = channel
            .tls_config(grpc_tls(config))
            .map_err(|e| anyhow::anyhow!("cannot set up TLS for {endpoint}: {e}"))?;
    }
    Ok(channel.timeout(config.export_timeout).connect_lazy())
}

/// TLS of the gRPC channel: the system's roots, plus the configured CA and
/// client certificate.
fn grpc_tls(config: &ExporterConfig) -> ClientTlsConfig {
    let mut tls = ClientTlsConfig::new().with_native_roots();
    if let Some(ca) = &config.tls.ca {
        tls = tls.ca_certificate(Certificate::from_pem(&ca.pem));
    }
    if let Some((cert, key)) = &config.tls.identity {
        tls = tls.identity(Identity::from_pem(&cert.pem, &key.pem));
    }
    tls
}
