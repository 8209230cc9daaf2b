//! Documents of the case file: uploaded as a stream, sealed on disk with the client's key,
//! checked on every download, refused when too large, of the wrong type or malformed, and kept
//! inside the psychological tier when they belong to a psychological session.

use std::path::{Path, PathBuf};

use casebridge::db::{OrganisationId, SessionId};
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::clients::create_client;
use crate::helpers::{Account, TestApp, assert_problem, body};

pub const BOUNDARY: &str = "casebridge-test-boundary-7f3a";

/// One part of a multipart body: name (none for an unnamed part), file name, type, bytes.
pub type Part<'a> = (Option<&'a str>, Option<&'a str>, &'a str, &'a [u8]);

pub fn multipart(parts: &[Part<'_>]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, filename, content_type, bytes) in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        let mut disposition = "Content-Disposition: form-data".to_owned();
        if let Some(name) = name {
            disposition.push_str(&format!("; name=\"{name}\""));
        }
        if let Some(filename) = filename {
            disposition.push_str(&format!("; filename=\"{filename}\""));
        }
        body.extend_from_slice(format!("{disposition}\r\nContent-Type: {content_type}\r\n\r\n").as_bytes());
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

pub fn metadata() -> Vec<u8> {
    serde_json::to_vec(
        &json!({"kind": "decision", "title": "Decyzja Szefa UdSC", "issued_on": "2026-10-28", "language": "pl"}),
    )
    .unwrap()
}

/// A PDF of `length` bytes whose body is not compressible into anything recognisable.
pub fn pdf(length: usize) -> Vec<u8> {
    let mut bytes = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut state: u32 = 0x1234_5678;
    while bytes.len() < length {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        bytes.push(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 "[(state % 37) as usize]);
    }
    bytes.truncate(length);
    bytes
}

pub async fn send_upload(app: &TestApp, account: &Account, client: &str, body: Vec<u8>) -> Response {
    app.post(&format!("/api/v1/clients/{client}/documents"))
        .bearer_auth(&account.token)
        .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
        .body(body)
        .send()
        .await
        .unwrap()
}

pub async fn upload(app: &TestApp, account: &Account, client: &str, meta: &[u8], file: &[u8]) -> Response {
    let body = multipart(&[
        (Some("metadata"), None, "application/json", meta),
        (Some("file"), Some("decyzja.pdf"), "application/pdf", file),
    ]);
    send_upload(app, account, client, body).await
}

pub async fn uploaded(app: &TestApp, account: &Account, client: &str, file: &[u8]) -> Value {
    let response = upload(app, account, client, &metadata(), file).await;
    assert_eq!(response.status(), StatusCode::CREATED, "{}", response.text().await.unwrap());
    response.json().await.unwrap()
}

pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut files = Vec::new();
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() { files.extend(files_under(&path)) } else { files.push(path) }
    }
    files
}

pub fn stored_file(app: &TestApp, client: &str, document: &str) -> PathBuf {
    app.data_dir().join("documents").join(client).join(document)
}

fn count(app: &TestApp, table: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        count: i64,
    }
    use diesel::RunQueryDsl;
    app.db(|conn| {
        diesel::sql_query(format!("SELECT COUNT(*) AS count FROM {table}")).get_result::<Count>(conn).unwrap().count
    })
}

struct World {
    coordinator: Account,
    counselor: Account,
    client: String,
}

async fn world(app: &TestApp) -> World {
    let admin = app.admin().await;
    let organisation = Some(app.create_organisation(&admin, "PFM").await);
    let coordinator = app.create_user(&admin, organisation, "coordinator").await;
    let counselor = app.create_user(&admin, organisation, "counselor").await;
    let client = create_client(app, &counselor, json!({"given_names": "Amina", "family_name": "Saidova"})).await;
    World { coordinator, counselor, client: client["id"].as_str().unwrap().to_owned() }
}

