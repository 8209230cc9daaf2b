//! Idempotent creation: a retry under the same key reads the resource again as its GET does;
//! the key records hold no content and expire after 24 hours.

use std::time::Duration;

use casebridge::db::schema::idempotency_keys;
use diesel::prelude::*;
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use sha2::Digest;

use crate::clients::create_client;
use crate::helpers::{Account, TestApp, assert_problem, body};

const NOTES: &str = "Flashbacks of the checkpoint at Terespol";
const SUMMARY: &str = "Third meeting, sleeping better";
const TOPIC: &str = "flashbacks";

struct Team {
    coordinator: Account,
    psychologist: Account,
    client_id: String,
}

async fn team(app: &TestApp) -> Team {
    let admin = app.admin().await;
    let organisation = Some(app.create_organisation(&admin, "PFM").await);
    let coordinator = app.staff(&admin, organisation, "coordinator", &["social"]).await;
    let psychologist = app.staff(&coordinator, organisation, "counselor", &["psychological"]).await;
    let client = create_client(app, &psychologist, json!({"given_names": "Amina", "family_name": "Saidova"})).await;
    Team { coordinator, psychologist, client_id: client["id"].as_str().unwrap().to_owned() }
}

fn session() -> Value {
    json!({"kind": "psychological", "mode": "in_person", "started_at": "2026-11-03T09:00:00Z", "duration_minutes": 50,
           "topics": [TOPIC], "summary": SUMMARY, "notes": NOTES})
}

async fn log_with_key(app: &TestApp, author: &Account, client_id: &str, key: &str) -> Response {
    app.post(&format!("/api/v1/clients/{client_id}/sessions"))
        .bearer_auth(&author.token)
        .header("idempotency-key", key)
        .json(&session())
        .send()
        .await
        .unwrap()
}

async fn logged_with_key(app: &TestApp, author: &Account, client_id: &str, key: &str) -> Value {
    let response = log_with_key(app, author, client_id, key).await;
    assert_eq!(response.status(), StatusCode::CREATED, "{}", response.text().await.unwrap());
    response.json().await.unwrap()
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
}

#[derive(QueryableByName)]
struct Cell {
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    value: Option<String>,
}

/// Every cell of `idempotency_keys`, whatever columns the table has, as text.
fn every_cell_of_the_key_records(app: &TestApp) -> Vec<String> {
    app.db(|conn| {
        let columns_query = if app.is_postgres() {
            "SELECT column_name::text AS name FROM information_schema.columns WHERE table_name = 'idempotency_keys'"
        } else {
            "SELECT name FROM pragma_table_info('idempotency_keys')"
        };
        let columns: Vec<Name> = diesel::sql_query(columns_query).load(conn).unwrap();
        assert!(columns.len() > 3, "the table's columns were found");
        columns
            .iter()
            .flat_map(|column| {
                diesel::sql_query(format!("SELECT CAST({} AS TEXT) AS value FROM idempotency_keys", column.name))
                    .load::<Cell>(conn)
                    .unwrap()
            })
            .filter_map(|cell| cell.value)
            .collect()
    })
}

fn key_records(app: &TestApp) -> i64 {
    app.db(|conn| idempotency_keys::table.count().get_result(conn).unwrap())
}

/// How a key is stored: its SHA-256, never the caller's text.
fn digest(key: &str) -> String {
    hex::encode(sha2::Sha256::digest(key.as_bytes()))
}

/// Moves a record's creation back by `hours`.
fn age_record(app: &TestApp, key: &str, hours: i64) {
    let key = digest(key);
    app.db(|conn| {
        let created_at: chrono::NaiveDateTime = idempotency_keys::table
            .filter(idempotency_keys::key_hash.eq(&key))
            .select(idempotency_keys::created_at)
            .first(conn)
            .unwrap();
        diesel::update(idempotency_keys::table.filter(idempotency_keys::key_hash.eq(&key)))
            .set(idempotency_keys::created_at.eq(created_at - chrono::Duration::hours(hours)))
            .execute(conn)
            .unwrap();
    });
}

/// Status, ETag and body of an answer.
async fn answer(response: Response) -> (StatusCode, Option<String>, Value) {
    let status = response.status();
    let etag = response.headers().get("etag").map(|v| v.to_str().unwrap().to_owned());
    (status, etag, body(response).await)
}

#[tokio::test]
async fn a_psychological_session_logged_with_a_key_leaves_none_of_its_content_in_the_key_records() {
    let app = TestApp::spawn().await;
    let team = team(&app).await;
    let session = logged_with_key(&app, &team.psychologist, &team.client_id, "log-amina-1").await;
    assert_eq!(session["notes"], NOTES);

    assert_eq!(key_records(&app), 1);
    let cells = every_cell_of_the_key_records(&app);
    assert!(cells.contains(&session["id"].as_str().unwrap().to_owned()), "the record names the session: {cells:?}");
    for secret in [NOTES, SUMMARY, TOPIC, "Terespol", "Amina", "log-amina-1"] {
        assert!(cells.iter().all(|cell| !cell.contains(secret)), "{secret} is in a key record: {cells:?}");
    }
}

