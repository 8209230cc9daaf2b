//! Synthetic counseling sessions for the synthetic clients (`seed --clients N
//! --sessions-per-client M`): a few counselors of the organisation and, per client, a skewed
//! number of sessions with the fields a counselor would log.
//!
//! The sessions carry no notes (`notes_ciphertext` is NULL); their summary and topics are sealed
//! with the client's data key by whoever writes them (`super::synthetic`, `super::demo`). Every
//! other column is filled as the API fills it, after the same parsing.

use std::collections::BTreeMap;

use anyhow::bail;
use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use rand::Rng;

use super::people::{any, weighted};
use crate::audit::{self, Actor, Event};
use crate::clients::model::ClientFields;
use crate::db::{ClientId, DbConnection, Id, SessionId, UserId};
use crate::domain::{Email, Role, SessionKind};
use crate::organisations::model::OrganisationRow;
use crate::sessions::model::{SessionFields, SessionInput, SessionMode};
use crate::users::queries::{self as users, NewUser};

/// The synthetic counselors' specialties: lawyers most, then psychologists, so that each kind is
/// logged by people qualified for it (anyone may log `other`).
const COUNSELORS: &[&[SessionKind]] = &[
    &[SessionKind::Legal],
    &[SessionKind::Legal],
    &[SessionKind::Legal],
    &[SessionKind::Legal],
    &[SessionKind::Legal],
    &[SessionKind::Legal, SessionKind::Social],
    &[SessionKind::Legal, SessionKind::Integration],
    &[SessionKind::Psychological],
    &[SessionKind::Psychological],
    &[SessionKind::Psychological],
    &[SessionKind::Psychological, SessionKind::Social],
    &[SessionKind::Vocational],
    &[SessionKind::Vocational],
    &[SessionKind::Vocational, SessionKind::Integration],
    &[SessionKind::Social],
    &[SessionKind::Social],
    &[SessionKind::Social, SessionKind::Integration],
    &[SessionKind::Integration],
    &[SessionKind::MedicalReferral, SessionKind::Social],
    &[SessionKind::Other],
];

/// What sessions are about, by how often partners log them: legal advice most, then
/// psychological support, vocational counseling, social work and the rest.
const KINDS: &[(SessionKind, u32)] = &[
    (SessionKind::Legal, 38),
    (SessionKind::Psychological, 20),
    (SessionKind::Vocational, 14),
    (SessionKind::Social, 12),
    (SessionKind::Integration, 8),
    (SessionKind::MedicalReferral, 3),
    (SessionKind::Other, 5),
];

const MODES: &[(SessionMode, u32)] = &[(SessionMode::InPerson, 70), (SessionMode::Phone, 18), (SessionMode::Video, 12)];

/// Minutes, by how often: most sessions last 30 to 90 minutes.
const DURATIONS: &[((i32, i32), u32)] = &[((1, 9), 1), ((10, 29), 8), ((30, 90), 80), ((91, 180), 10), ((181, 600), 1)];

/// How far back the sessions go (about two years).
const HISTORY_DAYS: u64 = 730;

const LEGAL_TOPICS: &[&str] = &[
    "asylum interview",
    "appeal",
    "Dublin procedure",
    "family reunification",
    "work certificate",
    "residence card",
    "detention",
    "court complaint",
];
const PSYCHOLOGICAL_TOPICS: &[&str] = &["sleep", "anxiety", "trauma", "grief", "stabilisation", "family conflict"];
const VOCATIONAL_TOPICS: &[&str] =
    &["CV", "job search", "Polish course", "recognition of qualifications", "work certificate", "interview practice"];
const SOCIAL_TOPICS: &[&str] =
    &["housing", "benefits", "school enrolment", "health insurance", "reception centre", "PESEL"];
const INTEGRATION_TOPICS: &[&str] =
    &["Polish course", "IPI", "school enrolment", "local services", "cultural orientation", "volunteering"];
