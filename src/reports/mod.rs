//! Donor indicators (SPEC §2.9): aggregates for a period, per organisation, as JSON or CSV.
//! Reports contain no personal data. Consortium-wide reports, and analysts' reports of their
//! own organisation, suppress small cells; outside the psychological tier a period is whole
//! calendar months and a city one of the organisation's own list (`routes`), so that no
//! report, alone or set against another, singles out a person.

pub mod queries;
pub mod routes;
pub mod suppression;

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use self::queries::{Figures, MonthOfTier};
use self::suppression::{Cell, Hours, Tally, protect_group};
use crate::db::OrganisationId;
use crate::http::FieldErrors;

/// Counts keyed by a code (session kind, nationality, …).
pub type Counts = BTreeMap<String, Cell>;

/// The indicators of one organisation, or the consortium's totals.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Indicators {
    /// Distinct clients who attended a session in the period (each counted once).
    pub clients_served: Cell,
    pub new_clients: Cell,
    pub sessions: Cell,
    /// Hours of the sessions counted in `sessions`, to a tenth; hidden ("<5" or "suppressed")
    /// whenever `sessions` is.
    pub counseling_hours: Hours,
    #[schema(value_type = BTreeMap<String, Cell>)]
    pub sessions_by_kind: Counts,
    #[schema(value_type = BTreeMap<String, Cell>)]
    pub sessions_by_mode: Counts,
    /// Clients served by sex, then by age band at the end of the period (0-17, 18-24, 25-34,
    /// 35-49, 50-64, 65+, unknown).
    #[schema(value_type = BTreeMap<String, BTreeMap<String, Cell>>)]
    pub clients_by_sex_and_age: BTreeMap<String, Counts>,
    #[schema(value_type = BTreeMap<String, Cell>)]
    pub clients_by_nationality: Counts,
    #[schema(value_type = BTreeMap<String, Cell>)]
    pub clients_by_vulnerability: Counts,
    /// Referrals sent in the period, by partner organisation id, then status.
    #[schema(value_type = BTreeMap<String, BTreeMap<String, Cell>>)]
    pub referrals_sent: BTreeMap<String, Counts>,
    #[schema(value_type = BTreeMap<String, BTreeMap<String, Cell>>)]
    pub referrals_received: BTreeMap<String, Counts>,
    /// Median hours from a referral's arrival to its acceptance or refusal; null when none was
    /// answered. Where small cells are suppressed, "<5" when fewer than five were.
    pub median_hours_to_answer: Option<Hours>,
    /// Legal deadlines due in the period that were met, and that were missed.
    pub deadlines_met: Cell,
    pub deadlines_missed: Cell,
    /// Psychological sessions of each whole calendar month of the period. For callers outside
    /// the psychological tier every other figure leaves psychological sessions out, and this is
    /// all they learn of them: one cell per month, counted on its own whatever the period and
    /// city asked, counts of 0-4 shown as "<5" with their hours (a zero too, or the first
    /// session of a month would show).
    pub psychological_by_month: Vec<PsychologicalMonth>,
    /// Appointments of the period by kind, then outcome (`held`, `cancelled`, `no_show`).
    #[schema(value_type = BTreeMap<String, BTreeMap<String, Cell>>)]
    pub appointments_by_kind: BTreeMap<String, Counts>,
    /// The same by city.
    #[schema(value_type = BTreeMap<String, BTreeMap<String, Cell>>)]
    pub appointments_by_city: BTreeMap<String, Counts>,
    /// Each outcome's share of a kind's appointments, to a thousandth; null where a count it
    /// is made of is hidden.
    #[schema(value_type = BTreeMap<String, BTreeMap<String, Option<f64>>>)]
    pub appointment_rates_by_kind: BTreeMap<String, Rates>,
    #[schema(value_type = BTreeMap<String, BTreeMap<String, Option<f64>>>)]
    pub appointment_rates_by_city: BTreeMap<String, Rates>,
}

/// Shares keyed by outcome.
pub type Rates = BTreeMap<String, Option<f64>>;

