//! The household's alarm settings as every edge writes them: its rules, its contacts (the
//! people escalation reaches, their channels and quiet hours), its escalation and its webhooks,
//! each checked here once and written with its audit entry; a rule's preview
//! ([`alarms::judging::preview`](crate::alarms::judging::preview)); and a webhook's test
//! delivery, sent now through the one webhook sender and the outbound policy.
//!
//! The API and the dashboard both come through here, so a setting is refused in the same words
//! on both, naming the field and the rule.

use petty_core::accounts::Email;
use petty_core::alarm::{ConditionKind, Escalation, Policy, QuietHours, Rule, Severity, parse_rule_device_kind};
use petty_core::ids::{AlarmRuleId, ContactId, HouseholdId, NotificationId, WebhookId};
use petty_core::phone::Phone;
use petty_core::readings::Metric;
use petty_core::{FieldError, Invalid};
use petty_notify::Refused;
use petty_store::{Contact, NewContact, Notification, StoreError, StoredRule, Webhook};
use uuid::Uuid;

use crate::App;
use crate::audit::Who;

/// The longest contact name, in characters (spaces around it not counted).
pub const CONTACT_NAME_MAX: usize = 80;
/// The offsets from UTC quiet hours may be given in, in minutes (UTC−12:00 to UTC+14:00).
pub const UTC_OFFSET_MIN_MIN: i16 = -720;
pub const UTC_OFFSET_MAX_MIN: i16 = 840;
/// The roles a contact may have, in the order escalation reaches them.
pub const CONTACT_ROLES: [&str; 3] = ["member", "secondary", "emergency"];

