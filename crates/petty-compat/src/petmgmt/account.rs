//! What an owner manages: the subscription (and the limits of its tier), the Stripe webhook,
//! outgoing webhooks, and the person's data: export and account deletion.

use axum::body::Bytes;
use axum::extract::{Path, State};
use std::sync::Arc;

use axum::Extension;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use petty_app::privacy::PrivacyError;
use petty_core::ids::{HouseholdId, WebhookId};
use petty_http::AppState;
use petty_notify::outbound::Refused;
use petty_store::Webhook;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::wire::{Body, Check, paging, path_id, query};
use super::{Action, Answer, Detail, Fail, Member, ok, pagination, require, ts};
use petty_app::billing::{BillingError, Received, WebhookError};
use petty_core::billing::{Limited, Tier, Upgrade};

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

/// The household's effective tier (`enterprise` for everyone while billing is off). A store
/// failure counts as `free`, the smallest allowance.
pub(super) async fn tier_of(state: &AppState, household_id: HouseholdId) -> Tier {
    petty_app::billing::tier(&state.app, household_id).await.unwrap_or(Tier::Free)
}

/// A billing use case's refusal as the contract answers it.
pub(super) fn billing_error(e: BillingError) -> Fail {
    match e {
        BillingError::Disabled => {
            Fail::new(StatusCode::CONFLICT, "BILLING_DISABLED", "Billing is not enabled on this server")
        }
        BillingError::Invalid(invalid) => Fail::canonical(invalid),
        BillingError::Conflict(why) => Fail::conflict(&why),
        BillingError::PaymentFailed(message) => Fail::new(StatusCode::PAYMENT_REQUIRED, "PAYMENT_FAILED", message),
        BillingError::Provider => {
            Fail::new(StatusCode::BAD_GATEWAY, "PAYMENT_PROVIDER_ERROR", "Payment provider unavailable")
        }
        BillingError::LimitReached(limit) => Fail::forbidden(limit.to_string()),
        BillingError::Store(e) => Fail::store(e),
    }
}

/// 403 when the household's plan allows no more pets.
pub(super) async fn check_pet_limit(state: &AppState, household_id: HouseholdId) -> Result<(), Fail> {
    petty_app::billing::check_limit(&state.app, household_id, Limited::Pets).await.map_err(billing_error)
}

/// 403 when the household's plan has no calendar feed.
pub(super) async fn check_calendar(state: &AppState, household_id: HouseholdId) -> Result<(), Fail> {
    petty_app::billing::check_limit(&state.app, household_id, Limited::CalendarFeed).await.map_err(billing_error)
}

/// `"unlimited"` for no limit.
fn limit(n: Option<u64>) -> Value {
    n.map_or_else(|| json!("unlimited"), |n| json!(n))
}

async fn status_json(state: &AppState, household_id: HouseholdId) -> Result<Value, Fail> {
    let s = petty_app::billing::status(&state.app, household_id).await.map_err(Fail::store)?;
    Ok(json!({
        "subscriptionTier": s.tier.as_str(),
        "status": s.status.as_str(),
        "currentPeriodStart": s.current_period_start.map(ts),
        "currentPeriodEnd": s.current_period_end.map(ts),
        "cancelAtPeriodEnd": s.cancel_at_period_end,
        "features": {
            "maxPets": limit(s.limits.pets),
            "maxHealthRecords": limit(s.limits.health_records),
            "calendarSync": s.limits.calendar_feed,
            "prioritySupport": s.limits.priority_support,
            "advancedReports": s.limits.advanced_reports,
        },
        "usage": {
            "petsCount": s.usage.pets,
            "healthRecordsCount": s.usage.health_records,
            "storageUsedMB": (s.usage.storage_bytes as f64 / (1024.0 * 1024.0) * 100.0).round() / 100.0,
        },
    }))
}

/// `GET /subscription/status` (owner).
pub(super) async fn subscription_status(State(state): State<AppState>, member: Member) -> Answer {
    require(&member.0, Action::Own)?;
    Ok(ok(StatusCode::OK, status_json(&state, member.household()).await?))
}

/// `POST /subscription/upgrade` `{tier, billingPeriod, paymentMethodId}` (owner): Petty
/// subscribes the household through Stripe (`petty_app::billing::upgrade`).
pub(super) async fn upgrade(State(state): State<AppState>, member: Member, bytes: Bytes) -> Answer {
    require(&member.0, Action::Own)?;
    if !petty_app::billing::enabled(&state.app) {
        return Err(billing_error(BillingError::Disabled));
    }
    let body = Body::parse(&bytes)?;
    let mut c = Check::new(&body);
    let tier = c.text("tier", 20, true, Some("tier must be one of: premium, enterprise")).flatten();
    let period = c.text("billingPeriod", 20, true, Some("billingPeriod must be one of: monthly, yearly")).flatten();
    let method = c.text("paymentMethodId", 255, true, None).flatten();
    c.finish()?;
    let request = Upgrade::parse(
        tier.as_deref().unwrap_or_default(),
        period.as_deref().unwrap_or_default(),
        method.as_deref().unwrap_or_default(),
    )
    .map_err(Fail::canonical)?;
    let done = petty_app::billing::upgrade(&state.app, &member.0, &request).await.map_err(billing_error)?;
    Ok(ok(
        StatusCode::OK,
        json!({
            "subscriptionId": done.subscription_id,
            "status": done.status.as_str(),
            "tier": done.tier.as_str(),
            "nextBillingDate": done.next_billing_date.map(super::date),
            "amount": done.amount,
            "currency": done.currency,
        }),
    ))
}

