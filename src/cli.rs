//! What the command-line subcommands do, beyond serving.

use std::io::{IsTerminal, Read};

use anyhow::{Context, bail};
use secrecy::{ExposeSecret, SecretString};

use crate::audit::{self, Actor, Event};
use crate::auth::password;
use crate::config::Config;
use crate::db::{self, DbConnection};
use crate::domain::{self, Email, Role};
use crate::users::queries::{self as users, NewUser};

fn connect_and_migrate(config: &Config) -> anyhow::Result<DbConnection> {
    let backend = config.database_url.backend_name();
    let mut conn =
        config.database_url.connect().with_context(|| format!("cannot connect to the {backend} database"))?;
    migrate_on(&mut conn, config)?;
    Ok(conn)
}

/// Migrates, then seals what older versions stored in clear (SQL cannot encrypt) and re-keys
/// client names when the matching rules changed.
fn migrate_on(conn: &mut DbConnection, config: &Config) -> anyhow::Result<Vec<String>> {
    let applied = db::migrate(conn)?;
    crate::sessions::sealing::after_migrating(conn, &crate::crypto::MasterKeys::new(&config.master_keys))?;
    crate::clients::after_migrating(conn)?;
    crate::procedure::after_migrating(conn)?;
    Ok(applied)
}

/// Derives every client's deadlines again under the current rule table, in batches that each
/// commit, so an interrupted run resumes where it stopped; a run on current deadlines does
/// nothing (the migration step runs it first). Returns how many clients were done.
pub fn rederive_deadlines(config: &Config, batch: i64, progress: impl Fn(usize)) -> anyhow::Result<usize> {
    let backend = config.database_url.backend_name();
    let mut conn =
        config.database_url.connect().with_context(|| format!("cannot connect to the {backend} database"))?;
    db::migrate(&mut conn)?;
    Ok(crate::procedure::queries::rederive_all(&mut conn, batch, progress)?)
}

/// Rebuilds every client's name search keys with the current rules, in batches that each
/// commit, so an interrupted run resumes where it stopped; a run on current keys does nothing
/// (the migration step runs it first). Returns how many clients were re-keyed.
pub fn reindex_names(config: &Config, batch: i64, progress: impl Fn(usize)) -> anyhow::Result<usize> {
    let backend = config.database_url.backend_name();
    let mut conn =
        config.database_url.connect().with_context(|| format!("cannot connect to the {backend} database"))?;
    db::migrate(&mut conn)?;
    crate::sessions::sealing::after_migrating(&mut conn, &crate::crypto::MasterKeys::new(&config.master_keys))?;
    Ok(crate::clients::queries::reindex_names(&mut conn, batch, progress)?)
}

/// Applies pending migrations; returns their names.
pub fn migrate(config: &Config) -> anyhow::Result<Vec<String>> {
    let backend = config.database_url.backend_name();
    let mut conn =
        config.database_url.connect().with_context(|| format!("cannot connect to the {backend} database"))?;
    migrate_on(&mut conn, config)
}

/// Where the first administrator's password comes from.
pub enum PasswordSource {
    /// Read from standard input (when it is not a terminal).
    Stdin,
    /// Generated and printed once.
    Generated,
}

impl PasswordSource {
    pub fn detect() -> Self {
        if std::io::stdin().is_terminal() { Self::Generated } else { Self::Stdin }
    }
}

/// Creates a consortium administrator. Returns the generated password, if one was generated.
pub fn create_admin(
    config: &Config,
    email: &str,
    name: &str,
    source: PasswordSource,
) -> anyhow::Result<Option<SecretString>> {
    let email = Email::parse(email).map_err(|e| anyhow::anyhow!("--email {e}"))?;
    let name = domain::bounded_text(name, 1, 120).map_err(|e| anyhow::anyhow!("--name {e}"))?;
    let (password, generated) = match source {
        PasswordSource::Stdin => {
            let mut input = String::new();
            std::io::stdin().read_to_string(&mut input).context("reading the password from standard input")?;
            let password = input.trim_end_matches(['\r', '\n']).to_owned();
            (SecretString::from(password), false)
        }
        PasswordSource::Generated => (SecretString::from(crate::config::generate_key()?), true),
    };
    password::check_strength(password.expose_secret(), &[email.as_str(), &name])
        .map_err(|e| anyhow::anyhow!("the password {e}"))?;
    let password_hash = password::hash_now(&password)?;

    let mut conn = connect_and_migrate(config)?;
    if users::find_by_email(&mut conn, &email.key())?.is_some() {
        bail!("a user with the e-mail address {} already exists", email.as_str());
    }
    let draft = NewUser {
        organisation_id: None,
        email,
        display_name: name,
        role: Role::ConsortiumAdmin,
        specialties: Vec::new(),
        password_hash,
    };
    db::transaction(&mut conn, |conn| {
        let row = users::insert(conn, &draft)?;
        audit::record(conn, Event::new(&Actor::default(), "user.create", "user").on(row.id))
    })?;
    Ok(generated.then_some(password))
}

/// Seals pending audit events, then walks the chain.
pub fn audit_verify(config: &Config) -> anyhow::Result<audit::chain::Verification> {
    let mut conn = connect_and_migrate(config)?;
    audit::chain::seal_all(&mut conn)?;
    Ok(audit::chain::verify(&mut conn)?)
}

