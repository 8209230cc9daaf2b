//! Liveness, readiness (reaches the database) and Prometheus metrics (SPEC §4.8).

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{Error, HttpResponse, get, web};
use diesel::connection::SimpleConnection;
use prometheus::{Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db;
use crate::http::{ApiError, Problem};
use crate::startup::AppState;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(live).service(ready).service(metrics);
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: String,
}

/// The process is up.
#[utoipa::path(tag = "health", responses((status = 200, description = "Alive", body = Health)))]
#[get("/health/live")]
pub async fn live() -> web::Json<Health> {
    web::Json(Health { status: "ok".to_owned() })
}

/// The service can reach its database.
#[utoipa::path(
    tag = "health",
    responses(
        (status = 200, description = "Ready", body = Health),
        (status = 503, description = "The database is not reachable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/health/ready")]
pub async fn ready(state: web::Data<AppState>) -> Result<web::Json<Health>, ApiError> {
    db::run(&state.pool, |conn| Ok(conn.batch_execute("SELECT 1")?)).await?;
    Ok(web::Json(Health { status: "ok".to_owned() }))
}

/// Metrics in the Prometheus text format.
#[utoipa::path(
    tag = "health",
    responses((status = 200, description = "Prometheus metrics", body = String, content_type = "text/plain"))
)]
#[get("/metrics")]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let pool = state.pool.state();
    state.metrics.pool_connections.set(i64::from(pool.connections));
    state.metrics.pool_idle.set(i64::from(pool.idle_connections));
    let mut buffer = Vec::new();
    match TextEncoder::new().encode(&state.metrics.registry.gather(), &mut buffer) {
        Ok(()) => HttpResponse::Ok().content_type("text/plain; version=0.0.4").body(buffer),
        Err(error) => actix_web::ResponseError::error_response(&ApiError::Internal(error.into())),
    }
}

/// The service's own metrics.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    durations: HistogramVec,
    pool_connections: IntGauge,
    pool_idle: IntGauge,
}

impl Metrics {
    pub fn new() -> anyhow::Result<Self> {
        let registry = Registry::new_custom(Some("casebridge".to_owned()), None)?;
        let requests = IntCounterVec::new(
            Opts::new("http_requests_total", "HTTP requests answered"),
            &["method", "route", "status"],
        )?;
        let durations = HistogramVec::new(
            HistogramOpts::new("http_request_duration_seconds", "Time to answer HTTP requests"),
            &["method", "route"],
        )?;
        let pool_connections = IntGauge::new("db_pool_connections", "Open database connections")?;
        let pool_idle = IntGauge::new("db_pool_idle_connections", "Idle database connections")?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(durations.clone()))?;
        registry.register(Box::new(pool_connections.clone()))?;
        registry.register(Box::new(pool_idle.clone()))?;
        Ok(Self { registry, requests, durations, pool_connections, pool_idle })
    }
}

/// Counts and times every request by route pattern (never by concrete path).
pub async fn record(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let method = req.method().to_string();
    let route = crate::http::route_pattern(&req);
    let response = next.call(req).await?;
    if let Some(state) = state {
        let status = response.status().as_u16().to_string();
        state.metrics.requests.with_label_values(&[method.as_str(), &route, status.as_str()]).inc();
        state.metrics.durations.with_label_values(&[method.as_str(), &route]).observe(started.elapsed().as_secs_f64());
    }
    Ok(response)
}
