//! `/alarms`: the household's open alarms with acknowledge and clear, the recent history, and
//! one alarm's page (what raised it, its trail and its notifications, a comment form). Also the
//! public page behind an acknowledgement link (`/ack/{token}`, which needs no session: the
//! signed token is the permission), and the air monitor's section of a device page (its CO,
//! temperature and humidity charts with its alarm history).

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use maud::{Markup, html};
use petty_app::charts::{self, ChartRequest};
use petty_core::accounts::Permission;
use petty_core::alarm::AlarmState;
use petty_core::chart::ChartKind;
use petty_core::ids::AlarmId;
use petty_core::readings::Metric;
use petty_http::AppState;
use petty_http::extract::ClientIp;
use petty_store::{Alarm, AlarmFilter, Device, StoreError};
use serde::Deserialize;

use super::PageError;
use super::layout::{self, Header, csrf_field};
use super::session::SignedIn;

fn when(t: time::OffsetDateTime) -> String {
    petty_app::rfc3339::format(t)
        .map_or_else(String::new, |b| String::from_utf8_lossy(&b[..16]).replace('T', " ") + " UTC")
}

fn actions(signed_in: &SignedIn, a: &Alarm) -> Markup {
    html! {
        @if signed_in.can(Permission::WriteCare) && a.state != AlarmState::Cleared {
            div.actions {
                @if a.state == AlarmState::Active {
                    form method="post" action={ "/alarms/" (a.id) "/acknowledge" } {
                        (csrf_field(&signed_in.csrf))
                        button type="submit" { "Acknowledge" }
                    }
                }
                form method="post" action={ "/alarms/" (a.id) "/clear" } {
                    (csrf_field(&signed_in.csrf))
                    button.secondary type="submit" { "Clear" }
                }
            }
        }
    }
}

fn alarm_rows(signed_in: &SignedIn, alarms: &[Alarm]) -> Markup {
    html! {
        table.data-table {
            thead { tr {
                th scope="col" { "Severity" } th scope="col" { "Alarm" } th scope="col" { "State" }
                th scope="col" { "Since" } th scope="col" { "Times" } th scope="col" { "" }
            } }
            tbody {
                @for a in alarms {
                    tr data-severity=(a.severity.as_str()) {
                        td { strong { (a.severity.as_str()) } }
                        td { a href={ "/alarms/" (a.id) } { (a.title) } br; small { (a.message) } }
                        td { (a.state.as_str()) }
                        td { (when(a.first_at)) }
                        td { (a.occurrences) }
                        td { (actions(signed_in, a)) }
                    }
                }
            }
        }
    }
}

pub(crate) async fn alarms_page(State(state): State<AppState>, signed_in: SignedIn) -> Result<Response, PageError> {
    let household_id = signed_in.membership.household_id;
    let open = state
        .store
        .list_alarms(
            household_id,
            &AlarmFilter {
                states: vec![AlarmState::Active, AlarmState::Acknowledged],
                limit: 200,
                ..AlarmFilter::default()
            },
        )
        .await?;
    let cleared = state
        .store
        .list_alarms(
            household_id,
            &AlarmFilter { states: vec![AlarmState::Cleared], limit: 50, ..AlarmFilter::default() },
        )
        .await?;
    let chrome = signed_in.chrome();
    let view = layout::live_page(
        "Alarms",
        Header::SignedIn(&chrome),
        html! {
            a.back href="/household" { "← Back to " (signed_in.membership.household_name) }
            h1 { "Alarms" }
            section.panel #open-alarms {
                h2 { "Open" }
                @if open.is_empty() { p { "Nothing needs attention." } } @else { (alarm_rows(&signed_in, &open)) }
            }
            section.panel #cleared-alarms {
                h2 { "Recently cleared" }
                @if cleared.is_empty() { p { "No alarms yet." } } @else { (alarm_rows(&signed_in, &cleared)) }
            }
        },
    );
    Ok(layout::html(StatusCode::OK, view))
}

fn alarm_id(raw: &str) -> Result<AlarmId, PageError> {
    raw.parse().map_err(|_| PageError::NotFound)
}

