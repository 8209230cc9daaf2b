//! A small named consortium to show the product with: six partner organisations, a user of every
//! role, about two hundred clients with procedure timelines (stage and deadlines derived by the
//! same code as the API's), consents to processing and to sharing with partners, counseling
//! sessions of every kind, and referrals between the partners in every state of their lifecycle.
//!
//! Rows are written by the API's own query functions, with the audit events the API records.
//! Sessions carry a summary and topics, sealed with each client's data key as the API seals them,
//! and no notes.

use std::collections::BTreeMap;

use anyhow::{Context, bail};
use chrono::{Datelike, Days, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use secrecy::SecretString;

use super::sessions::{Counselor, SessionPlan, SessionTally};
use super::{people, timeline};
use crate::audit::{self, Actor, Event};
use crate::clients::model::ClientFields;
use crate::clients::queries as clients;
use crate::consents::model::{ConsentInput, ConsentPurpose, ConsentScope};
use crate::consents::queries as consents;
use crate::crypto::MasterKeys;
use crate::db::{self, ClientId, DbConnection, OrganisationId, UserId};
use crate::domain::{self, Email, Role, SessionKind};
use crate::organisations::model::OrganisationFields;
use crate::organisations::queries as organisations;
use crate::procedure::deadlines::check_order;
use crate::procedure::events::ProcedureEvent;
use crate::procedure::queries as procedure;
use crate::referrals::lifecycle::Move;
use crate::referrals::model::{DeclineReason, ReferralRow, ReferralStatus, Urgency};
use crate::referrals::queries::{self as referrals, Change, NewReferral};
use crate::sessions::queries::{self as sessions, NewSession};
use crate::sessions::sealing::Sealer;
use crate::users::queries::{self as users, NewUser};

/// A partner of the demo consortium and how many clients it gets.
struct Partner {
    short_name: &'static str,
    name: &'static str,
    cities: &'static [&'static str],
    services: &'static [SessionKind],
    clients: usize,
}

const PARTNERS: &[Partner] = &[
    Partner {
        short_name: "PFM",
        name: "Polskie Forum Migracyjne",
        cities: &["Warszawa", "Lublin"],
        services: &[SessionKind::Psychological, SessionKind::Vocational, SessionKind::Legal, SessionKind::Integration],
        clients: 70,
    },
    Partner {
        short_name: "HFPC",
        name: "Helsińska Fundacja Praw Człowieka",
        cities: &["Warszawa"],
        services: &[SessionKind::Legal],
        clients: 30,
    },
    Partner {
        short_name: "SIP",
        name: "Stowarzyszenie Interwencji Prawnej",
        cities: &["Warszawa"],
        services: &[SessionKind::Legal, SessionKind::Social],
        clients: 30,
    },
    Partner {
        short_name: "OCALENIE",
        name: "Fundacja Ocalenie",
        cities: &["Warszawa"],
        services: &[SessionKind::Social, SessionKind::Integration, SessionKind::Psychological, SessionKind::Vocational],
        clients: 30,
    },
    Partner {
        short_name: "CRIP",
        name: "Centrum Rzecznictwa i Integracji w Poznaniu",
        cities: &["Poznań"],
        services: &[SessionKind::Integration, SessionKind::Vocational, SessionKind::Social],
        clients: 20,
    },
    Partner {
        short_name: "FZR",
        name: "Fundacja Zacznijmy Razem",
        cities: &["Wrocław"],
        services: &[SessionKind::Psychological, SessionKind::Social, SessionKind::MedicalReferral],
        clients: 20,
    },
];

/// The short names the demo creates (it refuses to run when any of them exists).
pub fn short_names() -> impl Iterator<Item = &'static str> {
    PARTNERS.iter().map(|partner| partner.short_name)
}

