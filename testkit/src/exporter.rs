//! Running an in-process example binary for its tests: one run with flags
//! and environment, a collector (plain or TLS) on free ports, and the checks
//! that the OTLP/HTTP and the OTLP/gRPC example share, parameterized by the
//! binary and its [`Protocol`]: the delivered trace and log records, the
//! failure reports, the token and the TLS configuration.

use std::time::Duration;

use collector::{
    Collector, CollectorConfig, GRPC_EXPORT_PATH, GRPC_LOGS_EXPORT_PATH, ReceivedRequest, Signal,
    TlsConfig, Transport,
};

use crate::expect;
use crate::pki::Pki;
use crate::process::{self, Finished};

/// How long one example run may take before the test gives up.
pub const LIMIT: Duration = Duration::from_secs(30);

/// The transport an example exports over, so the collector endpoint it is
/// given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Http,
    Grpc,
}

impl Protocol {
    /// The collector's endpoint for this protocol (`http://` or, with TLS,
    /// `https://`).
    pub fn endpoint(self, collector: &Collector) -> String {
        match self {
            Protocol::Http => collector.http_endpoint(),
            Protocol::Grpc => collector.grpc_endpoint(),
        }
    }
}

/// Runs `binary` once with `args` and `env` added to its environment.
pub async fn run(binary: &str, args: &[&str], env: &[(&str, &str)]) -> Finished {
    let mut command = process::example_command(binary);
    command.args(args).envs(env.iter().copied());
    process::run(&mut command, LIMIT)
        .await
        .expect("the example ran")
}

/// A collector on free loopback ports, serving TLS when `tls` is given.
pub async fn collector(tls: Option<TlsConfig>) -> Collector {
    let config = CollectorConfig {
        tls,
        ..CollectorConfig::ephemeral()
    };
    Collector::start(config)
        .await
        .expect("the collector started")
}

/// The last stderr line, which is the delivery report.
pub fn report(out: &Finished) -> &str {
    out.stderr.lines().last().unwrap_or_default()
}

/// Stdout carries exactly the two users, `{}` then user 100.
pub fn assert_results(stdout: &str) {
    if let Err(problems) = expect::inprocess_output(stdout) {
        panic!("results not printed: {problems:#?}\n{stdout}");
    }
}

/// The in-process examples' one trace arrived, 9 spans of `service` in the
/// documented shape; returns the requests that carried it (at least one).
pub async fn assert_one_trace(collector: &Collector, service: &str) -> Vec<ReceivedRequest> {
    collector
        .wait_for_spans(9, Duration::from_secs(10))
        .await
        .unwrap();
    let traces = collector.traces();
    assert_eq!(traces.len(), 1, "expected one trace: {traces:#?}");
    if let Err(problems) = expect::inprocess(&traces[0], service) {
        panic!("trace differs from the documented one: {problems:#?}");
    }
    let requests = requests_of(collector, Signal::Traces);
    assert!(!requests.is_empty());
    requests
}

/// The export requests of one signal the collector received, in order.
pub fn requests_of(collector: &Collector, signal: Signal) -> Vec<ReceivedRequest> {
    collector
        .requests()
        .into_iter()
        .filter(|r| r.signal == signal)
        .collect()
}

/// The in-process examples' log records arrived, each on the span it was
/// written in ([`expect::inprocess_logs`]); returns the requests that
/// carried them (at least one). Call after the run: the example exits only
/// once its records are delivered.
pub fn assert_logs(
    collector: &Collector,
    service: &str,
    user_not_found: bool,
) -> Vec<ReceivedRequest> {
    let traces = collector.traces();
    let [trace] = traces.as_slice() else {
        panic!("expected one trace: {traces:#?}");
    };
    if let Err(problems) = expect::inprocess_logs(trace, service, user_not_found) {
        panic!(
            "log records differ from the documented ones: {problems:#?}\n{:#?}",
            trace.logs
        );
    }
    let requests = requests_of(collector, Signal::Logs);
    assert!(!requests.is_empty());
    requests
}

