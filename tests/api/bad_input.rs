//! A sweep over every documented operation with malformed requests: each answer is a 4xx
//! problem document, never a 500, and nothing is written.

use base64::Engine;
use diesel::RunQueryDsl;
use reqwest::Method;

use crate::helpers::{Account, TestApp};

/// Tables whose rows requests could create or change (the audit trail and failed-login counts
/// legitimately grow with refused requests).
const BUSINESS_TABLES: &[&str] = &[
    "organisations",
    "users",
    "login_sessions",
    "clients",
    "consents",
    "procedure_events",
    "deadlines",
    "sessions",
    "session_participants",
    "referrals",
    "referral_events",
    "client_keys",
    "client_merges",
    "idempotency_keys",
    "documents",
    "referral_documents",
];

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    count: i64,
}

fn snapshot(app: &TestApp) -> Vec<i64> {
    BUSINESS_TABLES
        .iter()
        .map(|table| {
            app.db(|conn| {
                diesel::sql_query(format!("SELECT COUNT(*) AS count FROM {table}"))
                    .get_result::<Count>(conn)
                    .unwrap()
                    .count
            })
        })
        .collect()
}

async fn assert_refused(app: &TestApp, method: &Method, url: &str, token: &str, body: Option<&str>, what: &str) {
    let mut request = app.client.request(method.clone(), format!("{}{}", app.address, url)).bearer_auth(token);
    if let Some(body) = body {
        request = request.header("content-type", "application/json").header("if-match", "\"1\"").body(body.to_owned());
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    assert!(status.is_client_error(), "{what}: {method} {url} answered {status}: {}", response.text().await.unwrap());
    let content_type =
        response.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    assert_eq!(content_type, "application/problem+json", "{what}: {method} {url}");
}

fn fill(path: &str, value: &str) -> String {
    let mut filled = String::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        filled.push_str(&rest[..start]);
        let end = rest[start..].find('}').map_or(rest.len(), |e| start + e + 1);
        filled.push_str(value);
        rest = &rest[end..];
    }
    filled.push_str(rest);
    filled
}

#[tokio::test]
async fn every_operation_refuses_malformed_input_without_writing() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let organisation = app.create_organisation(&admin, "PFM").await;
    let coordinator: Account = app.create_user(&admin, Some(organisation), "coordinator").await;
    let before = snapshot(&app);

    let document = serde_json::to_value(casebridge::openapi::document()).unwrap();
    let missing = casebridge::db::Id::new().to_string();
    let hostile_bodies = [
        ("malformed JSON", "{\"name\": "),
        ("an array for an object", "[1, 2, 3]"),
        ("unknown fields only", "{\"is_admin\": true, \"organisation_id\": \"x\"}"),
        ("wrong types", "{\"email\": 5, \"given_names\": [], \"kind\": {}, \"from\": false}"),
        ("SQL and script", "{\"name\": \"'; DROP TABLE users; --\", \"given_names\": \"<script>alert(1)</script>\"}"),
        ("a huge number", "{\"duration_minutes\": 1e400, \"limit\": 99999999999999999999}"),
    ];
    // Cursors of the API's own encoding whose contents it never handed out.
    let forged_cursors: Vec<String> = ["key:not-a-date|x", "key:2026-02-30|", "id:not-an-id", "key:9999-99-99|"]
        .iter()
        .map(|text| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text))
        .chain([base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("key:not-a-date|{missing}"))])
        .collect();
    let mut checked = 0;
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let token = if path.contains("/organisations") || path.contains("/users") {
                &admin.token
            } else {
                &coordinator.token
            };
            if path.contains('{') {
                for (what, value) in
                    [("a missing id", missing.as_str()), ("a malformed id", "not-a-uuid"), ("invalid UTF-8", "%FF%FE")]
                {
                    let body = operation.get("requestBody").map(|_| "{}");
                    assert_refused(&app, &method, &fill(path, value), token, body, what).await;
                    checked += 1;
                }
            }
            if operation.get("requestBody").is_some() && !path.contains('{') {
                for (what, body) in hostile_bodies {
                    assert_refused(&app, &method, path, token, Some(body), what).await;
                    checked += 1;
                }
            }
            let lists = operation["parameters"].as_array().is_some_and(|p| p.iter().any(|p| p["name"] == "limit"));
            if lists && !path.contains('{') {
                let malformed =
                    ["limit=99999999999999999999", "limit=0", "limit=-1", "cursor=%FF%FE", "cursor='%20OR%201=1--"];
                let forged = forged_cursors.iter().map(|cursor| format!("cursor={cursor}"));
                for query in malformed.into_iter().map(str::to_owned).chain(forged) {
                    let url = format!("{path}?{query}&box=inbox&from=2026-01-01&to=2026-01-31");
                    assert_refused(&app, &method, &url, token, None, &query).await;
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 100, "only {checked} requests were tried");
    assert_eq!(snapshot(&app), before, "a refused request wrote something");
}

