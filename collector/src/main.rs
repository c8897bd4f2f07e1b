//! The embedded OTLP collector: a stand-in for Jaeger all-in-one, no Docker
//! needed. It receives traces over OTLP/gRPC and OTLP/HTTP, prints each
//! finished trace as a tree (span, service, duration, kind, transport), and
//! shows them in a browser at http://127.0.0.1:16686 (a list of traces, a
//! waterfall per trace).
//!
//! Run with
//!
//! ```text
//! cargo run -p collector
//! ```
//!
//! then, in another terminal, run any example against it, and open the web
//! view.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use collector::{
    Collector, CollectorConfig, ConnectionLimits, DEFAULT_GRPC_ADDR, DEFAULT_HTTP_ADDR,
    DEFAULT_UI_ADDR, TlsConfig,
};

/// A line on stderr. Unlike `eprintln!` it cannot panic: a collector whose
/// stderr was closed (its terminal gone, a reader that stopped) keeps
/// serving.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

/// Embedded OTLP trace collector: receives spans and log records over
/// OTLP/gRPC and OTLP/HTTP, keeps them in memory (each record with its
/// trace), prints each finished trace as a tree and serves a web view of
/// them.
#[derive(Debug, Parser)]
#[command(version, after_help = limits_help())]
struct Args {
    /// Listen address for OTLP/gRPC (TraceService/Export and LogsService/Export, gzip accepted)
    #[arg(long, value_name = "ADDR", default_value_t = DEFAULT_GRPC_ADDR)]
    grpc: SocketAddr,

    /// Listen address for OTLP/HTTP (POST; a path ending in /v1/logs carries logs, any other path traces; protobuf or JSON, gzip accepted)
    #[arg(long, value_name = "ADDR", default_value_t = DEFAULT_HTTP_ADDR)]
    http: SocketAddr,

    /// Listen address for the web view (trace list and waterfalls) and its JSON API
    #[arg(long, value_name = "ADDR", default_value_t = DEFAULT_UI_ADDR)]
    ui: SocketAddr,

    /// Serve no web view
    #[arg(long, conflicts_with = "ui")]
    no_ui: bool,

    /// Load the traces and log records of this file at start (repeatable): a trace saved from the web view (GET /api/traces/{id}/otlp), everything saved by GET /api/export, one OTLP/JSON ExportTraceServiceRequest or ExportLogsServiceRequest, or JSON Lines of TracesData/LogsData (the OpenTelemetry file exporter's format); gzip-compressed or not. Read as a stream, with no size limit but the store's. A missing, malformed or unsupported file exits with status 2
    #[arg(long, value_name = "FILE")]
    load: Vec<PathBuf>,

    /// Keep the traces and log records in this SQLite file too (made if missing), read back at the next start within the same limits; each start is a new run. A crash loses at most the last second
    #[arg(long, value_name = "PATH")]
    store: Option<PathBuf>,

    /// Memory for the stored traces and log records, all together (spans with their names, attributes and events, log records with their bodies, resources, indexes): e.g. 512MiB, 2GiB, 300MB; the oldest are dropped first to make room
    #[arg(long, value_name = "SIZE", value_parser = byte_size, default_value = "512MiB")]
    max_memory: usize,

    /// The longest text or bytes value kept whole (an attribute value, a span or event name, a status message, a log body), e.g. 64KiB; longer ones are cut and end with "…[cut by the collector: N bytes in all]"
    #[arg(long, value_name = "SIZE", value_parser = byte_size, default_value = "64KiB")]
    max_value_length: usize,

    /// Traces kept in memory; the oldest is dropped first
    #[arg(long, value_name = "N", value_parser = at_least_one, default_value_t = CollectorConfig::default().max_traces)]
    max_traces: usize,

    /// Spans kept in memory, all traces together (a stored span takes about 0.5 KB); the oldest traces are dropped first to make room
    #[arg(long, value_name = "N", value_parser = at_least_one, default_value_t = CollectorConfig::default().max_spans)]
    max_spans: usize,

