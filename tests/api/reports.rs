//! Donor indicators: figures worked out by hand, CSV, small-cell suppression, stability under
//! erasure.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::clients::create_client;
use crate::helpers::{Account, TestApp, assert_problem, body};

async fn session(app: &TestApp, counselor: &Account, client: &Value, kind: &str, mode: &str, at: &str, minutes: i32) {
    let response = app
        .post(&format!("/api/v1/clients/{}/sessions", client["id"].as_str().unwrap()))
        .bearer_auth(&counselor.token)
        .json(&json!({"kind": kind, "mode": mode, "started_at": at, "duration_minutes": minutes}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED, "{}", response.text().await.unwrap());
}

/// Records every client as created in mid-November 2026, the month these reports cover, so
/// `new_clients` does not depend on the day the tests run.
fn clients_created_in_november(app: &TestApp) {
    use casebridge::db::schema::clients;
    use diesel::prelude::*;
    let at = chrono::NaiveDate::from_ymd_opt(2026, 11, 2).unwrap().and_hms_opt(9, 0, 0).unwrap();
    app.db(|conn| diesel::update(clients::table).set(clients::created_at.eq(at)).execute(conn).unwrap());
}

async fn fetch_report(app: &TestApp, account: &Account, query: &str) -> Value {
    body(app.get(&format!("/api/v1/reports/indicators?{query}")).bearer_auth(&account.token).send().await.unwrap())
        .await
}

#[tokio::test]
async fn an_organisations_report_adds_up_as_worked_out_by_hand() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let organisation = app.create_organisation(&admin, "PFM").await;
    let coordinator = app.create_user(&admin, Some(organisation), "coordinator").await;
    let analyst = app.create_user(&admin, Some(organisation), "analyst").await;
    let counselor = app.create_user(&admin, Some(organisation), "counselor").await;
    let amina = create_client(&app, &counselor, json!({"given_names": "Amina", "family_name": "S", "sex": "female", "date_of_birth": "1990-03-01", "nationalities": ["RU"], "vulnerabilities": ["ptsd"]})).await;
    let bohdan = create_client(&app, &counselor, json!({"given_names": "Bohdan", "family_name": "K", "sex": "male", "birth_year": 2010, "nationalities": ["UA"]})).await;
    let celina = create_client(&app, &counselor, json!({"given_names": "Celina", "family_name": "R", "sex": "female", "birth_year": 1950, "nationalities": ["RU"]})).await;
    session(&app, &counselor, &amina, "legal", "in_person", "2026-11-03T10:00:00Z", 60).await;
    session(&app, &counselor, &amina, "legal", "phone", "2026-11-04T10:00:00Z", 30).await;
    session(&app, &counselor, &bohdan, "other", "video", "2026-11-05T10:00:00Z", 45).await;
    session(&app, &counselor, &celina, "legal", "phone", "2026-10-15T10:00:00Z", 50).await;
    clients_created_in_november(&app);

    let report = fetch_report(&app, &coordinator, "from=2026-11-01&to=2026-11-30").await;
    assert_eq!(report["consortium"], false);
    let figures = &report["organisations"][0]["indicators"];
    assert_eq!(figures["clients_served"], 2, "Amina counted once despite two sessions; Celina was served in October");
    assert_eq!(figures["new_clients"], 3);
    assert_eq!(figures["sessions"], 3);
    assert_eq!(figures["counseling_hours"], 2.3);
    assert_eq!(figures["sessions_by_kind"], json!({"legal": 2, "other": 1}));
    assert_eq!(figures["sessions_by_mode"], json!({"in_person": 1, "phone": 1, "video": 1}));
    assert_eq!(figures["clients_by_sex_and_age"], json!({"female": {"35-49": 1}, "male": {"0-17": 1}}));
    assert_eq!(figures["clients_by_nationality"], json!({"RU": 1, "UA": 1}));
    assert_eq!(figures["clients_by_vulnerability"], json!({"ptsd": 1}));
    assert_eq!(figures["deadlines_met"], 0);
    let text = serde_json::to_string(&report).unwrap();
    assert!(!text.contains("Amina") && !text.contains(amina["id"].as_str().unwrap()), "no personal data in reports");

    let by_analyst = report_status(&app, &analyst, "from=2026-11-01&to=2026-11-30").await;
    assert_eq!(by_analyst, StatusCode::OK);
    assert_eq!(report_status(&app, &counselor, "from=2026-11-01&to=2026-11-30").await, StatusCode::FORBIDDEN);

    let erased = app
        .post(&format!("/api/v1/clients/{}/erase", amina["id"].as_str().unwrap()))
        .bearer_auth(&coordinator.token)
        .json(&json!({"reason": "Request of the client"}))
        .send()
        .await
        .unwrap();
    assert_eq!(erased.status(), StatusCode::NO_CONTENT);
    let after = fetch_report(&app, &coordinator, "from=2026-11-01&to=2026-11-30").await;
    assert_eq!(after["organisations"], report["organisations"], "erasure leaves past reports unchanged");
}