const MEDICAL_TOPICS: &[&str] = &["GP referral", "specialist", "medication", "dental care", "pregnancy"];
const OTHER_TOPICS: &[&str] = &["documents", "translation", "information", "transport"];

fn topics_of(kind: SessionKind) -> &'static [&'static str] {
    match kind {
        SessionKind::Legal => LEGAL_TOPICS,
        SessionKind::Psychological => PSYCHOLOGICAL_TOPICS,
        SessionKind::Vocational => VOCATIONAL_TOPICS,
        SessionKind::Social => SOCIAL_TOPICS,
        SessionKind::Integration => INTEGRATION_TOPICS,
        SessionKind::MedicalReferral => MEDICAL_TOPICS,
        SessionKind::Other => OTHER_TOPICS,
    }
}

fn summaries_of(kind: SessionKind) -> &'static [&'static str] {
    match kind {
        SessionKind::Legal => &[
            "Explained the stages of the procedure and the client's rights.",
            "Prepared the client for the interview at the Office for Foreigners.",
            "Went through the decision and the time limit for an appeal.",
            "Drafted a letter to the authority; copy handed to the client.",
        ],
        SessionKind::Psychological => &[
            "Support session; continuing as agreed.",
            "Stabilisation techniques practised; next meeting planned.",
            "First consultation; needs assessed.",
        ],
        SessionKind::Vocational => &[
            "Updated the CV and discussed job offers.",
            "Explained the work certificate and the labour office.",
            "Planned a Polish course and training options.",
        ],
        SessionKind::Social => &[
            "Helped with an application for support.",
            "Discussed accommodation after leaving the centre.",
            "Arranged school enrolment for the children.",
        ],
        SessionKind::Integration => &[
            "Introduced local services and the Individual Integration Programme.",
            "Orientation meeting; Polish course arranged.",
        ],
        SessionKind::MedicalReferral => {
            &["Referred to a doctor; appointment booked.", "Accompanied to a specialist appointment."]
        }
        SessionKind::Other => &["General information given.", "Helped with documents and translations."],
    }
}

/// A counselor the synthetic sessions are logged by.
#[derive(Debug, Clone)]
pub struct Counselor {
    pub id: UserId,
    pub specialties: Vec<SessionKind>,
}

/// The synthetic counselors of `organisation`, created when missing; returns them and how many
/// were created. They cannot sign in: their password hash is an Argon2 hash of a random secret
/// that is thrown away (the same PHC string for all, computed once), so a sign-in costs what a
/// wrong password costs and never succeeds.
pub fn counselors(conn: &mut DbConnection, organisation: &OrganisationRow) -> anyhow::Result<(Vec<Counselor>, usize)> {
    let domain = format!("{}.example.org", organisation.short_name.to_lowercase());
    let mut found = Vec::with_capacity(COUNSELORS.len());
    let mut missing = Vec::new();
    for (index, specialties) in COUNSELORS.iter().enumerate() {
        let email = Email::parse(&format!("counselor-{:02}@{domain}", index + 1))
            .map_err(|e| anyhow::anyhow!("a synthetic counselor's e-mail address {e}"))?;
        match users::find_by_email(conn, &email.key())? {
            Some(user) if user.organisation_id == Some(organisation.id) && user.role == Role::Counselor => {
                found.push(Counselor { id: user.id, specialties: user.specialties });
            }
            Some(_) => {
                bail!("{} belongs to another organisation or role; choose another --organisation", email.as_str())
            }
            None => missing.push((index, email, *specialties)),
        }
    }
    if missing.is_empty() {
        return Ok((found, 0));
    }
    let created = missing.len();
    for (index, email, specialties) in missing {
        let labels: Vec<&str> = specialties.iter().map(|kind| kind.code()).collect();
        let row = users::insert(
            conn,
            &NewUser {
                organisation_id: Some(organisation.id),
                email,
                display_name: format!("Counselor {:02} ({})", index + 1, labels.join(", ")),
                role: Role::Counselor,
                specialties: specialties.to_vec(),
                // Never enrolled: nobody can sign in as them or decide grants as them.
                password_hash: String::new(),
            },
        )?;
        audit::record(
            conn,
            Event::new(&Actor::default(), "user.create", "user").on(row.id).in_organisation(Some(organisation.id)),
        )?;
        found.push(Counselor { id: row.id, specialties: specialties.to_vec() });
    }
    Ok((found, created))
}

