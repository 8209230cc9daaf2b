//! The audit trail: what is recorded, who may read it, and its tamper evidence.

use casebridge::audit::chain;
use diesel::connection::SimpleConnection;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{TestApp, assert_problem, body};

#[tokio::test]
async fn coordinator_reads_only_their_organisations_trail() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let own = app.create_organisation(&admin, "PFM").await;
    let other = app.create_organisation(&admin, "HFPC").await;
    let coordinator = app.create_user(&admin, Some(own), "coordinator").await;
    let counselor = app.create_user(&coordinator, Some(own), "counselor").await;
    let stranger = app.create_user(&admin, Some(other), "coordinator").await;
    app.get(&format!("/api/v1/users/{}", coordinator.id)).bearer_auth(&counselor.token).send().await.unwrap();
    app.get(&format!("/api/v1/users/{}", stranger.id)).bearer_auth(&stranger.token).send().await.unwrap();

    let path = format!("/api/v1/audit-events?actor_id={}&action=user.read", counselor.id);
    let page: Value = body(app.get(&path).bearer_auth(&coordinator.token).send().await.unwrap()).await;
    let events = page["items"].as_array().unwrap();
    assert_eq!(events.len(), 1, "who viewed whom: {page}");
    assert_eq!(events[0]["resource_id"], coordinator.id.to_string());
    assert_eq!(events[0]["outcome"], "success");
    assert!(events[0]["request_id"].is_string() && events[0]["ip"] == "127.0.0.1");

    let all: Value =
        body(app.get("/api/v1/audit-events?limit=200").bearer_auth(&coordinator.token).send().await.unwrap()).await;
    assert!(all["items"].as_array().unwrap().iter().all(|e| e["organisation_id"] == own.to_string()));

    let counselor_reads = app.get("/api/v1/audit-events").bearer_auth(&counselor.token).send().await.unwrap();
    assert_problem(counselor_reads, StatusCode::FORBIDDEN, "forbidden").await;
}

#[tokio::test]
async fn a_permission_denial_is_recorded_with_its_actor() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let organisation = app.create_organisation(&admin, "PFM").await;
    let analyst = app.create_user(&admin, Some(organisation), "analyst").await;
    let coordinator = app.create_user(&admin, Some(organisation), "coordinator").await;
    app.get("/api/v1/users").bearer_auth(&analyst.token).send().await.unwrap();
    let path = format!("/api/v1/audit-events?actor_id={}&action=permission.denied", analyst.id);
    let page: Value = body(app.get(&path).bearer_auth(&coordinator.token).send().await.unwrap()).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["items"][0]["outcome"], "denied");
    assert_eq!(page["items"][0]["resource"], "user");
}

#[tokio::test]
async fn audit_events_and_their_chain_cannot_be_changed_or_deleted() {
    let app = TestApp::spawn().await;
    app.admin().await;
    app.db(|conn| {
        assert_eq!(chain::seal_all(conn).unwrap(), 1);
        assert!(conn.batch_execute("UPDATE audit_events SET action = 'nothing'").is_err());
        assert!(conn.batch_execute("DELETE FROM audit_events").is_err());
        assert!(conn.batch_execute("UPDATE audit_links SET hash = prev_hash").is_err());
        assert!(conn.batch_execute("DELETE FROM audit_links").is_err());
    });
    assert_eq!(app.audit_count("auth.login"), 1);
    let report = app.db(|conn| chain::verify(conn).unwrap());
    assert_eq!((report.sealed, report.first_broken), (1, None));
}

#[tokio::test]
async fn an_event_written_behind_the_apis_back_is_still_sealed() {
    let app = TestApp::spawn().await;
    app.admin().await;
    // Its id is a UUID spelt otherwise than the API spells it: the chain keeps the spelling.
    app.db(|conn| {
        conn.batch_execute(
            "INSERT INTO audit_events (id, at, action, resource, outcome) \
             VALUES ('019a0000000070008000000000000001', '2000-01-01 00:00:00', 'x.y', 'x', 'success')",
        )
        .unwrap();
        assert_eq!(chain::seal_all(conn).unwrap(), 2, "the sign-in and the event written in SQL");
    });
    let report = app.db(|conn| chain::verify(conn).unwrap());
    assert_eq!((report.sealed, report.pending, report.first_broken), (2, 0, None), "the sign-in and the organisation");
}

/// Runs `sql` on `table` behind its append-only triggers' back, as someone with database
/// access could.
fn tamper(app: &TestApp, table: &str, sql: &str) {
    app.db(|conn| {
        if app.is_postgres() {
            conn.batch_execute(&format!(
                "ALTER TABLE {table} DISABLE TRIGGER {table}_append_only; {sql}; \
                 ALTER TABLE {table} ENABLE TRIGGER {table}_append_only;"
            ))
        } else {
            conn.batch_execute(&format!("DROP TRIGGER {table}_no_update; DROP TRIGGER {table}_no_delete; {sql};"))
        }
        .unwrap()
    });
}

