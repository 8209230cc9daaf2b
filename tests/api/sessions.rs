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
async fn a_hidden_psychological_session_does_not_close_a_follow_up_for_those_outside_the_tier() {
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
    logged(
        &app,
        &team.psychologist,
        client_id,
        json!({"kind": "psychological", "mode": "in_person", "started_at": "2026-11-10T09:00:00Z", "duration_minutes": 50}),
    )
    .await;
    let follow_ups = |agenda: Value| -> Vec<Value> {
        agenda["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["kind"] == "follow_up")
            .map(|i| i["session_id"].clone())
            .collect()
    };
    let for_coordinator: Value =
        body(app.get("/api/v1/deadlines").bearer_auth(&team.coordinator.token).send().await.unwrap()).await;
    assert_eq!(follow_ups(for_coordinator), vec![first["id"].clone()], "still open as far as the coordinator can see");
    let for_psychologist: Value =
        body(app.get("/api/v1/deadlines").bearer_auth(&team.psychologist.token).send().await.unwrap()).await;
    assert!(follow_ups(for_psychologist).is_empty(), "inside the tier the later session closes it");
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

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    count: i64,
}

#[derive(diesel::QueryableByName)]
struct Column {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
}

/// The columns of `sessions` whose stored bytes contain `needle` in clear, of any type
/// (ciphertext columns included).
fn session_columns_holding(app: &TestApp, needle: &str) -> Vec<String> {
    app.db(|conn| {
        let columns: Vec<Column> = if app.is_postgres() {
            diesel::sql_query(
                "SELECT column_name::text AS name FROM information_schema.columns \
                 WHERE table_schema = 'public' AND table_name = 'sessions'",
            )
            .load(conn)
            .unwrap()
        } else {
            diesel::sql_query("SELECT name FROM pragma_table_info('sessions')").load(conn).unwrap()
        };
        assert!(columns.iter().any(|c| c.name == "details_ciphertext"), "the column list is read");
        columns
            .into_iter()
            .filter(|column| {
                let bytes = if app.is_postgres() {
                    format!(
                        "CASE WHEN pg_typeof({0}) = 'bytea'::regtype THEN {0}::text::bytea ELSE convert_to({0}::text, 'UTF8') END",
                        column.name
                    )
                } else {
                    format!("CAST({} AS BLOB)", column.name)
                };
                let query = if app.is_postgres() {
                    format!(
                        "SELECT COUNT(*) AS count FROM sessions WHERE position(convert_to('{needle}', 'UTF8') IN ({bytes})) > 0"
                    )
                } else {
                    format!("SELECT COUNT(*) AS count FROM sessions WHERE instr({bytes}, CAST('{needle}' AS BLOB)) > 0")
                };
                diesel::sql_query(query).get_result::<Count>(conn).unwrap().count > 0
            })
            .map(|column| column.name)
            .collect()
    })
}

fn with_markers() -> Value {
    json!({"kind": "psychological", "mode": "in_person", "started_at": "2026-11-03T09:00:00Z", "duration_minutes": 50,
           "topics": ["sleep", "markertopic"], "summary": "Second meeting, markersummary", "notes": "markernotes"})
}

#[tokio::test]
async fn summary_and_topics_are_ciphertext_in_the_database_and_shown_in_reads_and_lists() {
    let app = TestApp::spawn().await;
    let team = team(&app).await;
    let client =
        create_client(&app, &team.psychologist, json!({"given_names": "Amina", "family_name": "Saidova"})).await;
    let client_id = client["id"].as_str().unwrap();
    let session = logged(&app, &team.psychologist, client_id, with_markers()).await;
    assert_eq!(session["summary"], "Second meeting, markersummary");
    assert_eq!(session["topics"], json!(["sleep", "markertopic"]));
    for marker in ["markertopic", "markersummary", "markernotes", "Second meeting"] {
        assert_eq!(session_columns_holding(&app, marker), Vec::<String>::new(), "{marker} is stored in clear");
    }
    assert_eq!(session_columns_holding(&app, "psychological"), vec!["kind".to_owned()], "the search can fail");

    let path = format!("/api/v1/sessions/{}", session["id"].as_str().unwrap());
    let read: Value = body(app.get(&path).bearer_auth(&team.psychologist.token).send().await.unwrap()).await;
    assert_eq!((&read["summary"], &read["topics"]), (&session["summary"], &session["topics"]));
    assert_eq!(read["details_unreadable"], false);
    for list in ["/api/v1/sessions".to_owned(), format!("/api/v1/clients/{client_id}/sessions")] {
        let page: Value =
            body(app.get(&list).bearer_auth(&team.colleague_psychologist.token).send().await.unwrap()).await;
        assert_eq!(page["items"][0]["summary"], "Second meeting, markersummary", "{list}");
        assert_eq!(page["items"][0]["topics"], json!(["sleep", "markertopic"]), "{list}");
        assert!(page["items"][0]["notes"].is_null(), "{list}");
    }

    // A correction of the topics alone keeps the summary, and stores both sealed again.
    let corrected: Value = body(
        app.patch(&path)
            .bearer_auth(&team.psychologist.token)
            .header("if-match", "\"1\"")
            .json(&json!({"topics": ["markerfresh"]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(corrected["topics"], json!(["markerfresh"]));
    assert_eq!(corrected["summary"], "Second meeting, markersummary");
    let read: Value = body(app.get(&path).bearer_auth(&team.psychologist.token).send().await.unwrap()).await;
    assert_eq!((&read["topics"], &read["notes"]), (&json!(["markerfresh"]), &json!("markernotes")));
    assert_eq!(session_columns_holding(&app, "markerfresh"), Vec::<String>::new());

    let export: Value = body(
        app.get(&format!("/api/v1/clients/{client_id}/export"))
            .bearer_auth(&team.coordinator.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(export["sessions"], json!([]), "the coordinator is outside the psychological tier");
}

#[tokio::test]
async fn summary_and_topics_moved_to_another_session_or_field_are_reported_unreadable() {
    let app = TestApp::spawn().await;
    let team = team(&app).await;
    let client =
        create_client(&app, &team.psychologist, json!({"given_names": "Amina", "family_name": "Saidova"})).await;
    let client_id = client["id"].as_str().unwrap();
    let first = logged(&app, &team.psychologist, client_id, with_markers()).await;
    let second = logged(&app, &team.psychologist, client_id, with_markers()).await;
    let third = logged(&app, &team.psychologist, client_id, with_markers()).await;
    let ids: Vec<String> = [&first, &second, &third].iter().map(|s| s["id"].as_str().unwrap().to_owned()).collect();
    app.db(|conn| {
        use casebridge::db::schema::sessions::dsl;
        let (details, notes): (Option<Vec<u8>>, Option<Vec<u8>>) =
            dsl::sessions.find(&ids[0]).select((dsl::details_ciphertext, dsl::notes_ciphertext)).first(conn).unwrap();
        diesel::update(dsl::sessions.find(&ids[1])).set(dsl::details_ciphertext.eq(details)).execute(conn).unwrap();
        let own_notes: Option<Vec<u8>> = dsl::sessions.find(&ids[2]).select(dsl::notes_ciphertext).first(conn).unwrap();
        assert!(notes.is_some());
        diesel::update(dsl::sessions.find(&ids[2])).set(dsl::details_ciphertext.eq(own_notes)).execute(conn).unwrap();
    });
    for id in &ids[1..] {
        let read: Value = body(
            app.get(&format!("/api/v1/sessions/{id}")).bearer_auth(&team.psychologist.token).send().await.unwrap(),
        )
        .await;
        assert_eq!(read["details_unreadable"], true, "{read}");
        assert!(read["summary"].is_null());
        assert_eq!(read["topics"], json!([]));
        assert_eq!(read["notes"], "markernotes", "the notes are intact");
    }
    let page: Value = body(
        app.get(&format!("/api/v1/clients/{client_id}/sessions"))
            .bearer_auth(&team.psychologist.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let flags: Vec<&Value> = page["items"].as_array().unwrap().iter().map(|s| &s["details_unreadable"]).collect();
    assert_eq!(flags, [&json!(false), &json!(true), &json!(true)]);
    assert_eq!(page["items"][0]["summary"], "Second meeting, markersummary");

    // Correcting one of the two would store the other as empty: both, or neither.
    let path = format!("/api/v1/sessions/{}", ids[1]);
    let one = app
        .patch(&path)
        .bearer_auth(&team.psychologist.token)
        .header("if-match", "\"1\"")
        .json(&json!({"summary": "Rewritten"}))
        .send()
        .await
        .unwrap();
    assert_problem(one, StatusCode::CONFLICT, "details_unreadable").await;
    let other = app
        .patch(&path)
        .bearer_auth(&team.psychologist.token)
        .header("if-match", "\"1\"")
        .json(&json!({"duration_minutes": 40}))
        .send()
        .await
        .unwrap();
    let other: Value = body(other).await;
    assert_eq!((&other["details_unreadable"], &other["duration_minutes"]), (&json!(true), &json!(40)));
    let both: Value = body(
        app.patch(&path)
            .bearer_auth(&team.psychologist.token)
            .header("if-match", "\"2\"")
            .json(&json!({"summary": "Rewritten", "topics": ["sleep"]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((&both["summary"], &both["details_unreadable"]), (&json!("Rewritten"), &json!(false)));
}

#[tokio::test]
async fn an_erased_clients_sessions_are_gone_and_get_no_new_key() {
    let app = TestApp::spawn().await;
    let team = team(&app).await;
    let client =
        create_client(&app, &team.psychologist, json!({"given_names": "Amina", "family_name": "Saidova"})).await;
    let client_id = client["id"].as_str().unwrap();
    let session = logged(&app, &team.psychologist, client_id, with_markers()).await;
    let path = format!("/api/v1/sessions/{}", session["id"].as_str().unwrap());
    let erased = app
        .post(&format!("/api/v1/clients/{client_id}/erase"))
        .bearer_auth(&team.coordinator.token)
        .json(&json!({"reason": "Request of 2026-11-20"}))
        .send()
        .await
        .unwrap();
    assert_eq!(erased.status(), StatusCode::NO_CONTENT);
    let stored = |app: &TestApp| -> (i32, Option<Vec<u8>>, Option<Vec<u8>>, i64) {
        app.db(|conn| {
            use casebridge::db::schema::{client_keys, sessions};
            let (version, notes, details) = sessions::table
                .select((sessions::version, sessions::notes_ciphertext, sessions::details_ciphertext))
                .first(conn)
                .unwrap();
            (version, notes, details, client_keys::table.count().get_result(conn).unwrap())
        })
    };
    assert_eq!(stored(&app), (1, None, None, 0), "erasure clears the sealed fields and destroys the key");

    let logged_again = log(&app, &team.psychologist, client_id, with_markers()).await;
    assert_problem(logged_again, StatusCode::GONE, "client_erased").await;
    let corrected = app
        .patch(&path)
        .bearer_auth(&team.psychologist.token)
        .header("if-match", "\"1\"")
        .json(&json!({"notes": "New notes", "summary": "New summary"}))
        .send()
        .await
        .unwrap();
    assert_problem(corrected, StatusCode::GONE, "client_erased").await;
    let deleted =
        app.request(reqwest::Method::DELETE, &path).bearer_auth(&team.psychologist.token).send().await.unwrap();
    assert_problem(deleted, StatusCode::GONE, "client_erased").await;
    assert_eq!(stored(&app), (1, None, None, 0), "nothing written, no data key created");

    let read = app.get(&path).bearer_auth(&team.psychologist.token).send().await.unwrap();
    assert_problem(read, StatusCode::GONE, "client_erased").await;
}

#[tokio::test]
async fn summaries_stored_in_clear_by_older_versions_are_sealed_at_start_up() {
    let app = TestApp::spawn().await;
    let team = team(&app).await;
    let client =
        create_client(&app, &team.psychologist, json!({"given_names": "Amina", "family_name": "Saidova"})).await;
    let client_id: casebridge::db::ClientId = client["id"].as_str().unwrap().parse().unwrap();
    let organisation_id: casebridge::db::OrganisationId = client["organisation_id"].as_str().unwrap().parse().unwrap();
    let me: Value = body(app.get("/api/v1/auth/me").bearer_auth(&team.psychologist.token).send().await.unwrap()).await;
    let counselor_id: casebridge::db::UserId = me["id"].as_str().unwrap().parse().unwrap();
    // Rows as versions before the sealed details wrote them: summary and topics in clear.
    let old_ids: Vec<casebridge::db::SessionId> = (0..3).map(|_| casebridge::db::SessionId::new()).collect();
    app.db(|conn| {
        use casebridge::db::schema::{session_participants, sessions};
        let now = chrono::Utc::now().naive_utc();
        for (n, id) in old_ids.iter().enumerate() {
            let (topics, summary) = match n {
                0 => (r#"["markeroldtopic","sleep"]"#, Some("markeroldsummary")),
                1 => (r#"["markeroldtopic"]"#, None),
                _ => ("[]", None),
            };
            diesel::insert_into(sessions::table)
                .values((
                    (
                        sessions::id.eq(id),
                        sessions::organisation_id.eq(organisation_id),
                        sessions::client_id.eq(client_id),
                        sessions::counselor_id.eq(counselor_id),
                        sessions::kind.eq("psychological"),
                        sessions::mode.eq("in_person"),
                        sessions::started_at.eq(now),
                    ),
                    (
                        sessions::duration_minutes.eq(50),
                        sessions::interpreter_used.eq(false),
                        sessions::topics.eq(topics),
                        sessions::summary.eq(summary),
                        sessions::created_at.eq(now),
                        sessions::updated_at.eq(now),
                        sessions::version.eq(1),
                    ),
                ))
                .execute(conn)
                .unwrap();
            diesel::insert_into(session_participants::table)
                .values((
                    session_participants::session_id.eq(id),
                    session_participants::client_id.eq(client_id),
                    session_participants::attended.eq(true),
                ))
                .execute(conn)
                .unwrap();
        }
    });
    assert!(!session_columns_holding(&app, "markeroldsummary").is_empty(), "stored in clear before");

    let restarted = app.sibling().await;
    for marker in ["markeroldtopic", "markeroldsummary"] {
        assert_eq!(session_columns_holding(&app, marker), Vec::<String>::new(), "{marker} left in clear");
    }
    let plaintext = |app: &TestApp| -> Vec<(String, Option<String>, Option<Vec<u8>>)> {
        app.db(|conn| {
            use casebridge::db::schema::sessions;
            sessions::table
                .filter(sessions::id.eq_any(&old_ids))
                .order(sessions::id)
                .select((sessions::topics, sessions::summary, sessions::details_ciphertext))
                .load(conn)
                .unwrap()
        })
    };
    let sealed = plaintext(&app);
    assert!(sealed.iter().all(|(topics, summary, _)| topics == "[]" && summary.is_none()), "plaintext emptied");
    assert_eq!(sealed.iter().map(|(_, _, sealed)| sealed.is_some()).collect::<Vec<_>>(), [true, true, false]);

    let token = restarted.signed_in(team.psychologist.clone()).await.token;
    let read: Value =
        body(restarted.get(&format!("/api/v1/sessions/{}", old_ids[0])).bearer_auth(&token).send().await.unwrap())
            .await;
    assert_eq!(read["summary"], "markeroldsummary");
    assert_eq!(read["topics"], json!(["markeroldtopic", "sleep"]));
    assert_eq!(read["details_unreadable"], false);
    let page: Value =
        body(restarted.get(&format!("/api/v1/clients/{client_id}/sessions")).bearer_auth(&token).send().await.unwrap())
            .await;
    let topics: Vec<&Value> = page["items"].as_array().unwrap().iter().map(|s| &s["topics"]).collect();
    assert_eq!(topics, [&json!(["markeroldtopic", "sleep"]), &json!(["markeroldtopic"]), &json!([])]);

    // A second start finds nothing left to seal and leaves the ciphertexts as they are.
    let _again = app.sibling().await;
    assert_eq!(plaintext(&app), sealed);
}