/// A session about to be written, for the client it is generated with.
#[derive(Debug, Clone)]
pub struct SeededSession {
    pub id: SessionId,
    pub counselor_id: UserId,
    pub fields: SessionFields,
}

/// How the sessions of one run are invented.
pub struct SessionPlan {
    /// Mean sessions per client.
    mean: u32,
    counselors: Vec<Counselor>,
    /// Per kind (in `KINDS` order), the counselors qualified to log it.
    qualified: Vec<Vec<usize>>,
    /// `KINDS` with the weight of a kind nobody is qualified for set to 0.
    kinds: Vec<(SessionKind, u32)>,
    cities: Vec<String>,
    now: DateTime<Utc>,
    today: NaiveDate,
}

impl SessionPlan {
    /// A plan for sessions logged by `counselors`; kinds none of them is qualified for are not
    /// logged (everyone may log `other`).
    pub fn new(mean: u32, counselors: Vec<Counselor>, cities: Vec<String>, now: DateTime<Utc>) -> anyhow::Result<Self> {
        let qualified: Vec<Vec<usize>> = KINDS
            .iter()
            .map(|(kind, _)| {
                (0..counselors.len())
                    .filter(|&index| *kind == SessionKind::Other || counselors[index].specialties.contains(kind))
                    .collect()
            })
            .collect();
        if counselors.is_empty() {
            bail!("sessions need a counselor");
        }
        let kinds = KINDS
            .iter()
            .zip(&qualified)
            .map(|((kind, weight), who)| (*kind, if who.is_empty() { 0 } else { *weight }))
            .collect();
        let today = now.with_timezone(&chrono_tz::Europe::Warsaw).date_naive();
        Ok(Self { mean, counselors, qualified, kinds, cities, now, today })
    }

    /// How many counselors log the sessions.
    pub fn counselors(&self) -> usize {
        self.counselors.len()
    }

    /// How many sessions a client has: geometric with the plan's mean, so many clients have none
    /// or a couple and a long tail has dozens (inverse transform of a uniform draw).
    fn count(&self, rng: &mut impl Rng) -> usize {
        if self.mean == 0 {
            return 0;
        }
        let stop = 1.0 / (f64::from(self.mean) + 1.0);
        let uniform: f64 = rng.r#gen();
        ((1.0 - uniform).ln() / (1.0 - stop).ln()).floor() as usize
    }

    /// The sessions of one client, oldest first (their ids follow the same order, so the API's
    /// lists, which are in id order, are chronological).
    pub fn sessions_of(
        &self,
        rng: &mut impl Rng,
        client_id: ClientId,
        client: &ClientFields,
    ) -> anyhow::Result<Vec<SeededSession>> {
        self.sessions_since(rng, client_id, client, self.today - Days::new(HISTORY_DAYS))
    }