/// A demo user and its one-time enrolment token, to be shown once: the user sets their own
/// password with it at `POST /auth/enrol`.
#[derive(Debug, Clone)]
pub struct DemoUser {
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub specialties: Vec<SessionKind>,
    pub organisation: Option<String>,
    pub enrolment_token: SecretString,
}

/// What the demo wrote.
#[derive(Debug, Clone)]
pub struct DemoReport {
    pub organisations: Vec<(String, OrganisationId)>,
    pub users: Vec<DemoUser>,
    pub clients: usize,
    pub procedure_events: usize,
    pub consents: usize,
    pub sessions: SessionTally,
    /// Referrals by status.
    pub referrals: BTreeMap<String, usize>,
    /// Client records the receiving partners made when they accepted a referral.
    pub referred_clients: usize,
}

struct UserPlan {
    email: &'static str,
    display_name: &'static str,
    role: Role,
    specialties: &'static [SessionKind],
    /// Index into `PARTNERS`; none for the consortium administrator.
    partner: Option<usize>,
}

/// One user of every role in PFM (the consortium administrator belongs to no organisation), and
/// a coordinator in each other partner so each can record its own clients and answer referrals.
const USERS: &[UserPlan] = &[
    UserPlan {
        email: "admin@konsorcjum.example.org",
        display_name: "Ewa Konsorcjalna",
        role: Role::ConsortiumAdmin,
        specialties: &[],
        partner: None,
    },
    UserPlan {
        email: "koordynator@pfm.example.org",
        display_name: "Maria Nowak",
        role: Role::Coordinator,
        specialties: &[],
        partner: Some(0),
    },
    UserPlan {
        email: "psycholog@pfm.example.org",
        display_name: "Olena Kovalenko",
        role: Role::Counselor,
        specialties: &[SessionKind::Psychological],
        partner: Some(0),
    },
    UserPlan {
        email: "prawnik@pfm.example.org",
        display_name: "Tomasz Wiśniewski",
        role: Role::Counselor,
        specialties: &[SessionKind::Legal],
        partner: Some(0),
    },
    UserPlan {
        email: "doradca@pfm.example.org",
        display_name: "Aleksandra Wójcik",
        role: Role::Counselor,
        specialties: &[SessionKind::Vocational, SessionKind::Integration],
        partner: Some(0),
    },
    UserPlan {
        email: "analityk@pfm.example.org",
        display_name: "Piotr Zieliński",
        role: Role::Analyst,
        specialties: &[],
        partner: Some(0),
    },
    UserPlan {
        email: "koordynator@hfpc.example.org",
        display_name: "Agnieszka Kamińska",
        role: Role::Coordinator,
        specialties: &[SessionKind::Legal],
        partner: Some(1),
    },
    UserPlan {
        email: "koordynator@sip.example.org",
        display_name: "Katarzyna Lewandowska",
        role: Role::Coordinator,
        specialties: &[SessionKind::Legal],
        partner: Some(2),
    },
    UserPlan {
        email: "koordynator@ocalenie.example.org",
        display_name: "Joanna Dąbrowska",
        role: Role::Coordinator,
        specialties: &[SessionKind::Social],
        partner: Some(3),
    },
    UserPlan {
        email: "koordynator@crip.example.org",
        display_name: "Marek Kaczmarek",
        role: Role::Coordinator,
        specialties: &[SessionKind::Integration],
        partner: Some(4),
    },
    UserPlan {
        email: "koordynator@fzr.example.org",
        display_name: "Anna Mazur",
        role: Role::Coordinator,
        specialties: &[SessionKind::Psychological],
        partner: Some(5),
    },
    UserPlan {
        email: "pracownik.socjalny@fzr.example.org",
        display_name: "Paweł Kowalczyk",
        role: Role::Counselor,
        specialties: &[SessionKind::Social, SessionKind::MedicalReferral],
        partner: Some(5),
    },
];

