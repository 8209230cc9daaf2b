//! Notification e-mails through a real SMTP server started by the test, and the settings that
//! choose their language and events.

use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mailin_embedded::{Handler, Response, Server, SslConfig, response};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, body};
use crate::webhooks::{partners, refer};

/// One message the sink received.
#[derive(Debug, Clone, Default)]
struct Mail {
    to: Vec<String>,
    data: Vec<u8>,
}

impl Mail {
    fn subject(&self) -> String {
        let parsed = mailparse::parse_mail(&self.data).unwrap();
        parsed.headers.iter().find(|h| h.get_key() == "Subject").map(|h| h.get_value()).unwrap_or_default()
    }

    fn text(&self) -> String {
        mailparse::parse_mail(&self.data).unwrap().get_body().unwrap()
    }
}

#[derive(Clone, Default)]
struct Sink {
    mails: Arc<Mutex<Vec<Mail>>>,
    current: Mail,
}

impl Handler for Sink {
    fn data_start(&mut self, _domain: &str, _from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.current = Mail { to: to.to_vec(), data: Vec::new() };
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.current.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        self.mails.lock().unwrap().push(std::mem::take(&mut self.current));
        response::OK
    }
}

/// An SMTP server on 127.0.0.1 that keeps what it is sent.
struct MailSink {
    mails: Arc<Mutex<Vec<Mail>>>,
    url: String,
}

