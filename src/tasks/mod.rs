//! Tasks: the to-dos of an organisation, assigned to a user or waiting in its inbox, with a due
//! date and, where one is concerned, a client (whose access rules the task follows).

pub mod model;
pub mod queries;
pub mod routes;

pub const RESOURCE: &str = "task";

use diesel::prelude::*;

use crate::db::schema::tasks;
use crate::db::{ClientId, DbConnection};

/// On erasure: the client's tasks go (their titles are free text about the client).
pub fn erase_of_client(conn: &mut DbConnection, client_id: ClientId) -> QueryResult<usize> {
    diesel::delete(tasks::table.filter(tasks::client_id.eq(client_id))).execute(conn)
}

/// On a merge: the duplicate's tasks become the survivor's.
pub fn move_client(conn: &mut DbConnection, from: ClientId, to: ClientId) -> QueryResult<usize> {
    diesel::update(tasks::table.filter(tasks::client_id.eq(from))).set(tasks::client_id.eq(to)).execute(conn)
}
