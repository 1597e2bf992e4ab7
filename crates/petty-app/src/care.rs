//! Care use cases: health records (and what follows from them: the pet's weight, its vaccine
//! series and their reminders), reminders (written, completed, skipped, snoozed, and told of
//! at each occurrence through the outbox and live events), and the household calendar feed.
//!
//! The API, the dashboard and the Pet Management profile all come through here, so a record
//! or reminder made by one is the same everywhere, and a vaccination moves its series'
//! reminder whichever edge wrote it.

use petty_core::accounts::{Actor, Role};
use petty_core::alarm::Channel;
use petty_core::care::{
    RawRecord, Record, RecordContent, RecordKind, SeriesStatus, VaccineStatus, overall_status, vaccine_statuses,
};
use petty_core::ids::{HouseholdId, PetId, UserId};
use petty_core::pets::{Pet, format_date};
use petty_core::recurrence::{LocalTime, Schedule, Zone};
use petty_core::reminders::{Method, Notice, RawReminder, Reminder, ReminderContent, Source};
use petty_core::{FieldError, Invalid};
use petty_store::{NewNotification, NewReminder, StoreError};
use serde::Serialize;
use time::{Duration, OffsetDateTime};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::App;

/// Why a care use case did not happen.
#[derive(Debug)]
pub enum CareError {
    /// Bad input: each field and rule.
    Invalid(Invalid),
    /// No such thing in the caller's household (the name of the thing).
    NotFound(&'static str),
    /// The household's plan allows no more of this.
    Plan(crate::billing::BillingError),
    Store(StoreError),
}

impl From<crate::billing::BillingError> for CareError {
    fn from(e: crate::billing::BillingError) -> Self {
        match e {
            crate::billing::BillingError::Store(e) => CareError::Store(e),
            other => CareError::Plan(other),
        }
    }
}

impl From<Invalid> for CareError {
    fn from(e: Invalid) -> Self {
        CareError::Invalid(e)
    }
}

impl From<StoreError> for CareError {
    fn from(e: StoreError) -> Self {
        CareError::Store(e)
    }
}

/// `NotFound` from the store names the thing that was looked for.
fn missing(what: &'static str) -> impl Fn(StoreError) -> CareError {
    move |e| match e {
        StoreError::NotFound => CareError::NotFound(what),
        other => CareError::Store(other),
    }
}

/// The household's local date now.
pub async fn today(app: &App, household_id: HouseholdId) -> Result<time::Date, StoreError> {
    Ok(app.store.household_zone(household_id).await?.date_at(app.now()))
}

/// Adds a record to a pet.
pub async fn create_record(app: &App, actor: &Actor, pet_id: PetId, raw: &RawRecord) -> Result<Record, CareError> {
    let household = actor.household_id;
    let pet = app.store.get_pet(household, pet_id).await.map_err(missing("pet"))?;
    let content = RecordContent::parse(raw, pet.profile.species, today(app, household).await?)?;
    crate::billing::check_limit(app, household, petty_core::billing::Limited::HealthRecords).await?;
    let record = app
        .store
        .create_record(household, pet_id, &content, actor.user_id(), app.now())
        .await
        .map_err(missing("pet"))?;
    audit(app, actor, "create", "health_record", record.id).await?;
    after_record_change(app, &pet, &record.content, None).await?;
    Ok(record)
}

/// Changes a record: `change` edits the raw form of what is stored (fields left alone stay).
pub async fn update_record(
    app: &App,
    actor: &Actor,
    id: Uuid,
    change: impl FnOnce(&mut RawRecord),
) -> Result<Record, CareError> {
    let household = actor.household_id;
    let before = app.store.get_record(household, id).await.map_err(missing("health record"))?;
    let pet = app.store.get_pet(household, before.pet_id).await.map_err(missing("pet"))?;
    let mut raw = before.content.to_raw();
    change(&mut raw);
    let content = RecordContent::parse(&raw, pet.profile.species, today(app, household).await?)?;
    let record = app.store.update_record(household, id, &content, app.now()).await.map_err(missing("health record"))?;
    audit(app, actor, "update", "health_record", record.id).await?;
    after_record_change(app, &pet, &record.content, Some(&before.content)).await?;
    Ok(record)
}

pub async fn delete_record(app: &App, actor: &Actor, id: Uuid) -> Result<(), CareError> {
    let household = actor.household_id;
    let before = app.store.get_record(household, id).await.map_err(missing("health record"))?;
    // Its attachments first: their bytes are in the object store, not the database.
    crate::files::delete_files_of_record(app, household, id).await.map_err(|e| match e {
        crate::files::FileError::Store(e) => CareError::Store(e),
        other => CareError::Store(StoreError::Unavailable(other.to_string())),
    })?;
    app.store.delete_record(household, id).await.map_err(missing("health record"))?;
    audit(app, actor, "delete", "health_record", id).await?;
    if let Ok(pet) = app.store.get_pet(household, before.pet_id).await {
        after_record_change(app, &pet, &before.content, None).await?;
    }
    Ok(())
}

/// Notes who changed a record or reminder in the household's audit log. (The use cases do not
/// know the caller's address; the entry names the person or key.)
async fn audit(app: &App, actor: &Actor, action: &str, entity_type: &str, id: Uuid) -> Result<(), StoreError> {
    let who = crate::audit::Who::actor(actor, None);
    crate::audit::record(app, &who, action, entity_type, id, &crate::audit::no_detail()).await
}

/// What follows from a record written, changed or removed: the pet's weight is its latest
/// weigh-in; a vaccine series' reminder follows its latest dose.
async fn after_record_change(
    app: &App,
    pet: &Pet,
    content: &RecordContent,
    before: Option<&RecordContent>,
) -> Result<(), CareError> {
    let kinds = [Some(content.kind), before.map(|b| b.kind)];
    if kinds.contains(&Some(RecordKind::Weight)) {
        sync_weight(app, pet).await?;
    }
    if kinds.contains(&Some(RecordKind::Vaccination)) {
        sync_vaccine_reminders(app, pet).await?;
    }
    Ok(())
}

/// Sets the pet's weight to its latest weigh-in (by date, then by when it was written).
async fn sync_weight(app: &App, pet: &Pet) -> Result<(), StoreError> {
    let weights = app.store.records_of_kind(pet.household_id, Some(pet.id), RecordKind::Weight).await?;
    let latest = weights.iter().max_by_key(|r| (r.content.date, r.created_at)).and_then(|r| r.content.weight_kg);
    if latest.is_some() && latest != pet.profile.weight_kg {
        let mut profile = pet.profile.clone();
        profile.weight_kg = latest;
        app.store.update_pet(pet.household_id, pet.id, &profile, app.now()).await?;
    }
    Ok(())
}

/// One weigh-in of the weight log.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Weight {
    pub date: time::Date,
    pub weight_kg: f64,
    pub record_id: Uuid,
}

