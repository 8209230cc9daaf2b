//! The seed generator: synthetic clients are found by the search API like hand-entered ones,
//! and the demo consortium is consistent (users sign in, deadlines follow from the timelines).

use std::collections::BTreeSet;

use casebridge::clients::queries::IndexRows;
use casebridge::db::schema::{
    client_identifiers, client_name_keys, client_name_tokens, client_tags, clients, deadlines, organisations,
    session_participants, sessions, users,
};
use casebridge::db::{ClientId, OrganisationId, SessionId};
use casebridge::procedure::deadlines::{derive, procedure_stage};
use casebridge::procedure::queries::events_of_client;
use casebridge::seed::{SyntheticOptions, demo, synthetic};
use chrono::NaiveDate;
use diesel::prelude::*;
use reqwest::StatusCode;
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use crate::helpers::{Account, MASTER_KEY, TestApp, body};

/// The master keys of the test configuration.
fn master_keys() -> casebridge::crypto::MasterKeys {
    casebridge::crypto::MasterKeys::new(&[("test-1".to_owned(), secrecy::SecretBox::new(Box::new(MASTER_KEY)))])
}

/// Every page of a client search, following `next_cursor`.
/// Enrols with a printed demo enrolment token, signs in and returns the access token.
async fn access_token(app: &TestApp, email: &str, enrolment_token: &str) -> String {
    let enrolled = app.enrol(enrolment_token, crate::helpers::PASSWORD).await;
    assert_eq!(enrolled.status(), StatusCode::NO_CONTENT, "{email} cannot enrol with the printed token");
    let response = app.login(email, crate::helpers::PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK, "{email} cannot sign in after enrolling");
    let tokens: Value = response.json().await.unwrap();
    tokens["access_token"].as_str().unwrap().to_owned()
}

async fn search_all(app: &TestApp, account: &Account, query: &[(&str, &str)]) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut request =
            app.get("/api/v1/clients").bearer_auth(&account.token).query(query).query(&[("limit", "200")]);
        if let Some(cursor) = &cursor {
            request = request.query(&[("cursor", cursor)]);
        }
        let page: Value = body(request.send().await.unwrap()).await;
        items.extend(page["items"].as_array().unwrap_or_else(|| panic!("not a page: {page}")).iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return items,
        }
    }
}

fn ids(items: &[Value]) -> BTreeSet<String> {
    items.iter().map(|item| item["id"].as_str().unwrap().to_owned()).collect()
}

#[derive(Queryable, Debug)]
struct Seeded {
    id: ClientId,
    reference: String,
    given_names: String,
    family_name: String,
    native_name: Option<String>,
    birth_year: Option<i32>,
}

fn seeded_clients(app: &TestApp, organisation_id: OrganisationId) -> Vec<Seeded> {
    app.db(|conn| {
        clients::table
            .filter(clients::organisation_id.eq(organisation_id))
            .order(clients::reference)
            .select((
                clients::id,
                clients::reference,
                clients::given_names,
                clients::family_name,
                clients::native_name,
                clients::birth_year,
            ))
            .load(conn)
            .unwrap()
    })
}