/// A value a query parameter of this schema accepts (only needed for the required ones).
fn accepted_value(name: &str, schema: &serde_json::Value, document: &serde_json::Value) -> String {
    let schema = resolved(schema, document);
    if let Some(first) = schema["enum"].get(0).and_then(|v| v.as_str()) {
        return first.to_owned();
    }
    match (name, schema["format"].as_str()) {
        ("to", Some("date")) => "2026-01-31".to_owned(),
        (_, Some("date")) => "2026-01-01".to_owned(),
        _ if schema["type"] == "integer" => "1".to_owned(),
        _ => "x".to_owned(),
    }
}

fn resolved<'a>(schema: &'a serde_json::Value, document: &'a serde_json::Value) -> &'a serde_json::Value {
    match schema["$ref"].as_str().and_then(|r| r.strip_prefix("#/components/schemas/")) {
        Some(name) => &document["components"]["schemas"][name],
        None => schema,
    }
}

/// Every query parameter that takes one of a closed list of values (a format, a status, a
/// kind…), sent a value outside it: a 400 problem that names what was refused, never the default
/// answer as if the parameter were absent.
#[tokio::test]
async fn every_closed_list_query_parameter_refuses_a_value_outside_its_list() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let organisation = app.create_organisation(&admin, "PFM").await;
    let coordinator: Account = app.create_user(&admin, Some(organisation), "coordinator").await;
    let client = crate::clients::create_client(
        &app,
        &coordinator,
        serde_json::json!({"given_names": "Amina", "family_name": "Saidova"}),
    )
    .await;
    let client = client["id"].as_str().unwrap().to_owned();
    let before = snapshot(&app);
    let document = serde_json::to_value(casebridge::openapi::document()).unwrap();
    let mut checked = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let parameters = operation["parameters"].as_array().cloned().unwrap_or_default();
            let query: Vec<&serde_json::Value> = parameters.iter().filter(|p| p["in"] == "query").collect();
            for parameter in &query {
                if resolved(&parameter["schema"], &document)["enum"].as_array().is_none() {
                    continue;
                }
                let name = parameter["name"].as_str().unwrap();
                let mut pairs = vec![format!("{name}=not-a-listed-value")];
                for other in query.iter().filter(|p| p["name"] != name && p["required"] == true) {
                    let other_name = other["name"].as_str().unwrap();
                    pairs.push(format!("{other_name}={}", accepted_value(other_name, &other["schema"], &document)));
                }
                let url = format!("{}?{}", fill(path, &client), pairs.join("&"));
                let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
                let response = app
                    .client
                    .request(method.clone(), format!("{}{}", app.address, url))
                    .bearer_auth(&coordinator.token)
                    .send()
                    .await
                    .unwrap();
                let status = response.status();
                let text = response.text().await.unwrap();
                assert_eq!(status, reqwest::StatusCode::BAD_REQUEST, "{method} {url}: {text}");
                assert!(text.contains("not-a-listed-value"), "{method} {url} refused something else: {text}");
                checked.push(format!("{method} {path} {name}"));
            }
        }
    }
    assert!(
        checked.iter().any(|c| c.ends_with("/export format")),
        "the export's format is among the parameters checked: {checked:?}"
    );
    assert_eq!(snapshot(&app), before, "a refused request wrote something");
}

