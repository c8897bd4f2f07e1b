//! A search for traces (`GET /api/traces?...`, [`crate::Collector::search`]):
//! what it asks, read from query parameters with a clear error for a bad
//! one. The store answers it (`store.rs`), in one pass over the traces and
//! only over the spans of those the summary-level conditions let through.
//! A search for log records of no trace (`GET /api/logs?...`, [`LogQuery`])
//! is read the same way.

use std::time::Duration;

/// What a trace must have to be listed; every condition given must hold
/// (AND). The empty query lists every trace.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TraceQuery {
    /// A span of this service (`service=`).
    pub service: Option<String>,
    /// A span with this name (`span=`)...
    pub span: Option<String>,
    /// ...carrying each of these attributes, on the span itself or its
    /// resource (`attr=KEY=VALUE`, repeatable). A value is compared as the
    /// JSON API shows it: a string as it is, anything else as its JSON
    /// (`user.id=100`, `error=true`). With `span`, the same span must have
    /// the name and the attributes.
    pub attributes: Vec<(String, String)>,
    /// The trace (latest end minus earliest start) at least this long
    /// (`min_duration_ms=`, a decimal number of milliseconds).
    pub min_duration: Option<Duration>,
    /// ...and at most this long (`max_duration_ms=`).
    pub max_duration: Option<Duration>,
    /// At least one span with status error (`errors=true`).
    pub errors: bool,
    /// At most this many traces, the newest (`limit=`).
    pub limit: Option<usize>,
    /// Traces of this run only (`run=`; see `GET /api/runs`).
    pub run: Option<u32>,
}

/// The query parameters a search takes.
pub(crate) const PARAMETERS: &[&str] = &[
    "service",
    "span",
    "attr",
    "min_duration_ms",
    "max_duration_ms",
    "errors",
    "limit",
    "run",
];

/// A query parameter that could not be taken: which, and what it takes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// A parameter the query does not know.
    #[error("unknown parameter {name:?}: {what} takes {}", known.join(", "))]
    Unknown {
        name: String,
        /// What was asked (`a search`, `/api/logs`).
        what: &'static str,
        known: &'static [&'static str],
    },
    /// A value the parameter cannot take.
    #[error("{name} must be {expected}, got {value:?}")]
    BadValue {
        name: String,
        expected: String,
        value: String,
    },
}

impl QueryError {
    fn bad(name: &str, expected: impl Into<String>, value: &str) -> QueryError {
        QueryError::BadValue {
            name: name.to_owned(),
            expected: expected.into(),
            value: value.to_owned(),
        }
    }
}

impl TraceQuery {
    /// From query parameters (`name=value` pairs, already percent-decoded);
    /// an empty value is no condition. An unknown parameter or a bad value
    /// is an error that says which and what is expected.
    pub fn from_pairs<K, V>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Result<TraceQuery, QueryError>
    where
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut query = TraceQuery::default();
        for (name, value) in pairs {
            let (name, value) = (name.as_ref(), value.as_ref());
            if value.is_empty() && name != "attr" {
                continue;
            }
            match name {
                "service" => query.service = Some(value.to_owned()),
                "span" => query.span = Some(value.to_owned()),
                "attr" => match value.split_once('=') {
                    Some((key, wanted)) if !key.is_empty() => {
                        query.attributes.push((key.to_owned(), wanted.to_owned()));
                    }
                    _ => {
                        return Err(QueryError::bad(
                            name,
                            "KEY=VALUE (e.g. attr=user.id=100)",
                            value,
                        ));
                    }
                },
                "min_duration_ms" => query.min_duration = Some(millis(name, value)?),
                "max_duration_ms" => query.max_duration = Some(millis(name, value)?),
                "errors" => {
                    query.errors = match value {
                        "true" | "1" => true,
                        "false" | "0" => false,
                        _ => return Err(QueryError::bad(name, "true or false", value)),
                    }
                }
                "limit" => {
                    query.limit =
                        Some(value.parse().map_err(|_| {
                            QueryError::bad(name, "a whole number of traces", value)
                        })?);
                }
                "run" => query.run = Some(run_number(name, value)?),
                other => {
                    return Err(QueryError::Unknown {
                        name: other.to_owned(),
                        what: "a search",
                        known: PARAMETERS,
                    });
                }
            }
        }
        Ok(query)
    }

    /// Whether a trace of this length passes the duration bounds.
    pub(crate) fn duration_fits(&self, nanos: u64) -> bool {
        let nanos = u128::from(nanos);
        self.min_duration.is_none_or(|min| nanos >= min.as_nanos())
            && self.max_duration.is_none_or(|max| nanos <= max.as_nanos())
    }

    /// Whether the query looks at spans (not only at trace summaries).
    pub(crate) fn needs_spans(&self) -> bool {
        self.span.is_some() || !self.attributes.is_empty()
    }
}

