//! Command-line and environment configuration shared by every example.
//!
//! Precedence, for every setting: command-line flag > standard `OTEL_*`
//! environment variable > the example's default.

use std::fmt;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::Args;

/// Default collector base URL of the OTLP/HTTP exporter.
pub const DEFAULT_HTTP_ENDPOINT: &str = "http://localhost:4318";
/// Default collector base URL of the OTLP/gRPC exporter.
pub const DEFAULT_GRPC_ENDPOINT: &str = "http://localhost:4317";
/// Default URL path of the OTLP/HTTP exporter.
pub const DEFAULT_TRACES_PATH: &str = "/v1/traces";

const ENV_TRACES_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";
const ENV_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
const ENV_TRACES_COMPRESSION: &str = "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION";
const ENV_COMPRESSION: &str = "OTEL_EXPORTER_OTLP_COMPRESSION";

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
    #[arg(
        long,
        env = "OTEL_EXPORTER_OTLP_TIMEOUT",
        value_name = "MS",
        default_value_t = 1500,
        value_parser = clap::value_parser!(u64).range(1..=600_000)
    )]
    pub export_timeout: u64,
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

/// Everything the exporter needs, resolved from flags, environment and defaults.
#[derive(Debug, Clone)]
pub struct ExporterConfig {
    pub protocol: Protocol,
    /// Full URL for OTLP/HTTP (endpoint + path); the collector's base URL for gRPC.
    pub url: String,
    pub token: Option<Secret>,
    pub service_name: String,
    pub gzip: bool,
    pub export_timeout: Duration,
}

impl ExporterConfig {
    /// How long shutdown may wait for the last export before giving up.
    pub fn shutdown_timeout(&self) -> Duration {
        self.export_timeout + Duration::from_millis(500)
    }
}

impl HttpExporterArgs {
    /// Resolves the OTLP/HTTP settings; `service_name` is the example's default.
    pub fn resolve(&self, service_name: &str) -> anyhow::Result<ExporterConfig> {
        resolve(
            &self.common,
            Protocol::Http,
            self.path.as_deref(),
            service_name,
            &|name| std::env::var(name).ok(),
        )
    }
}

impl GrpcExporterArgs {
    /// Resolves the OTLP/gRPC settings; `service_name` is the example's default.
    pub fn resolve(&self, service_name: &str) -> anyhow::Result<ExporterConfig> {
        resolve(&self.common, Protocol::Grpc, None, service_name, &|name| {
            std::env::var(name).ok()
        })
    }
}

