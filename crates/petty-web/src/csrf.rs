//! CSRF tokens for dashboard forms, in a hidden `csrf` field.
//!
//! Signed-in forms carry an HMAC-SHA256 of the session id (keyed with the server secret), so
//! the token needs no storage and dies with the session. The anonymous sign-in and
//! registration forms use a double-submit cookie: `petty_csrf` (random, HttpOnly,
//! SameSite=Strict) must equal the field. Both are compared in constant time.

use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use petty_core::ids::SessionId;
use sha2::Sha256;

pub(crate) const CSRF_COOKIE: &str = "petty_csrf";

type HmacSha256 = Hmac<Sha256>;

/// An HMAC over `value`, with a purpose label so a tag made for one use is useless for another
/// (the same secret also signs access tokens).
fn mac(key: &[u8], purpose: &[u8], value: &[u8]) -> HmacSha256 {
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(b"petty-dashboard-csrf\0");
    mac.update(purpose);
    mac.update(b"\0");
    mac.update(value);
    mac
}

/// The token every form of this session carries.
pub(crate) fn session_token(key: &[u8], session_id: SessionId) -> String {
    URL_SAFE_NO_PAD.encode(mac(key, b"session", session_id.0.as_bytes()).finalize().into_bytes())
}

pub(crate) fn verify_session_token(key: &[u8], session_id: SessionId, presented: &str) -> bool {
    let Ok(tag) = URL_SAFE_NO_PAD.decode(presented.trim()) else {
        return false;
    };
    mac(key, b"session", session_id.0.as_bytes()).verify_slice(&tag).is_ok()
}

/// The anonymous token for this browser: the one in its `petty_csrf` cookie, or a new one with
/// the cookie to set.
pub(crate) fn anonymous_token(jar: CookieJar, secure: bool) -> (CookieJar, String) {
    if let Some(existing) = jar.get(CSRF_COOKIE).map(|c| c.value().to_owned()).filter(|v| plausible(v)) {
        return (jar, existing);
    }
    let token = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    let cookie = Cookie::build((CSRF_COOKIE, token.clone()))
        .http_only(true)
        .same_site(SameSite::Strict)
        .path("/")
        .secure(secure);
    (jar.add(cookie), token)
}

/// Whether the field matches the browser's `petty_csrf` cookie. Both sides go through the HMAC
/// so that `verify_slice` compares equal-length tags in constant time.
pub(crate) fn verify_anonymous_token(key: &[u8], jar: &CookieJar, presented: &str) -> bool {
    let Some(cookie) = jar.get(CSRF_COOKIE).map(|c| c.value()).filter(|v| plausible(v)) else {
        return false;
    };
    let expected = mac(key, b"anonymous", cookie.as_bytes()).finalize().into_bytes();
    mac(key, b"anonymous", presented.trim().as_bytes()).verify_slice(&expected).is_ok()
}

/// [`verify_anonymous_token`] as a signed-out form's guard: a refused token is logged, naming
/// the form, and answers the CSRF error page.
pub(crate) fn require_anonymous_token(
    key: &[u8],
    jar: &CookieJar,
    presented: &str,
    form: &'static str,
) -> Result<(), crate::PageError> {
    if verify_anonymous_token(key, jar, presented) {
        return Ok(());
    }
    tracing::warn!(form, "form rejected: bad CSRF token");
    Err(crate::PageError::CsrfRejected)
}

fn plausible(token: &str) -> bool {
    (32..=64).contains(&token.len()) && token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A form that carries nothing but its CSRF token (a button that acts: delete, revoke, remove).
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub(crate) struct CsrfForm {
    pub(crate) csrf: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"a key of some length, it does not matter";

    #[test]
    fn session_tokens_belong_to_their_session_and_key() {
        let session = SessionId::new();
        let token = session_token(KEY, session);
        assert!(verify_session_token(KEY, session, &token));
        assert!(!verify_session_token(KEY, SessionId::new(), &token));
        assert!(!verify_session_token(b"another key", session, &token));
        assert!(!verify_session_token(KEY, session, ""));
        assert!(!verify_session_token(KEY, session, "not base64!"));
        assert!(!verify_session_token(KEY, session, &token[..token.len() - 2]));
    }

    #[test]
    fn anonymous_tokens_are_double_submitted() {
        let (jar, token) = anonymous_token(CookieJar::new(), false);
        let set = jar.get(CSRF_COOKIE).expect("cookie set");
        assert_eq!(set.value(), token);
        assert_eq!(set.same_site(), Some(SameSite::Strict));
        assert_eq!(set.http_only(), Some(true));
        assert!(verify_anonymous_token(KEY, &jar, &token));
        assert!(!verify_anonymous_token(KEY, &jar, ""));
        assert!(!verify_anonymous_token(KEY, &jar, &anonymous_token(CookieJar::new(), false).1));
        assert!(!verify_anonymous_token(KEY, &CookieJar::new(), &token), "no cookie, no match");
        // A browser that already has a token keeps it.
        let (_, again) = anonymous_token(jar, false);
        assert_eq!(again, token);
    }
}
