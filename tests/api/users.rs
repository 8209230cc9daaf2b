//! Staff accounts: who may create and change whom.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, assert_problem, body};

#[tokio::test]
async fn coordinator_creates_a_counselor_who_enrols_and_signs_in() {
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
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.headers()["etag"], "\"1\"");
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let created: Value = response.json().await.unwrap();
    let user = &created["user"];
    assert_eq!(location, format!("/api/v1/users/{}", user["id"].as_str().unwrap()));
    assert_eq!(user["email"], "Olena.Kovalenko@example.org");
    assert_eq!(user["specialties"], json!(["social"]), "the psychological specialty waits for a second person");
    assert_eq!(user["pending_specialties"], json!(["psychological"]));
    assert_eq!(user["enrolled"], false);
    assert!(user.get("password").is_none() && user.get("password_hash").is_none());
    let token = created["enrolment"]["token"].as_str().unwrap().to_owned();
    assert!(token.len() >= 40, "a long random token");
    assert_eq!(app.login("olena.kovalenko@example.org", PASSWORD).await.status(), StatusCode::UNAUTHORIZED);

    assert_eq!(app.enrol(&token, PASSWORD).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.login("olena.kovalenko@example.org", PASSWORD).await.status(), StatusCode::OK);
    let again = app.enrol(&token, "another quite long phrase 77!").await;
    assert_problem(again, StatusCode::UNPROCESSABLE_ENTITY, "invalid_enrolment_token").await;
    assert_eq!(app.audit_count("user.create"), 2, "the coordinator and the counselor");
    assert_eq!(app.audit_count("user.enrol"), 2);
    let stored: Vec<String> = app.db(|conn| {
        use casebridge::db::schema::enrolment_tokens;
        use diesel::prelude::*;
        enrolment_tokens::table.select(enrolment_tokens::token_hash).load(conn).unwrap()
    });
    assert!(!stored.iter().any(|hash| hash.contains(&token)), "only a hash of the token is stored");
}

#[tokio::test]
async fn nobody_chooses_another_persons_password_at_creation() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let organisation = app.create_organisation(&admin, "PFM").await;
    let response = app
        .post("/api/v1/users")
        .bearer_auth(&admin.token)
        .json(&json!({
            "organisation_id": organisation, "email": "x@example.org", "display_name": "X",
            "role": "counselor", "password": PASSWORD,
        }))
        .send()
        .await
        .unwrap();
    assert_problem(response, StatusCode::BAD_REQUEST, "invalid_body").await;
}

