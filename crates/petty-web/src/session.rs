//! Dashboard sessions: the `petty_session` cookie holds a random token whose SHA-256 hash the
//! store keeps, so a leaked database does not hand out sessions (reading it is the edge's,
//! `petty_http::session`). [`SignedIn`] turns the cookie into a person, their household and
//! their role, or sends the browser to `/login`; [`start`] and [`end`] give and take the cookie.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use petty_core::accounts::Permission;
use petty_http::AppState;
use petty_http::auth::new_secret;
use petty_http::session::{self, SESSION_COOKIE, Session};
use petty_store::{ClientOrigin, Membership, User, WebSession};
use time::OffsetDateTime;

use super::PageError;
use super::csrf;
use super::layout::Chrome;

/// A person signed in to the dashboard, acting in one household.
pub(crate) struct SignedIn {
    pub session: WebSession,
    pub membership: Membership,
    pub user: User,
    /// The token this session's forms carry.
    pub csrf: String,
    /// The person's address is not verified and this server could mail them a link.
    pub unverified_email: bool,
}

impl SignedIn {
    pub(crate) fn can(&self, permission: Permission) -> bool {
        self.membership.role.allows(permission)
    }

    /// A 403 page unless the person's role allows `permission`.
    pub(crate) fn require(&self, permission: Permission) -> Result<(), PageError> {
        if self.can(permission) {
            return Ok(());
        }
        let what = match permission {
            Permission::Read => "see this household",
            Permission::ReadCare => "see care records",
            Permission::WriteCare => "record care in this household",
            Permission::ManagePets => "add, change or remove pets",
            Permission::ManageHousehold => "manage this household",
        };
        Err(PageError::Forbidden(format!(
            "You are a {} in {}, which does not let you {what}. Ask the household's owner if you need to.",
            self.membership.role, self.membership.household_name
        )))
    }

    /// A 403 page unless `presented` is this session's CSRF token.
    pub(crate) fn check_csrf(&self, state: &AppState, presented: &str) -> Result<(), PageError> {
        if csrf::verify_session_token(&state.config.jwt_secret, self.session.id, presented) {
            Ok(())
        } else {
            tracing::warn!(session_id = %self.session.id, "dashboard form rejected: bad CSRF token");
            Err(PageError::CsrfRejected)
        }
    }

    /// The person as a caller, in the session's household.
    pub(crate) fn actor(&self) -> petty_core::accounts::Actor {
        petty_core::accounts::Actor {
            household_id: self.membership.household_id,
            kind: petty_core::accounts::ActorKind::User { user_id: self.user.id, role: self.membership.role },
        }
    }

    /// Writes the audit entry of a change this person made from `ip` (see `petty_app::audit`).
    pub(crate) async fn audit(
        &self,
        state: &AppState,
        ip: std::net::IpAddr,
        action: &str,
        entity_type: &str,
        entity_id: impl std::fmt::Display,
        detail: serde_json::Value,
    ) -> Result<(), PageError> {
        let who = petty_app::audit::Who::actor(&self.actor(), Some(ip));
        petty_app::audit::record(&state.app, &who, action, entity_type, entity_id, &detail).await?;
        Ok(())
    }

    /// What the page header shows about the person.
    pub(crate) fn chrome(&self) -> Chrome<'_> {
        Chrome {
            display_name: &self.user.display_name,
            household_name: &self.membership.household_name,
            role: self.membership.role,
            csrf: &self.csrf,
            unverified_email: self.unverified_email,
        }
    }
}

/// The signed-in person, or a redirect (303) to `/login` that also drops a dead cookie.
impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let jar = CookieJar::from_headers(&parts.headers);
        match current(state, &jar).await {
            Ok(Some(signed_in)) if !signed_in.can(Permission::Read) && !open_to_vets(parts.uri.path()) => {
                Err(PageError::Forbidden(format!(
                    "You are a vet in {}: you see the care records of the pets shared with you, and nothing else of the household.",
                    signed_in.membership.household_name
                ))
                .into_response())
            }
            Ok(Some(signed_in)) => {
                // The session's last use, for the list of sign-ins (written at most once a minute).
                if let Err(e) = state.store.touch_web_session(signed_in.session.id, OffsetDateTime::now_utc()).await {
                    tracing::warn!(error = %e, "could not note the session's use");
                }
                Ok(signed_in)
            }
            Ok(None) if jar.get(SESSION_COOKIE).is_some() => Err((end(jar), Redirect::to("/login")).into_response()),
            Ok(None) => Err(Redirect::to("/login").into_response()),
            Err(e) => Err(e.into_response()),
        }
    }
}

/// The pages a vet may open: the household's page (the pets shared with them), a pet's care
/// page and weight chart (each checks the pet), their own account's pages and their own life log. Every other page
/// answers 403, so a page added later is closed to vets until someone opens it here.
fn open_to_vets(path: &str) -> bool {
    let parts: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    matches!(
        parts.as_slice(),
        [""] | ["", "household"] | ["", "pets", _, "care" | "weights.svg"] | ["", "account" | "life", ..]
    )
}

/// The live session named by the cookie, if there is one and its membership still holds.
pub(crate) async fn current(state: &AppState, jar: &CookieJar) -> Result<Option<SignedIn>, PageError> {
    let Some(Session { session, membership, user }) = session::current(state, jar).await? else {
        return Ok(None);
    };
    let csrf = csrf::session_token(&state.config.jwt_secret, session.id);
    let unverified_email = user.email_verified_at.is_none() && state.app.notifier.can_email();
    Ok(Some(SignedIn { session, membership, user, csrf, unverified_email }))
}

/// Starts a session for `membership` from `origin` and adds its cookie to the jar; `mfa_proved`
/// when the sign-in proved a second factor (it counts as a fresh check for 10 minutes). Any
/// session the browser already had is revoked, so one browser holds one session.
#[tracing::instrument(skip_all, fields(user_id = %membership.user_id, household_id = %membership.household_id))]
pub(crate) async fn start(
    state: &AppState,
    jar: CookieJar,
    membership: &Membership,
    origin: &ClientOrigin,
    mfa_proved: bool,
) -> Result<CookieJar, PageError> {
    let now = OffsetDateTime::now_utc();
    if let Some(previous) = current(state, &jar).await? {
        state.store.revoke_web_session(previous.session.id, now).await?;
    }
    let (token, hash) = new_secret("ps_");
    let ttl = state.config.session_ttl;
    let created =
        state.store.create_web_session(&hash, membership.user_id, membership.household_id, now + ttl, now).await?;
    state.store.set_web_session_origin(created.id, origin, mfa_proved.then_some(now)).await?;
    let cookie = Cookie::build((SESSION_COOKIE, token))
        .http_only(true)
        .same_site(SameSite::Lax)
        .path("/")
        .max_age(time::Duration::seconds(i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX)))
        .secure(state.config.secure_cookies);
    tracing::info!("dashboard session started");
    Ok(jar.add(cookie))
}

/// Tells the browser to forget the session cookie.
pub(crate) fn end(jar: CookieJar) -> CookieJar {
    jar.remove(Cookie::build(SESSION_COOKIE).path("/"))
}
