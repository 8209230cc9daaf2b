//! Lists stored as JSON text (an organisation's cities, a client's languages, a consent's scope):
//! a text column on both databases, read and written through serde.

use std::fmt;

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::pg::Pg;
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::Text;
use diesel::sqlite::Sqlite;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::MultiBackend;

/// A list in a text column holding its JSON. A row field is declared as the plain list, e.g.
/// `#[diesel(deserialize_as = List<String>)] pub cities: Vec<String>`, and written as
/// `organisations::cities.eq(List::of(&cities))`. Text that is not such a list fails the read;
/// it is never taken for an empty list.
#[derive(Debug, Clone, PartialEq, Eq, Default, AsExpression, FromSqlRow)]
#[diesel(sql_type = Text)]
pub struct List<T>(pub Vec<T>);

impl<T: Clone> List<T> {
    pub fn of(items: &[T]) -> Self {
        Self(items.to_vec())
    }
}

impl<T> From<List<T>> for Vec<T> {
    fn from(list: List<T>) -> Self {
        list.0
    }
}

impl<T, DB> FromSql<Text, DB> for List<T>
where
    T: DeserializeOwned,
    DB: Backend,
    String: FromSql<Text, DB>,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
        let text = String::from_sql(bytes)?;
        Ok(Self(serde_json::from_str(&text)?))
    }
}

impl<T: Serialize + fmt::Debug> ToSql<Text, Pg> for List<T> {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        serde_json::to_writer(out, &self.0)?;
        Ok(IsNull::No)
    }
}

impl<T: Serialize + fmt::Debug> ToSql<Text, Sqlite> for List<T> {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        out.set_value(serde_json::to_string(&self.0)?);
        Ok(IsNull::No)
    }
}

impl<T> ToSql<Text, MultiBackend> for List<T>
where
    T: Serialize + fmt::Debug + Send + Sync + 'static,
{
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, MultiBackend>) -> serialize::Result {
        out.set_value((Text, self));
        Ok(IsNull::No)
    }
}

#[cfg(test)]
mod tests {
    use diesel::connection::SimpleConnection;
    use diesel::prelude::*;

    use super::*;
    use crate::db::DatabaseUrl;

    diesel::table! {
        lists (id) {
            id -> Integer,
            items -> Text,
        }
    }

    fn connection_with(stored: &str) -> crate::db::DbConnection {
        let mut conn = DatabaseUrl::parse(":memory:").connect().unwrap();
        conn.batch_execute("CREATE TABLE lists (id INTEGER PRIMARY KEY, items TEXT NOT NULL)").unwrap();
        diesel::insert_into(lists::table)
            .values((lists::id.eq(1), lists::items.eq(stored)))
            .execute(&mut conn)
            .unwrap();
        conn
    }

    #[test]
    fn a_list_is_written_as_the_json_text_it_is_read_from() {
        let mut conn = connection_with("[]");
        diesel::update(lists::table)
            .set(lists::items.eq(List::of(&["Warszawa".to_owned(), "Lublin".to_owned()])))
            .execute(&mut conn)
            .unwrap();
        let stored: String = lists::table.select(lists::items).first(&mut conn).unwrap();
        assert_eq!(stored, r#"["Warszawa","Lublin"]"#);
        let read: List<String> = lists::table.select(lists::items).first(&mut conn).unwrap();
        assert_eq!(read.0, ["Warszawa", "Lublin"]);
    }

    #[test]
    fn text_that_is_not_a_list_of_the_type_fails_the_read() {
        for stored in ["", "not json", r#"{"a":1}"#, "[1,2]"] {
            let mut conn = connection_with(stored);
            let read = lists::table.select(lists::items).first::<List<String>>(&mut conn);
            assert!(
                matches!(read, Err(diesel::result::Error::DeserializationError(_))),
                "{stored:?} was read as {read:?}"
            );
        }
    }
}