#[tokio::test]
async fn a_retried_session_is_answered_as_get_answers_it_now() {
    let app = TestApp::spawn().await;
    let team = team(&app).await;
    let first = logged_with_key(&app, &team.psychologist, &team.client_id, "log-amina-1").await;
    let path = format!("/api/v1/sessions/{}", first["id"].as_str().unwrap());
    let corrected = app
        .patch(&path)
        .bearer_auth(&team.psychologist.token)
        .header("if-match", "\"1\"")
        .json(&json!({"duration_minutes": 60}))
        .send()
        .await
        .unwrap();
    assert_eq!(corrected.status(), StatusCode::OK);

    let retry = log_with_key(&app, &team.psychologist, &team.client_id, "log-amina-1").await;
    assert_eq!(retry.status(), StatusCode::CREATED);
    assert_eq!(retry.headers()["location"], format!("/api/v1/sessions/{}", first["id"].as_str().unwrap()));
    let (_, retry_etag, retry_body) = answer(retry).await;
    let (_, get_etag, get_body) =
        answer(app.get(&path).bearer_auth(&team.psychologist.token).send().await.unwrap()).await;
    assert_eq!(retry_etag.as_deref(), Some("\"2\""), "the session's current version");
    assert_eq!(retry_etag, get_etag);
    assert_eq!(retry_body, get_body);
    assert_eq!(retry_body["duration_minutes"], 60, "the session as it is now, not a stored copy");
    assert_eq!(retry_body["notes"], NOTES);
    assert_eq!(app.audit_count("session.create"), 1, "one session was logged");
    let sessions: Value = body(
        app.get(&format!("/api/v1/clients/{}/sessions", team.client_id))
            .bearer_auth(&team.psychologist.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(sessions["items"].as_array().unwrap().len(), 1);

    let mut other = session();
    other["duration_minutes"] = json!(20);
    let reused = app
        .post(&format!("/api/v1/clients/{}/sessions", team.client_id))
        .bearer_auth(&team.psychologist.token)
        .header("idempotency-key", "log-amina-1")
        .json(&other)
        .send()
        .await
        .unwrap();
    assert_problem(reused, StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused").await;
}

#[tokio::test]
async fn a_retry_after_the_session_was_deleted_answers_404() {
    let app = TestApp::spawn().await;
    let team = team(&app).await;
    let first = logged_with_key(&app, &team.psychologist, &team.client_id, "log-amina-1").await;
    let path = format!("/api/v1/sessions/{}", first["id"].as_str().unwrap());
    let deleted =
        app.request(reqwest::Method::DELETE, &path).bearer_auth(&team.psychologist.token).send().await.unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);

    let retry = log_with_key(&app, &team.psychologist, &team.client_id, "log-amina-1").await;
    let problem = assert_problem(retry, StatusCode::NOT_FOUND, "not_found").await;
    assert!(!problem.to_string().contains(NOTES));
    assert_eq!(app.audit_count("session.create"), 1, "the retry logged nothing new");
}

#[tokio::test]
async fn a_retry_by_a_caller_who_may_no_longer_read_the_session_answers_as_get_does() {
    let app = TestApp::spawn().await;
    let team = team(&app).await;
    let first = logged_with_key(&app, &team.psychologist, &team.client_id, "log-amina-1").await;
    let path = format!("/api/v1/sessions/{}", first["id"].as_str().unwrap());
    // The author's role changes to one that reads no personal data.
    let user_path = format!("/api/v1/users/{}", team.psychologist.id);
    let user = app.get(&user_path).bearer_auth(&team.coordinator.token).send().await.unwrap();
    let version = user.headers()["etag"].to_str().unwrap().to_owned();
    let changed = app
        .patch(&user_path)
        .bearer_auth(&team.coordinator.token)
        .header("if-match", version)
        .json(&json!({"role": "analyst", "specialties": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), StatusCode::OK, "{}", changed.text().await.unwrap());

    let (get_status, _, get_body) =
        answer(app.get(&path).bearer_auth(&team.psychologist.token).send().await.unwrap()).await;
    assert!(get_status.is_client_error(), "GET refuses the analyst: {get_status}");
    let (retry_status, retry_etag, retry_body) =
        answer(log_with_key(&app, &team.psychologist, &team.client_id, "log-amina-1").await).await;
    assert_eq!(retry_status, get_status);
    assert_eq!(retry_body["code"], get_body["code"]);
    assert_eq!(retry_etag, None);
    assert!(!retry_body.to_string().contains(NOTES));
}

#[tokio::test]
async fn a_retry_after_the_client_was_erased_is_gone_as_get_is() {
    let app = TestApp::spawn().await;
    let team = team(&app).await;
    let first = logged_with_key(&app, &team.psychologist, &team.client_id, "log-amina-1").await;
    let erased = app
        .post(&format!("/api/v1/clients/{}/erase", team.client_id))
        .bearer_auth(&team.coordinator.token)
        .json(&json!({"reason": "Request of 2026-11-20"}))
        .send()
        .await
        .unwrap();
    assert_eq!(erased.status(), StatusCode::NO_CONTENT);

    let path = format!("/api/v1/sessions/{}", first["id"].as_str().unwrap());
    let (get_status, get_etag, get_body) =
        answer(app.get(&path).bearer_auth(&team.psychologist.token).send().await.unwrap()).await;
    assert_eq!((get_status, get_body["code"].as_str()), (StatusCode::GONE, Some("client_erased")));
    let retry = log_with_key(&app, &team.psychologist, &team.client_id, "log-amina-1").await;
    let (retry_status, retry_etag, retry_body) = answer(retry).await;
    assert_eq!((retry_status, retry_etag), (get_status, get_etag));
    assert_eq!(retry_body, get_body);
    for secret in [NOTES, SUMMARY, TOPIC] {
        assert!(!retry_body.to_string().contains(secret), "{secret} survived erasure in a retry: {retry_body}");
    }
}

#[tokio::test]
async fn retried_consents_and_procedure_events_are_answered_as_the_client_s_lists_show_them() {
    let app = TestApp::spawn().await;
    let team = team(&app).await;
    let client_id = &team.client_id;
    let cases = [
        (
            format!("/api/v1/clients/{client_id}/consents"),
            json!({"purpose": "processing", "scope": [], "given_on": "2026-11-02", "language": "ru", "form_version": "2026-01"}),
        ),
        (
            format!("/api/v1/clients/{client_id}/procedure-events"),
            json!({"kind": "application_lodged", "occurred_on": "2026-10-01"}),
        ),
    ];
    for (path, request) in cases {
        let key = format!("record-{path}");
        let send = || {
            app.post(&path).bearer_auth(&team.psychologist.token).header("idempotency-key", &key).json(&request).send()
        };
        let first = send().await.unwrap();
        assert_eq!(first.status(), StatusCode::CREATED, "{path}: {}", first.text().await.unwrap());
        let location = first.headers()["location"].clone();
        let first: Value = first.json().await.unwrap();
        let retry = send().await.unwrap();
        assert_eq!(retry.status(), StatusCode::CREATED, "{path}");
        assert_eq!(retry.headers()["location"], location);
        assert_eq!(retry.json::<Value>().await.unwrap(), first, "{path}");
        let list: Value = body(app.get(&path).bearer_auth(&team.psychologist.token).send().await.unwrap()).await;
        assert_eq!(list["items"], json!([first]), "{path}: one record, shown as the retry showed it");
    }
}

#[tokio::test]
async fn a_retry_after_24_hours_is_a_new_request() {
    // A long purge interval: the record is still there when the retry comes.
    let app = TestApp::spawn_with(|vars| {
        vars.insert("CASEBRIDGE_IDEMPOTENCY_PURGE_INTERVAL_SECONDS".into(), "3600".into());
    })
    .await;
    let team = team(&app).await;
    let first = logged_with_key(&app, &team.psychologist, &team.client_id, "log-amina-1").await;
    age_record(&app, "log-amina-1", 25);

    let second = logged_with_key(&app, &team.psychologist, &team.client_id, "log-amina-1").await;
    assert_ne!(second["id"], first["id"], "an expired record is not replayed");
    assert_eq!(app.audit_count("session.create"), 2);
    assert_eq!(key_records(&app), 1, "the new request's record replaced the expired one");
    let third = logged_with_key(&app, &team.psychologist, &team.client_id, "log-amina-1").await;
    assert_eq!(third["id"], second["id"], "the new record answers retries");
}

#[tokio::test]
async fn the_server_removes_expired_key_records_in_the_background() {
    let app = TestApp::spawn_with(|vars| {
        vars.insert("CASEBRIDGE_IDEMPOTENCY_PURGE_INTERVAL_SECONDS".into(), "1".into());
    })
    .await;
    let team = team(&app).await;
    logged_with_key(&app, &team.psychologist, &team.client_id, "log-amina-old").await;
    logged_with_key(&app, &team.psychologist, &team.client_id, "log-amina-new").await;
    age_record(&app, "log-amina-old", 25);
    age_record(&app, "log-amina-new", 23);

    let remaining = |app: &TestApp| -> Vec<String> {
        app.db(|conn| idempotency_keys::table.select(idempotency_keys::key_hash).load(conn).unwrap())
    };
    let mut waited = Duration::ZERO;
    while remaining(&app).len() > 1 && waited < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += Duration::from_millis(100);
    }
    assert_eq!(remaining(&app), [digest("log-amina-new")], "only the expired record is removed");
}

#[tokio::test]
async fn a_purge_interval_of_zero_is_a_clear_configuration_error() {
    let app = TestApp::spawn().await;
    let (mut vars, _data_dir) = app.vars();
    vars.insert("CASEBRIDGE_IDEMPOTENCY_PURGE_INTERVAL_SECONDS".into(), "0".into());
    let error = casebridge::config::Config::from_vars(&vars).err().expect("zero is refused");
    assert!(format!("{error:#}").contains("CASEBRIDGE_IDEMPOTENCY_PURGE_INTERVAL_SECONDS"), "{error:#}");
}
