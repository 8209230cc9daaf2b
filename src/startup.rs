//! Builds the application — routes, middleware, shared state — for `main` and for the tests.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_cors::Cors;
use actix_web::body::MessageBody;
use actix_web::dev::Server;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::{Next, from_fn};
use actix_web::{App, HttpResponse, HttpServer, get, web};
use anyhow::Context;
use tracing_actix_web::TracingLogger;
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

use crate::auth::password::Passwords;
use crate::auth::tokens::TokenKeys;
use crate::clock::Clock;
use crate::config::Config;
use crate::crypto::MasterKeys;
use crate::db::{self, DbPool};
use crate::health::Metrics;
use crate::jobs::{JobStatus, Jobs};
use crate::state::AppState;
use crate::{audit, documents, health, http, notifications, openapi, referrals};

/// The request reads the instance's clock once, on arrival (see `clock`).
async fn read_clock(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    match req.app_data::<web::Data<AppState>>().map(|state| state.clock.clone()) {
        Some(clock) => clock.read_once(next.call(req)).await,
        None => next.call(req).await,
    }
}

#[get("/docs")]
async fn docs_redirect() -> HttpResponse {
    HttpResponse::PermanentRedirect().insert_header(("Location", "/docs/")).finish()
}

fn cors(origins: &[String]) -> Cors {
    let cors = origins.iter().fold(Cors::default(), |cors, origin| cors.allowed_origin(origin));
    cors.allowed_methods(["GET", "POST", "PATCH", "DELETE"])
        .allowed_headers(["authorization", "content-type", "if-match", "idempotency-key"])
        .expose_headers(["etag", "location", "retry-after", "x-request-id"])
        .max_age(3600)
}

pub struct Application {
    port: u16,
    server: Server,
    pool: DbPool,
    clock: Clock,
    /// The periodic work of the instance (sealing, expiry, purges); it ends with the server, so
    /// a stopped instance leaves nothing running on its pool.
    jobs: Jobs,
}

