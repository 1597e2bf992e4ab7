//! `/api/v1/alarms` and what shapes them: the alarms (list with filters, one with its trail and
//! notifications, acknowledge, clear, comment, assign), the household's rules, its people and
//! their notification policies, its escalation, its webhooks; and the acknowledgement links and
//! Twilio's keypress callback that stop escalation from outside the app.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use petty_app::alarm_settings::{
    self, RawContact, RawEscalation, RawPolicy, RawQuiet, RawRule, SettingsError, TestDelivery,
};
use petty_app::alarms::AlarmOut;
use petty_app::audit::Who;
use petty_core::accounts::Permission;
use petty_core::alarm::{AlarmState, Channel, Escalation, Severity, TrailActor};
use petty_core::ids::{AlarmId, AlarmRuleId, ContactId, DeviceId, PetId, UserId, WebhookId};
use petty_core::paging::PageRequest;
use petty_core::readings::Metric;
use petty_store::{Alarm, AlarmFilter, Contact, Notification, StoreError, StoredRule, Webhook};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::api::Paged;
use crate::auth::CurrentActor;
use crate::error::{ApiError, ErrorBody, ErrorCode};
use crate::extract::{ApiJson, ApiPath, ApiQuery, ClientIp};
use crate::state::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_alarms))
        .routes(routes!(get_alarm))
        .routes(routes!(acknowledge_alarm))
        .routes(routes!(clear_alarm))
        .routes(routes!(comment_alarm))
        .routes(routes!(assign_alarm))
        .routes(routes!(list_rules, create_rule))
        .routes(routes!(update_rule, delete_rule))
        .routes(routes!(preview_new_rule))
        .routes(routes!(preview_rule))
        .routes(routes!(list_contacts, create_contact))
        .routes(routes!(update_contact, delete_contact))
        .routes(routes!(get_escalation, put_escalation))
        .routes(routes!(list_webhooks, create_webhook))
        .routes(routes!(update_webhook, delete_webhook))
        .routes(routes!(test_webhook))
        .routes(routes!(list_notifications))
}

/// The longest note or comment on an alarm, in characters (spaces around it not counted).
pub(crate) const NOTE_MAX: usize = 2000;
pub(crate) use petty_app::alarm_settings::{CONTACT_NAME_MAX, UTC_OFFSET_MAX_MIN, UTC_OFFSET_MIN_MIN};

fn now_ms() -> i64 {
    petty_store::to_ms(time::OffsetDateTime::now_utc())
}

fn bad(field: &str, rule: &str, message: impl Into<String>) -> ApiError {
    ApiError::field(ErrorCode::ValidationFailed, field, rule, message)
}

fn alarm_not_found(e: StoreError) -> ApiError {
    match e {
        StoreError::NotFound => ApiError::not_found("alarm"),
        StoreError::Conflict(what) => ApiError::new(ErrorCode::Conflict, format!("the alarm cannot take {what}")),
        other => other.into(),
    }
}

// ---- alarms ----

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct AlarmQuery {
    /// Comma-separated states: active, acknowledged, cleared (default: all).
    pub state: Option<String>,
    /// The least severe to include: critical, major, minor, warning, info.
    pub severity: Option<String>,
    pub device_id: Option<Uuid>,
    pub pet_id: Option<Uuid>,
    /// Raised at or after (RFC 3339).
    pub from: Option<String>,
    /// Raised before (RFC 3339).
    pub to: Option<String>,
    /// 1-based (default 1).
    pub page: Option<u32>,
    /// 1–500 (default 50).
    pub page_size: Option<u32>,
}

fn parse_time(field: &str, raw: &Option<String>) -> Result<Option<i64>, ApiError> {
    raw.as_deref()
        .map(|s| {
            time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
                .map(petty_store::to_ms)
                .map_err(|_| {
                    bad(field, "format", format!("{field} must be an RFC 3339 time like 2026-11-22T06:15:35Z"))
                })
        })
        .transpose()
}

fn parse_severity(field: &str, raw: &str) -> Result<Severity, ApiError> {
    raw.parse()
        .map_err(|()| bad(field, "one_of", format!("{field} must be one of critical, major, minor, warning, info")))
}

/// The household's alarms, newest first, filtered.
#[utoipa::path(get, path = "/api/v1/alarms", tag = "alarms", params(AlarmQuery),
    responses((status = 200, body = Paged<AlarmOut>)),
    security(("bearer" = [])))]
pub(crate) async fn list_alarms(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiQuery(q): ApiQuery<AlarmQuery>,
) -> Result<Json<Paged<AlarmOut>>, ApiError> {
    let actor = actor.require(Permission::Read)?;
    let page = PageRequest::parse(q.page, q.page_size)?;
    let mut filter = AlarmFilter::default();
    if let Some(states) = &q.state {
        for s in states.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            filter.states.push(
                s.parse().map_err(|()| bad("state", "one_of", "state must list active, acknowledged or cleared"))?,
            );
        }
    }
    filter.min_severity = q.severity.as_deref().map(|s| parse_severity("severity", s)).transpose()?;
    filter.device_id = q.device_id.map(DeviceId);
    filter.pet_id = q.pet_id.map(PetId);
    filter.from_ms = parse_time("from", &q.from)?;
    filter.to_ms = parse_time("to", &q.to)?;
    let alarms = state.store.page_alarms(actor.household_id, &filter, page).await?;
    Ok(Json(Paged::from_page(alarms, |a| AlarmOut::from(&a))))
}

