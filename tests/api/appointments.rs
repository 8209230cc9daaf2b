//! Appointments: planning on a counselor's calendar, no double booking (of counselors and of
//! interpreters shared by organisations), the Warsaw wall clock, the life cycle with If-Match,
//! holding (which logs the session once), and the psychological tier.

use casebridge::db::{AppointmentId, ClientId, OrganisationId};
use diesel::prelude::*;
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

use crate::clients::{counselor_of, create_client};
use crate::helpers::{Account, TestApp, assert_problem, body};
use crate::interpreters::{NOW, added, set_clock};

/// One organisation's staff and a client, with the server's clock at `NOW`.
struct Office {
    admin: Account,
    organisation: OrganisationId,
    coordinator: Account,
    /// Legal and social counseling.
    counselor: Account,
    /// Legal counseling.
    colleague: Account,
    client: String,
}

async fn office(app: &TestApp) -> Office {
    set_clock(app, NOW);
    let admin = app.admin().await;
    let organisation = app.create_organisation(&admin, "PFM").await;
    let coordinator = app.staff(&admin, Some(organisation), "coordinator", &["social"]).await;
    let counselor = app.staff(&coordinator, Some(organisation), "counselor", &["legal", "social"]).await;
    let colleague = app.staff(&coordinator, Some(organisation), "counselor", &["legal"]).await;
    let client = create_client(app, &counselor, json!({"given_names": "Aslan", "family_name": "Basayev"})).await;
    Office { admin, organisation, coordinator, counselor, colleague, client: id(&client).to_owned() }
}

/// Another organisation of the consortium, with a coordinator, a counselor and a client.
struct Partner {
    organisation: OrganisationId,
    coordinator: Account,
    counselor: Account,
    client: String,
}

async fn partner(app: &TestApp, admin: &Account, short_name: &str) -> Partner {
    let organisation = app.create_organisation(admin, short_name).await;
    let coordinator = app.staff(admin, Some(organisation), "coordinator", &["social"]).await;
    let counselor = app.staff(&coordinator, Some(organisation), "counselor", &["legal"]).await;
    let client = create_client(app, &counselor, json!({"given_names": "Olena", "family_name": "Shevchenko"})).await;
    Partner { organisation, coordinator, counselor, client: id(&client).to_owned() }
}

fn id(value: &Value) -> &str {
    value["id"].as_str().unwrap_or_else(|| panic!("no id in {value}"))
}

/// A legal counseling appointment in Lublin.
fn legal(starts_at: &str, minutes: i64) -> Value {
    json!({"kind": "legal", "mode": "in_person", "city": "Lublin", "starts_at": starts_at, "duration_minutes": minutes})
}

/// `base` with the fields of `extra` set.
fn with(mut base: Value, extra: Value) -> Value {
    for (key, value) in extra.as_object().unwrap() {
        base[key] = value.clone();
    }
    base
}

async fn plan(app: &TestApp, by: &Account, client: &str, appointment: &Value) -> Response {
    app.post(&format!("/api/v1/clients/{client}/appointments"))
        .bearer_auth(&by.token)
        .json(appointment)
        .send()
        .await
        .unwrap()
}

async fn planned(app: &TestApp, by: &Account, client: &str, appointment: Value) -> Value {
    let response = plan(app, by, client, &appointment).await;
    assert_eq!(response.status(), StatusCode::CREATED, "{}", response.text().await.unwrap());
    response.json().await.unwrap()
}

/// A move of the life cycle (`confirm`, `cancel`, `mark-no-show`, `hold`) on version `version`.
async fn act(app: &TestApp, by: &Account, appointment: &str, action: &str, version: i64, payload: Value) -> Response {
    app.post(&format!("/api/v1/appointments/{appointment}/{action}"))
        .bearer_auth(&by.token)
        .header("if-match", format!("\"{version}\""))
        .json(&payload)
        .send()
        .await
        .unwrap()
}

async fn change(app: &TestApp, by: &Account, appointment: &str, version: i64, patch: Value) -> Response {
    app.patch(&format!("/api/v1/appointments/{appointment}"))
        .bearer_auth(&by.token)
        .header("if-match", format!("\"{version}\""))
        .json(&patch)
        .send()
        .await
        .unwrap()
}

async fn read(app: &TestApp, by: &Account, appointment: &str) -> Response {
    app.get(&format!("/api/v1/appointments/{appointment}")).bearer_auth(&by.token).send().await.unwrap()
}

/// The ids of the appointments a list shows `by`, in its order.
async fn listed(app: &TestApp, by: &Account, path: &str) -> Vec<String> {
    let page: Value = body(app.get(path).bearer_auth(&by.token).send().await.unwrap()).await;
    page["items"]
        .as_array()
        .unwrap_or_else(|| panic!("not a page: {page}"))
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_owned())
        .collect()
}

fn session_count(app: &TestApp) -> i64 {
    use casebridge::db::schema::sessions;
    app.db(|conn| sessions::table.count().get_result(conn).unwrap())
}

fn appointment_count(app: &TestApp) -> i64 {
    use casebridge::db::schema::appointments;
    app.db(|conn| appointments::table.count().get_result(conn).unwrap())
}

// --- Planning ----------------------------------------------------------------------------------