impl Application {
    /// Connects (a clear error when the database cannot be reached), migrates, and binds.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        if let Some(file) = &config.development_secrets {
            tracing::warn!(
                file = %file.display(),
                "DEVELOPMENT MODE: secrets are generated and kept in the data folder; never use this with \
                 real data (set CASEBRIDGE_ENV=production and configure the secrets)"
            );
        }
        let url = config.database_url.clone();
        let backend = url.backend_name();
        let master_keys = MasterKeys::new(&config.master_keys);
        let (applied, master_keys) = web::block(move || -> anyhow::Result<(Vec<String>, MasterKeys)> {
            let mut conn = url.connect().with_context(|| format!("cannot connect to the {backend} database"))?;
            let applied = db::migrate(&mut conn)?;
            crate::sessions::sealing::after_migrating(&mut conn, &master_keys)?;
            crate::clients::after_migrating(&mut conn)?;
            crate::procedure::after_migrating(&mut conn)?;
            Ok((applied, master_keys))
        })
        .await??;
        for name in applied {
            tracing::info!(migration = %name, "migration applied");
        }

        let pool = db::pool(config.database_url.clone(), config.db_pool_size, config.db_timeout);
        let cores = std::thread::available_parallelism().map(usize::from).unwrap_or(1);
        let trusted_proxies = config.trusted_proxies.clone();
        let passwords = Passwords::new(cores)?;
        let documents = documents::Documents::new(config.documents.clone())?;
        let document_store = documents.store.clone();
        let clock = Clock::default();
        let job_status = JobStatus::default();
        let metrics = Metrics::new()?;
        let dispatcher = Arc::new(notifications::dispatcher::Dispatcher::new(
            pool.clone(),
            clock.clone(),
            config.notifications.clone(),
            MasterKeys::new(&config.master_keys),
            metrics.outbox(),
        )?);
        let state = web::Data::new(AppState {
            pool: pool.clone(),
            clock: clock.clone(),
            jobs: job_status.clone(),
            tokens: TokenKeys::new(&config.tokens)?,
            passwords: passwords.clone(),
            login_throttle: config.login_throttle,
            session_ttl: config.tokens.session_ttl,
            refresh_ttl: config.tokens.refresh_ttl,
            trusted_proxies,
            metrics,
            notifications: config.notifications.clone(),
            metrics_token: config.metrics_token.clone(),
            master_keys,
            referral_working_days: config.referral_working_days,
            documents,
        });

        let document = Arc::new(openapi::document());
        let allowed_methods = web::Data::new(http::AllowedMethods::of(&document));
        let origins = config.cors_origins.clone();
        let production = config.is_production();
        if production && config.metrics_token.is_none() {
            tracing::warn!(
                "/metrics answers anyone who reaches it: set CASEBRIDGE_METRICS_TOKEN, or keep the path \
                 unreachable from outside the monitoring network"
            );
        }
        let listener = TcpListener::bind(config.bind).with_context(|| format!("cannot listen on {}", config.bind))?;
        let port = listener.local_addr()?.port();
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .app_data(allowed_methods.clone())
                .app_data(http::json_config())
                .app_data(http::path_config())
                .app_data(http::query_config())
                .app_data(web::PayloadConfig::new(http::MAX_BODY_BYTES))
                .service(
                    SwaggerUi::new("/docs/{_:.*}")
                        .url("/api/v1/openapi.json", (*document).clone())
                        .config(utoipa_swagger_ui::Config::default().validator_url("none")),
                )
                .service(docs_redirect)
                .into_utoipa_app()
                .configure(openapi::register_routes)
                .into_app()
                .default_service(web::to(http::unmatched))
                .wrap(from_fn(read_clock))
                .wrap(from_fn(health::record))
                .wrap(http::security_headers(production))
                .wrap(cors(&origins))
                .wrap(from_fn(http::expose_request_id))
                .wrap(TracingLogger::<http::RequestSpan>::new())
        })
        .listen(listener)?
        .shutdown_timeout(10);
        if config.workers > 0 {
            server = server.workers(config.workers);
        }
        let server = server.run();

        let mut jobs = Jobs::new(job_status);
        let (seal_pool, seal_clock, seal_every) = (pool.clone(), clock.clone(), config.audit_seal_interval);
        jobs.supervise("audit sealing", move || {
            audit::chain::run_sealer(seal_pool.clone(), seal_clock.clone(), seal_every)
        });
        let (expiry_pool, expiry_clock) = (pool.clone(), clock.clone());
        jobs.supervise("referral expiry", move || {
            db::every(expiry_pool.clone(), expiry_clock.clone(), Duration::from_secs(60), "referral expiry", |conn| {
                Ok(referrals::cascade::expire_unanswered(conn, crate::domain::today())?)
            })
        });
        let (purge_pool, purge_clock, purge_every) = (pool.clone(), clock.clone(), config.idempotency_purge_interval);
        jobs.supervise("idempotency purge", move || {
            db::every(purge_pool.clone(), purge_clock.clone(), purge_every, "idempotency purge", |conn| {
                Ok(http::idempotency::purge_expired(conn)?)
            })
        });
        jobs.supervise("outbox dispatch", move || dispatcher.clone().run());
        let (document_pool, document_every) = (pool.clone(), config.documents.purge_interval);
        jobs.supervise("document purge", move || {
            documents::run_purger(document_pool.clone(), document_store.clone(), document_every)
        });
        Ok(Self { port, server, pool, clock, jobs })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn pool(&self) -> &DbPool {
        &self.pool
    }

    /// The instance's clock (tests move it).
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Runs one more job under the instance's supervisor: restarted whenever it panics or ends,
    /// reported by `/health/ready` while it is down, stopped with the instance.
    pub fn supervise<F, J>(&mut self, job: &'static str, start: F)
    where
        F: Fn() -> J + Send + 'static,
        J: std::future::Future<Output = ()> + Send + 'static,
    {
        self.jobs.supervise(job, start);
    }

    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Serves until SIGTERM or SIGINT, then finishes the requests in flight.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}
