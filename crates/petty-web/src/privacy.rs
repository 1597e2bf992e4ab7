//! `/account/data`: download everything of yours (a zip), and delete your account for good.
//! Both need the password (deletion) and, with MFA on, a code or a check within 10 minutes.

use axum::Form;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use maud::{Markup, html};
use petty_app::privacy::PrivacyError;
use petty_http::AppState;
use petty_http::auth::verify_password_async;
use serde::Deserialize;

use super::PageError;
use super::layout::{self, FormErrors, Header, Input};
use super::session::SignedIn;

pub(crate) async fn data_page(signed_in: SignedIn) -> Response {
    layout::html(StatusCode::OK, view(&signed_in, &FormErrors::none()))
}

fn view(signed_in: &SignedIn, errors: &FormErrors) -> Markup {
    let chrome = signed_in.chrome();
    let fields = [("code", "Code from your authenticator app"), ("password", "Your password")];
    layout::page(
        "Your data",
        Header::SignedIn(&chrome),
        html! {
            h1 { "Your data" }
            (layout::error_summary(errors, &fields))
            section.section aria-labelledby="export-title" {
                h2 #export-title { "Download everything" }
                p { "A zip of everything Petty holds of yours and your households': pets, records, reminders, weights, devices and their readings, alarms, your sign-ins and changes, the calendar and the files, with a manifest of checksums." }
                form.form method="post" action="/account/data/export" {
                    (layout::csrf_field(&signed_in.csrf))
                    (layout::input(&Input { name: "code", label: fields[0].1, hint: Some("Only if you turned on two-step sign-in."), autocomplete: Some("one-time-code"), ..Input::default() }, errors))
                    button.button type="submit" { "Download my data" }
                }
            }
            section.section.danger-zone aria-labelledby="delete-title" {
                h2 #delete-title { "Delete your account" }
                p { "Your households that nobody else belongs to are deleted with everything in them, their files too, and any paid plan is cancelled. Your sign-ins end at once. This cannot be undone." }
                form.form method="post" action="/account/data/delete" {
                    (layout::csrf_field(&signed_in.csrf))
                    (layout::input(&Input { name: "password", label: fields[1].1, kind: "password", autocomplete: Some("current-password"), required: true, ..Input::default() }, errors))
                    (layout::input(&Input { name: "code", label: fields[0].1, hint: Some("Only if you turned on two-step sign-in."), autocomplete: Some("one-time-code"), ..Input::default() }, errors))
                    button.button.button-danger type="submit" { "Delete my account" }
                }
            }
        },
    )
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct DataForm {
    csrf: String,
    code: String,
    password: String,
}

pub(crate) async fn export(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Form(form): Form<DataForm>,
) -> Result<Response, PageError> {
    signed_in.check_csrf(&state, &form.csrf)?;
    if let Err(e) = super::security::fresh_mfa(&state, &signed_in, &form.code).await {
        return Ok(layout::html(StatusCode::UNAUTHORIZED, view(&signed_in, &FormErrors::from_api(&e))));
    }
    let export = petty_app::privacy::export(&state.app, signed_in.user.id).await?;
    let disposition = format!("attachment; filename=\"{}\"", export.filename);
    Ok((
        [
            (header::CONTENT_TYPE, "application/zip".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        export.zip,
    )
        .into_response())
}

pub(crate) async fn delete(
    State(state): State<AppState>,
    signed_in: SignedIn,
    jar: CookieJar,
    Form(form): Form<DataForm>,
) -> Result<Response, PageError> {
    signed_in.check_csrf(&state, &form.csrf)?;
    let credentials = state.store.user_credentials(signed_in.user.id).await?;
    if !verify_password_async(form.password.clone(), credentials.password_hash).await? {
        let errors = FormErrors::from_invalid(petty_core::Invalid::one("password", "wrong", "The password is wrong"));
        return Ok(layout::html(StatusCode::UNAUTHORIZED, view(&signed_in, &errors)));
    }
    if let Err(e) = super::security::fresh_mfa(&state, &signed_in, &form.code).await {
        return Ok(layout::html(StatusCode::UNAUTHORIZED, view(&signed_in, &FormErrors::from_api(&e))));
    }
    match petty_app::privacy::delete_account(&state.app, signed_in.user.id).await {
        Ok(()) => {}
        Err(PrivacyError::SoleOwner) => {
            let errors = FormErrors::general(
                "You alone own a household others belong to: make someone else its owner, or remove them, first.",
            );
            return Ok(layout::html(StatusCode::CONFLICT, view(&signed_in, &errors)));
        }
        Err(PrivacyError::Store(e)) => return Err(e.into()),
        Err(PrivacyError::Cleanup(why)) => {
            tracing::warn!(%why, "an account could not be deleted yet");
            return Err(PageError::BadRequest(
                "Files or the payment provider could not be reached, so nothing was deleted. Please try again.".into(),
            ));
        }
    }
    let jar = super::session::end(jar);
    let page = layout::page(
        "Account deleted",
        Header::SignedOut,
        html! { h1 { "Your account is deleted" } p { "Everything that was only yours is gone. Thank you for using Petty." } },
    );
    Ok((jar, layout::html(StatusCode::OK, page)).into_response())
}
