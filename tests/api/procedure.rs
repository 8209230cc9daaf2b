//! The procedure timeline, derived stage and legal deadlines; consents.

use std::process::Command;

use casebridge::db::schema::{deadline_rules_state, deadlines};
use diesel::prelude::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::clients::{counselor_of, create_client};
use crate::helpers::{Account, TestApp, assert_problem, body};

async fn record(app: &TestApp, account: &Account, client: &str, event: Value) -> reqwest::Response {
    app.post(&format!("/api/v1/clients/{client}/procedure-events"))
        .bearer_auth(&account.token)
        .json(&event)
        .send()
        .await
        .unwrap()
}

async fn recorded(app: &TestApp, account: &Account, client: &str, event: Value) -> Value {
    let response = record(app, account, client, event).await;
    assert_eq!(response.status(), StatusCode::CREATED, "{}", response.text().await.unwrap());
    response.json().await.unwrap()
}

async fn client_view(app: &TestApp, account: &Account, client: &str) -> Value {
    body(app.get(&format!("/api/v1/clients/{client}")).bearer_auth(&account.token).send().await.unwrap()).await
}

fn deadline<'a>(client: &'a Value, rule: &str) -> Option<&'a Value> {
    client["deadlines"].as_array().unwrap().iter().find(|d| d["rule"] == rule)
}

#[tokio::test]
async fn a_negative_decision_delivered_before_the_may_holidays_is_due_on_monday_4_may() {
    let app = TestApp::spawn().await;
    let counselor = counselor_of(&app, "PFM").await;
    let client = create_client(&app, &counselor, json!({"given_names": "Aslan", "family_name": "Basayev"})).await;
    let id = client["id"].as_str().unwrap();
    recorded(&app, &counselor, id, json!({"kind": "application_lodged", "occurred_on": "2026-01-12"})).await;
    recorded(
        &app,
        &counselor,
        id,
        json!({"kind": "first_instance_decision", "occurred_on": "2026-04-10", "delivered_on": "2026-04-17", "outcome": "refusal"}),
    )
    .await;
    let view = client_view(&app, &counselor, id).await;
    let appeal = deadline(&view, "appeal_to_refugee_board").expect("an appeal deadline");
    assert_eq!(appeal["due_on"], "2026-05-04", "Friday 1 May and Sunday 3 May are holidays, 2 May a Saturday");
    assert_eq!(appeal["legal_basis"], "KPA art. 129 §2");
    assert_eq!(view["procedure_stage"], "first_instance");

    recorded(&app, &counselor, id, json!({"kind": "appeal_lodged", "occurred_on": "2026-04-30"})).await;
    let view = client_view(&app, &counselor, id).await;
    assert!(deadline(&view, "appeal_to_refugee_board").is_none(), "lodging the appeal meets the deadline");
    assert_eq!(view["procedure_stage"], "appeal");
}

#[tokio::test]
async fn a_refugee_board_decision_delivered_on_12_october_gives_a_complaint_due_on_12_november() {
    let app = TestApp::spawn().await;
    let counselor = counselor_of(&app, "PFM").await;
    let client = create_client(&app, &counselor, json!({"given_names": "Aslan", "family_name": "Basayev"})).await;
    let id = client["id"].as_str().unwrap();
    for event in [
        json!({"kind": "application_lodged", "occurred_on": "2026-01-12"}),
        json!({"kind": "first_instance_decision", "occurred_on": "2026-04-10", "delivered_on": "2026-04-17", "outcome": "refusal"}),
        json!({"kind": "appeal_lodged", "occurred_on": "2026-04-30"}),
        json!({"kind": "appeal_decision", "occurred_on": "2026-10-05", "delivered_on": "2026-10-12", "outcome": "upheld"}),
    ] {
        recorded(&app, &counselor, id, event).await;
    }
    let view = client_view(&app, &counselor, id).await;
    let complaint = deadline(&view, "complaint_to_administrative_court").expect("a complaint deadline");
    assert_eq!(complaint["due_on"], "2026-11-12", "11 November is Independence Day");
    let today = casebridge::domain::today();
    let due = chrono::NaiveDate::from_ymd_opt(2026, 11, 12).unwrap();
    assert_eq!(complaint["days_left"], (due - today).num_days());
    assert_eq!(complaint["overdue"], due < today);
    assert_eq!(view["procedure_stage"], "final_negative");

    let agenda: Value = body(app.get("/api/v1/deadlines").bearer_auth(&counselor.token).send().await.unwrap()).await;
    let items = agenda["items"].as_array().unwrap();
    let due_dates: Vec<&str> = items.iter().map(|i| i["due_on"].as_str().unwrap()).collect();
    let mut sorted = due_dates.clone();
    sorted.sort();
    assert_eq!(due_dates, sorted, "soonest first");
    let item = items.iter().find(|i| i["rule"] == "complaint_to_administrative_court").unwrap();
    assert_eq!(item["client_reference"], client["reference"]);
    assert_eq!(item["legal_basis"], "PPSA art. 53 §1");
}