    /// The sessions of one client who came no earlier than `earliest`.
    pub fn sessions_since(
        &self,
        rng: &mut impl Rng,
        client_id: ClientId,
        client: &ClientFields,
        earliest: NaiveDate,
    ) -> anyhow::Result<Vec<SeededSession>> {
        let count = self.count(rng);
        let known_for = u64::try_from((self.today - earliest).num_days()).unwrap_or(0).min(HISTORY_DAYS);
        if count == 0 || known_for < 3 {
            return Ok(Vec::new());
        }
        // A client comes at some point in the period and is seen from then until now; each kind
        // of help by one counselor.
        let first_contact = rng.gen_range(1..=known_for - 2);
        let mut counselor_of_kind: [Option<usize>; KINDS.len()] = [None; KINDS.len()];
        let city = match &client.city {
            Some(city) if self.cities.contains(city) => Some(city.clone()),
            _ => (!self.cities.is_empty()).then(|| any(rng, &self.cities).clone()),
        };
        let mut drafts = Vec::with_capacity(count);
        for _ in 0..count {
            let position = weighted_position(rng, &self.kinds);
            let (kind, _) = KINDS[position];
            let counselor = *counselor_of_kind[position].get_or_insert_with(|| *any(rng, &self.qualified[position]));
            let started_at = self.start(rng, first_contact);
            let input = self.input(rng, kind, started_at, client, city.clone());
            drafts.push((counselor, input));
        }
        drafts.sort_by_key(|(_, input)| input.started_at);
        drafts
            .into_iter()
            .map(|(counselor, input)| {
                let counselor = &self.counselors[counselor];
                let fields = input
                    .parse(client_id, &counselor.specialties, self.now)
                    .map_err(|errors| anyhow::anyhow!("an invented session is invalid: {errors:?} ({input:?})"))?;
                Ok(SeededSession { id: Id::new(), counselor_id: counselor.id, fields })
            })
            .collect()
    }

    /// A weekday between the first contact and yesterday, in office hours in Poland.
    fn start(&self, rng: &mut impl Rng, first_contact: u64) -> DateTime<Utc> {
        let mut day = self.today - Days::new(rng.gen_range(1..=first_contact));
        day = match day.weekday() {
            Weekday::Sat => day - Days::new(1),
            Weekday::Sun => day - Days::new(2),
            _ => day,
        };
        let minutes = 8 * 60 + 15 * rng.gen_range(0..40u32);
        let local = day.and_time(NaiveTime::MIN) + chrono::Duration::minutes(i64::from(minutes));
        chrono_tz::Europe::Warsaw
            .from_local_datetime(&local)
            .earliest()
            .map(|start| start.with_timezone(&Utc))
            .unwrap_or_else(|| local.and_utc())
    }

    fn input(
        &self,
        rng: &mut impl Rng,
        kind: SessionKind,
        started_at: DateTime<Utc>,
        client: &ClientFields,
        city: Option<String>,
    ) -> SessionInput {
        let (shortest, longest) = *weighted(rng, DURATIONS);
        let mut duration_minutes = rng.gen_range(shortest..=longest);
        if duration_minutes >= 10 {
            duration_minutes -= duration_minutes % 5;
        }
        // Mostly the client's preferred language, sometimes another they speak.
        let language = match client.languages.as_slice() {
            [] => None,
            [only] => Some(only.as_str().to_owned()),
            [first, others @ ..] => Some(if rng.gen_bool(0.85) { first } else { any(rng, others) }.as_str().to_owned()),
        };
        let pool = topics_of(kind);
        let mut topics: Vec<String> = Vec::new();
        for _ in 0..rng.gen_range(0..=3) {
            let topic = *any(rng, pool);
            if !topics.iter().any(|t| t == topic) {
                topics.push(topic.to_owned());
            }
        }
        let summary = rng.gen_bool(0.85).then(|| (*any(rng, summaries_of(kind))).to_owned());
        let follow_up_on = rng.gen_bool(0.2).then(|| started_at.date_naive() + Days::new(rng.gen_range(7..=42)));
        SessionInput {
            kind,
            mode: *weighted(rng, MODES),
            city,
            started_at,
            duration_minutes,
            language,
            interpreter_used: client.interpreter_needed && rng.gen_bool(0.8),
            topics,
            summary,
            notes: None,
            follow_up_on,
            participants: Vec::new(),
        }
    }
}