#[tokio::test]
async fn synthetic_clients_are_found_by_the_search_api_and_numbering_continues() {
    let app = TestApp::spawn().await;
    let options = SyntheticOptions {
        clients: 300,
        organisation: "SYNTH".into(),
        batch: 120,
        seed: 7,
        writers: 2,
        sessions_per_client: 0,
    };
    let report = synthetic(&app.pool, &master_keys(), &options).unwrap();
    assert_eq!(report.clients, 300);
    assert!(report.organisation_created);
    let year = casebridge::domain::today().format("%Y").to_string();
    assert_eq!(report.first_reference.as_deref(), Some(format!("SYNTH-{year}-000001").as_str()));
    assert_eq!(report.last_reference.as_deref(), Some(format!("SYNTH-{year}-000300").as_str()));

    let organisation_id = report.organisation_id;
    let stored_index_rows: i64 = app.db(|conn| {
        let tokens: i64 = client_name_tokens::table
            .filter(client_name_tokens::organisation_id.eq(organisation_id))
            .count()
            .get_result(conn)
            .unwrap();
        let tags: i64 = client_tags::table
            .filter(client_tags::organisation_id.eq(organisation_id))
            .count()
            .get_result(conn)
            .unwrap();
        let identifiers: i64 = client_identifiers::table
            .filter(client_identifiers::organisation_id.eq(organisation_id))
            .count()
            .get_result(conn)
            .unwrap();
        let keys: i64 = client_name_keys::table
            .filter(client_name_keys::organisation_id.eq(organisation_id))
            .count()
            .get_result(conn)
            .unwrap();
        tokens + keys + tags + identifiers
    });
    assert_eq!(stored_index_rows as u64, report.index_rows);

    let seeded = seeded_clients(&app, organisation_id);
    assert_eq!(seeded.len(), 300);
    let target = seeded.iter().find(|client| client.native_name.is_some()).expect("some clients have a native name");

    // The index rows are the ones the API writes for the same fields.
    let today = casebridge::domain::today();
    let (expected, stored) = app.db(|conn| {
        let row = casebridge::clients::queries::find(conn, target.id).unwrap().unwrap();
        let fields = row.input().parse(today).unwrap();
        let stored_tokens: Vec<String> = client_name_tokens::table
            .filter(client_name_tokens::client_id.eq(target.id))
            .order(client_name_tokens::token)
            .select(client_name_tokens::token)
            .load(conn)
            .unwrap();
        let mut stored_keys: Vec<String> = client_name_keys::table
            .filter(client_name_keys::client_id.eq(target.id))
            .select(client_name_keys::key)
            .load(conn)
            .unwrap();
        stored_keys.sort();
        let index = IndexRows::of(&fields);
        ((index.name_tokens, index.name_keys), (stored_tokens, stored_keys))
    });
    assert_eq!(stored, expected);

    let admin = app.admin().await;
    let counselor = app.create_user(&admin, Some(organisation_id), "counselor").await;
    let target_id = target.id.to_string();

    // By name in the native script, and by the same name in Latin letters in lower case.
    let native = target.native_name.clone().unwrap();
    let by_native = search_all(&app, &counselor, &[("q", &native)]).await;
    assert!(ids(&by_native).contains(&target_id), "{native} did not find {target:?}");
    let latin = format!("{} {}", target.given_names, target.family_name).to_lowercase();
    let by_latin = search_all(&app, &counselor, &[("q", &latin)]).await;
    assert!(ids(&by_latin).contains(&target_id), "{latin} did not find {target:?}");

    // By the first letters of the family name: every match, over several pages.
    let prefix: String = target.family_name.to_lowercase().chars().take(3).collect();
    let by_prefix = search_all(&app, &counselor, &[("q", &prefix)]).await;
    assert!(ids(&by_prefix).is_superset(&ids(&by_latin)));
    assert_eq!(ids(&by_prefix).len(), by_prefix.len(), "no client appears on two pages");

    // By reference, and by identifier.
    let by_reference = search_all(&app, &counselor, &[("q", &target.reference)]).await;
    assert_eq!(ids(&by_reference), BTreeSet::from([target_id.clone()]));
    let (with_case_number, case_number) = app.db(|conn| {
        let client: ClientId = client_identifiers::table
            .filter(client_identifiers::organisation_id.eq(organisation_id))
            .filter(client_identifiers::kind.eq("udsc_case_number"))
            .select(client_identifiers::client_id)
            .first(conn)
            .unwrap();
        let row = casebridge::clients::queries::find(conn, client).unwrap().unwrap();
        (client.to_string(), row.identifiers.into_iter().find(|i| i.value.starts_with("DPU")).unwrap().value)
    });
    let by_identifier = search_all(&app, &counselor, &[("q", &case_number)]).await;
    assert_eq!(ids(&by_identifier), BTreeSet::from([with_case_number]));

    // A client entered through the API continues the seeded numbering.
    let created = app
        .post("/api/v1/clients")
        .bearer_auth(&counselor.token)
        .json(&json!({"given_names": "Amina", "family_name": "Dudayeva"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: Value = created.json().await.unwrap();
    assert_eq!(created["reference"], format!("SYNTH-{year}-0301"));

    // The same seed invents the same people, into another organisation as well.
    let again = SyntheticOptions { organisation: "SYNTH2".into(), batch: 300, ..options };
    let second = synthetic(&app.pool, &master_keys(), &again).unwrap();
    let people = |rows: Vec<Seeded>| -> Vec<(String, String, Option<String>, Option<i32>)> {
        rows.into_iter().map(|c| (c.given_names, c.family_name, c.native_name, c.birth_year)).collect()
    };
    assert_eq!(people(seeded_clients(&app, second.organisation_id)), people(seeded));
}

/// Every page of a client's sessions the account may see.
async fn sessions_of_client(app: &TestApp, account: &Account, client_id: ClientId) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut request = app
            .get(&format!("/api/v1/clients/{client_id}/sessions"))
            .bearer_auth(&account.token)
            .query(&[("limit", "200")]);
        if let Some(cursor) = &cursor {
            request = request.query(&[("cursor", cursor)]);
        }
        let page: Value = body(request.send().await.unwrap()).await;
        items.extend(page["items"].as_array().unwrap_or_else(|| panic!("not a page: {page}")).iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return items,
        }
    }
}

/// Sessions of a client straight from the database: (all, psychological).
fn stored_sessions_of(app: &TestApp, client_id: ClientId) -> (i64, i64) {
    app.db(|conn| {
        let all: i64 = sessions::table.filter(sessions::client_id.eq(client_id)).count().get_result(conn).unwrap();
        let psychological: i64 = sessions::table
            .filter(sessions::client_id.eq(client_id))
            .filter(sessions::kind.eq("psychological"))
            .count()
            .get_result(conn)
            .unwrap();
        (all, psychological)
    })
}

#[tokio::test]
async fn synthetic_sessions_agree_with_the_session_lists_and_the_indicator_report() {
    let app = TestApp::spawn().await;
    let options = SyntheticOptions {
        clients: 200,
        organisation: "SESS".into(),
        batch: 70,
        seed: 9,
        writers: 2,
        sessions_per_client: 3,
    };
    let report = synthetic(&app.pool, &master_keys(), &options).unwrap();
    let tally = report.sessions.clone();
    assert_eq!((report.counselors, report.counselors_created), (20, 20));
    assert!((400..=800).contains(&tally.sessions), "about 3 per client: {}", tally.sessions);
    assert_eq!(tally.participants, tally.sessions, "one participant row per session");
    assert!(tally.clients_with_sessions < 200, "some clients have no session");
    let kinds: BTreeSet<&str> = tally.by_kind.keys().map(String::as_str).collect();
    assert_eq!(
        kinds,
        BTreeSet::from(["integration", "legal", "medical_referral", "other", "psychological", "social", "vocational"])
    );
    assert_eq!(report.rows(), report.clients + report.index_rows + 2 * tally.sessions + report.data_keys);
    assert!(report.data_keys > 0 && report.data_keys <= tally.clients_with_sessions, "{}", report.data_keys);

    // What is stored is what was counted, with no notes, each session with its client only.
    let organisation_id = report.organisation_id;
    let (stored, participants, with_notes, foreign) = app.db(|conn| {
        let stored: i64 =
            sessions::table.filter(sessions::organisation_id.eq(organisation_id)).count().get_result(conn).unwrap();
        let participants: Vec<(ClientId, ClientId, bool)> = session_participants::table
            .inner_join(sessions::table)
            .filter(sessions::organisation_id.eq(organisation_id))
            .select((session_participants::client_id, sessions::client_id, session_participants::attended))
            .load(conn)
            .unwrap();
        let with_notes: i64 =
            sessions::table.filter(sessions::notes_ciphertext.is_not_null()).count().get_result(conn).unwrap();
        let foreign: i64 = sessions::table
            .inner_join(users::table.on(users::id.eq(sessions::counselor_id)))
            .filter(users::organisation_id.ne(organisation_id))
            .count()
            .get_result(conn)
            .unwrap();
        (stored, participants, with_notes, foreign)
    });
    assert_eq!(stored as u64, tally.sessions);
    assert_eq!(participants.len() as u64, tally.participants);
    assert!(participants.iter().all(|(participant, client, attended)| participant == client && *attended));
    assert_eq!((with_notes, foreign), (0, 0));

    // Summaries and topics are sealed, with a data key for each client that has any.
    let (in_clear, sealed, keys): (i64, i64, i64) = app.db(|conn| {
        let in_clear = sessions::table
            .filter(sessions::summary.is_not_null().or(sessions::topics.ne("[]")))
            .count()
            .get_result(conn)
            .unwrap();
        let sealed =
            sessions::table.filter(sessions::details_ciphertext.is_not_null()).count().get_result(conn).unwrap();
        let keys = casebridge::db::schema::client_keys::table.count().get_result(conn).unwrap();
        (in_clear, sealed, keys)
    });
    assert_eq!(in_clear, 0);
    assert!(sealed as u64 > tally.sessions * 8 / 10, "most sessions have a summary or topics: {sealed}");
    assert_eq!(keys as u64, report.data_keys);

    // The indicator report of the organisation's coordinator says the same: one inside the
    // psychological tier, for whom psychological sessions count.
    let admin = app.admin().await;
    let coordinator = app.staff(&admin, Some(organisation_id), "coordinator", &[]).await;
    let reporter = app.staff(&admin, Some(organisation_id), "coordinator", &["psychological"]).await;
    let today = casebridge::domain::today();
    let from = (today - chrono::Days::new(800)).to_string();
    let indicators: Value = body(
        app.get("/api/v1/reports/indicators")
            .bearer_auth(&reporter.token)
            .query(&[("from", from.as_str()), ("to", today.to_string().as_str())])
            .send()
            .await
            .unwrap(),
    )
    .await;
    let figures = &indicators["organisations"][0]["indicators"];
    assert_eq!(figures["sessions"], json!(tally.sessions), "{figures}");
    assert_eq!(figures["clients_served"], json!(tally.clients_with_sessions));
    assert_eq!(figures["counseling_hours"].as_f64().unwrap(), (tally.minutes as f64 / 6.0).round() / 10.0);
    assert_eq!(figures["sessions_by_kind"], json!(tally.by_kind));
    assert_eq!(figures["sessions_by_mode"], json!(tally.by_mode));

    // A client's sessions through the API: all of them for a psychologist, all but the
    // psychological ones for the coordinator.
    let (busiest, most): (ClientId, i64) = app.db(|conn| {
        sessions::table
            .filter(sessions::organisation_id.eq(organisation_id))
            .group_by(sessions::client_id)
            .select((sessions::client_id, diesel::dsl::count_star()))
            .order((diesel::dsl::count_star().desc(), sessions::client_id))
            .first(conn)
            .unwrap()
    });
    assert!(most >= 6, "the tail: {most}");
    let (all, psychological) = stored_sessions_of(&app, busiest);
    let psychologist = app.staff(&admin, Some(organisation_id), "counselor", &["psychological"]).await;
    let listed = sessions_of_client(&app, &psychologist, busiest).await;
    assert_eq!(listed.len() as i64, all);
    let started: Vec<&str> = listed.iter().map(|s| s["started_at"].as_str().unwrap()).collect();
    assert!(started.windows(2).all(|pair| pair[0] <= pair[1]), "oldest first: {started:?}");
    for session in &listed {
        assert_eq!(session["participants"].as_array().unwrap().len(), 1);
        assert_eq!(session["participants"][0]["client_id"], busiest.to_string());
        assert_eq!(session["has_notes"], false);
        assert_eq!(session["details_unreadable"], false);
        assert!(
            chrono::DateTime::parse_from_rfc3339(session["started_at"].as_str().unwrap()).unwrap() < chrono::Utc::now()
        );
    }
    assert!(listed.iter().any(|s| s["summary"].is_string() && !s["topics"].as_array().unwrap().is_empty()));
    let seen_by_coordinator = sessions_of_client(&app, &coordinator, busiest).await;
    assert_eq!(seen_by_coordinator.len() as i64, all - psychological);

    // The synthetic counselors cannot sign in.
    let response = app.login("counselor-01@sess.example.org", crate::helpers::PASSWORD).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    // A second run adds clients with their own sessions and reuses the counselors.
    let more = synthetic(&app.pool, &master_keys(), &SyntheticOptions { clients: 50, seed: 10, ..options }).unwrap();
    assert_eq!((more.counselors, more.counselors_created), (20, 0));
    assert_eq!(stored_sessions_of(&app, busiest), (all, psychological));
    let stored: i64 = app.db(|conn| {
        sessions::table.filter(sessions::organisation_id.eq(organisation_id)).count().get_result(conn).unwrap()
    });
    assert_eq!(stored as u64, tally.sessions + more.sessions.sessions);
}

#[tokio::test]
async fn the_demo_users_sign_in_and_every_deadline_follows_from_the_timeline() {
    let app = TestApp::spawn().await;
    let report = app.db(|conn| demo(conn, &master_keys(), 42, WORKING_DAYS).unwrap());
    assert_eq!(report.organisations.len(), 6);
    assert_eq!(report.clients, 200);
    assert!(report.procedure_events > report.clients);
    assert!(report.consents > report.clients, "some clients agreed to sharing as well");

    use casebridge::domain::{Role, SessionKind};
    let roles: BTreeSet<&str> = report.users.iter().map(|user| user.role.code()).collect();
    assert_eq!(roles, BTreeSet::from(["analyst", "consortium_admin", "coordinator", "counselor"]));
    let pfm_counselors: Vec<&Vec<SessionKind>> = report
        .users
        .iter()
        .filter(|user| user.role == Role::Counselor && user.organisation.as_deref() == Some("PFM"))
        .map(|user| &user.specialties)
        .collect();
    assert!(pfm_counselors.contains(&&vec![SessionKind::Psychological]));
    assert!(pfm_counselors.contains(&&vec![SessionKind::Legal]));

    let mut psychologist_token = None;
    for user in &report.users {
        let token = access_token(&app, &user.email, user.enrolment_token.expose_secret()).await;
        let me: Value = body(app.get("/api/v1/auth/me").bearer_auth(&token).send().await.unwrap()).await;
        assert_eq!(me["role"], user.role.code());
        if user.specialties == [SessionKind::Psychological] && user.organisation.as_deref() == Some("PFM") {
            psychologist_token = Some(token);
        }
    }
    let psychologist = psychologist_token.unwrap();
    let page: Value = body(app.get("/api/v1/clients?limit=200").bearer_auth(&psychologist).send().await.unwrap()).await;
    let pfm = report.organisations.iter().find(|(short, _)| short == "PFM").unwrap().1;
    let pfm_clients: i64 =
        app.db(|conn| clients::table.filter(clients::organisation_id.eq(pfm)).count().get_result(conn).unwrap());
    assert!(pfm_clients >= 70);
    assert_eq!(page["items"].as_array().unwrap().len() as i64, pfm_clients, "PFM's clients");

    type DeadlineKey = (String, i32, String, NaiveDate, Option<String>);
    let checked = app.db(|conn| {
        let all: Vec<(ClientId, OrganisationId, Option<String>)> = clients::table
            .select((clients::id, clients::organisation_id, clients::procedure_stage))
            .load(conn)
            .unwrap();
        let mut open = 0;
        let mut without_timeline = 0;
        for (client_id, _, stage) in &all {
            let events: Vec<_> =
                events_of_client(conn, *client_id).unwrap().iter().map(|row| row.engine_event()).collect();
            if events.is_empty() {
                without_timeline += 1;
            }
            let mut expected: Vec<DeadlineKey> = derive(&events)
                .into_iter()
                .map(|d| {
                    (d.rule.code.to_owned(), d.rule.version as i32, d.trigger_event_id, d.due_on, d.closed_by_event_id)
                })
                .collect();
            let mut stored: Vec<DeadlineKey> =
                    deadlines::table
                        .filter(deadlines::client_id.eq(client_id))
                        .select((
                            deadlines::rule_code,
                            deadlines::rule_version,
                            deadlines::trigger_event_id,
                            deadlines::due_on,
                            deadlines::closed_by_event_id,
                        ))
                        .load::<(
                            String,
                            i32,
                            casebridge::db::ProcedureEventId,
                            NaiveDate,
                            Option<casebridge::db::ProcedureEventId>,
                        )>(conn)
                        .unwrap()
                        .into_iter()
                        .map(|(code, version, trigger, due, closed)| {
                            (code, version, trigger.to_string(), due, closed.map(|id| id.to_string()))
                        })
                        .collect();
            expected.sort();
            stored.sort();
            assert_eq!(stored, expected, "deadlines of client {client_id}");
            let expected_stage = procedure_stage(&events).map(<&str>::from);
            assert_eq!(stage.as_deref(), expected_stage);
            open += stored.iter().filter(|d| d.4.is_none()).count();
        }
        assert!(open > 0, "the demo shows running deadlines");
        assert_eq!(without_timeline, report.referred_clients, "only records made on accepting a referral");
        all.len()
    });
    assert_eq!(checked, 200 + report.referred_clients);

    let again = app.db(|conn| demo(conn, &master_keys(), 42, WORKING_DAYS).unwrap_err());
    assert!(again.to_string().contains("already"), "{again}");
    let organisations: i64 = app.db(|conn| organisations::table.count().get_result(conn).unwrap());
    assert_eq!(organisations, 6);
}

/// The test configuration's working days to answer an urgent and a routine referral.
const WORKING_DAYS: (u32, u32) = (2, 10);

#[tokio::test]
async fn the_demo_has_sessions_of_every_kind_and_referrals_in_every_state_each_on_a_valid_consent() {
    use casebridge::referrals::model::ReferralRow;
    let app = TestApp::spawn().await;
    let report = app.db(|conn| demo(conn, &master_keys(), 7, WORKING_DAYS).unwrap());
    let today = casebridge::domain::today();

    // Sessions of every kind, as counted.
    let by_kind: Vec<(String, i64)> = app.db(|conn| {
        sessions::table
            .group_by(sessions::kind)
            .select((sessions::kind, diesel::dsl::count_star()))
            .order(sessions::kind)
            .load(conn)
            .unwrap()
    });
    let kinds: BTreeSet<&str> = by_kind.iter().map(|(kind, _)| kind.as_str()).collect();
    assert_eq!(
        kinds,
        BTreeSet::from(["integration", "legal", "medical_referral", "other", "psychological", "social", "vocational"])
    );
    let counted: Vec<(String, i64)> = report.sessions.by_kind.iter().map(|(k, c)| (k.clone(), *c as i64)).collect();
    assert_eq!(by_kind, counted);
    let participants: i64 = app.db(|conn| session_participants::table.count().get_result(conn).unwrap());
    assert_eq!(participants as u64, report.sessions.sessions);
    let (in_clear, sealed): (i64, i64) = app.db(|conn| {
        let in_clear = sessions::table
            .filter(sessions::summary.is_not_null().or(sessions::topics.ne("[]")))
            .count()
            .get_result(conn)
            .unwrap();
        (in_clear, sessions::table.filter(sessions::details_ciphertext.is_not_null()).count().get_result(conn).unwrap())
    });
    assert_eq!(in_clear, 0, "summaries and topics are sealed");
    assert!(sealed as u64 > report.sessions.sessions / 2, "{sealed}");

    // Referrals in every state, each on a consent to share with its partner that stood when it
    // was sent and covers the shared fields, answered by the date its urgency gives.
    let rows: Vec<ReferralRow> =
        app.db(|conn| casebridge::db::schema::referrals::table.select(ReferralRow::as_select()).load(conn).unwrap());
    let states: BTreeSet<String> = rows.iter().map(|row| row.status_on(today).unwrap().code().to_owned()).collect();
    assert_eq!(
        states,
        BTreeSet::from(["accepted", "cancelled", "completed", "declined", "expired", "pending"].map(String::from))
    );
    let stored: BTreeSet<&str> = rows.iter().map(|row| row.status.code()).collect();
    assert!(stored.contains("expired"), "the expiry is recorded, not only computed");
    for row in &rows {
        let consent = app.db(|conn| casebridge::consents::queries::find(conn, row.client_id, row.consent_id).unwrap());
        let consent = consent.unwrap_or_else(|| panic!("referral {} has no consent of its client", row.id));
        let sent_on = row.created_at.and_utc().with_timezone(&chrono_tz::Europe::Warsaw).date_naive();
        assert_eq!(consent.purpose.code(), "sharing_with_partner");
        assert_eq!(consent.partner_id, Some(row.to_organisation_id));
        assert!(consent.is_valid_on(sent_on) && consent.is_valid_on(today), "consent of referral {}", row.id);
        let (scope, shared) = (&consent.scope, &row.shared_fields);
        assert_eq!(casebridge::referrals::shared::check(shared, scope), Ok(shared.clone()));
        assert_eq!(row.respond_by, casebridge::referrals::respond_by(row.urgency, sent_on, WORKING_DAYS));
        let linked = matches!(row.status.code(), "accepted" | "completed") || row.accepted_at.is_some();
        assert_eq!(row.partner_client_id.is_some(), linked, "referral {} ({})", row.id, row.status.code());
        if let Some(partner_client) = row.partner_client_id {
            let owner: OrganisationId = app
                .db(|conn| clients::table.find(partner_client).select(clients::organisation_id).first(conn).unwrap());
            assert_eq!(owner, row.to_organisation_id);
        }
        for (at, status) in [
            (row.accepted_at, "accepted"),
            (row.declined_at, "declined"),
            (row.cancelled_at, "cancelled"),
            (row.completed_at, "completed"),
            (row.expired_at, "expired"),
        ] {
            if let Some(at) = at {
                assert!(at > row.created_at && at <= chrono::Utc::now().naive_utc(), "{status} of {}", row.id);
            }
        }
        let history = app.db(|conn| casebridge::referrals::queries::events_of(conn, row.id).unwrap());
        assert_eq!(history.first().map(|event| event.kind.code()), Some("created"));
        let last = if row.status.code() == "pending" { "created" } else { row.status.code() };
        assert_eq!(history.last().map(|event| event.kind.code()), Some(last));
    }
    let counted: usize = report.referrals.values().sum();
    assert_eq!(counted, rows.len());

    // A psychological session is hidden from a counselor who is not a psychologist.
    let password_of =
        |email: &str| report.users.iter().find(|user| user.email == email).unwrap().enrolment_token.clone();
    let lawyer =
        access_token(&app, "prawnik@pfm.example.org", password_of("prawnik@pfm.example.org").expose_secret()).await;
    let psychologist =
        access_token(&app, "psycholog@pfm.example.org", password_of("psycholog@pfm.example.org").expose_secret()).await;
    let pfm = report.organisations.iter().find(|(short, _)| short == "PFM").unwrap().1;
    let (session_id, client_id): (SessionId, ClientId) = app.db(|conn| {
        sessions::table
            .filter(sessions::organisation_id.eq(pfm))
            .filter(sessions::kind.eq("psychological"))
            .select((sessions::id, sessions::client_id))
            .first(conn)
            .unwrap()
    });
    let path = format!("/api/v1/sessions/{session_id}");
    let response = app.get(&path).bearer_auth(&lawyer).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = app.get(&path).bearer_auth(&psychologist).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let read: Value = response.json().await.unwrap();
    assert_eq!(read["details_unreadable"], false, "the demo's summaries are sealed with the client's key");
    let listed = |token: String| {
        let app = &app;
        async move {
            let page: Value = body(
                app.get(&format!("/api/v1/clients/{client_id}/sessions?limit=200"))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .unwrap(),
            )
            .await;
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["id"].as_str().unwrap().to_owned())
                .collect::<BTreeSet<_>>()
        }
    };
    assert!(!listed(lawyer).await.contains(&session_id.to_string()));
    assert!(listed(psychologist).await.contains(&session_id.to_string()));
}

