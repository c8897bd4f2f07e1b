//! Shared pieces of the tracing examples, so that no example copies them:
//!
//! - [`client`]: the traced HTTP call the example clients make (client span, context injection);
//! - [`server`]: what every example server does around its routes: listen and say where, stop on
//!   Ctrl-C or SIGTERM with a grace period for open requests;
//! - [`config`]: the command-line/environment options (flag > `OTEL_*` > default);
//! - [`telemetry`]: OTLP/HTTP and OTLP/gRPC set-up for spans and log records, and the delivery report at shutdown;
//! - [`users`]: the demo user data (`GetUser` and friends), each call in its own span;
//! - `log`: the `tracing` subscriber: `tracing::info!` lines on stderr with the current trace id,
//!   and over OTLP as log records on their span.

pub mod client;
pub mod config;
mod log;
pub mod server;
pub mod telemetry;
mod text;
pub mod users;