/// Each outcome's share of a group's appointments, where every count is shown.
fn rates(counts: &Counts) -> Rates {
    let shown: Option<Vec<i64>> = counts
        .values()
        .map(|cell| match cell {
            Cell::Count(value) => Some(*value),
            Cell::Hidden(_) => None,
        })
        .collect();
    let total: Option<i64> = shown.as_ref().map(|values| values.iter().sum());
    counts
        .iter()
        .map(|(outcome, cell)| {
            let rate = match (cell, total) {
                (Cell::Count(value), Some(total)) if total > 0 => {
                    Some((*value as f64 / total as f64 * 1000.0).round() / 1000.0)
                }
                _ => None,
            };
            (outcome.clone(), rate)
        })
        .collect()
}

/// One whole calendar month of psychological work.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PsychologicalMonth {
    #[schema(example = "2026-11")]
    pub month: String,
    pub sessions: Cell,
    /// Whole hours, hidden whenever the month's count is.
    pub hours: Cell,
}

impl PsychologicalMonth {
    /// A month as published: exact inside the tier, suppressed outside it.
    pub fn published(month: &MonthOfTier, exact: bool) -> Self {
        let sessions = if exact { Tally::exact(month.sessions) } else { Tally::of_tier(month.sessions) };
        Self::of(month, sessions.shown)
    }

