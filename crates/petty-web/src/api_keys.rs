//! `/household/api-keys`: keys for integrations. Anyone who may see the household makes one,
//! with no more than their role allows (the API's rule, `ApiKeyScope::within`), after a fresh
//! second factor when they have one; the key is shown once, on the page that answers the form,
//! with a `curl` line that uses it. Owners also see every key of the household, with when it
//! was last used, and revoke it: keys are looked up on every request, so a revoked key is
//! refused from the next one.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use petty_core::accounts::{API_KEY_NAME_MAX, ApiKeyScope, Permission, parse_api_key_name};
use petty_core::ids::ApiKeyId;
use petty_core::pets::format_date;
use petty_core::{FieldError, Invalid};
use petty_http::AppState;
use petty_http::extract::ClientIp;
use petty_store::{ApiKey, StoreError};
use serde::Deserialize;
use time::OffsetDateTime;
use uuid::Uuid;

use super::PageError;
use super::csrf::CsrfForm;
use super::layout::{self, FormErrors, Header, Input, Select};
use super::session::SignedIn;

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct KeyForm {
    csrf: String,
    name: String,
    scope: String,
    /// A fresh code of the authenticator app, when the person has two-step sign-in.
    code: String,
}

const FIELDS: [(&str, &str); 2] = [("name", "Name"), ("scope", "Scope")];

fn scope_label(scope: ApiKeyScope) -> &'static str {
    match scope {
        ApiKeyScope::Read => "Read: see the household's data",
        ApiKeyScope::Write => "Write: also add and change pets, devices, readings and care",
        ApiKeyScope::Admin => "Admin: everything, members and keys included",
    }
}

/// The key's name and scope, with the API's rules: a key never does more than its maker.
fn parse(signed_in: &SignedIn, form: &KeyForm) -> Result<(String, ApiKeyScope), Invalid> {
    let mut errors = Vec::new();
    let name = parse_api_key_name("name", &form.name).map_err(|e| errors.extend(e.0)).ok();
    let scope = form.scope.trim().parse::<ApiKeyScope>().map_err(|e| errors.extend(e.0)).ok();
    let role = signed_in.membership.role;
    if let Some(scope) = scope
        && !scope.within(role)
    {
        let allowed: Vec<&str> = ApiKeyScope::ALL.iter().filter(|s| s.within(role)).map(|s| s.as_str()).collect();
        errors.push(FieldError::new(
            "scope",
            "not_allowed",
            format!("a key cannot do more than its maker: a {role} may make keys of scope {}", allowed.join(" or ")),
        ));
    }
    match (name, scope) {
        (Some(name), Some(scope)) if errors.is_empty() => Ok((name, scope)),
        _ => Err(Invalid(errors)),
    }
}

async fn keys_page_with(
    state: &AppState,
    signed_in: &SignedIn,
    status: StatusCode,
    form: &KeyForm,
    errors: &FormErrors,
) -> Result<Response, PageError> {
    let owner = signed_in.can(Permission::ManageHousehold);
    let keys = if owner { state.store.list_api_keys(signed_in.membership.household_id).await? } else { Vec::new() };
    let mfa_on = petty_app::mfa::is_enabled(&state.app, signed_in.user.id).await?;
    let role = signed_in.membership.role;
    let options: Vec<(&str, &str)> =
        ApiKeyScope::ALL.iter().filter(|s| s.within(role)).map(|s| (s.as_str(), scope_label(*s))).collect();
    let chrome = signed_in.chrome();
    let view = layout::page(
        "API keys",
        Header::SignedIn(&chrome),
        html! {
            p { a href="/household" { "Household" } }
            div.page-head {
                div {
                    h1 { "API keys" }
                    p.lead { "Keys let other programs use " (signed_in.membership.household_name) " through Petty's API. A key never does more than the person who made it." }
                }
            }
            section.section aria-labelledby="new-key-title" {
                h2 #new-key-title { "Make a key" }
                form.form method="post" action="/household/api-keys" novalidate {
                    (layout::error_summary(errors, &FIELDS))
                    (layout::csrf_field(&signed_in.csrf))
                    (layout::input(&Input { name: "name", label: "Name", value: &form.name, maxlength: Some(API_KEY_NAME_MAX), required: true,
                        hint: Some("What the key is for, like “Home Assistant”."), ..Input::default() }, errors))
                    (layout::select(&Select { name: "scope", label: "Scope", hint: None, options: &options, selected: &form.scope,
                        placeholder: Some("Choose what it may do"), required: true }, errors))
                    @if mfa_on {
                        (layout::input(&Input { name: "code", label: "Code from your authenticator app", inputmode: Some("numeric"),
                            autocomplete: Some("one-time-code"), hint: Some("Or a backup code. Not asked again for 10 minutes."), ..Input::default() }, errors))
                    }
                    button.button type="submit" { "Make the key" }
                }
            }
            @if owner {
                section.section aria-labelledby="keys-title" {
                    h2 #keys-title { "The household's keys" }
                    @if keys.is_empty() { p { "No keys yet." } } @else {
                        table.members {
                            thead { tr { th scope="col" { "Name" } th scope="col" { "Scope" } th scope="col" { "Made" } th scope="col" { "Last used" } th scope="col" { "Revoke" } } }
                            tbody { @for key in &keys { (key_row(signed_in, key)) } }
                        }
                    }
                }
            }
        },
    );
    Ok(layout::html(status, view))
}