/// `POST /subscription/cancel` `{atPeriodEnd}` (owner; at the period's end unless false).
pub(super) async fn cancel(State(state): State<AppState>, member: Member, bytes: Bytes) -> Answer {
    require(&member.0, Action::Own)?;
    let body = Body::parse(&bytes)?;
    let mut c = Check::new(&body);
    let at_end = c.boolean("atPeriodEnd").flatten().unwrap_or(true);
    c.finish()?;
    petty_app::billing::cancel(&state.app, &member.0, at_end).await.map_err(billing_error)?;
    Ok(ok(StatusCode::OK, status_json(&state, member.household()).await?))
}

/// `POST /billing/stripe/webhook`: Stripe's events, checked against `Stripe-Signature` and
/// applied once each (`petty_app::billing::webhook`).
pub(super) async fn stripe_webhook(State(state): State<AppState>, headers: HeaderMap, bytes: Bytes) -> Answer {
    let signature = headers.get("stripe-signature").and_then(|v| v.to_str().ok());
    match petty_app::billing::webhook(&state.app, &bytes, signature, state.app.now()).await {
        Ok(Received::Received) => Ok(ok(StatusCode::OK, json!({"received": true}))),
        Ok(Received::Duplicate) => Ok(ok(StatusCode::OK, json!({"received": true, "duplicate": true}))),
        Err(WebhookError::Disabled) => Err(billing_error(BillingError::Disabled)),
        Err(WebhookError::Signature(e)) => Err(Fail::new(StatusCode::BAD_REQUEST, "INVALID_SIGNATURE", e.message())),
        Err(WebhookError::Malformed(why)) => Err(Fail::field("body", why)),
        Err(WebhookError::Store(e)) => Err(Fail::store(e)),
    }
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

/// A step-up refusal (MFA on and no fresh code) in the contract's words.
fn step_up_error(e: petty_http::ApiError) -> Fail {
    use petty_http::ErrorCode;
    match e.code {
        ErrorCode::MfaRequired => {
            Fail::new(StatusCode::UNAUTHORIZED, "MFA_REQUIRED", "Multi-factor authentication code required")
        }
        ErrorCode::InvalidMfaCode => {
            Fail::new(StatusCode::UNAUTHORIZED, "INVALID_MFA_CODE", "Invalid authentication code")
        }
        ErrorCode::AccountLocked => {
            Fail::new(StatusCode::LOCKED, "ACCOUNT_LOCKED", "Too many failed login attempts. Try again later.")
                .retry_after(e.retry_after.unwrap_or(1))
        }
        _ => Fail::internal(e.message),
    }
}

/// `GET /users/export`: everything Petty holds of the person's, as a zip (`petty_app::privacy`),
/// 3 an hour. With MFA on, Petty's own rule asks for a fresh code in `X-MFA-Code`.
pub(super) async fn export(
    State(state): State<AppState>,
    member: Member,
    Extension(counters): Extension<Arc<super::limits::Counters>>,
    headers: HeaderMap,
) -> Result<Response, Fail> {
    let (user_id, _) = member.user()?;
    if let Some(wait) = counters.export_wait(user_id, OffsetDateTime::now_utc().unix_timestamp()) {
        return Err(Fail::new(StatusCode::TOO_MANY_REQUESTS, "RATE_LIMIT_EXCEEDED", "API rate limit exceeded")
            .retry_after(wait));
    }
    let code = headers.get(petty_http::stepup::MFA_HEADER).and_then(|v| v.to_str().ok());
    petty_http::stepup::require_fresh_mfa(&state, user_id, code).await.map_err(step_up_error)?;
    let export = petty_app::privacy::export(&state.app, user_id).await.map_err(Fail::store)?;
    let disposition = format!("attachment; filename=\"{}\"", export.filename);
    let response = (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/zip".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        export.zip,
    )
        .into_response();
    Ok(response)
}

/// `DELETE /users/account` `{password, mfaCode?}` → `{deleted: true}` (`petty_app::privacy`).
pub(super) async fn delete_account(State(state): State<AppState>, member: Member, bytes: Bytes) -> Answer {
    let (user_id, _) = member.user()?;
    let body = Body::parse(&bytes)?;
    let mut c = Check::new(&body);
    let password = match body.get("password") {
        Some(Value::String(p)) if !p.is_empty() => Some(p.clone()),
        _ => {
            c.fail("password", "password is required");
            None
        }
    };
    let code = c.text("mfaCode", 20, false, None).flatten();
    c.finish()?;
    let credentials = state.store.user_credentials(user_id).await.map_err(Fail::store)?;
    let matches = petty_http::auth::verify_password_async(password.unwrap_or_default(), credentials.password_hash)
        .await
        .map_err(|e| Fail::internal(e.message))?;
    if !matches {
        return Err(Fail::new(StatusCode::UNAUTHORIZED, "INVALID_CREDENTIALS", "Invalid email or password"));
    }
    petty_http::stepup::require_fresh_mfa(&state, user_id, code.as_deref()).await.map_err(step_up_error)?;
    petty_app::privacy::delete_account(&state.app, user_id).await.map_err(|e| match e {
        PrivacyError::SoleOwner => Fail::conflict("Transfer ownership or remove the other members first"),
        PrivacyError::Store(e) => Fail::store(e),
        PrivacyError::Cleanup(why) => {
            tracing::warn!(%why, "compat/petmgmt: an account could not be deleted yet");
            Fail::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "SERVICE_UNAVAILABLE",
                "Files or the payment provider could not be reached; nothing was deleted, try again",
            )
        }
    })?;
    Ok(ok(StatusCode::OK, json!({"deleted": true})))
}
