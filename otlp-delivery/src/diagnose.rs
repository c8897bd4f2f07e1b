//! Why an export failed, in one line a newcomer can act on, from the real
//! cause: the collector's status and its own message, or what the network
//! says. Where the exporter's error cannot tell causes apart (refused, a
//! protocol mismatch, TLS on one side only), a short probe of the address
//! decides. It runs on the batch processor's own thread, never inside the
//! async runtime, and each step is bounded (a fraction of a second).

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use otlp_config::text::one_line;
use otlp_config::{Endpoint, ExporterConfig, Protocol, Signal, env};

/// One failed export attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The collector answered with a non-success HTTP status.
    Status {
        code: u16,
        message: String,
        location: Option<String>,
    },
    /// The collector (or the gRPC stack) answered with a gRPC status.
    Grpc {
        code: tonic::Code,
        /// The transport error behind it, if the status was made locally.
        detail: String,
        /// The server's own message, when a server sent the status
        /// (sanitized, and every header value we send masked).
        message: String,
    },
    /// A success status whose answer is not OTLP (a web page, a proxy's
    /// reply): `what` says what came instead, e.g. `text/html`.
    NotOtlp { code: u16, what: String },
    /// No answer came: the connection or TLS failed, or time ran out.
    Transport { detail: String, timed_out: bool },
}

impl Failure {
    /// A few words for the retry note: `503 Service Unavailable`.
    pub(crate) fn short(&self) -> String {
        match self {
            Failure::Status { code, .. } => status_text(*code),
            Failure::NotOtlp { code, .. } => format!("{} (not OTLP)", status_text(*code)),
            Failure::Grpc { code, .. } => code_name(*code).to_owned(),
            Failure::Transport {
                timed_out: true, ..
            } => "no answer in time".to_owned(),
            Failure::Transport { .. } => "connection error".to_owned(),
        }
    }

    /// The collector answered that it has no such endpoint: HTTP 404, or
    /// gRPC UNIMPLEMENTED (a backend without this signal's service).
    pub(crate) fn is_not_here(&self) -> bool {
        matches!(
            self,
            Failure::Status { code: 404, .. }
                | Failure::Grpc {
                    code: tonic::Code::Unimplemented,
                    ..
                }
        )
    }

    /// Reads the exporter's error text: the gRPC one says `... export failed
    /// with gRPC code: Unavailable: transport error: ...`; any other text is
    /// a transport failure.
    pub(crate) fn from_exporter_error(text: &str) -> Failure {
        let Some((_, rest)) = text.split_once("gRPC code: ") else {
            return Failure::Transport {
                detail: one_line(text, 400),
                timed_out: false,
            };
        };
        let (name, detail) = rest.split_once(": ").unwrap_or((rest, ""));
        let code = (0..=16)
            .map(tonic::Code::from_i32)
            .find(|code| format!("{code:?}") == name.trim())
            .unwrap_or(tonic::Code::Unknown);
        Failure::Grpc {
            code,
            detail: one_line(detail, 400),
            message: String::new(),
        }
    }

    fn timed_out(&self) -> bool {
        match self {
            Failure::Transport { timed_out, detail } => {
                *timed_out || detail.to_ascii_lowercase().contains("timed out")
            }
            // tonic's own deadline ends a call CANCELLED "Timeout expired";
            // a call cancelled for any other reason (its connection went)
            // did not wait for an answer.
            Failure::Grpc {
                code,
                detail,
                message,
            } => {
                let said = format!("{detail} {message}").to_ascii_lowercase();
                *code == tonic::Code::DeadlineExceeded
                    || said.contains("timeout")
                    || said.contains("timed out")
            }
            Failure::Status { .. } | Failure::NotOtlp { .. } => false,
        }
    }

    fn detail(&self) -> &str {
        match self {
            Failure::Grpc { detail, .. } | Failure::Transport { detail, .. } => detail,
            Failure::Status { message, .. } => message,
            Failure::NotOtlp { what, .. } => what,
        }
    }