/// A notification in the outbox: who, how, and what became of it.
#[derive(Serialize, ToSchema)]
pub(crate) struct NotificationOut {
    pub id: Uuid,
    /// email, sms, voice or webhook.
    pub channel: &'static str,
    pub recipient: String,
    /// pending, sent, failed, held (quiet hours) or cancelled.
    pub status: String,
    pub attempts: i64,
    #[serde(serialize_with = "crate::rfc3339::serialize")]
    pub next_attempt_at: OffsetDateTime,
    pub last_error: Option<String>,
    /// The provider's id for it (Twilio's message or call SID).
    pub provider_ref: Option<String>,
    #[serde(serialize_with = "crate::rfc3339::serialize")]
    pub created_at: OffsetDateTime,
    #[serde(serialize_with = "crate::rfc3339::option::serialize")]
    pub sent_at: Option<OffsetDateTime>,
}

impl From<&Notification> for NotificationOut {
    fn from(n: &Notification) -> Self {
        Self {
            id: n.id.0,
            channel: n.channel.as_str(),
            recipient: n.recipient.clone(),
            status: n.status.clone(),
            attempts: n.attempts,
            next_attempt_at: n.next_attempt_at,
            last_error: n.last_error.clone(),
            provider_ref: n.provider_ref.clone(),
            created_at: n.created_at,
            sent_at: n.sent_at,
        }
    }
}

/// An entry of an alarm's trail: raised, repeated, acknowledged, commented, assigned, cleared.
#[derive(Serialize, ToSchema)]
pub(crate) struct TrailEntryOut {
    #[serde(serialize_with = "crate::rfc3339::serialize")]
    pub at: OffsetDateTime,
    pub kind: String,
    /// `user:{id}`, `api_key:{id}`, `contact:{id}` or `system`.
    pub actor: String,
    pub body: String,
}

impl From<&petty_store::AlarmEvent> for TrailEntryOut {
    fn from(e: &petty_store::AlarmEvent) -> Self {
        Self { at: e.at, kind: e.kind.clone(), actor: e.actor.to_string(), body: e.body.clone() }
    }
}

/// One alarm with the rule that raised it, its trail and who was told.
#[derive(Serialize, ToSchema)]
pub(crate) struct AlarmDetailOut {
    #[serde(flatten)]
    pub alarm: AlarmOut,
    pub rule: Option<RuleOut>,
    pub trail: Vec<TrailEntryOut>,
    pub notifications: Vec<NotificationOut>,
}

/// `webhooks`: whether the caller may see webhook deliveries (those who manage webhooks).
async fn alarm_detail(state: &AppState, alarm: &Alarm, webhooks: bool) -> Result<AlarmDetailOut, ApiError> {
    let events = state.store.alarm_events(alarm.household_id, alarm.id).await?;
    let mut notifications = state.store.notifications(alarm.household_id, Some(alarm.id), 200).await?;
    notifications.retain(|n| webhooks || n.channel != Channel::Webhook);
    let rule = match alarm.rule_id {
        Some(id) => state.store.alarm_rules(alarm.household_id, now_ms()).await?.into_iter().find(|r| r.id == id),
        None => None,
    };
    Ok(AlarmDetailOut {
        alarm: AlarmOut::from(alarm),
        rule: rule.as_ref().map(RuleOut::from),
        trail: events.iter().map(TrailEntryOut::from).collect(),
        notifications: notifications.iter().map(NotificationOut::from).collect(),
    })
}

/// One alarm with the rule and readings that raised it, its trail and its notifications.
#[utoipa::path(get, path = "/api/v1/alarms/{id}", tag = "alarms", params(("id" = Uuid, Path, description = "The alarm's id")),
    responses((status = 200, body = AlarmDetailOut)),
    security(("bearer" = [])))]
async fn get_alarm(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<AlarmDetailOut>, ApiError> {
    let actor = actor.require(Permission::Read)?;
    let alarm = state.store.get_alarm(actor.household_id, AlarmId(id)).await.map_err(alarm_not_found)?;
    Ok(Json(alarm_detail(&state, &alarm, actor.can(Permission::ManageHousehold)).await?))
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct NoteIn {
    /// Up to 2,000 characters.
    pub note: Option<String>,
}

fn note_text(note: Option<String>, field: &str, required: bool) -> Result<String, ApiError> {
    let text = note.unwrap_or_default().trim().to_owned();
    if required && text.is_empty() {
        return Err(bad(field, "required", format!("{field} must not be empty")));
    }
    if text.chars().count() > NOTE_MAX {
        return Err(bad(field, "too_long", format!("{field} must be at most {NOTE_MAX} characters")));
    }
    Ok(text)
}

/// Moves an alarm on and tells everyone (live, webhooks); escalation stops.
pub(crate) async fn transition(
    state: &AppState,
    household_id: petty_core::ids::HouseholdId,
    id: Uuid,
    to: AlarmState,
    actor: TrailActor,
    note: &str,
) -> Result<Alarm, ApiError> {
    petty_app::alarms::transition(&state.app, household_id, AlarmId(id), to, actor, note).await.map_err(alarm_not_found)
}

/// The optional `{"note"}` body: empty or absent is no note.
fn body_note(body: &[u8]) -> Result<String, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(String::new());
    }
    let parsed: NoteIn = crate::extract::parse_json(body)?;
    note_text(parsed.note, "note", false)
}

