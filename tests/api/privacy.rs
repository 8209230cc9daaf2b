//! Data-subject rights: export, erasure, retention.

use diesel::RunQueryDsl;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::clients::create_client;
use crate::helpers::{Account, TestApp, assert_problem, body};

#[derive(diesel::QueryableByName)]
struct Name {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    count: i64,
}

/// Every (table, column, binary) of the database that holds text or bytes.
fn text_columns(app: &TestApp) -> Vec<(String, String, bool)> {
    app.db(|conn| {
        if app.is_postgres() {
            #[derive(diesel::QueryableByName)]
            struct Column {
                #[diesel(sql_type = diesel::sql_types::Text)]
                table_name: String,
                #[diesel(sql_type = diesel::sql_types::Text)]
                column_name: String,
                #[diesel(sql_type = diesel::sql_types::Text)]
                data_type: String,
            }
            diesel::sql_query(
                "SELECT table_name::text AS table_name, column_name::text AS column_name, data_type::text AS data_type \
                 FROM information_schema.columns \
                 WHERE table_schema = 'public' AND data_type IN ('text', 'character varying', 'bytea')",
            )
            .load::<Column>(conn)
            .unwrap()
            .into_iter()
            .map(|c| (c.table_name, c.column_name, c.data_type == "bytea"))
            .collect()
        } else {
            let tables: Vec<Name> =
                diesel::sql_query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
                    .load(conn)
                    .unwrap();
            let mut columns = Vec::new();
            for table in tables {
                #[derive(diesel::QueryableByName)]
                struct Info {
                    #[diesel(sql_type = diesel::sql_types::Text)]
                    name: String,
                    #[diesel(sql_type = diesel::sql_types::Text)]
                    r#type: String,
                }
                let infos: Vec<Info> =
                    diesel::sql_query(format!("PRAGMA table_info({})", table.name)).load(conn).unwrap();
                columns.extend(
                    infos
                        .into_iter()
                        .filter(|i| i.r#type.eq_ignore_ascii_case("TEXT") || i.r#type.eq_ignore_ascii_case("BLOB"))
                        .map(|i| (table.name.clone(), i.name, i.r#type.eq_ignore_ascii_case("BLOB"))),
                );
            }
            columns
        }
    })
}

fn occurrences(app: &TestApp, needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (table, column, binary) in text_columns(app) {
        let value = match (binary, app.is_postgres()) {
            (true, true) => format!("encode({column}, 'escape')"),
            (true, false) => format!("CAST({column} AS TEXT)"),
            (false, _) => column.clone(),
        };
        let count: Count = app.db(|conn| {
            diesel::sql_query(format!("SELECT COUNT(*) AS count FROM {table} WHERE {value} LIKE '%{needle}%'"))
                .get_result(conn)
                .unwrap()
        });
        if count.count > 0 {
            found.push(format!("{table}.{column}"));
        }
    }
    found
}

async fn coordinator_and_client(app: &TestApp) -> (Account, Account, Value) {
    let admin = app.admin().await;
    let organisation = app.create_organisation(&admin, "PFM").await;
    let coordinator = app.create_user(&admin, Some(organisation), "coordinator").await;
    let counselor = app.create_user(&admin, Some(organisation), "counselor").await;
    let client = create_client(
        app,
        &counselor,
        json!({"given_names": "Zelimkhan", "family_name": "Yandarbiyev", "native_name": "Зелимхан Яндарбиев",
               "date_of_birth": "1985-06-01", "sex": "male", "nationalities": ["RU"], "phone": "+48 511 222 333",
               "email": "zelimkhan@example.org", "city": "Lublin", "region_of_origin": "Vedeno",
               "identifiers": [{"kind": "passport", "value": "ZY1234567"}], "vulnerabilities": ["ptsd"]}),
    )
    .await;
    (coordinator, counselor, client)
}

#[tokio::test]
async fn after_erasure_the_name_appears_nowhere_in_the_database() {
    let app = TestApp::spawn().await;
    let (coordinator, counselor, client) = coordinator_and_client(&app).await;
    let id = client["id"].as_str().unwrap();
    let session = app
        .post(&format!("/api/v1/clients/{id}/sessions"))
        .bearer_auth(&counselor.token)
        .header("idempotency-key", "log-zelimkhan-1")
        .json(&json!({"kind": "legal", "mode": "phone", "started_at": "2026-11-03T09:00:00Z", "duration_minutes": 40,
                      "summary": "Zelimkhan asked about the appeal", "notes": "Yandarbiyev family in Vedeno"}))
        .send()
        .await
        .unwrap();
    assert_eq!(session.status(), StatusCode::CREATED);
    app.post(&format!("/api/v1/clients/{id}/procedure-events"))
        .bearer_auth(&counselor.token)
        .json(&json!({"kind": "application_lodged", "occurred_on": "2026-10-01", "notes": "Zelimkhan came with his brother"}))
        .send()
        .await
        .unwrap();
    assert!(!occurrences(&app, "Yandarbiyev").is_empty(), "the name is stored before erasure");

    let erased = app
        .post(&format!("/api/v1/clients/{id}/erase"))
        .bearer_auth(&coordinator.token)
        .json(&json!({"reason": "Request of 2026-11-20"}))
        .send()
        .await
        .unwrap();
    assert_eq!(erased.status(), StatusCode::NO_CONTENT);
    for needle in
        ["Yandarbiyev", "Zelimkhan", "Яндарбиев", "ZY1234567", "511 222 333", "Vedeno", "zelimkhan@example.org"]
    {
        assert_eq!(occurrences(&app, needle), Vec::<String>::new(), "{needle} survived erasure");
    }
    let view = app.get(&format!("/api/v1/clients/{id}")).bearer_auth(&coordinator.token).send().await.unwrap();
    assert_problem(view, StatusCode::GONE, "client_erased").await;
    let listed: Value =
        body(app.get("/api/v1/clients?status=erased").bearer_auth(&coordinator.token).send().await.unwrap()).await;
    assert_eq!(listed["items"][0]["birth_year"], 1985, "what reports count stays");
    assert_eq!(listed["items"][0]["nationalities"], json!(["RU"]));
    let again = app
        .post(&format!("/api/v1/clients/{id}/erase"))
        .bearer_auth(&coordinator.token)
        .json(&json!({"reason": "again"}))
        .send()
        .await
        .unwrap();
    assert_problem(again, StatusCode::GONE, "client_erased").await;
    let change = app
        .patch(&format!("/api/v1/clients/{id}"))
        .bearer_auth(&coordinator.token)
        .header("if-match", "\"2\"")
        .json(&json!({"city": "Lublin"}))
        .send()
        .await
        .unwrap();
    assert_problem(change, StatusCode::GONE, "client_erased").await;
    let key_left: Count =
        app.db(|conn| diesel::sql_query("SELECT COUNT(*) AS count FROM client_keys").get_result(conn).unwrap());
    assert_eq!(key_left.count, 0, "the data key is destroyed");
}

#[tokio::test]
async fn export_holds_everything_about_the_client() {
    let app = TestApp::spawn().await;
    let (coordinator, counselor, client) = coordinator_and_client(&app).await;
    let id = client["id"].as_str().unwrap();
    app.post(&format!("/api/v1/clients/{id}/sessions"))
        .bearer_auth(&counselor.token)
        .json(&json!({"kind": "legal", "mode": "phone", "started_at": "2026-11-03T09:00:00Z", "duration_minutes": 40,
                      "notes": "Discussed the appeal", "summary": "Appeal drafted", "topics": ["appeal"]}))
        .send()
        .await
        .unwrap();
    app.post(&format!("/api/v1/clients/{id}/consents"))
        .bearer_auth(&counselor.token)
        .json(&json!({"purpose": "processing", "given_on": "2026-11-02", "language": "ru", "form_version": "v1"}))
        .send()
        .await
        .unwrap();
    let export: Value =
        body(app.get(&format!("/api/v1/clients/{id}/export")).bearer_auth(&coordinator.token).send().await.unwrap())
            .await;
    assert_eq!(export["client"]["family_name"], "Yandarbiyev");
    assert_eq!(export["client"]["identifiers"][0]["value"], "ZY1234567");
    assert_eq!(export["consents"].as_array().unwrap().len(), 1);
    assert_eq!(export["sessions"][0]["notes"], "Discussed the appeal");
    assert_eq!(export["sessions"][0]["summary"], "Appeal drafted", "decrypted for the export");
    assert_eq!(export["sessions"][0]["topics"], json!(["appeal"]));
    assert_eq!(export["sessions"][0]["details_unreadable"], false);
    assert_eq!(app.audit_count("client.export"), 1);
    let by_counselor =
        app.get(&format!("/api/v1/clients/{id}/export")).bearer_auth(&counselor.token).send().await.unwrap();
    assert_problem(by_counselor, StatusCode::FORBIDDEN, "forbidden").await;
}

#[tokio::test]
async fn retention_lists_and_erases_clients_closed_long_ago() {
    let app = TestApp::spawn().await;
    let (coordinator, _counselor, client) = coordinator_and_client(&app).await;
    let id = client["id"].as_str().unwrap().to_owned();
    app.post(&format!("/api/v1/clients/{id}/close"))
        .bearer_auth(&coordinator.token)
        .header("if-match", "\"1\"")
        .json(&json!({"reason": "Left Poland"}))
        .send()
        .await
        .unwrap();
    app.db(|conn| {
        use casebridge::db::schema::clients::dsl;
        use diesel::prelude::*;
        let long_ago = chrono::Utc::now().naive_utc() - chrono::Duration::days(6 * 365);
        diesel::update(dsl::clients.find(&id)).set(dsl::closed_at.eq(Some(long_ago))).execute(conn).unwrap();
    });
    let (vars, _data) = app.vars();
    let config = casebridge::config::Config::from_vars(&vars).unwrap();
    let five_years = casebridge::privacy::parse_period("5y").unwrap();
    let (due, erased) = casebridge::cli::retention(&config, five_years, false).unwrap();
    assert_eq!((due.len(), erased), (1, 0), "listing erases nothing");
    let (_, erased) = casebridge::cli::retention(&config, five_years, true).unwrap();
    assert_eq!(erased, 1);
    assert!(occurrences(&app, "Yandarbiyev").is_empty());
    let (due, _) = casebridge::cli::retention(&config, five_years, false).unwrap();
    assert!(due.is_empty());
}

/// Every write on an erased client's record answers 410 Gone `client_erased` (the record is a
/// tombstone), and the contract documents that answer on each of these operations.
#[tokio::test]
async fn writes_on_an_erased_client_are_documented_410s() {
    let app = TestApp::spawn().await;
    let (coordinator, counselor, client) = coordinator_and_client(&app).await;
    let id = client["id"].as_str().unwrap();
    let relative = create_client(&app, &counselor, json!({"given_names": "Aset", "family_name": "Yandarbiyeva"})).await;
    let other = &relative["id"];
    let erased = app
        .post(&format!("/api/v1/clients/{id}/erase"))
        .bearer_auth(&coordinator.token)
        .json(&json!({"reason": "Request of 2026-11-20"}))
        .send()
        .await
        .unwrap();
    assert_eq!(erased.status(), StatusCode::NO_CONTENT);
    let document: Value = body(app.get("/api/v1/openapi.json").send().await.unwrap()).await;
    let writes = [
        (
            "PUT",
            "/api/v1/clients/{id}/household",
            format!("/api/v1/clients/{id}/household"),
            json!({"with_client_id": other, "relationship": "child"}),
        ),
        (
            "POST",
            "/api/v1/clients/{id}/consents",
            format!("/api/v1/clients/{id}/consents"),
            json!({"purpose": "processing", "given_on": "2026-11-02", "language": "ru", "form_version": "PFM-2026-01"}),
        ),
        (
            "POST",
            "/api/v1/clients/{id}/procedure-events",
            format!("/api/v1/clients/{id}/procedure-events"),
            json!({"kind": "application_lodged", "occurred_on": "2026-10-01"}),
        ),
        (
            "POST",
            "/api/v1/clients/{id}/sessions",
            format!("/api/v1/clients/{id}/sessions"),
            json!({"kind": "legal", "mode": "phone", "started_at": "2026-11-03T09:00:00Z", "duration_minutes": 40}),
        ),
    ];
    for (method, documented, path, request) in writes {
        let method = method.parse::<reqwest::Method>().unwrap();
        let response =
            app.request(method.clone(), &path).bearer_auth(&coordinator.token).json(&request).send().await.unwrap();
        assert_problem(response, StatusCode::GONE, "client_erased").await;
        let responses = &document["paths"][documented][method.as_str().to_lowercase()]["responses"];
        assert!(responses["410"].is_object(), "{method} {documented} does not document 410: {responses}");
    }
    for (method, documented) in [
        ("patch", "/api/v1/clients/{id}"),
        ("patch", "/api/v1/clients/{id}/procedure-events/{event_id}"),
        ("post", "/api/v1/clients/{id}/erase"),
        ("patch", "/api/v1/sessions/{id}"),
        ("delete", "/api/v1/sessions/{id}"),
    ] {
        let responses = &document["paths"][documented][method]["responses"];
        assert!(responses["410"].is_object(), "{method} {documented} does not document 410: {responses}");
    }
}

#[tokio::test]
async fn a_coordinators_export_holds_no_trace_of_psychological_sessions_and_a_psychologists_holds_them() {
    let app = TestApp::spawn().await;
    let (coordinator, counselor, client) = coordinator_and_client(&app).await;
    let organisation = coordinator.organisation_id;
    let psychologist = app.staff(&coordinator, organisation, "counselor", &["psychological"]).await;
    let id = client["id"].as_str().unwrap();
    let export_of = |account: &Account| {
        let request = app.get(&format!("/api/v1/clients/{id}/export")).bearer_auth(&account.token);
        async move { request.send().await.unwrap() }
    };
    let before: Value = body(export_of(&coordinator).await).await;
    let response = app
        .post(&format!("/api/v1/clients/{id}/sessions"))
        .bearer_auth(&psychologist.token)
        .json(&json!({"kind": "psychological", "mode": "video", "started_at": "2026-11-04T09:00:00Z", "duration_minutes": 50, "notes": "Flashbacks at night"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let session: Value = response.json().await.unwrap();

    let mut after: Value = body(export_of(&coordinator).await).await;
    after["exported_at"] = before["exported_at"].clone();
    assert_eq!(after, before, "the coordinator's export is as if the session did not exist");
    let text = after.to_string();
    assert!(!text.contains(session["id"].as_str().unwrap()) && !text.contains(&psychologist.id.to_string()));
    assert!(after.get("restricted_sessions").is_none());

    let by_psychologist: Value = body(export_of(&psychologist).await).await;
    assert_eq!(by_psychologist["sessions"][0]["id"], session["id"]);
    assert_eq!(by_psychologist["sessions"][0]["notes"], "Flashbacks at night");
    assert_eq!(by_psychologist["client"]["family_name"], "Yandarbiyev");
    assert_problem(export_of(&counselor).await, StatusCode::FORBIDDEN, "forbidden").await;
}

/// Every table of the database, texts and bytes alike, after a psychological session with marker
/// notes, summary and topics was created with an Idempotency-Key, replayed, read, corrected and
/// deleted: the markers appear nowhere in clear.
#[tokio::test]
async fn a_psychological_sessions_content_appears_nowhere_in_clear_in_the_database() {
    let app = TestApp::spawn().await;
    let (coordinator, _, client) = coordinator_and_client(&app).await;
    let psychologist = app.staff(&coordinator, coordinator.organisation_id, "counselor", &["psychological"]).await;
    let id = client["id"].as_str().unwrap();
    let session = json!({"kind": "psychological", "mode": "in_person", "started_at": "2026-11-04T09:00:00Z",
        "duration_minutes": 50, "notes": "QXMARKNOTES one", "summary": "QXMARKSUMMARY one", "topics": ["QXMARKTOPIC"]});
    let create = || {
        app.post(&format!("/api/v1/clients/{id}/sessions"))
            .bearer_auth(&psychologist.token)
            .header("idempotency-key", "psy-session-1")
            .json(&session)
            .send()
    };
    let created: Value = body(create().await.unwrap()).await;
    let path = format!("/api/v1/sessions/{}", created["id"].as_str().unwrap());
    let replayed: Value = body(create().await.unwrap()).await;
    assert_eq!(replayed["notes"], "QXMARKNOTES one");
    let read = app.get(&path).bearer_auth(&psychologist.token).send().await.unwrap();
    let etag = read.headers()["etag"].clone();
    assert_eq!(body::<Value>(read).await["summary"], "QXMARKSUMMARY one");
    let corrected = app
        .patch(&path)
        .bearer_auth(&psychologist.token)
        .header("if-match", etag)
        .json(&json!({"notes": "QXMARKNOTES two", "summary": "QXMARKSUMMARY two", "topics": ["QXMARKTOPIC two"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(corrected.status(), StatusCode::OK);
    assert_eq!(occurrences(&app, "QXMARK"), Vec::<String>::new(), "while the session exists");
    let deleted = app.request(reqwest::Method::DELETE, &path).bearer_auth(&psychologist.token).send().await.unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert_eq!(occurrences(&app, "QXMARK"), Vec::<String>::new(), "after deletion");
    let after = create().await.unwrap();
    assert_problem(after, StatusCode::NOT_FOUND, "not_found").await;
}

/// A group session in Aisha's file that Zelimkhan (of `coordinator_and_client`) took part in;
/// its notes, summary and topics name both.
async fn group_session_in_another_file(app: &TestApp, counselor: &Account, participant: &Value) -> (Value, Value) {
    let owner =
        create_client(app, counselor, json!({"given_names": "Aisha", "family_name": "Umarova", "birth_year": 1990}))
            .await;
    let response = app
        .post(&format!("/api/v1/clients/{}/sessions", owner["id"].as_str().unwrap()))
        .bearer_auth(&counselor.token)
        .json(&json!({"kind": "legal", "mode": "in_person", "started_at": "2026-11-05T10:00:00Z",
                      "duration_minutes": 120, "participants": [{"client_id": participant["id"]}],
                      "notes": "Aisha Umarova spoke first; ZELIMKHAN Yandarbiyev's story moved the group (Зелимхан).",
                      "summary": "Workshop with Yandarbiyev and Umarova", "topics": ["housing", "zelimkhan"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED, "{}", response.text().await.unwrap());
    (owner, response.json().await.unwrap())
}

#[tokio::test]
async fn an_export_leaves_out_the_notes_of_group_sessions_in_another_clients_file() {
    let app = TestApp::spawn().await;
    let (coordinator, counselor, client) = coordinator_and_client(&app).await;
    let (owner, session) = group_session_in_another_file(&app, &counselor, &client).await;
    let export_of = |id: &Value| {
        let request =
            app.get(&format!("/api/v1/clients/{}/export", id.as_str().unwrap())).bearer_auth(&coordinator.token);
        async move { body::<Value>(request.send().await.unwrap()).await }
    };
    let participants = export_of(&client["id"]).await;
    let exported = &participants["sessions"][0];
    assert_eq!(exported["id"], session["id"], "the session the client took part in is exported");
    assert_eq!((&exported["notes"], &exported["has_notes"]), (&Value::Null, &json!(true)));
    assert!(!participants.to_string().contains("spoke first"), "no notes of Aisha's file: {participants}");
    let owners = export_of(&owner["id"]).await;
    assert!(owners["sessions"][0]["notes"].as_str().unwrap().contains("spoke first"), "the owner's file keeps them");
}

#[tokio::test]
async fn erasing_a_group_participant_keeps_the_session_in_the_owners_file_without_them_or_their_name() {
    let app = TestApp::spawn().await;
    let (coordinator, counselor, client) = coordinator_and_client(&app).await;
    let (owner, session) = group_session_in_another_file(&app, &counselor, &client).await;
    let path = format!("/api/v1/sessions/{}", session["id"].as_str().unwrap());
    assert_eq!(session["participants"].as_array().unwrap().len(), 2);

    let erased = app
        .post(&format!("/api/v1/clients/{}/erase", client["id"].as_str().unwrap()))
        .bearer_auth(&coordinator.token)
        .json(&json!({"reason": "Request of 2026-11-20"}))
        .send()
        .await
        .unwrap();
    assert_eq!(erased.status(), StatusCode::NO_CONTENT);

    let read = app.get(&path).bearer_auth(&counselor.token).send().await.unwrap();
    assert_eq!(read.status(), StatusCode::OK, "the session stays in the owner's file");
    let etag = read.headers()["etag"].clone();
    let read: Value = read.json().await.unwrap();
    assert_eq!(read["client_id"], owner["id"]);
    assert_eq!(
        read["participants"],
        json!([{"client_id": owner["id"], "reference": owner["reference"], "attended": true}])
    );
    assert_eq!(read["notes"], "Aisha Umarova spoke first; [erased] [erased]'s story moved the group ([erased]).");
    assert_eq!(read["summary"], "Workshop with [erased] and Umarova");
    assert_eq!(read["topics"], json!(["housing", "[erased]"]));
    assert_ne!(etag.to_str().unwrap(), format!("\"{}\"", session["version"]), "a changed session has a new version");
    let listed: Value = body(
        app.get(&format!("/api/v1/clients/{}/sessions", owner["id"].as_str().unwrap()))
            .bearer_auth(&counselor.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let text = listed.to_string();
    assert!(!text.contains(client["id"].as_str().unwrap()) && !text.contains("Yandarbiyev"), "{text}");
    let export: Value = body(
        app.get(&format!("/api/v1/clients/{}/export", owner["id"].as_str().unwrap()))
            .bearer_auth(&coordinator.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let text = export.to_string();
    assert!(!text.contains("Yandarbiyev") && !text.contains("Зелимхан") && !text.contains("ZELIMKHAN"), "{text}");
    assert!(!text.contains(client["id"].as_str().unwrap()), "the erased participant is gone from the export");
    let participation: Count = app.db(|conn| {
        diesel::sql_query(format!(
            "SELECT COUNT(*) AS count FROM session_participants WHERE client_id = '{}'",
            client["id"].as_str().unwrap()
        ))
        .get_result(conn)
        .unwrap()
    });
    assert_eq!(participation.count, 0);
}

/// An erased record is a tombstone: every route on it answers 410 Gone, reads included, and
/// each documents it.
#[tokio::test]
async fn every_route_on_an_erased_client_answers_410() {
    let app = TestApp::spawn().await;
    let (coordinator, counselor, client) = coordinator_and_client(&app).await;
    let id = client["id"].as_str().unwrap();
    let session: Value = body(
        app.post(&format!("/api/v1/clients/{id}/sessions"))
            .bearer_auth(&counselor.token)
            .json(&json!({"kind": "legal", "mode": "phone", "started_at": "2026-11-03T09:00:00Z", "duration_minutes": 40}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let erased = app
        .post(&format!("/api/v1/clients/{id}/erase"))
        .bearer_auth(&coordinator.token)
        .json(&json!({"reason": "Request of 2026-11-20"}))
        .send()
        .await
        .unwrap();
    assert_eq!(erased.status(), StatusCode::NO_CONTENT);
    let document: Value = body(app.get("/api/v1/openapi.json").send().await.unwrap()).await;
    let session_path = format!("/api/v1/sessions/{}", session["id"].as_str().unwrap());
    for (documented, path) in [
        ("/api/v1/clients/{id}", format!("/api/v1/clients/{id}")),
        ("/api/v1/clients/{id}/sessions", format!("/api/v1/clients/{id}/sessions")),
        ("/api/v1/clients/{id}/consents", format!("/api/v1/clients/{id}/consents")),
        ("/api/v1/clients/{id}/procedure-events", format!("/api/v1/clients/{id}/procedure-events")),
        ("/api/v1/clients/{id}/export", format!("/api/v1/clients/{id}/export")),
        ("/api/v1/sessions/{id}", session_path),
    ] {
        let response = app.get(&path).bearer_auth(&coordinator.token).send().await.unwrap();
        assert_problem(response, StatusCode::GONE, "client_erased").await;
        let responses = &document["paths"][documented]["get"]["responses"];
        assert!(responses["410"].is_object(), "GET {documented} does not document 410: {responses}");
    }
    let other = create_client(&app, &counselor, json!({"given_names": "Aset", "family_name": "Umarova"})).await;
    let with_tombstone = app
        .post(&format!("/api/v1/clients/{}/sessions", other["id"].as_str().unwrap()))
        .bearer_auth(&counselor.token)
        .json(&json!({"kind": "legal", "mode": "in_person", "started_at": "2026-11-05T10:00:00Z",
                      "duration_minutes": 60, "participants": [{"client_id": id}]}))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(with_tombstone, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert!(problem["errors"]["participants"].as_str().unwrap().contains("erased"));
}

/// Clients erased before erasure reached group sessions: the migration takes their
/// participation out of other clients' sessions, and leaves every other participation alone.
#[tokio::test]
async fn the_migration_takes_earlier_erased_clients_out_of_other_files_group_sessions() {
    use diesel::connection::SimpleConnection;
    let app = TestApp::spawn().await;
    let (coordinator, counselor, client) = coordinator_and_client(&app).await;
    let (owner, session) = group_session_in_another_file(&app, &counselor, &client).await;
    let erased = app
        .post(&format!("/api/v1/clients/{}/erase", client["id"].as_str().unwrap()))
        .bearer_auth(&coordinator.token)
        .json(&json!({"reason": "Request of 2026-11-20"}))
        .send()
        .await
        .unwrap();
    assert_eq!(erased.status(), StatusCode::NO_CONTENT);
    // As an erasure before the change left it.
    app.db(|conn| {
        conn.batch_execute(&format!(
            "INSERT INTO session_participants (session_id, client_id, attended) VALUES ('{}', '{}', TRUE)",
            session["id"].as_str().unwrap(),
            client["id"].as_str().unwrap()
        ))
        .unwrap()
    });
    let migration =
        include_str!("../../migrations/postgres/2026-12-03-000014_erased_clients_leave_group_sessions/up.sql");
    assert_eq!(
        migration,
        include_str!("../../migrations/sqlite/2026-12-03-000014_erased_clients_leave_group_sessions/up.sql"),
        "the same statement on both databases"
    );
    app.db(|conn| conn.batch_execute(migration).unwrap());
    let read: Value = body(
        app.get(&format!("/api/v1/sessions/{}", session["id"].as_str().unwrap()))
            .bearer_auth(&counselor.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        read["participants"],
        json!([{"client_id": owner["id"], "reference": owner["reference"], "attended": true}])
    );
}