    /// How the connection ended when it ended before an answer: `reset`
    /// (RST; writing to it then fails with a broken pipe) or `closed`.
    fn cut_off(&self) -> Option<&'static str> {
        if !matches!(self, Failure::Transport { .. } | Failure::Grpc { .. }) {
            return None;
        }
        let detail = self.detail().to_ascii_lowercase();
        if ["connection reset", "reset by peer", "broken pipe"]
            .iter()
            .any(|s| detail.contains(s))
        {
            Some("reset")
        } else if detail.contains("connection closed before message completed") {
            Some("closed")
        } else {
            None
        }
    }
}

/// What the diagnosis of one signal's exports needs to know: where that
/// signal goes, and the settings of the configuration that shape it.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub(crate) signal: Signal,
    /// This signal's own endpoint (probed, named in every message).
    pub(crate) endpoint: Endpoint,
    pub(crate) protocol: Protocol,
    pub(crate) has_token: bool,
    pub(crate) export_timeout: Duration,
    pub(crate) max_export_batch_size: usize,
}

impl Target {
    /// The target of `signal`'s exports to `endpoint`, with `config`'s settings.
    pub(crate) fn new(config: &ExporterConfig, signal: Signal, endpoint: &Endpoint) -> Target {
        Target {
            signal,
            endpoint: endpoint.clone(),
            protocol: config.protocol,
            has_token: config.has_token(),
            export_timeout: config.export_timeout,
            max_export_batch_size: config.batch.max_export_batch_size,
        }
    }
}

/// The cause of a failed export, from all its attempts (the last one is the
/// failure that ended it).
pub(crate) fn explain(target: &Target, attempts: &[Failure]) -> String {
    let Some(last) = attempts.last() else {
        return "the export failed without an error".to_owned();
    };
    match last {
        Failure::Status {
            code,
            message,
            location,
        } => {
            let answered = answered(&status_text(*code), message, attempts.len());
            match code {
                401 | 403 => format!("{answered}: {}", token_hint(target)),
                404 => format!(
                    "{answered}: nothing is served at {}; check {} (or the path in {})",
                    target.endpoint.path(),
                    target.signal.path_flag(),
                    target.signal.variable()
                ),
                413 => format!("{answered}: {}", batch_hint(target)),
                300..=399 => format!("{answered}: {}", redirect_hint(target, location.as_deref())),
                429 | 502..=504 => {
                    format!("{answered}: it is overloaded or not ready; try again later")
                }
                _ => answered,
            }
        }
        Failure::NotOtlp { code, what } => format!(
            "{} answered {code} with {what}, not OTLP: is this the collector's OTLP port? \
             (OTLP/HTTP is usually port 4318)",
            target.endpoint.authority()
        ),
        // The exporter gives a cause only to the statuses it made itself
        // from a transport error: one without came in an answer, of a gRPC
        // server, or of an HTTP/2 one that tonic mapped its HTTP status from.
        Failure::Grpc {
            code,
            detail,
            message,
        } if detail.is_empty() => {
            if !target.endpoint.is_https() && otlp_http_answers(target) {
                speaks_http1(target, true)
            } else {
                grpc_answer(target, *code, message)
            }
        }
        _ => tls_cause(target, last.detail()).unwrap_or_else(|| network_cause(target, attempts)),
    }
}

/// A gRPC status the collector sent, with its message and what to do about
/// it.
fn grpc_answer(target: &Target, code: tonic::Code, message: &str) -> String {
    use tonic::Code::*;
    let answered = answered(&format!("gRPC {}", code_name(code)), message, 1);
    match code {
        Unauthenticated | PermissionDenied => format!("{answered}: {}", token_hint(target)),
        ResourceExhausted => format!(
            "{answered}: rejected (quota or size); if it is the size, lower {} (now {})",
            env::BSP_MAX_EXPORT_BATCH_SIZE,
            target.max_export_batch_size
        ),
        Unavailable => format!("{answered}: it is overloaded or not ready; try again later"),
        Unimplemented => format!(
            "{answered}: it has no such OTLP service; is {} the collector's {}?",
            target.endpoint.authority(),
            otlp_port(target.protocol)
        ),
        _ => format!("{answered}: see the collector's log for why"),
    }
}

