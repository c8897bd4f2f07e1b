//! Command-line and environment configuration shared by every example.
//!
//! Precedence, for every setting: command-line flag > signal-specific
//! variable (`OTEL_EXPORTER_OTLP_TRACES_*`) > general variable
//! (`OTEL_EXPORTER_OTLP_*`) > the example's default. Every value is checked
//! here, before the exporter sees it: a bad one is refused with a line that
//! names it and the accepted form (see [`env::VARIABLES`]).

mod endpoint;
pub mod env;
pub mod text;

use std::ffi::OsString;
use std::fmt;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::Args;
use opentelemetry_sdk::trace::Sampler;

pub use endpoint::{Endpoint, mask_userinfo};
use env::Env;

/// Default collector base URL of the OTLP/HTTP exporter.
pub const DEFAULT_HTTP_ENDPOINT: &str = "http://localhost:4318";
/// Default collector base URL of the OTLP/gRPC exporter.
pub const DEFAULT_GRPC_ENDPOINT: &str = "http://localhost:4317";
/// Default URL path of the OTLP/HTTP exporter.
pub const DEFAULT_TRACES_PATH: &str = "/v1/traces";
/// Default URL path of the OTLP/HTTP log exporter.
pub const DEFAULT_LOGS_PATH: &str = "/v1/logs";

/// Options every example takes, whichever exporter it uses.
#[derive(Debug, Clone, Args)]
pub struct ExporterArgs {
    /// Collector base URL, with `http://` or `https://`
    /// [env: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (used as is), OTEL_EXPORTER_OTLP_ENDPOINT]
    /// [default: http://localhost:4318 for OTLP/HTTP, http://localhost:4317 for OTLP/gRPC]
    #[arg(long, value_name = "URL", verbatim_doc_comment)]
    pub endpoint: Option<String>,

    /// Token sent as `authentication` header (HTTP) or metadata (gRPC); never printed
    #[arg(
        long,
        env = "TRACE_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub token: Option<Secret>,

    /// Service name of this process's spans (resource `service.name`) [default: the example's own]
    #[arg(long, env = "OTEL_SERVICE_NAME", value_name = "NAME")]
    pub service_name: Option<String>,

    /// How long one export may take before it is given up, in milliseconds;
    /// shutdown waits this long plus half a second at most
    /// [env: OTEL_EXPORTER_OTLP_TRACES_TIMEOUT, OTEL_EXPORTER_OTLP_TIMEOUT] [default: 1500]
    #[arg(
        long,
        value_name = "MS",
        verbatim_doc_comment,
        value_parser = clap::value_parser!(u64).range(1..=600_000)
    )]
    pub export_timeout: Option<u64>,
}

/// Options of the examples that export over OTLP/HTTP.
#[derive(Debug, Clone, Args)]
pub struct HttpExporterArgs {
    #[command(flatten)]
    pub common: ExporterArgs,

    /// URL path the spans are posted to, appended to the endpoint
    /// (vendors use their own, e.g. /adapt_xxx/api/otlp/traces) [default: /v1/traces]
    #[arg(long, value_name = "PATH", verbatim_doc_comment)]
    pub path: Option<String>,

    /// URL path the log records are posted to, appended to the endpoint
    /// [env: OTEL_EXPORTER_OTLP_LOGS_ENDPOINT (used as is)] [default: /v1/logs]
    #[arg(long, value_name = "PATH", verbatim_doc_comment)]
    pub logs_path: Option<String>,
}

/// Options of the examples that export over OTLP/gRPC.
#[derive(Debug, Clone, Args)]
pub struct GrpcExporterArgs {
    #[command(flatten)]
    pub common: ExporterArgs,
}

/// Wire protocol of the OTLP exporter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// OTLP over HTTP, protobuf bodies.
    Http,
    /// OTLP over gRPC.
    Grpc,
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::Http => "OTLP/HTTP",
            Protocol::Grpc => "OTLP/gRPC",
        })
    }
}

/// A value that must never be printed: `Debug` and `Display` show `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The secret itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret(s.to_owned()))
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// [`check_collector_url`] for a base URL that `path` will be appended to
/// (`--endpoint`, `OTEL_EXPORTER_OTLP_ENDPOINT`): one that already ends in
/// a signal's path is refused too, with the two right ways to write it.
pub fn check_base_url(value: &str, source: &str, path: &str) -> anyhow::Result<()> {
    check_base(&Endpoint::parse(value, source)?, source, path)
}

/// Checks a collector URL as every example's `--endpoint` is checked
/// (`http://` or `https://`, a host, a port in range, no query or
/// fragment; `source` names the flag or variable in the message), for a
/// program that builds its exporter by hand (examples-provider). A URL with
/// `user:password@` is refused: such a program would print it, and the
/// token has its own flag.
pub fn check_collector_url(value: &str, source: &str) -> anyhow::Result<String> {
    let endpoint = Endpoint::parse(value, source)?;
    if endpoint.credentials().is_some() {
        bail!(
            "invalid collector endpoint `{endpoint}` (from {source}): credentials in the URL are \
             not taken here; send a token with --token (or TRACE_TOKEN), other headers with \
             OTEL_EXPORTER_OTLP_HEADERS"
        );
    }
    Ok(endpoint.as_str().to_owned())
}

/// Everything the exporter needs, resolved from flags, environment and
/// defaults, and checked: nothing in it is left for the exporter to guess.
#[derive(Debug, Clone)]
pub struct ExporterConfig {
    pub protocol: Protocol,
    /// Full URL for OTLP/HTTP (base + path); the collector's base URL for gRPC.
    pub endpoint: Endpoint,
    /// Where the log records go (the same form), with every other setting
    /// of the traces; `None` when `OTEL_LOGS_EXPORTER=none`.
    pub logs_endpoint: Option<Endpoint>,
    /// Headers (HTTP) or metadata (gRPC) sent with every export: those of
    /// `OTEL_EXPORTER_OTLP_(TRACES_)HEADERS`, then the token as
    /// `authentication`, then the URL's credentials as `authorization`;
    /// every value is marked sensitive.
    pub headers: http::HeaderMap,
    pub service_name: String,
    /// `OTEL_RESOURCE_ATTRIBUTES`, decoded.
    pub resource_attributes: Vec<(String, String)>,
    pub gzip: bool,
    pub export_timeout: Duration,
    pub tls: TlsFiles,
    pub sampler: Sampler,
    pub batch: BatchSettings,
    /// Settings that are valid but have no effect here, said once at start.
    pub notes: Vec<String>,
}

impl ExporterConfig {
    /// How long shutdown may wait for the last export before giving up.
    pub fn shutdown_timeout(&self) -> Duration {
        self.export_timeout + Duration::from_millis(500)
    }

    /// Whether a token is sent (from `--token`, `TRACE_TOKEN` or the headers).
    pub fn has_token(&self) -> bool {
        self.headers.contains_key(TOKEN_HEADER)
    }
}

