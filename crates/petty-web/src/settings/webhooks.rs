//! `/settings/webhooks`: the household's webhooks, for those who manage the household (the API
//! lists them to nobody else): added (the secret shown once, on the page that answers the
//! form), pointed elsewhere, removed, and sent a signed test event now, with what the receiver
//! answered or why it was not sent (the outbound policy, a timeout) shown on the page.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use petty_app::alarm_settings::{self, TestDelivery};
use petty_core::Invalid;
use petty_core::accounts::Permission;
use petty_core::ids::WebhookId;
use petty_http::AppState;
use petty_http::extract::ClientIp;
use petty_store::Webhook;
use serde::Deserialize;

use super::super::PageError;
use super::super::layout::{self, FormErrors, Header, Input, Select};
use super::super::session::SignedIn;
use super::{SEVERITIES, head, id_of, split};

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub(crate) struct WebhookForm {
    csrf: String,
    url: String,
    min_severity: String,
}

const WEBHOOK_FIELDS: [(&str, &str); 2] = [("url", "Address"), ("min_severity", "Least severe alarm")];

/// What the list page shows besides the webhooks.
#[derive(Default)]
struct Shown<'a> {
    form: Option<&'a WebhookForm>,
    errors: Option<&'a FormErrors>,
    /// A webhook just made, with its secret.
    made: Option<&'a Webhook>,
    /// A test delivery just sent, to which webhook.
    tested: Option<(WebhookId, &'a TestDelivery)>,
}

fn who(signed_in: &SignedIn, ip: std::net::IpAddr) -> petty_app::audit::Who {
    petty_app::audit::Who::actor(&signed_in.actor(), Some(ip))
}

fn refused(e: alarm_settings::SettingsError) -> PageError {
    match split(e) {
        Ok(invalid) => PageError::BadRequest(invalid.to_string()),
        Err(e) => e,
    }
}

async fn list_page(
    state: &AppState,
    signed_in: &SignedIn,
    status: StatusCode,
    shown: Shown<'_>,
) -> Result<Response, PageError> {
    let hooks = state.store.webhooks(signed_in.membership.household_id).await?;
    Ok(layout::html(status, list_view(signed_in, &hooks, shown)))
}

#[tracing::instrument(skip_all, fields(household_id = %signed_in.membership.household_id))]
pub(crate) async fn webhooks_page(State(state): State<AppState>, signed_in: SignedIn) -> Result<Response, PageError> {
    signed_in.require(Permission::ManageHousehold)?;
    list_page(&state, &signed_in, StatusCode::OK, Shown::default()).await
}

#[tracing::instrument(skip_all, fields(household_id = %signed_in.membership.household_id))]
pub(crate) async fn create_webhook(
    State(state): State<AppState>,
    signed_in: SignedIn,
    ClientIp(ip): ClientIp,
    Form(form): Form<WebhookForm>,
) -> Result<Response, PageError> {
    signed_in.check_csrf(&state, &form.csrf)?;
    signed_in.require(Permission::ManageHousehold)?;
    let min = Some(form.min_severity.trim()).filter(|s| !s.is_empty());
    match alarm_settings::create_webhook(&state.app, &who(&signed_in, ip), form.url.trim(), min).await {
        Ok(made) => {
            list_page(&state, &signed_in, StatusCode::CREATED, Shown { made: Some(&made), ..Shown::default() }).await
        }
        Err(e) => {
            let errors = FormErrors::from_invalid(split(e)?);
            let shown = Shown { form: Some(&form), errors: Some(&errors), ..Shown::default() };
            list_page(&state, &signed_in, StatusCode::UNPROCESSABLE_ENTITY, shown).await
        }
    }
}

async fn hook_of(state: &AppState, signed_in: &SignedIn, id: &str) -> Result<Webhook, PageError> {
    let id = WebhookId(id_of(id)?);
    let hooks = state.store.webhooks(signed_in.membership.household_id).await?;
    hooks.into_iter().find(|h| h.id == id).ok_or(PageError::NotFound)
}

#[tracing::instrument(skip_all, fields(household_id = %signed_in.membership.household_id))]
pub(crate) async fn edit_webhook_page(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    signed_in.require(Permission::ManageHousehold)?;
    let hook = hook_of(&state, &signed_in, &id).await?;
    let form = WebhookForm { url: hook.url.clone(), min_severity: hook.min_severity.clone(), ..WebhookForm::default() };
    Ok(layout::html(StatusCode::OK, edit_view(&signed_in, &hook, &form, &FormErrors::none())))
}

#[tracing::instrument(skip_all, fields(household_id = %signed_in.membership.household_id))]
pub(crate) async fn update_webhook(
    State(state): State<AppState>,
    signed_in: SignedIn,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
    Form(form): Form<WebhookForm>,
) -> Result<Response, PageError> {
    signed_in.check_csrf(&state, &form.csrf)?;
    signed_in.require(Permission::ManageHousehold)?;
    let hook = hook_of(&state, &signed_in, &id).await?;
    let min = Some(form.min_severity.trim()).filter(|s| !s.is_empty());
    match alarm_settings::update_webhook(&state.app, &who(&signed_in, ip), hook.id, form.url.trim(), min).await {
        Ok(_) => Ok(Redirect::to("/settings/webhooks").into_response()),
        Err(e) => {
            let invalid: Invalid = split(e)?;
            let errors = FormErrors::from_invalid(invalid);
            Ok(layout::html(StatusCode::UNPROCESSABLE_ENTITY, edit_view(&signed_in, &hook, &form, &errors)))
        }
    }
}

