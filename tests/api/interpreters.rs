//! Interpreters shared by the consortium: who adds and changes them, how they are found, and
//! what their booked time tells an organisation (when, and for which organisation — never whom).

use std::collections::BTreeSet;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use casebridge::db::{InterpreterId, OrganisationId};
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

use crate::clients::create_client;
use crate::helpers::{Account, TestApp, assert_problem, body};

/// The server's clock for these stories: Thursday 1 October 2026, 10:00 in Warsaw.
pub const NOW: &str = "2026-10-01T08:00:00Z";

pub fn set_clock(app: &TestApp, at: &str) {
    app.clock.set(chrono::DateTime::parse_from_rfc3339(at).unwrap().to_utc());
}

pub async fn add(app: &TestApp, by: &Account, interpreter: Value) -> Response {
    app.post("/api/v1/interpreters").bearer_auth(&by.token).json(&interpreter).send().await.unwrap()
}

/// Adds an interpreter and returns them.
pub async fn added(app: &TestApp, by: &Account, interpreter: Value) -> Value {
    let response = add(app, by, interpreter).await;
    assert_eq!(response.status(), StatusCode::CREATED, "{}", response.text().await.unwrap());
    response.json().await.unwrap()
}

fn id(value: &Value) -> &str {
    value["id"].as_str().unwrap_or_else(|| panic!("no id in {value}"))
}

/// One organisation's coordinator and counselor.
struct Partner {
    organisation: OrganisationId,
    coordinator: Account,
    counselor: Account,
}

async fn partner(app: &TestApp, admin: &Account, short_name: &str) -> Partner {
    let organisation = app.create_organisation(admin, short_name).await;
    let coordinator = app.staff(admin, Some(organisation), "coordinator", &["social"]).await;
    let counselor = app.staff(&coordinator, Some(organisation), "counselor", &["legal"]).await;
    Partner { organisation, coordinator, counselor }
}

async fn change(app: &TestApp, by: &Account, interpreter: &str, version: i64, patch: Value) -> Response {
    app.patch(&format!("/api/v1/interpreters/{interpreter}"))
        .bearer_auth(&by.token)
        .header("if-match", format!("\"{version}\""))
        .json(&patch)
        .send()
        .await
        .unwrap()
}

/// The ids of the interpreters listed, sorted.
async fn ids_listed(app: &TestApp, by: &Account, query: &str) -> Vec<String> {
    let page: Value =
        body(app.get(&format!("/api/v1/interpreters{query}")).bearer_auth(&by.token).send().await.unwrap()).await;
    let mut ids: Vec<String> = page["items"]
        .as_array()
        .unwrap_or_else(|| panic!("not a page: {page}"))
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

fn aminat() -> Value {
    json!({"name": "Aminat Dudayeva", "phone": "+48 600 700 800", "email": "aminat@example.org",
           "languages": ["ce", "RU"], "cities": ["Lublin", "Biała Podlaska"]})
}

#[tokio::test]
async fn a_coordinator_adds_an_interpreter_who_works_for_their_own_organisation() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let pfm = partner(&app, &admin, "PFM").await;

    let response = add(&app, &pfm.coordinator, aminat()).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.headers()["etag"], "\"1\"");
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let interpreter: Value = response.json().await.unwrap();
    assert_eq!(location, format!("/api/v1/interpreters/{}", id(&interpreter)));
    assert_eq!(interpreter["name"], "Aminat Dudayeva");
    assert_eq!(interpreter["languages"], json!(["ce", "ru"]), "codes are stored in lower case");
    assert_eq!(interpreter["cities"], json!(["Lublin", "Biała Podlaska"]));
    assert_eq!(interpreter["active"], true);
    assert_eq!(interpreter["organisation_ids"], json!([pfm.organisation]), "their own organisation by default");
    assert_eq!(interpreter["version"], 1);

    let read = app.get(&location).bearer_auth(&pfm.counselor.token).send().await.unwrap();
    assert_eq!(read.status(), StatusCode::OK, "counselors read the interpreters they book");
    assert_eq!(read.headers()["etag"], "\"1\"");
    assert_eq!(read.json::<Value>().await.unwrap(), interpreter);
    assert_eq!(app.audit_count("interpreter.create"), 1);
}

