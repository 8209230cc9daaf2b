//! Staff accounts: who may create and change whom.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, assert_problem, body};

#[tokio::test]
async fn coordinator_creates_a_counselor_who_can_sign_in() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let organisation = app.create_organisation(&admin, "PFM").await;
    let coordinator = app.create_user(&admin, Some(organisation), "coordinator").await;
    let response = app
        .post("/api/v1/users")
        .bearer_auth(&coordinator.token)
        .json(&json!({
            "organisation_id": organisation,
            "email": "Olena.Kovalenko@example.org",
            "display_name": "Olena Kovalenko",
            "role": "counselor",
            "specialties": ["psychological", "social"],
            "password": PASSWORD,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.headers()["etag"], "\"1\"");
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let user: Value = response.json().await.unwrap();
    assert_eq!(location, format!("/api/v1/users/{}", user["id"].as_str().unwrap()));
    assert_eq!(user["email"], "Olena.Kovalenko@example.org");
    assert_eq!(user["specialties"], json!(["psychological", "social"]));
    assert!(user.get("password").is_none() && user.get("password_hash").is_none());
    assert_eq!(app.login("olena.kovalenko@example.org", PASSWORD).await.status(), StatusCode::OK);
    assert_eq!(app.audit_count("user.create"), 2, "the coordinator and the counselor");
}

#[tokio::test]
async fn coordinator_cannot_create_users_in_another_organisation() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let own = app.create_organisation(&admin, "PFM").await;
    let other = app.create_organisation(&admin, "HFPC").await;
    let coordinator = app.create_user(&admin, Some(own), "coordinator").await;
    let response = app
        .post("/api/v1/users")
        .bearer_auth(&coordinator.token)
        .json(&json!({
            "organisation_id": other, "email": "x@example.org", "display_name": "X",
            "role": "counselor", "password": PASSWORD,
        }))
        .send()
        .await
        .unwrap();
    assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
    assert_eq!(app.audit_count("permission.denied"), 1);
}

#[tokio::test]
async fn coordinator_can_never_grant_consortium_admin() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let organisation = app.create_organisation(&admin, "PFM").await;
    let coordinator = app.create_user(&admin, Some(organisation), "coordinator").await;
    let counselor = app.create_user(&coordinator, Some(organisation), "counselor").await;
    let create = app
        .post("/api/v1/users")
        .bearer_auth(&coordinator.token)
        .json(&json!({
            "email": "boss@example.org", "display_name": "Boss", "role": "consortium_admin", "password": PASSWORD,
        }))
        .send()
        .await
        .unwrap();
    assert_problem(create, StatusCode::FORBIDDEN, "forbidden").await;
    let promote = app
        .patch(&format!("/api/v1/users/{}", counselor.id))
        .bearer_auth(&coordinator.token)
        .header("if-match", "\"1\"")
        .json(&json!({"role": "consortium_admin"}))
        .send()
        .await
        .unwrap();
    assert_problem(promote, StatusCode::FORBIDDEN, "forbidden").await;
    let user: Value =
        body(app.get(&format!("/api/v1/users/{}", counselor.id)).bearer_auth(&coordinator.token).send().await.unwrap())
            .await;
    assert_eq!(user["role"], "counselor");
}

#[tokio::test]
async fn email_is_unique_whatever_its_case() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let organisation = app.create_organisation(&admin, "PFM").await;
    let counselor = app.create_user(&admin, Some(organisation), "counselor").await;
    let response = app
        .post("/api/v1/users")
        .bearer_auth(&admin.token)
        .json(&json!({
            "organisation_id": organisation, "email": counselor.email.to_uppercase(), "display_name": "Twin",
            "role": "counselor", "password": PASSWORD,
        }))
        .send()
        .await
        .unwrap();
    assert_problem(response, StatusCode::CONFLICT, "email_taken").await;
}

#[tokio::test]
async fn invalid_user_fields_are_all_reported_at_once() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let response = app
        .post("/api/v1/users")
        .bearer_auth(&admin.token)
        .json(&json!({
            "email": "not-an-email", "display_name": "", "role": "counselor",
            "specialties": ["legal", "legal"], "password": "password1234",
        }))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    for field in ["email", "display_name", "organisation_id", "specialties", "password"] {
        assert!(problem["errors"][field].is_string(), "no error for {field}: {problem}");
    }
}

