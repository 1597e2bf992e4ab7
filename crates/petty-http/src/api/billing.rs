//! `/api/v1/billing`: the household's plan (tier, status, period, limits and usage),
//! subscribing to a paid tier and cancelling through Stripe (the owner), and Stripe's signed
//! webhook. Billing is off unless Stripe is configured: then every household is enterprise,
//! and upgrade and cancel answer 409 `billing_disabled`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use petty_app::billing::{BillingError, Received, Status, WebhookError};
use petty_core::accounts::Permission;
use petty_core::billing::{BillingPeriod, Tier, Upgrade};
use petty_core::pets::format_date;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::CurrentActor;
use crate::error::{ApiError, ErrorBody, ErrorCode};
use crate::extract::ApiJson;
use crate::state::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_billing))
        .routes(routes!(upgrade))
        .routes(routes!(cancel))
        .routes(routes!(stripe_webhook))
}

impl From<BillingError> for ApiError {
    fn from(e: BillingError) -> Self {
        match e {
            BillingError::Disabled => {
                ApiError::new(ErrorCode::BillingDisabled, "Billing is not enabled on this server")
            }
            BillingError::Invalid(invalid) => invalid.into(),
            BillingError::Conflict(why) => ApiError::new(ErrorCode::Conflict, why),
            BillingError::PaymentFailed(message) => ApiError::new(ErrorCode::PaymentFailed, message),
            BillingError::Provider => ApiError::new(
                ErrorCode::PaymentProviderError,
                "Payment provider unavailable; nothing was changed, try again later",
            ),
            BillingError::LimitReached(limit) => ApiError::field(
                ErrorCode::PlanLimitReached,
                limit.what.as_str(),
                "plan_limit",
                format!("{limit} (the {} plan); upgrade the household's plan to add more", limit.tier),
            ),
            BillingError::Store(e) => e.into(),
        }
    }
}

fn time_text(t: Option<OffsetDateTime>) -> Option<String> {
    t.and_then(|t| petty_app::rfc3339::from_ms(petty_store::to_ms(t)))
}

/// What the household's tier allows; `null` is unlimited.
#[derive(Serialize, ToSchema)]
pub(crate) struct FeaturesOut {
    pub max_pets: Option<u64>,
    pub max_health_records: Option<u64>,
    pub max_storage_bytes: Option<u64>,
    /// The calendar feed (`POST /api/v1/calendar/feed`).
    pub calendar_sync: bool,
    pub priority_support: bool,
    pub advanced_reports: bool,
}

/// What the household holds.
#[derive(Serialize, ToSchema)]
pub(crate) struct UsageOut {
    pub pets_count: u64,
    pub health_records_count: u64,
    pub storage_used_bytes: u64,
}

/// A tier and period the household may subscribe to.
#[derive(Serialize, ToSchema)]
pub(crate) struct PlanOut {
    /// premium or enterprise.
    pub tier: &'static str,
    /// monthly or yearly.
    pub billing_period: &'static str,
}

/// The household's plan.
#[derive(Serialize, ToSchema)]
pub(crate) struct BillingOut {
    /// Whether this server bills at all; when not, every household is enterprise.
    pub billing_enabled: bool,
    /// The tier whose limits apply now: free, premium or enterprise.
    pub tier: &'static str,
    /// The tier subscribed to at Stripe, if any (the tier falls back to free once the
    /// subscription ended, or 7 days after the period a payment failed for).
    pub subscribed_tier: Option<&'static str>,
    /// active, trialing, past_due, canceled, incomplete, incomplete_expired, unpaid or paused.
    pub status: &'static str,
    /// monthly or yearly.
    pub billing_period: Option<&'static str>,
    pub current_period_start: Option<String>,
    pub current_period_end: Option<String>,
    /// The subscription ends at `current_period_end` instead of renewing.
    pub cancel_at_period_end: bool,
    /// When a past-due subscription loses its tier.
    pub grace_ends_at: Option<String>,
    pub features: FeaturesOut,
    pub usage: UsageOut,
    /// The tiers and periods that may be chosen in an upgrade.
    pub plans: Vec<PlanOut>,
}

impl From<&Status> for BillingOut {
    fn from(s: &Status) -> Self {
        Self {
            billing_enabled: s.billing_enabled,
            tier: s.tier.as_str(),
            subscribed_tier: s.subscribed_tier.map(Tier::as_str),
            status: s.status.as_str(),
            billing_period: s.period.map(BillingPeriod::as_str),
            current_period_start: time_text(s.current_period_start),
            current_period_end: time_text(s.current_period_end),
            cancel_at_period_end: s.cancel_at_period_end,
            grace_ends_at: time_text(s.grace_ends),
            features: FeaturesOut {
                max_pets: s.limits.pets,
                max_health_records: s.limits.health_records,
                max_storage_bytes: s.limits.storage_bytes,
                calendar_sync: s.limits.calendar_feed,
                priority_support: s.limits.priority_support,
                advanced_reports: s.limits.advanced_reports,
            },
            usage: UsageOut {
                pets_count: s.usage.pets,
                health_records_count: s.usage.health_records,
                storage_used_bytes: s.usage.storage_bytes,
            },
            plans: s
                .offered
                .iter()
                .map(|(tier, period)| PlanOut { tier: tier.as_str(), billing_period: period.as_str() })
                .collect(),
        }
    }
}

/// The household's plan: its tier, the subscription's status and period, what the tier
/// allows and what the household holds.
#[utoipa::path(get, path = "/api/v1/billing", tag = "billing",
    responses((status = 200, body = BillingOut)),
    security(("bearer" = [])))]