async fn sealed_trail_of_four_events(app: &TestApp) {
    let admin = app.admin().await;
    for short in ["AAA", "BBB", "CCC"] {
        app.create_organisation(&admin, short).await;
    }
    let intact = app.db(|conn| {
        chain::seal_all(conn).unwrap();
        chain::verify(conn).unwrap()
    });
    assert_eq!(intact.first_broken, None);
    assert_eq!(intact.sealed, 4, "a login and three organisations");
    assert_eq!(intact.pending, 0);
}

#[tokio::test]
async fn audit_chain_verifies_and_reports_the_first_altered_event() {
    let app = TestApp::spawn().await;
    sealed_trail_of_four_events(&app).await;
    tamper(
        &app,
        "audit_events",
        "UPDATE audit_events SET ip = '10.9.9.9' WHERE id = (SELECT event_id FROM audit_links WHERE chain_index = 2)",
    );
    let broken = app.db(|conn| chain::verify(conn).unwrap());
    let link = broken.first_broken.expect("the altered event is found");
    assert_eq!(link.chain_index, 2);
    assert_eq!(link.reason, "the event's content does not match its hash");
}

#[tokio::test]
async fn audit_chain_reports_a_removed_link_and_a_removed_event() {
    let app = TestApp::spawn().await;
    sealed_trail_of_four_events(&app).await;
    tamper(
        &app,
        "audit_events",
        "DELETE FROM audit_events WHERE id = (SELECT event_id FROM audit_links WHERE chain_index = 3)",
    );
    let broken = app.db(|conn| chain::verify(conn).unwrap()).first_broken.expect("the removed event is found");
    assert_eq!((broken.chain_index, broken.reason), (3, "the event of this link is missing"));

    tamper(&app, "audit_links", "DELETE FROM audit_links WHERE chain_index = 2");
    let report = app.db(|conn| chain::verify(conn).unwrap());
    let broken = report.first_broken.expect("the removed link is found");
    assert_eq!((broken.chain_index, broken.reason), (2, "a link is missing before this one"));
    assert_eq!(report.sealed, 1);
    assert_eq!(report.pending, 1, "the event whose link was removed");
}

#[tokio::test]
async fn the_chain_stays_valid_with_two_instances_writing_and_sealing() {
    let first = TestApp::spawn().await;
    let second = first.sibling().await;
    let admin = first.admin().await;
    let mut requests = Vec::new();
    for i in 0..20 {
        let app = if i % 2 == 0 { &first } else { &second };
        requests.push(app.get("/api/v1/auth/me").bearer_auth(&admin.token).send());
    }
    for response in futures_util::future::join_all(requests).await {
        assert_eq!(response.unwrap().status(), StatusCode::OK);
    }
    // Both background sealers race; then whatever is left is sealed here.
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let report = first.db(|conn| {
        chain::seal_all(conn).unwrap();
        chain::verify(conn).unwrap()
    });
    assert_eq!(report.first_broken, None);
    assert_eq!(report.sealed, 21);
}

#[tokio::test]
async fn sealing_passes_over_a_queue_entry_without_its_event() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    app.db(|conn| conn.batch_execute("INSERT INTO audit_pending (event_id) VALUES ('no-such-event')").unwrap());
    app.create_organisation(&admin, "AAA").await;
    // The app's own sealer passes over the entry and seals the two events…
    let mut report = app.db(|conn| chain::verify(conn).unwrap());
    for _ in 0..100 {
        if report.sealed == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        report = app.db(|conn| chain::verify(conn).unwrap());
    }
    assert_eq!((report.sealed, report.pending, report.first_broken), (2, 0, None));
    // …and sealing again finds nothing left to do: it neither stops at the entry nor spins on it.
    let pool = app.pool.clone();
    let (done, sealed) = std::sync::mpsc::channel();
    std::thread::spawn(move || done.send(chain::seal_all(&mut pool.get().unwrap()).unwrap()));
    assert_eq!(sealed.recv_timeout(std::time::Duration::from_secs(10)), Ok(0));
}

