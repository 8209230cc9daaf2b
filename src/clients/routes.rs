//! `/clients`: create, search, read, change, close and reopen clients; households; the
//! duplicate check.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, delete, get, patch, post, put, web};
use chrono::Datelike;

use super::model::{
    Client, ClientFields, ClientFilter, ClientInput, ClientPatch, ClientRow, ClientSummary, CloseRequest,
    DuplicateCheckRequest, DuplicateCheckResponse, DuplicateMatch, HouseholdLinkRequest, MergeRequest,
};
use super::{RESOURCE, authorized, queries, view};
use crate::audit::{self, Event};
use crate::auth::{Principal, SignedIn};
use crate::db::{self, ClientId, DbConnection, Id, OrganisationId};
use crate::domain::client::{
    ClientStatus, CountryCode, HouseholdRelationship, IdentifierKind, LanguageCode, identifier_key,
};
use crate::domain::{self, names};
use crate::http::idempotency::{self, Created, IdempotencyKey};
use crate::http::pagination::{Page, PageQuery};
use crate::http::precondition::{IfMatch, with_etag};
use crate::http::{ApiError, FieldErrors, Problem};
use crate::policy::{self, Action, Decision, Target};
use crate::state::AppState;
use crate::{organisations, users};

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(duplicate_check)
        .service(create)
        .service(list)
        .service(read)
        .service(update)
        .service(close)
        .service(reopen)
        .service(merge)
        .service(join_household)
        .service(leave_household);
}

/// The assigned counselor must be an active user of the client's organisation whom the policy
/// lets hold a caseload there.
fn check_counselor(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    fields: &ClientFields,
    errors: &mut FieldErrors,
) -> Result<(), ApiError> {
    let Some(counselor_id) = fields.assigned_counselor_id else {
        return Ok(());
    };
    let counselor = users::queries::find(conn, counselor_id)?.and_then(|user| user.as_caller());
    let fits = counselor.is_some_and(|counselor| {
        policy::decide(counselor, Action::HoldCaseload, Target::organisation(organisation_id)) == Decision::Allow
    });
    if !fits {
        errors.add("assigned_counselor_id", "is not an active counselor of this organisation");
    }
    Ok(())
}

fn parse(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    input: &ClientInput,
) -> Result<ClientFields, ApiError> {
    let (fields, mut errors) = match input.parse(domain::today()) {
        Ok(fields) => (Some(fields), FieldErrors::default()),
        Err(errors) => (None, errors),
    };
    if let Some(fields) = &fields {
        check_counselor(conn, organisation_id, fields, &mut errors)?;
    }
    errors.finish(|| fields)
}

