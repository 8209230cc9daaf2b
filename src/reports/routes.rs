//! `GET /reports/indicators`, as JSON or (with `Accept: text/csv`) CSV.

use actix_web::http::header::{ACCEPT, CONTENT_DISPOSITION};
use actix_web::{HttpRequest, HttpResponse, get, web};
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::IntoParams;

use super::queries::{self, Scope};
use super::{IndicatorReport, OrganisationFigures, Publication, assemble, to_csv};
use crate::audit::{self, Event};
use crate::auth::SignedIn;
use crate::db::{self, OrganisationId};
use crate::domain;
use crate::http::{ApiError, FieldErrors, Problem};
use crate::organisations;
use crate::policy::{self, Action, Decision, Target};
use crate::state::AppState;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(indicators);
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// First day of the period (Europe/Warsaw), inclusive. Outside the psychological tier
    /// (everyone but the organisation's psychologists) the first day of a month.
    pub from: NaiveDate,
    /// Last day of the period, inclusive. Outside the psychological tier the last day of a month.
    pub to: NaiveDate,
    /// Consortium administrators: one organisation only (default: all). Others: their own.
    pub organisation_id: Option<OrganisationId>,
    /// Sessions held in this city (and clients living there) only: one of the organisation's
    /// `cities` (of any organisation reported on, consortium-wide), in any case or diacritics.
    pub city: Option<String>,
}

/// The donor indicators of SPEC §2.9 for a period. Coordinators get their organisation's
/// figures exactly. Analysts get their organisation's, and consortium administrators every
/// organisation's, with small cells suppressed: counts of 1-4 shown as "<5", complementary
/// cells as "suppressed" where a total would reveal a small one, hours and medians hidden with
/// their counts.
///
/// So that no report, alone or subtracted from another, singles out a person, everyone outside
/// the psychological tier (everyone but the organisation's psychologists) asks for whole
/// calendar months: `from` the first day of a month, `to` the last day of a month, else 422;
/// and a `city` must be one of the organisation's `cities`, else 422. Outside the tier every
/// figure also leaves psychological sessions out; they appear only in `psychological_by_month`,
/// one cell per whole calendar month of the period, counts of 0-4 shown as "<5" with their
/// hours.
#[utoipa::path(
    tag = "reports",
    params(ReportQuery),
    responses(
        (status = 200, description = "The report (JSON, or CSV in long format with Accept: text/csv)",
         content((IndicatorReport = "application/json"), (String = "text/csv"))),
        (status = 400, description = "Invalid period", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "No reports for this role", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such organisation, or another organisation's report", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A period of part of a month outside the psychological tier (`errors.from`, `errors.to`), or a city not among the organisation's (`errors.city`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/reports/indicators")]
pub async fn indicators(
    req: HttpRequest,
    state: web::Data<AppState>,
    signed_in: SignedIn,
    query: web::Query<ReportQuery>,
) -> Result<HttpResponse, ApiError> {
    let ReportQuery { from, to, organisation_id, city } = query.into_inner();
    let mut errors = FieldErrors::default();
    if from > to || (to - from).num_days() > 3660 {
        errors.add("to", "must be on or after from, within ten years");
    }
    if city.as_ref().is_some_and(|c| c.chars().count() > 100) {
        errors.add("city", "must be at most 100 characters");
    }
    errors.finish_query(|| Some(()))?;
    let wants_csv = req.headers().get(ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("text/csv"));
    let report = signed_in
        .run(&state.pool, move |conn, principal| {
            let consortium = policy::decide(principal.caller(), Action::ReadConsortiumReport, Target::consortium())
                == Decision::Allow;
            let inside_tier = !consortium && crate::sessions::inside_tier(&principal);
            let exact = !consortium
                && policy::decide(
                    principal.caller(),
                    Action::ReadExactFigures,
                    Target::owned_by(principal.organisation_id),
                ) == Decision::Allow;
            let organisation_ids: Vec<OrganisationId> = if consortium {
                match organisation_id {
                    Some(id) => vec![id],
                    None => organisations::queries::list(
                        conn,
                        None,
                        crate::http::pagination::PageRequest { limit: 10_000, after: None },
                    )?
                    .into_iter()
                    .map(|o| o.id)
                    .collect(),
                }
            } else {
                let own = organisation_id.or(principal.organisation_id);
                principal.authorize(conn, Action::ReadOrganisationReport, Target::owned_by(own), "report", None)?;
                own.into_iter().collect()
            };
            let today = domain::today();
            let figures = db::snapshot(conn, |conn| {
                let mut reported = Vec::new();
                for id in organisation_ids {
                    reported.push(
                        organisations::queries::find(conn, id)?.ok_or_else(|| ApiError::not_found("organisation"))?,
                    );
                }
                let mut errors = FieldErrors::default();
                if !inside_tier {
                    super::require_whole_months(from, to, &mut errors);
                }
                let city = match city {
                    Some(asked) => listed_city(&reported, &asked, &mut errors)?,
                    None => None,
                };
                if !errors.is_empty() {
                    return Err(errors.into_error());
                }
                let mut figures = Vec::new();
                for organisation in reported {
                    let id = organisation.id;
                    let scope = Scope {
                        organisation_id: id,
                        from: domain::start_of_day_utc(from),
                        until: domain::start_of_day_utc(to + chrono::Days::new(1)),
                        from_day: from,
                        to_day: to,
                        city: city.clone(),
                        today,
                        psychological: inside_tier,
                    };
                    figures.push(OrganisationFigures {
                        organisation_id: id,
                        short_name: organisation.short_name,
                        figures: queries::figures(conn, &scope)?,
                    });
                }
                Ok::<_, ApiError>((city, figures))
            })?;
            let (city, figures) = figures;
            audit::record(conn, Event::new(&principal.actor, "report.indicators", "report"))?;
            let publication = Publication { consortium, suppressed: !exact, inside_tier };
            Ok(assemble(from, to, city, publication, figures))
        })
        .await?;
    if wants_csv {
        let csv = to_csv(&report).map_err(|e| ApiError::Internal(e.into()))?;
        return Ok(HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((CONTENT_DISPOSITION, format!("attachment; filename=\"indicators-{from}-{to}.csv\"")))
            .body(csv));
    }
    Ok(HttpResponse::Ok().json(report))
}

/// The organisation's own spelling of the city asked for, when it is one of the cities of the
/// organisations reported on. A closed list: a free-text city could be a place where the
/// organisation served one person, and its report that person's.
fn listed_city(
    reported: &[organisations::model::OrganisationRow],
    asked: &str,
    errors: &mut FieldErrors,
) -> Result<Option<String>, ApiError> {
    let key = domain::names::fold(asked);
    let mut cities = Vec::new();
    for organisation in reported {
        cities.extend(organisation.cities.iter().cloned());
    }
    if let Some(city) = cities.iter().find(|city| domain::names::fold(city) == key) {
        return Ok(Some(city.clone()));
    }
    cities.sort();
    cities.dedup();
    let listed = if cities.is_empty() { "none".to_owned() } else { cities.join(", ") };
    errors.add("city", format!("must be one of the organisation's cities: {listed}"));
    Ok(None)
}