/// The resolution itself, with the environment passed in so tests need not
/// mutate the process environment.
fn resolve(
    args: &ExporterArgs,
    protocol: Protocol,
    path: Option<&str>,
    default_service: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<ExporterConfig> {
    let env = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    if let Some(path) = path.filter(|path| !path.starts_with('/')) {
        bail!("invalid --path `{path}`: it must start with `/`, for example `/v1/traces`");
    }

    let url = match protocol {
        Protocol::Http => {
            if let Some(endpoint) = &args.endpoint {
                let base = checked_endpoint(endpoint, "--endpoint")?;
                join(base, path.unwrap_or(DEFAULT_TRACES_PATH))
            } else if let Some(endpoint) = env(ENV_TRACES_ENDPOINT) {
                // The signal-specific variable is the full URL, used as is;
                // an explicit --path still wins over its path.
                let url = checked_endpoint(&endpoint, ENV_TRACES_ENDPOINT)?;
                match path {
                    Some(path) => join(origin(url), path),
                    None => url.to_owned(),
                }
            } else if let Some(endpoint) = env(ENV_ENDPOINT) {
                let base = checked_endpoint(&endpoint, ENV_ENDPOINT)?;
                join(base, path.unwrap_or(DEFAULT_TRACES_PATH))
            } else {
                join(DEFAULT_HTTP_ENDPOINT, path.unwrap_or(DEFAULT_TRACES_PATH))
            }
        }
        Protocol::Grpc => {
            let (value, source) =
                match (&args.endpoint, env(ENV_TRACES_ENDPOINT), env(ENV_ENDPOINT)) {
                    (Some(flag), _, _) => (flag.clone(), "--endpoint"),
                    (None, Some(traces), _) => (traces, ENV_TRACES_ENDPOINT),
                    (None, None, Some(all)) => (all, ENV_ENDPOINT),
                    (None, None, None) => (DEFAULT_GRPC_ENDPOINT.to_owned(), "the default"),
                };
            checked_endpoint(&value, source)?
                .trim_end_matches('/')
                .to_owned()
        }
    };

    let gzip = match env(ENV_TRACES_COMPRESSION).or_else(|| env(ENV_COMPRESSION)) {
        None => true,
        Some(value) => match value.trim().to_ascii_lowercase().as_str() {
            "gzip" => true,
            "none" => false,
            _ => bail!(
                "invalid {ENV_COMPRESSION} `{value}`: this example supports `gzip` (the default) or `none`"
            ),
        },
    };

    let service_name = args
        .service_name
        .clone()
        .filter(|name| !name.trim().is_empty())
        .unwrap_or_else(|| default_service.to_owned());

    Ok(ExporterConfig {
        protocol,
        url,
        token: args.token.clone().filter(|t| !t.expose().is_empty()),
        service_name,
        gzip,
        export_timeout: Duration::from_millis(args.export_timeout),
    })
}

/// Accepts only absolute `http://` / `https://` URLs, with a message that
/// says what to write otherwise.
fn checked_endpoint<'a>(value: &'a str, source: &str) -> anyhow::Result<&'a str> {
    let value = value.trim();
    let lower = value.to_ascii_lowercase();
    let rest = if let Some(rest) = lower.strip_prefix("http://") {
        rest
    } else if let Some(rest) = lower.strip_prefix("https://") {
        rest
    } else if lower.contains("://") {
        bail!(
            "invalid collector endpoint `{value}` (from {source}): only `http://` and `https://` are supported"
        );
    } else {
        bail!(
            "invalid collector endpoint `{value}` (from {source}): it has no scheme. \
             Write `http://{value}` for a plain-text collector or `https://{value}` for TLS"
        );
    };
    if rest.is_empty() || rest.starts_with('/') {
        bail!("invalid collector endpoint `{value}` (from {source}): it names no host");
    }
    value
        .parse::<http::Uri>()
        .with_context(|| format!("invalid collector endpoint `{value}` (from {source})"))?;
    Ok(value)
}

/// `scheme://host:port` of a URL that passed [`checked_endpoint`].
fn origin(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find('/') {
        Some(i) => &url[..after_scheme + i],
        None => url,
    }
}

