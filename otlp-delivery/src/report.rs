//! The delivery report: what became of this process's spans and log
//! records. Counts come from two wrappers around each of the SDK's chains
//! (ended spans or emitted records, and what the exporter acknowledged),
//! attempts and their failures from the transport ([`crate::transport`]),
//! and the cause of a failure from [`crate::diagnose`]. A failure streak
//! of a running process is told as it happens ([`Streak`]).

use std::fmt;
use std::process::ExitCode;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use opentelemetry::InstrumentationScope;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::logs::{LogBatch, LogExporter, LogProcessor, SdkLogRecord};
use opentelemetry_sdk::trace::{Span as SdkSpan, SpanData, SpanExporter, SpanProcessor};

use crate::diagnose::{self, Failure, Target};
use otlp_config::{Protocol, env};

#[derive(Debug, Clone, Default)]
struct Stats {
    /// Spans ended (and sampled) in this process.
    ended: usize,
    exported: usize,
    failed: usize,
    in_flight: usize,
    /// Attempts of the export under way (1 + its retries).
    attempts: usize,
    /// Failed attempts of the export under way, in order.
    failures: Vec<Failure>,
    /// What the collector rejected of the export under way (an OTLP
    /// partial success), with its message.
    rejected: Option<(i64, String)>,
    /// The gRPC server's message on the export under way, as the SDK
    /// reported it ([`crate::sdk_events`]).
    grpc_message: Option<String>,
    /// Retries of exports that then succeeded, and why they were retried.
    retries: usize,
    retried_because: Vec<String>,
    /// The cause of the last failed export.
    problem: Option<String>,
    /// The last failed export was answered "not here" (HTTP 404, gRPC
    /// UNIMPLEMENTED): a backend without this signal.
    not_accepted: bool,
    /// The failed exports since the last delivered one.
    streak: Streak,
    /// The process is flushing at its end: its final report will say what
    /// a warning would.
    closing: bool,
}

/// How often, at most, a running process says that a failure streak goes
/// on (per signal).
pub(crate) const STREAK_LINE_EVERY: Duration = Duration::from_secs(10);

/// A run of failed exports, told while it happens: a warning at its first
/// failure, a line at most every [`STREAK_LINE_EVERY`] while it lasts, and
/// one when delivery recovers. A streak that begins during the final flush
/// is left to the final report.
#[derive(Debug, Clone, Default)]
struct Streak {
    /// When its first failed export ended; `None` while exports succeed.
    since: Option<Instant>,
    /// Items of its failed exports.
    lost: usize,
    /// When a line about it was last printed; `None` if none was.
    said: Option<Instant>,
    /// The cause that line gave.
    cause: String,
}

/// What a streak's lines name: `spans` or `log records`, and where to.
struct Destination<'a> {
    items: &'a str,
    url: String,
}

impl Streak {
    /// One more failed export, of `count` items, for `cause`: the line to
    /// print now, if one is due.
    fn failed(
        &mut self,
        count: usize,
        cause: &str,
        closing: bool,
        to: &Destination<'_>,
        now: Instant,
    ) -> Option<String> {
        let since = *self.since.get_or_insert(now);
        self.lost += count;
        let Destination { items, url } = to;
        let line = match self.said {
            None if closing => return None,
            None => format!(
                "warning: could not deliver {} to {url}: {cause} (still trying; a line will \
                 say when delivery recovers)",
                counted(self.lost, items)
            ),
            Some(said) if now.duration_since(said) < STREAK_LINE_EVERY => return None,
            Some(_) => {
                let mut line = format!(
                    "warning: {items} to {url} still fail after {}: {} lost so far",
                    seconds(now.duration_since(since)),
                    counted(self.lost, items)
                );
                if cause != self.cause {
                    line.push_str(&format!("; now: {cause}"));
                }
                line
            }
        };
        self.said = Some(now);
        cause.clone_into(&mut self.cause);
        Some(line)
    }

