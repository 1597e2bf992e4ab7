//! `/alarms`: the household's open alarms with acknowledge and clear, the recent history, and
//! one alarm's page (what raised it, its trail and its notifications, a comment form). Also the
//! public page behind an acknowledgement link (`/ack/{token}`, which needs no session: the
//! signed token is the permission), and the air monitor's section of a device page (its CO,
//! temperature and humidity charts with its alarm history).

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use petty_core::accounts::Permission;
use petty_core::alarm::AlarmState;
use petty_core::alarm::TrailActor;
use petty_core::chart::ChartKind;
use petty_core::ids::AlarmId;
use petty_core::readings::Metric;
use petty_core::recurrence::Zone;
use petty_http::AppState;
use petty_http::extract::ClientIp;
use petty_store::{Alarm, AlarmFilter, Device, Member, StoreError};
use serde::Deserialize;

use super::PageError;
use super::charts::Plot;
use super::layout::{self, Header, csrf_field};
use super::session::SignedIn;

fn when(t: time::OffsetDateTime) -> String {
    petty_app::rfc3339::format(t)
        .map_or_else(String::new, |b| String::from_utf8_lossy(&b[..16]).replace('T', " ") + " UTC")
}

const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// `t` as a person reads it in their own time zone: `Sun 6 Dec 2026, 14:05`.
fn local_words(zone: &Zone, t: time::OffsetDateTime) -> String {
    let local = zone.local_at(t);
    let Some(date) = local.date() else { return when(t) };
    format!(
        "{} {} {} {}, {:02}:{:02}",
        WEEKDAYS[date.weekday().number_days_from_monday() as usize],
        date.day(),
        MONTHS[usize::from(u8::from(date.month())) - 1],
        date.year(),
        local.hour(),
        local.minute()
    )
}

/// `t` for a page: the local words, the exact instant for machines and on hover.
fn local(zone: &Zone, t: time::OffsetDateTime) -> Markup {
    let exact = petty_app::rfc3339::format(t).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
    html! { time datetime=(exact) title=(when(t)) { (local_words(zone, t)) } }
}

/// A text with the UTC instants in it (`2026-12-06T05:01:02Z`, as rules write them into an
/// alarm's message) put in the reader's time zone.
fn readable_times(zone: &Zone, text: &str) -> String {
    let bytes = text.as_bytes();
    let shape = |i: usize| {
        bytes.len() >= i + 20
            && bytes[i..i + 4].iter().all(u8::is_ascii_digit)
            && bytes[i + 4] == b'-'
            && bytes[i + 7] == b'-'
            && bytes[i + 10] == b'T'
            && (i == 0 || !bytes[i - 1].is_ascii_alphanumeric())
    };
    let (mut out, mut copied, mut i) = (String::with_capacity(text.len()), 0, 0);
    while i < bytes.len() {
        if shape(i) {
            let mut end = i + 11;
            while end < bytes.len() && (bytes[end].is_ascii_digit() || b":.+-Z".contains(&bytes[end])) {
                end += 1;
            }
            if let Ok(t) = time::OffsetDateTime::parse(&text[i..end], &time::format_description::well_known::Rfc3339) {
                out.push_str(&text[copied..i]);
                out.push_str(&local_words(zone, t));
                copied = end;
                i = end;
                continue;
            }
        }
        i += 1;
    }
    out.push_str(&text[copied..]);
    out
}

/// Who did something on an alarm's trail, by name when it is a member.
fn actor_name(actor: &TrailActor, members: &[Member]) -> String {
    match actor {
        TrailActor::User(id) => members
            .iter()
            .find(|m| m.user.id == *id)
            .map_or_else(|| "a former member".to_owned(), |m| m.user.display_name.clone()),
        TrailActor::System => "Petty".to_owned(),
        TrailActor::ApiKey(_) => "an API key".to_owned(),
        TrailActor::Contact(_) => "a contact".to_owned(),
    }
}

/// Open alarms first the active, then the acknowledged; within each, the most severe, then the
/// newest.
fn by_urgency(alarms: &mut [Alarm]) {
    let state = |s: AlarmState| match s {
        AlarmState::Active => 0,
        AlarmState::Acknowledged => 1,
        AlarmState::Cleared => 2,
    };
    alarms.sort_by(|a, b| {
        state(a.state).cmp(&state(b.state)).then(a.severity.cmp(&b.severity)).then(b.first_at.cmp(&a.first_at))
    });
}

fn actions(signed_in: &SignedIn, a: &Alarm) -> Markup {
    html! {
        @if signed_in.can(Permission::WriteCare) && a.state != AlarmState::Cleared {
            div.actions {
                @if a.state == AlarmState::Active {
                    form method="post" action={ "/alarms/" (a.id) "/acknowledge" } {
                        (csrf_field(&signed_in.csrf))
                        button.button type="submit" aria-label={ "Acknowledge " (a.title) } { "Acknowledge" }
                    }
                }
                form method="post" action={ "/alarms/" (a.id) "/clear" } {
                    (csrf_field(&signed_in.csrf))
                    button.button.button-secondary type="submit" aria-label={ "Clear " (a.title) } { "Clear" }
                }
            }
        }
    }
}