/// Field groups a client agrees to share with a partner, by how often.
const SHARING_SCOPES: &[(&[ConsentScope], u32)] = &[
    (&[ConsentScope::Identity, ConsentScope::Procedure], 45),
    (&[ConsentScope::Identity, ConsentScope::Contact], 25),
    (&[ConsentScope::Identity, ConsentScope::Contact, ConsentScope::Procedure, ConsentScope::Vulnerabilities], 30),
];

/// Mean sessions per demo client.
const SESSIONS_PER_CLIENT: u32 = 3;

/// How many referrals the demo shows in each state.
const REFERRALS: &[(ReferralStatus, usize)] = &[
    (ReferralStatus::Pending, 4),
    (ReferralStatus::Accepted, 3),
    (ReferralStatus::Declined, 3),
    (ReferralStatus::Cancelled, 3),
    (ReferralStatus::Completed, 3),
    (ReferralStatus::Expired, 2),
];

/// Writes the demo consortium in one transaction. Refuses when any of its organisations exists.
/// Enrolment tokens are random (never derived from `seed`); everything else follows from `seed`.
/// `working_days` are the configured days to answer an urgent and a routine referral; `master`
/// wraps the clients' data keys.
pub fn demo(
    conn: &mut DbConnection,
    master: &MasterKeys,
    seed: u64,
    working_days: (u32, u32),
) -> anyhow::Result<DemoReport> {
    let existing = short_names()
        .map(|short| organisations::find_by_short_name(conn, short).map(|found| found.map(|_| short)))
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .flatten()
        .collect::<Vec<_>>();
    if !existing.is_empty() {
        bail!(
            "the demo consortium is already here (organisation(s) {} exist); seed the demo into an empty database",
            existing.join(", ")
        );
    }
    let mut rng = StdRng::seed_from_u64(seed);
    db::transaction(conn, |conn| write(conn, master, &mut rng, working_days))
}

/// A demo client, remembered for its sessions and referrals.
struct DemoClient {
    id: ClientId,
    partner: usize,
    fields: ClientFields,
    /// The first event of the procedure: the client is known from then on.
    first_day: NaiveDate,
    language: String,
    form_version: String,
}

