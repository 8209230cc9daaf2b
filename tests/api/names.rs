//! A person's name in other scripts and transliterations: search and the duplicate check find
//! the client however the name was written, and rank what they find.

use std::process::Command;

use casebridge::db::schema::{client_name_keys, name_index_state};
use diesel::prelude::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::clients::{counselor_of, create_client};
use crate::helpers::{Account, TestApp, assert_problem, body};

async fn search(app: &TestApp, account: &Account, query: &str) -> Value {
    let response = app.get("/api/v1/clients").query(&[("q", query)]).bearer_auth(&account.token).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{query}");
    response.json().await.unwrap()
}

async fn found_ids(app: &TestApp, account: &Account, query: &str) -> Vec<Value> {
    search(app, account, query).await["items"].as_array().unwrap().iter().map(|c| c["id"].clone()).collect()
}

async fn duplicate_check(app: &TestApp, account: &Account, request: Value) -> Value {
    let response =
        app.post("/api/v1/clients/duplicate-check").bearer_auth(&account.token).json(&request).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{request}");
    response.json().await.unwrap()
}

#[tokio::test]
async fn a_chechen_name_is_found_in_cyrillic_polish_and_passport_spelling() {
    let app = TestApp::spawn().await;
    let counselor = counselor_of(&app, "PFM").await;
    let dudayev = create_client(
        &app,
        &counselor,
        json!({"given_names": "Ramzan", "family_name": "Dudayev", "date_of_birth": "1985-03-09"}),
    )
    .await;
    create_client(&app, &counselor, json!({"given_names": "Ramzan", "family_name": "Dudayeva"})).await;
    create_client(&app, &counselor, json!({"given_names": "Ruslan", "family_name": "Dudin"})).await;

    for query in ["Дудаев", "dudajew", "dudaev", "Doudaev", "Рамзан Дудаев", "Ramzan Dudajew", "DUDAEV RAMZAN"]
    {
        assert_eq!(found_ids(&app, &counselor, query).await, [dudayev["id"].clone()], "{query}");
    }

    for (given, family) in [("Рамзан", "Дудаев"), ("Ramzan", "Dudajew"), ("Ramzan", "Dudaev"), ("Dudaev", "Ramzan")]
    {
        let result = duplicate_check(
            &app,
            &counselor,
            json!({"given_names": given, "family_name": family, "date_of_birth": "1985-03-09"}),
        )
        .await;
        let matches = result["matches"].as_array().unwrap();
        assert_eq!(matches.len(), 1, "{given} {family}: {result}");
        assert_eq!(matches[0]["client"]["id"], dudayev["id"]);
        assert_eq!(matches[0]["matched"], json!(["name", "date_of_birth"]), "{given} {family}");
    }
}

#[tokio::test]
async fn a_client_recorded_in_cyrillic_is_found_in_latin_letters() {
    let app = TestApp::spawn().await;
    let counselor = counselor_of(&app, "PFM").await;
    let client = create_client(
        &app,
        &counselor,
        json!({"given_names": "Рамзан", "family_name": "Дудаев", "birth_year": 1985, "nationalities": ["RU"]}),
    )
    .await;
    for query in ["Dudayev", "dudajew", "Ramzan Dudaev"] {
        assert_eq!(found_ids(&app, &counselor, query).await, [client["id"].clone()], "{query}");
    }
    let result = duplicate_check(
        &app,
        &counselor,
        json!({"given_names": "Ramzan", "family_name": "Dudayev", "date_of_birth": "1985-03-09", "nationalities": ["RU"]}),
    )
    .await;
    assert_eq!(result["matches"][0]["client"]["id"], client["id"]);
    assert_eq!(result["matches"][0]["matched"], json!(["name", "birth_year", "nationality"]));
}

#[tokio::test]
async fn native_names_and_aliases_are_searched_too() {
    let app = TestApp::spawn().await;
    let counselor = counselor_of(&app, "PFM").await;
    let client = create_client(
        &app,
        &counselor,
        json!({"given_names": "Abdulrahman", "family_name": "Saeed", "native_name": "عبد الرحمن سعيد",
               "aliases": ["Szamil Basajew"]}),
    )
    .await;
    for query in ["Abd al-Rahman Said", "Abdul Rahman", "Shamil Basayev", "basaev"] {
        assert_eq!(found_ids(&app, &counselor, query).await, [client["id"].clone()], "{query}");
    }
    // Saad is another name than Saeed.
    assert!(found_ids(&app, &counselor, "Abdulrahman Saad").await.is_empty());
}

