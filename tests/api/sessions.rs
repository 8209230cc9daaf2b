//! Counseling sessions: logging, encrypted notes, the psychological tier, follow-ups.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use diesel::prelude::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::clients::create_client;
use crate::helpers::{Account, MASTER_KEY, TestApp, assert_problem, body};

struct Team {
    coordinator: Account,
    psychologist: Account,
    colleague_psychologist: Account,
    vocational: Account,
}

async fn team(app: &TestApp) -> Team {
    let admin = app.admin().await;
    let organisation = app.create_organisation(&admin, "PFM").await;
    let organisation = Some(organisation);
    let coordinator = app.staff(&admin, organisation, "coordinator", &["social"]).await;
    Team {
        psychologist: app.staff(&coordinator, organisation, "counselor", &["psychological"]).await,
        colleague_psychologist: app.staff(&coordinator, organisation, "counselor", &["psychological", "social"]).await,
        vocational: app.staff(&coordinator, organisation, "counselor", &["vocational"]).await,
        coordinator,
    }
}

async fn log(app: &TestApp, author: &Account, client: &str, session: Value) -> reqwest::Response {
    app.post(&format!("/api/v1/clients/{client}/sessions"))
        .bearer_auth(&author.token)
        .json(&session)
        .send()
        .await
        .unwrap()
}

async fn logged(app: &TestApp, author: &Account, client: &str, session: Value) -> Value {
    let response = log(app, author, client, session).await;
    assert_eq!(response.status(), StatusCode::CREATED, "{}", response.text().await.unwrap());
    response.json().await.unwrap()
}

fn psychological(notes: &str) -> Value {
    json!({"kind": "psychological", "mode": "in_person", "started_at": "2026-11-03T09:00:00Z", "duration_minutes": 50,
           "language": "ru", "interpreter_used": true, "topics": ["sleep", "trauma"], "summary": "Second meeting",
           "notes": notes})
}