/// The header (HTTP) or metadata key (gRPC) that carries the token, as in
/// GoFrame's `otlpgrpc.Init`.
pub const TOKEN_HEADER: &str = "authentication";

/// A PEM file named by a variable, read and checked at start.
#[derive(Clone)]
pub struct PemFile {
    /// The variable that named it.
    pub source: &'static str,
    pub path: std::path::PathBuf,
    pub pem: Vec<u8>,
}

impl fmt::Debug for PemFile {
    // The contents stay out of Debug: one of them is a private key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.source, self.path.display())
    }
}

/// TLS material beside the system's root certificates.
#[derive(Debug, Clone, Default)]
pub struct TlsFiles {
    /// Extra trusted CA certificates.
    pub ca: Option<PemFile>,
    /// Client certificate and key, for mutual TLS.
    pub identity: Option<(PemFile, PemFile)>,
}

/// The batch span processor's settings: each is taken from its `OTEL_BSP_*`
/// variable when set, else from the example's defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchSettings {
    /// How long spans wait in the queue before they are exported.
    pub schedule_delay: Duration,
    /// Spans held between exports; what does not fit is dropped.
    pub max_queue_size: usize,
    /// Spans per export request, at most.
    pub max_export_batch_size: usize,
}

impl BatchSettings {
    /// The SDK's queue (2048) and batch (512) sizes with a 500 ms delay
    /// instead of 5 s, so that a long-running process's spans reach the
    /// collector well within the second it waits for a trace to go quiet,
    /// and each trace is printed once, whole. A production service keeps the
    /// 5 s default.
    pub const TEACHING: BatchSettings = BatchSettings {
        schedule_delay: Duration::from_millis(500),
        max_queue_size: 2048,
        max_export_batch_size: 512,
    };

    /// The span processor's settings, every one given (the SDK's builder
    /// starts from the `OTEL_BSP_*` variables; all of them are replaced).
    pub fn for_spans(&self) -> opentelemetry_sdk::trace::BatchConfig {
        opentelemetry_sdk::trace::BatchConfigBuilder::default()
            .with_scheduled_delay(self.schedule_delay)
            .with_max_queue_size(self.max_queue_size)
            .with_max_export_batch_size(self.max_export_batch_size)
            .build()
    }

    /// The log processor's settings: the same as the spans'.
    pub fn for_logs(&self) -> opentelemetry_sdk::logs::BatchConfig {
        opentelemetry_sdk::logs::BatchConfigBuilder::default()
            .with_scheduled_delay(self.schedule_delay)
            .with_max_queue_size(self.max_queue_size)
            .with_max_export_batch_size(self.max_export_batch_size)
            .build()
    }
}

impl HttpExporterArgs {
    /// Resolves the OTLP/HTTP settings; `service_name` is the example's
    /// default, the batch settings [`BatchSettings::TEACHING`].
    pub fn resolve(&self, service_name: &str) -> anyhow::Result<ExporterConfig> {
        self.resolve_with_batch(service_name, BatchSettings::TEACHING)
    }

    /// [`Self::resolve`] with other batch defaults (still overridden by the
    /// `OTEL_BSP_*` variables).
    pub fn resolve_with_batch(
        &self,
        service_name: &str,
        batch: BatchSettings,
    ) -> anyhow::Result<ExporterConfig> {
        resolve(
            &self.common,
            Protocol::Http,
            Paths {
                traces: self.path.as_deref(),
                logs: self.logs_path.as_deref(),
            },
            Defaults {
                service_name,
                batch,
            },
            &|name| std::env::var_os(name),
        )
    }
}

impl GrpcExporterArgs {
    /// Resolves the OTLP/gRPC settings; `service_name` is the example's default.
    pub fn resolve(&self, service_name: &str) -> anyhow::Result<ExporterConfig> {
        let defaults = Defaults {
            service_name,
            batch: BatchSettings::TEACHING,
        };
        resolve(
            &self.common,
            Protocol::Grpc,
            Paths::default(),
            defaults,
            &|name| std::env::var_os(name),
        )
    }
}

/// What an example uses when neither a flag nor a variable says otherwise.
#[derive(Debug, Clone, Copy)]
struct Defaults<'a> {
    service_name: &'a str,
    batch: BatchSettings,
}

/// The URL paths given on the command line (OTLP/HTTP only).
#[derive(Debug, Clone, Copy, Default)]
struct Paths<'a> {
    traces: Option<&'a str>,
    logs: Option<&'a str>,
}

/// The resolution itself, with the environment passed in so tests need not
/// mutate the process environment.
fn resolve(
    args: &ExporterArgs,
    protocol: Protocol,
    paths: Paths<'_>,
    defaults: Defaults<'_>,
    lookup: &dyn Fn(&str) -> Option<OsString>,
) -> anyhow::Result<ExporterConfig> {
    let env = Env::new(lookup);
    let mut notes = Vec::new();
    check_protocol(&env, protocol)?;
    let endpoint = resolve_endpoint(args, &env, protocol, paths.traces)?;
    let logs_endpoint = resolve_logs_endpoint(args, &env, protocol, paths.logs, &endpoint)?;
    let headers = resolve_headers(args, &env, protocol, &endpoint)?;

    let gzip = match env.first(&[env::TRACES_COMPRESSION, env::COMPRESSION])? {
        None => true,
        Some((name, value)) => match value.trim().to_ascii_lowercase().as_str() {
            "gzip" => true,
            "none" => false,
            _ => bail!(
                "invalid {name} `{}`: these examples support `gzip` (the default) or `none`",
                env::shown(&value)
            ),
        },
    };

    let export_timeout = match &args.export_timeout {
        Some(ms) => Duration::from_millis(*ms),
        None => match env.first(&[env::TRACES_TIMEOUT, env::TIMEOUT])? {
            Some((name, value)) => env::millis(name, &value, TIMEOUT_RANGE)?,
            None => DEFAULT_EXPORT_TIMEOUT,
        },
    };

    let resource_attributes = match env.get(env::RESOURCE_ATTRIBUTES)? {
        Some(value) => env::key_value_list(env::RESOURCE_ATTRIBUTES, &value)?,
        None => Vec::new(),
    };
    let from_resource = resource_attributes
        .iter()
        .rev()
        .find(|(key, value)| key == "service.name" && !value.is_empty())
        .map(|(_, value)| value.clone());
    let service_name = args
        .service_name
        .clone()
        .filter(|name| !name.trim().is_empty())
        .or(from_resource)
        .unwrap_or_else(|| defaults.service_name.to_owned());

    let tls = resolve_tls(&env)?;
    if !endpoint.is_https() {
        let set = tls
            .ca
            .iter()
            .chain(tls.identity.iter().map(|(cert, _)| cert));
        for file in set {
            notes.push(format!(
                "{} is set but the endpoint {endpoint} is plain http://, so it is not used; \
                 write https:// to use TLS",
                file.source
            ));
        }
    }

    Ok(ExporterConfig {
        protocol,
        endpoint,
        logs_endpoint,
        headers,
        service_name,
        resource_attributes,
        gzip,
        export_timeout,
        tls,
        sampler: resolve_sampler(&env, &mut notes)?,
        batch: resolve_batch(&env, defaults.batch, &mut notes)?,
        notes,
    })
}

