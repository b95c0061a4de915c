//! jenkins: not built yet. See this crate's README for what it will be.

fn main() -> std::process::ExitCode {
    eprintln!("jenkins is not implemented yet; see examples/jenkins/README.md");
    std::process::ExitCode::from(2)
}
