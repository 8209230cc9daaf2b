//! Referrals between partner organisations, gated by the client's consent.

use casebridge::db::{OrganisationId, UserId};
use chrono::NaiveDate;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::clients::create_client;
use crate::helpers::{Account, TestApp, assert_problem, body};

struct Consortium {
    admin: Account,
    pfm: OrganisationId,
    legal_aid: OrganisationId,
    /// The third organisation, the outsider's.
    sip: OrganisationId,
    pfm_counselor: Account,
    lawyer: Account,
    legal_aid_psychologist: Account,
    outsider: Account,
}

async fn consortium(app: &TestApp) -> Consortium {
    let admin = app.admin().await;
    let pfm = app.create_organisation(&admin, "PFM").await;
    let legal_aid = app.create_organisation(&admin, "HFPC").await;
    let third = app.create_organisation(&admin, "SIP").await;
    let legal_aid_psychologist = app.staff(&admin, Some(legal_aid), "counselor", &["psychological"]).await;
    Consortium {
        pfm_counselor: app.create_user(&admin, Some(pfm), "counselor").await,
        lawyer: app.create_user(&admin, Some(legal_aid), "counselor").await,
        outsider: app.create_user(&admin, Some(third), "coordinator").await,
        legal_aid_psychologist,
        admin,
        pfm,
        legal_aid,
        sip: third,
    }
}

async fn consent(app: &TestApp, account: &Account, client: &str, partner: OrganisationId, scope: Value) -> Value {
    consent_as(app, account, client, partner, json!({"scope": scope})).await
}

/// A consent to share with `partner`, with `changes` to the usual fields (given on 2 November
/// 2026, no expiry).
async fn consent_as(app: &TestApp, account: &Account, client: &str, partner: OrganisationId, changes: Value) -> Value {
    let consent = merged(
        json!({"purpose": "sharing_with_partner", "partner_id": partner, "scope": ["identity"],
               "given_on": "2026-11-02", "language": "ru", "form_version": "PFM-2026-01"}),
        changes,
    );
    let response = app
        .post(&format!("/api/v1/clients/{client}/consents"))
        .bearer_auth(&account.token)
        .json(&consent)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED, "{}", response.text().await.unwrap());
    response.json().await.unwrap()
}

fn referral_body(client: &Value, partner: OrganisationId, consent: &Value) -> Value {
    json!({"client_id": client["id"], "to_organisation_id": partner, "service": "legal", "urgency": "urgent",
           "reason": "Negative first-instance decision; appeal due soon",
           "shared_fields": ["given_names", "family_name", "languages", "procedure_stage", "deadlines"],
           "consent_id": consent["id"]})
}

/// `base` with the fields of `changes` set.
fn merged(mut base: Value, changes: Value) -> Value {
    for (field, value) in changes.as_object().unwrap() {
        base[field] = value.clone();
    }
    base
}

async fn refer(app: &TestApp, account: &Account, body: &Value) -> reqwest::Response {
    app.post("/api/v1/referrals").bearer_auth(&account.token).json(body).send().await.unwrap()
}

/// Sends a referral that must be accepted as sent; returns it.
async fn sent(app: &TestApp, account: &Account, body: &Value) -> Value {
    let response = refer(app, account, body).await;
    assert_eq!(response.status(), StatusCode::CREATED, "{}", response.text().await.unwrap());
    response.json().await.unwrap()
}

/// `POST /referrals/{id}/{name}` with `If-Match` of `version`.
async fn transition(
    app: &TestApp,
    account: &Account,
    referral: &Value,
    name: &str,
    version: i64,
    request: Value,
) -> reqwest::Response {
    let id = referral["id"].as_str().unwrap();
    app.post(&format!("/api/v1/referrals/{id}/{name}"))
        .bearer_auth(&account.token)
        .header("if-match", format!("\"{version}\""))
        .json(&request)
        .send()
        .await
        .unwrap()
}

/// The referral as `account` sees it, with its history.
async fn read(app: &TestApp, account: &Account, referral: &Value) -> Value {
    let id = referral["id"].as_str().unwrap();
    body(app.get(&format!("/api/v1/referrals/{id}")).bearer_auth(&account.token).send().await.unwrap()).await
}

/// The ids a list of referrals answers, in order.
async fn listed(app: &TestApp, account: &Account, query: &str) -> Vec<String> {
    let page: Value =
        body(app.get(&format!("/api/v1/referrals?{query}")).bearer_auth(&account.token).send().await.unwrap()).await;
    let items = page["items"].as_array().unwrap_or_else(|| panic!("not a page: {page}"));
    items.iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect()
}

/// A client of PFM with a consent to share identity and procedure fields with `partner`.
async fn consenting_client(app: &TestApp, c: &Consortium, partner: OrganisationId) -> (Value, Value) {
    let client =
        create_client(app, &c.pfm_counselor, json!({"given_names": "Zelimkhan", "family_name": "Umarov"})).await;
    let consent =
        consent(app, &c.pfm_counselor, client["id"].as_str().unwrap(), partner, json!(["identity", "procedure"])).await;
    (client, consent)
}

/// Who is recorded as the actor of each audit event of `action`.
fn audit_actors(app: &TestApp, action: &str) -> Vec<Option<UserId>> {
    use casebridge::db::schema::audit_events::dsl;
    use diesel::prelude::*;
    let action = action.to_owned();
    app.db(|conn| dsl::audit_events.filter(dsl::action.eq(action)).select(dsl::actor_id).load(conn).unwrap())
}

async fn setup_referral(app: &TestApp, c: &Consortium) -> (Value, Value, Value) {
    let client = create_client(
        app,
        &c.pfm_counselor,
        json!({"given_names": "Aslan", "family_name": "Basayev", "languages": ["ce", "ru"], "phone": "+48 600 000 001",
               "vulnerabilities": ["torture_victim"], "date_of_birth": "1990-01-01"}),
    )
    .await;
    let consent =
        consent(app, &c.pfm_counselor, client["id"].as_str().unwrap(), c.legal_aid, json!(["identity", "procedure"]))
            .await;
    let response = refer(app, &c.pfm_counselor, &referral_body(&client, c.legal_aid, &consent)).await;
    assert_eq!(response.status(), StatusCode::CREATED, "{}", response.text().await.unwrap());
    (client, consent, response.json().await.unwrap())
}

