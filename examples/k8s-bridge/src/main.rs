//! k8s-bridge: not built yet. See this crate's README for what it will be.

fn main() -> std::process::ExitCode {
    eprintln!("k8s-bridge is not implemented yet; see examples/k8s-bridge/README.md");
    std::process::ExitCode::from(2)
}