#[tokio::test]
async fn seeding_is_refused_in_production_mode() {
    use std::process::Command;
    let app = TestApp::spawn().await;
    let data = tempfile::tempdir().unwrap();
    let key = casebridge::config::generate_key().unwrap();
    for args in [&["seed", "--demo"][..], &["seed", "--clients", "10"][..]] {
        let output = Command::new(env!("CARGO_BIN_EXE_casebridge"))
            .args(args)
            .env_clear()
            .env("DATABASE_URL", &app.database_url)
            .env("CASEBRIDGE_DATA_DIR", data.path())
            .env("CASEBRIDGE_ENV", "production")
            .env("CASEBRIDGE_JWT_SIGNING_KEY", &key)
            .output()
            .unwrap();
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("production"), "{stderr}");
    }
    let organisations: i64 = app.db(|conn| organisations::table.count().get_result(conn).unwrap());
    assert_eq!(organisations, 0);

    let output = Command::new(env!("CARGO_BIN_EXE_casebridge"))
        .args(["seed", "--clients", "25", "--organisation", "CLI", "--batch", "10", "--sessions-per-client", "2"])
        .env_clear()
        .env("DATABASE_URL", &app.database_url)
        .env("CASEBRIDGE_DATA_DIR", data.path())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("Seeded 25 synthetic clients into CLI") && stdout.contains("rows/s"), "{stdout}");
    assert!(stdout.contains("logged by 20 synthetic counselors (20 created"), "{stdout}");
}