#[tracing::instrument(skip_all, fields(household_id = %signed_in.membership.household_id))]
pub(crate) async fn delete_webhook(
    State(state): State<AppState>,
    signed_in: SignedIn,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
    Form(form): Form<crate::csrf::CsrfForm>,
) -> Result<Response, PageError> {
    signed_in.check_csrf(&state, &form.csrf)?;
    signed_in.require(Permission::ManageHousehold)?;
    alarm_settings::delete_webhook(&state.app, &who(&signed_in, ip), WebhookId(id_of(&id)?)).await.map_err(refused)?;
    Ok(Redirect::to("/settings/webhooks").into_response())
}

#[tracing::instrument(skip_all, fields(household_id = %signed_in.membership.household_id))]
pub(crate) async fn test_webhook(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<crate::csrf::CsrfForm>,
) -> Result<Response, PageError> {
    signed_in.check_csrf(&state, &form.csrf)?;
    signed_in.require(Permission::ManageHousehold)?;
    let id = WebhookId(id_of(&id)?);
    let answer =
        alarm_settings::test_webhook(&state.app, signed_in.membership.household_id, id).await.map_err(refused)?;
    list_page(&state, &signed_in, StatusCode::OK, Shown { tested: Some((id, &answer)), ..Shown::default() }).await
}

fn fields(form: &WebhookForm, errors: &FormErrors) -> Markup {
    html! {
        (layout::input(&Input { name: "url", label: "Address", kind: "url", value: &form.url, hint: Some("An http:// or https:// address that takes POSTs. Addresses inside the network are refused."), required: true, ..Input::default() }, errors))
        (layout::select(&Select { name: "min_severity", label: "Least severe alarm", hint: None, options: &SEVERITIES, selected: &form.min_severity, placeholder: Some("Every alarm"), required: false }, errors))
    }
}

fn test_result(answer: &TestDelivery) -> Markup {
    html! {
        @match answer {
            TestDelivery::Delivered { status } => { p.test-result role="status" { "Delivered: the receiver answered " (status) "." } }
            TestDelivery::Refused { reason } => { p.test-result role="alert" { "Not sent: refused by the outbound policy: " (reason) "." } }
            TestDelivery::Failed { reason } => { p.test-result role="alert" { "Not delivered: " (reason) "." } }
        }
    }
}

fn list_view(signed_in: &SignedIn, hooks: &[Webhook], shown: Shown<'_>) -> Markup {
    let chrome = signed_in.chrome();
    let empty_form = WebhookForm::default();
    let no_errors = FormErrors::none();
    layout::page(
        "Webhooks",
        Header::SignedIn(&chrome),
        html! {
            (head("Webhooks", html! { "Every alarm change is POSTed to these addresses as JSON, signed in the " code { "Petty-Signature" } " header." }))
            @if let Some(made) = shown.made {
                div.notice role="status" {
                    p { "Webhook added for " (made.url) ". Its secret signs every delivery; copy it now, it is not shown again:" }
                    p { code.secret { (made.secret) } }
                }
            }
            @if hooks.is_empty() {
                p { "No webhooks yet." }
            } @else {
                ul.card-list {
                    @for hook in hooks {
                        li.card {
                            p { strong { (hook.url) } " · " (hook.min_severity) " and above" }
                            @if let Some((id, answer)) = shown.tested && id == hook.id { (test_result(answer)) }
                            div.form-actions {
                                form.inline method="post" action={ "/settings/webhooks/" (hook.id) "/test" } {
                                    (layout::csrf_field(&signed_in.csrf))
                                    button.button.button-secondary type="submit" { "Send a test" }
                                }
                                a href={ "/settings/webhooks/" (hook.id) } { "Edit" }
                                form.inline method="post" action={ "/settings/webhooks/" (hook.id) "/delete" } {
                                    (layout::csrf_field(&signed_in.csrf))
                                    button.button.button-quiet type="submit" { "Remove" }
                                }
                            }
                        }
                    }
                }
            }
            section.panel aria-labelledby="add-webhook-title" {
                h2 #add-webhook-title { "Add a webhook" }
                @let errors = shown.errors.unwrap_or(&no_errors);
                (layout::error_summary(errors, &WEBHOOK_FIELDS))
                form.form method="post" action="/settings/webhooks" novalidate {
                    (layout::csrf_field(&signed_in.csrf))
                    (fields(shown.form.unwrap_or(&empty_form), errors))
                    button.button type="submit" { "Add the webhook" }
                }
            }
        },
    )
}

fn edit_view(signed_in: &SignedIn, hook: &Webhook, form: &WebhookForm, errors: &FormErrors) -> Markup {
    let chrome = signed_in.chrome();
    layout::page(
        "Edit a webhook",
        Header::SignedIn(&chrome),
        html! {
            p { a href="/settings/webhooks" { "← Webhooks" } }
            h1 { "Edit a webhook" }
            p { "Its secret stays the same." }
            (layout::error_summary(errors, &WEBHOOK_FIELDS))
            form.form method="post" action={ "/settings/webhooks/" (hook.id) } novalidate {
                (layout::csrf_field(&signed_in.csrf))
                (fields(form, errors))
                button.button type="submit" { "Save the webhook" }
            }
        },
    )
}