    /// An export of `count` items was delivered: ends the streak; the line
    /// to print if one was said about it.
    fn delivered(&mut self, count: usize, to: &Destination<'_>, now: Instant) -> Option<String> {
        let streak = std::mem::take(self);
        let since = streak.since?;
        streak.said?;
        let Destination { items, url } = to;
        Some(format!(
            "note: delivery of {items} to {url} recovered after {}: {} delivered since; {} lost \
             during the outage",
            seconds(now.duration_since(since)),
            counted(count, items),
            streak.lost
        ))
    }
}

/// `12s`.
fn seconds(elapsed: Duration) -> String {
    format!("{}s", elapsed.as_secs_f64().round())
}

/// `1 span`, `3 spans`, `1 log record`, `2 log records`.
fn counted(n: usize, items: &str) -> String {
    match n {
        1 => format!("1 {}", items.strip_suffix('s').unwrap_or(items)),
        n => format!("{n} {items}"),
    }
}

/// A handle the transport records attempts through.
#[derive(Debug, Clone, Default)]
pub(crate) struct Recorder(Arc<Mutex<Stats>>);

impl Recorder {
    fn stats(&self) -> MutexGuard<'_, Stats> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// One attempt started (the first or a retry).
    pub(crate) fn attempt(&self) {
        self.stats().attempts += 1;
    }

    /// The collector took the export but rejected `count` of its items.
    pub(crate) fn rejected(&self, count: i64, message: String) {
        self.stats().rejected = Some((count, message));
    }

    /// The gRPC server answered the export under way with this message.
    pub(crate) fn grpc_message(&self, message: String) {
        self.stats().grpc_message = Some(message);
    }

    /// An attempt failed this way.
    pub(crate) fn failed_attempt(&self, failure: Failure) {
        self.stats().failures.push(failure);
    }

    /// The process is flushing at its end: no new streak is told.
    pub(crate) fn closing(&self) {
        self.stats().closing = true;
    }
}

/// Passes batches to the real exporter and counts what it acknowledged; on
/// a failure, works out the cause (on the batch processor's thread).
#[derive(Debug)]
pub struct CountingExporter<E> {
    inner: E,
    recorder: Recorder,
    target: Target,
}

impl<E> CountingExporter<E> {
    /// `target` is the signal's own: failures are diagnosed at its endpoint.
    pub(crate) fn new(inner: E, target: Target, recorder: Recorder) -> Self {
        CountingExporter {
            inner,
            recorder,
            target,
        }
    }
}

impl<E> CountingExporter<E> {
    /// Runs one export of `count` items and counts its outcome.
    /// `items` names them: `spans`, `log records`.
    async fn counted(
        &self,
        count: usize,
        items: &str,
        export: impl Future<Output = OTelSdkResult>,
    ) -> OTelSdkResult {
        {
            let mut stats = self.recorder.stats();
            stats.in_flight += count;
            stats.attempts = 0;
            stats.failures.clear();
            stats.rejected = None;
            stats.grpc_message = None;
        }
        let result = export.await;
        let to = Destination {
            items,
            url: self.target.endpoint.to_string(),
        };
        let mut stats = self.recorder.stats();
        stats.in_flight -= count;
        let said = match &result {
            Ok(()) => {
                // The last failure's cause is history now; the report says so.
                if let Some(since) = stats.streak.since
                    && let Some(problem) = stats.problem.take()
                {
                    stats.problem = Some(format!(
                        "{problem} (for {}; delivery has recovered since)",
                        seconds(since.elapsed())
                    ));
                }
                let rejected = match stats.rejected.take() {
                    Some((rejected, message)) => {
                        let rejected = usize::try_from(rejected).unwrap_or(count).min(count);
                        let said = if message.is_empty() {
                            String::new()
                        } else {
                            format!(" (\"{message}\")")
                        };
                        stats.problem = Some(format!(
                            "the collector took the export but rejected {rejected} of its \
                             {count} {items}{said}"
                        ));
                        rejected
                    }
                    None => 0,
                };
                stats.failed += rejected;
                stats.exported += count - rejected;
                let retries = stats.attempts.saturating_sub(1);
                if retries > 0 {
                    stats.retries += retries;
                    let reasons: Vec<String> = stats.failures.iter().map(Failure::short).collect();
                    for reason in reasons {
                        if !stats.retried_because.contains(&reason) {
                            stats.retried_because.push(reason);
                        }
                    }
                }
                stats.streak.delivered(count, &to, Instant::now())
            }
            Err(error) => {
                stats.failed += count;
                let mut attempts = std::mem::take(&mut stats.failures);
                // The HTTP client saw the final attempt itself; for gRPC the
                // exporter's error is all there is.
                if self.target.protocol == Protocol::Grpc || attempts.is_empty() {
                    let mut failure = Failure::from_exporter_error(&error.to_string());
                    if let (Failure::Grpc { message, .. }, Some(said)) =
                        (&mut failure, stats.grpc_message.take())
                    {
                        *message = said;
                    }
                    attempts.push(failure);
                }
                stats.not_accepted = attempts.last().is_some_and(Failure::is_not_here);
                drop(stats);
                let problem = diagnose::explain(&self.target, &attempts);
                let mut stats = self.recorder.stats();
                let closing = stats.closing;
                let said = (stats.streak).failed(count, &problem, closing, &to, Instant::now());
                stats.problem = Some(problem);
                said
            }
        };
        if let Some(line) = said {
            eprintln!("{line}");
        }
        result
    }
}

