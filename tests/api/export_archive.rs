//! The export as one ZIP archive for the data subject (`GET /clients/{id}/export?format=zip`):
//! the export's JSON and every document it lists, as uploaded — and nothing when a stored
//! document fails its check.

use std::collections::HashMap;
use std::io::{Cursor, Read};

use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::clients::create_client;
use crate::documents::{pdf, stored_file, upload, uploaded};
use crate::helpers::{Account, TestApp, assert_problem, body};

/// The archive's entries by name.
fn unzipped(bytes: &[u8]) -> HashMap<String, Vec<u8>> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).expect("a readable ZIP archive");
    let mut entries = HashMap::new();
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index).unwrap();
        let path = entry.enclosed_name().expect("an entry name that stays inside the archive");
        assert!(path.is_relative());
        let name = entry.name().unwrap().into_owned();
        let mut content = Vec::new();
        entry.read_to_end(&mut content).unwrap();
        entries.insert(name, content);
    }
    assert_eq!(entries.len(), archive.len(), "every entry name is unique");
    entries
}

async fn archive_of(app: &TestApp, account: &Account, client: &str) -> reqwest::Response {
    app.get(&format!("/api/v1/clients/{client}/export?format=zip")).bearer_auth(&account.token).send().await.unwrap()
}

async fn json_export_of(app: &TestApp, account: &Account, client: &str) -> Value {
    body(app.get(&format!("/api/v1/clients/{client}/export")).bearer_auth(&account.token).send().await.unwrap()).await
}

struct World {
    coordinator: Account,
    psychologist: Account,
    counselor: Account,
    client: String,
}

async fn world(app: &TestApp) -> World {
    let admin = app.admin().await;
    let organisation = Some(app.create_organisation(&admin, "PFM").await);
    let coordinator = app.staff(&admin, organisation, "coordinator", &["social"]).await;
    let psychologist = app.staff(&coordinator, organisation, "counselor", &["psychological"]).await;
    let counselor = app.create_user(&admin, organisation, "counselor").await;
    let client = create_client(app, &counselor, json!({"given_names": "Amina", "family_name": "Saidova"})).await;
    World { coordinator, psychologist, counselor, client: client["id"].as_str().unwrap().to_owned() }
}

#[tokio::test]
async fn an_archive_export_holds_the_export_and_every_document_as_uploaded() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    // Three chunks and a bit, one small, and one with the same title and date (two entries all the same).
    let contents = [pdf(3 * 64 * 1024 + 999), pdf(1500), pdf(70_000)];
    let mut documents = Vec::new();
    for content in &contents {
        documents.push(uploaded(&app, &w.counselor, &w.client, content).await);
    }
    let hostile = serde_json::to_vec(&json!({"kind": "other", "title": "../../etc/passwd\u{202e}fdp.exe"})).unwrap();
    let response = upload(&app, &w.counselor, &w.client, &hostile, &contents[1]).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let deleted = uploaded(&app, &w.counselor, &w.client, &pdf(2000)).await;
    let removed = app
        .request(reqwest::Method::DELETE, &format!("/api/v1/documents/{}", deleted["id"].as_str().unwrap()))
        .bearer_auth(&w.coordinator.token)
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    let exports = app.audit_count("client.export");
    let downloads = app.audit_count("document.download");

    let response = archive_of(&app, &w.coordinator, &w.client).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/zip");
    assert!(response.headers()["content-disposition"].to_str().unwrap().starts_with("attachment; filename="));
    let entries = unzipped(&response.bytes().await.unwrap());

    let mut exported: Value = serde_json::from_slice(&entries["export.json"]).unwrap();
    let mut plain = json_export_of(&app, &w.coordinator, &w.client).await;
    exported["exported_at"] = Value::Null;
    plain["exported_at"] = Value::Null;
    assert_eq!(exported, plain, "the archive's JSON is the JSON export");
    let listed = exported["documents"].as_array().unwrap();
    assert_eq!(listed.len(), 4, "every document but the deleted one");
    assert!(!listed.iter().any(|d| d["id"] == deleted["id"]));

    let files: Vec<(&String, &Vec<u8>)> = entries.iter().filter(|(name, _)| name.as_str() != "export.json").collect();
    assert_eq!(files.len(), 4, "{:?}", entries.keys().collect::<Vec<_>>());
    for document in listed {
        let sha256 = document["sha256"].as_str().unwrap();
        let matching: Vec<_> = files.iter().filter(|(_, bytes)| hex::encode(Sha256::digest(bytes)) == sha256).collect();
        assert!(!matching.is_empty(), "no entry holds document {}", document["id"]);
        let content = contents.iter().find(|c| hex::encode(Sha256::digest(c)) == sha256).unwrap();
        assert!(matching.iter().all(|(_, bytes)| bytes[..] == content[..]), "the entry's bytes are the upload's");
        assert_eq!(matching[0].1.len() as u64, document["size"].as_u64().unwrap());
    }
    let date = documents[0]["created_at"].as_str().unwrap()[..10].to_owned();
    let mut names: Vec<&str> = files.iter().map(|(name, _)| name.as_str()).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "documents/2026-10-28_decision_Decyzja Szefa UdSC (2).pdf".to_owned(),
            "documents/2026-10-28_decision_Decyzja Szefa UdSC (3).pdf".to_owned(),
            "documents/2026-10-28_decision_Decyzja Szefa UdSC.pdf".to_owned(),
            format!("documents/{date}_other_etc passwd fdp exe.pdf"),
        ]
    );

    assert_eq!(app.audit_count("client.export"), exports + 2, "the archive and the JSON export, one event each");
    assert_eq!(app.audit_count("document.download"), downloads + 4, "each document given out is a download");
}