/// Clients of an organisation whose index rows match, straight from the database.
fn matching_in_database(
    app: &TestApp,
    organisation_id: OrganisationId,
    word: Option<&str>,
    tags: &[(&str, &str)],
) -> BTreeSet<String> {
    app.db(|conn| {
        let mut sets: Vec<BTreeSet<String>> = Vec::new();
        if let Some(word) = word {
            let mut end = word.to_owned();
            let last = end.pop().unwrap();
            end.push(char::from(last as u8 + 1));
            let ids: Vec<ClientId> = client_name_tokens::table
                .filter(client_name_tokens::organisation_id.eq(organisation_id))
                .filter(client_name_tokens::token.ge(word))
                .filter(client_name_tokens::token.lt(end))
                .select(client_name_tokens::client_id)
                .load(conn)
                .unwrap();
            sets.push(ids.iter().map(ClientId::to_string).collect());
        }
        for (kind, value) in tags {
            let ids: Vec<ClientId> = client_tags::table
                .filter(client_tags::organisation_id.eq(organisation_id))
                .filter(client_tags::kind.eq(*kind))
                .filter(client_tags::value.eq(*value))
                .select(client_tags::client_id)
                .load(conn)
                .unwrap();
            sets.push(ids.iter().map(ClientId::to_string).collect());
        }
        sets.into_iter().reduce(|all, next| all.intersection(&next).cloned().collect()).unwrap()
    })
}