/// The position in `items` of a pick weighted as in `people::weighted`.
fn weighted_position<T>(rng: &mut impl Rng, items: &[(T, u32)]) -> usize {
    let total: u32 = items.iter().map(|(_, weight)| weight).sum();
    let mut ticket = rng.gen_range(0..total.max(1));
    for (position, (_, weight)) in items.iter().enumerate() {
        if ticket < *weight {
            return position;
        }
        ticket -= weight;
    }
    items.len() - 1
}

/// Counts of the sessions written, for the report (and for checking it against the API's).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionTally {
    pub sessions: u64,
    /// Rows of `session_participants` (one per session: the client, attended).
    pub participants: u64,
    pub minutes: u64,
    /// Clients with at least one session.
    pub clients_with_sessions: u64,
    pub by_kind: BTreeMap<String, u64>,
    pub by_mode: BTreeMap<String, u64>,
}

impl SessionTally {
    pub fn count(&mut self, sessions: &[SeededSession]) {
        if !sessions.is_empty() {
            self.clients_with_sessions += 1;
        }
        for session in sessions {
            self.sessions += 1;
            self.participants += 1 + session.fields.participants.len() as u64;
            self.minutes += u64::try_from(session.fields.duration_minutes).unwrap_or(0);
            *self.by_kind.entry(session.fields.kind.code().to_owned()).or_default() += 1;
            *self.by_mode.entry(session.fields.mode.code().to_owned()).or_default() += 1;
        }
    }

    pub fn add(&mut self, other: &SessionTally) {
        self.sessions += other.sessions;
        self.participants += other.participants;
        self.minutes += other.minutes;
        self.clients_with_sessions += other.clients_with_sessions;
        for (kind, count) in &other.by_kind {
            *self.by_kind.entry(kind.clone()).or_default() += count;
        }
        for (mode, count) in &other.by_mode {
            *self.by_mode.entry(mode.clone()).or_default() += count;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn plan(mean: u32) -> SessionPlan {
        let counselors =
            COUNSELORS.iter().map(|kinds| Counselor { id: Id::new(), specialties: kinds.to_vec() }).collect();
        let cities = vec!["Warszawa".to_owned(), "Lublin".to_owned()];
        SessionPlan::new(mean, counselors, cities, Utc::now()).unwrap()
    }

    #[test]
    fn counts_are_skewed_around_the_mean() {
        let plan = plan(10);
        let mut rng = StdRng::seed_from_u64(1);
        let counts: Vec<usize> = (0..50_000).map(|_| plan.count(&mut rng)).collect();
        let mean = counts.iter().sum::<usize>() as f64 / counts.len() as f64;
        assert!((9.7..10.3).contains(&mean), "{mean}");
        let few = counts.iter().filter(|&&c| c <= 2).count() as f64 / counts.len() as f64;
        assert!(few > 0.2, "many clients have 0-2 sessions: {few}");
        assert!(counts.iter().filter(|&&c| c >= 40).count() > 100, "a long tail");
    }

    #[test]
    fn every_invented_session_is_valid_and_in_the_past() {
        let plan = plan(6);
        let mut rng = StdRng::seed_from_u64(5);
        let today = plan.today;
        for serial in 0..500 {
            let client = super::super::people::person(&mut rng, serial).parse(today).unwrap();
            let sessions = plan.sessions_of(&mut rng, Id::new(), &client).unwrap();
            for pair in sessions.windows(2) {
                assert!(pair[0].fields.started_at <= pair[1].fields.started_at);
                assert!(pair[0].id < pair[1].id);
            }
            for session in sessions {
                let fields = &session.fields;
                assert!(fields.started_at < plan.now.naive_utc());
                assert!(fields.started_at > plan.now.naive_utc() - chrono::Duration::days(735));
                assert!((1..=600).contains(&fields.duration_minutes));
                assert!(fields.notes.is_none());
                let languages: Vec<&str> = client.languages.iter().map(|l| l.as_str()).collect();
                assert!(languages.contains(&fields.language.as_deref().unwrap()));
            }
        }
    }
}
