//! The command line, as an operator uses it.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use crate::helpers::{PASSWORD, TestApp};

fn casebridge(args: &[&str], vars: &[(&str, &str)], stdin: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_casebridge"));
    command
        .args(args)
        .env_clear()
        .envs(vars.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

#[tokio::test]
async fn create_admin_reads_the_password_from_stdin_and_the_admin_can_sign_in() {
    let app = TestApp::spawn().await;
    let data = tempfile::tempdir().unwrap();
    let vars = [("DATABASE_URL", app.database_url.as_str()), ("CASEBRIDGE_DATA_DIR", data.path().to_str().unwrap())];
    let output = casebridge(
        &["create-admin", "--email", "first@example.org", "--name", "First Admin"],
        &vars,
        Some(&format!("{PASSWORD}\n")),
    );
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!stdout.contains(PASSWORD), "a password read from stdin is never printed");
    assert_eq!(app.login("first@example.org", PASSWORD).await.status(), reqwest::StatusCode::OK);

    let again = casebridge(&["create-admin", "--email", "FIRST@example.org", "--name", "Twin"], &vars, Some(PASSWORD));
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));

    let weak =
        casebridge(&["create-admin", "--email", "weak@example.org", "--name", "Weak"], &vars, Some("password1234"));
    assert!(!weak.status.success());
    assert!(String::from_utf8_lossy(&weak.stderr).contains("too easy to guess"));
}

#[tokio::test]
async fn audit_verify_reports_an_intact_chain() {
    let app = TestApp::spawn().await;
    app.admin().await;
    let data = tempfile::tempdir().unwrap();
    let vars = [("DATABASE_URL", app.database_url.as_str()), ("CASEBRIDGE_DATA_DIR", data.path().to_str().unwrap())];
    let output = casebridge(&["audit", "verify"], &vars, None);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stdout).contains("audit chain intact: 1 event(s) verified"));
}

#[test]
fn production_mode_refuses_to_start_without_secrets() {
    let data = tempfile::tempdir().unwrap();
    let database = data.path().join("db.sqlite");
    let output = casebridge(
        &["migrate"],
        &[("CASEBRIDGE_ENV", "production"), ("DATABASE_URL", database.to_str().unwrap())],
        None,
    );
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("are required in production mode"));
    assert!(!data.path().join("development-secrets.json").exists());
}

#[test]
fn serving_beyond_loopback_without_casebridge_env_is_refused_with_a_reason() {
    let data = tempfile::tempdir().unwrap();
    let database = data.path().join("db.sqlite");
    let output = casebridge(
        &["serve"],
        &[
            ("CASEBRIDGE_BIND", "0.0.0.0:0"),
            ("DATABASE_URL", database.to_str().unwrap()),
            ("CASEBRIDGE_DATA_DIR", data.path().to_str().unwrap()),
        ],
        None,
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("CASEBRIDGE_ENV is not set") && stderr.contains("127.0.0.1"), "{stderr}");
    assert!(!data.path().join("development-secrets.json").exists(), "no secrets generated");
    assert!(!database.exists(), "nothing created");
}

#[test]
fn the_openapi_command_prints_the_committed_document() {
    let output = casebridge(&["openapi"], &[], None);
    assert!(output.status.success());
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json")).unwrap();
    assert!(String::from_utf8_lossy(&output.stdout) == committed, "regenerate openapi/openapi.json");
}
