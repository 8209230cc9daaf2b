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

/// The operator's rotation: `keys status` shows what each master key wraps; after
/// `rotate-master-key` the old key wraps nothing (so it can be destroyed once the backups that
/// need it are gone), and the API runs and reads the notes with the new key alone.
#[tokio::test]
async fn keys_status_shows_the_old_master_key_wraps_nothing_after_rotation_and_is_no_longer_needed() {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD as BASE64;
    use serde_json::{Value, json};

    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let organisation = app.create_organisation(&admin, "PFM").await;
    let counselor = app.create_user(&admin, Some(organisation), "counselor").await;
    let mut sessions = Vec::new();
    for name in ["Amina", "Bella"] {
        let client =
            crate::clients::create_client(&app, &counselor, json!({"given_names": name, "family_name": "Saidova"}))
                .await;
        let response = app
            .post(&format!("/api/v1/clients/{}/sessions", client["id"].as_str().unwrap()))
            .bearer_auth(&counselor.token)
            .json(&json!({"kind": "legal", "mode": "phone", "started_at": "2026-11-03T09:00:00Z",
                          "duration_minutes": 40, "notes": format!("Notes of {name}")}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), reqwest::StatusCode::CREATED);
        sessions.push((name, response.json::<Value>().await.unwrap()));
    }
    let data = tempfile::tempdir().unwrap();
    let old = format!("test-1:{}", BASE64.encode(crate::helpers::MASTER_KEY));
    let new = format!("test-2:{}", BASE64.encode([6u8; 32]));
    let run = |args: &[&str], keys: &str| {
        let vars = [
            ("DATABASE_URL", app.database_url.as_str()),
            ("CASEBRIDGE_DATA_DIR", data.path().to_str().unwrap()),
            ("CASEBRIDGE_MASTER_KEYS", keys),
        ];
        let output = casebridge(args, &vars, None);
        assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let line_of = |status: &str, key: &str| -> String {
        status
            .lines()
            .find(|line| line.starts_with(&format!("{key}\t")))
            .unwrap_or_else(|| panic!("{status}"))
            .to_owned()
    };

    let before = run(&["keys", "status"], &old);
    assert!(line_of(&before, "test-1").starts_with("test-1\t2\tnewest"), "{before}");
    let both = format!("{old},{new}");
    let added = run(&["keys", "status"], &both);
    assert!(line_of(&added, "test-1").starts_with("test-1\t2\tstill wraps data keys"), "{added}");
    assert!(line_of(&added, "test-2").starts_with("test-2\t0\tnewest"), "{added}");

    assert!(run(&["rotate-master-key"], &both).contains("2 client data key(s) re-wrapped"));
    let rotated = run(&["keys", "status"], &both);
    assert!(line_of(&rotated, "test-1").starts_with("test-1\t0\twraps nothing"), "{rotated}");
    assert!(line_of(&rotated, "test-2").starts_with("test-2\t2\tnewest"), "{rotated}");

    let only_new = app
        .sibling_with(|vars| {
            vars.insert("CASEBRIDGE_MASTER_KEYS".into(), new.clone());
        })
        .await;
    let token = only_new.signed_in(counselor.clone()).await.token;
    for (name, session) in &sessions {
        let read: Value = crate::helpers::body(
            only_new
                .get(&format!("/api/v1/sessions/{}", session["id"].as_str().unwrap()))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(read["notes"], format!("Notes of {name}"), "readable without the old key");
    }
    let without_old = run(&["keys", "status"], &new);
    assert!(!without_old.contains("test-1") && !without_old.contains("NOT CONFIGURED"), "{without_old}");

    let only_old = [
        ("DATABASE_URL", app.database_url.as_str()),
        ("CASEBRIDGE_DATA_DIR", data.path().to_str().unwrap()),
        ("CASEBRIDGE_MASTER_KEYS", old.as_str()),
    ];
    let missing = casebridge(&["keys", "status"], &only_old, None);
    assert!(!missing.status.success(), "a database key that no configured key opens is a failure");
    let stdout = String::from_utf8_lossy(&missing.stdout);
    assert!(stdout.contains("test-2\t2\tNOT CONFIGURED"), "{stdout}{}", String::from_utf8_lossy(&missing.stderr));
}

#[tokio::test]
async fn outbox_status_counts_waiting_pending_delivered_and_failed() {
    use crate::webhooks::{Receiver, add_webhook, app_reaching_localhost, partners, refer};
    let app = app_reaching_localhost(200).await;
    let receiver = Receiver::start().await;
    let p = partners(&app).await;
    add_webhook(&app, &p.hfpc_coordinator, &receiver.url, &["referral_sent"]).await;
    refer(&app, &p, "legal").await;
    assert_eq!(receiver.wait_for(1, std::time::Duration::from_secs(10)).await.len(), 1);
    let data = tempfile::tempdir().unwrap();
    let vars = [("DATABASE_URL", app.database_url.as_str()), ("CASEBRIDGE_DATA_DIR", data.path().to_str().unwrap())];
    // The delivery is recorded just after the receiver answers.
    let mut stdout = String::new();
    for _ in 0..50 {
        let output = casebridge(&["outbox", "status"], &vars, None);
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        if stdout.contains("delivered\t1") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(stdout, "events waiting\t0\npending\t0\ndelivered\t1\nfailed\t0\n");
}