#[tokio::test]
async fn search_pages_hold_exactly_the_matches_whether_they_are_few_or_many() {
    let app = TestApp::spawn().await;
    let options = SyntheticOptions {
        clients: 6000,
        organisation: "WIDE".into(),
        batch: 2000,
        seed: 3,
        writers: 2,
        sessions_per_client: 0,
    };
    let report = synthetic(&app.pool, &master_keys(), &options).unwrap();
    let organisation_id = report.organisation_id;
    let admin = app.admin().await;
    let counselor = app.create_user(&admin, Some(organisation_id), "counselor").await;

    // More than 2 000 clients are Russian citizens and speak Russian (checked per client while
    // walking, or gathered when both are asked together); fewer are Belarusian or named Kady….
    type Pairs = &'static [(&'static str, &'static str)];
    let cases: [(Pairs, Option<&str>, Pairs); 6] = [
        (&[("nationality", "RU")], None, &[("nationality", "RU")]),
        (&[("language", "ru"), ("nationality", "BY")], None, &[("language", "ru"), ("nationality", "BY")]),
        (&[("nationality", "RU"), ("language", "ru")], None, &[("nationality", "RU"), ("language", "ru")]),
        (&[("q", "kady")], Some("kady"), &[]),
        (&[("q", "kady"), ("nationality", "RU")], Some("kady"), &[("nationality", "RU")]),
        (&[("q", "a"), ("language", "ru")], Some("a"), &[("language", "ru")]),
    ];
    for (query, word, tags) in cases {
        let expected = matching_in_database(&app, organisation_id, word, tags);
        assert!(!expected.is_empty(), "{query:?}");
        let found = search_all(&app, &counselor, query).await;
        let found_ids: Vec<String> = found.iter().map(|item| item["id"].as_str().unwrap().to_owned()).collect();
        let mut sorted = found_ids.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(found_ids, sorted, "{query:?}: pages in id order, no client twice");
        assert_eq!(ids(&found), expected, "{query:?}: {} found, {} expected", found.len(), expected.len());
    }
    let russian = matching_in_database(&app, organisation_id, None, &[("nationality", "RU")]);
    assert!(russian.len() > 2000, "the walk is exercised: {}", russian.len());
}