pub(crate) async fn alarm_page(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let household_id = signed_in.membership.household_id;
    let a = state.store.get_alarm(household_id, alarm_id(&id)?).await?;
    let trail = state.store.alarm_events(household_id, a.id).await?;
    let sent = state.store.notifications(household_id, Some(a.id), 200).await?;
    let chrome = signed_in.chrome();
    let view = layout::page(
        &a.title,
        Header::SignedIn(&chrome),
        html! {
            a.back href="/alarms" { "← All alarms" }
            h1 { (a.title) }
            p { strong { (a.severity.as_str()) } " · " (a.state.as_str()) " · raised " (when(a.first_at))
                " · " (a.occurrences) " time(s)" }
            p { (a.message) }
            (actions(&signed_in, &a))
            @if !a.evidence.is_empty() {
                section.panel {
                    h2 { "The readings that raised it" }
                    ul { @for (ts, v) in &a.evidence { li { (petty_store::from_ms(*ts).map(when).unwrap_or_default()) ": " (format!("{v:.2}")) } } }
                }
            }
            section.panel #trail {
                h2 { "What happened" }
                ol { @for e in &trail { li { (when(e.at)) " · " strong { (e.kind) } " · " (e.actor) @if !e.body.is_empty() { ": " (e.body) } } } }
                @if signed_in.can(Permission::WriteCare) {
                    form method="post" action={ "/alarms/" (a.id) "/comment" } {
                        (csrf_field(&signed_in.csrf))
                        label for="comment" { "Add a comment" }
                        textarea #comment name="text" required maxlength="2000" {}
                        button type="submit" { "Comment" }
                    }
                }
            }
            section.panel #notifications {
                h2 { "Who was told" }
                @if sent.is_empty() { p { "Nobody outside the app yet." } } @else {
                    table.data-table {
                        thead { tr { th scope="col" { "Channel" } th scope="col" { "To" } th scope="col" { "Status" } th scope="col" { "Attempts" } th scope="col" { "Note" } } }
                        tbody { @for n in &sent { tr {
                            td { (n.channel.as_str()) } td { (n.recipient) } td { (n.status) } td { (n.attempts) }
                            td { (n.last_error.clone().unwrap_or_default()) }
                        } } }
                    }
                }
            }
        },
    );
    Ok(layout::html(StatusCode::OK, view))
}

#[derive(Deserialize)]
pub(crate) struct CsrfForm {
    pub csrf: String,
    pub text: Option<String>,
}

async fn move_alarm(
    state: &AppState,
    signed_in: &SignedIn,
    id: &str,
    form: &CsrfForm,
    to: AlarmState,
    ip: std::net::IpAddr,
) -> Result<Response, PageError> {
    signed_in.check_csrf(state, &form.csrf)?;
    signed_in.require(Permission::WriteCare)?;
    let id = alarm_id(id)?;
    let actor = petty_core::alarm::TrailActor::User(signed_in.user.id);
    petty_app::alarms::transition(&state.app, signed_in.membership.household_id, id, to, actor, "from the dashboard")
        .await
        .map_err(|e| match e {
            StoreError::NotFound => PageError::BadRequest("alarm not found".to_owned()),
            StoreError::Conflict(what) => PageError::BadRequest(format!("the alarm cannot take {what}")),
            other => PageError::BadRequest(petty_http::ApiError::from(other).message),
        })?;
    let action = if to == AlarmState::Cleared { "clear" } else { "acknowledge" };
    signed_in.audit(state, ip, action, "alarm", id, petty_app::audit::no_detail()).await?;
    Ok(Redirect::to(&format!("/alarms/{id}")).into_response())
}

pub(crate) async fn acknowledge(
    State(state): State<AppState>,
    signed_in: SignedIn,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    move_alarm(&state, &signed_in, &id, &form, AlarmState::Acknowledged, ip).await
}

pub(crate) async fn clear(
    State(state): State<AppState>,
    signed_in: SignedIn,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    move_alarm(&state, &signed_in, &id, &form, AlarmState::Cleared, ip).await
}

pub(crate) async fn comment(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    signed_in.check_csrf(&state, &form.csrf)?;
    signed_in.require(Permission::WriteCare)?;
    let id = alarm_id(&id)?;
    let text = form.text.as_deref().unwrap_or("").trim();
    if text.is_empty() || text.chars().count() > 2000 {
        return Err(PageError::BadRequest("A comment must be 1 to 2000 characters.".into()));
    }
    let actor = petty_core::alarm::TrailActor::User(signed_in.user.id);
    let now = petty_store::to_ms(time::OffsetDateTime::now_utc());
    state.store.alarm_note(signed_in.membership.household_id, id, "comment", actor, text, now).await?;
    Ok(Redirect::to(&format!("/alarms/{id}#trail")).into_response())
}

