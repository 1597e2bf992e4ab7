//! `/geofences` and `/geofences/{id}`: the household's fences, each drawn on a small map with
//! the last day's positions of its collars and each collar's place with respect to it (the
//! status the API's `/geofences/{id}/status` answers); and the forms that add, change and
//! remove a fence.
//!
//! The maps are inline SVG in the local metric projection the fences are judged in
//! (`petty_core::geofence::project`): metres east and north of the fence's centre, with a
//! scale bar. No tiles, no outside requests. A map beside a form carries what its script
//! (`assets/petty-geofence.js`) needs to turn a click into a latitude and longitude (`data-`
//! attributes: the origin and metres per unit); the script fills the form's centre or adds a
//! polygon corner. Without JavaScript the same forms take typed coordinates.
//!
//! A fence is read with the same core parsers as the API's (`Fence::parse`,
//! `FenceRules::parse`); the form only turns its text into numbers first.

use std::collections::{HashMap, VecDeque};

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use petty_core::accounts::Permission;
use petty_core::devices::DeviceKind;
use petty_core::geofence::{
    ACCURACY_MAX_M, ACCURACY_MIN_M, DWELL_MAX_SECS, Fence, FenceRules, POINTS_MAX, RADIUS_MAX_M, RADIUS_MIN_M,
    RawFence, Shape, haversine_m, project,
};
use petty_core::ids::{DeviceId, HouseholdId};
use petty_core::pets::format_date;
use petty_core::{FieldError, Invalid};
use petty_http::AppState;
use petty_http::extract::ClientIp;
use petty_store::{Geofence, GeofenceState, StoreError};
use serde::Deserialize;
use time::{Duration, OffsetDateTime, UtcOffset};
use uuid::Uuid;

use super::PageError;
use super::assets;
use super::csrf::CsrfForm;
use super::layout::{self, FormErrors, Header, Input, Select, TextArea};
use super::session::SignedIn;

/// How far back the maps show collars' positions.
const TRACK_SPAN: Duration = Duration::days(1);
/// The most positions one collar puts on a map (its newest).
const TRACK_MAX: usize = 500;
/// The map's drawing is `SIZE` units square, the origin in its middle.
const SIZE: f64 = 400.0;
const MIDDLE: f64 = SIZE / 2.0;
/// Positions farther than this many fence radii from the fence stay off its map.
const REACH: f64 = 10.0;

/// The fence form as posted: every field text, so that a bad value is explained beside its
/// field rather than refused by the extractor.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub(crate) struct FenceForm {
    csrf: String,
    name: String,
    kind: String,
    lat: String,
    lon: String,
    radius_m: String,
    /// One corner a line: `latitude, longitude`.
    points: String,
    dwell_secs: String,
    max_accuracy_m: String,
}

fn number<T: std::str::FromStr>(errors: &mut Vec<FieldError>, field: &str, text: &str, what: &str) -> Option<T> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    match text.parse::<T>() {
        Ok(v) => Some(v),
        Err(_) => {
            errors.push(FieldError::new(field, "type", format!("{field} must be {what}")));
            None
        }
    }
}

impl FenceForm {
    /// The form showing a stored fence.
    fn of(g: &Geofence) -> Self {
        let (kind, lat, lon, radius_m, points) = match &g.fence.shape {
            Shape::Circle { lat, lon, radius_m } => {
                ("circle", format!("{lat:.6}"), format!("{lon:.6}"), format!("{radius_m}"), String::new())
            }
            Shape::Polygon(points) => (
                "polygon",
                String::new(),
                String::new(),
                String::new(),
                points.iter().map(|(lat, lon)| format!("{lat:.6}, {lon:.6}")).collect::<Vec<_>>().join("\n"),
            ),
        };
        FenceForm {
            csrf: String::new(),
            name: g.fence.name.clone(),
            kind: kind.to_owned(),
            lat,
            lon,
            radius_m,
            points,
            dwell_secs: (g.rules.dwell_ms / 1000).to_string(),
            max_accuracy_m: g.rules.max_accuracy_m.to_string(),
        }
    }

