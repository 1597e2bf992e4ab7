//! `/register`: a new account with its own household, or one that joins a household through an
//! invitation (`/register?invitation=inv_…` fills the token in). What follows a registration is
//! the same page whether the address was new or already had an account (its owner is mailed
//! instead): sign in, or first confirm the address, as this server's settings say.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use maud::{Markup, html};
use petty_core::accounts::EmailVerification;
use petty_http::AppState;
use petty_http::ErrorCode;
use petty_http::accounts::{self, Registration};
use serde::Deserialize;

use super::PageError;
use super::csrf;
use super::layout::{self, FormErrors, Header, Input};

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct RegisterQuery {
    invitation: Option<String>,
}

/// Every field is text, so that nothing is rejected before the handler can explain it.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct RegisterForm {
    csrf: String,
    display_name: String,
    email: String,
    password: String,
    household_name: String,
    invitation_token: String,
}

pub(crate) async fn register_page(
    State(state): State<AppState>,
    jar: CookieJar,
    Query(query): Query<RegisterQuery>,
) -> Response {
    let (jar, token) = csrf::anonymous_token(jar, state.config.secure_cookies);
    let form = RegisterForm { invitation_token: query.invitation.unwrap_or_default(), ..RegisterForm::default() };
    (jar, layout::html(StatusCode::OK, register_view(&token, &form, &FormErrors::none()))).into_response()
}

#[tracing::instrument(skip_all)]
pub(crate) async fn register(
    State(state): State<AppState>,
    jar: CookieJar,
    Form(form): Form<RegisterForm>,
) -> Result<Response, PageError> {
    csrf::require_anonymous_token(&state.config.jwt_secret, &jar, &form.csrf, "registration")?;
    let registration = Registration {
        email: form.email.clone(),
        password: form.password.clone(),
        display_name: form.display_name.clone(),
        household_name: Some(form.household_name.clone()),
        invitation_token: Some(form.invitation_token.clone()),
    };
    match accounts::register(&state, registration).await {
        Ok(()) => Ok(layout::html(StatusCode::OK, registered_view(&state))),
        Err(e) if matches!(e.code, ErrorCode::Internal | ErrorCode::Unavailable) => Err(e.into()),
        Err(e) => Ok(layout::html(e.code.status(), register_view(&form.csrf, &form, &FormErrors::from_api(&e)))),
    }
}

/// What a registration leads to: the same for every address.
fn registered_view(state: &AppState) -> Markup {
    let can_email = state.app.notifier.can_email();
    let (title, text) = match (state.config.email_verification, can_email) {
        (EmailVerification::Required, _) => (
            "Check your email",
            "We sent a message to the address you gave. Follow the link in it to confirm the address, then sign in.",
        ),
        (EmailVerification::Optional, true) => {
            ("Now sign in", "Sign in with your email and password. We also sent a message to the address you gave.")
        }
        (EmailVerification::Optional, false) => ("Now sign in", "Sign in with your email and password."),
    };
    layout::page(
        title,
        Header::SignedOut,
        html! {
            section.panel.narrow aria-labelledby="page-title" {
                h1 #page-title { (title) }
                p.lead { (text) }
                p { a.button href="/login" { "Sign in" } }
                @if can_email {
                    p.switch { "No message after a few minutes? Look in your spam folder, or "
                        a href="/verify-email" { "ask for a new link" } "." }
                }
            }
        },
    )
}

const FIELDS: [(&str, &str); 5] = [
    ("display_name", "Your name"),
    ("email", "Email"),
    ("password", "Password"),
    ("household_name", "Household name"),
    ("invitation_token", "Invitation code"),
];

fn register_view(csrf: &str, form: &RegisterForm, errors: &FormErrors) -> Markup {
    let invited = !form.invitation_token.trim().is_empty();
    layout::page(
        "Create an account",
        Header::SignedOut,
        html! {
            section.panel.narrow aria-labelledby="page-title" {
                h1 #page-title { "Create an account" }
                p.lead {
                    @if invited { "You have been invited to a household. Create your account to join it." }
                    @else { "Start a household for your pets, or join one with an invitation." }
                }
                (layout::error_summary(errors, &FIELDS))
                form.form method="post" action="/register" novalidate {
                    (layout::csrf_field(csrf))
                    (layout::input(&Input {
                        name: "display_name", label: "Your name", value: &form.display_name,
                        hint: Some("How the rest of your household sees you."),
                        autocomplete: Some("name"), maxlength: Some(100), required: true, ..Input::default()
                    }, errors))
                    (layout::input(&Input {
                        name: "email", label: "Email", kind: "email", value: &form.email,
                        autocomplete: Some("email"), required: true, ..Input::default()
                    }, errors))
                    (layout::input(&Input {
                        name: "password", label: "Password", kind: "password",
                        hint: Some("At least 10 characters. A few unrelated words work well."),
                        autocomplete: Some("new-password"), maxlength: Some(256), required: true, ..Input::default()
                    }, errors))
                    (layout::input(&Input {
                        name: "household_name", label: "Household name", value: &form.household_name,
                        hint: Some("For example “The Garcias”. Leave it empty to name it after you; \
                                    it is not used when you join with an invitation."),
                        autocomplete: Some("off"), maxlength: Some(100), ..Input::default()
                    }, errors))
                    (layout::input(&Input {
                        name: "invitation_token", label: "Invitation code", value: &form.invitation_token,
                        hint: Some("Only if someone invited you to their household."),
                        autocomplete: Some("off"), ..Input::default()
                    }, errors))
                    div.actions { button.button type="submit" { "Create account" } }
                }
                p.switch { "Already have an account? " a href="/login" { "Sign in" } }
            }
        },
    )
}
