//! The psychological tier leaves no trace outside it: two organisations set up alike, one of
//! which also has a psychological session, look the same to everyone outside the tier.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::clients::create_client;
use crate::helpers::{Account, TestApp, body};

/// One organisation's people and records, as its outsiders see them.
struct Organisation {
    coordinator: Account,
    counselor: Account,
    analyst: Account,
    psychologist: Account,
    amina: String,
    bohdan: String,
    visible_session: String,
    referral: String,
}

async fn post(app: &TestApp, account: &Account, path: &str, payload: Value) -> Value {
    let response = app.post(path).bearer_auth(&account.token).json(&payload).send().await.unwrap();
    assert!(response.status().is_success(), "{path}: {}", response.text().await.unwrap());
    response.json().await.unwrap()
}

/// Clients, a consent, a procedure event, a visible session with a follow-up and a referral
/// to `partner`, all alike in every organisation.
async fn organisation(app: &TestApp, admin: &Account, short_name: &str, partner: &str) -> Organisation {
    let organisation = Some(app.create_organisation(admin, short_name).await);
    let coordinator = app.staff(admin, organisation, "coordinator", &["social"]).await;
    let counselor = app.create_user(&coordinator, organisation, "counselor").await;
    let analyst = app.create_user(&coordinator, organisation, "analyst").await;
    let psychologist = app.staff(&coordinator, organisation, "counselor", &["psychological"]).await;
    let amina = create_client(app, &counselor, json!({"given_names": "Amina", "family_name": "Saidova", "sex": "female", "birth_year": 1990, "nationalities": ["RU"], "vulnerabilities": ["ptsd"]})).await;
    let bohdan = create_client(app, &counselor, json!({"given_names": "Bohdan", "family_name": "Koval", "sex": "male", "birth_year": 1984, "nationalities": ["UA"]})).await;
    let (amina, bohdan) = (amina["id"].as_str().unwrap().to_owned(), bohdan["id"].as_str().unwrap().to_owned());
    let consent = post(
        app,
        &counselor,
        &format!("/api/v1/clients/{amina}/consents"),
        json!({"purpose": "sharing_with_partner", "partner_id": partner, "scope": ["identity"],
               "given_on": "2026-11-02", "language": "ru", "form_version": "v1"}),
    )
    .await;
    post(
        app,
        &counselor,
        &format!("/api/v1/clients/{amina}/procedure-events"),
        json!({"kind": "application_lodged", "occurred_on": "2026-11-02"}),
    )
    .await;
    let visible = post(
        app,
        &counselor,
        &format!("/api/v1/clients/{amina}/sessions"),
        json!({"kind": "legal", "mode": "in_person", "started_at": "2026-11-03T09:00:00Z", "duration_minutes": 60,
               "notes": "Appeal explained", "follow_up_on": "2026-12-20"}),
    )
    .await;
    let referral = post(
        app,
        &counselor,
        "/api/v1/referrals",
        json!({"client_id": amina, "to_organisation_id": partner, "service": "legal", "urgency": "routine",
               "reason": "Representation before the Refugee Board", "shared_fields": ["given_names", "family_name"],
               "consent_id": consent["id"]}),
    )
    .await;
    Organisation {
        coordinator,
        counselor,
        analyst,
        psychologist,
        amina,
        bohdan,
        visible_session: visible["id"].as_str().unwrap().to_owned(),
        referral: referral["id"].as_str().unwrap().to_owned(),
    }
}

/// A psychologist logs a session with Amina (Bohdan taking part too) after the visible one,
/// with notes and a follow-up, and reads it.
async fn hidden_session(app: &TestApp, organisation: &Organisation) {
    let session = post(
        app,
        &organisation.psychologist,
        &format!("/api/v1/clients/{}/sessions", organisation.amina),
        json!({"kind": "psychological", "mode": "in_person", "started_at": "2026-11-05T09:00:00Z",
               "duration_minutes": 50, "notes": "Nightmares since the journey", "follow_up_on": "2026-12-10",
               "participants": [{"client_id": organisation.bohdan, "attended": true}]}),
    )
    .await;
    let read = app
        .get(&format!("/api/v1/sessions/{}", session["id"].as_str().unwrap()))
        .bearer_auth(&organisation.psychologist.token)
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), StatusCode::OK);
}

