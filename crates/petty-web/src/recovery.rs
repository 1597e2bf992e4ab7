//! `/forgot-password` and `/reset-password`: a forgotten password, replaced through a link sent
//! by email. Asking for a link answers the same page for every address; the link's page
//! (`/reset-password?token=…`, what the mail points at) shows the new-password form, and setting
//! it signs the account out everywhere, this browser included.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use maud::{Markup, html};
use petty_http::AppState;
use petty_http::ErrorCode;
use petty_http::accounts;
use serde::Deserialize;

use super::PageError;
use super::csrf;
use super::layout::{self, FormErrors, Header, Input};
use super::session;

/// Every field is text, so that nothing is rejected before the handler can explain it.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct ForgotForm {
    csrf: String,
    email: String,
}

pub(crate) async fn forgot_page(State(state): State<AppState>, jar: CookieJar) -> Response {
    let (jar, token) = csrf::anonymous_token(jar, state.config.secure_cookies);
    (jar, layout::html(StatusCode::OK, forgot_view(&state, &token, "", &FormErrors::none()))).into_response()
}

#[tracing::instrument(skip_all)]
pub(crate) async fn forgot(
    State(state): State<AppState>,
    jar: CookieJar,
    Form(form): Form<ForgotForm>,
) -> Result<Response, PageError> {
    csrf::require_anonymous_token(&state.config.jwt_secret, &jar, &form.csrf, "password-reset")?;
    match accounts::request_password_reset(&state, &form.email).await {
        Ok(()) => Ok(layout::html(
            StatusCode::OK,
            message_page(
                "Check your email",
                "If an account uses this address, a link to choose a new password is on its way there. It works \
                 once, for a limited time. No message after a few minutes? Look in your spam folder.",
            ),
        )),
        Err(e) if e.code == ErrorCode::ValidationFailed => {
            Ok(layout::html(e.code.status(), forgot_view(&state, &form.csrf, &form.email, &FormErrors::from_api(&e))))
        }
        Err(e) => Err(e.into()),
    }
}

const FORGOT_FIELDS: [(&str, &str); 1] = [("email", "Email")];

fn forgot_view(state: &AppState, csrf: &str, email: &str, errors: &FormErrors) -> Markup {
    layout::page(
        "Forgot your password?",
        Header::SignedOut,
        html! {
            section.panel.narrow aria-labelledby="page-title" {
                h1 #page-title { "Forgot your password?" }
                @if state.app.notifier.can_email() {
                    p.lead { "Give the email address of your account: we will send it a link to choose a new password." }
                    (layout::error_summary(errors, &FORGOT_FIELDS))
                    form.form method="post" action="/forgot-password" novalidate {
                        (layout::csrf_field(csrf))
                        (layout::input(&Input {
                            name: "email", label: "Email", kind: "email", value: email,
                            autocomplete: Some("email"), maxlength: Some(254), required: true, ..Input::default()
                        }, errors))
                        div.actions { button.button type="submit" { "Send me a link" } }
                    }
                } @else {
                    p.lead {
                        "This Petty server cannot send email, so it cannot send you a link. Ask the person who runs \
                         it to configure an SMTP server (notify.smtp_server), or, if someone in your household is \
                         signed in, to help you."
                    }
                }
                p.switch { a href="/login" { "Back to sign in" } }
            }
        },
    )
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct TokenQuery {
    token: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct ResetForm {
    csrf: String,
    token: String,
    new_password: String,
}

/// The page the reset mail links to.
pub(crate) async fn reset_page(
    State(state): State<AppState>,
    jar: CookieJar,
    Query(query): Query<TokenQuery>,
) -> Result<Response, PageError> {
    if !accounts::reset_token_is_valid(&state, &query.token).await? {
        return Ok(layout::html(StatusCode::NOT_FOUND, expired_view()));
    }
    let (jar, csrf) = csrf::anonymous_token(jar, state.config.secure_cookies);
    Ok((jar, layout::html(StatusCode::OK, reset_view(&csrf, &query.token, &FormErrors::none()))).into_response())
}

#[tracing::instrument(skip_all)]
pub(crate) async fn reset(
    State(state): State<AppState>,
    jar: CookieJar,
    Form(form): Form<ResetForm>,
) -> Result<Response, PageError> {
    csrf::require_anonymous_token(&state.config.jwt_secret, &jar, &form.csrf, "new-password")?;
    match accounts::confirm_password_reset(&state, &form.token, &form.new_password).await {
        // Every session of the account was revoked; this browser's cookie goes too.
        Ok(_) => Ok((
            session::end(jar),
            layout::html(
                StatusCode::OK,
                message_page(
                    "Your password is set",
                    "Sign in with your new password. Every device that was signed in to your account has been \
                     signed out.",
                ),
            ),
        )
            .into_response()),
        Err(e) if e.code == ErrorCode::ValidationFailed && e.details.iter().any(|d| d.field == "token") => {
            Ok(layout::html(StatusCode::UNPROCESSABLE_ENTITY, expired_view()))
        }
        Err(e) if e.code == ErrorCode::ValidationFailed => {
            Ok(layout::html(e.code.status(), reset_view(&form.csrf, &form.token, &FormErrors::from_api(&e))))
        }
        Err(e) => Err(e.into()),
    }
}

const RESET_FIELDS: [(&str, &str); 1] = [("new_password", "New password")];

fn reset_view(csrf: &str, token: &str, errors: &FormErrors) -> Markup {
    layout::page(
        "Choose a new password",
        Header::SignedOut,
        html! {
            section.panel.narrow aria-labelledby="page-title" {
                h1 #page-title { "Choose a new password" }
                p.lead { "Setting it signs your account out on every device." }
                (layout::error_summary(errors, &RESET_FIELDS))
                form.form method="post" action="/reset-password" novalidate {
                    (layout::csrf_field(csrf))
                    input type="hidden" name="token" value=(token);
                    (layout::input(&Input {
                        name: "new_password", label: "New password", kind: "password",
                        hint: Some("At least 10 characters. A few unrelated words work well."),
                        autocomplete: Some("new-password"), maxlength: Some(256), required: true, ..Input::default()
                    }, errors))
                    div.actions { button.button type="submit" { "Set the password" } }
                }
            }
        },
    )
}

fn expired_view() -> Markup {
    layout::page(
        "Link not valid",
        Header::SignedOut,
        html! {
            section.panel.narrow aria-labelledby="page-title" {
                h1 #page-title { "This link cannot be used" }
                p { "A reset link works once and for a limited time; this one is unknown, used or expired." }
                p { a.button href="/forgot-password" { "Ask for a new link" } }
            }
        },
    )
}

/// A page that says one thing and offers to sign in.
pub(crate) fn message_page(title: &str, text: &str) -> Markup {
    layout::page(
        title,
        Header::SignedOut,
        html! {
            section.panel.narrow aria-labelledby="page-title" {
                h1 #page-title { (title) }
                p.lead { (text) }
                p { a.button href="/login" { "Sign in" } }
            }
        },
    )
}