fn key_row(signed_in: &SignedIn, key: &ApiKey) -> Markup {
    html! {
        tr {
            th scope="row" { (key.name) br; code.hint { (key.prefix) "…" } }
            td { span.badge { (key.scope.as_str()) } }
            td { (format_date(key.created_at.date())) }
            td { @if let Some(used) = key.last_used_at { (format_date(used.date())) } @else { "Never" } }
            td {
                @if let Some(revoked) = key.revoked_at {
                    "Revoked " (format_date(revoked.date()))
                } @else {
                    form method="post" action={ "/household/api-keys/" (key.id.0) "/revoke" } {
                        (layout::csrf_field(&signed_in.csrf))
                        button.button.button-danger type="submit" aria-label={ "Revoke " (key.name) } { "Revoke" }
                    }
                }
            }
        }
    }
}

/// The one page that shows a key.
fn key_view(signed_in: &SignedIn, created: &ApiKey, key: &str, server: &str) -> Markup {
    let chrome = signed_in.chrome();
    html! {
        (layout::page(&format!("Key {}", created.name), Header::SignedIn(&chrome), html! {
            p { a href="/household/api-keys" { "All API keys" } }
            h1 { "The key “" (created.name) "”" }
            section.panel aria-labelledby="key-title" {
                h2 #key-title { "Copy it now" }
                p { "This is the only time the key is shown: Petty keeps only a fingerprint of it. Scope: " strong { (created.scope.as_str()) } "." }
                p.token-value { code #api-key { (key) } }
                h3 { "Try it" }
                pre.code-block { code { "curl -H \"Authorization: Bearer " (key) "\" " (server) "/api/v1/pets" } }
                p.hint { "Programs send it in the " code { "Authorization: Bearer" } " header, or in " code { "X-API-Key" } "." }
            }
        }))
    }
}

#[tracing::instrument(skip_all, fields(household_id = %signed_in.membership.household_id))]
pub(crate) async fn keys_page(State(state): State<AppState>, signed_in: SignedIn) -> Result<Response, PageError> {
    signed_in.require(Permission::Read)?;
    keys_page_with(&state, &signed_in, StatusCode::OK, &KeyForm::default(), &FormErrors::none()).await
}

#[tracing::instrument(skip_all, fields(household_id = %signed_in.membership.household_id))]
pub(crate) async fn create_key(
    State(state): State<AppState>,
    signed_in: SignedIn,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(form): Form<KeyForm>,
) -> Result<Response, PageError> {
    signed_in.check_csrf(&state, &form.csrf)?;
    signed_in.require(Permission::Read)?;
    let (name, scope) = match parse(&signed_in, &form) {
        Ok(parsed) => parsed,
        Err(invalid) => {
            let errors = FormErrors::from_invalid(invalid);
            return keys_page_with(&state, &signed_in, StatusCode::UNPROCESSABLE_ENTITY, &form, &errors).await;
        }
    };
    if let Err(e) = super::security::fresh_mfa(&state, &signed_in, &form.code).await {
        let errors = FormErrors::from_api(&e);
        return keys_page_with(&state, &signed_in, e.code.status(), &form, &errors).await;
    }
    let household_id = signed_in.membership.household_id;
    let (created, key) =
        petty_app::access::make_api_key(&state.app, household_id, Some(signed_in.user.id), name, scope).await?;
    tracing::info!(api_key_id = %created.id.0, "API key made from the dashboard");
    signed_in
        .audit(&state, ip, "create", "api_key", created.id.0, petty_app::audit::fields(&["name", "scope"]))
        .await?;
    let scheme = if state.config.secure_cookies { "https" } else { "http" };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    let server = format!("{scheme}://{host}");
    Ok(layout::html(StatusCode::CREATED, key_view(&signed_in, &created, &key, &server)))
}

#[tracing::instrument(skip_all, fields(household_id = %signed_in.membership.household_id, api_key_id = %id))]
pub(crate) async fn revoke_key(
    State(state): State<AppState>,
    signed_in: SignedIn,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    signed_in.check_csrf(&state, &form.csrf)?;
    signed_in.require(Permission::ManageHousehold)?;
    let id = ApiKeyId(id.parse::<Uuid>().map_err(|_| PageError::NotFound)?);
    let household_id = signed_in.membership.household_id;
    state.store.revoke_api_key(household_id, id, OffsetDateTime::now_utc()).await.map_err(|e| match e {
        StoreError::NotFound => PageError::NotFound,
        other => other.into(),
    })?;
    tracing::info!("API key revoked from the dashboard");
    signed_in.audit(&state, ip, "revoke", "api_key", id.0, petty_app::audit::no_detail()).await?;
    Ok(Redirect::to("/household/api-keys").into_response())
}
