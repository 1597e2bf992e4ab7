//! `/verify-email`: confirming an account's email address through the link sent by mail (the
//! page shows a button; nothing changes on a GET, which mail scanners also send), and asking
//! for a new link, by address when signed out or from the notice on every page when signed in.

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
use super::recovery::message_page;
use super::session;

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct TokenQuery {
    token: String,
}

/// Every field is text, so that nothing is rejected before the handler can explain it.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct VerifyForm {
    csrf: String,
    token: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct ResendForm {
    csrf: String,
    email: String,
}

/// With `?token=`: the page the verification mail links to. Without: the form that asks for a
/// new link.
pub(crate) async fn verify_page(
    State(state): State<AppState>,
    jar: CookieJar,
    Query(query): Query<TokenQuery>,
) -> Response {
    let (jar, csrf) = csrf::anonymous_token(jar, state.config.secure_cookies);
    let view = if query.token.trim().is_empty() {
        resend_view(&state, &csrf, "", &FormErrors::none())
    } else {
        confirm_view(&csrf, &query.token)
    };
    (jar, layout::html(StatusCode::OK, view)).into_response()
}

#[tracing::instrument(skip_all)]
pub(crate) async fn verify(
    State(state): State<AppState>,
    jar: CookieJar,
    Form(form): Form<VerifyForm>,
) -> Result<Response, PageError> {
    csrf::require_anonymous_token(&state.config.jwt_secret, &jar, &form.csrf, "email verification")?;
    match accounts::verify_email(&state, &form.token).await {
        Ok(_) => Ok(layout::html(
            StatusCode::OK,
            message_page("Your email address is confirmed", "Thank you. You can sign in and use Petty."),
        )),
        Err(e) if e.code == ErrorCode::ValidationFailed => {
            let errors = FormErrors::general(
                "This link cannot be used: it works once and for a limited time, and this one is unknown, used or \
                 expired. Ask for a new one below.",
            );
            Ok(layout::html(StatusCode::UNPROCESSABLE_ENTITY, resend_view(&state, &form.csrf, "", &errors)))
        }
        Err(e) => Err(e.into()),
    }
}

/// A new link: for the signed-in person (the notice's button, with the session's CSRF token),
/// or for the address given in the form.
#[tracing::instrument(skip_all)]
pub(crate) async fn resend(
    State(state): State<AppState>,
    jar: CookieJar,
    Form(form): Form<ResendForm>,
) -> Result<Response, PageError> {
    if let Some(signed_in) = session::current(&state, &jar).await? {
        signed_in.check_csrf(&state, &form.csrf)?;
        accounts::resend_verification(&state, &signed_in.user.email).await?;
        let view = layout::page(
            "Check your email",
            Header::SignedIn(&signed_in.chrome()),
            html! {
                section.panel.narrow aria-labelledby="page-title" {
                    h1 #page-title { "Check your email" }
                    p.lead { "A new link to confirm your address is on its way to " (signed_in.user.email) "." }
                    p { a.button href="/household" { "Back to the household" } }
                }
            },
        );
        return Ok(layout::html(StatusCode::OK, view));
    }
    csrf::require_anonymous_token(&state.config.jwt_secret, &jar, &form.csrf, "new verification link")?;
    match accounts::resend_verification(&state, &form.email).await {
        Ok(()) => Ok(layout::html(
            StatusCode::OK,
            message_page(
                "Check your email",
                "If an account uses this address and it is not confirmed yet, a new link to confirm it is on its \
                 way there.",
            ),
        )),
        Err(e) if e.code == ErrorCode::ValidationFailed => {
            Ok(layout::html(e.code.status(), resend_view(&state, &form.csrf, &form.email, &FormErrors::from_api(&e))))
        }
        Err(e) => Err(e.into()),
    }
}

fn confirm_view(csrf: &str, token: &str) -> Markup {
    layout::page(
        "Confirm your email address",
        Header::SignedOut,
        html! {
            section.panel.narrow aria-labelledby="page-title" {
                h1 #page-title { "Confirm your email address" }
                p.lead { "One click, and Petty knows this address is yours." }
                form.form method="post" action="/verify-email" {
                    (layout::csrf_field(csrf))
                    input type="hidden" name="token" value=(token);
                    div.actions { button.button type="submit" { "Confirm my address" } }
                }
            }
        },
    )
}

const FIELDS: [(&str, &str); 1] = [("email", "Email")];

fn resend_view(state: &AppState, csrf: &str, email: &str, errors: &FormErrors) -> Markup {
    layout::page(
        "Confirm your email address",
        Header::SignedOut,
        html! {
            section.panel.narrow aria-labelledby="page-title" {
                h1 #page-title { "Confirm your email address" }
                (layout::error_summary(errors, &FIELDS))
                @if state.app.notifier.can_email() {
                    p.lead { "Give the email address of your account: we will send it a new link to confirm it." }
                    form.form method="post" action="/verify-email/resend" novalidate {
                        (layout::csrf_field(csrf))
                        (layout::input(&Input {
                            name: "email", label: "Email", kind: "email", value: email,
                            autocomplete: Some("email"), maxlength: Some(254), required: true, ..Input::default()
                        }, errors))
                        div.actions { button.button type="submit" { "Send me a new link" } }
                    }
                } @else {
                    p.lead { "This Petty server cannot send email, so there is no link to confirm an address with." }
                }
                p.switch { a href="/login" { "Back to sign in" } }
            }
        },
    )
}