/// Acknowledges an active alarm: someone is on it; calls and messages stop.
#[utoipa::path(post, path = "/api/v1/alarms/{id}/acknowledge", tag = "alarms", params(("id" = Uuid, Path, description = "The alarm's id")),
    request_body = Option<NoteIn>,
    responses((status = 200, body = AlarmOut), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn acknowledge_alarm(
    State(state): State<AppState>,
    actor: CurrentActor,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<Uuid>,
    body: axum::body::Bytes,
) -> Result<Json<AlarmOut>, ApiError> {
    let actor = actor.require(Permission::WriteCare)?;
    let note = body_note(&body)?;
    let alarm =
        transition(&state, actor.household_id, id, AlarmState::Acknowledged, TrailActor::from(&actor), &note).await?;
    crate::api::audit(&state, &actor, ip, "acknowledge", "alarm", id, petty_app::audit::no_detail()).await?;
    Ok(Json(AlarmOut::from(&alarm)))
}

/// Clears an alarm (active or acknowledged): it is over.
#[utoipa::path(post, path = "/api/v1/alarms/{id}/clear", tag = "alarms", params(("id" = Uuid, Path, description = "The alarm's id")),
    request_body = Option<NoteIn>,
    responses((status = 200, body = AlarmOut), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
async fn clear_alarm(
    State(state): State<AppState>,
    actor: CurrentActor,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<Uuid>,
    body: axum::body::Bytes,
) -> Result<Json<AlarmOut>, ApiError> {
    let actor = actor.require(Permission::WriteCare)?;
    let note = body_note(&body)?;
    let alarm =
        transition(&state, actor.household_id, id, AlarmState::Cleared, TrailActor::from(&actor), &note).await?;
    crate::api::audit(&state, &actor, ip, "clear", "alarm", id, petty_app::audit::no_detail()).await?;
    Ok(Json(AlarmOut::from(&alarm)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CommentIn {
    /// 1–2,000 characters.
    pub text: String,
}

/// Adds a comment to an alarm's trail.
#[utoipa::path(post, path = "/api/v1/alarms/{id}/comments", tag = "alarms", params(("id" = Uuid, Path, description = "The alarm's id")),
    request_body = CommentIn,
    responses((status = 201, body = TrailEntryOut)),
    security(("bearer" = [])))]
async fn comment_alarm(
    State(state): State<AppState>,
    actor: CurrentActor,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<CommentIn>,
) -> Result<impl IntoResponse, ApiError> {
    let actor = actor.require(Permission::WriteCare)?;
    let text = note_text(Some(body.text), "text", true)?;
    let e = state
        .store
        .alarm_note(actor.household_id, AlarmId(id), "comment", TrailActor::from(&actor), &text, now_ms())
        .await
        .map_err(alarm_not_found)?;
    crate::api::audit(&state, &actor, ip, "comment", "alarm", id, petty_app::audit::no_detail()).await?;
    Ok((StatusCode::CREATED, Json(TrailEntryOut::from(&e))))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AssignIn {
    /// A member's user id; null unassigns.
    pub user_id: Option<Uuid>,
}

/// Assigns an alarm to a member of the household (or nobody).
#[utoipa::path(post, path = "/api/v1/alarms/{id}/assign", tag = "alarms", params(("id" = Uuid, Path, description = "The alarm's id")),
    request_body = AssignIn,
    responses((status = 200, body = AlarmOut)),
    security(("bearer" = [])))]
async fn assign_alarm(
    State(state): State<AppState>,
    actor: CurrentActor,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<AssignIn>,
) -> Result<Json<AlarmOut>, ApiError> {
    let actor = actor.require(Permission::WriteCare)?;
    if let Some(user) = body.user_id {
        let members = state.store.list_members(actor.household_id).await?;
        if !members.iter().any(|m| m.user.id.0 == user) {
            return Err(bad("user_id", "member", "user_id must be a member of this household"));
        }
    }
    let alarm = state
        .store
        .assign_alarm(actor.household_id, AlarmId(id), body.user_id.map(UserId), TrailActor::from(&actor), now_ms())
        .await
        .map_err(alarm_not_found)?;
    crate::api::audit(&state, &actor, ip, "assign", "alarm", id, petty_app::audit::fields(&["assignee"])).await?;
    Ok(Json(AlarmOut::from(&alarm)))
}

// ---- rules ----

/// An alarm rule: built in (`key` set; tune or disable it) or the household's own.
#[derive(Serialize, ToSchema)]
pub(crate) struct RuleOut {
    pub id: Uuid,
    /// The built-in rule's key; null for the household's own.
    pub key: Option<String>,
    pub name: String,
    /// collar, air_monitor or any.
    pub device_kind: &'static str,
    /// above, below, rise, co_dose, absence, or an event (offline, low_battery, geofence_exit, ...).
    pub kind: &'static str,
    pub metric: Option<&'static str>,
    pub value: f64,
    pub clear_value: f64,
    pub for_secs: i64,
    pub clear_secs: i64,
    pub severity: &'static str,
    pub enabled: bool,
    /// The rule in words.
    pub describes: String,
}

impl From<&StoredRule> for RuleOut {
    fn from(r: &StoredRule) -> Self {
        Self {
            id: r.id.0,
            key: r.rule.key.clone(),
            name: r.rule.name.clone(),
            device_kind: r.rule.device_kind_name(),
            kind: r.rule.kind.as_str(),
            metric: r.rule.metric.map(Metric::name),
            value: r.rule.value,
            clear_value: r.rule.clear_value,
            for_secs: r.rule.for_secs,
            clear_secs: r.rule.clear_secs,
            severity: r.rule.severity.as_str(),
            enabled: r.rule.enabled,
            describes: r.rule.describe(),
        }
    }
}

/// A rule as written: a household's own, or new settings for a built-in one (whose kind stays).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RuleIn {
    pub name: String,
    /// collar, air_monitor or any.
    pub device_kind: String,
    /// above, below, rise, co_dose or absence for a new rule; a built-in rule keeps its own kind
    /// (any kind is taken here, and ignored).
    pub kind: String,
    /// The metric's field name (heart_rate, co_ppm, ambient_temp_c, ...).
    pub metric: Option<String>,
    pub value: f64,
    /// Where the alarm clears (hysteresis); default: `value`.
    pub clear_value: Option<f64>,
    /// How long the condition must hold, seconds (default 0).
    pub for_secs: Option<i64>,
    /// How long the clear condition must hold, seconds (default 0).
    pub clear_secs: Option<i64>,
    /// critical, major, minor, warning, info.
    pub severity: String,
    /// Default true.
    pub enabled: Option<bool>,
}

impl From<&RuleIn> for RawRule {
    fn from(body: &RuleIn) -> Self {
        RawRule {
            name: body.name.clone(),
            device_kind: body.device_kind.clone(),
            kind: body.kind.clone(),
            metric: body.metric.clone(),
            value: body.value,
            clear_value: body.clear_value,
            for_secs: body.for_secs,
            clear_secs: body.clear_secs,
            severity: body.severity.clone(),
            enabled: body.enabled,
        }
    }
}

/// A settings use case's refusal as the API answers it.
pub(crate) fn settings_error(e: SettingsError) -> ApiError {
    match e {
        SettingsError::Invalid(invalid) => invalid.into(),
        SettingsError::NotFound(what) => ApiError::not_found(what),
        SettingsError::Store(e) => e.into(),
    }
}

fn who(actor: &petty_core::accounts::Actor, ip: std::net::IpAddr) -> Who {
    Who::actor(actor, Some(ip))
}

/// The household's alarm rules, built-in ones first (seeded on first use).
#[utoipa::path(get, path = "/api/v1/alarm-rules", tag = "alarms",
    responses((status = 200, body = Paged<RuleOut>)), security(("bearer" = [])))]
