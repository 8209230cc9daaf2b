//! The psychological specialty: nobody grants it to themselves, it takes two people, and a
//! pending grant gives no access.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::clients::create_client;
use crate::helpers::{Account, PASSWORD, TestApp, assert_problem, body};

/// An organisation with a coordinator, a psychologist who logged a psychological session, and
/// a legal counselor.
struct Practice {
    admin: Account,
    organisation: casebridge::db::OrganisationId,
    coordinator: Account,
    psychologist: Account,
    lawyer: Account,
    session_path: String,
}

async fn practice(app: &TestApp) -> Practice {
    let admin = app.admin().await;
    let organisation = app.create_organisation(&admin, "PFM").await;
    let coordinator = app.staff(&admin, Some(organisation), "coordinator", &["social"]).await;
    let psychologist = app.staff(&coordinator, Some(organisation), "counselor", &["psychological"]).await;
    let lawyer = app.staff(&coordinator, Some(organisation), "counselor", &["legal"]).await;
    let client = create_client(app, &psychologist, json!({"given_names": "Amina", "family_name": "S"})).await;
    let session: Value = body(
        app.post(&format!("/api/v1/clients/{}/sessions", client["id"].as_str().unwrap()))
            .bearer_auth(&psychologist.token)
            .json(&json!({"kind": "psychological", "mode": "in_person", "started_at": "2026-11-03T09:00:00Z",
                          "duration_minutes": 50, "notes": "Sleeps badly since the transfer."}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let session_path = format!("/api/v1/sessions/{}", session["id"].as_str().unwrap());
    Practice { admin, organisation, coordinator, psychologist, lawyer, session_path }
}

async fn user(app: &TestApp, reader: &Account, id: casebridge::db::UserId) -> (Value, String) {
    let response = app.get(&format!("/api/v1/users/{id}")).bearer_auth(&reader.token).send().await.unwrap();
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    (response.json().await.unwrap(), etag)
}

async fn patch_user(app: &TestApp, by: &Account, id: casebridge::db::UserId, change: Value) -> reqwest::Response {
    let (_, etag) = user(app, by, id).await;
    app.patch(&format!("/api/v1/users/{id}"))
        .bearer_auth(&by.token)
        .header("if-match", etag)
        .json(&change)
        .send()
        .await
        .unwrap()
}

async fn pending_grant(app: &TestApp, reader: &Account, user_id: casebridge::db::UserId) -> String {
    let page: Value = body(
        app.get(&format!("/api/v1/specialty-grants?user_id={user_id}&status=pending"))
            .bearer_auth(&reader.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    page["items"][0]["id"].as_str().unwrap_or_else(|| panic!("no pending grant: {page}")).to_owned()
}

async fn decide(app: &TestApp, by: &Account, grant: &str, decision: &str) -> reqwest::Response {
    app.post(&format!("/api/v1/specialty-grants/{grant}/{decision}")).bearer_auth(&by.token).send().await.unwrap()
}

async fn reads_session(app: &TestApp, reader: &Account, path: &str) -> StatusCode {
    app.get(path).bearer_auth(&reader.token).send().await.unwrap().status()
}

#[tokio::test]
async fn coordinator_cannot_grant_itself_the_psychological_specialty() {
    let app = TestApp::spawn().await;
    let p = practice(&app).await;
    let own =
        patch_user(&app, &p.coordinator, p.coordinator.id, json!({"specialties": ["social", "psychological"]})).await;
    assert_problem(own, StatusCode::FORBIDDEN, "forbidden").await;
    let role = patch_user(&app, &p.coordinator, p.coordinator.id, json!({"role": "counselor"})).await;
    assert_problem(role, StatusCode::FORBIDDEN, "forbidden").await;
    let renamed = patch_user(&app, &p.coordinator, p.coordinator.id, json!({"display_name": "Maria N."})).await;
    assert_eq!(renamed.status(), StatusCode::OK, "one's own name may change");
    let (me, _) = user(&app, &p.coordinator, p.coordinator.id).await;
    assert_eq!((me["specialties"].clone(), me["pending_specialties"].clone()), (json!(["social"]), json!([])));
    assert_eq!(
        reads_session(&app, &app.signed_in(p.coordinator.clone()).await, &p.session_path).await,
        StatusCode::NOT_FOUND
    );

    let admin_self = patch_user(&app, &p.admin, p.admin.id, json!({"role": "coordinator"})).await;
    assert_problem(admin_self, StatusCode::FORBIDDEN, "forbidden").await;
}

#[tokio::test]
async fn a_pending_grant_gives_no_access_until_a_second_psychologist_confirms() {
    let app = TestApp::spawn().await;
    let p = practice(&app).await;
    let asked = patch_user(&app, &p.coordinator, p.lawyer.id, json!({"specialties": ["legal", "psychological"]})).await;
    assert_eq!(asked.status(), StatusCode::OK);
    let asked: Value = asked.json().await.unwrap();
    assert_eq!(
        (asked["specialties"].clone(), asked["pending_specialties"].clone()),
        (json!(["legal"]), json!(["psychological"]))
    );
    assert_eq!(reads_session(&app, &p.lawyer, &p.session_path).await, StatusCode::NOT_FOUND, "pending gives no access");

    let grant = pending_grant(&app, &p.coordinator, p.lawyer.id).await;
    assert_problem(decide(&app, &p.coordinator, &grant, "confirm").await, StatusCode::FORBIDDEN, "forbidden").await;
    assert_problem(decide(&app, &p.lawyer, &grant, "confirm").await, StatusCode::FORBIDDEN, "forbidden").await;
    let admin = app.admin().await;
    let by_admin = decide(&app, &admin, &grant, "confirm").await;
    assert_problem(by_admin, StatusCode::FORBIDDEN, "forbidden").await;
    assert_eq!(reads_session(&app, &p.lawyer, &p.session_path).await, StatusCode::NOT_FOUND);

    let confirmed = decide(&app, &p.psychologist, &grant, "confirm").await;
    assert_eq!(confirmed.status(), StatusCode::OK);
    let confirmed: Value = confirmed.json().await.unwrap();
    assert_eq!(confirmed["status"], "confirmed");
    assert_eq!(confirmed["decided_by"], p.psychologist.id.to_string());
    assert_eq!(reads_session(&app, &p.lawyer, &p.session_path).await, StatusCode::OK, "confirmed: in the tier");
    let again = decide(&app, &p.psychologist, &grant, "confirm").await;
    assert_problem(again, StatusCode::CONFLICT, "illegal_transition").await;
    assert_eq!(app.audit_count("specialty_grant.request"), 2, "one in setting up, one here");
    assert_eq!(app.audit_count("specialty_grant.confirm"), 2);
}

#[tokio::test]
async fn an_administrator_confirms_only_where_the_organisation_has_no_psychologist() {
    let app = TestApp::spawn().await;
    let requesting_admin = app.admin().await;
    let organisation = app.create_organisation(&requesting_admin, "PFM").await;
    let created: Value = body(
        app.post("/api/v1/users")
            .bearer_auth(&requesting_admin.token)
            .json(&json!({"organisation_id": organisation, "email": "first@example.org", "display_name": "First Psychologist",
                          "role": "counselor", "specialties": ["psychological"]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let id: casebridge::db::UserId = created["user"]["id"].as_str().unwrap().parse().unwrap();
    let grant = pending_grant(&app, &requesting_admin, id).await;
    let own_request = decide(&app, &requesting_admin, &grant, "confirm").await;
    assert_problem(own_request, StatusCode::FORBIDDEN, "forbidden").await;
    let second_admin = app.admin().await;
    assert_eq!(decide(&app, &second_admin, &grant, "confirm").await.status(), StatusCode::OK);
    let (first, _) = user(&app, &second_admin, id).await;
    assert_eq!(first["specialties"], json!(["psychological"]));
    // The organisation now has a psychologist (once enrolled), who decides from then on.
    assert_eq!(
        app.enrol(created["enrolment"]["token"].as_str().unwrap(), PASSWORD).await.status(),
        StatusCode::NO_CONTENT
    );
    let colleague = app.create_user(&requesting_admin, Some(organisation), "counselor").await;
    let asked = patch_user(&app, &requesting_admin, colleague.id, json!({"specialties": ["psychological"]})).await;
    assert_eq!(asked.status(), StatusCode::OK);
    let grant = pending_grant(&app, &requesting_admin, colleague.id).await;
    assert_problem(decide(&app, &second_admin, &grant, "confirm").await, StatusCode::FORBIDDEN, "forbidden").await;
}

#[tokio::test]
async fn removing_the_specialty_withdraws_a_pending_grant_and_a_psychologist_may_refuse() {
    let app = TestApp::spawn().await;
    let p = practice(&app).await;
    patch_user(&app, &p.coordinator, p.lawyer.id, json!({"specialties": ["legal", "psychological"]})).await;
    let grant = pending_grant(&app, &p.coordinator, p.lawyer.id).await;
    let taken_back = patch_user(&app, &p.coordinator, p.lawyer.id, json!({"specialties": ["legal"]})).await;
    let taken_back: Value = taken_back.json().await.unwrap();
    assert_eq!(taken_back["pending_specialties"], json!([]));
    let withdrawn = decide(&app, &p.psychologist, &grant, "confirm").await;
    assert_problem(withdrawn, StatusCode::CONFLICT, "illegal_transition").await;

    patch_user(&app, &p.coordinator, p.lawyer.id, json!({"specialties": ["legal", "psychological"]})).await;
    let grant = pending_grant(&app, &p.psychologist, p.lawyer.id).await;
    let refused: Value = body(decide(&app, &p.psychologist, &grant, "refuse").await).await;
    assert_eq!(refused["status"], "refused");
    let (lawyer, _) = user(&app, &p.coordinator, p.lawyer.id).await;
    assert_eq!((lawyer["specialties"].clone(), lawyer["pending_specialties"].clone()), (json!(["legal"]), json!([])));

    let psychologist_removed = patch_user(&app, &p.coordinator, p.psychologist.id, json!({"specialties": []})).await;
    assert_eq!(psychologist_removed.status(), StatusCode::OK, "removing the specialty takes one person");
    assert_eq!(
        reads_session(&app, &p.psychologist, &p.session_path).await,
        StatusCode::OK,
        "the author still reads it"
    );
}

#[tokio::test]
async fn resetting_a_psychologists_password_suspends_the_specialty_until_a_second_person_confirms() {
    let app = TestApp::spawn().await;
    let p = practice(&app).await;
    let colleague = app.staff(&p.coordinator, Some(p.organisation), "counselor", &["psychological"]).await;
    let enrolment: Value = body(
        app.post(&format!("/api/v1/users/{}/password-reset", colleague.id))
            .bearer_auth(&p.coordinator.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    // Whoever holds the token can set a password, but not enter the tier with it.
    let chosen = "coordinator chose this 2026!";
    assert_eq!(app.enrol(enrolment["token"].as_str().unwrap(), chosen).await.status(), StatusCode::NO_CONTENT);
    let tokens: Value = body(app.login(&colleague.email, chosen).await).await;
    let taken_over = Account { token: tokens["access_token"].as_str().unwrap().to_owned(), ..colleague.clone() };
    assert_eq!(reads_session(&app, &taken_over, &p.session_path).await, StatusCode::NOT_FOUND);
    let (user_now, _) = user(&app, &p.coordinator, colleague.id).await;
    assert_eq!(
        (user_now["specialties"].clone(), user_now["pending_specialties"].clone()),
        (json!([]), json!(["psychological"]))
    );

    let grant = pending_grant(&app, &p.psychologist, colleague.id).await;
    assert_eq!(decide(&app, &p.psychologist, &grant, "confirm").await.status(), StatusCode::OK);
    assert_eq!(reads_session(&app, &taken_over, &p.session_path).await, StatusCode::OK);
}

#[tokio::test]
async fn grants_are_listed_to_coordinators_and_psychologists_of_the_organisation_only() {
    let app = TestApp::spawn().await;
    let p = practice(&app).await;
    let analyst = app.create_user(&p.admin, Some(p.organisation), "analyst").await;
    let elsewhere = app.create_organisation(&p.admin, "HFPC").await;
    let outsider = app.create_user(&p.admin, Some(elsewhere), "coordinator").await;
    let list = |account: &Account, query: &str| {
        app.get(&format!("/api/v1/specialty-grants{query}")).bearer_auth(&account.token).send()
    };
    let by_coordinator: Value = body(list(&p.coordinator, "").await.unwrap()).await;
    assert_eq!(by_coordinator["items"].as_array().unwrap().len(), 1, "the psychologist's own, confirmed");
    assert_eq!(list(&p.psychologist, "?status=confirmed").await.unwrap().status(), StatusCode::OK);
    assert_problem(list(&p.lawyer, "").await.unwrap(), StatusCode::NOT_FOUND, "not_found").await;
    assert_problem(list(&analyst, "").await.unwrap(), StatusCode::FORBIDDEN, "forbidden").await;
    let foreign = list(&outsider, &format!("?organisation_id={}", p.organisation)).await.unwrap();
    assert_problem(foreign, StatusCode::NOT_FOUND, "not_found").await;
    let grant = by_coordinator["items"][0]["id"].as_str().unwrap();
    let from_outside = decide(&app, &outsider, grant, "refuse").await;
    assert_problem(from_outside, StatusCode::NOT_FOUND, "not_found").await;
}
