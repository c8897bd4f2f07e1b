//! What `gproc` and `gcmd` do around the carrier: their flags for the child
//! (`--baggage k=v`, `--timeout`, `--goframe-env`), hand the parent's
//! exporter flags to the child (so `--endpoint` and `--token` reach both),
//! add the baggage to the context the child gets, run the child with a time
//! limit, and the child's report of the baggage it received.

use std::ffi::OsString;
use std::io;
use std::process::ExitStatus;
use std::time::Duration;

use clap::ArgMatches;
use clap::parser::ValueSource;
use opentelemetry::baggage::BaggageExt as _;
use opentelemetry::{Context, KeyValue};
use rustix::process::{Pid, Signal, kill_process_group};
use tokio::process::{Child, Command};
use tokio::signal::unix::{SignalKind, signal};

use crate::env_carrier::{ChildEnv, Names};

/// `OTEL_EXPORTER_OTLP_ENDPOINT`: the collector, signal paths appended.
pub const ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
/// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`: the traces URL, used as is.
pub const TRACES_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";
/// `OTEL_EXPORTER_OTLP_LOGS_ENDPOINT`: the logs URL, used as is.
pub const LOGS_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT";
/// `OTEL_EXPORTER_OTLP_TRACES_TIMEOUT`, in milliseconds.
pub const TRACES_TIMEOUT: &str = "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT";
/// The token variable of these examples (`--token`'s).
pub const TRACE_TOKEN: &str = "TRACE_TOKEN";
/// `OTEL_SERVICE_NAME`: names one program, so it is not handed on.
pub const SERVICE_NAME: &str = "OTEL_SERVICE_NAME";

const DEFAULT_HTTP_ENDPOINT: &str = "http://localhost:4318";

/// The exporter flags given on the parent's command line (a value that came
/// from a variable is in the child's copy of the environment already).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ExporterFlags {
    /// `--endpoint`
    pub endpoint: Option<String>,
    /// `--path`
    pub path: Option<String>,
    /// `--logs-path`
    pub logs_path: Option<String>,
    /// `--token` (never printed: it goes into the child's environment only)
    pub token: Option<OsString>,
    /// `--export-timeout`, milliseconds
    pub export_timeout: Option<String>,
}

impl std::fmt::Debug for ExporterFlags {
    // The token stays out of Debug.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExporterFlags")
            .field("endpoint", &self.endpoint)
            .field("path", &self.path)
            .field("logs_path", &self.logs_path)
            .field("token", &self.token.as_ref().map(|_| "[redacted]"))
            .field("export_timeout", &self.export_timeout)
            .finish()
    }
}

impl ExporterFlags {
    /// The flags of `common::config::HttpExporterArgs` that were given on the
    /// command line, read raw from clap's matches.
    pub fn from_matches(matches: &ArgMatches) -> ExporterFlags {
        let flag = |id: &str| -> Option<OsString> {
            if matches.value_source(id) != Some(ValueSource::CommandLine) {
                return None;
            }
            matches.get_raw(id)?.next().map(OsString::from)
        };
        let text = |id: &str| flag(id).map(|v| v.to_string_lossy().into_owned());
        ExporterFlags {
            endpoint: text("endpoint"),
            path: text("path"),
            logs_path: text("logs_path"),
            token: flag("token"),
            export_timeout: text("export_timeout"),
        }
    }

