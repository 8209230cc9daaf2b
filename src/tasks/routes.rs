//! `/tasks`, `/tasks/{id}`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, delete, get, patch, post, web};
use chrono::NaiveDate;

use super::RESOURCE;
use super::model::{Task, TaskFields, TaskFilter, TaskInput, TaskPatch, TaskRow};
use super::queries::{self, TaskQuery};
use crate::audit::{self, Event};
use crate::auth::{Principal, SignedIn};
use crate::clients;
use crate::db::{self, DbConnection, Id, OrganisationId, TaskId};
use crate::domain::{self, client::ClientStatus};
use crate::http::idempotency::{self, Created, IdempotencyKey};
use crate::http::pagination::{Page, PageQuery};
use crate::http::precondition::{IfMatch, with_etag};
use crate::http::{ApiError, FieldErrors, Problem};
use crate::policy::{self, Action, Decision, Target};
use crate::state::AppState;
use crate::users;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(create).service(list).service(read).service(update).service(remove);
}

fn event<'a>(principal: &'a Principal, action: &'static str, row: &TaskRow) -> Event<'a> {
    let event = Event::new(&principal.actor, action, RESOURCE).on(row.id);
    match row.client_id {
        Some(client_id) => event.for_client(client_id),
        None => event,
    }
}

/// Loads a task the caller may act on; a task about a client follows the client's rules too.
fn authorized(conn: &mut DbConnection, principal: &Principal, id: TaskId, action: Action) -> Result<TaskRow, ApiError> {
    principal.refuse_if_never(conn, action, RESOURCE, Some(id.any()))?;
    let row = queries::find(conn, id)?.ok_or_else(|| ApiError::not_found(RESOURCE))?;
    principal.authorize(conn, action, Target::record(row.organisation_id, row.created_by), RESOURCE, Some(id.any()))?;
    if let Some(client_id) = row.client_id {
        clients::authorized(conn, principal, client_id, Action::ReadClient)?;
    }
    Ok(row)
}

/// The assignee must be an active user of the organisation who may take tasks; the client one
/// of its records that is neither erased nor merged away.
fn check(conn: &mut DbConnection, organisation_id: OrganisationId, fields: &TaskFields) -> Result<(), ApiError> {
    let mut errors = FieldErrors::default();
    if let Some(assignee_id) = fields.assignee_id {
        let assignee = users::queries::find(conn, assignee_id)?.and_then(|user| user.as_caller());
        let fits = assignee.is_some_and(|assignee| {
            policy::decide(assignee, Action::TakeTasks, Target::organisation(organisation_id)) == Decision::Allow
        });
        if !fits {
            errors.add("assignee_id", "is not an active user of this organisation who takes tasks");
        }
    }
    if let Some(client_id) = fields.client_id {
        let client = clients::queries::find(conn, client_id)?;
        if !client.is_some_and(|c| {
            c.organisation_id == organisation_id && c.status != ClientStatus::Erased && c.status != ClientStatus::Merged
        }) {
            errors.add("client_id", "is not a client of this organisation");
        }
    }
    errors.finish(|| Some(()))
}

fn view(conn: &mut DbConnection, row: TaskRow) -> Result<Task, ApiError> {
    let reference = match row.client_id {
        Some(client_id) => clients::queries::find(conn, client_id)?.map(|client| client.reference),
        None => None,
    };
    Ok(row.view(reference, domain::today()))
}