#[tokio::test]
async fn an_uploaded_document_downloads_as_the_same_bytes_and_is_sealed_on_disk() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let content = pdf(200 * 1024 + 17);
    let document = uploaded(&app, &w.counselor, &w.client, &content).await;
    assert_eq!(document["sha256"], hex::encode(Sha256::digest(&content)));
    assert_eq!(document["size"], content.len());
    assert_eq!(document["content_type"], "application/pdf");
    assert_eq!(document["kind"], "decision");
    assert_eq!(document["uploaded_by"], w.counselor.id.to_string());
    let id = document["id"].as_str().unwrap();

    let downloaded =
        app.get(&format!("/api/v1/documents/{id}/content")).bearer_auth(&w.coordinator.token).send().await.unwrap();
    assert_eq!(downloaded.status(), StatusCode::OK);
    assert_eq!(downloaded.headers()["content-type"], "application/pdf");
    let bytes = downloaded.bytes().await.unwrap();
    assert_eq!(bytes.len(), content.len());
    assert!(bytes[..] == content[..], "the downloaded bytes differ from the uploaded ones");
    assert_eq!(hex::encode(Sha256::digest(&bytes)), document["sha256"].as_str().unwrap());
    assert_eq!(app.audit_count("document.download"), 1);

    let raw = std::fs::read(stored_file(&app, &w.client, id)).unwrap();
    assert!(raw.len() > content.len(), "each chunk carries a nonce and a tag");
    assert!(!raw.windows(9).any(|w| w == b"%PDF-1.7\n"), "the stored file holds the plaintext header");
    assert!(!raw.windows(64).any(|w| w == &content[1000..1064]), "the stored file holds plaintext");

    let read = app.get(&format!("/api/v1/documents/{id}")).bearer_auth(&w.coordinator.token).send().await.unwrap();
    assert_eq!(read.status(), StatusCode::OK);
    assert_eq!(read.headers()["etag"], "\"1\"");
    let listed: Value = body(
        app.get(&format!("/api/v1/clients/{}/documents", w.client))
            .bearer_auth(&w.counselor.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    assert_eq!(listed["items"][0]["id"], id);
}

#[tokio::test]
async fn a_chunk_swapped_on_disk_is_reported_as_tampered_and_not_returned() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let content = pdf(3 * 64 * 1024);
    let document = uploaded(&app, &w.counselor, &w.client, &content).await;
    let id = document["id"].as_str().unwrap();
    let path = stored_file(&app, &w.client, id);
    let mut raw = std::fs::read(&path).unwrap();
    let sealed_chunk = 64 * 1024 + 28;
    let (first, rest) = raw.split_at_mut(sealed_chunk);
    first.swap_with_slice(&mut rest[..sealed_chunk]);
    std::fs::write(&path, &raw).unwrap();

    let response =
        app.get(&format!("/api/v1/documents/{id}/content")).bearer_auth(&w.coordinator.token).send().await.unwrap();
    let problem = assert_problem(response, StatusCode::CONFLICT, "document_unreadable").await;
    assert!(!problem.to_string().contains("ABCDEFGH"));
    use casebridge::db::schema::audit_events::dsl;
    use diesel::prelude::*;
    let failures: i64 = app.db(|conn| {
        dsl::audit_events
            .filter(dsl::action.eq("document.download"))
            .filter(dsl::outcome.eq("failure"))
            .count()
            .get_result(conn)
            .unwrap()
    });
    assert_eq!(failures, 1, "the refused download is audited as a failure");

    // Cut short by a whole chunk: the new last chunk was not sealed as the last one.
    std::fs::write(&path, &raw[..raw.len() - sealed_chunk]).unwrap();
    let response =
        app.get(&format!("/api/v1/documents/{id}/content")).bearer_auth(&w.coordinator.token).send().await.unwrap();
    assert_problem(response, StatusCode::CONFLICT, "document_unreadable").await;
}

#[tokio::test]
async fn a_chunk_altered_past_the_start_cuts_the_download_before_its_bytes_and_is_audited() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    // Forty chunks: more than the download opens before its answer begins.
    let content = pdf(40 * 64 * 1024);
    let document = uploaded(&app, &w.counselor, &w.client, &content).await;
    let id = document["id"].as_str().unwrap();
    let path = stored_file(&app, &w.client, id);
    let mut raw = std::fs::read(&path).unwrap();
    let sealed_chunk = 64 * 1024 + 28;
    raw[30 * sealed_chunk + 100] ^= 0x01;
    std::fs::write(&path, &raw).unwrap();

    let mut response =
        app.get(&format!("/api/v1/documents/{id}/content")).bearer_auth(&w.coordinator.token).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "the object's length and first chunks are sound");
    let mut received = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(bytes)) => received.extend_from_slice(&bytes),
            Ok(None) => panic!("the whole altered document was sent ({} bytes)", received.len()),
            Err(_) => break,
        }
    }
    assert!(received.len() <= 30 * 64 * 1024, "bytes of the altered chunk were sent: {}", received.len());
    assert!(received[..] == content[..received.len()], "only the uploaded bytes were sent");
    use casebridge::db::schema::audit_events::dsl;
    use diesel::prelude::*;
    let outcomes: Vec<String> = app.db(|conn| {
        dsl::audit_events
            .filter(dsl::action.eq("document.download"))
            .order(dsl::at)
            .select(dsl::outcome)
            .load(conn)
            .unwrap()
    });
    assert_eq!(outcomes, ["success", "failure"], "the download, then its cut, are audited");
}

#[tokio::test]
async fn an_upload_over_the_size_limit_is_refused_and_leaves_nothing() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let response = upload(&app, &w.counselor, &w.client, &metadata(), &pdf(26 * 1024 * 1024)).await;
    assert_problem(response, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
    assert_eq!(count(&app, "documents"), 0);
    assert_eq!(count(&app, "client_keys"), 0);
    assert_eq!(files_under(&app.data_dir().join("documents")), Vec::<PathBuf>::new());
}

