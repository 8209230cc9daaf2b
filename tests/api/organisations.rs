//! Consortium partners.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, assert_problem, body};

#[tokio::test]
async fn everyone_signed_in_can_list_partners_but_only_admins_create_them() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let organisation = app.create_organisation(&admin, "PFM").await;
    let coordinator = app.create_user(&admin, Some(organisation), "coordinator").await;
    let page: Value =
        body(app.get("/api/v1/organisations").bearer_auth(&coordinator.token).send().await.unwrap()).await;
    assert_eq!(page["items"][0]["short_name"], "PFM");
    assert_eq!(page["items"][0]["services"], json!(["psychological", "legal", "vocational"]));
    let create = app
        .post("/api/v1/organisations")
        .bearer_auth(&coordinator.token)
        .json(
            &json!({"name": "N", "short_name": "NEW", "cities": [], "services": [], "contact_email": "n@example.org"}),
        )
        .send()
        .await
        .unwrap();
    assert_problem(create, StatusCode::FORBIDDEN, "forbidden").await;
    let anonymous = app.get("/api/v1/organisations").send().await.unwrap();
    assert_problem(anonymous, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

#[tokio::test]
async fn short_names_are_unique_whatever_their_case() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    app.create_organisation(&admin, "PFM").await;
    let response = app
        .post("/api/v1/organisations")
        .bearer_auth(&admin.token)
        .json(&json!({"name": "Other", "short_name": "pfm", "cities": ["Poznań"], "services": ["legal"], "contact_email": "o@example.org"}))
        .send()
        .await
        .unwrap();
    assert_problem(response, StatusCode::CONFLICT, "short_name_taken").await;
}

#[tokio::test]
async fn invalid_organisation_fields_are_reported_per_field() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let response = app
        .post("/api/v1/organisations")
        .bearer_auth(&admin.token)
        .json(&json!({"name": " ", "short_name": "P F M", "cities": ["Lublin", "Lublin"], "services": ["legal"], "contact_email": "nope"}))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    for field in ["name", "short_name", "cities", "contact_email"] {
        assert!(problem["errors"][field].is_string(), "no error for {field}: {problem}");
    }
    let unknown_service = app
        .post("/api/v1/organisations")
        .bearer_auth(&admin.token)
        .json(&json!({"name": "N", "short_name": "NN", "cities": [], "services": ["astrology"], "contact_email": "n@example.org"}))
        .send()
        .await
        .unwrap();
    assert_problem(unknown_service, StatusCode::BAD_REQUEST, "invalid_body").await;
}

#[tokio::test]
async fn deactivating_an_organisation_ends_its_users_sessions() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let organisation = app.create_organisation(&admin, "PFM").await;
    let counselor = app.create_user(&admin, Some(organisation), "counselor").await;
    let response = app
        .patch(&format!("/api/v1/organisations/{organisation}"))
        .bearer_auth(&admin.token)
        .header("if-match", "\"1\"")
        .json(&json!({"active": false, "cities": ["Wrocław"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["etag"], "\"2\"");
    let changed: Value = response.json().await.unwrap();
    assert_eq!(changed["active"], false);
    assert_eq!(changed["cities"], json!(["Wrocław"]));
    assert_eq!(changed["short_name"], "PFM", "absent fields stay as they are");
    assert_eq!(
        app.get("/api/v1/auth/me").bearer_auth(&counselor.token).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.login(&counselor.email, PASSWORD).await.status(), StatusCode::UNAUTHORIZED);
    let stale = app
        .patch(&format!("/api/v1/organisations/{organisation}"))
        .bearer_auth(&admin.token)
        .header("if-match", "\"1\"")
        .json(&json!({"active": true}))
        .send()
        .await
        .unwrap();
    assert_problem(stale, StatusCode::PRECONDITION_FAILED, "stale_version").await;
}
