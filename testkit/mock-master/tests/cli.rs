//! The `mock-master` binary as a user runs it: its help, and its logs when
//! stderr is not a terminal (redirected to a file or a pipe, as here).

use std::process::Command;

fn mock_master(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_mock-master"))
        .args(args)
        .env("RUST_LOG", "info")
        .output()
        .expect("the mock-master binary runs")
}

#[test]
fn help_names_the_operator_and_maintenance_rpcs() {
    let out = mock_master(&["--help"]);
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for rpc in [
        "SetWeight",
        "SetQuota",
        "RemoveQuota",
        "Reserve",
        "Unreserve",
        "GetRoles",
        "GetAgents",
        "ScheduleMaintenance",
        "EndMaintenance",
    ] {
        assert!(help.contains(rpc), "--help does not name {rpc}:\n{help}");
    }
    assert!(help.contains("--config"), "{help}");
}

#[test]
fn logs_redirected_away_from_a_terminal_carry_no_colour_codes() {
    // A configuration error: logged through tracing, exit code 2, before
    // anything listens.
    let out = mock_master(&["--agent-resources", "cpus:lots", "--listen", "127.0.0.1:0"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let log = String::from_utf8(out.stderr).unwrap();
    assert!(log.contains("invalid configuration"), "{log}");
    assert!(log.contains("--agent-resources"), "{log}");
    assert!(
        !log.contains('\u{1b}'),
        "ANSI escapes in redirected logs: {log:?}"
    );
}
