//! The environment variables the examples read: one table (for `--help` and
//! the README), and a parser per kind of value. Every parser refuses a bad
//! value with one line that names the variable, the value (never a secret)
//! and the accepted form; an empty value counts as unset, as the
//! specification says.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, bail};

/// One variable: its name, what it sets, and the form it accepts.
#[derive(Debug, Clone, Copy)]
pub struct Variable {
    pub name: &'static str,
    pub sets: &'static str,
    pub accepts: &'static str,
}

const fn var(name: &'static str, sets: &'static str, accepts: &'static str) -> Variable {
    Variable {
        name,
        sets,
        accepts,
    }
}

pub const TRACES_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";
pub const ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
pub const TRACES_HEADERS: &str = "OTEL_EXPORTER_OTLP_TRACES_HEADERS";
pub const HEADERS: &str = "OTEL_EXPORTER_OTLP_HEADERS";
pub const TRACE_TOKEN: &str = "TRACE_TOKEN";
pub const TRACES_TIMEOUT: &str = "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT";
pub const TIMEOUT: &str = "OTEL_EXPORTER_OTLP_TIMEOUT";
pub const TRACES_COMPRESSION: &str = "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION";
pub const COMPRESSION: &str = "OTEL_EXPORTER_OTLP_COMPRESSION";
pub const TRACES_PROTOCOL: &str = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL";
pub const PROTOCOL: &str = "OTEL_EXPORTER_OTLP_PROTOCOL";
pub const TRACES_CERTIFICATE: &str = "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE";
pub const CERTIFICATE: &str = "OTEL_EXPORTER_OTLP_CERTIFICATE";
pub const TRACES_CLIENT_CERTIFICATE: &str = "OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE";
pub const CLIENT_CERTIFICATE: &str = "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE";
pub const TRACES_CLIENT_KEY: &str = "OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY";
pub const CLIENT_KEY: &str = "OTEL_EXPORTER_OTLP_CLIENT_KEY";
pub const SERVICE_NAME: &str = "OTEL_SERVICE_NAME";
pub const RESOURCE_ATTRIBUTES: &str = "OTEL_RESOURCE_ATTRIBUTES";
pub const SAMPLER: &str = "OTEL_TRACES_SAMPLER";
pub const SAMPLER_ARG: &str = "OTEL_TRACES_SAMPLER_ARG";
pub const BSP_SCHEDULE_DELAY: &str = "OTEL_BSP_SCHEDULE_DELAY";
pub const BSP_MAX_QUEUE_SIZE: &str = "OTEL_BSP_MAX_QUEUE_SIZE";
pub const BSP_MAX_EXPORT_BATCH_SIZE: &str = "OTEL_BSP_MAX_EXPORT_BATCH_SIZE";
pub const BSP_EXPORT_TIMEOUT: &str = "OTEL_BSP_EXPORT_TIMEOUT";
pub const LOGS_EXPORTER: &str = "OTEL_LOGS_EXPORTER";
pub const LOGS_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT";
/// The per-signal logs variables these examples do not read (log records
/// go with the traces' settings), each with the variable to set instead.
pub const LOGS_UNSUPPORTED: [(&str, &str); 7] = [
    ("OTEL_EXPORTER_OTLP_LOGS_HEADERS", HEADERS),
    ("OTEL_EXPORTER_OTLP_LOGS_TIMEOUT", TIMEOUT),
    ("OTEL_EXPORTER_OTLP_LOGS_COMPRESSION", COMPRESSION),
    ("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", PROTOCOL),
    ("OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE", CERTIFICATE),
    (
        "OTEL_EXPORTER_OTLP_LOGS_CLIENT_CERTIFICATE",
        CLIENT_CERTIFICATE,
    ),
    ("OTEL_EXPORTER_OTLP_LOGS_CLIENT_KEY", CLIENT_KEY),
];
pub const BSP_MAX_CONCURRENT_EXPORTS: &str = "OTEL_BSP_MAX_CONCURRENT_EXPORTS";

