//! Alarms and notifications: each household's rules (the built-in ones seeded on first use), the
//! alarms they raise (one open alarm per source and type, enforced by a partial unique index, so
//! concurrent raises become occurrences), the audit trail, the people to tell and how, webhooks,
//! and the outbox every notification passes through.

use std::str::FromStr;

use petty_core::alarm::{
    AlarmState, Channel, Escalation, Policy, QuietHours, Rule, Severity, TrailActor, builtin_rules,
};
use petty_core::ids::{
    AlarmEventId, AlarmId, AlarmRuleId, ContactId, DeviceId, HouseholdId, NotificationId, PetId, UserId, WebhookId,
};
use petty_core::paging::{Page, PageRequest};
use petty_core::readings::Metric;
use sqlx::FromRow;
use uuid::Uuid;

use time::OffsetDateTime;

use crate::{BeginWrite, Result, Store, StoreError, from_ms, from_ms_opt, on_pool, to_ms};

/// A rule as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRule {
    pub id: AlarmRuleId,
    pub household_id: HouseholdId,
    pub rule: Rule,
}

#[derive(FromRow)]
struct RuleRow {
    id: Uuid,
    household_id: Uuid,
    rule_key: Option<String>,
    name: String,
    device_kind: String,
    kind: String,
    metric: Option<String>,
    value: f64,
    clear_value: f64,
    for_secs: i64,
    clear_secs: i64,
    severity: String,
    enabled: bool,
}

const RULE_COLUMNS: &str = "id, household_id, rule_key, name, device_kind, kind, metric, value, clear_value, for_secs, \
                            clear_secs, severity, enabled";

fn corrupt(what: &str, id: Uuid) -> StoreError {
    StoreError::Corrupt(format!("{what} of {id}"))
}

impl RuleRow {
    fn into_rule(self) -> Result<StoredRule> {
        let metric = match self.metric.as_deref() {
            None => None,
            Some(m) => Some(Metric::from_name(m).ok_or_else(|| corrupt("rule metric", self.id))?),
        };
        Ok(StoredRule {
            id: AlarmRuleId(self.id),
            household_id: HouseholdId(self.household_id),
            rule: Rule {
                key: self.rule_key,
                name: self.name,
                device_kind: petty_core::alarm::parse_rule_device_kind(&self.device_kind)
                    .map_err(|_| corrupt("rule device kind", self.id))?,
                kind: self.kind.parse().map_err(|()| corrupt("rule kind", self.id))?,
                metric,
                value: self.value,
                clear_value: self.clear_value,
                for_secs: self.for_secs,
                clear_secs: self.clear_secs,
                severity: self.severity.parse().map_err(|()| corrupt("rule severity", self.id))?,
                enabled: self.enabled,
            },
        })
    }
}

/// What an alarm is raised with.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAlarm {
    pub rule_id: Option<AlarmRuleId>,
    /// `device:<uuid>` or `pet:<uuid>`.
    pub source: String,
    /// What kind of alarm it is at that source (the rule's key or id; `geofence_exit:<fence>`).
    pub alarm_type: String,
    pub device_id: Option<DeviceId>,
    pub pet_id: Option<PetId>,
    pub severity: Severity,
    pub title: String,
    pub message: String,
    pub value: Option<f64>,
    /// The readings that raised it: (time ms, value).
    pub evidence: Vec<(i64, f64)>,
    /// When the incident began (event time).
    pub at_ms: i64,
    /// Recorded without paging anyone: the incident was already in the past when it was judged.
    pub quiet: bool,
}

/// An alarm as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Alarm {
    pub id: AlarmId,
    pub household_id: HouseholdId,
    pub rule_id: Option<AlarmRuleId>,
    pub source: String,
    pub alarm_type: String,
    pub device_id: Option<DeviceId>,
    pub pet_id: Option<PetId>,
    pub severity: Severity,
    pub state: AlarmState,
    pub title: String,
    pub message: String,
    pub value: Option<f64>,
    pub evidence: Vec<(i64, f64)>,
    pub occurrences: i64,
    /// The event time of the first breaching reading (or of the event).
    pub first_at: OffsetDateTime,
    pub last_at: OffsetDateTime,
    pub assignee: Option<UserId>,
    pub acknowledged_at: Option<OffsetDateTime>,
    pub acknowledged_by: Option<TrailActor>,
    /// The event time of the recovering reading, or when someone cleared it.
    pub cleared_at: Option<OffsetDateTime>,
    pub cleared_by: Option<TrailActor>,
    /// Recorded without paging anyone (see [`NewAlarm::quiet`]).
    pub quiet: bool,
}

#[derive(FromRow)]
struct AlarmRow {
    id: Uuid,
    household_id: Uuid,
    rule_id: Option<Uuid>,
    source: String,
    alarm_type: String,
    device_id: Option<Uuid>,
    pet_id: Option<Uuid>,
    severity: String,
    state: String,
    title: String,
    message: String,
    value: Option<f64>,
    evidence: String,
    occurrences: i64,
    first_at: i64,
    last_at: i64,
    assignee: Option<Uuid>,
    acknowledged_at: Option<i64>,
    acknowledged_by: Option<String>,
    cleared_at: Option<i64>,
    cleared_by: Option<String>,
    quiet: bool,
}

const ALARM_COLUMNS: &str = "id, household_id, rule_id, source, alarm_type, device_id, pet_id, severity, state, title, \
                             message, value, evidence, occurrences, first_at, last_at, assignee, acknowledged_at, \
                             acknowledged_by, cleared_at, cleared_by, quiet";

impl AlarmRow {
    fn into_alarm(self) -> Result<Alarm> {
        let evidence: Vec<(i64, f64)> =
            serde_json::from_str(&self.evidence).map_err(|_| corrupt("alarm evidence", self.id))?;
        Ok(Alarm {
            id: AlarmId(self.id),
            household_id: HouseholdId(self.household_id),
            rule_id: self.rule_id.map(AlarmRuleId),
            source: self.source,
            alarm_type: self.alarm_type,
            device_id: self.device_id.map(DeviceId),
            pet_id: self.pet_id.map(PetId),
            severity: self.severity.parse().map_err(|()| corrupt("alarm severity", self.id))?,
            state: self.state.parse().map_err(|()| corrupt("alarm state", self.id))?,
            title: self.title,
            message: self.message,
            value: self.value,
            evidence,
            occurrences: self.occurrences,
            first_at: from_ms(self.first_at)?,
            last_at: from_ms(self.last_at)?,
            assignee: self.assignee.map(UserId),
            acknowledged_at: from_ms_opt(self.acknowledged_at)?,
            acknowledged_by: actor_opt(self.acknowledged_by, self.id)?,
            cleared_at: from_ms_opt(self.cleared_at)?,
            cleared_by: actor_opt(self.cleared_by, self.id)?,
            quiet: self.quiet,
        })
    }
}