/// A pet's weigh-ins, oldest first, and the trend in kg per 30 days.
pub async fn weight_log(
    app: &App,
    household_id: HouseholdId,
    pet_id: PetId,
) -> Result<(Vec<Weight>, Option<f64>), StoreError> {
    let records = app.store.records_of_kind(household_id, Some(pet_id), RecordKind::Weight).await?;
    let log: Vec<Weight> = records
        .iter()
        .filter_map(|r| r.content.weight_kg.map(|w| Weight { date: r.content.date, weight_kg: w, record_id: r.id }))
        .collect();
    let points: Vec<(time::Date, f64)> = log.iter().map(|w| (w.date, w.weight_kg)).collect();
    Ok((log, petty_core::care::weight_trend_per_30d(&points)))
}

/// Records a weight for a pet whose profile weight was changed (the weight log keeps it).
pub async fn weight_changed(app: &App, actor: &Actor, pet: &Pet, weight_kg: f64) -> Result<(), CareError> {
    let raw = RawRecord {
        kind: RecordKind::Weight.as_str().to_owned(),
        title: Some("Weight".to_owned()),
        date: format_date(today(app, actor.household_id).await?),
        weight_kg: Some(weight_kg),
        ..RawRecord::default()
    };
    let content = RecordContent::parse(&raw, pet.profile.species, today(app, actor.household_id).await?)?;
    app.store.create_record(actor.household_id, pet.id, &content, actor.user_id(), app.now()).await?;
    Ok(())
}

/// A pet's vaccine series and its overall status, as of the household's today.
pub async fn vaccinations(
    app: &App,
    household_id: HouseholdId,
    pet: &Pet,
) -> Result<(VaccineStatus, Vec<SeriesStatus>), StoreError> {
    let records = app.store.records_of_kind(household_id, Some(pet.id), RecordKind::Vaccination).await?;
    let series = vaccine_statuses(&records, pet.profile.date_of_birth, today(app, household_id).await?);
    Ok((overall_status(&series), series))
}

