//! Tasks: to-dos assigned to a user or waiting in the organisation's inbox.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::clients::create_client;
use crate::helpers::{Account, TestApp, assert_problem, body};

struct Team {
    coordinator: Account,
    counselor: Account,
    colleague: Account,
    stranger: Account,
}

async fn team(app: &TestApp) -> Team {
    let admin = app.admin().await;
    let organisation = Some(app.create_organisation(&admin, "PFM").await);
    let elsewhere = Some(app.create_organisation(&admin, "HFHR").await);
    let coordinator = app.staff(&admin, organisation, "coordinator", &["social"]).await;
    Team {
        counselor: app.create_user(&coordinator, organisation, "counselor").await,
        colleague: app.create_user(&coordinator, organisation, "counselor").await,
        stranger: app.create_user(&admin, elsewhere, "counselor").await,
        coordinator,
    }
}

async fn add(app: &TestApp, who: &Account, task: Value) -> reqwest::Response {
    app.post("/api/v1/tasks").bearer_auth(&who.token).json(&task).send().await.unwrap()
}

async fn added(app: &TestApp, who: &Account, task: Value) -> Value {
    let response = add(app, who, task).await;
    assert_eq!(response.status(), StatusCode::CREATED, "{}", response.text().await.unwrap());
    response.json().await.unwrap()
}

async fn change(app: &TestApp, who: &Account, task: &Value, patch: Value) -> reqwest::Response {
    app.patch(&format!("/api/v1/tasks/{}", task["id"].as_str().unwrap()))
        .bearer_auth(&who.token)
        .header("if-match", format!("\"{}\"", task["version"]))
        .json(&patch)
        .send()
        .await
        .unwrap()
}