#[tokio::test]
async fn an_archive_holds_a_psychological_sessions_document_only_for_a_psychologist() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let session: Value = body(
        app.post(&format!("/api/v1/clients/{}/sessions", w.client))
            .bearer_auth(&w.psychologist.token)
            .json(&json!({"kind": "psychological", "mode": "in_person", "started_at": "2026-11-05T09:00:00Z", "duration_minutes": 50}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let meta =
        serde_json::to_vec(&json!({"kind": "medical", "title": "Zaświadczenie", "session_id": session["id"]})).unwrap();
    let tier_content = pdf(5000);
    let response = upload(&app, &w.psychologist, &w.client, &meta, &tier_content).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let open_content = pdf(4000);
    uploaded(&app, &w.counselor, &w.client, &open_content).await;

    let coordinators = unzipped(&archive_of(&app, &w.coordinator, &w.client).await.bytes().await.unwrap());
    let psychologists = unzipped(&archive_of(&app, &w.psychologist, &w.client).await.bytes().await.unwrap());
    let holds =
        |entries: &HashMap<String, Vec<u8>>, content: &[u8]| entries.values().any(|bytes| bytes[..] == *content);
    assert_eq!(coordinators.len(), 2, "the JSON and the document outside the tier");
    assert!(holds(&coordinators, &open_content) && !holds(&coordinators, &tier_content));
    assert!(!String::from_utf8_lossy(&coordinators["export.json"]).contains("Zaświadczenie"));
    assert_eq!(psychologists.len(), 3);
    assert!(holds(&psychologists, &open_content) && holds(&psychologists, &tier_content));

    use casebridge::db::schema::audit_events::dsl;
    use diesel::prelude::*;
    let tier_downloads: i64 = app.db(|conn| {
        dsl::audit_events
            .filter(dsl::action.eq("document.download"))
            .filter(dsl::tier.eq("psychological"))
            .count()
            .get_result(conn)
            .unwrap()
    });
    assert_eq!(tier_downloads, 1, "the tier document given out is a download in the tier");
}

#[tokio::test]
async fn an_archive_export_with_a_tampered_document_is_refused_whole() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    uploaded(&app, &w.counselor, &w.client, &pdf(1000)).await;
    let content = pdf(3 * 64 * 1024);
    let document = uploaded(&app, &w.counselor, &w.client, &content).await;
    let id = document["id"].as_str().unwrap();
    let path = stored_file(&app, &w.client, id);
    let mut raw = std::fs::read(&path).unwrap();
    // The last chunk's tag altered: every chunk before it still opens.
    let end = raw.len() - 1;
    raw[end] ^= 0x01;
    std::fs::write(&path, &raw).unwrap();
    let downloads = app.audit_count("document.download");

    let response = archive_of(&app, &w.coordinator, &w.client).await;
    let problem = assert_problem(response, StatusCode::CONFLICT, "document_unreadable").await;
    assert!(problem["detail"].as_str().unwrap().contains(id), "the problem names the document: {problem}");

    use casebridge::db::schema::audit_events::dsl;
    use diesel::prelude::*;
    let mut failures: Vec<String> =
        app.db(|conn| dsl::audit_events.filter(dsl::outcome.eq("failure")).select(dsl::action).load(conn).unwrap());
    failures.sort();
    assert_eq!(failures, ["client.export", "document.download"], "the export and the document's download fail");
    assert_eq!(app.audit_count("document.download"), downloads + 1, "no document counts as given out");

    // Deleted, the tampered document leaves the export, which is given again.
    let removed = app
        .request(reqwest::Method::DELETE, &format!("/api/v1/documents/{id}"))
        .bearer_auth(&w.coordinator.token)
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    let response = archive_of(&app, &w.coordinator, &w.client).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(unzipped(&response.bytes().await.unwrap()).len(), 2);
}

#[tokio::test]
async fn only_coordinators_and_psychologists_of_the_organisation_export_an_archive() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    uploaded(&app, &w.counselor, &w.client, &pdf(1000)).await;
    let admin = app.admin().await;
    let elsewhere = Some(app.create_organisation(&admin, "Other").await);
    let other_coordinator = app.create_user(&admin, elsewhere, "coordinator").await;
    let denials = app.audit_count("permission.denied");

    assert_problem(archive_of(&app, &w.counselor, &w.client).await, StatusCode::FORBIDDEN, "forbidden").await;
    assert_problem(archive_of(&app, &other_coordinator, &w.client).await, StatusCode::NOT_FOUND, "not_found").await;
    assert_eq!(app.audit_count("permission.denied"), denials + 2);
    assert_eq!(app.audit_count("client.export"), 0);
    assert_eq!(app.audit_count("document.download"), 0, "nothing was given out");
    let allowed = archive_of(&app, &w.psychologist, &w.client).await;
    assert_eq!(allowed.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_export_in_an_unknown_format_is_refused() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    for query in ["format=unknown", "format=ZIP", "format=", "format=zip&format=json", "fromat=zip"] {
        let response = app
            .get(&format!("/api/v1/clients/{}/export?{query}", w.client))
            .bearer_auth(&w.coordinator.token)
            .send()
            .await
            .unwrap();
        assert_problem(response, StatusCode::BAD_REQUEST, "invalid_query").await;
    }
    assert_eq!(app.audit_count("client.export"), 0);
    let json = app
        .get(&format!("/api/v1/clients/{}/export?format=json", w.client))
        .bearer_auth(&w.coordinator.token)
        .send()
        .await
        .unwrap();
    assert_eq!(json.status(), StatusCode::OK);
    assert_eq!(json.headers()["content-type"], "application/json");
}