#[tokio::test]
async fn a_deadline_counts_down_at_midnight_in_warsaw_and_is_overdue_the_day_after_it_is_due() {
    let app = TestApp::spawn().await;
    app.set_warsaw_time("2026-10-20 10:00:00");
    let counselor = counselor_of(&app, "PFM").await;
    let client = create_client(&app, &counselor, json!({"given_names": "Aslan", "family_name": "Basayev"})).await;
    let id = client["id"].as_str().unwrap();
    for event in [
        json!({"kind": "application_lodged", "occurred_on": "2026-01-12"}),
        json!({"kind": "first_instance_decision", "occurred_on": "2026-04-10", "delivered_on": "2026-04-17", "outcome": "refusal"}),
        json!({"kind": "appeal_lodged", "occurred_on": "2026-04-30"}),
        json!({"kind": "appeal_decision", "occurred_on": "2026-10-05", "delivered_on": "2026-10-12", "outcome": "upheld"}),
    ] {
        recorded(&app, &counselor, id, event).await;
    }
    let complaint = |view: &Value| deadline(view, "complaint_to_administrative_court").unwrap().clone();
    let complaint_overdue_on_agenda = || async {
        let agenda: Value =
            body(app.get("/api/v1/deadlines?overdue=true").bearer_auth(&counselor.token).send().await.unwrap()).await;
        agenda["items"].as_array().unwrap().iter().any(|item| item["rule"] == "complaint_to_administrative_court")
    };

    app.set_warsaw_time("2026-11-11 23:59:59");
    let before = complaint(&client_view(&app, &counselor, id).await);
    assert_eq!(before["due_on"], "2026-11-12");
    assert_eq!((before["days_left"].clone(), before["overdue"].clone()), (json!(1), json!(false)));

    app.set_warsaw_time("2026-11-12 00:00:01");
    let due_day = complaint(&client_view(&app, &counselor, id).await);
    assert_eq!((due_day["days_left"].clone(), due_day["overdue"].clone()), (json!(0), json!(false)), "the last day");
    assert!(!complaint_overdue_on_agenda().await);

    app.set_warsaw_time("2026-11-13 00:00:01");
    let after = complaint(&client_view(&app, &counselor, id).await);
    assert_eq!((after["days_left"].clone(), after["overdue"].clone()), (json!(-1), json!(true)));
    assert!(complaint_overdue_on_agenda().await, "the agenda lists it as overdue");
}

