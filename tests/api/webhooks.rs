//! Webhooks: partner systems told of events by signed POSTs from the outbox, against a real
//! receiver in the test process.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use casebridge::db::{DeadlineId, OrganisationId};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::clients::create_client;
use crate::helpers::{Account, TestApp, assert_problem, body};

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub at: Instant,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
    /// The sender's port: one connection, one port.
    pub peer_port: u16,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }

    pub fn webhook_id(&self) -> &str {
        self.headers["webhook-id"].to_str().unwrap()
    }
}

#[derive(Default)]
struct Script {
    /// Statuses to answer, in order; 200 once they are used up.
    answers: VecDeque<u16>,
    /// Never answer (the connection stays open).
    hang: bool,
    /// The body of every answer.
    reply: String,
    received: Vec<Received>,
}

/// An HTTP receiver on 127.0.0.1 that records what it gets and answers as scripted.
#[derive(Clone)]
pub struct Receiver {
    script: Arc<Mutex<Script>>,
    pub url: String,
}

async fn receive(request: HttpRequest, body: web::Bytes, script: web::Data<Mutex<Script>>) -> HttpResponse {
    let mut headers = reqwest::header::HeaderMap::new();
    for (name, value) in request.headers() {
        headers.insert(
            reqwest::header::HeaderName::from_bytes(name.as_str().as_bytes()).unwrap(),
            reqwest::header::HeaderValue::from_bytes(value.as_bytes()).unwrap(),
        );
    }
    let peer_port = request.peer_addr().map_or(0, |peer| peer.port());
    let (status, hang, reply) = {
        let mut script = script.lock().unwrap();
        let body = String::from_utf8(body.to_vec()).unwrap();
        script.received.push(Received { at: Instant::now(), headers, body, peer_port });
        (script.answers.pop_front().unwrap_or(200), script.hang, script.reply.clone())
    };
    if hang {
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap()).body(reply)
}

impl Receiver {
    pub async fn start() -> Self {
        Self::scripted(&[], false).await
    }

    pub async fn scripted(answers: &[u16], hang: bool) -> Self {
        Self::with_script(Script { answers: answers.iter().copied().collect(), hang, ..Script::default() }).await
    }

    /// A receiver that answers 200 with `reply` as the body.
    pub async fn replying(reply: String) -> Self {
        Self::with_script(Script { reply, ..Script::default() }).await
    }

    async fn with_script(script: Script) -> Self {
        let script = Arc::new(Mutex::new(script));
        let data = web::Data::from(script.clone());
        let server = HttpServer::new(move || App::new().app_data(data.clone()).default_service(web::to(receive)))
            .workers(1)
            .bind(("127.0.0.1", 0))
            .unwrap();
        let port = server.addrs()[0].port();
        tokio::spawn(server.run());
        Self { script, url: format!("http://127.0.0.1:{port}/events") }
    }

    pub fn received(&self) -> Vec<Received> {
        self.script.lock().unwrap().received.clone()
    }