impl MailSink {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let sink = Sink::default();
        let mails = sink.mails.clone();
        let mut server = Server::new(sink);
        server.with_name("sink.test").with_ssl(SslConfig::None).unwrap().with_tcp_listener(listener);
        std::thread::spawn(move || drop(server.serve()));
        Self { mails, url: format!("smtp://127.0.0.1:{port}") }
    }

    async fn wait_for(&self, count: usize) -> Vec<Mail> {
        let started = Instant::now();
        loop {
            let mails = self.mails.lock().unwrap().clone();
            if mails.len() >= count || started.elapsed() > Duration::from_secs(10) {
                return mails;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn all(&self) -> Vec<Mail> {
        self.mails.lock().unwrap().clone()
    }
}

async fn app_mailing_to(sink: &MailSink) -> TestApp {
    let url = sink.url.clone();
    TestApp::spawn_with(move |vars| {
        vars.insert("CASEBRIDGE_SMTP_URL".into(), url);
        vars.insert("CASEBRIDGE_FRONTEND_URL".into(), "https://app.casebridge.example/".into());
        vars.insert("CASEBRIDGE_OUTBOX_POLL_INTERVAL_MS".into(), "20".into());
    })
    .await
}

async fn set_notifications(app: &TestApp, token: &str, changes: Value) -> reqwest::Response {
    app.patch("/api/v1/auth/me/notifications").bearer_auth(token).json(&changes).send().await.unwrap()
}

#[tokio::test]
async fn those_who_should_act_are_emailed_in_their_language_without_personal_data() {
    let sink = MailSink::start();
    let app = app_mailing_to(&sink).await;
    let p = partners(&app).await;
    let lawyer = app.create_user(&p.admin, Some(p.hfpc), "counselor").await;
    let psychologist = app.staff(&p.admin, Some(p.hfpc), "counselor", &["psychological"]).await;
    let bystander = app.create_user(&p.admin, Some(p.pfm), "coordinator").await;
    let changed = set_notifications(&app, &p.hfpc_coordinator.token, json!({"language": "uk"})).await;
    assert_eq!(changed.status(), StatusCode::OK);

    let referral = refer(&app, &p, "legal").await;
    let mails = sink.wait_for(2).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mails = if sink.all().len() > mails.len() { sink.all() } else { mails };
    let mut recipients: Vec<String> = mails.iter().flat_map(|m| m.to.clone()).collect();
    recipients.sort();
    let mut expected = vec![p.hfpc_coordinator.email.clone(), lawyer.email.clone()];
    expected.sort();
    assert_eq!(
        recipients, expected,
        "the receiving coordinator and the legal counselor, not {} nor {}",
        psychologist.email, bystander.email
    );

    let link = format!("https://app.casebridge.example/referrals/{}", referral["id"].as_str().unwrap());
    for mail in &mails {
        let (subject, text) = (mail.subject(), mail.text());
        if mail.to == vec![p.hfpc_coordinator.email.clone()] {
            assert_eq!(subject, "casebridge: Нове направлення");
            assert!(text.contains("Подія в casebridge"), "{text}");
        } else {
            assert_eq!(subject, "casebridge: Nowe skierowanie");
            assert!(text.contains("Zdarzenie w casebridge"), "{text}");
        }
        assert!(text.contains(&link), "{text}");
        for personal in ["Aslan", "Basayev", "Appeal", "legal"] {
            let raw = String::from_utf8_lossy(&mail.data);
            assert!(!raw.contains(personal) && !text.contains(personal), "the e-mail carries {personal}: {text}");
        }
    }

    // The answer goes to the sender.
    let id = referral["id"].as_str().unwrap();
    let declined = app
        .post(&format!("/api/v1/referrals/{id}/decline"))
        .bearer_auth(&p.hfpc_coordinator.token)
        .header("if-match", "\"1\"")
        .json(&json!({"reason_code": "no_capacity"}))
        .send()
        .await
        .unwrap();
    assert_eq!(declined.status(), StatusCode::OK, "{}", declined.text().await.unwrap());
    let mails = sink.wait_for(3).await;
    let answer = mails.last().unwrap();
    assert_eq!(answer.to, vec![p.pfm_counselor.email.clone()]);
    assert_eq!(answer.subject(), "casebridge: Skierowanie odrzucone");
}

#[tokio::test]
async fn a_user_who_turned_an_event_off_is_not_emailed_about_it() {
    let sink = MailSink::start();
    let app = app_mailing_to(&sink).await;
    let p = partners(&app).await;
    let lawyer = app.create_user(&p.admin, Some(p.hfpc), "counselor").await;
    let muted = set_notifications(&app, &lawyer.token, json!({"email": {"referral_sent": false}})).await;
    assert_eq!(muted.status(), StatusCode::OK);
    let muted: Value = muted.json().await.unwrap();
    assert_eq!(muted["email"]["referral_sent"], false);
    assert_eq!(muted["email"]["referral_due_soon"], true);

    refer(&app, &p, "legal").await;
    let mails = sink.wait_for(1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sink.all().len(), 1, "{mails:?}");
    assert_eq!(mails[0].to, vec![p.hfpc_coordinator.email.clone()]);
}

#[tokio::test]
async fn without_a_mail_server_nobody_is_emailed_and_nothing_waits() {
    let app = TestApp::spawn_with(|vars| {
        vars.insert("CASEBRIDGE_OUTBOX_POLL_INTERVAL_MS".into(), "20".into());
    })
    .await;
    let p = partners(&app).await;
    refer(&app, &p, "legal").await;
    let started = Instant::now();
    loop {
        let waiting: (i64, i64) = app.db(|conn| {
            use casebridge::db::schema::{deliveries, outbox_events};
            use diesel::prelude::*;
            (
                outbox_events::table.filter(outbox_events::fanned_out_at.is_null()).count().get_result(conn).unwrap(),
                deliveries::table.count().get_result(conn).unwrap(),
            )
        });
        if waiting.0 == 0 {
            assert_eq!(waiting.1, 0, "no deliveries without webhooks or a mail server");
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "the event was never taken");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn notification_settings_default_to_polish_and_every_event() {
    let app = TestApp::spawn().await;
    let p = partners(&app).await;
    let settings: Value =
        body(app.get("/api/v1/auth/me/notifications").bearer_auth(&p.pfm_counselor.token).send().await.unwrap()).await;
    assert_eq!(settings["language"], "pl");
    let email = settings["email"].as_object().unwrap();
    assert!(email.values().all(|on| on == true));
    assert!(email.contains_key("referral_sent") && email.contains_key("deadline_due_soon"));
    assert!(!email.contains_key("webhook_test"));

    for bad in [json!({"language": "de"}), json!({"email": {"client_read": false}}), json!({"colour": "blue"})] {
        let response = set_notifications(&app, &p.pfm_counselor.token, bad.clone()).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
    for refused in [json!({"email": {"webhook_test": false}}), json!({"language": null}), json!([null, null])] {
        let response = set_notifications(&app, &p.pfm_counselor.token, refused.clone()).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
        assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    }

    let changed = set_notifications(&app, &p.pfm_counselor.token, json!({"language": "ru"})).await;
    assert_eq!(body::<Value>(changed).await["language"], "ru");
    // Another user's settings are their own.
    let other: Value =
        body(app.get("/api/v1/auth/me/notifications").bearer_auth(&p.hfpc_coordinator.token).send().await.unwrap())
            .await;
    assert_eq!(other["language"], "pl");
    assert_eq!(app.audit_count("user.notification_settings"), 1);
}