    /// Puts the flags into the child's environment as the standard variables
    /// that `common::config` resolves to the same settings: the flag beat
    /// the variables in the parent, so the variables it beat are replaced.
    /// `lookup` reads the parent's environment.
    pub fn hand_to(&self, child: &mut ChildEnv, lookup: &dyn Fn(&str) -> Option<String>) {
        // Empty means unset, as in common::config.
        let var = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        child.remove(SERVICE_NAME);
        if let Some(endpoint) = &self.endpoint {
            child.set(ENDPOINT, endpoint);
            child.remove(TRACES_ENDPOINT);
            child.remove(LOGS_ENDPOINT);
        }
        // A path flag: the whole URL the parent resolved, in the variable
        // that is used as is.
        let signal = |path: &str, own: &str, fallback: &dyn Fn() -> String| {
            if let Some(base) = &self.endpoint {
                join(base, path)
            } else if let Some(url) = var(own) {
                join(origin(&url), path)
            } else if let Some(base) = var(ENDPOINT) {
                join(&base, path)
            } else {
                join(&fallback(), path)
            }
        };
        if let Some(path) = &self.path {
            let url = signal(path, TRACES_ENDPOINT, &|| DEFAULT_HTTP_ENDPOINT.to_owned());
            child.set(TRACES_ENDPOINT, url);
        }
        if let Some(path) = &self.logs_path {
            // Without a logs setting, the logs go to the traces' collector.
            let traces_origin = || match var(TRACES_ENDPOINT) {
                Some(url) if self.path.is_none() => origin(&url).to_owned(),
                _ => DEFAULT_HTTP_ENDPOINT.to_owned(),
            };
            let url = signal(path, LOGS_ENDPOINT, &traces_origin);
            child.set(LOGS_ENDPOINT, url);
        }
        if let Some(token) = &self.token {
            child.set(TRACE_TOKEN, token);
        }
        if let Some(ms) = &self.export_timeout {
            child.set(TRACES_TIMEOUT, ms);
        }
    }
}

/// `base` with `path` appended to its own path (`common`'s `join`).
fn join(base: &str, path: &str) -> String {
    format!("{}{path}", base.trim().trim_end_matches('/'))
}

/// `scheme://authority` of a URL (the endpoints have no query or fragment).
fn origin(url: &str) -> &str {
    let url = url.trim();
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find('/') {
        Some(slash) => &url[..after_scheme + slash],
        None => url,
    }
}

/// The flags of a program that runs a child, `gproc` and `gcmd` alike.
#[derive(Debug, clap::Args)]
pub struct ChildArgs {
    /// Baggage entry for the child, repeatable
    #[arg(long, value_name = "KEY=VALUE", value_parser = parse_baggage)]
    pub baggage: Vec<(String, String)>,

    /// Seconds the child may run before it is killed
    #[arg(long, value_name = "SECS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub timeout: u64,

    /// Also write and read GoFrame's lowercase `traceparent`, `tracestate`, `baggage`
    #[arg(long)]
    pub goframe_env: bool,
}

impl ChildArgs {
    /// `--timeout`.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout)
    }

    /// The variable names to write and read (`--goframe-env`).
    pub fn names(&self) -> Names {
        Names::with_goframe(self.goframe_env)
    }

    /// `cx` with `--baggage` added to the baggage it carries already (the
    /// baggage this process was started with): what the child gets.
    pub fn with_baggage(&self, cx: &Context) -> Context {
        let mut entries: Vec<KeyValue> = cx
            .baggage()
            .iter()
            .map(|(key, (value, _))| KeyValue::new(key.clone(), value.clone()))
            .collect();
        entries.extend(
            self.baggage
                .iter()
                .map(|(key, value)| KeyValue::new(key.clone(), value.clone())),
        );
        cx.with_baggage(entries)
    }
}

/// The child's report on stdout: each baggage entry of `cx`, sorted, as
/// `baggage: k=v`, or `baggage: (none)`.
pub fn print_baggage(cx: &Context) {
    let mut baggage: Vec<String> = cx
        .baggage()
        .iter()
        .map(|(key, (value, _))| format!("{key}={value}"))
        .collect();
    baggage.sort();
    if baggage.is_empty() {
        println!("baggage: (none)");
    }
    for entry in baggage {
        println!("baggage: {entry}");
    }
}

/// `--baggage k=v`: a key (a W3C baggage token) and a value.
pub fn parse_baggage(entry: &str) -> Result<(String, String), String> {
    let Some((key, value)) = entry.split_once('=') else {
        return Err(format!(
            "`{entry}` has no `=`: write key=value, e.g. --baggage user=john"
        ));
    };
    let key = key.trim();
    let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if key.is_empty() || !key.chars().all(token) {
        return Err(format!(
            "the key `{key}` is not a baggage key: letters, digits and !#$%&'*+-.^_`|~ only"
        ));
    }
    Ok((key.to_owned(), value.trim().to_owned()))
}