/// The page an acknowledgement link opens: the alarm and one button (a GET changes nothing, so
/// link scanners in mail systems cannot acknowledge by fetching it).
pub(crate) async fn ack_link_page(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let Some((alarm_id, _)) = state.app.notifier.verify_ack_token(&token) else {
        return layout::html(
            StatusCode::NOT_FOUND,
            layout::error_page("Link not valid", "This acknowledgement link is not valid."),
        );
    };
    let alarm = match state.store.alarm_household(alarm_id).await {
        Ok(h) => state.store.get_alarm(h, alarm_id).await.ok(),
        Err(_) => None,
    };
    let Some(a) = alarm else {
        return layout::html(
            StatusCode::NOT_FOUND,
            layout::error_page("Alarm not found", "This alarm no longer exists."),
        );
    };
    let view = layout::page(
        "Acknowledge alarm",
        Header::Plain,
        html! {
            h1 { (a.title) }
            p { strong { (a.severity.as_str()) } " · " (a.state.as_str()) " · raised " (when(a.first_at)) }
            p { (a.message) }
            @if a.state == AlarmState::Active {
                form method="post" action={ "/ack/" (token) } {
                    button type="submit" { "I'm on it: acknowledge" }
                }
                p { "Acknowledging stops the messages and calls to everyone." }
            } @else {
                p { "Someone has already " (if a.state == AlarmState::Cleared { "cleared" } else { "acknowledged" }) " this alarm." }
            }
        },
    );
    layout::html(StatusCode::OK, view)
}

fn link_not_valid() -> Response {
    layout::html(StatusCode::NOT_FOUND, layout::error_page("Link not valid", "This acknowledgement link is not valid."))
}

pub(crate) async fn ack_link(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    match petty_app::alarms::acknowledge_by_token(&state.app, &token, "followed the link in a message").await {
        Ok(Some(a)) => layout::html(
            StatusCode::OK,
            layout::page(
                "Acknowledged",
                Header::Plain,
                html! { h1 { "Acknowledged" } p { (a.title) " is acknowledged; the messages and calls stop." } },
            ),
        ),
        Ok(None) => link_not_valid(),
        Err(e) => {
            tracing::warn!(error = %e, "acknowledging by link failed");
            link_not_valid()
        }
    }
}

/// An air monitor's section of its device page: the last day's CO, temperature and humidity,
/// with the thresholds, and its alarm history.
pub(crate) async fn air_monitor_section(state: &AppState, device: &Device) -> Result<Markup, petty_store::StoreError> {
    let to = petty_store::to_ms(time::OffsetDateTime::now_utc());
    let from = to - 86_400_000;
    let mut charts = Vec::new();
    for metric in [Metric::CoPpm, Metric::AmbientTempC, Metric::HumidityPct] {
        let svg = charts::render(
            &state.app,
            device,
            ChartRequest { metric, from_ms: from, to_ms: to, kind: ChartKind::Line, title: None },
        )
        .await?;
        let src =
            format!("data:image/svg+xml;base64,{}", base64::engine::general_purpose::STANDARD.encode(svg.as_bytes()));
        charts.push((metric, src));
    }
    let history = state
        .store
        .list_alarms(
            device.household_id,
            &AlarmFilter { device_id: Some(device.id), limit: 20, ..AlarmFilter::default() },
        )
        .await?;
    Ok(html! {
        section.section #air-charts aria-labelledby="air-title" {
            h2 #air-title { "The last 24 hours" }
            @for (metric, src) in &charts {
                figure { img src=(src) alt={ (metric.name()) " over the last 24 hours" } width="100%"; }
            }
        }
        section.section #air-alarms aria-labelledby="air-alarms-title" {
            h2 #air-alarms-title { "Alarm history" }
            @if history.is_empty() { p { "No alarms from this monitor." } } @else {
                ul { @for a in &history { li {
                    strong { (a.severity.as_str()) } " · " a href={ "/alarms/" (a.id) } { (a.title) } " · " (a.state.as_str())
                    " · " (when(a.first_at))
                } } }
            }
        }
    })
}
