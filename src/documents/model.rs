//! Documents: wire types, rows, parsing.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::schema::documents;
use crate::db::{ClientId, ConsentId, DocumentId, Id, OrganisationId, ProcedureEventId, SessionId, UserId};
use crate::domain::client::LanguageCode;
use crate::domain::{bounded_text, closed_list};
use crate::http::FieldErrors;
use crate::http::patch::Patch;

closed_list! {
    /// What a document is: a decision (of the Office for Foreigners or the Refugee Board), an
    /// appeal, an identity document, a TZTC card, a medical certificate, a signed consent form,
    /// correspondence, or something else.
    DocumentKind { Decision, Appeal, IdentityDocument, Tztc, Medical, ConsentForm, Correspondence, Other }
}

/// What the bytes are, decided from their signature (never from the client's header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentType {
    Pdf,
    Jpeg,
    Png,
    Heic,
    Tiff,
    Docx,
    Odt,
}

impl ContentType {
    /// The accepted type of a file that starts with `head`, if it is one of them.
    pub fn sniff(head: &[u8]) -> Option<Self> {
        Some(match infer::get(head)?.mime_type() {
            "application/pdf" => Self::Pdf,
            "image/jpeg" => Self::Jpeg,
            "image/png" => Self::Png,
            "image/heif" => Self::Heic,
            "image/tiff" => Self::Tiff,
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => Self::Docx,
            "application/vnd.oasis.opendocument.text" => Self::Odt,
            _ => return None,
        })
    }

    pub fn mime(self) -> &'static str {
        match self {
            Self::Pdf => "application/pdf",
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Heic => "image/heic",
            Self::Tiff => "image/tiff",
            Self::Docx => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            Self::Odt => "application/vnd.oasis.opendocument.text",
        }
    }

    pub fn extension(mime: &str) -> &'static str {
        match mime {
            "application/pdf" => "pdf",
            "image/jpeg" => "jpg",
            "image/png" => "png",
            "image/heic" => "heic",
            "image/tiff" => "tiff",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => "docx",
            "application/vnd.oasis.opendocument.text" => "odt",
            _ => "bin",
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = documents)]
pub struct DocumentRow {
    pub id: DocumentId,
    pub organisation_id: OrganisationId,
    pub client_id: ClientId,
    pub kind: DocumentKind,
    pub title: String,
    pub issued_on: Option<NaiveDate>,
    pub language: Option<String>,
    pub procedure_event_id: Option<ProcedureEventId>,
    pub consent_id: Option<ConsentId>,
    pub session_id: Option<SessionId>,
    pub psychological: bool,
    pub session_counselor_id: Option<UserId>,
    pub sha256: String,
    pub size_bytes: i64,
    pub content_type: String,
    pub chunk_size: i32,
    pub storage_key: String,
    pub uploaded_by: UserId,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i32,
    pub deleted_at: Option<NaiveDateTime>,
    pub deleted_by: Option<UserId>,
    pub purge_after: Option<NaiveDateTime>,
    pub bytes_destroyed_at: Option<NaiveDateTime>,
    pub key_client_id: Option<ClientId>,
}

impl DocumentRow {
    /// The client whose data key seals the content: the document's own, or that of the
    /// duplicate it was uploaded to before the two records were merged.
    pub fn sealed_with_key_of(&self) -> ClientId {
        self.key_client_id.unwrap_or(self.client_id)
    }

    pub fn view(self) -> QueryResult<Document> {
        Ok(Document {
            id: self.id,
            client_id: self.client_id,
            kind: self.kind,
            title: self.title,
            issued_on: self.issued_on,
            language: self.language,
            procedure_event_id: self.procedure_event_id,
            consent_id: self.consent_id,
            session_id: self.session_id,
            sha256: self.sha256,
            size: self.size_bytes,
            content_type: self.content_type,
            uploaded_by: self.uploaded_by,
            created_at: self.created_at.and_utc(),
            updated_at: self.updated_at.and_utc(),
            version: self.version,
        })
    }

    /// The links as they stand, for a correction to start from.
    pub fn fields(&self) -> QueryResult<DocumentFields> {
        Ok(DocumentFields {
            kind: self.kind,
            title: self.title.clone(),
            issued_on: self.issued_on,
            language: self.language.clone(),
            procedure_event_id: self.procedure_event_id,
            consent_id: self.consent_id,
            session_id: self.session_id,
        })
    }
}