async fn get_billing(State(state): State<AppState>, actor: CurrentActor) -> Result<Json<BillingOut>, ApiError> {
    let actor = actor.require(Permission::Read)?;
    let status = petty_app::billing::status(&state.app, actor.household_id).await?;
    Ok(Json(BillingOut::from(&status)))
}

/// A paid tier to subscribe to.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpgradeIn {
    /// premium or enterprise.
    pub tier: String,
    /// monthly or yearly.
    pub billing_period: String,
    /// The card, as Stripe's card form made it (`pm_...`).
    pub payment_method_id: String,
}

/// The subscription Stripe made.
#[derive(Serialize, ToSchema)]
pub(crate) struct UpgradeOut {
    pub subscription_id: String,
    /// Stripe's status of the subscription (active once paid).
    pub status: &'static str,
    pub tier: &'static str,
    pub billing_period: &'static str,
    /// `YYYY-MM-DD` (UTC) of the next charge: the end of the period just paid for.
    pub next_billing_date: Option<String>,
    pub current_period_end: Option<String>,
    /// The price per period in the currency's major unit (9.99).
    pub amount: Option<f64>,
    /// ISO 4217, upper-case.
    pub currency: Option<String>,
}

/// Subscribe the household to a paid tier (the owner): Petty makes the household's Stripe
/// customer (once), attaches the card and subscribes, paid at once. A declined card answers
/// 402 with Stripe's message; Stripe failing or not answering within 10 s answers 502; in both
/// cases the plan is as it was. 409 when billing is off or the household already subscribes.
#[utoipa::path(post, path = "/api/v1/billing/upgrade", tag = "billing", request_body = UpgradeIn,
    responses((status = 200, body = UpgradeOut),
        (status = 402, description = "The card was declined", body = ErrorBody),
        (status = 409, description = "Billing is off (billing_disabled), or the household already subscribes", body = ErrorBody),
        (status = 502, description = "Stripe failed or did not answer in time; nothing changed", body = ErrorBody)),
    security(("bearer" = [])))]
async fn upgrade(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiJson(body): ApiJson<UpgradeIn>,
) -> Result<Json<UpgradeOut>, ApiError> {
    let actor = actor.require(Permission::ManageHousehold)?;
    if !petty_app::billing::enabled(&state.app) {
        return Err(BillingError::Disabled.into());
    }
    let request = Upgrade::parse(&body.tier, &body.billing_period, &body.payment_method_id)?;
    let done = petty_app::billing::upgrade(&state.app, &actor, &request).await?;
    Ok(Json(UpgradeOut {
        subscription_id: done.subscription_id,
        status: done.status.as_str(),
        tier: done.tier.as_str(),
        billing_period: done.period.as_str(),
        next_billing_date: done.next_billing_date.map(format_date),
        current_period_end: time_text(done.current_period_end),
        amount: done.amount,
        currency: done.currency,
    }))
}

/// How to cancel.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CancelIn {
    /// true (the default): at the end of the period paid for, keeping the tier until then;
    /// false: now.
    pub at_period_end: Option<bool>,
}

/// Cancel the household's subscription (the owner), at the period's end or at once. Nothing
/// is deleted: beyond the free plan's limits, new items are refused. Answers the plan.
#[utoipa::path(post, path = "/api/v1/billing/cancel", tag = "billing", request_body = CancelIn,
    responses((status = 200, body = BillingOut),
        (status = 409, description = "Billing is off (billing_disabled), or there is no subscription to cancel", body = ErrorBody),
        (status = 502, description = "Stripe failed or did not answer in time; nothing changed", body = ErrorBody)),
    security(("bearer" = [])))]
async fn cancel(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiJson(body): ApiJson<CancelIn>,
) -> Result<Json<BillingOut>, ApiError> {
    let actor = actor.require(Permission::ManageHousehold)?;
    let status = petty_app::billing::cancel(&state.app, &actor, body.at_period_end.unwrap_or(true)).await?;
    Ok(Json(BillingOut::from(&status)))
}

/// The webhook's answer.
#[derive(Serialize, ToSchema)]
pub(crate) struct StripeWebhookOut {
    pub received: bool,
    /// Present (true) when this event id was received before and nothing was done again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplicate: Option<bool>,
}

/// Stripe's webhook (no credentials: the `Stripe-Signature` header is checked against the
/// raw body with the webhook secret, within 300 s). Each event id is applied once; unknown
/// households and event types are acknowledged. 400 `invalid_signature` names what is wrong
/// in Stripe's words.
#[utoipa::path(post, path = "/api/v1/billing/stripe/webhook", tag = "billing",
    request_body(content = String, content_type = "application/json", description = "The event exactly as Stripe sent it"),
    params(("Stripe-Signature" = String, Header, description = "t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<raw body>\">")),
    responses((status = 200, body = StripeWebhookOut),
        (status = 400, description = "The signature is missing, does not match or is too old (invalid_signature)", body = ErrorBody),
        (status = 409, description = "Billing is off (billing_disabled)", body = ErrorBody)))]
async fn stripe_webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<StripeWebhookOut>, ApiError> {
    let signature = headers.get("stripe-signature").and_then(|v| v.to_str().ok());
    match petty_app::billing::webhook(&state.app, &body, signature, state.app.now()).await {
        Ok(Received::Received) => Ok(Json(StripeWebhookOut { received: true, duplicate: None })),
        Ok(Received::Duplicate) => Ok(Json(StripeWebhookOut { received: true, duplicate: Some(true) })),
        Err(WebhookError::Disabled) => Err(BillingError::Disabled.into()),
        Err(WebhookError::Signature(e)) => Err(ApiError::new(ErrorCode::InvalidSignature, e.message())),
        Err(WebhookError::Malformed(why)) => Err(ApiError::new(ErrorCode::MalformedRequest, why)),
        Err(WebhookError::Store(e)) => Err(e.into()),
    }
}