async fn list_rules(State(state): State<AppState>, actor: CurrentActor) -> Result<Json<Paged<RuleOut>>, ApiError> {
    let actor = actor.require(Permission::Read)?;
    let rules = state.store.alarm_rules(actor.household_id, now_ms()).await?;
    Ok(Json(Paged::all(rules.iter().map(RuleOut::from).collect())))
}

/// A household's own rule.
#[utoipa::path(post, path = "/api/v1/alarm-rules", tag = "alarms", request_body = RuleIn,
    responses((status = 201, body = RuleOut)), security(("bearer" = [])))]
async fn create_rule(
    State(state): State<AppState>,
    actor: CurrentActor,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<RuleIn>,
) -> Result<impl IntoResponse, ApiError> {
    let actor = actor.require(Permission::ManagePets)?;
    let stored = alarm_settings::create_rule(&state.app, &who(&actor, ip), &RawRule::from(&body))
        .await
        .map_err(settings_error)?;
    Ok((StatusCode::CREATED, Json(RuleOut::from(&stored))))
}

/// Tunes a rule (a built-in one keeps its kind): its value, hold times, severity, on or off.
#[utoipa::path(put, path = "/api/v1/alarm-rules/{id}", tag = "alarms", params(("id" = Uuid, Path, description = "The rule's id")),
    request_body = RuleIn,
    responses((status = 200, body = RuleOut)),
    security(("bearer" = [])))]
async fn update_rule(
    State(state): State<AppState>,
    actor: CurrentActor,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<RuleIn>,
) -> Result<Json<RuleOut>, ApiError> {
    let actor = actor.require(Permission::ManagePets)?;
    let stored = alarm_settings::update_rule(&state.app, &who(&actor, ip), AlarmRuleId(id), &RawRule::from(&body))
        .await
        .map_err(settings_error)?;
    Ok(Json(RuleOut::from(&stored)))
}