/// One line of an alarm's audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlarmEvent {
    pub id: AlarmEventId,
    pub at: OffsetDateTime,
    /// raised, acknowledged, cleared, comment, assigned, notified, failed.
    pub kind: String,
    pub actor: TrailActor,
    pub body: String,
}

#[derive(FromRow)]
struct AlarmEventRow {
    id: Uuid,
    at: i64,
    kind: String,
    actor: String,
    body: String,
}

impl AlarmEventRow {
    fn into_event(self) -> Result<AlarmEvent> {
        Ok(AlarmEvent {
            id: AlarmEventId(self.id),
            at: from_ms(self.at)?,
            kind: self.kind,
            actor: self.actor.parse().map_err(|()| corrupt("trail actor", self.id))?,
            body: self.body,
        })
    }
}

/// Who acted on an alarm, as a column holds it.
fn actor_opt(v: Option<String>, id: Uuid) -> Result<Option<TrailActor>> {
    v.map(|a| a.parse().map_err(|()| corrupt("alarm actor", id))).transpose()
}

/// Which alarms to list, newest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AlarmFilter {
    pub states: Vec<AlarmState>,
    pub min_severity: Option<Severity>,
    pub device_id: Option<DeviceId>,
    pub pet_id: Option<PetId>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    /// Older than this alarm (its `first_at`, then id): the next page.
    pub before: Option<(i64, AlarmId)>,
    pub limit: u32,
}

/// The `WHERE` clause of an alarm query over `filter`, with the binds `$1` household, `$2`
/// device, `$3` pet, `$4`..`$5` the raised-at range and `$6`, `$7` the `before` cursor.
fn alarm_where(filter: &AlarmFilter) -> String {
    let mut sql = String::from("household_id = $1");
    if !filter.states.is_empty() {
        // The states are the enum's own names, never the caller's text.
        let states: Vec<String> = filter.states.iter().map(|s| format!("'{}'", s.as_str())).collect();
        sql.push_str(&format!(" AND state IN ({})", states.join(", ")));
    }
    if let Some(least) = filter.min_severity {
        sql.push_str(" AND ");
        sql.push_str(&severity_rank_sql("severity", least));
    }
    sql.push_str(" AND ($2 IS NULL OR device_id = $2) AND ($3 IS NULL OR pet_id = $3)");
    sql.push_str(" AND first_at >= $4 AND first_at < $5 AND (first_at < $6 OR (first_at = $6 AND id < $7))");
    sql
}

/// Epoch milliseconds as a column holds them, read into a time by `#[sqlx(try_from)]`.
#[derive(sqlx::Type)]
#[sqlx(transparent)]
struct Millis(i64);

impl TryFrom<Millis> for OffsetDateTime {
    type Error = StoreError;

    fn try_from(ms: Millis) -> Result<Self> {
        from_ms(ms.0)
    }
}

/// A person an alarm reaches.
#[derive(Debug, Clone, PartialEq)]
pub struct Contact {
    pub id: ContactId,
    pub household_id: HouseholdId,
    pub user_id: Option<UserId>,
    /// The Car-Bon profile's user id (a ULID).
    pub external_id: Option<String>,
    pub name: String,
    /// E.164.
    pub phone: Option<String>,
    pub email: Option<String>,
    /// member, secondary or emergency.
    pub role: String,
    pub position: i64,
    pub device_serial: Option<String>,
    pub policy: Policy,
    pub created_at: OffsetDateTime,
}

/// What a contact is written with.
#[derive(Debug, Clone, PartialEq)]
pub struct NewContact {
    pub user_id: Option<UserId>,
    pub external_id: Option<String>,
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub role: String,
    pub position: i64,
    pub device_serial: Option<String>,
    pub policy: Policy,
}

#[derive(FromRow)]
struct ContactRow {
    id: Uuid,
    household_id: Uuid,
    user_id: Option<Uuid>,
    external_id: Option<String>,
    name: String,
    phone: Option<String>,
    email: Option<String>,
    role: String,
    position: i64,
    device_serial: Option<String>,
    email_min: Option<String>,
    sms_min: Option<String>,
    voice_min: Option<String>,
    quiet_start: Option<i64>,
    quiet_end: Option<i64>,
    utc_offset_min: i64,
    created_at: i64,
}

const CONTACT_COLUMNS: &str = "id, household_id, user_id, external_id, name, phone, email, role, position, \
                               device_serial, email_min, sms_min, voice_min, quiet_start, quiet_end, utc_offset_min, \
                               created_at";

fn severity_opt(v: Option<String>, id: Uuid) -> Result<Option<Severity>> {
    v.map(|s| Severity::from_str(&s).map_err(|()| corrupt("contact policy", id))).transpose()
}

impl ContactRow {
    fn into_contact(self) -> Result<Contact> {
        let quiet = match (self.quiet_start, self.quiet_end) {
            (Some(s), Some(e)) => Some(QuietHours {
                start_min: u16::try_from(s).map_err(|_| corrupt("quiet hours", self.id))?,
                end_min: u16::try_from(e).map_err(|_| corrupt("quiet hours", self.id))?,
                utc_offset_min: i16::try_from(self.utc_offset_min).map_err(|_| corrupt("utc offset", self.id))?,
            }),
            _ => None,
        };
        Ok(Contact {
            policy: Policy {
                email: severity_opt(self.email_min, self.id)?,
                sms: severity_opt(self.sms_min, self.id)?,
                voice: severity_opt(self.voice_min, self.id)?,
                quiet,
            },
            id: ContactId(self.id),
            household_id: HouseholdId(self.household_id),
            user_id: self.user_id.map(UserId),
            external_id: self.external_id,
            name: self.name,
            phone: self.phone,
            email: self.email,
            role: self.role,
            position: self.position,
            device_serial: self.device_serial,
            created_at: from_ms(self.created_at)?,
        })
    }
}

/// A household's webhook.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Webhook {
    #[sqlx(try_from = "Uuid")]
    pub id: WebhookId,
    #[sqlx(try_from = "Uuid")]
    pub household_id: HouseholdId,
    pub url: String,
    pub secret: String,
    pub min_severity: String,
    #[sqlx(try_from = "Millis")]
    pub created_at: OffsetDateTime,
    /// The events it is for, comma-separated, when made through the Pet Management profile
    /// (`pet.created,reminder.due`); `None` for an alarm webhook, told of every alarm change.
    pub events: Option<String>,
}

/// A notification to put in the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct NewNotification {
    pub household_id: HouseholdId,
    /// Unique over all time: enqueueing the same key twice stores one row.
    pub idem_key: String,
    pub alarm_id: Option<AlarmId>,
    pub contact_id: Option<ContactId>,
    pub channel: Channel,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub payload: String,
    pub not_before_ms: i64,
}

/// A notification as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    pub id: NotificationId,
    pub household_id: HouseholdId,
    pub idem_key: String,
    pub alarm_id: Option<AlarmId>,
    pub contact_id: Option<ContactId>,
    pub channel: Channel,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub payload: String,
    /// pending, sent, failed, cancelled.
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: OffsetDateTime,
    pub last_error: Option<String>,
    pub provider_ref: Option<String>,
    pub created_at: OffsetDateTime,
    pub sent_at: Option<OffsetDateTime>,
}

