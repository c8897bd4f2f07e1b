//! Shared pieces of the tracing examples, so that no example copies them:
//!
//! - [`client`]: the traced HTTP call the example clients make (client span, context injection);
//! - [`config`]: the command-line/environment options (flag > `OTEL_*` > default);
//! - [`telemetry`]: OTLP/HTTP and OTLP/gRPC set-up, and the delivery report at shutdown;
//! - [`users`]: the demo user data (`GetUser` and friends), each call in its own span;
//! - [`log`]: log lines that carry the current trace id ([`info!`], [`warn!`], [`error!`]).

pub mod client;
pub mod config;
pub mod log;
pub mod telemetry;
mod text;
pub mod users;