/// `city` narrows the report to sessions held there and clients living there.
#[tokio::test]
async fn a_report_for_one_city_counts_only_that_citys_sessions_and_clients() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let organisation = app.create_organisation(&admin, "PFM").await;
    let coordinator = app.create_user(&admin, Some(organisation), "coordinator").await;
    let counselor = app.create_user(&admin, Some(organisation), "counselor").await;
    let mut sessions_at = Vec::new();
    for (name, city) in [("Anna", "Kraków"), ("Borys", "Kraków"), ("Daria", "Warszawa")] {
        let client =
            create_client(&app, &counselor, json!({"given_names": name, "family_name": "W", "city": city})).await;
        sessions_at.push((client, city));
    }
    for (client, city) in &sessions_at {
        let response = app
            .post(&format!("/api/v1/clients/{}/sessions", client["id"].as_str().unwrap()))
            .bearer_auth(&counselor.token)
            .json(&json!({"kind": "legal", "mode": "in_person", "started_at": "2026-11-03T10:00:00Z", "duration_minutes": 60, "city": city}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED, "{}", response.text().await.unwrap());
    }
    clients_created_in_november(&app);
    let all =
        &fetch_report(&app, &coordinator, "from=2026-11-01&to=2026-11-30").await["organisations"][0]["indicators"];
    assert_eq!(
        (all["sessions"].clone(), all["clients_served"].clone(), all["new_clients"].clone()),
        (json!(3), json!(3), json!(3))
    );
    let report = fetch_report(&app, &coordinator, "from=2026-11-01&to=2026-11-30&city=Krak%C3%B3w").await;
    assert_eq!(report["city"], "Kraków");
    let krakow = &report["organisations"][0]["indicators"];
    assert_eq!(krakow["sessions"], 2);
    assert_eq!(krakow["clients_served"], 2);
    assert_eq!(krakow["new_clients"], 2);
    assert_eq!(krakow["sessions_by_mode"], json!({"in_person": 2}));
    let nowhere = &fetch_report(&app, &coordinator, "from=2026-11-01&to=2026-11-30&city=Gda%C5%84sk").await;
    assert_eq!(nowhere["organisations"][0]["indicators"]["sessions"], 0);
}

async fn report_status(app: &TestApp, account: &Account, query: &str) -> StatusCode {
    app.get(&format!("/api/v1/reports/indicators?{query}")).bearer_auth(&account.token).send().await.unwrap().status()
}

#[tokio::test]
async fn the_report_as_csv_is_long_format_and_formula_safe() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let organisation = app.create_organisation(&admin, "PFM").await;
    let coordinator = app.create_user(&admin, Some(organisation), "coordinator").await;
    let counselor = app.create_user(&admin, Some(organisation), "counselor").await;
    let client = create_client(&app, &counselor, json!({"given_names": "A", "family_name": "B"})).await;
    session(&app, &counselor, &client, "legal", "phone", "2026-11-03T10:00:00Z", 30).await;
    let response = app
        .get("/api/v1/reports/indicators?from=2026-11-01&to=2026-11-30")
        .bearer_auth(&coordinator.token)
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let csv = response.text().await.unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("organisation,section,category,subcategory,value"));
    assert!(csv.lines().any(|l| l == "PFM,sessions_by_kind,legal,,1"), "{csv}");
    assert!(csv.lines().any(|l| l == "PFM,clients_served,,,1"), "{csv}");
    let bad = app
        .get("/api/v1/reports/indicators?from=2026-12-01&to=2026-11-01")
        .bearer_auth(&coordinator.token)
        .send()
        .await
        .unwrap();
    assert_problem(bad, StatusCode::BAD_REQUEST, "invalid_query").await;
}

#[tokio::test]
async fn a_consortium_report_hides_small_cells_so_totals_do_not_reveal_them() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let small = app.create_organisation(&admin, "SMALL").await;
    let large = app.create_organisation(&admin, "LARGE").await;
    for (organisation, count) in [(small, 3), (large, 10)] {
        let counselor = app.create_user(&admin, Some(organisation), "counselor").await;
        for i in 0..count {
            let client = create_client(&app, &counselor, json!({"given_names": format!("Client {i}"), "family_name": "U", "nationalities": ["UA"], "sex": "female", "birth_year": 1990})).await;
            session(&app, &counselor, &client, "legal", "phone", "2026-11-03T10:00:00Z", 30).await;
        }
    }
    let report = fetch_report(&app, &admin, "from=2026-11-01&to=2026-11-30").await;
    assert_eq!(report["consortium"], true);
    let by_name = |name: &str| {
        report["organisations"].as_array().unwrap().iter().find(|o| o["short_name"] == name).unwrap()["indicators"]
            .clone()
    };
    let (small, large) = (by_name("SMALL"), by_name("LARGE"));
    assert_eq!(small["clients_by_nationality"]["UA"], "<5");
    assert_eq!(small["clients_served"], "<5");
    assert!(!large["clients_by_nationality"]["UA"].is_number(), "the other cell is hidden too: {large}");
    assert!(!large["clients_served"].is_number());
    assert_eq!(report["totals"]["clients_by_nationality"]["UA"], 13);
    let visible: i64 = report["organisations"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| o["indicators"]["clients_by_nationality"]["UA"].as_i64())
        .sum();
    assert_eq!(visible, 0, "no subtraction from the total gives the small organisation's count");
}

/// A coordinator naming another (or no) organisation gets a 404, as the contract documents.
#[tokio::test]
async fn another_organisations_report_is_a_documented_404() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let own = app.create_organisation(&admin, "PFM").await;
    let other = app.create_organisation(&admin, "HFPC").await;
    let coordinator = app.create_user(&admin, Some(own), "coordinator").await;
    for organisation in [other, casebridge::db::Id::new()] {
        let response = app
            .get(&format!("/api/v1/reports/indicators?from=2026-11-01&to=2026-11-30&organisation_id={organisation}"))
            .bearer_auth(&coordinator.token)
            .send()
            .await
            .unwrap();
        assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
    }
    let document: Value = body(app.get("/api/v1/openapi.json").send().await.unwrap()).await;
    let responses = &document["paths"]["/api/v1/reports/indicators"]["get"]["responses"];
    assert!(responses["404"].is_object(), "the report does not document 404: {responses}");
}
