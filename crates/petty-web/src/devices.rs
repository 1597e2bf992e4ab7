//! `/devices` and `/devices/{id}`: the household's collars, air monitors and other sensors,
//! how recently each was heard from, and what it last measured. People who may manage pets add
//! devices here, rotate or revoke their tokens and delete them; a token is shown on the one page
//! that answers the form that made it, and never again (Petty keeps only its hash). Everyone
//! else sees the same pages without the forms, and gets a 403 page for any change.
//!
//! Both pages are live: `assets/petty-live.js` opens the WebSocket with the session cookie,
//! subscribes to the devices shown and the household's alarms, and updates in place what the
//! server rendered here. Everything it needs to say (labels, units, badge classes, the words of
//! "3 minutes ago") comes from this module through `data-` attributes ([`live_labels`]); the
//! elements it updates are marked `data-live-field` / `data-live-region`. Without JavaScript
//! the pages are exactly what the server rendered.

use std::collections::{HashMap, VecDeque};
use std::sync::OnceLock;

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use petty_core::FieldError;
use petty_core::Invalid;
use petty_core::accounts::Permission;
use petty_core::behaviour::features::ACCEL_EXTRA_REQUIRED;
use petty_core::behaviour::{ACCEL_EXTRA, AccelFeatures};
use petty_core::chart::ChartKind;
use petty_core::devices::{
    self, DeviceKind, DeviceProfile, DeviceStatus, RawDeviceProfile, battery_low, device_status,
};
use petty_core::ids::{DeviceId, HouseholdId, PetId};
use petty_core::paging::PageRequest;
use petty_core::pets::{Pet, format_date};
use petty_core::readings::{Metric, Reading};
use petty_http::AppState;
use petty_http::auth::new_secret;
use petty_http::extract::ClientIp;
use petty_store::{Device, PetFilter, StoreError, StoredReading};
use serde::Deserialize;
use serde_json::json;
use time::{Duration, OffsetDateTime, UtcOffset};
use uuid::Uuid;

use super::PageError;
use super::charts::Plot;
use super::layout::{self, FormErrors, Header, Input, Select};
use super::session::SignedIn;

/// How many readings the device page lists.
const RECENT_READINGS: usize = 20;

/// The add-a-device form as posted. Every field is text, so that a bad value is explained
/// beside its field rather than refused by the extractor.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct DeviceForm {
    csrf: String,
    name: String,
    kind: String,
    pet_id: String,
    expected_interval_secs: String,
}

impl DeviceForm {
    /// Every problem at once. `pet_known` says whether the chosen pet (if any) is one of the
    /// household's; the caller looks it up, since that needs the store.
    fn parse(&self, pet_known: bool) -> Result<DeviceProfile, Invalid> {
        let mut errors = Vec::new();
        let pet_id = match self.pet_id.trim() {
            "" => None,
            text => match text.parse::<Uuid>() {
                Ok(id) if pet_known => Some(id),
                _ => {
                    errors.push(FieldError::new(
                        "pet_id",
                        "not_found",
                        "Choose one of this household's pets, or no pet",
                    ));
                    None
                }
            },
        };
        let interval = match self.expected_interval_secs.trim() {
            "" => None,
            text => match text.parse::<i64>() {
                Ok(secs) => Some(secs),
                Err(_) => {
                    errors.push(FieldError::new(
                        "expected_interval_secs",
                        "type",
                        "expected_interval_secs must be a whole number of seconds, like 60",
                    ));
                    None
                }
            },
        };
        let raw = RawDeviceProfile {
            name: self.name.clone(),
            kind: self.kind.clone(),
            pet_id,
            expected_interval_secs: interval,
            ..RawDeviceProfile::default()
        };
        let parsed = DeviceProfile::parse(&raw);
        if let Err(invalid) = &parsed {
            for error in &invalid.0 {
                // A kind left unchosen is a missing answer, not a wrong one.
                if error.field == "kind" && self.kind.trim().is_empty() {
                    errors.push(FieldError::new("kind", "required", "Choose what kind of device it is"));
                } else {
                    errors.push(error.clone());
                }
            }
        }
        match parsed {
            Ok(profile) if errors.is_empty() => Ok(profile),
            _ => Err(Invalid(errors)),
        }
    }
}

/// A form that carries nothing but its CSRF token: the token and delete buttons.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct ActionForm {
    csrf: String,
}

/// An id from the URL; one that cannot be a device is simply not found.
fn device_id(raw: &str) -> Result<DeviceId, PageError> {
    raw.parse().map_err(|_| PageError::NotFound)
}

/// A 403 page unless the person may add, change and remove devices (the pet managers).
fn require_manage(signed_in: &SignedIn) -> Result<(), PageError> {
    if signed_in.can(Permission::ManagePets) {
        return Ok(());
    }
    Err(PageError::Forbidden(format!(
        "You are a {} in {}, which does not let you add, change or remove devices. Ask the household's owner if you need to.",
        signed_in.membership.role, signed_in.membership.household_name
    )))
}

/// The household's pets, by name, for the pet choice and for naming each device's pet.
async fn household_pets(state: &AppState, household_id: HouseholdId) -> Result<Vec<Pet>, PageError> {
    let everything = PageRequest { page: 1, page_size: PageRequest::MAX_SIZE };
    Ok(state.store.list_pets(household_id, &PetFilter::default(), everything).await?.items)
}

