//! `/reminders`: Petty's reminders in the contract's shape. Recurrence, completing (a repeating
//! reminder moves to its next occurrence after now, missed ones skipped) and telling each
//! occurrence are Petty's (`petty_core::recurrence`, `petty_app::care`).

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use petty_core::ids::PetId;
use petty_core::pets::Pet;
use petty_core::recurrence::{Repeat, Zone};
use petty_core::reminders::{Method, RawReminder, Reminder, Source, StatusFilter, parse_when};
use petty_http::AppState;
use petty_store::ReminderFilter;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::wire::{Body, Check, messages, page_request, paging, param, path_id, query};
use super::{Action, Answer, Detail, Fail, Member, ok, pagination, require, ts};

/// The reminder as the contract shows it; `at` is the occurrence to show (its current one
/// unless listing upcoming occurrences).
pub(super) fn reminder_json(r: &Reminder, pet_name: Option<&str>, at: OffsetDateTime) -> Value {
    json!({
        "id": r.id,
        "petId": r.content.pet_id.map(|p| p.0),
        "petName": pet_name,
        "title": r.content.title,
        "description": r.content.description,
        "reminderDate": ts(at),
        "repeatInterval": r.content.schedule.repeat.map(Repeat::as_str),
        "notificationMethods": r.content.methods.iter().map(|m| m.as_str()).collect::<Vec<_>>(),
        "isCompleted": r.is_completed(),
        "completedAt": r.completed_at.map(ts),
        "lastCompletedAt": r.last_completed_at.map(ts),
        "completedCount": r.completed_count,
        "endsAt": r.content.schedule.ends_at.map(ts),
        "timezone": r.content.schedule.zone.name(),
        "source": match r.source {
            Source::Vaccination => "vaccination",
            _ => "user",
        },
        "createdAt": ts(r.created_at),
        "updatedAt": ts(r.updated_at),
    })
}

/// The names of the pets these reminders are for.
async fn pet_names(state: &AppState, member: &Member, reminders: &[&Reminder]) -> HashMap<PetId, String> {
    let mut names = HashMap::new();
    for pet_id in reminders.iter().filter_map(|r| r.content.pet_id) {
        if let std::collections::hash_map::Entry::Vacant(slot) = names.entry(pet_id)
            && let Ok(pet) = state.store.get_pet(member.household(), pet_id).await
        {
            slot.insert(pet.profile.name.clone());
        }
    }
    names
}

async fn one(state: &AppState, member: &Member, r: &Reminder) -> Value {
    let names = pet_names(state, member, &[r]).await;
    reminder_json(r, r.content.pet_id.and_then(|p| names.get(&p)).map(String::as_str), r.due_at)
}

/// The pet's next `n` pending occurrences, over all its reminders, soonest first.
pub(super) async fn upcoming_for_pet(
    state: &AppState,
    member: &Member,
    pet: &Pet,
    n: usize,
) -> Result<Vec<Value>, Fail> {
    let pending = state.store.pending_reminders(member.household()).await.map_err(Fail::store)?;
    let mut next: Vec<(OffsetDateTime, &Reminder)> = Vec::new();
    for r in pending.iter().filter(|r| r.content.pet_id == Some(pet.id)) {
        next.extend(r.content.schedule.forward_from(r.due_at).take(n).map(|t| (t, r)));
    }
    next.sort_by_key(|(t, r)| (*t, r.id));
    Ok(next.into_iter().take(n).map(|(t, r)| reminder_json(r, Some(&pet.profile.name), t)).collect())
}

/// A reminder date: an ISO 8601 date-time, local to `zone` without an offset.
fn when(check: &mut Check<'_>, field: &str, message: &str, zone: &Zone) -> Option<Option<String>> {
    match check.text(field, 40, false, Some(message)) {
        Some(Some(text)) => match parse_when(field, &text, zone) {
            Ok(_) => Some(Some(text)),
            Err(_) => {
                check.fail(field, message);
                None
            }
        },
        other => other,
    }
}