/// Every operation that takes a `multipart/form-data` body, sent bodies that are cut short,
/// miss a part, repeat one, leave one unnamed, or are not multipart at all: each answer is a 4xx
/// problem document, and nothing is written or stored.
#[tokio::test]
async fn every_multipart_operation_refuses_malformed_bodies_without_writing() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let organisation = app.create_organisation(&admin, "PFM").await;
    let coordinator: Account = app.create_user(&admin, Some(organisation), "coordinator").await;
    let client = crate::clients::create_client(
        &app,
        &coordinator,
        serde_json::json!({"given_names": "Amina", "family_name": "Saidova"}),
    )
    .await;
    let client = client["id"].as_str().unwrap().to_owned();
    let before = snapshot(&app);

    let meta = crate::documents::metadata();
    let file = crate::documents::pdf(5000);
    let complete = crate::documents::multipart(&[
        (Some("metadata"), None, "application/json", &meta),
        (Some("file"), Some("d.pdf"), "application/pdf", &file),
    ]);
    let multipart = format!("multipart/form-data; boundary={}", crate::documents::BOUNDARY);
    let bodies: Vec<(&str, String, Vec<u8>)> = vec![
        (
            "no file part",
            multipart.clone(),
            crate::documents::multipart(&[(Some("metadata"), None, "application/json", &meta)]),
        ),
        (
            "no metadata part",
            multipart.clone(),
            crate::documents::multipart(&[(Some("file"), Some("d.pdf"), "application/pdf", &file)]),
        ),
        (
            "two files",
            multipart.clone(),
            crate::documents::multipart(&[
                (Some("metadata"), None, "application/json", &meta),
                (Some("file"), Some("a.pdf"), "application/pdf", &file),
                (Some("file"), Some("b.pdf"), "application/pdf", &file),
            ]),
        ),
        (
            "a part without a name",
            multipart.clone(),
            crate::documents::multipart(&[
                (Some("metadata"), None, "application/json", &meta),
                (None, Some("d.pdf"), "application/pdf", &file),
            ]),
        ),
        ("a truncated body", multipart.clone(), complete[..complete.len() / 2].to_vec()),
        ("an empty body", multipart.clone(), Vec::new()),
        ("no boundary", "multipart/form-data".to_owned(), complete.clone()),
        ("a JSON body", "application/json".to_owned(), b"{\"kind\": \"decision\"}".to_vec()),
        ("a plain text body", "text/plain".to_owned(), complete.clone()),
    ];
    let document = serde_json::to_value(casebridge::openapi::document()).unwrap();
    let mut checked = 0;
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            if operation["requestBody"]["content"].get("multipart/form-data").is_none() {
                continue;
            }
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let url = fill(path, &client);
            for (what, content_type, body) in &bodies {
                let response = app
                    .client
                    .request(method.clone(), format!("{}{}", app.address, url))
                    .bearer_auth(&coordinator.token)
                    .header("content-type", content_type)
                    .body(body.clone())
                    .send()
                    .await
                    .unwrap();
                let status = response.status();
                let content_type =
                    response.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
                assert!(status.is_client_error(), "{what}: {method} {url} answered {status}");
                assert_eq!(content_type, "application/problem+json", "{what}: {method} {url}");
                checked += 1;
            }
        }
    }
    assert!(checked >= bodies.len(), "no multipart operation was tried");
    assert_eq!(snapshot(&app), before, "a refused request wrote something");
    let stored = crate::documents::files_under(&app.data_dir().join("documents"));
    assert!(stored.is_empty(), "a refused upload left bytes in the store: {stored:?}");
}