/// `OTLP/HTTP port (usually 4318)`.
fn otlp_port(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::Http => "OTLP/HTTP port (usually 4318)",
        Protocol::Grpc => "OTLP/gRPC port (usually 4317)",
    }
}

fn answered(status: &str, message: &str, times: usize) -> String {
    let mut out = format!("the collector answered {status}");
    if !message.is_empty() {
        out.push_str(&format!(" (\"{message}\")"));
    }
    if times > 1 {
        out.push(' ');
        out.push_str(&self::times(times));
    }
    out
}

fn token_hint(target: &Target) -> String {
    if target.has_token {
        "check the token (--token or TRACE_TOKEN, sent as `authentication`)".to_owned()
    } else {
        "it wants a token: pass --token or set TRACE_TOKEN".to_owned()
    }
}

/// Where a redirect points, and the setting that sends there directly
/// (redirects are not followed: a POST must not turn into a GET). A URL
/// made of a base and a path is fixed by the base when the new URL ends in
/// the same path, else by base and path; a URL given whole by the
/// signal's variable, by that variable.
fn redirect_hint(target: &Target, location: Option<&str>) -> String {
    let Some(location) = location else {
        return "it redirects, but its answer has no Location to say where".to_owned();
    };
    let Some(to) = target.endpoint.redirected(location) else {
        return format!(
            "it redirects to `{location}`, which is not an http:// or https:// URL without query"
        );
    };
    let signal = target.signal;
    match target.endpoint.joined() {
        Some(path) => match to.without_suffix(path) {
            Some(base) => format!("it redirects to {to}; point --endpoint at {base}"),
            None => format!(
                "it redirects to {to}; point --endpoint at {} and {} at {}",
                to.with_path("/"),
                signal.path_flag(),
                to.path()
            ),
        },
        None => format!(
            "it redirects to {to}; set {} to that URL (it is used as is)",
            signal.variable()
        ),
    }
}

fn batch_hint(target: &Target) -> String {
    format!(
        "the request is too large for it; lower {} (now {})",
        env::BSP_MAX_EXPORT_BATCH_SIZE,
        target.max_export_batch_size
    )
}

/// TLS failures the error text names precisely.
fn tls_cause(target: &Target, detail: &str) -> Option<String> {
    let authority = target.endpoint.authority();
    let lower = detail.to_ascii_lowercase().replace([' ', '_'], "");
    let cause = if lower.contains("invalidcontenttype") || lower.contains("corruptmessage") {
        plain_behind_https(target)
    } else if lower.contains("unknownissuer") {
        format!(
            "the TLS certificate of {authority} is not trusted (unknown issuer): set {} to the PEM \
             file of the CA that signed it",
            env::CERTIFICATE
        )
    } else if lower.contains("notvalidforname") || lower.contains("notvalidforcontext") {
        format!(
            "the TLS certificate of {authority} is not valid for the name `{}`: connect with a \
             name the certificate lists, or reissue it",
            target.endpoint.host()
        )
    } else if lower.contains("invalidpeercertificate") && lower.contains("expired") {
        format!(
            "the TLS certificate of {authority} has expired: renew the collector's certificate, \
             or check this machine's clock (now: {})",
            utc_now()
        )
    } else if lower.contains("certificatenotvalidyet") || lower.contains("notvalidyetcontext") {
        format!(
            "the TLS certificate of {authority} is not valid yet: check this machine's clock \
             (now: {})",
            utc_now()
        )
    } else if lower.contains("certificaterequired") {
        format!(
            "{authority} asks for a client certificate: set {} and {}",
            env::CLIENT_CERTIFICATE,
            env::CLIENT_KEY
        )
    } else if lower.contains("invalidpeercertificate") {
        format!("the TLS certificate of {authority} was refused: {detail}")
    } else {
        return None;
    };
    Some(cause)
}