#[tokio::test]
async fn a_referral_story_across_two_organisations() {
    let app = TestApp::spawn().await;
    let c = consortium(&app).await;
    let (client, _consent, referral) = setup_referral(&app, &c).await;
    let id = referral["id"].as_str().unwrap();
    assert_eq!(referral["status"], "pending");

    let inbox: Value =
        body(app.get("/api/v1/referrals?box=inbox").bearer_auth(&c.lawyer.token).send().await.unwrap()).await;
    assert_eq!(inbox["items"][0]["id"], referral["id"]);
    assert!(inbox["items"][0]["client_id"].is_null(), "the partner never sees the sender's record id");

    let shared: Value =
        body(app.get(&format!("/api/v1/referrals/{id}/client")).bearer_auth(&c.lawyer.token).send().await.unwrap())
            .await;
    assert_eq!(shared["given_names"], "Aslan");
    assert_eq!(shared["languages"], json!(["ce", "ru"]));
    assert!(
        shared["phone"].is_null() && shared["vulnerabilities"].is_null() && shared["date_of_birth"].is_null(),
        "only shared fields: {shared}"
    );

    let accepted = app
        .post(&format!("/api/v1/referrals/{id}/accept"))
        .bearer_auth(&c.lawyer.token)
        .header("if-match", "\"1\"")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), StatusCode::OK);
    let accepted: Value = accepted.json().await.unwrap();
    let own_record = accepted["partner_client_id"].as_str().unwrap().to_owned();
    let record: Value =
        body(app.get(&format!("/api/v1/clients/{own_record}")).bearer_auth(&c.lawyer.token).send().await.unwrap())
            .await;
    assert_eq!(record["family_name"], "Basayev");
    assert!(record["reference"].as_str().unwrap().starts_with("HFPC-"));
    assert!(record["phone"].is_null(), "nothing beyond the shared fields is copied");

    let session = app
        .post(&format!("/api/v1/clients/{own_record}/sessions"))
        .bearer_auth(&c.lawyer.token)
        .json(
            &json!({"kind": "legal", "mode": "in_person", "started_at": "2026-11-20T10:00:00Z", "duration_minutes": 90,
                      "summary": "Appeal drafted", "notes": "Client fears return to Chechnya."}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(session.status(), StatusCode::CREATED);

    let completed = app
        .post(&format!("/api/v1/referrals/{id}/complete"))
        .bearer_auth(&c.lawyer.token)
        .header("if-match", "\"2\"")
        .json(&json!({"outcome": "Appeal lodged with the Refugee Board on 20 November."}))
        .send()
        .await
        .unwrap();
    assert_eq!(completed.status(), StatusCode::OK);

    let seen_by_sender: Value =
        body(app.get(&format!("/api/v1/referrals/{id}")).bearer_auth(&c.pfm_counselor.token).send().await.unwrap())
            .await;
    assert_eq!(seen_by_sender["status"], "completed");
    assert_eq!(seen_by_sender["outcome"], "Appeal lodged with the Refugee Board on 20 November.");
    assert!(seen_by_sender["partner_client_id"].is_null());
    let kinds: Vec<&str> =
        seen_by_sender["history"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["created", "accepted", "completed"]);
    let sender_sessions: Value =
        body(app.get("/api/v1/sessions").bearer_auth(&c.pfm_counselor.token).send().await.unwrap()).await;
    assert_eq!(sender_sessions["items"], json!([]), "the sender never sees the partner's sessions");
    let partner_record =
        app.get(&format!("/api/v1/clients/{own_record}")).bearer_auth(&c.pfm_counselor.token).send().await.unwrap();
    assert_eq!(partner_record.status(), StatusCode::NOT_FOUND);
    let after_completion =
        app.get(&format!("/api/v1/referrals/{id}/client")).bearer_auth(&c.lawyer.token).send().await.unwrap();
    assert_eq!(after_completion.status(), StatusCode::NOT_FOUND, "the shared view ends when the referral closes");
    let _ = client;
}

#[tokio::test]
async fn without_a_consent_to_share_there_is_no_referral() {
    let app = TestApp::spawn().await;
    let c = consortium(&app).await;
    let client = create_client(&app, &c.pfm_counselor, json!({"given_names": "Aslan", "family_name": "Basayev"})).await;
    let processing_only: Value = body(
        app.post(&format!("/api/v1/clients/{}/consents", client["id"].as_str().unwrap()))
            .bearer_auth(&c.pfm_counselor.token)
            .json(&json!({"purpose": "processing", "given_on": "2026-11-02", "language": "ru", "form_version": "v1"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let response = refer(&app, &c.pfm_counselor, &referral_body(&client, c.legal_aid, &processing_only)).await;
    assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "consent_required").await;

    let narrow =
        consent(&app, &c.pfm_counselor, client["id"].as_str().unwrap(), c.legal_aid, json!(["identity"])).await;
    let outside = refer(&app, &c.pfm_counselor, &referral_body(&client, c.legal_aid, &narrow)).await;
    let problem = assert_problem(outside, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert!(problem["errors"]["shared_fields"].as_str().unwrap().contains("procedure"));
    let listed: Value =
        body(app.get("/api/v1/referrals?box=outbox").bearer_auth(&c.pfm_counselor.token).send().await.unwrap()).await;
    assert_eq!(listed["items"], json!([]));
}

#[tokio::test]
async fn withdrawing_the_consent_cancels_the_referral_and_ends_the_partners_view() {
    let app = TestApp::spawn().await;
    let c = consortium(&app).await;
    let (client, consent, referral) = setup_referral(&app, &c).await;
    let id = referral["id"].as_str().unwrap();
    let withdraw = format!(
        "/api/v1/clients/{}/consents/{}/withdraw",
        client["id"].as_str().unwrap(),
        consent["id"].as_str().unwrap()
    );
    assert_eq!(app.post(&withdraw).bearer_auth(&c.pfm_counselor.token).send().await.unwrap().status(), StatusCode::OK);
    let seen = read(&app, &c.lawyer, &referral).await;
    assert_eq!(seen["status"], "cancelled");
    assert_eq!(seen["status_reason_code"], "consent_withdrawn");
    let last = seen["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["kind"], "cancelled");
    assert_eq!(last["actor_id"], json!(c.pfm_counselor.id), "the one who recorded the withdrawal");
    assert_eq!(last["reason_code"], "consent_withdrawn");
    assert_eq!(audit_actors(&app, "referral.cancel"), [Some(c.pfm_counselor.id)], "exactly one cancellation event");
    let view = app.get(&format!("/api/v1/referrals/{id}/client")).bearer_auth(&c.lawyer.token).send().await.unwrap();
    assert_problem(view, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn a_third_organisation_finds_nothing() {
    let app = TestApp::spawn().await;
    let c = consortium(&app).await;
    let (_client, _consent, referral) = setup_referral(&app, &c).await;
    let id = referral["id"].as_str().unwrap();
    for path in [format!("/api/v1/referrals/{id}"), format!("/api/v1/referrals/{id}/client")] {
        assert_problem(
            app.get(&path).bearer_auth(&c.outsider.token).send().await.unwrap(),
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
    }
    let bodies = [
        ("accept", json!({})),
        ("decline", json!({"reason_code": "other"})),
        ("cancel", json!({})),
        ("complete", json!({"outcome": "x"})),
    ];
    for (transition, request) in bodies {
        let response = app
            .post(&format!("/api/v1/referrals/{id}/{transition}"))
            .bearer_auth(&c.outsider.token)
            .header("if-match", "\"1\"")
            .json(&request)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{transition}");
    }
    let inbox: Value =
        body(app.get("/api/v1/referrals?box=inbox").bearer_auth(&c.outsider.token).send().await.unwrap()).await;
    assert_eq!(inbox["items"], json!([]));
    let feed: Value =
        body(app.get("/api/v1/referrals/changes").bearer_auth(&c.outsider.token).send().await.unwrap()).await;
    assert_eq!(feed["items"], json!([]));
}

#[tokio::test]
async fn concurrent_accept_and_cancel_let_exactly_one_win() {
    let app = TestApp::spawn().await;
    let c = consortium(&app).await;
    let (_client, _consent, referral) = setup_referral(&app, &c).await;
    let id = referral["id"].as_str().unwrap();
    let accept = app
        .post(&format!("/api/v1/referrals/{id}/accept"))
        .bearer_auth(&c.lawyer.token)
        .header("if-match", "\"1\"")
        .json(&json!({}));
    let cancel = app
        .post(&format!("/api/v1/referrals/{id}/cancel"))
        .bearer_auth(&c.pfm_counselor.token)
        .header("if-match", "\"1\"")
        .json(&json!({}));
    let (a, b) = tokio::join!(accept.send(), cancel.send());
    let statuses = [a.unwrap().status(), b.unwrap().status()];
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::OK).count(), 1, "{statuses:?}");
    assert!(
        statuses.iter().any(|s| *s == StatusCode::CONFLICT || *s == StatusCode::PRECONDITION_FAILED),
        "{statuses:?}"
    );
    let seen: Value =
        body(app.get(&format!("/api/v1/referrals/{id}")).bearer_auth(&c.pfm_counselor.token).send().await.unwrap())
            .await;
    assert_eq!(seen["history"].as_array().unwrap().len(), 2, "created and one transition");
    assert_eq!(app.audit_count("referral.accept") + app.audit_count("referral.cancel"), 1);
}

#[tokio::test]
async fn illegal_transitions_and_duplicates_are_conflicts() {
    let app = TestApp::spawn().await;
    let c = consortium(&app).await;
    let (client, consent, referral) = setup_referral(&app, &c).await;
    let id = referral["id"].as_str().unwrap();
    let early = app
        .post(&format!("/api/v1/referrals/{id}/complete"))
        .bearer_auth(&c.lawyer.token)
        .header("if-match", "\"1\"")
        .json(&json!({"outcome": "done"}))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(early, StatusCode::CONFLICT, "illegal_transition").await;
    assert_eq!(problem["current_status"], "pending");

    let twin = refer(&app, &c.pfm_counselor, &referral_body(&client, c.legal_aid, &consent)).await;
    let problem = assert_problem(twin, StatusCode::CONFLICT, "duplicate_referral").await;
    assert_eq!(problem["conflicting_id"], referral["id"]);

    let unqualified = app
        .post(&format!("/api/v1/referrals/{id}/accept"))
        .bearer_auth(&c.legal_aid_psychologist.token)
        .header("if-match", "\"1\"")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_problem(unqualified, StatusCode::FORBIDDEN, "forbidden").await;
    let stale = app
        .post(&format!("/api/v1/referrals/{id}/decline"))
        .bearer_auth(&c.lawyer.token)
        .header("if-match", "\"9\"")
        .json(&json!({"reason_code": "no_capacity"}))
        .send()
        .await
        .unwrap();
    assert_problem(stale, StatusCode::PRECONDITION_FAILED, "stale_version").await;
    let declined = app
        .post(&format!("/api/v1/referrals/{id}/decline"))
        .bearer_auth(&c.lawyer.token)
        .header("if-match", "\"1\"")
        .json(&json!({"reason_code": "no_capacity", "reason": "No lawyer free this month"}))
        .send()
        .await
        .unwrap();
    let declined: Value = declined.json().await.unwrap();
    assert_eq!(declined["status"], "declined");
    assert_eq!(declined["status_reason_code"], "no_capacity");
    let again = refer(&app, &c.pfm_counselor, &referral_body(&client, c.legal_aid, &consent)).await;
    assert_eq!(again.status(), StatusCode::CREATED, "a declined referral does not block a new one");
}

#[tokio::test]
async fn an_unanswered_referral_expires_for_both_sides() {
    let app = TestApp::spawn().await;
    let c = consortium(&app).await;
    let (_client, _consent, referral) = setup_referral(&app, &c).await;
    let id = referral["id"].as_str().unwrap().to_owned();
    app.db(|conn| {
        use casebridge::db::schema::referrals::dsl;
        use diesel::prelude::*;
        diesel::update(dsl::referrals.find(&id))
            .set(dsl::respond_by.eq(chrono::NaiveDate::from_ymd_opt(2026, 1, 2).unwrap()))
            .execute(conn)
            .unwrap();
    });
    for account in [&c.pfm_counselor, &c.lawyer] {
        let seen: Value =
            body(app.get(&format!("/api/v1/referrals/{id}")).bearer_auth(&account.token).send().await.unwrap()).await;
        assert_eq!(seen["status"], "expired");
    }
    let expired: Value =
        body(app.get("/api/v1/referrals?box=inbox&status=expired").bearer_auth(&c.lawyer.token).send().await.unwrap())
            .await;
    assert_eq!(expired["items"].as_array().unwrap().len(), 1);
    let late = app
        .post(&format!("/api/v1/referrals/{id}/accept"))
        .bearer_auth(&c.lawyer.token)
        .header("if-match", "\"1\"")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(assert_problem(late, StatusCode::CONFLICT, "illegal_transition").await["current_status"], "expired");
    let recorded =
        app.db(|conn| casebridge::referrals::cascade::expire_unanswered(conn, casebridge::domain::today()).unwrap());
    assert_eq!(recorded, 1);
    assert_eq!(audit_actors(&app, "referral.expire"), [None], "one event, by no user");
    let history = read(&app, &c.pfm_counselor, &referral).await["history"].clone();
    let last = history.as_array().unwrap().last().unwrap();
    assert_eq!((&last["kind"], &last["actor_id"]), (&json!("expired"), &Value::Null));
    let feed: Value =
        body(app.get("/api/v1/referrals/changes").bearer_auth(&c.pfm_counselor.token).send().await.unwrap()).await;
    assert_eq!(feed["items"].as_array().unwrap().last().unwrap()["kind"], "expired");
}

/// Decline and cancel answer 422 to a reason over 2000 characters, and the contract says so.
#[tokio::test]
async fn a_too_long_reason_is_a_documented_422() {
    let app = TestApp::spawn().await;
    let c = consortium(&app).await;
    let (_, _, referral) = setup_referral(&app, &c).await;
    let id = referral["id"].as_str().unwrap();
    let reason = "x".repeat(2001);
    let document: Value = body(app.get("/api/v1/openapi.json").send().await.unwrap()).await;
    for (transition, account, request) in [
        ("decline", &c.lawyer, json!({"reason_code": "no_capacity", "reason": reason})),
        ("cancel", &c.pfm_counselor, json!({"reason": reason})),
    ] {
        let response = app
            .post(&format!("/api/v1/referrals/{id}/{transition}"))
            .bearer_auth(&account.token)
            .header("if-match", "\"1\"")
            .json(&request)
            .send()
            .await
            .unwrap();
        let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert!(problem["errors"]["reason"].is_string(), "{problem}");
        let responses = &document["paths"][format!("/api/v1/referrals/{{id}}/{transition}")]["post"]["responses"];
        assert!(responses["422"].is_object(), "{transition} does not document 422: {responses}");
    }
}

#[tokio::test]
async fn retrying_a_referral_with_the_same_idempotency_key_answers_the_first_201_again() {
    let app = TestApp::spawn().await;
    let c = consortium(&app).await;
    let (client, consent) = consenting_client(&app, &c, c.legal_aid).await;
    let request = referral_body(&client, c.legal_aid, &consent);
    let send = |request: &Value| {
        app.post("/api/v1/referrals")
            .bearer_auth(&c.pfm_counselor.token)
            .header("idempotency-key", "refer-umarov-1")
            .json(request)
            .send()
    };
    let first = send(&request).await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let location = first.headers()["location"].clone();
    let first: Value = first.json().await.unwrap();
    let retry = send(&request).await.unwrap();
    assert_eq!(retry.status(), StatusCode::CREATED, "a retry is not a duplicate referral");
    assert_eq!(retry.headers()["location"], location);
    let retry: Value = retry.json().await.unwrap();
    assert_eq!(retry["id"], first["id"]);
    assert_eq!(retry, first, "the first answer, as it was");
    assert_eq!(listed(&app, &c.pfm_counselor, "box=outbox").await, [first["id"].as_str().unwrap()]);
    assert_eq!(app.audit_count("referral.create"), 1);

    let other = merged(request, json!({"reason": "Another request under the same key"}));
    assert_problem(send(&other).await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused").await;
}

#[tokio::test]
async fn the_partner_never_sees_the_household_even_with_consent_to_it() {
    let app = TestApp::spawn().await;
    let c = consortium(&app).await;
    let client = create_client(&app, &c.pfm_counselor, json!({"given_names": "Aslan", "family_name": "Umarov"})).await;
    let client_id = client["id"].as_str().unwrap();
    let son = create_client(&app, &c.pfm_counselor, json!({"given_names": "Adam", "family_name": "Umarov"})).await;
    let joined = app
        .request(reqwest::Method::PUT, &format!("/api/v1/clients/{}/household", son["id"].as_str().unwrap()))
        .bearer_auth(&c.pfm_counselor.token)
        .json(&json!({"with_client_id": client_id, "relationship": "child"}))
        .send()
        .await
        .unwrap();
    assert_eq!(joined.status(), StatusCode::OK, "{}", joined.text().await.unwrap());
    let consent = consent(&app, &c.pfm_counselor, client_id, c.legal_aid, json!(["identity", "household"])).await;
    let asking =
        merged(referral_body(&client, c.legal_aid, &consent), json!({"shared_fields": ["given_names", "household"]}));
    let refused = refer(&app, &c.pfm_counselor, &asking).await;
    let problem = assert_problem(refused, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert!(problem["errors"]["shared_fields"].as_str().unwrap().contains("household"), "{problem}");

    let referral =
        sent(&app, &c.pfm_counselor, &merged(asking, json!({"shared_fields": ["given_names", "family_name"]}))).await;
    let id = referral["id"].as_str().unwrap();
    let view = app.get(&format!("/api/v1/referrals/{id}/client")).bearer_auth(&c.lawyer.token).send().await.unwrap();
    let text = view.text().await.unwrap();
    let shared: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(shared["family_name"], "Umarov");
    assert!(shared.get("household").is_none(), "no household field at all: {shared}");
    for secret in [&son["id"], &son["reference"], &client["id"], &client["reference"]] {
        assert!(!text.contains(secret.as_str().unwrap()), "the partner sees {secret}: {text}");
    }
}

#[tokio::test]
async fn erasing_the_client_cancels_its_referral_with_an_audit_event_of_the_eraser() {
    let app = TestApp::spawn().await;
    let c = consortium(&app).await;
    let coordinator = app.create_user(&c.admin, Some(c.pfm), "coordinator").await;
    let (client, _, referral) = setup_referral(&app, &c).await;
    let erased = app
        .post(&format!("/api/v1/clients/{}/erase", client["id"].as_str().unwrap()))
        .bearer_auth(&coordinator.token)
        .json(&json!({"reason": "Request of the client of 20 November"}))
        .send()
        .await
        .unwrap();
    assert_eq!(erased.status(), StatusCode::NO_CONTENT);
    let seen = read(&app, &c.lawyer, &referral).await;
    assert_eq!((&seen["status"], &seen["status_reason_code"]), (&json!("cancelled"), &json!("client_erased")));
    let last = seen["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!((&last["kind"], &last["actor_id"]), (&json!("cancelled"), &json!(coordinator.id)));
    assert_eq!(last["reason_code"], "client_erased");
    assert_eq!(audit_actors(&app, "referral.cancel"), [Some(coordinator.id)]);
}

#[tokio::test]
async fn inbox_and_outbox_filter_by_service_urgency_partner_and_due_today() {
    let app = TestApp::spawn().await;
    let c = consortium(&app).await;
    let (client, consent) = consenting_client(&app, &c, c.legal_aid).await;
    let to_legal_aid = referral_body(&client, c.legal_aid, &consent);
    let urgent_legal = sent(&app, &c.pfm_counselor, &to_legal_aid).await;
    let emergency_psychological = sent(
        &app,
        &c.pfm_counselor,
        &merged(to_legal_aid, json!({"service": "psychological", "urgency": "emergency"})),
    )
    .await;
    let (other, other_consent) = consenting_client(&app, &c, c.sip).await;
    let routine_to_sip = sent(
        &app,
        &c.pfm_counselor,
        &merged(referral_body(&other, c.sip, &other_consent), json!({"urgency": "routine"})),
    )
    .await;
    let [urgent, emergency, routine] =
        [&urgent_legal, &emergency_psychological, &routine_to_sip].map(|r| r["id"].as_str().unwrap().to_owned());
    assert_eq!(emergency_psychological["due_today"], true, "due today, the day it is sent");
    assert_eq!(urgent_legal["due_today"], false);

    let (pfm, legal_aid, sip) = (c.pfm, c.legal_aid, c.sip);
    let outbox = [
        (String::new(), vec![&urgent, &emergency, &routine]),
        ("&service=legal".into(), vec![&urgent, &routine]),
        ("&service=psychological".into(), vec![&emergency]),
        ("&urgency=emergency".into(), vec![&emergency]),
        ("&urgency=routine".into(), vec![&routine]),
        (format!("&partner={legal_aid}"), vec![&urgent, &emergency]),
        (format!("&partner={sip}"), vec![&routine]),
        ("&due_today=true".into(), vec![&emergency]),
        ("&due_today=false".into(), vec![&urgent, &routine]),
        (format!("&due_today=false&partner={legal_aid}&service=legal"), vec![&urgent]),
    ];
    for (filter, expected) in outbox {
        let listed = listed(&app, &c.pfm_counselor, &format!("box=outbox{filter}")).await;
        assert_eq!(listed.iter().collect::<Vec<_>>(), expected, "outbox{filter}");
    }
    let inbox = [
        (String::new(), vec![&urgent, &emergency]),
        ("&service=legal".into(), vec![&urgent]),
        ("&urgency=emergency".into(), vec![&emergency]),
        ("&urgency=routine".into(), vec![]),
        (format!("&partner={pfm}"), vec![&urgent, &emergency]),
        (format!("&partner={sip}"), vec![]),
        ("&due_today=true".into(), vec![&emergency]),
        ("&due_today=false".into(), vec![&urgent]),
        ("&due_today=true&service=legal".into(), vec![]),
    ];
    for (filter, expected) in inbox {
        let listed = listed(&app, &c.lawyer, &format!("box=inbox{filter}")).await;
        assert_eq!(listed.iter().collect::<Vec<_>>(), expected, "inbox{filter}");
    }
    let due: Value =
        body(app.get("/api/v1/referrals?box=inbox&due_today=true").bearer_auth(&c.lawyer.token).send().await.unwrap())
            .await;
    assert_eq!(due["items"][0]["due_today"], true, "the inbox flags it");
}

/// The day `days` working days after `day`, by the project's calendar of days off.
fn working_days_after(day: NaiveDate, days: usize) -> NaiveDate {
    day.iter_days().skip(1).filter(|d| !casebridge::procedure::calendar::is_day_off(*d)).nth(days - 1).unwrap()
}

#[tokio::test]
async fn answer_dates_are_today_for_an_emergency_and_count_working_days_otherwise() {
    let app = TestApp::spawn().await;
    let c = consortium(&app).await;
    let (client, consent) = consenting_client(&app, &c, c.legal_aid).await;
    let today = casebridge::domain::today();
    for (urgency, service, expected) in [
        ("emergency", "psychological", today),
        ("urgent", "legal", working_days_after(today, 2)),
        ("routine", "vocational", working_days_after(today, 10)),
    ] {
        let request =
            merged(referral_body(&client, c.legal_aid, &consent), json!({"urgency": urgency, "service": service}));
        let referral = sent(&app, &c.pfm_counselor, &request).await;
        assert_eq!(referral["respond_by"], expected.to_string(), "{urgency}");
    }
}

#[tokio::test]
async fn declining_and_cancelling_record_actor_time_and_reason_in_the_history() {
    let app = TestApp::spawn().await;
    let c = consortium(&app).await;
    let (client, consent, declined) = setup_referral(&app, &c).await;
    let cancelled = sent(
        &app,
        &c.pfm_counselor,
        &merged(referral_body(&client, c.legal_aid, &consent), json!({"service": "vocational"})),
    )
    .await;
    let before = chrono::Utc::now() - chrono::Duration::seconds(1);
    let decline = json!({"reason_code": "outside_area", "reason": "We work in Wrocław only"});
    assert_eq!(transition(&app, &c.lawyer, &declined, "decline", 1, decline).await.status(), StatusCode::OK);
    let cancel = json!({"reason": "The client found a lawyer in Lublin"});
    assert_eq!(transition(&app, &c.pfm_counselor, &cancelled, "cancel", 1, cancel).await.status(), StatusCode::OK);
    let after = chrono::Utc::now() + chrono::Duration::seconds(1);

    for (referral, actor, kind, code, reason) in [
        (&declined, &c.lawyer, "declined", "outside_area", "We work in Wrocław only"),
        (&cancelled, &c.pfm_counselor, "cancelled", "cancelled_by_sender", "The client found a lawyer in Lublin"),
    ] {
        for side in [&c.pfm_counselor, &c.lawyer] {
            let history = read(&app, side, referral).await["history"].clone();
            let last = history.as_array().unwrap().last().unwrap().clone();
            assert_eq!(last["kind"], kind);
            assert_eq!(last["actor_id"], json!(actor.id), "{kind}");
            assert_eq!((&last["reason_code"], &last["reason"]), (&json!(code), &json!(reason)));
            let at: chrono::DateTime<chrono::Utc> = last["at"].as_str().unwrap().parse().unwrap();
            assert!(before <= at && at <= after, "{kind} at {at}");
        }
    }
}

#[tokio::test]
async fn accepting_into_an_existing_own_client_links_it_and_creates_no_new_record() {
    let app = TestApp::spawn().await;
    let c = consortium(&app).await;
    let (_, _, referral) = setup_referral(&app, &c).await;
    let own = create_client(&app, &c.lawyer, json!({"given_names": "Aslan", "family_name": "Basayev"})).await;
    let clients_of_partner = || async {
        let page: Value = body(app.get("/api/v1/clients").bearer_auth(&c.lawyer.token).send().await.unwrap()).await;
        page["items"].as_array().unwrap().len()
    };
    let before = clients_of_partner().await;
    let accepted = transition(&app, &c.lawyer, &referral, "accept", 1, json!({"client_id": own["id"]})).await;
    assert_eq!(accepted.status(), StatusCode::OK);
    let accepted: Value = accepted.json().await.unwrap();
    assert_eq!(accepted["partner_client_id"], own["id"]);
    assert_eq!(clients_of_partner().await, before, "no new client record");
    assert_eq!(app.audit_count("client.create"), 2, "only the two records made through /clients");
}

#[tokio::test]
async fn accepting_into_another_organisations_client_is_not_found_and_leaves_the_referral_pending() {
    let app = TestApp::spawn().await;
    let c = consortium(&app).await;
    let (client, _, referral) = setup_referral(&app, &c).await;
    let outsiders = create_client(&app, &c.outsider, json!({"given_names": "Aslan", "family_name": "Basayev"})).await;
    for foreign in [&client["id"], &outsiders["id"]] {
        let accepted = transition(&app, &c.lawyer, &referral, "accept", 1, json!({"client_id": foreign})).await;
        assert_problem(accepted, StatusCode::NOT_FOUND, "not_found").await;
    }
    let seen = read(&app, &c.lawyer, &referral).await;
    assert_eq!((&seen["status"], &seen["version"]), (&json!("pending"), &json!(1)));
    assert!(seen["partner_client_id"].is_null());
}

#[tokio::test]
async fn a_counselor_without_the_services_specialty_may_not_decline_or_complete() {
    let app = TestApp::spawn().await;
    let c = consortium(&app).await;
    let (_, _, referral) = setup_referral(&app, &c).await;
    let psychologist = &c.legal_aid_psychologist;
    let decline = transition(&app, psychologist, &referral, "decline", 1, json!({"reason_code": "no_capacity"})).await;
    assert_problem(decline, StatusCode::FORBIDDEN, "forbidden").await;
    assert_eq!(transition(&app, &c.lawyer, &referral, "accept", 1, json!({})).await.status(), StatusCode::OK);
    let complete = transition(&app, psychologist, &referral, "complete", 2, json!({"outcome": "Advice given"})).await;
    assert_problem(complete, StatusCode::FORBIDDEN, "forbidden").await;
    assert_eq!(read(&app, &c.lawyer, &referral).await["status"], "accepted");
}

#[test]
fn the_contract_documents_403_on_every_referral_route_and_422_on_accept() {
    let document = serde_json::to_value(casebridge::openapi::document()).unwrap();
    let operations = [
        ("/api/v1/referrals", "post"),
        ("/api/v1/referrals", "get"),
        ("/api/v1/referrals/changes", "get"),
        ("/api/v1/referrals/{id}", "get"),
        ("/api/v1/referrals/{id}/client", "get"),
        ("/api/v1/referrals/{id}/accept", "post"),
        ("/api/v1/referrals/{id}/decline", "post"),
        ("/api/v1/referrals/{id}/cancel", "post"),
        ("/api/v1/referrals/{id}/complete", "post"),
    ];
    for (path, method) in operations {
        let responses = &document["paths"][path][method]["responses"];
        assert!(responses["403"].is_object(), "{method} {path} does not document 403: {responses}");
    }
    assert!(document["paths"]["/api/v1/referrals/{id}/accept"]["post"]["responses"]["422"].is_object());
}

#[tokio::test]
async fn the_change_feed_pages_every_event_once_and_in_order_for_both_organisations() {
    let app = TestApp::spawn().await;
    let c = consortium(&app).await;
    let (client, consent, completed) = setup_referral(&app, &c).await;
    let cancelled = sent(
        &app,
        &c.pfm_counselor,
        &merged(referral_body(&client, c.legal_aid, &consent), json!({"service": "vocational"})),
    )
    .await;
    let (other, other_consent) = consenting_client(&app, &c, c.sip).await;
    let declined = sent(&app, &c.pfm_counselor, &referral_body(&other, c.sip, &other_consent)).await;
    for (account, referral, name, version, request) in [
        (&c.lawyer, &completed, "accept", 1, json!({})),
        (&c.pfm_counselor, &cancelled, "cancel", 1, json!({})),
        (&c.outsider, &declined, "decline", 1, json!({"reason_code": "outside_area"})),
        (&c.lawyer, &completed, "complete", 2, json!({"outcome": "Appeal lodged"})),
    ] {
        assert_eq!(transition(&app, account, referral, name, version, request).await.status(), StatusCode::OK);
    }

    let mut expected_pfm = vec![];
    for referral in [&completed, &cancelled, &declined] {
        for event in read(&app, &c.pfm_counselor, referral).await["history"].as_array().unwrap() {
            expected_pfm.push(event.clone());
        }
    }
    expected_pfm.sort_by_key(|event| event["position"].as_i64().unwrap());
    assert_eq!(expected_pfm.len(), 7, "three created, accepted, cancelled, declined, completed");
    let expected_legal_aid: Vec<Value> =
        expected_pfm.iter().filter(|event| event["referral_id"] != declined["id"]).cloned().collect();

    for (account, expected) in [(&c.pfm_counselor, expected_pfm), (&c.lawyer, expected_legal_aid)] {
        let mut seen: Vec<Value> = vec![];
        let mut after = 0;
        loop {
            let page: Value = body(
                app.get(&format!("/api/v1/referrals/changes?after={after}&limit=1"))
                    .bearer_auth(&account.token)
                    .send()
                    .await
                    .unwrap(),
            )
            .await;
            let items = page["items"].as_array().unwrap();
            assert!(items.len() <= 1, "{page}");
            let Some(event) = items.first() else { break };
            assert!(event["position"].as_i64().unwrap() > after, "positions increase");
            after = page["last_position"].as_i64().unwrap();
            assert_eq!(after, event["position"].as_i64().unwrap());
            seen.push(event.clone());
            assert!(seen.len() <= expected.len(), "more events than happened: {seen:?}");
        }
        assert_eq!(seen, expected, "every event of the organisation exactly once, in order");
    }
}

#[tokio::test]
async fn an_expired_withdrawn_or_other_partners_consent_is_no_consent() {
    let app = TestApp::spawn().await;
    let c = consortium(&app).await;
    let client = create_client(&app, &c.pfm_counselor, json!({"given_names": "Aslan", "family_name": "Basayev"})).await;
    let client_id = client["id"].as_str().unwrap();
    let today = casebridge::domain::today();
    let expired = consent_as(
        &app,
        &c.pfm_counselor,
        client_id,
        c.legal_aid,
        json!({"given_on": today - chrono::Days::new(400), "expires_on": today - chrono::Days::new(1)}),
    )
    .await;
    let withdrawn = consent(&app, &c.pfm_counselor, client_id, c.legal_aid, json!(["identity"])).await;
    let withdraw = format!("/api/v1/clients/{client_id}/consents/{}/withdraw", withdrawn["id"].as_str().unwrap());
    assert_eq!(app.post(&withdraw).bearer_auth(&c.pfm_counselor.token).send().await.unwrap().status(), StatusCode::OK);
    let for_sip = consent(&app, &c.pfm_counselor, client_id, c.sip, json!(["identity"])).await;
    for (what, consent) in [("expired", expired), ("withdrawn", withdrawn), ("for another partner", for_sip)] {
        let request = merged(referral_body(&client, c.legal_aid, &consent), json!({"shared_fields": ["given_names"]}));
        let problem = assert_problem(
            refer(&app, &c.pfm_counselor, &request).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "consent_required",
        )
        .await;
        assert!(problem["detail"].is_string(), "{what}: {problem}");
    }
    assert_eq!(listed(&app, &c.pfm_counselor, "box=outbox").await, Vec::<String>::new());
}

#[tokio::test]
async fn a_partner_that_does_not_offer_the_service_is_a_422() {
    let app = TestApp::spawn().await;
    let c = consortium(&app).await;
    let (client, consent) = consenting_client(&app, &c, c.legal_aid).await;
    let request = merged(referral_body(&client, c.legal_aid, &consent), json!({"service": "social"}));
    let problem = assert_problem(
        refer(&app, &c.pfm_counselor, &request).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert!(problem["errors"]["service"].as_str().unwrap().contains("does not offer"), "{problem}");
    assert_eq!(listed(&app, &c.pfm_counselor, "box=outbox").await, Vec::<String>::new());
}

#[tokio::test]
async fn concurrent_twins_under_one_idempotency_key_make_one_referral_and_both_get_its_201() {
    let app = TestApp::spawn_with(|vars| {
        vars.insert("CASEBRIDGE_WORKERS".into(), "4".into());
    })
    .await;
    let c = consortium(&app).await;
    let (client, consent) = consenting_client(&app, &c, c.legal_aid).await;
    let request = referral_body(&client, c.legal_aid, &consent);
    for round in 0..20 {
        let twin = || {
            app.post("/api/v1/referrals")
                .bearer_auth(&c.pfm_counselor.token)
                .header("idempotency-key", format!("refer-umarov-{round}"))
                .json(&request)
                .send()
        };
        let (first, second) = tokio::join!(twin(), twin());
        let (first, second) = (first.unwrap(), second.unwrap());
        let statuses = (first.status(), second.status());
        let (first, second): (Value, Value) = (first.json().await.unwrap(), second.json().await.unwrap());
        assert_eq!(statuses, (StatusCode::CREATED, StatusCode::CREATED), "round {round}: {first} {second}");
        assert_eq!(first["id"], second["id"], "round {round}");
        // Closed, it no longer stands in the way of the next round's referral.
        let cancelled = transition(&app, &c.pfm_counselor, &first, "cancel", 1, json!({})).await;
        assert_eq!(cancelled.status(), StatusCode::OK);
    }
    assert_eq!(app.audit_count("referral.create"), 20);
}

/// A client of PFM whom a referral to the legal-aid partner shares widely (identity and contact
/// fields), the consent it rests on, and the referral, accepted by the partner into a new record.
struct SharedCopy {
    client: Value,
    consent: Value,
    referral: Value,
    /// The partner's record, created from the shared fields.
    copy: String,
    partner_coordinator: Account,
}

async fn accepted_into_a_new_record(app: &TestApp, c: &Consortium) -> SharedCopy {
    let client = create_client(
        app,
        &c.pfm_counselor,
        json!({"given_names": "Aslan", "family_name": "Basayev", "native_name": "Аслан Басаев", "aliases": ["Aslanbek"],
               "date_of_birth": "1990-01-01", "sex": "male", "nationalities": ["RU"], "languages": ["ce", "ru"],
               "phone": "+48 600 000 001", "email": "aslan@example.org", "city": "Lublin",
               "identifiers": [{"kind": "passport", "value": "QX7654321"}]}),
    )
    .await;
    let consent =
        consent(app, &c.pfm_counselor, client["id"].as_str().unwrap(), c.legal_aid, json!(["identity", "contact"]))
            .await;
    let body = merged(
        referral_body(&client, c.legal_aid, &consent),
        json!({"reason": "Aslan Basayev needs help now",
               "shared_fields": ["given_names", "family_name", "native_name", "aliases", "date_of_birth", "sex",
                                 "nationalities", "languages", "identifiers", "phone", "email", "city"]}),
    );
    let referral = sent(app, &c.pfm_counselor, &body).await;
    let accepted = transition(app, &c.lawyer, &referral, "accept", 1, json!({})).await;
    assert_eq!(accepted.status(), StatusCode::OK);
    let accepted: Value = accepted.json().await.unwrap();
    let copy = accepted["partner_client_id"].as_str().unwrap().to_owned();
    let partner_coordinator = app.create_user(&c.admin, Some(c.legal_aid), "coordinator").await;
    SharedCopy { client, consent, referral, copy, partner_coordinator }
}

async fn withdraw(app: &TestApp, account: &Account, shared: &SharedCopy) {
    let path = format!(
        "/api/v1/clients/{}/consents/{}/withdraw",
        shared.client["id"].as_str().unwrap(),
        shared.consent["id"].as_str().unwrap()
    );
    assert_eq!(app.post(&path).bearer_auth(&account.token).send().await.unwrap().status(), StatusCode::OK);
}

/// The feed events of `kind` about `referral` that `account`'s organisation reads.
async fn feed_events(app: &TestApp, account: &Account, referral: &Value, kind: &str) -> Vec<Value> {
    let feed: Value =
        body(app.get("/api/v1/referrals/changes?limit=200").bearer_auth(&account.token).send().await.unwrap()).await;
    feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|event| event["referral_id"] == referral["id"] && event["kind"] == kind)
        .cloned()
        .collect()
}

/// Everything the partner can read of its copy and of the referral, as one text.
async fn partner_reads(app: &TestApp, shared: &SharedCopy, c: &Consortium) -> String {
    let coordinator = &shared.partner_coordinator;
    let copy = &shared.copy;
    let mut text = String::new();
    for path in [
        format!("/api/v1/clients/{copy}"),
        "/api/v1/clients".to_owned(),
        format!("/api/v1/clients/{copy}/export"),
        format!("/api/v1/referrals/{}", shared.referral["id"].as_str().unwrap()),
        "/api/v1/referrals?box=inbox".to_owned(),
        "/api/v1/referrals/changes".to_owned(),
    ] {
        let response = app.get(&path).bearer_auth(&coordinator.token).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        text.push_str(&response.text().await.unwrap());
    }
    let shared_view = app
        .get(&format!("/api/v1/referrals/{}/client", shared.referral["id"].as_str().unwrap()))
        .bearer_auth(&c.lawyer.token)
        .send()
        .await
        .unwrap();
    if shared_view.status() == StatusCode::OK {
        text.push_str(&shared_view.text().await.unwrap());
    }
    text
}

async fn partner_finds(app: &TestApp, account: &Account, query: &str) -> usize {
    let page: Value =
        body(app.get(&format!("/api/v1/clients?{query}")).bearer_auth(&account.token).send().await.unwrap()).await;
    page["items"].as_array().unwrap().len()
}

async fn duplicate_matches(app: &TestApp, account: &Account) -> usize {
    let answer: Value = body(
        app.post("/api/v1/clients/duplicate-check")
            .bearer_auth(&account.token)
            .json(&json!({"given_names": "Aslan", "family_name": "Basayev", "date_of_birth": "1990-01-01",
                          "identifiers": [{"kind": "passport", "value": "QX7654321"}]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    answer["matches"].as_array().unwrap().len()
}

const SHARED_SECRETS: [&str; 8] =
    ["Aslan", "Basayev", "Басаев", "QX7654321", "600 000 001", "aslan@example.org", "1990-01-01", "Lublin"];

#[tokio::test]
async fn partner_loses_shared_name_when_consent_is_withdrawn() {
    let app = TestApp::spawn().await;
    let c = consortium(&app).await;
    let shared = accepted_into_a_new_record(&app, &c).await;
    let copy = shared.copy.clone();
    let coordinator = shared.partner_coordinator.clone();
    // What the partner records itself.
    let record: Value =
        body(app.get(&format!("/api/v1/clients/{copy}")).bearer_auth(&coordinator.token).send().await.unwrap()).await;
    assert_eq!((&record["family_name"], &record["identifiers"][0]["value"]), (&json!("Basayev"), &json!("QX7654321")));
    let own = app
        .patch(&format!("/api/v1/clients/{copy}"))
        .bearer_auth(&coordinator.token)
        .header("if-match", format!("\"{}\"", record["version"]))
        .json(&json!({"region_of_origin": "Vedeno", "interpreter_needed": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), StatusCode::OK);
    let session = app
        .post(&format!("/api/v1/clients/{copy}/sessions"))
        .bearer_auth(&c.lawyer.token)
        .json(
            &json!({"kind": "legal", "mode": "in_person", "started_at": "2026-11-20T10:00:00Z", "duration_minutes": 90,
                      "summary": "Appeal drafted", "notes": "Client fears return."}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(session.status(), StatusCode::CREATED);
    let session: Value = session.json().await.unwrap();
    let event = app
        .post(&format!("/api/v1/clients/{copy}/procedure-events"))
        .bearer_auth(&c.lawyer.token)
        .json(&json!({"kind": "application_lodged", "occurred_on": "2026-10-01"}))
        .send()
        .await
        .unwrap();
    assert_eq!(event.status(), StatusCode::CREATED, "{}", event.text().await.unwrap());
    let before = partner_reads(&app, &shared, &c).await;
    for secret in SHARED_SECRETS {
        assert!(before.contains(secret), "{secret} is shared before the withdrawal");
    }
    assert_eq!(partner_finds(&app, &coordinator, "q=basayev").await, 1);
    assert_eq!(duplicate_matches(&app, &coordinator).await, 1);

    withdraw(&app, &c.pfm_counselor, &shared).await;

    let after = partner_reads(&app, &shared, &c).await;
    for secret in SHARED_SECRETS.iter().chain(&["needs help", "Aslanbek"]) {
        assert!(!after.contains(secret), "{secret} is still readable by the partner");
    }
    let record: Value =
        body(app.get(&format!("/api/v1/clients/{copy}")).bearer_auth(&coordinator.token).send().await.unwrap()).await;
    assert_eq!(
        (&record["given_names"], &record["family_name"]),
        (&json!("Referred client"), &json!("Referred client"))
    );
    assert_eq!(
        (&record["date_of_birth"], &record["birth_year"], &record["sex"]),
        (&Value::Null, &Value::Null, &json!("unknown"))
    );
    assert_eq!((&record["nationalities"], &record["languages"]), (&json!([]), &json!([])));
    assert_eq!(
        (&record["identifiers"], &record["aliases"], &record["native_name"]),
        (&json!([]), &json!([]), &Value::Null)
    );
    assert_eq!((&record["phone"], &record["email"], &record["city"]), (&Value::Null, &Value::Null, &Value::Null));
    assert_eq!(
        (&record["region_of_origin"], &record["interpreter_needed"]),
        (&json!("Vedeno"), &json!(true)),
        "the partner's own"
    );
    for query in [
        "q=basayev",
        "q=aslan",
        "q=%D0%91%D0%B0%D1%81%D0%B0%D0%B5%D0%B2",
        "q=QX7654321",
        "nationality=RU",
        "language=ce",
        "city=Lublin",
    ] {
        assert_eq!(partner_finds(&app, &coordinator, query).await, 0, "{query} still finds the copy");
    }
    assert_eq!(partner_finds(&app, &coordinator, "q=referred").await, 1);
    assert_eq!(duplicate_matches(&app, &coordinator).await, 0);

    let kept: Value =
        body(app.get(&format!("/api/v1/clients/{copy}/sessions")).bearer_auth(&c.lawyer.token).send().await.unwrap())
            .await;
    assert_eq!(kept["items"][0]["id"], session["id"], "the partner's own session stays");
    let read: Value = body(
        app.get(&format!("/api/v1/sessions/{}", session["id"].as_str().unwrap()))
            .bearer_auth(&c.lawyer.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(read["notes"], "Client fears return.");
    let events: Value = body(
        app.get(&format!("/api/v1/clients/{copy}/procedure-events")).bearer_auth(&c.lawyer.token).send().await.unwrap(),
    )
    .await;
    assert_eq!(events["items"][0]["kind"], "application_lodged", "the partner's own timeline stays");

    let told = feed_events(&app, &coordinator, &shared.referral, "consent_withdrawn").await;
    assert_eq!(told.len(), 1, "the partner's coordinators are told");
    assert_eq!(told[0]["reason_code"], "shared_fields_removed");
    let seen = read_referral_as(&app, &coordinator, &shared.referral).await;
    assert_eq!(seen["reason"], "[consent withdrawn]", "the free-text reason is cleared");
    assert_eq!((&seen["status"], &seen["status_reason_code"]), (&json!("cancelled"), &json!("consent_withdrawn")));
    let sender_view = read_referral_as(&app, &c.pfm_counselor, &shared.referral).await;
    assert_eq!(sender_view["reason"], "[consent withdrawn]");

    use casebridge::db::schema::audit_events::dsl;
    use diesel::prelude::*;
    let removal: Vec<(Option<OrganisationId>, Option<String>)> = app.db(|conn| {
        dsl::audit_events
            .filter(dsl::action.eq("client.shared_fields_removed"))
            .select((dsl::organisation_id, dsl::client_id))
            .load(conn)
            .unwrap()
    });
    assert_eq!(removal, [(Some(c.legal_aid), Some(copy.clone()))], "audited in the partner's trail");
}

async fn read_referral_as(app: &TestApp, account: &Account, referral: &Value) -> Value {
    read(app, account, referral).await
}

#[tokio::test]
async fn withdrawing_the_consent_after_completion_still_takes_the_shared_fields_from_the_partner() {
    let app = TestApp::spawn().await;
    let c = consortium(&app).await;
    let shared = accepted_into_a_new_record(&app, &c).await;
    let completed =
        transition(&app, &c.lawyer, &shared.referral, "complete", 2, json!({"outcome": "Appeal lodged."})).await;
    assert_eq!(completed.status(), StatusCode::OK);

    withdraw(&app, &c.pfm_counselor, &shared).await;

    let after = partner_reads(&app, &shared, &c).await;
    for secret in SHARED_SECRETS {
        assert!(!after.contains(secret), "{secret} is still readable by the partner");
    }
    let seen = read(&app, &shared.partner_coordinator, &shared.referral).await;
    assert_eq!(seen["status"], "completed", "a closed referral keeps its status");
    assert_eq!(seen["outcome"], "Appeal lodged.");
    let told = feed_events(&app, &shared.partner_coordinator, &shared.referral, "consent_withdrawn").await;
    assert_eq!(told.len(), 1);
    assert_eq!(told[0]["reason_code"], "shared_fields_removed");
    assert!(feed_events(&app, &shared.partner_coordinator, &shared.referral, "cancelled").await.is_empty());
}

#[tokio::test]
async fn a_record_the_partner_linked_when_accepting_keeps_its_fields_after_the_withdrawal() {
    let app = TestApp::spawn().await;
    let c = consortium(&app).await;
    let (client, consent, referral) = setup_referral(&app, &c).await;
    let own = create_client(
        &app,
        &c.lawyer,
        json!({"given_names": "Aslan", "family_name": "Basayev", "identifiers": [{"kind": "passport", "value": "QX1111111"}]}),
    )
    .await;
    let accepted = transition(&app, &c.lawyer, &referral, "accept", 1, json!({"client_id": own["id"]})).await;
    assert_eq!(accepted.status(), StatusCode::OK);
    let path = format!(
        "/api/v1/clients/{}/consents/{}/withdraw",
        client["id"].as_str().unwrap(),
        consent["id"].as_str().unwrap()
    );
    assert_eq!(app.post(&path).bearer_auth(&c.pfm_counselor.token).send().await.unwrap().status(), StatusCode::OK);

    let record: Value = body(
        app.get(&format!("/api/v1/clients/{}", own["id"].as_str().unwrap()))
            .bearer_auth(&c.lawyer.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((&record["family_name"], &record["version"]), (&json!("Basayev"), &own["version"]), "unchanged");
    assert_eq!(record["identifiers"][0]["value"], "QX1111111");
    let told = feed_events(&app, &c.lawyer, &referral, "consent_withdrawn").await;
    assert_eq!(told.len(), 1);
    assert_eq!(told[0]["reason_code"], "linked_record_unchanged");
    assert_eq!(app.audit_count("client.shared_fields_removed"), 0);
}

#[tokio::test]
async fn the_partner_is_told_in_the_feed_when_the_sender_erases_the_client() {
    let app = TestApp::spawn().await;
    let c = consortium(&app).await;
    let shared = accepted_into_a_new_record(&app, &c).await;
    let sender_coordinator = app.create_user(&c.admin, Some(c.pfm), "coordinator").await;
    let erased = app
        .post(&format!("/api/v1/clients/{}/erase", shared.client["id"].as_str().unwrap()))
        .bearer_auth(&sender_coordinator.token)
        .json(&json!({"reason": "Request of the client of 20 November"}))
        .send()
        .await
        .unwrap();
    assert_eq!(erased.status(), StatusCode::NO_CONTENT);

    let told = feed_events(&app, &shared.partner_coordinator, &shared.referral, "client_erased").await;
    assert_eq!(told.len(), 1, "the partner is told so that it can erase its own record");
    assert_eq!(told[0]["reason_code"], "partner_record_held");
    assert_eq!(told[0]["actor_id"], json!(sender_coordinator.id));
    let seen = read(&app, &shared.partner_coordinator, &shared.referral).await;
    assert_eq!(seen["partner_client_id"], json!(shared.copy), "the partner knows which record it is");
    assert_eq!(feed_events(&app, &c.outsider, &shared.referral, "client_erased").await.len(), 0);
}

/// Referrals accepted before the database remembered how: the migration recognises a record that
/// accepting created (made a moment before the acceptance) and leaves a linked one alone, so a
/// later withdrawal treats each as it should.
#[tokio::test]
async fn the_migration_recognises_records_created_by_earlier_acceptances() {
    use diesel::connection::SimpleConnection;
    let app = TestApp::spawn().await;
    let c = consortium(&app).await;
    let created = accepted_into_a_new_record(&app, &c).await;
    let (_, _, linking) = setup_referral(&app, &c).await;
    let own = create_client(&app, &c.lawyer, json!({"given_names": "Aslan", "family_name": "Basayev"})).await;
    let linked = transition(&app, &c.lawyer, &linking, "accept", 1, json!({"client_id": own["id"]})).await;
    assert_eq!(linked.status(), StatusCode::OK);
    let migration = if app.is_postgres() {
        include_str!("../../migrations/postgres/2026-12-03-000010_partner_record_from_share/up.sql")
    } else {
        include_str!("../../migrations/sqlite/2026-12-03-000010_partner_record_from_share/up.sql")
    };
    let backfill = &migration[migration.find("UPDATE referrals").unwrap()..];
    let created_flags = |app: &TestApp| -> Vec<(String, bool)> {
        use casebridge::db::schema::referrals::dsl;
        use diesel::prelude::*;
        app.db(|conn| dsl::referrals.order(dsl::id).select((dsl::id, dsl::partner_client_created)).load(conn).unwrap())
    };
    let remembered = created_flags(&app);
    app.db(|conn| conn.batch_execute("UPDATE referrals SET partner_client_created = FALSE").unwrap());
    app.db(|conn| conn.batch_execute(backfill).unwrap());
    assert_eq!(created_flags(&app), remembered);
    let flag_of = |referral: &Value| remembered.iter().find(|(id, _)| referral["id"] == json!(id)).unwrap().1;
    assert!(flag_of(&created.referral) && !flag_of(&linking));
}

#[tokio::test]
async fn merging_the_partners_copy_into_its_own_record_takes_no_shared_values_and_a_withdrawal_keeps_that_record() {
    let app = TestApp::spawn().await;
    let c = consortium(&app).await;
    let shared = accepted_into_a_new_record(&app, &c).await;
    let coordinator = shared.partner_coordinator.clone();
    let own =
        create_client(&app, &c.lawyer, json!({"given_names": "Aslan", "family_name": "Basaev", "city": "Warszawa"}))
            .await;
    let copy: Value = body(
        app.get(&format!("/api/v1/clients/{}", shared.copy)).bearer_auth(&coordinator.token).send().await.unwrap(),
    )
    .await;
    let merged = app
        .post(&format!("/api/v1/clients/{}/merge", own["id"].as_str().unwrap()))
        .bearer_auth(&coordinator.token)
        .header("if-match", "\"1\"")
        .json(&json!({"duplicate_id": shared.copy, "duplicate_version": copy["version"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(merged.status(), StatusCode::OK);
    let merged: Value = merged.json().await.unwrap();
    assert_eq!(merged["aliases"], json!([]), "the shared names rest on the consent, not on this record");
    assert_eq!((&merged["phone"], &merged["identifiers"]), (&Value::Null, &json!([])));
    let referral = read(&app, &c.lawyer, &shared.referral).await;
    assert_eq!(referral["partner_client_id"], own["id"]);

    withdraw(&app, &c.pfm_counselor, &shared).await;
    let kept: Value = body(
        app.get(&format!("/api/v1/clients/{}", own["id"].as_str().unwrap()))
            .bearer_auth(&coordinator.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((&kept["family_name"], &kept["city"]), (&json!("Basaev"), &json!("Warszawa")));
}
