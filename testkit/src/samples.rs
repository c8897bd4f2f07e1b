//! The example READMEs' collector samples, checked against what the
//! collector binary really prints: a [`PrintingCollector`] (the `collector`
//! binary on free ports, its stdout read trace by trace) and
//! [`assert_collector_sample`], which compares a README block with the
//! printed trees once what varies between runs is normalized ([`normalize`]:
//! trace ids, durations).
//!
//! A README marks each collector sample with a comment before its block,
//! e.g. `<!-- sample collector -->`. `README_SAMPLES=write cargo test -p
//! <example> --test readme_sample` writes the printed trees into both
//! READMEs instead of failing (keeping their trace ids, so that the
//! samples of the same README still agree with each other).

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use crate::process::{self, Finished, RunningServer};
use crate::servers::{MariaDb, Redis};

/// The marker of a README's (first) collector sample.
pub const SAMPLE_COLLECTOR: &str = "<!-- sample collector -->";

/// The READMEs of an example, with the same code blocks.
const READMES: [&str; 2] = ["README.md", "README.zh.md"];

/// Width the samples are printed at: wide enough that no line is cut (a
/// narrower terminal cuts attributes, never names).
const COLUMNS: &str = "1000";

/// The collector binary (`cargo run -p collector`) on free loopback ports
/// with no web view, printing traces; killed on drop.
pub struct PrintingCollector {
    child: Child,
    stdout: mpsc::Receiver<String>,
    /// Kept open: with its reader gone, the collector's next line on
    /// stderr would fail.
    _stderr: mpsc::Receiver<String>,
    grpc_endpoint: String,
    http_endpoint: String,
}

impl PrintingCollector {
    /// Starts it and reads its addresses from its banner.
    pub fn start() -> PrintingCollector {
        let limit = Duration::from_secs(30);
        let bin =
            process::workspace_binary("collector", "collector").unwrap_or_else(|e| panic!("{e:#}"));
        let mut child = Command::new(bin)
            .args(["--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0", "--no-ui"])
            .env("COLUMNS", COLUMNS)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting the collector");
        let stdout = process::lines(child.stdout.take().expect("piped"));
        let stderr = process::lines(child.stderr.take().expect("piped"));
        let grpc = process::banner_addr(&stderr, "OTLP/gRPC", limit);
        let http = process::banner_addr(&stderr, "OTLP/HTTP", limit);
        PrintingCollector {
            child,
            stdout,
            _stderr: stderr,
            grpc_endpoint: format!("http://{grpc}"),
            http_endpoint: format!("http://{http}"),
        }
    }

    /// `http://127.0.0.1:PORT` of its OTLP/gRPC receiver.
    pub fn grpc_endpoint(&self) -> &str {
        &self.grpc_endpoint
    }

    /// `http://127.0.0.1:PORT` of its OTLP/HTTP receiver.
    pub fn http_endpoint(&self) -> &str {
        &self.http_endpoint
    }

    /// The next `n` printed traces (each a header, its lines, and the empty
    /// line the printer ends it with), as the lines of one sample: the
    /// traces separated by an empty line. Panics, with what was printed,
    /// when they are not there within `limit`.
    pub fn next_traces(&self, n: usize, limit: Duration) -> Vec<String> {
        let deadline = Instant::now() + limit;
        let mut lines = Vec::new();
        let mut done = 0;
        while done < n {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = match self.stdout.recv_timeout(left) {
                Ok(line) => line,
                Err(RecvTimeoutError::Timeout) => panic!(
                    "{done} of {n} traces printed within {limit:?}:\n{}",
                    lines.join("\n")
                ),
                Err(RecvTimeoutError::Disconnected) => panic!(
                    "the collector closed stdout after {done} of {n} traces:\n{}",
                    lines.join("\n")
                ),
            };
            if line.is_empty() {
                done += 1;
            }
            lines.push(line);
        }
        // The last trace's closing empty line is not part of the sample.
        lines.pop();
        lines
    }

    /// The next `n` lines it prints, e.g. a server's start-up log records
    /// (`log (no trace) ...`), which come before the first trace. Panics,
    /// with what was printed, when they are not there within `limit`.
    pub fn next_lines(&self, n: usize, limit: Duration) -> Vec<String> {
        let deadline = Instant::now() + limit;
        let mut lines = Vec::new();
        while lines.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stdout.recv_timeout(left) {
                Ok(line) => lines.push(line),
                Err(_) => panic!(
                    "{} of {n} lines printed within {limit:?}:\n{}",
                    lines.len(),
                    lines.join("\n")
                ),
            }
        }
        lines
    }

    /// What it prints within `quiet` of the last line (or of the call):
    /// after the samples, nothing should come (no late spans).
    pub fn printed_meanwhile(&self, quiet: Duration) -> Vec<String> {
        let mut out = Vec::new();
        while let Ok(line) = self.stdout.recv_timeout(quiet) {
            out.push(line);
        }
        out
    }
}

