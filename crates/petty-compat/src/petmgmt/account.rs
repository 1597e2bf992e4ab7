//! What an owner manages: the subscription (and the limits of its tier), the Stripe webhook,
//! outgoing webhooks, and the person's data: export and account deletion.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use petty_core::ids::{HouseholdId, WebhookId};
use petty_http::AppState;
use petty_notify::outbound::Refused;
use petty_store::Webhook;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::limits::Tier;
use super::wire::{Body, Check, page_request, paging, path_id, query};
use super::{Action, Answer, Detail, Fail, Member, ok, pagination, require, ts};

/// The events an outgoing webhook may ask for.
pub(super) const EVENTS: [&str; 13] = [
    "pet.created",
    "pet.updated",
    "pet.deleted",
    "health_record.created",
    "health_record.updated",
    "reminder.created",
    "reminder.due",
    "reminder.completed",
    "subscription.updated",
    "subscription.cancelled",
    "payment.succeeded",
    "payment.failed",
    "*",
];

/// The household's effective tier: every household is `enterprise` while billing is off.
pub(super) async fn tier_of(_state: &AppState, _household_id: HouseholdId) -> Tier {
    Tier::Enterprise
}

/// 403 when the household's plan allows no more pets.
pub(super) async fn check_pet_limit(_state: &AppState, _household_id: HouseholdId) -> Result<(), Fail> {
    Ok(())
}

/// 403 when the household's plan allows no more health records.
pub(super) async fn check_record_limit(_state: &AppState, _household_id: HouseholdId) -> Result<(), Fail> {
    Ok(())
}

/// 403 when the household's plan has no calendar feed.
pub(super) async fn check_calendar(_state: &AppState, _household_id: HouseholdId) -> Result<(), Fail> {
    Ok(())
}

fn billing_disabled() -> Fail {
    Fail::new(StatusCode::CONFLICT, "BILLING_DISABLED", "Billing is not enabled on this server")
}

/// `GET /subscription/status` (owner).
pub(super) async fn subscription_status(State(state): State<AppState>, member: Member) -> Answer {
    require(&member.0, Action::Own)?;
    let household = member.household();
    let pets =
        state.store.list_pets(household, &Default::default(), page_request(1, 1)).await.map_err(Fail::store)?.total;
    let records = state.store.count_records(household).await.map_err(Fail::store)?;
    Ok(ok(
        StatusCode::OK,
        json!({
            "subscriptionTier": tier_of(&state, household).await.as_str(),
            "status": "active",
            "currentPeriodStart": null,
            "currentPeriodEnd": null,
            "cancelAtPeriodEnd": false,
            "features": {
                "maxPets": "unlimited",
                "maxHealthRecords": "unlimited",
                "calendarSync": true,
                "prioritySupport": true,
                "advancedReports": true,
            },
            "usage": {"petsCount": pets, "healthRecordsCount": records, "storageUsedMB": 0},
        }),
    ))
}

/// `POST /subscription/upgrade` (owner).
pub(super) async fn upgrade(State(_state): State<AppState>, member: Member, _bytes: Bytes) -> Answer {
    require(&member.0, Action::Own)?;
    Err(billing_disabled())
}

/// `POST /subscription/cancel` (owner).
pub(super) async fn cancel(State(_state): State<AppState>, member: Member, _bytes: Bytes) -> Answer {
    require(&member.0, Action::Own)?;
    Err(billing_disabled())
}

/// `POST /billing/stripe/webhook`: Stripe's events, signed.
pub(super) async fn stripe_webhook(State(_state): State<AppState>, _bytes: Bytes) -> Answer {
    Err(billing_disabled())
}

fn webhook_json(w: &Webhook, secret: bool) -> Value {
    let events: Vec<&str> = w.events.as_deref().unwrap_or("").split(',').filter(|e| !e.is_empty()).collect();
    let mut out = json!({"id": w.id.0, "url": w.url, "events": events, "createdAt": ts(w.created_at)});
    if secret {
        out["secret"] = json!(w.secret);
    }
    out
}

