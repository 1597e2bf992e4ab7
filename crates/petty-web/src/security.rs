//! `/account/security`: the person's second factor (set up with a QR code drawn on the server,
//! turned on with a code, the backup codes shown once, turned off with the password and a
//! code), their live sign-ins with a button to revoke each or all others, and their sign-in
//! history. `/household/audit`: the household's audit log (owners see every entry, everyone
//! else their own).
//!
//! Step-up on the dashboard: a sensitive form passes when the session proved a second factor
//! within the last 10 minutes (at sign-in or at an earlier check), and otherwise needs a code
//! in the form; a good code counts as a fresh check for the next 10 minutes ([`fresh_mfa`]).

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use maud::{Markup, PreEscaped, html};
use petty_core::accounts::Permission;
use petty_core::paging::{Page, PageRequest};
use petty_http::{ApiError, AppState, ErrorCode};
use petty_store::{AuditActorKind, AuditEntry, AuditFilter, LiveSignIn, Login};
use serde::Deserialize;
use time::OffsetDateTime;

use super::PageError;
use super::csrf::CsrfForm;
use super::layout::{self, FormErrors, Header, Input, csrf_field};
use super::session::{self, SignedIn};

/// How long a proved second factor counts as fresh for the dashboard's sensitive forms.
pub(crate) const STEP_UP_WINDOW: time::Duration = time::Duration::minutes(10);

fn when(t: OffsetDateTime) -> String {
    petty_app::rfc3339::format(t)
        .map_or_else(String::new, |b| String::from_utf8_lossy(&b[..16]).replace('T', " ") + " UTC")
}

/// The dashboard's step-up guard: passes a person without MFA, or whose session proved it
/// within [`STEP_UP_WINDOW`]; otherwise checks `code` (the form's field) and, when it holds,
/// notes the fresh check on the session.
pub(crate) async fn fresh_mfa(state: &AppState, signed_in: &SignedIn, code: &str) -> Result<(), ApiError> {
    let user_id = signed_in.user.id;
    if !petty_app::mfa::is_enabled(&state.app, user_id).await? {
        return Ok(());
    }
    let now = OffsetDateTime::now_utc();
    if state.store.web_session_mfa_at(signed_in.session.id).await?.is_some_and(|at| now - at <= STEP_UP_WINDOW) {
        return Ok(());
    }
    petty_http::stepup::require_fresh_mfa(state, user_id, Some(code)).await?;
    state.store.mark_web_session_mfa(signed_in.session.id, now).await?;
    Ok(())
}

/// The setup's QR code as inline SVG (no script, no image request).
pub(crate) fn qr_svg(url: &str) -> Option<String> {
    let code = qrcode::QrCode::new(url.as_bytes()).ok()?;
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .dark_color(qrcode::render::svg::Color("#000000"))
        .light_color(qrcode::render::svg::Color("#ffffff"))
        .build();
    // Inline in HTML: without the XML declaration.
    Some(svg.find("<svg").map_or(svg.clone(), |i| svg[i..].to_owned()))
}

struct SecurityView {
    mfa_on: bool,
    backup_codes_left: u32,
    setup: Option<petty_app::mfa::Setup>,
    sign_ins: Vec<LiveSignIn>,
    logins: Page<Login>,
}

async fn load(state: &AppState, signed_in: &SignedIn) -> Result<SecurityView, PageError> {
    let user_id = signed_in.user.id;
    let record = state.store.mfa_record(user_id).await?;
    let setup = if record.enabled() {
        None
    } else {
        petty_app::mfa::pending(&state.app, user_id, &signed_in.user.email).await?
    };
    let now = OffsetDateTime::now_utc();
    let sign_ins = state.store.live_sign_ins(user_id, now - state.config.signin.trusted_device_ttl, now).await?;
    let logins = state.store.list_logins(user_id, PageRequest { page: 1, page_size: 20 }).await?;
    Ok(SecurityView { mfa_on: record.enabled(), backup_codes_left: record.backup_codes_left, setup, sign_ins, logins })
}

