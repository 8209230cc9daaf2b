//! `/agenda`, `/agenda/feed`, `/agenda.ics`.

use actix_web::http::header::CONTENT_TYPE;
use actix_web::{HttpResponse, delete, get, post, web};
use chrono::NaiveDateTime;

use super::feed;
use super::model::{AgendaEntry, AgendaQuery, CalendarFeed, FeedQuery};
use super::{Placed, Whose, entries};
use crate::audit::{self, Actor, Event};
use crate::auth::{Origin, SignedIn};
use crate::db;
use crate::domain;
use crate::http::pagination::{KeyedPageRequest, Page, PageQuery};
use crate::http::{self, ApiError, Problem};
use crate::policy::{self, Action, Decision, Target};
use crate::sessions::queries::Viewer;
use crate::state::AppState;
use crate::users;

const RESOURCE: &str = "agenda";

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(read).service(issue_feed).service(revoke_feed).service(calendar);
}

/// A counselor's agenda, or (for a coordinator who names nobody) the organisation's: their
/// appointments, the legal deadlines of the clients assigned to them, the follow-ups of their
/// sessions and their open tasks (the organisation's: all of these, its inbox's tasks included),
/// ordered by time. Dated entries sort at the start of their day in Poland. Psychological
/// appointments the caller may not see show as `busy` time — when, and whose — and nothing more.
#[utoipa::path(
    operation_id = "read_agenda",
    tag = "agenda",
    params(AgendaQuery),
    responses(
        (status = 200, description = "A page of the agenda", body = Page<AgendaEntry>),
        (status = 400, description = "Invalid query", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role keeps no agenda, or a counselor asks for a colleague's", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "The counselor named is not of the caller's organisation", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/agenda")]
pub async fn read(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    query: web::Query<AgendaQuery>,
) -> Result<web::Json<Page<AgendaEntry>>, ApiError> {
    let query = query.into_inner();
    let page = PageQuery { limit: query.limit, cursor: query.cursor.clone() }.parse_keyed::<NaiveDateTime, _>()?;
    let page = page.on_the_calendar(NaiveDateTime::date)?;
    let (from, to) = crate::http::day_span(query.from, query.to, 13)?;
    let page = signed_in
        .run(&state.pool, move |conn, principal| {
            // A role that keeps no agenda is refused alike whatever it asks for. The rest is
            // decided on whose agenda it is: a counselor reads their own only, so the
            // organisation's as a whole is no target to ask about first.
            principal.refuse_if_never(conn, Action::ReadAgenda, RESOURCE, None)?;
            let organisation_id = principal.organisation_id.ok_or_else(ApiError::forbidden)?;
            // A counselor's own agenda unless they name a colleague (refused); a coordinator's
            // view is the organisation's unless they name a counselor.
            let own = policy::decide(principal.caller(), Action::ReadAgenda, Target::owned_by(Some(organisation_id)))
                == Decision::Allow;
            let counselor_id = query.counselor_id.or((!own).then_some(principal.user_id));
            if let Some(counselor_id) = counselor_id {
                // The agenda of the counselor's organisation: another organisation's counselor
                // (or an id of nobody) is out of reach, not an empty agenda of one's own.
                let of = if counselor_id == principal.user_id {
                    Some(organisation_id)
                } else {
                    users::queries::find(conn, counselor_id)?.and_then(|user| user.organisation_id)
                };
                let target = Target { author_id: Some(counselor_id), ..Target::owned_by(of) };
                principal.authorize(conn, Action::ReadAgenda, target, RESOURCE, None)?;
            }
            let viewer = crate::sessions::queries::Viewer::of(&principal);
            let whose = Whose { organisation_id, counselor_id };
            let placed = entries(conn, viewer, whose, (from, to), &page)?;
            audit::record(conn, Event::new(&principal.actor, "agenda.read", RESOURCE))?;
            Ok(Page::from_keyed_rows(
                placed,
                &page,
                |p| (crate::http::pagination::instant_key(p.at), p.id),
                |p| p.entry,
            ))
        })
        .await?;
    Ok(web::Json(page))
}