/// Every variable the examples read, in the order `--help` lists them. A
/// `..._TRACES_...` variable beats its general twin; a flag beats both.
pub const VARIABLES: &[Variable] = &[
    var(
        TRACES_ENDPOINT,
        "full URL of the traces endpoint, used as is (--endpoint beats it)",
        "http:// or https:// URL, port 1-65535, no query or fragment",
    ),
    var(
        ENDPOINT,
        "collector base URL; the HTTP exporter appends /v1/traces",
        "as above",
    ),
    var(
        TRACES_HEADERS,
        "extra headers (HTTP) or metadata (gRPC) on every export",
        "key1=value1,key2=value2 (values percent-encoded)",
    ),
    var(HEADERS, "as above, for every signal", "as above"),
    var(
        TRACE_TOKEN,
        "the token sent as `authentication` (same as --token; replaces one from the headers)",
        "text allowed in a header",
    ),
    var(
        TRACES_TIMEOUT,
        "how long one export may take (same as --export-timeout)",
        "milliseconds, 1-600000",
    ),
    var(TIMEOUT, "as above, for every signal", "as above"),
    var(
        TRACES_COMPRESSION,
        "compression of the export bodies",
        "gzip (the default) or none",
    ),
    var(COMPRESSION, "as above, for every signal", "as above"),
    var(
        TRACES_PROTOCOL,
        "wire protocol; each example has one, so this can only confirm it",
        "grpc or http/protobuf",
    ),
    var(PROTOCOL, "as above, for every signal", "as above"),
    var(
        TRACES_CERTIFICATE,
        "CA certificates trusted for an https:// endpoint, beside the system's",
        "path of a PEM file",
    ),
    var(CERTIFICATE, "as above, for every signal", "as above"),
    var(
        TRACES_CLIENT_CERTIFICATE,
        "client certificate for mutual TLS (with ..._CLIENT_KEY)",
        "path of a PEM file",
    ),
    var(CLIENT_CERTIFICATE, "as above, for every signal", "as above"),
    var(
        TRACES_CLIENT_KEY,
        "private key of the client certificate",
        "path of a PEM file (PKCS#8, PKCS#1 or SEC1)",
    ),
    var(CLIENT_KEY, "as above, for every signal", "as above"),
    var(
        SERVICE_NAME,
        "resource `service.name` (same as --service-name)",
        "any text",
    ),
    var(
        RESOURCE_ATTRIBUTES,
        "extra resource attributes (`service.name` here beats the example's default)",
        "key1=value1,key2=value2 (values percent-encoded)",
    ),
    var(
        SAMPLER,
        "which traces are recorded",
        "always_on, always_off, traceidratio, parentbased_always_on (the default), \
         parentbased_always_off, parentbased_traceidratio",
    ),
    var(
        SAMPLER_ARG,
        "the ratio of the *traceidratio samplers",
        "a number from 0 to 1 (default 1)",
    ),
    var(
        BSP_SCHEDULE_DELAY,
        "delay between two batch exports",
        "milliseconds (default 500 here, for teaching; the SDK's is 5000)",
    ),
    var(
        BSP_MAX_QUEUE_SIZE,
        "spans the batch processor holds; more are dropped and reported",
        "a positive integer (default 2048)",
    ),
    var(
        BSP_MAX_EXPORT_BATCH_SIZE,
        "spans per export request",
        "a positive integer (default 512), at most the queue size",
    ),
    var(
        LOGS_EXPORTER,
        "whether log lines are also sent as OTLP log records, with every setting of the traces",
        "otlp (the default) or none",
    ),
    var(
        LOGS_ENDPOINT,
        "full URL of the logs endpoint, used as is (--endpoint beats it); \
         other ..._LOGS_... variables are refused",
        "the same form as the traces endpoint; by default the traces' collector, /v1/logs for OTLP/HTTP",
    ),
];

