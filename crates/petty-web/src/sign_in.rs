//! `/`, `/login` and `/logout`: getting into the dashboard and out again. A successful sign-in
//! leaves a trusted-device cookie (`petty_trusted_device`, only sent to `/login`), so that failed
//! sign-ins by others never hold this browser back (see `petty_http::accounts`).

use axum::Form;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use maud::{Markup, html};
use petty_http::AppState;
use petty_http::accounts::{self, SignIn, SignInStep};
use petty_http::extract::Origin;
use petty_http::{ApiError, ErrorCode};
use serde::Deserialize;
use time::OffsetDateTime;

use super::PageError;
use super::csrf;
use super::layout::{self, FormErrors, Header, Input};
use super::session::{self, SignedIn};

/// To the household when signed in, else to the sign-in form.
pub(crate) async fn home(State(state): State<AppState>, jar: CookieJar) -> Result<Response, PageError> {
    Ok(match session::current(&state, &jar).await? {
        Some(_) => Redirect::to("/household").into_response(),
        None => Redirect::to("/login").into_response(),
    })
}

/// Every field is text, so that nothing is rejected before the handler can explain it.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct LoginForm {
    csrf: String,
    email: String,
    password: String,
}

pub(crate) async fn login_page(State(state): State<AppState>, jar: CookieJar) -> Result<Response, PageError> {
    if session::current(&state, &jar).await?.is_some() {
        return Ok(Redirect::to("/household").into_response());
    }
    let (jar, token) = csrf::anonymous_token(jar, state.config.secure_cookies);
    Ok((jar, layout::html(StatusCode::OK, login_view(&token, "", &FormErrors::none()))).into_response())
}

/// The cookie that makes this browser a trusted device of the account it last signed in to.
pub(crate) const TRUSTED_DEVICE_COOKIE: &str = "petty_trusted_device";

#[tracing::instrument(skip_all)]
pub(crate) async fn login(
    State(state): State<AppState>,
    origin: Origin,
    jar: CookieJar,
    Form(form): Form<LoginForm>,
) -> Result<Response, PageError> {
    csrf::require_anonymous_token(&state.config.jwt_secret, &jar, &form.csrf, "sign-in")?;
    let trusted_device = jar.get(TRUSTED_DEVICE_COOKIE).map(|c| c.value().to_owned());
    let attempt = SignIn {
        email: &form.email,
        password: &form.password,
        household_id: None,
        client: origin.0,
        trusted_device: trusted_device.as_deref(),
        mfa_code: None,
        user_agent: origin.1.as_deref(),
    };
    match accounts::sign_in_steps(&state, attempt).await {
        Ok(SignInStep::Done(signed_in)) => signed_in_response(&state, jar, &origin, *signed_in).await,
        Ok(SignInStep::NeedsMfa { pending }) => {
            let cookie = Cookie::build((PENDING_MFA_COOKIE, pending))
                .http_only(true)
                .same_site(SameSite::Strict)
                .path("/login")
                .max_age(accounts::PENDING_MFA_TTL)
                .secure(state.config.secure_cookies);
            Ok((jar.add(cookie), Redirect::to("/login/mfa")).into_response())
        }
        Err(e) => refused(&state, e, |errors| login_view(&form.csrf, &form.email, errors)),
    }
}

/// Starts the session of a finished sign-in and keeps the trusted-device cookie.
async fn signed_in_response(
    state: &AppState,
    jar: CookieJar,
    origin: &Origin,
    signed_in: accounts::SignedIn,
) -> Result<Response, PageError> {
    let jar = session::start(state, jar, &signed_in.membership, &origin.client_origin(), signed_in.mfa_proved).await?;
    let ttl = state.config.signin.trusted_device_ttl;
    let cookie = Cookie::build((TRUSTED_DEVICE_COOKIE, signed_in.trusted_device))
        .http_only(true)
        .same_site(SameSite::Strict)
        .path("/login")
        .max_age(ttl)
        .secure(state.config.secure_cookies);
    let jar = jar.remove(Cookie::build(PENDING_MFA_COOKIE).path("/login"));
    Ok((jar.add(cookie), Redirect::to("/household")).into_response())
}

