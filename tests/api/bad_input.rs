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
    "appointments",
    "appointment_participants",
    "interpreters",
    "interpreter_organisations",
    "tasks",
    "calendar_feeds",
    "webhooks",
    "outbox_events",
    "deliveries",
    "notification_settings",
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

/// The request is answered, not failed: an ordinary answer (an empty page for days nothing is
/// on), or a 4xx problem document.
async fn assert_answered(app: &TestApp, url: &str, token: &str, what: &str) {
    let response = app.get(url).bearer_auth(token).send().await.unwrap_or_else(|e| panic!("{what}: GET {url}: {e}"));
    let status = response.status();
    let content_type =
        response.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    assert!(status.is_success() || status.is_client_error(), "{what}: GET {url} answered {status}");
    if status.is_client_error() {
        assert_eq!(content_type, "application/problem+json", "{what}: GET {url}");
    }
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

/// Creates a record through the API as `account`; its id.
async fn created(app: &TestApp, account: &Account, path: &str, body: serde_json::Value) -> String {
    let response = app.post(path).bearer_auth(&account.token).json(&body).send().await.unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::CREATED, "{path}: {}", response.text().await.unwrap());
    let record: serde_json::Value = response.json().await.unwrap();
    record["id"].as_str().unwrap().to_owned()
}

/// A public name that does not resolve here, which a webhook may point at (each delivery resolves
/// it again).
const WEBHOOK_URL: &str = "https://partner.example.org/hook";

/// Records of the kinds whose routes take ids, made through the API by a coordinator.
struct Records {
    client: String,
    appointment: String,
    interpreter: String,
    task: String,
    webhook: String,
}

impl Records {
    async fn new(app: &TestApp, coordinator: &Account) -> Self {
        let client = crate::clients::create_client(
            app,
            coordinator,
            serde_json::json!({"given_names": "Amina", "family_name": "Saidova"}),
        )
        .await;
        let client = client["id"].as_str().unwrap().to_owned();
        let tomorrow = chrono::Utc::now() + chrono::TimeDelta::days(1);
        let appointment = created(
            app,
            coordinator,
            &format!("/api/v1/clients/{client}/appointments"),
            serde_json::json!({"kind": "legal", "mode": "in_person", "city": "Lublin", "starts_at": tomorrow, "duration_minutes": 60}),
        )
        .await;
        let interpreter = created(
            app,
            coordinator,
            "/api/v1/interpreters",
            serde_json::json!({"name": "Aminat Dudayeva", "languages": ["ce", "ru"]}),
        )
        .await;
        let task = created(
            app,
            coordinator,
            "/api/v1/tasks",
            serde_json::json!({"title": "Call the Office for Foreigners", "due_on": tomorrow.date_naive()}),
        )
        .await;
        let webhook = created(
            app,
            coordinator,
            "/api/v1/webhooks",
            serde_json::json!({"url": WEBHOOK_URL, "event_types": ["referral_sent"]}),
        )
        .await;
        Self { client, appointment, interpreter, task, webhook }
    }

