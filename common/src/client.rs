//! The HTTP call the example clients make (GoFrame's `g.Client().Get(ctx, url)`):
//! one CLIENT span per request, named and attributed per the HTTP semantic
//! conventions, with the current context (trace *and* baggage) injected into
//! the request headers by the global propagator.
//!
//! The client flow itself (root span `StartRequests`, baggage, logging the
//! answer) stays in each example's `main.rs`, where a reader looks for it.

use std::time::Duration;

use anyhow::{Context as _, anyhow};
use opentelemetry::trace::{FutureExt as _, SpanKind, Status, TraceContextExt as _, Tracer as _};
use opentelemetry::{Context, KeyValue, global};
use opentelemetry_http::HeaderInjector;
use opentelemetry_semantic_conventions::attribute::{
    ERROR_TYPE, HTTP_REQUEST_METHOD, HTTP_RESPONSE_STATUS_CODE, SERVER_ADDRESS, SERVER_PORT,
    URL_FULL,
};
pub use reqwest::Url;

/// How to start the server every client of this workspace calls.
const START_SERVER: &str = "cargo run -p examples-http --bin server";

/// The URL every client calls unless told otherwise (`--url`).
pub const DEFAULT_URL: &str = "http://127.0.0.1:8000/hello";

/// Instrumentation scope of the client spans.
const SCOPE: &str = "common::client";

/// An HTTP client whose requests are traced and carry the caller's context.
#[derive(Debug, Clone)]
pub struct TracedClient {
    http: reqwest::Client,
}

impl TracedClient {
    /// Builds the client. Call it after `telemetry::init_*`, which installs
    /// the TLS crypto provider the client needs for `https://` URLs.
    pub fn new() -> anyhow::Result<TracedClient> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(2))
            .timeout(Duration::from_secs(10))
            .build()
            .context("cannot build the HTTP client")?;
        Ok(TracedClient { http })
    }

    /// `GET url` inside a CLIENT span named `GET`, a child of the current
    /// span; returns the body of a 2xx/3xx answer.
    ///
    /// The span gets status Error (and `error.type`) when the server cannot
    /// be reached or answers 4xx/5xx; the error then says what to do.
    pub async fn get(&self, url: &Url) -> anyhow::Result<String> {
        let tracer = global::tracer(SCOPE);
        let mut attributes = vec![
            KeyValue::new(HTTP_REQUEST_METHOD, "GET"),
            KeyValue::new(URL_FULL, redacted(url)),
        ];
        if let Some(host) = url.host_str() {
            attributes.push(KeyValue::new(SERVER_ADDRESS, host.to_owned()));
        }
        if let Some(port) = url.port_or_known_default() {
            attributes.push(KeyValue::new(SERVER_PORT, i64::from(port)));
        }
        // The span name is the method alone: a client has no route template.
        let span = tracer
            .span_builder("GET")
            .with_kind(SpanKind::Client)
            .with_attributes(attributes)
            .start(&tracer);
        // The current context keeps its baggage; the new span becomes current.
        let cx = Context::current_with_span(span);

        let mut request = self.http.get(url.clone()).build()?;
        // `traceparent` and `baggage` headers, written by the propagators.
        global::get_text_map_propagator(|propagator| {
            propagator.inject_context(&cx, &mut HeaderInjector(request.headers_mut()))
        });

        let sent = async {
            let response = self.http.execute(request).await?;
            let status = response.status();
            Ok::<_, reqwest::Error>((status, response.text().await?))
        }
        .with_context(cx.clone())
        .await;

        let span = cx.span();
        let result = match sent {
            Ok((status, body)) => {
                span.set_attribute(KeyValue::new(
                    HTTP_RESPONSE_STATUS_CODE,
                    i64::from(status.as_u16()),
                ));
                if status.is_client_error() || status.is_server_error() {
                    span.set_attribute(KeyValue::new(ERROR_TYPE, status.as_str().to_owned()));
                    span.set_status(Status::error(format!("HTTP {}", status.as_u16())));
                    Err(anyhow!(
                        "the server at {url} answered {status}: {}",
                        body.trim()
                    ))
                } else {
                    Ok(body)
                }
            }
            Err(error) => {
                let cause = root_cause(&error);
                span.set_attribute(KeyValue::new(ERROR_TYPE, error_type(&error)));
                span.record_error(&error);
                span.set_status(Status::error(cause.clone()));
                Err(anyhow!(
                    "cannot reach the server at {url}: {cause}. Start it with \
                     `{START_SERVER}` (in another terminal), or point --url at yours"
                ))
            }
        };
        span.end();
        result
    }
}

/// `url.full` must not carry credentials.
fn redacted(url: &Url) -> String {
    let mut url = url.clone();
    if !url.username().is_empty() {
        let _ = url.set_username("REDACTED");
    }
    if url.password().is_some() {
        let _ = url.set_password(Some("REDACTED"));
    }
    url.to_string()
}

/// A low-cardinality `error.type` for a request that got no answer.
fn error_type(error: &reqwest::Error) -> &'static str {
    if error.is_timeout() {
        "timeout"
    } else if error.is_connect() {
        "connect"
    } else {
        "_OTHER"
    }
}

/// The innermost cause, e.g. `Connection refused (os error 111)`: reqwest's
/// own message only says that sending failed.
fn root_cause(error: &reqwest::Error) -> String {
    let mut cause: &dyn std::error::Error = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    if error.is_timeout() {
        return "no answer in time".to_owned();
    }
    cause.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_never_reach_url_full() {
        let url: Url = "http://user:secret@127.0.0.1:8000/hello?x=1"
            .parse()
            .unwrap();
        assert_eq!(
            redacted(&url),
            "http://REDACTED:REDACTED@127.0.0.1:8000/hello?x=1"
        );
        let url: Url = DEFAULT_URL.parse().unwrap();
        assert_eq!(redacted(&url), DEFAULT_URL);
    }
}