#[tokio::test]
async fn counselor_plans_an_appointment_on_their_own_calendar_in_warsaw_time() {
    let app = TestApp::spawn().await;
    let office = office(&app).await;
    let guest =
        create_client(&app, &office.counselor, json!({"given_names": "Madina", "family_name": "Basayeva"})).await;

    let response = plan(
        &app,
        &office.counselor,
        &office.client,
        &json!({"kind": "social", "mode": "video", "city": "Lublin", "location": "Reception centre, room 4",
                "starts_at": "2026-10-12T09:00:00+02:00", "duration_minutes": 90, "language": "RU",
                "participants": [id(&guest)]}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.headers()["etag"], "\"1\"");
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let appointment: Value = response.json().await.unwrap();
    assert_eq!(location, format!("/api/v1/appointments/{}", id(&appointment)));
    assert_eq!(appointment["counselor_id"], json!(office.counselor.id), "on the caller's own calendar");
    assert_eq!(appointment["created_by"], json!(office.counselor.id));
    assert_eq!(appointment["organisation_id"], json!(office.organisation));
    assert_eq!(appointment["client_id"], office.client);
    assert!(appointment["client_reference"].as_str().unwrap().starts_with("PFM-"), "{appointment}");
    assert_eq!(appointment["participants"], json!([{"client_id": guest["id"], "reference": guest["reference"]}]));
    assert_eq!((&appointment["kind"], &appointment["mode"]), (&json!("social"), &json!("video")));
    assert_eq!(
        (&appointment["city"], &appointment["location"]),
        (&json!("Lublin"), &json!("Reception centre, room 4"))
    );
    assert_eq!(appointment["starts_at"], "2026-10-12T07:00:00Z", "stored and shown in UTC");
    assert_eq!(appointment["ends_at"], "2026-10-12T08:30:00Z");
    assert_eq!(appointment["local_starts_at"], "2026-10-12T09:00:00+02:00", "summer time in Warsaw");
    assert_eq!(appointment["local_ends_at"], "2026-10-12T10:30:00+02:00");
    assert_eq!(appointment["duration_minutes"], 90);
    assert_eq!(appointment["language"], "ru");
    assert_eq!(appointment["interpreter_needed"], false);
    assert!(appointment["interpreter_id"].is_null());
    assert_eq!(appointment["status"], "planned");
    assert!(appointment["session_id"].is_null());
    assert_eq!(appointment["version"], 1);

    let read = read(&app, &office.colleague, id(&appointment)).await;
    assert_eq!(read.status(), StatusCode::OK, "colleagues of the organisation see it");
    assert_eq!(read.headers()["etag"], "\"1\"");
    assert_eq!(read.json::<Value>().await.unwrap(), appointment);
    let for_guest = listed(&app, &office.colleague, &format!("/api/v1/clients/{}/appointments", id(&guest))).await;
    assert_eq!(for_guest, [id(&appointment)], "a group appointment shows on every participant's file");

    let winter = planned(&app, &office.counselor, &office.client, legal("2026-11-16T09:00:00+01:00", 60)).await;
    assert_eq!(winter["starts_at"], "2026-11-16T08:00:00Z");
    assert_eq!(winter["local_starts_at"], "2026-11-16T09:00:00+01:00", "winter time in Warsaw");
    assert_eq!(app.audit_count("appointment.create"), 2);
}

#[tokio::test]
async fn planning_refuses_invalid_fields_and_stores_nothing() {
    let app = TestApp::spawn().await;
    let office = office(&app).await;
    let interpreter = added(&app, &office.coordinator, json!({"name": "Aminat Dudayeva", "languages": ["ce"]})).await;
    let guest =
        create_client(&app, &office.counselor, json!({"given_names": "Madina", "family_name": "Basayeva"})).await;
    let stranger = counselor_of(&app, "HFPC").await;
    let theirs = create_client(&app, &stranger, json!({"given_names": "Olena", "family_name": "Shevchenko"})).await;
    let analyst = app.create_user(&office.coordinator, Some(office.organisation), "analyst").await;
    let slot = legal("2026-10-12T09:00:00+02:00", 60);

    let (counselor, coordinator) = (&office.counselor, &office.coordinator);
    let cases = [
        (counselor, "duration_minutes", with(slot.clone(), json!({"duration_minutes": 4}))),
        (counselor, "duration_minutes", with(slot.clone(), json!({"duration_minutes": 601}))),
        (counselor, "city", with(slot.clone(), json!({"city": ""}))),
        (counselor, "city", with(slot.clone(), json!({"city": "   "}))),
        (counselor, "kind", with(slot.clone(), json!({"kind": "psychological"}))),
        (counselor, "kind", with(slot.clone(), json!({"kind": "vocational"}))),
        (coordinator, "kind", with(slot.clone(), json!({"counselor_id": office.colleague.id, "kind": "social"}))),
        (
            counselor,
            "interpreter_id",
            with(slot.clone(), json!({"language": "ce", "interpreter_id": interpreter["id"]})),
        ),
        (counselor, "participants", with(slot.clone(), json!({"participants": [guest["id"], guest["id"]]}))),
        (counselor, "participants", with(slot.clone(), json!({"participants": [office.client]}))),
        (counselor, "participants", with(slot.clone(), json!({"participants": [theirs["id"]]}))),
        (counselor, "language", with(slot.clone(), json!({"language": "xx"}))),
        (counselor, "starts_at", legal("2026-08-30T09:00:00+02:00", 60)),
        (counselor, "starts_at", legal("2028-10-02T09:00:00+02:00", 60)),
        (coordinator, "counselor_id", with(slot.clone(), json!({"counselor_id": analyst.id}))),
        (coordinator, "counselor_id", with(slot.clone(), json!({"counselor_id": stranger.id}))),
    ];
    for (by, field, appointment) in &cases {
        let response = plan(&app, by, &office.client, appointment).await;
        let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        let fields: Vec<&String> = problem["errors"].as_object().unwrap().keys().collect();
        assert_eq!(fields, [field], "{appointment}: {problem}");
    }
    assert_eq!(appointment_count(&app), 0);

    // The limits themselves are accepted: each refused field, put right, plans.
    let for_colleague = with(legal("2026-10-17T09:00:00+02:00", 60), json!({"counselor_id": office.colleague.id}));
    planned(&app, coordinator, &office.client, for_colleague).await;
    let accepted = [
        legal("2026-10-12T09:00:00+02:00", 5),
        legal("2026-10-13T09:00:00+02:00", 600),
        with(legal("2026-10-14T09:00:00+02:00", 60), json!({"kind": "other"})),
        with(
            legal("2026-10-15T09:00:00+02:00", 60),
            json!({"language": "ce", "interpreter_needed": true, "interpreter_id": interpreter["id"]}),
        ),
        with(legal("2026-10-16T09:00:00+02:00", 60), json!({"participants": [guest["id"]]})),
        legal("2026-09-01T09:00:00+02:00", 60),
        legal("2028-09-30T09:00:00+02:00", 60),
    ];
    for appointment in accepted {
        planned(&app, counselor, &office.client, appointment).await;
    }
    assert_eq!(appointment_count(&app), 8);
}

#[tokio::test]
async fn counselor_cannot_plan_on_a_colleagues_calendar_but_a_coordinator_can() {
    let app = TestApp::spawn().await;
    let office = office(&app).await;
    let for_colleague = with(legal("2026-10-12T09:00:00+02:00", 60), json!({"counselor_id": office.colleague.id}));

    let refused = plan(&app, &office.counselor, &office.client, &for_colleague).await;
    assert_problem(refused, StatusCode::FORBIDDEN, "forbidden").await;
    assert_eq!(appointment_count(&app), 0);

    let by_coordinator = planned(&app, &office.coordinator, &office.client, for_colleague).await;
    assert_eq!(by_coordinator["counselor_id"], json!(office.colleague.id));
    assert_eq!(by_coordinator["created_by"], json!(office.coordinator.id));
    let on_calendar =
        listed(&app, &office.colleague, &format!("/api/v1/appointments?counselor_id={}", office.colleague.id)).await;
    assert_eq!(on_calendar, [id(&by_coordinator)]);
}

#[tokio::test]
async fn another_organisations_client_is_not_found_and_analysts_plan_nothing() {
    let app = TestApp::spawn().await;
    let office = office(&app).await;
    let hfpc = partner(&app, &office.admin, "HFPC").await;
    let analyst = app.create_user(&office.coordinator, Some(office.organisation), "analyst").await;
    let slot = legal("2026-10-12T09:00:00+02:00", 60);

    let theirs: Value = body(plan(&app, &office.coordinator, &hfpc.client, &slot).await).await;
    let nobody: Value = body(plan(&app, &office.coordinator, &ClientId::new().to_string(), &slot).await).await;
    assert_eq!(theirs["status"], 404, "{theirs}");
    assert_eq!(theirs, nobody, "another organisation's client looks like no client at all");
    assert_problem(plan(&app, &office.counselor, &hfpc.client, &slot).await, StatusCode::NOT_FOUND, "not_found").await;

    assert_problem(plan(&app, &analyst, &office.client, &slot).await, StatusCode::FORBIDDEN, "forbidden").await;
    assert_problem(plan(&app, &office.admin, &office.client, &slot).await, StatusCode::FORBIDDEN, "forbidden").await;
    assert_eq!(appointment_count(&app), 0);

    // And what another organisation planned stays out of sight.
    let planned_there = planned(&app, &hfpc.counselor, &hfpc.client, slot).await;
    assert_problem(read(&app, &office.coordinator, id(&planned_there)).await, StatusCode::NOT_FOUND, "not_found").await;
    assert_eq!(listed(&app, &office.coordinator, "/api/v1/appointments").await, Vec::<String>::new());
    assert_problem(read(&app, &analyst, id(&planned_there)).await, StatusCode::FORBIDDEN, "forbidden").await;
    let analyst_list = app.get("/api/v1/appointments").bearer_auth(&analyst.token).send().await.unwrap();
    assert_problem(analyst_list, StatusCode::FORBIDDEN, "forbidden").await;
    assert_eq!(listed(&app, &hfpc.coordinator, "/api/v1/appointments").await, [id(&planned_there)]);
}

// --- No double booking ---------------------------------------------------------------------------

#[tokio::test]
async fn counselor_cannot_book_two_overlapping_appointments() {
    let app = TestApp::spawn().await;
    let office = office(&app).await;
    let first = planned(&app, &office.counselor, &office.client, legal("2026-10-12T09:00:00+02:00", 60)).await;

    for (starts_at, minutes) in [
        ("2026-10-12T09:30:00+02:00", 60),
        ("2026-10-12T08:30:00+02:00", 31),
        ("2026-10-12T09:00:00+02:00", 60),
        ("2026-10-12T09:10:00+02:00", 5),
        ("2026-10-12T08:00:00+02:00", 180),
        ("2026-10-12T07:00:00Z", 60),
    ] {
        let response = plan(&app, &office.counselor, &office.client, &legal(starts_at, minutes)).await;
        let problem = assert_problem(response, StatusCode::CONFLICT, "counselor_busy").await;
        assert_eq!(problem["conflicting_id"], first["id"], "{starts_at} for {minutes} minutes");
    }
    let coordinator_for_counselor =
        with(legal("2026-10-12T09:30:00+02:00", 60), json!({"counselor_id": office.counselor.id}));
    let problem = assert_problem(
        plan(&app, &office.coordinator, &office.client, &coordinator_for_counselor).await,
        StatusCode::CONFLICT,
        "counselor_busy",
    )
    .await;
    assert_eq!(problem["conflicting_id"], first["id"]);
    assert_eq!(appointment_count(&app), 1);

    // Back to back is fine, and so is the same hour on a colleague's calendar.
    let before = planned(&app, &office.counselor, &office.client, legal("2026-10-12T08:00:00+02:00", 60)).await;
    let after = planned(&app, &office.counselor, &office.client, legal("2026-10-12T10:00:00+02:00", 30)).await;
    assert_eq!(before["ends_at"], first["starts_at"]);
    assert_eq!(after["starts_at"], first["ends_at"]);
    planned(&app, &office.colleague, &office.client, legal("2026-10-12T09:00:00+02:00", 60)).await;

    // The longest appointment still running is found, however early it began.
    let long = planned(&app, &office.counselor, &office.client, legal("2026-10-13T00:00:00+02:00", 600)).await;
    let late = plan(&app, &office.counselor, &office.client, &legal("2026-10-13T09:55:00+02:00", 5)).await;
    let problem = assert_problem(late, StatusCode::CONFLICT, "counselor_busy").await;
    assert_eq!(problem["conflicting_id"], long["id"]);
    planned(&app, &office.counselor, &office.client, legal("2026-10-13T10:00:00+02:00", 5)).await;
}

#[tokio::test]
async fn a_cancelled_appointment_frees_its_time() {
    let app = TestApp::spawn().await;
    let office = office(&app).await;
    let first = planned(&app, &office.counselor, &office.client, legal("2026-10-12T09:00:00+02:00", 60)).await;
    let confirmed = act(&app, &office.counselor, id(&first), "confirm", 1, json!({})).await;
    assert_eq!(confirmed.status(), StatusCode::OK);
    let slot = legal("2026-10-12T09:15:00+02:00", 30);
    let busy = plan(&app, &office.counselor, &office.client, &slot).await;
    assert_problem(busy, StatusCode::CONFLICT, "counselor_busy").await;

    let cancelled = act(&app, &office.counselor, id(&first), "cancel", 2, json!({"reason": "The client is ill"})).await;
    assert_eq!(cancelled.status(), StatusCode::OK);
    let second = planned(&app, &office.counselor, &office.client, slot).await;
    assert_eq!(second["local_starts_at"], "2026-10-12T09:15:00+02:00");
}

#[tokio::test]
async fn an_interpreter_is_not_booked_twice_even_by_two_organisations() {
    let app = TestApp::spawn().await;
    let office = office(&app).await;
    let hfpc = partner(&app, &office.admin, "HFPC").await;
    let interpreter = added(
        &app,
        &office.admin,
        json!({"name": "Aminat Dudayeva", "languages": ["ce", "ru"],
               "organisation_ids": [office.organisation, hfpc.organisation]}),
    )
    .await;
    let with_interpreter = |starts_at: &str, minutes: i64| {
        with(
            legal(starts_at, minutes),
            json!({"language": "ce", "interpreter_needed": true, "interpreter_id": interpreter["id"]}),
        )
    };
    let ours =
        planned(&app, &office.counselor, &office.client, with_interpreter("2026-10-12T09:00:00+02:00", 60)).await;

    let colleague =
        plan(&app, &office.colleague, &office.client, &with_interpreter("2026-10-12T09:30:00+02:00", 60)).await;
    let problem = assert_problem(colleague, StatusCode::CONFLICT, "interpreter_busy").await;
    assert_eq!(problem["conflicting_id"], ours["id"], "within the organisation the appointment is named");

    let across = plan(&app, &hfpc.counselor, &hfpc.client, &with_interpreter("2026-10-12T09:30:00+02:00", 60)).await;
    let problem = assert_problem(across, StatusCode::CONFLICT, "interpreter_busy").await;
    assert!(problem.get("conflicting_id").is_none(), "another organisation's appointment is not named: {problem}");
    assert!(!problem.to_string().contains(id(&ours)), "{problem}");

    planned(&app, &hfpc.counselor, &hfpc.client, with_interpreter("2026-10-12T10:00:00+02:00", 60)).await;
    planned(&app, &hfpc.counselor, &hfpc.client, legal("2026-10-12T09:30:00+02:00", 30)).await;
    // And the other way round: HFPC's booking keeps PFM's counselor from the interpreter.
    let back = plan(&app, &office.colleague, &office.client, &with_interpreter("2026-10-12T10:30:00+02:00", 60)).await;
    let problem = assert_problem(back, StatusCode::CONFLICT, "interpreter_busy").await;
    assert!(problem.get("conflicting_id").is_none(), "{problem}");
}

#[tokio::test]
async fn a_coordinator_outside_the_tier_learns_only_that_the_time_is_taken() {
    let app = TestApp::spawn().await;
    let office = office(&app).await;
    let psychologist = app.staff(&office.coordinator, Some(office.organisation), "counselor", &["psychological"]).await;
    let therapy = planned(
        &app,
        &psychologist,
        &office.client,
        json!({"kind": "psychological", "mode": "in_person", "city": "Lublin",
               "starts_at": "2026-10-12T09:00:00+02:00", "duration_minutes": 50}),
    )
    .await;
    let intake = planned(
        &app,
        &psychologist,
        &office.client,
        with(legal("2026-10-12T11:00:00+02:00", 60), json!({"kind": "other"})),
    )
    .await;

    let over = |starts_at: &str| with(legal(starts_at, 30), json!({"kind": "other", "counselor_id": psychologist.id}));
    let hidden = plan(&app, &office.coordinator, &office.client, &over("2026-10-12T09:15:00+02:00")).await;
    let problem = assert_problem(hidden, StatusCode::CONFLICT, "counselor_busy").await;
    assert!(problem.get("conflicting_id").is_none(), "the psychological appointment is not named: {problem}");
    assert!(!problem.to_string().contains(id(&therapy)));

    let visible = plan(&app, &office.coordinator, &office.client, &over("2026-10-12T11:15:00+02:00")).await;
    let problem = assert_problem(visible, StatusCode::CONFLICT, "counselor_busy").await;
    assert_eq!(problem["conflicting_id"], intake["id"], "an appointment outside the tier is named");

    let own = plan(&app, &psychologist, &office.client, &over("2026-10-12T09:15:00+02:00")).await;
    let problem = assert_problem(own, StatusCode::CONFLICT, "counselor_busy").await;
    assert_eq!(problem["conflicting_id"], therapy["id"], "the psychologist sees their own appointment");
}

#[tokio::test]
async fn twenty_simultaneous_bookings_of_one_slot_make_one_appointment() {
    let app = TestApp::spawn().await;
    let office = office(&app).await;
    // Three rounds, on three days, each of twenty requests at once for one slot.
    let mut kept = Vec::new();
    for day in ["2026-10-12", "2026-10-13", "2026-10-14"] {
        let slot = legal(&format!("{day}T09:00:00+02:00"), 60);
        let responses =
            futures_util::future::join_all((0..20).map(|_| plan(&app, &office.counselor, &office.client, &slot))).await;
        let mut created = Vec::new();
        let mut refused = Vec::new();
        for response in responses {
            let status = response.status();
            let answer: Value = response.json().await.unwrap();
            match status {
                StatusCode::CREATED => created.push(answer),
                StatusCode::CONFLICT => refused.push(answer),
                other => panic!("unexpected {other}: {answer}"),
            }
        }
        assert_eq!((created.len(), refused.len()), (1, 19), "on {day}");
        for problem in &refused {
            assert_eq!(problem["code"], "counselor_busy");
            assert_eq!(problem["conflicting_id"], created[0]["id"]);
        }
        kept.push(id(&created[0]).to_owned());
    }
    assert_eq!(appointment_count(&app), 3);
    assert_eq!(listed(&app, &office.counselor, "/api/v1/appointments").await, kept);
}

#[tokio::test]
async fn a_retried_plan_with_its_idempotency_key_is_answered_as_the_first_not_as_a_double_booking() {
    let app = TestApp::spawn().await;
    let office = office(&app).await;
    let slot = legal("2026-10-12T09:00:00+02:00", 60);
    let send = |appointment: &Value| {
        app.post(&format!("/api/v1/clients/{}/appointments", office.client))
            .bearer_auth(&office.counselor.token)
            .header("idempotency-key", "plan-basayev-1")
            .json(appointment)
            .send()
    };
    let first = send(&slot).await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();
    let retry = send(&slot).await.unwrap();
    assert_eq!(retry.status(), StatusCode::CREATED);
    assert_eq!(retry.json::<Value>().await.unwrap()["id"], first["id"]);
    let other = send(&legal("2026-10-13T09:00:00+02:00", 60)).await.unwrap();
    assert_problem(other, StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused").await;
    assert_eq!(appointment_count(&app), 1);
}

#[tokio::test]
async fn the_organisations_calendar_pages_by_start_time() {
    let app = TestApp::spawn().await;
    let office = office(&app).await;
    let nine = planned(&app, &office.counselor, &office.client, legal("2026-10-12T09:00:00+02:00", 60)).await;
    let also_nine = planned(&app, &office.colleague, &office.client, legal("2026-10-12T09:00:00+02:00", 60)).await;
    let eleven = planned(&app, &office.counselor, &office.client, legal("2026-10-12T11:00:00+02:00", 60)).await;
    let eight = planned(&app, &office.colleague, &office.client, legal("2026-10-12T08:00:00+02:00", 30)).await;
    let mut at_nine = [id(&nine).to_owned(), id(&also_nine).to_owned()];
    at_nine.sort();
    let expected = [id(&eight).to_owned(), at_nine[0].clone(), at_nine[1].clone(), id(&eleven).to_owned()];

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(cursor) => format!("/api/v1/appointments?limit=1&cursor={cursor}"),
            None => "/api/v1/appointments?limit=1".to_owned(),
        };
        let page: Value = body(app.get(&path).bearer_auth(&office.coordinator.token).send().await.unwrap()).await;
        let items = page["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{page}");
        seen.push(items[0]["id"].as_str().unwrap().to_owned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
        assert!(seen.len() < 10, "the pages do not end");
    }
    assert_eq!(seen, expected);
    let planned_only = listed(&app, &office.coordinator, "/api/v1/appointments?status=planned&city=Lublin").await;
    assert_eq!(planned_only.len(), 4);
    assert_eq!(listed(&app, &office.coordinator, "/api/v1/appointments?city=Warszawa").await, Vec::<String>::new());
    let forged = app
        .get("/api/v1/appointments?cursor=bm90LWEtY3Vyc29y")
        .bearer_auth(&office.coordinator.token)
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::BAD_REQUEST);
}