#[tokio::test]
async fn the_size_limit_holds_while_the_file_streams_in() {
    // The body's declared length is within the limit's margin: the limit is met while streaming.
    let app = TestApp::spawn_with(|vars| {
        vars.insert("CASEBRIDGE_DOCUMENT_MAX_BYTES".into(), "100000".into());
    })
    .await;
    let w = world(&app).await;
    let response = upload(&app, &w.counselor, &w.client, &metadata(), &pdf(150_000)).await;
    assert_problem(response, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
    assert_eq!(count(&app, "documents"), 0);
    assert_eq!(files_under(&app.data_dir().join("documents")), Vec::<PathBuf>::new());
    let response = upload(&app, &w.counselor, &w.client, &metadata(), &pdf(99_000)).await;
    assert_eq!(response.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn a_renamed_program_sent_as_a_pdf_is_refused_as_unsupported() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let mut program = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00".to_vec();
    program.extend(std::iter::repeat_n(0u8, 4096));
    let response = upload(&app, &w.counselor, &w.client, &metadata(), &program).await;
    assert_problem(response, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_file_type").await;
    assert_eq!(count(&app, "documents"), 0);
    assert_eq!(files_under(&app.data_dir().join("documents")), Vec::<PathBuf>::new());
    let png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00";
    let document = uploaded(&app, &w.counselor, &w.client, png).await;
    assert_eq!(document["content_type"], "image/png", "the type comes from the bytes, not the header");
}

#[tokio::test]
async fn malformed_multipart_bodies_are_refused_without_storing_anything() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let meta = metadata();
    let file = pdf(5000);
    let complete = multipart(&[
        (Some("metadata"), None, "application/json", &meta),
        (Some("file"), Some("d.pdf"), "application/pdf", &file),
    ]);
    let cases: Vec<(&str, Vec<u8>, &str, StatusCode, &str)> = vec![
        (
            "no file part",
            multipart(&[(Some("metadata"), None, "application/json", &meta)]),
            "multipart/form-data",
            StatusCode::BAD_REQUEST,
            "missing_part",
        ),
        (
            "no metadata part",
            multipart(&[(Some("file"), Some("d.pdf"), "application/pdf", &file)]),
            "multipart/form-data",
            StatusCode::BAD_REQUEST,
            "missing_part",
        ),
        (
            "two files",
            multipart(&[
                (Some("metadata"), None, "application/json", &meta),
                (Some("file"), Some("a.pdf"), "application/pdf", &file),
                (Some("file"), Some("b.pdf"), "application/pdf", &file),
            ]),
            "multipart/form-data",
            StatusCode::BAD_REQUEST,
            "duplicate_part",
        ),
        (
            "a part without a name",
            multipart(&[
                (Some("metadata"), None, "application/json", &meta),
                (None, Some("d.pdf"), "application/pdf", &file),
            ]),
            "multipart/form-data",
            StatusCode::BAD_REQUEST,
            "unnamed_part",
        ),
        (
            "an unknown part",
            multipart(&[
                (Some("metadata"), None, "application/json", &meta),
                (Some("file"), Some("d.pdf"), "application/pdf", &file),
                (Some("comment"), None, "text/plain", b"hello"),
            ]),
            "multipart/form-data",
            StatusCode::BAD_REQUEST,
            "unknown_part",
        ),
        (
            "a truncated body",
            complete[..complete.len() - 200].to_vec(),
            "multipart/form-data",
            StatusCode::BAD_REQUEST,
            "incomplete_body",
        ),
        ("a JSON body", meta.clone(), "application/json", StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
        (
            "metadata that is not JSON",
            multipart(&[
                (Some("metadata"), None, "application/json", b"{\"kind\": "),
                (Some("file"), Some("d.pdf"), "application/pdf", &file),
            ]),
            "multipart/form-data",
            StatusCode::BAD_REQUEST,
            "invalid_body",
        ),
        (
            "invalid metadata",
            multipart(&[
                (Some("metadata"), None, "application/json", br#"{"kind": "passport", "title": ""}"#),
                (Some("file"), Some("d.pdf"), "application/pdf", &file),
            ]),
            "multipart/form-data",
            StatusCode::BAD_REQUEST,
            "invalid_body",
        ),
        (
            "an empty title",
            multipart(&[
                (Some("metadata"), None, "application/json", br#"{"kind": "decision", "title": " "}"#),
                (Some("file"), Some("d.pdf"), "application/pdf", &file),
            ]),
            "multipart/form-data",
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
    ];
    for (what, body, content_type, status, code) in cases {
        let content_type = if content_type == "multipart/form-data" {
            format!("{content_type}; boundary={BOUNDARY}")
        } else {
            content_type.to_owned()
        };
        let response = app
            .post(&format!("/api/v1/clients/{}/documents", w.client))
            .bearer_auth(&w.counselor.token)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{what}");
        let problem = assert_problem(response, status, code).await;
        assert!(problem["detail"].is_string(), "{what}");
    }
    assert_eq!(count(&app, "documents"), 0);
    assert_eq!(count(&app, "client_keys"), 0);
    assert_eq!(files_under(&app.data_dir().join("documents")), Vec::<PathBuf>::new());
}

#[tokio::test]
async fn malformed_multipart_bodies_answer_problem_documents_with_their_code() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let meta = metadata();
    let file = pdf(5000);
    let two_files = multipart(&[
        (Some("metadata"), None, "application/json", &meta),
        (Some("file"), Some("a.pdf"), "application/pdf", &file),
        (Some("file"), Some("b.pdf"), "application/pdf", &file),
    ]);
    assert_problem(
        send_upload(&app, &w.counselor, &w.client, two_files).await,
        StatusCode::BAD_REQUEST,
        "duplicate_part",
    )
    .await;
    let unnamed =
        multipart(&[(Some("metadata"), None, "application/json", &meta), (None, None, "application/pdf", &file)]);
    assert_problem(send_upload(&app, &w.counselor, &w.client, unnamed).await, StatusCode::BAD_REQUEST, "unnamed_part")
        .await;
    let no_file = multipart(&[(Some("metadata"), None, "application/json", &meta)]);
    assert_problem(send_upload(&app, &w.counselor, &w.client, no_file).await, StatusCode::BAD_REQUEST, "missing_part")
        .await;
    let json_body = app
        .post(&format!("/api/v1/clients/{}/documents", w.client))
        .bearer_auth(&w.counselor.token)
        .json(&json!({"kind": "decision"}))
        .send()
        .await
        .unwrap();
    assert_problem(json_body, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type").await;
}

#[tokio::test]
async fn metadata_is_corrected_with_if_match_and_links_stay_within_the_client() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let document = uploaded(&app, &w.counselor, &w.client, &pdf(3000)).await;
    let id = document["id"].as_str().unwrap();
    let path = format!("/api/v1/documents/{id}");
    let missing =
        app.patch(&path).bearer_auth(&w.counselor.token).json(&json!({"title": "Decyzja RdU"})).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::PRECONDITION_REQUIRED);
    let corrected = app
        .patch(&path)
        .bearer_auth(&w.counselor.token)
        .header("if-match", "\"1\"")
        .json(&json!({"title": "Decyzja RdU", "kind": "appeal", "language": null}))
        .send()
        .await
        .unwrap();
    assert_eq!(corrected.status(), StatusCode::OK);
    let corrected: Value = corrected.json().await.unwrap();
    assert_eq!(
        (corrected["title"].as_str(), corrected["kind"].as_str(), corrected["version"].as_i64()),
        (Some("Decyzja RdU"), Some("appeal"), Some(2))
    );
    assert_eq!(corrected["language"], Value::Null);
    assert_eq!(corrected["sha256"], document["sha256"]);
    let stale = app
        .patch(&path)
        .bearer_auth(&w.counselor.token)
        .header("if-match", "\"1\"")
        .json(&json!({"title": "X"}))
        .send()
        .await
        .unwrap();
    assert_problem(stale, StatusCode::PRECONDITION_FAILED, "stale_version").await;

    let other = create_client(&app, &w.counselor, json!({"given_names": "Bohdan", "family_name": "Koval"})).await;
    let consent: Value = body(
        app.post(&format!("/api/v1/clients/{}/consents", other["id"].as_str().unwrap()))
            .bearer_auth(&w.counselor.token)
            .json(&json!({"purpose": "processing", "given_on": "2026-01-05", "language": "ru", "form_version": "v1"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let foreign = app
        .patch(&path)
        .bearer_auth(&w.counselor.token)
        .header("if-match", "\"2\"")
        .json(&json!({"consent_id": consent["id"], "session_id": SessionId::new()}))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(foreign, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert!(problem["errors"]["consent_id"].is_string() && problem["errors"]["session_id"].is_string(), "{problem}");
}

#[tokio::test]
async fn a_deleted_document_leaves_the_case_file_and_only_its_uploader_or_a_coordinator_deletes_it() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let document = uploaded(&app, &w.coordinator, &w.client, &pdf(3000)).await;
    let id = document["id"].as_str().unwrap();
    let path = format!("/api/v1/documents/{id}");
    let refused = app.request(reqwest::Method::DELETE, &path).bearer_auth(&w.counselor.token).send().await.unwrap();
    assert_problem(refused, StatusCode::FORBIDDEN, "forbidden").await;
    let deleted = app.request(reqwest::Method::DELETE, &path).bearer_auth(&w.coordinator.token).send().await.unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.audit_count("document.delete"), 1);
    let gone = app.get(&path).bearer_auth(&w.coordinator.token).send().await.unwrap();
    assert_problem(gone, StatusCode::NOT_FOUND, "not_found").await;
    let listed: Value = body(
        app.get(&format!("/api/v1/clients/{}/documents", w.client))
            .bearer_auth(&w.coordinator.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(listed["items"], json!([]));
    // Kept for the retention period, then destroyed.
    assert!(stored_file(&app, &w.client, id).exists());
}

#[tokio::test]
async fn a_document_of_a_psychological_session_is_hidden_outside_the_tier() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let organisation = Some(app.create_organisation(&admin, "PFM").await);
    let coordinator = app.staff(&admin, organisation, "coordinator", &["social"]).await;
    let psychologist = app.staff(&coordinator, organisation, "counselor", &["psychological"]).await;
    let client = create_client(&app, &coordinator, json!({"given_names": "Amina", "family_name": "Saidova"})).await;
    let client = client["id"].as_str().unwrap();
    let session: Value = body(
        app.post(&format!("/api/v1/clients/{client}/sessions"))
            .bearer_auth(&psychologist.token)
            .json(&json!({"kind": "psychological", "mode": "in_person", "started_at": "2026-11-05T09:00:00Z", "duration_minutes": 50}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let meta =
        serde_json::to_vec(&json!({"kind": "medical", "title": "Zaświadczenie", "session_id": session["id"]})).unwrap();
    // Outside the tier, the session does not exist to link to.
    let outside = upload(&app, &coordinator, client, &meta, &pdf(2000)).await;
    let problem = assert_problem(outside, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert!(problem["errors"]["session_id"].is_string());
    let response = upload(&app, &psychologist, client, &meta, &pdf(2000)).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let document: Value = response.json().await.unwrap();
    let id = document["id"].as_str().unwrap();
    let open = uploaded(&app, &coordinator, client, &pdf(1000)).await;

    let denials = app.audit_count("permission.denied");
    for path in [format!("/api/v1/documents/{id}"), format!("/api/v1/documents/{id}/content")] {
        let hidden = app.get(&path).bearer_auth(&coordinator.token).send().await.unwrap();
        assert_problem(hidden, StatusCode::NOT_FOUND, "not_found").await;
        let seen = app.get(&path).bearer_auth(&psychologist.token).send().await.unwrap();
        assert_eq!(seen.status(), StatusCode::OK, "{path}");
    }
    let hidden = app
        .request(reqwest::Method::DELETE, &format!("/api/v1/documents/{id}"))
        .bearer_auth(&coordinator.token)
        .send()
        .await
        .unwrap();
    assert_problem(hidden, StatusCode::NOT_FOUND, "not_found").await;
    assert_eq!(app.audit_count("permission.denied"), denials + 3);
    use casebridge::db::schema::audit_events::dsl;
    use diesel::prelude::*;
    let outside_tier: i64 = app.db(|conn| {
        dsl::audit_events
            .filter(dsl::resource.eq("document"))
            .filter(dsl::tier.is_null())
            .filter(dsl::resource_id.eq(id))
            .count()
            .get_result(conn)
            .unwrap()
    });
    assert_eq!(outside_tier, 0, "every event about the document is in the tier");

    let list =
        |account: &Account| app.get(&format!("/api/v1/clients/{client}/documents")).bearer_auth(&account.token).send();
    let listed: Value = body(list(&coordinator).await.unwrap()).await;
    assert_eq!(
        listed["items"].as_array().unwrap().iter().map(|d| d["id"].clone()).collect::<Vec<_>>(),
        vec![open["id"].clone()]
    );
    let listed: Value = body(list(&psychologist).await.unwrap()).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 2);

    let export: Value = body(
        app.get(&format!("/api/v1/clients/{client}/export")).bearer_auth(&coordinator.token).send().await.unwrap(),
    )
    .await;
    assert_eq!(
        export["documents"].as_array().unwrap().iter().map(|d| d["id"].clone()).collect::<Vec<_>>(),
        vec![open["id"].clone()]
    );
}

#[tokio::test]
async fn erasing_a_client_destroys_its_documents_bytes_and_titles() {
    let app = TestApp::spawn_with(|vars| {
        vars.insert("CASEBRIDGE_DOCUMENT_PURGE_INTERVAL_SECONDS".into(), "1".into());
    })
    .await;
    let w = world(&app).await;
    let document = uploaded(&app, &w.counselor, &w.client, &pdf(3000)).await;
    let id = document["id"].as_str().unwrap();
    let export: Value = body(
        app.get(&format!("/api/v1/clients/{}/export", w.client))
            .bearer_auth(&w.coordinator.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(export["documents"][0]["title"], "Decyzja Szefa UdSC");
    let erased = app
        .post(&format!("/api/v1/clients/{}/erase", w.client))
        .bearer_auth(&w.coordinator.token)
        .json(&json!({"reason": "Request of the client"}))
        .send()
        .await
        .unwrap();
    assert_eq!(erased.status(), StatusCode::NO_CONTENT);
    let path = stored_file(&app, &w.client, id);
    // The purge deletes the object, then records it destroyed: wait for both.
    let find = || app.db(|conn| casebridge::documents::queries::find(conn, id.parse().unwrap()).unwrap().unwrap());
    for _ in 0..100 {
        if !path.exists() && find().bytes_destroyed_at.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(!path.exists(), "the stored bytes are destroyed");
    let row = find();
    assert_eq!(row.title, casebridge::privacy::ERASED);
    assert_eq!(row.sha256, "");
    assert!(row.bytes_destroyed_at.is_some());
    let gone = app.get(&format!("/api/v1/documents/{id}")).bearer_auth(&w.coordinator.token).send().await.unwrap();
    assert_problem(gone, StatusCode::NOT_FOUND, "not_found").await;
}

/// A stand-in for clamd on a local port: reads one INSTREAM conversation and answers `reply`.
/// Returns the port and the bytes it was sent.
async fn scripted_clamd(reply: &'static [u8]) -> (u16, tokio::task::JoinHandle<Vec<u8>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut command = [0u8; 10];
        socket.read_exact(&mut command).await.unwrap();
        assert_eq!(&command, b"zINSTREAM\0");
        let mut received = Vec::new();
        loop {
            let mut length = [0u8; 4];
            socket.read_exact(&mut length).await.unwrap();
            let length = u32::from_be_bytes(length) as usize;
            if length == 0 {
                break;
            }
            let mut frame = vec![0u8; length];
            socket.read_exact(&mut frame).await.unwrap();
            received.extend(frame);
        }
        socket.write_all(reply).await.unwrap();
        received
    });
    (port, task)
}

async fn with_clamd(address: String) -> (TestApp, World) {
    let app = TestApp::spawn_with(move |vars| {
        vars.insert("CASEBRIDGE_CLAMD_ADDRESS".into(), address);
    })
    .await;
    let w = world(&app).await;
    (app, w)
}

#[tokio::test]
async fn an_upload_clamd_finds_malware_in_is_refused_and_a_clean_one_is_stored() {
    let (port, clamd) = scripted_clamd(b"stream: Win.Test.EICAR_HDB-1 FOUND\0").await;
    let (app, w) = with_clamd(format!("127.0.0.1:{port}")).await;
    let content = pdf(150_000);
    let response = upload(&app, &w.counselor, &w.client, &metadata(), &content).await;
    assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "malware_found").await;
    assert!(clamd.await.unwrap() == content, "clamd was sent the file exactly");
    assert_eq!(count(&app, "documents"), 0);
    assert_eq!(files_under(&app.data_dir().join("documents")), Vec::<PathBuf>::new());

    let (port, clamd) = scripted_clamd(b"stream: OK\0").await;
    let (app, w) = with_clamd(format!("127.0.0.1:{port}")).await;
    uploaded(&app, &w.counselor, &w.client, &content).await;
    assert!(clamd.await.unwrap() == content);
}

#[tokio::test]
async fn an_upload_is_refused_while_clamd_is_unreachable() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = closed.local_addr().unwrap().to_string();
    drop(closed);
    let (app, w) = with_clamd(address).await;
    let response = upload(&app, &w.counselor, &w.client, &metadata(), &pdf(3000)).await;
    assert_problem(response, StatusCode::SERVICE_UNAVAILABLE, "scanner_unavailable").await;
    assert_eq!(count(&app, "documents"), 0);
}

#[tokio::test]
async fn rotating_the_master_key_leaves_stored_documents_untouched_and_readable() {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD as BASE64;
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let content = pdf(100_000);
    let document = uploaded(&app, &w.counselor, &w.client, &content).await;
    let id = document["id"].as_str().unwrap();
    let sealed_before = std::fs::read(stored_file(&app, &w.client, id)).unwrap();
    let old = format!("test-1:{}", BASE64.encode(crate::helpers::MASTER_KEY));
    let new = format!("test-2:{}", BASE64.encode([6u8; 32]));
    let (mut vars, _data) = app.vars();
    vars.insert("CASEBRIDGE_MASTER_KEYS".into(), format!("{old},{new}"));
    let config = casebridge::config::Config::from_vars(&vars).unwrap();
    assert_eq!(casebridge::cli::rotate_master_key(&config, 10, |_| {}).unwrap(), 1);
    assert_eq!(std::fs::read(stored_file(&app, &w.client, id)).unwrap(), sealed_before, "no re-encryption");

    let data_dir = app.data_dir().to_string_lossy().into_owned();
    let only_new = app
        .sibling_with(|vars| {
            vars.insert("CASEBRIDGE_MASTER_KEYS".into(), new.clone());
            vars.insert("CASEBRIDGE_DATA_DIR".into(), data_dir.clone());
        })
        .await;
    let token = only_new.signed_in(w.coordinator.clone()).await.token;
    let downloaded = only_new.get(&format!("/api/v1/documents/{id}/content")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(downloaded.status(), StatusCode::OK);
    assert!(downloaded.bytes().await.unwrap()[..] == content[..]);
}

#[tokio::test]
async fn a_deleted_documents_bytes_are_destroyed_after_the_retention_period() {
    let app = TestApp::spawn_with(|vars| {
        vars.insert("CASEBRIDGE_DOCUMENT_RETENTION_DAYS".into(), "0".into());
        vars.insert("CASEBRIDGE_DOCUMENT_PURGE_INTERVAL_SECONDS".into(), "1".into());
    })
    .await;
    let w = world(&app).await;
    let kept = uploaded(&app, &w.counselor, &w.client, &pdf(3000)).await;
    let document = uploaded(&app, &w.counselor, &w.client, &pdf(3000)).await;
    let id = document["id"].as_str().unwrap();
    let deleted = app
        .request(reqwest::Method::DELETE, &format!("/api/v1/documents/{id}"))
        .bearer_auth(&w.counselor.token)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let path = stored_file(&app, &w.client, id);
    for _ in 0..100 {
        if !path.exists() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(!path.exists(), "the deleted document's bytes are destroyed");
    assert!(stored_file(&app, &w.client, kept["id"].as_str().unwrap()).exists(), "other documents stay");
    let row = app.db(|conn| casebridge::documents::queries::find(conn, id.parse().unwrap()).unwrap().unwrap());
    assert!(row.deleted_at.is_some() && row.bytes_destroyed_at.is_some());
}

async fn referred(
    app: &TestApp,
    sender: &Account,
    partner: OrganisationId,
    lawyer: &Account,
    name: &str,
    scope: Value,
) -> (String, Value, Value) {
    let client = create_client(app, sender, json!({"given_names": name, "family_name": "Basayev"})).await;
    let client_id = client["id"].as_str().unwrap().to_owned();
    let consent: Value = body(
        app.post(&format!("/api/v1/clients/{client_id}/consents"))
            .bearer_auth(&sender.token)
            .json(&json!({"purpose": "sharing_with_partner", "partner_id": partner, "scope": scope,
                          "given_on": "2026-11-02", "language": "ru", "form_version": "v1"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let referral: Value = body(
        app.post("/api/v1/referrals")
            .bearer_auth(&sender.token)
            .json(&json!({"client_id": client_id, "to_organisation_id": partner, "service": "legal", "urgency": "routine",
                          "reason": "Appeal", "shared_fields": ["given_names", "family_name"], "consent_id": consent["id"]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let accepted = app
        .post(&format!("/api/v1/referrals/{}/accept", referral["id"].as_str().unwrap()))
        .bearer_auth(&lawyer.token)
        .header("if-match", "\"1\"")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), StatusCode::OK, "{}", accepted.text().await.unwrap());
    (client_id, consent, referral)
}

async fn share(app: &TestApp, account: &Account, referral: &Value, documents: &[&Value]) -> Response {
    let ids: Vec<&Value> = documents.iter().map(|d| &d["id"]).collect();
    app.request(
        reqwest::Method::PUT,
        &format!("/api/v1/referrals/{}/shared-documents", referral["id"].as_str().unwrap()),
    )
    .bearer_auth(&account.token)
    .json(&json!({"document_ids": ids}))
    .send()
    .await
    .unwrap()
}

#[tokio::test]
async fn a_partner_sees_shared_documents_only_while_the_consent_covers_them() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let pfm = Some(app.create_organisation(&admin, "PFM").await);
    let partner = app.create_organisation(&admin, "HFPC").await;
    let counselor = app.create_user(&admin, pfm, "counselor").await;
    let lawyer = app.create_user(&admin, Some(partner), "counselor").await;

    // Without `documents` in the consent's scope nothing can be shared, and the partner sees none.
    let (aslan, _, without) = referred(&app, &counselor, partner, &lawyer, "Aslan", json!(["identity"])).await;
    let aslans = uploaded(&app, &counselor, &aslan, &pdf(3000)).await;
    let refused = share(&app, &counselor, &without, &[&aslans]).await;
    let problem = assert_problem(refused, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert!(problem["errors"]["document_ids"].is_string());
    let referral = without["id"].as_str().unwrap();
    let aslans_id = aslans["id"].as_str().unwrap();
    for path in [
        format!("/api/v1/referrals/{referral}/shared-documents"),
        format!("/api/v1/referrals/{referral}/shared-documents/{aslans_id}/content"),
        format!("/api/v1/documents/{aslans_id}"),
        format!("/api/v1/documents/{aslans_id}/content"),
        format!("/api/v1/clients/{aslan}/documents"),
    ] {
        let response = app.get(&path).bearer_auth(&lawyer.token).send().await.unwrap();
        assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
    }

    // With it, the sender chooses what the partner sees.
    let (amina, consent, with) =
        referred(&app, &counselor, partner, &lawyer, "Amina", json!(["identity", "documents"])).await;
    let content = pdf(90_000);
    let chosen = uploaded(&app, &counselor, &amina, &content).await;
    let kept_back = uploaded(&app, &counselor, &amina, &pdf(2000)).await;
    let foreign = share(&app, &counselor, &with, &[&chosen, &aslans]).await;
    assert_problem(foreign, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    // A document of a psychological session never leaves the tier, not even to a partner.
    let psychologist = app.staff(&admin, pfm, "counselor", &["psychological"]).await;
    let session: Value = body(
        app.post(&format!("/api/v1/clients/{amina}/sessions"))
            .bearer_auth(&psychologist.token)
            .json(&json!({"kind": "psychological", "mode": "in_person", "started_at": "2026-11-05T09:00:00Z", "duration_minutes": 50}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let meta = serde_json::to_vec(&json!({"kind": "medical", "title": "Opinia", "session_id": session["id"]})).unwrap();
    let response = upload(&app, &psychologist, &amina, &meta, &pdf(2000)).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let in_tier: Value = response.json().await.unwrap();
    let refused = share(&app, &psychologist, &with, &[&in_tier]).await;
    assert_problem(refused, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let by_partner = share(&app, &lawyer, &with, &[&chosen]).await;
    assert_problem(by_partner, StatusCode::NOT_FOUND, "not_found").await;
    let shared = share(&app, &counselor, &with, &[&chosen]).await;
    assert_eq!(shared.status(), StatusCode::OK);
    let referral = with["id"].as_str().unwrap();
    let listed: Value = body(
        app.get(&format!("/api/v1/referrals/{referral}/shared-documents"))
            .bearer_auth(&lawyer.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let ids: Vec<&Value> = listed["documents"].as_array().unwrap().iter().map(|d| &d["id"]).collect();
    assert_eq!(ids, vec![&chosen["id"]]);
    let content_path = |document: &Value| {
        format!("/api/v1/referrals/{referral}/shared-documents/{}/content", document["id"].as_str().unwrap())
    };
    let downloaded = app.get(&content_path(&chosen)).bearer_auth(&lawyer.token).send().await.unwrap();
    assert_eq!(downloaded.status(), StatusCode::OK);
    assert!(downloaded.bytes().await.unwrap()[..] == content[..]);
    assert_eq!(app.audit_count("document.download"), 1);
    let not_chosen = app.get(&content_path(&kept_back)).bearer_auth(&lawyer.token).send().await.unwrap();
    assert_problem(not_chosen, StatusCode::NOT_FOUND, "not_found").await;

    // Withdrawing the consent cuts the partner's access at once.
    let withdrawn = app
        .post(&format!("/api/v1/clients/{amina}/consents/{}/withdraw", consent["id"].as_str().unwrap()))
        .bearer_auth(&counselor.token)
        .send()
        .await
        .unwrap();
    assert!(withdrawn.status().is_success(), "{}", withdrawn.text().await.unwrap());
    for path in [format!("/api/v1/referrals/{referral}/shared-documents"), content_path(&chosen)] {
        let response = app.get(&path).bearer_auth(&lawyer.token).send().await.unwrap();
        assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
    }
}

/// Against a real S3-compatible server when `CASEBRIDGE_TEST_S3_URL` names one (`.ci/run` starts
/// moto's server on 127.0.0.1); skipped otherwise.
#[tokio::test]
async fn a_document_in_an_s3_store_downloads_as_the_same_bytes_and_is_stored_sealed() {
    let Ok(endpoint) = std::env::var("CASEBRIDGE_TEST_S3_URL") else {
        eprintln!("CASEBRIDGE_TEST_S3_URL is not set: the S3 store is not tested against a server");
        return;
    };
    let endpoint = endpoint.trim_end_matches('/').to_owned();
    let bucket = format!("casebridge-{}", uuid::Uuid::now_v7().simple());
    let created = reqwest::Client::new().put(format!("{endpoint}/{bucket}")).send().await.unwrap();
    assert!(created.status().is_success(), "creating the bucket: {}", created.status());
    let app = TestApp::spawn_with(|vars| {
        vars.insert("CASEBRIDGE_DOCUMENT_STORE".into(), format!("s3://{bucket}/instance-1"));
        for (name, value) in [
            ("AWS_ENDPOINT", endpoint.as_str()),
            ("AWS_ALLOW_HTTP", "true"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "casebridge-test"),
            ("AWS_SECRET_ACCESS_KEY", "casebridge-test"),
        ] {
            vars.insert(name.into(), value.into());
        }
    })
    .await;
    let w = world(&app).await;
    // Larger than an S3 part (5 MiB), so the upload is a multipart one.
    let content = pdf(6 * 1024 * 1024 + 4321);
    let document = uploaded(&app, &w.counselor, &w.client, &content).await;
    let id = document["id"].as_str().unwrap();
    assert!(files_under(&app.data_dir().join("documents")).is_empty(), "nothing is stored in the data folder");

    let downloaded =
        app.get(&format!("/api/v1/documents/{id}/content")).bearer_auth(&w.coordinator.token).send().await.unwrap();
    assert_eq!(downloaded.status(), StatusCode::OK);
    let bytes = downloaded.bytes().await.unwrap();
    assert!(bytes[..] == content[..], "the downloaded bytes differ from the uploaded ones");
    assert_eq!(hex::encode(Sha256::digest(&bytes)), document["sha256"].as_str().unwrap());

    let stored =
        reqwest::Client::new().get(format!("{endpoint}/{bucket}/instance-1/{}/{id}", w.client)).send().await.unwrap();
    assert_eq!(stored.status(), StatusCode::OK, "the object is where its key says");
    let raw = stored.bytes().await.unwrap();
    assert!(raw.len() > content.len(), "each chunk carries a nonce and a tag");
    assert!(!raw.windows(9).any(|w| w == b"%PDF-1.7\n"), "the stored object holds the plaintext header");
    assert!(!raw.windows(64).any(|w| w == &content[100_000..100_064]), "the stored object holds plaintext");
}
