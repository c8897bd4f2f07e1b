//! The shape of examples-http-with-db's trace (STUB: being written).

use collector::Trace;

/// examples-http-with-db: client, server, database and cache in one trace.
pub fn http_with_db(trace: &Trace) -> Result<(), Vec<String>> {
    let _ = trace;
    Err(vec!["not written yet".to_owned()])
}