/// This machine's time, `2025-06-01 12:34:56 UTC`: a certificate's dates
/// are checked against it.
fn utc_now() -> String {
    utc(time::OffsetDateTime::now_utc())
}

/// `YYYY-MM-DD hh:mm:ss UTC`.
fn utc(at: time::OffsetDateTime) -> String {
    let (hh, mm, ss) = at.to_hms();
    format!("{} {hh:02}:{mm:02}:{ss:02} UTC", at.date())
}

fn plain_behind_https(target: &Target) -> String {
    format!(
        "{} does not speak TLS, but the endpoint is https://: write http://, or start the \
         collector with --tls-cert and --tls-key",
        target.endpoint.authority()
    )
}

/// Failures the error text cannot tell apart: ask the address itself.
fn network_cause(target: &Target, attempts: &[Failure]) -> String {
    const CONNECT: Duration = Duration::from_millis(300);
    let authority = target.endpoint.authority();
    let host = target.endpoint.host();
    let addrs: Vec<SocketAddr> = match (host.as_str(), target.endpoint.port()).to_socket_addrs() {
        Ok(addrs) => addrs.collect(),
        Err(_) => return format!("cannot resolve host `{host}`: check the name in the endpoint"),
    };
    let mut timed_out_connect = false;
    let addr = addrs
        .iter()
        .copied()
        .find(|addr| match TcpStream::connect_timeout(addr, CONNECT) {
            Ok(_) => true,
            Err(e) => {
                timed_out_connect |= e.kind() == std::io::ErrorKind::TimedOut;
                false
            }
        });
    let Some(addr) = addr else {
        if timed_out_connect {
            return format!(
                "{authority} did not accept a connection within {:.1}s",
                CONNECT.as_secs_f64()
            );
        }
        return format!(
            "connection refused, nothing is listening on {authority}. Start a collector with \
             `cargo run -p collector`, or point --endpoint at yours"
        );
    };
    let Some((last, earlier)) = attempts.split_last() else {
        return "the export failed without an error".to_owned();
    };
    if last.timed_out() {
        let earlier: Vec<&Failure> = earlier.iter().filter(|f| !f.timed_out()).collect();
        let wait = format!("{:.1}s", target.export_timeout.as_secs_f64());
        return match earlier.first() {
            None => format!("{authority} accepted the connection but sent no answer within {wait}"),
            Some(first) => format!(
                "the collector answered {} {}, then sent no answer within {wait}",
                first.short(),
                times(earlier.len())
            ),
        };
    }
    let speaks_tls = speaks_tls(addr, &host);
    match (target.endpoint.is_https(), speaks_tls, target.protocol) {
        (true, false, _) => plain_behind_https(target),
        (false, true, _) => {
            format!("{authority} speaks TLS, but the endpoint is http://: write https://")
        }
        (false, false, Protocol::Http) if speaks_h2(addr) => format!(
            "{authority} speaks HTTP/2 only, as an OTLP/gRPC port does; the HTTP exporter needs an \
             OTLP/HTTP endpoint, usually port 4318"
        ),
        (false, false, Protocol::Grpc) if let Some(otlp) = http1_answer(addr, &authority) => {
            speaks_http1(target, otlp)
        }
        _ => match (last, last.cut_off()) {
            (_, Some(how)) => format!(
                "the connection to {authority} was {how} before it answered: check that it is \
                 the collector's {}, and the collector's log",
                otlp_port(target.protocol)
            ),
            (Failure::Grpc { code, detail, .. }, None) => {
                format!("the gRPC call failed ({}): {detail}", code_name(*code))
            }
            (other, None) => other.detail().to_owned(),
        },
    }
}

/// `once`, `twice`, `4 times`.
fn times(n: usize) -> String {
    match n {
        1 => "once".to_owned(),
        2 => "twice".to_owned(),
        n => format!("{n} times"),
    }
}