    fn of(month: &MonthOfTier, sessions: Cell) -> Self {
        // Half an hour or more rounds up.
        let hours = (month.minutes + 30) / 60;
        let hours = if sessions.is_hidden() { sessions } else { Cell::Count(hours) };
        Self { month: month.month.clone(), sessions, hours }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OrganisationIndicators {
    pub organisation_id: OrganisationId,
    pub short_name: String,
    pub indicators: Indicators,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct IndicatorReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub city: Option<String>,
    /// Consortium-wide: every organisation's figures, with totals.
    pub consortium: bool,
    /// Small cells are suppressed (consortium-wide reports, and analysts' reports): counts of
    /// 1-4 are shown as "<5", some others as "suppressed" so that they cannot be worked out
    /// from totals, and hours and medians are hidden with the counts they are made of.
    /// Otherwise (the organisation's own coordinators) every figure is exact.
    pub suppressed: bool,
    pub organisations: Vec<OrganisationIndicators>,
    /// Across all organisations (consortium-wide reports only).
    pub totals: Option<Indicators>,
}

/// Sessions and minutes by kind (`(kind, sessions, minutes)`), as published: exact, or with
/// counts of 1-4 hidden, a complementary kind hidden where the published total would reveal a
/// lone one, and minutes hidden with their count. Returns the total sessions and minutes, then
/// each kind's.
pub fn publish_by_kind<K>(rows: Vec<(K, i64, i64)>, exact: bool) -> (Cell, Cell, Vec<(K, Cell, Cell)>) {
    let tally = |value: i64| if exact { Tally::exact(value) } else { Tally::protected(value) };
    let total = tally(rows.iter().map(|(_, sessions, _)| sessions).sum());
    let minutes: i64 = rows.iter().map(|(_, _, minutes)| minutes).sum();
    let mut kinds: Vec<(K, Tally, i64)> =
        rows.into_iter().map(|(kind, sessions, minutes)| (kind, tally(sessions), minutes)).collect();
    protect_group(&mut kinds.iter_mut().map(|(_, sessions, _)| sessions).collect::<Vec<_>>());
    let kinds = kinds
        .into_iter()
        .map(|(kind, sessions, minutes)| (kind, sessions.shown, Cell::with(minutes, sessions.shown)))
        .collect();
    (total.shown, Cell::with(minutes, total.shown), kinds)
}

/// Outside the psychological tier a period is whole calendar months. A figure is then never
/// about a day or a week, when one appointment or one new client may be all there is to
/// count, and two overlapping periods differ by whole months — whose small cells are suppressed
/// wherever the reader does not hold the records anyway. The period is refused rather than
/// widened, so the figures shown are always those of the period asked.
pub fn require_whole_months(from: NaiveDate, to: NaiveDate, errors: &mut FieldErrors) {
    if from.day() != 1 {
        errors.add("from", "must be the first day of a month: reports cover whole calendar months");
    }
    if to.succ_opt().map(|next| next.day()) != Some(1) {
        errors.add("to", "must be the last day of a month: reports cover whole calendar months");
    }
}

fn age_band(birth_year: Option<i32>, at: NaiveDate) -> &'static str {
    let Some(year) = birth_year else { return "unknown" };
    match at.year() - year {
        ..=17 => "0-17",
        18..=24 => "18-24",
        25..=34 => "25-34",
        35..=49 => "35-49",
        50..=64 => "50-64",
        _ => "65+",
    }
}

/// Indicators before publication: true values with what will be shown.
#[derive(Debug, Clone, Default)]
struct Draft {
    clients_served: i64,
    new_clients: i64,
    sessions: i64,
    minutes: i64,
    sessions_by_kind: BTreeMap<String, i64>,
    sessions_by_mode: BTreeMap<String, i64>,
    clients_by_sex_and_age: BTreeMap<String, BTreeMap<String, i64>>,
    clients_by_nationality: BTreeMap<String, i64>,
    clients_by_vulnerability: BTreeMap<String, i64>,
    referrals_sent: BTreeMap<String, BTreeMap<String, i64>>,
    referrals_received: BTreeMap<String, BTreeMap<String, i64>>,
    hours_to_answer: Vec<f64>,
    deadlines_met: i64,
    deadlines_missed: i64,
    psychological_by_month: BTreeMap<String, MonthOfTier>,
    appointments_by_kind: BTreeMap<String, BTreeMap<String, i64>>,
    appointments_by_city: BTreeMap<String, BTreeMap<String, i64>>,
}

impl Draft {
    fn of(figures: Figures, to: NaiveDate) -> Self {
        let mut draft = Self {
            clients_served: figures.clients_served,
            new_clients: figures.new_clients,
            sessions: figures.sessions,
            minutes: figures.minutes,
            sessions_by_kind: figures.sessions_by_kind.into_iter().collect(),
            sessions_by_mode: figures.sessions_by_mode.into_iter().collect(),
            clients_by_nationality: figures.clients_by_nationality.into_iter().collect(),
            clients_by_vulnerability: figures.clients_by_vulnerability.into_iter().collect(),
            hours_to_answer: figures.hours_to_answer,
            deadlines_met: figures.deadlines_met,
            deadlines_missed: figures.deadlines_missed,
            psychological_by_month: figures.psychological_by_month.into_iter().map(|m| (m.month.clone(), m)).collect(),
            ..Self::default()
        };
        for (sex, birth_year, count) in figures.clients_by_sex_and_birth_year {
            *draft
                .clients_by_sex_and_age
                .entry(sex)
                .or_default()
                .entry(age_band(birth_year, to).to_owned())
                .or_default() += count;
        }
        for (kind, city, outcome, count) in figures.appointment_outcomes {
            *draft.appointments_by_kind.entry(kind).or_default().entry(outcome.clone()).or_default() += count;
            *draft.appointments_by_city.entry(city).or_default().entry(outcome).or_default() += count;
        }
        // Every outcome of a group is a cell, zeros included, so the rates always add up.
        for groups in [&mut draft.appointments_by_kind, &mut draft.appointments_by_city] {
            for outcomes in groups.values_mut() {
                for outcome in queries::OUTCOMES {
                    outcomes.entry(outcome.code().to_owned()).or_default();
                }
            }
        }
        for (partner, status, count) in figures.referrals_sent {
            *draft.referrals_sent.entry(partner.to_string()).or_default().entry(status).or_default() += count;
        }
        for (partner, status, count) in figures.referrals_received {
            *draft.referrals_received.entry(partner.to_string()).or_default().entry(status).or_default() += count;
        }
        draft
    }