/// Deletes a household's own rule (built-in rules are disabled instead).
#[utoipa::path(delete, path = "/api/v1/alarm-rules/{id}", tag = "alarms", params(("id" = Uuid, Path, description = "The rule's id")),
    responses((status = 204)), security(("bearer" = [])))]
async fn delete_rule(
    State(state): State<AppState>,
    actor: CurrentActor,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    let actor = actor.require(Permission::ManagePets)?;
    alarm_settings::delete_rule(&state.app, &who(&actor, ip), AlarmRuleId(id)).await.map_err(settings_error)?;
    Ok(StatusCode::NO_CONTENT)
}

/// An incident a rule would have raised.
#[derive(Serialize, ToSchema)]
pub(crate) struct IncidentOut {
    pub device_id: Uuid,
    pub device_name: String,
    /// The first reading that broke the rule (the alarm's `first_at`).
    pub start: String,
    /// The reading it recovered at (the alarm's `cleared_at`); null while it still lasts.
    pub end: Option<String>,
    /// The highest reading during the incident (the lowest for a `below` rule).
    pub peak: f64,
    pub message: String,
}

/// What a rule would have raised over the last 7 days on the household's devices.
#[derive(Serialize, ToSchema)]
pub(crate) struct RulePreviewOut {
    pub from: String,
    pub to: String,
    /// Oldest first.
    pub incidents: Vec<IncidentOut>,
    /// How many devices were read.
    pub devices_judged: usize,
    /// Devices the rule watches that were not read (a preview reads at most 50).
    pub devices_left_out: usize,
    /// Whether a device had more readings than a preview reads (50,000; the newest unread).
    pub readings_capped: bool,
}

impl From<&petty_app::alarms::judging::Preview> for RulePreviewOut {
    fn from(p: &petty_app::alarms::judging::Preview) -> Self {
        let at = |ms: i64| petty_app::rfc3339::from_ms(ms).unwrap_or_default();
        Self {
            from: at(p.from_ms),
            to: at(p.to_ms),
            incidents: p
                .incidents
                .iter()
                .map(|i| IncidentOut {
                    device_id: i.device_id.0,
                    device_name: i.device_name.clone(),
                    start: at(i.start_ms),
                    end: i.end_ms.map(at),
                    peak: i.peak,
                    message: i.message.clone(),
                })
                .collect(),
            devices_judged: p.devices_judged,
            devices_left_out: p.devices_left_out,
            readings_capped: p.readings_capped,
        }
    }
}

/// What a new rule would have raised over the last 7 days on the household's devices, judged
/// as the alarm job judges; nothing is saved. Reads at most 50 devices and 50,000 readings each.
#[utoipa::path(post, path = "/api/v1/alarm-rules/preview", tag = "alarms", request_body = RuleIn,
    responses((status = 200, body = RulePreviewOut)), security(("bearer" = [])))]
async fn preview_new_rule(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiJson(body): ApiJson<RuleIn>,
) -> Result<Json<RulePreviewOut>, ApiError> {
    let actor = actor.require(Permission::ManagePets)?;
    let preview = alarm_settings::preview_rule(&state.app, actor.household_id, None, &RawRule::from(&body))
        .await
        .map_err(settings_error)?;
    Ok(Json(RulePreviewOut::from(&preview)))
}

/// What one of the household's rules, changed as sent, would have raised over the last 7 days
/// (a built-in rule keeps its kind); nothing is saved.
#[utoipa::path(post, path = "/api/v1/alarm-rules/{id}/preview", tag = "alarms", params(("id" = Uuid, Path, description = "The rule's id")),
    request_body = RuleIn,
    responses((status = 200, body = RulePreviewOut)), security(("bearer" = [])))]
async fn preview_rule(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<RuleIn>,
) -> Result<Json<RulePreviewOut>, ApiError> {
    let actor = actor.require(Permission::ManagePets)?;
    let preview =
        alarm_settings::preview_rule(&state.app, actor.household_id, Some(AlarmRuleId(id)), &RawRule::from(&body))
            .await
            .map_err(settings_error)?;
    Ok(Json(RulePreviewOut::from(&preview)))
}

// ---- contacts ----

/// Quiet hours: held back unless critical.
#[derive(Serialize, ToSchema)]
pub(crate) struct QuietOut {
    /// "22:00".
    pub start: String,
    /// "07:00".
    pub end: String,
    pub utc_offset_min: i16,
}

/// The least severe alarm each channel carries to a person (null: never), and quiet hours.
#[derive(Serialize, ToSchema)]
pub(crate) struct PolicyOut {
    pub email: Option<&'static str>,
    pub sms: Option<&'static str>,
    pub voice: Option<&'static str>,
    pub quiet_hours: Option<QuietOut>,
}

/// A person escalation reaches.
#[derive(Serialize, ToSchema)]
pub(crate) struct ContactOut {
    pub id: Uuid,
    pub name: String,
    /// E.164.
    pub phone: Option<String>,
    pub email: Option<String>,
    /// member, secondary or emergency.
    pub role: String,
    /// Order within the role (lower first).
    pub position: i64,
    pub user_id: Option<Uuid>,
    pub policy: PolicyOut,
}