#[derive(FromRow)]
struct NotificationRow {
    id: Uuid,
    household_id: Uuid,
    idem_key: String,
    alarm_id: Option<Uuid>,
    contact_id: Option<Uuid>,
    channel: String,
    recipient: String,
    subject: String,
    body: String,
    payload: String,
    status: String,
    attempts: i64,
    next_attempt_at: i64,
    last_error: Option<String>,
    provider_ref: Option<String>,
    created_at: i64,
    sent_at: Option<i64>,
}

const NOTIFICATION_COLUMNS: &str = "id, household_id, idem_key, alarm_id, contact_id, channel, recipient, subject, \
                                    body, payload, status, attempts, next_attempt_at, last_error, provider_ref, \
                                    created_at, sent_at";

impl NotificationRow {
    fn into_notification(self) -> Result<Notification> {
        Ok(Notification {
            channel: self.channel.parse().map_err(|()| corrupt("notification channel", self.id))?,
            id: NotificationId(self.id),
            household_id: HouseholdId(self.household_id),
            idem_key: self.idem_key,
            alarm_id: self.alarm_id.map(AlarmId),
            contact_id: self.contact_id.map(ContactId),
            recipient: self.recipient,
            subject: self.subject,
            body: self.body,
            payload: self.payload,
            status: self.status,
            attempts: self.attempts,
            next_attempt_at: from_ms(self.next_attempt_at)?,
            last_error: self.last_error,
            provider_ref: self.provider_ref,
            created_at: from_ms(self.created_at)?,
            sent_at: from_ms_opt(self.sent_at)?,
        })
    }
}

fn severity_rank_sql(column: &str, least: Severity) -> String {
    let allowed: Vec<String> =
        Severity::ALL.iter().filter(|s| s.at_least(least)).map(|s| format!("'{}'", s.as_str())).collect();
    format!("{column} IN ({})", allowed.join(", "))
}