    fn add(&mut self, other: &Draft) {
        fn merge(into: &mut BTreeMap<String, i64>, from: &BTreeMap<String, i64>) {
            for (key, value) in from {
                *into.entry(key.clone()).or_default() += value;
            }
        }
        fn merge_nested(
            into: &mut BTreeMap<String, BTreeMap<String, i64>>,
            from: &BTreeMap<String, BTreeMap<String, i64>>,
        ) {
            for (key, inner) in from {
                merge(into.entry(key.clone()).or_default(), inner);
            }
        }
        self.clients_served += other.clients_served;
        self.new_clients += other.new_clients;
        self.sessions += other.sessions;
        self.minutes += other.minutes;
        merge(&mut self.sessions_by_kind, &other.sessions_by_kind);
        merge(&mut self.sessions_by_mode, &other.sessions_by_mode);
        merge_nested(&mut self.clients_by_sex_and_age, &other.clients_by_sex_and_age);
        merge(&mut self.clients_by_nationality, &other.clients_by_nationality);
        merge(&mut self.clients_by_vulnerability, &other.clients_by_vulnerability);
        merge_nested(&mut self.referrals_sent, &other.referrals_sent);
        merge_nested(&mut self.referrals_received, &other.referrals_received);
        merge_nested(&mut self.appointments_by_kind, &other.appointments_by_kind);
        merge_nested(&mut self.appointments_by_city, &other.appointments_by_city);
        self.hours_to_answer.extend(&other.hours_to_answer);
        self.deadlines_met += other.deadlines_met;
        self.deadlines_missed += other.deadlines_missed;
        for (key, month) in &other.psychological_by_month {
            let total = self.psychological_by_month.entry(key.clone()).or_insert_with(|| MonthOfTier {
                month: key.clone(),
                sessions: 0,
                minutes: 0,
            });
            total.sessions += month.sessions;
            total.minutes += month.minutes;
        }
    }
}

fn median(sorted: &[f64]) -> Option<f64> {
    let mut values = sorted.to_vec();
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n == 0 {
        return None;
    }
    let middle = if n % 2 == 1 { values[n / 2] } else { (values[n / 2 - 1] + values[n / 2]) / 2.0 };
    Some((middle * 10.0).round() / 10.0)
}

/// Counts in publication: every cell of every section, addressable by a path, so groups can be
/// protected together.
#[derive(Debug, Clone)]
struct Published {
    cells: BTreeMap<Vec<String>, Tally>,
    hours: f64,
    median: Option<f64>,
    /// How many answers the median is taken over.
    answered: Tally,
    months: Vec<(MonthOfTier, Tally)>,
}

fn path(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|p| (*p).to_owned()).collect()
}

impl Published {
    /// `protect` suppresses small cells; `inside_tier` publishes psychological months exactly.
    fn of(draft: &Draft, protect: bool, inside_tier: bool) -> Self {
        let tally = |value: i64| if protect { Tally::protected(value) } else { Tally::exact(value) };
        let months = draft
            .psychological_by_month
            .values()
            .map(|month| {
                let sessions =
                    if inside_tier && !protect { Tally::exact(month.sessions) } else { Tally::of_tier(month.sessions) };
                (month.clone(), sessions)
            })
            .collect();
        let mut cells = BTreeMap::new();
        for (name, value) in [
            ("clients_served", draft.clients_served),
            ("new_clients", draft.new_clients),
            ("sessions", draft.sessions),
            ("deadlines_met", draft.deadlines_met),
            ("deadlines_missed", draft.deadlines_missed),
        ] {
            cells.insert(path(&[name]), tally(value));
        }
        for (section, counts) in [
            ("sessions_by_kind", &draft.sessions_by_kind),
            ("sessions_by_mode", &draft.sessions_by_mode),
            ("clients_by_nationality", &draft.clients_by_nationality),
            ("clients_by_vulnerability", &draft.clients_by_vulnerability),
        ] {
            for (key, value) in counts {
                cells.insert(path(&[section, key]), tally(*value));
            }
        }
        for (section, nested) in [
            ("clients_by_sex_and_age", &draft.clients_by_sex_and_age),
            ("referrals_sent", &draft.referrals_sent),
            ("referrals_received", &draft.referrals_received),
            ("appointments_by_kind", &draft.appointments_by_kind),
            ("appointments_by_city", &draft.appointments_by_city),
        ] {
            for (outer, inner) in nested {
                for (key, value) in inner {
                    cells.insert(path(&[section, outer, key]), tally(*value));
                }
            }
        }
        Self {
            cells,
            hours: (draft.minutes as f64 / 6.0).round() / 10.0,
            median: median(&draft.hours_to_answer),
            answered: tally(draft.hours_to_answer.len() as i64),
            months,
        }
    }

