//! The foundation: health, problem+json for every kind of bad request, headers, the API
//! contract.

use casebridge::db::ClientId;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, body};

#[tokio::test]
async fn ready_reports_a_reachable_database() {
    let app = TestApp::spawn().await;
    let response = app.get("/health/ready").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body::<Value>(response).await["status"], "ok");
    let live = app.get("/health/live").send().await.unwrap();
    assert_eq!(live.status(), StatusCode::OK);
}

#[tokio::test]
async fn ready_names_a_background_job_that_stopped_until_it_runs_again() {
    // The job runs until it is told to stop; told so, each restart of it ends at once.
    let (stop, told) = tokio::sync::watch::channel(false);
    let app = TestApp::spawn_with_job("mailbox sweep", move || {
        let mut told = told.clone();
        async move {
            let _ = told.wait_for(|stop| *stop).await;
        }
    })
    .await;
    assert_eq!(app.get("/health/ready").send().await.unwrap().status(), StatusCode::OK);

    stop.send_replace(true);
    let response = ready_until(&app, StatusCode::SERVICE_UNAVAILABLE).await;
    assert_eq!(response.headers()["retry-after"], "5");
    let problem = assert_problem(response, StatusCode::SERVICE_UNAVAILABLE, "job_stopped").await;
    assert!(problem["detail"].as_str().unwrap().contains("mailbox sweep"), "{problem}");

    // Its next restart runs on: ready again.
    stop.send_replace(false);
    assert_eq!(ready_until(&app, StatusCode::OK).await.status(), StatusCode::OK);
}