/// A refused sign-in as its form shows it, with `Retry-After` when there is one.
fn refused(state: &AppState, e: ApiError, view: impl FnOnce(&FormErrors) -> Markup) -> Result<Response, PageError> {
    if matches!(e.code, ErrorCode::Internal | ErrorCode::Unavailable) {
        return Err(e.into());
    }
    let wait = e.retry_after.map(|secs| match secs {
        0 | 1 => "a second".to_owned(),
        2..120 => format!("{secs} seconds"),
        _ => format!("{} minutes", secs.div_ceil(60)),
    });
    let errors = match (e.code, wait) {
        (ErrorCode::InvalidCredentials, _) => {
            FormErrors::general(format!("{}.", capitalized(accounts::wrong_credentials_message(state))))
        }
        (ErrorCode::InvalidMfaCode, _) => FormErrors::general(
            "That code is not right, or it was already used. Enter the newest code of your app, or a backup code.",
        ),
        (ErrorCode::AccountLocked, Some(wait)) => FormErrors::general(format!(
            "Too many failed sign-ins for this email. Try again in {wait}, sign in on a device you have \
             signed in on before, or reset your password."
        )),
        (ErrorCode::RateLimited, Some(wait)) => FormErrors::general(format!(
            "Too many failed sign-ins from your network. Try again in {wait}; a device that has signed in \
             before is not held back."
        )),
        _ => FormErrors::from_api(&e),
    };
    let mut response = layout::html(e.code.status(), view(&errors));
    if let Some(secs) = e.retry_after
        && let Ok(value) = HeaderValue::from_str(&secs.to_string())
    {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    Ok(response)
}

/// The cookie that carries a sign-in whose password was right to its second step (signed, for
/// five minutes, only sent to `/login`).
pub(crate) const PENDING_MFA_COOKIE: &str = "petty_mfa_pending";

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct MfaForm {
    csrf: String,
    code: String,
}

/// The second sign-in step: the code of the authenticator app (or a backup code).
pub(crate) async fn mfa_page(State(state): State<AppState>, jar: CookieJar) -> Result<Response, PageError> {
    let pending = jar.get(PENDING_MFA_COOKIE).map(|c| c.value().to_owned());
    if !pending.is_some_and(|p| accounts::pending_mfa_is_valid(&state, &p)) {
        return Ok(Redirect::to("/login").into_response());
    }
    let (jar, token) = csrf::anonymous_token(jar, state.config.secure_cookies);
    Ok((jar, layout::html(StatusCode::OK, mfa_view(&token, &FormErrors::none()))).into_response())
}

#[tracing::instrument(skip_all)]
pub(crate) async fn mfa(
    State(state): State<AppState>,
    origin: Origin,
    jar: CookieJar,
    Form(form): Form<MfaForm>,
) -> Result<Response, PageError> {
    csrf::require_anonymous_token(&state.config.jwt_secret, &jar, &form.csrf, "sign-in")?;
    let Some(pending) = jar.get(PENDING_MFA_COOKIE).map(|c| c.value().to_owned()) else {
        return Ok(Redirect::to("/login").into_response());
    };
    let trusted_device = jar.get(TRUSTED_DEVICE_COOKIE).map(|c| c.value().to_owned());
    match accounts::complete_mfa_sign_in(
        &state,
        &pending,
        &form.code,
        origin.0,
        trusted_device.as_deref(),
        origin.1.as_deref(),
    )
    .await
    {
        Ok(signed_in) => signed_in_response(&state, jar, &origin, signed_in).await,
        Err(e) if e.code == ErrorCode::Unauthenticated => {
            let jar = jar.remove(Cookie::build(PENDING_MFA_COOKIE).path("/login"));
            Ok((jar, Redirect::to("/login")).into_response())
        }
        Err(e) => refused(&state, e, |errors| mfa_view(&form.csrf, errors)),
    }
}

fn mfa_view(csrf: &str, errors: &FormErrors) -> Markup {
    layout::page(
        "Enter your code",
        Header::SignedOut,
        html! {
            section.panel.narrow aria-labelledby="page-title" {
                h1 #page-title { "Enter your code" }
                p.lead { "Your account asks for a second step. Enter the 6-digit code your authenticator app shows now, or one of your backup codes." }
                (layout::error_summary(errors, &MFA_FIELDS))
                form.form method="post" action="/login/mfa" novalidate {
                    (layout::csrf_field(csrf))
                    (layout::input(&Input {
                        name: "code", label: "Code", kind: "text",
                        autocomplete: Some("one-time-code"), required: true, ..Input::default()
                    }, errors))
                    div.actions { button.button type="submit" { "Sign in" } }
                }
                p { a href="/login" { "Start again" } }
            }
        },
    )
}

const MFA_FIELDS: [(&str, &str); 1] = [("code", "Code")];

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct LogoutForm {
    csrf: String,
}

/// Revokes the session (so the cookie is worthless even if kept) and drops the cookie.
#[tracing::instrument(skip_all, fields(session_id = %signed_in.session.id))]
pub(crate) async fn logout(
    State(state): State<AppState>,
    signed_in: SignedIn,
    jar: CookieJar,
    Form(form): Form<LogoutForm>,
) -> Result<Response, PageError> {
    signed_in.check_csrf(&state, &form.csrf)?;
    state.store.revoke_web_session(signed_in.session.id, OffsetDateTime::now_utc()).await?;
    tracing::info!("dashboard session ended");
    Ok((session::end(jar), Redirect::to("/login")).into_response())
}

const FIELDS: [(&str, &str); 2] = [("email", "Email"), ("password", "Password")];

fn login_view(csrf: &str, email: &str, errors: &FormErrors) -> Markup {
    layout::page(
        "Sign in",
        Header::SignedOut,
        html! {
            section.panel.narrow aria-labelledby="page-title" {
                h1 #page-title { "Sign in" }
                p.lead { "Welcome back. Sign in to see your household's pets." }
                (layout::error_summary(errors, &FIELDS))
                form.form method="post" action="/login" novalidate {
                    (layout::csrf_field(csrf))
                    (layout::input(&Input {
                        name: "email", label: "Email", kind: "email", value: email,
                        autocomplete: Some("username"), required: true, ..Input::default()
                    }, errors))
                    (layout::input(&Input {
                        name: "password", label: "Password", kind: "password",
                        autocomplete: Some("current-password"), required: true, ..Input::default()
                    }, errors))
                    div.actions { button.button type="submit" { "Sign in" } }
                }
                p { a href="/forgot-password" { "Forgot your password?" } }
                p.switch { "New to Petty? " a href="/register" { "Create an account" } }
            }
        },
    )
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}