    /// Secondary suppression inside one organisation: groups whose sum is a published total.
    fn protect_within(&mut self) {
        for section in ["sessions_by_kind", "sessions_by_mode", "clients_by_sex_and_age"] {
            let mut group: Vec<&mut Tally> =
                self.cells.iter_mut().filter(|(path, _)| path[0] == section).map(|(_, tally)| tally).collect();
            protect_group(&mut group);
        }
        // By kind and by city, each outcome's cells add up to the same total.
        for section in ["appointments_by_kind", "appointments_by_city"] {
            for outcome in queries::OUTCOMES {
                let mut group: Vec<&mut Tally> = self
                    .cells
                    .iter_mut()
                    .filter(|(path, _)| path[0] == section && path.get(2).map(String::as_str) == Some(outcome.code()))
                    .map(|(_, tally)| tally)
                    .collect();
                protect_group(&mut group);
            }
        }
    }

    fn cell(&self, parts: &[&str]) -> Cell {
        self.cells.get(&path(parts)).map_or(Cell::Count(0), |tally| tally.shown)
    }

    fn counts(&self, section: &str) -> Counts {
        self.cells
            .iter()
            .filter(|(path, _)| path.len() == 2 && path[0] == section)
            .map(|(path, t)| (path[1].clone(), t.shown))
            .collect()
    }

    fn nested(&self, section: &str) -> BTreeMap<String, Counts> {
        let mut nested: BTreeMap<String, Counts> = BTreeMap::new();
        for (path, tally) in self.cells.iter().filter(|(path, _)| path.len() == 3 && path[0] == section) {
            nested.entry(path[1].clone()).or_default().insert(path[2].clone(), tally.shown);
        }
        nested
    }

    fn indicators(&self) -> Indicators {
        Indicators {
            clients_served: self.cell(&["clients_served"]),
            new_clients: self.cell(&["new_clients"]),
            sessions: self.cell(&["sessions"]),
            counseling_hours: Hours::with(self.hours, self.cell(&["sessions"])),
            sessions_by_kind: self.counts("sessions_by_kind"),
            sessions_by_mode: self.counts("sessions_by_mode"),
            clients_by_sex_and_age: self.nested("clients_by_sex_and_age"),
            clients_by_nationality: self.counts("clients_by_nationality"),
            clients_by_vulnerability: self.counts("clients_by_vulnerability"),
            referrals_sent: self.nested("referrals_sent"),
            referrals_received: self.nested("referrals_received"),
            median_hours_to_answer: self.median.map(|median| Hours::with(median, self.answered.shown)),
            deadlines_met: self.cell(&["deadlines_met"]),
            deadlines_missed: self.cell(&["deadlines_missed"]),
            psychological_by_month: self
                .months
                .iter()
                .map(|(month, sessions)| PsychologicalMonth::of(month, sessions.shown))
                .collect(),
            appointments_by_kind: self.nested("appointments_by_kind"),
            appointments_by_city: self.nested("appointments_by_city"),
            appointment_rates_by_kind: self
                .nested("appointments_by_kind")
                .iter()
                .map(|(k, c)| (k.clone(), rates(c)))
                .collect(),
            appointment_rates_by_city: self
                .nested("appointments_by_city")
                .iter()
                .map(|(k, c)| (k.clone(), rates(c)))
                .collect(),
        }
    }
}