/// Why a settings use case did not happen.
#[derive(Debug)]
pub enum SettingsError {
    /// Bad input: the field and the rule.
    Invalid(Invalid),
    /// No such thing in the caller's household (the name of the thing).
    NotFound(&'static str),
    Store(StoreError),
}

impl From<Invalid> for SettingsError {
    fn from(e: Invalid) -> Self {
        SettingsError::Invalid(e)
    }
}

impl From<StoreError> for SettingsError {
    fn from(e: StoreError) -> Self {
        SettingsError::Store(e)
    }
}

fn missing(what: &'static str) -> impl Fn(StoreError) -> SettingsError {
    move |e| match e {
        StoreError::NotFound => SettingsError::NotFound(what),
        other => SettingsError::Store(other),
    }
}

fn bad(field: &str, rule: &'static str, message: impl Into<String>) -> Invalid {
    Invalid::one(field, rule, message)
}

/// A severity by name (`critical`, `major`, `minor`, `warning`, `info`).
pub fn parse_severity(field: &str, raw: &str) -> Result<Severity, Invalid> {
    raw.parse()
        .map_err(|()| bad(field, "one_of", format!("{field} must be one of critical, major, minor, warning, info")))
}

// ---- rules ----

/// A rule as written, before it is checked.
#[derive(Debug, Clone, Default)]
pub struct RawRule {
    pub name: String,
    /// collar, air_monitor or any.
    pub device_kind: String,
    /// above, below, rise, co_dose or absence; a built-in rule keeps its own.
    pub kind: String,
    pub metric: Option<String>,
    pub value: f64,
    /// Default: `value`.
    pub clear_value: Option<f64>,
    pub for_secs: Option<i64>,
    pub clear_secs: Option<i64>,
    pub severity: String,
    /// Default true.
    pub enabled: Option<bool>,
}

impl RawRule {
    /// A stored rule as written, to change one field of it.
    pub fn of(rule: &Rule) -> Self {
        RawRule {
            name: rule.name.clone(),
            device_kind: rule.device_kind_name().to_owned(),
            kind: rule.kind.as_str().to_owned(),
            metric: rule.metric.map(|m| m.name().to_owned()),
            value: rule.value,
            clear_value: Some(rule.clear_value),
            for_secs: Some(rule.for_secs),
            clear_secs: Some(rule.clear_secs),
            severity: rule.severity.as_str().to_owned(),
            enabled: Some(rule.enabled),
        }
    }
}

/// The kinds a household's own rule may have.
pub const CUSTOM_RULE_KINDS: [ConditionKind; 5] =
    [ConditionKind::Above, ConditionKind::Below, ConditionKind::Rise, ConditionKind::CoDose, ConditionKind::Absence];

/// Checks a rule. `keep` is the built-in rule being tuned, whose key, kind (and metric, when
/// none is sent) stay.
pub fn parse_rule(raw: &RawRule, keep: Option<&Rule>) -> Result<Rule, Invalid> {
    let kind: ConditionKind = match keep {
        // A built-in rule keeps its kind; what was sent must still be a kind.
        Some(r) => {
            raw.kind.parse::<ConditionKind>().map_err(|()| {
                let kinds: Vec<&str> = ConditionKind::ALL.iter().map(|k| k.as_str()).collect();
                bad("kind", "one_of", format!("kind must be one of {}", kinds.join(", ")))
            })?;
            r.kind
        }
        None => raw
            .kind
            .parse()
            .ok()
            .filter(|k| CUSTOM_RULE_KINDS.contains(k))
            .ok_or_else(|| bad("kind", "one_of", "kind must be one of above, below, rise, co_dose, absence"))?,
    };
    let metric = match &raw.metric {
        None => None,
        Some(m) => Some(
            Metric::from_name(m)
                .ok_or_else(|| bad("metric", "one_of", format!("metric {m:?} is not a metric Petty knows")))?,
        ),
    };
    let rule = Rule {
        key: keep.and_then(|r| r.key.clone()),
        name: raw.name.trim().to_owned(),
        device_kind: parse_rule_device_kind(&raw.device_kind)
            .map_err(|(field, message)| bad(field, "one_of", format!("{field} {message}")))?,
        kind,
        metric: metric.or(keep.and_then(|r| r.metric)),
        value: raw.value,
        clear_value: raw.clear_value.unwrap_or(raw.value),
        for_secs: raw.for_secs.unwrap_or(0),
        clear_secs: raw.clear_secs.unwrap_or(0),
        severity: parse_severity("severity", &raw.severity)?,
        enabled: raw.enabled.unwrap_or(true),
    };
    rule.check().map_err(|(field, message)| bad(field, "invalid", format!("{field} {message}")))?;
    Ok(rule)
}

/// One of the household's rules.
pub async fn rule(app: &App, household_id: HouseholdId, id: AlarmRuleId) -> Result<StoredRule, SettingsError> {
    let rules = app.store.alarm_rules(household_id, app.now_ms()).await?;
    rules.into_iter().find(|r| r.id == id).ok_or(SettingsError::NotFound("alarm rule"))
}

/// Checks a rule as it would be saved: a new one (`id` none) or a change to one of the
/// household's (a built-in one keeps its kind).
pub async fn check_rule(
    app: &App,
    household_id: HouseholdId,
    id: Option<AlarmRuleId>,
    raw: &RawRule,
) -> Result<Rule, SettingsError> {
    match id {
        None => Ok(parse_rule(raw, None)?),
        Some(id) => {
            let current = rule(app, household_id, id).await?;
            let keep = current.rule.key.is_some().then_some(&current.rule);
            Ok(parse_rule(raw, keep)?)
        }
    }
}

/// What a rule as written (new, or a change to one of the household's) would have raised over
/// the last days on the household's devices, judged as the alarm job judges; nothing is saved.
pub async fn preview_rule(
    app: &App,
    household_id: HouseholdId,
    id: Option<AlarmRuleId>,
    raw: &RawRule,
) -> Result<crate::alarms::judging::Preview, SettingsError> {
    let rule = check_rule(app, household_id, id, raw).await?;
    Ok(crate::alarms::judging::preview(app, household_id, &rule, app.now_ms()).await?)
}

/// Adds a household's own rule.
pub async fn create_rule(app: &App, who: &Who, raw: &RawRule) -> Result<StoredRule, SettingsError> {
    let rule = parse_rule(raw, None)?;
    let stored = app.store.create_alarm_rule(who.household_id, &rule, app.now_ms()).await?;
    crate::audit::record(app, who, "create", "alarm_rule", stored.id, &crate::audit::no_detail()).await?;
    Ok(stored)
}

/// Tunes a rule: its value, hold times, severity, on or off (a built-in one keeps its kind).
pub async fn update_rule(app: &App, who: &Who, id: AlarmRuleId, raw: &RawRule) -> Result<StoredRule, SettingsError> {
    let rule = check_rule(app, who.household_id, Some(id), raw).await?;
    let stored =
        app.store.update_alarm_rule(who.household_id, id, &rule, app.now_ms()).await.map_err(missing("alarm rule"))?;
    crate::audit::record(app, who, "update", "alarm_rule", id, &crate::audit::no_detail()).await?;
    Ok(stored)
}

/// Deletes a household's own rule; a built-in one is not found (it can only be disabled).
pub async fn delete_rule(app: &App, who: &Who, id: AlarmRuleId) -> Result<(), SettingsError> {
    app.store
        .delete_alarm_rule(who.household_id, id)
        .await
        .map_err(missing("alarm rule of this household's own (built-in rules can only be disabled)"))?;
    crate::audit::record(app, who, "delete", "alarm_rule", id, &crate::audit::no_detail()).await?;
    Ok(())
}

// ---- contacts ----

/// Quiet hours as written.
#[derive(Debug, Clone, Default)]
pub struct RawQuiet {
    /// `HH:MM`.
    pub start: String,
    pub end: String,
    pub utc_offset_min: Option<i16>,
}

/// A contact's policy as written: the least severe alarm each channel carries (none: never).
#[derive(Debug, Clone, Default)]
pub struct RawPolicy {
    pub email: Option<String>,
    pub sms: Option<String>,
    pub voice: Option<String>,
    pub quiet_hours: Option<RawQuiet>,
}

/// A contact as written, before it is checked.
#[derive(Debug, Clone, Default)]
pub struct RawContact {
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    /// member (needs `user_id`), secondary or emergency.
    pub role: String,
    pub position: Option<i64>,
    pub user_id: Option<Uuid>,
    pub policy: Option<RawPolicy>,
}

/// `HH:MM`, two digits each.
pub fn parse_hhmm(field: &str, s: &str) -> Result<u16, Invalid> {
    let two_digits = |part: &str| part.len() == 2 && part.bytes().all(|b| b.is_ascii_digit());
    let parsed = s.split_once(':').filter(|(h, m)| two_digits(h) && two_digits(m)).and_then(|(h, m)| {
        let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
        (h < 24 && m < 60).then_some(h * 60 + m)
    });
    parsed.ok_or_else(|| bad(field, "format", format!("{field} must be a time like 22:00")))
}

fn parse_policy(p: Option<&RawPolicy>) -> Result<Policy, Invalid> {
    let Some(p) = p else { return Ok(Policy::default()) };
    let sev = |field: &str, v: &Option<String>| v.as_deref().map(|s| parse_severity(field, s)).transpose();
    let quiet = match &p.quiet_hours {
        None => None,
        Some(q) => {
            let offset = q.utc_offset_min.unwrap_or(0);
            if !(UTC_OFFSET_MIN_MIN..=UTC_OFFSET_MAX_MIN).contains(&offset) {
                return Err(bad(
                    "policy.quiet_hours.utc_offset_min",
                    "out_of_range",
                    format!("utc_offset_min must be {UTC_OFFSET_MIN_MIN} to {UTC_OFFSET_MAX_MIN}"),
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

/// Checks a contact; a member's `user_id` must be one of the household's members.
pub async fn parse_contact(
    app: &App,
    household_id: HouseholdId,
    raw: &RawContact,
) -> Result<NewContact, SettingsError> {
    let name = raw.name.trim();
    if name.is_empty() || name.chars().count() > CONTACT_NAME_MAX {
        return Err(bad("name", "length", format!("name must be 1 to {CONTACT_NAME_MAX} characters")).into());
    }
    if !CONTACT_ROLES.contains(&raw.role.as_str()) {
        return Err(bad("role", "one_of", "role must be one of member, secondary, emergency").into());
    }
    let phone = match raw.phone.as_deref().filter(|p| !p.trim().is_empty()) {
        None => None,
        Some(p) => Some(Phone::parse(p).map_err(|e| bad("phone", "e164", format!("phone {e}")))?.as_str().to_owned()),
    };
    let email = match raw.email.as_deref().filter(|e| !e.trim().is_empty()) {
        None => None,
        Some(e) => Some(Email::parse("email", e)?.as_str().to_owned()),
    };
    if phone.is_none() && email.is_none() {
        return Err(bad("phone", "required", "a contact needs a phone or an email").into());
    }
    let user_id = match (raw.role.as_str(), raw.user_id) {
        ("member", None) => {
            return Err(bad("user_id", "required", "a member contact needs the member's user_id").into());
        }
        (_, Some(user)) => {
            let members = app.store.list_members(household_id).await?;
            if !members.iter().any(|m| m.user.id.0 == user) {
                return Err(bad("user_id", "member", "user_id must be a member of this household").into());
            }
            Some(petty_core::ids::UserId(user))
        }
        (_, None) => None,
    };
    Ok(NewContact {
        user_id,
        external_id: None,
        name: name.to_owned(),
        phone,
        email,
        role: raw.role.clone(),
        position: raw.position.unwrap_or(0),
        device_serial: None,
        policy: parse_policy(raw.policy.as_ref())?,
    })
}

pub async fn create_contact(app: &App, who: &Who, raw: &RawContact) -> Result<Contact, SettingsError> {
    let new = parse_contact(app, who.household_id, raw).await?;
    let c = app.store.create_contact(who.household_id, &new, app.now_ms()).await?;
    crate::audit::record(app, who, "create", "contact", c.id, &crate::audit::no_detail()).await?;
    Ok(c)
}

pub async fn update_contact(app: &App, who: &Who, id: ContactId, raw: &RawContact) -> Result<Contact, SettingsError> {
    let new = parse_contact(app, who.household_id, raw).await?;
    let c = app.store.update_contact(who.household_id, id, &new, app.now_ms()).await.map_err(missing("contact"))?;
    crate::audit::record(app, who, "update", "contact", id, &crate::audit::no_detail()).await?;
    Ok(c)
}

pub async fn delete_contact(app: &App, who: &Who, id: ContactId) -> Result<(), SettingsError> {
    app.store.delete_contact(who.household_id, id).await.map_err(missing("contact"))?;
    crate::audit::record(app, who, "delete", "contact", id, &crate::audit::no_detail()).await?;
    Ok(())
}

// ---- escalation ----

/// Escalation as written, before it is checked.
#[derive(Debug, Clone, Default)]
pub struct RawEscalation {
    pub min_severity: String,
    pub message_after_secs: i64,
    pub call_after_secs: i64,
    pub next_contact_after_secs: i64,
    pub repeat_after_secs: i64,
    pub max_rounds: u32,
}

impl RawEscalation {
    pub fn of(e: &Escalation) -> Self {
        RawEscalation {
            min_severity: e.min_severity.as_str().to_owned(),
            message_after_secs: e.message_after_secs,
            call_after_secs: e.call_after_secs,
            next_contact_after_secs: e.next_contact_after_secs,
            repeat_after_secs: e.repeat_after_secs,
            max_rounds: e.max_rounds,
        }
    }
}

pub fn parse_escalation(raw: &RawEscalation) -> Result<Escalation, Invalid> {
    let e = Escalation {
        min_severity: parse_severity("min_severity", &raw.min_severity)?,
        message_after_secs: raw.message_after_secs,
        call_after_secs: raw.call_after_secs,
        next_contact_after_secs: raw.next_contact_after_secs,
        repeat_after_secs: raw.repeat_after_secs,
        max_rounds: raw.max_rounds,
    };
    e.check().map_err(|(field, message)| bad(field, "out_of_range", format!("{field} {message}")))?;
    Ok(e)
}

pub async fn put_escalation(app: &App, who: &Who, raw: &RawEscalation) -> Result<Escalation, SettingsError> {
    let e = parse_escalation(raw)?;
    app.store.put_escalation(who.household_id, &e, app.now_ms()).await?;
    crate::audit::record(app, who, "update", "escalation", who.household_id, &crate::audit::no_detail()).await?;
    Ok(e)
}

// ---- webhooks ----

/// The URL a webhook may be given: checked by the outbound policy, here and again at every
/// delivery. Refusals name `url` and the policy's rule.
pub async fn check_webhook_url(app: &App, raw: &str) -> Result<String, Invalid> {
    let policy = &app.notifier.config().outbound;
    let refused = |e: Refused| {
        let rule = match e {
            Refused::Malformed(_) => "format",
            Refused::Credentials => "no_credentials",
            Refused::NotPublic(_) => "public_address",
            Refused::Unresolvable => "resolves",
        };
        FieldError::new("url", rule, e.to_string())
    };
    let checked = policy.check_form(raw).map_err(|e| Invalid(vec![refused(e)]))?;
    policy.resolve(&checked).await.map_err(|e| Invalid(vec![refused(e)]))?;
    Ok(checked.as_str().to_owned())
}

fn webhook_severity(raw: Option<&str>) -> Result<Severity, Invalid> {
    raw.map(|s| parse_severity("min_severity", s)).transpose().map(|s| s.unwrap_or(Severity::Info))
}

/// Adds a webhook with a new secret (`whsec_`), which the answer carries.
pub async fn create_webhook(
    app: &App,
    who: &Who,
    url: &str,
    min_severity: Option<&str>,
) -> Result<Webhook, SettingsError> {
    let url = check_webhook_url(app, url).await?;
    let min = webhook_severity(min_severity)?;
    let (secret, _) = crate::secrets::new_secret("whsec_");
    let w = app.store.create_webhook(who.household_id, &url, &secret, min, app.now_ms()).await?;
    crate::audit::record(app, who, "create", "webhook", w.id, &crate::audit::fields(&["url", "min_severity"])).await?;
    Ok(w)
}

/// Points a webhook elsewhere or changes the least severe alarm it hears about; its secret stays.
pub async fn update_webhook(
    app: &App,
    who: &Who,
    id: WebhookId,
    url: &str,
    min_severity: Option<&str>,
) -> Result<Webhook, SettingsError> {
    let url = check_webhook_url(app, url).await?;
    let min = webhook_severity(min_severity)?;
    let w = app.store.update_webhook(who.household_id, id, &url, min).await.map_err(missing("webhook"))?;
    crate::audit::record(app, who, "update", "webhook", id, &crate::audit::fields(&["url", "min_severity"])).await?;
    Ok(w)
}

pub async fn delete_webhook(app: &App, who: &Who, id: WebhookId) -> Result<(), SettingsError> {
    app.store.delete_webhook(who.household_id, id).await.map_err(missing("webhook"))?;
    crate::audit::record(app, who, "delete", "webhook", id, &crate::audit::no_detail()).await?;
    Ok(())
}

/// What became of a test delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TestDelivery {
    /// The receiver answered this 2xx status.
    Delivered { status: u16 },
    /// The outbound policy refused the address; nothing was sent.
    Refused { reason: String },
    /// Sent, but the receiver failed it, or it could not be reached (timeout, refused connection).
    Failed { reason: String },
}

/// Delivers a signed `webhook.test` event to one of the household's webhooks now, through the
/// sender every delivery uses (the outbound policy checks the address first), and answers what
/// happened. Nothing is queued or retried.
#[tracing::instrument(skip_all, fields(household_id = %household_id, webhook_id = %id))]
pub async fn test_webhook(app: &App, household_id: HouseholdId, id: WebhookId) -> Result<TestDelivery, SettingsError> {
    let hooks = app.store.webhooks(household_id).await?;
    let hook = hooks.into_iter().find(|h| h.id == id).ok_or(SettingsError::NotFound("webhook"))?;
    let policy = &app.notifier.config().outbound;
    let checked = match policy.check_form(&hook.url) {
        Ok(url) => policy.resolve(&url).await.map(|_| ()),
        Err(e) => Err(e),
    };
    if let Err(e) = checked {
        return Ok(TestDelivery::Refused { reason: e.to_string() });
    }
    let now = app.now();
    let delivery = Uuid::now_v7();
    let payload = serde_json::json!({
        "event": "webhook.test",
        "id": delivery,
        "webhook_id": hook.id.0,
        "sent_at": crate::rfc3339::from_ms(petty_store::to_ms(now)),
    })
    .to_string();
    let n = Notification {
        id: NotificationId(delivery),
        household_id,
        idem_key: format!("webhook:{}:test:{delivery}", hook.id),
        alarm_id: None,
        contact_id: None,
        channel: petty_core::alarm::Channel::Webhook,
        recipient: hook.url.clone(),
        subject: "webhook.test".to_owned(),
        body: hook.id.to_string(),
        payload,
        status: "pending".to_owned(),
        attempts: 1,
        next_attempt_at: now,
        last_error: None,
        provider_ref: None,
        created_at: now,
        sent_at: None,
    };
    let answer = app.notifier.send_webhook(&hook.url, &hook.secret, now.unix_timestamp(), &n).await;
    tracing::info!(delivered = answer.is_ok(), "webhook test delivery");
    Ok(match answer {
        // The sender answers `http <status>` for a 2xx.
        Ok(reference) => match reference.strip_prefix("http ").and_then(|s| s.parse().ok()) {
            Some(status) => TestDelivery::Delivered { status },
            None => TestDelivery::Failed { reason: reference },
        },
        Err(e) => TestDelivery::Failed { reason: e.message },
    })
}