#[tokio::test]
async fn the_agenda_pages_by_due_date_and_filters() {
    let app = TestApp::spawn().await;
    let counselor = counselor_of(&app, "PFM").await;
    for _ in 0..3 {
        let client = create_client(&app, &counselor, json!({"given_names": "Aslan", "family_name": "Basayev"})).await;
        recorded(
            &app,
            &counselor,
            client["id"].as_str().unwrap(),
            json!({"kind": "application_lodged", "occurred_on": "2026-11-20"}),
        )
        .await;
    }
    let first: Value =
        body(app.get("/api/v1/deadlines?limit=4").bearer_auth(&counselor.token).send().await.unwrap()).await;
    assert_eq!(first["items"].as_array().unwrap().len(), 4);
    let cursor = first["next_cursor"].as_str().unwrap();
    let rest: Value = body(
        app.get(&format!("/api/v1/deadlines?limit=4&cursor={cursor}"))
            .bearer_auth(&counselor.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(rest["items"].as_array().unwrap().len(), 2, "two monitoring deadlines per application");
    let overdue: Value =
        body(app.get("/api/v1/deadlines?overdue=true").bearer_auth(&counselor.token).send().await.unwrap()).await;
    assert_eq!(overdue["items"], json!([]));
    let soon: Value =
        body(app.get("/api/v1/deadlines?within_days=30").bearer_auth(&counselor.token).send().await.unwrap()).await;
    assert_eq!(soon["items"], json!([]), "six-month deadlines are not due within 30 days");
    let within =
        app.get("/api/v1/clients?deadline_within_days=400").bearer_auth(&counselor.token).send().await.unwrap();
    assert_eq!(body::<Value>(within).await["items"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn a_forged_cursor_on_the_agenda_is_a_400() {
    use base64::Engine;
    let app = TestApp::spawn().await;
    let counselor = counselor_of(&app, "PFM").await;
    let client = create_client(&app, &counselor, json!({"given_names": "Aslan", "family_name": "Basayev"})).await;
    recorded(
        &app,
        &counselor,
        client["id"].as_str().unwrap(),
        json!({"kind": "application_lodged", "occurred_on": "2026-11-20"}),
    )
    .await;
    let id = casebridge::db::ProcedureEventId::new();
    for forged in
        [format!("key:not-a-date|{id}"), format!("key:2026-02-30|{id}"), format!("key:|{id}"), format!("id:{id}")]
    {
        let cursor = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&forged);
        let response =
            app.get(&format!("/api/v1/deadlines?cursor={cursor}")).bearer_auth(&counselor.token).send().await.unwrap();
        assert_problem(response, StatusCode::BAD_REQUEST, "invalid_cursor").await;
    }
}

#[tokio::test]
async fn an_appeal_decision_without_an_appeal_is_refused() {
    let app = TestApp::spawn().await;
    let counselor = counselor_of(&app, "PFM").await;
    let client = create_client(&app, &counselor, json!({"given_names": "Aslan", "family_name": "Basayev"})).await;
    let id = client["id"].as_str().unwrap();
    let response = record(
        &app,
        &counselor,
        id,
        json!({"kind": "appeal_decision", "occurred_on": "2026-10-05", "outcome": "upheld"}),
    )
    .await;
    let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert!(problem["errors"]["kind"].as_str().unwrap().contains("appeal"));
    let future = record(&app, &counselor, id, json!({"kind": "application_lodged", "occurred_on": "2999-01-01"})).await;
    assert_problem(future, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let timeline: Value = body(
        app.get(&format!("/api/v1/clients/{id}/procedure-events")).bearer_auth(&counselor.token).send().await.unwrap(),
    )
    .await;
    assert_eq!(timeline["items"], json!([]), "nothing was written");
}

#[tokio::test]
async fn correcting_a_delivery_date_moves_the_deadline() {
    let app = TestApp::spawn().await;
    let counselor = counselor_of(&app, "PFM").await;
    let client = create_client(&app, &counselor, json!({"given_names": "Aslan", "family_name": "Basayev"})).await;
    let id = client["id"].as_str().unwrap();
    let decision = recorded(
        &app,
        &counselor,
        id,
        json!({"kind": "first_instance_decision", "occurred_on": "2026-04-10", "delivered_on": "2026-04-17", "outcome": "refusal"}),
    )
    .await;
    let path = format!("/api/v1/clients/{id}/procedure-events/{}", decision["id"].as_str().unwrap());
    let corrected = app
        .patch(&path)
        .bearer_auth(&counselor.token)
        .header("if-match", "\"1\"")
        .json(&json!({"delivered_on": "2026-04-20"}))
        .send()
        .await
        .unwrap();
    assert_eq!(corrected.status(), StatusCode::OK);
    let view = client_view(&app, &counselor, id).await;
    assert_eq!(deadline(&view, "appeal_to_refugee_board").unwrap()["due_on"], "2026-05-04");
    let stale = app
        .patch(&path)
        .bearer_auth(&counselor.token)
        .header("if-match", "\"1\"")
        .json(&json!({"delivered_on": "2026-04-21"}))
        .send()
        .await
        .unwrap();
    assert_problem(stale, StatusCode::PRECONDITION_FAILED, "stale_version").await;
    let later = app
        .patch(&path)
        .bearer_auth(&counselor.token)
        .header("if-match", "\"2\"")
        .json(&json!({"delivered_on": "2026-05-06"}))
        .send()
        .await
        .unwrap();
    assert_eq!(later.status(), StatusCode::OK);
    let view = client_view(&app, &counselor, id).await;
    assert_eq!(deadline(&view, "appeal_to_refugee_board").unwrap()["due_on"], "2026-05-20");
}

#[tokio::test]
async fn consent_is_recorded_listed_and_withdrawn_at_once() {
    let app = TestApp::spawn().await;
    let counselor = counselor_of(&app, "PFM").await;
    let admin = app.admin().await;
    let partner = app.create_organisation(&admin, "HFPC").await;
    let client = create_client(&app, &counselor, json!({"given_names": "Aslan", "family_name": "Basayev"})).await;
    let id = client["id"].as_str().unwrap();
    let response = app
        .post(&format!("/api/v1/clients/{id}/consents"))
        .bearer_auth(&counselor.token)
        .json(&json!({"purpose": "sharing_with_partner", "partner_id": partner, "scope": ["identity", "procedure"],
                      "given_on": "2026-11-02", "language": "ru", "form_version": "PFM-2026-01"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let consent: Value = response.json().await.unwrap();
    assert_eq!(consent["valid"], true);

    let list: Value =
        body(app.get(&format!("/api/v1/clients/{id}/consents")).bearer_auth(&counselor.token).send().await.unwrap())
            .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);

    let withdraw = format!("/api/v1/clients/{id}/consents/{}/withdraw", consent["id"].as_str().unwrap());
    let withdrawn: Value = body(app.post(&withdraw).bearer_auth(&counselor.token).send().await.unwrap()).await;
    assert_eq!(withdrawn["valid"], false);
    assert!(withdrawn["withdrawn_on"].is_string());
    assert_problem(
        app.post(&withdraw).bearer_auth(&counselor.token).send().await.unwrap(),
        StatusCode::CONFLICT,
        "already_withdrawn",
    )
    .await;
    assert_eq!(app.audit_count("consent.withdraw"), 1);
}

#[tokio::test]
async fn a_consent_to_share_needs_a_partner_and_a_scope() {
    let app = TestApp::spawn().await;
    let counselor = counselor_of(&app, "PFM").await;
    let client = create_client(&app, &counselor, json!({"given_names": "Aslan", "family_name": "Basayev"})).await;
    let response = app
        .post(&format!("/api/v1/clients/{}/consents", client["id"].as_str().unwrap()))
        .bearer_auth(&counselor.token)
        .json(&json!({"purpose": "sharing_with_partner", "given_on": "2026-11-02", "expires_on": "2026-01-01",
                      "language": "xx", "form_version": ""}))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    for field in ["partner_id", "scope", "expires_on", "language", "form_version"] {
        assert!(problem["errors"][field].is_string(), "no error for {field}: {problem}");
    }
}

#[tokio::test]
async fn rederive_deadlines_brings_deadlines_stored_under_an_older_rule_table_up_to_date_and_resumes() {
    let app = TestApp::spawn().await;
    let counselor = counselor_of(&app, "PFM").await;
    let mut ids = Vec::new();
    for family_name in ["Basayev", "Dudayev"] {
        let client = create_client(&app, &counselor, json!({"given_names": "Aslan", "family_name": family_name})).await;
        let id = client["id"].as_str().unwrap().to_owned();
        recorded(&app, &counselor, &id, json!({"kind": "application_lodged", "occurred_on": "2026-01-12"})).await;
        recorded(
            &app,
            &counselor,
            &id,
            json!({"kind": "first_instance_decision", "occurred_on": "2026-04-10", "delivered_on": "2026-04-17", "outcome": "refusal"}),
        )
        .await;
        ids.push(id);
    }
    ids.sort();
    // As a database whose deadlines were derived under a rule table that has changed since.
    let age_the_deadlines = |resume_after: Option<String>| {
        app.db(|conn| {
            diesel::update(deadlines::table).set(deadlines::rule_version.eq(99)).execute(conn).unwrap();
            diesel::update(deadline_rules_state::table)
                .set((
                    deadline_rules_state::rules.eq("older rules"),
                    deadline_rules_state::resume_after.eq(resume_after),
                ))
                .execute(conn)
                .unwrap();
        })
    };
    age_the_deadlines(None);
    let stale = app.get(&format!("/api/v1/clients/{}", ids[0])).bearer_auth(&counselor.token).send().await.unwrap();
    assert_eq!(stale.status(), StatusCode::INTERNAL_SERVER_ERROR, "a deadline's legal basis is never left blank");

    let data = tempfile::tempdir().unwrap();
    let run = || {
        let output = Command::new(env!("CARGO_BIN_EXE_casebridge"))
            .arg("rederive-deadlines")
            .env_clear()
            .env("DATABASE_URL", &app.database_url)
            .env("CASEBRIDGE_DATA_DIR", data.path())
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    assert!(run().contains("2 client(s) with deadlines derived again"));
    for id in &ids {
        let view = client_view(&app, &counselor, id).await;
        let appeal = deadline(&view, "appeal_to_refugee_board").expect("an appeal deadline");
        assert_eq!(
            (appeal["due_on"].as_str(), appeal["legal_basis"].as_str()),
            (Some("2026-05-04"), Some("KPA art. 129 §2"))
        );
    }
    assert!(run().contains("0 client(s)"), "the deadlines are current");

    // A run under the current rules that stopped after the first client resumes after it.
    let current: String =
        app.db(|conn| deadline_rules_state::table.select(deadline_rules_state::rules).first(conn).unwrap());
    age_the_deadlines(Some(ids[0].clone()));
    app.db(|conn| {
        diesel::update(deadline_rules_state::table)
            .set(deadline_rules_state::rules.eq(&current))
            .execute(conn)
            .unwrap();
    });
    assert!(run().contains("1 client(s) with deadlines derived again"));
    let second = client_view(&app, &counselor, &ids[1]).await;
    assert_eq!(deadline(&second, "appeal_to_refugee_board").unwrap()["legal_basis"], "KPA art. 129 §2");
}