/// Issue the caller's calendar feed address: an iCalendar feed of their own agenda for a
/// calendar app, opened by a token of its own (never the access token). The token is shown
/// once; issuing again ends the previous one.
#[utoipa::path(
    operation_id = "issue_calendar_feed",
    tag = "agenda",
    responses(
        (status = 201, description = "Issued", body = CalendarFeed),
        (status = 403, description = "The role keeps no agenda", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/agenda/feed")]
pub async fn issue_feed(state: web::Data<AppState>, signed_in: SignedIn) -> Result<HttpResponse, ApiError> {
    let issued = signed_in
        .run(&state.pool, move |conn, principal| {
            principal.authorize_in_own_organisation(conn, Action::SubscribeCalendarFeed, RESOURCE)?;
            db::transaction(conn, |conn| {
                let (token, created_at) = feed::issue(conn, principal.user_id)?;
                audit::record(conn, Event::new(&principal.actor, "agenda.feed_issue", RESOURCE).on(principal.user_id))?;
                Ok(CalendarFeed {
                    path: format!("/api/v1/agenda.ics?token={token}"),
                    token,
                    created_at: created_at.and_utc(),
                })
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(issued))
}

/// End the caller's calendar feed: its address answers 404 from now on.
#[utoipa::path(
    operation_id = "revoke_calendar_feed",
    tag = "agenda",
    responses(
        (status = 204, description = "Ended (or there was none)"),
        (status = 403, description = "The role keeps no agenda", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[delete("/agenda/feed")]
pub async fn revoke_feed(state: web::Data<AppState>, signed_in: SignedIn) -> Result<HttpResponse, ApiError> {
    signed_in
        .run(&state.pool, move |conn, principal| {
            principal.authorize_in_own_organisation(conn, Action::SubscribeCalendarFeed, RESOURCE)?;
            db::transaction(conn, |conn| {
                if feed::revoke(conn, principal.user_id)? {
                    let event = Event::new(&principal.actor, "agenda.feed_revoke", RESOURCE).on(principal.user_id);
                    audit::record(conn, event)?;
                }
                Ok(())
            })
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Days of the feed: the past week and the next three months.
const FEED_DAYS_BACK: u64 = 7;
const FEED_DAYS_AHEAD: u64 = 92;
const FEED_ENTRIES: i64 = 1000;

/// The feed holder's own agenda as iCalendar (RFC 5545), for calendar apps, which cannot send
/// an access token: the feed token from `POST /agenda/feed` opens it. Entries carry times,
/// cities and clients' references only — never a name or free text — and psychological
/// appointments show as busy time. An unknown or revoked token, or one of a user who may no
/// longer keep an agenda, answers 404; more than 60 reads an hour answer 429.
#[utoipa::path(
    operation_id = "read_calendar_feed",
    tag = "agenda",
    params(FeedQuery),
    responses(
        (status = 200, description = "The feed", body = String, content_type = "text/calendar"),
        (status = 404, description = "No such feed", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Read too often (`Retry-After`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/agenda.ics")]
pub async fn calendar(
    state: web::Data<AppState>,
    origin: Origin,
    query: web::Query<FeedQuery>,
) -> Result<HttpResponse, ApiError> {
    let token = query.into_inner().token;
    let ics = http::run(&state.pool, move |conn| -> Result<String, ApiError> {
        let missing = || ApiError::not_found("calendar feed");
        if token.len() > 100 {
            return Err(missing());
        }
        let user_id = feed::holder(conn, &token)?.ok_or_else(missing)?;
        let user = users::queries::find(conn, user_id)?.ok_or_else(missing)?;
        let caller = user.as_caller().ok_or_else(missing)?;
        let Some(organisation_id) = user.organisation_id else { return Err(missing()) };
        let allowed =
            |action| policy::decide(caller, action, Target::record(organisation_id, user_id)) == Decision::Allow;
        if !allowed(Action::SubscribeCalendarFeed) || !allowed(Action::ReadAgenda) {
            return Err(missing());
        }
        if let Err(retry_after) = feed::count_read(conn, user_id)? {
            return Err(ApiError::too_many_requests(retry_after, "The calendar feed was read too often; try later."));
        }
        let viewer = Viewer { user_id, psychologist: caller.psychologist() };
        let today = domain::today();
        let days = (today - chrono::Days::new(FEED_DAYS_BACK), today + chrono::Days::new(FEED_DAYS_AHEAD));
        let page = KeyedPageRequest { limit: FEED_ENTRIES, after: None };
        let whose = Whose { organisation_id, counselor_id: Some(user_id) };
        let mut placed: Vec<Placed> = entries(conn, viewer, whose, days, &page)?;
        placed.truncate(FEED_ENTRIES as usize);
        let actor = Actor { user_id: Some(user_id), organisation_id: Some(organisation_id), ..origin.actor() };
        audit::record(conn, Event::new(&actor, "agenda.feed_read", RESOURCE).on(user_id))?;
        Ok(super::ics::render(&placed))
    })
    .await?;
    Ok(HttpResponse::Ok().insert_header((CONTENT_TYPE, "text/calendar; charset=utf-8")).body(ics))
}
