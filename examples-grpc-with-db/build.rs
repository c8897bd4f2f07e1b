//! Compiles `proto/user.proto` into Rust (messages, `UserClient`,
//! `UserServer`) with no system `protoc`: `protox` parses the file into a
//! descriptor set, `tonic-prost-build` generates the code from it into
//! `OUT_DIR`, where `tonic::include_proto!("user")` picks it up.

const PROTO: &str = "proto/user.proto";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed={PROTO}");
    let descriptors = protox::compile([PROTO], ["proto"])?;
    tonic_prost_build::configure().compile_fds(descriptors)?;
    Ok(())
}