/// Secondary suppression across organisations: for every cell path, the organisations' cells
/// add up to the published total.
fn protect_across(organisations: &mut [Published]) {
    let paths: Vec<Vec<String>> = {
        let mut all: Vec<Vec<String>> = organisations.iter().flat_map(|o| o.cells.keys().cloned()).collect();
        all.sort();
        all.dedup();
        all
    };
    for path in paths {
        let mut group: Vec<&mut Tally> = organisations.iter_mut().filter_map(|o| o.cells.get_mut(&path)).collect();
        protect_group(&mut group);
    }
    // The organisations' psychological months add up to the consortium's.
    let months: Vec<String> =
        organisations.first().map(|o| o.months.iter().map(|(m, _)| m.month.clone()).collect()).unwrap_or_default();
    for month in months {
        let mut group: Vec<&mut Tally> = organisations
            .iter_mut()
            .filter_map(|o| o.months.iter_mut().find(|(m, _)| m.month == month).map(|(_, tally)| tally))
            .collect();
        protect_group(&mut group);
    }
}

pub struct OrganisationFigures {
    pub organisation_id: OrganisationId,
    pub short_name: String,
    pub figures: Figures,
}

/// How a report is published.
#[derive(Debug, Clone, Copy)]
pub struct Publication {
    /// Every organisation's figures, with totals.
    pub consortium: bool,
    /// Small cells suppressed, with their complements, hours and medians.
    pub suppressed: bool,
    /// Psychological months exact (psychologists of the organisation, unsuppressed reports).
    pub inside_tier: bool,
}

/// Assembles the report as `publication` says.
pub fn assemble(
    from: NaiveDate,
    to: NaiveDate,
    city: Option<String>,
    publication: Publication,
    figures: Vec<OrganisationFigures>,
) -> IndicatorReport {
    let Publication { consortium, suppressed, inside_tier } = publication;
    let drafts: Vec<(OrganisationId, String, Draft)> =
        figures.into_iter().map(|f| (f.organisation_id, f.short_name, Draft::of(f.figures, to))).collect();
    let mut published: Vec<Published> =
        drafts.iter().map(|(_, _, draft)| Published::of(draft, suppressed, inside_tier)).collect();
    let totals = consortium.then(|| {
        let mut total = Draft::default();
        for (_, _, draft) in &drafts {
            total.add(draft);
        }
        let mut total = Published::of(&total, true, inside_tier);
        total.protect_within();
        total
    });
    if suppressed {
        // Hiding a cell can leave another group with a single hidden cell: repeat until stable.
        for _ in 0..5 {
            let before: Vec<usize> =
                published.iter().map(|p| p.cells.values().filter(|t| t.shown.is_hidden()).count()).collect();
            for organisation in &mut published {
                organisation.protect_within();
            }
            protect_across(&mut published);
            let after: Vec<usize> =
                published.iter().map(|p| p.cells.values().filter(|t| t.shown.is_hidden()).count()).collect();
            if before == after {
                break;
            }
        }
    }
    let organisations = drafts
        .iter()
        .zip(&published)
        .map(|((organisation_id, short_name, _), published)| OrganisationIndicators {
            organisation_id: *organisation_id,
            short_name: short_name.clone(),
            indicators: published.indicators(),
        })
        .collect();
    IndicatorReport { from, to, city, consortium, suppressed, organisations, totals: totals.map(|t| t.indicators()) }
}

/// A cell that a spreadsheet would run as a formula is written as text.
fn csv_safe(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{text}") } else { text.to_owned() }
}

fn cell_text(cell: Cell) -> String {
    match cell {
        Cell::Count(value) => value.to_string(),
        Cell::Hidden(reason) => {
            serde_json::to_value(reason).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
        }
    }
}

fn hours_text(hours: Hours) -> String {
    match hours {
        Hours::Value(value) => value.to_string(),
        Hours::Hidden(reason) => cell_text(Cell::Hidden(reason)),
    }
}