/// A run number (1, 2, ...: see `GET /api/runs`): what `run=` takes, in a
/// search and in an export.
pub(crate) fn run_number(name: &str, value: &str) -> Result<u32, QueryError> {
    value
        .parse()
        .ok()
        .filter(|run| *run > 0)
        .ok_or_else(|| QueryError::bad(name, "a run number (1, 2, ...: GET /api/runs)", value))
}

/// A non-negative decimal number of milliseconds.
fn millis(name: &str, value: &str) -> Result<Duration, QueryError> {
    value
        .parse::<f64>()
        .ok()
        .filter(|ms| ms.is_finite() && *ms >= 0.0 && *ms < 1e15)
        .map(|ms| Duration::from_nanos((ms * 1e6).round() as u64))
        .ok_or_else(|| {
            QueryError::bad(
                name,
                format!("a number of milliseconds (e.g. {name}=2.5)"),
                value,
            )
        })
}

/// What a log record of no trace must have to be listed by `/api/logs`;
/// every condition given must hold (AND).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct LogQuery {
    /// Of this service (`service=`, exact).
    pub(crate) service: Option<String>,
    /// At least this severity number (`severity=WARN` or `severity=13`);
    /// a record of no severity (0) then never matches.
    pub(crate) min_severity: Option<i32>,
    /// This text in the body, any case (`q=`), kept lowercased.
    pub(crate) text: Option<String>,
    /// At most this many records, the newest (`limit=`).
    pub(crate) limit: Option<usize>,
}

/// The query parameters `/api/logs` takes.
const LOG_PARAMETERS: &[&str] = &["service", "severity", "q", "limit"];

/// The severity names a minimum severity can be given by, with the first
/// number of each range (the OTLP data model's).
const SEVERITIES: [(&str, i32); 6] = [
    ("TRACE", 1),
    ("DEBUG", 5),
    ("INFO", 9),
    ("WARN", 13),
    ("ERROR", 17),
    ("FATAL", 21),
];

impl LogQuery {
    /// From query parameters, as [`TraceQuery::from_pairs`]: an empty value
    /// is no condition; an unknown parameter or a bad value is an error that
    /// says which and what is expected.
    pub(crate) fn from_pairs<K, V>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Self, QueryError>
    where
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut query = LogQuery::default();
        for (name, value) in pairs {
            let (name, value) = (name.as_ref(), value.as_ref());
            if value.is_empty() {
                continue;
            }
            match name {
                "service" => query.service = Some(value.to_owned()),
                "severity" => query.min_severity = Some(severity(value)?),
                "q" => query.text = Some(value.to_lowercase()),
                "limit" => {
                    query.limit = Some(value.parse().map_err(|_| {
                        QueryError::bad(name, "a whole number of log records", value)
                    })?);
                }
                other => {
                    return Err(QueryError::Unknown {
                        name: other.to_owned(),
                        what: "/api/logs",
                        known: LOG_PARAMETERS,
                    });
                }
            }
        }
        Ok(query)
    }

    /// Whether a record passes every condition but the limit.
    pub(crate) fn matches(&self, log: &crate::model::LogRecord) -> bool {
        self.service.as_ref().is_none_or(|s| *s == log.service_name)
            && self
                .min_severity
                .is_none_or(|min| log.severity_number >= min)
            && self
                .text
                .as_ref()
                .is_none_or(|text| log.body.to_lowercase().contains(text.as_str()))
    }

    /// Whether any condition but the limit is given.
    pub(crate) fn filters(&self) -> bool {
        self.service.is_some() || self.min_severity.is_some() || self.text.is_some()
    }
}