/// The table as `--help` shows it after the options.
pub fn help() -> String {
    let width = VARIABLES.iter().map(|v| v.name.len()).max().unwrap_or(0);
    let mut out = String::from(
        "Environment (a flag beats a ..._TRACES_... variable, which beats its general twin; \
         empty means unset; a bad value stops the example with exit status 2):\n",
    );
    for v in VARIABLES {
        out.push_str(&format!("  {:width$}  {}; {}\n", v.name, v.sets, v.accepts));
    }
    out.push_str(&format!(
        "  ({BSP_EXPORT_TIMEOUT} and {BSP_MAX_CONCURRENT_EXPORTS} have no effect on the \
         batch processor these examples use; setting them prints a note.)"
    ));
    out
}

/// Reads variables through a lookup function (the process environment, or a
/// map in tests); an empty or blank value is unset.
pub struct Env<'a> {
    lookup: &'a dyn Fn(&str) -> Option<OsString>,
}

impl<'a> Env<'a> {
    pub fn new(lookup: &'a dyn Fn(&str) -> Option<OsString>) -> Self {
        Env { lookup }
    }

    /// The value of `name`, `None` when unset or blank.
    pub fn get(&self, name: &str) -> anyhow::Result<Option<String>> {
        match (self.lookup)(name) {
            None => Ok(None),
            Some(value) => match value.into_string() {
                Ok(value) if value.trim().is_empty() => Ok(None),
                Ok(value) => Ok(Some(value)),
                Err(_) => bail!("invalid {name}: the value is not valid UTF-8"),
            },
        }
    }

