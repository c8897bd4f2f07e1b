//! Helpers shared by the integration tests: OTLP requests built by hand
//! (testkit::otlp), the raw HTTP/1.1 client (testkit::http), and the
//! collector binary run as a child process.

#![allow(dead_code, unreachable_pub, unused_imports)] // each test binary uses a different subset

use std::io::Write as _;
use std::process::Child;

pub use testkit::otlp::{
    SPAN_ID, SPAN_ID_HEX, TRACE_ID, TRACE_ID_HEX, export, int_attr, post_export, send, span,
    string_attr, timed,
};

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).expect("writing to a Vec");
    encoder.finish().expect("writing to a Vec")
}

/// A child process (the collector binary), killed even when an assertion
/// fails.
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub use testkit::process::{COLLECTOR_FREE_PORTS, Signal, banner_addr, lines, signal};

/// The raw HTTP/1.1 client every test here uses.
pub use testkit::http::{HttpResponse, get, http_request, post};