/// Re-wraps every client data key with the newest master key, in batches that each commit, so
/// an interrupted run resumes where it stopped. Returns how many keys were re-wrapped.
pub fn rotate_master_key(config: &Config, batch: i64, progress: impl Fn(usize)) -> anyhow::Result<usize> {
    let master = crate::crypto::MasterKeys::new(&config.master_keys);
    let mut conn = connect_and_migrate(config)?;
    crate::crypto::keys::check_master_keys(&mut conn, &master)?;
    let mut total = 0;
    loop {
        let done = crate::crypto::keys::rotate_batch(&mut conn, &master, batch)
            .map_err(|e| anyhow::anyhow!("rotation stopped: {e}"))?;
        if done == 0 {
            let secrets = crate::webhooks::queries::reseal_secrets(&mut conn, &master)
                .map_err(|e| anyhow::anyhow!("rotation stopped at the webhooks' secrets: {e}"))?;
            return Ok(total + secrets);
        }
        total += done;
        progress(total);
    }
}

/// What the outbox holds (`outbox status`).
pub fn outbox_status(config: &Config) -> anyhow::Result<crate::notifications::outbox::Status> {
    let mut conn = connect_and_migrate(config)?;
    Ok(crate::notifications::outbox::status(&mut conn)?)
}

/// One master key as `keys status` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MasterKeyStatus {
    pub id: String,
    /// Client data keys it wraps.
    pub data_keys: i64,
    /// In CASEBRIDGE_MASTER_KEYS.
    pub configured: bool,
    /// The last configured key, which wraps new data keys.
    pub newest: bool,
}

impl MasterKeyStatus {
    /// A configured key that wraps nothing is needed no more by this database: it may be removed
    /// from the configuration, and destroyed once no backup it still opens is kept.
    pub fn wraps_nothing(&self) -> bool {
        self.configured && !self.newest && self.data_keys == 0
    }
}

/// Which master keys wrap the stored client data keys: every configured key (oldest first),
/// then any key the database names that is not configured.
pub fn keys_status(config: &Config) -> anyhow::Result<Vec<MasterKeyStatus>> {
    // Only the schema is brought up to date: the report must work when the configured keys do
    // not open the stored data keys, which is what it helps to find out.
    let backend = config.database_url.backend_name();
    let mut conn =
        config.database_url.connect().with_context(|| format!("cannot connect to the {backend} database"))?;
    db::migrate(&mut conn)?;
    let counts = crate::crypto::keys::count_by_master_key(&mut conn)?;
    let newest = config.master_keys.last().map(|(id, _)| id.as_str());
    let mut status: Vec<MasterKeyStatus> = config
        .master_keys
        .iter()
        .map(|(id, _)| MasterKeyStatus {
            id: id.clone(),
            data_keys: counts.iter().find(|(stored, _)| stored == id).map_or(0, |(_, count)| *count),
            configured: true,
            newest: Some(id.as_str()) == newest,
        })
        .collect();
    for (id, count) in counts {
        if !status.iter().any(|known| known.id == id) {
            status.push(MasterKeyStatus { id, data_keys: count, configured: false, newest: false });
        }
    }
    Ok(status)
}

/// Lists clients closed longer than `older_than`; with `apply`, erases them (the same erasure
/// as the API's). Returns the listed clients and how many were erased.
pub fn retention(
    config: &Config,
    older_than: chrono::Duration,
    apply: bool,
) -> anyhow::Result<(Vec<crate::privacy::ClosedClient>, usize)> {
    let mut conn = connect_and_migrate(config)?;
    let cutoff = db::now().naive_utc() - older_than;
    let due = crate::privacy::due_for_erasure(&mut conn, cutoff)?;
    let master = crate::crypto::MasterKeys::new(&config.master_keys);
    let mut erased = 0;
    if apply {
        for client in &due {
            crate::privacy::erase(&mut conn, &master, client.id, &Actor::default(), "retention period elapsed")?;
            erased += 1;
        }
    }
    Ok((due, erased))
}

#[cfg(feature = "seed")]
fn refuse_in_production(config: &Config) -> anyhow::Result<()> {
    if config.is_production() {
        bail!(
            "refusing to seed invented data: CASEBRIDGE_ENV is production. \
             Seed a development or benchmark database instead"
        );
    }
    Ok(())
}

/// Writes the demo consortium (`seed --demo`); returns what was written, passwords included.
#[cfg(feature = "seed")]
pub fn seed_demo(config: &Config, seed: u64) -> anyhow::Result<crate::seed::DemoReport> {
    refuse_in_production(config)?;
    let mut conn = connect_and_migrate(config)?;
    let master = crate::crypto::MasterKeys::new(&config.master_keys);
    crate::seed::demo(&mut conn, &master, seed, config.referral_working_days)
}

/// Writes synthetic clients at benchmark scale (`seed --clients N`).
#[cfg(feature = "seed")]
pub fn seed_clients(
    config: &Config,
    options: &crate::seed::SyntheticOptions,
) -> anyhow::Result<crate::seed::SyntheticReport> {
    refuse_in_production(config)?;
    connect_and_migrate(config)?;
    let pool = db::pool(config.database_url.clone(), options.writers.max(1) as u32 + 1, config.db_timeout);
    crate::seed::synthetic(&pool, &crate::crypto::MasterKeys::new(&config.master_keys), options)
}