/// A psychologist logs and reads a psychological session; a colleague outside the tier is
/// refused it. Returns the coordinator outside the tier, the one inside it and the session id.
async fn trail_with_a_psychological_session(
    app: &TestApp,
) -> (crate::helpers::Account, crate::helpers::Account, String) {
    let admin = app.admin().await;
    let organisation = Some(app.create_organisation(&admin, "PFM").await);
    let coordinator = app.staff(&admin, organisation, "coordinator", &["social"]).await;
    let psychologist_coordinator = app.staff(&admin, organisation, "coordinator", &["psychological"]).await;
    let psychologist = app.staff(&coordinator, organisation, "counselor", &["psychological"]).await;
    let colleague = app.create_user(&coordinator, organisation, "counselor").await;
    let client = crate::clients::create_client(
        app,
        &colleague,
        serde_json::json!({"given_names": "Amina", "family_name": "Saidova"}),
    )
    .await;
    let session: Value = body(
        app.post(&format!("/api/v1/clients/{}/sessions", client["id"].as_str().unwrap()))
            .bearer_auth(&psychologist.token)
            .json(&serde_json::json!({"kind": "psychological", "mode": "in_person", "started_at": "2026-11-03T09:00:00Z", "duration_minutes": 50, "notes": "Sleeps badly"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let id = session["id"].as_str().unwrap().to_owned();
    let read = app.get(&format!("/api/v1/sessions/{id}")).bearer_auth(&psychologist.token).send().await.unwrap();
    assert_eq!(read.status(), StatusCode::OK);
    for attempt in [id.clone(), casebridge::db::SessionId::new().to_string()] {
        let refused =
            app.get(&format!("/api/v1/sessions/{attempt}")).bearer_auth(&colleague.token).send().await.unwrap();
        assert_problem(refused, StatusCode::NOT_FOUND, "not_found").await;
    }
    (coordinator, psychologist_coordinator, id)
}

async fn whole_trail(app: &TestApp, account: &crate::helpers::Account, limit: usize) -> (Vec<Value>, usize) {
    let (mut events, mut pages, mut cursor) = (Vec::new(), 0, None::<String>);
    loop {
        let path = match &cursor {
            Some(cursor) => format!("/api/v1/audit-events?limit={limit}&cursor={cursor}"),
            None => format!("/api/v1/audit-events?limit={limit}"),
        };
        let page: Value = body(app.get(&path).bearer_auth(&account.token).send().await.unwrap()).await;
        pages += 1;
        events.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return (events, pages),
        }
    }
}

#[tokio::test]
async fn a_coordinator_outside_the_tier_sees_no_event_of_a_psychological_session() {
    let app = TestApp::spawn().await;
    let (coordinator, _, session_id) = trail_with_a_psychological_session(&app).await;
    let (events, pages) = whole_trail(&app, &coordinator, 2).await;
    assert!(
        events.iter().all(|e| e["resource_id"] != session_id.as_str() && e["tier"].is_null()),
        "no create, read or refusal of the session: {events:?}"
    );
    assert!(events.iter().all(|e| e["action"] != "permission.denied"), "the refusal looks like a missing id");
    // Pages are full and the cursor runs as if the tier's events did not exist.
    let expected: Vec<String> = {
        use casebridge::db::schema::audit_events::dsl;
        use diesel::prelude::*;
        let organisation = coordinator.organisation_id.unwrap();
        app.db(|conn| {
            dsl::audit_events
                .filter(dsl::organisation_id.eq(organisation))
                .filter(dsl::tier.is_null())
                .order(dsl::id)
                .select(dsl::id)
                .load::<String>(conn)
                .unwrap()
        })
    };
    let listed: Vec<String> = events.iter().map(|e| e["id"].as_str().unwrap().replace('-', "")).collect();
    assert_eq!(listed, expected.iter().map(|id| id.replace('-', "")).collect::<Vec<_>>());
    assert_eq!(pages, expected.len().div_ceil(2), "no page is short or empty");
}

#[tokio::test]
async fn a_psychologist_coordinator_sees_the_tiers_events() {
    let app = TestApp::spawn().await;
    let (_, psychologist_coordinator, session_id) = trail_with_a_psychological_session(&app).await;
    let path = format!("/api/v1/audit-events?resource_id={session_id}");
    let page: Value = body(app.get(&path).bearer_auth(&psychologist_coordinator.token).send().await.unwrap()).await;
    let actions: Vec<&str> = page["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["session.create", "session.read", "session.read_notes", "permission.denied"]);
    assert!(page["items"].as_array().unwrap().iter().all(|e| e["tier"] == "psychological"));
}

#[tokio::test]
async fn the_chain_verifies_with_tier_events_and_covers_their_tier() {
    let app = TestApp::spawn().await;
    trail_with_a_psychological_session(&app).await;
    let report = app.db(|conn| {
        chain::seal_all(conn).unwrap();
        chain::verify(conn).unwrap()
    });
    assert_eq!((report.pending, report.first_broken), (0, None));
    assert!(report.sealed > 10);
    tamper(&app, "audit_events", "UPDATE audit_events SET tier = NULL WHERE action = 'session.create'");
    let report = app.db(|conn| chain::verify(conn).unwrap());
    assert_eq!(report.first_broken.map(|b| b.reason), Some("the event's content does not match its hash"));
}