    /// Every problem at once, with the API's rules.
    fn parse(&self) -> Result<(Fence, FenceRules), Invalid> {
        let mut errors = Vec::new();
        let lat = number(&mut errors, "lat", &self.lat, "a number of degrees, like 52.37");
        let lon = number(&mut errors, "lon", &self.lon, "a number of degrees, like 4.89");
        let radius_m = number(&mut errors, "radius_m", &self.radius_m, "a number of metres, like 100");
        let dwell = number(&mut errors, "dwell_secs", &self.dwell_secs, "a whole number of seconds, like 60");
        let accuracy = number(&mut errors, "max_accuracy_m", &self.max_accuracy_m, "a number of metres, like 50");
        let points = self.points_parsed(&mut errors);
        let raw = RawFence { name: self.name.clone(), kind: self.kind.trim().to_owned(), lat, lon, radius_m, points };
        let fence = Fence::parse(&raw);
        if let Err(invalid) = &fence {
            // A typed number that failed already said so; a corner's error belongs to the one field.
            for e in &invalid.0 {
                if errors.iter().any(|known| known.field == e.field) {
                    continue;
                }
                if e.field.starts_with("points[") {
                    errors.push(FieldError::new("points", e.rule, e.message.clone()));
                } else if e.field != "body" || errors.is_empty() {
                    errors.push(e.clone());
                }
            }
        }
        let rules = FenceRules::parse(dwell, accuracy);
        if let Err(invalid) = &rules {
            errors.extend(
                invalid.0.iter().filter(|e| !errors.iter().any(|k| k.field == e.field)).cloned().collect::<Vec<_>>(),
            );
        }
        match (fence, rules) {
            (Ok(fence), Ok(rules)) if errors.is_empty() => Ok((fence, rules)),
            _ => Err(Invalid(errors)),
        }
    }

    /// The polygon's corners, one `lat, lon` a line; `None` when the field is empty.
    fn points_parsed(&self, errors: &mut Vec<FieldError>) -> Option<Vec<(f64, f64)>> {
        let lines: Vec<&str> = self.points.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
        if lines.is_empty() {
            return None;
        }
        let mut points = Vec::with_capacity(lines.len());
        for (i, line) in lines.iter().enumerate() {
            let numbers: Vec<Option<f64>> =
                line.split([',', ' ', ';', '\t']).filter(|s| !s.is_empty()).map(|s| s.parse::<f64>().ok()).collect();
            match numbers.as_slice() {
                [Some(lat), Some(lon)] => points.push((*lat, *lon)),
                _ => {
                    errors.push(FieldError::new(
                        "points",
                        "type",
                        format!("points line {} must be two numbers, latitude then longitude, like 52.37, 4.89", i + 1),
                    ));
                    return None;
                }
            }
        }
        Some(points)
    }
}

/// An id from the URL; one that cannot be a fence is simply not found.
fn fence_id(raw: &str) -> Result<Uuid, PageError> {
    raw.parse().map_err(|_| PageError::NotFound)
}

fn not_found(e: StoreError) -> PageError {
    match e {
        StoreError::NotFound => PageError::NotFound,
        other => other.into(),
    }
}

/// One collar's positions of the last day, oldest first.
struct Track {
    device_id: DeviceId,
    name: String,
    /// (lat, lon, when).
    fixes: Vec<(f64, f64, OffsetDateTime)>,
}

/// The household's devices that reported a position in the last day, each with up to
/// [`TRACK_MAX`] of its newest positions. Air monitors stand still and report none.
async fn recent_tracks(
    state: &AppState,
    household_id: HouseholdId,
    now: OffsetDateTime,
) -> Result<Vec<Track>, PageError> {
    let mut tracks = Vec::new();
    for device in state.store.list_devices(household_id).await? {
        if device.profile.kind == DeviceKind::AirMonitor || device.latest_ts.is_none_or(|t| t < now - TRACK_SPAN) {
            continue;
        }
        let fixes = newest_fixes(state, household_id, device.id, now).await?;
        if !fixes.is_empty() {
            tracks.push(Track { device_id: device.id, name: device.profile.name, fixes });
        }
    }
    Ok(tracks)
}