/// `OTEL_LOGS_EXPORTER=none`: the spans arrive, no log record is sent, and
/// the report speaks of spans only.
pub async fn assert_logs_none(binary: &str, protocol: Protocol) {
    let collector = collector(None).await;
    let endpoint = protocol.endpoint(&collector);
    let out = run(
        binary,
        &["--endpoint", &endpoint],
        &[("OTEL_LOGS_EXPORTER", "none")],
    )
    .await;
    assert!(out.status.success(), "{}", out.stderr);
    collector.wait_for_spans(9, LIMIT).await.unwrap();
    let logs = requests_of(&collector, Signal::Logs);
    assert!(logs.is_empty(), "log records were sent: {logs:#?}");
    assert!(
        report(&out).starts_with("exported 9 spans to "),
        "{}",
        out.stderr
    );
    assert!(!report(&out).contains("log records"), "{}", out.stderr);
    // The log lines still reach stderr.
    assert!(out.stderr.contains("GetUser(100): found"), "{}", out.stderr);
}

/// A backend that takes traces only (`endpoint`: HTTP 404 on `/v1/logs`, or
/// gRPC UNIMPLEMENTED for the logs service): exit status 0, one `note:`
/// line that says so and how to stop sending logs, and the spans' report
/// as the last line.
pub async fn assert_traces_only_backend_is_a_note(binary: &str, endpoint: &str) {
    let out = run(binary, &["--endpoint", endpoint], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr);
    assert_results(&out.stdout);
    let notes: Vec<&str> = out
        .stderr
        .lines()
        .filter(|line| line.starts_with("note:"))
        .collect();
    let [note] = notes.as_slice() else {
        panic!("expected one note:\n{}", out.stderr);
    };
    assert!(note.contains("does not accept logs"), "{note}");
    assert!(note.contains("OTEL_LOGS_EXPORTER=none"), "{note}");
    assert!(
        report(&out).starts_with("exported 9 spans to "),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("error:"), "{}", out.stderr);
}

/// An OTLP/gRPC export as the examples send it: the `Export` method of its
/// signal's service, gzip-encoded, with `token` (if any) as
/// `authentication` metadata.
pub fn assert_grpc_export(request: &ReceivedRequest, token: Option<&str>) {
    assert_eq!(request.transport, Transport::Grpc);
    let method = match request.signal {
        Signal::Traces => GRPC_EXPORT_PATH,
        Signal::Logs => GRPC_LOGS_EXPORT_PATH,
    };
    assert_eq!(request.path, method);
    assert_eq!(
        request.headers.get("grpc-encoding").map(String::as_str),
        Some("gzip")
    );
    assert_eq!(
        request.headers.get("authentication").map(String::as_str),
        token
    );
}

/// `token` was neither printed nor copied into a span's resource (the
/// resource holds the command line).
pub fn assert_token_hidden(out: &Finished, collector: &Collector, token: &str) {
    let shown = format!("{}{}", out.stdout, out.stderr);
    assert!(!shown.contains(token), "token printed:\n{shown}");
    for span in collector.spans() {
        assert!(!format!("{:?}", span.resource).contains(token));
    }
}

/// A failed delivery of the in-process examples' 9 spans: exit status 1, a
/// report that names `cause`, no advice to start a collector (that is for
/// "nothing is listening" alone), and a bounded run.
pub fn assert_delivery_failure(out: &Finished, cause: &str) {
    let line = report(out);
    assert_eq!(out.status.code(), Some(1), "{}", out.stderr);
    // `9 spans to URL`, or `9 spans and 2 log records to URL` (gRPC: one URL).
    assert!(
        line.starts_with("error: could not deliver 9 spans to ")
            || line.starts_with("error: could not deliver 9 spans and "),
        "{line}"
    );
    assert!(line.contains(cause), "expected `{cause}` in:\n{line}");
    assert!(!line.contains("Start a collector"), "{line}");
    assert!(
        out.elapsed < Duration::from_secs(6),
        "took {:?}",
        out.elapsed
    );
}

