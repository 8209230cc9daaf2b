//! Identifiers: UUIDv7, stored as text on both databases, serialised as strings.
//!
//! Each entity's identifier has its own type (`ClientId`, `OrganisationId`, …): the same UUID
//! underneath, but a client's id cannot be passed where an organisation's is expected. `Id`
//! without a parameter names a row of any kind (an audit event's resource, a cursor).

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;
use std::str::FromStr;

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::pg::Pg;
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::Text;
use diesel::sqlite::Sqlite;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::MultiBackend;

/// The identifier of a row of the entity `E` (one of the markers in [`entity`]).
///
/// Two kinds do not mix: a call that wants a client's id does not take an organisation's.
///
/// ```compile_fail,E0308
/// use casebridge::db::{ClientId, OrganisationId};
/// fn erase(_client: ClientId) {}
/// erase(OrganisationId::new());
/// ```
#[derive(AsExpression, FromSqlRow)]
#[diesel(sql_type = Text)]
pub struct Id<E = entity::Any> {
    uuid: Uuid,
    entity: PhantomData<fn() -> E>,
}

/// One marker per entity that has an identifier, and its id type's name.
macro_rules! entities {
    ($($(#[$doc:meta])* $entity:ident => $alias:ident),* $(,)?) => {
        pub mod entity {
            //! Markers naming what an [`Id`](super::Id) identifies; never constructed.
            /// A row of any kind: an audit event's resource, an outbox event's subject, an agenda entry.
            #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
            pub enum Any {}
            $($(#[$doc])* #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)] pub enum $entity {})*
        }
        $(pub type $alias = Id<entity::$entity>;)*
    };
}

entities! {
    Organisation => OrganisationId,
    User => UserId,
    Grant => GrantId,
    LoginSession => LoginSessionId,
    Client => ClientId,
    /// The members of one household share it; it names no row of its own.
    Household => HouseholdId,
    Consent => ConsentId,
    ProcedureEvent => ProcedureEventId,
    Deadline => DeadlineId,
    /// A counseling session (not a login session).
    Session => SessionId,
    Referral => ReferralId,
    Document => DocumentId,
    Interpreter => InterpreterId,
    Appointment => AppointmentId,
    Task => TaskId,
    Webhook => WebhookId,
    OutboxEvent => OutboxEventId,
    Delivery => DeliveryId,
    AuditEvent => AuditEventId,
    ReferralEvent => ReferralEventId,
    LoginFailure => LoginFailureId,
}

impl<E> Id<E> {
    /// Sorts after every identifier: a cursor "after the whole of a day" is (that day, `MAX`).
    pub const MAX: Self = Self::from_uuid(Uuid::max());

    /// A new time-ordered identifier.
    pub fn new() -> Self {
        Self::from_uuid(Uuid::now_v7())
    }

    /// A time-ordered identifier that `origin` and `part` always give the same, in `origin`'s
    /// millisecond: for a row that may be made again from the same two (a delivery of an event
    /// to a webhook, fanned out again after an instance died mid-attempt).
    pub fn derived(origin: Id, part: Id) -> Self {
        let millis = origin.uuid.get_timestamp().map_or(0, |at| {
            let (seconds, nanos) = at.to_unix();
            seconds * 1000 + u64::from(nanos) / 1_000_000
        });
        let digest = Sha256::new().chain_update(origin.uuid.as_bytes()).chain_update(part.uuid.as_bytes()).finalize();
        let mut random = [0; 10];
        random.copy_from_slice(&digest[..10]);
        Self::from_uuid(uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid())
    }

    const fn from_uuid(uuid: Uuid) -> Self {
        Self { uuid, entity: PhantomData }
    }

    pub fn as_uuid(&self) -> Uuid {
        self.uuid
    }

    /// The same identifier, no longer saying what it identifies (an audit event's resource).
    pub fn any(self) -> Id {
        Id::from_uuid(self.uuid)
    }
}

impl Id {
    /// Reads an identifier of unstated kind as `E`'s: for rows that point at several kinds
    /// (an audit event's resource), once the kind is known from the row.
    pub fn of<E>(self) -> Id<E> {
        Id::from_uuid(self.uuid)
    }
}

// Written out rather than derived: a derive would ask the marker `E` for the same traits.
impl<E> Clone for Id<E> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<E> Copy for Id<E> {}

impl<E> PartialEq for Id<E> {
    fn eq(&self, other: &Self) -> bool {
        self.uuid == other.uuid
    }
}

impl<E> Eq for Id<E> {}

impl<E> PartialOrd for Id<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<E> Ord for Id<E> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.uuid.cmp(&other.uuid)
    }
}

impl<E> Hash for Id<E> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.uuid.hash(state);
    }
}

