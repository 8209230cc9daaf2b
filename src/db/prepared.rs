//! Statements kept prepared on PostgreSQL although diesel would parse and plan them anew each
//! time: diesel keeps no `UPDATE` prepared, nor a statement with literal SQL (`dsl::sql`),
//! because their text may vary from one use to the next. Wrapped in `Prepared`, a statement is
//! kept prepared on PostgreSQL under its text (it has no static query id, so the connection's
//! statement cache keys it by its SQL): only a statement whose text never varies should be
//! wrapped. On SQLite, where preparing costs little, diesel's choice stands. (Parsing and
//! planning the referral feed's counter took PostgreSQL about 70 µs per referral created; see
//! benches/README.md.)
//!
//! The wrapper speaks for the statement only when it is handed over by value, as `load` and
//! `get_result` do; `execute` hands it over by reference, which diesel does not ask the wrapper
//! about. So an update is kept prepared by loading what it `RETURNING`s.

use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::{QueryResult, RunQueryDsl};

use super::MultiBackend;

/// A statement of fixed text, kept prepared on PostgreSQL.
#[derive(Debug, Clone, Copy)]
pub struct Prepared<Q>(pub Q);

impl<Q: QueryFragment<MultiBackend>> QueryFragment<MultiBackend> for Prepared<Q> {
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        self.0.walk_ast(pass)
    }

    fn is_safe_to_cache_prepared(&self, backend: &MultiBackend) -> QueryResult<bool> {
        match backend {
            MultiBackend::Postgres(_) => Ok(true),
            _ => self.0.is_safe_to_cache_prepared(backend),
        }
    }
}

impl<Q> QueryId for Prepared<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: Query> Query for Prepared<Q> {
    type SqlType = Q::SqlType;
}

impl<Q, Conn> RunQueryDsl<Conn> for Prepared<Q> {}
