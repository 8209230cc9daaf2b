//! Signing in, tokens, sessions and throttling.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as BASE64URL;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, SIGNING_SEED, TestApp, assert_problem, body};

#[tokio::test]
async fn admin_signs_in_and_sees_themselves() {
    let app = TestApp::spawn().await;
    let admin = app.insert_admin("first.admin@example.org");
    let response = app.login("First.Admin@Example.org", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
    let tokens: Value = response.json().await.unwrap();
    assert_eq!(tokens["token_type"], "Bearer");
    assert!(tokens["expires_in"].as_u64().unwrap() <= 900);
    let me = app.get("/api/v1/auth/me").bearer_auth(tokens["access_token"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    let me: Value = me.json().await.unwrap();
    assert_eq!(me["id"], admin.id.to_string());
    assert_eq!(me["role"], "consortium_admin");
    assert!(me.get("password_hash").is_none() && me.get("password").is_none());
    assert!(me["last_login_at"].is_string());
}

#[tokio::test]
async fn wrong_password_and_unknown_email_get_the_same_answer() {
    let app = TestApp::spawn().await;
    app.insert_admin("known@example.org");
    let wrong_password = app.login("known@example.org", "not the password at all").await;
    let unknown_email = app.login("unknown@example.org", "not the password at all").await;
    assert_eq!(wrong_password.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(unknown_email.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(body::<Value>(wrong_password).await, body::<Value>(unknown_email).await);
    assert_eq!(app.audit_count("auth.login"), 2, "both failures are audited");
}

#[tokio::test]
async fn refresh_rotates_the_token_pair() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let response =
        app.post("/api/v1/auth/refresh").json(&json!({"refresh_token": admin.refresh_token})).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let tokens: Value = response.json().await.unwrap();
    assert_ne!(tokens["refresh_token"], admin.refresh_token.as_str());
    let me = app.get("/api/v1/auth/me").bearer_auth(tokens["access_token"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(me.status(), StatusCode::OK);
}

#[tokio::test]
async fn reusing_a_spent_refresh_token_revokes_the_whole_family() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let first =
        app.post("/api/v1/auth/refresh").json(&json!({"refresh_token": admin.refresh_token})).send().await.unwrap();
    let successor: Value = first.json().await.unwrap();

    let replay =
        app.post("/api/v1/auth/refresh").json(&json!({"refresh_token": admin.refresh_token})).send().await.unwrap();
    assert_problem(replay, StatusCode::UNAUTHORIZED, "unauthorized").await;

    let successor_refresh = app
        .post("/api/v1/auth/refresh")
        .json(&json!({"refresh_token": successor["refresh_token"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(successor_refresh.status(), StatusCode::UNAUTHORIZED, "the family is revoked");
    let me = app.get("/api/v1/auth/me").bearer_auth(successor["access_token"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED, "access tokens of the family are refused too");
    assert_eq!(app.audit_count("auth.refresh_reused"), 1);
}

#[tokio::test]
async fn logout_refuses_the_sessions_access_token_at_once() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let response =
        app.post("/api/v1/auth/logout").json(&json!({"refresh_token": admin.refresh_token})).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let me = app.get("/api/v1/auth/me").bearer_auth(&admin.token).send().await.unwrap();
    assert_problem(me, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let refresh =
        app.post("/api/v1/auth/refresh").json(&json!({"refresh_token": admin.refresh_token})).send().await.unwrap();
    assert_eq!(refresh.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn password_change_refuses_earlier_tokens_and_the_new_password_works() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let new_password = "amber kettle over Vistula 2031?";
    let response = app
        .post("/api/v1/auth/password")
        .bearer_auth(&admin.token)
        .json(&json!({"current_password": PASSWORD, "new_password": new_password}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let me = app.get("/api/v1/auth/me").bearer_auth(&admin.token).send().await.unwrap();
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.login(&admin.email, PASSWORD).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.login(&admin.email, new_password).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn password_change_needs_the_current_password_and_a_strong_new_one() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let response = app
        .post("/api/v1/auth/password")
        .bearer_auth(&admin.token)
        .json(&json!({"current_password": "wrong current one", "new_password": "password1234"}))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert!(problem["errors"]["current_password"].is_string());
    assert!(problem["errors"]["new_password"].is_string());
    let me = app.get("/api/v1/auth/me").bearer_auth(&admin.token).send().await.unwrap();
    assert_eq!(me.status(), StatusCode::OK, "a refused change leaves the session alone");
}

#[tokio::test]
async fn deactivated_user_is_refused_at_once() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let organisation = app.create_organisation(&admin, "PFM").await;
    let counselor = app.create_user(&admin, Some(organisation), "counselor").await;
    let response = app
        .patch(&format!("/api/v1/users/{}", counselor.id))
        .bearer_auth(&admin.token)
        .header("if-match", "\"2\"" /* created, then enrolled */)
        .json(&json!({"active": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let me = app.get("/api/v1/auth/me").bearer_auth(&counselor.token).send().await.unwrap();
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
    let refresh =
        app.post("/api/v1/auth/refresh").json(&json!({"refresh_token": counselor.refresh_token})).send().await.unwrap();
    assert_eq!(refresh.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.login(&counselor.email, PASSWORD).await.status(), StatusCode::UNAUTHORIZED);
}

/// Claims of a real access token, to be altered one at a time.
fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&BASE64URL.decode(payload).unwrap()).unwrap()
}

fn sign(claims: &Value, kid: &str, seed: [u8; 32]) -> String {
    let der = SigningKey::from_bytes(&seed).to_pkcs8_der().unwrap();
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_ed_der(der.as_bytes())).unwrap()
}

async fn assert_refused(app: &TestApp, token: &str, why: &str) {
    let response = app.get("/api/v1/auth/me").bearer_auth(token).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{why} was accepted");
    assert_eq!(response.headers()["content-type"], "application/problem+json");
}

#[tokio::test]
async fn forged_and_altered_tokens_are_refused() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let jwks: Value = body(app.get("/.well-known/jwks.json").send().await.unwrap()).await;
    let kid = jwks["keys"][0]["kid"].as_str().unwrap().to_owned();
    let claims = claims_of(&admin.token);

    // Sanity: a token re-signed by the test with the real key and unchanged claims works, so
    // each refusal below is due to the one detail that differs.
    let genuine = sign(&claims, &kid, SIGNING_SEED);
    let me = app.get("/api/v1/auth/me").bearer_auth(&genuine).send().await.unwrap();
    assert_eq!(me.status(), StatusCode::OK);

    let header = BASE64URL.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = BASE64URL.encode(serde_json::to_vec(&claims).unwrap());
    assert_refused(&app, &format!("{header}.{payload}."), "alg none").await;

    let public_key = BASE64URL.decode(jwks["keys"][0]["x"].as_str().unwrap()).unwrap();
    let mut hs_header = Header::new(Algorithm::HS256);
    hs_header.kid = Some(kid.clone());
    let hs256 = jsonwebtoken::encode(&hs_header, &claims, &EncodingKey::from_secret(&public_key)).unwrap();
    assert_refused(&app, &hs256, "HS256 signed with the public key").await;

    let now = chrono::Utc::now().timestamp();
    let mut expired = claims.clone();
    expired["iat"] = json!(now - 3600);
    expired["exp"] = json!(now - 600);
    assert_refused(&app, &sign(&expired, &kid, SIGNING_SEED), "an expired token").await;

    let mut audience = claims.clone();
    audience["aud"] = json!("another-service");
    assert_refused(&app, &sign(&audience, &kid, SIGNING_SEED), "a wrong audience").await;

    let mut issuer = claims.clone();
    issuer["iss"] = json!("someone-else");
    assert_refused(&app, &sign(&issuer, &kid, SIGNING_SEED), "a wrong issuer").await;

    let mut kind = claims.clone();
    kind["typ"] = json!("refresh");
    assert_refused(&app, &sign(&kind, &kid, SIGNING_SEED), "a token of another type").await;

    assert_refused(&app, &sign(&claims, &kid, [9; 32]), "a token signed with another key").await;
    assert_refused(&app, &admin.refresh_token, "a refresh token used as access token").await;
    assert_refused(&app, "", "an empty token").await;
}

#[tokio::test]
async fn repeated_wrong_passwords_are_throttled_with_retry_after() {
    let app = TestApp::spawn_with(|vars| {
        vars.insert("CASEBRIDGE_LOGIN_THROTTLE_WINDOW_SECONDS".into(), "600".into());
    })
    .await;
    let admin = app.insert_admin("target@example.org");
    let mut statuses = Vec::new();
    for _ in 0..20 {
        let response = app
            .post("/api/v1/auth/login")
            .header("x-forwarded-for", "203.0.113.7")
            .json(&json!({"email": admin.email, "password": "guessing wrongly again"}))
            .send()
            .await
            .unwrap();
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
            assert!((1..=600).contains(&retry_after));
        }
        statuses.push(response.status());
    }
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count(), 10);
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count(), 10);

    let during = login_from(&app, "203.0.113.7", &admin.email, PASSWORD).await;
    assert_eq!(during.status(), StatusCode::TOO_MANY_REQUESTS, "the guessing address stays blocked");

    failures_leave_the_window(&app);
    let after = login_from(&app, "203.0.113.7", &admin.email, PASSWORD).await;
    assert_eq!(after.status(), StatusCode::OK, "the block ends with the window");
}

/// Ten minutes and a second pass for the failures counted so far: they all leave a window of
/// 600 seconds.
fn failures_leave_the_window(app: &TestApp) {
    app.db(|conn| {
        use casebridge::db::schema::login_failures::dsl;
        use diesel::prelude::*;
        let past = (chrono::Utc::now() - chrono::Duration::seconds(601)).naive_utc();
        diesel::update(dsl::login_failures).set(dsl::at.eq(past)).execute(conn)
    })
    .unwrap();
}

async fn login_from(app: &TestApp, address: &str, email: &str, password: &str) -> reqwest::Response {
    app.post("/api/v1/auth/login")
        .header("x-forwarded-for", address)
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap()
}

fn count_rows(app: &TestApp, table: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        count: i64,
    }
    app.db(|conn| {
        diesel::RunQueryDsl::get_result::<Count>(
            diesel::sql_query(format!("SELECT COUNT(*) AS count FROM {table}")),
            conn,
        )
        .unwrap()
        .count
    })
}

#[tokio::test]
async fn a_mebibyte_email_at_sign_in_is_a_422_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let admin = app.insert_admin("bounded@example.org");
    // As long as the 1 MiB body limit allows, so that the e-mail itself is what is refused.
    let huge_email = format!("{}@example.org", "a".repeat(1024 * 1024 - 100));
    let (failures, events) = (count_rows(&app, "login_failures"), count_rows(&app, "audit_events"));

    let response = login_from(&app, "203.0.113.7", &huge_email, PASSWORD).await;
    let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(problem["errors"]["email"], "must be at most 254 characters");
    let response = login_from(&app, "203.0.113.7", &admin.email, &"long password ".repeat(10)).await;
    let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(problem["errors"]["password"], "must be at most 128 characters");

    assert_eq!(count_rows(&app, "login_failures"), failures, "no failure counted");
    assert_eq!(count_rows(&app, "audit_events"), events, "no audit event");
    let response = login_from(&app, "203.0.113.7", &admin.email, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK, "and nothing held against the account");
}

#[tokio::test]
async fn an_e_mail_of_254_characters_is_an_ordinary_wrong_sign_in_kept_as_a_short_digest() {
    let app = TestApp::spawn().await;
    let longest = format!("{}@example.org", "b".repeat(254 - "@example.org".len()));
    let response = login_from(&app, "203.0.113.7", &longest, "not the password at all").await;
    assert_problem(response, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let keys: Vec<String> = app.db(|conn| {
        use casebridge::db::schema::login_failures::dsl;
        use diesel::prelude::*;
        dsl::login_failures.select(dsl::account_key).load(conn).unwrap()
    });
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].len(), 64, "a SHA-256 digest, not the address typed");
    assert!(!keys[0].contains("bbbb"));
}

#[tokio::test]
async fn failures_that_left_the_window_are_dropped_whatever_their_account() {
    let app = TestApp::spawn_with(|vars| {
        vars.insert("CASEBRIDGE_LOGIN_THROTTLE_WINDOW_SECONDS".into(), "600".into());
    })
    .await;
    for n in 0..3 {
        login_from(&app, "203.0.113.7", &format!("someone-{n}@example.org"), "not the password at all").await;
    }
    assert_eq!(count_rows(&app, "login_failures"), 3);
    failures_leave_the_window(&app);
    login_from(&app, "198.51.100.20", "another@example.org", "not the password at all").await;
    assert_eq!(count_rows(&app, "login_failures"), 1, "only the new failure is kept");
}

#[tokio::test]
async fn guessing_from_one_address_cannot_lock_the_owner_out_and_the_owner_is_told() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let organisation = app.create_organisation(&admin, "PFM").await;
    let coordinator = app.create_user(&admin, Some(organisation), "coordinator").await;
    let owner = app.create_user(&admin, Some(organisation), "counselor").await;
    let guesser = "203.0.113.7";

    for attempt in 0..10 {
        let response = login_from(&app, guesser, &owner.email, &format!("guess number {attempt} is wrong")).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let refused = login_from(&app, guesser, &owner.email, "one more wrong guess").await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers().contains_key("retry-after"));
    let right_but_refused = login_from(&app, guesser, &owner.email, PASSWORD).await;
    assert_eq!(right_but_refused.status(), StatusCode::TOO_MANY_REQUESTS, "the guessing address learns nothing");

    let owner_signs_in = login_from(&app, "198.51.100.20", &owner.email, PASSWORD).await;
    assert_eq!(owner_signs_in.status(), StatusCode::OK, "an address without failures still signs in");
    let token: Value = owner_signs_in.json().await.unwrap();
    let me: Value =
        body(app.get("/api/v1/auth/me").bearer_auth(token["access_token"].as_str().unwrap()).send().await.unwrap())
            .await;
    assert_eq!(me["id"], owner.id.to_string());
    assert_eq!(me["failed_sign_ins_since_last_login"], 12, "ten failures and two refusals since the last sign-in");

    let still_refused = login_from(&app, guesser, &owner.email, PASSWORD).await;
    assert_eq!(still_refused.status(), StatusCode::TOO_MANY_REQUESTS, "the owner's sign-in forgives no guesser");
    let another_guesser = "192.0.2.44";
    let one_try = login_from(&app, another_guesser, &owner.email, "a guess from elsewhere").await;
    assert_eq!(one_try.status(), StatusCode::UNAUTHORIZED);
    let no_second = login_from(&app, another_guesser, &owner.email, "another guess from elsewhere").await;
    assert_eq!(no_second.status(), StatusCode::TOO_MANY_REQUESTS, "while over its limit, one try per address");

    let trail: Value = body(
        app.get("/api/v1/audit-events?action=auth.account_throttled")
            .bearer_auth(&coordinator.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let events = trail["items"].as_array().unwrap();
    assert_eq!(events.len(), 1, "the organisation's trail shows the account reached its limit: {trail}");
    assert_eq!(events[0]["resource_id"], owner.id.to_string());
    assert_eq!(events[0]["ip"], guesser);
}

#[tokio::test]
async fn me_counts_failed_sign_ins_since_the_previous_sign_in_only() {
    let app = TestApp::spawn().await;
    let admin = app.insert_admin("counted@example.org");
    login_from(&app, "203.0.113.7", &admin.email, "not the password at all").await;
    let first = app.signed_in(admin.clone()).await;
    let me: Value = body(app.get("/api/v1/auth/me").bearer_auth(&first.token).send().await.unwrap()).await;
    assert_eq!(me["failed_sign_ins_since_last_login"], 1, "the first sign-in counts every earlier failure");
    let second = app.signed_in(admin).await;
    let me: Value = body(app.get("/api/v1/auth/me").bearer_auth(&second.token).send().await.unwrap()).await;
    assert_eq!(me["failed_sign_ins_since_last_login"], 0, "none since the previous sign-in");
}

#[tokio::test]
async fn throttling_counts_hold_across_two_api_instances() {
    let first = TestApp::spawn().await;
    let second = first.sibling().await;
    let admin = first.insert_admin("shared@example.org");
    for attempt in 0..10 {
        let app = if attempt % 2 == 0 { &first } else { &second };
        let response = app.login(&admin.email, "guessing wrongly again").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let eleventh = first.login(&admin.email, PASSWORD).await;
    assert_eq!(eleventh.status(), StatusCode::TOO_MANY_REQUESTS);
    let on_the_other = second.login(&admin.email, PASSWORD).await;
    assert_eq!(on_the_other.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn a_session_started_on_one_instance_refreshes_on_another() {
    let first = TestApp::spawn().await;
    let second = first.sibling().await;
    let admin = first.admin().await;
    let response =
        second.post("/api/v1/auth/refresh").json(&json!({"refresh_token": admin.refresh_token})).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let tokens: Value = response.json().await.unwrap();
    let me = first.get("/api/v1/auth/me").bearer_auth(tokens["access_token"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(me.status(), StatusCode::OK);
}

#[tokio::test]
async fn oversized_passwords_at_password_change_and_enrolment_are_422s_that_count_nothing() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let huge = "x".repeat(1024 * 1024 - 100);
    let failures = count_rows(&app, "login_failures");
    let change = app
        .post("/api/v1/auth/password")
        .bearer_auth(&admin.token)
        .json(&json!({"current_password": huge, "new_password": "amber kettle over Vistula 2031?"}))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(change, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(problem["errors"]["current_password"], "must be at most 128 characters");
    let enrol = app.enrol("a-token-nobody-was-given", &huge).await;
    let problem = assert_problem(enrol, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(problem["errors"]["password"], "must be at most 128 characters");
    assert_eq!(count_rows(&app, "login_failures"), failures, "no failure counted");
    let me = app.get("/api/v1/auth/me").bearer_auth(&admin.token).send().await.unwrap();
    assert_eq!(me.status(), StatusCode::OK, "the session goes on");
}

#[tokio::test]
async fn a_wrong_current_password_counts_as_a_failed_sign_in_and_a_right_one_forgives_it() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let change = |current: &'static str| {
        app.post("/api/v1/auth/password")
            .bearer_auth(&admin.token)
            .json(&json!({"current_password": current, "new_password": "password1234"}))
            .send()
    };
    assert_eq!(change("wrong current one").await.unwrap().status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(count_rows(&app, "login_failures"), 1);
    // Right current password, weak new one: still refused, but the attempt is forgiven.
    assert_eq!(change(PASSWORD).await.unwrap().status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(count_rows(&app, "login_failures"), 0);
}