const DEFAULT_EXPORT_TIMEOUT: Duration = Duration::from_millis(1500);
const TIMEOUT_RANGE: std::ops::RangeInclusive<u64> = 1..=600_000;

/// Each example has one protocol; the variable may confirm it, not change it.
fn check_protocol(env: &Env<'_>, protocol: Protocol) -> anyhow::Result<()> {
    let Some((name, value)) = env.first(&[env::TRACES_PROTOCOL, env::PROTOCOL])? else {
        return Ok(());
    };
    let asked = value.trim().to_ascii_lowercase();
    let other = match protocol {
        Protocol::Http => "the gRPC one (examples-inprocess-grpc, or examples-otlp --bin grpc)",
        Protocol::Grpc => "the HTTP one (examples-inprocess-http, or examples-otlp --bin http)",
    };
    match (asked.as_str(), protocol) {
        ("http/protobuf", Protocol::Http) | ("grpc", Protocol::Grpc) => Ok(()),
        ("http/protobuf" | "grpc", _) => bail!(
            "{name} is `{asked}` but this example exports over {protocol}: unset it, or run {other}"
        ),
        ("http/json", _) => bail!(
            "invalid {name} `http/json`: these examples send protobuf; use `http/protobuf` or `grpc`"
        ),
        _ => bail!(
            "invalid {name} `{}`: expected `grpc` or `http/protobuf`",
            env::shown(&value)
        ),
    }
}

fn resolve_endpoint(
    args: &ExporterArgs,
    env: &Env<'_>,
    protocol: Protocol,
    path: Option<&str>,
) -> anyhow::Result<Endpoint> {
    resolve_signal_endpoint(args, env, protocol, Signal::Traces, path, || {
        let default = match protocol {
            Protocol::Http => DEFAULT_HTTP_ENDPOINT,
            Protocol::Grpc => DEFAULT_GRPC_ENDPOINT,
        };
        Endpoint::parse(default, "the default")
    })
}

/// The signals these examples export, each with its own URL settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Traces,
    Logs,
}

impl Signal {
    /// The OTLP/HTTP path appended to a base URL.
    pub fn default_path(self) -> &'static str {
        match self {
            Signal::Traces => DEFAULT_TRACES_PATH,
            Signal::Logs => DEFAULT_LOGS_PATH,
        }
    }

    /// The flag that replaces that path (OTLP/HTTP).
    pub fn path_flag(self) -> &'static str {
        match self {
            Signal::Traces => "--path",
            Signal::Logs => "--logs-path",
        }
    }

    /// The variable that gives this signal's whole URL, used as is.
    pub fn variable(self) -> &'static str {
        match self {
            Signal::Traces => env::TRACES_ENDPOINT,
            Signal::Logs => env::LOGS_ENDPOINT,
        }
    }
}

/// One signal's endpoint: `--endpoint`, else the signal's variable (used
/// as is; an explicit path flag still wins over its path), else
/// `OTEL_EXPORTER_OTLP_ENDPOINT`, else `fallback`; for OTLP/HTTP with the
/// signal's path (`path`, the value of its path flag, or its default)
/// appended to all but its own variable.
fn resolve_signal_endpoint(
    args: &ExporterArgs,
    env: &Env<'_>,
    protocol: Protocol,
    signal: Signal,
    path: Option<&str>,
    fallback: impl FnOnce() -> anyhow::Result<Endpoint>,
) -> anyhow::Result<Endpoint> {
    if let Some(path) = path {
        check_path(signal.path_flag(), path, signal.default_path())?;
    }
    let (endpoint, source) = if let Some(flag) = &args.endpoint {
        (Endpoint::parse(flag, "--endpoint")?, "--endpoint")
    } else if let Some(value) = env.get(signal.variable())? {
        (
            Endpoint::parse(&value, signal.variable())?,
            signal.variable(),
        )
    } else if let Some(value) = env.get(env::ENDPOINT)? {
        (Endpoint::parse(&value, env::ENDPOINT)?, env::ENDPOINT)
    } else {
        (fallback()?, "the default")
    };
    match protocol {
        // A path flag replaces the variable's path: its origin with the flag's path.
        Protocol::Http if source == signal.variable() => Ok(match path {
            Some(path) => endpoint.with_path("/").join(path),
            None => endpoint,
        }),
        Protocol::Http => {
            let path = path.unwrap_or(signal.default_path());
            check_base(&endpoint, source, path)?;
            Ok(endpoint.join(path))
        }
        Protocol::Grpc if endpoint.path() != "/" => bail!(
            "invalid collector endpoint `{endpoint}` (from {source}): a gRPC endpoint has no path \
             (the method path is fixed); write only scheme://host:port: `{}`",
            endpoint.with_path("/")
        ),
        Protocol::Grpc => Ok(endpoint),
    }
}

/// A base URL (`--endpoint`, `OTEL_EXPORTER_OTLP_ENDPOINT`) that already
/// ends in a signal's path would get `path` appended after it
/// (`/v1/traces/v1/traces`), which a collector answers 404: refused, with
/// the two right ways to write it.
fn check_base(base: &Endpoint, source: &str, path: &str) -> anyhow::Result<()> {
    for signal in [Signal::Traces, Signal::Logs] {
        let Some(fixed) = base.without_suffix(signal.default_path()) else {
            continue;
        };
        let written = if source == "--endpoint" {
            format!("--endpoint {fixed}")
        } else {
            format!("{source}={fixed}")
        };
        bail!(
            "invalid collector endpoint `{base}` (from {source}): it ends in {}, but it is the \
             base URL that the exporter appends each signal's path to (this would post to {}{path}); \
             write `{written}`, or set {}={} instead, which is used as is",
            signal.default_path(),
            base.path().trim_end_matches('/'),
            signal.variable(),
            fixed.join(signal.default_path()),
        );
    }
    Ok(())
}

/// A URL path given by a flag: absolute, without query or fragment.
fn check_path(flag: &str, path: &str, example: &str) -> anyhow::Result<()> {
    if !path.starts_with('/') {
        bail!(
            "invalid {flag} `{}`: it must start with `/`, for example `{example}`",
            env::shown(path)
        );
    }
    if path.contains(['?', '#']) {
        bail!(
            "invalid {flag} `{}`: a query (`?…`) or fragment (`#…`) is not allowed",
            env::shown(path)
        );
    }
    Ok(())
}

