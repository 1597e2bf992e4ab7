//! Reading the dashboard's session cookie: `petty_session` holds a random token whose SHA-256
//! hash the store keeps, so a leaked database does not hand out sessions. The dashboard
//! (`petty-web`) starts and ends sessions; the WebSocket also accepts one from Petty's own
//! pages, so turning the cookie into a person is the edge's.

use axum::http::HeaderMap;
use axum_extra::extract::cookie::CookieJar;
use petty_core::accounts::{Actor, ActorKind};
use petty_store::{Membership, StoreError, User, WebSession};
use time::OffsetDateTime;

use crate::auth::secret_hash;
use crate::state::AppState;

pub const SESSION_COOKIE: &str = "petty_session";

/// A live session, with the membership it acts in and its person.
pub struct Session {
    pub session: WebSession,
    pub membership: Membership,
    pub user: User,
}

impl Session {
    /// The session's person as a caller, in the session's household.
    pub fn actor(&self) -> Actor {
        Actor {
            household_id: self.membership.household_id,
            kind: ActorKind::User { user_id: self.user.id, role: self.membership.role },
        }
    }
}

/// The live session named by the cookie, if there is one and its membership still holds.
pub async fn current(state: &AppState, jar: &CookieJar) -> Result<Option<Session>, StoreError> {
    let Some(token) = jar.get(SESSION_COOKIE).map(|c| c.value()).filter(|t| t.starts_with("ps_") && t.len() < 100)
    else {
        return Ok(None);
    };
    let now = OffsetDateTime::now_utc();
    let Some(session) = state.store.find_web_session(&secret_hash(token), now).await? else {
        return Ok(None);
    };
    let Some(membership) = state.store.active_membership(session.user_id, session.household_id, now).await? else {
        return Ok(None);
    };
    let user = state.store.get_user(session.user_id).await?;
    Ok(Some(Session { session, membership, user }))
}

/// The actor behind a dashboard session cookie, for endpoints that browsers reach with cookies
/// (the WebSocket).
pub async fn cookie_actor(state: &AppState, headers: &HeaderMap) -> Option<Actor> {
    let jar = CookieJar::from_headers(headers);
    current(state, &jar).await.ok()?.map(|s| s.actor())
}
