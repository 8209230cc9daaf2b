//! Merging two records of one person: the duplicate's whole file moves to the survivor in one
//! transaction, and the duplicate is left as a tombstone pointing to it.

use diesel::prelude::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::clients::create_client;
use crate::helpers::{Account, TestApp, assert_problem, body};

struct Office {
    coordinator: Account,
    psychologist: Account,
    counselor: Account,
}

async fn office(app: &TestApp) -> Office {
    let admin = app.admin().await;
    let organisation = Some(app.create_organisation(&admin, "PFM").await);
    let coordinator = app.staff(&admin, organisation, "coordinator", &["legal"]).await;
    Office {
        psychologist: app.staff(&coordinator, organisation, "counselor", &["psychological"]).await,
        counselor: app.staff(&coordinator, organisation, "counselor", &["vocational", "legal"]).await,
        coordinator,
    }
}

fn id(value: &Value) -> &str {
    value["id"].as_str().unwrap()
}

async fn posted(app: &TestApp, account: &Account, path: &str, json: Value) -> Value {
    let response = app.post(path).bearer_auth(&account.token).json(&json).send().await.unwrap();
    assert!(response.status().is_success(), "{path}: {}", response.text().await.unwrap());
    response.json().await.unwrap()
}

async fn read(app: &TestApp, account: &Account, path: &str) -> reqwest::Response {
    app.get(path).bearer_auth(&account.token).send().await.unwrap()
}

async fn merge(app: &TestApp, account: &Account, survivor: &Value, duplicate: &Value) -> reqwest::Response {
    app.post(&format!("/api/v1/clients/{}/merge", id(survivor)))
        .bearer_auth(&account.token)
        .header("if-match", format!("\"{}\"", survivor["version"]))
        .json(&json!({"duplicate_id": duplicate["id"], "duplicate_version": duplicate["version"]}))
        .send()
        .await
        .unwrap()
}

fn session(kind: &str, notes: &str) -> Value {
    json!({"kind": kind, "mode": "in_person", "started_at": "2026-11-03T09:00:00Z", "duration_minutes": 50,
           "topics": ["sleep"], "summary": "Second meeting", "notes": notes})
}

/// Two records of Ramzan: the survivor as UdSC spells him, the duplicate as his passport does,
/// with a file of its own.
async fn two_records(app: &TestApp, office: &Office) -> (Value, Value) {
    let survivor = create_client(
        app,
        &office.counselor,
        json!({"given_names": "Ramzan", "family_name": "Dudajew", "date_of_birth": "1985-03-09",
               "nationalities": ["RU"], "languages": ["ce"],
               "identifiers": [{"kind": "udsc_case_number", "value": "DPU-100/26"}]}),
    )
    .await;
    let duplicate = create_client(
        app,
        &office.counselor,
        json!({"given_names": "Ramzan", "family_name": "Dudaev", "native_name": "Рамзан Дудаев",
               "languages": ["ru", "ce"], "phone": "+48 600 100 200",
               "identifiers": [{"kind": "passport", "value": "7512345678"}]}),
    )
    .await;
    (survivor, duplicate)
}

fn key_rows(app: &TestApp, client: &str) -> i64 {
    use casebridge::db::schema::client_keys::dsl;
    app.db(|conn| dsl::client_keys.filter(dsl::client_id.eq(client)).count().get_result(conn).unwrap())
}