/// Where the log records go: `OTEL_EXPORTER_OTLP_LOGS_ENDPOINT` as is, else
/// the collector of the traces (`--endpoint`, `OTEL_EXPORTER_OTLP_ENDPOINT`,
/// or the scheme, host and port of the traces URL) with `--logs-path` or
/// `/v1/logs` for OTLP/HTTP. Every other setting is the traces' own, so the
/// per-signal `OTEL_EXPORTER_OTLP_LOGS_*` variables are refused rather than
/// half-applied.
fn resolve_logs_endpoint(
    args: &ExporterArgs,
    env: &Env<'_>,
    protocol: Protocol,
    logs_path: Option<&str>,
    traces: &Endpoint,
) -> anyhow::Result<Option<Endpoint>> {
    for (name, general) in env::LOGS_UNSUPPORTED {
        if env.get(name)?.is_some() {
            bail!(
                "{name} is not read by these examples: log records are sent with the traces' \
                 settings; set {general} instead (or OTEL_LOGS_EXPORTER=none to send no logs)"
            );
        }
    }
    match env.get(env::LOGS_EXPORTER)? {
        None => {}
        Some(value) => match value.trim().to_ascii_lowercase().as_str() {
            "otlp" => {}
            "none" => return Ok(None),
            _ => bail!(
                "invalid {} `{}`: expected `otlp` (the default: log records go to the collector \
                 of the traces) or `none`",
                env::LOGS_EXPORTER,
                env::shown(&value)
            ),
        },
    }
    // Without a setting of its own: the traces' collector (the default, or
    // the origin of OTEL_EXPORTER_OTLP_TRACES_ENDPOINT), whatever the path
    // of their URL.
    resolve_signal_endpoint(args, env, protocol, Signal::Logs, logs_path, || {
        Ok(traces.with_path("/"))
    })
    .map(Some)
}

fn resolve_headers(
    args: &ExporterArgs,
    env: &Env<'_>,
    protocol: Protocol,
    endpoint: &Endpoint,
) -> anyhow::Result<http::HeaderMap> {
    // Marked sensitive: `Debug` of the map shows `Sensitive`, not the value.
    let sensitive = |value: &str| {
        http::HeaderValue::from_str(value).ok().map(|mut value| {
            value.set_sensitive(true);
            value
        })
    };
    let mut headers = http::HeaderMap::new();
    if let Some((source, value)) = env.first(&[env::TRACES_HEADERS, env::HEADERS])? {
        for (key, value) in env::key_value_list(source, &value)? {
            let name = http::HeaderName::from_bytes(key.as_bytes()).map_err(|_| {
                anyhow::anyhow!(
                    "invalid {source}: `{}` is not a valid header name (letters, digits and !#$%&'*+-.^_`|~ only)",
                    env::shown(&key)
                )
            })?;
            if protocol == Protocol::Grpc && name.as_str().ends_with("-bin") {
                bail!(
                    "invalid {source}: `{name}` is binary gRPC metadata (`-bin`), which these examples do not send"
                );
            }
            let Some(value) = sensitive(&value) else {
                bail!(
                    "invalid {source}: the value of `{name}` has characters not allowed in a header \
                     (percent-encode them)"
                );
            };
            // A later entry of the same name wins.
            headers.insert(name, value);
        }
    }
    // The dedicated token setting beats a header of the same name.
    if let Some(token) = args.token.as_ref().filter(|t| !t.expose().is_empty()) {
        let Some(value) = sensitive(token.expose()) else {
            bail!(
                "invalid --token / TRACE_TOKEN: it has characters not allowed in a header or gRPC metadata"
            );
        };
        headers.insert(TOKEN_HEADER, value);
    }
    if let Some(credentials) = endpoint.credentials() {
        use base64::Engine as _;
        let encoded = base64::engine::general_purpose::STANDARD.encode(credentials.expose());
        let value = sensitive(&format!("Basic {encoded}")).context("base64 is header-safe")?;
        headers.insert(http::header::AUTHORIZATION, value);
    }
    Ok(headers)
}

fn resolve_tls(env: &Env<'_>) -> anyhow::Result<TlsFiles> {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};

    let pem = |names: [&'static str; 2]| -> anyhow::Result<Option<PemFile>> {
        let file = env.first_file(&names)?;
        Ok(file.map(|(source, path, pem)| PemFile { source, path, pem }))
    };
    let certificates = |file: &PemFile| -> anyhow::Result<Vec<CertificateDer<'static>>> {
        let certs = CertificateDer::pem_slice_iter(&file.pem)
            .collect::<Result<Vec<_>, _>>()
            .ok()
            .filter(|certs| !certs.is_empty());
        certs.with_context(|| {
            format!(
                "invalid {}: `{}` holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
                file.source,
                file.path.display()
            )
        })
    };

    let ca = pem([env::TRACES_CERTIFICATE, env::CERTIFICATE])?;
    if let Some(ca) = &ca {
        certificates(ca)?;
    }
    let cert = pem([env::TRACES_CLIENT_CERTIFICATE, env::CLIENT_CERTIFICATE])?;
    let key = pem([env::TRACES_CLIENT_KEY, env::CLIENT_KEY])?;
    let identity = match (cert, key) {
        (None, None) => None,
        (Some(cert), None) => bail!(
            "{} is set but {} is not: mutual TLS needs the certificate and its key",
            cert.source,
            env::CLIENT_KEY
        ),
        (None, Some(key)) => bail!(
            "{} is set but {} is not: mutual TLS needs the certificate and its key",
            key.source,
            env::CLIENT_CERTIFICATE
        ),
        (Some(cert), Some(key)) => {
            let chain = certificates(&cert)?;
            let der = PrivateKeyDer::from_pem_slice(&key.pem).map_err(|_| {
                anyhow::anyhow!(
                    "invalid {}: `{}` holds no PEM private key (PKCS#8, PKCS#1 or SEC1)",
                    key.source,
                    key.path.display()
                )
            })?;
            let signing = rustls::crypto::ring::sign::any_supported_type(&der).map_err(|e| {
                anyhow::anyhow!("invalid {}: `{}`: {e}", key.source, key.path.display())
            })?;
            let pair = rustls::sign::CertifiedKey::new(chain, signing);
            if pair.keys_match().is_err() {
                bail!(
                    "invalid {}: the key in `{}` does not belong to the certificate in `{}` ({})",
                    key.source,
                    key.path.display(),
                    cert.path.display(),
                    cert.source
                );
            }
            Some((cert, key))
        }
    };
    Ok(TlsFiles { ca, identity })
}