fn write(
    conn: &mut DbConnection,
    master: &MasterKeys,
    rng: &mut StdRng,
    working_days: (u32, u32),
) -> anyhow::Result<DemoReport> {
    let system = crate::audit::Actor::default();
    let mut organisation_ids = Vec::with_capacity(PARTNERS.len());
    for partner in PARTNERS {
        let row = organisations::insert(
            conn,
            &OrganisationFields {
                name: partner.name.to_owned(),
                short_name: partner.short_name.to_owned(),
                cities: partner.cities.iter().map(|city| (*city).to_owned()).collect(),
                services: partner.services.to_vec(),
                contact_email: format!("biuro@{}.example.org", partner.short_name.to_lowercase()),
            },
        )?;
        crate::audit::record(
            conn,
            crate::audit::Event::new(&system, "organisation.create", "organisation").on(row.id),
        )?;
        organisation_ids.push(row.id);
    }

    let mut demo_users = Vec::with_capacity(USERS.len());
    // Users who record clients, per partner: the first records, counselors are assigned.
    let mut recorders: Vec<Option<UserId>> = vec![None; PARTNERS.len()];
    let mut counselors: Vec<Vec<UserId>> = vec![Vec::new(); PARTNERS.len()];
    // Everyone who logs sessions, per partner, with their specialties.
    let mut staff: Vec<Vec<Counselor>> = vec![Vec::new(); PARTNERS.len()];
    for plan in USERS {
        let organisation_id = plan.partner.map(|index| organisation_ids[index]);
        let email = Email::parse(plan.email).map_err(|e| anyhow::anyhow!("{}: {e}", plan.email))?;
        let row = users::insert(
            conn,
            &NewUser {
                organisation_id,
                email,
                display_name: plan.display_name.to_owned(),
                role: plan.role,
                specialties: plan.specialties.to_vec(),
                password_hash: String::new(),
            },
        )?;
        let enrolment = crate::auth::enrolment::issue(conn, row.id, None)?;
        crate::audit::record(
            conn,
            crate::audit::Event::new(&system, "user.create", "user").on(row.id).in_organisation(organisation_id),
        )?;
        if let Some(index) = plan.partner {
            if matches!(plan.role, Role::Coordinator | Role::Counselor) {
                staff[index].push(Counselor { id: row.id, specialties: plan.specialties.to_vec() });
            }
            match plan.role {
                Role::Coordinator => {
                    recorders[index].get_or_insert(row.id);
                }
                Role::Counselor => counselors[index].push(row.id),
                Role::Analyst | Role::ConsortiumAdmin => {}
            }
        }
        demo_users.push(DemoUser {
            email: plan.email.to_owned(),
            display_name: plan.display_name.to_owned(),
            role: plan.role,
            specialties: plan.specialties.to_vec(),
            organisation: plan.partner.map(|index| PARTNERS[index].short_name.to_owned()),
            enrolment_token: SecretString::from(enrolment.token),
        });
    }

    let today = domain::today();
    let mut report = DemoReport {
        organisations: PARTNERS
            .iter()
            .zip(&organisation_ids)
            .map(|(partner, id)| (partner.short_name.to_owned(), *id))
            .collect(),
        users: Vec::new(),
        clients: 0,
        procedure_events: 0,
        consents: 0,
        sessions: SessionTally::default(),
        referrals: BTreeMap::new(),
        referred_clients: 0,
    };
    let mut demo_clients: Vec<DemoClient> = Vec::new();
    let mut serial = 0u64;
    for (index, partner) in PARTNERS.iter().enumerate() {
        let organisation_id = organisation_ids[index];
        let recorder = recorders[index].context("every demo partner has a coordinator")?;
        for _ in 0..partner.clients {
            serial += 1;
            let mut input = people::person(rng, serial);
            input.city = Some((*people::any(rng, partner.cities)).to_owned());
            if !counselors[index].is_empty() && rng.gen_bool(0.8) {
                input.assigned_counselor_id = Some(*people::any(rng, &counselors[index]));
            }
            let fields =
                input.parse(today).map_err(|errors| anyhow::anyhow!("an invented client is invalid: {errors:?}"))?;
            let reference = clients::next_reference(conn, organisation_id, partner.short_name, today.year())?;
            let client = clients::insert(conn, organisation_id, &reference, &fields)?;
            report.clients += 1;

            let events = timeline::timeline(rng, today, 45);
            let first_day = events.first().map(|event| event.occurred_on).unwrap_or(today);
            report.procedure_events += record_timeline(conn, client.id, organisation_id, recorder, events, today)?;

            let language = fields.languages.first().map(|l| l.as_str().to_owned()).unwrap_or_else(|| "pl".to_owned());
            let form_version = format!("{}-RODO-2025-01", partner.short_name);
            let processing = ConsentInput {
                purpose: ConsentPurpose::Processing,
                partner_id: None,
                scope: Vec::new(),
                given_on: first_day,
                expires_on: None,
                language: language.clone(),
                form_version: form_version.clone(),
            };
            consents::insert(conn, client.id, organisation_id, recorder, &processing, &language, &form_version)?;
            report.consents += 1;
            if rng.gen_bool(0.3) {
                let partner_index = (index + rng.gen_range(1..PARTNERS.len())) % PARTNERS.len();
                let given_on = (today - Days::new(rng.gen_range(0..60))).max(first_day);
                let sharing = ConsentInput {
                    purpose: ConsentPurpose::SharingWithPartner,
                    partner_id: Some(organisation_ids[partner_index]),
                    scope: people::weighted(rng, SHARING_SCOPES).to_vec(),
                    given_on,
                    expires_on: Some(given_on + Days::new(365)),
                    language: language.clone(),
                    form_version: form_version.clone(),
                };
                consents::insert(conn, client.id, organisation_id, recorder, &sharing, &language, &form_version)?;
                report.consents += 1;
            }
            demo_clients.push(DemoClient { id: client.id, partner: index, fields, first_day, language, form_version });
        }
    }

    // Sessions come from a random stream of their own, so the clients are the same as without.
    let mut session_rng = StdRng::seed_from_u64(rng.r#gen());
    let now = db::now();
    for (index, partner) in PARTNERS.iter().enumerate() {
        let cities = partner.cities.iter().map(|city| (*city).to_owned()).collect();
        let plan = SessionPlan::new(SESSIONS_PER_CLIENT, staff[index].clone(), cities, now)?;
        for client in demo_clients.iter().filter(|client| client.partner == index) {
            let seeded = plan.sessions_since(&mut session_rng, client.id, &client.fields, client.first_day)?;
            report.sessions.count(&seeded);
            for session in seeded {
                let details_ciphertext = Sealer::new(master, client.id, session.id)
                    .details(conn, &session.fields.details())
                    .map_err(|e| anyhow::anyhow!("sealing a session's summary: {e}"))?;
                sessions::insert(
                    conn,
                    NewSession {
                        id: session.id,
                        organisation_id: organisation_ids[index],
                        client_id: client.id,
                        counselor_id: session.counselor_id,
                        fields: &session.fields,
                        notes_ciphertext: None,
                        details_ciphertext,
                    },
                )?;
                let actor = actor(session.counselor_id, organisation_ids[index]);
                audit::record(
                    conn,
                    Event::new(&actor, "session.create", "session").on(session.id).for_client(client.id),
                )?;
            }
        }
    }

    let mut referral_rng = StdRng::seed_from_u64(rng.r#gen());
    let context = ReferralContext { organisation_ids: &organisation_ids, recorders: &recorders, working_days, today };
    let mut referred = vec![false; demo_clients.len()];
    for (status, count) in REFERRALS {
        for _ in 0..*count {
            let row = refer(conn, &mut referral_rng, &context, &demo_clients, &mut referred, *status)?;
            if row.partner_client_id.is_some() {
                report.referred_clients += 1;
            }
            *report.referrals.entry(row.status.code().to_owned()).or_default() += 1;
        }
    }
    report.users = demo_users;
    Ok(report)
}

fn actor(user_id: UserId, organisation_id: OrganisationId) -> Actor {
    Actor { user_id: Some(user_id), organisation_id: Some(organisation_id), request_id: None, ip: None }
}

/// What every referral of the demo needs to know.
struct ReferralContext<'a> {
    organisation_ids: &'a [OrganisationId],
    /// The coordinator of each partner: sends, answers and cancels.
    recorders: &'a [Option<UserId>],
    working_days: (u32, u32),
    today: NaiveDate,
}

/// Why a partner is asked, per service.
fn referral_reason(service: SessionKind) -> &'static str {
    match service {
        SessionKind::Legal => "Refusal delivered; needs representation for the appeal.",
        SessionKind::Psychological => "Symptoms of trauma after the journey; asks for psychological support.",
        SessionKind::Vocational => "Has the work certificate and looks for a first job.",
        SessionKind::Social => "Leaving the reception centre soon; needs help with housing.",
        SessionKind::Integration => "Protection granted; wants to join the integration programme.",
        SessionKind::MedicalReferral => "Needs a doctor who speaks the client's language.",
        SessionKind::Other => "Needs help with documents.",
    }
}

