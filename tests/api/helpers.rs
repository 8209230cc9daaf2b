//! Test harness: each test starts the real server on port 0 with a fresh database — a SQLite
//! file of its own, or, when CASEBRIDGE_TEST_DATABASE_URL names a PostgreSQL server, a database
//! cloned from a migrated template and dropped afterwards.

use std::collections::HashMap;
use std::sync::Mutex;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use casebridge::config::Config;
use casebridge::db::{self, DatabaseUrl, DbPool, OrganisationId, UserId};
use casebridge::startup::Application;
use diesel::RunQueryDsl;
use diesel::connection::SimpleConnection;
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

pub const POSTGRES_VARIABLE: &str = "CASEBRIDGE_TEST_DATABASE_URL";
/// A fixed signing key, so tests can forge tokens that differ from real ones in one detail.
pub const SIGNING_SEED: [u8; 32] = [7; 32];
pub const MASTER_KEY: [u8; 32] = [5; 32];
pub const PASSWORD: &str = "violet tram under Wawel 1987!";

pub struct TestApp {
    pub address: String,
    /// A psychologist of each organisation that has one, to confirm further grants.
    psychologists: Mutex<HashMap<OrganisationId, Account>>,
    pub client: reqwest::Client,
    pub pool: DbPool,
    /// The server's clock: a test moves it instead of editing rows.
    pub clock: casebridge::clock::Clock,
    pub database_url: String,
    handle: actix_web::dev::ServerHandle,
    _data_dir: tempfile::TempDir,
    _database: TestDatabase,
}

enum TestDatabase {
    Sqlite,
    Postgres {
        admin_url: String,
        name: String,
    },
    /// Another app's database; the other app cleans up.
    Borrowed,
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let TestDatabase::Postgres { admin_url, name } = self
            && let Ok(mut conn) = DatabaseUrl::parse(admin_url).connect()
        {
            let _ = conn.batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"));
        }
    }
}

fn connect(url: &str) -> db::DbConnection {
    DatabaseUrl::parse(url).connect().unwrap_or_else(|e| panic!("the test PostgreSQL server is not reachable: {e}"))
}

fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url, String::new()),
    };
    let server = base.rsplit_once('/').map(|(server, _)| server).unwrap_or(base);
    format!("{server}/{name}{query}")
}

/// The migrated template, created once per set of migrations (named by their hash).
fn postgres_template(admin_url: &str) -> String {
    static TEMPLATE: Mutex<Option<String>> = Mutex::new(None);
    let mut guard = TEMPLATE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(name) = guard.as_ref() {
        return name.clone();
    }
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/postgres");
    let mut files: Vec<_> = walk(&root);
    files.sort();
    for file in files {
        hasher.update(file.to_string_lossy().as_bytes());
        hasher.update(std::fs::read(&file).unwrap());
    }
    let name = format!("casebridge_template_{}", &hex::encode(hasher.finalize())[..12]);
    let mut admin = connect(admin_url);
    // Several test processes may race to build the template: an advisory lock orders them.
    admin.batch_execute("SELECT pg_advisory_lock(727274)").unwrap();
    let exists: i64 = diesel::sql_query(format!("SELECT count(*) AS count FROM pg_database WHERE datname = '{name}'"))
        .get_result::<Count>(&mut admin)
        .unwrap()
        .count;
    if exists == 0 {
        admin.batch_execute(&format!("CREATE DATABASE \"{name}\"")).unwrap();
        let mut template = connect(&with_database(admin_url, &name));
        db::migrate(&mut template).unwrap();
    }
    admin.batch_execute("SELECT pg_advisory_unlock(727274)").unwrap();
    *guard = Some(name.clone());
    name
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    count: i64,
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() { files.extend(walk(&path)) } else { files.push(path) }
    }
    files
}

