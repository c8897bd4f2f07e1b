//! Test support for the workspace: nothing here is built into a program a
//! user runs.
//!
//! - [`exporter`]: one run of an example binary, a collector for it, and
//!   the checks on its delivery report that the failure cases share.
//! - [`pki`]: a CA with server and client certificates for loopback, as PEM
//!   files, for TLS and mutual-TLS tests.
//! - [`status`]: fake OTLP collectors (HTTP and gRPC) that answer each
//!   request from a script (statuses, successes, silence) and record when
//!   each request came, for testing how exporters handle failures.

pub mod exporter;
pub mod pki;
pub mod status;

pub use pki::Pki;
pub use status::{
    GrpcReply, GrpcStatusServer, HttpStatusServer, RecordedGrpcRequest, RecordedHttpRequest, Reply,
};