async fn listed(app: &TestApp, who: &Account, query: &str) -> Vec<Value> {
    let page: Value =
        body(app.get(&format!("/api/v1/tasks?{query}")).bearer_auth(&who.token).send().await.unwrap()).await;
    page["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_counselor_hands_a_task_to_a_colleague_who_ticks_it_off() {
    let app = TestApp::spawn().await;
    let team = team(&app).await;
    let client = create_client(&app, &team.counselor, json!({"given_names": "Aslan", "family_name": "Basayev"})).await;
    let task = added(
        &app,
        &team.counselor,
        json!({"title": "Book an interpreter for the interview", "due_on": "2030-01-15",
               "assignee_id": team.colleague.id, "client_id": client["id"]}),
    )
    .await;
    assert_eq!(task["assignee_id"], team.colleague.id.to_string());
    assert_eq!(task["client_reference"], client["reference"]);
    assert_eq!(task["done"], false);
    assert_eq!(app.audit_count("task.create"), 1);

    let mine = listed(&app, &team.colleague, &format!("assignee_id={}", team.colleague.id)).await;
    assert_eq!(mine.len(), 1);
    let response = change(&app, &team.colleague, &task, json!({"done": true})).await;
    assert_eq!(response.status(), StatusCode::OK);
    let done: Value = response.json().await.unwrap();
    assert_eq!(done["done"], true);
    assert_eq!(done["done_by"], team.colleague.id.to_string());
    assert!(done["done_at"].is_string());
    assert_eq!(listed(&app, &team.colleague, "done=false").await.len(), 0);
    assert_problem(
        change(&app, &team.colleague, &task, json!({"done": false})).await,
        StatusCode::PRECONDITION_FAILED,
        "stale_version",
    )
    .await;
    let reopened: Value = change(&app, &team.colleague, &done, json!({"done": false})).await.json().await.unwrap();
    assert_eq!(reopened["done"], false);
    assert_eq!(reopened["done_at"], Value::Null);
}

#[tokio::test]
async fn a_task_for_nobody_waits_in_the_organisations_inbox_until_someone_takes_it() {
    let app = TestApp::spawn().await;
    let team = team(&app).await;
    let task = added(&app, &team.coordinator, json!({"title": "Renew the office lease", "due_on": "2030-02-01"})).await;
    assert_eq!(task["assignee_id"], Value::Null);
    assert_eq!(listed(&app, &team.counselor, "inbox=true").await.len(), 1);
    let taken: Value =
        change(&app, &team.counselor, &task, json!({"assignee_id": team.counselor.id})).await.json().await.unwrap();
    assert_eq!(taken["assignee_id"], team.counselor.id.to_string());
    assert_eq!(listed(&app, &team.counselor, "inbox=true").await.len(), 0);
    let back: Value = change(&app, &team.counselor, &taken, json!({"assignee_id": null})).await.json().await.unwrap();
    assert_eq!(back["assignee_id"], Value::Null, "null hands it back to the inbox");
    assert_eq!(listed(&app, &team.stranger, "").await.len(), 0, "another organisation's inbox is its own");
}

#[tokio::test]
async fn a_task_is_only_for_the_organisations_own_people_and_clients() {
    let app = TestApp::spawn().await;
    let team = team(&app).await;
    let foreign = create_client(&app, &team.stranger, json!({"given_names": "Olena", "family_name": "Koval"})).await;
    let analyst = app.create_user(&team.coordinator, team.coordinator.organisation_id, "analyst").await;
    for (task, field) in [
        (json!({"title": "x", "due_on": "2030-01-01", "assignee_id": team.stranger.id}), "assignee_id"),
        (json!({"title": "x", "due_on": "2030-01-01", "assignee_id": analyst.id}), "assignee_id"),
        (json!({"title": "x", "due_on": "2030-01-01", "client_id": foreign["id"]}), "client_id"),
        (json!({"title": " ", "due_on": "2030-01-01"}), "title"),
        (json!({"title": "x", "due_on": "2090-01-01"}), "due_on"),
    ] {
        let problem = assert_problem(
            add(&app, &team.counselor, task).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
        assert!(problem["errors"][field].is_string(), "{problem}");
    }
    assert_problem(
        add(&app, &analyst, json!({"title": "x", "due_on": "2030-01-01"})).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let task =
        added(&app, &team.counselor, json!({"title": "Call the reception centre", "due_on": "2030-01-01"})).await;
    let path = format!("/api/v1/tasks/{}", task["id"].as_str().unwrap());
    assert_problem(
        app.get(&path).bearer_auth(&team.stranger.token).send().await.unwrap(),
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_eq!(app.get(&path).bearer_auth(&team.colleague.token).send().await.unwrap().status(), StatusCode::OK);
}

#[tokio::test]
async fn a_counselor_removes_only_the_tasks_they_wrote_and_a_coordinator_any() {
    let app = TestApp::spawn().await;
    let team = team(&app).await;
    let task =
        added(&app, &team.counselor, json!({"title": "Call the reception centre", "due_on": "2030-01-01"})).await;
    let path = format!("/api/v1/tasks/{}", task["id"].as_str().unwrap());
    let refused = app.request(Method::DELETE, &path).bearer_auth(&team.colleague.token).send().await.unwrap();
    assert_problem(refused, StatusCode::FORBIDDEN, "forbidden").await;
    let removed = app.request(Method::DELETE, &path).bearer_auth(&team.coordinator.token).send().await.unwrap();
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    assert_problem(
        app.get(&path).bearer_auth(&team.counselor.token).send().await.unwrap(),
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let own = added(&app, &team.counselor, json!({"title": "Mine", "due_on": "2030-01-01"})).await;
    let own_path = format!("/api/v1/tasks/{}", own["id"].as_str().unwrap());
    let removed = app.request(Method::DELETE, &own_path).bearer_auth(&team.counselor.token).send().await.unwrap();
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn erasing_a_client_removes_the_tasks_about_them() {
    let app = TestApp::spawn().await;
    let team = team(&app).await;
    let client = create_client(&app, &team.counselor, json!({"given_names": "Aslan", "family_name": "Basayev"})).await;
    added(
        &app,
        &team.counselor,
        json!({"title": "Ask Aslan for the decision", "due_on": "2030-01-01", "client_id": client["id"]}),
    )
    .await;
    let other = added(&app, &team.counselor, json!({"title": "Unrelated", "due_on": "2030-01-02"})).await;
    let erased = app
        .post(&format!("/api/v1/clients/{}/erase", client["id"].as_str().unwrap()))
        .bearer_auth(&team.coordinator.token)
        .json(&json!({"reason": "Request of 2026-11-20"}))
        .send()
        .await
        .unwrap();
    assert_eq!(erased.status(), StatusCode::NO_CONTENT, "{}", erased.text().await.unwrap());
    let left = listed(&app, &team.coordinator, "").await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["id"], other["id"]);
    assert!(!serde_json::to_string(&left).unwrap().contains("Aslan"));
}