    /// Spans kept of one trace (at most --max-spans); later ones are counted as dropped, and the trace says so
    #[arg(long, value_name = "N", value_parser = at_least_one, default_value_t = CollectorConfig::default().max_spans_per_trace)]
    max_spans_per_trace: usize,

    /// Log records kept in memory, of all traces and of none together (a stored record takes about 0.2 KB plus its body and attributes); the oldest records are dropped first, and counted
    #[arg(long, value_name = "N", value_parser = at_least_one, default_value_t = CollectorConfig::default().max_logs)]
    max_logs: usize,

    /// Log records kept of one trace (at most --max-logs); later ones are counted as dropped, and the trace says so
    #[arg(long, value_name = "N", value_parser = at_least_one, default_value_t = CollectorConfig::default().max_logs_per_trace)]
    max_logs_per_trace: usize,

    /// Serve both OTLP receivers over TLS with this certificate chain (PEM, leaf first); needs --tls-key
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,

    /// The private key of --tls-cert (PEM)
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,

    /// Require client certificates signed by a CA in this file (PEM): mutual TLS; needs --tls-cert and --tls-key
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_client_ca: Option<PathBuf>,

    /// Also answer OTLP/HTTP and web view requests naming this host (repeatable; any port). Loopback names and the address a client connected to are always answered, other hosts get 403 (against DNS rebinding)
    #[arg(long = "allow-host", value_name = "NAME", value_parser = host_name)]
    allow_host: Vec<String>,

    /// Open connections of all three listeners together, at most [default: as many as the file descriptor limit allows, less a reserve]. When all are open, the oldest idle one is closed for a new one; when none is idle, new ones wait in the kernel's backlog
    #[arg(long, value_name = "N", value_parser = at_least_one)]
    max_connections: Option<usize>,

    /// Close a connection with no request in flight after this many seconds
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..), default_value_t = ConnectionLimits::default().idle_timeout.as_secs())]
    idle_timeout: u64,

    /// Close a connection whose request head (HTTP/1.1; or its first bytes, or TLS handshake) is not complete after this many seconds
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..), default_value_t = ConnectionLimits::default().head_timeout.as_secs())]
    head_timeout: u64,

    /// Cut a request body not complete this many seconds after its head (408)
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..), default_value_t = ConnectionLimits::default().body_timeout.as_secs())]
    body_timeout: u64,
}

/// How long the runtime waits, once the collector has shut down, for
/// blocking work still in flight (a big download being written, a write to
/// a stdout nobody reads): not long, the process exits anyway.
const EXIT_WAIT: Duration = Duration::from_millis(200);

fn main() -> ExitCode {
    let args = Args::parse();
    // Built by hand, not `#[tokio::main]`: dropping a runtime waits for
    // its blocking tasks, and one of them may never finish.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            say!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(run(args));
    runtime.shutdown_timeout(EXIT_WAIT);
    code
}