// --- The wall clock ------------------------------------------------------------------------------

#[tokio::test]
async fn appointments_overlap_across_midnight_in_warsaw() {
    let app = TestApp::spawn().await;
    let office = office(&app).await;
    let late = planned(&app, &office.counselor, &office.client, legal("2026-10-12T23:30:00+02:00", 60)).await;
    assert_eq!(late["local_ends_at"], "2026-10-13T00:30:00+02:00");
    assert_eq!(late["ends_at"], "2026-10-12T22:30:00Z");

    let after_midnight = plan(&app, &office.counselor, &office.client, &legal("2026-10-13T00:00:00+02:00", 45)).await;
    let problem = assert_problem(after_midnight, StatusCode::CONFLICT, "counselor_busy").await;
    assert_eq!(problem["conflicting_id"], late["id"]);
    let next = planned(&app, &office.counselor, &office.client, legal("2026-10-13T00:30:00+02:00", 45)).await;

    // Days are Warsaw's: the appointment at 00:30 is on the 13th, though in UTC it is the 12th.
    let on_13th = listed(&app, &office.counselor, "/api/v1/appointments?from=2026-10-13&to=2026-10-13").await;
    assert_eq!(on_13th, [id(&next)]);
    let on_12th = listed(&app, &office.counselor, "/api/v1/appointments?from=2026-10-12&to=2026-10-12").await;
    assert_eq!(on_12th, [id(&late)]);
}

