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
use petty_http::ErrorCode;
use petty_http::accounts::{self, SignIn};
use petty_http::extract::ClientIp;
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
    ClientIp(client): ClientIp,
    jar: CookieJar,
    Form(form): Form<LoginForm>,
) -> Result<Response, PageError> {
    csrf::require_anonymous_token(&state.config.jwt_secret, &jar, &form.csrf, "sign-in")?;
    let trusted_device = jar.get(TRUSTED_DEVICE_COOKIE).map(|c| c.value().to_owned());
    let attempt = SignIn {
        email: &form.email,
        password: &form.password,
        household_id: None,
        client,
        trusted_device: trusted_device.as_deref(),
    };
    match accounts::sign_in(&state, attempt).await {
        Ok(signed_in) => {
            let jar = session::start(&state, jar, &signed_in.membership).await?;
            let ttl = state.config.signin.trusted_device_ttl;
            let cookie = Cookie::build((TRUSTED_DEVICE_COOKIE, signed_in.trusted_device))
                .http_only(true)
                .same_site(SameSite::Strict)
                .path("/login")
                .max_age(ttl)
                .secure(state.config.secure_cookies);
            Ok((jar.add(cookie), Redirect::to("/household")).into_response())
        }
        Err(e) if matches!(e.code, ErrorCode::Internal | ErrorCode::Unavailable) => Err(e.into()),
        Err(e) => {
            let wait = e.retry_after.map(|secs| match secs {
                0 | 1 => "a second".to_owned(),
                2..120 => format!("{secs} seconds"),
                _ => format!("{} minutes", secs.div_ceil(60)),
            });
            let errors = match (e.code, wait) {
                (ErrorCode::InvalidCredentials, _) => {
                    FormErrors::general(format!("{}.", capitalized(accounts::wrong_credentials_message(&state))))
                }
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
            let mut response = layout::html(e.code.status(), login_view(&form.csrf, &form.email, &errors));
            if let Some(secs) = e.retry_after
                && let Ok(value) = HeaderValue::from_str(&secs.to_string())
            {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            Ok(response)
        }
    }
}

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