#[tokio::test]
async fn counselor_lists_only_their_own_organisations_users() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let own = app.create_organisation(&admin, "PFM").await;
    let other = app.create_organisation(&admin, "HFPC").await;
    let counselor = app.create_user(&admin, Some(own), "counselor").await;
    app.create_user(&admin, Some(own), "coordinator").await;
    app.create_user(&admin, Some(other), "counselor").await;
    let page: Value = body(app.get("/api/v1/users").bearer_auth(&counselor.token).send().await.unwrap()).await;
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert!(items.iter().all(|u| u["organisation_id"] == own.to_string()));
    let elsewhere =
        app.get(&format!("/api/v1/users?organisation_id={other}")).bearer_auth(&counselor.token).send().await.unwrap();
    assert_problem(elsewhere, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn users_are_listed_page_by_page_without_gaps_or_repeats() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let organisation = app.create_organisation(&admin, "PFM").await;
    for _ in 0..4 {
        app.create_user(&admin, Some(organisation), "analyst").await;
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(cursor) => format!("/api/v1/users?organisation_id={organisation}&limit=2&cursor={cursor}"),
            None => format!("/api/v1/users?organisation_id={organisation}&limit=2"),
        };
        let page: Value = body(app.get(&path).bearer_auth(&admin.token).send().await.unwrap()).await;
        seen.extend(page["items"].as_array().unwrap().iter().map(|u| u["id"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 4);
    let mut unique = seen.clone();
    unique.dedup();
    assert_eq!(unique, seen);
    let huge = app.get("/api/v1/users?limit=100000").bearer_auth(&admin.token).send().await.unwrap();
    assert_problem(huge, StatusCode::BAD_REQUEST, "invalid_limit").await;
    let forged = app.get("/api/v1/users?cursor=abc").bearer_auth(&admin.token).send().await.unwrap();
    assert_problem(forged, StatusCode::BAD_REQUEST, "invalid_cursor").await;
}

#[tokio::test]
async fn changing_a_user_needs_the_current_version() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let organisation = app.create_organisation(&admin, "PFM").await;
    let counselor = app.create_user(&admin, Some(organisation), "counselor").await;
    let path = format!("/api/v1/users/{}", counselor.id);
    let missing = app.patch(&path).bearer_auth(&admin.token).json(&json!({"display_name": "A"})).send().await.unwrap();
    assert_problem(missing, StatusCode::PRECONDITION_REQUIRED, "precondition_required").await;

    let first = app.patch(&path).bearer_auth(&admin.token).header("if-match", "\"1\"");
    let second = app.patch(&path).bearer_auth(&admin.token).header("if-match", "\"1\"");
    let (a, b) = tokio::join!(
        first.json(&json!({"display_name": "First"})).send(),
        second.json(&json!({"display_name": "Second"})).send()
    );
    let mut statuses = [a.unwrap().status(), b.unwrap().status()];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::PRECONDITION_FAILED], "exactly one change wins");

    let current = app.get(&path).bearer_auth(&admin.token).send().await.unwrap();
    assert_eq!(current.headers()["etag"], "\"2\"");
    let null = app
        .patch(&path)
        .bearer_auth(&admin.token)
        .header("if-match", "\"2\"")
        .json(&json!({"display_name": null}))
        .send()
        .await
        .unwrap();
    assert_problem(null, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
}

#[tokio::test]
async fn coordinator_resets_a_password_and_the_users_sessions_end() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let organisation = app.create_organisation(&admin, "PFM").await;
    let coordinator = app.create_user(&admin, Some(organisation), "coordinator").await;
    let counselor = app.create_user(&coordinator, Some(organisation), "counselor").await;
    let new_password = "copper lantern near Odra 2040%";
    let response = app
        .post(&format!("/api/v1/users/{}/password", counselor.id))
        .bearer_auth(&coordinator.token)
        .json(&json!({"new_password": new_password}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.get("/api/v1/auth/me").bearer_auth(&counselor.token).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.login(&counselor.email, new_password).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn analyst_sees_no_user_records() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let organisation = app.create_organisation(&admin, "PFM").await;
    let analyst = app.create_user(&admin, Some(organisation), "analyst").await;
    let list = app.get("/api/v1/users").bearer_auth(&analyst.token).send().await.unwrap();
    assert_problem(list, StatusCode::FORBIDDEN, "forbidden").await;
    let read = app.get(&format!("/api/v1/users/{}", analyst.id)).bearer_auth(&analyst.token).send().await.unwrap();
    assert_problem(read, StatusCode::FORBIDDEN, "forbidden").await;
}