fn alarm_rows(signed_in: &SignedIn, zone: &Zone, alarms: &[Alarm]) -> Markup {
    html! {
        div.table-scroll {
            table.data-table {
                thead { tr {
                    th scope="col" { "Severity" } th scope="col" { "Alarm" } th scope="col" { "State" }
                    th scope="col" { "Since" } th scope="col" { "Times" } th scope="col" { span.visually-hidden { "Actions" } }
                } }
                tbody {
                    @for a in alarms {
                        tr data-severity=(a.severity.as_str()) data-state=(a.state.as_str()) {
                            td { span class={ "badge severity-" (a.severity.as_str()) } { (a.severity.as_str()) } }
                            td { a href={ "/alarms/" (a.id) } { (a.title) } br; small { (readable_times(zone, &a.message)) } }
                            td { (a.state.as_str()) }
                            td { (local(zone, a.first_at)) }
                            td { (a.occurrences) }
                            td { (actions(signed_in, a)) }
                        }
                    }
                }
            }
        }
    }
}

pub(crate) async fn alarms_page(State(state): State<AppState>, signed_in: SignedIn) -> Result<Response, PageError> {
    let household_id = signed_in.membership.household_id;
    let zone = state.store.user_zone(signed_in.user.id).await?;
    let mut open = state
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
    by_urgency(&mut open);
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
            div.page-head {
                div {
                    h1 { "Alarms" }
                    p.lead { "Times are in " (zone.name()) "." }
                }
                // Followed live: the lists are fetched again when an alarm changes.
                (super::devices::live_status(&super::devices::Follow {
                    page: "alarms",
                    household: Some(household_id),
                    ..Default::default()
                }))
            }
            section.panel #open-alarms data-live-region {
                h2 { "Open" }
                @if open.is_empty() { p { "Nothing needs attention." } } @else { (alarm_rows(&signed_in, &zone, &open)) }
            }
            section.panel #cleared-alarms data-live-region {
                h2 { "Recently cleared" }
                @if cleared.is_empty() { p { "No alarms yet." } } @else { (alarm_rows(&signed_in, &zone, &cleared)) }
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
    let zone = state.store.user_zone(signed_in.user.id).await?;
    let members = state.store.list_members(household_id).await?;
    let sent = state.store.notifications(household_id, Some(a.id), 200).await?;
    let chrome = signed_in.chrome();
    let view = layout::page(
        &a.title,
        Header::SignedIn(&chrome),
        html! {
            a.back href="/alarms" { "← All alarms" }
            h1 { (a.title) }
            p { span class={ "badge severity-" (a.severity.as_str()) } { (a.severity.as_str()) } " · " (a.state.as_str())
                " · raised " (local(&zone, a.first_at))
                " · " (a.occurrences) @if a.occurrences == 1 { " time" } @else { " times" } }
            p { (readable_times(&zone, &a.message)) }
            (actions(&signed_in, &a))
            @if !a.evidence.is_empty() {
                section.panel {
                    h2 { "The readings that raised it" }
                    ul { @for (ts, v) in &a.evidence { li { @if let Ok(t) = petty_store::from_ms(*ts) { (local(&zone, t)) } ": " (format!("{v:.2}")) } } }
                }
            }
            section.panel #trail {
                h2 { "What happened" }
                ol { @for e in &trail { li { (local(&zone, e.at)) " · " strong { (e.kind) } " · " (actor_name(&e.actor, &members)) @if !e.body.is_empty() { ": " (readable_times(&zone, &e.body)) } } } }
                @if signed_in.can(Permission::WriteCare) {
                    form method="post" action={ "/alarms/" (a.id) "/comment" } {
                        (csrf_field(&signed_in.csrf))
                        label for="comment" { "Add a comment" }
                        textarea #comment name="text" required maxlength="2000" {}
                        button.button type="submit" { "Comment" }
                    }
                }
            }
            section.panel #notifications {
                h2 { "Who was told" }
                @if sent.is_empty() { p { "Nobody outside the app yet." } } @else {
                    div.table-scroll {
                        table.data-table {
                            thead { tr { th scope="col" { "Channel" } th scope="col" { "To" } th scope="col" { "Status" } th scope="col" { "Attempts" } th scope="col" { "Note" } } }
                            tbody { @for n in &sent { tr {
                                td { (n.channel.as_str()) } td { (n.recipient) } td { (n.status) } td { (n.attempts) }
                                td { (n.last_error.clone().unwrap_or_default()) }
                            } } }
                        }
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
    let plots = [
        Plot { metric: Metric::CoPpm, kind: ChartKind::Line, words: "carbon monoxide readings" },
        Plot { metric: Metric::AmbientTempC, kind: ChartKind::Line, words: "air temperature readings" },
        Plot { metric: Metric::HumidityPct, kind: ChartKind::Line, words: "humidity readings" },
    ];
    let charts = super::charts::last_day(state, device, "air-charts", &plots).await?;
    let history = state
        .store
        .list_alarms(
            device.household_id,
            &AlarmFilter { device_id: Some(device.id), limit: 20, ..AlarmFilter::default() },
        )
        .await?;
    Ok(html! {
        (charts)
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

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn instants_in_a_message_are_put_in_the_reader_s_zone_and_nothing_else_changes() {
        let paris = Zone::parse("tz", "Europe/Paris").unwrap();
        let text = "CO 152 ppm since 2026-12-06T05:01:02Z (peak at 2026-12-06T05:03:00.250Z). id 2026-12-06Tx";
        assert_eq!(
            readable_times(&paris, text),
            "CO 152 ppm since Sun 6 Dec 2026, 06:01 (peak at Sun 6 Dec 2026, 06:03). id 2026-12-06Tx"
        );
        assert_eq!(readable_times(&paris, "no time here, é ü"), "no time here, é ü");
        // Summer time: UTC+2.
        assert_eq!(local_words(&paris, datetime!(2026-07-01 23:30 UTC)), "Thu 2 Jul 2026, 01:30");
    }
}
