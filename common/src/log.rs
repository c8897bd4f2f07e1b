//! Log lines that carry the trace id of the span they are written in, as
//! GoFrame's logger does: `2026-01-02 03:04:05.678 [INFO] {4bf92f35...} message`.
//!
//! They go to stderr, so stdout stays for the example's results.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry::Context;
use opentelemetry::trace::TraceContextExt as _;

/// Logs at INFO level: `common::info!("got {}", answer)`.
#[macro_export]
macro_rules! info {
    ($($arg:tt)*) => { $crate::log::write("INFO", format_args!($($arg)*)) };
}

/// Logs at WARN level.
#[macro_export]
macro_rules! warn {
    ($($arg:tt)*) => { $crate::log::write("WARN", format_args!($($arg)*)) };
}

/// Logs at ERROR level.
#[macro_export]
macro_rules! error {
    ($($arg:tt)*) => { $crate::log::write("ERRO", format_args!($($arg)*)) };
}

/// Writes one log line to stderr; use the macros instead.
pub fn write(level: &str, message: fmt::Arguments<'_>) {
    eprintln!("{}", line(level, message));
}

fn line(level: &str, message: fmt::Arguments<'_>) -> String {
    let span_context = Context::current().span().span_context().clone();
    let trace = if span_context.is_valid() {
        format!("{{{}}} ", span_context.trace_id())
    } else {
        String::new()
    };
    format!(
        "{} [{level}] {trace}{message}",
        timestamp(SystemTime::now())
    )
}

/// `YYYY-MM-DD hh:mm:ss.mmm` in UTC.
fn timestamp(now: SystemTime) -> String {
    let since_epoch = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since_epoch.as_secs();
    let (days, of_day) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days as i64);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}.{:03}",
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60,
        since_epoch.subsec_millis()
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::{Tracer as _, TracerProvider as _};
    use std::time::Duration;

    #[test]
    fn timestamp_is_utc_calendar_time() {
        let t = UNIX_EPOCH + Duration::from_millis(1_709_251_199_123); // 2024-02-29 23:59:59.123
        assert_eq!(timestamp(t), "2024-02-29 23:59:59.123");
        assert_eq!(timestamp(UNIX_EPOCH), "1970-01-01 00:00:00.000");
    }

    #[test]
    fn line_carries_the_trace_id_of_the_current_span() {
        let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
        let tracer = provider.tracer("log-test");
        let outside = line("INFO", format_args!("no span"));
        assert!(outside.ends_with("[INFO] no span"), "{outside}");
        tracer.in_span("work", |cx| {
            let trace_id = cx.span().span_context().trace_id().to_string();
            let inside = line("INFO", format_args!("hello {}", 1));
            assert!(
                inside.ends_with(&format!("[INFO] {{{trace_id}}} hello 1")),
                "{inside}"
            );
        });
    }
}
