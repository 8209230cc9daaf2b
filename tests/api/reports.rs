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

async fn counts(app: &TestApp, account: &Account, query: &str) -> Value {
    body(app.get(&format!("/api/v1/sessions/counts?{query}")).bearer_auth(&account.token).send().await.unwrap()).await
}

/// What an outsider of the psychological tier gets for a period: the report (JSON and CSV)
/// and the session counts.
async fn outsiders_figures(app: &TestApp, account: &Account, query: &str) -> (Value, String, Value) {
    let report = fetch_report(app, account, query).await;
    let csv = app
        .get(&format!("/api/v1/reports/indicators?{query}"))
        .bearer_auth(&account.token)
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    (report, csv, counts(app, account, query).await)
}

#[tokio::test]
async fn outside_the_tier_no_figure_changes_when_a_psychological_session_is_logged() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let organisation = Some(app.create_organisation(&admin, "PFM").await);
    let coordinator = app.staff(&admin, organisation, "coordinator", &["social"]).await;
    let analyst = app.create_user(&admin, organisation, "analyst").await;
    let counselor = app.create_user(&admin, organisation, "counselor").await;
    let psychologist = app.staff(&coordinator, organisation, "counselor", &["psychological"]).await;
    let amina = create_client(&app, &counselor, json!({"given_names": "Amina", "family_name": "S", "sex": "female", "birth_year": 1990, "nationalities": ["RU"], "vulnerabilities": ["ptsd"]})).await;
    let bohdan = create_client(&app, &counselor, json!({"given_names": "Bohdan", "family_name": "K", "sex": "male", "birth_year": 1980, "nationalities": ["UA"]})).await;
    session(&app, &counselor, &amina, "legal", "in_person", "2026-11-03T10:00:00Z", 60).await;
    clients_created_in_november(&app);
    let periods = ["from=2026-11-04&to=2026-11-20", "from=2026-11-01&to=2026-11-30", "from=2026-10-15&to=2026-12-31"];
    let mut before = Vec::new();
    for account in [&coordinator, &analyst] {
        for period in periods {
            before.push(outsiders_figures(&app, account, period).await);
        }
    }

    // Bohdan, served by nobody else, sees a psychologist: every figure derived from him would
    // move (clients served, sex and age, nationality, hours).
    session(&app, &psychologist, &bohdan, "psychological", "video", "2026-11-05T10:00:00Z", 50).await;
    let mut after = Vec::new();
    for account in [&coordinator, &analyst] {
        for period in periods {
            after.push(outsiders_figures(&app, account, period).await);
        }
    }
    assert_eq!(after, before, "outsiders' figures by day range and by month are unchanged");
    let month = &after[1].0["organisations"][0]["indicators"];
    assert_eq!(month["psychological_by_month"], json!([{"month": "2026-11", "sessions": "<5", "hours": "<5"}]));
    assert!(after[1].1.lines().any(|l| l == "PFM,psychological_by_month,2026-11,sessions,<5"), "{}", after[1].1);
}

#[tokio::test]
async fn psychological_work_shows_outside_the_tier_only_as_suppressed_whole_months() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let organisation = Some(app.create_organisation(&admin, "PFM").await);
    let coordinator = app.staff(&admin, organisation, "coordinator", &["social"]).await;
    let psychologist_coordinator = app.staff(&admin, organisation, "coordinator", &["psychological"]).await;
    let psychologist = app.staff(&coordinator, organisation, "counselor", &["psychological"]).await;
    let counselor = app.create_user(&admin, organisation, "counselor").await;
    let client = create_client(&app, &psychologist, json!({"given_names": "Amina", "family_name": "S"})).await;
    // Three sessions in October, six in November (one of them on its last evening, Warsaw time).
    for day in ["01", "10", "20"] {
        session(&app, &psychologist, &client, "psychological", "in_person", &format!("2026-10-{day}T10:00:00Z"), 60)
            .await;
    }
    for day in ["02", "03", "04", "05", "06"] {
        session(&app, &psychologist, &client, "psychological", "in_person", &format!("2026-11-{day}T10:00:00Z"), 60)
            .await;
    }
    session(&app, &psychologist, &client, "psychological", "in_person", "2026-11-30T22:30:00Z", 45).await;
    session(&app, &counselor, &client, "legal", "phone", "2026-11-07T10:00:00Z", 30).await;

    let query = "from=2026-10-01&to=2026-11-30";
    let outside = counts(&app, &coordinator, query).await;
    assert_eq!(
        outside["psychological_by_month"],
        json!([
            {"month": "2026-10", "sessions": "<5", "hours": "<5"},
            {"month": "2026-11", "sessions": 6, "hours": 6},
        ])
    );
    assert_eq!((outside["sessions"].clone(), outside["minutes"].clone()), (json!(1), json!(30)));
    let report = fetch_report(&app, &coordinator, query).await;
    let figures = &report["organisations"][0]["indicators"];
    assert_eq!(figures["psychological_by_month"], outside["psychological_by_month"]);
    assert_eq!(figures["sessions_by_kind"], json!({"legal": 1}));
    assert_eq!(figures["sessions"], 1);

    // A period that covers part of a month shows no cell for it.
    let partial = counts(&app, &coordinator, "from=2026-10-02&to=2026-11-30").await;
    assert_eq!(partial["psychological_by_month"], json!([{"month": "2026-11", "sessions": 6, "hours": 6}]));

    let inside = counts(&app, &psychologist_coordinator, query).await;
    assert_eq!(
        inside["psychological_by_month"],
        json!([
            {"month": "2026-10", "sessions": 3, "hours": 3},
            {"month": "2026-11", "sessions": 6, "hours": 6},
        ])
    );
    assert_eq!((inside["sessions"].clone(), inside["minutes"].clone()), (json!(10), json!(555)));
    let report = fetch_report(&app, &psychologist_coordinator, query).await;
    let figures = &report["organisations"][0]["indicators"];
    assert_eq!(figures["sessions_by_kind"], json!({"legal": 1, "psychological": 9}));
    assert_eq!(figures["sessions"], 10);
    assert_eq!(figures["counseling_hours"], 9.3);
}
