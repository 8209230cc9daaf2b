//! The procedure timeline of a client (SPEC §2.4): events as they happen, the stage derived from
//! them, and the legal deadlines the rule table derives from them.

pub mod calendar;
pub mod deadlines;
pub mod events;
pub mod model;
pub mod queries;
pub mod routes;

/// After migrating: stored deadlines follow the current rule table (an interrupted
/// re-derivation resumes).
pub fn after_migrating(conn: &mut crate::db::DbConnection) -> anyhow::Result<()> {
    let rederived = queries::rederive_all(conn, 500, |_| {})
        .map_err(|e| anyhow::anyhow!("deriving deadlines under the current rules: {e}"))?;
    if rederived > 0 {
        tracing::info!(clients = rederived, "deadlines derived again under the current rules");
    }
    Ok(())
}