/// Every pet's overall vaccine status, for the household list (one query for all pets).
pub async fn household_vaccine_statuses(
    app: &App,
    household_id: HouseholdId,
    pets: &[Pet],
) -> Result<std::collections::HashMap<PetId, VaccineStatus>, StoreError> {
    let records = app.store.records_of_kind(household_id, None, RecordKind::Vaccination).await?;
    let today = today(app, household_id).await?;
    Ok(pets
        .iter()
        .map(|pet| {
            let own: Vec<Record> = records.iter().filter(|r| r.pet_id == pet.id).cloned().collect();
            (pet.id, overall_status(&vaccine_statuses(&own, pet.profile.date_of_birth, today)))
        })
        .collect())
}

/// The hour (local) a vaccination reminder comes, and how many days before the due date.
const VACCINE_REMINDER_HOUR: u8 = 9;
const VACCINE_REMINDER_DAYS_BEFORE: i64 = 14;

/// Keeps one pending reminder per vaccine series of the pet, 14 days before its due date at
/// 09:00 in the household's time zone; a newer dose moves it, a series with no dose left loses it.
pub async fn sync_vaccine_reminders(app: &App, pet: &Pet) -> Result<(), CareError> {
    let household = pet.household_id;
    let zone = app.store.household_zone(household).await?;
    let (_, series) = vaccinations(app, household, pet).await?;
    let now = app.now();
    let pending = app.store.pending_reminders(household).await?;
    for s in &series {
        let Some(anchor) =
            LocalTime::from_parts(s.due - Duration::days(VACCINE_REMINDER_DAYS_BEFORE), VACCINE_REMINDER_HOUR, 0)
        else {
            continue;
        };
        let content = ReminderContent {
            pet_id: Some(pet.id),
            title: format!("{} vaccination due – {}", s.label, pet.profile.name),
            description: Some(format!(
                "The last dose was on {}; the next is due on {}.",
                format_date(s.last_dose),
                format_date(s.due)
            )),
            schedule: Schedule { anchor, zone: zone.clone(), repeat: None, ends_at: None },
            methods: vec![Method::Push, Method::Email],
        };
        match app.store.series_reminder(household, pet.id, &s.series).await? {
            Some(mut existing)
                if existing.content.schedule.anchor != anchor || existing.content.title != content.title =>
            {
                let due = content.schedule.first().unwrap_or(existing.due_at);
                existing.content = content;
                existing.due_at = due;
                existing.completed_at = None;
                existing.snoozed_until = None;
                existing.notified_upto = if due < now { due } else { due - Duration::milliseconds(1) };
                app.store.save_reminder(&existing, now).await?;
            }
            Some(_) => {}
            None => {
                let new = NewReminder {
                    household_id: household,
                    content,
                    source: Source::Vaccination,
                    series: Some(s.series.clone()),
                    external_uid: None,
                    created_by: None,
                };
                app.store.create_reminder(&new, now).await?;
            }
        }
    }
    // A series whose doses were all deleted keeps no reminder.
    for r in &pending {
        if r.content.pet_id == Some(pet.id)
            && let Some(series_key) = &r.series
            && !series.iter().any(|s| &s.series == series_key)
        {
            app.store.delete_reminder(household, r.id).await?;
        }
    }
    Ok(())
}

/// Writes a reminder. Its time zone defaults to the author's (or the household's, for a key).
pub async fn create_reminder(app: &App, actor: &Actor, raw: &RawReminder) -> Result<Reminder, CareError> {
    let zone = default_zone(app, actor).await?;
    let content = ReminderContent::parse(raw, &zone)?;
    let new = NewReminder {
        household_id: actor.household_id,
        content,
        source: Source::User,
        series: None,
        external_uid: None,
        created_by: actor.user_id(),
    };
    let reminder = app.store.create_reminder(&new, app.now()).await.map_err(missing("pet"))?;
    audit(app, actor, "create", "reminder", reminder.id).await?;
    Ok(reminder)
}

/// The zone a new reminder of `actor` is in unless it says otherwise.
pub async fn default_zone(app: &App, actor: &Actor) -> Result<Zone, StoreError> {
    match actor.user_id() {
        Some(user) => app.store.user_zone(user).await,
        None => app.store.household_zone(actor.household_id).await,
    }
}

