//! Webhooks: wire types, rows, parsing.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::db::schema::webhooks;
use crate::db::{DeliveryId, List, OrganisationId, OutboxEventId, UserId, WebhookId};
use crate::domain::optional_text;
use crate::http::FieldErrors;
use crate::http::patch::Patch;
use crate::notifications::EventType;
use crate::notifications::address;
use crate::notifications::outbox::DeliveryStatus;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhooks)]
pub struct WebhookRow {
    pub id: WebhookId,
    pub organisation_id: OrganisationId,
    pub url: String,
    #[diesel(deserialize_as = List<EventType>)]
    pub event_types: Vec<EventType>,
    pub description: Option<String>,
    pub active: bool,
    pub disabled_reason: Option<String>,
    pub created_by: UserId,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i32,
}

impl WebhookRow {
    pub fn view(self) -> Webhook {
        Webhook {
            event_types: self.event_types,
            id: self.id,
            organisation_id: self.organisation_id,
            url: self.url,
            description: self.description,
            active: self.active,
            disabled_reason: self.disabled_reason,
            created_at: self.created_at.and_utc(),
            updated_at: self.updated_at.and_utc(),
            version: self.version,
            secret: None,
        }
    }

    pub fn input(&self) -> WebhookInput {
        WebhookInput {
            url: self.url.clone(),
            event_types: self.event_types.clone(),
            description: self.description.clone(),
            active: self.active,
        }
    }
}

/// A receiver of the organisation's events. Each delivery is a POST with a JSON body
/// (`id`, `type`, `timestamp`, `data` with ids and dates only) signed as Standard Webhooks
/// defines: `webhook-id` (the same on every attempt of one delivery: drop repeats),
/// `webhook-timestamp` and `webhook-signature` (`v1,` and the base64 HMAC-SHA256 of
/// `id.timestamp.body` with the secret). Answer 2xx to acknowledge; anything else is retried
/// with growing pauses for a day; 410 Gone disables the webhook.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Webhook {
    pub id: WebhookId,
    pub organisation_id: OrganisationId,
    #[schema(example = "https://cases.partner.example.org/casebridge/events")]
    pub url: String,
    pub event_types: Vec<EventType>,
    pub description: Option<String>,
    /// Inactive webhooks are told nothing.
    pub active: bool,
    /// `gone` when the receiver answered 410 and the webhook was disabled; set `active` again
    /// to resume.
    pub disabled_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
    /// The signing secret (`whsec_…`): in the answer to the creation only, never again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

fn active_by_default() -> bool {
    true
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookInput {
    /// An http or https URL on a public address (private, loopback and link-local addresses are
    /// refused unless the server allows them).
    #[schema(max_length = 2000)]
    pub url: String,
    /// The events to be told of (1–20; `webhook_test` is sent on request only).
    pub event_types: Vec<EventType>,
    #[serde(default)]
    #[schema(max_length = 500)]
    pub description: Option<String>,
    #[serde(default = "active_by_default")]
    pub active: bool,
}

/// A change (JSON Merge Patch).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookPatch {
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub url: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<EventType>>)]
    pub event_types: Patch<Vec<EventType>>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub description: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<bool>)]
    pub active: Patch<bool>,
}

impl WebhookPatch {
    pub fn apply(self, current: WebhookInput, errors: &mut FieldErrors) -> WebhookInput {
        WebhookInput {
            url: self.url.apply(errors, "url", current.url),
            event_types: self.event_types.apply(errors, "event_types", current.event_types),
            description: self.description.apply_optional(current.description),
            active: self.active.apply(errors, "active", current.active),
        }
    }
}

/// Checked webhook fields.
#[derive(Debug, Clone)]
pub struct WebhookFields {
    pub url: String,
    pub event_types: Vec<EventType>,
    pub description: Option<String>,
    pub active: bool,
}

impl WebhookInput {
    pub fn parse(&self, allow_private: bool) -> Result<WebhookFields, FieldErrors> {
        let mut errors = FieldErrors::default();
        let url = self.url.trim();
        if url.chars().count() > 2000 {
            errors.add("url", "must be at most 2000 characters");
        } else if url.chars().any(char::is_control) {
            // The URL parser drops tabs and line breaks and escapes other control characters, so
            // the URL checked would not be the text stored (PostgreSQL refuses a NUL outright).
            errors.add("url", "must not contain control characters");
        } else if let Err(why) = address::check_url(url, allow_private) {
            errors.add("url", why);
        }
        let mut event_types = self.event_types.clone();
        event_types.sort();
        event_types.dedup();
        if event_types.is_empty() || event_types.len() > 20 {
            errors.add("event_types", "must name 1 to 20 event types");
        }
        if event_types.contains(&EventType::WebhookTest) {
            errors.add("event_types", "webhook_test is sent on request (POST /webhooks/{id}/test), not subscribed to");
        }
        let description = errors.check("description", optional_text(self.description.as_deref(), 500));
        match description {
            Some(description) if errors.is_empty() => {
                Ok(WebhookFields { url: url.to_owned(), event_types, description, active: self.active })
            }
            _ => Err(errors),
        }
    }
}

/// One event to one webhook, with its attempts.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Delivery {
    /// The `webhook-id` the receiver sees on every attempt.
    pub id: DeliveryId,
    pub event_id: OutboxEventId,
    pub event_type: EventType,
    pub status: DeliveryStatus,
    pub attempts: i32,
    /// The HTTP status of the last answer, if there was one.
    pub last_response_code: Option<i32>,
    /// Why the last attempt failed (no URL, no body).
    pub last_error: Option<String>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// When the next attempt is due, while pending.
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeliveryFilter {
    /// Only deliveries of this status.
    pub status: Option<DeliveryStatus>,
    /// Items per page, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// The answer to `POST /webhooks/{id}/test`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TestSent {
    /// The test event; its delivery appears in the webhook's delivery log.
    pub event_id: OutboxEventId,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(url: &str) -> WebhookInput {
        WebhookInput {
            url: url.to_owned(),
            event_types: vec![EventType::ReferralSent],
            description: None,
            active: true,
        }
    }

    #[test]
    fn a_url_with_control_characters_is_refused_not_cleaned() {
        for url in
            ["https://partner.example.org/a\u{0}b", "https://partner.exa\tmple.org/", "https://p.example.org/\nx"]
        {
            assert!(input(url).parse(true).is_err(), "{url:?}");
        }
        assert_eq!(
            input("  https://partner.example.org/hook ").parse(false).unwrap().url,
            "https://partner.example.org/hook"
        );
    }
}