#[tokio::test]
async fn a_coordinator_merges_a_duplicate_and_its_whole_file_moves_to_the_survivor() {
    let app = TestApp::spawn().await;
    let office = office(&app).await;
    let (survivor, duplicate) = two_records(&app, &office).await;
    let dup = id(&duplicate).to_owned();
    let psychological = posted(
        &app,
        &office.psychologist,
        &format!("/api/v1/clients/{dup}/sessions"),
        session("psychological", "Nightmares."),
    )
    .await;
    let vocational = posted(
        &app,
        &office.counselor,
        &format!("/api/v1/clients/{dup}/sessions"),
        session("vocational", "Wants to cook."),
    )
    .await;
    let host = create_client(&app, &office.counselor, json!({"given_names": "Amina", "family_name": "Saidova"})).await;
    let workshop = posted(
        &app,
        &office.counselor,
        &format!("/api/v1/clients/{}/sessions", id(&host)),
        json!({"kind": "vocational", "mode": "in_person", "started_at": "2026-11-04T09:00:00Z", "duration_minutes": 90,
               "participants": [{"client_id": dup}]}),
    )
    .await;
    let consent = posted(
        &app,
        &office.counselor,
        &format!("/api/v1/clients/{dup}/consents"),
        json!({"purpose": "processing", "given_on": "2026-11-02", "language": "ru", "form_version": "v1"}),
    )
    .await;
    posted(
        &app,
        &office.counselor,
        &format!("/api/v1/clients/{dup}/procedure-events"),
        json!({"kind": "first_instance_decision", "occurred_on": "2026-11-10", "delivered_on": "2026-11-17",
               "outcome": "refusal"}),
    )
    .await;
    let duplicate: Value = body(read(&app, &office.counselor, &format!("/api/v1/clients/{dup}")).await).await;

    let response = merge(&app, &office.coordinator, &survivor, &duplicate).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["etag"], format!("\"{}\"", survivor["version"].as_i64().unwrap() + 1));
    let merged: Value = response.json().await.unwrap();
    assert_eq!(merged["id"], survivor["id"]);
    assert_eq!(merged["family_name"], "Dudajew", "the survivor's values stand");
    assert_eq!(merged["native_name"], "Рамзан Дудаев", "what it lacked comes from the duplicate");
    assert_eq!(merged["phone"], "+48 600 100 200");
    assert_eq!(merged["aliases"], json!(["Ramzan Dudaev"]));
    assert_eq!(merged["languages"], json!(["ce", "ru"]));
    assert_eq!(merged["identifiers"].as_array().unwrap().len(), 2);
    assert!(
        merged["deadlines"].as_array().unwrap().iter().any(|d| d["rule"] == "appeal_to_refugee_board"),
        "deadlines are derived from the united timeline: {}",
        merged["deadlines"]
    );

    let sessions: Value =
        body(read(&app, &office.coordinator, &format!("/api/v1/clients/{}/sessions", id(&survivor))).await).await;
    let listed: Vec<&Value> = sessions["items"].as_array().unwrap().iter().map(|s| &s["id"]).collect();
    assert!(listed.contains(&&vocational["id"]) && listed.contains(&&workshop["id"]));
    assert!(!listed.contains(&&psychological["id"]), "the tier still hides the psychological session");
    let moved: Value =
        body(read(&app, &office.psychologist, &format!("/api/v1/sessions/{}", id(&psychological))).await).await;
    assert_eq!(moved["client_id"], survivor["id"]);
    assert_eq!(moved["notes"], "Nightmares.", "sealed again under the survivor's key, still readable");
    assert_eq!(moved["summary"], "Second meeting");
    let workshop: Value =
        body(read(&app, &office.counselor, &format!("/api/v1/sessions/{}", id(&workshop))).await).await;
    assert!(workshop["participants"].as_array().unwrap().iter().any(|p| p["client_id"] == survivor["id"]));
    let consents: Value =
        body(read(&app, &office.counselor, &format!("/api/v1/clients/{}/consents", id(&survivor))).await).await;
    assert_eq!(consents["items"][0]["id"], consent["id"]);
    let found: Value = body(read(&app, &office.counselor, "/api/v1/clients?q=7512345678").await).await;
    assert_eq!(found["items"][0]["id"], survivor["id"], "the duplicate's passport finds the survivor");

    let gone = read(&app, &office.counselor, &format!("/api/v1/clients/{dup}")).await;
    let problem = assert_problem(gone, StatusCode::GONE, "client_merged").await;
    assert_eq!(problem["merged_into"], survivor["id"]);
    let listed: Value = body(read(&app, &office.counselor, "/api/v1/clients").await).await;
    assert!(listed["items"].as_array().unwrap().iter().all(|c| c["id"] != dup.as_str()));
    let tombstones: Value = body(read(&app, &office.counselor, "/api/v1/clients?status=merged").await).await;
    assert_eq!(tombstones["items"][0]["given_names"], "[merged]");
    assert_eq!(key_rows(&app, &dup), 0, "the duplicate's data key is destroyed");
    app.db(|conn| {
        use casebridge::db::schema::clients;
        let at = chrono::NaiveDate::from_ymd_opt(2026, 11, 2).unwrap().and_hms_opt(9, 0, 0).unwrap();
        diesel::update(clients::table).set(clients::created_at.eq(at)).execute(conn).unwrap();
    });
    let report: Value =
        body(read(&app, &office.coordinator, "/api/v1/reports/indicators?from=2026-11-01&to=2026-11-30").await).await;
    assert_eq!(report["organisations"][0]["indicators"]["new_clients"], 2, "Ramzan is one new client, with Amina");
    assert_eq!(app.audit_count("client.merge"), 1);
    assert_eq!(app.audit_count("client.merge_duplicate"), 1, "one event in each record's trail");
}