fn fresh_database(data_dir: &std::path::Path) -> (String, TestDatabase) {
    match std::env::var(POSTGRES_VARIABLE) {
        Ok(admin_url) if !admin_url.is_empty() => {
            let template = postgres_template(&admin_url);
            let name = format!("casebridge_test_{}", uuid::Uuid::now_v7().simple());
            let mut admin = connect(&admin_url);
            admin.batch_execute(&format!("CREATE DATABASE \"{name}\" TEMPLATE \"{template}\"")).unwrap();
            (with_database(&admin_url, &name), TestDatabase::Postgres { admin_url, name })
        }
        _ => (data_dir.join("test.db").to_string_lossy().into_owned(), TestDatabase::Sqlite),
    }
}

pub fn base_vars(database_url: &str, data_dir: &std::path::Path) -> HashMap<String, String> {
    HashMap::from([
        ("DATABASE_URL".into(), database_url.into()),
        ("CASEBRIDGE_BIND".into(), "127.0.0.1:0".into()),
        ("CASEBRIDGE_DATA_DIR".into(), data_dir.to_string_lossy().into_owned()),
        ("CASEBRIDGE_WORKERS".into(), "1".into()),
        ("CASEBRIDGE_DB_POOL_SIZE".into(), "4".into()),
        ("CASEBRIDGE_JWT_SIGNING_KEY".into(), BASE64.encode(SIGNING_SEED)),
        ("CASEBRIDGE_MASTER_KEYS".into(), format!("test-1:{}", BASE64.encode(MASTER_KEY))),
        ("CASEBRIDGE_TRUSTED_PROXIES".into(), "127.0.0.1".into()),
        ("CASEBRIDGE_AUDIT_SEAL_INTERVAL_MS".into(), "200".into()),
    ])
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// Starts the app with extra or changed configuration variables.
    pub async fn spawn_with(customise: impl FnOnce(&mut HashMap<String, String>)) -> Self {
        let data_dir = tempfile::tempdir().unwrap();
        let (database_url, database) = fresh_database(data_dir.path());
        Self::start(database_url, database, data_dir, customise, |_| {}).await
    }

    /// Starts the app with one more background job under its supervisor, beside its own.
    pub async fn spawn_with_job<F, J>(job: &'static str, start: F) -> Self
    where
        F: Fn() -> J + Send + 'static,
        J: std::future::Future<Output = ()> + Send + 'static,
    {
        let data_dir = tempfile::tempdir().unwrap();
        let (database_url, database) = fresh_database(data_dir.path());
        Self::start(database_url, database, data_dir, |_| {}, |application| application.supervise(job, start)).await
    }

    /// A second API instance on this app's database (as behind a load balancer).
    pub async fn sibling(&self) -> Self {
        self.sibling_with(|_| {}).await
    }

    /// Another instance on this app's database, with changed configuration.
    pub async fn sibling_with(&self, customise: impl FnOnce(&mut HashMap<String, String>)) -> Self {
        let data_dir = tempfile::tempdir().unwrap();
        Self::start(self.database_url.clone(), TestDatabase::Borrowed, data_dir, customise, |_| {}).await
    }

    /// The configuration variables of an instance on this app's database.
    pub fn vars(&self) -> (HashMap<String, String>, tempfile::TempDir) {
        let data_dir = tempfile::tempdir().unwrap();
        (base_vars(&self.database_url, data_dir.path()), data_dir)
    }

    async fn start(
        database_url: String,
        database: TestDatabase,
        data_dir: tempfile::TempDir,
        customise: impl FnOnce(&mut HashMap<String, String>),
        prepare: impl FnOnce(&mut Application),
    ) -> Self {
        let mut vars = base_vars(&database_url, data_dir.path());
        customise(&mut vars);
        let config = Config::from_vars(&vars).unwrap();
        let mut application = Application::build(config).await.unwrap();
        prepare(&mut application);
        let address = format!("http://127.0.0.1:{}", application.port());
        let pool = application.pool().clone();
        let clock = application.clock().clone();
        let handle = application.handle();
        tokio::spawn(application.run_until_stopped());
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Self {
            address,
            psychologists: Mutex::default(),
            client,
            pool,
            clock,
            database_url,
            handle,
            _data_dir: data_dir,
            _database: database,
        }
    }

    /// The instance's data folder (the document store lives under it).
    pub fn data_dir(&self) -> &std::path::Path {
        self._data_dir.path()
    }

    pub fn is_postgres(&self) -> bool {
        self.database_url.starts_with("postgres")
    }

    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, format!("{}{}", self.address, path))
    }

    pub fn get(&self, path: &str) -> RequestBuilder {
        self.request(Method::GET, path)
    }

    pub fn post(&self, path: &str) -> RequestBuilder {
        self.request(Method::POST, path)
    }

    pub fn patch(&self, path: &str) -> RequestBuilder {
        self.request(Method::PATCH, path)
    }

    /// Sets the server's clock to a local time in Warsaw (`YYYY-MM-DD HH:MM:SS`).
    pub fn set_warsaw_time(&self, local: &str) {
        use chrono::TimeZone;
        let local = chrono::NaiveDateTime::parse_from_str(local, "%Y-%m-%d %H:%M:%S").unwrap();
        let at = chrono_tz::Europe::Warsaw.from_local_datetime(&local).single().unwrap();
        self.clock.set(at.with_timezone(&chrono::Utc));
    }

    /// Runs database work directly (arrange and assert side effects).
    pub fn db<T>(&self, work: impl FnOnce(&mut db::DbConnection) -> T) -> T {
        let mut conn = self.pool.get().unwrap();
        work(&mut conn)
    }

    pub fn audit_count(&self, action: &str) -> i64 {
        use casebridge::db::schema::audit_events::dsl;
        use diesel::prelude::*;
        let action = action.to_owned();
        self.db(|conn| dsl::audit_events.filter(dsl::action.eq(action)).count().get_result(conn).unwrap())
    }

    /// A consortium administrator created directly in the database, as `create-admin` does.
    pub fn insert_admin(&self, email: &str) -> Account {
        let hash = casebridge::auth::password::hash_now(&PASSWORD.to_owned().into()).unwrap();
        let draft = casebridge::users::queries::NewUser {
            organisation_id: None,
            email: casebridge::domain::Email::parse(email).unwrap(),
            display_name: "Consortium Admin".into(),
            role: casebridge::domain::Role::ConsortiumAdmin,
            specialties: vec![],
            password_hash: hash,
        };
        let row = self.db(|conn| casebridge::users::queries::insert(conn, &draft).unwrap());
        Account {
            id: row.id,
            email: email.into(),
            organisation_id: None,
            token: String::new(),
            refresh_token: String::new(),
        }
    }

    pub async fn login(&self, email: &str, password: &str) -> Response {
        self.post("/api/v1/auth/login").json(&json!({"email": email, "password": password})).send().await.unwrap()
    }

    pub async fn signed_in(&self, mut account: Account) -> Account {
        let response = self.login(&account.email, PASSWORD).await;
        assert_eq!(response.status(), StatusCode::OK, "login of {} failed", account.email);
        let tokens: Value = response.json().await.unwrap();
        account.token = tokens["access_token"].as_str().unwrap().to_owned();
        account.refresh_token = tokens["refresh_token"].as_str().unwrap().to_owned();
        account
    }

    pub async fn admin(&self) -> Account {
        let admin = self.insert_admin(&format!("admin-{}@example.org", uuid::Uuid::now_v7().simple()));
        self.signed_in(admin).await
    }

    pub async fn create_organisation(&self, admin: &Account, short_name: &str) -> OrganisationId {
        let response = self
            .post("/api/v1/organisations")
            .bearer_auth(&admin.token)
            .json(&json!({
                "name": format!("Organisation {short_name}"),
                "short_name": short_name,
                "cities": ["Warszawa", "Lublin"],
                "services": ["psychological", "legal", "vocational"],
                "contact_email": format!("office@{}.example.org", short_name.to_lowercase()),
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        body::<Value>(response).await["id"].as_str().unwrap().parse().unwrap()
    }

    /// Creates a user through the API (as `creator`) and signs them in.
    pub async fn create_user(&self, creator: &Account, organisation_id: Option<OrganisationId>, role: &str) -> Account {
        self.staff(creator, organisation_id, role, &["legal"]).await
    }

    /// Creates a user with these specialties in effect (the psychological one confirmed by a
    /// second person), lets them enrol with `PASSWORD` and signs them in.
    pub async fn staff(
        &self,
        creator: &Account,
        organisation_id: Option<OrganisationId>,
        role: &str,
        specialties: &[&str],
    ) -> Account {
        let email = format!("{role}-{}@example.org", uuid::Uuid::now_v7().simple());
        let response = self
            .post("/api/v1/users")
            .bearer_auth(&creator.token)
            .json(&json!({
                "organisation_id": organisation_id,
                "email": email,
                "display_name": format!("Test {role}"),
                "role": role,
                "specialties": specialties,
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED, "creating a {role}: {}", response.text().await.unwrap());
        let user: Value = response.json().await.unwrap();
        let enrolled = self.enrol(user["enrolment"]["token"].as_str().unwrap(), PASSWORD).await;
        assert_eq!(enrolled.status(), StatusCode::NO_CONTENT, "enrolling: {}", enrolled.text().await.unwrap());
        let account = Account {
            id: user["user"]["id"].as_str().unwrap().parse().unwrap(),
            email,
            organisation_id,
            token: String::new(),
            refresh_token: String::new(),
        };
        let psychologist = specialties.contains(&"psychological");
        if let (true, Some(organisation_id)) = (psychologist, organisation_id) {
            self.confirm_psychologist(account.id, organisation_id).await;
        }
        let account = self.signed_in(account).await;
        if let (true, Some(organisation_id)) = (psychologist, organisation_id) {
            self.psychologists.lock().unwrap().entry(organisation_id).or_insert_with(|| account.clone());
        }
        account
    }

    /// Sets a password with a one-time enrolment token.
    pub async fn enrol(&self, token: &str, password: &str) -> Response {
        self.post("/api/v1/auth/enrol").json(&json!({"token": token, "password": password})).send().await.unwrap()
    }

    /// Confirms the pending psychological grant of `user_id` as a psychologist of the
    /// organisation, or — where it has none yet — as a consortium administrator.
    pub async fn confirm_psychologist(&self, user_id: UserId, organisation_id: OrganisationId) {
        let known = self.psychologists.lock().unwrap().get(&organisation_id).cloned();
        let confirmer = match known {
            Some(psychologist) => psychologist,
            None => self.admin().await,
        };
        let grants: Value = body(
            self.get(&format!("/api/v1/specialty-grants?user_id={user_id}&status=pending"))
                .bearer_auth(&confirmer.token)
                .send()
                .await
                .unwrap(),
        )
        .await;
        let grant = grants["items"][0]["id"].as_str().unwrap_or_else(|| panic!("no pending grant: {grants}"));
        let confirmed = self
            .post(&format!("/api/v1/specialty-grants/{grant}/confirm"))
            .bearer_auth(&confirmer.token)
            .send()
            .await
            .unwrap();
        assert_eq!(confirmed.status(), StatusCode::OK, "confirming: {}", confirmed.text().await.unwrap());
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Sends the stop command at once; the workers wind down on their own.
        drop(self.handle.stop(false));
    }
}

#[derive(Debug, Clone)]
pub struct Account {
    pub id: UserId,
    pub email: String,
    pub organisation_id: Option<OrganisationId>,
    pub token: String,
    pub refresh_token: String,
}

pub async fn body<T: DeserializeOwned>(response: Response) -> T {
    let text = response.text().await.unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("unexpected body {text}: {e}"))
}

/// Asserts a problem+json answer with this status and code; returns the problem.
pub async fn assert_problem(response: Response, status: StatusCode, code: &str) -> Value {
    assert_eq!(response.status(), status, "unexpected status");
    let content_type = response.headers().get("content-type").unwrap().to_str().unwrap().to_owned();
    assert_eq!(content_type, "application/problem+json");
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["code"], code, "unexpected problem {problem}");
    assert_eq!(problem["status"], status.as_u16());
    problem
}