/// A document of a client's case file (its metadata; the content is downloaded on its own).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Document {
    pub id: DocumentId,
    pub client_id: ClientId,
    pub kind: DocumentKind,
    pub title: String,
    /// The date the document bears (a decision's date, say).
    pub issued_on: Option<NaiveDate>,
    /// ISO 639 code of the document's language.
    pub language: Option<String>,
    /// The procedure event the document belongs to (a decision's delivery, say).
    pub procedure_event_id: Option<ProcedureEventId>,
    /// The consent the document is the signed form of.
    pub consent_id: Option<ConsentId>,
    /// The session the document belongs to. A document of a psychological session is in the
    /// psychological tier: to anyone outside it, it does not exist.
    pub session_id: Option<SessionId>,
    /// SHA-256 of the content, hex; checked on every download.
    pub sha256: String,
    /// Size of the content in bytes.
    pub size: i64,
    /// Decided from the content's signature.
    pub content_type: String,
    pub uploaded_by: UserId,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

/// The `metadata` part of an upload.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DocumentInput {
    pub kind: DocumentKind,
    #[schema(max_length = 200)]
    pub title: String,
    pub issued_on: Option<NaiveDate>,
    /// ISO 639 code.
    pub language: Option<String>,
    pub procedure_event_id: Option<ProcedureEventId>,
    pub consent_id: Option<ConsentId>,
    pub session_id: Option<SessionId>,
}

/// An upload as the OpenAPI document describes it: two parts of a `multipart/form-data` body.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct DocumentUpload {
    /// The metadata, as JSON.
    metadata: DocumentInput,
    /// The content: PDF, JPEG, PNG, HEIC, TIFF, DOCX or ODT, decided from its bytes.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// A document's content as downloaded: the bytes uploaded.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
#[allow(dead_code)]
pub struct DocumentContent(Vec<u8>);

/// Parsed metadata: what a document row holds besides its content.
#[derive(Debug, Clone, PartialEq)]
pub struct DocumentFields {
    pub kind: DocumentKind,
    pub title: String,
    pub issued_on: Option<NaiveDate>,
    pub language: Option<String>,
    pub procedure_event_id: Option<ProcedureEventId>,
    pub consent_id: Option<ConsentId>,
    pub session_id: Option<SessionId>,
}

impl DocumentInput {
    pub fn parse(&self) -> Result<DocumentFields, FieldErrors> {
        let mut errors = FieldErrors::default();
        let title = errors.check("title", bounded_text(&self.title, 1, 200));
        let language = errors.check(
            "language",
            self.language.as_deref().map(|l| LanguageCode::parse(l).map(|c| c.as_str().to_owned())).transpose(),
        );
        if errors.is_empty()
            && let (Some(title), Some(language)) = (title, language)
        {
            return Ok(DocumentFields {
                kind: self.kind,
                title,
                issued_on: self.issued_on,
                language,
                procedure_event_id: self.procedure_event_id,
                consent_id: self.consent_id,
                session_id: self.session_id,
            });
        }
        Err(errors)
    }
}

/// A correction of a document's metadata (JSON Merge Patch); its content never changes.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DocumentPatch {
    #[serde(default)]
    #[schema(value_type = Option<DocumentKind>)]
    pub kind: Patch<DocumentKind>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub title: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<NaiveDate>)]
    pub issued_on: Patch<NaiveDate>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub language: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<Id>)]
    pub procedure_event_id: Patch<ProcedureEventId>,
    #[serde(default)]
    #[schema(value_type = Option<Id>)]
    pub consent_id: Patch<ConsentId>,
    #[serde(default)]
    #[schema(value_type = Option<Id>)]
    pub session_id: Patch<SessionId>,
}

impl DocumentPatch {
    pub fn touches_session(&self) -> bool {
        !self.session_id.is_absent()
    }

    /// The input the patched document would have been uploaded with.
    pub fn apply(self, current: DocumentFields, errors: &mut FieldErrors) -> DocumentInput {
        DocumentInput {
            kind: self.kind.apply(errors, "kind", current.kind),
            title: self.title.apply(errors, "title", current.title),
            issued_on: self.issued_on.apply_optional(current.issued_on),
            language: self.language.apply_optional(current.language),
            procedure_event_id: self.procedure_event_id.apply_optional(current.procedure_event_id),
            consent_id: self.consent_id.apply_optional(current.consent_id),
            session_id: self.session_id.apply_optional(current.session_id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_type_comes_from_the_signature() {
        assert_eq!(ContentType::sniff(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj"), Some(ContentType::Pdf));
        assert_eq!(ContentType::sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), Some(ContentType::Png));
        assert_eq!(ContentType::sniff(b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff\0\0"), None, "a Windows program");
        assert_eq!(ContentType::sniff(b"just some text"), None);
    }

    #[test]
    fn kinds_are_a_closed_list() {
        assert_eq!(DocumentKind::IdentityDocument.code(), "identity_document");
        assert!("passport".parse::<DocumentKind>().is_err());
    }
}
