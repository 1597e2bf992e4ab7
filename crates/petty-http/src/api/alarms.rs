//! `/api/v1/alarms` and what shapes them: the alarms (list with filters, one with its trail and
//! notifications, acknowledge, clear, comment, assign), the household's rules, its people and
//! their notification policies, its escalation, its webhooks; and the acknowledgement links and
//! Twilio's keypress callback that stop escalation from outside the app.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use petty_core::accounts::{ActorKind, Email, Permission};
use petty_core::alarm::{AlarmState, ConditionKind, Escalation, Policy, QuietHours, Rule, Severity};
use petty_core::ids::{DeviceId, PetId, UserId};
use petty_core::phone::Phone;
use petty_core::readings::Metric;
use petty_store::{Alarm, AlarmFilter, Contact, NewContact, Notification, StoreError, StoredRule, Webhook};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::CurrentActor;
use crate::error::{ApiError, ErrorBody, ErrorCode};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;
use petty_app::alarms::alarm_json;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_alarms))
        .routes(routes!(get_alarm))
        .routes(routes!(acknowledge_alarm))
        .routes(routes!(clear_alarm))
        .routes(routes!(comment_alarm))
        .routes(routes!(assign_alarm))
        .routes(routes!(list_rules, create_rule))
        .routes(routes!(update_rule, delete_rule))
        .routes(routes!(list_contacts, create_contact))
        .routes(routes!(update_contact, delete_contact))
        .routes(routes!(get_escalation, put_escalation))
        .routes(routes!(list_webhooks, create_webhook))
        .routes(routes!(delete_webhook))
        .routes(routes!(list_notifications))
}

fn now_ms() -> i64 {
    petty_store::to_ms(time::OffsetDateTime::now_utc())
}

fn bad(field: &str, rule: &str, message: impl Into<String>) -> ApiError {
    ApiError::field(ErrorCode::ValidationFailed, field, rule, message)
}

