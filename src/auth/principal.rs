//! Who is calling. A handler that takes `SignedIn` cannot run for a request without a valid
//! access token; its work runs as a `Principal` only once the token's login session is
//! confirmed live, on the same connection as the work itself.

use std::net::IpAddr;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};

use super::login_sessions;
use crate::audit::{self, Actor, Outcome};
use crate::db::{DbConnection, DbPool, Id, LoginSessionId, OrganisationId, UserId};
use crate::domain::{Role, SessionKind, Specialties};
use crate::http::{self, ApiError};
use crate::policy::{self, Action, Caller, Decision, Target};
use crate::state::AppState;

/// Where a request comes from: its id and the client's address. The address is the peer's,
/// or — only when the peer is a configured trusted proxy — the one `X-Forwarded-For` names
/// (`http::forwarded::client_address`).
#[derive(Debug, Clone)]
pub struct Origin {
    pub request_id: Option<String>,
    pub ip: Option<String>,
}

impl Origin {
    pub fn of(req: &HttpRequest, trusted_proxies: &[IpAddr]) -> Self {
        let forwarded_for = req.headers().get_all("x-forwarded-for").map(|line| line.to_str().ok());
        let ip = req
            .peer_addr()
            .map(|peer| http::forwarded::client_address(peer.ip().to_canonical(), forwarded_for, trusted_proxies));
        Self { request_id: http::request_id(req), ip: ip.map(|ip| ip.to_string()) }
    }

    pub fn actor(&self) -> Actor {
        Actor { request_id: self.request_id.clone(), ip: self.ip.clone(), ..Actor::default() }
    }
}

impl FromRequest for Origin {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let trusted =
            req.app_data::<web::Data<AppState>>().map(|state| state.trusted_proxies.as_slice()).unwrap_or_default();
        std::future::ready(Ok(Self::of(req, trusted)))
    }
}

/// An authenticated user, as the database knows them now (not as the token said).
#[derive(Debug, Clone)]
pub struct Principal {
    pub user_id: UserId,
    pub organisation_id: Option<OrganisationId>,
    pub role: Role,
    pub specialties: Vec<SessionKind>,
    pub session_id: LoginSessionId,
    pub actor: Actor,
}

impl Principal {
    pub fn caller(&self) -> Caller {
        Caller {
            role: self.role,
            organisation_id: self.organisation_id,
            user_id: Some(self.user_id),
            specialties: Specialties::of(&self.specialties),
        }
    }

    /// Asks the policy table; a denial is written to the audit trail before it is answered
    /// (403 when the role may never do this, 404 when the target is out of reach).
    pub fn authorize(
        &self,
        conn: &mut DbConnection,
        action: Action,
        target: Target,
        resource: &'static str,
        resource_id: Option<Id>,
    ) -> Result<(), ApiError> {
        self.authorize_in_tier(conn, action, target, resource, resource_id, false)
    }

    /// `authorize` for a target of the psychological tier when `psychological` holds: the
    /// denial is then a tier event, listed only to psychologists, so that to everyone else a
    /// refused psychological session looks like an id that does not exist.
    pub fn authorize_in_tier(
        &self,
        conn: &mut DbConnection,
        action: Action,
        target: Target,
        resource: &'static str,
        resource_id: Option<Id>,
        psychological: bool,
    ) -> Result<(), ApiError> {
        let decision = policy::decide(self.caller(), action, target);
        if decision == Decision::Allow {
            return Ok(());
        }
        let mut event = audit::Event::new(&self.actor, "permission.denied", resource)
            .outcome(Outcome::Denied)
            .in_tier(psychological);
        event.resource_id = resource_id;
        audit::record(conn, event)?;
        Err(match decision {
            Decision::Hidden => ApiError::not_found(resource),
            _ => ApiError::forbidden(),
        })
    }

