//! The HTTP calls the example clients make (GoFrame's `g.Client().Get(ctx, url)`
//! and `g.Client().Post(ctx, url, data)`): one CLIENT span per request, named
//! and attributed per the HTTP semantic conventions, with the current context
//! (trace *and* baggage) injected into the request headers by the global
//! propagator.
//!
//! The client flow itself (root span `StartRequests`, baggage, logging the
//! answer) stays in each example's `main.rs`, where a reader looks for it.

use std::time::Duration;

use anyhow::{Context as _, anyhow};
use opentelemetry::trace::{
    FutureExt as _, Link, SpanContext, SpanKind, Status, TraceContextExt as _, Tracer as _,
};
use opentelemetry::{Context, KeyValue, global};
use opentelemetry_http::HeaderInjector;
use opentelemetry_semantic_conventions::attribute::{
    ERROR_TYPE, HTTP_REQUEST_METHOD, HTTP_RESPONSE_STATUS_CODE, SERVER_ADDRESS, SERVER_PORT,
    URL_FULL,
};
pub use reqwest::Url;
use reqwest::header::CONTENT_TYPE;

/// How to start the server the clients call unless told otherwise
/// ([`TracedClient::start_with`]): examples-http's.
const START_SERVER: &str = "cargo run -p examples-http --bin server";

/// The URL every client calls unless told otherwise (`--url`).
pub const DEFAULT_URL: &str = "http://127.0.0.1:8000/hello";

/// Instrumentation scope of the client spans.
const SCOPE: &str = "common::client";

/// One try of a call ([`TracedClient::try_get`]): the context of its
/// CLIENT span, for a retry to link to, and what came of it.
#[derive(Debug)]
pub struct Attempt {
    pub span: SpanContext,
    pub answer: anyhow::Result<String>,
}