impl From<&Contact> for ContactOut {
    fn from(c: &Contact) -> Self {
        let sev = |s: Option<Severity>| s.map(Severity::as_str);
        let hhmm = |min: u16| format!("{:02}:{:02}", min / 60, min % 60);
        Self {
            id: c.id.0,
            name: c.name.clone(),
            phone: c.phone.clone(),
            email: c.email.clone(),
            role: c.role.clone(),
            position: c.position,
            user_id: c.user_id.map(|u| u.0),
            policy: PolicyOut {
                email: sev(c.policy.email),
                sms: sev(c.policy.sms),
                voice: sev(c.policy.voice),
                quiet_hours: c.policy.quiet.map(|q| QuietOut {
                    start: hhmm(q.start_min),
                    end: hhmm(q.end_min),
                    utc_offset_min: q.utc_offset_min,
                }),
            },
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct QuietIn {
    /// "22:00".
    pub start: String,
    /// "07:00".
    pub end: String,
    /// The person's offset from UTC in minutes (−720 to 840).
    pub utc_offset_min: Option<i16>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PolicyIn {
    /// The least severe alarm each channel carries to this person; null: never.
    pub email: Option<String>,
    pub sms: Option<String>,
    pub voice: Option<String>,
    /// Held back during these hours unless critical.
    pub quiet_hours: Option<QuietIn>,
}

/// A person to tell: a member (`user_id`), or a secondary or emergency contact.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ContactIn {
    pub name: String,
    /// E.164 (+14155552671).
    pub phone: Option<String>,
    pub email: Option<String>,
    /// member (needs `user_id`), secondary or emergency.
    pub role: String,
    /// Order within the role (lower first).
    pub position: Option<i64>,
    pub user_id: Option<Uuid>,
    pub policy: Option<PolicyIn>,
}

/// `HH:MM`, two digits each.
#[cfg(test)]
pub(crate) fn parse_hhmm(field: &str, s: &str) -> Result<u16, petty_core::Invalid> {
    petty_app::alarm_settings::parse_hhmm(field, s)
}

impl From<&ContactIn> for RawContact {
    fn from(body: &ContactIn) -> Self {
        RawContact {
            name: body.name.clone(),
            phone: body.phone.clone(),
            email: body.email.clone(),
            role: body.role.clone(),
            position: body.position,
            user_id: body.user_id,
            policy: body.policy.as_ref().map(|p| RawPolicy {
                email: p.email.clone(),
                sms: p.sms.clone(),
                voice: p.voice.clone(),
                quiet_hours: p.quiet_hours.as_ref().map(|q| RawQuiet {
                    start: q.start.clone(),
                    end: q.end.clone(),
                    utc_offset_min: q.utc_offset_min,
                }),
            }),
        }
    }
}

/// The household's people in the order escalation reaches them.
#[utoipa::path(get, path = "/api/v1/contacts", tag = "alarms",
    responses((status = 200, body = Paged<ContactOut>)), security(("bearer" = [])))]
async fn list_contacts(
    State(state): State<AppState>,
    actor: CurrentActor,
) -> Result<Json<Paged<ContactOut>>, ApiError> {
    let actor = actor.require(Permission::Read)?;
    let contacts = state.store.contacts(actor.household_id).await?;
    Ok(Json(Paged::all(contacts.iter().map(ContactOut::from).collect())))
}

#[utoipa::path(post, path = "/api/v1/contacts", tag = "alarms", request_body = ContactIn,
    responses((status = 201, body = ContactOut), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
async fn create_contact(
    State(state): State<AppState>,
    actor: CurrentActor,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<ContactIn>,
) -> Result<impl IntoResponse, ApiError> {
    let actor = actor.require(Permission::ManageHousehold)?;
    let c = alarm_settings::create_contact(&state.app, &who(&actor, ip), &RawContact::from(&body))
        .await
        .map_err(settings_error)?;
    Ok((StatusCode::CREATED, [(header::LOCATION, format!("/api/v1/contacts/{}", c.id))], Json(ContactOut::from(&c))))
}

#[utoipa::path(put, path = "/api/v1/contacts/{id}", tag = "alarms", params(("id" = Uuid, Path, description = "The contact's id")),
    request_body = ContactIn,
    responses((status = 200, body = ContactOut)),
    security(("bearer" = [])))]
async fn update_contact(
    State(state): State<AppState>,
    actor: CurrentActor,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<ContactIn>,
) -> Result<Json<ContactOut>, ApiError> {
    let actor = actor.require(Permission::ManageHousehold)?;
    let c = alarm_settings::update_contact(&state.app, &who(&actor, ip), ContactId(id), &RawContact::from(&body))
        .await
        .map_err(settings_error)?;
    Ok(Json(ContactOut::from(&c)))
}

#[utoipa::path(delete, path = "/api/v1/contacts/{id}", tag = "alarms", params(("id" = Uuid, Path, description = "The contact's id")),
    responses((status = 204)), security(("bearer" = [])))]
