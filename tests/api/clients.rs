//! Clients: the case file, search, duplicates, households, idempotency and concurrency.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Account, TestApp, assert_problem, body};

/// An organisation with a counselor, ready to record clients.
pub async fn counselor_of(app: &TestApp, short_name: &str) -> Account {
    let admin = app.admin().await;
    let organisation = app.create_organisation(&admin, short_name).await;
    app.create_user(&admin, Some(organisation), "counselor").await
}

pub async fn create_client(app: &TestApp, account: &Account, client: Value) -> Value {
    let response = app.post("/api/v1/clients").bearer_auth(&account.token).json(&client).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED, "{}", response.text().await.unwrap());
    response.json().await.unwrap()
}

async fn search(app: &TestApp, account: &Account, query: &str) -> Vec<Value> {
    let page: Value =
        body(app.get(&format!("/api/v1/clients?{query}")).bearer_auth(&account.token).send().await.unwrap()).await;
    page["items"].as_array().unwrap_or_else(|| panic!("not a page: {page}")).clone()
}

#[tokio::test]
async fn counselor_records_a_client_with_a_generated_reference() {
    let app = TestApp::spawn().await;
    let counselor = counselor_of(&app, "PFM").await;
    let first = create_client(
        &app,
        &counselor,
        json!({
            "given_names": "Magomed", "family_name": "Dudayev", "native_name": "Магомед Дудаев",
            "date_of_birth": "1988-03-14", "sex": "male", "nationalities": ["ru"], "region_of_origin": "Chechnya",
            "languages": ["ce", "ru"], "interpreter_needed": true, "city": "Warszawa",
            "accommodation": "reception_centre", "phone": "+48 600 100 200", "vulnerabilities": ["torture_victim", "ptsd"],
            "identifiers": [{"kind": "udsc_case_number", "value": "DPU-123/26"}],
        }),
    )
    .await;
    let year = chrono::Utc::now().format("%Y").to_string();
    assert_eq!(first["reference"], format!("PFM-{year}-0001"));
    assert_eq!(first["nationalities"], json!(["RU"]));
    assert_eq!(first["birth_year"], 1988);
    assert_eq!(first["status"], "active");
    assert_eq!(first["version"], 1);
    let second = create_client(&app, &counselor, json!({"given_names": "Amina", "family_name": "Dudayeva"})).await;
    assert_eq!(second["reference"], format!("PFM-{year}-0002"));
    assert_eq!(second["sex"], "unknown");

    let read = app
        .get(&format!("/api/v1/clients/{}", first["id"].as_str().unwrap()))
        .bearer_auth(&counselor.token)
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), StatusCode::OK);
    assert_eq!(read.headers()["etag"], "\"1\"");
    let read: Value = read.json().await.unwrap();
    assert_eq!(read["native_name"], "Магомед Дудаев");
    assert_eq!(app.audit_count("client.read"), 1);
}

#[tokio::test]
async fn invalid_client_fields_are_all_reported() {
    let app = TestApp::spawn().await;
    let counselor = counselor_of(&app, "PFM").await;
    let response = app
        .post("/api/v1/clients")
        .bearer_auth(&counselor.token)
        .json(&json!({
            "given_names": "", "family_name": "X".repeat(101), "date_of_birth": "2999-01-01",
            "nationalities": ["XX"], "languages": ["klingon"], "phone": "call me", "email": "nope",
            "identifiers": [{"kind": "pesel", "value": "12345678901"}], "birth_year": 1800,
        }))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    for field in [
        "given_names",
        "family_name",
        "date_of_birth",
        "nationalities",
        "languages",
        "phone",
        "email",
        "identifiers",
        "birth_year",
    ] {
        assert!(problem["errors"][field].is_string(), "no error for {field}: {problem}");
    }
    let unknown = app
        .post("/api/v1/clients")
        .bearer_auth(&counselor.token)
        .json(&json!({"given_names": "A", "family_name": "B", "organisation_id": "whatever"}))
        .send()
        .await
        .unwrap();
    assert_problem(unknown, StatusCode::BAD_REQUEST, "invalid_body").await;
    let page: Value = body(app.get("/api/v1/clients").bearer_auth(&counselor.token).send().await.unwrap()).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 0, "nothing was written");
}