/// An OTLP partial success for the in-process examples' 9 spans, 3 of them
/// rejected for `reason` (as the report shows it: sanitized, the token
/// masked): exit status 1 and a report that counts the 3 as undelivered.
pub fn assert_partial_success(out: &Finished, reason: &str) {
    let line = report(out);
    assert_eq!(out.status.code(), Some(1), "{}", out.stderr);
    assert!(
        line.starts_with("error: could not deliver 3 spans to "),
        "{line}"
    );
    let cause =
        format!(": the collector took the export but rejected 3 of its 9 spans (\"{reason}\")");
    assert!(
        line.ends_with(&cause),
        "expected `{cause}` at the end of:\n{line}"
    );
}

/// A collector that is down or silent at `url`: the results still printed,
/// the one report every example gives ([`process::delivery_failure`]) for
/// the 9 spans, naming `cause`, and a bounded run.
pub fn assert_not_delivered(out: &Finished, url: &str, cause: &str) {
    assert_results(&out.stdout);
    let line = process::delivery_failure(out, url).unwrap_or_else(|problem| panic!("{problem}"));
    assert!(line.contains(cause), "{line}");
    assert!(
        line.starts_with("error: could not deliver 9 spans"),
        "{line}"
    );
    assert!(
        out.elapsed < Duration::from_secs(5),
        "took {:?}",
        out.elapsed
    );
}

/// `--token` replaces the `authentication` entry of the headers variable in
/// `env`, whose other entries (URL-decoded) travel as well.
pub async fn assert_token_flag_replaces_header(
    binary: &str,
    protocol: Protocol,
    env: &[(&str, &str)],
) {
    let collector = collector(None).await;
    let endpoint = protocol.endpoint(&collector);
    let out = run(
        binary,
        &["--endpoint", &endpoint, "--token", "from-flag"],
        env,
    )
    .await;
    assert!(out.status.success(), "{}", out.stderr);
    collector.wait_for_spans(9, LIMIT).await.unwrap();
    let requests = collector.requests();
    // The log records travel with the same headers as the spans.
    assert!(
        requests.iter().any(|r| r.signal == Signal::Logs),
        "no log records arrived: {requests:#?}"
    );
    for request in requests {
        assert_eq!(
            request.headers.get("authentication").map(String::as_str),
            Some("from-flag")
        );
        assert_eq!(
            request.headers.get("x-team").map(String::as_str),
            Some("dev ops")
        );
    }
}

/// A TLS collector is reached with the CA in `OTEL_EXPORTER_OTLP_CERTIFICATE`,
/// and every mismatch is named with its fix: no CA, `http://` to TLS,
/// `https://` to a plain collector. Returns the certificates and the TLS
/// collector for a test's own further cases.
pub async fn assert_tls_faults_named(binary: &str, protocol: Protocol) -> (Pki, Collector) {
    let pki = Pki::generate().unwrap();
    let ca = pki.ca_cert().to_str().unwrap();
    let tls = collector(Some(TlsConfig::new(pki.server_cert(), pki.server_key()))).await;
    let https = protocol.endpoint(&tls);
    assert!(https.starts_with("https://"), "{https}");
    let out = run(
        binary,
        &["--endpoint", &https],
        &[("OTEL_EXPORTER_OTLP_CERTIFICATE", ca)],
    )
    .await;
    assert!(out.status.success(), "{}", out.stderr);
    tls.wait_for_spans(9, LIMIT).await.unwrap();

    let out = run(binary, &["--endpoint", &https], &[]).await;
    assert_delivery_failure(
        &out,
        "is not trusted (unknown issuer): set OTEL_EXPORTER_OTLP_CERTIFICATE",
    );
    let plain = https.replace("https://", "http://");
    let out = run(binary, &["--endpoint", &plain], &[]).await;
    assert_delivery_failure(
        &out,
        "speaks TLS, but the endpoint is http://: write https://",
    );
    let plain_collector = collector(None).await;
    let https_to_plain = protocol
        .endpoint(&plain_collector)
        .replace("http://", "https://");
    let out = run(binary, &["--endpoint", &https_to_plain], &[]).await;
    assert_delivery_failure(
        &out,
        "does not speak TLS, but the endpoint is https://: write http://",
    );
    (pki, tls)
}

