//! `why-not-offered`: asks a running mock master why a framework got
//! nothing under a role (`GET /master/why-not-offered`) and prints the
//! answer: the cause, its explanation, and each agent's cause. Exit code
//! 0 when answered, 1 when the master could not be reached or refused.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Why a framework gets no offers under a role, from the allocator's own decisions.
#[derive(Debug, Parser)]
#[command(name = "why-not-offered", version)]
struct Args {
    /// The master's address.
    #[arg(long, default_value = "127.0.0.1:5050")]
    master: SocketAddr,
    /// The framework's id.
    #[arg(long)]
    framework: String,
    /// The role.
    #[arg(long)]
    role: String,
    /// Print the JSON answer as it came.
    #[arg(long)]
    json: bool,
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn ask(args: &Args) -> Result<String, String> {
    let mut stream = TcpStream::connect(args.master)
        .await
        .map_err(|e| format!("{}: {e}", args.master))?;
    let request = format!(
        "GET /master/why-not-offered?framework_id={}&role={} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        encode(&args.framework),
        encode(&args.role),
        args.master
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(30), stream.read_to_string(&mut answer))
        .await
        .map_err(|_| "no answer within 30 s".to_owned())?
        .map_err(|e| e.to_string())?;
    let (head, body) = answer.split_once("\r\n\r\n").ok_or("a malformed answer")?;
    if !head.starts_with("HTTP/1.1 200") {
        return Err(format!("{}: {body}", head.lines().next().unwrap_or("")));
    }
    Ok(body.to_owned())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = Args::parse();
    let body = match ask(&args).await {
        Ok(body) => body,
        Err(err) => {
            eprintln!("why-not-offered: {err}");
            return ExitCode::from(1);
        }
    };
    if args.json {
        println!("{body}");
        return ExitCode::SUCCESS;
    }
    let answer: serde_json::Value = match serde_json::from_str(&body) {
        Ok(v) => v,
        Err(err) => {
            eprintln!("why-not-offered: the answer is not JSON: {err}");
            return ExitCode::from(1);
        }
    };
    let text = |v: &serde_json::Value| v.as_str().unwrap_or("").to_owned();
    println!(
        "{} under {}: {} ({})",
        text(&answer["framework_id"]),
        text(&answer["role"]),
        text(&answer["cause"]),
        text(&answer["explanation"])
    );
    for agent in answer["agents"].as_array().into_iter().flatten() {
        let mut line = format!("  {}: {}", text(&agent["agent"]), text(&agent["cause"]));
        if let Some(until) = agent["until"].as_f64() {
            line.push_str(&format!(" until {until} s"));
        }
        if let Some(by) = agent["held_by"].as_object() {
            let by: Vec<String> = by.iter().map(|(r, s)| format!("{r} (share {s})")).collect();
            if !by.is_empty() {
                line.push_str(&format!(" by {}", by.join(", ")));
            }
        }
        println!("{line}");
    }
    ExitCode::SUCCESS
}
