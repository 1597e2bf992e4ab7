//! `/settings`: the household's alarm settings, each a page of its own: contacts and escalation
//! (`settings/contacts.rs`), alarm rules with a preview of what a rule would have raised
//! (`settings/rules.rs`) and webhooks with a test delivery (`settings/webhooks.rs`). Every
//! change goes through `petty_app::alarm_settings`, the use cases the API calls, so a page
//! refuses what the API refuses, in the same words, beside the field. Each page opens to the
//! roles the API lets read it and shows its forms only to those it lets write.

pub(crate) mod contacts;
pub(crate) mod rules;
pub(crate) mod webhooks;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use petty_app::alarm_settings::SettingsError;
use petty_core::accounts::Permission;
use petty_core::{FieldError, Invalid};
use petty_http::AppState;

use super::PageError;
use super::layout::{self, Header};
use super::session::SignedIn;

/// A settings use case's refusal: bad input to show beside its fields, or a page error.
fn split(e: SettingsError) -> Result<Invalid, PageError> {
    match e {
        SettingsError::Invalid(invalid) => Ok(invalid),
        SettingsError::NotFound(_) => Err(PageError::NotFound),
        SettingsError::Store(e) => Err(e.into()),
    }
}

/// An optional number from a form field: empty is `None`; anything else must parse, or the
/// field's error is noted.
fn optional_number<T: std::str::FromStr>(
    errors: &mut Vec<FieldError>,
    field: &str,
    raw: &str,
    what: &str,
) -> Option<T> {
    let text = raw.trim();
    if text.is_empty() {
        return None;
    }
    match text.parse() {
        Ok(v) => Some(v),
        Err(_) => {
            errors.push(FieldError::new(field, "type", format!("{field} must be {what}")));
            None
        }
    }
}

/// A required number from a form field (its error noted when empty or not a number).
fn number<T: std::str::FromStr>(errors: &mut Vec<FieldError>, field: &str, raw: &str, what: &str) -> Option<T> {
    if raw.trim().is_empty() {
        errors.push(FieldError::new(field, "required", format!("{field} must be {what}")));
        return None;
    }
    optional_number(errors, field, raw, what)
}

/// Text that is `None` when left empty.
fn optional_text(raw: &str) -> Option<String> {
    let text = raw.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

/// An id from the URL; one that is not an id is simply not found.
fn id_of(raw: &str) -> Result<uuid::Uuid, PageError> {
    raw.parse().map_err(|_| PageError::NotFound)
}

/// The severities, most severe first, as a choice offers them.
const SEVERITIES: [(&str, &str); 5] =
    [("critical", "Critical"), ("major", "Major"), ("minor", "Minor"), ("warning", "Warning"), ("info", "Info")];

#[tracing::instrument(skip_all, fields(household_id = %signed_in.membership.household_id))]
pub(crate) async fn settings_page(State(_state): State<AppState>, signed_in: SignedIn) -> Result<Response, PageError> {
    signed_in.require(Permission::Read)?;
    let chrome = signed_in.chrome();
    let view = layout::page(
        "Settings",
        Header::SignedIn(&chrome),
        html! {
            div.page-head { div { h1 { "Settings" } p.lead { "How " (signed_in.membership.household_name) " hears about alarms." } } }
            ul.link-list {
                li { a href="/settings/contacts" { "Contacts and escalation" } " — who is told about an alarm, how, and when the next person is." }
                li { a href="/settings/rules" { "Alarm rules" } " — what raises an alarm, with a preview of what a rule would have raised." }
                @if signed_in.can(Permission::ManageHousehold) {
                    li { a href="/settings/webhooks" { "Webhooks" } " — other systems told of every alarm, with a test delivery." }
                }
            }
        },
    );
    Ok(layout::html(StatusCode::OK, view))
}

/// The page head of a settings page, with the way back to `/settings`.
fn head(title: &str, lead: Markup) -> Markup {
    html! {
        p { a href="/settings" { "← Settings" } }
        div.page-head { div { h1 { (title) } p.lead { (lead) } } }
    }
}
