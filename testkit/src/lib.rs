//! Test support for the workspace: nothing here is built into a program a
//! user runs.
//!
//! - [`process`]: example binaries run as real processes with a hard time
//!   limit (one-shot runs and long-running servers), signals, another
//!   package's binary located from a test, a child's output line by line and
//!   the collector's startup banner, a closed port, a "black hole" server,
//!   the shared check of a delivery failure report, and a README's sample
//!   output.
//! - [`expect`]: the documented shape of each example's trace and output,
//!   checked by the examples' tests and the tour.
//! - [`exporter`]: one run of an example binary, a collector for it, and
//!   the checks that the in-process examples' tests share (delivery, its
//!   failure reports, token and TLS configuration, the README's sample).
//! - [`http`]: a hand-written HTTP/1.1 client for tests that control every
//!   byte they send (requests, raw bytes, chunked answers).
//! - [`otlp`]: OTLP export requests built by hand (ids, attributes, spans)
//!   and their POST to a collector.
//! - [`pki`]: a CA with server and client certificates for loopback, as PEM
//!   files, for TLS and mutual-TLS tests.
//! - [`servers`]: private MariaDB and Redis servers (Debian's packages) on
//!   free loopback ports in temporary directories, for the with-db examples.
//! - [`samples`]: the example READMEs' collector samples checked against
//!   what the collector binary prints.
//! - [`status`]: fake OTLP collectors (HTTP and gRPC) that answer each
//!   request from a script (statuses, successes, silence) and record when
//!   each request came, for testing how exporters handle failures.

pub mod expect;
pub mod exporter;
pub mod http;
pub mod otlp;
pub mod pki;
pub mod process;
pub mod samples;
pub mod servers;
pub mod status;

pub use pki::Pki;
pub use status::{
    GrpcReply, GrpcStatusServer, HttpStatusServer, RecordedGrpcRequest, RecordedHttpRequest, Reply,
};