    /// Waits (at most `limit`) until `count` requests arrived; returns them.
    pub async fn wait_for(&self, count: usize, limit: Duration) -> Vec<Received> {
        let started = Instant::now();
        loop {
            let received = self.received();
            if received.len() >= count || started.elapsed() > limit {
                return received;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Lets a test app's dispatcher reach the receivers on 127.0.0.1 and look for work every
/// `poll_ms`.
fn reach_localhost(vars: &mut HashMap<String, String>, poll_ms: u64) {
    vars.insert("CASEBRIDGE_WEBHOOK_ALLOW_PRIVATE".into(), "true".into());
    vars.insert("CASEBRIDGE_OUTBOX_POLL_INTERVAL_MS".into(), poll_ms.to_string());
}

/// A test app whose dispatcher reaches 127.0.0.1 and looks for work every `poll_ms`, with one
/// request at a time and so four deliveries a round.
async fn app_with_four_deliveries_a_round(poll_ms: u64) -> TestApp {
    TestApp::spawn_with(|vars| {
        reach_localhost(vars, poll_ms);
        vars.insert("CASEBRIDGE_WEBHOOK_CONCURRENCY".into(), "1".into());
    })
    .await
}

/// A test app whose dispatcher reaches 127.0.0.1, looks for work every 20 ms and retries after
/// `first_retry_ms` (doubling).
pub async fn app_reaching_localhost(first_retry_ms: u64) -> TestApp {
    TestApp::spawn_with(|vars| {
        reach_localhost(vars, 20);
        vars.insert("CASEBRIDGE_WEBHOOK_FIRST_RETRY_MS".into(), first_retry_ms.to_string());
        vars.insert("CASEBRIDGE_WEBHOOK_TIMEOUT_MS".into(), "1500".into());
    })
    .await
}

/// A test app whose dispatcher reaches 127.0.0.1, looks for work every 20 ms and at the
/// calendar (answer dates, deadlines, the purge of old deliveries) every 50 ms.
async fn app_watching_the_calendar() -> TestApp {
    TestApp::spawn_with(|vars| {
        reach_localhost(vars, 20);
        vars.insert("CASEBRIDGE_OUTBOX_CALENDAR_INTERVAL_MS".into(), "50".into());
    })
    .await
}

/// Adds a webhook as `coordinator`; returns the answer (with the secret).
pub async fn add_webhook(app: &TestApp, coordinator: &Account, url: &str, event_types: &[&str]) -> Value {
    let response = app
        .post("/api/v1/webhooks")
        .bearer_auth(&coordinator.token)
        .json(&json!({"url": url, "event_types": event_types, "description": "Case system"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED, "{}", response.text().await.unwrap());
    response.json().await.unwrap()
}

async fn deliveries(app: &TestApp, coordinator: &Account, webhook: &Value) -> Vec<Value> {
    let id = webhook["id"].as_str().unwrap();
    let page: Value = body(
        app.get(&format!("/api/v1/webhooks/{id}/deliveries")).bearer_auth(&coordinator.token).send().await.unwrap(),
    )
    .await;
    page["items"].as_array().unwrap().clone()
}

/// Waits (at most 10 s) until the webhook's newest delivery is no longer pending.
async fn settled(app: &TestApp, coordinator: &Account, webhook: &Value) -> Value {
    let started = Instant::now();
    loop {
        let log = deliveries(app, coordinator, webhook).await;
        if let Some(newest) = log.first().filter(|d| d["status"] != "pending") {
            return newest.clone();
        }
        assert!(started.elapsed() < Duration::from_secs(10), "still pending: {log:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn test_event(app: &TestApp, coordinator: &Account, webhook: &Value) -> String {
    let id = webhook["id"].as_str().unwrap();
    let response =
        app.post(&format!("/api/v1/webhooks/{id}/test")).bearer_auth(&coordinator.token).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    body::<Value>(response).await["event_id"].as_str().unwrap().to_owned()
}

/// Waits (at most 30 s) for the receiver to be told of `events`, then a little longer for
/// anything on its way, and asserts that it was told of each exactly once.
async fn assert_each_told_once(receiver: &Receiver, events: &mut [String]) {
    receiver.wait_for(events.len(), Duration::from_secs(30)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut told: Vec<String> =
        receiver.received().iter().map(|r| r.json()["id"].as_str().unwrap().to_owned()).collect();
    told.sort();
    events.sort();
    assert_eq!(told, events, "every event once, none twice");
}

/// Two organisations: PFM refers a client to HFPC.
pub struct Partners {
    pub admin: Account,
    pub pfm: OrganisationId,
    pub hfpc: OrganisationId,
    pub pfm_counselor: Account,
    pub hfpc_coordinator: Account,
}

pub async fn partners(app: &TestApp) -> Partners {
    let admin = app.admin().await;
    let pfm = app.create_organisation(&admin, "PFM").await;
    let hfpc = app.create_organisation(&admin, "HFPC").await;
    Partners {
        pfm_counselor: app.create_user(&admin, Some(pfm), "counselor").await,
        hfpc_coordinator: app.create_user(&admin, Some(hfpc), "coordinator").await,
        admin,
        pfm,
        hfpc,
    }
}

/// Refers a new client of PFM named Aslan Basayev to HFPC for `service`; returns the referral.
pub async fn refer(app: &TestApp, p: &Partners, service: &str) -> Value {
    let client = create_client(app, &p.pfm_counselor, json!({"given_names": "Aslan", "family_name": "Basayev"})).await;
    let client_id = client["id"].as_str().unwrap();
    let consent: Value = body(
        app.post(&format!("/api/v1/clients/{client_id}/consents"))
            .bearer_auth(&p.pfm_counselor.token)
            .json(&json!({"purpose": "sharing_with_partner", "partner_id": p.hfpc, "scope": ["identity"],
                          "given_on": "2026-11-02", "language": "ru", "form_version": "PFM-2026-01"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let response = app
        .post("/api/v1/referrals")
        .bearer_auth(&p.pfm_counselor.token)
        .json(&json!({"client_id": client_id, "to_organisation_id": p.hfpc, "service": service,
                      "urgency": "routine", "reason": "Appeal against the Basayev decision",
                      "shared_fields": ["given_names", "family_name"], "consent_id": consent["id"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED, "{}", response.text().await.unwrap());
    response.json().await.unwrap()
}

#[tokio::test]
async fn the_partner_system_gets_a_referral_signed_as_standard_webhooks_verify_without_names() {
    let app = app_reaching_localhost(200).await;
    let receiver = Receiver::start().await;
    let p = partners(&app).await;
    let webhook = add_webhook(&app, &p.hfpc_coordinator, &receiver.url, &["referral_sent", "referral_cancelled"]).await;
    let secret = webhook["secret"].as_str().unwrap();
    assert!(secret.starts_with("whsec_"));

    let referral = refer(&app, &p, "legal").await;
    let received = receiver.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(received.len(), 1, "one event, one delivery");
    let delivery = &received[0];
    standardwebhooks::Webhook::new(secret)
        .unwrap()
        .verify(delivery.body.as_bytes(), &delivery.headers)
        .expect("the signature verifies with the Standard Webhooks library");
    // Tampering is caught.
    let forged = delivery.body.replace("referral_sent", "referral_cancelled");
    assert!(standardwebhooks::Webhook::new(secret).unwrap().verify(forged.as_bytes(), &delivery.headers).is_err());

    let event = delivery.json();
    assert_eq!(event["type"], "referral_sent");
    assert_eq!(event["data"]["referral_id"], referral["id"]);
    assert_eq!(event["data"]["to_organisation_id"], json!(p.hfpc));
    assert!(event["id"].is_string() && event["timestamp"].is_string());
    for personal in ["Aslan", "Basayev", "Appeal", "client_id"] {
        assert!(!delivery.body.contains(personal), "the body carries {personal}: {}", delivery.body);
    }

    let logged = settled(&app, &p.hfpc_coordinator, &webhook).await;
    assert_eq!(logged["status"], "delivered");
    assert_eq!(logged["attempts"], 1);
    assert_eq!(logged["last_response_code"], 200);
    assert_eq!(logged["event_type"], "referral_sent");
    assert_eq!(logged["id"].as_str().unwrap(), delivery.webhook_id(), "the log's id is the webhook-id");

    // The secret is shown once.
    let id = webhook["id"].as_str().unwrap();
    let read: Value =
        body(app.get(&format!("/api/v1/webhooks/{id}")).bearer_auth(&p.hfpc_coordinator.token).send().await.unwrap())
            .await;
    assert!(read.get("secret").is_none(), "{read}");
    let stored: Vec<u8> = app.db(|conn| {
        use casebridge::db::schema::webhooks::dsl;
        use diesel::prelude::*;
        dsl::webhooks.select(dsl::secret_sealed).first(conn).unwrap()
    });
    assert!(!String::from_utf8_lossy(&stored).contains(&secret[6..]), "the secret is sealed at rest");
}

#[tokio::test]
async fn events_are_written_with_their_change_and_only_to_webhooks_that_asked() {
    let app = app_reaching_localhost(200).await;
    let (asked, not_asked) = (Receiver::start().await, Receiver::start().await);
    let p = partners(&app).await;
    add_webhook(&app, &p.hfpc_coordinator, &asked.url, &["referral_sent"]).await;
    add_webhook(&app, &p.hfpc_coordinator, &not_asked.url, &["deadline_due_soon"]).await;
    let pfm_coordinator = app.create_user(&p.admin, Some(p.pfm), "coordinator").await;
    let sender_side = Receiver::start().await;
    add_webhook(&app, &pfm_coordinator, &sender_side.url, &["referral_sent", "referral_declined"]).await;

    let referral = refer(&app, &p, "legal").await;
    // A refused change writes nothing: declining with a stale version.
    let id = referral["id"].as_str().unwrap();
    let stale = app
        .post(&format!("/api/v1/referrals/{id}/decline"))
        .bearer_auth(&p.hfpc_coordinator.token)
        .header("if-match", "\"7\"")
        .json(&json!({"reason_code": "no_capacity"}))
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), StatusCode::PRECONDITION_FAILED);

    assert_eq!(asked.wait_for(1, Duration::from_secs(10)).await.len(), 1);
    assert_eq!(sender_side.wait_for(1, Duration::from_secs(10)).await.len(), 1, "both organisations may listen");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(not_asked.received().is_empty());
    assert_eq!(asked.received().len(), 1);
    assert_eq!(sender_side.received().len(), 1, "the refused decline told nobody");
    let written: i64 = app.db(|conn| {
        use casebridge::db::schema::outbox_events::dsl;
        use diesel::prelude::*;
        dsl::outbox_events.count().get_result(conn).unwrap()
    });
    assert_eq!(written, 1);
}

#[tokio::test]
async fn failed_deliveries_are_retried_with_doubling_pauses_under_one_webhook_id() {
    let app = app_reaching_localhost(300).await;
    let receiver = Receiver::scripted(&[503, 500, 502], false).await;
    let p = partners(&app).await;
    let webhook = add_webhook(&app, &p.hfpc_coordinator, &receiver.url, &["referral_sent"]).await;
    test_event(&app, &p.hfpc_coordinator, &webhook).await;

    let received = receiver.wait_for(4, Duration::from_secs(15)).await;
    assert_eq!(received.len(), 4, "three failures, then delivered");
    let ids: Vec<&str> = received.iter().map(Received::webhook_id).collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "one webhook-id on every attempt: {ids:?}");
    let pauses: Vec<u128> = received.windows(2).map(|w| (w[1].at - w[0].at).as_millis()).collect();
    // 300 ms, 600 ms, 1200 ms, each ±20 % jitter, plus the dispatcher's 20 ms polling.
    let expected = [300.0, 600.0, 1200.0];
    for (pause, expected) in pauses.iter().zip(expected) {
        let pause = *pause as f64;
        assert!(pause >= expected * 0.8 - 5.0 && pause <= expected * 1.2 + 250.0, "pauses {pauses:?}");
    }
    let logged = settled(&app, &p.hfpc_coordinator, &webhook).await;
    assert_eq!((logged["status"].as_str(), logged["attempts"].as_i64()), (Some("delivered"), Some(4)));
    assert_eq!(logged["last_response_code"], 200);
}

#[tokio::test]
async fn a_receiver_that_answers_with_a_body_is_reached_again_over_the_same_connection() {
    let app = app_reaching_localhost(300).await;
    // An answer longer than what arrives with the status line: it must be read for the
    // connection to be kept.
    let receiver =
        Receiver::replying(format!("{{\"received\": true, \"note\": \"{}\"}}", "thanks ".repeat(6000))).await;
    let p = partners(&app).await;
    let webhook = add_webhook(&app, &p.hfpc_coordinator, &receiver.url, &["referral_sent"]).await;
    for delivered in 1..=3 {
        test_event(&app, &p.hfpc_coordinator, &webhook).await;
        assert_eq!(receiver.wait_for(delivered, Duration::from_secs(10)).await.len(), delivered);
    }
    let ports: Vec<u16> = receiver.received().iter().map(|r| r.peer_port).collect();
    assert!(ports.iter().all(|port| *port == ports[0]), "one connection for one delivery after another: {ports:?}");
    let logged = settled(&app, &p.hfpc_coordinator, &webhook).await;
    assert_eq!((logged["status"].as_str(), logged["last_response_code"].as_i64()), (Some("delivered"), Some(200)));
}

#[tokio::test]
async fn a_delivery_that_keeps_failing_is_marked_failed_when_its_time_is_up() {
    let app = TestApp::spawn_with(|vars| {
        reach_localhost(vars, 20);
        vars.insert("CASEBRIDGE_WEBHOOK_FIRST_RETRY_MS".into(), "100".into());
        vars.insert("CASEBRIDGE_WEBHOOK_GIVE_UP_AFTER_MS".into(), "1000".into());
    })
    .await;
    let receiver = Receiver::scripted(&[500; 100], false).await;
    let p = partners(&app).await;
    let webhook = add_webhook(&app, &p.hfpc_coordinator, &receiver.url, &["referral_sent"]).await;
    test_event(&app, &p.hfpc_coordinator, &webhook).await;
    let logged = settled(&app, &p.hfpc_coordinator, &webhook).await;
    assert_eq!(logged["status"], "failed");
    assert_eq!(logged["last_response_code"], 500);
    assert!(logged["attempts"].as_i64().unwrap() >= 3, "{logged}");
    assert!(logged["next_attempt_at"].is_null());
    let attempts = receiver.received().len();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.received().len(), attempts, "no attempt after giving up");
}

#[tokio::test]
async fn a_receiver_that_answers_410_disables_its_webhook_until_turned_on_again() {
    let app = app_reaching_localhost(200).await;
    let receiver = Receiver::scripted(&[410], false).await;
    let p = partners(&app).await;
    let webhook = add_webhook(&app, &p.hfpc_coordinator, &receiver.url, &["referral_sent"]).await;
    test_event(&app, &p.hfpc_coordinator, &webhook).await;
    let logged = settled(&app, &p.hfpc_coordinator, &webhook).await;
    assert_eq!((logged["status"].as_str(), logged["last_response_code"].as_i64()), (Some("failed"), Some(410)));

    let id = webhook["id"].as_str().unwrap();
    let read = app.get(&format!("/api/v1/webhooks/{id}")).bearer_auth(&p.hfpc_coordinator.token).send().await.unwrap();
    let etag = read.headers()["etag"].to_str().unwrap().to_owned();
    let read: Value = read.json().await.unwrap();
    assert_eq!((read["active"].as_bool(), read["disabled_reason"].as_str()), (Some(false), Some("gone")));

    refer(&app, &p, "legal").await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(receiver.received().len(), 1, "a disabled webhook is told nothing");

    let resumed = app
        .patch(&format!("/api/v1/webhooks/{id}"))
        .bearer_auth(&p.hfpc_coordinator.token)
        .header("if-match", etag)
        .json(&json!({"active": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(resumed.status(), StatusCode::OK);
    let resumed: Value = resumed.json().await.unwrap();
    assert!(resumed["disabled_reason"].is_null());
    refer(&app, &p, "legal").await;
    assert_eq!(receiver.wait_for(2, Duration::from_secs(10)).await.len(), 2);
}

#[tokio::test]
async fn a_receiver_that_never_answers_holds_up_neither_requests_nor_other_deliveries() {
    let app = app_reaching_localhost(60_000).await;
    let (silent, prompt) = (Receiver::scripted(&[], true).await, Receiver::start().await);
    let p = partners(&app).await;
    let stuck = add_webhook(&app, &p.hfpc_coordinator, &silent.url, &["referral_sent"]).await;
    add_webhook(&app, &p.hfpc_coordinator, &prompt.url, &["referral_sent"]).await;
    refer(&app, &p, "legal").await;
    assert_eq!(silent.wait_for(1, Duration::from_secs(10)).await.len(), 1);
    // While the silent receiver holds its request, the other delivery arrives and the API answers.
    let received = prompt.wait_for(1, Duration::from_millis(1000)).await;
    assert_eq!(received.len(), 1, "the prompt receiver got its event while the other hung");
    let started = Instant::now();
    let listed = app.get("/api/v1/webhooks").bearer_auth(&p.hfpc_coordinator.token).send().await.unwrap().status();
    assert_eq!(listed, StatusCode::OK);
    assert!(started.elapsed() < Duration::from_millis(500), "a request waited {:?}", started.elapsed());
    // The silent one times out (1.5 s) and waits for its retry.
    let logged = {
        let started = Instant::now();
        loop {
            let log = deliveries(&app, &p.hfpc_coordinator, &stuck).await;
            if let Some(newest) = log.first().filter(|d| d["last_error"].is_string()) {
                break newest.clone();
            }
            assert!(started.elapsed() < Duration::from_secs(10), "no attempt written: {log:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    assert_eq!(logged["status"], "pending");
    assert_eq!(logged["last_error"], "no answer within the timeout");
}

#[tokio::test]
async fn webhook_urls_on_private_or_local_addresses_are_refused() {
    let app = TestApp::spawn().await;
    let p = partners(&app).await;
    for url in [
        "http://10.0.0.1/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://localhost:8080/hook",
        "http://127.0.0.1:9/hook",
        "http://[::1]/hook",
        "http://192.168.1.20/hook",
        "ftp://partner.example.org/hook",
    ] {
        let response = app
            .post("/api/v1/webhooks")
            .bearer_auth(&p.hfpc_coordinator.token)
            .json(&json!({"url": url, "event_types": ["referral_sent"]}))
            .send()
            .await
            .unwrap();
        let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert!(problem["errors"]["url"].is_string(), "{url}: {problem}");
    }
    let allowed = TestApp::spawn_with(|vars| {
        vars.insert("CASEBRIDGE_WEBHOOK_ALLOW_PRIVATE".into(), "true".into());
    })
    .await;
    let p = partners(&allowed).await;
    add_webhook(&allowed, &p.hfpc_coordinator, "http://10.0.0.1/hook", &["referral_sent"]).await;
}

#[tokio::test]
async fn a_changed_url_is_checked_like_a_new_one() {
    let app = TestApp::spawn().await;
    let p = partners(&app).await;
    let webhook =
        add_webhook(&app, &p.hfpc_coordinator, "https://cases.hfpc.example.org/hook", &["referral_sent"]).await;
    let id = webhook["id"].as_str().unwrap();
    let response = app
        .patch(&format!("/api/v1/webhooks/{id}"))
        .bearer_auth(&p.hfpc_coordinator.token)
        .header("if-match", "\"1\"")
        .json(&json!({"url": "http://169.254.169.254/latest/meta-data/"}))
        .send()
        .await
        .unwrap();
    assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
}

#[tokio::test]
async fn only_the_organisations_coordinators_manage_its_webhooks() {
    let app = TestApp::spawn().await;
    let p = partners(&app).await;
    let webhook =
        add_webhook(&app, &p.hfpc_coordinator, "https://cases.hfpc.example.org/hook", &["referral_sent"]).await;
    let id = webhook["id"].as_str().unwrap();
    let hfpc_counselor = app.create_user(&p.admin, Some(p.hfpc), "counselor").await;
    let hfpc_analyst = app.create_user(&p.admin, Some(p.hfpc), "analyst").await;
    let pfm_coordinator = app.create_user(&p.admin, Some(p.pfm), "coordinator").await;
    for caller in [&hfpc_counselor, &hfpc_analyst, &p.admin] {
        let listed = app.get("/api/v1/webhooks").bearer_auth(&caller.token).send().await.unwrap();
        assert_problem(listed, StatusCode::FORBIDDEN, "forbidden").await;
        let read = app.get(&format!("/api/v1/webhooks/{id}")).bearer_auth(&caller.token).send().await.unwrap();
        assert_problem(read, StatusCode::FORBIDDEN, "forbidden").await;
    }
    // Another organisation's coordinator does not learn the webhook exists.
    for path in [format!("/api/v1/webhooks/{id}"), format!("/api/v1/webhooks/{id}/deliveries")] {
        let response = app.get(&path).bearer_auth(&pfm_coordinator.token).send().await.unwrap();
        assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
    }
    let tested =
        app.post(&format!("/api/v1/webhooks/{id}/test")).bearer_auth(&pfm_coordinator.token).send().await.unwrap();
    assert_problem(tested, StatusCode::NOT_FOUND, "not_found").await;
    let listed: Value =
        body(app.get("/api/v1/webhooks").bearer_auth(&pfm_coordinator.token).send().await.unwrap()).await;
    assert_eq!(listed["items"], json!([]));
    let removed = app
        .request(reqwest::Method::DELETE, &format!("/api/v1/webhooks/{id}"))
        .bearer_auth(&pfm_coordinator.token)
        .send()
        .await
        .unwrap();
    assert_problem(removed, StatusCode::NOT_FOUND, "not_found").await;

    let removed = app
        .request(reqwest::Method::DELETE, &format!("/api/v1/webhooks/{id}"))
        .bearer_auth(&p.hfpc_coordinator.token)
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.audit_count("webhook.delete"), 1);
}

#[tokio::test]
async fn webhook_fields_are_validated() {
    let app = TestApp::spawn().await;
    let p = partners(&app).await;
    for (body, field) in [
        (json!({"url": "https://cases.example.org/", "event_types": []}), "event_types"),
        (json!({"url": "https://cases.example.org/", "event_types": ["webhook_test"]}), "event_types"),
        (
            json!({"url": format!("https://cases.example.org/{}", "a".repeat(2000)), "event_types": ["referral_sent"]}),
            "url",
        ),
        (
            json!({"url": "https://cases.example.org/", "event_types": ["referral_sent"], "description": "d".repeat(501)}),
            "description",
        ),
        (json!({"url": "https://user:pw@cases.example.org/", "event_types": ["referral_sent"]}), "url"),
    ] {
        let response =
            app.post("/api/v1/webhooks").bearer_auth(&p.hfpc_coordinator.token).json(&body).send().await.unwrap();
        let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert!(problem["errors"][field].is_string(), "{body}: {problem}");
    }
    let unknown = app
        .post("/api/v1/webhooks")
        .bearer_auth(&p.hfpc_coordinator.token)
        .json(&json!({"url": "https://cases.example.org/", "event_types": ["client_read"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);
    for _ in 0..10 {
        add_webhook(&app, &p.hfpc_coordinator, "https://cases.example.org/", &["referral_sent"]).await;
    }
    let eleventh = app
        .post("/api/v1/webhooks")
        .bearer_auth(&p.hfpc_coordinator.token)
        .json(&json!({"url": "https://cases.example.org/", "event_types": ["referral_sent"]}))
        .send()
        .await
        .unwrap();
    assert_problem(eleventh, StatusCode::UNPROCESSABLE_ENTITY, "too_many_webhooks").await;
}

#[tokio::test]
async fn the_outbox_is_counted_on_metrics() {
    let app = app_reaching_localhost(200).await;
    let receiver = Receiver::start().await;
    let p = partners(&app).await;
    let webhook = add_webhook(&app, &p.hfpc_coordinator, &receiver.url, &["referral_sent"]).await;
    test_event(&app, &p.hfpc_coordinator, &webhook).await;
    settled(&app, &p.hfpc_coordinator, &webhook).await;
    let started = Instant::now();
    let metrics = loop {
        let metrics = app.get("/metrics").send().await.unwrap().text().await.unwrap();
        if metrics.contains("casebridge_outbox_deliveries{status=\"delivered\"} 1")
            || started.elapsed() > Duration::from_secs(15)
        {
            break metrics;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(metrics.contains("casebridge_outbox_deliveries{status=\"delivered\"} 1"), "{metrics}");
    assert!(metrics.contains("casebridge_outbox_deliveries{status=\"failed\"} 0"), "{metrics}");
    assert!(metrics.contains("casebridge_outbox_events_waiting 0"), "{metrics}");
    assert!(metrics.contains("casebridge_outbox_delivery_latency_seconds_count 1"), "{metrics}");
}

#[tokio::test]
async fn answer_dates_and_deadlines_coming_close_are_told_once() {
    let app = app_watching_the_calendar().await;
    let (partner_side, sender_side) = (Receiver::start().await, Receiver::start().await);
    let p = partners(&app).await;
    let pfm_coordinator = app.create_user(&p.admin, Some(p.pfm), "coordinator").await;
    add_webhook(&app, &p.hfpc_coordinator, &partner_side.url, &["referral_due_soon"]).await;
    add_webhook(&app, &pfm_coordinator, &sender_side.url, &["deadline_due_soon"]).await;

    // Monday 2 November 2026: a routine referral is due in ten working days (11 November is a
    // holiday), on 17 November; a complaint to the court is due on 12 November.
    app.set_warsaw_time("2026-11-02 09:00:00");
    let referral = refer(&app, &p, "legal").await;
    assert_eq!(referral["respond_by"], "2026-11-17");
    let client =
        create_client(&app, &p.pfm_counselor, json!({"given_names": "Zelimkhan", "family_name": "Umarov"})).await;
    let client_id = client["id"].as_str().unwrap();
    for event in [
        json!({"kind": "application_lodged", "occurred_on": "2026-01-12"}),
        json!({"kind": "first_instance_decision", "occurred_on": "2026-04-10", "delivered_on": "2026-04-17", "outcome": "refusal"}),
        json!({"kind": "appeal_lodged", "occurred_on": "2026-04-30"}),
        json!({"kind": "appeal_decision", "occurred_on": "2026-10-05", "delivered_on": "2026-10-12", "outcome": "upheld"}),
    ] {
        let response = app
            .post(&format!("/api/v1/clients/{client_id}/procedure-events"))
            .bearer_auth(&p.pfm_counselor.token)
            .json(&event)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED, "{}", response.text().await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(partner_side.received().is_empty() && sender_side.received().is_empty(), "nothing is close yet");

    // Monday 9 November: 9, 10 and 12 November are the deadline's last three working days.
    app.set_warsaw_time("2026-11-09 08:00:00");
    let closing: Vec<String> = app.db(|conn| {
        use casebridge::db::schema::deadlines::dsl;
        use diesel::prelude::*;
        let due = chrono::NaiveDate::from_ymd_opt(2026, 11, 12).unwrap();
        let ids: Vec<DeadlineId> = dsl::deadlines
            .filter(dsl::due_on.eq(due))
            .filter(dsl::closed_by_event_id.is_null())
            .select(dsl::id)
            .load(conn)
            .unwrap();
        ids.iter().map(ToString::to_string).collect()
    });
    assert!(!closing.is_empty());
    let told = sender_side.wait_for(closing.len(), Duration::from_secs(10)).await;
    let mut deadlines: Vec<String> =
        told.iter().map(|r| r.json()["data"]["deadline_id"].as_str().unwrap().to_owned()).collect();
    deadlines.sort();
    let mut expected = closing.clone();
    expected.sort();
    assert_eq!(deadlines, expected, "one event for each open deadline due on 12 November");
    for received in &told {
        let event = received.json();
        assert_eq!(
            (event["type"].as_str(), event["data"]["due_on"].as_str()),
            (Some("deadline_due_soon"), Some("2026-11-12"))
        );
        assert_eq!(event["data"]["client_id"], client["id"]);
    }
    assert!(partner_side.received().is_empty(), "six working days are left to answer the referral");

    // Monday 16 November: the answer is due tomorrow.
    app.set_warsaw_time("2026-11-16 08:00:00");
    let told = partner_side.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(told.len(), 1);
    let event = told[0].json();
    assert_eq!(
        (event["type"].as_str(), event["data"]["due_on"].as_str()),
        (Some("referral_due_soon"), Some("2026-11-17"))
    );
    assert_eq!(event["data"]["referral_id"], referral["id"]);

    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!((partner_side.received().len(), sender_side.received().len()), (1, closing.len()), "each is told once");
}

#[tokio::test]
async fn a_burst_of_events_larger_than_a_round_reaches_the_receiver_once_each() {
    // A long pause between idle rounds, so that the events made meanwhile wait together and are
    // fanned out over several rounds.
    let app = app_with_four_deliveries_a_round(2000).await;
    let receiver = Receiver::start().await;
    let p = partners(&app).await;
    let webhook = add_webhook(&app, &p.hfpc_coordinator, &receiver.url, &["referral_sent"]).await;
    let mut events = Vec::new();
    for _ in 0..30 {
        events.push(test_event(&app, &p.hfpc_coordinator, &webhook).await);
    }
    assert_each_told_once(&receiver, &mut events).await;
    let log = deliveries(&app, &p.hfpc_coordinator, &webhook).await;
    assert!(!log.is_empty() && log.iter().all(|d| d["status"] == "delivered" && d["attempts"] == 1), "{log:?}");
}

#[tokio::test]
async fn an_event_for_more_webhooks_than_a_round_holds_reaches_each_once() {
    // The referral is for six webhooks, three of each organisation.
    let app = app_with_four_deliveries_a_round(200).await;
    let receiver = Receiver::start().await;
    let p = partners(&app).await;
    let pfm_coordinator = app.create_user(&p.admin, Some(p.pfm), "coordinator").await;
    let mut hooks = Vec::new();
    for coordinator in [&pfm_coordinator, &p.hfpc_coordinator] {
        for _ in 0..3 {
            hooks.push((coordinator, add_webhook(&app, coordinator, &receiver.url, &["referral_sent"]).await));
        }
    }
    refer(&app, &p, "legal").await;
    receiver.wait_for(6, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let received = receiver.received();
    let mut ids: Vec<&str> = received.iter().map(Received::webhook_id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!((received.len(), ids.len()), (6, 6), "each webhook told once, under its own webhook-id");
    for (coordinator, hook) in &hooks {
        let logged = settled(&app, coordinator, hook).await;
        assert_eq!(deliveries(&app, coordinator, hook).await.len(), 1);
        assert_eq!((logged["status"].as_str(), logged["attempts"].as_i64()), (Some("delivered"), Some(1)));
        assert!(logged["last_attempt_at"].is_string(), "{logged}");
    }
}

#[tokio::test]
async fn two_instances_on_one_database_deliver_each_event_once() {
    let app = app_reaching_localhost(200).await;
    let other = app
        .sibling_with(|vars| {
            reach_localhost(vars, 20);
        })
        .await;
    let receiver = Receiver::start().await;
    let p = partners(&app).await;
    let webhook = add_webhook(&app, &p.hfpc_coordinator, &receiver.url, &["referral_sent"]).await;
    let mut events = Vec::new();
    for i in 0..100 {
        events.push(test_event(if i % 2 == 0 { &app } else { &other }, &p.hfpc_coordinator, &webhook).await);
    }
    assert_each_told_once(&receiver, &mut events).await;
    let received = receiver.received();
    let mut ids: Vec<&str> = received.iter().map(Received::webhook_id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), events.len());
}

#[tokio::test]
async fn the_delivery_log_keeps_finished_deliveries_for_thirty_days_then_forgets_them() {
    let app = app_watching_the_calendar().await;
    let receiver = Receiver::start().await;
    let p = partners(&app).await;
    let webhook = add_webhook(&app, &p.hfpc_coordinator, &receiver.url, &["referral_sent"]).await;
    app.set_warsaw_time("2026-11-02 09:00:00");
    test_event(&app, &p.hfpc_coordinator, &webhook).await;
    assert_eq!(settled(&app, &p.hfpc_coordinator, &webhook).await["status"], "delivered");
    let outbox_events = || {
        use casebridge::db::schema::outbox_events::dsl;
        use diesel::prelude::*;
        app.db(|conn| dsl::outbox_events.count().get_result::<i64>(conn).unwrap())
    };
    assert_eq!(outbox_events(), 1);

    // 29 days on, several calendar rounds later, the delivery is still in the log.
    app.set_warsaw_time("2026-12-01 09:00:00");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(deliveries(&app, &p.hfpc_coordinator, &webhook).await.len(), 1);
    assert_eq!(outbox_events(), 1);

    // 31 days on, the delivery and its event are gone.
    app.set_warsaw_time("2026-12-03 09:00:00");
    let started = Instant::now();
    while !deliveries(&app, &p.hfpc_coordinator, &webhook).await.is_empty() {
        assert!(started.elapsed() < Duration::from_secs(10), "the finished delivery stayed in the log");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(outbox_events(), 0, "the event left without deliveries is removed with them");
}

/// The dispatcher runs its updates several times a second under load: PostgreSQL keeps them
/// prepared (parsed and planned once per connection), where diesel alone would prepare each
/// anew every time.
#[tokio::test]
async fn postgresql_keeps_a_wrapped_update_prepared_and_diesel_alone_does_not() {
    use casebridge::db::schema::outbox_events;
    use casebridge::db::{OutboxEventId, Prepared};
    use diesel::prelude::*;
    use diesel::sql_types::BigInt;

    let app = TestApp::spawn().await;
    if !app.is_postgres() {
        return;
    }
    app.db(|conn| {
        let update = || {
            diesel::update(outbox_events::table.filter(outbox_events::id.eq_any(Vec::<OutboxEventId>::new())))
                .set(outbox_events::leased_until.eq(None::<chrono::NaiveDateTime>))
                .returning(outbox_events::id)
        };
        let kept = |conn: &mut casebridge::db::DbConnection| -> i64 {
            diesel::select(diesel::dsl::sql::<BigInt>(
                "(SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE 'UPDATE \"outbox_events\"%')",
            ))
            .get_result(conn)
            .unwrap()
        };
        for _ in 0..2 {
            update().load::<OutboxEventId>(conn).unwrap();
        }
        assert_eq!(kept(conn), 0, "diesel prepares an update anew each time");
        for _ in 0..2 {
            Prepared(update()).load::<OutboxEventId>(conn).unwrap();
        }
        assert_eq!(kept(conn), 1, "the wrapped update is prepared once and kept");
    });
}