#[tokio::test]
async fn a_counselor_cannot_add_or_change_interpreters() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let pfm = partner(&app, &admin, "PFM").await;
    let interpreter = added(&app, &pfm.coordinator, aminat()).await;

    assert_problem(add(&app, &pfm.counselor, aminat()).await, StatusCode::FORBIDDEN, "forbidden").await;
    let renamed = change(&app, &pfm.counselor, id(&interpreter), 1, json!({"name": "A. Dudayeva"})).await;
    assert_problem(renamed, StatusCode::FORBIDDEN, "forbidden").await;
    assert_eq!(ids_listed(&app, &pfm.counselor, "").await, [id(&interpreter)], "only the one the coordinator added");

    let by_coordinator = change(&app, &pfm.coordinator, id(&interpreter), 1, json!({"name": "A. Dudayeva"})).await;
    assert_eq!(by_coordinator.status(), StatusCode::OK);
    assert_eq!(by_coordinator.headers()["etag"], "\"2\"");
    let changed: Value = by_coordinator.json().await.unwrap();
    assert_eq!((&changed["name"], &changed["version"]), (&json!("A. Dudayeva"), &json!(2)));
    assert_eq!(changed["languages"], json!(["ce", "ru"]), "what the patch leaves out stays");
}

#[tokio::test]
async fn an_analyst_neither_lists_nor_reads_interpreters() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let pfm = partner(&app, &admin, "PFM").await;
    let analyst = app.create_user(&pfm.coordinator, Some(pfm.organisation), "analyst").await;
    let interpreter = added(&app, &pfm.coordinator, aminat()).await;

    let list = app.get("/api/v1/interpreters").bearer_auth(&analyst.token).send().await.unwrap();
    assert_problem(list, StatusCode::FORBIDDEN, "forbidden").await;
    let read = app
        .get(&format!("/api/v1/interpreters/{}", id(&interpreter)))
        .bearer_auth(&analyst.token)
        .send()
        .await
        .unwrap();
    assert_problem(read, StatusCode::FORBIDDEN, "forbidden").await;
    assert_problem(add(&app, &analyst, aminat()).await, StatusCode::FORBIDDEN, "forbidden").await;
}

#[tokio::test]
async fn the_consortium_administrator_adds_an_interpreter_for_the_organisations_named() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let pfm = partner(&app, &admin, "PFM").await;
    let hfpc = partner(&app, &admin, "HFPC").await;

    let shared = added(
        &app,
        &admin,
        json!({"name": "Aminat Dudayeva", "languages": ["ce"], "organisation_ids": [pfm.organisation, hfpc.organisation]}),
    )
    .await;
    let mut expected = vec![pfm.organisation.to_string(), hfpc.organisation.to_string()];
    expected.sort();
    assert_eq!(shared["organisation_ids"], json!(expected));

    let nowhere = add(&app, &admin, json!({"name": "Nobody's", "languages": ["ce"]})).await;
    let problem = assert_problem(nowhere, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert!(
        problem["errors"]["organisation_ids"].is_string(),
        "the administrator belongs to no organisation: {problem}"
    );
    let unknown =
        add(&app, &admin, json!({"name": "Ghost's", "languages": ["ce"], "organisation_ids": [OrganisationId::new()]}))
            .await;
    let problem = assert_problem(unknown, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert!(problem["errors"]["organisation_ids"].is_string(), "{problem}");
    let listed = ids_listed(&app, &admin, "").await;
    assert_eq!(listed, [id(&shared)], "nothing else was added");
    let only_pfm = added(&app, &pfm.coordinator, json!({"name": "Olga Ivanova", "languages": ["ru"]})).await;
    let for_hfpc = ids_listed(&app, &hfpc.counselor, &format!("?organisation_id={}", hfpc.organisation)).await;
    assert_eq!(for_hfpc, [id(&shared)]);
    let mut for_pfm = vec![id(&shared), id(&only_pfm)];
    for_pfm.sort();
    assert_eq!(ids_listed(&app, &hfpc.counselor, &format!("?organisation_id={}", pfm.organisation)).await, for_pfm);
}

#[tokio::test]
async fn a_coordinator_adds_and_removes_only_their_own_organisation() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let pfm = partner(&app, &admin, "PFM").await;
    let hfpc = partner(&app, &admin, "HFPC").await;

    let for_both = add(
        &app,
        &pfm.coordinator,
        json!({"name": "Aminat Dudayeva", "languages": ["ce"], "organisation_ids": [pfm.organisation, hfpc.organisation]}),
    )
    .await;
    // Another organisation is out of a coordinator's reach: refused as such (404, audited).
    assert_problem(for_both, StatusCode::NOT_FOUND, "not_found").await;
    let for_other = add(
        &app,
        &pfm.coordinator,
        json!({"name": "Aminat", "languages": ["ce"], "organisation_ids": [hfpc.organisation]}),
    )
    .await;
    assert_problem(for_other, StatusCode::NOT_FOUND, "not_found").await;

    let ours = added(&app, &pfm.coordinator, aminat()).await;
    let adding_other = change(
        &app,
        &pfm.coordinator,
        id(&ours),
        1,
        json!({"organisation_ids": [pfm.organisation, hfpc.organisation]}),
    )
    .await;
    assert_problem(adding_other, StatusCode::NOT_FOUND, "not_found").await;

    // The interpreter does not work for HFPC: to its coordinator they are not there to change.
    let outsider = change(&app, &hfpc.coordinator, id(&ours), 1, json!({"name": "Taken over"})).await;
    assert_problem(outsider, StatusCode::NOT_FOUND, "not_found").await;
    let joining = change(
        &app,
        &hfpc.coordinator,
        id(&ours),
        1,
        json!({"organisation_ids": [pfm.organisation, hfpc.organisation]}),
    )
    .await;
    assert_problem(joining, StatusCode::NOT_FOUND, "not_found").await;
    let unknown =
        change(&app, &hfpc.coordinator, &InterpreterId::new().to_string(), 1, json!({"name": "Taken over"})).await;
    assert_problem(unknown, StatusCode::NOT_FOUND, "not_found").await;

    // The administrator adds HFPC; then HFPC's coordinator may change the interpreter too, and
    // remove their own organisation again, but not PFM.
    let shared =
        change(&app, &admin, id(&ours), 1, json!({"organisation_ids": [pfm.organisation, hfpc.organisation]})).await;
    assert_eq!(shared.status(), StatusCode::OK);
    let removing_pfm =
        change(&app, &hfpc.coordinator, id(&ours), 2, json!({"organisation_ids": [hfpc.organisation]})).await;
    assert_problem(removing_pfm, StatusCode::NOT_FOUND, "not_found").await;
    let leaving = change(&app, &hfpc.coordinator, id(&ours), 2, json!({"organisation_ids": [pfm.organisation]})).await;
    assert_eq!(leaving.status(), StatusCode::OK);
    let left: Value = leaving.json().await.unwrap();
    assert_eq!(left["organisation_ids"], json!([pfm.organisation]));
    let stale = change(&app, &pfm.coordinator, id(&ours), 2, json!({"name": "Late"})).await;
    assert_problem(stale, StatusCode::PRECONDITION_FAILED, "stale_version").await;
}

