//! Liveness, readiness (reaches the database) and Prometheus metrics (SPEC §4.8).

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{Error, HttpRequest, HttpResponse, get, web};
use diesel::connection::SimpleConnection;
use prometheus::{Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder};
use secrecy::ExposeSecret;
use serde::Serialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use utoipa::ToSchema;

use crate::http::{self, ApiError, Problem};
use crate::state::AppState;

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
        (status = 503, description = "The database is not reachable, or a background job is not running", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/health/ready")]
pub async fn ready(state: web::Data<AppState>) -> Result<web::Json<Health>, ApiError> {
    let stopped = state.jobs.stopped();
    if !stopped.is_empty() {
        let mut problem = Problem::new(
            actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
            "job_stopped",
            format!("Background jobs not running (restarting): {}.", stopped.join(", ")),
        );
        problem.retry_after = Some(5);
        return Err(ApiError::Problem(Box::new(problem)));
    }
    http::run(&state.pool, |conn| Ok(conn.batch_execute("SELECT 1")?)).await?;
    Ok(web::Json(Health { status: "ok".to_owned() }))
}

/// Metrics in the Prometheus text format. When the service is configured with a metrics token
/// (`CASEBRIDGE_METRICS_TOKEN`), only `Authorization: Bearer <that token>` is answered.
#[utoipa::path(
    tag = "health",
    responses(
        (status = 200, description = "Prometheus metrics", body = String, content_type = "text/plain"),
        (status = 401, description = "A metrics token is configured and was not sent", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/metrics")]
pub async fn metrics(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    if let Some(expected) = &state.metrics_token {
        let presented = crate::auth::principal::bearer_token(&req).unwrap_or_default();
        if !same_secret(presented, expected.expose_secret()) {
            return Err(ApiError::unauthorized("Send the metrics token: `Authorization: Bearer <token>`."));
        }
    }
    let pool = state.pool.state();
    state.metrics.pool_connections.set(i64::from(pool.connections));
    state.metrics.pool_idle.set(i64::from(pool.idle_connections));
    let mut buffer = Vec::new();
    TextEncoder::new().encode(&state.metrics.registry.gather(), &mut buffer).map_err(anyhow::Error::from)?;
    Ok(HttpResponse::Ok().content_type("text/plain; version=0.0.4").body(buffer))
}

/// Compares digests of both in constant time, so neither the token's content nor its length
/// shows in how long a refusal takes.
fn same_secret(presented: &str, expected: &str) -> bool {
    let digest = |text: &str| -> [u8; 32] { Sha256::digest(text.as_bytes()).into() };
    bool::from(digest(presented).ct_eq(&digest(expected)))
}

/// The method as a metric label: the standard ones by name, any other as `OTHER`, so that
/// invented methods cannot add series without bound.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "OTHER",
    }
}

/// The service's own metrics.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    durations: HistogramVec,
    pool_connections: IntGauge,
    pool_idle: IntGauge,
    outbox: OutboxMetrics,
}

/// The outbox's gauges and its delivery latency (from the event to its delivery).
#[derive(Clone)]
pub struct OutboxMetrics {
    events_waiting: IntGauge,
    deliveries: prometheus::IntGaugeVec,
    latency: prometheus::Histogram,
}

impl OutboxMetrics {
    fn new(registry: &Registry) -> anyhow::Result<Self> {
        let events_waiting =
            IntGauge::new("outbox_events_waiting", "Outbox events not yet fanned out into deliveries")?;
        let deliveries =
            prometheus::IntGaugeVec::new(Opts::new("outbox_deliveries", "Deliveries by status"), &["status"])?;
        let latency = prometheus::Histogram::with_opts(
            HistogramOpts::new("outbox_delivery_latency_seconds", "Time from an event to its delivery").buckets(vec![
                0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0, 3600.0, 21600.0, 86400.0,
            ]),
        )?;
        registry.register(Box::new(events_waiting.clone()))?;
        registry.register(Box::new(deliveries.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        Ok(Self { events_waiting, deliveries, latency })
    }

    pub fn show(&self, status: &crate::notifications::outbox::Status) {
        self.events_waiting.set(status.events_waiting);
        self.deliveries.with_label_values(&["pending"]).set(status.pending);
        self.deliveries.with_label_values(&["delivered"]).set(status.delivered);
        self.deliveries.with_label_values(&["failed"]).set(status.failed);
    }

    pub fn delivered(&self, seconds_since_event: f64) {
        self.latency.observe(seconds_since_event);
    }
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
        let outbox = OutboxMetrics::new(&registry)?;
        Ok(Self { registry, requests, durations, pool_connections, pool_idle, outbox })
    }

    /// The outbox's metrics, for the dispatcher to update.
    pub fn outbox(&self) -> OutboxMetrics {
        self.outbox.clone()
    }
}

/// Counts and times every request by route pattern (never by concrete path).
pub async fn record(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let method = method_label(req.method());
    let route = crate::http::route_pattern(&req);
    let response = next.call(req).await?;
    if let Some(state) = state {
        let status = response.status().as_u16().to_string();
        state.metrics.requests.with_label_values(&[method, &route, status.as_str()]).inc();
        state.metrics.durations.with_label_values(&[method, &route]).observe(started.elapsed().as_secs_f64());
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invented_methods_share_one_label() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::from_bytes(b"FOO").unwrap()), "OTHER");
        assert_eq!(method_label(&Method::from_bytes(b"PROPFIND").unwrap()), "OTHER");
    }

    #[test]
    fn only_the_same_token_matches() {
        assert!(same_secret("s3cret-token", "s3cret-token"));
        assert!(!same_secret("s3cret-tokem", "s3cret-token"));
        assert!(!same_secret("", "s3cret-token"));
        assert!(!same_secret("s3cret-token-and-more", "s3cret-token"));
    }
}
