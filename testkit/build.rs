//! Compiles the operator API's .proto with protox (a pure-Rust protobuf
//! compiler), so building needs no system `protoc`. The `corral.v1`
//! messages it imports from the SDK's protos are the SDK's generated types
//! (`corral_proto::pb`), not generated again.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let file = "proto/corral/v1/operator.proto";
    let sdk_protos = "../sdk/proto/proto";
    println!("cargo:rerun-if-changed={file}");
    println!("cargo:rerun-if-changed={sdk_protos}/corral/v1/mesos.proto");
    let descriptors = protox::Compiler::new(["proto", sdk_protos])?
        .include_source_info(true)
        .include_imports(false)
        .open_file(file)?
        .file_descriptor_set();
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .extern_path(".corral.v1.Resource", "::corral_proto::pb::Resource")
        .compile_fds(descriptors)?;
    Ok(())
}