/// Changes a reminder: `change` edits its raw form. A new time or repeat starts the schedule
/// again from the new first occurrence.
pub async fn update_reminder(
    app: &App,
    actor: &Actor,
    id: Uuid,
    change: impl FnOnce(&mut RawReminder),
) -> Result<Reminder, CareError> {
    let mut r = app.store.get_reminder(actor.household_id, id).await.map_err(missing("reminder"))?;
    let mut raw = to_raw(&r.content);
    change(&mut raw);
    let content = ReminderContent::parse(&raw, &r.content.schedule.zone)?;
    let now = app.now();
    if content.schedule != r.content.schedule {
        let first = content.schedule.first().ok_or_else(|| {
            Invalid::one("ends_at", "out_of_range", "ends_at must not be before the first occurrence")
        })?;
        r.due_at = first;
        r.completed_at = None;
        r.notified_upto = if first < now { first } else { first - Duration::milliseconds(1) };
    }
    r.content = content;
    let saved = app.store.save_reminder(&r, now).await.map_err(missing("pet"))?;
    audit(app, actor, "update", "reminder", saved.id).await?;
    Ok(saved)
}

/// The raw form of stored content, for a change that keeps what it does not name.
pub fn to_raw(c: &ReminderContent) -> RawReminder {
    RawReminder {
        pet_id: c.pet_id,
        title: c.title.clone(),
        description: c.description.clone(),
        at: c.schedule.anchor.to_string(),
        timezone: Some(c.schedule.zone.name().to_owned()),
        repeat: c.schedule.repeat.map(|r| r.as_str().to_owned()),
        ends_at: c.schedule.ends_at.and_then(|e| crate::rfc3339::from_ms(petty_store::to_ms(e))),
        methods: Some(c.methods.iter().map(|m| m.as_str().to_owned()).collect()),
    }
}

/// What can be done to a reminder's current occurrence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Complete,
    Skip,
    Snooze { until: OffsetDateTime },
}

pub async fn act_on_reminder(app: &App, actor: &Actor, id: Uuid, action: Action) -> Result<Reminder, CareError> {
    let mut r = app.store.get_reminder(actor.household_id, id).await.map_err(missing("reminder"))?;
    let now = app.now();
    match action {
        Action::Complete if r.is_completed() => {}
        Action::Complete => r.complete(now),
        Action::Skip if r.is_completed() => {
            return Err(Invalid::one("reminder", "completed", "a completed reminder cannot be skipped").into());
        }
        Action::Skip => r.skip(now),
        Action::Snooze { until } => r.snooze(until, now)?,
    }
    let saved = app.store.save_reminder(&r, now).await.map_err(missing("reminder"))?;
    let verb = match action {
        Action::Complete => "complete",
        Action::Skip => "skip",
        Action::Snooze { .. } => "snooze",
    };
    audit(app, actor, verb, "reminder", saved.id).await?;
    Ok(saved)
}

pub async fn delete_reminder(app: &App, actor: &Actor, id: Uuid) -> Result<(), CareError> {
    app.store.delete_reminder(actor.household_id, id).await.map_err(missing("reminder"))?;
    audit(app, actor, "delete", "reminder", id).await?;
    Ok(())
}

/// Who can see reminders (and is told of them): every role but the vet's.
pub fn sees_reminders(role: Role) -> bool {
    role != Role::Vet
}

/// How long the reminder job holds a claim.
const REMINDER_LEASE: Duration = Duration::seconds(60);

/// The reminder job's pass: every reminder whose time has come is claimed (once across nodes),
/// its due occurrence told of through each of its methods, and let go. Answers how many were
/// told of.
pub async fn notify_due_reminders(app: &App, now: OffsetDateTime) -> Result<usize, StoreError> {
    let now_ms = petty_store::to_ms(now);
    let lease_until = petty_store::to_ms(now + REMINDER_LEASE);
    let mut told = 0;
    loop {
        let claimed = app.store.claim_due_reminders(now_ms, lease_until, 50).await?;
        if claimed.is_empty() {
            break;
        }
        for mut reminder in claimed {
            if let Some(notice) = reminder.due_notice(now) {
                tell(app, &reminder, notice, now_ms).await?;
                told += 1;
            }
            app.store.release_reminder(&reminder).await?;
        }
    }
    if told > 0 {
        app.wake.outbox.notify_one();
    }
    Ok(told)
}

