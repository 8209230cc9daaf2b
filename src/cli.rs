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
    db::migrate(&mut conn)?;
    Ok(conn)
}

/// Applies pending migrations; returns their names.
pub fn migrate(config: &Config) -> anyhow::Result<Vec<String>> {
    let backend = config.database_url.backend_name();
    let mut conn =
        config.database_url.connect().with_context(|| format!("cannot connect to the {backend} database"))?;
    db::migrate(&mut conn)
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
pub fn seed_demo(config: &Config, seed: u64) -> anyhow::Result<crate::seed::DemoReport> {
    refuse_in_production(config)?;
    let mut conn = connect_and_migrate(config)?;
    crate::seed::demo(&mut conn, seed)
}

/// Writes synthetic clients at benchmark scale (`seed --clients N`).
pub fn seed_clients(
    config: &Config,
    options: &crate::seed::SyntheticOptions,
) -> anyhow::Result<crate::seed::SyntheticReport> {
    refuse_in_production(config)?;
    connect_and_migrate(config)?;
    let pool = db::pool(config.database_url.clone(), options.writers.max(1) as u32 + 1, config.db_timeout);
    crate::seed::synthetic(&pool, options)
}