/// Writes one line of an alarm's trail on `$exec` (a transaction); answers the [`AlarmEvent`].
macro_rules! insert_event {
    ($exec:expr, $household_id:expr, $alarm_id:expr, $at:expr, $kind:expr, $actor:expr, $body:expr) => {{
        let id = Uuid::now_v7();
        let (at, kind, actor, body): (i64, &str, TrailActor, &str) = ($at, $kind, $actor, $body);
        sqlx::query(
            "INSERT INTO alarm_events (id, household_id, alarm_id, at, kind, actor, body) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id)
        .bind($household_id.0)
        .bind($alarm_id)
        .bind(at)
        .bind(kind)
        .bind(actor.to_string())
        .bind(body)
        .execute($exec)
        .await?;
        AlarmEvent { id: AlarmEventId(id), at: from_ms(at)?, kind: kind.to_owned(), actor, body: body.to_owned() }
    }};
}

/// Cancels an alarm's notifications that have not gone yet (it was acknowledged or cleared).
macro_rules! cancel_pending {
    ($exec:expr, $alarm_id:expr) => {
        sqlx::query("UPDATE outbox SET status = 'cancelled' WHERE alarm_id = $1 AND status = 'pending'")
            .bind($alarm_id)
            .execute($exec)
            .await?
    };
}

impl Store {
    // ---- rules ----

    /// The household's rules, the built-in ones first seeded when it has none.
    pub async fn alarm_rules(&self, household_id: HouseholdId, now_ms: i64) -> Result<Vec<StoredRule>> {
        let rows = self.rule_rows(household_id).await?;
        if !rows.is_empty() {
            return rows.into_iter().map(RuleRow::into_rule).collect();
        }
        on_pool!(write, self, |pool| {
            let mut tx = pool.begin_write().await?;
            for rule in builtin_rules() {
                sqlx::query(
                    "INSERT INTO alarm_rules (id, household_id, rule_key, name, device_kind, kind, metric, value, \
                     clear_value, for_secs, clear_secs, severity, enabled, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14) \
                     ON CONFLICT (household_id, rule_key) DO NOTHING",
                )
                .bind(Uuid::now_v7())
                .bind(household_id.0)
                .bind(&rule.key)
                .bind(&rule.name)
                .bind(rule.device_kind_name())
                .bind(rule.kind.as_str())
                .bind(rule.metric.map(Metric::name))
                .bind(rule.value)
                .bind(rule.clear_value)
                .bind(rule.for_secs)
                .bind(rule.clear_secs)
                .bind(rule.severity.as_str())
                .bind(rule.enabled)
                .bind(now_ms)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        });
        self.rule_rows(household_id).await?.into_iter().map(RuleRow::into_rule).collect()
    }

    async fn rule_rows(&self, household_id: HouseholdId) -> Result<Vec<RuleRow>> {
        let sql = format!(
            "SELECT {RULE_COLUMNS} FROM alarm_rules WHERE household_id = $1 ORDER BY rule_key IS NULL, created_at, id"
        );
        Ok(on_pool!(read, self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(household_id.0).fetch_all(pool).await?
        }))
    }

    /// Adds a household's own rule.
    pub async fn create_alarm_rule(&self, household_id: HouseholdId, rule: &Rule, now_ms: i64) -> Result<StoredRule> {
        // Make sure the built-in rules exist first, so a new rule does not stop their seeding.
        self.alarm_rules(household_id, now_ms).await?;
        let sql = format!(
            "INSERT INTO alarm_rules (id, household_id, rule_key, name, device_kind, kind, metric, value, clear_value, \
             for_secs, clear_secs, severity, enabled, created_at, updated_at) \
             VALUES ($1, $2, NULL, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13) RETURNING {RULE_COLUMNS}"
        );
        let row: RuleRow = on_pool!(write, self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(Uuid::now_v7())
                .bind(household_id.0)
                .bind(&rule.name)
                .bind(rule.device_kind_name())
                .bind(rule.kind.as_str())
                .bind(rule.metric.map(Metric::name))
                .bind(rule.value)
                .bind(rule.clear_value)
                .bind(rule.for_secs)
                .bind(rule.clear_secs)
                .bind(rule.severity.as_str())
                .bind(rule.enabled)
                .bind(now_ms)
                .fetch_one(pool)
                .await?
        });
        row.into_rule()
    }

    /// Replaces a rule's settings (a built-in rule keeps its key and kind).
    pub async fn update_alarm_rule(
        &self,
        household_id: HouseholdId,
        id: AlarmRuleId,
        rule: &Rule,
        now_ms: i64,
    ) -> Result<StoredRule> {
        let sql = format!(
            "UPDATE alarm_rules SET name = $3, device_kind = $4, metric = $5, value = $6, clear_value = $7, \
             for_secs = $8, clear_secs = $9, severity = $10, enabled = $11, updated_at = $12 \
             WHERE id = $1 AND household_id = $2 RETURNING {RULE_COLUMNS}"
        );
        let row: Option<RuleRow> = on_pool!(write, self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(id.0)
                .bind(household_id.0)
                .bind(&rule.name)
                .bind(rule.device_kind_name())
                .bind(rule.metric.map(Metric::name))
                .bind(rule.value)
                .bind(rule.clear_value)
                .bind(rule.for_secs)
                .bind(rule.clear_secs)
                .bind(rule.severity.as_str())
                .bind(rule.enabled)
                .bind(now_ms)
                .fetch_optional(pool)
                .await?
        });
        row.ok_or(StoreError::NotFound)?.into_rule()
    }

    /// Deletes a household's own rule; built-in rules can only be disabled.
    pub async fn delete_alarm_rule(&self, household_id: HouseholdId, id: AlarmRuleId) -> Result<()> {
        let done = on_pool!(write, self, |pool| {
            sqlx::query("DELETE FROM alarm_rules WHERE id = $1 AND household_id = $2 AND rule_key IS NULL")
                .bind(id.0)
                .bind(household_id.0)
                .execute(pool)
                .await?
                .rows_affected()
        });
        if done == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    // ---- alarms ----

    /// Raises an alarm, or counts one more occurrence of the open alarm with the same source and
    /// type. Answers the alarm and whether it is new. Safe under any concurrency: the partial
    /// unique index decides. An incident already over (a cleared alarm of the same source and
    /// type that began at the same event time) is answered as it is, not raised again: judging
    /// the same readings twice, after a crash or on another node, raises nothing twice.
    pub async fn raise_alarm(&self, household_id: HouseholdId, new: &NewAlarm) -> Result<(Alarm, bool)> {
        let id = Uuid::now_v7();
        let evidence = serde_json::to_string(&new.evidence).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let known = format!(
            "SELECT {ALARM_COLUMNS} FROM alarms WHERE household_id = $1 AND source = $2 AND alarm_type = $3 \
             AND first_at = $4 AND state = 'cleared' ORDER BY id LIMIT 1"
        );
        let sql = format!(
            "INSERT INTO alarms (id, household_id, rule_id, source, alarm_type, device_id, pet_id, severity, state, \
             title, message, value, evidence, occurrences, first_at, last_at, quiet) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'active', $9, $10, $11, $12, 1, $13, $13, $14) \
             ON CONFLICT (household_id, source, alarm_type) WHERE state <> 'cleared' DO UPDATE SET \
             occurrences = alarms.occurrences + 1, last_at = excluded.last_at, message = excluded.message, \
             value = excluded.value, evidence = excluded.evidence RETURNING {ALARM_COLUMNS}"
        );
        let row: AlarmRow = on_pool!(write, self, |pool| {
            let mut tx = pool.begin_write().await?;
            let seen: Option<AlarmRow> = sqlx::query_as(sqlx::AssertSqlSafe(known))
                .bind(household_id.0)
                .bind(&new.source)
                .bind(&new.alarm_type)
                .bind(new.at_ms)
                .fetch_optional(&mut *tx)
                .await?;
            if let Some(seen) = seen {
                return seen.into_alarm().map(|a| (a, false));
            }
            let row: AlarmRow = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(id)
                .bind(household_id.0)
                .bind(new.rule_id.map(|v| v.0))
                .bind(&new.source)
                .bind(&new.alarm_type)
                .bind(new.device_id.map(|d| d.0))
                .bind(new.pet_id.map(|p| p.0))
                .bind(new.severity.as_str())
                .bind(&new.title)
                .bind(&new.message)
                .bind(new.value)
                .bind(&evidence)
                .bind(new.at_ms)
                .bind(new.quiet)
                .fetch_one(&mut *tx)
                .await?;
            if row.id == id {
                insert_event!(&mut *tx, household_id, id, new.at_ms, "raised", TrailActor::System, &new.message);
            }
            tx.commit().await?;
            row
        });
        let fresh = row.id == id;
        Ok((row.into_alarm()?, fresh))
    }

    /// Clears the open alarm of this source and type, if there is one that began at or before
    /// `now_ms` (the event time the condition ended; a late reading from before the alarm does
    /// not clear it).
    pub async fn clear_open_alarm(
        &self,
        household_id: HouseholdId,
        source: &str,
        alarm_type: &str,
        reason: &str,
        now_ms: i64,
    ) -> Result<Option<Alarm>> {
        let sql = format!(
            "UPDATE alarms SET state = 'cleared', cleared_at = $4, cleared_by = 'system' \
             WHERE household_id = $1 AND source = $2 AND alarm_type = $3 AND state <> 'cleared' AND first_at <= $4 \
             RETURNING {ALARM_COLUMNS}"
        );
        let row: Option<AlarmRow> = on_pool!(write, self, |pool| {
            let mut tx = pool.begin_write().await?;
            let row: Option<AlarmRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(household_id.0)
                .bind(source)
                .bind(alarm_type)
                .bind(now_ms)
                .fetch_optional(&mut *tx)
                .await?;
            if let Some(r) = &row {
                insert_event!(&mut *tx, household_id, r.id, now_ms, "cleared", TrailActor::System, reason);
                cancel_pending!(&mut *tx, r.id);
            }
            tx.commit().await?;
            row
        });
        row.map(AlarmRow::into_alarm).transpose()
    }

    /// Starts paging people about a quiet alarm whose incident turned out to be going on now.
    /// Answers the alarm when it was quiet and still active.
    pub async fn page_alarm(&self, household_id: HouseholdId, id: AlarmId) -> Result<Option<Alarm>> {
        let sql = format!(
            "UPDATE alarms SET quiet = FALSE WHERE household_id = $1 AND id = $2 AND quiet = TRUE \
             AND state = 'active' RETURNING {ALARM_COLUMNS}"
        );
        let row: Option<AlarmRow> = on_pool!(write, self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(household_id.0).bind(id.0).fetch_optional(pool).await?
        });
        row.map(AlarmRow::into_alarm).transpose()
    }

    /// Whether there is an open alarm of this source and type.
    pub async fn open_alarm(&self, household_id: HouseholdId, source: &str, alarm_type: &str) -> Result<Option<Alarm>> {
        let sql = format!(
            "SELECT {ALARM_COLUMNS} FROM alarms WHERE household_id = $1 AND source = $2 AND alarm_type = $3 \
             AND state <> 'cleared'"
        );
        let row: Option<AlarmRow> = on_pool!(read, self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(household_id.0)
                .bind(source)
                .bind(alarm_type)
                .fetch_optional(pool)
                .await?
        });
        row.map(AlarmRow::into_alarm).transpose()
    }

    /// Moves an open alarm's start back to `first_at_ms`, when that is earlier: readings that
    /// arrived late (from another node, or a device catching up) show its incident began then.
    pub async fn move_alarm_start(&self, household_id: HouseholdId, id: AlarmId, first_at_ms: i64) -> Result<()> {
        on_pool!(write, self, |pool| {
            sqlx::query(
                "UPDATE alarms SET first_at = $3 \
                 WHERE household_id = $1 AND id = $2 AND state <> 'cleared' AND first_at > $3",
            )
            .bind(household_id.0)
            .bind(id.0)
            .bind(first_at_ms)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// The household an alarm belongs to (for acknowledgement links, which carry no session).
    pub async fn alarm_household(&self, id: AlarmId) -> Result<HouseholdId> {
        let row: Option<(Uuid,)> = on_pool!(read, self, |pool| {
            sqlx::query_as("SELECT household_id FROM alarms WHERE id = $1").bind(id.0).fetch_optional(pool).await?
        });
        row.map(|(h,)| HouseholdId(h)).ok_or(StoreError::NotFound)
    }

    pub async fn get_alarm(&self, household_id: HouseholdId, id: AlarmId) -> Result<Alarm> {
        let sql = format!("SELECT {ALARM_COLUMNS} FROM alarms WHERE id = $1 AND household_id = $2");
        let row: Option<AlarmRow> = on_pool!(read, self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id.0).bind(household_id.0).fetch_optional(pool).await?
        });
        row.ok_or(StoreError::NotFound)?.into_alarm()
    }

    /// The device's open alarms (active or acknowledged) as (alarm type, first occurrence in
    /// epoch ms): what the alarm job needs to rebuild the device's rule runs. An indexed read
    /// of a few rows, done on the calling thread on SQLite: a first pass over a thousand
    /// devices did one for each.
    pub async fn open_alarm_starts(
        &self,
        household_id: HouseholdId,
        device_id: DeviceId,
    ) -> Result<Vec<(String, i64)>> {
        const OPEN: &str =
            "SELECT alarm_type, first_at FROM alarms WHERE household_id = $1 AND source = $2 AND state <> 'cleared'";
        let source = format!("device:{device_id}");
        if let Some(fast) = &self.fast {
            return fast.with(|conn| {
                conn.prepare_cached(OPEN)?
                    .query_map(rusqlite::params![&household_id.0.as_bytes()[..], source], |row| {
                        Ok((row.get(0)?, row.get(1)?))
                    })?
                    .collect()
            });
        }
        Ok(on_pool!(read, self, |pool| {
            sqlx::query_as(OPEN).bind(household_id.0).bind(source).fetch_all(pool).await?
        }))
    }

    /// The household's alarms matching `filter`, newest first.
    pub async fn list_alarms(&self, household_id: HouseholdId, filter: &AlarmFilter) -> Result<Vec<Alarm>> {
        let sql = format!(
            "SELECT {ALARM_COLUMNS} FROM alarms WHERE {} ORDER BY first_at DESC, id DESC LIMIT $8",
            alarm_where(filter)
        );
        let (before_at, before_id) = filter.before.unwrap_or((i64::MAX, AlarmId(Uuid::max())));
        let rows: Vec<AlarmRow> = on_pool!(read, self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(household_id.0)
                .bind(filter.device_id.map(|d| d.0))
                .bind(filter.pet_id.map(|p| p.0))
                .bind(filter.from_ms.unwrap_or(i64::MIN))
                .bind(filter.to_ms.unwrap_or(i64::MAX))
                .bind(before_at)
                .bind(before_id.0)
                .bind(i64::from(filter.limit.max(1)))
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(AlarmRow::into_alarm).collect()
    }

    /// One page of the household's alarms that match `filter` (whose `before` and `limit` are
    /// not used), newest first, with how many match in all.
    pub async fn page_alarms(
        &self,
        household_id: HouseholdId,
        filter: &AlarmFilter,
        request: PageRequest,
    ) -> Result<Page<Alarm>> {
        let filter = AlarmFilter { before: None, ..filter.clone() };
        let where_ = alarm_where(&filter);
        let sql = format!(
            "SELECT {ALARM_COLUMNS} FROM alarms WHERE {where_} ORDER BY first_at DESC, id DESC LIMIT $8 OFFSET $9"
        );
        let count = format!("SELECT COUNT(*) FROM alarms WHERE {where_}");
        let (rows, total): (Vec<AlarmRow>, i64) = on_pool!(read, self, |pool| {
            let rows = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(household_id.0)
                .bind(filter.device_id.map(|d| d.0))
                .bind(filter.pet_id.map(|p| p.0))
                .bind(filter.from_ms.unwrap_or(i64::MIN))
                .bind(filter.to_ms.unwrap_or(i64::MAX))
                .bind(i64::MAX)
                .bind(Uuid::max())
                .bind(request.limit())
                .bind(request.offset())
                .fetch_all(pool)
                .await?;
            let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(count))
                .bind(household_id.0)
                .bind(filter.device_id.map(|d| d.0))
                .bind(filter.pet_id.map(|p| p.0))
                .bind(filter.from_ms.unwrap_or(i64::MIN))
                .bind(filter.to_ms.unwrap_or(i64::MAX))
                .bind(i64::MAX)
                .bind(Uuid::max())
                .fetch_one(pool)
                .await?;
            (rows, total)
        });
        let items = rows.into_iter().map(AlarmRow::into_alarm).collect::<Result<Vec<_>>>()?;
        Ok(Page { items, total: u64::try_from(total).unwrap_or(0), request })
    }

    /// Moves an alarm on: `acknowledged` (from active) or `cleared` (from either). Answers the
    /// alarm as it now is; [`StoreError::Conflict`] when it is already past that state.
    pub async fn transition_alarm(
        &self,
        household_id: HouseholdId,
        id: AlarmId,
        to: AlarmState,
        actor: TrailActor,
        note: &str,
        now_ms: i64,
    ) -> Result<Alarm> {
        let (set, from) = match to {
            AlarmState::Acknowledged => {
                ("state = 'acknowledged', acknowledged_at = $3, acknowledged_by = $4", "'active'")
            }
            AlarmState::Cleared => ("state = 'cleared', cleared_at = $3, cleared_by = $4", "'active', 'acknowledged'"),
            AlarmState::Active => return Err(StoreError::Conflict("an alarm cannot be raised by hand")),
        };
        let sql = format!(
            "UPDATE alarms SET {set} WHERE id = $1 AND household_id = $2 AND state IN ({from}) RETURNING {ALARM_COLUMNS}"
        );
        let row: Option<AlarmRow> = on_pool!(write, self, |pool| {
            let mut tx = pool.begin_write().await?;
            let row: Option<AlarmRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(id.0)
                .bind(household_id.0)
                .bind(now_ms)
                .bind(actor.to_string())
                .fetch_optional(&mut *tx)
                .await?;
            if row.is_some() {
                insert_event!(&mut *tx, household_id, id.0, now_ms, to.as_str(), actor, note);
                cancel_pending!(&mut *tx, id.0);
            }
            tx.commit().await?;
            row
        });
        match row {
            Some(r) => r.into_alarm(),
            None => {
                // Tell "no such alarm" from "already acknowledged/cleared".
                self.get_alarm(household_id, id).await?;
                Err(StoreError::Conflict(match to {
                    AlarmState::Acknowledged => "an acknowledgement (the alarm is not active)",
                    _ => "a clearance (the alarm is already cleared)",
                }))
            }
        }
    }

    /// Adds a line to an alarm's trail (a comment, an assignment, a delivery).
    pub async fn alarm_note(
        &self,
        household_id: HouseholdId,
        id: AlarmId,
        kind: &str,
        actor: TrailActor,
        body: &str,
        now_ms: i64,
    ) -> Result<AlarmEvent> {
        on_pool!(write, self, |pool| {
            let mut tx = pool.begin_write().await?;
            let exists: Option<(Uuid,)> = sqlx::query_as("SELECT id FROM alarms WHERE id = $1 AND household_id = $2")
                .bind(id.0)
                .bind(household_id.0)
                .fetch_optional(&mut *tx)
                .await?;
            if exists.is_none() {
                return Err(StoreError::NotFound);
            }
            let event = insert_event!(&mut *tx, household_id, id.0, now_ms, kind, actor, body);
            tx.commit().await?;
            Ok(event)
        })
    }

    /// Assigns an alarm to a member (or nobody).
    pub async fn assign_alarm(
        &self,
        household_id: HouseholdId,
        id: AlarmId,
        assignee: Option<UserId>,
        actor: TrailActor,
        now_ms: i64,
    ) -> Result<Alarm> {
        let sql =
            format!("UPDATE alarms SET assignee = $3 WHERE id = $1 AND household_id = $2 RETURNING {ALARM_COLUMNS}");
        let row: Option<AlarmRow> = on_pool!(write, self, |pool| {
            let mut tx = pool.begin_write().await?;
            let row: Option<AlarmRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(id.0)
                .bind(household_id.0)
                .bind(assignee.map(|u| u.0))
                .fetch_optional(&mut *tx)
                .await?;
            if row.is_some() {
                let body = assignee.map_or_else(|| "unassigned".to_owned(), |u| format!("assigned to user:{}", u.0));
                insert_event!(&mut *tx, household_id, id.0, now_ms, "assigned", actor, &body);
            }
            tx.commit().await?;
            row
        });
        row.ok_or(StoreError::NotFound)?.into_alarm()
    }

    /// An alarm's trail, oldest first.
    pub async fn alarm_events(&self, household_id: HouseholdId, id: AlarmId) -> Result<Vec<AlarmEvent>> {
        let rows: Vec<AlarmEventRow> = on_pool!(read, self, |pool| {
            sqlx::query_as(
                "SELECT id, at, kind, actor, body FROM alarm_events WHERE alarm_id = $1 AND household_id = $2 \
                 ORDER BY at, id",
            )
            .bind(id.0)
            .bind(household_id.0)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(AlarmEventRow::into_event).collect()
    }

    /// Every household's active (unacknowledged) alarms: the escalation pass's work.
    pub async fn active_alarms_everywhere(&self, limit: u32) -> Result<Vec<Alarm>> {
        let sql = format!(
            "SELECT {ALARM_COLUMNS} FROM alarms WHERE state = 'active' AND quiet = FALSE ORDER BY first_at LIMIT $1"
        );
        let rows: Vec<AlarmRow> = on_pool!(read, self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(i64::from(limit)).fetch_all(pool).await?
        });
        rows.into_iter().map(AlarmRow::into_alarm).collect()
    }

    // ---- contacts, escalation, webhooks ----

    /// The household's people in escalation order: members, then secondary, then emergency
    /// contacts, each by position.
    pub async fn contacts(&self, household_id: HouseholdId) -> Result<Vec<Contact>> {
        let sql = format!(
            "SELECT {CONTACT_COLUMNS} FROM contacts WHERE household_id = $1 ORDER BY \
             CASE role WHEN 'member' THEN 0 WHEN 'secondary' THEN 1 ELSE 2 END, position, created_at, id"
        );
        let rows: Vec<ContactRow> = on_pool!(read, self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(household_id.0).fetch_all(pool).await?
        });
        rows.into_iter().map(ContactRow::into_contact).collect()
    }

    /// A contact by its Car-Bon id, within the household.
    pub async fn contact_by_external_id(&self, household_id: HouseholdId, external_id: &str) -> Result<Contact> {
        let sql = format!("SELECT {CONTACT_COLUMNS} FROM contacts WHERE external_id = $1 AND household_id = $2");
        let row: Option<ContactRow> = on_pool!(read, self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(external_id).bind(household_id.0).fetch_optional(pool).await?
        });
        row.ok_or(StoreError::NotFound)?.into_contact()
    }

    pub async fn create_contact(&self, household_id: HouseholdId, new: &NewContact, now_ms: i64) -> Result<Contact> {
        let sql = format!(
            "INSERT INTO contacts (id, household_id, user_id, external_id, name, phone, email, role, position, \
             device_serial, email_min, sms_min, voice_min, quiet_start, quiet_end, utc_offset_min, created_at, \
             updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $17) \
             RETURNING {CONTACT_COLUMNS}"
        );
        let p = &new.policy;
        let row: ContactRow = on_pool!(write, self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(Uuid::now_v7())
                .bind(household_id.0)
                .bind(new.user_id.map(|u| u.0))
                .bind(&new.external_id)
                .bind(&new.name)
                .bind(&new.phone)
                .bind(&new.email)
                .bind(&new.role)
                .bind(new.position)
                .bind(&new.device_serial)
                .bind(p.email.map(Severity::as_str))
                .bind(p.sms.map(Severity::as_str))
                .bind(p.voice.map(Severity::as_str))
                .bind(p.quiet.map(|q| i64::from(q.start_min)))
                .bind(p.quiet.map(|q| i64::from(q.end_min)))
                .bind(p.quiet.map_or(0, |q| i64::from(q.utc_offset_min)))
                .bind(now_ms)
                .fetch_one(pool)
                .await
                .map_err(|e| match StoreError::from(e) {
                    StoreError::Conflict(_) => StoreError::Conflict("a contact for that member"),
                    other => other,
                })?
        });
        row.into_contact()
    }

    pub async fn update_contact(
        &self,
        household_id: HouseholdId,
        id: ContactId,
        new: &NewContact,
        now_ms: i64,
    ) -> Result<Contact> {
        let sql = format!(
            "UPDATE contacts SET name = $3, phone = $4, email = $5, role = $6, position = $7, email_min = $8, \
             sms_min = $9, voice_min = $10, quiet_start = $11, quiet_end = $12, utc_offset_min = $13, \
             updated_at = $14 WHERE id = $1 AND household_id = $2 RETURNING {CONTACT_COLUMNS}"
        );
        let p = &new.policy;
        let row: Option<ContactRow> = on_pool!(write, self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(id.0)
                .bind(household_id.0)
                .bind(&new.name)
                .bind(&new.phone)
                .bind(&new.email)
                .bind(&new.role)
                .bind(new.position)
                .bind(p.email.map(Severity::as_str))
                .bind(p.sms.map(Severity::as_str))
                .bind(p.voice.map(Severity::as_str))
                .bind(p.quiet.map(|q| i64::from(q.start_min)))
                .bind(p.quiet.map(|q| i64::from(q.end_min)))
                .bind(p.quiet.map_or(0, |q| i64::from(q.utc_offset_min)))
                .bind(now_ms)
                .fetch_optional(pool)
                .await?
        });
        row.ok_or(StoreError::NotFound)?.into_contact()
    }

    pub async fn delete_contact(&self, household_id: HouseholdId, id: ContactId) -> Result<()> {
        let done = on_pool!(write, self, |pool| {
            sqlx::query("DELETE FROM contacts WHERE id = $1 AND household_id = $2")
                .bind(id.0)
                .bind(household_id.0)
                .execute(pool)
                .await?
                .rows_affected()
        });
        if done == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    /// The household's escalation (the defaults until it sets one).
    pub async fn escalation(&self, household_id: HouseholdId) -> Result<Escalation> {
        type Row = (String, i64, i64, i64, i64, i64);
        let row: Option<Row> = on_pool!(read, self, |pool| {
            sqlx::query_as(
                "SELECT min_severity, message_after_secs, call_after_secs, next_contact_after_secs, \
                 repeat_after_secs, max_rounds FROM escalation_policies WHERE household_id = $1",
            )
            .bind(household_id.0)
            .fetch_optional(pool)
            .await?
        });
        let Some((min, message, call, next, repeat, rounds)) = row else {
            return Ok(Escalation::default());
        };
        Ok(Escalation {
            min_severity: min.parse().map_err(|()| corrupt("escalation severity", household_id.0))?,
            message_after_secs: message,
            call_after_secs: call,
            next_contact_after_secs: next,
            repeat_after_secs: repeat,
            max_rounds: u32::try_from(rounds).map_err(|_| corrupt("escalation rounds", household_id.0))?,
        })
    }

    pub async fn put_escalation(&self, household_id: HouseholdId, e: &Escalation, now_ms: i64) -> Result<()> {
        on_pool!(write, self, |pool| {
            sqlx::query(
                "INSERT INTO escalation_policies (household_id, min_severity, message_after_secs, call_after_secs, \
                 next_contact_after_secs, repeat_after_secs, max_rounds, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (household_id) DO UPDATE SET \
                 min_severity = excluded.min_severity, message_after_secs = excluded.message_after_secs, \
                 call_after_secs = excluded.call_after_secs, next_contact_after_secs = excluded.next_contact_after_secs, \
                 repeat_after_secs = excluded.repeat_after_secs, max_rounds = excluded.max_rounds, \
                 updated_at = excluded.updated_at",
            )
            .bind(household_id.0)
            .bind(e.min_severity.as_str())
            .bind(e.message_after_secs)
            .bind(e.call_after_secs)
            .bind(e.next_contact_after_secs)
            .bind(e.repeat_after_secs)
            .bind(i64::from(e.max_rounds))
            .bind(now_ms)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    pub async fn create_webhook(
        &self,
        household_id: HouseholdId,
        url: &str,
        secret: &str,
        min_severity: Severity,
        now_ms: i64,
    ) -> Result<Webhook> {
        Ok(on_pool!(write, self, |pool| {
            sqlx::query_as(
                "INSERT INTO webhooks (id, household_id, url, secret, min_severity, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id, household_id, url, secret, min_severity, created_at, events",
            )
            .bind(Uuid::now_v7())
            .bind(household_id.0)
            .bind(url)
            .bind(secret)
            .bind(min_severity.as_str())
            .bind(now_ms)
            .fetch_one(pool)
            .await?
        }))
    }

    pub async fn webhooks(&self, household_id: HouseholdId) -> Result<Vec<Webhook>> {
        Ok(on_pool!(read, self, |pool| {
            sqlx::query_as(
                "SELECT id, household_id, url, secret, min_severity, created_at, events FROM webhooks \
                 WHERE household_id = $1 ORDER BY created_at, id",
            )
            .bind(household_id.0)
            .fetch_all(pool)
            .await?
        }))
    }

    /// Points a webhook elsewhere or changes what it hears about; its secret stays.
    pub async fn update_webhook(
        &self,
        household_id: HouseholdId,
        id: WebhookId,
        url: &str,
        min_severity: Severity,
    ) -> Result<Webhook> {
        let row: Option<Webhook> = on_pool!(write, self, |pool| {
            sqlx::query_as(
                "UPDATE webhooks SET url = $3, min_severity = $4 WHERE id = $1 AND household_id = $2 \
                 RETURNING id, household_id, url, secret, min_severity, created_at, events",
            )
            .bind(id.0)
            .bind(household_id.0)
            .bind(url)
            .bind(min_severity.as_str())
            .fetch_optional(pool)
            .await?
        });
        row.ok_or(StoreError::NotFound)
    }

    pub async fn delete_webhook(&self, household_id: HouseholdId, id: WebhookId) -> Result<()> {
        let done = on_pool!(write, self, |pool| {
            sqlx::query("DELETE FROM webhooks WHERE id = $1 AND household_id = $2")
                .bind(id.0)
                .bind(household_id.0)
                .execute(pool)
                .await?
                .rows_affected()
        });
        if done == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    // ---- the outbox ----

    /// Puts a notification in the outbox; answers false when its key is already there.
    pub async fn enqueue_notification(&self, n: &NewNotification, now_ms: i64) -> Result<bool> {
        let done = on_pool!(write, self, |pool| {
            sqlx::query(
                "INSERT INTO outbox (id, household_id, idem_key, alarm_id, contact_id, channel, recipient, subject, \
                 body, payload, status, attempts, next_attempt_at, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'pending', 0, $11, $12) \
                 ON CONFLICT (idem_key) DO NOTHING",
            )
            .bind(Uuid::now_v7())
            .bind(n.household_id.0)
            .bind(&n.idem_key)
            .bind(n.alarm_id.map(|v| v.0))
            .bind(n.contact_id.map(|v| v.0))
            .bind(n.channel.as_str())
            .bind(&n.recipient)
            .bind(&n.subject)
            .bind(&n.body)
            .bind(&n.payload)
            .bind(n.not_before_ms)
            .bind(now_ms)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(done > 0)
    }

    /// The keys already queued for an alarm (so the escalation pass writes only new steps).
    pub async fn notification_keys(&self, alarm_id: AlarmId) -> Result<std::collections::HashSet<String>> {
        let rows: Vec<(String,)> = on_pool!(read, self, |pool| {
            sqlx::query_as("SELECT idem_key FROM outbox WHERE alarm_id = $1").bind(alarm_id.0).fetch_all(pool).await?
        });
        Ok(rows.into_iter().map(|(k,)| k).collect())
    }

    /// Takes up to `limit` due notifications for delivery: each is leased for `lease_ms` (another
    /// worker, or this one after a restart, takes it again once the lease runs out) and its
    /// attempt counted.
    pub async fn claim_notifications(&self, now_ms: i64, lease_ms: i64, limit: u32) -> Result<Vec<Notification>> {
        let sql = claim_due_sql("outbox", NOTIFICATION_COLUMNS);
        let rows: Vec<NotificationRow> = on_pool!(write, self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(now_ms)
                .bind(now_ms + lease_ms)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(NotificationRow::into_notification).collect()
    }

    /// Takes one pending notification by its key for immediate delivery (the Car-Bon profile's
    /// `/notify` routes); `None` when another sender holds it or it is no longer pending.
    pub async fn claim_notification_by_key(
        &self,
        key: &str,
        now_ms: i64,
        lease_ms: i64,
    ) -> Result<Option<Notification>> {
        let sql = format!(
            "UPDATE outbox SET lease_until = $2, attempts = attempts + 1 WHERE idem_key = $1 AND status = 'pending' \
             AND (lease_until IS NULL OR lease_until <= $3) RETURNING {NOTIFICATION_COLUMNS}"
        );
        let row: Option<NotificationRow> = on_pool!(write, self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(key)
                .bind(now_ms + lease_ms)
                .bind(now_ms)
                .fetch_optional(pool)
                .await?
        });
        row.map(NotificationRow::into_notification).transpose()
    }

    /// Marks a delivered notification sent, with the provider's id for it; notes it on the
    /// alarm's trail.
    pub async fn notification_sent(&self, n: &Notification, provider_ref: &str, now_ms: i64) -> Result<()> {
        on_pool!(write, self, |pool| {
            let mut tx = pool.begin_write().await?;
            sqlx::query(
                "UPDATE outbox SET status = 'sent', provider_ref = $2, sent_at = $3, lease_until = NULL, \
                 last_error = NULL WHERE id = $1",
            )
            .bind(n.id.0)
            .bind(provider_ref)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
            // People's deliveries go on the trail everyone in the household reads; a webhook's
            // (an integration's address, and whether it answered) only in the outbox, which its
            // managers read.
            if let Some(alarm_id) = n.alarm_id
                && n.channel != Channel::Webhook
            {
                let body = format!("{} to {} ({provider_ref})", n.channel.as_str(), n.recipient);
                insert_event!(&mut *tx, n.household_id, alarm_id.0, now_ms, "notified", TrailActor::System, &body);
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// A failed attempt: try again at `retry_at_ms`, or give up (`None`) and note it.
    pub async fn notification_failed(
        &self,
        n: &Notification,
        error: &str,
        retry_at_ms: Option<i64>,
        now_ms: i64,
    ) -> Result<()> {
        on_pool!(write, self, |pool| {
            let mut tx = pool.begin_write().await?;
            sqlx::query(
                "UPDATE outbox SET status = $2, next_attempt_at = $3, lease_until = NULL, last_error = $4 WHERE id = $1",
            )
            .bind(n.id.0)
            .bind(if retry_at_ms.is_some() { "pending" } else { "failed" })
            .bind(retry_at_ms.unwrap_or(to_ms(n.next_attempt_at)))
            .bind(error)
            .execute(&mut *tx)
            .await?;
            if retry_at_ms.is_none()
                && let Some(alarm_id) = n.alarm_id
                && n.channel != Channel::Webhook
            {
                let body = format!("{} to {} failed: {error}", n.channel.as_str(), n.recipient);
                insert_event!(&mut *tx, n.household_id, alarm_id.0, now_ms, "failed", TrailActor::System, &body);
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Puts a claimed notification back until `until_ms` without counting the attempt (quiet
    /// hours), or cancels it (`None`: its alarm was acknowledged or the person takes no such
    /// message).
    pub async fn notification_deferred(&self, n: &Notification, until_ms: Option<i64>, note: &str) -> Result<()> {
        on_pool!(write, self, |pool| {
            sqlx::query(
                "UPDATE outbox SET status = $2, next_attempt_at = $3, attempts = attempts - 1, lease_until = NULL, \
                 last_error = $4 WHERE id = $1",
            )
            .bind(n.id.0)
            .bind(if until_ms.is_some() { "pending" } else { "cancelled" })
            .bind(until_ms.unwrap_or(to_ms(n.next_attempt_at)))
            .bind(note)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// The household's notifications, newest first (optionally one alarm's).
    pub async fn notifications(
        &self,
        household_id: HouseholdId,
        alarm_id: Option<AlarmId>,
        limit: u32,
    ) -> Result<Vec<Notification>> {
        let sql = format!(
            "SELECT {NOTIFICATION_COLUMNS} FROM outbox WHERE household_id = $1 AND ($2 IS NULL OR alarm_id = $2) \
             ORDER BY created_at DESC, id DESC LIMIT $3"
        );
        let rows: Vec<NotificationRow> = on_pool!(read, self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(household_id.0)
                .bind(alarm_id.map(|v| v.0))
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(NotificationRow::into_notification).collect()
    }

    /// One page of the household's notifications (of one alarm, or all), newest first, with
    /// how many there are in all.
    pub async fn page_notifications(
        &self,
        household_id: HouseholdId,
        alarm_id: Option<AlarmId>,
        webhooks: bool,
        request: PageRequest,
    ) -> Result<Page<Notification>> {
        // Without `webhooks`, the rows of the webhook channel are left out.
        let channels = if webhooks { "" } else { " AND channel <> 'webhook'" };
        let sql = format!(
            "SELECT {NOTIFICATION_COLUMNS} FROM outbox WHERE household_id = $1 AND ($2 IS NULL OR alarm_id = $2){channels} \
             ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4"
        );
        let count =
            format!("SELECT COUNT(*) FROM outbox WHERE household_id = $1 AND ($2 IS NULL OR alarm_id = $2){channels}");
        let (rows, total): (Vec<NotificationRow>, i64) = on_pool!(read, self, |pool| {
            let rows = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(household_id.0)
                .bind(alarm_id.map(|v| v.0))
                .bind(request.limit())
                .bind(request.offset())
                .fetch_all(pool)
                .await?;
            let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(count))
                .bind(household_id.0)
                .bind(alarm_id.map(|v| v.0))
                .fetch_one(pool)
                .await?;
            (rows, total)
        });
        let items = rows.into_iter().map(NotificationRow::into_notification).collect::<Result<Vec<_>>>()?;
        Ok(Page { items, total: u64::try_from(total).unwrap_or(0), request })
    }
}

/// The claim of a delivery queue (`outbox`, `account_mail`: `status`, `next_attempt_at`,
/// `lease_until`, `attempts`): up to `$3` due rows, leased until `$2` and their attempt
/// counted, as of `$1`; returns `columns`.
pub(crate) fn claim_due_sql(table: &str, columns: &str) -> String {
    format!(
        "UPDATE {table} SET lease_until = $2, attempts = attempts + 1 WHERE id IN (SELECT id FROM {table} \
         WHERE status = 'pending' AND next_attempt_at <= $1 AND (lease_until IS NULL OR lease_until <= $1) \
         ORDER BY next_attempt_at LIMIT $3) AND status = 'pending' AND (lease_until IS NULL OR lease_until <= $1) \
         RETURNING {columns}"
    )
}