#[tokio::test]
async fn interpreters_are_found_by_language_and_city() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let pfm = partner(&app, &admin, "PFM").await;
    let chechen = added(&app, &pfm.coordinator, aminat()).await;
    let russian_in_warsaw =
        added(&app, &pfm.coordinator, json!({"name": "Olga Ivanova", "languages": ["ru"], "cities": ["Warszawa"]}))
            .await;
    let dari = added(
        &app,
        &pfm.coordinator,
        json!({"name": "Farid Ahmadi", "languages": ["prs", "fa"], "cities": ["Lublin"]}),
    )
    .await;
    let retired = added(
        &app,
        &pfm.coordinator,
        json!({"name": "Retired", "languages": ["ru"], "cities": ["Lublin"], "active": false}),
    )
    .await;

    let sorted = |mut ids: Vec<&str>| {
        ids.sort();
        ids.into_iter().map(str::to_owned).collect::<Vec<_>>()
    };
    let me = &pfm.counselor;
    assert_eq!(ids_listed(&app, me, "?language=ce").await, [id(&chechen)]);
    assert_eq!(ids_listed(&app, me, "?language=RU").await, sorted(vec![id(&chechen), id(&russian_in_warsaw)]));
    assert_eq!(ids_listed(&app, me, "?city=Lublin").await, sorted(vec![id(&chechen), id(&dari)]));
    assert_eq!(ids_listed(&app, me, "?language=ru&city=Lublin").await, [id(&chechen)]);
    assert_eq!(ids_listed(&app, me, "?city=Lub").await, Vec::<String>::new(), "cities match exactly");
    assert_eq!(
        ids_listed(&app, me, "?language=ru&include_inactive=true").await,
        sorted(vec![id(&chechen), id(&russian_in_warsaw), id(&retired)])
    );
    let all = ids_listed(&app, me, "").await;
    assert_eq!(all.len(), 3, "inactive interpreters are left out: {all:?}");

    let page: Value =
        body(app.get("/api/v1/interpreters?city=Lublin&limit=1").bearer_auth(&me.token).send().await.unwrap()).await;
    let cursor = page["next_cursor"].as_str().expect("a second page");
    let second: Value = body(
        app.get(&format!("/api/v1/interpreters?city=Lublin&limit=1&cursor={cursor}"))
            .bearer_auth(&me.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let pages = vec![page["items"][0]["id"].as_str().unwrap(), second["items"][0]["id"].as_str().unwrap()];
    assert_eq!(sorted(pages), sorted(vec![id(&chechen), id(&dari)]), "one on each page");
    assert!(second["next_cursor"].is_null());

    let unknown = app.get("/api/v1/interpreters?language=xx").bearer_auth(&me.token).send().await.unwrap();
    assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);
}