async fn run(args: Args) -> ExitCode {
    // A file size limit (`ulimit -f`) reached by the --store file is a
    // full disk: the write fails and is said, instead of SIGXFSZ ending
    // the process.
    #[cfg(unix)]
    let _ = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::from_raw(
        rustix::process::Signal::XFSZ.as_raw(),
    ));
    // Every connection takes a file descriptor: the usual soft limit
    // (1,024) would cap the connections far below what is allowed.
    let open_files = match collector::raise_open_files_limit() {
        Ok(open_files) => open_files,
        Err(e) => {
            say!("note: cannot raise the limit on open files to its hard limit ({e})");
            collector::open_files()
        }
    };
    // clap makes the two files come together.
    let tls = match (args.tls_cert, args.tls_key) {
        (Some(cert), Some(key)) => {
            let tls = TlsConfig::new(cert, key);
            Some(match args.tls_client_ca {
                Some(ca) => tls.with_client_ca(ca),
                None => tls,
            })
        }
        _ => None,
    };
    let config = CollectorConfig {
        grpc_addr: args.grpc,
        http_addr: args.http,
        ui_addr: (!args.no_ui).then_some(args.ui),
        max_memory_bytes: args.max_memory,
        max_value_bytes: args.max_value_length,
        max_traces: args.max_traces,
        max_spans: args.max_spans,
        max_spans_per_trace: args.max_spans_per_trace,
        max_logs: args.max_logs,
        max_logs_per_trace: args.max_logs_per_trace,
        store: args.store.clone(),
        tls: tls.clone(),
        allowed_hosts: args.allow_host,
        limits: ConnectionLimits {
            max_connections: args
                .max_connections
                .unwrap_or(ConnectionLimits::default().max_connections),
            idle_timeout: Duration::from_secs(args.idle_timeout),
            head_timeout: Duration::from_secs(args.head_timeout),
            body_timeout: Duration::from_secs(args.body_timeout),
            ..ConnectionLimits::default()
        },
        ..CollectorConfig::default()
    };
    // Opened before anything listens: a file that is not there stops nothing.
    let mut files = Vec::new();
    for path in &args.load {
        match std::fs::File::open(path) {
            Ok(file) => files.push((path, file)),
            Err(e) => {
                say!("error: --load {}: cannot open it: {e}", path.display());
                return ExitCode::from(2);
            }
        }
    }
    let collector = match Collector::start(config).await {
        Ok(collector) => collector,
        Err(e) if e.downcast_ref::<collector::StoreError>().is_some() => {
            say!("error: {e}");
            return ExitCode::from(2);
        }
        Err(e) => {
            say!("error: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    for (path, file) in files {
        let origin = format!("(loaded from {})", path.display());
        // Parsing a large file takes a while: off the runtime's workers.
        let loaded = tokio::task::block_in_place(|| collector.load(file, &origin));
        match loaded {
            Ok(loaded) if loaded.spans == 0 && loaded.log_records == 0 => say!(
                "note: --load {}: no spans and no log records in it",
                path.display()
            ),
            Ok(loaded) => say!(
                "loaded {} trace{} ({} spans) and {} log record{} from {}",
                loaded.trace_ids.len(),
                plural(loaded.trace_ids.len()),
                loaded.spans,
                loaded.log_records,
                plural(loaded.log_records),
                path.display()
            ),
            Err(e) => {
                say!("error: --load {}: {e}", path.display());
                collector.shutdown().await;
                return ExitCode::from(2);
            }
        }
    }

    let stop = stop_signal();
    if let Some(warning) = collector.tls_warning() {
        say!("warning: {warning}");
    }
    // Fitted to the terminal: a line too long goes on under itself.
    let width = collector::text::terminal_columns(100);
    macro_rules! header {
        ($($arg:tt)*) => {
            for line in wrap_header(&format!($($arg)*), width) {
                say!("{line}");
            }
        };
    }
    header!("collector listening (Ctrl-C to stop)");
    header!("  OTLP/gRPC  {}", collector.grpc_endpoint());
    header!(
        "  OTLP/HTTP  {}  (POST; a path ending in /v1/logs carries logs, any other path traces, e.g. /v1/traces)",
        collector.http_endpoint()
    );
    if let Some(url) = collector.ui_url() {
        header!("  web view   {url}  (traces, waterfalls, log records; JSON API under /api)");
    }
    let fd_limit = match open_files.soft {
        Some(limit) => format!("file descriptor limit {}", thousands(limit)),
        None => "no file descriptor limit".to_owned(),
    };
    header!(
        "  connections up to {} ({fd_limit})",
        thousands(collector.max_connections() as u64)
    );
    header!(
        "  memory     up to {} of traces and log records (--max-memory), the oldest dropped first",
        human_bytes(collector.memory().1)
    );
    if let Some(path) = &args.store {
        let (spans, logs) = collector.reloaded();
        header!(
            "  store      {}  (run {}; read back {} spans and {} log records)",
            path.display(),
            collector.run(),
            thousands(spans as u64),
            thousands(logs as u64)
        );
    }
    let reachable_from_outside = std::iter::once(collector.http_addr())
        .chain(collector.ui_addr())
        .any(|addr| !addr.ip().is_loopback());
    if reachable_from_outside {
        header!(
            "  other hosts: requests must name this machine by IP or a loopback name (else 403); allow a host name with --allow-host NAME"
        );
    }
    header!("point an example at it with --endpoint, or:");
    header!(
        "  OTEL_EXPORTER_OTLP_ENDPOINT={}   # gRPC exporters",
        collector.grpc_endpoint()
    );
    header!(
        "  OTEL_EXPORTER_OTLP_ENDPOINT={}   # HTTP exporters",
        collector.http_endpoint()
    );
    if let Some(tls) = &tls {
        header!(
            "  OTEL_EXPORTER_OTLP_CERTIFICATE=CA.pem   # the CA that signed {}",
            tls.cert.display()
        );
        if let Some(ca) = &tls.client_ca {
            header!(
                "  OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE=.. OTEL_EXPORTER_OTLP_CLIENT_KEY=..   # signed by {}",
                ca.display()
            );
        }
    }

    stop.await;
    say!("collector: shutting down");
    collector.shutdown().await;
    ExitCode::SUCCESS
}

/// `line` in lines of at most `width` columns, broken at spaces; the lines
/// after the first start under the value column (13 columns in). A word
/// wider than a line stays whole.
fn wrap_header(line: &str, width: usize) -> Vec<String> {
    const UNDER: &str = "             ";
    let width = width.max(40);
    let mut lines = Vec::new();
    let mut current = String::new();
    // Words, and the spaces before each (two spaces part a value from its note).
    for (i, word) in line.split(' ').enumerate() {
        let candidate = if i == 0 {
            word.to_owned()
        } else {
            format!("{current} {word}")
        };
        let started =
            current.len() > UNDER.len() || (lines.is_empty() && !current.trim().is_empty());
        if !word.is_empty() && started && collector::text::width(&candidate) > width {
            lines.push(current.trim_end().to_owned());
            current = format!("{UNDER}{word}");
        } else {
            current = candidate;
        }
    }
    lines.push(current);
    lines
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// The limits every listener keeps, with the defaults the flags change.
fn limits_help() -> String {
    let limits = ConnectionLimits::default();
    let config = CollectorConfig::default();
    format!(
        "Connection limits (every listener): close a request head unfinished after {} s \
         (--head-timeout), cut a request body after {} s (--body-timeout), close an idle \
         connection after {} s (--idle-timeout; an HTTP/1.1 keep-alive connection waiting for its \
         next request counts as an unfinished head); as many connections, all listeners \
         together, as the file descriptor limit allows less {} (the soft limit is raised to the \
         hard one at start; --max-connections lowers it): when all are open the oldest idle one \
         is closed for a new one; at most {} concurrent HTTP/2 streams per connection.\n\n\
         Size limits, the OpenTelemetry Collector's defaults, for traces and logs alike: an \
         OTLP/HTTP body up to {} MiB (compressed or not, else 413), an OTLP/gRPC message up to \
         {} MiB (else RESOURCE_EXHAUSTED). A file uploaded to the web view (POST /api/traces) \
         up to {} MiB (compressed or not); --load FILE has no size limit.\n\n\
         Traces and logs on one port each: over gRPC the method tells them apart, over HTTP \
         the path: a path ending in /v1/logs carries logs, any other path traces. A log record \
         with a trace id is kept with that trace (and its span), one without in a list of its \
         own (GET /api/logs).",
        limits.head_timeout.as_secs(),
        limits.body_timeout.as_secs(),
        limits.idle_timeout.as_secs(),
        collector::FD_RESERVE,
        limits.max_concurrent_streams,
        config.max_http_body_bytes / (1024 * 1024),
        config.max_grpc_message_bytes / (1024 * 1024),
        config.max_upload_bytes / (1024 * 1024),
    )
}

/// A size in bytes: a number with an optional unit (B, KB, MB, GB: powers
/// of 1000; KiB, MiB, GiB: powers of 1024), at least 1 KiB.
fn byte_size(value: &str) -> Result<usize, String> {
    let value = value.trim();
    let split = value
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(value.len());
    let (number, unit) = value.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("expected a size such as 512MiB or 2GiB, got {value:?}"))?;
    let unit: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1000,
        "mb" => 1000_u64.pow(2),
        "gb" => 1000_u64.pow(3),
        "kib" | "k" => 1024,
        "mib" | "m" => 1024_u64.pow(2),
        "gib" | "g" => 1024_u64.pow(3),
        other => {
            return Err(format!(
                "unknown unit {other:?}: use B, KB, MB, GB, KiB, MiB or GiB"
            ));
        }
    };
    let bytes = number
        .checked_mul(unit)
        .and_then(|b| usize::try_from(b).ok())
        .ok_or_else(|| format!("{value} is more than this machine can address"))?;
    if bytes < 1024 {
        return Err(format!("{value} is too small: at least 1KiB"));
    }
    Ok(bytes)
}