async fn delete_contact(
    State(state): State<AppState>,
    actor: CurrentActor,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    let actor = actor.require(Permission::ManageHousehold)?;
    alarm_settings::delete_contact(&state.app, &who(&actor, ip), ContactId(id)).await.map_err(settings_error)?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- escalation ----

/// How an unacknowledged alarm reaches people.
#[derive(Serialize, ToSchema)]
pub(crate) struct EscalationOut {
    /// Alarms at least this severe escalate beyond the app.
    pub min_severity: &'static str,
    pub message_after_secs: i64,
    pub call_after_secs: i64,
    pub next_contact_after_secs: i64,
    pub repeat_after_secs: i64,
    pub max_rounds: u32,
}

impl From<&Escalation> for EscalationOut {
    fn from(e: &Escalation) -> Self {
        Self {
            min_severity: e.min_severity.as_str(),
            message_after_secs: e.message_after_secs,
            call_after_secs: e.call_after_secs,
            next_contact_after_secs: e.next_contact_after_secs,
            repeat_after_secs: e.repeat_after_secs,
            max_rounds: e.max_rounds,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct EscalationIn {
    /// Alarms at least this severe escalate beyond the app (default major).
    pub min_severity: String,
    pub message_after_secs: i64,
    pub call_after_secs: i64,
    pub next_contact_after_secs: i64,
    pub repeat_after_secs: i64,
    pub max_rounds: u32,
}

/// How an unacknowledged alarm reaches people: email and SMS, a call, the next contact, again.
#[utoipa::path(get, path = "/api/v1/escalation", tag = "alarms",
    responses((status = 200, body = EscalationOut)), security(("bearer" = [])))]
async fn get_escalation(State(state): State<AppState>, actor: CurrentActor) -> Result<Json<EscalationOut>, ApiError> {
    let actor = actor.require(Permission::Read)?;
    Ok(Json(EscalationOut::from(&state.store.escalation(actor.household_id).await?)))
}

#[utoipa::path(put, path = "/api/v1/escalation", tag = "alarms", request_body = EscalationIn,
    responses((status = 200, body = EscalationOut)), security(("bearer" = [])))]
async fn put_escalation(
    State(state): State<AppState>,
    actor: CurrentActor,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<EscalationIn>,
) -> Result<Json<EscalationOut>, ApiError> {
    let actor = actor.require(Permission::ManageHousehold)?;
    let raw = RawEscalation {
        min_severity: body.min_severity,
        message_after_secs: body.message_after_secs,
        call_after_secs: body.call_after_secs,
        next_contact_after_secs: body.next_contact_after_secs,
        repeat_after_secs: body.repeat_after_secs,
        max_rounds: body.max_rounds,
    };
    let e = alarm_settings::put_escalation(&state.app, &who(&actor, ip), &raw).await.map_err(settings_error)?;
    Ok(Json(EscalationOut::from(&e)))
}

// ---- webhooks ----

/// A webhook. Its secret is answered once, when it is made.
#[derive(Serialize, ToSchema)]
pub(crate) struct WebhookOut {
    pub id: Uuid,
    pub url: String,
    pub min_severity: String,
    #[serde(serialize_with = "crate::rfc3339::serialize")]
    pub created_at: OffsetDateTime,
    /// Signs each delivery (`Petty-Signature`); only in the answer that made it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

impl WebhookOut {
    fn new(w: &Webhook, with_secret: bool) -> Self {
        Self {
            id: w.id.0,
            url: w.url.clone(),
            min_severity: w.min_severity.clone(),
            created_at: w.created_at,
            secret: with_secret.then(|| w.secret.clone()),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct WebhookIn {
    /// http:// or https:// URL that takes POSTs.
    pub url: String,
    /// The least severe alarm it hears about (default info).
    pub min_severity: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/webhooks", tag = "alarms",
    responses((status = 200, body = Paged<WebhookOut>, description = "the webhooks, without their secrets")),
    security(("bearer" = [])))]
async fn list_webhooks(
    State(state): State<AppState>,
    actor: CurrentActor,
) -> Result<Json<Paged<WebhookOut>>, ApiError> {
    let actor = actor.require(Permission::ManageHousehold)?;
    let hooks = state.store.webhooks(actor.household_id).await?;
    Ok(Json(Paged::all(hooks.iter().map(|w| WebhookOut::new(w, false)).collect())))
}

/// A webhook: alarm changes are POSTed to it as JSON, signed with `Petty-Signature:
/// t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` under the secret answered here once.
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "alarms", request_body = WebhookIn,
    responses((status = 201, body = WebhookOut, description = "the webhook with its secret")),
    security(("bearer" = [])))]
async fn create_webhook(
    State(state): State<AppState>,
    actor: CurrentActor,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<WebhookIn>,
) -> Result<impl IntoResponse, ApiError> {
    let actor = actor.require(Permission::ManageHousehold)?;
    // The outbound policy decides, here and again at every delivery.
    let w = alarm_settings::create_webhook(&state.app, &who(&actor, ip), &body.url, body.min_severity.as_deref())
        .await
        .map_err(settings_error)?;
    Ok((StatusCode::CREATED, Json(WebhookOut::new(&w, true))))
}

#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "alarms", params(("id" = Uuid, Path, description = "The webhook's id")),
    responses((status = 204)), security(("bearer" = [])))]