/// Replaces every UUID (with or without hyphens) by the index of its first appearance and
/// every RFC 3339 timestamp by `<time>`.
fn normalise(text: &str, ids: &mut Vec<String>) -> String {
    let is_hex = |c: u8| c.is_ascii_digit() || (b'a'..=b'f').contains(&c);
    let uuid_at = |bytes: &[u8]| -> Option<usize> {
        let hyphenated = bytes.len() >= 36
            && bytes[..36]
                .iter()
                .enumerate()
                .all(|(i, &c)| if [8, 13, 18, 23].contains(&i) { c == b'-' } else { is_hex(c) });
        if hyphenated {
            return Some(36);
        }
        (bytes.len() >= 32 && bytes[..32].iter().all(|&c| is_hex(c)) && bytes.get(32).is_none_or(|&c| !is_hex(c)))
            .then_some(32)
    };
    let timestamp_at = |bytes: &[u8]| -> Option<usize> {
        let pattern = b"dddd-dd-ddTdd:dd:dd";
        let matches = bytes.len() >= pattern.len()
            && pattern.iter().zip(bytes).all(|(&p, &c)| if p == b'd' { c.is_ascii_digit() } else { p == c });
        if !matches {
            return None;
        }
        let mut end = pattern.len();
        while end < bytes.len() && (bytes[end].is_ascii_digit() || b".Z+:".contains(&bytes[end])) {
            end += 1;
        }
        Some(end)
    };
    let bytes = text.as_bytes();
    let (mut out, mut i) = (String::new(), 0);
    while i < bytes.len() {
        let boundary = i == 0 || !is_hex(bytes[i - 1]);
        if let Some(len) = boundary.then(|| uuid_at(&bytes[i..])).flatten() {
            let id = text[i..i + len].replace('-', "");
            let index = ids.iter().position(|known| *known == id).unwrap_or_else(|| {
                ids.push(id);
                ids.len() - 1
            });
            out.push_str(&format!("<id {index}>"));
            i += len;
        } else if let Some(len) = timestamp_at(&bytes[i..]) {
            out.push_str("<time>");
            i += len;
        } else {
            let c = text[i..].chars().next().unwrap();
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// Drops what differs between any two organisations whatever they hold: positions in the
/// consortium-wide audit chain and referral feed, chain hashes, request ids, and page cursors
/// (which encode ids).
fn strip(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for key in ["chain_index", "hash", "request_id", "position", "last_position"] {
                map.remove(key);
            }
            if let Some(cursor) = map.get_mut("next_cursor")
                && !cursor.is_null()
            {
                *cursor = json!("<cursor>");
            }
            map.values_mut().for_each(strip);
        }
        Value::Array(items) => items.iter_mut().for_each(strip),
        _ => {}
    }
}

/// Every response `viewer` can get, normalised, one line per request.
async fn everything_seen_by(
    app: &TestApp,
    organisation: &Organisation,
    viewer: &Account,
    short_name: &str,
) -> Vec<String> {
    let (amina, bohdan) = (&organisation.amina, &organisation.bohdan);
    let mut requests: Vec<(Method, String, Option<Value>, bool)> = Vec::new();
    let mut get = |path: String| requests.push((Method::GET, path, None, false));
    for path in [
        "/api/v1/clients".to_owned(),
        format!("/api/v1/clients/{amina}"),
        format!("/api/v1/clients/{bohdan}"),
        format!("/api/v1/clients/{amina}/sessions"),
        format!("/api/v1/clients/{bohdan}/sessions"),
        format!("/api/v1/clients/{amina}/consents"),
        format!("/api/v1/clients/{amina}/procedure-events"),
        "/api/v1/sessions".to_owned(),
        format!("/api/v1/sessions/{}", organisation.visible_session),
        "/api/v1/sessions/counts?from=2026-10-01&to=2026-12-31".to_owned(),
        "/api/v1/sessions/counts?from=2026-11-01&to=2026-11-30".to_owned(),
        "/api/v1/reports/indicators?from=2026-10-01&to=2026-12-31".to_owned(),
        "/api/v1/reports/indicators?from=2026-11-01&to=2026-11-30".to_owned(),
        "/api/v1/deadlines".to_owned(),
        "/api/v1/referrals?box=outbox".to_owned(),
        "/api/v1/referrals?box=inbox".to_owned(),
        "/api/v1/referrals/changes".to_owned(),
        format!("/api/v1/referrals/{}", organisation.referral),
        "/api/v1/users".to_owned(),
        format!("/api/v1/clients/{amina}/export"),
        format!("/api/v1/clients/{bohdan}/export"),
        "/api/v1/audit-events?limit=200".to_owned(),
    ] {
        get(path);
    }
    for period in ["from=2026-10-01&to=2026-12-31", "from=2026-11-01&to=2026-11-30"] {
        requests.push((Method::GET, format!("/api/v1/reports/indicators?{period}"), None, true));
    }
    requests.push((
        Method::POST,
        "/api/v1/clients/duplicate-check".to_owned(),
        Some(json!({"given_names": "Amina", "family_name": "Saidova"})),
        false,
    ));
    let mut ids = Vec::new();
    let mut seen = Vec::new();
    for (method, path, payload, csv) in requests {
        let mut request = app.request(method.clone(), &path).bearer_auth(&viewer.token);
        if let Some(payload) = payload {
            request = request.json(&payload);
        }
        if csv {
            request = request.header("accept", "text/csv");
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let etag = response.headers().get("etag").map(|v| v.to_str().unwrap().to_owned());
        let text = response.text().await.unwrap();
        let text = match serde_json::from_str::<Value>(&text) {
            Ok(mut value) => {
                strip(&mut value);
                value.to_string()
            }
            Err(_) => text,
        };
        let text = text.replace(short_name, "ORG").replace(&short_name.to_lowercase(), "org");
        let route = format!("{method} {}", normalise(&path, &mut ids));
        seen.push(format!("{route} -> {status} {etag:?} {}", normalise(&text, &mut ids)));
    }
    seen
}

#[tokio::test]
async fn outsiders_of_the_tier_see_the_same_whether_a_psychological_session_exists_or_not() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let partner = app.create_organisation(&admin, "PARTNER").await.to_string();
    let with_session = organisation(&app, &admin, "KTX", &partner).await;
    hidden_session(&app, &with_session).await;
    let without = organisation(&app, &admin, "KTY", &partner).await;

    for (role, pick) in [
        ("coordinator", (|o: &Organisation| o.coordinator.clone()) as fn(&Organisation) -> Account),
        ("counselor", |o| o.counselor.clone()),
        ("analyst", |o| o.analyst.clone()),
    ] {
        let seen_with = everything_seen_by(&app, &with_session, &pick(&with_session), "KTX").await;
        let seen_without = everything_seen_by(&app, &without, &pick(&without), "KTY").await;
        assert_eq!(seen_with.len(), seen_without.len());
        for (with, without) in seen_with.iter().zip(&seen_without) {
            assert_eq!(with, without, "the {role} sees a difference");
        }
    }
}

#[tokio::test]
async fn a_hidden_later_session_leaves_the_follow_up_of_a_visible_one_on_the_agenda() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let partner = app.create_organisation(&admin, "PARTNER").await.to_string();
    let organisation = organisation(&app, &admin, "KTX", &partner).await;
    hidden_session(&app, &organisation).await;
    let follow_ups = |account: &Account| {
        let request = app.get("/api/v1/deadlines").bearer_auth(&account.token);
        async move {
            let agenda: Value = body(request.send().await.unwrap()).await;
            agenda["items"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|item| item["kind"] == "follow_up")
                .map(|item| item["due_on"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(follow_ups(&organisation.coordinator).await, ["2026-12-20"], "the visible session's follow-up stays");
    assert_eq!(
        follow_ups(&organisation.psychologist).await,
        ["2026-12-10"],
        "inside the tier the later session closed the earlier follow-up"
    );
}