/// The instant (UTC, to the minute) of a time of day in Poland.
fn at_local(day: NaiveDate, hour: u32, minute: u32) -> NaiveDateTime {
    let local = day.and_time(NaiveTime::from_hms_opt(hour, minute, 0).unwrap_or(NaiveTime::MIN));
    chrono_tz::Europe::Warsaw.from_local_datetime(&local).earliest().map_or(local, |t| t.naive_utc())
}

/// The working day `days` after `day` (or `day` itself for 0).
fn working_days_after(day: NaiveDate, days: u32) -> NaiveDate {
    let mut day = day;
    let mut counted = 0;
    while counted < days {
        day = day.succ_opt().unwrap_or(day);
        if !crate::procedure::calendar::is_day_off(day) {
            counted += 1;
        }
    }
    day
}

/// Sends one referral that ends in `status`, through the same steps as the API: a consent to
/// share with the partner covering the shared fields, the referral with its answer date from the
/// urgency, then the partner's and the sender's transitions, each on its own day.
fn refer(
    conn: &mut DbConnection,
    rng: &mut StdRng,
    context: &ReferralContext<'_>,
    demo_clients: &[DemoClient],
    referred: &mut [bool],
    status: ReferralStatus,
) -> anyhow::Result<ReferralRow> {
    let today = context.today;
    // How many days ago it was sent: recent for an open one, long enough for the answer date to
    // pass for an expired one, and room for the work in between for a completed one.
    let (least, most) = match status {
        ReferralStatus::Pending => (0, 2),
        ReferralStatus::Accepted => (4, 15),
        ReferralStatus::Declined | ReferralStatus::Cancelled => (5, 40),
        ReferralStatus::Completed => (45, 120),
        ReferralStatus::Expired => (25, 60),
    };
    let sent_on = today - Days::new(rng.gen_range(least..=most));
    let candidates: Vec<usize> = (0..demo_clients.len())
        .filter(|&index| !referred[index] && demo_clients[index].first_day + Days::new(7) <= sent_on)
        .collect();
    if candidates.is_empty() {
        bail!("no demo client was known early enough for a {} referral", status.code());
    }
    let chosen = *people::any(rng, &candidates);
    referred[chosen] = true;
    let client = &demo_clients[chosen];
    let from = client.partner;
    let to = (from + rng.gen_range(1..PARTNERS.len())) % PARTNERS.len();
    let service = *people::any(rng, PARTNERS[to].services);
    let sender = context.recorders[from].context("every demo partner has a coordinator")?;
    let answerer = context.recorders[to].context("every demo partner has a coordinator")?;
    let (from_id, to_id) = (context.organisation_ids[from], context.organisation_ids[to]);

    let given_on = (sent_on - Days::new(rng.gen_range(0..=5))).max(client.first_day);
    let scope = people::weighted(rng, SHARING_SCOPES).to_vec();
    let consent = ConsentInput {
        purpose: ConsentPurpose::SharingWithPartner,
        partner_id: Some(to_id),
        scope: scope.clone(),
        given_on,
        expires_on: Some(given_on + Days::new(365)),
        language: client.language.clone(),
        form_version: client.form_version.clone(),
    };
    let consent = consents::insert(conn, client.id, from_id, sender, &consent, &client.language, &client.form_version)?;
    let mut wanted = vec!["given_names", "family_name", "sex", "languages"];
    for (group, fields) in [
        (ConsentScope::Contact, &["phone", "city"][..]),
        (ConsentScope::Procedure, &["procedure_stage", "deadlines"][..]),
        (ConsentScope::Vulnerabilities, &["vulnerabilities"][..]),
    ] {
        if scope.contains(&group) {
            wanted.extend(fields);
        }
    }
    let wanted: Vec<String> = wanted.into_iter().map(str::to_owned).collect();
    let shared_fields = crate::referrals::shared::check(&wanted, &scope)
        .map_err(|e| anyhow::anyhow!("demo referral's shared fields: {e}"))?;

    let urgency = match status {
        // Sent today as an emergency, or earlier with days left to answer.
        ReferralStatus::Pending if sent_on == today && rng.gen_bool(0.5) => Urgency::Emergency,
        ReferralStatus::Pending if sent_on == today => Urgency::Urgent,
        ReferralStatus::Pending => Urgency::Routine,
        _ => *people::weighted(rng, &[(Urgency::Routine, 70), (Urgency::Urgent, 25), (Urgency::Emergency, 5)]),
    };
    let respond_by = crate::referrals::respond_by(urgency, sent_on, context.working_days);
    let sent_at = at_local(sent_on, rng.gen_range(9..=14), 15 * rng.gen_range(0..4));
    let row = referrals::insert_at(
        conn,
        NewReferral {
            client_id: client.id,
            from: from_id,
            to: to_id,
            service,
            urgency: urgency.code(),
            reason: referral_reason(service),
            shared_fields: &shared_fields,
            consent_id: consent.id,
            respond_by,
            created_by: sender,
        },
        sent_at,
    )?;
    let (sender_actor, answerer_actor) = (actor(sender, from_id), actor(answerer, to_id));
    audit::record(conn, Event::new(&sender_actor, "referral.create", "referral").on(row.id).for_client(client.id))?;

    // The partner answers on the day it was sent (late afternoon) or the next working day, never
    // after the answer date.
    let answered_on = working_days_after(sent_on, rng.gen_range(0..=1)).min(respond_by);
    let answered_at = at_local(answered_on, 16, 30).max(sent_at + chrono::Duration::minutes(30));
    let row = match status {
        ReferralStatus::Pending => row,
        ReferralStatus::Expired => {
            // The background job records the expiry the night after the answer date.
            let at = at_local(respond_by + Days::new(1), 1, 0);
            let row = move_to(conn, &row, Change::by(Move::Expire), None, at)?;
            let system = Actor::default();
            let event = Event::new(&system, "referral.expire", "referral")
                .on(row.id)
                .for_client(client.id)
                .in_organisation(Some(from_id));
            audit::record(conn, event)?;
            row
        }
        ReferralStatus::Declined => {
            let reason_code = *people::any(
                rng,
                &[DeclineReason::NoCapacity, DeclineReason::OutsideArea, DeclineReason::ClientUnreachable],
            );
            let change = Change {
                by: Move::Decline,
                reason_code: Some(reason_code.code()),
                reason: Some("We cannot take the client on at the moment."),
                outcome: None,
                partner_client_id: None,
                partner_client_created: false,
            };
            let row = move_to(conn, &row, change, Some(answerer), answered_at)?;
            audit::record(conn, Event::new(&answerer_actor, "referral.decline", "referral").on(row.id))?;
            row
        }
        ReferralStatus::Cancelled if rng.gen_bool(0.5) => {
            let change = Change {
                by: Move::Cancel,
                reason_code: Some("cancelled_by_sender"),
                reason: Some("The client found help elsewhere."),
                outcome: None,
                partner_client_id: None,
                partner_client_created: false,
            };
            let row = move_to(conn, &row, change, Some(sender), answered_at)?;
            audit::record(
                conn,
                Event::new(&sender_actor, "referral.cancel", "referral").on(row.id).for_client(client.id),
            )?;
            row
        }
        ReferralStatus::Accepted | ReferralStatus::Completed | ReferralStatus::Cancelled => {
            let row = accept(conn, context, &row, answerer, answered_on, answered_at)?;
            audit::record(conn, Event::new(&answerer_actor, "referral.accept", "referral").on(row.id))?;
            match status {
                ReferralStatus::Completed => {
                    let done_on = (answered_on + Days::new(rng.gen_range(10..=35))).min(today - Days::new(1));
                    let change = Change {
                        by: Move::Complete,
                        reason_code: None,
                        reason: None,
                        outcome: Some("Sessions held as agreed; the client knows where to turn next."),
                        partner_client_id: None,
                        partner_client_created: false,
                    };
                    let row = move_to(conn, &row, change, Some(answerer), at_local(done_on, 12, 0))?;
                    audit::record(conn, Event::new(&answerer_actor, "referral.complete", "referral").on(row.id))?;
                    row
                }
                ReferralStatus::Cancelled => {
                    let cancelled_on = (answered_on + Days::new(2)).min(today);
                    let change = Change {
                        by: Move::Cancel,
                        reason_code: Some("cancelled_by_sender"),
                        reason: Some("The client moved to another city."),
                        outcome: None,
                        partner_client_id: None,
                        partner_client_created: false,
                    };
                    let row = move_to(conn, &row, change, Some(sender), at_local(cancelled_on, 10, 0))?;
                    audit::record(
                        conn,
                        Event::new(&sender_actor, "referral.cancel", "referral").on(row.id).for_client(client.id),
                    )?;
                    row
                }
                _ => row,
            }
        }
    };
    Ok(row)
}

