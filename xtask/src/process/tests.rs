//! Unit tests for starting other programs.

use super::*;

#[test]
fn printable_quotes_arguments_with_spaces_and_cuts_long_ones() {
    let cmd = Cmd::new("wrangler").args(["d1", "--command", "SELECT 'a'"]);
    assert_eq!(
        cmd.printable(),
        "wrangler d1 --command 'SELECT '\\''a'\\'''"
    );
    let long = "x".repeat(200);
    assert!(Cmd::new("a").arg(&long).printable().ends_with("x…"));
}

#[test]
fn a_timeout_ends_the_whole_group() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("child.pid");
    // A shell that starts a grandchild in its group, then waits.
    let script = format!("sleep 30 & echo $! > '{}'; wait", pid_file.display());
    let err = Cmd::new("sh")
        .args(["-c", &script])
        .capture(Duration::from_millis(800), OnStop::End)
        .unwrap_err();
    assert!(
        format!("{err:#}").contains("did not finish within"),
        "{err:#}"
    );
    let grandchild: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let state = std::fs::read_to_string(format!("/proc/{grandchild}/stat")).unwrap_or_default();
    let alive = state
        .rsplit(')')
        .next()
        .is_some_and(|rest| !rest.trim_start().starts_with('Z'));
    assert!(!alive, "the grandchild outlived the timeout: {state}");
}

#[test]
fn captures_output_and_status() {
    let captured = Cmd::new("sh")
        .args(["-c", "echo out; echo err >&2; exit 3"])
        .capture(Duration::from_secs(10), OnStop::End)
        .unwrap();
    assert_eq!(captured.status.code(), Some(3));
    assert_eq!(
        (captured.stdout.as_str(), captured.stderr.as_str()),
        ("out\n", "err\n")
    );
}