fn join(base: &str, path: &str) -> String {
    format!("{}{}", base.trim_end_matches('/'), path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn args(endpoint: Option<&str>) -> ExporterArgs {
        ExporterArgs {
            endpoint: endpoint.map(str::to_owned),
            token: None,
            service_name: None,
            export_timeout: 1500,
        }
    }

    fn resolve_with(
        args: &ExporterArgs,
        protocol: Protocol,
        path: Option<&str>,
        env: &[(&str, &str)],
    ) -> anyhow::Result<ExporterConfig> {
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        resolve(args, protocol, path, "svc", &|name| env.get(name).cloned())
    }

    #[test]
    fn http_defaults_to_localhost_4318_v1_traces() {
        let cfg = resolve_with(&args(None), Protocol::Http, None, &[]).unwrap();
        assert_eq!(cfg.url, "http://localhost:4318/v1/traces");
        assert!(cfg.gzip);
        assert_eq!(cfg.service_name, "svc");
    }

    #[test]
    fn grpc_defaults_to_localhost_4317() {
        let cfg = resolve_with(&args(None), Protocol::Grpc, None, &[]).unwrap();
        assert_eq!(cfg.url, "http://localhost:4317");
    }

    #[test]
    fn flag_beats_environment() {
        let env = [
            (ENV_TRACES_ENDPOINT, "http://env-traces:1/x"),
            (ENV_ENDPOINT, "http://env-all:2"),
        ];
        let cfg = resolve_with(&args(Some("https://flag:3")), Protocol::Http, None, &env).unwrap();
        assert_eq!(cfg.url, "https://flag:3/v1/traces");
        let cfg = resolve_with(&args(Some("https://flag:3/")), Protocol::Grpc, None, &env).unwrap();
        assert_eq!(cfg.url, "https://flag:3");
    }

    #[test]
    fn signal_variable_is_used_as_is_and_general_one_gets_the_path() {
        let cfg = resolve_with(
            &args(None),
            Protocol::Http,
            None,
            &[
                (ENV_TRACES_ENDPOINT, "http://collector:9/custom/traces"),
                (ENV_ENDPOINT, "http://ignored:1"),
            ],
        )
        .unwrap();
        assert_eq!(cfg.url, "http://collector:9/custom/traces");

        let cfg = resolve_with(
            &args(None),
            Protocol::Http,
            None,
            &[(ENV_ENDPOINT, "http://collector:9/")],
        )
        .unwrap();
        assert_eq!(cfg.url, "http://collector:9/v1/traces");
    }

    #[test]
    fn path_flag_applies_to_every_source() {
        let path = Some("/adapt_x/api/otlp/traces");
        let cfg = resolve_with(&args(Some("http://h:1")), Protocol::Http, path, &[]).unwrap();
        assert_eq!(cfg.url, "http://h:1/adapt_x/api/otlp/traces");
        let env = [(ENV_TRACES_ENDPOINT, "http://h:2/v1/traces")];
        let cfg = resolve_with(&args(None), Protocol::Http, path, &env).unwrap();
        assert_eq!(cfg.url, "http://h:2/adapt_x/api/otlp/traces");
        let cfg = resolve_with(&args(None), Protocol::Http, path, &[]).unwrap();
        assert_eq!(cfg.url, "http://localhost:4318/adapt_x/api/otlp/traces");
    }

    #[test]
    fn schemeless_endpoint_is_rejected_with_the_fix() {
        let err = resolve_with(&args(Some("localhost:4318")), Protocol::Http, None, &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("has no scheme"), "{err}");
        assert!(err.contains("`http://localhost:4318`"), "{err}");
        assert!(err.contains("`https://localhost:4318`"), "{err}");

        let env = [(ENV_ENDPOINT, "collector:4317")];
        let err = resolve_with(&args(None), Protocol::Grpc, None, &env)
            .unwrap_err()
            .to_string();
        assert!(err.contains(ENV_ENDPOINT), "{err}");

        let err = resolve_with(&args(Some("ftp://x")), Protocol::Grpc, None, &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("only `http://` and `https://`"), "{err}");
        assert!(resolve_with(&args(Some("http://")), Protocol::Grpc, None, &[]).is_err());
    }

    #[test]
    fn path_must_be_absolute() {
        let err = resolve_with(&args(None), Protocol::Http, Some("v1/traces"), &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("must start with `/`"), "{err}");
    }

    #[test]
    fn compression_from_environment() {
        let cfg = resolve_with(
            &args(None),
            Protocol::Http,
            None,
            &[(ENV_COMPRESSION, "none")],
        )
        .unwrap();
        assert!(!cfg.gzip);
        let err = resolve_with(
            &args(None),
            Protocol::Http,
            None,
            &[(ENV_COMPRESSION, "br")],
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("`gzip`"), "{err}");
    }

    #[test]
    fn token_never_shows_in_debug() {
        let mut a = args(None);
        a.token = Some(Secret::from("s3cr3t-token".to_owned()));
        let cfg = resolve_with(&a, Protocol::Grpc, None, &[]).unwrap();
        let shown = format!("{cfg:?} {a:?} {}", a.token.as_ref().unwrap());
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert_eq!(cfg.token.unwrap().expose(), "s3cr3t-token");
    }
}
