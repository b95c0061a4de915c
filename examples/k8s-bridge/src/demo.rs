//! The demo `cargo run -p k8s-bridge` runs: filled in below.