/// Plans an appointment with the interpreter at `starts_at` for an hour; returns it.
async fn booked(app: &TestApp, counselor: &Account, interpreter: &str, starts_at: &str) -> Value {
    let client =
        create_client(app, counselor, json!({"given_names": "Zelimkhan", "family_name": "Khangoshvili"})).await;
    let response = app
        .post(&format!("/api/v1/clients/{}/appointments", id(&client)))
        .bearer_auth(&counselor.token)
        .json(&json!({"kind": "legal", "mode": "in_person", "city": "Lublin", "starts_at": starts_at,
                      "duration_minutes": 60, "language": "ce", "interpreter_needed": true,
                      "interpreter_id": interpreter}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED, "{}", response.text().await.unwrap());
    response.json().await.unwrap()
}

#[tokio::test]
async fn bookings_show_when_and_for_which_organisation_never_for_whom() {
    let app = TestApp::spawn().await;
    set_clock(&app, NOW);
    let admin = app.admin().await;
    let pfm = partner(&app, &admin, "PFM").await;
    let hfpc = partner(&app, &admin, "HFPC").await;
    let elsewhere = partner(&app, &admin, "KTX").await;
    let interpreter = added(
        &app,
        &admin,
        json!({"name": "Aminat Dudayeva", "languages": ["ce"], "organisation_ids": [pfm.organisation, hfpc.organisation]}),
    )
    .await;
    let interpreter = id(&interpreter);
    let ours = booked(&app, &pfm.counselor, interpreter, "2026-10-12T09:00:00+02:00").await;
    let theirs = booked(&app, &hfpc.counselor, interpreter, "2026-10-12T11:00:00+02:00").await;
    let cancelled = booked(&app, &pfm.counselor, interpreter, "2026-10-13T09:00:00+02:00").await;
    let cancel = app
        .post(&format!("/api/v1/appointments/{}/cancel", id(&cancelled)))
        .bearer_auth(&pfm.counselor.token)
        .header("if-match", "\"1\"")
        .json(&json!({"reason": "The client moved to Gdańsk"}))
        .send()
        .await
        .unwrap();
    assert_eq!(cancel.status(), StatusCode::OK);

    let path = format!("/api/v1/interpreters/{interpreter}/bookings?from=2026-10-12&to=2026-10-13");
    let response = app.get(&path).bearer_auth(&pfm.coordinator.token).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap();
    let page: Value = serde_json::from_str(&text).unwrap();
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "the cancelled appointment takes no time: {page}");
    let expected_keys = BTreeSet::from(["starts_at", "ends_at", "local_starts_at", "local_ends_at", "organisation_id"]);
    for item in items {
        let keys: BTreeSet<&str> = item.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, expected_keys, "{item}");
    }
    assert_eq!(
        items[0],
        json!({"starts_at": "2026-10-12T07:00:00Z", "ends_at": "2026-10-12T08:00:00Z",
               "local_starts_at": "2026-10-12T09:00:00+02:00", "local_ends_at": "2026-10-12T10:00:00+02:00",
               "organisation_id": pfm.organisation})
    );
    assert_eq!(items[1]["organisation_id"], json!(hfpc.organisation));
    assert_eq!(items[1]["local_starts_at"], "2026-10-12T11:00:00+02:00");
    for secret in [&ours, &theirs] {
        for field in ["id", "client_id", "client_reference", "counselor_id"] {
            let value = secret[field].as_str().unwrap();
            assert!(!text.contains(value), "the bookings reveal {field} {value}");
        }
    }

    // Page by page: the cursor names no appointment either.
    let first: Value =
        body(app.get(&format!("{path}&limit=1")).bearer_auth(&pfm.coordinator.token).send().await.unwrap()).await;
    let cursor = first["next_cursor"].as_str().expect("a second page");
    let decoded = String::from_utf8(URL_SAFE_NO_PAD.decode(cursor).unwrap()).unwrap();
    for secret in [&ours, &theirs, &cancelled] {
        assert!(!decoded.contains(id(secret)), "the cursor {decoded} names an appointment");
    }
    let second: Value = body(
        app.get(&format!("{path}&limit=1&cursor={cursor}")).bearer_auth(&pfm.coordinator.token).send().await.unwrap(),
    )
    .await;
    assert_eq!([&first["items"][0], &second["items"][0]], [&items[0], &items[1]]);
    assert_eq!(second["items"].as_array().unwrap().len(), 1);
    assert!(second["next_cursor"].is_null());

    let theirs_seen: Value = body(app.get(&path).bearer_auth(&hfpc.counselor.token).send().await.unwrap()).await;
    assert_eq!(theirs_seen["items"], page["items"], "every organisation the interpreter works for sees the same");
    let by_admin: Value = body(app.get(&path).bearer_auth(&admin.token).send().await.unwrap()).await;
    assert_eq!(by_admin["items"], page["items"]);

    let denied = app.audit_count("permission.denied");
    let outsider = app.get(&path).bearer_auth(&elsewhere.coordinator.token).send().await.unwrap();
    assert_problem(outsider, StatusCode::FORBIDDEN, "forbidden").await;
    assert_eq!(app.audit_count("permission.denied"), denied + 1, "the refusal is recorded");
    let missing = app
        .get(&format!("/api/v1/interpreters/{}/bookings", InterpreterId::new()))
        .bearer_auth(&pfm.coordinator.token)
        .send()
        .await
        .unwrap();
    assert_problem(missing, StatusCode::NOT_FOUND, "not_found").await;
    let too_long = app
        .get(&format!("/api/v1/interpreters/{interpreter}/bookings?from=2026-10-01&to=2027-10-03"))
        .bearer_auth(&pfm.coordinator.token)
        .send()
        .await
        .unwrap();
    assert_eq!(too_long.status(), StatusCode::BAD_REQUEST);

    // Without dates: from today (the server's) for 31 days.
    let default: Value = body(
        app.get(&format!("/api/v1/interpreters/{interpreter}/bookings"))
            .bearer_auth(&pfm.coordinator.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(default["items"], page["items"]);
}

#[tokio::test]
async fn an_interpreter_is_booked_only_where_they_work_and_in_their_language() {
    let app = TestApp::spawn().await;
    set_clock(&app, NOW);
    let admin = app.admin().await;
    let pfm = partner(&app, &admin, "PFM").await;
    let hfpc = partner(&app, &admin, "HFPC").await;
    let theirs = added(&app, &hfpc.coordinator, json!({"name": "Olga Ivanova", "languages": ["ru", "uk"]})).await;
    let ours = added(&app, &pfm.coordinator, json!({"name": "Aminat Dudayeva", "languages": ["ce", "ru"]})).await;
    let retired = added(&app, &pfm.coordinator, json!({"name": "Retired", "languages": ["ce"], "active": false})).await;
    let client = create_client(&app, &pfm.counselor, json!({"given_names": "Aslan", "family_name": "Basayev"})).await;
    let plan = |interpreter: &str, language: &str, starts_at: &str| {
        app.post(&format!("/api/v1/clients/{}/appointments", id(&client)))
            .bearer_auth(&pfm.counselor.token)
            .json(&json!({"kind": "legal", "mode": "in_person", "city": "Lublin", "starts_at": starts_at,
                          "duration_minutes": 60, "language": language, "interpreter_needed": true,
                          "interpreter_id": interpreter}))
            .send()
    };

    for (interpreter, language, why) in [
        (id(&theirs), "ru", "works for another organisation"),
        (id(&ours), "uk", "does not interpret the language"),
        (id(&retired), "ce", "is no longer active"),
        (&InterpreterId::new().to_string(), "ce", "does not exist"),
    ] {
        let response = plan(interpreter, language, "2026-10-12T09:00:00+02:00").await.unwrap();
        let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert!(problem["errors"]["interpreter_id"].is_string(), "{why}: {problem}");
    }
    let fitting = plan(id(&ours), "ce", "2026-10-12T09:00:00+02:00").await.unwrap();
    assert_eq!(fitting.status(), StatusCode::CREATED);
    let appointment: Value = fitting.json().await.unwrap();
    assert_eq!(appointment["interpreter_id"], ours["id"]);
    assert_eq!(appointment["interpreter_needed"], true);
    assert_eq!(appointment["language"], "ce");
}