/// Checks a reminder body by the contract's rules into `raw`; `update` leaves absent fields
/// alone. Answers `isCompleted`.
async fn check_reminder(
    state: &AppState,
    member: &Member,
    body: &Body,
    raw: &mut RawReminder,
    update: bool,
) -> Result<Option<bool>, Fail> {
    let zone = petty_app::care::default_zone(&state.app, &member.0).await.map_err(Fail::store)?;
    let zone = match &raw.timezone {
        Some(name) if update => Zone::parse("timezone", name).unwrap_or(zone),
        _ => zone,
    };
    let mut c = Check::new(body);
    let present = |name: &str| !update || body.has(name);
    let pet_message = "petId must be the id of one of your pets";
    if present("petId") {
        match c.text("petId", 36, false, Some(pet_message)) {
            Some(Some(id)) => match id.parse::<uuid::Uuid>() {
                Ok(id) if state.store.get_pet(member.household(), PetId(id)).await.is_ok() => {
                    raw.pet_id = Some(PetId(id))
                }
                _ => c.fail("petId", pet_message),
            },
            Some(None) => raw.pet_id = None,
            None => {}
        }
    }
    if present("title")
        && let Some(Some(title)) = c.text("title", petty_core::reminders::TITLE_MAX, true, None)
    {
        raw.title = title;
    }
    if present("description")
        && let Some(d) = c.text("description", petty_core::reminders::DESCRIPTION_MAX, false, None)
    {
        raw.description = d;
    }
    if present("reminderDate") {
        match when(&mut c, "reminderDate", messages::REMINDER_DATE, &zone) {
            Some(Some(at)) => raw.at = at,
            Some(None) => c.fail("reminderDate", messages::REMINDER_DATE),
            None => {}
        }
    }
    if present("repeatInterval") {
        match c.text("repeatInterval", 10, false, Some(messages::REPEAT)) {
            Some(Some(r)) if r.parse::<Repeat>().is_ok() => raw.repeat = Some(r.to_lowercase()),
            Some(Some(_)) => c.fail("repeatInterval", messages::REPEAT),
            Some(None) => raw.repeat = None,
            None => {}
        }
    }
    match body.get("notificationMethods") {
        None => {}
        Some(Value::Null) if !update => {}
        Some(Value::Null) => c.fail("notificationMethods", messages::METHODS),
        Some(Value::Array(items)) => {
            let methods: Option<Vec<String>> = items
                .iter()
                .map(|m| m.as_str().filter(|m| m.parse::<Method>().is_ok()).map(str::to_lowercase))
                .collect();
            match methods {
                Some(m) if !m.is_empty() => raw.methods = Some(m),
                _ => c.fail("notificationMethods", messages::METHODS),
            }
        }
        Some(_) => c.fail("notificationMethods", messages::METHODS),
    }
    if present("endsAt") {
        if let Some(e) = when(&mut c, "endsAt", "endsAt must be an ISO 8601 date-time", &zone) {
            raw.ends_at = e;
        }
    }
    let completed = c.boolean("isCompleted").flatten();
    c.finish()?;
    Ok(completed)
}

/// `GET /reminders?page&limit&status&petId&from&to`, by reminder date.
pub(super) async fn list(State(state): State<AppState>, member: Member, uri: Uri) -> Answer {
    require(&member.0, Action::ReadReminders)?;
    let q = query(&uri)?;
    let mut details: Vec<Detail> = Vec::new();
    let (page, limit) = paging(&q, &mut details);
    let mut filter = ReminderFilter::default();
    if let Some(s) = param(&q, "status") {
        match s.parse::<StatusFilter>() {
            Ok(s) => filter.status = s,
            Err(_) => details.push(Detail {
                field: "status".into(),
                message: "status must be one of: pending, overdue, completed, all".into(),
            }),
        }
    }
    if let Some(p) = param(&q, "petId") {
        match p.parse::<uuid::Uuid>() {
            Ok(id) => filter.pet_id = Some(PetId(id)),
            Err(_) => details.push(Detail { field: "petId".into(), message: "petId must be a pet's id".into() }),
        }
    }
    let zone = petty_app::care::default_zone(&state.app, &member.0).await.map_err(Fail::store)?;
    for name in ["from", "to"] {
        if let Some(text) = param(&q, name) {
            // A date alone is that day's start in the caller's zone.
            let text = if text.len() == 10 { format!("{text}T00:00:00") } else { text.to_owned() };
            match parse_when(name, &text, &zone).ok().and_then(|local| zone.instant_of(local)) {
                Some(at) if name == "from" => filter.from = Some(at),
                Some(at) => filter.to = Some(at),
                None => details
                    .push(Detail { field: name.into(), message: format!("{name} must be an ISO 8601 date-time") }),
            }
        }
    }
    if !details.is_empty() {
        return Err(Fail::validation(details));
    }
    let reminders = state
        .store
        .list_reminders(member.household(), &filter, state.app.now(), page_request(page, limit))
        .await
        .map_err(Fail::store)?;
    let refs: Vec<&Reminder> = reminders.items.iter().collect();
    let names = pet_names(&state, &member, &refs).await;
    let items: Vec<Value> = reminders
        .items
        .iter()
        .map(|r| reminder_json(r, r.content.pet_id.and_then(|p| names.get(&p)).map(String::as_str), r.due_at))
        .collect();
    Ok(ok(StatusCode::OK, json!({"reminders": items, "pagination": pagination(page, limit, reminders.total)})))
}