/// How a child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It exited with this code.
    Exited(i32),
    /// A signal ended it (its number), not this program.
    Signalled(i32),
    /// Still running after the time limit: killed.
    TimedOut(Duration),
    /// This program was interrupted (Ctrl-C, SIGTERM): the child was killed.
    Interrupted,
}

impl Outcome {
    /// Whether it exited with code 0.
    pub fn success(self) -> bool {
        self == Outcome::Exited(0)
    }

    /// The exit code, when it exited.
    pub fn exit_code(self) -> Option<i32> {
        match self {
            Outcome::Exited(code) => Some(code),
            _ => None,
        }
    }

    fn of(status: ExitStatus) -> Outcome {
        use std::os::unix::process::ExitStatusExt as _;
        match (status.code(), status.signal()) {
            (Some(code), _) => Outcome::Exited(code),
            (None, Some(signal)) => Outcome::Signalled(signal),
            (None, None) => Outcome::Exited(-1),
        }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Exited(code) => write!(f, "exited with code {code}"),
            Outcome::Signalled(signal) => write!(f, "was ended by signal {signal}"),
            Outcome::TimedOut(limit) => write!(
                f,
                "was still running after {} s (--timeout) and was killed",
                limit.as_secs()
            ),
            Outcome::Interrupted => write!(f, "was killed: this program was interrupted"),
        }
    }
}

/// A child that ran: its process id, and how it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ran {
    /// The child's process id (also its process group's).
    pub pid: u32,
    /// How it ended.
    pub outcome: Outcome,
}

/// Runs `command` in `env` (and nothing else of this process's
/// environment), stdin closed, for at most `limit`. The child gets a process
/// group of its own, and the whole group is killed when the limit passes or
/// this program is asked to stop (Ctrl-C, SIGTERM): a time-out then ends
/// everything it started (`sh -c` and what the shell runs), and nothing is
/// left holding the terminal.
pub async fn run(command: &mut Command, env: &ChildEnv, limit: Duration) -> io::Result<Ran> {
    // Listening before the child starts: a stop request cannot slip in
    // between and end this program with the child still running.
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    let mut child = command
        .env_clear()
        .envs(env.vars())
        .stdin(std::process::Stdio::null())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()?;
    let pid = child.id().unwrap_or_default();
    let outcome = tokio::select! {
        status = child.wait() => return Ok(Ran { pid, outcome: Outcome::of(status?) }),
        _ = tokio::time::sleep(limit) => Outcome::TimedOut(limit),
        _ = interrupt.recv() => Outcome::Interrupted,
        _ = terminate.recv() => Outcome::Interrupted,
    };
    kill_group(&mut child, pid).await;
    Ok(Ran { pid, outcome })
}