fn resolve_sampler(env: &Env<'_>, notes: &mut Vec<String>) -> anyhow::Result<Sampler> {
    let arg = env.get(env::SAMPLER_ARG)?;
    let ratio = || -> anyhow::Result<f64> {
        let Some(arg) = &arg else { return Ok(1.0) };
        match arg.trim().parse::<f64>() {
            Ok(ratio) if (0.0..=1.0).contains(&ratio) => Ok(ratio),
            _ => bail!(
                "invalid {} `{}`: expected a number from 0 to 1, for example 0.25",
                env::SAMPLER_ARG,
                env::shown(arg)
            ),
        }
    };
    // A bad argument is refused even where the sampler would not use it.
    ratio()?;
    let name = env
        .get(env::SAMPLER)?
        .map(|n| n.trim().to_ascii_lowercase());
    let sampler = match name.as_deref().unwrap_or("parentbased_always_on") {
        "always_on" => Sampler::AlwaysOn,
        "always_off" => Sampler::AlwaysOff,
        "traceidratio" => return Ok(Sampler::TraceIdRatioBased(ratio()?)),
        "parentbased_always_on" => Sampler::ParentBased(Box::new(Sampler::AlwaysOn)),
        "parentbased_always_off" => Sampler::ParentBased(Box::new(Sampler::AlwaysOff)),
        "parentbased_traceidratio" => {
            return Ok(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
                ratio()?,
            ))));
        }
        known @ ("jaeger_remote" | "parentbased_jaeger_remote" | "xray") => bail!(
            "{} `{known}` is a sampler these examples do not include; use one of: {}",
            env::SAMPLER,
            SAMPLERS
        ),
        _ => bail!(
            "invalid {} `{}`: expected one of: {}",
            env::SAMPLER,
            env::shown(name.as_deref().unwrap_or_default()),
            SAMPLERS
        ),
    };
    if arg.is_some() {
        notes.push(format!(
            "{} is set but the `{}` sampler takes no argument, so it is not used",
            env::SAMPLER_ARG,
            name.as_deref().unwrap_or("parentbased_always_on")
        ));
    }
    Ok(sampler)
}

const SAMPLERS: &str = "always_on, always_off, traceidratio, parentbased_always_on, \
                        parentbased_always_off, parentbased_traceidratio";