/// `bytes` in the largest binary unit that keeps it above 1 (`512 MiB`).
fn human_bytes(bytes: usize) -> String {
    const UNITS: [&str; 4] = ["bytes", "KiB", "MiB", "GiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if value.fract() == 0.0 {
        format!("{value} {}", UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// `1,204`: a count with thousands separators.
fn thousands(n: u64) -> String {
    collector::text::thousands(usize::try_from(n).unwrap_or(usize::MAX))
}

fn at_least_one(value: &str) -> Result<usize, String> {
    match value.parse::<usize>() {
        Ok(0) => Err("must be at least 1".to_owned()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

/// A host name or IP address as a client writes it in `Host` (a port is
/// ignored).
fn host_name(value: &str) -> Result<String, String> {
    let value = value.trim();
    if value.is_empty() || value.contains(|c: char| c.is_whitespace() || c.is_control() || c == '/')
    {
        return Err("expected a host name such as collector.lan (no scheme, no path)".to_owned());
    }
    Ok(value.to_owned())
}

/// Ctrl-C, or SIGTERM on Unix (what `docker stop` and `kill` send), listened
/// for from the moment this is called, so a signal that comes while the
/// banner is printed is not lost (it would kill the process unhandled).
fn stop_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{Signal, SignalKind, signal};
        let interrupt = signal(SignalKind::interrupt());
        let terminate = signal(SignalKind::terminate());
        async move {
            // Without a handler (cannot happen on Unix), wait for the other.
            let received = |signal: std::io::Result<Signal>| async move {
                match signal {
                    Ok(mut signal) => {
                        signal.recv().await;
                    }
                    Err(_) => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                _ = received(interrupt) => {}
                _ = received(terminate) => {}
            }
        }
    }
    #[cfg(not(unix))]
    async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_line_wraps_under_its_value() {
        let line = "  OTLP/HTTP  http://127.0.0.1:4318  (POST; a path ending in /v1/logs carries logs, any other path traces, e.g. /v1/traces)";
        let lines = wrap_header(line, 80);
        assert_eq!(
            lines,
            [
                "  OTLP/HTTP  http://127.0.0.1:4318  (POST; a path ending in /v1/logs carries",
                "             logs, any other path traces, e.g. /v1/traces)",
            ]
        );
        assert_eq!(wrap_header(line, 200), [line]);
    }
}