/// `/health/ready` once it answers `status`, or its answer when that has not happened within
/// 20 seconds.
async fn ready_until(app: &TestApp, status: StatusCode) -> reqwest::Response {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let response = app.get("/health/ready").send().await.unwrap();
        if response.status() == status || std::time::Instant::now() > deadline {
            return response;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_security_headers() {
    let app = TestApp::spawn().await;
    let response = app.get("/health/live").send().await.unwrap();
    let headers = response.headers();
    assert!(headers.get("x-request-id").is_some_and(|id| id.len() == 36));
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["content-security-policy"], "frame-ancestors 'none'");
}

#[tokio::test]
async fn metrics_count_requests_by_route_pattern() {
    let app = TestApp::spawn().await;
    app.get("/health/live").send().await.unwrap();
    let response = app.get("/metrics").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap();
    assert!(
        text.contains("casebridge_http_requests_total{method=\"GET\",route=\"/health/live\",status=\"200\"} 1"),
        "{text}"
    );
}

#[tokio::test]
async fn metrics_label_invented_methods_as_other() {
    let app = TestApp::spawn().await;
    for method in ["FOO", "BREW", "X-INVENTED"] {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let response = app.request(method, "/health/live").send().await.unwrap();
        assert!(response.status().is_client_error());
    }
    let text = app.get("/metrics").send().await.unwrap().text().await.unwrap();
    assert!(
        text.contains("casebridge_http_requests_total{method=\"OTHER\",route=\"/health/live\",status=\"405\"} 3"),
        "{text}"
    );
    assert!(!text.contains("FOO") && !text.contains("BREW") && !text.contains("INVENTED"), "{text}");
}

#[tokio::test]
async fn metrics_answer_only_the_configured_token() {
    let app = TestApp::spawn_with(|vars| {
        vars.insert("CASEBRIDGE_METRICS_TOKEN".into(), "scrape-7f3a9c".into());
    })
    .await;
    let without = app.get("/metrics").send().await.unwrap();
    assert_problem(without, StatusCode::UNAUTHORIZED, "unauthorized").await;
    for wrong in ["scrape-7f3a9d", "scrape-7f3a9", "scrape-7f3a9c0", ""] {
        let response = app.get("/metrics").bearer_auth(wrong).send().await.unwrap();
        assert_problem(response, StatusCode::UNAUTHORIZED, "unauthorized").await;
    }
    let admin = app.admin().await;
    let access_token = app.get("/metrics").bearer_auth(&admin.token).send().await.unwrap();
    assert_problem(access_token, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let allowed = app.get("/metrics").bearer_auth("scrape-7f3a9c").send().await.unwrap();
    assert_eq!(allowed.status(), StatusCode::OK);
    assert!(allowed.text().await.unwrap().contains("casebridge_http_requests_total"));
}

#[tokio::test]
async fn production_mode_sends_strict_transport_security() {
    let production = TestApp::spawn_with(|vars| {
        vars.insert("CASEBRIDGE_ENV".into(), "production".into());
    })
    .await;
    let response = production.get("/health/live").send().await.unwrap();
    assert_eq!(response.headers()["strict-transport-security"], "max-age=31536000; includeSubDomains");
    let problem = production.get("/nowhere").send().await.unwrap();
    assert!(problem.headers().contains_key("strict-transport-security"), "on problems too");

    let development = TestApp::spawn().await;
    let response = development.get("/health/live").send().await.unwrap();
    assert!(!response.headers().contains_key("strict-transport-security"), "not on plain local HTTP");
}

#[tokio::test]
async fn the_client_address_is_read_from_every_forwarded_line_past_trusted_proxies() {
    // The test server's peer, 127.0.0.1, is a trusted proxy, as is 10.0.0.2 here.
    let app = TestApp::spawn_with(|vars| {
        vars.insert("CASEBRIDGE_TRUSTED_PROXIES".into(), "127.0.0.1, 10.0.0.2".into());
    })
    .await;
    let cases: [(&[&str], &str); 4] = [
        (&["192.0.2.66, 203.0.113.7"], "203.0.113.7"),
        (&["192.0.2.66", "203.0.113.8, 10.0.0.2"], "203.0.113.8"),
        (&["10.0.0.2"], "10.0.0.2"),
        (&["203.0.113.9", "not-an-address"], "127.0.0.1"),
    ];
    for (lines, _) in cases {
        let mut request = app.post("/api/v1/auth/login");
        for line in lines {
            request = request.header("x-forwarded-for", *line);
        }
        let response = request.json(&json!({"email": "nobody@example.org", "password": "wrong"})).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let recorded: Vec<Option<String>> = app.db(|conn| {
        use casebridge::db::schema::audit_events::dsl;
        use diesel::prelude::*;
        dsl::audit_events.filter(dsl::action.eq("auth.login")).order(dsl::at).select(dsl::ip).load(conn).unwrap()
    });
    let expected: Vec<Option<String>> = cases.iter().map(|(_, ip)| Some((*ip).to_owned())).collect();
    assert_eq!(recorded, expected);
}

#[tokio::test]
async fn unknown_route_is_a_404_problem() {
    let app = TestApp::spawn().await;
    assert_problem(app.get("/api/v1/no-such-thing").send().await.unwrap(), StatusCode::NOT_FOUND, "not_found").await;
    assert_problem(app.get("/nowhere").send().await.unwrap(), StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn wrong_method_is_a_405_problem() {
    let app = TestApp::spawn().await;
    let response = app.request(reqwest::Method::DELETE, "/api/v1/auth/login").send().await.unwrap();
    assert_problem(response, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed").await;
}

#[tokio::test]
async fn malformed_json_is_a_400_problem() {
    let app = TestApp::spawn().await;
    let response = app
        .post("/api/v1/auth/login")
        .header("content-type", "application/json")
        .body("{\"email\": ")
        .send()
        .await
        .unwrap();
    assert_problem(response, StatusCode::BAD_REQUEST, "malformed_json").await;
}

#[tokio::test]
async fn unknown_fields_and_wrong_types_are_400_problems() {
    let app = TestApp::spawn().await;
    let unknown = app
        .post("/api/v1/auth/login")
        .json(&json!({"email": "a@example.org", "password": "x", "role": "consortium_admin"}))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(unknown, StatusCode::BAD_REQUEST, "invalid_body").await;
    assert!(problem["detail"].as_str().unwrap().contains("unknown field"));
    let wrong_type = app.post("/api/v1/auth/login").json(&json!({"email": 5, "password": "x"})).send().await.unwrap();
    assert_problem(wrong_type, StatusCode::BAD_REQUEST, "invalid_body").await;
}

#[tokio::test]
async fn a_body_over_one_mebibyte_is_a_413_problem() {
    let app = TestApp::spawn().await;
    let huge = format!("{{\"email\": \"{}\", \"password\": \"x\"}}", "a".repeat(2 * 1024 * 1024));
    let response =
        app.post("/api/v1/auth/login").header("content-type", "application/json").body(huge).send().await.unwrap();
    assert_problem(response, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
}

#[tokio::test]
async fn a_body_that_is_not_json_is_a_415_problem() {
    let app = TestApp::spawn().await;
    let response =
        app.post("/api/v1/auth/login").header("content-type", "text/plain").body("email=a").send().await.unwrap();
    assert_problem(response, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type").await;
}

#[tokio::test]
async fn an_id_that_is_not_a_uuid_names_nothing() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let response = app.get("/api/v1/users/not-a-uuid").bearer_auth(&admin.token).send().await.unwrap();
    assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn served_openapi_document_is_3_1_and_equals_the_committed_one() {
    let app = TestApp::spawn().await;
    let response = app.get("/api/v1/openapi.json").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let served: Value = response.json().await.unwrap();
    assert_eq!(served["openapi"], "3.1.0");
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json")).unwrap();
    let generated = casebridge::openapi::document_json().unwrap();
    assert!(
        committed == generated,
        "openapi/openapi.json is out of date: regenerate it with `cargo run -- openapi > openapi/openapi.json`"
    );
    assert_eq!(served, serde_json::from_str::<Value>(&committed).unwrap());
}

#[tokio::test]
async fn docs_page_is_served_without_external_resources() {
    let app = TestApp::spawn().await;
    let redirect = app.get("/docs").send().await.unwrap();
    assert_eq!(redirect.status(), StatusCode::PERMANENT_REDIRECT);
    let page = app.get("/docs/").send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("swagger-ui"));
    assert!(!html.contains("https://"), "the docs page must not load anything from the internet");
    let initializer = app.get("/docs/swagger-initializer.js").send().await.unwrap().text().await.unwrap();
    assert!(initializer.contains("/api/v1/openapi.json"));
    assert!(initializer.replace(' ', "").contains("\"validatorUrl\":\"none\""), "{initializer}");
}

#[tokio::test]
async fn an_unreachable_postgresql_url_is_a_clear_start_up_error_not_a_sqlite_file() {
    let data_dir = tempfile::tempdir().unwrap();
    let url = "postgres://nobody@127.0.0.1:1/casebridge";
    let vars = crate::helpers::base_vars(url, data_dir.path());
    let config = casebridge::config::Config::from_vars(&vars).unwrap();
    let error = casebridge::startup::Application::build(config).await.err().expect("start-up must fail");
    assert!(format!("{error:#}").contains("cannot connect to the postgresql database"), "{error:#}");
    assert!(!std::path::Path::new(url).exists());
    assert!(!std::path::Path::new("postgres:").exists());
}

#[tokio::test]
async fn a_405_names_the_allowed_methods() {
    let app = TestApp::spawn().await;
    let response = app.request(reqwest::Method::TRACE, "/api/v1/clients/duplicate-check").send().await.unwrap();
    assert_eq!(response.headers().get("allow").unwrap(), "POST");
    assert_problem(response, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed").await;

    let response =
        app.request(reqwest::Method::PUT, &format!("/api/v1/clients/{}", ClientId::new())).send().await.unwrap();
    assert_eq!(response.headers().get("allow").unwrap(), "GET, PATCH");
    assert_problem(response, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed").await;
}

/// `/sessions/counts` is a resource of its own, not a session id the PATCH route cannot parse.
#[tokio::test]
async fn a_fixed_path_beside_a_parameterised_one_answers_405_for_other_methods() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    for (method, path, allow) in [
        (reqwest::Method::PATCH, "/api/v1/sessions/counts", "GET"),
        (reqwest::Method::PATCH, "/api/v1/clients/duplicate-check", "POST"),
        (reqwest::Method::GET, "/api/v1/clients/duplicate-check", "POST"),
    ] {
        let response = app.request(method.clone(), path).bearer_auth(&admin.token).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        assert_eq!(response.headers().get("allow").unwrap(), allow, "{method} {path}");
    }
    // A parameterised path with an id that does not parse still names nothing.
    let response = app.patch("/api/v1/sessions/not-an-id").bearer_auth(&admin.token).send().await.unwrap();
    assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
}

#[test]
fn every_operation_has_an_operation_id_of_its_own() {
    let document = serde_json::to_value(casebridge::openapi::document()).unwrap();
    let mut seen = std::collections::HashMap::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let id = operation["operationId"].as_str().unwrap_or_else(|| panic!("{method} {path} has no operationId"));
            if let Some(other) = seen.insert(id.to_owned(), format!("{method} {path}")) {
                panic!(
                    "operationId `{id}` names both {other} and {method} {path}: generated clients key operations by it"
                );
            }
        }
    }
}
