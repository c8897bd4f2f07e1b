//! Shared pieces of the tracing examples, so that no example copies them:
//!
//! - [`client`]: the traced HTTP call the example clients make (client span, context injection);
//! - [`server`]: what every example server does around its routes: listen and say where, stop on
//!   Ctrl-C or SIGTERM with a grace period for open requests;
//! - [`config`]: the command-line/environment options (flag > `OTEL_*` > default), the
//!   `otlp-config` crate;
//! - [`telemetry`]: OTLP/HTTP and OTLP/gRPC set-up for spans and log records, and the delivery
//!   report at shutdown (the `otlp-delivery` crate watches each signal);
//! - [`users`]: the demo user data (`GetUser` and friends), each call in its own span;
//! - `log`: the `tracing` subscriber: `tracing::info!` lines on stderr with the current trace id,
//!   and over OTLP as log records on their span.

pub mod client;
/// The flags and `OTEL_*` variables every example takes (the `otlp-config`
/// crate).
pub use otlp_config as config;
mod log;
pub mod server;
pub mod telemetry;
pub mod users;