#[tokio::test]
async fn an_enrolment_token_works_once_within_72_hours_and_needs_a_strong_password() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let organisation = app.create_organisation(&admin, "PFM").await;
    let response = app
        .post("/api/v1/users")
        .bearer_auth(&admin.token)
        .json(&json!({"organisation_id": organisation, "email": "new@example.org", "display_name": "New One", "role": "counselor"}))
        .send()
        .await
        .unwrap();
    let user: Value = body(response).await;
    let token = user["enrolment"]["token"].as_str().unwrap().to_owned();
    let expires_at: chrono::DateTime<chrono::Utc> = user["enrolment"]["expires_at"].as_str().unwrap().parse().unwrap();
    let hours = (expires_at - chrono::Utc::now()).num_minutes() as f64 / 60.0;
    assert!((71.9..=72.0).contains(&hours), "valid for 72 hours, not {hours}");

    let weak = app.enrol(&token, "password1234").await;
    let problem = assert_problem(weak, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert!(problem["errors"]["password"].is_string());
    let unknown = app.enrol("not-a-token", PASSWORD).await;
    assert_problem(unknown, StatusCode::UNPROCESSABLE_ENTITY, "invalid_enrolment_token").await;
    let huge = app.enrol(&"x".repeat(100_000), PASSWORD).await;
    assert_problem(huge, StatusCode::UNPROCESSABLE_ENTITY, "invalid_enrolment_token").await;

    app.db(|conn| {
        use casebridge::db::schema::enrolment_tokens;
        use diesel::prelude::*;
        let past = (chrono::Utc::now() - chrono::Duration::minutes(1)).naive_utc();
        diesel::update(enrolment_tokens::table).set(enrolment_tokens::expires_at.eq(past)).execute(conn).unwrap()
    });
    let expired = app.enrol(&token, PASSWORD).await;
    assert_problem(expired, StatusCode::UNPROCESSABLE_ENTITY, "invalid_enrolment_token").await;
    assert_eq!(app.login("new@example.org", PASSWORD).await.status(), StatusCode::UNAUTHORIZED);
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
            "role": "counselor",
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
            "email": "boss@example.org", "display_name": "Boss", "role": "consortium_admin",
        }))
        .send()
        .await
        .unwrap();
    assert_problem(create, StatusCode::FORBIDDEN, "forbidden").await;
    let promote = app
        .patch(&format!("/api/v1/users/{}", counselor.id))
        .bearer_auth(&coordinator.token)
        .header("if-match", "\"2\"")
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
            "role": "counselor",
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
            "specialties": ["legal", "legal"],
        }))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    for field in ["email", "display_name", "organisation_id", "specialties"] {
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

    // Version 2: created, then enrolled.
    let first = app.patch(&path).bearer_auth(&admin.token).header("if-match", "\"2\"");
    let second = app.patch(&path).bearer_auth(&admin.token).header("if-match", "\"2\"");
    let (a, b) = tokio::join!(
        first.json(&json!({"display_name": "First"})).send(),
        second.json(&json!({"display_name": "Second"})).send()
    );
    let mut statuses = [a.unwrap().status(), b.unwrap().status()];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::PRECONDITION_FAILED], "exactly one change wins");

    let current = app.get(&path).bearer_auth(&admin.token).send().await.unwrap();
    assert_eq!(current.headers()["etag"], "\"3\"");
    let null = app
        .patch(&path)
        .bearer_auth(&admin.token)
        .header("if-match", "\"3\"")
        .json(&json!({"display_name": null}))
        .send()
        .await
        .unwrap();
    assert_problem(null, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
}

#[tokio::test]
async fn a_reset_ends_the_password_and_sessions_and_the_user_enrols_again() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let organisation = app.create_organisation(&admin, "PFM").await;
    let coordinator = app.create_user(&admin, Some(organisation), "coordinator").await;
    let counselor = app.create_user(&coordinator, Some(organisation), "counselor").await;
    let response = app
        .post(&format!("/api/v1/users/{}/password-reset", counselor.id))
        .bearer_auth(&coordinator.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let enrolment: Value = response.json().await.unwrap();
    assert_eq!(
        app.get("/api/v1/auth/me").bearer_auth(&counselor.token).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED,
        "the user's sessions end at once"
    );
    assert_eq!(app.login(&counselor.email, PASSWORD).await.status(), StatusCode::UNAUTHORIZED, "old password gone");
    let chosen = "copper lantern near Odra 2040%";
    assert_eq!(app.enrol(enrolment["token"].as_str().unwrap(), chosen).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.login(&counselor.email, chosen).await.status(), StatusCode::OK);
    assert_eq!(app.audit_count("user.password_reset"), 1);

    let elsewhere = app.create_organisation(&admin, "HFPC").await;
    let outsider = app.create_user(&admin, Some(elsewhere), "coordinator").await;
    let foreign = app
        .post(&format!("/api/v1/users/{}/password-reset", counselor.id))
        .bearer_auth(&outsider.token)
        .send()
        .await
        .unwrap();
    assert_problem(foreign, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn a_counselor_cannot_reset_a_colleagues_password() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let organisation = app.create_organisation(&admin, "PFM").await;
    let coordinator = app.create_user(&admin, Some(organisation), "coordinator").await;
    let counselor = app.create_user(&admin, Some(organisation), "counselor").await;
    let response = app
        .post(&format!("/api/v1/users/{}/password-reset", coordinator.id))
        .bearer_auth(&counselor.token)
        .send()
        .await
        .unwrap();
    assert_problem(response, StatusCode::FORBIDDEN, "forbidden").await;
    assert_eq!(app.login(&coordinator.email, PASSWORD).await.status(), StatusCode::OK);
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