/// SIGKILL to the child's process group (its id is the group's), then to
/// the child itself should the group be gone; waits for it, bounded.
async fn kill_group(child: &mut Child, pid: u32) {
    if let Some(group) = i32::try_from(pid).ok().and_then(Pid::from_raw) {
        let _ = kill_process_group(group, Signal::KILL);
    }
    let _ = child.start_kill();
    // SIGKILL cannot be ignored: this returns at once.
    let _ = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::env_carrier::Names;

    fn handed(flags: &ExporterFlags, parent: &[(&str, &str)]) -> HashMap<String, String> {
        let parent: HashMap<String, String> = parent
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut child = ChildEnv::from_vars(
            parent.iter().map(|(k, v)| (k.into(), v.into())),
            Names::Standard,
        );
        flags.hand_to(&mut child, &|name| parent.get(name).cloned());
        child
            .vars()
            .map(|(k, v)| (k.to_str().unwrap().into(), v.to_str().unwrap().into()))
            .collect()
    }

    fn get<'a>(env: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
        env.get(name).map(String::as_str)
    }

    #[test]
    fn the_endpoint_flag_replaces_the_variables_it_beat() {
        let flags = ExporterFlags {
            endpoint: Some("http://127.0.0.1:9/".into()),
            ..Default::default()
        };
        let env = handed(
            &flags,
            &[
                (TRACES_ENDPOINT, "http://t:1/x"),
                (LOGS_ENDPOINT, "http://l:1/y"),
            ],
        );
        assert_eq!(get(&env, ENDPOINT), Some("http://127.0.0.1:9/"));
        assert_eq!(get(&env, TRACES_ENDPOINT), None);
        assert_eq!(get(&env, LOGS_ENDPOINT), None);
    }

    #[test]
    fn a_path_flag_becomes_the_whole_url() {
        let flags = |endpoint: Option<&str>| ExporterFlags {
            endpoint: endpoint.map(Into::into),
            path: Some("/custom/traces".into()),
            logs_path: Some("/custom/logs".into()),
            ..Default::default()
        };
        let env = handed(&flags(Some("http://h:1/prefix/")), &[]);
        assert_eq!(
            get(&env, TRACES_ENDPOINT),
            Some("http://h:1/prefix/custom/traces")
        );
        assert_eq!(
            get(&env, LOGS_ENDPOINT),
            Some("http://h:1/prefix/custom/logs")
        );
        // The signal's own variable gets its path replaced.
        let env = handed(&flags(None), &[(TRACES_ENDPOINT, "http://t:2/v1/traces")]);
        assert_eq!(get(&env, TRACES_ENDPOINT), Some("http://t:2/custom/traces"));
        assert_eq!(
            get(&env, LOGS_ENDPOINT),
            Some("http://localhost:4318/custom/logs")
        );
        let env = handed(&flags(None), &[(ENDPOINT, "http://g:3")]);
        assert_eq!(get(&env, TRACES_ENDPOINT), Some("http://g:3/custom/traces"));
        let env = handed(&flags(None), &[]);
        assert_eq!(
            get(&env, TRACES_ENDPOINT),
            Some("http://localhost:4318/custom/traces")
        );
        // Logs path alone follows the traces variable's collector.
        let logs_only = ExporterFlags {
            logs_path: Some("/l".into()),
            ..Default::default()
        };
        let env = handed(&logs_only, &[(TRACES_ENDPOINT, "https://t:4/v1/traces")]);
        assert_eq!(get(&env, LOGS_ENDPOINT), Some("https://t:4/l"));
    }

    #[test]
    fn token_and_timeout_travel_and_the_service_name_does_not() {
        let flags = ExporterFlags {
            token: Some("s3cret".into()),
            export_timeout: Some("700".into()),
            ..Default::default()
        };
        let env = handed(&flags, &[(SERVICE_NAME, "parent"), ("PATH", "/bin")]);
        assert_eq!(get(&env, TRACE_TOKEN), Some("s3cret"));
        assert_eq!(get(&env, TRACES_TIMEOUT), Some("700"));
        assert_eq!(get(&env, SERVICE_NAME), None);
        assert_eq!(get(&env, "PATH"), Some("/bin"));
        assert_eq!(handed(&ExporterFlags::default(), &[]).len(), 0);
    }

    #[test]
    fn baggage_entries_are_checked() {
        assert_eq!(
            parse_baggage("user=john"),
            Ok(("user".into(), "john".into()))
        );
        assert_eq!(parse_baggage("k=a=b"), Ok(("k".into(), "a=b".into())));
        assert_eq!(parse_baggage("k="), Ok(("k".into(), String::new())));
        assert!(parse_baggage("user").unwrap_err().contains("has no `=`"));
        assert!(
            parse_baggage("=v")
                .unwrap_err()
                .contains("not a baggage key")
        );
        assert!(
            parse_baggage("a b=v")
                .unwrap_err()
                .contains("not a baggage key")
        );
    }
}