const PROBE_READ: Duration = Duration::from_millis(500);

fn probe_stream(addr: SocketAddr) -> Option<TcpStream> {
    let stream = TcpStream::connect_timeout(&addr, Duration::from_millis(300)).ok()?;
    stream.set_read_timeout(Some(PROBE_READ)).ok()?;
    stream.set_write_timeout(Some(PROBE_READ)).ok()?;
    Some(stream)
}

/// A TLS handshake with no trusted roots: any TLS server answers with a
/// certificate, which fails verification; anything else is not TLS.
fn speaks_tls(addr: SocketAddr, host: &str) -> bool {
    let Some(mut stream) = probe_stream(addr) else {
        return false;
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let Ok(config) = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map(|b| {
            b.with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth()
        })
    else {
        return false;
    };
    let name = rustls::pki_types::ServerName::try_from(host.to_owned()).unwrap_or_else(|_| {
        rustls::pki_types::ServerName::try_from("localhost").expect("a valid name")
    });
    let Ok(mut tls) = rustls::ClientConnection::new(Arc::new(config), name) else {
        return false;
    };
    while tls.is_handshaking() {
        if let Err(error) = tls.complete_io(&mut stream) {
            return error
                .get_ref()
                .and_then(|e| e.downcast_ref::<rustls::Error>())
                .is_some_and(|e| matches!(e, rustls::Error::InvalidCertificate(_)));
        }
    }
    true
}

/// An HTTP/2 server that takes prior knowledge (a gRPC server) answers the
/// connection preface with a SETTINGS frame.
fn speaks_h2(addr: SocketAddr) -> bool {
    let Some(mut stream) = probe_stream(addr) else {
        return false;
    };
    let mut hello = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    hello.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0, 0]);
    let mut frame = [0u8; 9];
    stream.write_all(&hello).is_ok() && stream.read_exact(&mut frame).is_ok() && frame[3] == 4
}

/// The gRPC exporter reached an HTTP/1.1 server; OTLP/HTTP is named only
/// when the probe's export was answered as one.
fn speaks_http1(target: &Target, otlp: bool) -> String {
    let speaks = if otlp { "OTLP/HTTP" } else { "HTTP/1.1" };
    format!(
        "{} speaks {speaks}, not gRPC; the gRPC exporter needs an OTLP/gRPC endpoint, usually \
         port 4317",
        target.endpoint.authority()
    )
}

/// Whether the endpoint's address answers an OTLP/HTTP export.
fn otlp_http_answers(target: &Target) -> bool {
    let host = target.endpoint.host();
    (host.as_str(), target.endpoint.port())
        .to_socket_addrs()
        .into_iter()
        .flatten()
        .next()
        .and_then(|addr| http1_answer(addr, &target.endpoint.authority()))
        .unwrap_or(false)
}

/// An HTTP/1.1 server answers a request with `HTTP/1.x`; an OTLP/HTTP
/// receiver answers this empty export with a success in protobuf. `None`:
/// not HTTP/1.1; `Some(true)`: OTLP/HTTP.
fn http1_answer(addr: SocketAddr, authority: &str) -> Option<bool> {
    let mut stream = probe_stream(addr)?;
    let request = format!(
        "POST /v1/traces HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/x-protobuf\r\n\
         Content-Length: 0\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).ok()?;
    // The head, up to 4 KiB.
    let mut head = Vec::new();
    let mut chunk = [0u8; 1024];
    while head.len() < 4096 && !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => head.extend_from_slice(&chunk[..n]),
        }
    }
    let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
    if !head.starts_with("http/1.") {
        return None;
    }
    let success = head.get(9..10) == Some("2");
    let protobuf = head.lines().any(|line| {
        line.strip_prefix("content-type:")
            .is_some_and(|v| v.trim().starts_with("application/x-protobuf"))
    });
    Some(success && protobuf)
}

/// `503 Service Unavailable`.
pub(crate) fn status_text(code: u16) -> String {
    let reason = http::StatusCode::from_u16(code)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    format!("{code} {reason}").trim_end().to_owned()
}

