//! Donor indicators: figures worked out by hand, CSV, small-cell suppression, stability under
//! erasure, and the rules that keep a report from singling out a person (whole months, listed
//! cities, suppression for analysts).

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
    for (name, city) in [("Anna", "Lublin"), ("Borys", "Lublin"), ("Daria", "Warszawa")] {
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
    let report = fetch_report(&app, &coordinator, "from=2026-11-01&to=2026-11-30&city=Lublin").await;
    assert_eq!(report["city"], "Lublin");
    let lublin = &report["organisations"][0]["indicators"];
    assert_eq!(lublin["sessions"], 2);
    assert_eq!(lublin["clients_served"], 2);
    assert_eq!(lublin["new_clients"], 2);
    assert_eq!(lublin["sessions_by_mode"], json!({"in_person": 2}));
    let spelt = fetch_report(&app, &coordinator, "from=2026-11-01&to=2026-11-30&city=%20LUBLIN").await;
    assert_eq!(spelt["city"], "Lublin", "the organisation's spelling, whatever the case");
    assert_eq!(spelt["organisations"], report["organisations"]);
}

/// A city is one of the organisation's own list: a free-text one could be the place where the
/// organisation served one person.
#[tokio::test]
async fn a_report_for_a_city_outside_the_organisations_list_is_refused() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let organisation = app.create_organisation(&admin, "PFM").await;
    let coordinator = app.create_user(&admin, Some(organisation), "coordinator").await;
    let analyst = app.create_user(&admin, Some(organisation), "analyst").await;
    let counselor = app.create_user(&admin, Some(organisation), "counselor").await;
    let client =
        create_client(&app, &counselor, json!({"given_names": "Anna", "family_name": "W", "city": "Gdańsk"})).await;
    session(&app, &counselor, &client, "legal", "in_person", "2026-11-03T10:00:00Z", 60).await;
    for account in [&coordinator, &analyst, &admin] {
        let response = app
            .get("/api/v1/reports/indicators?from=2026-11-01&to=2026-11-30&city=Gda%C5%84sk")
            .bearer_auth(&account.token)
            .send()
            .await
            .unwrap();
        let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(problem["errors"]["city"], "must be one of the organisation's cities: Lublin, Warszawa");
    }
    let report = fetch_report(&app, &analyst, "from=2026-11-01&to=2026-11-30&city=Warszawa").await;
    assert_eq!(report["organisations"][0]["indicators"]["sessions"], 0);
    let document: Value = body(app.get("/api/v1/openapi.json").send().await.unwrap()).await;
    let responses = &document["paths"]["/api/v1/reports/indicators"]["get"]["responses"];
    assert!(responses["422"].is_object(), "the report does not document 422: {responses}");
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
    assert_eq!(report["suppressed"], true);
    assert_eq!(small["clients_by_nationality"]["UA"], "<5");
    assert_eq!(small["clients_served"], "<5");
    assert_eq!(small["sessions"], "<5");
    assert_eq!(small["counseling_hours"], "<5", "hours are hidden with their count");
    assert_eq!(large["sessions"], "suppressed");
    assert_eq!(large["counseling_hours"], "suppressed", "or the total would give the small one's hours");
    assert_eq!(report["totals"]["counseling_hours"], 6.5);
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
    for organisation in [other, casebridge::db::OrganisationId::new()] {
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
    let periods = ["from=2026-10-01&to=2026-12-31", "from=2026-11-01&to=2026-11-30", "from=2026-11-01&to=2026-12-31"];
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
    assert_eq!(after, before, "outsiders' figures of every period are unchanged");
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

    // Outside the tier a period is whole months; inside it one that covers part of a month
    // shows no monthly cell for that month.
    let partial = "/api/v1/sessions/counts?from=2026-10-02&to=2026-11-30";
    let refused = app.get(partial).bearer_auth(&coordinator.token).send().await.unwrap();
    assert_problem(refused, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let partial = counts(&app, &psychologist_coordinator, "from=2026-10-02&to=2026-11-30").await;
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

/// The first and last days of the month `today` falls in, as query parameters.
fn this_month() -> String {
    use chrono::Datelike;
    let today = casebridge::domain::today();
    let first = today.with_day(1).unwrap();
    let last = (first + chrono::Months::new(1)).pred_opt().unwrap();
    format!("from={first}&to={last}")
}

/// One client served on one day: outside the tier, no pair of periods that differ by that day
/// can be asked for. Inside it (psychologists, who hold the records anyway) any period can.
#[tokio::test]
async fn reports_outside_the_tier_are_whole_months_so_one_days_client_cannot_be_subtracted_out() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let organisation = Some(app.create_organisation(&admin, "PFM").await);
    let coordinator = app.staff(&admin, organisation, "coordinator", &["social"]).await;
    let psychologist_coordinator = app.staff(&admin, organisation, "coordinator", &["psychological"]).await;
    let analyst = app.create_user(&admin, organisation, "analyst").await;
    let counselor = app.create_user(&admin, organisation, "counselor").await;
    for i in 0..5 {
        let client = create_client(
            &app,
            &counselor,
            json!({"given_names": format!("Client {i}"), "family_name": "R", "nationalities": ["RU"]}),
        )
        .await;
        session(&app, &counselor, &client, "legal", "in_person", "2026-11-02T10:00:00Z", 60).await;
    }
    // Bohdan, the only Ukrainian, comes once, on 3 November.
    let bohdan =
        create_client(&app, &counselor, json!({"given_names": "Bohdan", "family_name": "K", "nationalities": ["UA"]}))
            .await;
    session(&app, &counselor, &bohdan, "legal", "in_person", "2026-11-03T10:00:00Z", 60).await;

    let through_the_3rd = "from=2026-11-01&to=2026-11-03";
    let through_the_2nd = "from=2026-11-01&to=2026-11-02";
    let from_the_3rd = "from=2026-11-03&to=2026-11-30";
    for account in [&coordinator, &analyst, &admin] {
        for (period, field) in [(through_the_3rd, "to"), (through_the_2nd, "to"), (from_the_3rd, "from")] {
            let response = app
                .get(&format!("/api/v1/reports/indicators?{period}"))
                .bearer_auth(&account.token)
                .send()
                .await
                .unwrap();
            let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
            let message = problem["errors"][field].as_str().unwrap_or_else(|| panic!("no errors.{field}: {problem}"));
            assert!(message.contains("whole calendar months"), "{message}");
        }
    }
    let counted = app
        .get(&format!("/api/v1/sessions/counts?{through_the_3rd}"))
        .bearer_auth(&analyst.token)
        .send()
        .await
        .unwrap();
    assert_problem(counted, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;

    // The difference the rule prevents: inside the tier, the two periods differ by Bohdan.
    let served = |report: &Value| report["organisations"][0]["indicators"]["clients_served"].clone();
    let longer = fetch_report(&app, &psychologist_coordinator, through_the_3rd).await;
    let shorter = fetch_report(&app, &psychologist_coordinator, through_the_2nd).await;
    assert_eq!((served(&longer), served(&shorter)), (json!(6), json!(5)));

    // The whole month shows the analyst no more than that someone of a small group came.
    let month = fetch_report(&app, &analyst, "from=2026-11-01&to=2026-11-30").await;
    assert_eq!(month["suppressed"], true);
    let figures = &month["organisations"][0]["indicators"];
    assert_eq!(figures["clients_served"], 6);
    assert_eq!(figures["clients_by_nationality"], json!({"RU": 5, "UA": "<5"}));
}

#[tokio::test]
async fn an_analyst_sees_small_counts_of_the_organisation_as_under_five_with_their_hours() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let organisation = app.create_organisation(&admin, "PFM").await;
    let coordinator = app.create_user(&admin, Some(organisation), "coordinator").await;
    let analyst = app.create_user(&admin, Some(organisation), "analyst").await;
    let counselor = app.create_user(&admin, Some(organisation), "counselor").await;
    // November: six legal sessions and one "other"; October: two sessions.
    for i in 0..7 {
        let client =
            create_client(&app, &counselor, json!({"given_names": format!("Client {i}"), "family_name": "N"})).await;
        let kind = if i == 0 { "other" } else { "legal" };
        session(&app, &counselor, &client, kind, "in_person", "2026-11-04T10:00:00Z", 30).await;
        if i < 2 {
            session(&app, &counselor, &client, "legal", "phone", "2026-10-04T10:00:00Z", 45).await;
        }
    }
    let november = "from=2026-11-01&to=2026-11-30";
    let october = "from=2026-10-01&to=2026-10-31";

    let exact = fetch_report(&app, &coordinator, november).await;
    assert_eq!(exact["suppressed"], false, "the coordinator holds the records anyway");
    assert_eq!(exact["organisations"][0]["indicators"]["sessions_by_kind"], json!({"legal": 6, "other": 1}));

    let report = fetch_report(&app, &analyst, november).await;
    assert_eq!(report["suppressed"], true);
    let figures = &report["organisations"][0]["indicators"];
    assert_eq!(figures["sessions"], 7);
    assert_eq!(figures["counseling_hours"], 3.5);
    assert_eq!(
        figures["sessions_by_kind"],
        json!({"legal": "suppressed", "other": "<5"}),
        "the 1 is hidden, and the 6 with it, or 7 - 6 would give it"
    );

    let report = fetch_report(&app, &analyst, october).await;
    let figures = &report["organisations"][0]["indicators"];
    assert_eq!(figures["sessions"], "<5");
    assert_eq!(figures["clients_served"], "<5");
    assert_eq!(figures["counseling_hours"], "<5", "hours are hidden with their count");
    let exact = &fetch_report(&app, &coordinator, october).await["organisations"][0]["indicators"];
    assert_eq!((exact["sessions"].clone(), exact["counseling_hours"].clone()), (json!(2), json!(1.5)));
    let csv = app
        .get(&format!("/api/v1/reports/indicators?{october}"))
        .bearer_auth(&analyst.token)
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(csv.lines().any(|l| l == "PFM,counseling_hours,,,<5"), "{csv}");
    assert!(csv.lines().any(|l| l == "PFM,sessions,,,<5"), "{csv}");

    // The session counts say the same.
    let counted = counts(&app, &analyst, november).await;
    assert_eq!(counted["suppressed"], true);
    assert_eq!((counted["sessions"].clone(), counted["minutes"].clone()), (json!(7), json!(210)));
    assert_eq!(
        counted["by_kind"],
        json!([{"kind": "legal", "sessions": "suppressed", "minutes": "suppressed"},
               {"kind": "other", "sessions": "<5", "minutes": "<5"}])
    );
    let counted = counts(&app, &analyst, october).await;
    assert_eq!((counted["sessions"].clone(), counted["minutes"].clone()), (json!("<5"), json!("<5")));
    for staff in [&coordinator, &counselor] {
        let exact = counts(&app, staff, october).await;
        assert_eq!(exact["suppressed"], false, "staff who hold the records get exact counts");
        assert_eq!(exact["by_kind"], json!([{"kind": "legal", "sessions": 2, "minutes": 90}]));
    }
}

/// The median time to answer a referral is one answer's time when there is one answer.
#[tokio::test]
async fn an_analysts_median_time_to_answer_is_hidden_while_fewer_than_five_referrals_were_answered() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let pfm = app.create_organisation(&admin, "PFM").await;
    let partner = app.create_organisation(&admin, "HFPC").await;
    let counselor = app.create_user(&admin, Some(pfm), "counselor").await;
    let lawyer = app.create_user(&admin, Some(partner), "counselor").await;
    let coordinator = app.create_user(&admin, Some(partner), "coordinator").await;
    let analyst = app.create_user(&admin, Some(partner), "analyst").await;
    let client = create_client(&app, &counselor, json!({"given_names": "Aslan", "family_name": "B"})).await;
    let client_id = client["id"].as_str().unwrap();
    let consent: Value = body(
        app.post(&format!("/api/v1/clients/{client_id}/consents"))
            .bearer_auth(&counselor.token)
            .json(&json!({"purpose": "sharing_with_partner", "partner_id": partner, "scope": ["identity"],
                          "given_on": "2026-11-02", "language": "ru", "form_version": "PFM-2026-01"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let referral: Value = body(
        app.post("/api/v1/referrals")
            .bearer_auth(&counselor.token)
            .json(&json!({"client_id": client_id, "to_organisation_id": partner, "service": "legal",
                          "urgency": "routine", "reason": "Appeal", "shared_fields": ["given_names"],
                          "consent_id": consent["id"]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let accepted = app
        .post(&format!("/api/v1/referrals/{}/accept", referral["id"].as_str().unwrap()))
        .bearer_auth(&lawyer.token)
        .header("if-match", "\"1\"")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), StatusCode::OK);

    let period = this_month();
    let exact = &fetch_report(&app, &coordinator, &period).await["organisations"][0]["indicators"];
    assert!(exact["median_hours_to_answer"].is_number(), "{exact}");
    let figures = &fetch_report(&app, &analyst, &period).await["organisations"][0]["indicators"];
    assert_eq!(figures["median_hours_to_answer"], "<5");
    assert_eq!(figures["referrals_received"], json!({pfm.to_string(): {"accepted": "<5"}}));
}

async fn appointment(app: &TestApp, counselor: &Account, client: &Value, kind: &str, city: &str, at: &str) -> Value {
    let response = app
        .post(&format!("/api/v1/clients/{}/appointments", client["id"].as_str().unwrap()))
        .bearer_auth(&counselor.token)
        .json(&json!({"kind": kind, "mode": "in_person", "city": city, "starts_at": at, "duration_minutes": 30}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED, "{}", response.text().await.unwrap());
    response.json().await.unwrap()
}

async fn end(app: &TestApp, counselor: &Account, appointment: &Value, how: &str, body: Value) {
    let response = app
        .post(&format!("/api/v1/appointments/{}/{how}", appointment["id"].as_str().unwrap()))
        .bearer_auth(&counselor.token)
        .header("if-match", "\"1\"")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{how}: {}", response.text().await.unwrap());
}

#[tokio::test]
async fn appointments_held_cancelled_and_missed_are_counted_by_kind_and_city_with_their_rates() {
    let app = TestApp::spawn().await;
    app.clock.set("2026-11-20T12:00:00Z".parse().unwrap());
    let admin = app.admin().await;
    let organisation = Some(app.create_organisation(&admin, "PFM").await);
    let coordinator = app.staff(&admin, organisation, "coordinator", &["social"]).await;
    let counselor = app.staff(&coordinator, organisation, "counselor", &["legal"]).await;
    let psychologist = app.staff(&coordinator, organisation, "counselor", &["psychological"]).await;
    let analyst = app.create_user(&coordinator, organisation, "analyst").await;
    let client = create_client(&app, &counselor, json!({"given_names": "Aslan", "family_name": "Basayev"})).await;
    let held = appointment(&app, &counselor, &client, "legal", "Lublin", "2026-11-03T09:00:00Z").await;
    end(&app, &counselor, &held, "hold", json!({})).await;
    let cancelled = appointment(&app, &counselor, &client, "legal", "Lublin", "2026-11-04T09:00:00Z").await;
    end(&app, &counselor, &cancelled, "cancel", json!({"reason": "The client is ill"})).await;
    let missed =
        appointment(&app, &counselor, &client, "legal", "Biała Podlaska, the office", "2026-11-05T09:00:00Z").await;
    end(&app, &counselor, &missed, "mark-no-show", json!({})).await;
    let missed_too = appointment(&app, &counselor, &client, "legal", "lublin", "2026-11-06T09:00:00Z").await;
    end(&app, &counselor, &missed_too, "mark-no-show", json!({})).await;
    appointment(&app, &counselor, &client, "legal", "Lublin", "2026-11-21T09:00:00Z").await;
    let private = appointment(&app, &psychologist, &client, "psychological", "Lublin", "2026-11-07T09:00:00Z").await;
    end(&app, &psychologist, &private, "mark-no-show", json!({})).await;

    let report = fetch_report(&app, &coordinator, "from=2026-11-01&to=2026-11-30").await;
    let indicators = &report["organisations"][0]["indicators"];
    assert_eq!(
        indicators["appointments_by_kind"],
        json!({"legal": {"held": 1, "cancelled": 1, "no_show": 2}}),
        "planned ones are no outcome yet, and the tier's are for psychologists: {indicators}"
    );
    assert_eq!(
        indicators["appointments_by_city"],
        json!({"Lublin": {"held": 1, "cancelled": 1, "no_show": 1}, "other": {"held": 0, "cancelled": 0, "no_show": 1}}),
        "a city is the organisation's own spelling, or `other`: nothing typed reaches a report"
    );
    assert_eq!(
        indicators["appointment_rates_by_kind"]["legal"],
        json!({"held": 0.25, "cancelled": 0.25, "no_show": 0.5})
    );

    let psychologist_coordinator = app.staff(&admin, organisation, "coordinator", &["psychological"]).await;
    let inside = fetch_report(&app, &psychologist_coordinator, "from=2026-11-01&to=2026-11-30").await;
    assert_eq!(inside["organisations"][0]["indicators"]["appointments_by_kind"]["psychological"]["no_show"], 1);

    let suppressed = fetch_report(&app, &analyst, "from=2026-11-01&to=2026-11-30").await;
    let indicators = &suppressed["organisations"][0]["indicators"];
    assert_eq!(indicators["appointments_by_kind"]["legal"]["held"], "<5");
    assert_eq!(indicators["appointment_rates_by_kind"]["legal"]["held"], Value::Null, "no rate of hidden counts");
    let csv = app
        .get("/api/v1/reports/indicators?from=2026-11-01&to=2026-11-30")
        .bearer_auth(&coordinator.token)
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(csv.contains("PFM,appointments_by_kind,legal,no_show,2"), "{csv}");
    assert!(csv.contains("PFM,appointment_rates_by_kind,legal,no_show,0.5"), "{csv}");
}