/// One telling: an outbox row per mailbox and phone (keyed by reminder and occurrence, so a
/// pass repeated after a crash queues nothing twice), and a live event.
async fn tell(app: &App, r: &Reminder, notice: Notice, now_ms: i64) -> Result<(), StoreError> {
    let pet = match r.content.pet_id {
        Some(pet_id) => app.store.get_pet(r.household_id, pet_id).await.ok(),
        None => None,
    };
    let pet_name = pet.as_ref().map(|p| p.profile.name.clone());
    let local = r.content.schedule.zone.local_at(notice.occurrence);
    let when = format!(
        "{} {:02}:{:02} ({})",
        local.date().map(format_date).unwrap_or_default(),
        local.hour(),
        local.minute(),
        r.content.schedule.zone.name()
    );
    let subject = match &pet_name {
        Some(name) if !r.content.title.contains(name.as_str()) => format!("Reminder: {} – {name}", r.content.title),
        _ => format!("Reminder: {}", r.content.title),
    };
    let body = format!(
        "{subject}\n\nDue {when}.\n{}\n\nMark it done, snooze or skip it on the Reminders page of your Petty dashboard.\n",
        r.content.description.as_deref().unwrap_or("")
    );
    let key = format!(
        "reminder:{}:{}{}",
        r.id,
        petty_store::to_ms(notice.occurrence),
        if notice.snoozed { ":snoozed" } else { "" }
    );
    if r.content.methods.contains(&Method::Email) {
        for (i, email) in email_recipients(app, r).await?.into_iter().enumerate() {
            let n = NewNotification {
                household_id: r.household_id,
                idem_key: format!("{key}:email:{i}"),
                alarm_id: None,
                contact_id: None,
                channel: Channel::Email,
                recipient: email,
                subject: subject.clone(),
                body: body.clone(),
                payload: String::new(),
                not_before_ms: now_ms,
            };
            app.store.enqueue_notification(&n, now_ms).await?;
        }
    }
    if r.content.methods.contains(&Method::Sms) {
        for contact in app.store.contacts(r.household_id).await? {
            let Some(phone) = contact.phone.clone() else { continue };
            let n = NewNotification {
                household_id: r.household_id,
                idem_key: format!("{key}:sms:{}", contact.id),
                alarm_id: None,
                contact_id: Some(contact.id),
                channel: Channel::Sms,
                recipient: phone,
                subject: String::new(),
                body: format!("Petty: {subject}, due {when}."),
                payload: String::new(),
                not_before_ms: now_ms,
            };
            app.store.enqueue_notification(&n, now_ms).await?;
        }
    }
    // In the app: everyone watching the household hears of it at once.
    let event = serde_json::json!({
        "type": "reminder.due",
        "reminder": ReminderOut::new(r, pet_name.as_deref(), crate::rfc3339::from_ms(petty_store::to_ms(r.due_at))),
        "occurrence": crate::rfc3339::from_ms(petty_store::to_ms(notice.occurrence)),
    });
    app.bus.publish(petty_bus::Topic::HouseholdAlarms(r.household_id), event.to_string().into()).await;
    // And to the webhooks that asked for it (the Pet Management profile's `reminder.due`).
    let occurrence =
        crate::rfc3339::from_ms(petty_store::to_ms(notice.occurrence) / 1000 * 1000).map(|t| t.replace(".000Z", "Z"));
    let data = serde_json::json!({
        "id": r.id, "petId": r.content.pet_id.map(|p| p.0), "petName": pet_name, "title": r.content.title,
        "description": r.content.description, "reminderDate": occurrence, "timezone": r.content.schedule.zone.name(),
    });
    crate::notify::household_event(app, r.household_id, "reminder.due", data).await;
    metrics::counter!("petty_reminders_told_total").increment(1);
    Ok(())
}

/// The addresses a reminder's mail goes to: its author, or the household's owners when a key
/// wrote it or Petty keeps it.
async fn email_recipients(app: &App, r: &Reminder) -> Result<Vec<String>, StoreError> {
    if let Some(user) = r.created_by
        && let Ok(u) = app.store.get_user(user).await
    {
        return Ok(vec![u.email]);
    }
    let members = app.store.list_members(r.household_id).await?;
    Ok(members.into_iter().filter(|m| m.role == Role::Owner).map(|m| m.user.email).collect())
}

