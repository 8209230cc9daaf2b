//! Notification e-mails: what happened, by when, and a link into the frontend, in the
//! recipient's language. Never a client's name, and nothing from a referral's reason: the
//! message says only the kind of event, a date and where to look.

use anyhow::Context;
use lettre::message::{Mailbox, header::ContentType};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;

use super::outbox::{EventData, EventRow};
use super::settings::Language;
use super::{EventType, NotificationConfig};
use crate::reference::labels;

/// Sends notification e-mails through the configured SMTP server.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    frontend_url: String,
}

impl Mailer {
    /// `None` when no SMTP server is configured (e-mail is off).
    pub fn new(config: &NotificationConfig) -> anyhow::Result<Option<Self>> {
        let Some(url) = &config.smtp_url else {
            return Ok(None);
        };
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose_secret())
            .context("CASEBRIDGE_SMTP_URL is not a valid smtp:// or smtps:// URL")?
            .timeout(Some(config.request_timeout))
            .build();
        let from = config.email_from.parse().context("CASEBRIDGE_EMAIL_FROM is not an e-mail address")?;
        Ok(Some(Self { transport, from, frontend_url: config.frontend_url.clone() }))
    }

    /// Sends one notification; the error says why it did not go.
    pub async fn send(&self, to: &str, language: Language, event: &EventRow, data: &EventData) -> Result<(), String> {
        let (subject, body) = message(language, event.event_type, data, &self.frontend_url);
        let to: Mailbox = to.parse().map_err(|e| format!("the recipient's address is invalid: {e}"))?;
        let email = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(|e| format!("cannot build the message: {e}"))?;
        self.transport.send(email).await.map(drop).map_err(|e| format!("the mail server refused: {e}"))
    }
}

/// Sentences of the message, by language.
struct Wording {
    happened: &'static str,
    due: &'static str,
    details: &'static str,
    footer: &'static str,
}

fn wording(language: Language) -> Wording {
    match language {
        Language::Pl => Wording {
            happened: "Zdarzenie w casebridge",
            due: "Termin",
            details: "Szczegóły",
            footer: "Ta wiadomość nie zawiera danych osobowych. Powiadomienia ustawisz w aplikacji.",
        },
        Language::En => Wording {
            happened: "Something happened in casebridge",
            due: "Due",
            details: "Details",
            footer: "This message carries no personal data. Change your notifications in the application.",
        },
        Language::Uk => Wording {
            happened: "Подія в casebridge",
            due: "Термін",
            details: "Деталі",
            footer: "Цей лист не містить персональних даних. Сповіщення можна налаштувати в застосунку.",
        },
        Language::Ru => Wording {
            happened: "Событие в casebridge",
            due: "Срок",
            details: "Подробнее",
            footer: "Это письмо не содержит персональных данных. Уведомления можно настроить в приложении.",
        },
    }
}

/// The subject and body of a notification.
pub fn message(language: Language, event_type: EventType, data: &EventData, frontend_url: &str) -> (String, String) {
    let label = labels::label("event_type", event_type.code(), language.code()).unwrap_or(event_type.code());
    let words = wording(language);
    let link = match (data.referral_id, data.client_id) {
        (Some(referral_id), _) => format!("{frontend_url}/referrals/{referral_id}"),
        (None, Some(client_id)) => format!("{frontend_url}/clients/{client_id}"),
        (None, None) => frontend_url.to_owned(),
    };
    let mut body = format!("{}: {label}.\n\n", words.happened);
    if let Some(due_on) = data.due_on {
        body.push_str(&format!("{}: {}\n", words.due, due_on.format("%Y-%m-%d")));
    }
    body.push_str(&format!("{}: {link}\n\n{}\n", words.details, words.footer));
    (format!("casebridge: {label}"), body)
}
