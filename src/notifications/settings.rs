//! `GET/PATCH /auth/me/notifications`: the language of one's e-mails and the events one wants
//! no e-mail about.

use std::collections::BTreeMap;

use actix_web::{get, patch, web};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use strum::IntoEnumIterator;
use utoipa::ToSchema;

use super::EventType;
use crate::audit::{self, Event};
use crate::auth::SignedIn;
use crate::db::schema::notification_settings;
use crate::db::{self, DbConnection, List, UserId};
use crate::domain::closed_list;
use crate::http::patch::Patch;
use crate::http::{ApiError, FieldErrors, Problem};
use crate::state::AppState;

closed_list! {
    /// The languages of the interface and of e-mails.
    #[derive(Default)]
    Language { #[default] Pl, En, Uk, Ru }
}

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(read).service(update);
}

/// The events a user can be e-mailed about (a webhook test goes to its webhook only).
fn emailed() -> impl Iterator<Item = EventType> {
    EventType::iter().filter(|event_type| *event_type != EventType::WebhookTest)
}

/// One's notification settings.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NotificationSettings {
    /// The language of one's e-mails.
    pub language: Language,
    /// For each event type, whether one is e-mailed about it (when one is among those who
    /// should act on it, and the server sends e-mail at all).
    #[schema(value_type = BTreeMap<String, bool>, example = json!({"referral_sent": true, "referral_due_soon": false}))]
    pub email: BTreeMap<EventType, bool>,
}

/// A change: the fields given are changed, the others stay.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NotificationSettingsPatch {
    #[serde(default)]
    #[schema(value_type = Option<Language>)]
    pub language: Patch<Language>,
    /// Event types to turn e-mail on (`true`) or off (`false`) for.
    #[serde(default)]
    #[schema(value_type = Option<BTreeMap<String, bool>>)]
    pub email: Patch<BTreeMap<EventType, bool>>,
}

fn load(conn: &mut DbConnection, user_id: UserId) -> QueryResult<(Language, Vec<EventType>)> {
    let stored: Option<(Language, List<EventType>)> = notification_settings::table
        .find(user_id)
        .select((notification_settings::language, notification_settings::email_off))
        .first(conn)
        .optional()?;
    match stored {
        Some((language, off)) => Ok((language, off.into())),
        None => Ok((Language::default(), Vec::new())),
    }
}

fn view(language: Language, off: &[EventType]) -> NotificationSettings {
    NotificationSettings {
        language,
        email: emailed().map(|event_type| (event_type, !off.contains(&event_type))).collect(),
    }
}

/// The signed-in user's notification settings.
#[utoipa::path(
    tag = "auth",
    responses(
        (status = 200, description = "The settings", body = NotificationSettings),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/auth/me/notifications")]
pub async fn read(
    state: web::Data<AppState>,
    signed_in: SignedIn,
) -> Result<web::Json<NotificationSettings>, ApiError> {
    let settings = signed_in
        .run(&state.pool, move |conn, principal| {
            let (language, off) = load(conn, principal.user_id)?;
            Ok(view(language, &off))
        })
        .await?;
    Ok(web::Json(settings))
}

/// Change the language of one's e-mails, or turn e-mail about some events on or off.
#[utoipa::path(
    tag = "auth",
    request_body = NotificationSettingsPatch,
    responses(
        (status = 200, description = "The settings as changed", body = NotificationSettings),
        (status = 400, description = "Malformed body, an unknown field, language or event type", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A webhook test is not e-mailed", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[patch("/auth/me/notifications")]
pub async fn update(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    body: web::Json<NotificationSettingsPatch>,
) -> Result<web::Json<NotificationSettings>, ApiError> {
    let patch = body.into_inner();
    let mut errors = FieldErrors::default();
    let chosen_language = match patch.language {
        Patch::Null => {
            errors.add("language", "cannot be null");
            None
        }
        Patch::Absent => None,
        Patch::Value(language) => Some(language),
    };
    let email = match patch.email {
        Patch::Null => {
            errors.add("email", "cannot be null");
            BTreeMap::new()
        }
        Patch::Absent => BTreeMap::new(),
        Patch::Value(email) => email,
    };
    if email.contains_key(&EventType::WebhookTest) {
        errors.add("email", "webhook_test is sent to its webhook only, never e-mailed");
    }
    errors.finish(|| Some(()))?;
    let settings = signed_in
        .run(&state.pool, move |conn, principal| {
            db::transaction(conn, |conn| {
                let (language, mut off) = load(conn, principal.user_id)?;
                let language = chosen_language.unwrap_or(language);
                for (event_type, wanted) in &email {
                    off.retain(|muted| muted != event_type);
                    if !wanted {
                        off.push(*event_type);
                    }
                }
                off.sort();
                diesel::delete(notification_settings::table.find(principal.user_id)).execute(conn)?;
                diesel::insert_into(notification_settings::table)
                    .values((
                        notification_settings::user_id.eq(principal.user_id),
                        notification_settings::language.eq(language),
                        notification_settings::email_off.eq(List::of(&off)),
                    ))
                    .execute(conn)?;
                audit::record(
                    conn,
                    Event::new(&principal.actor, "user.notification_settings", "user").on(principal.user_id),
                )?;
                Ok(view(language, &off))
            })
        })
        .await?;
    Ok(web::Json(settings))
}