/// Add a task, for a user of the organisation or for its inbox.
#[utoipa::path(
    operation_id = "create_task",
    tag = "tasks",
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry return the first response")),
    request_body = TaskInput,
    responses(
        (status = 201, description = "Added", body = Task, headers(("ETag" = String), ("Location" = String))),
        (status = 403, description = "The role keeps no tasks", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/tasks")]
pub async fn create(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    key: IdempotencyKey,
    body: web::Json<TaskInput>,
) -> Result<HttpResponse, ApiError> {
    let input = body.into_inner();
    let request_hash = idempotency::fingerprint("POST /tasks", &input)?;
    let created = signed_in
        .run(&state.pool, move |conn, principal| {
            idempotency::create_once(
                conn,
                principal.user_id,
                &key,
                &request_hash,
                |conn, id| read_one(conn, &principal, id).map(created),
                |conn| {
                    let organisation_id =
                        principal.authorize_in_own_organisation(conn, Action::CreateTask, RESOURCE)?;
                    let fields = input.parse(domain::today()).map_err(FieldErrors::into_error)?;
                    check(conn, organisation_id, &fields)?;
                    Ok((organisation_id, fields))
                },
                |conn, (organisation_id, fields)| {
                    let row = queries::insert(conn, Id::new(), organisation_id, principal.user_id, &fields)?;
                    audit::record(conn, event(&principal, "task.create", &row))?;
                    Ok(created(view(conn, row)?))
                },
            )
        })
        .await?;
    Ok(created.response())
}

fn created(task: Task) -> Created<Task> {
    Created::new(task.id, format!("/api/v1/tasks/{}", task.id), task.version, task)
}

fn read_one(conn: &mut DbConnection, principal: &Principal, id: TaskId) -> Result<Task, ApiError> {
    let row = authorized(conn, principal, id, Action::ReadTask)?;
    audit::record(conn, event(principal, "task.read", &row))?;
    view(conn, row)
}

/// The organisation's tasks, by due date.
#[utoipa::path(
    operation_id = "list_tasks",
    tag = "tasks",
    params(TaskFilter),
    responses(
        (status = 200, description = "A page of tasks", body = Page<Task>),
        (status = 400, description = "Invalid query", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role keeps no tasks", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/tasks")]
pub async fn list(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    filter: web::Query<TaskFilter>,
) -> Result<web::Json<Page<Task>>, ApiError> {
    let filter = filter.into_inner();
    let page = PageQuery { limit: filter.limit, cursor: filter.cursor.clone() }.parse_keyed::<NaiveDate, _>()?;
    let page = page.on_the_calendar(|day| *day)?;
    let mut errors = FieldErrors::default();
    errors.check_days(&[("due_from", filter.due_from), ("due_to", filter.due_to)]);
    if filter.due_from.zip(filter.due_to).is_some_and(|(from, to)| from > to) {
        errors.add("due_to", "must not be before due_from");
    }
    if filter.inbox == Some(true) && filter.assignee_id.is_some() {
        errors.add("inbox", "cannot be combined with assignee_id");
    }
    errors.finish_query(|| Some(()))?;
    let query = TaskQuery {
        assignee_id: filter.assignee_id,
        inbox: filter.inbox,
        client_id: filter.client_id,
        done: filter.done,
        due_from: filter.due_from,
        due_to: filter.due_to,
    };
    let page = signed_in
        .run(&state.pool, move |conn, principal| {
            let organisation_id = principal.authorize_in_own_organisation(conn, Action::ListTasks, RESOURCE)?;
            let today = domain::today();
            let rows = queries::list(conn, organisation_id, &query, &page)?;
            let event = Event::new(&principal.actor, "task.list", RESOURCE);
            let event = match query.client_id {
                Some(client_id) => event.for_client(client_id),
                None => event,
            };
            audit::record(conn, event)?;
            Ok(Page::from_keyed_rows(
                rows,
                &page,
                |(row, _)| (row.due_on.to_string(), row.id),
                |(row, reference)| row.view(reference, today),
            ))
        })
        .await?;
    Ok(web::Json(page))
}

/// One task.
#[utoipa::path(
    operation_id = "read_task",
    tag = "tasks",
    params(("id" = Id, Path, description = "Task id")),
    responses(
        (status = 200, description = "The task", body = Task, headers(("ETag" = String))),
        (status = 403, description = "The role keeps no tasks", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such task", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/tasks/{id}")]
pub async fn read(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<TaskId>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let task = signed_in.run(&state.pool, move |conn, principal| read_one(conn, &principal, id)).await?;
    Ok(with_etag(StatusCode::OK, task.version, &task))
}

/// Change a task (JSON Merge Patch): reword it, move its date, take it, hand it on or back to
/// the inbox, tick it off (`done: true`) or reopen it.
#[utoipa::path(
    operation_id = "update_task",
    tag = "tasks",
    params(
        ("id" = Id, Path, description = "Task id"),
        ("If-Match" = String, Header, description = "ETag of the version being changed"),
    ),
    request_body = TaskPatch,
    responses(
        (status = 200, description = "Changed", body = Task, headers(("ETag" = String))),
        (status = 403, description = "The role keeps no tasks", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such task", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale version", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match missing", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[patch("/tasks/{id}")]
pub async fn update(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<TaskId>,
    if_match: IfMatch,
    body: web::Json<TaskPatch>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let patch = body.into_inner();
    let task = signed_in
        .run(&state.pool, move |conn, principal| {
            let current = authorized(conn, &principal, id, Action::UpdateTask)?;
            let mut errors = FieldErrors::default();
            let input = patch.apply(current.input(), &mut errors);
            errors.finish(|| Some(()))?;
            let fields = input.parse(domain::today()).map_err(FieldErrors::into_error)?;
            check(conn, current.organisation_id, &fields)?;
            db::transaction(conn, |conn| {
                let row = queries::update(conn, &current, if_match.0, &fields, principal.user_id)?
                    .ok_or_else(IfMatch::stale)?;
                audit::record(conn, event(&principal, "task.update", &row))?;
                view(conn, row)
            })
        })
        .await?;
    Ok(with_etag(StatusCode::OK, task.version, &task))
}

/// Remove a task: counselors the tasks they wrote, coordinators any of the organisation's.
#[utoipa::path(
    operation_id = "delete_task",
    tag = "tasks",
    params(("id" = Id, Path, description = "Task id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "Not the caller's task to remove", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such task", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[delete("/tasks/{id}")]
pub async fn remove(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<TaskId>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    signed_in
        .run(&state.pool, move |conn, principal| {
            let row = authorized(conn, &principal, id, Action::DeleteTask)?;
            db::transaction(conn, |conn| {
                queries::delete(conn, id)?;
                audit::record(conn, event(&principal, "task.delete", &row))?;
                Ok(())
            })
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