    /// The first of `names` that is set, with the name it came from.
    pub fn first(&self, names: &[&'static str]) -> anyhow::Result<Option<(&'static str, String)>> {
        for &name in names {
            if let Some(value) = self.get(name)? {
                return Ok(Some((name, value)));
            }
        }
        Ok(None)
    }

    /// Milliseconds within `range`.
    pub fn millis(
        &self,
        name: &'static str,
        range: std::ops::RangeInclusive<u64>,
    ) -> anyhow::Result<Option<Duration>> {
        let Some(value) = self.get(name)? else {
            return Ok(None);
        };
        millis(name, &value, range).map(Some)
    }

    /// A positive integer.
    pub fn positive(&self, name: &'static str) -> anyhow::Result<Option<usize>> {
        let Some(value) = self.get(name)? else {
            return Ok(None);
        };
        match value.trim().parse::<usize>() {
            Ok(n) if n > 0 => Ok(Some(n)),
            _ => bail!(
                "invalid {name} `{}`: expected a positive integer, for example 2048",
                shown(&value)
            ),
        }
    }

    /// The first of `names` that is set, read as the path of a file: the
    /// name it came from, the path and the file's contents.
    pub fn first_file(
        &self,
        names: &[&'static str],
    ) -> anyhow::Result<Option<(&'static str, PathBuf, Vec<u8>)>> {
        let Some((name, value)) = self.first(names)? else {
            return Ok(None);
        };
        let path = PathBuf::from(value.trim());
        let contents = std::fs::read(&path).with_context(|| {
            format!(
                "invalid {name}: cannot read `{}`; expected the path of a PEM file",
                path.display()
            )
        })?;
        Ok(Some((name, path, contents)))
    }
}

/// `value` as milliseconds within `range`; `source` names the flag or variable.
pub fn millis(
    source: &str,
    value: &str,
    range: std::ops::RangeInclusive<u64>,
) -> anyhow::Result<Duration> {
    match value.trim().parse::<u64>() {
        Ok(ms) if range.contains(&ms) => Ok(Duration::from_millis(ms)),
        _ => bail!(
            "invalid {source} `{}`: expected milliseconds from {} to {}, for example 1500",
            shown(value),
            range.start(),
            range.end()
        ),
    }
}

/// A value as a message shows it: one safe line, at most 80 characters.
pub fn shown(value: &str) -> String {
    crate::text::one_line(value, 80)
}

/// Parses the `key1=value1,key2=value2` lists of `OTEL_EXPORTER_OTLP_HEADERS`
/// and `OTEL_RESOURCE_ATTRIBUTES` (the W3C Baggage format without
/// properties): keys are trimmed, values trimmed and percent-decoded. The
/// values may be secrets, so a message names the entry by position and key,
/// never by its value.
pub fn key_value_list(name: &str, value: &str) -> anyhow::Result<Vec<(String, String)>> {
    let form = "the accepted form is key1=value1,key2=value2 with values percent-encoded";
    let entries: Vec<&str> = value.split(',').collect();
    let count = entries.len();
    let mut out = Vec::with_capacity(count);
    for (index, entry) in entries.into_iter().enumerate() {
        let position = format!("entry {} of {count}", index + 1);
        if entry.trim().is_empty() {
            bail!("invalid {name}: {position} is empty; {form}");
        }
        let Some((key, raw)) = entry.split_once('=') else {
            bail!("invalid {name}: {position} has no `=`; {form}");
        };
        let key = key.trim();
        if key.is_empty() {
            bail!("invalid {name}: {position} has no key before `=`; {form}");
        }
        let Some(decoded) = percent_decode(raw.trim()) else {
            bail!(
                "invalid {name}: the value of `{}` ({position}) has a bad percent escape or is \
                 not UTF-8 once decoded; {form}",
                shown(key)
            );
        };
        out.push((key.to_owned(), decoded));
    }
    Ok(out)
}

/// `%XX` escapes decoded (nothing else: `+` stays `+`); `None` for a bad
/// escape or bytes that are not UTF-8.
pub fn percent_decode(value: &str) -> Option<String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_value_lists_are_trimmed_and_percent_decoded() {
        let parsed = key_value_list("X", " a = 1 ,b=hello%20world, c=%E4%BD%A0").unwrap();
        assert_eq!(
            parsed,
            [
                ("a".to_owned(), "1".to_owned()),
                ("b".to_owned(), "hello world".to_owned()),
                ("c".to_owned(), "你".to_owned())
            ]
        );
    }

    #[test]
    fn bad_key_value_entries_are_named_without_their_value() {
        for (value, expected) in [
            ("k=v,broken", "entry 2 of 2 has no `=`"),
            ("k=v,,x=y", "entry 2 of 3 is empty"),
            ("=secret", "entry 1 of 1 has no key"),
            (
                "token=abc%zz",
                "the value of `token` (entry 1 of 1) has a bad percent escape",
            ),
            ("token=abc%ff", "is not UTF-8 once decoded"),
        ] {
            let err = key_value_list("OTEL_EXPORTER_OTLP_HEADERS", value)
                .unwrap_err()
                .to_string();
            assert!(err.contains(expected), "{value}: {err}");
            assert!(
                err.starts_with("invalid OTEL_EXPORTER_OTLP_HEADERS: "),
                "{err}"
            );
            assert!(!err.contains("secret") && !err.contains("abc"), "{err}");
        }
    }

    #[test]
    fn millis_names_the_source_and_range() {
        assert_eq!(millis("X", " 250 ", 1..=10).ok(), None);
        assert_eq!(millis("X", "5", 1..=10).unwrap(), Duration::from_millis(5));
        let err = millis("OTEL_EXPORTER_OTLP_TIMEOUT", "1.5s", 1..=600_000)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "invalid OTEL_EXPORTER_OTLP_TIMEOUT `1.5s`: expected milliseconds from 1 to 600000, for example 1500"
        );
    }

    #[test]
    fn readme_table_is_this_table() {
        let readme = include_str!("../../README.md");
        let block = readme
            .split("<!-- variables -->\n")
            .nth(1)
            .and_then(|rest| rest.split("<!-- /variables -->").next())
            .expect("README.md has a <!-- variables --> table");
        let mut expected = String::from("| variable | sets | accepts |\n|---|---|---|\n");
        for v in VARIABLES {
            expected.push_str(&format!("| `{}` | {} | {} |\n", v.name, v.sets, v.accepts));
        }
        assert_eq!(block, expected);
    }

    #[test]
    fn help_lists_every_variable() {
        let help = help();
        for v in VARIABLES {
            assert!(help.contains(v.name), "{}", v.name);
        }
    }
}
