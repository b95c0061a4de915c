//! Compiles the Mesos v1 scheduler protocol with protox (pure Rust, no
//! system `protoc`) and prost-build, and writes the descriptor set the JSON
//! codec reads at run time.

use prost::Message;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = [
        "proto/mesos/v1/mesos.proto",
        "proto/mesos/v1/scheduler/scheduler.proto",
        "proto/corral/mesos/lenient.proto",
    ];
    for file in files {
        println!("cargo:rerun-if-changed={file}");
    }
    let descriptors = protox::compile(files, ["proto"])?;
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out.join("mesos_v1.bin"), descriptors.encode_to_vec())?;
    prost_build::Config::new().compile_fds(descriptors)?;
    Ok(())
}