/// An HTTP client whose requests are traced and carry the caller's context.
#[derive(Debug, Clone)]
pub struct TracedClient {
    http: reqwest::Client,
    /// The command an error suggests when the server cannot be reached.
    start_server: &'static str,
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
        Ok(TracedClient {
            http,
            start_server: START_SERVER,
        })
    }

    /// The same client, whose "cannot reach the server" error tells to start
    /// the server with `command` (default: examples-http's server).
    pub fn start_with(self, command: &'static str) -> TracedClient {
        TracedClient {
            start_server: command,
            ..self
        }
    }

    /// `GET url` inside a CLIENT span named `GET`, a child of the current
    /// span; returns the body of a 2xx/3xx answer.
    ///
    /// The span gets status Error (and `error.type`) when the server cannot
    /// be reached or answers 4xx/5xx; the error then says what to do.
    pub async fn get(&self, url: &Url) -> anyhow::Result<String> {
        self.try_get(url, Vec::new()).await.answer
    }

    /// `GET url` as [`TracedClient::get`], its CLIENT span linked to
    /// `links` (a retry: to the attempt it repeats); returns that span's
    /// context with the answer.
    pub async fn try_get(&self, url: &Url, links: Vec<Link>) -> Attempt {
        self.send("GET", url, self.http.get(url.clone()), links)
            .await
    }

    /// `POST url` with `form` as an `application/x-www-form-urlencoded`
    /// body (GoFrame's `g.Client().Post(ctx, url, "name=john")`), inside a
    /// CLIENT span named `POST`; otherwise as [`TracedClient::get`]. The form's
    /// values are sent, never recorded on the span.
    pub async fn post_form(&self, url: &Url, form: &[(&str, &str)]) -> anyhow::Result<String> {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let request = self
            .http
            .post(url.clone())
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body);
        self.send("POST", url, request, Vec::new()).await.answer
    }

    /// Sends `request` (`method url`) inside its CLIENT span (linked to
    /// `links`): what `get` and `post_form` share.
    async fn send(
        &self,
        method: &'static str,
        url: &Url,
        request: reqwest::RequestBuilder,
        links: Vec<Link>,
    ) -> Attempt {
        let mut request = match request.build() {
            Ok(request) => request,
            Err(error) => {
                return Attempt {
                    span: SpanContext::empty_context(),
                    answer: Err(anyhow::Error::new(error)
                        .context(format!("cannot build the request {method} {url}"))),
                };
            }
        };
        let tracer = global::tracer(SCOPE);
        let mut attributes = vec![
            KeyValue::new(HTTP_REQUEST_METHOD, method),
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
            .span_builder(method)
            .with_kind(SpanKind::Client)
            .with_attributes(attributes)
            .with_links(links)
            .start(&tracer);
        // The current context keeps its baggage; the new span becomes current.
        let cx = Context::current_with_span(span);

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
                     `{}` (in another terminal), or point --url at yours",
                    self.start_server
                ))
            }
        };
        span.end();
        Attempt {
            span: span.span_context().clone(),
            answer: result,
        }
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

    /// What `telemetry::init` does before an example builds its client.
    fn client() -> TracedClient {
        let _ = rustls::crypto::ring::default_provider().install_default();
        TracedClient::new().unwrap()
    }

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

    /// What `post_form` puts on the wire, read by a one-shot server: the
    /// form encoded (a hostile value arrives as one field), its content type.
    #[tokio::test]
    async fn post_form_sends_an_encoded_form() {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url: Url = format!("http://{}/user/insert", listener.local_addr().unwrap())
            .parse()
            .unwrap();
        let server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = Vec::new();
            let mut buffer = [0; 4096];
            // The head, then the body its Content-Length announces.
            while !request_is_complete(&request) {
                let n = socket.read(&mut buffer).await.unwrap();
                assert_ne!(n, 0, "the client closed early");
                request.extend_from_slice(&buffer[..n]);
            }
            socket
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                .await
                .unwrap();
            String::from_utf8(request).unwrap()
        });
        let client = client();
        let hostile = "o'hara\"); DROP TABLE user;-- & id=2";
        let body = client
            .post_form(&url, &[("name", hostile), ("note", "a b")])
            .await
            .unwrap();
        assert_eq!(body, "ok");
        let request = server.await.unwrap();
        let lowercase = request.to_ascii_lowercase();
        assert!(
            request.starts_with("POST /user/insert HTTP/1.1\r\n"),
            "{request}"
        );
        assert!(
            lowercase.contains("\r\ncontent-type: application/x-www-form-urlencoded\r\n"),
            "{request}"
        );
        let form = request.split("\r\n\r\n").nth(1).unwrap();
        assert_eq!(
            form,
            "name=o%27hara%22%29%3B+DROP+TABLE+user%3B--+%26+id%3D2&note=a+b"
        );
        let decoded: Vec<(String, String)> = url::form_urlencoded::parse(form.as_bytes())
            .into_owned()
            .collect();
        assert_eq!(
            decoded,
            [
                ("name".to_owned(), hostile.to_owned()),
                ("note".to_owned(), "a b".to_owned())
            ]
        );
    }

    /// A request head and as many body bytes as its Content-Length says.
    fn request_is_complete(request: &[u8]) -> bool {
        let text = String::from_utf8_lossy(request);
        let Some((head, body)) = text.split_once("\r\n\r\n") else {
            return false;
        };
        let length = head
            .lines()
            .find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse::<usize>().ok())?
            })
            .unwrap_or(0);
        body.len() >= length
    }

    #[tokio::test]
    async fn an_unreachable_server_names_the_command_that_starts_it() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url: Url = format!("http://127.0.0.1:{port}/user/insert")
            .parse()
            .unwrap();
        let hello = client();
        let error = hello
            .post_form(&url, &[("name", "john")])
            .await
            .unwrap_err();
        assert!(
            error
                .to_string()
                .contains(&format!("cannot reach the server at {url}: "))
                && error.to_string().contains(START_SERVER),
            "{error}"
        );
        let other = hello.start_with("cargo run -p other --bin other-server");
        let error = other.get(&url).await.unwrap_err().to_string();
        assert!(
            error.contains("`cargo run -p other --bin other-server`")
                && !error.contains(START_SERVER),
            "{error}"
        );
    }
}
