//! The agenda: appointments, deadlines, follow-ups and tasks in one time-ordered list, and its
//! iCalendar feed.

use std::str::FromStr;

use icalendar::{Calendar, CalendarComponent, Component, EventLike};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::clients::create_client;
use crate::helpers::{Account, TestApp, assert_problem, body};

struct Team {
    coordinator: Account,
    counselor: Account,
    psychologist: Account,
}

async fn team(app: &TestApp) -> Team {
    let admin = app.admin().await;
    let organisation = Some(app.create_organisation(&admin, "PFM").await);
    let coordinator = app.staff(&admin, organisation, "coordinator", &["social"]).await;
    Team {
        counselor: app.staff(&coordinator, organisation, "counselor", &["legal"]).await,
        psychologist: app.staff(&coordinator, organisation, "counselor", &["psychological"]).await,
        coordinator,
    }
}

async fn planned(app: &TestApp, who: &Account, client: &str, appointment: Value) -> Value {
    let response = app
        .post(&format!("/api/v1/clients/{client}/appointments"))
        .bearer_auth(&who.token)
        .json(&appointment)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED, "{}", response.text().await.unwrap());
    response.json().await.unwrap()
}

async fn task(app: &TestApp, who: &Account, task: Value) -> Value {
    let response = app.post("/api/v1/tasks").bearer_auth(&who.token).json(&task).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED, "{}", response.text().await.unwrap());
    response.json().await.unwrap()
}

async fn agenda(app: &TestApp, who: &Account, query: &str) -> Value {
    body(app.get(&format!("/api/v1/agenda?{query}")).bearer_auth(&who.token).send().await.unwrap()).await
}