#[tokio::test]
async fn an_appointment_across_the_autumn_clock_change_ends_an_hour_earlier_on_the_wall_clock() {
    let app = TestApp::spawn().await;
    let office = office(&app).await;
    let night = planned(&app, &office.counselor, &office.client, legal("2026-10-25T01:30:00+02:00", 120)).await;
    assert_eq!(night["starts_at"], "2026-10-24T23:30:00Z");
    assert_eq!(night["ends_at"], "2026-10-25T01:30:00Z", "two hours of real time");
    assert_eq!(night["local_starts_at"], "2026-10-25T01:30:00+02:00");
    assert_eq!(night["local_ends_at"], "2026-10-25T02:30:00+01:00", "the clocks went back at 03:00");

    // 02:00 in winter time (01:00 UTC) is within it; 02:30 in winter time is just after.
    let inside = plan(&app, &office.counselor, &office.client, &legal("2026-10-25T02:00:00+01:00", 30)).await;
    assert_problem(inside, StatusCode::CONFLICT, "counselor_busy").await;
    let after = planned(&app, &office.counselor, &office.client, legal("2026-10-25T02:30:00+01:00", 30)).await;
    assert_eq!(after["starts_at"], night["ends_at"]);
}

#[tokio::test]
async fn an_appointment_across_the_spring_clock_change_ends_an_hour_later_on_the_wall_clock() {
    let app = TestApp::spawn().await;
    let office = office(&app).await;
    // In October the end of March is more than a month back: move the server to the winter.
    set_clock(&app, "2026-03-20T09:00:00Z");
    let night = planned(&app, &office.counselor, &office.client, legal("2026-03-29T01:30:00+01:00", 60)).await;
    assert_eq!(night["starts_at"], "2026-03-29T00:30:00Z");
    assert_eq!(night["ends_at"], "2026-03-29T01:30:00Z");
    assert_eq!(night["local_starts_at"], "2026-03-29T01:30:00+01:00");
    assert_eq!(night["local_ends_at"], "2026-03-29T03:30:00+02:00", "the clocks went forward at 02:00");

    let overlapping = plan(&app, &office.counselor, &office.client, &legal("2026-03-29T03:00:00+02:00", 30)).await;
    assert_problem(overlapping, StatusCode::CONFLICT, "counselor_busy").await;
    planned(&app, &office.counselor, &office.client, legal("2026-03-29T03:30:00+02:00", 30)).await;

    set_clock(&app, NOW);
    let too_old = plan(&app, &office.counselor, &office.client, &legal("2026-03-30T09:00:00+02:00", 30)).await;
    let problem = assert_problem(too_old, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert!(problem["errors"]["starts_at"].is_string(), "{problem}");
}

// --- The life cycle ------------------------------------------------------------------------------

#[tokio::test]
async fn an_appointment_is_confirmed_then_cancelled_with_a_reason() {
    let app = TestApp::spawn().await;
    let office = office(&app).await;
    let appointment = planned(&app, &office.counselor, &office.client, legal("2026-10-12T09:00:00+02:00", 60)).await;
    let appointment = id(&appointment);

    let missing = app
        .post(&format!("/api/v1/appointments/{appointment}/confirm"))
        .bearer_auth(&office.counselor.token)
        .send()
        .await
        .unwrap();
    assert_problem(missing, StatusCode::PRECONDITION_REQUIRED, "precondition_required").await;
    let stale = act(&app, &office.counselor, appointment, "confirm", 7, json!({})).await;
    assert_problem(stale, StatusCode::PRECONDITION_FAILED, "stale_version").await;

    let confirmed = act(&app, &office.counselor, appointment, "confirm", 1, json!({})).await;
    assert_eq!(confirmed.status(), StatusCode::OK);
    assert_eq!(confirmed.headers()["etag"], "\"2\"");
    let confirmed: Value = confirmed.json().await.unwrap();
    assert_eq!((&confirmed["status"], &confirmed["version"]), (&json!("confirmed"), &json!(2)));

    let again = act(&app, &office.counselor, appointment, "confirm", 2, json!({})).await;
    let problem = assert_problem(again, StatusCode::CONFLICT, "illegal_transition").await;
    assert_eq!(problem["current_status"], "confirmed");

    for reason in [json!({"reason": ""}), json!({"reason": "   "}), json!({"reason": "x".repeat(501)})] {
        let refused = act(&app, &office.counselor, appointment, "cancel", 2, reason).await;
        let problem = assert_problem(refused, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert!(problem["errors"]["reason"].is_string(), "{problem}");
    }
    // A body without the field does not fit the request at all, as everywhere in the API.
    let no_reason = act(&app, &office.counselor, appointment, "cancel", 2, json!({})).await;
    assert_problem(no_reason, StatusCode::BAD_REQUEST, "invalid_body").await;
    let stale = act(&app, &office.counselor, appointment, "cancel", 1, json!({"reason": "The client is ill"})).await;
    assert_problem(stale, StatusCode::PRECONDITION_FAILED, "stale_version").await;

    let cancelled =
        act(&app, &office.counselor, appointment, "cancel", 2, json!({"reason": "The client is ill"})).await;
    assert_eq!(cancelled.status(), StatusCode::OK);
    let cancelled: Value = cancelled.json().await.unwrap();
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["cancel_reason"], "The client is ill");
    assert_eq!(cancelled["version"], 3);

    for action in ["confirm", "cancel", "mark-no-show", "hold"] {
        let payload = if action == "cancel" { json!({"reason": "Twice"}) } else { json!({}) };
        let late = act(&app, &office.counselor, appointment, action, 3, payload).await;
        let problem = assert_problem(late, StatusCode::CONFLICT, "illegal_transition").await;
        assert_eq!(problem["current_status"], "cancelled", "{action}");
    }
    let read: Value = body(read(&app, &office.coordinator, appointment).await).await;
    assert_eq!((&read["status"], &read["version"]), (&json!("cancelled"), &json!(3)), "nothing changed after");
    assert_eq!(app.audit_count("appointment.confirm"), 1);
    assert_eq!(app.audit_count("appointment.cancel"), 1);
}

#[tokio::test]
async fn the_counselor_and_the_coordinator_change_an_appointment_but_a_colleague_cannot() {
    let app = TestApp::spawn().await;
    let office = office(&app).await;
    let appointment = planned(&app, &office.counselor, &office.client, legal("2026-10-12T09:00:00+02:00", 60)).await;
    let appointment = id(&appointment);

    let by_colleague = act(&app, &office.colleague, appointment, "confirm", 1, json!({})).await;
    assert_problem(by_colleague, StatusCode::FORBIDDEN, "forbidden").await;
    let moved_by_colleague =
        change(&app, &office.colleague, appointment, 1, json!({"starts_at": "2026-10-12T10:00:00+02:00"})).await;
    assert_problem(moved_by_colleague, StatusCode::FORBIDDEN, "forbidden").await;

    let by_coordinator = act(&app, &office.coordinator, appointment, "confirm", 1, json!({})).await;
    assert_eq!(by_coordinator.status(), StatusCode::OK);
    let moved =
        change(&app, &office.coordinator, appointment, 2, json!({"starts_at": "2026-10-12T10:00:00+02:00"})).await;
    assert_eq!(moved.status(), StatusCode::OK);
    let by_counselor =
        act(&app, &office.counselor, appointment, "cancel", 3, json!({"reason": "Moved to another centre"})).await;
    assert_eq!(by_counselor.status(), StatusCode::OK);

    let hfpc = partner(&app, &office.admin, "HFPC").await;
    let outsider = act(&app, &hfpc.coordinator, appointment, "confirm", 4, json!({})).await;
    assert_problem(outsider, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn a_no_show_is_recorded_only_once_the_appointment_has_begun() {
    let app = TestApp::spawn().await;
    let office = office(&app).await;
    // NOW is 10:00 in Warsaw: the appointment is at noon.
    let appointment = planned(&app, &office.counselor, &office.client, legal("2026-10-01T12:00:00+02:00", 60)).await;
    let appointment = id(&appointment);

    let early = act(&app, &office.counselor, appointment, "mark-no-show", 1, json!({})).await;
    assert_problem(early, StatusCode::CONFLICT, "appointment_not_started").await;
    let early_hold = act(&app, &office.counselor, appointment, "hold", 1, json!({})).await;
    assert_problem(early_hold, StatusCode::CONFLICT, "appointment_not_started").await;
    assert_eq!(session_count(&app), 0);

    set_clock(&app, "2026-10-01T10:20:00Z");
    let stale = act(&app, &office.counselor, appointment, "mark-no-show", 3, json!({})).await;
    assert_problem(stale, StatusCode::PRECONDITION_FAILED, "stale_version").await;
    let missed = act(&app, &office.counselor, appointment, "mark-no-show", 1, json!({})).await;
    assert_eq!(missed.status(), StatusCode::OK);
    assert_eq!(missed.headers()["etag"], "\"2\"");
    let missed: Value = missed.json().await.unwrap();
    assert_eq!(missed["status"], "no_show");

    let held = act(&app, &office.counselor, appointment, "hold", 2, json!({})).await;
    let problem = assert_problem(held, StatusCode::CONFLICT, "illegal_transition").await;
    assert_eq!(problem["current_status"], "no_show");
    assert_eq!(session_count(&app), 0);
}

// --- Holding -------------------------------------------------------------------------------------

/// An appointment that began an hour before `NOW`, with Russian and a participant.
async fn begun(app: &TestApp, office: &Office) -> Value {
    planned(
        app,
        &office.counselor,
        &office.client,
        json!({"kind": "legal", "mode": "video", "city": "Lublin", "starts_at": "2026-10-01T09:00:00+02:00",
               "duration_minutes": 60, "language": "ru"}),
    )
    .await
}

#[tokio::test]
async fn holding_an_appointment_logs_its_session_once() {
    let app = TestApp::spawn().await;
    let office = office(&app).await;
    let appointment = begun(&app, &office).await;
    let path = format!("/api/v1/appointments/{}/hold", id(&appointment));
    let hold = || {
        app.post(&path)
            .bearer_auth(&office.counselor.token)
            .header("if-match", "\"1\"")
            .header("idempotency-key", "hold-basayev-1")
            .json(&json!({"duration_minutes": 75, "topics": ["appeal"], "summary": "Appeal explained",
                          "notes": "Afraid of the hearing", "follow_up_on": "2026-10-15"}))
            .send()
    };

    let response = hold().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["etag"], "\"2\"");
    let held: Value = response.json().await.unwrap();
    assert_eq!(held["status"], "held");
    assert_eq!(held["version"], 2);
    let session_id = held["session_id"].as_str().expect("the session logged").to_owned();
    assert_eq!(session_count(&app), 1);

    let session: Value = body(
        app.get(&format!("/api/v1/sessions/{session_id}")).bearer_auth(&office.counselor.token).send().await.unwrap(),
    )
    .await;
    assert_eq!(session["client_id"], office.client);
    assert_eq!(session["counselor_id"], json!(office.counselor.id));
    assert_eq!((&session["kind"], &session["mode"]), (&json!("legal"), &json!("video")));
    assert_eq!(session["city"], "Lublin");
    assert_eq!(session["started_at"], appointment["starts_at"]);
    assert_eq!(session["duration_minutes"], 75, "the actual length given in the hold");
    assert_eq!(session["language"], "ru");
    assert_eq!(session["notes"], "Afraid of the hearing");
    assert_eq!(session["summary"], "Appeal explained");
    assert_eq!(session["topics"], json!(["appeal"]));
    assert_eq!(session["follow_up_on"], "2026-10-15");

    let retry = hold().await.unwrap();
    assert_eq!(retry.status(), StatusCode::OK, "a retry answers as the first hold did");
    let retried: Value = retry.json().await.unwrap();
    assert_eq!(retried["session_id"], held["session_id"]);
    assert_eq!(retried["status"], "held");
    assert_eq!(session_count(&app), 1, "still one session");
    let sessions = app
        .get(&format!("/api/v1/clients/{}/sessions", office.client))
        .bearer_auth(&office.counselor.token)
        .send()
        .await
        .unwrap();
    let sessions: Value = body(sessions).await;
    assert_eq!(sessions["items"].as_array().unwrap().len(), 1);

    let again = act(&app, &office.counselor, id(&appointment), "hold", 2, json!({})).await;
    let problem = assert_problem(again, StatusCode::CONFLICT, "illegal_transition").await;
    assert_eq!(problem["current_status"], "held");
    assert_eq!(session_count(&app), 1);
    assert_eq!(app.audit_count("appointment.hold"), 1);
    assert_eq!(app.audit_count("session.create"), 1);
}

#[tokio::test]
async fn holding_a_group_appointment_records_who_did_not_come() {
    let app = TestApp::spawn().await;
    let office = office(&app).await;
    let came =
        create_client(&app, &office.counselor, json!({"given_names": "Madina", "family_name": "Basayeva"})).await;
    let stayed =
        create_client(&app, &office.counselor, json!({"given_names": "Ruslan", "family_name": "Basayev"})).await;
    let workshop = planned(
        &app,
        &office.counselor,
        &office.client,
        with(legal("2026-10-01T08:00:00+02:00", 120), json!({"participants": [came["id"], stayed["id"]]})),
    )
    .await;
    let held = act(&app, &office.counselor, id(&workshop), "hold", 1, json!({"absent": [stayed["id"]]})).await;
    assert_eq!(held.status(), StatusCode::OK);
    let held: Value = held.json().await.unwrap();
    let session: Value = body(
        app.get(&format!("/api/v1/sessions/{}", held["session_id"].as_str().unwrap()))
            .bearer_auth(&office.counselor.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let attended = |client: &str| {
        session["participants"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["client_id"] == client)
            .unwrap_or_else(|| panic!("{client} is not in {session}"))["attended"]
            .clone()
    };
    assert_eq!(attended(&office.client), true);
    assert_eq!(attended(id(&came)), true);
    assert_eq!(attended(id(&stayed)), false);
    assert_eq!(session["duration_minutes"], 120, "the planned length when the hold gives none");
}

#[tokio::test]
async fn a_hold_that_fails_logs_no_session() {
    let app = TestApp::spawn().await;
    let office = office(&app).await;
    let appointment = begun(&app, &office).await;
    let stale = act(&app, &office.counselor, id(&appointment), "hold", 9, json!({"notes": "Lost"})).await;
    assert_problem(stale, StatusCode::PRECONDITION_FAILED, "stale_version").await;
    let invalid = act(&app, &office.counselor, id(&appointment), "hold", 1, json!({"duration_minutes": 601})).await;
    let problem = assert_problem(invalid, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert!(problem["errors"]["duration_minutes"].is_string(), "{problem}");
    let absent = act(&app, &office.counselor, id(&appointment), "hold", 1, json!({"absent": [office.client]})).await;
    assert_problem(absent, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(session_count(&app), 0);
    let read: Value = body(read(&app, &office.counselor, id(&appointment)).await).await;
    assert_eq!((&read["status"], &read["version"]), (&json!("planned"), &json!(1)));
}

#[tokio::test]
async fn two_simultaneous_holds_log_one_session() {
    let app = TestApp::spawn().await;
    let office = office(&app).await;
    let appointment = begun(&app, &office).await;
    let hold = |notes: &str| act(&app, &office.counselor, id(&appointment), "hold", 1, json!({"notes": notes}));

    let (first, second) = tokio::join!(hold("First notes"), hold("Second notes"));
    let mut statuses = [first.status(), second.status()];
    statuses.sort();
    assert_eq!(statuses[0], StatusCode::OK, "{statuses:?}");
    assert!(
        [StatusCode::CONFLICT, StatusCode::PRECONDITION_FAILED].contains(&statuses[1]),
        "the other hold is refused: {statuses:?}"
    );
    assert_eq!(session_count(&app), 1);
    let read: Value = body(read(&app, &office.counselor, id(&appointment)).await).await;
    assert_eq!((&read["status"], &read["version"]), (&json!("held"), &json!(2)));
    let session: Value = body(
        app.get(&format!("/api/v1/sessions/{}", read["session_id"].as_str().unwrap()))
            .bearer_auth(&office.counselor.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(["First notes", "Second notes"].contains(&session["notes"].as_str().unwrap()));
}

#[tokio::test]
async fn only_the_appointments_counselor_holds_it() {
    let app = TestApp::spawn().await;
    let office = office(&app).await;
    let appointment = begun(&app, &office).await;

    for other in [&office.coordinator, &office.colleague] {
        let refused = act(&app, other, id(&appointment), "hold", 1, json!({})).await;
        assert_problem(refused, StatusCode::FORBIDDEN, "forbidden").await;
    }
    assert_eq!(session_count(&app), 0);
    let held = act(&app, &office.counselor, id(&appointment), "hold", 1, json!({})).await;
    assert_eq!(held.status(), StatusCode::OK);
    assert_eq!(session_count(&app), 1);
}

// --- The psychological tier ----------------------------------------------------------------------

#[tokio::test]
async fn a_psychological_appointment_exists_only_for_its_counselor_and_psychologists() {
    let app = TestApp::spawn().await;
    let office = office(&app).await;
    let organisation = Some(office.organisation);
    let psychologist = app.staff(&office.coordinator, organisation, "counselor", &["psychological"]).await;
    let other_psychologist =
        app.staff(&office.coordinator, organisation, "counselor", &["psychological", "legal"]).await;
    let therapy = planned(
        &app,
        &psychologist,
        &office.client,
        json!({"kind": "psychological", "mode": "in_person", "city": "Lublin",
               "starts_at": "2026-10-12T09:00:00+02:00", "duration_minutes": 50}),
    )
    .await;
    let advice = planned(&app, &office.counselor, &office.client, legal("2026-10-12T11:00:00+02:00", 60)).await;
    let (therapy_id, advice_id) = (id(&therapy).to_owned(), id(&advice).to_owned());
    let client_list = format!("/api/v1/clients/{}/appointments", office.client);

    for outsider in [&office.coordinator, &office.colleague] {
        let hidden: Value = body(read(&app, outsider, &therapy_id).await).await;
        let nothing: Value = body(read(&app, outsider, &AppointmentId::new().to_string()).await).await;
        assert_eq!(hidden["status"], 404, "{hidden}");
        assert_eq!(hidden, nothing, "the appointment looks like one that does not exist");
        assert_eq!(listed(&app, outsider, "/api/v1/appointments").await, [advice_id.as_str()]);
        assert_eq!(listed(&app, outsider, &client_list).await, [advice_id.as_str()]);
        let by_psychologist = format!("/api/v1/appointments?counselor_id={}", psychologist.id);
        assert_eq!(listed(&app, outsider, &by_psychologist).await, Vec::<String>::new());
        let cancel = act(&app, outsider, &therapy_id, "cancel", 1, json!({"reason": "Probing"})).await;
        assert_problem(cancel, StatusCode::NOT_FOUND, "not_found").await;
        let moved = change(&app, outsider, &therapy_id, 1, json!({"city": "Warszawa"})).await;
        assert_problem(moved, StatusCode::NOT_FOUND, "not_found").await;
    }
    for insider in [&psychologist, &other_psychologist] {
        let seen = read(&app, insider, &therapy_id).await;
        assert_eq!(seen.status(), StatusCode::OK);
        assert_eq!(seen.json::<Value>().await.unwrap(), therapy);
        let mut all = listed(&app, insider, "/api/v1/appointments").await;
        assert_eq!(all, [therapy_id.as_str(), advice_id.as_str()]);
        all = listed(&app, insider, &client_list).await;
        assert_eq!(all, [therapy_id.as_str(), advice_id.as_str()]);
    }
    // Inside the tier the appointment is another psychologist's: refused openly.
    let not_theirs = act(&app, &other_psychologist, &therapy_id, "confirm", 1, json!({})).await;
    assert_problem(not_theirs, StatusCode::FORBIDDEN, "forbidden").await;
    let read_back: Value = body(read(&app, &psychologist, &therapy_id).await).await;
    assert_eq!((&read_back["status"], &read_back["version"]), (&json!("planned"), &json!(1)), "nothing changed");

    // The coordinator's audit trail shows neither the appointment nor the refused probes.
    let trail = |action: &str| {
        let request =
            app.get(&format!("/api/v1/audit-events?action={action}&limit=200")).bearer_auth(&office.coordinator.token);
        async move {
            let page: Value = body(request.send().await.unwrap()).await;
            page["items"].as_array().unwrap().iter().map(|e| e["resource_id"].clone()).collect::<Vec<_>>()
        }
    };
    assert_eq!(trail("appointment.create").await, [json!(advice_id)]);
    assert_eq!(app.audit_count("appointment.create"), 2);
    assert_eq!(trail("permission.denied").await, Vec::<Value>::new());
    assert!(app.audit_count("permission.denied") >= 6, "the probes were recorded, in the tier");
    let advice_read = read(&app, &office.coordinator, &advice_id).await;
    assert_eq!(advice_read.status(), StatusCode::OK);
    assert_eq!(trail("appointment.read").await, [json!(advice_id)], "the psychologists' reads are the tier's");
    assert_eq!(app.audit_count("appointment.read"), 4, "three in the tier");
}

// --- Changing an appointment ---------------------------------------------------------------------

#[tokio::test]
async fn rescheduling_keeps_the_calendar_free_of_overlaps() {
    let app = TestApp::spawn().await;
    let office = office(&app).await;
    let morning = planned(&app, &office.counselor, &office.client, legal("2026-10-12T09:00:00+02:00", 60)).await;
    let later = planned(&app, &office.counselor, &office.client, legal("2026-10-12T11:00:00+02:00", 60)).await;
    let later_id = id(&later);

    let onto_morning =
        change(&app, &office.counselor, later_id, 1, json!({"starts_at": "2026-10-12T09:30:00+02:00"})).await;
    let problem = assert_problem(onto_morning, StatusCode::CONFLICT, "counselor_busy").await;
    assert_eq!(problem["conflicting_id"], morning["id"]);
    let longer = change(&app, &office.counselor, id(&morning), 1, json!({"duration_minutes": 150})).await;
    assert_problem(longer, StatusCode::CONFLICT, "counselor_busy").await;

    let missing = app
        .patch(&format!("/api/v1/appointments/{later_id}"))
        .bearer_auth(&office.counselor.token)
        .json(&json!({"starts_at": "2026-10-12T10:00:00+02:00"}))
        .send()
        .await
        .unwrap();
    assert_problem(missing, StatusCode::PRECONDITION_REQUIRED, "precondition_required").await;
    let moved = change(&app, &office.counselor, later_id, 1, json!({"starts_at": "2026-10-12T10:00:00+02:00"})).await;
    assert_eq!(moved.status(), StatusCode::OK);
    assert_eq!(moved.headers()["etag"], "\"2\"");
    let moved: Value = moved.json().await.unwrap();
    assert_eq!(moved["local_starts_at"], "2026-10-12T10:00:00+02:00", "back to back with the morning one");
    assert_eq!(moved["ends_at"], "2026-10-12T09:00:00Z");
    assert_eq!((&moved["city"], &moved["kind"]), (&json!("Lublin"), &json!("legal")), "the rest stays");
    let stale = change(&app, &office.counselor, later_id, 1, json!({"city": "Warszawa"})).await;
    assert_problem(stale, StatusCode::PRECONDITION_FAILED, "stale_version").await;
    // Shifting within its own time is no overlap with itself.
    let shifted = change(&app, &office.counselor, later_id, 2, json!({"starts_at": "2026-10-12T10:15:00+02:00"})).await;
    assert_eq!(shifted.status(), StatusCode::OK);
    let invalid = change(&app, &office.counselor, later_id, 3, json!({"duration_minutes": 4})).await;
    assert_problem(invalid, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(app.audit_count("appointment.update"), 2);

    // Moved to a colleague's calendar by the coordinator (not by the counselor).
    let to_colleague = change(&app, &office.counselor, later_id, 3, json!({"counselor_id": office.colleague.id})).await;
    assert_problem(to_colleague, StatusCode::FORBIDDEN, "forbidden").await;
    let handed_over =
        change(&app, &office.coordinator, later_id, 3, json!({"counselor_id": office.colleague.id})).await;
    assert_eq!(handed_over.status(), StatusCode::OK);
    let handed_over: Value = handed_over.json().await.unwrap();
    assert_eq!(handed_over["counselor_id"], json!(office.colleague.id));
}

#[tokio::test]
async fn a_reschedule_racing_new_bookings_for_one_slot_leaves_one_appointment_in_it() {
    let app = TestApp::spawn().await;
    let office = office(&app).await;
    for day in ["2026-10-12", "2026-10-13", "2026-10-14"] {
        let early = planned(&app, &office.counselor, &office.client, legal(&format!("{day}T07:00:00+02:00"), 60)).await;
        let slot = legal(&format!("{day}T09:00:00+02:00"), 60);
        let reschedule = async {
            let moved = change(&app, &office.counselor, id(&early), 1, json!({"starts_at": slot["starts_at"]})).await;
            moved.status()
        };
        let bookings = futures_util::future::join_all(
            (0..9).map(|_| async { plan(&app, &office.counselor, &office.client, &slot).await.status() }),
        );
        let (moved, booked) = tokio::join!(reschedule, bookings);
        let won = booked.iter().chain([&moved]).filter(|status| status.is_success()).count();
        let lost = booked.iter().chain([&moved]).filter(|status| **status == StatusCode::CONFLICT).count();
        assert_eq!((won, lost), (1, 9), "on {day}: rescheduled {moved}, booked {booked:?}");
        let in_slot = listed(&app, &office.counselor, &format!("/api/v1/appointments?from={day}&to={day}")).await;
        let expected = if moved.is_success() { 1 } else { 2 };
        assert_eq!(in_slot.len(), expected, "on {day}");
    }
}

#[tokio::test]
async fn a_held_or_cancelled_appointment_cannot_be_changed() {
    let app = TestApp::spawn().await;
    let office = office(&app).await;
    let cancelled = planned(&app, &office.counselor, &office.client, legal("2026-10-12T09:00:00+02:00", 60)).await;
    let response = act(&app, &office.counselor, id(&cancelled), "cancel", 1, json!({"reason": "Ill"})).await;
    assert_eq!(response.status(), StatusCode::OK);
    let held = begun(&app, &office).await;
    let response = act(&app, &office.counselor, id(&held), "hold", 1, json!({})).await;
    assert_eq!(response.status(), StatusCode::OK);

    for (appointment, status) in [(&cancelled, "cancelled"), (&held, "held")] {
        let moved = change(&app, &office.counselor, id(appointment), 2, json!({"duration_minutes": 30})).await;
        let problem = assert_problem(moved, StatusCode::CONFLICT, "illegal_transition").await;
        assert_eq!(problem["current_status"], status);
        let read: Value = body(read(&app, &office.counselor, id(appointment)).await).await;
        assert_eq!((&read["duration_minutes"], &read["version"]), (&json!(60), &json!(2)));
    }
}

#[tokio::test]
async fn erasing_a_client_cancels_what_was_booked_for_them_frees_the_time_and_drops_the_free_texts() {
    let app = TestApp::spawn().await;
    let office = office(&app).await;
    let booked = planned(
        &app,
        &office.counselor,
        &office.client,
        with(legal("2026-10-05T09:00:00Z", 60), json!({"location": "Aslan's flat, Lipowa 4"})),
    )
    .await;
    let erased = app
        .post(&format!("/api/v1/clients/{}/erase", office.client))
        .bearer_auth(&office.coordinator.token)
        .json(&json!({"reason": "Request of 2026-10-01"}))
        .send()
        .await
        .unwrap();
    assert_eq!(erased.status(), StatusCode::NO_CONTENT);
    let (status, location): (String, Option<String>) = app.db(|conn| {
        use casebridge::db::schema::appointments;
        appointments::table
            .find(id(&booked).to_owned())
            .select((appointments::status, appointments::location))
            .first(conn)
            .unwrap()
    });
    assert_eq!(status, "cancelled");
    assert_eq!(location, None, "free text about the client goes with the record");
    let other = create_client(&app, &office.counselor, json!({"given_names": "Olena", "family_name": "Koval"})).await;
    let response = plan(&app, &office.counselor, id(&other), &legal("2026-10-05T09:00:00Z", 60)).await;
    assert_eq!(response.status(), StatusCode::CREATED, "the counselor's time is free again");
}

#[tokio::test]
async fn merging_a_duplicate_moves_its_appointments_to_the_record_that_stays() {
    let app = TestApp::spawn().await;
    let office = office(&app).await;
    let duplicate =
        create_client(&app, &office.counselor, json!({"given_names": "Aslan", "family_name": "Basaev"})).await;
    let moved = planned(&app, &office.counselor, id(&duplicate), legal("2026-10-06T09:00:00Z", 60)).await;
    let survivor: Value = body(
        app.get(&format!("/api/v1/clients/{}", office.client))
            .bearer_auth(&office.coordinator.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let merged = app
        .post(&format!("/api/v1/clients/{}/merge", office.client))
        .bearer_auth(&office.coordinator.token)
        .header("if-match", format!("\"{}\"", survivor["version"]))
        .json(&json!({"duplicate_id": id(&duplicate), "duplicate_version": duplicate["version"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(merged.status(), StatusCode::OK, "{}", merged.text().await.unwrap());
    let listed: Value = body(
        app.get(&format!("/api/v1/clients/{}/appointments", office.client))
            .bearer_auth(&office.counselor.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(listed["items"][0]["id"], moved["id"]);
    assert_eq!(listed["items"][0]["client_id"], office.client.as_str());
}