/// `POST /reminders`: in the caller's time zone unless `reminderDate` has an offset.
pub(super) async fn create(State(state): State<AppState>, member: Member, bytes: Bytes) -> Answer {
    require(&member.0, Action::Write)?;
    let body = Body::parse(&bytes)?;
    let mut raw = RawReminder::default();
    check_reminder(&state, &member, &body, &mut raw, false).await?;
    let reminder = petty_app::care::create_reminder(&state.app, &member.0, &raw).await.map_err(Fail::care)?;
    let out = one(&state, &member, &reminder).await;
    petty_app::notify::household_event(&state.app, member.household(), "reminder.created", out.clone()).await;
    Ok(ok(StatusCode::CREATED, out))
}

async fn reminder_of(state: &AppState, member: &Member, id: &str) -> Result<Reminder, Fail> {
    let id = path_id(id, "Reminder not found")?;
    state.store.get_reminder(member.household(), id).await.map_err(Fail::store_or("Reminder not found"))
}

async fn completed(state: &AppState, member: &Member, id: uuid::Uuid) -> Answer {
    let r = petty_app::care::act_on_reminder(&state.app, &member.0, id, petty_app::care::Action::Complete)
        .await
        .map_err(Fail::care)?;
    let out = one(state, member, &r).await;
    petty_app::notify::household_event(&state.app, member.household(), "reminder.completed", out.clone()).await;
    Ok(ok(StatusCode::OK, out))
}

/// `PUT /reminders/:id`: the fields present change; `isCompleted: true` completes it (a
/// body with nothing else needs only the right to complete).
pub(super) async fn update(
    State(state): State<AppState>,
    member: Member,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Answer {
    let body = Body::parse(&bytes)?;
    let only_completing =
        ["petId", "title", "description", "reminderDate", "repeatInterval", "notificationMethods", "endsAt"]
            .iter()
            .all(|f| !body.has(f));
    require(&member.0, if only_completing { Action::Complete } else { Action::Write })?;
    let current = reminder_of(&state, &member, &id).await?;
    let mut raw = petty_app::care::to_raw(&current.content);
    let complete = check_reminder(&state, &member, &body, &mut raw, true).await?;
    let reminder = if only_completing {
        current
    } else {
        petty_app::care::update_reminder(&state.app, &member.0, current.id, |stored| *stored = raw)
            .await
            .map_err(Fail::care)?
    };
    if complete == Some(true) && !reminder.is_completed() {
        return completed(&state, &member, reminder.id).await;
    }
    Ok(ok(StatusCode::OK, one(&state, &member, &reminder).await))
}

/// `POST /reminders/:id/complete`.
pub(super) async fn complete(State(state): State<AppState>, member: Member, Path(id): Path<String>) -> Answer {
    require(&member.0, Action::Complete)?;
    let current = reminder_of(&state, &member, &id).await?;
    completed(&state, &member, current.id).await
}

/// `DELETE /reminders/:id`.
pub(super) async fn delete(State(state): State<AppState>, member: Member, Path(id): Path<String>) -> Answer {
    require(&member.0, Action::Write)?;
    let current = reminder_of(&state, &member, &id).await?;
    petty_app::care::delete_reminder(&state.app, &member.0, current.id).await.map_err(Fail::care)?;
    Ok(ok(StatusCode::OK, json!({"id": current.id, "deleted": true})))
}