fn kinds(page: &Value) -> Vec<&str> {
    page["items"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn a_counselors_agenda_holds_their_appointments_deadlines_follow_ups_and_tasks_in_time_order() {
    let app = TestApp::spawn().await;
    app.set_warsaw_time("2026-11-02 08:00:00");
    let team = team(&app).await;
    let client = create_client(
        &app,
        &team.counselor,
        json!({"given_names": "Aslan", "family_name": "Basayev", "assigned_counselor_id": team.counselor.id}),
    )
    .await;
    let id = client["id"].as_str().unwrap();
    let decision = app
        .post(&format!("/api/v1/clients/{id}/procedure-events"))
        .bearer_auth(&team.counselor.token)
        .json(&json!({"kind": "first_instance_decision", "occurred_on": "2026-10-26", "delivered_on": "2026-10-30", "outcome": "refusal"}))
        .send()
        .await
        .unwrap();
    assert_eq!(decision.status(), StatusCode::CREATED);
    let session = app
        .post(&format!("/api/v1/clients/{id}/sessions"))
        .bearer_auth(&team.counselor.token)
        .json(
            &json!({"kind": "legal", "mode": "in_person", "started_at": "2026-11-02T07:00:00Z", "duration_minutes": 30,
                      "follow_up_on": "2026-11-05"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(session.status(), StatusCode::CREATED);
    let appointment = planned(
        &app,
        &team.counselor,
        id,
        json!({"kind": "legal", "mode": "in_person", "city": "Lublin", "starts_at": "2026-11-04T10:00:00+01:00", "duration_minutes": 60}),
    )
    .await;
    let mine = task(
        &app,
        &team.counselor,
        json!({"title": "Copy the decision", "due_on": "2026-11-03", "assignee_id": team.counselor.id, "client_id": id}),
    )
    .await;
    let inbox = task(&app, &team.coordinator, json!({"title": "Order paper", "due_on": "2026-11-03"})).await;

    let page = agenda(&app, &team.counselor, "from=2026-11-02&to=2026-11-20").await;
    assert_eq!(kinds(&page), ["task", "appointment", "follow_up", "legal_deadline"], "{page}");
    let items = page["items"].as_array().unwrap();
    assert_eq!(items[0]["id"], mine["id"]);
    assert_eq!(items[0]["all_day"], true);
    assert_eq!(items[0]["local_starts_at"], "2026-11-03T00:00:00+01:00", "a dated entry starts its day in Poland");
    assert_eq!(items[1]["id"], appointment["id"]);
    assert_eq!(items[1]["client_reference"], client["reference"]);
    assert_eq!(items[1]["ends_at"], "2026-11-04T10:00:00Z");
    assert_eq!(items[3]["title"], "Appeal to the Refugee Board");
    assert!(items.iter().all(|item| item["id"] != inbox["id"]), "the inbox is not the counselor's own");

    // Page by page, the same entries in the same order.
    let mut walked = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = agenda(&app, &team.counselor, &format!("from=2026-11-02&to=2026-11-20&limit=1{cursor}")).await;
        walked.extend(page["items"].as_array().unwrap().iter().map(|i| i["id"].clone()));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    assert_eq!(walked, items.iter().map(|i| i["id"].clone()).collect::<Vec<_>>());

    let organisation = agenda(&app, &team.coordinator, "from=2026-11-02&to=2026-11-20").await;
    let ids: Vec<&Value> = organisation["items"].as_array().unwrap().iter().map(|i| &i["id"]).collect();
    assert!(ids.contains(&&inbox["id"]) && ids.contains(&&mine["id"]), "the organisation's agenda has every task");
    let narrowed =
        agenda(&app, &team.coordinator, &format!("from=2026-11-02&to=2026-11-20&counselor_id={}", team.counselor.id))
            .await;
    assert_eq!(narrowed["items"], page["items"], "a coordinator sees a counselor's agenda as they do");
}

#[tokio::test]
async fn a_counselor_cannot_read_a_colleagues_agenda_and_an_analyst_has_none() {
    let app = TestApp::spawn().await;
    let team = team(&app).await;
    let refused =
        app.get(&format!("/api/v1/agenda?counselor_id={}", team.psychologist.id)).bearer_auth(&team.counselor.token);
    assert_problem(refused.send().await.unwrap(), StatusCode::FORBIDDEN, "forbidden").await;
    let own = app.get(&format!("/api/v1/agenda?counselor_id={}", team.counselor.id)).bearer_auth(&team.counselor.token);
    assert_eq!(own.send().await.unwrap().status(), StatusCode::OK);
    let analyst = app.create_user(&team.coordinator, team.coordinator.organisation_id, "analyst").await;
    let response = app.get("/api/v1/agenda").bearer_auth(&analyst.token).send().await.unwrap();
    assert_problem(response, StatusCode::FORBIDDEN, "forbidden").await;
    assert_problem(
        app.get("/api/v1/agenda?from=2026-11-10&to=2026-11-01")
            .bearer_auth(&team.counselor.token)
            .send()
            .await
            .unwrap(),
        StatusCode::BAD_REQUEST,
        "invalid_query",
    )
    .await;
}

#[tokio::test]
async fn a_psychological_appointment_is_busy_time_and_nothing_more_on_a_coordinators_agenda() {
    let app = TestApp::spawn().await;
    app.set_warsaw_time("2026-11-02 08:00:00");
    let team = team(&app).await;
    let client =
        create_client(&app, &team.psychologist, json!({"given_names": "Amina", "family_name": "Saidova"})).await;
    let appointment = planned(
        &app,
        &team.psychologist,
        client["id"].as_str().unwrap(),
        json!({"kind": "psychological", "mode": "in_person", "city": "Lublin", "starts_at": "2026-11-04T09:00:00Z", "duration_minutes": 50}),
    )
    .await;
    let query = format!("from=2026-11-02&to=2026-11-08&counselor_id={}", team.psychologist.id);

    let seen = agenda(&app, &team.coordinator, &query).await;
    let busy = &seen["items"][0];
    assert_eq!(seen["items"].as_array().unwrap().len(), 1);
    assert_eq!(busy["kind"], "busy");
    assert_eq!(busy["starts_at"], "2026-11-04T09:00:00Z");
    assert_eq!(busy["ends_at"], "2026-11-04T09:50:00Z");
    for hidden in ["id", "client_id", "client_reference", "session_kind", "appointment_status", "city"] {
        assert_eq!(busy[hidden], Value::Null, "{hidden} is not shown");
    }
    assert!(!seen.to_string().contains(appointment["id"].as_str().unwrap()));
    assert!(!seen.to_string().contains(client["reference"].as_str().unwrap()));

    let own = agenda(&app, &team.psychologist, "from=2026-11-02&to=2026-11-08").await;
    assert_eq!(own["items"][0]["kind"], "appointment");
    assert_eq!(own["items"][0]["client_reference"], client["reference"]);

    // Once cancelled it takes no time, and nothing of it is left on the coordinator's agenda.
    let cancel = app
        .post(&format!("/api/v1/appointments/{}/cancel", appointment["id"].as_str().unwrap()))
        .bearer_auth(&team.psychologist.token)
        .header("if-match", "\"1\"")
        .json(&json!({"reason": "The client is ill"}))
        .send()
        .await
        .unwrap();
    assert_eq!(cancel.status(), StatusCode::OK);
    assert_eq!(agenda(&app, &team.coordinator, &query).await["items"], json!([]));
}

async fn issue_feed(app: &TestApp, who: &Account) -> Value {
    let response = app.post("/api/v1/agenda/feed").bearer_auth(&who.token).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}

async fn read_feed(app: &TestApp, feed: &Value) -> reqwest::Response {
    app.client.get(format!("{}{}", app.address, feed["path"].as_str().unwrap())).send().await.unwrap()
}

#[tokio::test]
async fn the_calendar_feed_is_icalendar_with_references_and_never_names_and_ends_when_revoked() {
    let app = TestApp::spawn().await;
    app.set_warsaw_time("2026-11-02 08:00:00");
    let team = team(&app).await;
    let client =
        create_client(&app, &team.counselor, json!({"given_names": "Magomed", "family_name": "Dudayev"})).await;
    let id = client["id"].as_str().unwrap();
    let reference = client["reference"].as_str().unwrap();
    planned(
        &app,
        &team.counselor,
        id,
        json!({"kind": "legal", "mode": "in_person", "city": "Lublin", "location": "Magomed's hostel, room 4",
               "starts_at": "2026-11-04T10:00:00+01:00", "duration_minutes": 60}),
    )
    .await;
    task(
        &app,
        &team.counselor,
        json!({"title": "Call Magomed Dudayev about the appeal", "due_on": "2026-11-03", "assignee_id": team.counselor.id, "client_id": id}),
    )
    .await;
    let feed = issue_feed(&app, &team.counselor).await;
    assert!(feed["path"].as_str().unwrap().starts_with("/api/v1/agenda.ics?token="));

    let response = read_feed(&app, &feed).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/calendar"));
    let text = response.text().await.unwrap();
    for name in ["Magomed", "Dudayev", "hostel"] {
        assert!(!text.contains(name), "the feed carries no name or free text: {text}");
    }
    let calendar = Calendar::from_str(&text).expect("the feed parses as iCalendar");
    let events: Vec<_> = calendar
        .components
        .iter()
        .filter_map(|component| match component {
            CalendarComponent::Event(event) => Some(event),
            _ => None,
        })
        .collect();
    assert_eq!(events.len(), 2, "{text}");
    let summaries: Vec<String> = events.iter().map(|e| e.get_summary().unwrap_or_default().to_owned()).collect();
    assert!(summaries.contains(&format!("Appointment: legal · {reference}")), "{summaries:?}");
    assert!(summaries.contains(&format!("Task · {reference}")), "{summaries:?}");
    let appointment = events.iter().find(|e| e.get_summary().unwrap_or_default().starts_with("Appointment")).unwrap();
    assert_eq!(appointment.get_location(), Some("Lublin"));
    assert_eq!(app.audit_count("agenda.feed_read"), 1);

    // A new address ends the old one; revoking ends the new one.
    let renewed = issue_feed(&app, &team.counselor).await;
    assert_problem(read_feed(&app, &feed).await, StatusCode::NOT_FOUND, "not_found").await;
    assert_eq!(read_feed(&app, &renewed).await.status(), StatusCode::OK);
    let revoked = app
        .request(reqwest::Method::DELETE, "/api/v1/agenda/feed")
        .bearer_auth(&team.counselor.token)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    assert_problem(read_feed(&app, &renewed).await, StatusCode::NOT_FOUND, "not_found").await;
    let forged = json!({"path": "/api/v1/agenda.ics?token=not-a-token"});
    assert_problem(read_feed(&app, &forged).await, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn a_psychologists_feed_shows_their_psychological_appointments_as_busy_time_only() {
    let app = TestApp::spawn().await;
    app.set_warsaw_time("2026-11-02 08:00:00");
    let team = team(&app).await;
    let client =
        create_client(&app, &team.psychologist, json!({"given_names": "Amina", "family_name": "Saidova"})).await;
    planned(
        &app,
        &team.psychologist,
        client["id"].as_str().unwrap(),
        json!({"kind": "psychological", "mode": "in_person", "city": "Lublin", "starts_at": "2026-11-04T09:00:00Z", "duration_minutes": 50}),
    )
    .await;
    let feed = issue_feed(&app, &team.psychologist).await;
    let text = read_feed(&app, &feed).await.text().await.unwrap();
    assert!(text.contains("SUMMARY:Busy"), "{text}");
    assert!(!text.contains(client["reference"].as_str().unwrap()), "{text}");
    assert!(!text.to_lowercase().contains("psycholog"), "{text}");
}

#[tokio::test]
async fn a_calendar_feed_read_more_than_sixty_times_an_hour_answers_429() {
    let app = TestApp::spawn().await;
    let team = team(&app).await;
    let feed = issue_feed(&app, &team.counselor).await;
    for _ in 0..60 {
        assert_eq!(read_feed(&app, &feed).await.status(), StatusCode::OK);
    }
    let response = read_feed(&app, &feed).await;
    assert!(response.headers().contains_key("retry-after"));
    assert_problem(response, StatusCode::TOO_MANY_REQUESTS, "too_many_requests").await;
    app.clock.set(app.clock.now() + chrono::Duration::minutes(61));
    assert_eq!(read_feed(&app, &feed).await.status(), StatusCode::OK, "a new hour, a new count");
}

#[tokio::test]
async fn a_deactivated_users_feed_answers_404() {
    let app = TestApp::spawn().await;
    let team = team(&app).await;
    let feed = issue_feed(&app, &team.counselor).await;
    let user: Value = body(
        app.get(&format!("/api/v1/users/{}", team.counselor.id))
            .bearer_auth(&team.coordinator.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let deactivated = app
        .patch(&format!("/api/v1/users/{}", team.counselor.id))
        .bearer_auth(&team.coordinator.token)
        .header("if-match", format!("\"{}\"", user["version"]))
        .json(&json!({"active": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(deactivated.status(), StatusCode::OK, "{}", deactivated.text().await.unwrap());
    assert_problem(read_feed(&app, &feed).await, StatusCode::NOT_FOUND, "not_found").await;
}