/// The pet's name, or `None` when the household has no such pet (any more).
async fn pet_name(state: &AppState, household_id: HouseholdId, pet_id: PetId) -> Result<Option<String>, PageError> {
    match state.store.get_pet(household_id, pet_id).await {
        Ok(pet) => Ok(Some(pet.profile.name.clone())),
        Err(StoreError::NotFound) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Everything the list page shows, whether or not the form on it is in error.
async fn list_page(
    state: &AppState,
    signed_in: &SignedIn,
    status: StatusCode,
    form: &DeviceForm,
    errors: &FormErrors,
) -> Result<Response, PageError> {
    let household_id = signed_in.membership.household_id;
    let devices = state.store.list_devices(household_id).await?;
    let pets = household_pets(state, household_id).await?;
    let mut names: HashMap<PetId, String> = pets.iter().map(|p| (p.id, p.profile.name.clone())).collect();
    // A household with more pets than one list holds: name the rest one by one.
    for pet_id in devices.iter().filter_map(|d| d.profile.pet_id) {
        if !names.contains_key(&pet_id)
            && let Some(name) = pet_name(state, household_id, pet_id).await?
        {
            names.insert(pet_id, name);
        }
    }
    let view = list_view(signed_in, &devices, &names, &pets, form, errors, OffsetDateTime::now_utc());
    Ok(layout::html(status, view))
}

#[tracing::instrument(skip_all, fields(household_id = %signed_in.membership.household_id))]
pub(crate) async fn devices_page(State(state): State<AppState>, signed_in: SignedIn) -> Result<Response, PageError> {
    list_page(&state, &signed_in, StatusCode::OK, &DeviceForm::default(), &FormErrors::none()).await
}

#[tracing::instrument(skip_all, fields(household_id = %signed_in.membership.household_id))]
pub(crate) async fn create_device(
    State(state): State<AppState>,
    signed_in: SignedIn,
    ClientIp(ip): ClientIp,
    Form(form): Form<DeviceForm>,
) -> Result<Response, PageError> {
    signed_in.check_csrf(&state, &form.csrf)?;
    require_manage(&signed_in)?;
    let household_id = signed_in.membership.household_id;
    let pet_known = match form.pet_id.trim().parse::<Uuid>() {
        Ok(id) => pet_name(&state, household_id, PetId(id)).await?.is_some(),
        Err(_) => false,
    };
    let profile = match form.parse(pet_known) {
        Ok(profile) => profile,
        Err(invalid) => {
            let errors = FormErrors::from_invalid(invalid);
            return list_page(&state, &signed_in, StatusCode::UNPROCESSABLE_ENTITY, &form, &errors).await;
        }
    };
    let (token, hash) = new_secret("dk_");
    let device = state.store.create_device(household_id, &profile, &hash, OffsetDateTime::now_utc()).await?;
    tracing::info!(device_id = %device.id, "device added from the dashboard");
    signed_in.audit(&state, ip, "create", "device", device.id, petty_app::audit::no_detail()).await?;
    Ok(layout::html(StatusCode::CREATED, token_view(&signed_in, &device, &token, true)))
}

#[tracing::instrument(skip_all, fields(household_id = %signed_in.membership.household_id, device_id = %id))]
pub(crate) async fn device_page(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let household_id = signed_in.membership.household_id;
    let device = state.store.get_device(household_id, device_id(&id)?).await?;
    let pet = match device.profile.pet_id {
        Some(pet_id) => pet_name(&state, household_id, pet_id).await?,
        None => None,
    };
    let now = OffsetDateTime::now_utc();
    let latest = state.store.latest_reading(household_id, device.id).await?;
    let recent = recent_readings(&state, &device, now).await?;
    let kind_section = match device.profile.kind {
        DeviceKind::AirMonitor => Some(super::alarms::air_monitor_section(&state, &device).await?),
        DeviceKind::Collar => {
            Some(super::charts::last_day(&state, &device, "collar-charts", &collar_plots(latest.as_ref())).await?)
        }
        DeviceKind::Other => None,
    };
    let view = device_view(&signed_in, &device, pet.as_deref(), latest.as_ref(), &recent, now, kind_section);
    Ok(layout::html(StatusCode::OK, view))
}

/// A collar's charts: heart rate, activity and body temperature. Activity counts read best (as
/// bars of how much the pet moved); a collar whose newest reading has a level but no counts
/// gets its level instead.
fn collar_plots(latest: Option<&StoredReading>) -> [Plot; 3] {
    let only_level = latest.is_some_and(|stored| {
        stored.reading.value(Metric::ActivityCounts).is_none() && stored.reading.value(Metric::ActivityLevel).is_some()
    });
    let activity = if only_level {
        Plot { metric: Metric::ActivityLevel, kind: ChartKind::Line, words: "activity level readings" }
    } else {
        Plot { metric: Metric::ActivityCounts, kind: ChartKind::Bar, words: "activity counts" }
    };
    [
        Plot { metric: Metric::HeartRate, kind: ChartKind::Line, words: "heart rate readings" },
        activity,
        Plot { metric: Metric::TemperatureC, kind: ChartKind::Line, words: "body temperature readings" },
    ]
}

/// Up to [`RECENT_READINGS`] of the device's readings from the last day, newest first.
///
/// The store pages oldest first, so this looks back from the newest event time through ever
/// wider windows, and stops at the first window that holds enough: a chatty device costs a few
/// minutes of readings, not a whole day of them.
async fn recent_readings(
    state: &AppState,
    device: &Device,
    now: OffsetDateTime,
) -> Result<Vec<StoredReading>, PageError> {
    let Some(newest) = device.latest_ts else {
        return Ok(Vec::new());
    };
    let earliest = now - Duration::days(1);
    let to = (newest + Duration::milliseconds(1)).min(now + Duration::minutes(5));
    let mut recent = VecDeque::with_capacity(RECENT_READINGS + 1);
    for span in [Duration::minutes(10), Duration::hours(1), Duration::hours(6), Duration::days(1)] {
        let from = (to - span).max(earliest);
        if from >= to {
            break;
        }
        recent.clear();
        let mut after = None;
        loop {
            let (page, next) = state.store.readings(device.household_id, device.id, from, to, after, 5000).await?;
            for reading in page {
                if recent.len() == RECENT_READINGS {
                    recent.pop_front();
                }
                recent.push_back(reading);
            }
            match next {
                Some(cursor) => after = Some(cursor),
                None => break,
            }
        }
        if recent.len() == RECENT_READINGS || from == earliest {
            break;
        }
    }
    Ok(recent.into_iter().rev().collect())
}

#[tracing::instrument(skip_all, fields(household_id = %signed_in.membership.household_id, device_id = %id))]
pub(crate) async fn rotate_token(
    State(state): State<AppState>,
    signed_in: SignedIn,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
    Form(form): Form<ActionForm>,
) -> Result<Response, PageError> {
    signed_in.check_csrf(&state, &form.csrf)?;
    require_manage(&signed_in)?;
    let (token, hash) = new_secret("dk_");
    let household_id = signed_in.membership.household_id;
    let device =
        state.store.set_device_token(household_id, device_id(&id)?, Some(&hash), OffsetDateTime::now_utc()).await?;
    tracing::info!("device token rotated from the dashboard");
    signed_in.audit(&state, ip, "rotate_token", "device", device.id, petty_app::audit::fields(&["token"])).await?;
    Ok(layout::html(StatusCode::OK, token_view(&signed_in, &device, &token, false)))
}

#[tracing::instrument(skip_all, fields(household_id = %signed_in.membership.household_id, device_id = %id))]
pub(crate) async fn revoke_token(
    State(state): State<AppState>,
    signed_in: SignedIn,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
    Form(form): Form<ActionForm>,
) -> Result<Response, PageError> {
    signed_in.check_csrf(&state, &form.csrf)?;
    require_manage(&signed_in)?;
    let household_id = signed_in.membership.household_id;
    let device = state.store.set_device_token(household_id, device_id(&id)?, None, OffsetDateTime::now_utc()).await?;
    tracing::info!("device token revoked from the dashboard");
    signed_in.audit(&state, ip, "revoke_token", "device", device.id, petty_app::audit::fields(&["token"])).await?;
    Ok(Redirect::to(&format!("/devices/{}", device.id)).into_response())
}

#[tracing::instrument(skip_all, fields(household_id = %signed_in.membership.household_id, device_id = %id))]
pub(crate) async fn delete_device(
    State(state): State<AppState>,
    signed_in: SignedIn,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
    Form(form): Form<ActionForm>,
) -> Result<Response, PageError> {
    signed_in.check_csrf(&state, &form.csrf)?;
    require_manage(&signed_in)?;
    state.store.delete_device(signed_in.membership.household_id, device_id(&id)?).await?;
    tracing::info!("device deleted from the dashboard");
    signed_in.audit(&state, ip, "delete", "device", id, petty_app::audit::no_detail()).await?;
    Ok(Redirect::to("/devices").into_response())
}

const FIELDS: [(&str, &str); 4] =
    [("name", "Name"), ("kind", "Kind"), ("pet_id", "Pet"), ("expected_interval_secs", "Reporting interval (seconds)")];

fn kind_label(kind: DeviceKind) -> &'static str {
    match kind {
        DeviceKind::Collar => "Collar",
        DeviceKind::AirMonitor => "Air monitor",
        DeviceKind::Other => "Other",
    }
}

/// The status in words, and the badge class that colours it (the words carry the meaning).
fn status_label(status: DeviceStatus) -> (&'static str, &'static str) {
    match status {
        DeviceStatus::Online => ("Online", "badge-ok"),
        DeviceStatus::Stale => ("Stale", "badge-warn"),
        DeviceStatus::Offline => ("Offline", "badge-bad"),
        DeviceStatus::NeverSeen => ("Never seen", "badge-none"),
    }
}

fn metric_label(metric: Metric) -> &'static str {
    match metric {
        Metric::HeartRate => "Heart rate",
        Metric::RespirationRate => "Respiration rate",
        Metric::ActivityLevel => "Activity level",
        Metric::ActivityCounts => "Activity counts",
        Metric::Steps => "Steps",
        Metric::TemperatureC => "Body temperature",
        Metric::BatteryPct => "Battery",
        Metric::Rssi => "Signal strength",
        Metric::CoPpm => "Carbon monoxide",
        Metric::CoRaw => "Carbon monoxide sensor",
        Metric::HumidityPct => "Humidity",
        Metric::AmbientTempC => "Air temperature",
    }
}