fn resolve_batch(
    env: &Env<'_>,
    defaults: BatchSettings,
    notes: &mut Vec<String>,
) -> anyhow::Result<BatchSettings> {
    let settings = BatchSettings {
        schedule_delay: env
            .millis(env::BSP_SCHEDULE_DELAY, 0..=600_000)?
            .unwrap_or(defaults.schedule_delay),
        max_queue_size: env
            .positive(env::BSP_MAX_QUEUE_SIZE)?
            .unwrap_or(defaults.max_queue_size),
        max_export_batch_size: env
            .positive(env::BSP_MAX_EXPORT_BATCH_SIZE)?
            .unwrap_or(defaults.max_export_batch_size),
    };
    if settings.max_export_batch_size > settings.max_queue_size {
        bail!(
            "invalid {} `{}`: it is larger than {} ({}); a batch cannot hold more than the queue",
            env::BSP_MAX_EXPORT_BATCH_SIZE,
            settings.max_export_batch_size,
            env::BSP_MAX_QUEUE_SIZE,
            settings.max_queue_size
        );
    }
    if env.millis(env::BSP_EXPORT_TIMEOUT, 0..=600_000)?.is_some() {
        notes.push(format!(
            "{} has no effect on the batch processor these examples use; \
             the export timeout is {} (or --export-timeout)",
            env::BSP_EXPORT_TIMEOUT,
            env::TIMEOUT
        ));
    }
    if env.positive(env::BSP_MAX_CONCURRENT_EXPORTS)?.is_some() {
        notes.push(format!(
            "{} has no effect on the batch processor these examples use (it exports one batch at a time)",
            env::BSP_MAX_CONCURRENT_EXPORTS
        ));
    }
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use super::env::*;
    use super::*;
    use std::collections::HashMap;

    fn args(endpoint: Option<&str>) -> ExporterArgs {
        ExporterArgs {
            endpoint: endpoint.map(str::to_owned),
            token: None,
            service_name: None,
            export_timeout: None,
        }
    }

    fn resolve_with(
        args: &ExporterArgs,
        protocol: Protocol,
        path: Option<&str>,
        env: &[(&str, &str)],
    ) -> anyhow::Result<ExporterConfig> {
        let paths = Paths {
            traces: path,
            logs: None,
        };
        resolve_paths(args, protocol, paths, env)
    }

    fn resolve_paths(
        args: &ExporterArgs,
        protocol: Protocol,
        paths: Paths<'_>,
        env: &[(&str, &str)],
    ) -> anyhow::Result<ExporterConfig> {
        let env: HashMap<String, OsString> = env
            .iter()
            .map(|(k, v)| (k.to_string(), OsString::from(v)))
            .collect();
        let defaults = Defaults {
            service_name: "svc",
            batch: BatchSettings::TEACHING,
        };
        resolve(args, protocol, paths, defaults, &|name| {
            env.get(name).cloned()
        })
    }

    fn http(env: &[(&str, &str)]) -> anyhow::Result<ExporterConfig> {
        resolve_with(&args(None), Protocol::Http, None, env)
    }

    fn error(result: anyhow::Result<ExporterConfig>) -> String {
        format!("{:#}", result.unwrap_err())
    }

    fn header<'a>(config: &'a ExporterConfig, name: &str) -> Option<&'a str> {
        config.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn logs_endpoint(
        protocol: Protocol,
        endpoint: Option<&str>,
        logs_path: Option<&str>,
        env: &[(&str, &str)],
    ) -> anyhow::Result<Option<String>> {
        let paths = Paths {
            traces: None,
            logs: logs_path,
        };
        let config = resolve_paths(&args(endpoint), protocol, paths, env)?;
        Ok(config.logs_endpoint.map(|e| e.to_string()))
    }

    #[test]
    fn log_records_go_to_the_traces_collector_unless_told_otherwise() {
        let http = |endpoint, path, env: &[(&str, &str)]| {
            logs_endpoint(Protocol::Http, endpoint, path, env).unwrap()
        };
        assert_eq!(
            http(None, None, &[]).as_deref(),
            Some("http://localhost:4318/v1/logs")
        );
        assert_eq!(
            http(Some("https://h:1/prefix"), None, &[]).as_deref(),
            Some("https://h:1/prefix/v1/logs")
        );
        assert_eq!(
            http(Some("http://h:1"), Some("/adapt/v1/logs"), &[]).as_deref(),
            Some("http://h:1/adapt/v1/logs")
        );
        // The traces' own URL: its collector, not its path.
        assert_eq!(
            http(
                None,
                None,
                &[(env::TRACES_ENDPOINT, "http://t:2/custom/traces")]
            )
            .as_deref(),
            Some("http://t:2/v1/logs")
        );
        assert_eq!(
            http(None, None, &[(env::ENDPOINT, "http://e:3")]).as_deref(),
            Some("http://e:3/v1/logs")
        );
        // The signal's variable is used as is, below --endpoint, above the rest.
        let logs_url = [
            (env::LOGS_ENDPOINT, "http://l:4/vendor/logs"),
            (env::ENDPOINT, "http://e:3"),
        ];
        assert_eq!(
            http(None, None, &logs_url).as_deref(),
            Some("http://l:4/vendor/logs")
        );
        assert_eq!(
            http(Some("http://f:5"), None, &logs_url).as_deref(),
            Some("http://f:5/v1/logs")
        );
        assert_eq!(
            logs_endpoint(Protocol::Grpc, Some("http://g:6"), None, &[])
                .unwrap()
                .as_deref(),
            Some("http://g:6")
        );
        // none: no log exporter at all.
        for none in ["none", " NONE "] {
            assert_eq!(http(None, None, &[(env::LOGS_EXPORTER, none)]), None);
        }
        assert_eq!(
            http(None, None, &[(env::LOGS_EXPORTER, "")]).as_deref(),
            Some("http://localhost:4318/v1/logs")
        );
    }

    #[test]
    fn logs_settings_that_would_be_half_applied_are_refused() {
        let fails = |protocol, path, env: &[(&str, &str)]| {
            format!(
                "{:#}",
                logs_endpoint(protocol, None, path, env).unwrap_err()
            )
        };
        assert_eq!(
            fails(Protocol::Http, None, &[(env::LOGS_EXPORTER, "console")]),
            "invalid OTEL_LOGS_EXPORTER `console`: expected `otlp` (the default: log records go \
             to the collector of the traces) or `none`"
        );
        assert!(
            fails(
                Protocol::Http,
                None,
                &[("OTEL_EXPORTER_OTLP_LOGS_HEADERS", "a=b")]
            )
            .starts_with(
                "OTEL_EXPORTER_OTLP_LOGS_HEADERS is not read by these examples: log \
                              records are sent with the traces' settings; set \
                              OTEL_EXPORTER_OTLP_HEADERS instead"
            )
        );
        assert!(
            fails(Protocol::Http, Some("v1/logs"), &[])
                .starts_with("invalid --logs-path `v1/logs`")
        );
        assert!(
            fails(
                Protocol::Grpc,
                None,
                &[(env::LOGS_ENDPOINT, "http://g:1/x")]
            )
            .contains("a gRPC endpoint has no path")
        );
    }

    #[test]
    fn http_defaults_to_localhost_4318_v1_traces() {
        let cfg = http(&[]).unwrap();
        assert_eq!(cfg.endpoint.as_str(), "http://localhost:4318/v1/traces");
        assert!(cfg.gzip);
        assert_eq!(cfg.service_name, "svc");
        assert_eq!(cfg.export_timeout, Duration::from_millis(1500));
        assert_eq!(cfg.batch.max_queue_size, 2048);
        assert!(cfg.notes.is_empty());
    }

    #[test]
    fn grpc_defaults_to_localhost_4317() {
        let cfg = resolve_with(&args(None), Protocol::Grpc, None, &[]).unwrap();
        assert_eq!(cfg.endpoint.as_str(), "http://localhost:4317");
    }

    #[test]
    fn flag_beats_environment() {
        let env = [
            (TRACES_ENDPOINT, "http://env-traces:1/x"),
            (ENDPOINT, "http://env-all:2"),
        ];
        let cfg = resolve_with(&args(Some("https://flag:3")), Protocol::Http, None, &env).unwrap();
        assert_eq!(cfg.endpoint.as_str(), "https://flag:3/v1/traces");
        let cfg = resolve_with(&args(Some("https://flag:3/")), Protocol::Grpc, None, &env).unwrap();
        assert_eq!(cfg.endpoint.as_str(), "https://flag:3");
    }

    #[test]
    fn signal_variable_is_used_as_is_and_general_one_gets_the_path() {
        let cfg = http(&[
            (TRACES_ENDPOINT, "http://collector:9/custom/traces"),
            (ENDPOINT, "http://ignored:1"),
        ])
        .unwrap();
        assert_eq!(cfg.endpoint.as_str(), "http://collector:9/custom/traces");
        let cfg = http(&[(ENDPOINT, "http://collector:9/")]).unwrap();
        assert_eq!(cfg.endpoint.as_str(), "http://collector:9/v1/traces");
    }

    #[test]
    fn path_flag_applies_to_every_source() {
        let path = Some("/adapt_x/api/otlp/traces");
        let cfg = resolve_with(&args(Some("http://h:1")), Protocol::Http, path, &[]).unwrap();
        assert_eq!(cfg.endpoint.as_str(), "http://h:1/adapt_x/api/otlp/traces");
        let env = [(TRACES_ENDPOINT, "http://h:2/v1/traces")];
        let cfg = resolve_with(&args(None), Protocol::Http, path, &env).unwrap();
        assert_eq!(cfg.endpoint.as_str(), "http://h:2/adapt_x/api/otlp/traces");
        let cfg = resolve_with(&args(None), Protocol::Http, path, &[]).unwrap();
        assert_eq!(
            cfg.endpoint.as_str(),
            "http://localhost:4318/adapt_x/api/otlp/traces"
        );
    }

    #[test]
    fn schemeless_endpoint_is_rejected_with_the_fix() {
        let err = error(resolve_with(
            &args(Some("localhost:4318")),
            Protocol::Http,
            None,
            &[],
        ));
        assert!(err.contains("has no scheme"), "{err}");
        assert!(err.contains("`http://localhost:4318`"), "{err}");
        assert!(err.contains("`https://localhost:4318`"), "{err}");
        let env = [(ENDPOINT, "collector:4317")];
        let err = error(resolve_with(&args(None), Protocol::Grpc, None, &env));
        assert!(err.contains(ENDPOINT), "{err}");
        let err = error(resolve_with(
            &args(Some("ftp://x")),
            Protocol::Grpc,
            None,
            &[],
        ));
        assert!(err.contains("only `http://` and `https://`"), "{err}");
        assert!(resolve_with(&args(Some("http://")), Protocol::Grpc, None, &[]).is_err());
    }

    #[test]
    fn a_base_ending_in_a_signal_path_is_refused_with_both_fixes() {
        let err = error(resolve_with(
            &args(Some("http://h:4318/v1/traces")),
            Protocol::Http,
            None,
            &[],
        ));
        assert_eq!(
            err,
            "invalid collector endpoint `http://h:4318/v1/traces` (from --endpoint): it ends in \
             /v1/traces, but it is the base URL that the exporter appends each signal's path to \
             (this would post to /v1/traces/v1/traces); write `--endpoint http://h:4318`, or set \
             OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http://h:4318/v1/traces instead, which is used as is"
        );
        // A trailing slash, a prefix, the logs path, the general variable.
        let err = error(http(&[(ENDPOINT, "https://h/otlp/v1/logs/")]));
        assert!(
            err.contains("(from OTEL_EXPORTER_OTLP_ENDPOINT): it ends in /v1/logs")
                && err.contains("post to /otlp/v1/logs/v1/traces")
                && err.contains("write `OTEL_EXPORTER_OTLP_ENDPOINT=https://h/otlp`")
                && err.contains("set OTEL_EXPORTER_OTLP_LOGS_ENDPOINT=https://h/otlp/v1/logs"),
            "{err}"
        );
        // The signal's own variable is the whole URL, as the specification says.
        let cfg = http(&[(TRACES_ENDPOINT, "http://h:4318/v1/traces")]).unwrap();
        assert_eq!(cfg.endpoint.as_str(), "http://h:4318/v1/traces");
        // Other paths are a base's prefix.
        let cfg = resolve_with(
            &args(Some("http://h/v1/tracesx")),
            Protocol::Http,
            None,
            &[],
        );
        assert_eq!(
            cfg.unwrap().endpoint.as_str(),
            "http://h/v1/tracesx/v1/traces"
        );
    }

    #[test]
    fn a_url_remembers_the_path_appended_to_its_base() {
        let cfg = resolve_with(&args(Some("http://h:1/p")), Protocol::Http, None, &[]).unwrap();
        assert_eq!(cfg.endpoint.joined(), Some("/v1/traces"));
        assert_eq!(cfg.logs_endpoint.unwrap().joined(), Some("/v1/logs"));
        let cfg = http(&[(TRACES_ENDPOINT, "http://h:2/custom")]).unwrap();
        assert_eq!(cfg.endpoint.joined(), None);
        // A path flag replaces the variable's path: base and path again.
        let env = [(TRACES_ENDPOINT, "http://h:2/custom")];
        let cfg = resolve_with(&args(None), Protocol::Http, Some("/x/traces"), &env).unwrap();
        assert_eq!(cfg.endpoint.as_str(), "http://h:2/x/traces");
        assert_eq!(cfg.endpoint.joined(), Some("/x/traces"));
    }

    #[test]
    fn grpc_endpoint_with_a_path_is_refused() {
        let err = error(resolve_with(
            &args(Some("http://h:4317/x")),
            Protocol::Grpc,
            None,
            &[],
        ));
        assert!(err.contains("a gRPC endpoint has no path"), "{err}");
    }

    #[test]
    fn path_must_be_absolute_and_plain() {
        let err = error(resolve_with(
            &args(None),
            Protocol::Http,
            Some("v1/traces"),
            &[],
        ));
        assert!(err.contains("must start with `/`"), "{err}");
        let err = error(resolve_with(
            &args(None),
            Protocol::Http,
            Some("/v1?x=1"),
            &[],
        ));
        assert!(err.contains("query"), "{err}");
    }

    #[test]
    fn compression_signal_beats_general_and_bad_values_are_named() {
        assert!(!http(&[(COMPRESSION, "none")]).unwrap().gzip);
        assert!(
            http(&[(TRACES_COMPRESSION, "gzip"), (COMPRESSION, "none")])
                .unwrap()
                .gzip
        );
        let err = error(http(&[(TRACES_COMPRESSION, "br")]));
        assert_eq!(
            err,
            "invalid OTEL_EXPORTER_OTLP_TRACES_COMPRESSION `br`: these examples support `gzip` (the default) or `none`"
        );
    }

    #[test]
    fn timeout_flag_beats_signal_variable_beats_general() {
        let cfg = http(&[(TRACES_TIMEOUT, "700"), (TIMEOUT, "900")]).unwrap();
        assert_eq!(cfg.export_timeout, Duration::from_millis(700));
        let cfg = http(&[(TIMEOUT, "900")]).unwrap();
        assert_eq!(cfg.export_timeout, Duration::from_millis(900));
        let mut a = args(None);
        a.export_timeout = Some(300);
        let cfg = resolve_with(&a, Protocol::Http, None, &[(TRACES_TIMEOUT, "700")]).unwrap();
        assert_eq!(cfg.export_timeout, Duration::from_millis(300));
        // Empty is unset, not an error that names the flag.
        assert_eq!(
            http(&[(TIMEOUT, "")]).unwrap().export_timeout,
            Duration::from_millis(1500)
        );
        let err = error(http(&[(TRACES_TIMEOUT, "abc")]));
        assert!(
            err.starts_with("invalid OTEL_EXPORTER_OTLP_TRACES_TIMEOUT `abc`"),
            "{err}"
        );
    }

    #[test]
    fn token_replaces_the_authentication_header() {
        let env = [(HEADERS, "authentication=from-env,x-team=a%20b")];
        let cfg = http(&env).unwrap();
        assert_eq!(header(&cfg, "authentication"), Some("from-env"));
        assert_eq!(header(&cfg, "x-team"), Some("a b"));
        assert!(cfg.has_token());
        let mut a = args(None);
        a.token = Some(Secret::from("from-flag".to_owned()));
        let cfg = resolve_with(&a, Protocol::Grpc, None, &env).unwrap();
        assert_eq!(header(&cfg, "authentication"), Some("from-flag"));
        assert_eq!(cfg.headers.get_all("authentication").iter().count(), 1);
        // The signal-specific list replaces the general one.
        let cfg = http(&[(TRACES_HEADERS, "a=1"), (HEADERS, "b=2")]).unwrap();
        assert_eq!((header(&cfg, "a"), header(&cfg, "b")), (Some("1"), None));
    }

    #[test]
    fn bad_headers_are_refused_without_showing_values() {
        let err = error(http(&[(HEADERS, "k=v,broken")]));
        assert!(err.contains("entry 2 of 2 has no `=`"), "{err}");
        let err = error(http(&[(HEADERS, "bad key=secret-1")]));
        assert!(
            err.contains("`bad key` is not a valid header name"),
            "{err}"
        );
        let err = error(http(&[(HEADERS, "k=secret%0A1")]));
        assert!(
            err.contains("value of `k` has characters not allowed"),
            "{err}"
        );
        assert!(!err.contains("secret"), "{err}");
        let err = error(resolve_with(
            &args(None),
            Protocol::Grpc,
            None,
            &[(HEADERS, "x-bin=AA")],
        ));
        assert!(err.contains("binary gRPC metadata"), "{err}");
    }

    #[test]
    fn url_credentials_become_basic_auth_and_are_never_shown() {
        let cfg = resolve_with(
            &args(Some("https://me:hunter2@h:1")),
            Protocol::Http,
            None,
            &[],
        )
        .unwrap();
        assert_eq!(
            header(&cfg, "authorization"),
            Some("Basic bWU6aHVudGVyMg==")
        );
        assert_eq!(cfg.endpoint.as_str(), "https://h:1/v1/traces");
        let shown = format!("{cfg:?} {}", cfg.endpoint);
        assert!(
            !shown.contains("hunter2") && !shown.contains("bWU6"),
            "{shown}"
        );
    }

    #[test]
    fn endpoint_hygiene_names_the_source() {
        let err = error(http(&[(ENDPOINT, "http://127.0.0.1:99999")]));
        assert!(
            err.contains(
                "(from OTEL_EXPORTER_OTLP_ENDPOINT): the port must be a number from 1 to 65535"
            ),
            "{err}"
        );
        let err = error(resolve_with(
            &args(Some("http://h:1/?q=1")),
            Protocol::Http,
            None,
            &[],
        ));
        assert!(err.contains("query"), "{err}");
    }

    #[test]
    fn samplers_are_checked() {
        assert!(matches!(
            http(&[(SAMPLER, "always_off")]).unwrap().sampler,
            Sampler::AlwaysOff
        ));
        let cfg = http(&[(SAMPLER, "traceidratio"), (SAMPLER_ARG, "0.25")]).unwrap();
        assert!(matches!(cfg.sampler, Sampler::TraceIdRatioBased(r) if r == 0.25));
        let cfg = http(&[(SAMPLER, "parentbased_traceidratio")]).unwrap();
        assert!(matches!(cfg.sampler, Sampler::ParentBased(_)));
        let err = error(http(&[(SAMPLER, "garbage")]));
        assert!(
            err.starts_with("invalid OTEL_TRACES_SAMPLER `garbage`: expected one of: always_on"),
            "{err}"
        );
        for bad in ["abc", "-1", "NaN", "1.5", "inf"] {
            let err = error(http(&[(SAMPLER, "traceidratio"), (SAMPLER_ARG, bad)]));
            assert_eq!(
                err,
                format!(
                    "invalid OTEL_TRACES_SAMPLER_ARG `{bad}`: expected a number from 0 to 1, for example 0.25"
                )
            );
        }
        let err = error(http(&[(SAMPLER, "xray")]));
        assert!(err.contains("do not include"), "{err}");
        let cfg = http(&[(SAMPLER, "always_on"), (SAMPLER_ARG, "0.5")]).unwrap();
        assert!(
            cfg.notes[0].contains("takes no argument"),
            "{:?}",
            cfg.notes
        );
    }

    #[test]
    fn batch_settings_are_checked() {
        let cfg = http(&[
            (BSP_MAX_QUEUE_SIZE, "100"),
            (BSP_MAX_EXPORT_BATCH_SIZE, "10"),
            (BSP_SCHEDULE_DELAY, "20"),
        ])
        .unwrap();
        assert_eq!(
            cfg.batch,
            BatchSettings {
                schedule_delay: Duration::from_millis(20),
                max_queue_size: 100,
                max_export_batch_size: 10
            }
        );
        let err = error(http(&[(BSP_MAX_QUEUE_SIZE, "abc")]));
        assert_eq!(
            err,
            "invalid OTEL_BSP_MAX_QUEUE_SIZE `abc`: expected a positive integer, for example 2048"
        );
        assert!(error(http(&[(BSP_MAX_QUEUE_SIZE, "0")])).contains("positive integer"));
        let err = error(http(&[(BSP_MAX_EXPORT_BATCH_SIZE, "4096")]));
        assert!(
            err.contains("larger than OTEL_BSP_MAX_QUEUE_SIZE (2048)"),
            "{err}"
        );
        let cfg = http(&[(BSP_EXPORT_TIMEOUT, "100")]).unwrap();
        assert!(cfg.notes[0].contains("has no effect"), "{:?}", cfg.notes);
    }

    #[test]
    fn an_examples_batch_defaults_give_way_to_the_variables() {
        let server = BatchSettings {
            max_queue_size: 65_536,
            max_export_batch_size: 2_048,
            ..BatchSettings::TEACHING
        };
        let resolve_server = |env: &[(&str, &str)]| {
            let env: HashMap<String, OsString> = env
                .iter()
                .map(|(k, v)| (k.to_string(), OsString::from(v)))
                .collect();
            let defaults = Defaults {
                service_name: "svc",
                batch: server,
            };
            resolve(
                &args(None),
                Protocol::Http,
                Paths::default(),
                defaults,
                &|name| env.get(name).cloned(),
            )
            .unwrap()
            .batch
        };
        assert_eq!(resolve_server(&[]), server);
        assert_eq!(
            resolve_server(&[(BSP_MAX_QUEUE_SIZE, "4096")]),
            BatchSettings {
                max_queue_size: 4096,
                ..server
            }
        );
        assert_eq!(http(&[]).unwrap().batch, BatchSettings::TEACHING);
    }

    #[test]
    fn protocol_variable_must_match_the_example() {
        assert!(http(&[(PROTOCOL, "http/protobuf")]).is_ok());
        let err = error(http(&[(TRACES_PROTOCOL, "grpc")]));
        assert!(
            err.contains("exports over OTLP/HTTP: unset it, or run the gRPC one"),
            "{err}"
        );
        assert!(
            error(http(&[(PROTOCOL, "thrift")])).contains("expected `grpc` or `http/protobuf`")
        );
    }

    #[test]
    fn resource_attributes_are_decoded_and_service_name_is_ranked() {
        let env = [(
            RESOURCE_ATTRIBUTES,
            "deployment.environment=dev%20box,service.name=from-attrs",
        )];
        let cfg = http(&env).unwrap();
        assert_eq!(
            cfg.resource_attributes[0],
            ("deployment.environment".into(), "dev box".into())
        );
        assert_eq!(cfg.service_name, "from-attrs");
        let mut a = args(None);
        a.service_name = Some("from-flag".into());
        assert_eq!(
            resolve_with(&a, Protocol::Http, None, &env)
                .unwrap()
                .service_name,
            "from-flag"
        );
        assert!(
            error(http(&[(RESOURCE_ATTRIBUTES, "a=1,b")]))
                .starts_with("invalid OTEL_RESOURCE_ATTRIBUTES: entry 2 of 2")
        );
    }

    #[test]
    fn certificate_files_are_checked() {
        let dir = std::env::temp_dir().join(format!("common-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let not_pem = dir.join("not.pem");
        std::fs::write(&not_pem, "hello").unwrap();
        let missing = dir.join("missing.pem");
        let err = error(http(&[(CERTIFICATE, missing.to_str().unwrap())]));
        assert!(
            err.starts_with("invalid OTEL_EXPORTER_OTLP_CERTIFICATE: cannot read"),
            "{err}"
        );
        let err = error(http(&[(TRACES_CERTIFICATE, not_pem.to_str().unwrap())]));
        assert!(err.contains("holds no PEM certificate"), "{err}");
        let err = error(http(&[(CLIENT_CERTIFICATE, not_pem.to_str().unwrap())]));
        assert!(
            err.contains("OTEL_EXPORTER_OTLP_CLIENT_KEY is not"),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn token_never_shows_in_debug() {
        let mut a = args(None);
        a.token = Some(Secret::from("s3cr3t-token".to_owned()));
        let cfg = resolve_with(&a, Protocol::Grpc, None, &[]).unwrap();
        let shown = format!("{cfg:?} {a:?} {}", a.token.as_ref().unwrap());
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert_eq!(header(&cfg, "authentication"), Some("s3cr3t-token"));
    }
}