pub(crate) async fn security_page(State(state): State<AppState>, signed_in: SignedIn) -> Result<Response, PageError> {
    let view = load(&state, &signed_in).await?;
    Ok(layout::html(StatusCode::OK, security_view(&signed_in, &view, &FormErrors::none(), None)))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct CodeForm {
    csrf: String,
    code: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct DisableForm {
    csrf: String,
    password: String,
    code: String,
}

pub(crate) async fn mfa_setup(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    signed_in.check_csrf(&state, &form.csrf)?;
    match petty_app::mfa::setup(&state.app, signed_in.user.id, &signed_in.user.email).await {
        Ok(_) | Err(petty_app::mfa::MfaError::AlreadyEnabled) => Ok(Redirect::to("/account/security").into_response()),
        Err(e) => Err(petty_http::accounts::mfa_error(e).into()),
    }
}

/// A refusal shown on the security page, with its status.
async fn again(state: &AppState, signed_in: &SignedIn, e: ApiError) -> Result<Response, PageError> {
    if matches!(e.code, ErrorCode::Internal | ErrorCode::Unavailable | ErrorCode::Forbidden) {
        return Err(e.into());
    }
    let errors = match e.code {
        ErrorCode::InvalidMfaCode => FormErrors::general(
            "That code is not right, or it was already used. Enter the newest code of your app, or a backup code.",
        ),
        ErrorCode::MfaRequired => FormErrors::general("Enter a code from your authenticator app, or a backup code."),
        _ => FormErrors::from_api(&e),
    };
    let view = load(state, signed_in).await?;
    Ok(layout::html(e.code.status(), security_view(signed_in, &view, &errors, None)))
}

pub(crate) async fn mfa_verify(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Form(form): Form<CodeForm>,
) -> Result<Response, PageError> {
    signed_in.check_csrf(&state, &form.csrf)?;
    match petty_app::mfa::enable(&state.app, signed_in.user.id, &form.code).await {
        Ok(codes) => {
            // Proving the code is a fresh check too.
            state.store.mark_web_session_mfa(signed_in.session.id, OffsetDateTime::now_utc()).await?;
            let view = load(&state, &signed_in).await?;
            Ok(layout::html(StatusCode::OK, security_view(&signed_in, &view, &FormErrors::none(), Some(&codes))))
        }
        Err(e) => again(&state, &signed_in, petty_http::accounts::mfa_error(e)).await,
    }
}

pub(crate) async fn mfa_disable(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Form(form): Form<DisableForm>,
) -> Result<Response, PageError> {
    signed_in.check_csrf(&state, &form.csrf)?;
    let credentials = state.store.user_credentials(signed_in.user.id).await?;
    if !petty_http::auth::verify_password_async(form.password, credentials.password_hash).await? {
        let e = ApiError::field(ErrorCode::InvalidCredentials, "password", "mismatch", "The password is wrong.");
        return again(&state, &signed_in, e).await;
    }
    if let Err(e) = fresh_mfa(&state, &signed_in, &form.code).await {
        return again(&state, &signed_in, e).await;
    }
    petty_app::mfa::disable(&state.app, signed_in.user.id).await?;
    Ok(Redirect::to("/account/security").into_response())
}

pub(crate) async fn revoke_sign_in(
    State(state): State<AppState>,
    signed_in: SignedIn,
    jar: CookieJar,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    signed_in.check_csrf(&state, &form.csrf)?;
    let id: uuid::Uuid = id.parse().map_err(|_| PageError::NotFound)?;
    state.store.revoke_sign_in(signed_in.user.id, id, OffsetDateTime::now_utc()).await?;
    if id == signed_in.session.id.0 {
        return Ok((session::end(jar), Redirect::to("/login")).into_response());
    }
    Ok(Redirect::to("/account/security").into_response())
}

pub(crate) async fn revoke_others(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    signed_in.check_csrf(&state, &form.csrf)?;
    let keep = petty_store::CurrentSignIn { session: Some(signed_in.session.id), ..Default::default() };
    state.store.revoke_other_sign_ins(signed_in.user.id, keep, OffsetDateTime::now_utc()).await?;
    Ok(Redirect::to("/account/security").into_response())
}

const FIELDS: [(&str, &str); 2] = [("password", "Password"), ("code", "Code")];

fn kind_label(s: &LiveSignIn) -> &'static str {
    match s.kind {
        petty_store::SignInKind::Api => "App or integration (API)",
        petty_store::SignInKind::Dashboard => "Browser (dashboard)",
        petty_store::SignInKind::TrustedDevice => "Remembered device",
    }
}

fn outcome_label(outcome: &str) -> &str {
    match outcome {
        "success" => "Signed in",
        "wrong_password" => "Wrong password",
        "mfa_required" => "Password right, code asked",
        "invalid_mfa_code" => "Wrong code",
        "throttled" => "Held back after failures",
        "unverified" => "Address not confirmed",
        "no_membership" => "No household to enter",
        other => other,
    }
}

fn security_view(
    signed_in: &SignedIn,
    view: &SecurityView,
    errors: &FormErrors,
    new_codes: Option<&[String]>,
) -> Markup {
    let chrome = signed_in.chrome();
    let csrf = &signed_in.csrf;
    layout::page(
        "Security",
        Header::SignedIn(&chrome),
        html! {
            div.page-head { div {
                h1 { "Security" }
                p.lead { "Your second sign-in step, where you are signed in, and every attempt to sign in to your account." }
            } }
            (layout::error_summary(errors, &FIELDS))
            section.section aria-labelledby="mfa-title" {
                h2 #mfa-title { "Two-step sign-in" }
                @if let Some(codes) = new_codes {
                    div.notice role="status" {
                        p { strong { "Two-step sign-in is on." } " Keep these backup codes somewhere safe: each works once, when your phone is not at hand. They are shown only now." }
                        ul.backup-codes { @for code in codes { li { code { (code) } } } }
                    }
                }
                @if view.mfa_on {
                    p { "On. " (view.backup_codes_left) " backup codes left." }
                    form.form method="post" action="/account/security/mfa/disable" novalidate {
                        (csrf_field(csrf))
                        (layout::input(&Input { name: "password", label: "Password", kind: "password", autocomplete: Some("current-password"), required: true, ..Input::default() }, errors))
                        (layout::input(&Input { name: "code", label: "Code", hint: Some("From your authenticator app, or a backup code (not needed within 10 minutes of the last one)"), autocomplete: Some("one-time-code"), ..Input::default() }, errors))
                        div.actions { button.button.button-secondary type="submit" { "Turn two-step sign-in off" } }
                    }
                } @else if let Some(setup) = &view.setup {
                    p { "Scan this code with an authenticator app, or type the key into it, then enter the 6 digits it shows." }
                    @if let Some(svg) = qr_svg(&setup.otpauth_url) {
                        figure.qr { (PreEscaped(svg)) figcaption { "Key: " code { (setup.secret) } } }
                    } @else {
                        p { "Key: " code { (setup.secret) } }
                    }
                    form.form method="post" action="/account/security/mfa/verify" novalidate {
                        (csrf_field(csrf))
                        (layout::input(&Input { name: "code", label: "Code", autocomplete: Some("one-time-code"), required: true, ..Input::default() }, errors))
                        div.actions { button.button type="submit" { "Turn two-step sign-in on" } }
                    }
                } @else {
                    p { "Off. With it on, signing in also asks for a code from an app on your phone." }
                    form method="post" action="/account/security/mfa/setup" {
                        (csrf_field(csrf))
                        button.button type="submit" { "Set up two-step sign-in" }
                    }
                }
            }
            section.section aria-labelledby="sessions-title" {
                div.section-head {
                    h2 #sessions-title { "Where you are signed in" }
                    form method="post" action="/account/security/sessions/revoke-others" {
                        (csrf_field(csrf))
                        button.button.button-secondary type="submit" { "Sign out everywhere else" }
                    }
                }
                div.table-scroll { table.data-table {
                    thead { tr { th scope="col" { "What" } th scope="col" { "Since" } th scope="col" { "Last used" } th scope="col" { "From" } th scope="col" { span.visually-hidden { "Actions" } } } }
                    tbody {
                        @for s in &view.sign_ins {
                            tr {
                                td { (kind_label(s)) @if s.id == signed_in.session.id.0 { " " strong { "(this browser)" } } }
                                td { (when(s.created_at)) }
                                td { (when(s.last_used_at)) }
                                td { (s.origin.address.as_deref().unwrap_or("unknown")) br; small { (s.origin.user_agent.as_deref().unwrap_or("")) } }
                                td {
                                    form method="post" action={ "/account/security/sessions/" (s.id) "/revoke" } {
                                        (csrf_field(csrf))
                                        button.button.button-quiet type="submit" { @if s.id == signed_in.session.id.0 { "Sign out" } @else { "Revoke" } }
                                    }
                                }
                            }
                        }
                    }
                } }
            }
            section.section aria-labelledby="logins-title" {
                h2 #logins-title { "Recent sign-in attempts" }
                div.table-scroll { table.data-table {
                    thead { tr { th scope="col" { "When" } th scope="col" { "Result" } th scope="col" { "From" } } }
                    tbody {
                        @for l in &view.logins.items {
                            tr data-outcome=(l.outcome) {
                                td { (when(l.at)) }
                                td { (outcome_label(&l.outcome)) }
                                td { (l.origin.address.as_deref().unwrap_or("unknown")) br; small { (l.origin.user_agent.as_deref().unwrap_or("")) } }
                            }
                        }
                    }
                } }
            }
        },
    )
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct AuditQuery {
    page: Option<u32>,
    entity_type: String,
    entity_id: String,
}

pub(crate) async fn audit_page(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Query(query): Query<AuditQuery>,
) -> Result<Response, PageError> {
    signed_in.require(Permission::Read)?;
    let household_id = signed_in.membership.household_id;
    let request = PageRequest { page: query.page.unwrap_or(1).max(1), page_size: 50 };
    let clean = |s: &str, max: usize| Some(s.trim().chars().take(max).collect::<String>()).filter(|s| !s.is_empty());
    let mut filter = AuditFilter {
        entity_type: clean(&query.entity_type, 40),
        entity_id: clean(&query.entity_id, 100),
        actor_id: None,
    };
    let sees_all = signed_in.can(Permission::ManageHousehold);
    if !sees_all {
        filter.actor_id = Some(signed_in.user.id.0);
    }
    let entries = state.store.list_audit(household_id, &filter, request).await?;
    let members = state.store.list_members(household_id).await?;
    let keys = if sees_all { state.store.list_api_keys(household_id).await? } else { Vec::new() };
    let name_of = |e: &AuditEntry| -> String {
        match (e.actor_kind, e.actor_id) {
            (AuditActorKind::User, Some(id)) => members
                .iter()
                .find(|m| m.user.id.0 == id)
                .map_or_else(|| "a former member".to_owned(), |m| m.user.display_name.clone()),
            (AuditActorKind::ApiKey, Some(id)) => keys
                .iter()
                .find(|k| k.id.0 == id)
                .map_or_else(|| "an API key".to_owned(), |k| format!("API key “{}”", k.name)),
            (AuditActorKind::System, _) => "Petty".to_owned(),
            _ => "a deleted account".to_owned(),
        }
    };
    let chrome = signed_in.chrome();
    let markup = layout::page(
        "Audit log",
        Header::SignedIn(&chrome),
        html! {
            div.page-head { div {
                h1 { "Audit log" }
                p.lead { @if sees_all { "Who changed what in " (signed_in.membership.household_name) ", newest first." } @else { "What you changed in " (signed_in.membership.household_name) ", newest first." } }
            } }
            form.form.filters method="get" action="/household/audit" {
                (layout::input(&Input { name: "entity_type", label: "Kind of record", value: &query.entity_type, hint: Some("pet, device, member, invitation, api_key, alarm, household"), ..Input::default() }, &FormErrors::none()))
                (layout::input(&Input { name: "entity_id", label: "Record id", value: &query.entity_id, ..Input::default() }, &FormErrors::none()))
                div.actions { button.button.button-secondary type="submit" { "Filter" } }
            }
            @if entries.items.is_empty() {
                div.empty { h3 { "Nothing yet" } p { "Changes to pets, devices, people and settings show up here." } }
            } @else {
                div.table-scroll { table.data-table {
                    thead { tr { th scope="col" { "When" } th scope="col" { "Who" } th scope="col" { "Did" } th scope="col" { "To" } th scope="col" { "Changed" } th scope="col" { "From" } } }
                    tbody {
                        @for e in &entries.items {
                            tr {
                                td { (when(e.at)) }
                                td { (name_of(e)) }
                                td { (e.action) }
                                td { (e.entity_type) " " small { (e.entity_id) } }
                                td { (changed(&e.detail)) }
                                td { (e.address.as_deref().unwrap_or("")) }
                            }
                        }
                    }
                } }
                @if entries.has_next() || request.page > 1 {
                    nav.pager aria-label="Pages" {
                        @if request.page > 1 { a href={ "/household/audit?page=" (request.page - 1) "&entity_type=" (enc(&query.entity_type)) "&entity_id=" (enc(&query.entity_id)) } { "Newer" } }
                        " "
                        @if entries.has_next() { a href={ "/household/audit?page=" (request.page + 1) "&entity_type=" (enc(&query.entity_type)) "&entity_id=" (enc(&query.entity_id)) } { "Older" } }
                    }
                }
            }
        },
    );
    Ok(layout::html(StatusCode::OK, markup))
}

/// A query value, percent-encoded.
fn enc(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The field names of an entry's detail, as a list for people.
fn changed(detail: &str) -> String {
    serde_json::from_str::<serde_json::Value>(detail)
        .ok()
        .and_then(|v| v.get("fields").and_then(|f| f.as_array()).cloned())
        .map(|fields| fields.iter().filter_map(|f| f.as_str()).collect::<Vec<_>>().join(", "))
        .unwrap_or_default()
}