/// `POST /webhooks` `{url, events}` (owner) → the webhook with its secret, shown this once.
pub(super) async fn create_webhook(State(state): State<AppState>, member: Member, bytes: Bytes) -> Answer {
    require(&member.0, Action::Own)?;
    let body = Body::parse(&bytes)?;
    let mut c = Check::new(&body);
    let url = c.text("url", 2048, true, Some("url must be an https or http URL")).flatten();
    let events_message = format!("events must be a non-empty list of: {}", EVENTS[..EVENTS.len() - 1].join(", "));
    let events: Option<Vec<String>> = match body.get("events") {
        Some(Value::Array(items)) if !items.is_empty() => items
            .iter()
            .map(|e| e.as_str().filter(|e| EVENTS.contains(e)).map(str::to_owned))
            .collect::<Option<Vec<_>>>(),
        _ => None,
    };
    if events.is_none() {
        c.fail("events", &events_message);
    }
    // The outbound policy decides where a webhook may go, here and again at every delivery.
    let policy = &state.app.notifier.config().outbound;
    let checked = match &url {
        Some(u) => match policy.check_form(u) {
            Ok(checked) => Some(checked),
            Err(e) => {
                c.fail("url", refusal(&e));
                None
            }
        },
        None => None,
    };
    c.finish()?;
    let (Some(checked), Some(mut events)) = (checked, events) else { return Err(Fail::internal("fields missing")) };
    policy.resolve(&checked).await.map_err(|e| Fail::field("url", refusal(&e)))?;
    if events.iter().any(|e| e == "*") {
        events = EVENTS[..EVENTS.len() - 1].iter().map(|e| (*e).to_owned()).collect();
    }
    events.sort();
    events.dedup();
    let names: Vec<&str> = events.iter().map(String::as_str).collect();
    let (secret, _) = petty_app::secrets::new_secret("whsec_");
    let hook = state
        .store
        .create_event_webhook(member.household(), checked.as_str(), &secret, &names, OffsetDateTime::now_utc())
        .await
        .map_err(Fail::store)?;
    Ok(ok(StatusCode::CREATED, webhook_json(&hook, true)))
}

fn refusal(e: &Refused) -> String {
    format!("url {e}")
}

/// `GET /webhooks` (owner): the profile's webhooks, without their secrets.
pub(super) async fn list_webhooks(State(state): State<AppState>, member: Member, uri: Uri) -> Answer {
    require(&member.0, Action::Own)?;
    let q = query(&uri)?;
    let mut details: Vec<Detail> = Vec::new();
    let (page, limit) = paging(&q, &mut details);
    if !details.is_empty() {
        return Err(Fail::validation(details));
    }
    let hooks: Vec<Webhook> = state
        .store
        .webhooks(member.household())
        .await
        .map_err(Fail::store)?
        .into_iter()
        .filter(|h| h.events.is_some())
        .collect();
    let total = hooks.len() as u64;
    let start = ((page - 1) as usize).saturating_mul(limit as usize);
    let items: Vec<Value> = hooks.iter().skip(start).take(limit as usize).map(|h| webhook_json(h, false)).collect();
    Ok(ok(StatusCode::OK, json!({"webhooks": items, "pagination": pagination(page, limit, total)})))
}

/// `DELETE /webhooks/:id` (owner).
pub(super) async fn delete_webhook(State(state): State<AppState>, member: Member, Path(id): Path<String>) -> Answer {
    require(&member.0, Action::Own)?;
    let id = path_id(&id, "Webhook not found")?;
    state
        .store
        .delete_event_webhook(member.household(), WebhookId(id))
        .await
        .map_err(Fail::store_or("Webhook not found"))?;
    Ok(ok(StatusCode::OK, json!({"id": id, "deleted": true})))
}

fn not_yet(what: &str) -> Fail {
    Fail::new(
        StatusCode::NOT_IMPLEMENTED,
        "NOT_IMPLEMENTED",
        format!("{what} is not available on this server yet; Petty's own export and account deletion are on their way"),
    )
}

/// `GET /users/export`.
pub(super) async fn export(State(_state): State<AppState>, member: Member) -> Answer {
    member.user()?;
    Err(not_yet("The data export"))
}

/// `DELETE /users/account`.
pub(super) async fn delete_account(State(_state): State<AppState>, member: Member, bytes: Bytes) -> Answer {
    member.user()?;
    let body = Body::parse(&bytes)?;
    let mut c = Check::new(&body);
    c.text("password", 256, true, None);
    c.finish()?;
    Err(not_yet("Deleting an account"))
}
