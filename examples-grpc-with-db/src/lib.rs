//! GoFrame's `grpc-with-db` example in Rust: a tonic `user.User` service
//! (Insert, Query, Delete) on a database behind a cache, traced end to end.
//!
//! - [`proto`]: the messages, `UserClient` and `UserServer`, generated from
//!   `proto/user.proto` by `build.rs` (no system `protoc`);
//! - [`otel`]: the gRPC tracing, as a client layer and a server layer
//!   (CLIENT/SERVER spans, context and baggage in gRPC metadata);
//! - the binaries: `grpc-db-server` (the service on `userdb`) and
//!   `grpc-db-client` (GoFrame's four calls under one root span).

pub mod otel;

/// The code generated from `proto/user.proto` (package `user`).
pub mod proto {
    tonic::include_proto!("user");
}