/// A collector serving an expired certificate (signed by the CA given):
/// the report names it and says what to do, with this machine's time.
pub async fn assert_expired_certificate_advice(binary: &str, protocol: Protocol) {
    let pki = Pki::generate().unwrap();
    let expired = collector(Some(TlsConfig::new(pki.expired_cert(), pki.expired_key()))).await;
    let out = run(
        binary,
        &["--endpoint", &protocol.endpoint(&expired)],
        &[(
            "OTEL_EXPORTER_OTLP_CERTIFICATE",
            pki.ca_cert().to_str().unwrap(),
        )],
    )
    .await;
    assert_delivery_failure(
        &out,
        "has expired: renew the collector's certificate, or check this machine's clock (now: 20",
    );
    assert!(report(&out).ends_with(" UTC)"), "{}", out.stderr);
}

/// Nothing listens at the endpoint: the one report counts the 9 spans and
/// the 2 log records, with their one cause, and no warning comes before it
/// (a short run's failures are its final report's to tell). `lost` is how
/// the line names them with `BASE` for the endpoint, e.g. `9 spans and 2
/// log records to BASE` (one URL over gRPC).
pub async fn assert_lost_logs_counted(binary: &str, lost: &str) {
    let base = format!("http://127.0.0.1:{}", process::closed_port().unwrap());
    let out = run(binary, &["--endpoint", &base], &[]).await;
    assert_eq!(out.status.code(), Some(1), "{}", out.stderr);
    let lost = lost.replace("BASE", &base);
    assert!(
        report(&out).starts_with(&format!(
            "error: could not deliver {lost}: connection refused, nothing is listening on "
        )),
        "{}",
        out.stderr
    );
    assert_eq!(
        out.stderr.matches("could not deliver").count(),
        1,
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("warning:"), "{}", out.stderr);
}

/// A collector that asks for a client certificate is reached with the
/// `{prefix}CERTIFICATE`, `{prefix}CLIENT_CERTIFICATE` and
/// `{prefix}CLIENT_KEY` variables (`OTEL_EXPORTER_OTLP_` or its
/// `..._TRACES_` form). Returns the certificates and that collector for a
/// test's own further cases.
pub async fn assert_mutual_tls(binary: &str, protocol: Protocol, prefix: &str) -> (Pki, Collector) {
    let pki = Pki::generate().unwrap();
    let mut tls = TlsConfig::new(pki.server_cert(), pki.server_key());
    tls.client_ca = Some(pki.ca_cert().to_owned());
    let collector = collector(Some(tls)).await;
    let variables =
        ["CERTIFICATE", "CLIENT_CERTIFICATE", "CLIENT_KEY"].map(|v| prefix.to_owned() + v);
    let files = [pki.ca_cert(), pki.client_cert(), pki.client_key()];
    let env: Vec<(&str, &str)> = variables
        .iter()
        .map(String::as_str)
        .zip(files.map(|file| file.to_str().unwrap()))
        .collect();
    let out = run(
        binary,
        &["--endpoint", &protocol.endpoint(&collector)],
        &env,
    )
    .await;
    assert!(out.status.success(), "{}", out.stderr);
    collector.wait_for_spans(9, LIMIT).await.unwrap();
    (pki, collector)
}