impl Drop for PrintingCollector {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `line` with what varies between runs of the same example replaced: a
/// trace id (32 hex digits) by `<trace>`; the line's first duration (a
/// span's, or a log record's offset) by `<duration>` when it is in the
/// collector's one format (`860 ns`, `12 µs`, `1.30 ms`, `2.00 s`: a stale
/// `0.00 ms` or `+0.112 ms` stays different); any later one (in a status or
/// a log body, such as `[  2 ms]` or `2.040 ms`) by `<n>` and its unit;
/// trailing spaces dropped. Everything else (indentation, names, services,
/// kinds, transports, attributes, statuses, log records) stays.
pub fn normalize(line: &str) -> String {
    let chars: Vec<char> = line.trim_end().chars().collect();
    let mut out = String::new();
    let mut first_duration = true;
    let mut i = 0;
    while i < chars.len() {
        let boundary = i == 0 || !chars[i - 1].is_alphanumeric();
        if boundary && let Some(end) = trace_id_end(&chars, i) {
            out.push_str("<trace>");
            i = end;
            continue;
        }
        if boundary && let Some(end) = duration_end(&chars, i) {
            let duration: String = chars[i..end].iter().collect();
            let (number, unit) = duration.split_once(' ').unwrap_or_default();
            if first_duration {
                first_duration = false;
                if is_printed_duration(number, unit) {
                    out.push_str("<duration>");
                    i = end;
                    continue;
                }
            }
            // `[  2 ms]` and `[2001 ms]` alike: the padding goes with it.
            if out.trim_end_matches(' ').ends_with('[') {
                out.truncate(out.trim_end_matches(' ').len());
            }
            out.push_str("<n> ");
            out.push_str(unit);
            i = end;
            continue;
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

/// Where a trace id starting at `i` ends: exactly 32 lowercase hex digits.
fn trace_id_end(chars: &[char], i: usize) -> Option<usize> {
    let end = i + 32;
    let hex = |c: &char| c.is_ascii_digit() || ('a'..='f').contains(c);
    let whole = chars.get(i..end)?.iter().all(hex);
    let ends = chars.get(end).is_none_or(|c| !c.is_alphanumeric());
    (whole && ends).then_some(end)
}

/// Whether `number unit` is written as `collector::text::duration` writes
/// it: whole ns and µs under 1000, ms from 1.00 and s with two decimals.
fn is_printed_duration(number: &str, unit: &str) -> bool {
    let whole = !number.contains('.');
    let two_decimals = number
        .split_once('.')
        .is_some_and(|(_, decimals)| decimals.len() == 2);
    let value: f64 = number.parse().unwrap_or(f64::NAN);
    match unit {
        "ns" => whole && value < 1000.0,
        "µs" => whole && (1.0..1000.0).contains(&value),
        "ms" => two_decimals && (1.0..=1000.0).contains(&value),
        "s" => two_decimals && value >= 1.0,
        _ => false,
    }
}

/// Where a duration starting at `i` ends: digits, maybe `.digits`, a
/// space, and `ns`, `µs`, `ms` or `s` as a word of its own.
fn duration_end(chars: &[char], i: usize) -> Option<usize> {
    let digits = |from: usize| {
        chars[from..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count()
    };
    let mut at = i + digits(i);
    if at == i {
        return None;
    }
    if chars.get(at) == Some(&'.') && digits(at + 1) > 0 {
        at += 1 + digits(at + 1);
    }
    if chars.get(at) != Some(&' ') {
        return None;
    }
    at += 1;
    for unit in ["ns", "µs", "ms", "s"] {
        let unit: Vec<char> = unit.chars().collect();
        let end = at + unit.len();
        if chars.get(at..end) == Some(unit.as_slice())
            && chars.get(end).is_none_or(|c| !c.is_alphanumeric())
        {
            return Some(end);
        }
    }
    None
}

/// Checks that the block after `marker` in the READMEs of the example at
/// `crate_dir` (its `CARGO_MANIFEST_DIR`) shows `printed` (lines of
/// [`PrintingCollector::next_traces`]): the same lines in the same order
/// once [`normalize`]d. `documented` replaces what the test's run has in
/// place of the README's defaults first (a server's free port by
/// `127.0.0.1:8000`, ...). With `README_SAMPLES=write`, a differing block
/// is rewritten from `printed` instead.
pub fn assert_collector_sample(
    crate_dir: &str,
    marker: &str,
    printed: &[String],
    documented: &[(&str, &str)],
) {
    let printed: Vec<String> = printed
        .iter()
        .map(|line| {
            documented
                .iter()
                .fold(line.clone(), |line, (run, doc)| line.replace(run, doc))
        })
        .collect();
    let write = std::env::var_os("README_SAMPLES").is_some_and(|v| v == "write");
    for name in READMES {
        let path = Path::new(crate_dir).join(name);
        let readme = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let sample = process::readme_sample(&readme, marker)
            .unwrap_or_else(|| panic!("{name} has no code block after `{marker}`"));
        let Err(difference) = compare(sample, &printed) else {
            continue;
        };
        if write {
            let block = with_trace_ids_of(sample, &printed);
            let start = sample.as_ptr() as usize - readme.as_ptr() as usize;
            let mut new = readme.clone();
            new.replace_range(start..start + sample.len(), &format!("{block}\n"));
            std::fs::write(&path, new)
                .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
            eprintln!("wrote the sample after `{marker}` in {}", path.display());
            continue;
        }
        let package = Path::new(crate_dir)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        panic!(
            "{name}: the collector sample after `{marker}` is not what the collector printed \
             (compared with trace ids and durations normalized):\n{difference}\n\n\
             What the collector printed:\n{}\n\n\
             Regenerate: README_SAMPLES=write cargo test -p {package} --test readme_sample",
            printed.join("\n")
        );
    }
}

/// The first line where `sample` and `printed` differ once normalized.
fn compare(sample: &str, printed: &[String]) -> Result<(), String> {
    let documented: Vec<&str> = sample.trim_end().lines().collect();
    let count = documented.len().max(printed.len());
    for i in 0..count {
        let readme = documented.get(i).copied();
        let printed = printed.get(i).map(String::as_str);
        if readme.map(normalize) != printed.map(normalize) {
            let show = |line: Option<&str>| match line {
                Some(line) => format!("{line:?}"),
                None => "(no such line)".to_owned(),
            };
            return Err(format!(
                "line {} of the sample:\n  README:  {}\n  printed: {}",
                i + 1,
                show(readme),
                show(printed)
            ));
        }
    }
    Ok(())
}

/// `printed` as a README block, each trace id replaced by the README's
/// one in the same place (in order of first appearance) when there are as
/// many: the README's other samples name those ids.
fn with_trace_ids_of(sample: &str, printed: &[String]) -> String {
    let ids = |text: &str| -> Vec<String> {
        let chars: Vec<char> = text.chars().collect();
        let mut found: Vec<String> = Vec::new();
        for i in 0..chars.len() {
            let boundary = i == 0 || !chars[i - 1].is_alphanumeric();
            if boundary && let Some(end) = trace_id_end(&chars, i) {
                let id: String = chars[i..end].iter().collect();
                if !found.contains(&id) {
                    found.push(id);
                }
            }
        }
        found
    };
    let mut block = printed.join("\n");
    let (old, new) = (ids(sample), ids(&block));
    if old.len() == new.len() {
        for (new, old) in new.iter().zip(&old) {
            block = block.replace(new.as_str(), old);
        }
    }
    block
}

/// `examples-http`'s hello server on its own defaults (its batch every 500
/// ms), exporting to `collector` over OTLP/HTTP: the server that the
/// README runs of examples-otlp and examples-provider call.
pub async fn hello_server(collector: &PrintingCollector) -> RunningServer {
    let server =
        process::workspace_binary("examples-http", "server").unwrap_or_else(|e| panic!("{e:#}"));
    process::example_server(&server.to_string_lossy(), collector.http_endpoint(), &[])
        .await
        .unwrap()
}

/// A with-db example's README runs: its server on private MariaDB and Redis
/// (on its own defaults otherwise: its batch every 500 ms), exporting to a
/// [`PrintingCollector`], and its client against both.
pub struct DbSample {
    pub mariadb: MariaDb,
    pub redis: Redis,
    pub collector: PrintingCollector,
    pub server: RunningServer,
    client: String,
    grpc: bool,
    limit: Duration,
}

impl DbSample {
    /// The servers and the example's `server` binary (exporting over gRPC
    /// when `grpc`, else OTLP/HTTP); `None` when MariaDB or Redis cannot
    /// run here (the test is then skipped, as [`MariaDb::start`] says).
    pub async fn start(
        test: &str,
        server: &str,
        client: &str,
        grpc: bool,
        limit: Duration,
    ) -> Option<DbSample> {
        let mariadb = MariaDb::start(test).await?;
        let redis = Redis::start(test).await?;
        let collector = PrintingCollector::start();
        let endpoint = match grpc {
            true => collector.grpc_endpoint(),
            false => collector.http_endpoint(),
        };
        let mut command = process::example_command(server);
        command
            .args(["--listen", "127.0.0.1:0", "--endpoint", endpoint])
            .args(["--db", &mariadb.url(), "--redis", &redis.url()]);
        let server = process::start_server(&mut command, limit).await.unwrap();
        Some(DbSample {
            mariadb,
            redis,
            collector,
            server,
            client: client.to_owned(),
            grpc,
            limit,
        })
    }

    /// One run of the example's client against the server.
    pub async fn client(&self) -> Finished {
        let endpoint = match self.grpc {
            true => self.collector.grpc_endpoint(),
            false => self.collector.http_endpoint(),
        };
        let mut command = process::example_command(&self.client);
        command.args(["--url", &self.server.url(""), "--endpoint", endpoint]);
        process::run(&mut command, self.limit).await.unwrap()
    }

    /// The README's first collector sample (of the crate in `dir`): the
    /// server's start-up log records, of no trace (`SELECT VERSION()`,
    /// `CREATE TABLE`), then the trace of one run of the client.
    pub async fn assert_first_sample(&self, dir: &str) {
        let mut printed = self.collector.next_lines(2, self.limit);
        let out = self.client().await;
        assert!(out.status.success(), "{}", out.stderr);
        printed.extend(self.collector.next_traces(1, self.limit));
        assert_collector_sample(dir, SAMPLE_COLLECTOR, &printed, &[]);
    }

    /// Stops the server: nothing is printed after the samples.
    pub async fn finish(self) {
        self.server.stop(self.limit).await.unwrap();
        let late = self
            .collector
            .printed_meanwhile(Duration::from_millis(1500));
        assert!(late.is_empty(), "printed after the samples: {late:#?}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_durations_are_normalized_and_the_rest_kept() {
        assert_eq!(
            normalize("trace 0f6749b644f4a50c61233b72a482f518  9 spans  services: inprocess  "),
            "trace <trace>  9 spans  services: inprocess"
        );
        assert_eq!(
            normalize("  main [inprocess] 1.30 ms internal  via grpc  user.id=100"),
            "  main [inprocess] <duration> internal  via grpc  user.id=100"
        );
        assert_eq!(
            normalize("    · +12 µs INFO [  2 ms] [mariadb] [rows:1  ] SELECT 1 in 2.040 ms"),
            "    · +<duration> INFO [<n> ms] [mariadb] [rows:1  ] SELECT 1 in <n> ms"
        );
        assert_eq!(normalize("a 860 ns b 1 s"), "a <duration> b <n> s");
        // The old format is not the collector's.
        assert_eq!(normalize("  main 0.00 ms"), "  main <n> ms");
        assert_eq!(normalize("    · +0.112 ms INFO"), "    · +<n> ms INFO");
        assert_eq!(normalize("  x 1003.61 ms"), "  x <n> ms");
        assert_eq!(normalize("  x 1.00 s"), "  x <duration>");
        // Not durations: a count, an attribute, a word that starts with a unit.
        assert_eq!(
            normalize("9 spans  code=200 2 secs"),
            "9 spans  code=200 2 secs"
        );
        // Not a trace id: 31 or 33 digits, or upper case.
        let short = "0f6749b644f4a50c61233b72a482f51";
        assert_eq!(normalize(short), short);
        assert_eq!(normalize(&format!("{short}88")), format!("{short}88"));
    }

    #[test]
    fn a_difference_names_the_line_on_both_sides() {
        let printed = vec!["trace 0f6749b644f4a50c61233b72a482f518  1 span".to_owned()];
        assert!(compare("trace 11111111111111111111111111111111  1 span\n", &printed).is_ok());
        let error = compare(
            "trace 11111111111111111111111111111111  2 spans\n",
            &printed,
        )
        .unwrap_err();
        assert!(error.contains("line 1"), "{error}");
        assert!(error.contains("README:  \"trace 1111"), "{error}");
        assert!(error.contains("printed: \"trace 0f67"), "{error}");
        let error = compare("a\nb\n", &["a".to_owned()]).unwrap_err();
        assert!(error.contains("(no such line)"), "{error}");
    }

    #[test]
    fn rewritten_blocks_keep_the_readme_trace_ids() {
        let sample = "trace 11111111111111111111111111111111  1 span\n";
        let printed = vec!["trace 0f6749b644f4a50c61233b72a482f518  1 span".to_owned()];
        assert_eq!(
            with_trace_ids_of(sample, &printed),
            "trace 11111111111111111111111111111111  1 span"
        );
    }
}