/// A minimum severity: a name (`WARN`, any case) or a number 1-24.
fn severity(value: &str) -> Result<i32, QueryError> {
    if let Ok(number) = value.parse::<i32>()
        && (1..=24).contains(&number)
    {
        return Ok(number);
    }
    SEVERITIES
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(value))
        .map(|(_, number)| *number)
        .ok_or_else(|| {
            let names: Vec<&str> = SEVERITIES.iter().map(|(name, _)| *name).collect();
            QueryError::bad(
                "severity",
                format!("one of {} or a number 1-24", names.join(", ")),
                value,
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_parameter_is_read() {
        let query = TraceQuery::from_pairs([
            ("service", "svc"),
            ("span", "GetUser"),
            ("attr", "user.id=100"),
            ("attr", "url=http://x/?a=b"),
            ("min_duration_ms", "1.5"),
            ("max_duration_ms", "20"),
            ("errors", "true"),
            ("limit", "3"),
            ("run", "2"),
            ("service", "other"),
        ])
        .expect("a valid query");
        assert_eq!(
            query,
            TraceQuery {
                service: Some("other".into()),
                span: Some("GetUser".into()),
                attributes: vec![
                    ("user.id".into(), "100".into()),
                    ("url".into(), "http://x/?a=b".into())
                ],
                min_duration: Some(Duration::from_micros(1500)),
                max_duration: Some(Duration::from_millis(20)),
                errors: true,
                limit: Some(3),
                run: Some(2),
            }
        );
        let empty: [(&str, &str); 3] = [("service", ""), ("min_duration_ms", ""), ("errors", "")];
        assert_eq!(TraceQuery::from_pairs(empty), Ok(TraceQuery::default()));
    }

    #[test]
    fn a_bad_parameter_says_what_is_wrong() {
        for (pair, says) in [
            (
                ("min_duration_ms", "abc"),
                "min_duration_ms must be a number",
            ),
            (
                ("max_duration_ms", "-1"),
                "max_duration_ms must be a number",
            ),
            (
                ("max_duration_ms", "NaN"),
                "max_duration_ms must be a number",
            ),
            (("attr", "novalue"), "attr must be KEY=VALUE"),
            (("attr", "=x"), "attr must be KEY=VALUE"),
            (("attr", ""), "attr must be KEY=VALUE"),
            (("errors", "yes"), "errors must be true or false"),
            (("limit", "-2"), "limit must be a whole number"),
            (("run", "0"), "run must be a run number"),
            (("servise", "x"), "unknown parameter \"servise\""),
        ] {
            let error = TraceQuery::from_pairs([pair]).expect_err("a bad parameter");
            assert!(error.to_string().contains(says), "{pair:?}: {error}");
        }
    }

    #[test]
    fn durations_bound_both_ways() {
        let query = TraceQuery::from_pairs([("min_duration_ms", "1"), ("max_duration_ms", "2")])
            .expect("a valid query");
        assert!(!query.duration_fits(999_999));
        assert!(query.duration_fits(1_000_000));
        assert!(query.duration_fits(2_000_000));
        assert!(!query.duration_fits(2_000_001));
    }

    #[test]
    fn a_log_query_reads_names_and_numbers_and_says_what_is_wrong() {
        let query = LogQuery::from_pairs([
            ("service", "svc"),
            ("severity", "warn"),
            ("q", "Disk FULL"),
            ("limit", "5"),
        ])
        .expect("a valid query");
        assert_eq!(
            query,
            LogQuery {
                service: Some("svc".into()),
                min_severity: Some(13),
                text: Some("disk full".into()),
                limit: Some(5),
            }
        );
        assert_eq!(
            LogQuery::from_pairs([("severity", "17")]).map(|q| q.min_severity),
            Ok(Some(17))
        );
        for (pair, says) in [
            (("severity", "loud"), "severity must be one of TRACE"),
            (("severity", "25"), "severity must be one of"),
            (("limit", "x"), "limit must be a whole number"),
            (("level", "x"), "unknown parameter \"level\""),
        ] {
            let error = LogQuery::from_pairs([pair]).expect_err("a bad parameter");
            assert!(error.to_string().contains(says), "{pair:?}: {error}");
        }
    }
}