/// The report as CSV in long format: one row per figure, with the columns `organisation`,
/// `section`, `category`, `subcategory`, `value` (UTF-8, header row).
pub fn to_csv(report: &IndicatorReport) -> Result<String, csv::Error> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(["organisation", "section", "category", "subcategory", "value"])?;
    let sections = report
        .organisations
        .iter()
        .map(|o| (o.short_name.as_str(), &o.indicators))
        .chain(report.totals.as_ref().map(|t| ("consortium", t)));
    for (organisation, indicators) in sections {
        let mut row = |section: &str, category: &str, subcategory: &str, value: String| {
            writer.write_record([
                csv_safe(organisation),
                csv_safe(section),
                csv_safe(category),
                csv_safe(subcategory),
                csv_safe(&value),
            ])
        };
        for (name, cell) in [
            ("clients_served", indicators.clients_served),
            ("new_clients", indicators.new_clients),
            ("sessions", indicators.sessions),
            ("deadlines_met", indicators.deadlines_met),
            ("deadlines_missed", indicators.deadlines_missed),
        ] {
            row(name, "", "", cell_text(cell))?;
        }
        row("counseling_hours", "", "", hours_text(indicators.counseling_hours))?;
        row("median_hours_to_answer", "", "", indicators.median_hours_to_answer.map(hours_text).unwrap_or_default())?;
        for (section, counts) in [
            ("sessions_by_kind", &indicators.sessions_by_kind),
            ("sessions_by_mode", &indicators.sessions_by_mode),
            ("clients_by_nationality", &indicators.clients_by_nationality),
            ("clients_by_vulnerability", &indicators.clients_by_vulnerability),
        ] {
            for (key, cell) in counts {
                row(section, key, "", cell_text(*cell))?;
            }
        }
        for (section, nested) in [
            ("clients_by_sex_and_age", &indicators.clients_by_sex_and_age),
            ("referrals_sent", &indicators.referrals_sent),
            ("referrals_received", &indicators.referrals_received),
            ("appointments_by_kind", &indicators.appointments_by_kind),
            ("appointments_by_city", &indicators.appointments_by_city),
        ] {
            for (outer, counts) in nested {
                for (key, cell) in counts {
                    row(section, outer, key, cell_text(*cell))?;
                }
            }
        }
        for (section, nested) in [
            ("appointment_rates_by_kind", &indicators.appointment_rates_by_kind),
            ("appointment_rates_by_city", &indicators.appointment_rates_by_city),
        ] {
            for (outer, rates) in nested {
                for (key, rate) in rates {
                    row(section, outer, key, rate.map(|r| r.to_string()).unwrap_or_default())?;
                }
            }
        }
        for month in &indicators.psychological_by_month {
            row("psychological_by_month", &month.month, "sessions", cell_text(month.sessions))?;
            row("psychological_by_month", &month.month, "hours", cell_text(month.hours))?;
        }
    }
    let bytes = writer.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spreadsheet_formulas_are_neutralised() {
        assert_eq!(csv_safe("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(csv_safe("-5"), "'-5");
        assert_eq!(csv_safe("PFM"), "PFM");
    }

    fn refusals(from: &str, to: &str) -> Vec<String> {
        let mut errors = FieldErrors::default();
        require_whole_months(from.parse().unwrap(), to.parse().unwrap(), &mut errors);
        match errors.into_error() {
            crate::http::ApiError::Problem(problem) => problem.errors.clone().unwrap_or_default().into_keys().collect(),
            _ => unreachable!(),
        }
    }

    #[test]
    fn a_period_is_whole_calendar_months_from_first_to_last_day() {
        assert!(refusals("2026-11-01", "2026-11-30").is_empty());
        assert!(refusals("2026-01-01", "2026-12-31").is_empty());
        assert!(refusals("2028-02-01", "2028-02-29").is_empty(), "a leap day ends its February");
        assert_eq!(refusals("2026-02-01", "2026-02-27"), ["to"]);
        assert_eq!(refusals("2026-11-03", "2026-11-30"), ["from"]);
        assert_eq!(refusals("2026-11-03", "2026-11-04"), ["from", "to"]);
    }

    #[test]
    fn age_bands_follow_the_donor_template() {
        let end = NaiveDate::from_ymd_opt(2026, 12, 31).unwrap();
        assert_eq!(age_band(Some(2010), end), "0-17");
        assert_eq!(age_band(Some(2002), end), "18-24");
        assert_eq!(age_band(Some(1961), end), "65+");
        assert_eq!(age_band(None, end), "unknown");
    }

    #[test]
    fn median_of_even_and_odd_counts() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[1.0, 2.0, 3.0, 10.0]), Some(2.5));
    }
}
