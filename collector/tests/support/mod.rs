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

impl Running {
    /// Starts `command` (the collector binary and its arguments) with its
    /// stdout dropped; its stderr comes line by line.
    pub fn with_stderr(
        mut command: std::process::Command,
    ) -> (Running, std::sync::mpsc::Receiver<String>) {
        let mut child = command
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("starting the collector");
        let stderr = lines(child.stderr.take().expect("piped stderr"));
        (Running(child), stderr)
    }
}

impl Running {
    /// Starts `command` with stdout and stderr piped: both come line by
    /// line.
    pub fn printing(
        mut command: std::process::Command,
    ) -> (
        Running,
        std::sync::mpsc::Receiver<String>,
        std::sync::mpsc::Receiver<String>,
    ) {
        let mut child = command
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("starting the collector");
        let stdout = lines(child.stdout.take().expect("piped stdout"));
        let stderr = lines(child.stderr.take().expect("piped stderr"));
        (Running(child), stdout, stderr)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub use testkit::process::{COLLECTOR_FREE_PORTS, Signal, banner_addr, lines, signal};

/// The raw HTTP/1.1 client every test here uses.
pub use testkit::http::{HttpResponse, get, http_request, post, send_raw};

/// A unary gRPC call to `path` of the collector at `endpoint` whose request
/// message is `bytes` as they are (malformed or not); the answer's bytes.
pub async fn grpc_raw(
    endpoint: String,
    path: &'static str,
    bytes: Vec<u8>,
) -> Result<Vec<u8>, tonic::Status> {
    let channel = tonic::transport::Channel::from_shared(endpoint)
        .expect("a valid endpoint")
        .connect()
        .await
        .expect("connecting to the collector");
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready()
        .await
        .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
    grpc.unary(
        tonic::Request::new(bytes),
        tonic::codegen::http::uri::PathAndQuery::from_static(path),
        raw::Bytes,
    )
    .await
    .map(tonic::Response::into_inner)
}

mod raw {
    use prost::bytes::{Buf as _, BufMut as _};
    use tonic::Status;
    use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};

    /// Messages as bytes, both ways.
    #[derive(Debug, Default)]
    pub struct Bytes;

    impl Codec for Bytes {
        type Encode = Vec<u8>;
        type Decode = Vec<u8>;
        type Encoder = Bytes;
        type Decoder = Bytes;

        fn encoder(&mut self) -> Bytes {
            Bytes
        }

        fn decoder(&mut self) -> Bytes {
            Bytes
        }
    }

    impl Encoder for Bytes {
        type Item = Vec<u8>;
        type Error = Status;

        fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
            dst.put_slice(&item);
            Ok(())
        }
    }

    impl Decoder for Bytes {
        type Item = Vec<u8>;
        type Error = Status;

        fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, Status> {
            let mut out = vec![0; src.remaining()];
            src.copy_to_slice(&mut out);
            Ok(Some(out))
        }
    }
}