/// Up to [`TRACK_MAX`] of a device's newest positions of the last day, oldest first. The store
/// pages oldest first, so this reads ever wider windows back from now and stops at the first
/// that holds enough: a chatty collar costs its last hour, not its whole day.
async fn newest_fixes(
    state: &AppState,
    household_id: HouseholdId,
    device_id: DeviceId,
    now: OffsetDateTime,
) -> Result<Vec<(f64, f64, OffsetDateTime)>, PageError> {
    let to = now + petty_core::readings::MAX_FUTURE;
    let mut fixes = VecDeque::with_capacity(TRACK_MAX + 1);
    for span in [Duration::hours(1), Duration::hours(6), TRACK_SPAN] {
        fixes.clear();
        let mut after = None;
        loop {
            let (page, next) = state.store.readings(household_id, device_id, now - span, to, after, 2000).await?;
            for stored in page {
                if let Some(at) = stored.reading.location {
                    if fixes.len() == TRACK_MAX {
                        fixes.pop_front();
                    }
                    fixes.push_back((at.lat, at.lon, stored.reading.ts));
                }
            }
            match next {
                Some(cursor) => after = Some(cursor),
                None => break,
            }
        }
        if fixes.len() == TRACK_MAX {
            break;
        }
    }
    Ok(fixes.into())
}

/// `2026-11-22 06:15 UTC`, and its `datetime`.
fn utc(t: OffsetDateTime) -> (String, String) {
    let t = t.to_offset(UtcOffset::UTC);
    let day = format_date(t.date());
    (
        format!("{day}T{:02}:{:02}:{:02}Z", t.hour(), t.minute(), t.second()),
        format!("{day} {:02}:{:02} UTC", t.hour(), t.minute()),
    )
}

/// A map: `origin` in its middle, `half_m` metres from the middle to each side.
struct MapFrame {
    origin: (f64, f64),
    half_m: f64,
}

impl MapFrame {
    fn metres_per_unit(&self) -> f64 {
        self.half_m / MIDDLE
    }

    /// Where (lat, lon) falls in the drawing, north up.
    fn at(&self, p: (f64, f64)) -> (f64, f64) {
        let (east, north) = project(self.origin, p);
        (MIDDLE + east / self.metres_per_unit(), MIDDLE - north / self.metres_per_unit())
    }

    fn shows(&self, p: (f64, f64)) -> bool {
        let (x, y) = self.at(p);
        (0.0..=SIZE).contains(&x) && (0.0..=SIZE).contains(&y)
    }
}

/// The longest round length (1, 2 or 5 × 10ⁿ metres) that fits in a quarter of the map.
fn scale_length(half_m: f64) -> f64 {
    let target = half_m / 2.0;
    let base = 10f64.powf(target.log10().floor());
    [5.0, 2.0, 1.0].into_iter().map(|m| m * base).find(|l| *l <= target).unwrap_or(base)
}

fn distance_text(metres: f64) -> String {
    if metres >= 1000.0 { format!("{} km", metres / 1000.0) } else { format!("{metres} m") }
}

/// The frame that shows the fence whole, and the positions near it.
fn fence_frame(fence: &Fence, tracks: &[Track]) -> MapFrame {
    let origin = fence.centre();
    let extent = match &fence.shape {
        Shape::Circle { radius_m, .. } => *radius_m,
        Shape::Polygon(points) => points.iter().map(|p| haversine_m(origin, *p)).fold(0.0, f64::max),
    };
    let near = tracks
        .iter()
        .flat_map(|t| t.fixes.iter())
        .map(|(lat, lon, _)| haversine_m(origin, (*lat, *lon)))
        .filter(|d| *d <= extent * REACH)
        .fold(0.0, f64::max);
    MapFrame { origin, half_m: (extent * 1.25).max(near * 1.1).max(50.0) }
}

/// The frame of the new-fence map: around the collars' positions, or the first fence.
fn new_fence_frame(fences: &[Geofence], tracks: &[Track]) -> Option<MapFrame> {
    let fixes: Vec<(f64, f64)> = tracks.iter().flat_map(|t| t.fixes.iter().map(|(lat, lon, _)| (*lat, *lon))).collect();
    if fixes.is_empty() {
        return fences.first().map(|g| fence_frame(&g.fence, &[]));
    }
    let origin = petty_core::geofence::centroid(&fixes);
    let far = fixes.iter().map(|p| haversine_m(origin, *p)).fold(0.0, f64::max);
    Some(MapFrame { origin, half_m: (far * 1.2).clamp(200.0, 20_000.0) })
}