#[tokio::test]
async fn names_are_found_whatever_their_case_script_or_diacritics() {
    let app = TestApp::spawn().await;
    let counselor = counselor_of(&app, "PFM").await;
    let magomed = create_client(&app, &counselor, json!({"given_names": "Магомед", "family_name": "Умаров"})).await;
    let lukasz = create_client(&app, &counselor, json!({"given_names": "Łukasz", "family_name": "Żółkiewski"})).await;
    create_client(&app, &counselor, json!({"given_names": "Olena", "family_name": "Kovalenko"})).await;
    for query in
        ["q=Magomed", "q=MAGOMED", "q=%D0%9C%D0%B0%D0%B3%D0%BE%D0%BC%D0%B5%D0%B4", "q=magomed%20umarov", "q=umar"]
    {
        let found = search(&app, &counselor, query).await;
        assert_eq!(found.len(), 1, "{query}");
        assert_eq!(found[0]["id"], magomed["id"], "{query}");
    }
    for query in ["q=lukasz", "q=%C5%81UKASZ", "q=zolkiewski"] {
        let found = search(&app, &counselor, query).await;
        assert_eq!(found.len(), 1, "{query}");
        assert_eq!(found[0]["id"], lukasz["id"], "{query}");
    }
    assert!(search(&app, &counselor, "q=magomedov").await.is_empty());
    let by_reference =
        search(&app, &counselor, &format!("q={}", lukasz["reference"].as_str().unwrap().to_lowercase())).await;
    assert_eq!(by_reference.len(), 1);
    assert_eq!(by_reference[0]["id"], lukasz["id"]);
}