impl<E: SpanExporter> SpanExporter for CountingExporter<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        self.counted(batch.len(), "spans", self.inner.export(batch))
            .await
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

impl<E: LogExporter> LogExporter for CountingExporter<E> {
    async fn export(&self, batch: LogBatch<'_>) -> OTelSdkResult {
        let count = batch.iter().count();
        self.counted(count, "log records", self.inner.export(batch))
            .await
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

/// Counts ended spans; the batch processor after it does the real work.
#[derive(Debug)]
pub struct EndedSpans(pub(crate) Recorder);

impl SpanProcessor for EndedSpans {
    fn on_start(&self, _span: &mut SdkSpan, _cx: &opentelemetry::Context) {}

    fn on_end(&self, _span: SpanData) {
        self.0.stats().ended += 1;
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
}

/// Counts emitted log records; the batch processor after it does the real
/// work.
#[derive(Debug)]
pub struct EmittedLogs(pub(crate) Recorder);

impl LogProcessor for EmittedLogs {
    fn emit(&self, _record: &mut SdkLogRecord, _scope: &InstrumentationScope) {
        self.0.stats().ended += 1;
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
}

/// What became of this process's spans (and, beside them, its log records).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryReport {
    /// Where they were sent, credentials masked.
    pub url: String,
    /// Spans the collector acknowledged.
    pub exported: usize,
    /// Spans that ended but did not reach the collector.
    pub undelivered: usize,
    /// Of those, spans dropped before export because the queue was full.
    pub dropped: usize,
    /// The queue size those were dropped from (`OTEL_BSP_MAX_QUEUE_SIZE`).
    pub queue_size: usize,
    /// Retries of exports that succeeded in the end, and their reasons.
    pub retries: usize,
    pub retried_because: Vec<String>,
    /// Why delivery failed, when it did.
    pub problem: Option<String>,
    /// The log records; `None` when none were to be sent
    /// (`OTEL_LOGS_EXPORTER=none`).
    pub logs: Option<LogsDelivery>,
}

/// What became of this process's log records. They never decide the exit
/// status: the spans do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogsDelivery {
    /// Where they were sent, credentials masked.
    pub url: String,
    /// Records the collector acknowledged.
    pub exported: usize,
    /// Records written but not delivered (dropped from a full queue
    /// included).
    pub undelivered: usize,
    /// The collector answered that it takes no logs (HTTP 404, gRPC
    /// UNIMPLEMENTED): a traces-only backend such as Jaeger.
    pub not_accepted: bool,
    /// Why delivery failed, when it did.
    pub problem: Option<String>,
}

impl LogsDelivery {
    pub(crate) fn new(url: String, recorder: &Recorder, outcome: OTelSdkResult) -> Self {
        let stats = recorder.stats().clone();
        let undelivered = stats.ended.saturating_sub(stats.exported);
        let problem = stats.problem.or_else(|| shutdown_problem(outcome));
        let problem = problem.or_else(|| {
            (undelivered > 0).then(|| "they were dropped because the export queue was full".into())
        });
        LogsDelivery {
            url,
            exported: stats.exported,
            undelivered,
            not_accepted: stats.not_accepted,
            problem,
        }
    }

    /// The line printed before the report when not every record arrived.
    pub fn note(&self) -> Option<String> {
        let records = records(self.undelivered);
        if self.not_accepted {
            return Some(format!(
                "note: {} does not accept logs, so {records} were not sent (the spans are not \
                 affected); to stop sending them set OTEL_LOGS_EXPORTER=none, or name the \
                 collector's logs URL with OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
                self.url
            ));
        }
        let problem = self.problem.as_ref()?;
        Some(format!(
            "warning: could not deliver {records} to {}: {problem}",
            self.url
        ))
    }
}

/// What a provider's shutdown said went wrong, if anything.
fn shutdown_problem(outcome: OTelSdkResult) -> Option<String> {
    match outcome {
        Err(OTelSdkError::Timeout(waited)) => Some(format!(
            "the collector did not answer within {:.1}s",
            waited.as_secs_f64()
        )),
        Ok(()) | Err(OTelSdkError::AlreadyShutdown) => None,
        Err(other) => Some(other.to_string()),
    }
}

/// `1 log record`, `2 log records`.
fn records(n: usize) -> String {
    counted(n, "log records")
}

impl DeliveryReport {
    pub(crate) fn new(
        url: String,
        recorder: &Recorder,
        outcome: OTelSdkResult,
        queue_size: usize,
    ) -> Self {
        let stats = recorder.stats().clone();
        let undelivered = stats.ended.saturating_sub(stats.exported);
        // Neither exported, failed nor in flight: never handed to the
        // exporter because the batch processor's queue was full.
        let dropped = undelivered.saturating_sub(stats.failed + stats.in_flight);
        let problem = stats.problem.or_else(|| shutdown_problem(outcome));
        DeliveryReport {
            url,
            exported: stats.exported,
            undelivered,
            dropped,
            queue_size,
            retries: stats.retries,
            retried_because: stats.retried_because,
            problem,
            logs: None,
        }
    }

    /// True when every span handed to the exporter reached the collector.
    pub fn is_ok(&self) -> bool {
        self.problem.is_none() && self.undelivered == 0
    }

    /// Prints the report on stderr (a line on the log records first, when
    /// not all of them arrived; the report itself is always the last line);
    /// the exit code says whether the spans were delivered.
    pub fn exit_code(&self) -> ExitCode {
        if let Some(note) = self.logs.as_ref().and_then(LogsDelivery::note) {
            // When the spans failed too, their line says why.
            if self.is_ok() || self.logs.as_ref().is_some_and(|logs| logs.not_accepted) {
                eprintln!("{note}");
            }
        }
        eprintln!("{self}");
        if self.is_ok() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }
    }
}

impl fmt::Display for DeliveryReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_ok() {
            let s = if self.exported == 1 { "" } else { "s" };
            write!(f, "exported {} span{s}", self.exported)?;
            match self.logs.as_ref().filter(|logs| logs.exported > 0) {
                Some(logs) if logs.url == self.url => {
                    write!(f, " and {} to {}", records(logs.exported), self.url)?;
                }
                Some(logs) => write!(
                    f,
                    " to {} and {} to {}",
                    self.url,
                    records(logs.exported),
                    logs.url
                )?,
                None => write!(f, " to {}", self.url)?,
            }
            if self.retries > 0 {
                let s = if self.retries == 1 {
                    "retry"
                } else {
                    "retries"
                };
                write!(f, " (after {} {s}", self.retries)?;
                if !self.retried_because.is_empty() {
                    write!(f, ": {}", self.retried_because.join(", "))?;
                }
                f.write_str(")")?;
            }
            return Ok(());
        }
        let spans = match self.undelivered {
            0 => "spans".to_owned(),
            n => counted(n, "spans"),
        };
        // Log records lost beside the spans are counted on the same line;
        // those of a backend without logs have their note instead.
        let logs = (self.logs.as_ref()).filter(|logs| logs.undelivered > 0 && !logs.not_accepted);
        let url = &self.url;
        match logs {
            Some(logs) if logs.problem == self.problem && logs.url == *url => {
                let records = records(logs.undelivered);
                write!(
                    f,
                    "error: could not deliver {spans} and {records} to {url}: "
                )?;
            }
            Some(logs) if logs.problem == self.problem => {
                let records = records(logs.undelivered);
                write!(
                    f,
                    "error: could not deliver {spans} to {url} and {records} to {}: ",
                    logs.url
                )?;
            }
            _ => write!(f, "error: could not deliver {spans} to {url}: ")?,
        }
        match &self.problem {
            Some(problem) => f.write_str(problem)?,
            None => write!(
                f,
                "{} were dropped because the export queue was full ({} exported); raise {} (now {})",
                self.dropped,
                self.exported,
                env::BSP_MAX_QUEUE_SIZE,
                self.queue_size
            )?,
        }
        match logs {
            Some(logs) if logs.problem != self.problem => write!(
                f,
                "; and {} to {}: {}",
                records(logs.undelivered),
                logs.url,
                logs.problem.as_deref().unwrap_or("they were not delivered")
            ),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(stats: Stats) -> DeliveryReport {
        let recorder = Recorder(Arc::new(Mutex::new(stats)));
        DeliveryReport::new("http://c/v1/traces".into(), &recorder, Ok(()), 2048)
    }

    #[test]
    fn report_lines() {
        let ok = report(Stats {
            ended: 9,
            exported: 9,
            ..Stats::default()
        });
        assert!(ok.is_ok());
        assert_eq!(ok.to_string(), "exported 9 spans to http://c/v1/traces");
        // A process of one span (a child process, say) says it in the singular.
        let one = report(Stats {
            ended: 1,
            exported: 1,
            ..Stats::default()
        });
        assert_eq!(one.to_string(), "exported 1 span to http://c/v1/traces");
        let retried = report(Stats {
            ended: 9,
            exported: 9,
            retries: 2,
            retried_because: vec!["503 Service Unavailable".into()],
            ..Stats::default()
        });
        assert_eq!(
            retried.to_string(),
            "exported 9 spans to http://c/v1/traces (after 2 retries: 503 Service Unavailable)"
        );
        let failed = report(Stats {
            ended: 9,
            failed: 9,
            problem: Some("connection refused, nothing is listening on c:80".into()),
            ..Stats::default()
        });
        assert!(!failed.is_ok());
        assert_eq!(
            failed.to_string(),
            "error: could not deliver 9 spans to http://c/v1/traces: connection refused, nothing is listening on c:80"
        );
    }

    fn logs(url: &str, stats: Stats) -> LogsDelivery {
        let recorder = Recorder(Arc::new(Mutex::new(stats)));
        LogsDelivery::new(url.into(), &recorder, Ok(()))
    }

    #[test]
    fn log_records_are_reported_beside_the_spans() {
        let mut ok = report(Stats {
            ended: 9,
            exported: 9,
            ..Stats::default()
        });
        let delivered = Stats {
            ended: 2,
            exported: 2,
            ..Stats::default()
        };
        ok.logs = Some(logs("http://c/v1/logs", delivered.clone()));
        assert_eq!(
            ok.to_string(),
            "exported 9 spans to http://c/v1/traces and 2 log records to http://c/v1/logs"
        );
        assert_eq!(ok.logs.as_ref().unwrap().note(), None);
        // One URL for both (gRPC): said once.
        ok.url = "http://c:4317".into();
        ok.logs = Some(logs(
            "http://c:4317",
            Stats {
                ended: 1,
                exported: 1,
                ..delivered
            },
        ));
        assert_eq!(
            ok.to_string(),
            "exported 9 spans and 1 log record to http://c:4317"
        );
        // No record written: nothing to say about them.
        ok.logs = Some(logs("http://c:4317", Stats::default()));
        assert_eq!(ok.to_string(), "exported 9 spans to http://c:4317");
    }

    #[test]
    fn a_traces_only_backend_is_a_note_and_the_spans_decide() {
        let mut ok = report(Stats {
            ended: 9,
            exported: 9,
            ..Stats::default()
        });
        ok.logs = Some(logs(
            "http://c/v1/logs",
            Stats {
                ended: 2,
                failed: 2,
                not_accepted: true,
                problem: Some("the collector answered 404 Not Found".into()),
                ..Stats::default()
            },
        ));
        assert!(ok.is_ok());
        assert_eq!(ok.to_string(), "exported 9 spans to http://c/v1/traces");
        let note = ok.logs.as_ref().unwrap().note().unwrap();
        assert!(
            note.starts_with(
                "note: http://c/v1/logs does not accept logs, so 2 log records were not sent"
            ),
            "{note}"
        );
        assert!(note.contains("OTEL_LOGS_EXPORTER=none"), "{note}");
        // Any other failure of the records is a warning, with its cause.
        let failed = logs(
            "http://c/v1/logs",
            Stats {
                ended: 1,
                failed: 1,
                problem: Some("the collector answered 500".into()),
                ..Stats::default()
            },
        );
        assert_eq!(
            failed.note().unwrap(),
            "warning: could not deliver 1 log record to http://c/v1/logs: the collector answered 500"
        );
    }

    #[test]
    fn a_streak_is_told_once_then_every_10s_then_its_end() {
        let to = Destination {
            items: "spans",
            url: "http://c/v1/traces".into(),
        };
        let start = Instant::now();
        let at = |secs| start + Duration::from_secs(secs);
        let mut streak = Streak::default();
        assert_eq!(
            streak.failed(4, "refused", false, &to, at(0)).unwrap(),
            "warning: could not deliver 4 spans to http://c/v1/traces: refused (still trying; \
             a line will say when delivery recovers)"
        );
        assert_eq!(streak.failed(3, "refused", false, &to, at(5)), None);
        assert_eq!(
            streak.failed(1, "refused", false, &to, at(11)).unwrap(),
            "warning: spans to http://c/v1/traces still fail after 11s: 8 spans lost so far"
        );
        assert_eq!(
            streak.failed(1, "503", false, &to, at(21)).unwrap(),
            "warning: spans to http://c/v1/traces still fail after 21s: 9 spans lost so far; \
             now: 503"
        );
        assert_eq!(
            streak.delivered(2, &to, at(23)).unwrap(),
            "note: delivery of spans to http://c/v1/traces recovered after 23s: 2 spans \
             delivered since; 9 lost during the outage"
        );
        assert_eq!(streak.delivered(2, &to, at(24)), None);
        // A streak of the final flush is the final report's alone.
        assert_eq!(streak.failed(1, "refused", true, &to, at(30)), None);
        assert_eq!(streak.delivered(1, &to, at(31)), None);
    }

    #[test]
    fn lost_log_records_are_counted_beside_the_spans() {
        let lost = |url: &str, problem: &str| {
            logs(
                url,
                Stats {
                    ended: 2,
                    failed: 2,
                    problem: Some(problem.into()),
                    ..Stats::default()
                },
            )
        };
        let mut failed = report(Stats {
            ended: 9,
            failed: 9,
            problem: Some("refused".into()),
            ..Stats::default()
        });
        failed.logs = Some(lost("http://c/v1/logs", "refused"));
        assert_eq!(
            failed.to_string(),
            "error: could not deliver 9 spans to http://c/v1/traces and 2 log records to \
             http://c/v1/logs: refused"
        );
        failed.url = "http://c:4317".into();
        failed.logs = Some(lost("http://c:4317", "refused"));
        assert_eq!(
            failed.to_string(),
            "error: could not deliver 9 spans and 2 log records to http://c:4317: refused"
        );
        // Each with its own cause when they differ.
        failed.logs = Some(lost("http://c:4317", "quota"));
        assert_eq!(
            failed.to_string(),
            "error: could not deliver 9 spans to http://c:4317: refused; and 2 log records to \
             http://c:4317: quota"
        );
    }

    #[test]
    fn spans_dropped_from_a_full_queue_are_reported() {
        let dropped = report(Stats {
            ended: 1000,
            exported: 870,
            ..Stats::default()
        });
        assert!(!dropped.is_ok());
        assert_eq!((dropped.undelivered, dropped.dropped), (130, 130));
        assert_eq!(
            dropped.to_string(),
            "error: could not deliver 130 spans to http://c/v1/traces: 130 were dropped \
             because the export queue was full (870 exported); raise OTEL_BSP_MAX_QUEUE_SIZE \
             (now 2048)"
        );
    }
}