    /// Refuses, before any lookup, an action the caller's role may never take: every id then
    /// answers alike (403), whether it exists or not.
    pub fn refuse_if_never(
        &self,
        conn: &mut DbConnection,
        action: Action,
        resource: &'static str,
        resource_id: Option<Id>,
    ) -> Result<(), ApiError> {
        if policy::scope(self.role, action).is_none() {
            self.authorize(conn, action, Target::owned_by(self.organisation_id), resource, resource_id)?;
        }
        Ok(())
    }

    /// `authorize` for a record of a session's kind (a session, an appointment): another
    /// organisation's is out of reach whatever its kind; one of the psychological tier exists
    /// only for its author and the organisation's psychologists (to everyone else it answers and
    /// audits as an id that does not exist); then the action itself is decided.
    pub fn authorize_record_of_tier<E>(
        &self,
        conn: &mut DbConnection,
        action: Action,
        target: Target,
        psychological: bool,
        resource: &'static str,
        resource_id: Id<E>,
    ) -> Result<(), ApiError> {
        let resource_id = resource_id.any();
        if self.organisation_id != target.organisation_id {
            self.authorize(conn, action, target, resource, Some(resource_id.any()))?;
        }
        if psychological {
            let tier = Action::ReadPsychologicalSession;
            self.authorize_in_tier(conn, tier, target, resource, Some(resource_id.any()), true)?;
        }
        self.authorize_in_tier(conn, action, target, resource, Some(resource_id.any()), psychological)
    }

    /// `authorize` for work inside the caller's own organisation; returns that organisation
    /// (403 for a caller who belongs to none).
    pub fn authorize_in_own_organisation(
        &self,
        conn: &mut DbConnection,
        action: Action,
        resource: &'static str,
    ) -> Result<OrganisationId, ApiError> {
        self.authorize(conn, action, Target::owned_by(self.organisation_id), resource, None)?;
        self.organisation_id.ok_or_else(ApiError::forbidden)
    }
}

/// A request that carries a valid access token. Its login session is confirmed on the same
/// pooled connection as the handler's own work (`run`), so a request crosses to the blocking
/// pool once: the session check and the work share one hand-off and one connection.
#[derive(Debug)]
pub struct SignedIn {
    user_id: UserId,
    session_id: LoginSessionId,
    origin: Origin,
}

impl SignedIn {
    /// Checks that the login session is still live (one indexed lookup), so logout, password
    /// change and deactivation take effect at once, then runs `work` as that user.
    pub async fn run<T, F>(self, pool: &DbPool, work: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConnection, Principal) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        http::run(pool, move |conn| {
            let principal = self.confirm(conn)?;
            work(conn, principal)
        })
        .await
    }

    fn confirm(self, conn: &mut DbConnection) -> Result<Principal, ApiError> {
        let Self { user_id, session_id, origin } = self;
        let live = login_sessions::live_session_user(conn, session_id, user_id)?
            .ok_or_else(|| ApiError::unauthorized("The session has ended; sign in again."))?;
        Ok(Principal {
            user_id,
            organisation_id: live.organisation_id,
            role: live.role,
            specialties: live.specialties,
            session_id,
            actor: Actor {
                user_id: Some(user_id),
                organisation_id: live.organisation_id,
                request_id: origin.request_id,
                ip: origin.ip,
            },
        })
    }
}

impl FromRequest for SignedIn {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(signed_in(req))
    }
}

fn signed_in(req: &HttpRequest) -> Result<SignedIn, ApiError> {
    let state = req.app_data::<web::Data<AppState>>().ok_or_else(|| anyhow::anyhow!("application state missing"))?;
    let token = bearer_token(req)
        .ok_or_else(|| ApiError::unauthorized("Send an access token: `Authorization: Bearer <token>`."))?;
    let claims = state.tokens.verify(token).ok_or_else(|| ApiError::unauthorized("The access token is not valid."))?;
    Ok(SignedIn { user_id: claims.sub, session_id: claims.sid, origin: Origin::of(req, &state.trusted_proxies) })
}

/// The token of an `Authorization: Bearer <token>` header.
pub fn bearer_token(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(actix_web::http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(token.trim()).filter(|t| !t.is_empty())
}