    /// The records bodies are sent to, by the beginning of the routes' paths.
    fn for_bodies(&self) -> [(&'static str, &str); 5] {
        [
            ("/api/v1/clients/{id}/appointments", &self.client),
            ("/api/v1/appointments/{id}", &self.appointment),
            ("/api/v1/interpreters/{id}", &self.interpreter),
            ("/api/v1/tasks/{id}", &self.task),
            ("/api/v1/webhooks/{id}", &self.webhook),
        ]
    }

    /// Whose lists are read: a client's, an interpreter's, a webhook's.
    fn for_lists(&self) -> [(&'static str, &str); 3] {
        [
            ("/api/v1/clients/{id}/", &self.client),
            ("/api/v1/interpreters/{id}/", &self.interpreter),
            ("/api/v1/webhooks/{id}/", &self.webhook),
        ]
    }
}

/// `path` with each parameter filled: with the id of the record the sweep holds for the route
/// (`records`, by the path's beginning), else with `otherwise`.
fn filled(path: &str, records: &[(&str, &str)], otherwise: &str) -> Option<String> {
    let (_, id) = records.iter().find(|(prefix, _)| path.starts_with(prefix))?;
    let ours = path.find('}').map_or(0, |end| end + 1);
    Some(format!("{}{}", fill(&path[..ours], id), fill(&path[ours..], otherwise)))
}

#[tokio::test]
async fn every_operation_refuses_malformed_input_without_writing() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let organisation = app.create_organisation(&admin, "PFM").await;
    let coordinator: Account = app.create_user(&admin, Some(organisation), "coordinator").await;
    // Records that exist, so that what is refused is the input, not an id that names nothing.
    let records = Records::new(&app, &coordinator).await;
    let (bodies_to, lists_of) = (records.for_bodies(), records.for_lists());
    let before = snapshot(&app);

    let document = serde_json::to_value(casebridge::openapi::document()).unwrap();
    let missing = uuid::Uuid::now_v7().to_string();
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
            let on_record = if path.contains('{') { filled(path, &bodies_to, &missing) } else { Some(path.clone()) };
            if let (Some(_), Some(url)) = (operation.get("requestBody"), on_record) {
                for (what, body) in hostile_bodies {
                    assert_refused(&app, &method, &url, token, Some(body), what).await;
                    checked += 1;
                }
            }
            let parameters = operation["parameters"].as_array().cloned().unwrap_or_default();
            let documented = |name: &str| parameters.iter().any(|p| p["name"] == name);
            if documented("limit") {
                let list = if path.contains('{') {
                    filled(path, &lists_of, &missing).unwrap_or_else(|| panic!("no record to list {path} of"))
                } else {
                    path.clone()
                };
                // Only parameters the operation takes, so that the refusal is of the page asked.
                let required: String = [("box", "inbox"), ("from", "2026-01-01"), ("to", "2026-01-31")]
                    .iter()
                    .filter(|(name, _)| documented(name))
                    .map(|(name, value)| format!("&{name}={value}"))
                    .collect();
                let malformed =
                    ["limit=99999999999999999999", "limit=0", "limit=-1", "cursor=%FF%FE", "cursor='%20OR%201=1--"];
                let forged = forged_cursors.iter().map(|cursor| format!("cursor={cursor}"));
                for query in malformed.into_iter().map(str::to_owned).chain(forged) {
                    let url = format!("{list}?{query}{required}");
                    assert_refused(&app, &method, &url, token, None, &query).await;
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 100, "only {checked} requests were tried");
    assert_eq!(snapshot(&app), before, "a refused request wrote something");
}

/// Days and instants far beyond any calendar (arithmetic on them overflows, PostgreSQL stores no
/// such timestamp), in every date query parameter and cursor, and in the bodies that plan, book
/// or schedule: every request is answered (a query perhaps with an empty page), never failed,
/// and the bodies are refused without writing anything.
#[tokio::test]
async fn days_beyond_the_calendar_are_refused_not_failed() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let organisation = app.create_organisation(&admin, "PFM").await;
    let coordinator: Account = app.create_user(&admin, Some(organisation), "coordinator").await;
    let records = Records::new(&app, &coordinator).await;
    let before = snapshot(&app);
    let missing = uuid::Uuid::now_v7().to_string();
    let document = serde_json::to_value(casebridge::openapi::document()).unwrap();
    let beyond_keys = ["+262142-12-31T23:59:59", "-262143-01-01T00:00:00", "+262142-12-31", "-262143-01-01"];
    let mut checked = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        let Some(operation) = item.get("get") else { continue };
        let parameters = operation["parameters"].as_array().cloned().unwrap_or_default();
        let query: Vec<&serde_json::Value> = parameters.iter().filter(|p| p["in"] == "query").collect();
        let base = if path.contains('{') { filled(path, &records.for_lists(), &missing) } else { Some(path.clone()) };
        let base = || base.clone().unwrap_or_else(|| panic!("no record whose {path} to read"));
        // The required parameters but `except`, with values they accept.
        let required = |except: &str| -> String {
            query
                .iter()
                .filter(|p| p["name"] != except && p["required"] == true)
                .map(|p| {
                    let name = p["name"].as_str().unwrap();
                    format!("&{name}={}", accepted_value(name, &p["schema"], &document))
                })
                .collect()
        };
        for parameter in &query {
            let beyond: &[&str] = match resolved(&parameter["schema"], &document)["format"].as_str() {
                Some("date") => &["%2B262142-12-31", "-262143-01-01"],
                Some("date-time") => &["%2B262142-12-31T23:59:59Z", "-262143-01-01T00:00:00Z"],
                _ => continue,
            };
            let name = parameter["name"].as_str().unwrap();
            for value in beyond {
                let url = format!("{}?{name}={value}{}", base(), required(name));
                assert_answered(&app, &url, &coordinator.token, "a day beyond the calendar").await;
                checked.push(url);
            }
        }
        if query.iter().any(|p| p["name"] == "cursor") {
            for key in beyond_keys {
                let cursor = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("key:{key}|{missing}"));
                let url = format!("{}?cursor={cursor}{}", base(), required("cursor"));
                assert_answered(&app, &url, &coordinator.token, &format!("a cursor of {key}")).await;
                checked.push(url);
            }
        }
    }
    assert!(checked.iter().any(|url| url.starts_with("/api/v1/agenda?")), "the agenda's days are among those checked");
    let (client, appointment, task) = (&records.client, &records.appointment, &records.task);
    let bodies = [
        (
            Method::POST,
            format!("/api/v1/clients/{client}/appointments"),
            r#"{"kind": "legal", "mode": "in_person", "city": "Lublin", "starts_at": "+262142-12-31T23:59:59Z", "duration_minutes": 600}"#,
        ),
        (Method::PATCH, format!("/api/v1/appointments/{appointment}"), r#"{"starts_at": "+262142-12-31T23:59:59Z"}"#),
        (Method::PATCH, format!("/api/v1/appointments/{appointment}"), r#"{"starts_at": "-262143-01-01T00:00:00Z"}"#),
        (Method::POST, format!("/api/v1/appointments/{appointment}/hold"), r#"{"follow_up_on": "+262142-12-31"}"#),
        (Method::POST, "/api/v1/tasks".to_owned(), r#"{"title": "Call the office", "due_on": "+262142-12-31"}"#),
        (Method::PATCH, format!("/api/v1/tasks/{task}"), r#"{"due_on": "-262143-01-01"}"#),
    ];
    for (method, url, body) in bodies {
        assert_refused(&app, &method, &url, &coordinator.token, Some(body), "a day beyond the calendar").await;
    }
    assert_eq!(snapshot(&app), before, "a refused request wrote something");
}

/// Webhook and notification settings bodies that are well-formed JSON of the right shape but
/// out of bounds — control characters, over-long text, addresses of this network, no event
/// types, an event that is never subscribed to or e-mailed, a null for a required field: each is
/// a 4xx problem (none reaches the database, where PostgreSQL would refuse a NUL), and nothing
/// is written.
#[tokio::test]
async fn webhook_and_notification_fields_out_of_bounds_are_refused_without_writing() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let organisation = app.create_organisation(&admin, "PFM").await;
    let coordinator: Account = app.create_user(&admin, Some(organisation), "coordinator").await;
    let records = Records::new(&app, &coordinator).await;
    let before = snapshot(&app);
    let long_url = format!("https://partner.example.org/{}", "a".repeat(2000));
    let urls = [
        "https://partner.example.org/a\u{0}b",
        "https://partner.example.org/a\nb",
        "https://partner.exa\tmple.org/hook",
        &long_url,
        "",
        "partner.example.org/hook",
        "ftp://partner.example.org/hook",
        "https://user:secret@partner.example.org/hook",
        "https://partner.example.org/hook#part",
        "http://127.0.0.1:5432/",
        "http://[::ffff:a9fe:a9fe]/latest/meta-data",
        "http://169.254.169.254/latest/meta-data",
        "http://metadata.google.internal/",
        "http://localhost./",
        "http://0/",
        "http://2130706433/",
    ];
    let mut bodies: Vec<serde_json::Value> = Vec::new();
    for url in urls {
        bodies.push(serde_json::json!({"url": url, "event_types": ["referral_sent"]}));
    }
    for event_types in [serde_json::json!([]), serde_json::json!(["webhook_test"]), serde_json::json!(null)] {
        bodies.push(serde_json::json!({"url": WEBHOOK_URL, "event_types": event_types}));
    }
    bodies.push(serde_json::json!({"url": WEBHOOK_URL, "event_types": ["referral_sent", "not_an_event"]}));
    for description in ["a\u{0}b".to_owned(), "x".repeat(501)] {
        bodies.push(
            serde_json::json!({"url": WEBHOOK_URL, "event_types": ["referral_sent"], "description": description}),
        );
    }
    bodies.push(serde_json::json!({"url": WEBHOOK_URL, "event_types": ["referral_sent"], "active": null}));
    bodies.push(serde_json::json!({"url": WEBHOOK_URL, "event_types": ["referral_sent"], "active": "yes"}));
    let webhook = format!("/api/v1/webhooks/{}", records.webhook);
    let valid = serde_json::json!({"url": WEBHOOK_URL, "event_types": ["referral_sent"]});
    for body in &bodies {
        let text = body.to_string();
        assert_refused(&app, &Method::POST, "/api/v1/webhooks", &coordinator.token, Some(&text), &text).await;
        // A change sends each out-of-bounds field alone, so that it is that field that is refused.
        for (field, value) in body.as_object().unwrap() {
            if valid.get(field) == Some(value) {
                continue;
            }
            let change = serde_json::json!({ field: value }).to_string();
            assert_refused(&app, &Method::PATCH, &webhook, &coordinator.token, Some(&change), &change).await;
        }
    }
    for change in [r#"{"url": null}"#, r#"{"event_types": null}"#, r#"{"url": 5}"#] {
        assert_refused(&app, &Method::PATCH, &webhook, &coordinator.token, Some(change), change).await;
    }
    let notifications = [
        r#"{"language": "xx"}"#,
        r#"{"language": null, "email": {"not_an_event": true}}"#,
        r#"{"email": {"webhook_test": false}}"#,
        r#"{"email": {"referral_sent": null}}"#,
        r#"{"email": {"referral_sent": "no"}}"#,
        r#"{"email": ["referral_sent"]}"#,
        r#"{"email": {"": true}}"#,
    ];
    for body in notifications {
        assert_refused(&app, &Method::PATCH, "/api/v1/auth/me/notifications", &coordinator.token, Some(body), body)
            .await;
    }
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