async fn delete_webhook(
    State(state): State<AppState>,
    actor: CurrentActor,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    let actor = actor.require(Permission::ManageHousehold)?;
    alarm_settings::delete_webhook(&state.app, &who(&actor, ip), WebhookId(id)).await.map_err(settings_error)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Points a webhook elsewhere or changes what it hears about; its secret stays.
#[utoipa::path(put, path = "/api/v1/webhooks/{id}", tag = "alarms", params(("id" = Uuid, Path, description = "The webhook's id")),
    request_body = WebhookIn,
    responses((status = 200, body = WebhookOut, description = "the webhook, without its secret")),
    security(("bearer" = [])))]
async fn update_webhook(
    State(state): State<AppState>,
    actor: CurrentActor,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<WebhookIn>,
) -> Result<Json<WebhookOut>, ApiError> {
    let actor = actor.require(Permission::ManageHousehold)?;
    let w = alarm_settings::update_webhook(
        &state.app,
        &who(&actor, ip),
        WebhookId(id),
        &body.url,
        body.min_severity.as_deref(),
    )
    .await
    .map_err(settings_error)?;
    Ok(Json(WebhookOut::new(&w, false)))
}

/// What became of a test delivery.
#[derive(Serialize, ToSchema)]
pub(crate) struct WebhookTestOut {
    /// delivered (the receiver answered 2xx), refused (the outbound policy refused the address;
    /// nothing was sent) or failed (the receiver answered otherwise, or could not be reached).
    pub outcome: &'static str,
    /// The receiver's status, when it answered 2xx.
    pub status: Option<u16>,
    /// Why it was refused or failed.
    pub detail: Option<String>,
}

impl From<TestDelivery> for WebhookTestOut {
    fn from(t: TestDelivery) -> Self {
        match t {
            TestDelivery::Delivered { status } => Self { outcome: "delivered", status: Some(status), detail: None },
            TestDelivery::Refused { reason } => Self { outcome: "refused", status: None, detail: Some(reason) },
            TestDelivery::Failed { reason } => Self { outcome: "failed", status: None, detail: Some(reason) },
        }
    }
}

/// Delivers a signed `webhook.test` event to the webhook now (`{"event": "webhook.test", "id",
/// "webhook_id", "sent_at"}`, signed as every delivery) and answers what happened; nothing is
/// queued or retried.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/test", tag = "alarms", params(("id" = Uuid, Path, description = "The webhook's id")),
    responses((status = 200, body = WebhookTestOut)), security(("bearer" = [])))]
async fn test_webhook(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<WebhookTestOut>, ApiError> {
    let actor = actor.require(Permission::ManageHousehold)?;
    let answer =
        alarm_settings::test_webhook(&state.app, actor.household_id, WebhookId(id)).await.map_err(settings_error)?;
    Ok(Json(WebhookTestOut::from(answer)))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct NotificationQuery {
    pub alarm_id: Option<Uuid>,
    /// 1-based (default 1).
    pub page: Option<u32>,
    /// 1–500 (default 50).
    pub page_size: Option<u32>,
}

/// The outbox: every notification, newest first, with its status, attempts and provider id.
#[utoipa::path(get, path = "/api/v1/notifications", tag = "alarms", params(NotificationQuery),
    responses((status = 200, body = Paged<NotificationOut>)), security(("bearer" = [])))]
async fn list_notifications(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiQuery(q): ApiQuery<NotificationQuery>,
) -> Result<Json<Paged<NotificationOut>>, ApiError> {
    let actor = actor.require(Permission::Read)?;
    let page = PageRequest::parse(q.page, q.page_size)?;
    let webhooks = actor.can(Permission::ManageHousehold);
    let items = state.store.page_notifications(actor.household_id, q.alarm_id.map(AlarmId), webhooks, page).await?;
    Ok(Json(Paged::from_page(items, |n| NotificationOut::from(&n))))
}

// ---- acknowledging from outside the app ----

/// Twilio's callback after the caller pressed a key: 1 acknowledges. Answers TwiML.
pub(crate) async fn twilio_voice_keypress(
    State(state): State<AppState>,
    axum::extract::Path(token): axum::extract::Path<String>,
    axum::extract::Form(form): axum::extract::Form<std::collections::HashMap<String, String>>,
) -> Response {
    let say = |words: &str| {
        (
            [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
            format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Say>{words}</Say></Response>"),
        )
            .into_response()
    };
    if form.get("Digits").map(String::as_str) != Some("1") {
        return say("No acknowledgement. Petty will keep trying your contacts. Goodbye.");
    }
    match petty_app::alarms::acknowledge_by_token(&state.app, &token, "pressed 1 on the call").await {
        Ok(Some(_)) => say("Thank you. The alarm is acknowledged and the calls will stop. Goodbye."),
        Ok(None) => say("This alarm could not be found. Goodbye."),
        Err(e) => {
            tracing::warn!(error = %e, "acknowledging by keypress failed");
            say("This alarm could not be found. Goodbye.")
        }
    }
}