fn f1(v: f64) -> String {
    format!("{v:.1}")
}

/// A map as inline SVG. `fence` is drawn when given; `form` names the form a click fills in.
fn map_svg(frame: &MapFrame, fence: Option<&Fence>, tracks: &[Track], title: &str, form: Option<&str>) -> Markup {
    let mpu = frame.metres_per_unit();
    let scale = scale_length(frame.half_m);
    let scale_units = scale / mpu;
    let hidden: usize = tracks.iter().map(|t| t.fixes.iter().filter(|(a, b, _)| !frame.shows((*a, *b))).count()).sum();
    let title_id = format!("map-{}", Uuid::now_v7().simple());
    html! {
        figure.geo-figure {
            svg.geo-map viewBox={ "0 0 " (SIZE) " " (SIZE) } role="img" aria-labelledby=(title_id)
                data-geo-map="" data-origin-lat=(format!("{:.7}", frame.origin.0)) data-origin-lon=(format!("{:.7}", frame.origin.1))
                data-metres-per-unit=(format!("{mpu:.6}")) data-geo-form=[form] {
                title id=(title_id) { (title) }
                rect.geo-bg x="0" y="0" width=(SIZE) height=(SIZE) {}
                // A grid at the scale bar's spacing, through the origin.
                @let steps = (MIDDLE / scale_units).floor() as i32;
                @for i in -steps..=steps {
                    @let at = f1(MIDDLE + f64::from(i) * scale_units);
                    line.geo-grid x1=(at) y1="0" x2=(at) y2=(SIZE) {}
                    line.geo-grid x1="0" y1=(at) x2=(SIZE) y2=(at) {}
                }
                @if let Some(fence) = fence {
                    @match &fence.shape {
                        Shape::Circle { lat, lon, radius_m } => {
                            @let (x, y) = frame.at((*lat, *lon));
                            circle.geo-fence data-fence-shape="circle" cx=(f1(x)) cy=(f1(y)) r=(f1(radius_m / mpu)) {}
                            circle.geo-centre cx=(f1(x)) cy=(f1(y)) r="3" {}
                        }
                        Shape::Polygon(points) => {
                            @let corners: Vec<String> = points.iter().map(|p| { let (x, y) = frame.at(*p); format!("{},{}", f1(x), f1(y)) }).collect();
                            polygon.geo-fence data-fence-shape="polygon" points=(corners.join(" ")) {}
                        }
                    }
                }
                @for (n, track) in tracks.iter().enumerate() {
                    @let shown: Vec<&(f64, f64, OffsetDateTime)> = track.fixes.iter().filter(|(a, b, _)| frame.shows((*a, *b))).collect();
                    @let line: Vec<String> = shown.iter().map(|(a, b, _)| { let (x, y) = frame.at((*a, *b)); format!("{},{}", f1(x), f1(y)) }).collect();
                    g class={ "geo-track geo-track-" (n % 4) } data-device-id=(track.device_id) {
                        @if line.len() > 1 { polyline.geo-path points=(line.join(" ")) {} }
                        @for (i, (lat, lon, at)) in shown.iter().enumerate() {
                            @let (x, y) = frame.at((*lat, *lon));
                            @let latest = i + 1 == shown.len();
                            circle.geo-fix.geo-fix-latest[latest] cx=(f1(x)) cy=(f1(y)) r=(if latest { "5" } else { "2.5" }) {
                                title { (track.name) ", " (utc(*at).1) }
                            }
                        }
                    }
                }
                // What a click draws (the script moves and shows them).
                @if form.is_some() {
                    polyline.geo-draft-line points="" {}
                    circle.geo-draft-centre cx=(MIDDLE) cy=(MIDDLE) r="4" visibility="hidden" {}
                }
                g.geo-scale {
                    line x1="16" y1=(SIZE - 16.0) x2=(f1(16.0 + scale_units)) y2=(SIZE - 16.0) {}
                    text x="16" y=(SIZE - 24.0) { (distance_text(scale)) }
                }
                text.geo-north x=(SIZE - 20.0) y="28" { "N" }
            }
            figcaption {
                @if tracks.is_empty() { "No collar reported a position in the last 24 hours." }
                @else {
                    "Positions of the last 24 hours: "
                    @for (n, track) in tracks.iter().enumerate() {
                        @if n > 0 { ", " }
                        span class={ "geo-key geo-track-" (n % 4) } { (track.name) }
                    }
                    "; the larger dot is the newest."
                    @if hidden > 0 { " " (hidden) " " (if hidden == 1 { "position lies" } else { "positions lie" }) " beyond this map." }
                }
                " The scale bar is " (distance_text(scale)) "."
            }
        }
    }
}