/// Applies a move at `at` as the API's handlers do.
fn move_to(
    conn: &mut DbConnection,
    row: &ReferralRow,
    change: Change<'_>,
    by: Option<UserId>,
    at: NaiveDateTime,
) -> anyhow::Result<ReferralRow> {
    referrals::transition_at(conn, row, Some(row.version), &change, by, at)?
        .with_context(|| format!("demo referral {} did not take the move {:?}", row.id, change.by))
}

/// The partner accepts as the API does without a client to link: a new client record of its own,
/// pre-filled from the shared fields.
fn accept(
    conn: &mut DbConnection,
    context: &ReferralContext<'_>,
    row: &ReferralRow,
    answerer: UserId,
    answered_on: NaiveDate,
    answered_at: NaiveDateTime,
) -> anyhow::Result<ReferralRow> {
    let shared = referrals::shared_client(conn, row, answered_on)?
        .context("a demo referral's consent stands when it is accepted")?;
    let fields = shared
        .as_new_client("Referred client")
        .parse(context.today)
        .map_err(|errors| anyhow::anyhow!("a referred client is invalid: {errors:?}"))?;
    let organisation = crate::organisations::queries::find(conn, row.to_organisation_id)?
        .context("the receiving organisation exists")?;
    let reference = clients::next_reference(conn, organisation.id, &organisation.short_name, context.today.year())?;
    let partner_client = clients::insert(conn, organisation.id, &reference, &fields)?;
    let answerer_actor = actor(answerer, organisation.id);
    audit::record(
        conn,
        Event::new(&answerer_actor, "client.create", "client").on(partner_client.id).for_client(partner_client.id),
    )?;
    let change = Change {
        by: Move::Accept,
        reason_code: None,
        reason: None,
        outcome: None,
        partner_client_id: Some(partner_client.id),
        partner_client_created: true,
    };
    referrals::transition_at(conn, row, Some(row.version), &change, Some(answerer), answered_at)?
        .context("a demo referral did not move to accepted")
}

/// Records events one by one as the API does: each checked against the timeline so far, then
/// the stage and deadlines derived from the whole timeline.
fn record_timeline(
    conn: &mut DbConnection,
    client_id: ClientId,
    organisation_id: OrganisationId,
    recorded_by: UserId,
    events: Vec<crate::procedure::model::ProcedureEventInput>,
    today: NaiveDate,
) -> anyhow::Result<usize> {
    let mut recorded: Vec<ProcedureEvent> = Vec::with_capacity(events.len());
    for input in &events {
        let fields =
            input.parse(today).map_err(|errors| anyhow::anyhow!("an invented event is invalid: {errors:?}"))?;
        let candidate = ProcedureEvent {
            id: String::new(),
            kind: fields.kind,
            occurred_on: fields.occurred_on,
            delivered_on: fields.delivered_on,
            outcome: fields.outcome,
        };
        check_order(&recorded, &candidate).map_err(|message| anyhow::anyhow!("an invented timeline: {message}"))?;
        let row = procedure::insert_event(conn, client_id, organisation_id, recorded_by, &fields)?;
        recorded.push(row.engine_event());
    }
    procedure::rederive(conn, client_id, organisation_id)?;
    Ok(recorded.len())
}