/// A reminder as the API and live events show it.
#[derive(Serialize, ToSchema, Debug, Clone, PartialEq)]
pub struct ReminderOut {
    pub id: Uuid,
    pub pet_id: Option<Uuid>,
    pub pet_name: Option<String>,
    pub title: String,
    pub description: Option<String>,
    /// The occurrence waiting to be done (RFC 3339, UTC).
    pub due_at: Option<String>,
    /// The first occurrence's local wall time in `timezone` (`YYYY-MM-DDTHH:MM:SS`).
    pub starts_local: String,
    /// The IANA time zone its times are kept in.
    pub timezone: String,
    /// daily, weekly, monthly, yearly, or null for a one-off.
    pub repeat: Option<&'static str>,
    pub ends_at: Option<String>,
    /// push, email, sms.
    pub methods: Vec<&'static str>,
    /// pending, overdue or completed.
    pub status: &'static str,
    pub completed_at: Option<String>,
    pub last_completed_at: Option<String>,
    pub completed_count: i64,
    pub snoozed_until: Option<String>,
    /// user, vaccination or import.
    pub source: &'static str,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
}

impl ReminderOut {
    pub fn new(r: &Reminder, pet_name: Option<&str>, due_at: Option<String>) -> Self {
        Self::at(r, pet_name, due_at, OffsetDateTime::now_utc())
    }

    pub fn at(r: &Reminder, pet_name: Option<&str>, due_at: Option<String>, now: OffsetDateTime) -> Self {
        let ts = |t: Option<OffsetDateTime>| t.and_then(|t| crate::rfc3339::from_ms(petty_store::to_ms(t)));
        Self {
            id: r.id,
            pet_id: r.content.pet_id.map(|p| p.0),
            pet_name: pet_name.map(str::to_owned),
            title: r.content.title.clone(),
            description: r.content.description.clone(),
            due_at,
            starts_local: r.content.schedule.anchor.to_string(),
            timezone: r.content.schedule.zone.name().to_owned(),
            repeat: r.content.schedule.repeat.map(|x| x.as_str()),
            ends_at: ts(r.content.schedule.ends_at),
            methods: r.content.methods.iter().map(|m| m.as_str()).collect(),
            status: if r.is_completed() {
                "completed"
            } else if r.is_overdue(now) {
                "overdue"
            } else {
                "pending"
            },
            completed_at: ts(r.completed_at),
            last_completed_at: ts(r.last_completed_at),
            completed_count: r.completed_count,
            snoozed_until: ts(r.snoozed_until),
            source: r.source.as_str(),
            created_at: ts(Some(r.created_at)),
            updated_at: ts(Some(r.updated_at)),
        }
    }
}

/// A field that names a pet of another household, or none: one error for every edge.
pub fn unknown_pet(field: &str) -> FieldError {
    FieldError::new(field, "not_found", format!("{field} names no pet of this household"))
}

/// Whether `actor` sees this pet (its existence in the household is the caller's to check).
/// Read from the store on every call, so that taking a pet back from a vet takes effect at once.
pub async fn sees_pet(app: &App, actor: &Actor, pet: PetId) -> Result<bool, StoreError> {
    match actor.sees_only_shared_pets() {
        Some(vet) => app.store.is_shared_with_vet(actor.household_id, vet, pet).await,
        None => Ok(true),
    }
}

/// Shares exactly `pets` with a vet of the household (an empty list takes every pet back). A
/// member of any other role already sees every pet, so naming one is an error.
pub async fn share_with_vet(app: &App, actor: &Actor, vet: UserId, pets: &[PetId]) -> Result<Vec<PetId>, CareError> {
    let household = actor.household_id;
    let member = app.store.active_membership(vet, household, app.now()).await?.ok_or(CareError::NotFound("member"))?;
    if member.role.sees_every_pet() {
        return Err(Invalid::one(
            "user_id",
            "vet_only",
            format!("pets are shared with vets; a {} already sees every pet of the household", member.role),
        )
        .into());
    }
    if pets.len() > SHARED_PETS_MAX {
        return Err(Invalid::one("pet_ids", "max_items", format!("at most {SHARED_PETS_MAX} pets")).into());
    }
    match app.store.set_vet_shared_pets(household, vet, pets, app.now()).await {
        Err(StoreError::Conflict(_)) => return Err(Invalid(vec![unknown_pet("pet_ids")]).into()),
        Err(StoreError::NotFound) => return Err(CareError::NotFound("member")),
        other => other?,
    }
    let detail = serde_json::json!({"pet_ids": pets.iter().map(|p| p.to_string()).collect::<Vec<_>>()});
    let who = crate::audit::Who::actor(actor, None);
    crate::audit::record(app, &who, "share", "vet_access", vet, &detail).await?;
    Ok(app.store.vet_shared_pets(household, vet).await?)
}

/// The most pets one vet may be given at once.
pub const SHARED_PETS_MAX: usize = 500;