#[tokio::test]
async fn an_arabic_script_name_finds_a_client_recorded_in_latin_letters() {
    let app = TestApp::spawn().await;
    let counselor = counselor_of(&app, "PFM").await;
    let ali =
        create_client(&app, &counselor, json!({"given_names": "Ali", "family_name": "Hassan", "birth_year": 1979}))
            .await;
    create_client(&app, &counselor, json!({"given_names": "Ali", "family_name": "Hussein", "birth_year": 1979})).await;
    assert_eq!(found_ids(&app, &counselor, "علي حسن").await, [ali["id"].clone()]);
    let result =
        duplicate_check(&app, &counselor, json!({"given_names": "علي", "family_name": "حسن", "birth_year": 1979}))
            .await;
    let matches = result["matches"].as_array().unwrap();
    assert_eq!(matches.len(), 1, "{result}");
    assert_eq!(matches[0]["client"]["id"], ali["id"]);
    assert_eq!(matches[0]["matched"], json!(["name_phonetic", "birth_year"]));
}

#[tokio::test]
async fn a_changed_name_is_found_by_its_new_spellings_only() {
    let app = TestApp::spawn().await;
    let counselor = counselor_of(&app, "PFM").await;
    let client = create_client(&app, &counselor, json!({"given_names": "Ramzan", "family_name": "Dudayev"})).await;
    let path = format!("/api/v1/clients/{}", client["id"].as_str().unwrap());
    let changed = app
        .patch(&path)
        .bearer_auth(&counselor.token)
        .header("if-match", "\"1\"")
        .json(&json!({"family_name": "Basayev", "aliases": ["Рамзан Шамилевич Басаев"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), StatusCode::OK);
    assert_eq!(found_ids(&app, &counselor, "basajew").await, [client["id"].clone()]);
    assert_eq!(found_ids(&app, &counselor, "Шамилевич").await, [client["id"].clone()]);
    assert!(found_ids(&app, &counselor, "dudajew").await.is_empty(), "the old name no longer finds the client");
    assert!(found_ids(&app, &counselor, "dudayev").await.is_empty());
}

#[tokio::test]
async fn exact_spelling_ranks_before_sound_and_pages_follow_the_ranking() {
    let app = TestApp::spawn().await;
    let counselor = counselor_of(&app, "PFM").await;
    let by_sound = create_client(&app, &counselor, json!({"given_names": "Ramzan", "family_name": "Dudayev"})).await;
    let by_spelling = create_client(&app, &counselor, json!({"given_names": "Adam", "family_name": "Dudaev"})).await;
    let by_identifier = create_client(
        &app,
        &counselor,
        json!({"given_names": "Aslan", "family_name": "Maskhadov",
               "identifiers": [{"kind": "udsc_case_number", "value": "DPU-420-0012345/24"}]}),
    )
    .await;

    let ranked = found_ids(&app, &counselor, "dudaev").await;
    assert_eq!(ranked, [by_spelling["id"].clone(), by_sound["id"].clone()]);

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut query = vec![("q", "dudaev".to_owned()), ("limit", "1".to_owned())];
        if let Some(cursor) = &cursor {
            query.push(("cursor", cursor.clone()));
        }
        let page: Value =
            body(app.get("/api/v1/clients").query(&query).bearer_auth(&counselor.token).send().await.unwrap()).await;
        seen.extend(page["items"].as_array().unwrap().iter().map(|c| c["id"].clone()));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, ranked, "pages give the ranked list once, in order");

    let by_case_number = found_ids(&app, &counselor, "DPU-420-0012345/24").await;
    assert_eq!(by_case_number, [by_identifier["id"].clone()]);

    let forged = app
        .get("/api/v1/clients?q=dudaev&cursor=a2V5Ojl8MDE5MzAwMDAtMDAwMC03MDAwLTgwMDAtMDAwMDAwMDAwMDAw")
        .bearer_auth(&counselor.token)
        .send()
        .await
        .unwrap();
    assert_problem(forged, StatusCode::BAD_REQUEST, "invalid_cursor").await;
}

#[tokio::test]
async fn the_duplicate_check_weighs_identifiers_dates_and_says_what_matched() {
    let app = TestApp::spawn().await;
    let counselor = counselor_of(&app, "PFM").await;
    let existing = create_client(
        &app,
        &counselor,
        json!({"given_names": "Mohammed", "family_name": "Hussein", "date_of_birth": "1990-04-07", "nationalities": ["IQ"],
               "identifiers": [{"kind": "pesel", "value": "90040712344"}]}),
    )
    .await;
    let hussain = |extra: Value| {
        json!({"given_names": "Muhammad", "family_name": "Husayn"})
            .as_object()
            .unwrap()
            .clone()
            .into_iter()
            .chain(extra.as_object().unwrap().clone())
            .collect::<serde_json::Map<_, _>>()
    };

    let swapped =
        duplicate_check(&app, &counselor, Value::Object(hussain(json!({"date_of_birth": "1990-07-04"})))).await;
    assert_eq!(swapped["matches"][0]["client"]["id"], existing["id"]);
    assert_eq!(swapped["matches"][0]["matched"], json!(["name", "date_of_birth_swapped"]));

    let elsewhere_born =
        duplicate_check(&app, &counselor, Value::Object(hussain(json!({"date_of_birth": "1971-01-01"})))).await;
    assert_eq!(elsewhere_born["matches"], json!([]), "same name, another date of birth: another person");

    let by_pesel = duplicate_check(
        &app,
        &counselor,
        json!({"given_names": "Unknown", "family_name": "Person", "date_of_birth": "1971-01-01",
               "identifiers": [{"kind": "pesel", "value": "9004 0712 344"}]}),
    )
    .await;
    assert_eq!(by_pesel["matches"][0]["client"]["id"], existing["id"]);
    assert_eq!(by_pesel["matches"][0]["score"], 1.0);
    assert_eq!(by_pesel["matches"][0]["matched"], json!(["identifier"]));

    let by_name_and_nationality =
        duplicate_check(&app, &counselor, Value::Object(hussain(json!({"birth_year": 1990, "nationalities": ["IQ"]}))))
            .await;
    let matched = &by_name_and_nationality["matches"][0];
    assert_eq!(matched["matched"], json!(["name", "birth_year", "nationality"]));
    assert!(matched["score"].as_f64().unwrap() < 1.0);
}

#[tokio::test]
async fn odd_names_are_refused_clearly_or_matched_never_a_server_error() {
    let app = TestApp::spawn().await;
    let counselor = counselor_of(&app, "PFM").await;
    create_client(&app, &counselor, json!({"given_names": "Ramzan", "family_name": "Dudayev"})).await;
    let long = "Дудаев".repeat(2000);
    for (given, family) in [("", "Dudayev"), ("Ramzan", long.as_str()), ("Ram\u{0}zan", "Dudayev"), ("   ", "\t")] {
        let response = app
            .post("/api/v1/clients/duplicate-check")
            .bearer_auth(&counselor.token)
            .json(&json!({"given_names": given, "family_name": family}))
            .send()
            .await
            .unwrap();
        assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    }
    let mixed = duplicate_check(&app, &counselor, json!({"given_names": "Ramzan", "family_name": "Дудаев"})).await;
    assert_eq!(mixed["matches"].as_array().unwrap().len(), 1);
    let mixed_word = duplicate_check(&app, &counselor, json!({"given_names": "Рamzаn", "family_name": "Dudаеv"})).await;
    assert_eq!(mixed_word["matches"].as_array().unwrap().len(), 1, "Cyrillic letters inside Latin words");
    for query in ["\u{7}\u{1b}[31m", "٠١٢", "ↈ🙂", "a b c d e f g h i j k l"] {
        search(&app, &counselor, query).await;
    }
    let too_long = "Дудаев ".repeat(50);
    let too_long = app
        .get("/api/v1/clients")
        .query(&[("q", too_long.as_str())])
        .bearer_auth(&counselor.token)
        .send()
        .await
        .unwrap();
    assert_eq!(too_long.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn reindex_names_rebuilds_lost_keys_and_resumes_where_it_stopped() {
    let app = TestApp::spawn().await;
    let counselor = counselor_of(&app, "PFM").await;
    let first = create_client(&app, &counselor, json!({"given_names": "Ramzan", "family_name": "Dudayev"})).await;
    let second = create_client(&app, &counselor, json!({"given_names": "Shamil", "family_name": "Basayev"})).await;
    // As a database written by older rules: no phonetic keys, and a run stopped after the first client.
    let first_id: String = first["id"].as_str().unwrap().to_owned();
    app.db(|conn| {
        diesel::delete(client_name_keys::table).execute(conn).unwrap();
        diesel::update(name_index_state::table)
            .set((
                name_index_state::key_version.eq(casebridge::domain::names::KEY_VERSION),
                name_index_state::resume_after.eq(Some(first_id)),
            ))
            .execute(conn)
            .unwrap();
    });
    assert!(found_ids(&app, &counselor, "szamil basajew").await.is_empty());

    let data = tempfile::tempdir().unwrap();
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_casebridge"))
            .arg("reindex-names")
            .env_clear()
            .env("DATABASE_URL", &app.database_url)
            .env("CASEBRIDGE_DATA_DIR", data.path())
            .output()
            .unwrap()
    };
    let output = run();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stdout).contains("1 client(s) re-keyed"), "only the client after the stop");
    assert_eq!(found_ids(&app, &counselor, "szamil basajew").await, [second["id"].clone()]);
    assert!(found_ids(&app, &counselor, "dudajew").await.is_empty(), "the first client was done before the stop");

    // Keys from older rules: everyone is re-keyed, and a second run has nothing to do.
    app.db(|conn| {
        diesel::update(name_index_state::table)
            .set((name_index_state::key_version.eq(0), name_index_state::resume_after.eq(None::<String>)))
            .execute(conn)
            .unwrap();
    });
    let output = run();
    assert!(String::from_utf8_lossy(&output.stdout).contains("2 client(s) re-keyed"), "{output:?}");
    assert_eq!(found_ids(&app, &counselor, "dudajew").await, [first["id"].clone()]);
    let again = run();
    assert!(String::from_utf8_lossy(&again.stdout).contains("0 client(s) re-keyed"), "{again:?}");
}