#[tokio::test]
async fn filters_narrow_the_search_and_pages_follow_each_other() {
    let app = TestApp::spawn().await;
    let counselor = counselor_of(&app, "PFM").await;
    let chechen = json!({"given_names": "Aslan", "family_name": "Basayev", "nationalities": ["RU"], "languages": ["ce"],
                         "vulnerabilities": ["ptsd"], "city": "Łódź"});
    let belarusian = json!({"given_names": "Ales", "family_name": "Bialiatski", "nationalities": ["BY"], "languages": ["be"], "city": "Lublin"});
    for _ in 0..3 {
        create_client(&app, &counselor, chechen.clone()).await;
    }
    create_client(&app, &counselor, belarusian).await;
    assert_eq!(search(&app, &counselor, "nationality=ru").await.len(), 3);
    assert_eq!(search(&app, &counselor, "language=be").await.len(), 1);
    assert_eq!(search(&app, &counselor, "vulnerability=ptsd&nationality=RU").await.len(), 3);
    assert_eq!(search(&app, &counselor, "city=lodz").await.len(), 3);
    assert_eq!(search(&app, &counselor, "status=closed").await.len(), 0);

    let first: Value =
        body(app.get("/api/v1/clients?nationality=RU&limit=2").bearer_auth(&counselor.token).send().await.unwrap())
            .await;
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second: Value = body(
        app.get(&format!("/api/v1/clients?nationality=RU&limit=2&cursor={cursor}"))
            .bearer_auth(&counselor.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(second["items"].as_array().unwrap().len(), 1);
    assert!(second["next_cursor"].is_null());
    assert_ne!(second["items"][0]["id"], first["items"][0]["id"]);

    let bad =
        app.get("/api/v1/clients?nationality=XX&vulnerability=sad").bearer_auth(&counselor.token).send().await.unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn duplicate_check_finds_the_same_person_typed_two_ways() {
    let app = TestApp::spawn().await;
    let counselor = counselor_of(&app, "PFM").await;
    let existing = create_client(
        &app,
        &counselor,
        json!({"given_names": "Рамзан", "family_name": "Кадыров", "date_of_birth": "1990-10-05",
               "identifiers": [{"kind": "passport", "value": "75 1234567"}]}),
    )
    .await;
    create_client(&app, &counselor, json!({"given_names": "Ramzan", "family_name": "Other"})).await;

    let response = app
        .post("/api/v1/clients/duplicate-check")
        .bearer_auth(&counselor.token)
        .json(&json!({"given_names": "KADYROV", "family_name": "Ramzan", "date_of_birth": "1990-10-05"}))
        .send()
        .await
        .unwrap();
    let result: Value = body(response).await;
    let matches = result["matches"].as_array().unwrap();
    assert_eq!(matches.len(), 1, "{result}");
    assert_eq!(matches[0]["client"]["id"], existing["id"]);
    assert_eq!(matches[0]["matched"], json!(["name", "date_of_birth"]));

    let by_passport: Value = body(
        app.post("/api/v1/clients/duplicate-check")
            .bearer_auth(&counselor.token)
            .json(&json!({"given_names": "R.", "family_name": "K.", "identifiers": [{"kind": "passport", "value": "751234567"}]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(by_passport["matches"][0]["client"]["id"], existing["id"]);
    assert_eq!(by_passport["matches"][0]["score"], 1.0);

    let other_organisation = counselor_of(&app, "HFPC").await;
    let elsewhere: Value = body(
        app.post("/api/v1/clients/duplicate-check")
            .bearer_auth(&other_organisation.token)
            .json(&json!({"given_names": "Ramzan", "family_name": "Kadyrov", "date_of_birth": "1990-10-05"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(elsewhere["matches"], json!([]), "another organisation's clients are never matched");
}

#[tokio::test]
async fn concurrent_changes_with_the_same_version_let_exactly_one_win() {
    let app = TestApp::spawn().await;
    let counselor = counselor_of(&app, "PFM").await;
    let client = create_client(&app, &counselor, json!({"given_names": "Amina", "family_name": "Saidova"})).await;
    let path = format!("/api/v1/clients/{}", client["id"].as_str().unwrap());
    let first =
        app.patch(&path).bearer_auth(&counselor.token).header("if-match", "\"1\"").json(&json!({"city": "Poznań"}));
    let second =
        app.patch(&path).bearer_auth(&counselor.token).header("if-match", "\"1\"").json(&json!({"phone": "+48 500"}));
    let (a, b) = tokio::join!(first.send(), second.send());
    let mut statuses = [a.unwrap().status(), b.unwrap().status()];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::PRECONDITION_FAILED]);
    let current: Value = body(app.get(&path).bearer_auth(&counselor.token).send().await.unwrap()).await;
    assert_eq!(current["version"], 2);
    assert!(current["city"] == "Poznań" || current["phone"] == "+48 500");
    assert!(
        current["city"].is_null() || current["phone"].is_null(),
        "no lost update: only the winner's change is there"
    );

    let cleared = app
        .patch(&path)
        .bearer_auth(&counselor.token)
        .header("if-match", "\"2\"")
        .json(&json!({"city": null, "phone": null, "languages": ["uk"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(cleared.status(), StatusCode::OK);
    let cleared: Value = cleared.json().await.unwrap();
    assert!(cleared["city"].is_null() && cleared["phone"].is_null());
    assert_eq!(cleared["languages"], json!(["uk"]));
    assert_eq!(cleared["given_names"], "Amina", "absent fields stay");
}

#[tokio::test]
async fn the_same_idempotency_key_creates_one_client() {
    let app = TestApp::spawn().await;
    let counselor = counselor_of(&app, "PFM").await;
    let send = |body: Value| {
        app.post("/api/v1/clients")
            .bearer_auth(&counselor.token)
            .header("idempotency-key", "create-amina-1")
            .json(&body)
            .send()
    };
    let first = send(json!({"given_names": "Amina", "family_name": "Saidova"})).await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let location = first.headers()["location"].clone();
    let first: Value = first.json().await.unwrap();
    let retry = send(json!({"given_names": "Amina", "family_name": "Saidova"})).await.unwrap();
    assert_eq!(retry.status(), StatusCode::CREATED);
    assert_eq!(retry.headers()["location"], location);
    assert_eq!(retry.json::<Value>().await.unwrap(), first);
    let page: Value = body(app.get("/api/v1/clients").bearer_auth(&counselor.token).send().await.unwrap()).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);

    let different = send(json!({"given_names": "Someone", "family_name": "Else"})).await.unwrap();
    assert_problem(different, StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused").await;
}

#[tokio::test]
async fn closing_and_reopening_a_case() {
    let app = TestApp::spawn().await;
    let counselor = counselor_of(&app, "PFM").await;
    let client = create_client(&app, &counselor, json!({"given_names": "Amina", "family_name": "Saidova"})).await;
    let id = client["id"].as_str().unwrap();
    let close = |version: &str| {
        app.post(&format!("/api/v1/clients/{id}/close"))
            .bearer_auth(&counselor.token)
            .header("if-match", version.to_owned())
            .json(&json!({"reason": "Moved to Germany"}))
            .send()
    };
    let closed: Value = body(close("\"1\"").await.unwrap()).await;
    assert_eq!(closed["status"], "closed");
    assert_eq!(closed["closed_reason"], "Moved to Germany");
    assert_problem(close("\"2\"").await.unwrap(), StatusCode::CONFLICT, "already_closed").await;
    assert_eq!(search(&app, &counselor, "status=closed").await.len(), 1);
    let reopened = app
        .post(&format!("/api/v1/clients/{id}/reopen"))
        .bearer_auth(&counselor.token)
        .header("if-match", "\"2\"")
        .send()
        .await
        .unwrap();
    assert_eq!(reopened.status(), StatusCode::OK);
    assert_eq!(reopened.json::<Value>().await.unwrap()["status"], "active");
}

#[tokio::test]
async fn a_household_shows_only_members_of_the_viewers_organisation() {
    let app = TestApp::spawn().await;
    let counselor = counselor_of(&app, "PFM").await;
    let other = counselor_of(&app, "HFPC").await;
    let mother = create_client(&app, &counselor, json!({"given_names": "Amina", "family_name": "Saidova"})).await;
    let son = create_client(&app, &counselor, json!({"given_names": "Adam", "family_name": "Saidov"})).await;
    let joined = app
        .request(reqwest::Method::PUT, &format!("/api/v1/clients/{}/household", son["id"].as_str().unwrap()))
        .bearer_auth(&counselor.token)
        .json(&json!({"with_client_id": mother["id"], "relationship": "child"}))
        .send()
        .await
        .unwrap();
    let household_id = body::<Value>(joined).await["household_id"].as_str().unwrap().to_owned();
    // Another organisation's record that carries the same household id (say, from an import).
    let stranger = create_client(&app, &other, json!({"given_names": "Ruslan", "family_name": "Umarov"})).await;
    let stranger_id: casebridge::db::ClientId = stranger["id"].as_str().unwrap().parse().unwrap();
    let household: casebridge::db::HouseholdId = household_id.parse().unwrap();
    app.db(|conn| {
        use casebridge::db::schema::clients::dsl;
        use diesel::prelude::*;
        diesel::update(dsl::clients.find(stranger_id)).set(dsl::household_id.eq(household)).execute(conn).unwrap();
    });

    let view =
        |account: &Account, id: &str| app.get(&format!("/api/v1/clients/{id}")).bearer_auth(&account.token).send();
    let mother_view: Value = body(view(&counselor, mother["id"].as_str().unwrap()).await.unwrap()).await;
    let members: Vec<&str> = mother_view["household"]["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["family_name"].as_str().unwrap())
        .collect();
    assert_eq!(members.len(), 2, "{members:?}");
    assert!(!members.contains(&"Umarov"));
    let stranger_view: Value = body(view(&other, stranger["id"].as_str().unwrap()).await.unwrap()).await;
    let members = stranger_view["household"]["members"].as_array().unwrap();
    assert_eq!(members.len(), 1, "only its own record: {members:?}");
    assert_eq!(members[0]["family_name"], "Umarov");
}

#[tokio::test]
async fn household_members_see_each_other() {
    let app = TestApp::spawn().await;
    let counselor = counselor_of(&app, "PFM").await;
    let mother = create_client(&app, &counselor, json!({"given_names": "Amina", "family_name": "Saidova"})).await;
    let son = create_client(&app, &counselor, json!({"given_names": "Adam", "family_name": "Saidov"})).await;
    let response = app
        .request(reqwest::Method::PUT, &format!("/api/v1/clients/{}/household", son["id"].as_str().unwrap()))
        .bearer_auth(&counselor.token)
        .json(&json!({"with_client_id": mother["id"], "relationship": "child"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let son_view: Value = response.json().await.unwrap();
    let members = son_view["household"]["members"].as_array().unwrap();
    assert_eq!(members.len(), 2);
    let mother_view: Value = body(
        app.get(&format!("/api/v1/clients/{}", mother["id"].as_str().unwrap()))
            .bearer_auth(&counselor.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(mother_view["household_id"], son_view["household_id"]);
    let relationships: Vec<&str> = mother_view["household"]["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["relationship"].as_str().unwrap())
        .collect();
    assert_eq!(relationships, ["head", "child"]);

    let stranger = counselor_of(&app, "HFPC").await;
    let theirs = create_client(&app, &stranger, json!({"given_names": "X", "family_name": "Y"})).await;
    let across = app
        .request(reqwest::Method::PUT, &format!("/api/v1/clients/{}/household", son["id"].as_str().unwrap()))
        .bearer_auth(&counselor.token)
        .json(&json!({"with_client_id": theirs["id"], "relationship": "sibling"}))
        .send()
        .await
        .unwrap();
    // Answered like an unknown id, so it reveals nothing about the other organisation.
    assert_problem(across, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
}

#[tokio::test]
async fn another_organisations_client_is_answered_like_a_missing_one() {
    let app = TestApp::spawn().await;
    let counselor = counselor_of(&app, "PFM").await;
    let stranger = counselor_of(&app, "HFPC").await;
    let client = create_client(&app, &counselor, json!({"given_names": "Amina", "family_name": "Saidova"})).await;
    let theirs = app
        .get(&format!("/api/v1/clients/{}", client["id"].as_str().unwrap()))
        .bearer_auth(&stranger.token)
        .send()
        .await
        .unwrap();
    let missing = app
        .get(&format!("/api/v1/clients/{}", casebridge::db::ClientId::new()))
        .bearer_auth(&stranger.token)
        .send()
        .await
        .unwrap();
    assert_eq!(theirs.status(), StatusCode::NOT_FOUND);
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(body::<Value>(theirs).await, body::<Value>(missing).await);
    assert!(search(&app, &stranger, "q=amina").await.is_empty());
}

#[tokio::test]
async fn reference_data_labels_every_enumeration_in_four_languages() {
    let app = TestApp::spawn().await;
    let data: Value = body(app.get("/api/v1/reference").send().await.unwrap()).await;
    let outcomes = data["enumerations"].as_array().unwrap().iter().find(|e| e["name"] == "procedure_outcome").unwrap();
    let refugee = outcomes["values"].as_array().unwrap().iter().find(|v| v["code"] == "refugee_status").unwrap();
    for language in ["pl", "en", "uk", "ru"] {
        assert!(!refugee["labels"][language].as_str().unwrap().is_empty());
    }
    assert_eq!(refugee["labels"]["pl"], "Status uchodźcy");
}

#[tokio::test]
async fn an_idempotency_key_holds_across_two_api_instances() {
    let first = TestApp::spawn().await;
    let second = first.sibling().await;
    let counselor = counselor_of(&first, "PFM").await;
    let send = |app: &TestApp| {
        app.post("/api/v1/clients")
            .bearer_auth(&counselor.token)
            .header("idempotency-key", "shared-key-7")
            .json(&json!({"given_names": "Amina", "family_name": "Saidova"}))
            .send()
    };
    let on_first: Value = body(send(&first).await.unwrap()).await;
    let on_second = send(&second).await.unwrap();
    assert_eq!(on_second.status(), StatusCode::CREATED);
    assert_eq!(on_second.json::<Value>().await.unwrap(), on_first);
    assert_eq!(search(&second, &counselor, "q=amina").await.len(), 1);
}

/// The client in the path exists; an unknown (or another organisation's) client named in the
/// body is invalid input (422 on `with_client_id`), not a missing resource (404).
#[tokio::test]
async fn joining_the_household_of_an_unknown_client_is_a_422() {
    let app = TestApp::spawn().await;
    let counselor = counselor_of(&app, "PFM").await;
    let outsider = counselor_of(&app, "HFPC").await;
    let son = create_client(&app, &counselor, json!({"given_names": "Adam", "family_name": "Saidov"})).await;
    let stranger = create_client(&app, &outsider, json!({"given_names": "Amina", "family_name": "Saidova"})).await;
    for with_client_id in [json!(casebridge::db::ClientId::new()), stranger["id"].clone()] {
        let response = app
            .request(reqwest::Method::PUT, &format!("/api/v1/clients/{}/household", son["id"].as_str().unwrap()))
            .bearer_auth(&counselor.token)
            .json(&json!({"with_client_id": with_client_id, "relationship": "child"}))
            .send()
            .await
            .unwrap();
        let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert!(problem["errors"]["with_client_id"].is_string(), "{problem}");
    }
}
