//! Support for the `gproc` and `gcmd` examples: one trace across a parent
//! process and its child.
//!
//! - [`env_carrier`]: the context and baggage in a child's environment
//!   (`TRACEPARENT`, `TRACESTATE`, `BAGGAGE`), as the OpenTelemetry
//!   specification defines environment variables as carriers; an
//!   [`EnvInjector`] for the parent, an [`EnvExtractor`] for the child.
//! - [`child`]: what both binaries do around the carrier: their flags for
//!   the child, the exporter settings and baggage handed to it, running it
//!   with a time limit, and the child's report of the baggage it received.

pub mod child;
pub mod env_carrier;

pub use env_carrier::{ChildEnv, EnvExtractor, EnvInjector, Names, normalize};