#[tokio::test]
async fn only_coordinators_merge_and_only_records_of_their_own_organisation() {
    let app = TestApp::spawn().await;
    let office = office(&app).await;
    let (survivor, duplicate) = two_records(&app, &office).await;
    let refused = merge(&app, &office.counselor, &survivor, &duplicate).await;
    assert_problem(refused, StatusCode::FORBIDDEN, "forbidden").await;

    let stranger = crate::clients::counselor_of(&app, "HFPC").await;
    let theirs = create_client(&app, &stranger, json!({"given_names": "Ramzan", "family_name": "Dudayev"})).await;
    let across = merge(&app, &office.coordinator, &survivor, &theirs).await;
    let problem = assert_problem(across, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert!(problem["errors"]["duplicate_id"].is_string());
    let into_theirs = merge(&app, &office.coordinator, &theirs, &duplicate).await;
    assert_problem(into_theirs, StatusCode::NOT_FOUND, "not_found").await;
    let itself = merge(&app, &office.coordinator, &survivor, &survivor).await;
    assert_problem(itself, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;

    let still: Value = body(read(&app, &stranger, &format!("/api/v1/clients/{}", id(&theirs))).await).await;
    assert_eq!(still["version"], 1);
    assert_eq!(app.audit_count("client.merge"), 0);
}

#[tokio::test]
async fn a_stale_version_of_either_record_is_412_and_a_merged_record_is_gone() {
    let app = TestApp::spawn().await;
    let office = office(&app).await;
    let (survivor, duplicate) = two_records(&app, &office).await;
    let mut stale = duplicate.clone();
    stale["version"] = json!(7);
    assert_problem(
        merge(&app, &office.coordinator, &survivor, &stale).await,
        StatusCode::PRECONDITION_FAILED,
        "stale_version",
    )
    .await;
    let mut stale = survivor.clone();
    stale["version"] = json!(7);
    assert_problem(
        merge(&app, &office.coordinator, &stale, &duplicate).await,
        StatusCode::PRECONDITION_FAILED,
        "stale_version",
    )
    .await;

    assert_eq!(merge(&app, &office.coordinator, &survivor, &duplicate).await.status(), StatusCode::OK);
    let again = merge(&app, &office.coordinator, &duplicate, &survivor).await;
    assert_problem(again, StatusCode::GONE, "client_merged").await;
    let change = app
        .patch(&format!("/api/v1/clients/{}", id(&duplicate)))
        .bearer_auth(&office.counselor.token)
        .header("if-match", "\"1\"")
        .json(&json!({"phone": "+48 600 000 000"}))
        .send()
        .await
        .unwrap();
    assert_problem(change, StatusCode::GONE, "client_merged").await;
}

#[tokio::test]
async fn a_merge_that_fails_midway_leaves_both_records_as_they_were() {
    let app = TestApp::spawn().await;
    let office = office(&app).await;
    let (survivor, duplicate) = two_records(&app, &office).await;
    let dup = id(&duplicate).to_owned();
    let first =
        posted(&app, &office.counselor, &format!("/api/v1/clients/{dup}/sessions"), session("vocational", "First."))
            .await;
    let second =
        posted(&app, &office.counselor, &format!("/api/v1/clients/{dup}/sessions"), session("vocational", "Second."))
            .await;
    // The second session's notes are damaged on disk: they cannot be sealed again, so nothing moves.
    app.db(|conn| {
        use casebridge::db::schema::sessions::dsl;
        diesel::update(dsl::sessions.find(id(&second)))
            .set(dsl::notes_ciphertext.eq(Some(vec![0_u8; 40])))
            .execute(conn)
            .unwrap();
    });
    let failed = merge(&app, &office.coordinator, &survivor, &duplicate).await;
    assert_problem(failed, StatusCode::CONFLICT, "sealed_contents_unreadable").await;

    let kept: Value = body(read(&app, &office.counselor, &format!("/api/v1/clients/{dup}")).await).await;
    assert_eq!(kept["version"], duplicate["version"]);
    assert_eq!(kept["family_name"], "Dudaev");
    let unchanged: Value =
        body(read(&app, &office.counselor, &format!("/api/v1/clients/{}", id(&survivor))).await).await;
    assert_eq!(unchanged["version"], survivor["version"]);
    assert_eq!(unchanged["aliases"], json!([]));
    let first: Value = body(read(&app, &office.counselor, &format!("/api/v1/sessions/{}", id(&first))).await).await;
    assert_eq!(first["client_id"], dup.as_str());
    assert_eq!(first["notes"], "First.", "still sealed under the duplicate's key, which still exists");
    assert_eq!(key_rows(&app, &dup), 1);
    assert_eq!(key_rows(&app, id(&survivor)), 0, "no key was left behind for the survivor");
    assert_eq!(app.audit_count("client.merge"), 0);
}

#[tokio::test]
async fn two_open_referrals_to_the_same_partner_for_the_same_service_block_the_merge() {
    let app = TestApp::spawn().await;
    let office = office(&app).await;
    let admin = app.admin().await;
    let partner = app.create_organisation(&admin, "HFPC").await;
    let (survivor, duplicate) = two_records(&app, &office).await;
    let mut referrals = Vec::new();
    for client in [&survivor, &duplicate] {
        let consent = posted(
            &app,
            &office.counselor,
            &format!("/api/v1/clients/{}/consents", id(client)),
            json!({"purpose": "sharing_with_partner", "partner_id": partner, "scope": ["identity"],
                   "given_on": "2026-11-02", "language": "ru", "form_version": "v1"}),
        )
        .await;
        let referral = posted(
            &app,
            &office.counselor,
            "/api/v1/referrals",
            json!({"client_id": client["id"], "to_organisation_id": partner, "service": "legal", "urgency": "routine",
                   "reason": "Representation before the Refugee Board", "shared_fields": ["given_names"],
                   "consent_id": consent["id"]}),
        )
        .await;
        referrals.push(referral);
    }
    let survivor: Value =
        body(read(&app, &office.counselor, &format!("/api/v1/clients/{}", id(&survivor))).await).await;
    let duplicate: Value =
        body(read(&app, &office.counselor, &format!("/api/v1/clients/{}", id(&duplicate))).await).await;
    let blocked = merge(&app, &office.coordinator, &survivor, &duplicate).await;
    let problem = assert_problem(blocked, StatusCode::CONFLICT, "duplicate_referral").await;
    assert_eq!(problem["conflicting_id"], referrals[1]["id"]);
    let consents: Value =
        body(read(&app, &office.counselor, &format!("/api/v1/clients/{}/consents", id(&survivor))).await).await;
    assert_eq!(consents["items"].as_array().unwrap().len(), 1, "the duplicate's consent did not move");
}

#[tokio::test]
async fn a_duplicates_documents_move_to_the_survivor_still_readable_and_its_erasure_destroys_both_keys() {
    let app = TestApp::spawn().await;
    let office = office(&app).await;
    let (survivor, duplicate) = two_records(&app, &office).await;
    let dup = id(&duplicate).to_owned();
    let file = crate::documents::pdf(200_000);
    let document = crate::documents::uploaded(&app, &office.counselor, &dup, &file).await;
    let duplicate: Value = body(read(&app, &office.counselor, &format!("/api/v1/clients/{dup}")).await).await;
    assert_eq!(merge(&app, &office.coordinator, &survivor, &duplicate).await.status(), StatusCode::OK);

    let listed: Value =
        body(read(&app, &office.counselor, &format!("/api/v1/clients/{}/documents", id(&survivor))).await).await;
    assert_eq!(listed["items"][0]["id"], document["id"]);
    let content = read(&app, &office.counselor, &format!("/api/v1/documents/{}/content", id(&document))).await;
    assert_eq!(content.status(), StatusCode::OK);
    assert_eq!(content.bytes().await.unwrap().as_ref(), file.as_slice(), "still opened with the duplicate's key");
    assert_eq!(key_rows(&app, &dup), 1, "the survivor keeps the key that seals the document");

    let erased = app
        .post(&format!("/api/v1/clients/{}/erase", id(&survivor)))
        .bearer_auth(&office.coordinator.token)
        .json(&json!({"reason": "Request of the client"}))
        .send()
        .await
        .unwrap();
    assert_eq!(erased.status(), StatusCode::NO_CONTENT);
    assert_eq!((key_rows(&app, &dup), key_rows(&app, id(&survivor))), (0, 0), "both keys are destroyed");
}