/// The gRPC name of a code, as the specification writes it.
pub(crate) fn code_name(code: tonic::Code) -> &'static str {
    use tonic::Code::*;
    match code {
        Ok => "OK",
        Cancelled => "CANCELLED",
        Unknown => "UNKNOWN",
        InvalidArgument => "INVALID_ARGUMENT",
        DeadlineExceeded => "DEADLINE_EXCEEDED",
        NotFound => "NOT_FOUND",
        AlreadyExists => "ALREADY_EXISTS",
        PermissionDenied => "PERMISSION_DENIED",
        ResourceExhausted => "RESOURCE_EXHAUSTED",
        FailedPrecondition => "FAILED_PRECONDITION",
        Aborted => "ABORTED",
        OutOfRange => "OUT_OF_RANGE",
        Unimplemented => "UNIMPLEMENTED",
        Internal => "INTERNAL",
        Unavailable => "UNAVAILABLE",
        DataLoss => "DATA_LOSS",
        Unauthenticated => "UNAUTHENTICATED",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_grpc_call_that_ran_out_of_time_timed_out() {
        let cancelled = |detail: &str, message: &str| Failure::Grpc {
            code: tonic::Code::Cancelled,
            detail: detail.into(),
            message: message.into(),
        };
        assert!(cancelled("", "Timeout expired").timed_out());
        assert!(!cancelled("", "operation was canceled").timed_out());
        assert!(!cancelled("connection closed", "").timed_out());
        let deadline = Failure::Grpc {
            code: tonic::Code::DeadlineExceeded,
            detail: String::new(),
            message: String::new(),
        };
        assert!(deadline.timed_out());
    }

    #[test]
    fn grpc_error_text_is_read() {
        let failure = Failure::from_exporter_error(
            "TonicTracesClient export failed with gRPC code: Unavailable: transport error: tcp connect error",
        );
        assert_eq!(
            failure,
            Failure::Grpc {
                code: tonic::Code::Unavailable,
                detail: "transport error: tcp connect error".into(),
                message: String::new(),
            }
        );
        assert_eq!(
            Failure::from_exporter_error(
                "TonicTracesClient export failed with gRPC code: Unauthenticated"
            ),
            Failure::Grpc {
                code: tonic::Code::Unauthenticated,
                detail: String::new(),
                message: String::new(),
            }
        );
    }

    fn target(url: &str, protocol: Protocol) -> Target {
        Target {
            signal: Signal::Traces,
            endpoint: Endpoint::parse(url, "test").unwrap(),
            protocol,
            has_token: false,
            export_timeout: Duration::from_millis(1500),
            max_export_batch_size: 512,
        }
    }

    #[test]
    fn refused_port_says_to_start_a_collector() {
        // Bind then drop to get a port nothing listens on.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let failure = Failure::Transport {
            detail: "error sending request".into(),
            timed_out: false,
        };
        let cause = explain(
            &target(&format!("http://127.0.0.1:{port}"), Protocol::Http),
            &[failure],
        );
        assert_eq!(
            cause,
            format!(
                "connection refused, nothing is listening on 127.0.0.1:{port}. Start a collector \
                 with `cargo run -p collector`, or point --endpoint at yours"
            )
        );
        let cause = explain(
            &target(&format!("http://[::1]:{port}"), Protocol::Grpc),
            &[Failure::Grpc {
                code: tonic::Code::Unavailable,
                detail: "tcp connect error".into(),
                message: String::new(),
            }],
        );
        assert!(
            cause.contains(&format!("nothing is listening on [::1]:{port}")),
            "{cause}"
        );
    }

    #[test]
    fn statuses_point_at_the_setting_to_fix() {
        let t = target("http://c:1/v1/traces", Protocol::Http);
        let status = |code, message: &str| Failure::Status {
            code,
            message: message.into(),
            location: None,
        };
        assert_eq!(
            explain(&t, &[status(401, "bad token")]),
            "the collector answered 401 Unauthorized (\"bad token\"): it wants a token: pass --token or set TRACE_TOKEN"
        );
        assert!(explain(&t, &[status(404, "")]).contains("check --path"));
        assert!(
            explain(&t, &[status(413, "")])
                .contains("lower OTEL_BSP_MAX_EXPORT_BATCH_SIZE (now 512)")
        );
        assert_eq!(
            explain(
                &t,
                &[
                    status(503, "busy"),
                    status(503, "busy"),
                    status(503, "busy"),
                    status(503, "busy")
                ]
            ),
            "the collector answered 503 Service Unavailable (\"busy\") 4 times: it is overloaded or not ready; try again later"
        );
        let grpc = Failure::Grpc {
            code: tonic::Code::PermissionDenied,
            detail: String::new(),
            message: String::new(),
        };
        assert!(
            explain(&t, &[grpc])
                .starts_with("the collector answered gRPC PERMISSION_DENIED: it wants a token")
        );
    }

    #[test]
    fn a_redirect_names_the_setting_that_sends_there() {
        let base = Endpoint::parse("http://c:1", "x").unwrap();
        let redirect = |endpoint: Endpoint, signal, location: &str| {
            let target = Target {
                signal,
                endpoint,
                ..target("http://c:1", Protocol::Http)
            };
            let failure = Failure::Status {
                code: 308,
                message: String::new(),
                location: Some(location.into()),
            };
            explain(&target, &[failure])
        };
        // The base, not the signal's URL: --endpoint gets the path appended.
        assert_eq!(
            redirect(
                base.join("/v1/traces"),
                Signal::Traces,
                "https://new:2/otlp/v1/traces"
            ),
            "the collector answered 308 Permanent Redirect: it redirects to \
             https://new:2/otlp/v1/traces; point --endpoint at https://new:2/otlp"
        );
        assert!(
            redirect(base.join("/v1/logs"), Signal::Logs, "/v1/logs/")
                .ends_with("point --endpoint at http://c:1")
        );
        // Another path: base and path flag.
        assert!(
            redirect(base.join("/v1/logs"), Signal::Logs, "/ingest")
                .ends_with("it redirects to http://c:1/ingest; point --endpoint at http://c:1 and --logs-path at /ingest")
        );
        // A URL given whole: its variable.
        assert!(
            redirect(base.with_path("/t"), Signal::Traces, "/t2")
                .ends_with("set OTEL_EXPORTER_OTLP_TRACES_ENDPOINT to that URL (it is used as is)")
        );
    }

    #[test]
    fn certificate_dates_say_what_to_do() {
        let t = target("https://c:1", Protocol::Http);
        let cause = |detail: &str| tls_cause(&t, detail).unwrap();
        let expired = cause(
            "invalid peer certificate: certificate expired: verification time 1700000000 (UNIX), \
             but certificate is not valid after 1609459200 (90540800 seconds ago)",
        );
        assert!(
            expired.starts_with(
                "the TLS certificate of c:1 has expired: renew the collector's certificate, or \
                 check this machine's clock (now: 20"
            ),
            "{expired}"
        );
        assert!(expired.ends_with(" UTC)"), "{expired}");
        let early = cause("InvalidCertificate(NotValidYetContext { time: 1, not_before: 2 })");
        assert!(
            early.starts_with(
                "the TLS certificate of c:1 is not valid yet: check this machine's clock (now: 20"
            ),
            "{early}"
        );
    }

    #[test]
    fn utc_times() {
        let utc = |unix| utc(time::OffsetDateTime::from_unix_timestamp(unix).unwrap());
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(1_609_459_199), "2020-12-31 23:59:59 UTC");
        assert_eq!(utc(1_709_210_096), "2024-02-29 12:34:56 UTC");
    }

    #[test]
    fn status_texts() {
        assert_eq!(status_text(503), "503 Service Unavailable");
        assert_eq!(status_text(599), "599");
    }
}