/// Record a new client. The reference (`PFM-2026-0042`) is assigned by the server.
#[utoipa::path(
    operation_id = "create_client",
    tag = "clients",
    request_body = ClientInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry return the first response")),
    responses(
        (status = 201, description = "Created", body = Client, headers(("ETag" = String), ("Location" = String))),
        (status = 400, description = "Malformed body", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role holds no client records", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, or Idempotency-Key reused for another request", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/clients")]
pub async fn create(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    key: IdempotencyKey,
    body: web::Json<ClientInput>,
) -> Result<HttpResponse, ApiError> {
    let input = body.into_inner();
    let request_hash = idempotency::fingerprint("POST /clients", &input)?;
    let created = signed_in
        .run(&state.pool, move |conn, principal| {
            idempotency::create_once(
                conn,
                principal.user_id,
                &key,
                &request_hash,
                |conn, id| read_one(conn, &principal, id).map(created),
                |conn| principal.authorize_in_own_organisation(conn, Action::CreateClient, RESOURCE),
                |conn, organisation_id| {
                    let fields = parse(conn, organisation_id, &input)?;
                    let organisation = organisations::queries::find(conn, organisation_id)?
                        .ok_or_else(|| ApiError::not_found("organisation"))?;
                    let today = domain::today();
                    let reference =
                        queries::next_reference(conn, organisation_id, &organisation.short_name, today.year())?;
                    let row = queries::insert(conn, organisation_id, &reference, &fields)?;
                    audit::record(
                        conn,
                        Event::new(&principal.actor, "client.create", RESOURCE).on(row.id).for_client(row.id),
                    )?;
                    Ok(created(view(conn, row, today)?))
                },
            )
        })
        .await?;
    Ok(created.response())
}

fn created(client: Client) -> Created<Client> {
    Created::new(client.id, format!("/api/v1/clients/{}", client.id), client.version, client)
}

fn search_of(filter: &ClientFilter, today: chrono::NaiveDate) -> Result<queries::Search, ApiError> {
    let mut errors = FieldErrors::default();
    let mut search = queries::Search {
        status: filter.status,
        assigned_counselor_id: filter.assigned_counselor_id,
        procedure_stage: filter.procedure_stage.clone(),
        city_key: filter.city.as_deref().map(names::fold),
        ..queries::Search::default()
    };
    if let Some(q) = filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        if q.chars().count() > 200 {
            errors.add("q", "must be at most 200 characters");
        }
        let looks_like_reference =
            q.matches('-').count() >= 2 && q.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        if looks_like_reference {
            search.reference = Some(q.to_ascii_uppercase());
        } else {
            search.name_tokens =
                names::fold(q).split(' ').filter(|t| !t.is_empty()).take(5).map(str::to_owned).collect();
            search.name_words = names::query_words(q).into_iter().take(5).collect();
            let key = identifier_key(q);
            if key.chars().any(|c| c.is_ascii_digit()) {
                search.identifier_key = Some(key);
            }
            if search.name_tokens.is_empty() && search.identifier_key.is_none() {
                errors.add("q", "must contain letters or digits");
            }
        }
    }
    if let Some(nationality) = &filter.nationality
        && let Some(code) = errors.check("nationality", CountryCode::parse(nationality))
    {
        search.tags.push(("nationality", code.as_str().to_owned()));
    }
    if let Some(language) = &filter.language
        && let Some(code) = errors.check("language", LanguageCode::parse(language))
    {
        search.tags.push(("language", code.as_str().to_owned()));
    }
    if let Some(vulnerability) = filter.vulnerability {
        search.tags.push(("vulnerability", vulnerability.code().to_owned()));
    }
    if let Some(days) = filter.deadline_within_days {
        if !(0..=3650).contains(&days) {
            errors.add("deadline_within_days", "must be between 0 and 3650");
        } else {
            search.deadline_due_by = Some(today + chrono::Days::new(days as u64));
        }
    }
    if let Some(stage) = &filter.procedure_stage
        && stage.parse::<crate::procedure::deadlines::ProcedureStage>().is_err()
    {
        errors.add("procedure_stage", "is not a procedure stage");
    }
    errors.finish_query(|| Some(search))
}

/// Search the organisation's clients. `q` finds a reference, an identifier, or any of a client's
/// names (given, family, native, aliases) whatever their case, diacritics, script or
/// transliteration ("Дудаев", "Dudajew", "Dudaev" find "Dudayev"); filters narrow further.
/// Without `q`, oldest first; with it, best first: an equal reference or identifier, then names
/// spelled as searched, then names that sound so, each oldest first.
#[utoipa::path(
    operation_id = "search_clients",
    tag = "clients",
    params(ClientFilter),
    responses(
        (status = 200, description = "A page of clients", body = Page<ClientSummary>),
        (status = 400, description = "Invalid query", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role holds no client records", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/clients")]
pub async fn list(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    filter: web::Query<ClientFilter>,
) -> Result<web::Json<Page<ClientSummary>>, ApiError> {
    let filter = filter.into_inner();
    let query = PageQuery { limit: filter.limit, cursor: filter.cursor.clone() };
    let search = search_of(&filter, domain::today())?;
    if !search.name_tokens.is_empty() {
        let page = query.parse_keyed::<i32, _>()?;
        let after = page
            .after
            .filter(|(rank, _)| !(queries::RANK_IDENTITY..=queries::RANK_SOUND).contains(rank))
            .map_or(Ok(page.after), |_| {
                Err(ApiError::bad_request("invalid_cursor", "cursor is not one this API handed out."))
            })?;
        let page = signed_in
            .run(&state.pool, move |conn, principal| {
                let organisation_id = principal.authorize_in_own_organisation(conn, Action::ListClients, RESOURCE)?;
                let rows = queries::search_ranked(conn, organisation_id, &search, page.limit, after)?;
                let items: Vec<_> = rows.into_iter().map(|(rank, row)| (rank, row.summary())).collect();
                audit::record(conn, Event::new(&principal.actor, "client.list", RESOURCE))?;
                Ok(Page::from_keyed_rows(items, &page, |(rank, c)| (rank.to_string(), c.id), |(_, c)| c))
            })
            .await?;
        return Ok(web::Json(page));
    }
    let page = query.parse()?;
    let page = signed_in
        .run(&state.pool, move |conn, principal| {
            let organisation_id = principal.authorize_in_own_organisation(conn, Action::ListClients, RESOURCE)?;
            let rows = queries::search(conn, organisation_id, &search, page)?;
            let items: Vec<_> = rows.into_iter().map(ClientRow::summary).collect();
            audit::record(conn, Event::new(&principal.actor, "client.list", RESOURCE))?;
            Ok(Page::from_rows(items, page, |c| c.id, |c| c))
        })
        .await?;
    Ok(web::Json(page))
}

/// Get a client with household and open deadlines.
#[utoipa::path(
    operation_id = "read_client",
    tag = "clients",
    params(("id" = Id, Path, description = "Client id")),
    responses(
        (status = 200, description = "The client", body = Client, headers(("ETag" = String))),
        (status = 403, description = "The role holds no client records", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such client (or another organisation's)", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The client's record was erased", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/clients/{id}")]
pub async fn read(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<ClientId>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let client = signed_in.run(&state.pool, move |conn, principal| read_one(conn, &principal, id)).await?;
    Ok(with_etag(actix_web::http::StatusCode::OK, client.version, &client))
}

/// What `GET /clients/{id}` answers; a retried creation is answered the same way.
fn read_one(conn: &mut DbConnection, principal: &Principal, id: ClientId) -> Result<Client, ApiError> {
    let row = authorized(conn, principal, id, Action::ReadClient)?;
    audit::record(conn, Event::new(&principal.actor, "client.read", RESOURCE).on(id).for_client(id))?;
    view(conn, row, domain::today())
}

/// Change a client (JSON Merge Patch: absent fields stay, `null` clears optional ones).
#[utoipa::path(
    operation_id = "update_client",
    tag = "clients",
    params(
        ("id" = Id, Path, description = "Client id"),
        ("If-Match" = String, Header, description = "ETag of the version being changed"),
    ),
    request_body = ClientPatch,
    responses(
        (status = 200, description = "Changed", body = Client, headers(("ETag" = String))),
        (status = 404, description = "No such client", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale version", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match missing", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The client's record was erased", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[patch("/clients/{id}")]
pub async fn update(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<ClientId>,
    if_match: IfMatch,
    body: web::Json<ClientPatch>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let patch = body.into_inner();
    let client = signed_in
        .run(&state.pool, move |conn, principal| {
            let current = authorized(conn, &principal, id, Action::UpdateClient)?;
            let mut errors = FieldErrors::default();
            let input = patch.apply(current.input(), &mut errors);
            errors.finish(|| Some(()))?;
            let fields = parse(conn, current.organisation_id, &input)?;
            db::transaction(conn, |conn| {
                let row = queries::update(conn, &current, if_match.0, &fields)?.ok_or_else(IfMatch::stale)?;
                audit::record(conn, Event::new(&principal.actor, "client.update", RESOURCE).on(id).for_client(id))?;
                view(conn, row, domain::today())
            })
        })
        .await?;
    Ok(with_etag(actix_web::http::StatusCode::OK, client.version, &client))
}

async fn set_status(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: ClientId,
    if_match: IfMatch,
    status: ClientStatus,
    reason: Option<String>,
) -> Result<HttpResponse, ApiError> {
    let client = signed_in
        .run(&state.pool, move |conn, principal| {
            let current = authorized(conn, &principal, id, Action::UpdateClient)?;
            if current.status == status {
                return Err(ApiError::conflict(
                    if status == ClientStatus::Closed { "already_closed" } else { "already_active" },
                    format!("The client is already {}.", status.code()),
                ));
            }
            let action = if status == ClientStatus::Closed { "client.close" } else { "client.reopen" };
            db::transaction(conn, |conn| {
                let row =
                    queries::set_status(conn, id, if_match.0, status, reason.as_deref())?.ok_or_else(IfMatch::stale)?;
                audit::record(conn, Event::new(&principal.actor, action, RESOURCE).on(id).for_client(id))?;
                view(conn, row, domain::today())
            })
        })
        .await?;
    Ok(with_etag(actix_web::http::StatusCode::OK, client.version, &client))
}

/// Close a client's case, with a reason.
#[utoipa::path(
    tag = "clients",
    params(
        ("id" = Id, Path, description = "Client id"),
        ("If-Match" = String, Header, description = "ETag of the version being changed"),
    ),
    request_body = CloseRequest,
    responses(
        (status = 200, description = "Closed", body = Client, headers(("ETag" = String))),
        (status = 404, description = "No such client", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already closed", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The client's record was erased", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale version", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Reason missing or too long", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/clients/{id}/close")]
pub async fn close(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<ClientId>,
    if_match: IfMatch,
    body: web::Json<CloseRequest>,
) -> Result<HttpResponse, ApiError> {
    let mut errors = FieldErrors::default();
    let reason = errors.check("reason", domain::bounded_text(&body.reason, 1, 500));
    errors.finish(|| Some(()))?;
    set_status(state, signed_in, id.into_inner(), if_match, ClientStatus::Closed, reason).await
}

/// Reopen a closed case.
#[utoipa::path(
    tag = "clients",
    params(
        ("id" = Id, Path, description = "Client id"),
        ("If-Match" = String, Header, description = "ETag of the version being changed"),
    ),
    responses(
        (status = 200, description = "Reopened", body = Client, headers(("ETag" = String))),
        (status = 404, description = "No such client", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already active", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The client's record was erased", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale version", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/clients/{id}/reopen")]
pub async fn reopen(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<ClientId>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    set_status(state, signed_in, id.into_inner(), if_match, ClientStatus::Active, None).await
}

/// Likely existing records of the same person in the caller's organisation, to check before
/// creating a client: an equal identifier (whatever the name), or the same name in any word
/// order, script or transliteration, weighed with date or year of birth and nationality.
#[utoipa::path(
    tag = "clients",
    request_body = DuplicateCheckRequest,
    responses(
        (status = 200, description = "Likely matches, best first, each saying what matched", body = DuplicateCheckResponse),
        (status = 403, description = "The role holds no client records", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/clients/duplicate-check")]
pub async fn duplicate_check(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    body: web::Json<DuplicateCheckRequest>,
) -> Result<web::Json<DuplicateCheckResponse>, ApiError> {
    let request = body.into_inner();
    let mut errors = FieldErrors::default();
    let given_names = errors.check("given_names", domain::bounded_text(&request.given_names, 1, 100));
    let family_name = errors.check("family_name", domain::bounded_text(&request.family_name, 1, 100));
    if request.identifiers.len() > 10 {
        errors.add("identifiers", "must have at most 10 entries");
    }
    let nationalities = errors.check(
        "nationalities",
        request
            .nationalities
            .iter()
            .map(|code| CountryCode::parse(code))
            .collect::<Result<Vec<_>, _>>()
            .and_then(|codes| domain::distinct(&codes, 5)),
    );
    if let Some(year) = request.birth_year
        && !(1900..=domain::today().year()).contains(&year)
    {
        errors.add("birth_year", format!("must be between 1900 and {}", domain::today().year()));
    }
    errors.finish(|| Some(()))?;
    let probe = Probe {
        given_names: given_names.unwrap_or_default(),
        family_name: family_name.unwrap_or_default(),
        date_of_birth: request.date_of_birth,
        birth_year: request.birth_year.or(request.date_of_birth.map(|d| d.year())),
        nationalities: nationalities.unwrap_or_default().iter().map(|c| c.as_str().to_owned()).collect(),
        identifiers: request.identifiers.iter().map(|i| (i.kind, identifier_key(&i.value))).collect(),
    };
    let matches = signed_in
        .run(&state.pool, move |conn, principal| {
            let organisation_id = principal.authorize_in_own_organisation(conn, Action::ListClients, RESOURCE)?;
            let identifier_keys: Vec<String> = probe.identifiers.iter().map(|(_, key)| key.clone()).collect();
            let candidates = queries::duplicate_candidates(
                conn,
                organisation_id,
                &names::lookup_keys(&probe.given_names),
                &names::lookup_keys(&probe.family_name),
                &identifier_keys,
            )?;
            let name = names::Name::parse(&format!("{} {}", probe.given_names, probe.family_name));
            let mut matches = Vec::new();
            for candidate in candidates {
                if let Some((score, matched)) = probe.score(&name, &candidate) {
                    matches.push(DuplicateMatch { client: candidate.summary(), score, matched });
                }
            }
            matches.sort_by(|a, b| b.score.total_cmp(&a.score));
            matches.truncate(20);
            audit::record(conn, Event::new(&principal.actor, "client.duplicate_check", RESOURCE))?;
            Ok(matches)
        })
        .await?;
    Ok(web::Json(DuplicateCheckResponse { matches }))
}

/// A second client named in the body, beside the one in the path: one the caller may act on
/// and not the same. The client in the path exists, so an unknown one here is invalid input
/// (422 on `field`), not a missing resource.
fn other_client(
    conn: &mut DbConnection,
    principal: &Principal,
    client: &ClientRow,
    other_id: ClientId,
    action: Action,
    field: &str,
) -> Result<ClientRow, ApiError> {
    let mut errors = FieldErrors::default();
    match authorized(conn, principal, other_id, action) {
        Err(ApiError::Problem(problem)) if problem.status == StatusCode::NOT_FOUND.as_u16() => {
            errors.add(field, "is not a client of your organisation");
        }
        Ok(other) if other.id == client.id => errors.add(field, "must be another client"),
        other => return other,
    }
    errors.finish(|| None)
}

/// Merge a duplicate record of the same person into this one (coordinators). The duplicate's
/// sessions (their sealed contents re-encrypted under this client's key), group-session
/// participations, consents, procedure events (deadlines derived again), referrals, household and
/// identifiers move here in one transaction; this record's values stand, what it lacks is taken
/// from the duplicate, lists are united, and the duplicate's names become aliases (not from a
/// record made out of a partner's share: those values rest on the sender's consent). The
/// duplicate is left as a tombstone: every request on it answers 410 with `merged_into`.
#[utoipa::path(
    tag = "clients",
    params(
        ("id" = Id, Path, description = "The client that stays"),
        ("If-Match" = String, Header, description = "ETag of the client that stays"),
    ),
    request_body = MergeRequest,
    responses(
        (status = 200, description = "The surviving client, with the duplicate's file", body = Client, headers(("ETag" = String))),
        (status = 403, description = "Only coordinators merge records", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such client", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Both records have an open referral to the same partner for the same service (`conflicting_id`), or the duplicate's sealed contents do not open", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "Either record was erased or merged already", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale version of either record", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The duplicate is not another client of the organisation, or the two records together exceed a field's limit", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match missing", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/clients/{id}/merge")]
pub async fn merge(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<ClientId>,
    if_match: IfMatch,
    body: web::Json<MergeRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let request = body.into_inner();
    let app = state.clone();
    let client = signed_in
        .run(&state.pool, move |conn, principal| {
            let survivor = authorized(conn, &principal, id, Action::MergeClients)?;
            let duplicate =
                other_client(conn, &principal, &survivor, request.duplicate_id, Action::MergeClients, "duplicate_id")?;
            let row = super::merge::merge(
                conn,
                &app.master_keys,
                (&survivor, if_match.0),
                (&duplicate, request.duplicate_version),
                &principal.actor,
            )?;
            view(conn, row, domain::today())
        })
        .await?;
    Ok(with_etag(StatusCode::OK, client.version, &client))
}

/// A person about to be recorded, as the duplicate check compares them.
struct Probe {
    given_names: String,
    family_name: String,
    date_of_birth: Option<chrono::NaiveDate>,
    birth_year: Option<i32>,
    nationalities: Vec<String>,
    identifiers: Vec<(IdentifierKind, String)>,
}

impl Probe {
    /// The score (0–1) and what matched, or `None` when the candidate is another person: the
    /// names differ and no identifier is shared, or both dates of birth are known and differ
    /// beyond a swapped day and month.
    fn score(&self, name: &names::Name, candidate: &ClientRow) -> Option<(f64, Vec<String>)> {
        let mut matched = Vec::new();
        let same_identifier = candidate
            .identifiers
            .iter()
            .any(|id| self.identifiers.iter().any(|(kind, key)| *kind == id.kind && *key == identifier_key(&id.value)));
        if same_identifier {
            matched.push("identifier".to_owned());
        }
        let agreement = candidate
            .names()
            .parsed()
            .iter()
            .map(|other| names::compare(name, other))
            .max_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)))
            .unwrap_or((names::Agreement::Different, 0.0));
        let mut score: f64 = match agreement.0 {
            names::Agreement::Exact => {
                matched.push("name".to_owned());
                0.5
            }
            names::Agreement::Phonetic => {
                matched.push("name_phonetic".to_owned());
                0.4
            }
            names::Agreement::Different if same_identifier => 0.0,
            names::Agreement::Different => return None,
        };
        match (self.date_of_birth, candidate.date_of_birth) {
            (Some(ours), Some(theirs)) if ours == theirs => {
                matched.push("date_of_birth".to_owned());
                score += 0.4;
            }
            (Some(ours), Some(theirs)) if swapped(ours, theirs) => {
                matched.push("date_of_birth_swapped".to_owned());
                score += 0.3;
            }
            (Some(_), Some(_)) if !same_identifier => return None,
            _ => match (self.birth_year, candidate.birth_year) {
                (Some(ours), Some(theirs)) if ours == theirs => {
                    matched.push("birth_year".to_owned());
                    score += 0.2;
                }
                (Some(_), Some(_)) if !same_identifier => return None,
                _ => {}
            },
        }
        if self.nationalities.iter().any(|code| candidate.nationalities.contains(code)) {
            matched.push("nationality".to_owned());
            score += 0.05;
        }
        // Only a shared identifier is certain.
        let score = if same_identifier { 1.0 } else { (score * agreement.1).min(0.95) };
        Some(((score * 100.0).round() / 100.0, matched))
    }
}

/// Day and month exchanged, as happens between European and American order (03/09 and 09/03).
fn swapped(a: chrono::NaiveDate, b: chrono::NaiveDate) -> bool {
    a.year() == b.year() && a.day() == b.month() && a.month() == b.day()
}

/// Put the client into the household of another client of the same organisation.
#[utoipa::path(
    tag = "clients",
    params(("id" = Id, Path, description = "Client id")),
    request_body = HouseholdLinkRequest,
    responses(
        (status = 200, description = "The client, now in the household", body = Client, headers(("ETag" = String))),
        (status = 404, description = "No such client (either of the two)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A client cannot join itself", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The client's record was erased", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[put("/clients/{id}/household")]
pub async fn join_household(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<ClientId>,
    body: web::Json<HouseholdLinkRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let link = body.into_inner();
    let client = signed_in
        .run(&state.pool, move |conn, principal| {
            let client = authorized(conn, &principal, id, Action::UpdateClient)?;
            let other =
                other_client(conn, &principal, &client, link.with_client_id, Action::UpdateClient, "with_client_id")?;
            db::transaction(conn, |conn| {
                let household_id = match other.household_id {
                    Some(household_id) => household_id,
                    None => {
                        let household_id = Id::new();
                        queries::set_household(conn, other.id, Some((household_id, HouseholdRelationship::Head)))?;
                        household_id
                    }
                };
                let row = queries::set_household(conn, client.id, Some((household_id, link.relationship)))?;
                audit::record(
                    conn,
                    Event::new(&principal.actor, "client.household_join", RESOURCE).on(id).for_client(id),
                )?;
                view(conn, row, domain::today())
            })
        })
        .await?;
    Ok(with_etag(actix_web::http::StatusCode::OK, client.version, &client))
}

/// Take the client out of its household.
#[utoipa::path(
    tag = "clients",
    params(("id" = Id, Path, description = "Client id")),
    responses(
        (status = 200, description = "The client, in no household", body = Client, headers(("ETag" = String))),
        (status = 404, description = "No such client", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The client is in no household", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The client's record was erased", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[delete("/clients/{id}/household")]
pub async fn leave_household(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<ClientId>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let client = signed_in
        .run(&state.pool, move |conn, principal| {
            let client = authorized(conn, &principal, id, Action::UpdateClient)?;
            if client.household_id.is_none() {
                return Err(ApiError::conflict("not_in_household", "The client is in no household."));
            }
            db::transaction(conn, |conn| {
                let row = queries::set_household(conn, id, None)?;
                audit::record(
                    conn,
                    Event::new(&principal.actor, "client.household_leave", RESOURCE).on(id).for_client(id),
                )?;
                view(conn, row, domain::today())
            })
        })
        .await?;
    Ok(with_etag(actix_web::http::StatusCode::OK, client.version, &client))
}