/// Who did it, as the trail records it.
pub fn actor_name(actor: &petty_core::accounts::Actor) -> String {
    match actor.kind {
        ActorKind::User { user_id, .. } => format!("user:{}", user_id.0),
        ActorKind::ApiKey { key_id, .. } => format!("api_key:{}", key_id.0),
    }
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
pub struct AlarmQuery {
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
    /// 1–200 (default 50).
    pub limit: Option<u32>,
    /// The `next` cursor of the previous page.
    pub before: Option<String>,
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

/// The household's alarms, newest first, filtered; `next` pages on.
#[utoipa::path(get, path = "/api/v1/alarms", tag = "alarms", params(AlarmQuery),
    responses((status = 200, description = "{items: [alarm], next}"), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn list_alarms(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiQuery(q): ApiQuery<AlarmQuery>,
) -> Result<Json<Value>, ApiError> {
    let actor = actor.require(Permission::Read)?;
    let mut filter = AlarmFilter { limit: q.limit.unwrap_or(50), ..AlarmFilter::default() };
    if !(1..=200).contains(&filter.limit) {
        return Err(bad("limit", "out_of_range", "limit must be 1 to 200"));
    }
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
    if let Some(cursor) = &q.before {
        let parsed = cursor.split_once('_').and_then(|(at, id)| Some((at.parse().ok()?, id.parse().ok()?)));
        filter.before =
            Some(parsed.ok_or_else(|| bad("before", "format", "before must be a next cursor from a page"))?);
    }
    let alarms = state.store.list_alarms(actor.household_id, &filter).await?;
    let next = (alarms.len() == filter.limit as usize)
        .then(|| alarms.last().map(|a| format!("{}_{}", a.first_at_ms, a.id)))
        .flatten();
    Ok(Json(json!({"items": alarms.iter().map(alarm_json).collect::<Vec<_>>(), "next": next})))
}

fn notification_json(n: &Notification) -> Value {
    json!({
        "id": n.id,
        "channel": n.channel.as_str(),
        "recipient": n.recipient,
        "status": n.status,
        "attempts": n.attempts,
        "next_attempt_at": crate::rfc3339::from_ms(n.next_attempt_ms),
        "last_error": n.last_error,
        "provider_ref": n.provider_ref,
        "created_at": crate::rfc3339::from_ms(n.created_ms),
        "sent_at": n.sent_ms.and_then(crate::rfc3339::from_ms),
    })
}

async fn alarm_detail(state: &AppState, alarm: &Alarm) -> Result<Value, ApiError> {
    let events = state.store.alarm_events(alarm.household_id, alarm.id).await?;
    let notifications = state.store.notifications(alarm.household_id, Some(alarm.id), 200).await?;
    let mut out = alarm_json(alarm);
    let rule = match alarm.rule_id {
        Some(id) => state.store.alarm_rules(alarm.household_id, now_ms()).await?.into_iter().find(|r| r.id == id),
        None => None,
    };
    out["rule"] = rule.as_ref().map_or(Value::Null, rule_json);
    out["trail"] = events
        .iter()
        .map(|e| json!({"at": crate::rfc3339::from_ms(e.at), "kind": e.kind, "actor": e.actor, "body": e.body}))
        .collect();
    out["notifications"] = notifications.iter().map(notification_json).collect();
    Ok(out)
}

/// One alarm with the rule and readings that raised it, its trail and its notifications.
#[utoipa::path(get, path = "/api/v1/alarms/{id}", tag = "alarms", params(("id" = Uuid, Path, description = "The alarm's id")),
    responses((status = 200, description = "the alarm"), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn get_alarm(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Value>, ApiError> {
    let actor = actor.require(Permission::Read)?;
    let alarm = state.store.get_alarm(actor.household_id, id).await.map_err(alarm_not_found)?;
    Ok(Json(alarm_detail(&state, &alarm).await?))
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct NoteIn {
    /// Up to 2,000 characters.
    pub note: Option<String>,
}

fn note_text(note: Option<String>, field: &str, required: bool) -> Result<String, ApiError> {
    let text = note.unwrap_or_default().trim().to_owned();
    if required && text.is_empty() {
        return Err(bad(field, "required", format!("{field} must not be empty")));
    }
    if text.chars().count() > 2000 {
        return Err(bad(field, "too_long", format!("{field} must be at most 2000 characters")));
    }
    Ok(text)
}

/// Moves an alarm on and tells everyone (live, webhooks); escalation stops.
pub async fn transition(
    state: &AppState,
    household_id: petty_core::ids::HouseholdId,
    id: Uuid,
    to: AlarmState,
    actor: &str,
    note: &str,
) -> Result<Alarm, ApiError> {
    petty_app::alarms::transition(&state.app, household_id, id, to, actor, note).await.map_err(alarm_not_found)
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
    responses((status = 200, description = "the alarm"), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
async fn acknowledge_alarm(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiPath(id): ApiPath<Uuid>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let actor = actor.require(Permission::WriteCare)?;
    let note = body_note(&body)?;
    let alarm =
        transition(&state, actor.household_id, id, AlarmState::Acknowledged, &actor_name(&actor), &note).await?;
    Ok(Json(alarm_json(&alarm)))
}

/// Clears an alarm (active or acknowledged): it is over.
#[utoipa::path(post, path = "/api/v1/alarms/{id}/clear", tag = "alarms", params(("id" = Uuid, Path, description = "The alarm's id")),
    request_body = Option<NoteIn>,
    responses((status = 200, description = "the alarm"), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
async fn clear_alarm(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiPath(id): ApiPath<Uuid>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let actor = actor.require(Permission::WriteCare)?;
    let note = body_note(&body)?;
    let alarm = transition(&state, actor.household_id, id, AlarmState::Cleared, &actor_name(&actor), &note).await?;
    Ok(Json(alarm_json(&alarm)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentIn {
    /// 1–2,000 characters.
    pub text: String,
}

/// Adds a comment to an alarm's trail.
#[utoipa::path(post, path = "/api/v1/alarms/{id}/comments", tag = "alarms", params(("id" = Uuid, Path, description = "The alarm's id")),
    request_body = CommentIn,
    responses((status = 201, description = "the trail entry"), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn comment_alarm(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<CommentIn>,
) -> Result<impl IntoResponse, ApiError> {
    let actor = actor.require(Permission::WriteCare)?;
    let text = note_text(Some(body.text), "text", true)?;
    let e = state
        .store
        .alarm_note(actor.household_id, id, "comment", &actor_name(&actor), &text, now_ms())
        .await
        .map_err(alarm_not_found)?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"at": crate::rfc3339::from_ms(e.at), "kind": e.kind, "actor": e.actor, "body": e.body})),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignIn {
    /// A member's user id; null unassigns.
    pub user_id: Option<Uuid>,
}

/// Assigns an alarm to a member of the household (or nobody).
#[utoipa::path(post, path = "/api/v1/alarms/{id}/assign", tag = "alarms", params(("id" = Uuid, Path, description = "The alarm's id")),
    request_body = AssignIn,
    responses((status = 200, description = "the alarm"), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn assign_alarm(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<AssignIn>,
) -> Result<Json<Value>, ApiError> {
    let actor = actor.require(Permission::WriteCare)?;
    if let Some(user) = body.user_id {
        let members = state.store.list_members(actor.household_id).await?;
        if !members.iter().any(|m| m.user.id.0 == user) {
            return Err(bad("user_id", "member", "user_id must be a member of this household"));
        }
    }
    let alarm = state
        .store
        .assign_alarm(actor.household_id, id, body.user_id.map(UserId), &actor_name(&actor), now_ms())
        .await
        .map_err(alarm_not_found)?;
    Ok(Json(alarm_json(&alarm)))
}

// ---- rules ----

fn rule_json(r: &StoredRule) -> Value {
    json!({
        "id": r.id,
        "key": r.rule.key,
        "name": r.rule.name,
        "device_kind": r.rule.device_kind,
        "kind": r.rule.kind.as_str(),
        "metric": r.rule.metric.map(Metric::name),
        "value": r.rule.value,
        "clear_value": r.rule.clear_value,
        "for_secs": r.rule.for_secs,
        "clear_secs": r.rule.clear_secs,
        "severity": r.rule.severity.as_str(),
        "enabled": r.rule.enabled,
        "describes": r.rule.describe(),
    })
}

/// A rule as written: a household's own, or new settings for a built-in one (whose kind stays).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleIn {
    pub name: String,
    /// collar, air_monitor or any.
    pub device_kind: String,
    /// above, below, rise, co_dose, absence (built-in rules keep theirs).
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

fn parse_rule(body: &RuleIn, keep: Option<&Rule>) -> Result<Rule, ApiError> {
    let kind: ConditionKind = match keep {
        Some(r) => r.kind,
        None => body
            .kind
            .parse()
            .ok()
            .filter(|k: &ConditionKind| {
                matches!(
                    k,
                    ConditionKind::Above
                        | ConditionKind::Below
                        | ConditionKind::Rise
                        | ConditionKind::CoDose
                        | ConditionKind::Absence
                )
            })
            .ok_or_else(|| bad("kind", "one_of", "kind must be one of above, below, rise, co_dose, absence"))?,
    };
    let metric = match &body.metric {
        None => None,
        Some(m) => Some(
            Metric::from_name(m)
                .ok_or_else(|| bad("metric", "one_of", format!("metric {m:?} is not a metric Petty knows")))?,
        ),
    };
    let rule = Rule {
        key: keep.and_then(|r| r.key.clone()),
        name: body.name.trim().to_owned(),
        device_kind: body.device_kind.clone(),
        kind,
        metric: metric.or(keep.and_then(|r| r.metric)),
        value: body.value,
        clear_value: body.clear_value.unwrap_or(body.value),
        for_secs: body.for_secs.unwrap_or(0),
        clear_secs: body.clear_secs.unwrap_or(0),
        severity: parse_severity("severity", &body.severity)?,
        enabled: body.enabled.unwrap_or(true),
    };
    rule.check().map_err(|(field, message)| bad(field, "invalid", format!("{field} {message}")))?;
    Ok(rule)
}

/// The household's alarm rules, built-in ones first (seeded on first use).
#[utoipa::path(get, path = "/api/v1/alarm-rules", tag = "alarms",
    responses((status = 200, description = "[rule]")), security(("bearer" = [])))]
async fn list_rules(State(state): State<AppState>, actor: CurrentActor) -> Result<Json<Value>, ApiError> {
    let actor = actor.require(Permission::Read)?;
    let rules = state.store.alarm_rules(actor.household_id, now_ms()).await?;
    Ok(Json(Value::Array(rules.iter().map(rule_json).collect())))
}

/// A household's own rule.
#[utoipa::path(post, path = "/api/v1/alarm-rules", tag = "alarms", request_body = RuleIn,
    responses((status = 201, description = "the rule"), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
async fn create_rule(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiJson(body): ApiJson<RuleIn>,
) -> Result<impl IntoResponse, ApiError> {
    let actor = actor.require(Permission::ManagePets)?;
    let rule = parse_rule(&body, None)?;
    let stored = state.store.create_alarm_rule(actor.household_id, &rule, now_ms()).await?;
    Ok((StatusCode::CREATED, Json(rule_json(&stored))))
}

/// Tunes a rule (a built-in one keeps its kind): its value, hold times, severity, on or off.
#[utoipa::path(put, path = "/api/v1/alarm-rules/{id}", tag = "alarms", params(("id" = Uuid, Path, description = "The rule's id")),
    request_body = RuleIn,
    responses((status = 200, description = "the rule"), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn update_rule(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<RuleIn>,
) -> Result<Json<Value>, ApiError> {
    let actor = actor.require(Permission::ManagePets)?;
    let rules = state.store.alarm_rules(actor.household_id, now_ms()).await?;
    let current = rules.iter().find(|r| r.id == id).ok_or_else(|| ApiError::not_found("alarm rule"))?;
    let keep = current.rule.key.is_some().then_some(&current.rule);
    let rule = parse_rule(&body, keep)?;
    let stored = state.store.update_alarm_rule(actor.household_id, id, &rule, now_ms()).await?;
    Ok(Json(rule_json(&stored)))
}

/// Deletes a household's own rule (built-in rules are disabled instead).
#[utoipa::path(delete, path = "/api/v1/alarm-rules/{id}", tag = "alarms", params(("id" = Uuid, Path, description = "The rule's id")),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn delete_rule(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    let actor = actor.require(Permission::ManagePets)?;
    state.store.delete_alarm_rule(actor.household_id, id).await.map_err(|e| match e {
        StoreError::NotFound => {
            ApiError::not_found("alarm rule of this household's own (built-in rules can only be disabled)")
        }
        other => other.into(),
    })?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- contacts ----

pub fn contact_json(c: &Contact) -> Value {
    let sev = |s: Option<Severity>| s.map(Severity::as_str);
    json!({
        "id": c.id,
        "name": c.name,
        "phone": c.phone,
        "email": c.email,
        "role": c.role,
        "position": c.position,
        "user_id": c.user_id.map(|u| u.0),
        "policy": {
            "email": sev(c.policy.email),
            "sms": sev(c.policy.sms),
            "voice": sev(c.policy.voice),
            "quiet_hours": c.policy.quiet.map(|q| json!({
                "start": format!("{:02}:{:02}", q.start_min / 60, q.start_min % 60),
                "end": format!("{:02}:{:02}", q.end_min / 60, q.end_min % 60),
                "utc_offset_min": q.utc_offset_min,
            })),
        },
    })
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuietIn {
    /// "22:00".
    pub start: String,
    /// "07:00".
    pub end: String,
    /// The person's offset from UTC in minutes (−720 to 840).
    pub utc_offset_min: Option<i16>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyIn {
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
pub struct ContactIn {
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

fn parse_hhmm(field: &str, s: &str) -> Result<u16, ApiError> {
    let parsed = s.split_once(':').and_then(|(h, m)| {
        let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
        (h < 24 && m < 60 && s.len() == 5).then_some(h * 60 + m)
    });
    parsed.ok_or_else(|| bad(field, "format", format!("{field} must be a time like 22:00")))
}

fn parse_policy(p: Option<&PolicyIn>) -> Result<Policy, ApiError> {
    let Some(p) = p else { return Ok(Policy::default()) };
    let sev = |field: &str, v: &Option<String>| v.as_deref().map(|s| parse_severity(field, s)).transpose();
    let quiet = match &p.quiet_hours {
        None => None,
        Some(q) => {
            let offset = q.utc_offset_min.unwrap_or(0);
            if !(-720..=840).contains(&offset) {
                return Err(bad(
                    "policy.quiet_hours.utc_offset_min",
                    "out_of_range",
                    "utc_offset_min must be -720 to 840",
                ));
            }
            Some(QuietHours {
                start_min: parse_hhmm("policy.quiet_hours.start", &q.start)?,
                end_min: parse_hhmm("policy.quiet_hours.end", &q.end)?,
                utc_offset_min: offset,
            })
        }
    };
    Ok(Policy {
        email: sev("policy.email", &p.email)?,
        sms: sev("policy.sms", &p.sms)?,
        voice: sev("policy.voice", &p.voice)?,
        quiet,
    })
}

async fn parse_contact(
    state: &AppState,
    household_id: petty_core::ids::HouseholdId,
    body: &ContactIn,
) -> Result<NewContact, ApiError> {
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > 80 {
        return Err(bad("name", "length", "name must be 1 to 80 characters"));
    }
    if !matches!(body.role.as_str(), "member" | "secondary" | "emergency") {
        return Err(bad("role", "one_of", "role must be one of member, secondary, emergency"));
    }
    let phone = match body.phone.as_deref().filter(|p| !p.trim().is_empty()) {
        None => None,
        Some(p) => Some(Phone::parse(p).map_err(|e| bad("phone", "e164", format!("phone {e}")))?.as_str().to_owned()),
    };
    let email = match body.email.as_deref().filter(|e| !e.trim().is_empty()) {
        None => None,
        Some(e) => Some(Email::parse("email", e)?.as_str().to_owned()),
    };
    if phone.is_none() && email.is_none() {
        return Err(bad("phone", "required", "a contact needs a phone or an email"));
    }
    let user_id = match (body.role.as_str(), body.user_id) {
        ("member", None) => return Err(bad("user_id", "required", "a member contact needs the member's user_id")),
        (_, Some(user)) => {
            let members = state.store.list_members(household_id).await?;
            if !members.iter().any(|m| m.user.id.0 == user) {
                return Err(bad("user_id", "member", "user_id must be a member of this household"));
            }
            Some(UserId(user))
        }
        (_, None) => None,
    };
    Ok(NewContact {
        user_id,
        external_id: None,
        name: name.to_owned(),
        phone,
        email,
        role: body.role.clone(),
        position: body.position.unwrap_or(0),
        device_serial: None,
        policy: parse_policy(body.policy.as_ref())?,
    })
}

/// The household's people in the order escalation reaches them.
#[utoipa::path(get, path = "/api/v1/contacts", tag = "alarms",
    responses((status = 200, description = "[contact]")), security(("bearer" = [])))]
async fn list_contacts(State(state): State<AppState>, actor: CurrentActor) -> Result<Json<Value>, ApiError> {
    let actor = actor.require(Permission::Read)?;
    let contacts = state.store.contacts(actor.household_id).await?;
    Ok(Json(Value::Array(contacts.iter().map(contact_json).collect())))
}

#[utoipa::path(post, path = "/api/v1/contacts", tag = "alarms", request_body = ContactIn,
    responses((status = 201, description = "the contact"), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn create_contact(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiJson(body): ApiJson<ContactIn>,
) -> Result<impl IntoResponse, ApiError> {
    let actor = actor.require(Permission::ManageHousehold)?;
    let new = parse_contact(&state, actor.household_id, &body).await?;
    let c = state.store.create_contact(actor.household_id, &new, now_ms()).await?;
    Ok((StatusCode::CREATED, [(header::LOCATION, format!("/api/v1/contacts/{}", c.id))], Json(contact_json(&c))))
}

#[utoipa::path(put, path = "/api/v1/contacts/{id}", tag = "alarms", params(("id" = Uuid, Path, description = "The contact's id")),
    request_body = ContactIn,
    responses((status = 200, description = "the contact"), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn update_contact(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<ContactIn>,
) -> Result<Json<Value>, ApiError> {
    let actor = actor.require(Permission::ManageHousehold)?;
    let new = parse_contact(&state, actor.household_id, &body).await?;
    let c = state
        .store
        .update_contact(actor.household_id, id, &new, now_ms())
        .await
        .map_err(ApiError::store_or_not_found("contact"))?;
    Ok(Json(contact_json(&c)))
}

#[utoipa::path(delete, path = "/api/v1/contacts/{id}", tag = "alarms", params(("id" = Uuid, Path, description = "The contact's id")),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn delete_contact(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    let actor = actor.require(Permission::ManageHousehold)?;
    state.store.delete_contact(actor.household_id, id).await.map_err(ApiError::store_or_not_found("contact"))?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- escalation ----

fn escalation_json(e: &Escalation) -> Value {
    json!({
        "min_severity": e.min_severity.as_str(),
        "message_after_secs": e.message_after_secs,
        "call_after_secs": e.call_after_secs,
        "next_contact_after_secs": e.next_contact_after_secs,
        "repeat_after_secs": e.repeat_after_secs,
        "max_rounds": e.max_rounds,
    })
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EscalationIn {
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
    responses((status = 200, description = "the escalation")), security(("bearer" = [])))]
async fn get_escalation(State(state): State<AppState>, actor: CurrentActor) -> Result<Json<Value>, ApiError> {
    let actor = actor.require(Permission::Read)?;
    Ok(Json(escalation_json(&state.store.escalation(actor.household_id).await?)))
}

#[utoipa::path(put, path = "/api/v1/escalation", tag = "alarms", request_body = EscalationIn,
    responses((status = 200, description = "the escalation"), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
async fn put_escalation(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiJson(body): ApiJson<EscalationIn>,
) -> Result<Json<Value>, ApiError> {
    let actor = actor.require(Permission::ManageHousehold)?;
    let e = Escalation {
        min_severity: parse_severity("min_severity", &body.min_severity)?,
        message_after_secs: body.message_after_secs,
        call_after_secs: body.call_after_secs,
        next_contact_after_secs: body.next_contact_after_secs,
        repeat_after_secs: body.repeat_after_secs,
        max_rounds: body.max_rounds,
    };
    e.check().map_err(|(field, message)| bad(field, "out_of_range", format!("{field} {message}")))?;
    state.store.put_escalation(actor.household_id, &e, now_ms()).await?;
    Ok(Json(escalation_json(&e)))
}

// ---- webhooks ----

fn webhook_json(w: &Webhook, with_secret: bool) -> Value {
    let mut v = json!({"id": w.id, "url": w.url, "min_severity": w.min_severity,
        "created_at": crate::rfc3339::from_ms(w.created_at)});
    if with_secret {
        v["secret"] = Value::String(w.secret.clone());
    }
    v
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookIn {
    /// http:// or https:// URL that takes POSTs.
    pub url: String,
    /// The least severe alarm it hears about (default info).
    pub min_severity: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/webhooks", tag = "alarms",
    responses((status = 200, description = "[webhook] (without secrets)")), security(("bearer" = [])))]
async fn list_webhooks(State(state): State<AppState>, actor: CurrentActor) -> Result<Json<Value>, ApiError> {
    let actor = actor.require(Permission::ManageHousehold)?;
    let hooks = state.store.webhooks(actor.household_id).await?;
    Ok(Json(Value::Array(hooks.iter().map(|w| webhook_json(w, false)).collect())))
}

/// A webhook: alarm changes are POSTed to it as JSON, signed with `Petty-Signature:
/// t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` under the secret answered here once.
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "alarms", request_body = WebhookIn,
    responses((status = 201, description = "the webhook with its secret"), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn create_webhook(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiJson(body): ApiJson<WebhookIn>,
) -> Result<impl IntoResponse, ApiError> {
    let actor = actor.require(Permission::ManageHousehold)?;
    let url = body.url.trim();
    if !(url.starts_with("https://") || url.starts_with("http://"))
        || url.len() > 2000
        || url.contains(char::is_whitespace)
    {
        return Err(bad("url", "format", "url must be an http:// or https:// URL"));
    }
    let min =
        body.min_severity.as_deref().map(|s| parse_severity("min_severity", s)).transpose()?.unwrap_or(Severity::Info);
    let (secret, _) = crate::auth::new_secret("whsec_");
    let w = state.store.create_webhook(actor.household_id, url, &secret, min, now_ms()).await?;
    Ok((StatusCode::CREATED, Json(webhook_json(&w, true))))
}

#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "alarms", params(("id" = Uuid, Path, description = "The webhook's id")),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn delete_webhook(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    let actor = actor.require(Permission::ManageHousehold)?;
    state.store.delete_webhook(actor.household_id, id).await.map_err(ApiError::store_or_not_found("webhook"))?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct NotificationQuery {
    pub alarm_id: Option<Uuid>,
}

/// The outbox: every notification, newest first, with its status, attempts and provider id.
#[utoipa::path(get, path = "/api/v1/notifications", tag = "alarms", params(NotificationQuery),
    responses((status = 200, description = "[notification]")), security(("bearer" = [])))]
async fn list_notifications(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiQuery(q): ApiQuery<NotificationQuery>,
) -> Result<Json<Value>, ApiError> {
    let actor = actor.require(Permission::Read)?;
    let items = state.store.notifications(actor.household_id, q.alarm_id, 500).await?;
    Ok(Json(Value::Array(items.iter().map(notification_json).collect())))
}

// ---- acknowledging from outside the app ----

/// Twilio's callback after the caller pressed a key: 1 acknowledges. Answers TwiML.
pub async fn twilio_voice_keypress(
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