/// What follows a value: ` beats per minute`; units that describe a scale go in brackets:
/// ` (0 rest, 1 light, 2 active)`.
fn unit_suffix(metric: Metric) -> String {
    match metric {
        Metric::ActivityLevel | Metric::CoRaw => format!(" ({})", metric.unit()),
        _ => format!(" {}", metric.unit()),
    }
}

/// `88 beats per minute`, `1 (0 rest, 1 light, 2 active)`.
fn with_unit(metric: Metric, value: f64) -> String {
    format!("{value}{}", unit_suffix(metric))
}

/// `2026-11-22T06:15:35Z` for `datetime`, and `2026-11-22 06:15:35 UTC` for people.
fn utc(t: OffsetDateTime) -> (String, String) {
    let t = t.to_offset(UtcOffset::UTC);
    let (day, clock) = (format_date(t.date()), format!("{:02}:{:02}:{:02}", t.hour(), t.minute(), t.second()));
    (format!("{day}T{clock}Z"), format!("{day} {clock} UTC"))
}

fn plural(n: i64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Words the pages and the live script both write.
const LOCATION: &str = "Location";
const OTHER_VALUES: &str = "Other values";
const NO_VALUE: &str = "None";
const TAKEN: &str = "Taken ";
const LOW_BATTERY: &str = "Low battery";
/// Around a location's accuracy: `(within 8 m)`.
const WITHIN: [&str; 2] = ["(within ", " m)"];

/// Fewer seconds ago than this is "just now".
const JUST_NOW_SECS: i64 = 10;

/// How "ago" counts: below `limit` seconds (none: any), in units of `per` seconds.
struct AgoStep {
    limit: Option<i64>,
    per: i64,
    one: &'static str,
    many: &'static str,
}

/// The one table of "ago" words; the live script gets it too ([`live_labels`]), so a time it
/// updates reads as the server would have written it.
const AGO_STEPS: [AgoStep; 4] = [
    AgoStep { limit: Some(60), per: 1, one: "second", many: "seconds" },
    AgoStep { limit: Some(3_600), per: 60, one: "minute", many: "minutes" },
    AgoStep { limit: Some(86_400), per: 3_600, one: "hour", many: "hours" },
    AgoStep { limit: None, per: 86_400, one: "day", many: "days" },
];

/// How long ago, the way people say it. A time ahead of ours (clocks disagree) is "just now".
fn ago(then: OffsetDateTime, now: OffsetDateTime) -> String {
    let secs = (now - then).whole_seconds();
    if secs < JUST_NOW_SECS {
        return "just now".to_owned();
    }
    let step = AGO_STEPS.iter().find(|s| s.limit.is_none_or(|limit| secs < limit)).unwrap_or(&AGO_STEPS[3]);
    format!("{} ago", plural(secs / step.per, step.one, step.many))
}

/// A relative time, with the exact UTC time for machines and in the tooltip. The live script
/// keeps the words current (`data-ago`).
fn when(t: OffsetDateTime, now: OffsetDateTime) -> Markup {
    let (machine, human) = utc(t);
    html! { time datetime=(machine) title=(human) data-ago="relative" { (ago(t, now)) } }
}

/// A relative time followed by the exact UTC time, for the device page.
fn when_exactly(t: OffsetDateTime, now: OffsetDateTime) -> Markup {
    let (machine, human) = utc(t);
    html! { time datetime=(machine) data-ago="exact" { (ago(t, now)) " (" (human) ")" } }
}

fn epoch_ms(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

/// Everything the live script writes into the page, as the server writes it here: metric
/// labels and units in column order, status words and badge classes, the low-battery mark,
/// the "ago" table and the indicator's words. One JSON value, made once.
fn live_labels() -> &'static str {
    static LABELS: OnceLock<String> = OnceLock::new();
    LABELS.get_or_init(|| {
        let metrics: serde_json::Map<String, serde_json::Value> = Metric::ALL
            .iter()
            .map(|m| {
                (m.name().to_owned(), json!({"label": metric_label(*m), "unit": m.unit(), "suffix": unit_suffix(*m)}))
            })
            .collect();
        // A device never becomes "never seen" again, so the script needs no words for it.
        let statuses: serde_json::Map<String, serde_json::Value> =
            [DeviceStatus::Online, DeviceStatus::Stale, DeviceStatus::Offline]
                .into_iter()
                .map(|s| {
                    let (label, class) = status_label(s);
                    (s.as_str().to_owned(), json!({"label": label, "class": class}))
                })
                .collect();
        let mut columns = vec!["ts"];
        columns.extend(Metric::ALL.iter().map(|m| m.name()));
        columns.extend(["location", "accel", "extra"]);
        let steps: Vec<serde_json::Value> =
            AGO_STEPS.iter().map(|s| json!({"limit": s.limit, "per": s.per, "one": s.one, "many": s.many})).collect();
        json!({
            "metrics": metrics,
            "columns": columns,
            "location": LOCATION,
            "extra": OTHER_VALUES,
            "accel": {
                "label": MOVEMENT,
                "unit": MOVEMENT_UNIT,
                "summary": ACCEL_SUMMARY,
                "features": ACCEL_WORDS,
                "required": &ACCEL_EXTRA[..ACCEL_EXTRA_REQUIRED],
            },
            "within": WITHIN,
            "none": NO_VALUE,
            "taken": TAKEN,
            "statuses": statuses,
            "battery_low_below": devices::LOW_BATTERY_PCT,
            "battery_low": LOW_BATTERY,
            "ago": {"just_now_below": JUST_NOW_SECS, "just_now": "just now", "suffix": " ago", "steps": steps},
            "recent_max": RECENT_READINGS,
            "indicator": {"connecting": "Connecting…", "live": "Live", "reconnecting": "Reconnecting…"},
        })
        .to_string()
    })
}

/// What a live page follows: its kind (`data-live-page`: `list`, `device`, `pet`, `life` or
/// `alarms`) and the ids `petty-live.js` subscribes by.
#[derive(Default)]
pub(super) struct Follow {
    pub page: &'static str,
    pub household: Option<petty_core::ids::HouseholdId>,
    pub device: Option<DeviceId>,
    pub pet: Option<petty_core::ids::PetId>,
    pub user: Option<petty_core::ids::UserId>,
}

/// The "Live" / "Reconnecting…" indicator, and the live script's settings, for every live page.
/// Hidden until the script shows it: without JavaScript nothing on the page claims to be live.
pub(super) fn live_status(follow: &Follow) -> Markup {
    html! {
        p #live-status .live-status role="status" hidden
            data-live-page=(follow.page)
            data-ws="/api/v1/ws"
            data-household=[follow.household]
            data-device=[follow.device]
            data-pet=[follow.pet]
            data-user=[follow.user]
            data-labels=(live_labels()) {
            span.live-dot aria-hidden="true" {}
            span.live-text { "Connecting…" }
        }
    }
}

fn live_indicator(signed_in: &SignedIn, device: Option<DeviceId>) -> Markup {
    let page = if device.is_some() { "device" } else { "list" };
    live_status(&Follow { page, household: Some(signed_in.membership.household_id), device, ..Follow::default() })
}

/// The battery level, with a badge in words when it is low.
fn battery(pct: Option<f64>) -> Markup {
    html! {
        @if let Some(pct) = pct {
            (pct) "%"
            @if battery_low(Some(pct)) { " " strong.badge.badge-bad { (LOW_BATTERY) } }
        } @else {
            "Not reported"
        }
    }
}

fn status_badge(status: DeviceStatus) -> Markup {
    let (label, class) = status_label(status);
    html! { span.badge.(class) { (label) } }
}

fn list_view(
    signed_in: &SignedIn,
    devices: &[Device],
    pet_names: &HashMap<PetId, String>,
    pets: &[Pet],
    form: &DeviceForm,
    errors: &FormErrors,
    now: OffsetDateTime,
) -> Markup {
    let can_manage = signed_in.can(Permission::ManagePets);
    let chrome = signed_in.chrome();
    let household = &signed_in.membership.household_name;
    let count = plural(devices.len() as i64, "device", "devices");
    layout::live_page(
        "Devices",
        Header::SignedIn(&chrome),
        html! {
            div.page-head {
                div {
                    h1 { "Devices" }
                    p.lead { (count) " in " (household) }
                    (live_indicator(signed_in, None))
                }
                @if can_manage && !devices.is_empty() { a.button href="#add-device" { "Add a device" } }
            }
            @if devices.is_empty() {
                div.empty {
                    h2 { "No devices yet" }
                    @if can_manage {
                        p { "Add a collar or an air monitor below, then give it the token Petty shows you." }
                    } @else {
                        p { "When someone in the household adds a device, it shows up here." }
                    }
                }
            } @else {
                // Status changes are said here, once each (a reading every minute from a hundred
                // collars would make the table itself too chatty a live region).
                div #live-announcer .visually-hidden aria-live="polite" {}
                div #device-table .table-scroll data-live-region role="region" aria-labelledby="devices-caption" tabindex="0" {
                    table.data-table {
                        caption #devices-caption { "Devices in " (household) ", by name" }
                        thead {
                            tr {
                                th scope="col" { "Name" }
                                th scope="col" { "Kind" }
                                th scope="col" { "Pet" }
                                th scope="col" { "Status" }
                                th scope="col" { "Battery" }
                                th scope="col" { "Last seen" }
                            }
                        }
                        tbody {
                            @for device in devices {
                                @let profile = &device.profile;
                                tr data-device-id=(device.id) data-newest-ts=[device.latest_ts.map(epoch_ms)] {
                                    th scope="row" { a href={ "/devices/" (device.id) } { (profile.name) } }
                                    td { (kind_label(profile.kind)) }
                                    td {
                                        @match profile.pet_id.and_then(|id| pet_names.get(&id)) {
                                            Some(name) => { (name) }
                                            None => { span.visually-hidden { "No pet" } span aria-hidden="true" { "—" } }
                                        }
                                    }
                                    td data-live-field="status" { (status_badge(device_status(device.last_seen_at, profile.expected_interval_secs, now))) }
                                    td data-live-field="battery" { (battery(device.battery_pct)) }
                                    td data-live-field="last-seen" {
                                        @if let Some(seen) = device.last_seen_at { (when(seen, now)) } @else { "Never" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if can_manage {
                section.section #add-device aria-labelledby="add-title" {
                    h2 #add-title { "Add a device" }
                    p.lead { "Petty then shows the device's token once, to put on the device." }
                    (add_form(signed_in, pets, form, errors))
                }
            }
        },
    )
}

fn add_form(signed_in: &SignedIn, pets: &[Pet], form: &DeviceForm, errors: &FormErrors) -> Markup {
    let kinds: Vec<(&str, &str)> = DeviceKind::ALL.iter().map(|k| (k.as_str(), kind_label(*k))).collect();
    let pet_ids: Vec<String> = pets.iter().map(|p| p.id.to_string()).collect();
    let pet_options: Vec<(&str, &str)> =
        pet_ids.iter().zip(pets).map(|(id, pet)| (id.as_str(), pet.profile.name.as_str())).collect();
    let label = |name: &str| FIELDS.iter().find(|(n, _)| *n == name).map_or("", |(_, l)| *l);
    html! {
        (layout::error_summary(errors, &FIELDS))
        form.form method="post" action="/devices" novalidate {
            (layout::csrf_field(&signed_in.csrf))
            (layout::input(&Input {
                name: "name", label: label("name"), value: &form.name, autocomplete: Some("off"),
                hint: Some("For example “Bella's collar” or “Kitchen air”."),
                maxlength: Some(devices::NAME_MAX), required: true, ..Input::default()
            }, errors))
            div.form-row {
                (layout::select(&Select {
                    name: "kind", label: label("kind"), hint: None, options: &kinds,
                    selected: &form.kind, placeholder: Some("Choose a kind"), required: true,
                }, errors))
                (layout::select(&Select {
                    name: "pet_id", label: label("pet_id"), hint: None, options: &pet_options,
                    selected: &form.pet_id, placeholder: Some("No pet"), required: false,
                }, errors))
            }
            (layout::input(&Input {
                name: "expected_interval_secs", label: label("expected_interval_secs"),
                value: &form.expected_interval_secs, inputmode: Some("numeric"), autocomplete: Some("off"),
                hint: Some("How often the device sends a reading, from 1 to 86400. Leave empty for 60."),
                ..Input::default()
            }, errors))
            div.actions {
                button.button type="submit" { "Add device" }
            }
        }
    }
}

/// The one page that shows a token: after adding a device (`fresh`) or rotating its token.
fn token_view(signed_in: &SignedIn, device: &Device, token: &str, fresh: bool) -> Markup {
    let name = &device.profile.name;
    let title = if fresh { format!("{name} is added") } else { format!("New token for {name}") };
    let chrome = signed_in.chrome();
    layout::page(
        &title,
        Header::SignedIn(&chrome),
        html! {
            a.back href="/devices" { "← All devices" }
            h1 { (title) }
            section.panel aria-labelledby="token-title" {
                h2 #token-title { "The device's token" }
                p {
                    strong { "Copy it now: it will not be shown again." }
                    " Petty keeps only a fingerprint of it. If it is lost, rotate the token on the device's page to get a new one."
                    @if !fresh { " The previous token has stopped working." }
                }
                p.token-value { code #device-token { (token) } }
                h3 { "How the device uses it" }
                p {
                    "The device sends its readings to " code { "POST /api/v1/ingest" } " on this server, with the header "
                    code { "Authorization: Bearer dk_…" } " (this token in place of " code { "dk_…" } ") and a JSON body such as:"
                }
                // An example of what this kind of device sends.
                pre.code-block { code { (match device.profile.kind {
                    DeviceKind::AirMonitor => r#"{"ts": 1763792135000, "co_ppm": 3.5, "ambient_temp_c": 21.4, "humidity_pct": 48, "battery_pct": 76}"#,
                    _ => r#"{"ts": 1763792135000, "heart_rate": 88, "battery_pct": 76}"#,
                }) } }
                p.hint { code { "ts" } " is when the reading was taken, in milliseconds since 1970 or as an RFC 3339 time." }
            }
            div.actions {
                a.button href={ "/devices/" (device.id) } { "Go to " (name) }
                a href="/devices" { "All devices" }
            }
        },
    )
}

fn device_view(
    signed_in: &SignedIn,
    device: &Device,
    pet: Option<&str>,
    latest: Option<&StoredReading>,
    recent: &[StoredReading],
    now: OffsetDateTime,
    kind_section: Option<Markup>,
) -> Markup {
    let profile = &device.profile;
    let can_manage = signed_in.can(Permission::ManagePets);
    let status = device_status(device.last_seen_at, profile.expected_interval_secs, now);
    let chrome = signed_in.chrome();
    layout::live_page(
        &profile.name,
        Header::SignedIn(&chrome),
        html! {
            a.back href="/devices" { "← All devices" }
            h1 { (profile.name) }
            p.lead {
                (kind_label(profile.kind))
                @if let Some(pet) = pet { " · " (pet) }
            }
            (live_indicator(signed_in, Some(device.id)))
            @if !can_manage {
                p { "As a " (signed_in.membership.role) " you can see this device but not change it." }
            }
            dl #device-details .details.panel data-live-region data-newest-ts=[device.latest_ts.map(epoch_ms)] {
                dt { "Status" }
                dd data-live-field="status" aria-live="polite" {
                    (status_badge(status))
                    span data-live-expected hidden[status == DeviceStatus::NeverSeen] {
                        " " span.unit { "(expected every " (plural(profile.expected_interval_secs.into(), "second", "seconds")) ")" }
                    }
                }
                dt { "Battery" } dd data-live-field="battery" { (battery(device.battery_pct)) }
                dt { "Last seen" }
                dd data-live-field="last-seen" { @if let Some(t) = device.last_seen_at { (when_exactly(t, now)) } @else { "Never" } }
                dt { "Newest reading taken" }
                dd data-live-field="newest" { @if let Some(t) = device.latest_ts { (when_exactly(t, now)) } @else { "None yet" } }
                dt { "Kind" } dd { (kind_label(profile.kind)) }
                dt { "Pet" } dd { (pet.unwrap_or("None")) }
                dt { "Reporting interval" } dd { (plural(profile.expected_interval_secs.into(), "second", "seconds")) }
                @if let Some(model) = &profile.model { dt { "Model" } dd { (model) } }
                @if let Some(firmware) = &profile.firmware { dt { "Firmware" } dd { (firmware) } }
                dt { "Token" }
                dd {
                    @if device.has_token {
                        "Active"
                        @if let Some(t) = device.token_created_at { ", made " (when_exactly(t, now)) }
                    } @else {
                        "Revoked: the device cannot send readings"
                    }
                }
                dt { "Added" } dd { (when_exactly(device.created_at, now)) }
            }
            section #latest-reading .section data-live-region aria-labelledby="latest-title" aria-live="polite" {
                h2 #latest-title { "Latest reading" }
                div data-live-latest {
                    @if let Some(latest) = latest {
                        p.lead { (TAKEN) (when_exactly(latest.reading.ts, now)) }
                        (reading_details(&latest.reading))
                    } @else {
                        p { "Nothing has arrived from this device yet." }
                    }
                }
            }
            @if let Some(kind_section) = kind_section { (kind_section) }
            // Always there, hidden while empty, so that the live script can fill it.
            // The table's own scroll region carries the caption's name: one landmark, not two alike.
            section #recent-readings .section data-live-region hidden[recent.is_empty()] {
                (readings_table(recent))
            }
            @if can_manage { (manage_sections(signed_in, device)) }
        },
    )
}

/// Every value the reading carries: typed metrics with their units, location, extras.
fn reading_details(reading: &Reading) -> Markup {
    html! {
        dl.details.panel {
            @for metric in Metric::ALL {
                @if let Some(value) = reading.value(metric) {
                    dt { (metric_label(metric)) }
                    dd { (with_unit(metric, value)) }
                }
            }
            @if let Some(location) = &reading.location {
                dt { (LOCATION) }
                dd {
                    (location.lat) ", " (location.lon)
                    @if let Some(accuracy) = location.accuracy_m { " " (WITHIN[0]) (accuracy) (WITHIN[1]) }
                }
            }
            @if let Some(movement) = movement(reading) {
                dt { (MOVEMENT) }
                dd { (movement) }
            }
            @for (key, value) in other_extra(reading) {
                dt { code { (key) } }
                dd { (value) }
            }
        }
    }
}

/// How an accelerometer window's features (`accel_*`, see [`ACCEL_EXTRA`]) are told, in the
/// order shown: name, label, what follows the value.
const ACCEL_WORDS: [(&str, &str, &str); 8] = [
    ("accel_odba", "Movement (ODBA)", " g"),
    ("accel_dominant_hz", "Main rhythm", " Hz"),
    ("accel_dominant_power", "Share of the movement in that rhythm", ""),
    ("accel_mag_mean", "Mean acceleration", " g"),
    ("accel_mag_std", "Spread of the acceleration", " g"),
    ("accel_mag_max", "Peak acceleration", " g"),
    ("accel_pitch_deg", "Pitch", "°"),
    ("accel_half_rhythm", "Rhythm at half that rate, against it (a nod every other step)", ""),
];
/// The one line that stands for the window, with `{name}` for a feature's rounded value.
const ACCEL_SUMMARY: &str = "{accel_odba} g · {accel_dominant_hz} Hz";
/// The heading of the column and of the latest reading's line for the window.
const MOVEMENT: &str = "Movement";
const MOVEMENT_UNIT: &str = "accelerometer";

/// A feature as shown: rounded to two decimals, half away from zero (as the live script rounds).
fn rounded(value: f64) -> f64 {
    (value * 100.0).round() / 100.0 + 0.0
}

/// Whether the reading carries an accelerometer window's features (the seven every window has;
/// the half rhythm is newer).
fn has_accel(reading: &Reading) -> bool {
    AccelFeatures::from_extra(&reading.extra).is_some()
}

/// The reading's extra numbers other than its accelerometer features.
fn other_extra(reading: &Reading) -> impl Iterator<Item = (&String, &f64)> {
    let accel = has_accel(reading);
    reading.extra.iter().filter(move |(key, _)| !(accel && ACCEL_EXTRA.contains(&key.as_str())))
}

/// An accelerometer window as one short line ("0.31 g · 2 Hz"), every feature behind it.
fn movement(reading: &Reading) -> Option<Markup> {
    if !has_accel(reading) {
        return None;
    }
    let value = |name: &str| reading.extra.get(name).copied().map(rounded).unwrap_or_default();
    let summary = ACCEL_WORDS.iter().fold(ACCEL_SUMMARY.to_owned(), |text, (name, _, _)| {
        text.replace(&format!("{{{name}}}"), &value(name).to_string())
    });
    Some(html! {
        details.movement {
            summary { (summary) }
            dl.movement-features {
                @for (name, label, suffix) in ACCEL_WORDS {
                    // Only what the reading has (older readings lack the half rhythm).
                    @if reading.extra.contains_key(name) {
                        dt { (label) }
                        dd { (value(name)) (suffix) }
                    }
                }
            }
        }
    })
}

/// The table's caption, with `{n}` for the number of readings; the live script gets both
/// forms (`data-one`, `data-many`) to count the rows it adds.
fn caption_template(one: bool) -> &'static str {
    if one {
        "The {n} most recent reading of the last day, newest first"
    } else {
        "The {n} most recent readings of the last day, newest first"
    }
}

fn caption(n: usize) -> String {
    caption_template(n == 1).replace("{n}", &n.to_string())
}

/// An empty cell: a dash to see, "None" to hear.
fn no_value() -> Markup {
    html! { span.visually-hidden { (NO_VALUE) } span aria-hidden="true" { "—" } }
}

/// The recent readings, newest first, with a column for each value any of them carries.
fn readings_table(recent: &[StoredReading]) -> Markup {
    let metrics: Vec<Metric> =
        Metric::ALL.into_iter().filter(|m| recent.iter().any(|r| r.reading.value(*m).is_some())).collect();
    let any_location = recent.iter().any(|r| r.reading.location.is_some());
    let any_accel = recent.iter().any(|r| has_accel(&r.reading));
    let any_extra = recent.iter().any(|r| other_extra(&r.reading).next().is_some());
    html! {
        div.table-scroll role="region" aria-labelledby="recent-caption" tabindex="0" {
            table.data-table.readings-table {
                caption #recent-caption data-one=(caption_template(true)) data-many=(caption_template(false)) { (caption(recent.len())) }
                thead {
                    tr {
                        th scope="col" data-col="ts" { "Taken (UTC)" }
                        @for metric in &metrics {
                            th scope="col" data-col=(metric.name()) { (metric_label(*metric)) br; span.unit { (metric.unit()) } }
                        }
                        @if any_location { th scope="col" data-col="location" { (LOCATION) } }
                        @if any_accel { th scope="col" data-col="accel" { (MOVEMENT) br; span.unit { (MOVEMENT_UNIT) } } }
                        @if any_extra { th scope="col" data-col="extra" { (OTHER_VALUES) } }
                    }
                }
                tbody {
                    @for stored in recent {
                        @let reading = &stored.reading;
                        @let (machine, human) = utc(reading.ts);
                        tr data-ts=(epoch_ms(reading.ts)) data-seq=(reading.seq.unwrap_or(-1)) {
                            th scope="row" { time datetime=(machine) { (human) } }
                            @for metric in &metrics {
                                td {
                                    @if let Some(value) = reading.value(*metric) { (value) }
                                    @else { (no_value()) }
                                }
                            }
                            @if any_location {
                                td {
                                    @if let Some(l) = &reading.location { (l.lat) ", " (l.lon) }
                                    @else { (no_value()) }
                                }
                            }
                            @if any_accel {
                                td {
                                    @if let Some(movement) = movement(reading) { (movement) }
                                    @else { (no_value()) }
                                }
                            }
                            @if any_extra {
                                td {
                                    @for (i, (key, value)) in other_extra(reading).enumerate() {
                                        @if i > 0 { ", " }
                                        code { (key) } " " (value)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Token and delete buttons, for people who may manage devices.
fn manage_sections(signed_in: &SignedIn, device: &Device) -> Markup {
    let name = &device.profile.name;
    html! {
        section.section aria-labelledby="token-title" {
            h2 #token-title { "Token" }
            @if device.has_token {
                p { "Rotating gives the device a new token, shown once; the current one stops working at once." }
            } @else {
                p { "The token is revoked, so the device cannot send readings. Rotating gives it a new token, shown once." }
            }
            div.actions {
                form method="post" action={ "/devices/" (device.id) "/token" } {
                    (layout::csrf_field(&signed_in.csrf))
                    button.button type="submit" { "Rotate token" }
                }
                @if device.has_token {
                    form method="post" action={ "/devices/" (device.id) "/token/revoke" } {
                        (layout::csrf_field(&signed_in.csrf))
                        button.button.button-secondary type="submit" { "Revoke token" }
                    }
                }
            }
        }
        section.danger-zone aria-labelledby="delete-title" {
            h2 #delete-title { "Delete " (name) }
            p { "This removes " (name) " and all its readings for everyone in the household. It cannot be undone." }
            form method="post" action={ "/devices/" (device.id) "/delete" } {
                (layout::csrf_field(&signed_in.csrf))
                button.button.button-danger type="submit" { "Delete " (name) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn form(name: &str, kind: &str, pet_id: &str, interval: &str) -> DeviceForm {
        DeviceForm {
            name: name.into(),
            kind: kind.into(),
            pet_id: pet_id.into(),
            expected_interval_secs: interval.into(),
            ..DeviceForm::default()
        }
    }

    fn fields(invalid: &Invalid) -> Vec<(&str, &str)> {
        invalid.0.iter().map(|e| (e.field.as_str(), e.rule)).collect()
    }

    #[test]
    fn a_good_form_becomes_a_profile() {
        let pet = Uuid::now_v7();
        let profile = form(" Bella's collar ", "collar", &pet.to_string(), " 30 ").parse(true).unwrap();
        assert_eq!(profile.name, "Bella's collar");
        assert_eq!(profile.kind, DeviceKind::Collar);
        assert_eq!(profile.pet_id, Some(PetId(pet)));
        assert_eq!(profile.expected_interval_secs, 30);
        let plain = form("Hall", "air_monitor", "", "").parse(false).unwrap();
        assert_eq!((plain.pet_id, plain.expected_interval_secs), (None, devices::DEFAULT_INTERVAL_SECS));
    }

    #[test]
    fn a_bad_form_reports_every_field() {
        let err = form("", "", "not-a-pet", "soon").parse(false).unwrap_err();
        let mut got = fields(&err);
        got.sort();
        assert_eq!(
            got,
            [("expected_interval_secs", "type"), ("kind", "required"), ("name", "required"), ("pet_id", "not_found")]
        );
        let err = form("Hall", "toaster", "", "0").parse(false).unwrap_err();
        assert_eq!(fields(&err), [("kind", "one_of"), ("expected_interval_secs", "out_of_range")]);
        let err = form("Hall", "collar", &Uuid::now_v7().to_string(), "").parse(false).unwrap_err();
        assert_eq!(fields(&err), [("pet_id", "not_found")]);
    }

    #[test]
    fn times_read_naturally() {
        let now = datetime!(2026-11-22 06:15:35 UTC);
        assert_eq!(ago(now + Duration::seconds(20), now), "just now");
        assert_eq!(ago(now - Duration::seconds(9), now), "just now");
        assert_eq!(ago(now - Duration::seconds(42), now), "42 seconds ago");
        assert_eq!(ago(now - Duration::seconds(61), now), "1 minute ago");
        assert_eq!(ago(now - Duration::minutes(150), now), "2 hours ago");
        assert_eq!(ago(now - Duration::days(3), now), "3 days ago");
        assert_eq!(utc(now), ("2026-11-22T06:15:35Z".to_owned(), "2026-11-22 06:15:35 UTC".to_owned()));
    }

    #[test]
    fn every_accelerometer_feature_has_words_and_a_window_is_one_short_line() {
        let mut told: Vec<&str> = ACCEL_WORDS.iter().map(|(name, _, _)| *name).collect();
        let mut kept = ACCEL_EXTRA.to_vec();
        told.sort_unstable();
        kept.sort_unstable();
        assert_eq!(told, kept);

        let ts = datetime!(2026-11-22 06:15:35 UTC);
        let raw = petty_core::readings::RawReading {
            ts: Some(petty_core::readings::RawTime::EpochMs(ts.unix_timestamp() * 1000)),
            accel: Some(petty_core::readings::RawAccel {
                hz: Some(25.0),
                x: (0..50).map(|i| (f64::from(i) * 0.5).sin() * 0.3).collect(),
                y: vec![0.1; 50],
                z: vec![0.9; 50],
            }),
            extra: vec![("wag_count".into(), 3.0)],
            ..petty_core::readings::RawReading::default()
        };
        let reading = Reading::parse(&raw, ts).unwrap();
        let html = movement(&reading).unwrap().into_string();
        let odba = rounded(reading.extra["accel_odba"]);
        let hz = rounded(reading.extra["accel_dominant_hz"]);
        assert!(html.contains(&format!("<summary>{odba} g · {hz} Hz</summary>")), "{html}");
        assert!(html.contains("<dt>Pitch</dt>"), "{html}");
        let others: Vec<&String> = other_extra(&reading).map(|(key, _)| key).collect();
        assert_eq!(others, ["wag_count"], "the window's features are not repeated among the other values");
        let plain = Reading::parse(
            &petty_core::readings::RawReading {
                ts: raw.ts.clone(),
                extra: vec![("accel_odba".into(), 0.5)],
                ..petty_core::readings::RawReading::default()
            },
            ts,
        )
        .unwrap();
        assert!(movement(&plain).is_none(), "one feature alone is not a window");
        assert_eq!(other_extra(&plain).count(), 1);
        assert_eq!((rounded(-0.004), rounded(2.345_1), rounded(-12.355)), (0.0, 2.35, -12.36));
    }

    #[test]
    fn values_carry_their_units() {
        assert_eq!(with_unit(Metric::HeartRate, 88.0), "88 beats per minute");
        assert_eq!(with_unit(Metric::ActivityLevel, 1.0), "1 (0 rest, 1 light, 2 active)");
        assert_eq!(with_unit(Metric::TemperatureC, 38.5), "38.5 °C body temperature");
    }
}
