//! A small named consortium to show the product with: six partner organisations, a user of every
//! role, about two hundred clients with procedure timelines (stage and deadlines derived by the
//! same code as the API's), and consents to processing and to sharing with partners.

use anyhow::{Context, bail};
use chrono::{Datelike, Days, NaiveDate};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use secrecy::SecretString;

use super::{people, timeline};
use crate::auth::password;
use crate::clients::queries as clients;
use crate::consents::model::{ConsentInput, ConsentPurpose, ConsentScope};
use crate::consents::queries as consents;
use crate::db::{self, DbConnection, Id};
use crate::domain::{self, Email, Role, SessionKind};
use crate::organisations::model::OrganisationFields;
use crate::organisations::queries as organisations;
use crate::procedure::deadlines::check_order;
use crate::procedure::events::ProcedureEvent;
use crate::procedure::queries as procedure;
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

/// A demo user and the password generated for it, to be shown once.
#[derive(Debug, Clone)]
pub struct DemoUser {
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub specialties: Vec<SessionKind>,
    pub organisation: Option<String>,
    pub password: SecretString,
}

/// What the demo wrote.
#[derive(Debug, Clone)]
pub struct DemoReport {
    pub organisations: Vec<(String, Id)>,
    pub users: Vec<DemoUser>,
    pub clients: usize,
    pub procedure_events: usize,
    pub consents: usize,
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
];

/// Field groups a client agrees to share with a partner, by how often.
const SHARING_SCOPES: &[(&[ConsentScope], u32)] = &[
    (&[ConsentScope::Identity, ConsentScope::Procedure], 45),
    (&[ConsentScope::Identity, ConsentScope::Contact], 25),
    (&[ConsentScope::Identity, ConsentScope::Contact, ConsentScope::Procedure, ConsentScope::Vulnerabilities], 30),
];

/// Writes the demo consortium in one transaction. Refuses when any of its organisations exists.
/// Passwords are random (never derived from `seed`); everything else follows from `seed`.
pub fn demo(conn: &mut DbConnection, seed: u64) -> anyhow::Result<DemoReport> {
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
    let mut accounts = Vec::with_capacity(USERS.len());
    for plan in USERS {
        let password = SecretString::from(crate::config::generate_key()?);
        let password_hash = password::hash_now(&password)?;
        accounts.push((plan, password, password_hash));
    }
    let mut rng = StdRng::seed_from_u64(seed);
    db::transaction(conn, |conn| write(conn, &mut rng, accounts))
}

fn write(
    conn: &mut DbConnection,
    rng: &mut StdRng,
    accounts: Vec<(&'static UserPlan, SecretString, String)>,
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

    let mut demo_users = Vec::with_capacity(accounts.len());
    // Users who record clients, per partner: the first records, counselors are assigned.
    let mut recorders: Vec<Option<Id>> = vec![None; PARTNERS.len()];
    let mut counselors: Vec<Vec<Id>> = vec![Vec::new(); PARTNERS.len()];
    for (plan, password, password_hash) in accounts {
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
                password_hash,
            },
        )?;
        crate::audit::record(
            conn,
            crate::audit::Event::new(&system, "user.create", "user").on(row.id).in_organisation(organisation_id),
        )?;
        if let Some(index) = plan.partner {
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
            password,
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
    };
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
        }
    }
    report.users = demo_users;
    Ok(report)
}

/// Records events one by one as the API does: each checked against the timeline so far, then
/// the stage and deadlines derived from the whole timeline.
fn record_timeline(
    conn: &mut DbConnection,
    client_id: Id,
    organisation_id: Id,
    recorded_by: Id,
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
        recorded.push(row.engine_event()?);
    }
    procedure::rederive(conn, client_id, organisation_id)?;
    Ok(recorded.len())
}