impl<E> Default for Id<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> fmt::Debug for Id<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl<E> fmt::Display for Id<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.uuid.hyphenated().fmt(f)
    }
}

impl<E> FromStr for Id<E> {
    type Err = uuid::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::try_parse(s).map(Self::from_uuid)
    }
}

impl<E> Serialize for Id<E> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.uuid.serialize(serializer)
    }
}

impl<'de, E> Deserialize<'de> for Id<E> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Uuid::deserialize(deserializer).map(Self::from_uuid)
    }
}

impl<E> utoipa::PartialSchema for Id<E> {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::Uuid)))
            .into()
    }
}

/// Every kind of id is the one `Id` schema on the wire: a UUID string.
impl<E> utoipa::ToSchema for Id<E> {
    fn name() -> std::borrow::Cow<'static, str> {
        "Id".into()
    }
}

impl<E, DB> FromSql<Text, DB> for Id<E>
where
    DB: Backend,
    String: FromSql<Text, DB>,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
        let text = String::from_sql(bytes)?;
        Ok(text.parse()?)
    }
}

impl<E> ToSql<Text, Pg> for Id<E> {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        use std::io::Write;
        out.write_all(self.uuid.hyphenated().encode_lower(&mut Uuid::encode_buffer()).as_bytes())?;
        Ok(IsNull::No)
    }
}

impl<E> ToSql<Text, Sqlite> for Id<E> {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        out.set_value(self.to_string());
        Ok(IsNull::No)
    }
}

impl<E: 'static> ToSql<Text, MultiBackend> for Id<E> {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, MultiBackend>) -> serialize::Result {
        out.set_value((Text, self));
        Ok(IsNull::No)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_id_is_the_same_uuid_string_on_the_wire() {
        let client = ClientId::new();
        let text = serde_json::to_string(&client).unwrap();
        assert_eq!(text, format!("\"{}\"", client.as_uuid().hyphenated()));
        assert_eq!(serde_json::from_str::<ClientId>(&text).unwrap(), client);
        assert_eq!(client.to_string().parse::<ClientId>().unwrap(), client);
        assert!(serde_json::from_str::<ClientId>("\"not-a-uuid\"").is_err());
    }

    #[test]
    fn an_id_keeps_its_uuid_when_it_stops_and_starts_saying_what_it_names() {
        let session = SessionId::new();
        let any: Id = session.any();
        assert_eq!(any.as_uuid(), session.as_uuid());
        assert_eq!(any.of::<entity::Session>(), session);
    }

    #[test]
    fn a_derived_id_is_the_same_for_the_same_two_and_sorts_with_its_origin() {
        let (event, webhook, user) = (Id::new(), Id::new(), Id::new());
        let first = DeliveryId::derived(event, webhook);
        assert_eq!(DeliveryId::derived(event, webhook), first);
        assert_ne!(DeliveryId::derived(event, user), first);
        assert_eq!(first.as_uuid().get_version_num(), 7);
        assert_eq!(
            first.as_uuid().get_timestamp().map(|t| t.to_unix().0),
            event.as_uuid().get_timestamp().map(|t| t.to_unix().0)
        );
        std::thread::sleep(std::time::Duration::from_millis(2));
        assert!(DeliveryId::derived(Id::new(), webhook) > first, "a later event's deliveries sort after");
    }

    #[test]
    fn ids_sort_by_creation() {
        let first = ReferralId::new();
        let second = ReferralId::new();
        assert!(first < second);
        assert!(second < ReferralId::MAX);
    }
}