/// Where each collar stands with respect to the fence.
fn status_list(states: &[GeofenceState], names: &HashMap<DeviceId, String>) -> Markup {
    html! {
        @if states.is_empty() {
            p.geo-status { "No collar has reported a position since this fence was drawn." }
        } @else {
            ul.geo-status {
                @for s in states {
                    @let name = names.get(&s.device_id).map_or("A removed device", String::as_str);
                    li data-device-id=(s.device_id) {
                        strong { (name) } ": "
                        @match (s.state.known, s.state.inside) {
                            (false, _) => { span.badge.badge-none { "Unknown" } " no clear position yet" }
                            (true, true) => { span.badge.badge-ok { "Inside" } }
                            (true, false) => {
                                span.badge.badge-bad { "Outside" }
                                @if let Some(at) = s.state.outside_since_ms.and_then(|ms| petty_store::from_ms(ms).ok()) {
                                    @let (machine, text) = utc(at);
                                    " since " time datetime=(machine) { (text) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

const FIELDS: [(&str, &str); 8] = [
    ("name", "Name"),
    ("kind", "Shape"),
    ("lat", "Centre latitude"),
    ("lon", "Centre longitude"),
    ("radius_m", "Radius (metres)"),
    ("points", "Corners"),
    ("dwell_secs", "Time outside before it counts (seconds)"),
    ("max_accuracy_m", "Least accuracy used (metres)"),
];

/// The fence form; `action` is where it posts, `id` the form's id (the map names it).
fn fence_form(
    signed_in: &SignedIn,
    form: &FenceForm,
    errors: &FormErrors,
    action: &str,
    id: &str,
    button: &str,
) -> Markup {
    let kind = if form.kind.is_empty() { "circle" } else { form.kind.as_str() };
    let radius_hint = format!("From {RADIUS_MIN_M} to {} metres.", RADIUS_MAX_M);
    let points_hint = format!(
        "For a polygon: one corner a line, latitude then longitude (like 52.37, 4.89), 3 to {POINTS_MAX} corners; or click the map."
    );
    let dwell_hint = format!("0 to {DWELL_MAX_SECS} seconds; 60 when left empty. Short trips out are not reported.");
    let accuracy_hint =
        format!("{ACCURACY_MIN_M} to {ACCURACY_MAX_M} metres; 50 when left empty. Vaguer positions are ignored.");
    html! {
        form.form #(id) method="post" action=(action) novalidate {
            (layout::error_summary(errors, &FIELDS))
            (layout::csrf_field(&signed_in.csrf))
            (layout::input(&Input { name: "name", label: "Name", value: &form.name, maxlength: Some(petty_core::geofence::NAME_MAX), required: true, ..Input::default() }, errors))
            (layout::select(&Select {
                name: "kind", label: "Shape", hint: Some("A circle around a centre, or a polygon of corners."),
                options: &[("circle", "Circle"), ("polygon", "Polygon")], selected: kind, placeholder: None, required: true,
            }, errors))
            fieldset.geo-circle {
                legend { "Circle" }
                p.hint { "Type the centre, or click the map to place it." }
                (layout::input(&Input { name: "lat", label: "Centre latitude", value: &form.lat, inputmode: Some("decimal"), hint: Some("-90 to 90"), ..Input::default() }, errors))
                (layout::input(&Input { name: "lon", label: "Centre longitude", value: &form.lon, inputmode: Some("decimal"), hint: Some("-180 to 180"), ..Input::default() }, errors))
                (layout::input(&Input { name: "radius_m", label: "Radius (metres)", value: &form.radius_m, inputmode: Some("decimal"), hint: Some(&radius_hint), ..Input::default() }, errors))
            }
            (layout::textarea(&TextArea { name: "points", label: "Corners", hint: Some(&points_hint), value: &form.points, maxlength: 6000 }, errors))
            (layout::input(&Input { name: "dwell_secs", label: "Time outside before it counts (seconds)", value: &form.dwell_secs, inputmode: Some("numeric"), hint: Some(&dwell_hint), ..Input::default() }, errors))
            (layout::input(&Input { name: "max_accuracy_m", label: "Least accuracy used (metres)", value: &form.max_accuracy_m, inputmode: Some("decimal"), hint: Some(&accuracy_hint), ..Input::default() }, errors))
            p.geo-picked role="status" aria-live="polite" {}
            button.button type="submit" { (button) }
        }
    }
}

/// The devices' names, for the status lists.
async fn device_names(state: &AppState, household_id: HouseholdId) -> Result<HashMap<DeviceId, String>, PageError> {
    Ok(state.store.list_devices(household_id).await?.into_iter().map(|d| (d.id, d.profile.name)).collect())
}

/// The list page, whether or not its form is in error.
async fn list_page(
    state: &AppState,
    signed_in: &SignedIn,
    status: StatusCode,
    form: &FenceForm,
    errors: &FormErrors,
) -> Result<Response, PageError> {
    let household_id = signed_in.membership.household_id;
    let now = OffsetDateTime::now_utc();
    let fences = state.store.list_geofences(household_id).await?;
    let tracks = recent_tracks(state, household_id, now).await?;
    let names = device_names(state, household_id).await?;
    let mut statuses = Vec::with_capacity(fences.len());
    for g in &fences {
        statuses.push(state.store.geofence_status(household_id, g.id).await?);
    }
    let can_manage = signed_in.can(Permission::ManagePets);
    let chrome = signed_in.chrome();
    let new_frame = new_fence_frame(&fences, &tracks);
    let view = layout::page_with_script(
        "Geofences",
        Header::SignedIn(&chrome),
        &assets::geofence_script_url(),
        html! {
            div.page-head {
                div {
                    h1 { "Geofences" }
                    p.lead { "Areas your pets should stay in. Petty tells you when a collar leaves one, and when it comes back." }
                }
            }
            @if fences.is_empty() {
                div.empty { h2 { "No geofences yet" } @if can_manage { p { "Draw the first one below." } } }
            } @else {
                ul.geo-list {
                    @for (g, states) in fences.iter().zip(&statuses) {
                        li {
                            article.geo-fence-card aria-labelledby={ "fence-" (g.id) } {
                                h2 id={ "fence-" (g.id) } { a href={ "/geofences/" (g.id) } { (g.fence.name) } }
                                (map_svg(&fence_frame(&g.fence, &tracks), Some(&g.fence), &tracks, &format!("Map of {}", g.fence.name), None))
                                (status_list(states, &names))
                                @if can_manage {
                                    p { a.button.button-secondary href={ "/geofences/" (g.id) } aria-label={ "Change " (g.fence.name) } { "Change" } }
                                }
                            }
                        }
                    }
                }
            }
            @if can_manage {
                section.section aria-labelledby="new-fence-title" {
                    div.section-head { h2 #new-fence-title { "New geofence" } }
                    @if let Some(frame) = &new_frame {
                        (map_svg(frame, None, &tracks, "Map around the collars' recent positions: click to place the fence", Some("new-fence")))
                    } @else {
                        p { "No collar reported a position in the last 24 hours, so there is no map to click yet: type the coordinates." }
                    }
                    (fence_form(signed_in, form, errors, "/geofences", "new-fence", "Add the geofence"))
                }
            }
        },
    );
    Ok(layout::html(status, view))
}

/// One fence's page, whether or not its form is in error.
async fn fence_page(
    state: &AppState,
    signed_in: &SignedIn,
    g: &Geofence,
    status: StatusCode,
    form: &FenceForm,
    errors: &FormErrors,
) -> Result<Response, PageError> {
    let household_id = signed_in.membership.household_id;
    let tracks = recent_tracks(state, household_id, OffsetDateTime::now_utc()).await?;
    let names = device_names(state, household_id).await?;
    let states = state.store.geofence_status(household_id, g.id).await?;
    let can_manage = signed_in.can(Permission::ManagePets);
    let chrome = signed_in.chrome();
    let action = format!("/geofences/{}", g.id);
    let view = layout::page_with_script(
        &g.fence.name,
        Header::SignedIn(&chrome),
        &assets::geofence_script_url(),
        html! {
            p { a href="/geofences" { "All geofences" } }
            div.page-head { div { h1 { (g.fence.name) } } }
            (map_svg(&fence_frame(&g.fence, &tracks), Some(&g.fence), &tracks, &format!("Map of {}", g.fence.name), can_manage.then_some("edit-fence")))
            section.section aria-labelledby="status-title" {
                h2 #status-title { "Where the collars are" }
                (status_list(&states, &names))
            }
            @if can_manage {
                section.section aria-labelledby="edit-title" {
                    h2 #edit-title { "Change this geofence" }
                    (fence_form(signed_in, form, errors, &action, "edit-fence", "Save changes"))
                }
                section.section aria-labelledby="delete-title" {
                    h2 #delete-title { "Remove this geofence" }
                    form method="post" action={ (action) "/delete" } {
                        (layout::csrf_field(&signed_in.csrf))
                        button.button.button-danger type="submit" { "Remove " (g.fence.name) }
                    }
                }
            }
        },
    );
    Ok(layout::html(status, view))
}

#[tracing::instrument(skip_all, fields(household_id = %signed_in.membership.household_id))]
pub(crate) async fn geofences_page(State(state): State<AppState>, signed_in: SignedIn) -> Result<Response, PageError> {
    signed_in.require(Permission::Read)?;
    list_page(&state, &signed_in, StatusCode::OK, &FenceForm::default(), &FormErrors::none()).await
}

#[tracing::instrument(skip_all, fields(household_id = %signed_in.membership.household_id))]
pub(crate) async fn create_geofence(
    State(state): State<AppState>,
    signed_in: SignedIn,
    ClientIp(ip): ClientIp,
    Form(form): Form<FenceForm>,
) -> Result<Response, PageError> {
    signed_in.check_csrf(&state, &form.csrf)?;
    signed_in.require(Permission::ManagePets)?;
    let (fence, rules) = match form.parse() {
        Ok(parsed) => parsed,
        Err(invalid) => {
            let errors = FormErrors::from_invalid(invalid);
            return list_page(&state, &signed_in, StatusCode::UNPROCESSABLE_ENTITY, &form, &errors).await;
        }
    };
    let household_id = signed_in.membership.household_id;
    let g = state.store.create_geofence(household_id, &fence, rules, OffsetDateTime::now_utc()).await?;
    tracing::info!(geofence_id = %g.id, "geofence added from the dashboard");
    signed_in.audit(&state, ip, "create", "geofence", g.id, petty_app::audit::no_detail()).await?;
    Ok(Redirect::to("/geofences").into_response())
}

#[tracing::instrument(skip_all, fields(household_id = %signed_in.membership.household_id, geofence_id = %id))]
pub(crate) async fn geofence_page(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    signed_in.require(Permission::Read)?;
    let g = state.store.get_geofence(signed_in.membership.household_id, fence_id(&id)?).await.map_err(not_found)?;
    fence_page(&state, &signed_in, &g, StatusCode::OK, &FenceForm::of(&g), &FormErrors::none()).await
}

#[tracing::instrument(skip_all, fields(household_id = %signed_in.membership.household_id, geofence_id = %id))]
pub(crate) async fn update_geofence(
    State(state): State<AppState>,
    signed_in: SignedIn,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
    Form(form): Form<FenceForm>,
) -> Result<Response, PageError> {
    signed_in.check_csrf(&state, &form.csrf)?;
    signed_in.require(Permission::ManagePets)?;
    let household_id = signed_in.membership.household_id;
    let id = fence_id(&id)?;
    let (fence, rules) = match form.parse() {
        Ok(parsed) => parsed,
        Err(invalid) => {
            let g = state.store.get_geofence(household_id, id).await.map_err(not_found)?;
            let errors = FormErrors::from_invalid(invalid);
            return fence_page(&state, &signed_in, &g, StatusCode::UNPROCESSABLE_ENTITY, &form, &errors).await;
        }
    };
    let g = state
        .store
        .update_geofence(household_id, id, &fence, rules, OffsetDateTime::now_utc())
        .await
        .map_err(not_found)?;
    tracing::info!("geofence changed from the dashboard");
    signed_in.audit(&state, ip, "update", "geofence", g.id, petty_app::audit::no_detail()).await?;
    Ok(Redirect::to(&format!("/geofences/{}", g.id)).into_response())
}

#[tracing::instrument(skip_all, fields(household_id = %signed_in.membership.household_id, geofence_id = %id))]
pub(crate) async fn delete_geofence(
    State(state): State<AppState>,
    signed_in: SignedIn,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    signed_in.check_csrf(&state, &form.csrf)?;
    signed_in.require(Permission::ManagePets)?;
    let id = fence_id(&id)?;
    state.store.delete_geofence(signed_in.membership.household_id, id).await.map_err(not_found)?;
    tracing::info!("geofence removed from the dashboard");
    signed_in.audit(&state, ip, "delete", "geofence", id, petty_app::audit::no_detail()).await?;
    Ok(Redirect::to("/geofences").into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(fields: &[(&str, &str)]) -> FenceForm {
        let mut f = FenceForm { name: "Garden".into(), kind: "circle".into(), ..FenceForm::default() };
        for (k, v) in fields {
            let v = (*v).to_owned();
            match *k {
                "kind" => f.kind = v,
                "lat" => f.lat = v,
                "lon" => f.lon = v,
                "radius_m" => f.radius_m = v,
                "points" => f.points = v,
                "dwell_secs" => f.dwell_secs = v,
                _ => unreachable!("{k}"),
            }
        }
        f
    }

    fn fields(r: Result<(Fence, FenceRules), Invalid>) -> Vec<String> {
        r.err().map(|i| i.0.into_iter().map(|e| e.field).collect()).unwrap_or_default()
    }

    #[test]
    fn the_form_names_each_bad_field_once() {
        assert_eq!(fields(form(&[("lat", "north"), ("lon", "4.89"), ("radius_m", "5")]).parse()), ["lat", "radius_m"]);
        assert_eq!(
            fields(form(&[("lat", "52.37"), ("lon", "4.89"), ("radius_m", "100"), ("dwell_secs", "9999")]).parse()),
            ["dwell_secs"]
        );
        assert_eq!(fields(form(&[("kind", "polygon"), ("points", "52.0, 4.0\n52.1\n52.0, 4.1")]).parse()), ["points"]);
        assert_eq!(
            fields(form(&[("kind", "polygon"), ("points", "95, 4.0\n52.1, 4.0\n52.0, 4.1")]).parse()),
            ["points"]
        );
        let (fence, rules) =
            form(&[("kind", "polygon"), ("points", "52.370, 4.890\n52.371 4.890\n52.370,4.891")]).parse().unwrap();
        assert!(matches!(fence.shape, Shape::Polygon(ref p) if p.len() == 3));
        assert_eq!(rules, FenceRules::default());
    }

    #[test]
    fn the_map_puts_north_up_and_east_right_at_its_scale() {
        let frame = MapFrame { origin: (52.37, 4.89), half_m: 200.0 };
        assert_eq!(frame.at((52.37, 4.89)), (MIDDLE, MIDDLE));
        let (x, y) = frame.at((52.37 + 100.0 / 111_195.0, 4.89));
        assert!((x - MIDDLE).abs() < 0.01 && (y - (MIDDLE - 100.0)).abs() < 0.1, "{x} {y}");
        let (x, _) = frame.at((52.37, 4.891));
        assert!(x > MIDDLE);
        assert_eq!(scale_length(200.0), 100.0);
        assert_eq!(scale_length(1300.0), 500.0);
        assert_eq!(distance_text(2000.0), "2 km");
    }

    #[test]
    fn a_map_draws_no_outside_address() {
        let fence = Fence { name: "Garden".into(), shape: Shape::Circle { lat: 52.37, lon: 4.89, radius_m: 50.0 } };
        let svg = map_svg(&fence_frame(&fence, &[]), Some(&fence), &[], "Map", Some("f")).into_string();
        assert!(svg.contains(r#"data-fence-shape="circle" cx="200.0" cy="200.0" r="160.0""#), "{svg}");
        assert!(!svg.contains("http"), "{svg}");
    }
}