#[tokio::test]
async fn a_psychological_session_exists_only_for_its_author_and_psychologists() {
    let app = TestApp::spawn().await;
    let team = team(&app).await;
    let client =
        create_client(&app, &team.psychologist, json!({"given_names": "Amina", "family_name": "Saidova"})).await;
    let client_id = client["id"].as_str().unwrap();
    let session = logged(&app, &team.psychologist, client_id, psychological("Nightmares since the journey.")).await;
    assert_eq!(session["notes"], "Nightmares since the journey.");
    let path = format!("/api/v1/sessions/{}", session["id"].as_str().unwrap());

    for outsider in [&team.vocational, &team.coordinator] {
        assert_problem(
            app.get(&path).bearer_auth(&outsider.token).send().await.unwrap(),
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
        let list: Value = body(
            app.get(&format!("/api/v1/clients/{client_id}/sessions"))
                .bearer_auth(&outsider.token)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(list["items"], json!([]), "the session is absent from the client's list");
        let all: Value = body(app.get("/api/v1/sessions").bearer_auth(&outsider.token).send().await.unwrap()).await;
        assert_eq!(all["items"], json!([]));
    }
    let colleague = app.get(&path).bearer_auth(&team.colleague_psychologist.token).send().await.unwrap();
    assert_eq!(colleague.status(), StatusCode::OK);
    assert_eq!(colleague.json::<Value>().await.unwrap()["notes"], "Nightmares since the journey.");

    let counts: Value = body(
        app.get("/api/v1/sessions/counts?from=2026-11-01&to=2026-11-30")
            .bearer_auth(&team.coordinator.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(counts["sessions"], 0, "outside the tier the figures leave it out");
    assert_eq!(counts["by_kind"], json!([]));
    assert_eq!(counts["minutes"], 0);
    assert_eq!(
        counts["psychological_by_month"],
        json!([{"month": "2026-11", "sessions": "<5", "hours": "<5"}]),
        "the coordinator learns of it only as a suppressed monthly cell"
    );
}

#[tokio::test]
async fn notes_are_ciphertext_in_the_database_and_never_in_lists() {
    let app = TestApp::spawn().await;
    let team = team(&app).await;
    let client =
        create_client(&app, &team.psychologist, json!({"given_names": "Amina", "family_name": "Saidova"})).await;
    let session = logged(
        &app,
        &team.psychologist,
        client["id"].as_str().unwrap(),
        psychological("Mentions her brother in Grozny."),
    )
    .await;
    let stored: Option<Vec<u8>> = app.db(|conn| {
        use casebridge::db::schema::sessions::dsl;
        dsl::sessions.select(dsl::notes_ciphertext).first(conn).unwrap()
    });
    let stored = stored.expect("notes are stored");
    assert!(!stored.windows(7).any(|w| w == b"brother"), "the column holds ciphertext");
    assert!(stored.len() >= "Mentions her brother in Grozny.".len() + 12 + 16, "nonce and tag are stored with it");

    let list: Value =
        body(app.get("/api/v1/sessions").bearer_auth(&team.psychologist.token).send().await.unwrap()).await;
    assert!(list["items"][0]["notes"].is_null());
    assert_eq!(list["items"][0]["has_notes"], true);
    let read: Value = body(
        app.get(&format!("/api/v1/sessions/{}", session["id"].as_str().unwrap()))
            .bearer_auth(&team.psychologist.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(read["notes"], "Mentions her brother in Grozny.");
    assert_eq!(app.audit_count("session.read_notes"), 1);
}

#[tokio::test]
async fn a_moved_or_altered_ciphertext_is_reported_not_returned() {
    let app = TestApp::spawn().await;
    let team = team(&app).await;
    let client =
        create_client(&app, &team.psychologist, json!({"given_names": "Amina", "family_name": "Saidova"})).await;
    let client_id = client["id"].as_str().unwrap();
    let first = logged(&app, &team.psychologist, client_id, psychological("First notes.")).await;
    let second = logged(&app, &team.psychologist, client_id, psychological("Second notes.")).await;
    let (first_id, second_id) = (first["id"].as_str().unwrap().to_owned(), second["id"].as_str().unwrap().to_owned());
    app.db(|conn| {
        use casebridge::db::schema::sessions::dsl;
        let moved: Option<Vec<u8>> = dsl::sessions.find(&first_id).select(dsl::notes_ciphertext).first(conn).unwrap();
        diesel::update(dsl::sessions.find(&second_id)).set(dsl::notes_ciphertext.eq(moved)).execute(conn).unwrap();
    });
    let read: Value = body(
        app.get(&format!("/api/v1/sessions/{second_id}")).bearer_auth(&team.psychologist.token).send().await.unwrap(),
    )
    .await;
    assert!(read["notes"].is_null());
    assert_eq!(read["notes_unreadable"], true);
    assert_eq!(app.audit_count("session.notes_unreadable"), 1);
}

#[tokio::test]
async fn rotating_the_master_key_leaves_every_note_readable_with_the_new_key_only() {
    let app = TestApp::spawn().await;
    let team = team(&app).await;
    let client =
        create_client(&app, &team.psychologist, json!({"given_names": "Amina", "family_name": "Saidova"})).await;
    let session =
        logged(&app, &team.psychologist, client["id"].as_str().unwrap(), psychological("Before rotation.")).await;
    let old = format!("test-1:{}", BASE64.encode(MASTER_KEY));
    let new = format!("test-2:{}", BASE64.encode([6u8; 32]));

    let (mut vars, _data) = app.vars();
    vars.insert("CASEBRIDGE_MASTER_KEYS".into(), format!("{old},{new}"));
    let config = casebridge::config::Config::from_vars(&vars).unwrap();
    let rotated = casebridge::cli::rotate_master_key(&config, 1, |_| {}).unwrap();
    assert_eq!(rotated, 1);
    assert_eq!(casebridge::cli::rotate_master_key(&config, 1, |_| {}).unwrap(), 0, "a second run has nothing left");

    let only_new = app
        .sibling_with(|vars| {
            vars.insert("CASEBRIDGE_MASTER_KEYS".into(), new.clone());
        })
        .await;
    let token = only_new.signed_in(team.psychologist.clone()).await.token;
    let read: Value = body(
        only_new
            .get(&format!("/api/v1/sessions/{}", session["id"].as_str().unwrap()))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(read["notes"], "Before rotation.");

    let (mut vars, _data) = app.vars();
    vars.insert("CASEBRIDGE_MASTER_KEYS".into(), old);
    let config = casebridge::config::Config::from_vars(&vars).unwrap();
    let error = casebridge::startup::Application::build(config).await.err().expect("the old key alone no longer fits");
    assert!(format!("{error:#}").contains("test-2"), "{error:#}");
}

#[tokio::test]
async fn a_wrong_master_key_is_a_clear_start_up_error() {
    let app = TestApp::spawn().await;
    let team = team(&app).await;
    let client =
        create_client(&app, &team.psychologist, json!({"given_names": "Amina", "family_name": "Saidova"})).await;
    logged(&app, &team.psychologist, client["id"].as_str().unwrap(), psychological("Notes.")).await;
    let (mut vars, _data) = app.vars();
    vars.insert("CASEBRIDGE_MASTER_KEYS".into(), format!("test-1:{}", BASE64.encode([9u8; 32])));
    let config = casebridge::config::Config::from_vars(&vars).unwrap();
    let error = casebridge::startup::Application::build(config).await.err().expect("start-up must fail");
    assert!(format!("{error:#}").contains("does not open the stored data keys"), "{error:#}");
}

#[tokio::test]
async fn a_counselor_logs_only_kinds_of_their_specialties() {
    let app = TestApp::spawn().await;
    let team = team(&app).await;
    let client = create_client(&app, &team.vocational, json!({"given_names": "Amina", "family_name": "Saidova"})).await;
    let response = log(&app, &team.vocational, client["id"].as_str().unwrap(), psychological("x")).await;
    let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert!(problem["errors"]["kind"].is_string());
    let bad = log(
        &app,
        &team.vocational,
        client["id"].as_str().unwrap(),
        json!({"kind": "vocational", "mode": "video", "started_at": "2999-01-01T00:00:00Z", "duration_minutes": 0, "language": "zz"}),
    )
    .await;
    let problem = assert_problem(bad, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    for field in ["started_at", "duration_minutes", "language"] {
        assert!(problem["errors"][field].is_string(), "no error for {field}: {problem}");
    }
}

#[tokio::test]
async fn the_author_deletes_within_24_hours_and_corrects_afterwards() {
    let app = TestApp::spawn().await;
    let team = team(&app).await;
    let client = create_client(&app, &team.vocational, json!({"given_names": "Amina", "family_name": "Saidova"})).await;
    let vocational =
        json!({"kind": "vocational", "mode": "phone", "started_at": "2026-11-03T09:00:00Z", "duration_minutes": 30});
    let session = logged(&app, &team.vocational, client["id"].as_str().unwrap(), vocational.clone()).await;
    let path = format!("/api/v1/sessions/{}", session["id"].as_str().unwrap());
    let stale = app
        .patch(&path)
        .bearer_auth(&team.vocational.token)
        .header("if-match", "\"7\"")
        .json(&json!({"duration_minutes": 45}))
        .send()
        .await
        .unwrap();
    assert_problem(stale, StatusCode::PRECONDITION_FAILED, "stale_version").await;
    let fixed = app
        .patch(&path)
        .bearer_auth(&team.vocational.token)
        .header("if-match", "\"1\"")
        .json(&json!({"duration_minutes": 45}))
        .send()
        .await
        .unwrap();
    assert_eq!(fixed.status(), StatusCode::OK);

    let id = session["id"].as_str().unwrap().to_owned();
    app.db(|conn| {
        use casebridge::db::schema::sessions::dsl;
        let two_days_ago = chrono::Utc::now().naive_utc() - chrono::Duration::hours(48);
        diesel::update(dsl::sessions.find(&id)).set(dsl::created_at.eq(two_days_ago)).execute(conn).unwrap();
    });
    let late = app.request(reqwest::Method::DELETE, &path).bearer_auth(&team.vocational.token).send().await.unwrap();
    assert_problem(late, StatusCode::CONFLICT, "deletion_window_passed").await;

    let fresh = logged(&app, &team.vocational, client["id"].as_str().unwrap(), vocational).await;
    let fresh_path = format!("/api/v1/sessions/{}", fresh["id"].as_str().unwrap());
    let by_other =
        app.request(reqwest::Method::DELETE, &fresh_path).bearer_auth(&team.coordinator.token).send().await.unwrap();
    assert_problem(by_other, StatusCode::FORBIDDEN, "forbidden").await;
    let by_author =
        app.request(reqwest::Method::DELETE, &fresh_path).bearer_auth(&team.vocational.token).send().await.unwrap();
    assert_eq!(by_author.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.get(&fresh_path).bearer_auth(&team.vocational.token).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn follow_ups_join_the_agenda_until_a_later_session_is_logged() {
    let app = TestApp::spawn().await;
    let team = team(&app).await;
    let client = create_client(&app, &team.vocational, json!({"given_names": "Amina", "family_name": "Saidova"})).await;
    let client_id = client["id"].as_str().unwrap();
    let first = logged(
        &app,
        &team.vocational,
        client_id,
        json!({"kind": "vocational", "mode": "phone", "started_at": "2026-11-03T09:00:00Z", "duration_minutes": 30, "follow_up_on": "2026-12-01"}),
    )
    .await;
    let agenda: Value =
        body(app.get("/api/v1/deadlines").bearer_auth(&team.coordinator.token).send().await.unwrap()).await;
    let follow_up = agenda["items"].as_array().unwrap().iter().find(|i| i["kind"] == "follow_up").expect("a follow-up");
    assert_eq!(follow_up["session_id"], first["id"]);
    assert_eq!(follow_up["due_on"], "2026-12-01");

    logged(
        &app,
        &team.vocational,
        client_id,
        json!({"kind": "vocational", "mode": "phone", "started_at": "2026-11-10T09:00:00Z", "duration_minutes": 30}),
    )
    .await;
    let agenda: Value =
        body(app.get("/api/v1/deadlines").bearer_auth(&team.coordinator.token).send().await.unwrap()).await;
    assert!(agenda["items"].as_array().unwrap().iter().all(|i| i["kind"] != "follow_up"), "{agenda}");
}

#[tokio::test]
async fn a_group_session_shows_on_every_participants_file() {
    let app = TestApp::spawn().await;
    let team = team(&app).await;
    let host = create_client(&app, &team.vocational, json!({"given_names": "Amina", "family_name": "Saidova"})).await;
    let guest =
        create_client(&app, &team.vocational, json!({"given_names": "Ales", "family_name": "Bialiatski"})).await;
    let workshop = logged(
        &app,
        &team.vocational,
        host["id"].as_str().unwrap(),
        json!({"kind": "vocational", "mode": "in_person", "started_at": "2026-11-03T09:00:00Z", "duration_minutes": 120,
               "topics": ["cv workshop"], "participants": [{"client_id": guest["id"], "attended": false}]}),
    )
    .await;
    assert_eq!(workshop["participants"].as_array().unwrap().len(), 2);
    let guest_list: Value = body(
        app.get(&format!("/api/v1/clients/{}/sessions", guest["id"].as_str().unwrap()))
            .bearer_auth(&team.vocational.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(guest_list["items"][0]["id"], workshop["id"]);
    let attendance = guest_list["items"][0]["participants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["client_id"] == guest["id"])
        .unwrap()
        .clone();
    assert_eq!(attendance["attended"], false);

    let stranger = crate::clients::counselor_of(&app, "HFPC").await;
    let theirs = create_client(&app, &stranger, json!({"given_names": "X", "family_name": "Y"})).await;
    let across = log(
        &app,
        &team.vocational,
        host["id"].as_str().unwrap(),
        json!({"kind": "vocational", "mode": "in_person", "started_at": "2026-11-03T09:00:00Z", "duration_minutes": 60,
               "participants": [{"client_id": theirs["id"]}]}),
    )
    .await;
    assert_problem(across, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
}
