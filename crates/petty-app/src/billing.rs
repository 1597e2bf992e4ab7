//! Billing use cases, off unless Stripe is configured: a household's plan and usage
//! ([`status`]), the limit check every create path calls ([`check_limit`], [`check_storage`]),
//! subscribing through Stripe ([`upgrade`]), cancelling ([`cancel`]), and Stripe's signed
//! webhook ([`webhook`]: verified, applied once per event id, older events never over newer,
//! a failed payment told to the owners through the outbox).
//!
//! With billing off every household is `enterprise`, `active` and unlimited, and the calls
//! that would reach Stripe answer [`BillingError::Disabled`]. The API, the dashboard and the
//! Pet Management profile all come through here.

use petty_core::Invalid;
use petty_core::accounts::{Actor, Role};
use petty_core::alarm::Channel;
use petty_core::billing::{
    Applied, BillingPeriod, Event, EventChange, LimitReached, Limited, Limits, SignatureError, Subscription,
    SubscriptionFacts, SubscriptionStatus, Tier, Upgrade, Usage, apply_event, check_limit as check, effective_tier,
    verify_signature,
};
use petty_core::ids::HouseholdId;
use petty_core::paging::PageRequest;
use petty_core::pets::format_date;
use petty_notify::stripe::{Stripe, StripeConfig, StripeError, payment_failed_email, webhook_mac};
use petty_store::{EventRecorded, NewNotification, PetFilter, StoreError};
use serde_json::Value;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::App;

/// Whether billing is on, and with what. Off by default.
#[derive(Clone, Debug, Default)]
pub struct BillingSettings {
    pub stripe: Option<StripeSettings>,
}

/// Billing through Stripe.
#[derive(Clone)]
pub struct StripeSettings {
    /// Where Stripe is, the secret key and the timeout of a call.
    pub api: StripeConfig,
    /// Signs the webhook's events (`whsec_...`).
    pub webhook_secret: String,
    pub prices: Prices,
}

impl std::fmt::Debug for StripeSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StripeSettings")
            .field("api", &self.api)
            .field("webhook_secret", &"(hidden)")
            .field("prices", &self.prices)
            .finish()
    }
}

/// Stripe's price id (`price_...`) of each paid tier and period; a tier without one cannot be
/// chosen for that period.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Prices {
    pub premium_monthly: Option<String>,
    pub premium_yearly: Option<String>,
    pub enterprise_monthly: Option<String>,
    pub enterprise_yearly: Option<String>,
}

impl Prices {
    fn all(&self) -> [(Tier, BillingPeriod, Option<&str>); 4] {
        [
            (Tier::Premium, BillingPeriod::Monthly, self.premium_monthly.as_deref()),
            (Tier::Premium, BillingPeriod::Yearly, self.premium_yearly.as_deref()),
            (Tier::Enterprise, BillingPeriod::Monthly, self.enterprise_monthly.as_deref()),
            (Tier::Enterprise, BillingPeriod::Yearly, self.enterprise_yearly.as_deref()),
        ]
    }

    /// The price of a tier and period, if one is configured.
    pub fn price(&self, tier: Tier, period: BillingPeriod) -> Option<&str> {
        self.all().into_iter().find(|(t, p, _)| *t == tier && *p == period).and_then(|(_, _, price)| price)
    }

    /// Which tier and period a price is for.
    pub fn tier_of(&self, price_id: &str) -> Option<(Tier, BillingPeriod)> {
        self.all().into_iter().find(|(_, _, price)| *price == Some(price_id)).map(|(t, p, _)| (t, p))
    }

    /// The tiers and periods that can be chosen.
    pub fn offered(&self) -> Vec<(Tier, BillingPeriod)> {
        self.all().into_iter().filter(|(_, _, price)| price.is_some()).map(|(t, p, _)| (t, p)).collect()
    }
}

/// Why a billing use case did not happen.
#[derive(Debug)]
pub enum BillingError {
    /// Billing is off on this server.
    Disabled,
    /// Bad input: each field and rule.
    Invalid(Invalid),
    /// The request does not fit the household's subscription (the text says why).
    Conflict(String),
    /// Stripe declined the payment; its message, for the person.
    PaymentFailed(String),
    /// Stripe could not be reached in time or refused the call; nothing changed (logged here).
    Provider,
    /// The household's plan does not allow this.
    LimitReached(LimitReached),
    Store(StoreError),
}

impl From<Invalid> for BillingError {
    fn from(e: Invalid) -> Self {
        BillingError::Invalid(e)
    }
}

impl From<StoreError> for BillingError {
    fn from(e: StoreError) -> Self {
        BillingError::Store(e)
    }
}

impl From<StripeError> for BillingError {
    fn from(e: StripeError) -> Self {
        match e {
            StripeError::Declined { message, code } => {
                tracing::info!(code = code.as_deref().unwrap_or("none"), "Stripe declined the payment");
                BillingError::PaymentFailed(message)
            }
            StripeError::Provider(why) => {
                tracing::warn!(%why, "a call to Stripe failed; nothing was changed");
                BillingError::Provider
            }
        }
    }
}

impl std::fmt::Display for BillingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BillingError::Disabled => f.write_str("Billing is not enabled on this server"),
            BillingError::Invalid(e) => e.fmt(f),
            BillingError::Conflict(why) => f.write_str(why),
            BillingError::PaymentFailed(message) => f.write_str(message),
            BillingError::Provider => f.write_str("Payment provider unavailable"),
            BillingError::LimitReached(limit) => limit.fmt(f),
            BillingError::Store(e) => e.fmt(f),
        }
    }
}

/// Whether billing is on.
pub fn enabled(app: &App) -> bool {
    app.settings.billing.stripe.is_some()
}

/// A household's plan now, and what it holds against the plan's limits.
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    /// Whether this server bills at all (when not, the household has everything).
    pub billing_enabled: bool,
    /// The tier whose limits apply now (`enterprise` when billing is off).
    pub tier: Tier,
    /// The tier subscribed to at Stripe, if any (it differs from `tier` once the subscription
    /// ended or its grace period ran out).
    pub subscribed_tier: Option<Tier>,
    pub status: SubscriptionStatus,
    pub period: Option<BillingPeriod>,
    pub current_period_start: Option<OffsetDateTime>,
    pub current_period_end: Option<OffsetDateTime>,
    pub cancel_at_period_end: bool,
    /// When a past-due subscription loses its tier.
    pub grace_ends: Option<OffsetDateTime>,
    pub limits: Limits,
    pub usage: Usage,
    /// The tiers and periods the household may subscribe to (none when billing is off).
    pub offered: Vec<(Tier, BillingPeriod)>,
}

/// The household's plan and usage at the app's time.
pub async fn status(app: &App, household_id: HouseholdId) -> Result<Status, StoreError> {
    let usage = usage(app, household_id).await?;
    let Some(stripe) = &app.settings.billing.stripe else {
        return Ok(Status {
            billing_enabled: false,
            tier: Tier::Enterprise,
            subscribed_tier: None,
            status: SubscriptionStatus::Active,
            period: None,
            current_period_start: None,
            current_period_end: None,
            cancel_at_period_end: false,
            grace_ends: None,
            limits: Tier::Enterprise.limits(),
            usage,
            offered: Vec::new(),
        });
    };
    let s = app.store.subscription(household_id).await?.unwrap_or_else(|| Subscription::none(household_id));
    let tier = s.effective_tier(app.now());
    let subscribed = s.subscription_id.is_some();
    Ok(Status {
        billing_enabled: true,
        tier,
        subscribed_tier: subscribed.then_some(s.tier),
        status: s.status,
        period: s.period.filter(|_| subscribed),
        current_period_start: s.current_period_start.filter(|_| subscribed),
        current_period_end: s.current_period_end.filter(|_| subscribed),
        cancel_at_period_end: s.cancel_at_period_end,
        grace_ends: s.grace_ends(),
        limits: tier.limits(),
        usage,
        offered: stripe.prices.offered(),
    })
}

/// What the household holds: pets, health records, bytes of files.
pub async fn usage(app: &App, household_id: HouseholdId) -> Result<Usage, StoreError> {
    let one = PageRequest { page: 1, page_size: 1 };
    let pets = app.store.list_pets(household_id, &PetFilter::default(), one).await?.total;
    let health_records = app.store.count_records(household_id).await?;
    // What the household's confirmed files keep (served copies and thumbnails).
    let storage_bytes = app.store.storage_used(household_id).await?.bytes;
    Ok(Usage { pets, health_records, storage_bytes })
}

/// The tier whose limits apply to the household now.
pub async fn tier(app: &App, household_id: HouseholdId) -> Result<Tier, StoreError> {
    if !enabled(app) {
        return Ok(Tier::Enterprise);
    }
    let s = app.store.subscription(household_id).await?;
    Ok(effective_tier(true, s.as_ref(), app.now()))
}

/// Whether the household's plan allows one more pet or health record, or the calendar feed or
/// advanced reports: `Err(BillingError::LimitReached)` (a 403) if not. Every path that creates
/// one calls this first; with billing off it always allows, without reading anything.
pub async fn check_limit(app: &App, household_id: HouseholdId, what: Limited) -> Result<(), BillingError> {
    let adding = match what {
        Limited::Pets | Limited::HealthRecords => 1,
        Limited::Storage | Limited::CalendarFeed | Limited::AdvancedReports => 0,
    };
    check_adding(app, household_id, what, adding).await
}

/// Whether the household's plan has room for `bytes` more of files.
pub async fn check_storage(app: &App, household_id: HouseholdId, bytes: u64) -> Result<(), BillingError> {
    check_adding(app, household_id, Limited::Storage, bytes).await
}

async fn check_adding(app: &App, household_id: HouseholdId, what: Limited, adding: u64) -> Result<(), BillingError> {
    if !enabled(app) {
        return Ok(());
    }
    let tier = tier(app, household_id).await?;
    let usage = match what {
        Limited::CalendarFeed | Limited::AdvancedReports => Usage::default(),
        _ => usage(app, household_id).await?,
    };
    check(tier, what, &usage, adding).map_err(BillingError::LimitReached)
}

/// A subscription Stripe made, as the upgrade answers it.
#[derive(Debug, Clone, PartialEq)]
pub struct Upgraded {
    pub subscription_id: String,
    pub status: SubscriptionStatus,
    pub tier: Tier,
    pub period: BillingPeriod,
    /// When Stripe charges next (the current period's end).
    pub current_period_end: Option<OffsetDateTime>,
    /// Its date, UTC.
    pub next_billing_date: Option<Date>,
    /// The price per period in the currency's major unit (Stripe's `unit_amount` / 100).
    pub amount: Option<f64>,
    /// ISO 4217, upper-case (`USD`).
    pub currency: Option<String>,
}

fn stripe_of(app: &App) -> Result<(&StripeSettings, &Stripe), BillingError> {
    match (&app.settings.billing.stripe, &app.stripe) {
        (Some(settings), Some(client)) => Ok((settings, client)),
        _ => Err(BillingError::Disabled),
    }
}

/// Subscribes the actor's household to a paid tier through Stripe: a customer (once per
/// household), the payment method attached to it, and a subscription paid at once. A
/// declined card is [`BillingError::PaymentFailed`]; any other failure of Stripe's, or no
/// answer within the timeout, is [`BillingError::Provider`], and the plan stays as it was.
/// The caller checks that the actor may manage the household.
pub async fn upgrade(app: &App, actor: &Actor, request: &Upgrade) -> Result<Upgraded, BillingError> {
    let (settings, stripe) = stripe_of(app)?;
    let household = actor.household_id;
    let Some(price) = settings.prices.price(request.tier, request.period) else {
        return Err(Invalid::one(
            "billing_period",
            "one_of",
            format!("the {} plan cannot be paid {} on this server", request.tier, request.period),
        )
        .into());
    };
    let current = app.store.subscription(household).await?.unwrap_or_else(|| Subscription::none(household));
    if current.is_live() {
        return Err(BillingError::Conflict(format!(
            "This household already has a {} subscription ({}); cancel it before choosing another plan",
            current.tier, current.status
        )));
    }
    // Each attempt has its own keys: Stripe keeps the answer to a key for a day, even a 500,
    // so a key reused after a failure would fail again.
    let attempt = Uuid::now_v7();
    let customer = customer_of(app, stripe, actor, current, attempt).await?;
    stripe
        .attach_payment_method(&request.payment_method_id, &customer, &format!("petty-attach-{household}-{attempt}"))
        .await?;
    let object = stripe
        .create_subscription(
            &customer,
            price,
            &request.payment_method_id,
            household.0,
            &format!("petty-subscription-{household}-{attempt}"),
        )
        .await?;
    let mut facts = subscription_facts(&object, &settings.prices)
        .ok_or_else(|| BillingError::from(StripeError::Provider("Stripe's subscription could not be read".into())))?;
    facts.tier = facts.tier.or(Some(request.tier));
    facts.period = facts.period.or(Some(request.period));
    let saved = save_facts(app, household, &facts).await?;
    tracing::info!(%household, subscription_id = %facts.id, tier = %request.tier, status = %facts.status, "subscribed");
    let who = crate::audit::Who::actor(actor, None);
    let detail = crate::audit::fields(&["tier", "billing_period", "payment_method"]);
    crate::audit::record(app, &who, "subscribe", "subscription", &facts.id, &detail).await?;
    let item_price = &object["items"]["data"][0]["price"];
    let amount = item_price["unit_amount"].as_i64().or_else(|| object["plan"]["amount"].as_i64());
    let currency = item_price["currency"].as_str().or_else(|| object["currency"].as_str());
    Ok(Upgraded {
        subscription_id: facts.id.clone(),
        status: saved.status,
        tier: saved.tier,
        period: saved.period.unwrap_or(request.period),
        current_period_end: saved.current_period_end,
        next_billing_date: saved.current_period_end.map(OffsetDateTime::date),
        amount: amount.map(|cents| cents as f64 / 100.0),
        currency: currency.map(str::to_uppercase),
    })
}

/// The household's Stripe customer, made (and kept) the first time it is needed.
/// Two upgrades at once may each make one; the first stored is the household's, and the other
/// stays unused at Stripe.
async fn customer_of(
    app: &App,
    stripe: &Stripe,
    actor: &Actor,
    current: Subscription,
    attempt: Uuid,
) -> Result<String, BillingError> {
    if let Some(customer) = &current.customer_id {
        return Ok(customer.clone());
    }
    let household = actor.household_id;
    let email = match actor.user_id() {
        Some(user) => app.store.get_user(user).await?.email,
        None => owners(app, household).await?.into_iter().next().map(|(_, email)| email).unwrap_or_default(),
    };
    let key = format!("petty-customer-{household}-{attempt}");
    let customer = stripe.create_customer(&email, household.0, &key).await?;
    let mut current = current;
    for _ in 0..5 {
        let with_customer = Subscription { customer_id: Some(customer.clone()), ..current.clone() };
        if app.store.save_subscription(&with_customer, app.now()).await? {
            return Ok(customer);
        }
        current = app.store.subscription(household).await?.unwrap_or_else(|| Subscription::none(household));
        if let Some(existing) = current.customer_id {
            return Ok(existing);
        }
    }
    Err(StoreError::Unavailable("the subscription kept changing while it was written".into()).into())
}

/// Writes what Stripe said of the household's subscription, over whatever was read last.
async fn save_facts(app: &App, household: HouseholdId, facts: &SubscriptionFacts) -> Result<Subscription, StoreError> {
    for _ in 0..5 {
        let current = app.store.subscription(household).await?.unwrap_or_else(|| Subscription::none(household));
        let next = current.with_facts(facts);
        if app.store.save_subscription(&next, app.now()).await? {
            return Ok(Subscription { version: next.version + 1, ..next });
        }
    }
    Err(StoreError::Unavailable("the subscription kept changing while it was written".into()))
}

/// Cancels the household's subscription at Stripe: at the end of the period it was paid for
/// (it keeps its tier until then), or at once. Answers the plan afterwards. The caller checks
/// that the actor may manage the household.
pub async fn cancel(app: &App, actor: &Actor, at_period_end: bool) -> Result<Status, BillingError> {
    let (settings, stripe) = stripe_of(app)?;
    let household = actor.household_id;
    let current = app.store.subscription(household).await?.unwrap_or_else(|| Subscription::none(household));
    let (true, Some(subscription_id)) = (current.is_live(), current.subscription_id.as_deref()) else {
        return Err(BillingError::Conflict("This household has no subscription to cancel".into()));
    };
    let object = if at_period_end {
        let key = format!("petty-cancel-{subscription_id}-{}", Uuid::now_v7());
        stripe.cancel_at_period_end(subscription_id, &key).await?
    } else {
        stripe.cancel_now(subscription_id).await?
    };
    let mut facts = subscription_facts(&object, &settings.prices)
        .ok_or_else(|| BillingError::from(StripeError::Provider("Stripe's subscription could not be read".into())))?;
    if facts.id != subscription_id {
        return Err(StripeError::Provider("Stripe answered about another subscription".into()).into());
    }
    if !at_period_end {
        facts.status = SubscriptionStatus::Canceled;
    }
    save_facts(app, household, &facts).await?;
    tracing::info!(%household, %subscription_id, at_period_end, "subscription cancelled");
    let who = crate::audit::Who::actor(actor, None);
    let detail = serde_json::json!({ "at_period_end": at_period_end });
    crate::audit::record(app, &who, "cancel", "subscription", subscription_id, &detail).await?;
    Ok(status(app, household).await?)
}

/// Before a household is deleted with its last member's account: its Stripe subscription ends
/// now and its customer is deleted at Stripe. Nothing to do with billing off or no customer.
/// A failure stops the deletion (nothing is deleted, the person can try again).
pub async fn forget_household(app: &App, household: HouseholdId) -> Result<(), BillingError> {
    let Some(current) = app.store.subscription(household).await? else { return Ok(()) };
    let Ok((_, stripe)) = stripe_of(app) else { return Ok(()) };
    if let (true, Some(subscription_id)) = (current.is_live(), current.subscription_id.as_deref()) {
        stripe.cancel_now(subscription_id).await?;
    }
    if let Some(customer) = current.customer_id.as_deref() {
        stripe.delete_customer(customer).await?;
    }
    tracing::info!(%household, "Stripe told to forget a deleted household");
    Ok(())
}

/// What a webhook call came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received {
    /// Applied, or acknowledged and left alone (an unknown household or event type).
    Received,
    /// This event id was received before; nothing was done again.
    Duplicate,
}

/// Why a webhook call was refused.
#[derive(Debug)]
pub enum WebhookError {
    /// Billing is off: there is no secret to check a signature with.
    Disabled,
    /// The `Stripe-Signature` header is missing, wrong or too old.
    Signature(SignatureError),
    /// Signed, but not an event (no id or type): the text says what is missing.
    Malformed(&'static str),
    Store(StoreError),
}

impl From<StoreError> for WebhookError {
    fn from(e: StoreError) -> Self {
        WebhookError::Store(e)
    }
}

/// Stripe's webhook: `raw_body` exactly as it arrived, `signature` the `Stripe-Signature`
/// header, `now` the time its timestamp is judged against. A verified event is applied once
/// per event id: the household is the one its object's `metadata.household_id` names, else the
/// one whose Stripe customer it is; unknown households and event types are acknowledged and
/// ignored.
pub async fn webhook(
    app: &App,
    raw_body: &[u8],
    signature: Option<&str>,
    now: OffsetDateTime,
) -> Result<Received, WebhookError> {
    // A call without a signature is refused as such, whether or not billing is on.
    if signature.is_none_or(|s| s.trim().is_empty()) {
        return Err(WebhookError::Signature(SignatureError::Missing));
    }
    let Some(settings) = &app.settings.billing.stripe else { return Err(WebhookError::Disabled) };
    verify_webhook(&settings.webhook_secret, raw_body, signature, now).map_err(WebhookError::Signature)?;
    let event: Value = serde_json::from_slice(raw_body).map_err(|_| WebhookError::Malformed("the body is not JSON"))?;
    let id = event["id"].as_str().filter(|id| !id.is_empty()).ok_or(WebhookError::Malformed("the event has no id"))?;
    let kind = event["type"].as_str().ok_or(WebhookError::Malformed("the event has no type"))?;
    if app.store.billing_event_seen(id).await? {
        return Ok(Received::Duplicate);
    }
    let object = &event["data"]["object"];
    let household = household_of(app, object).await?;
    let change = change_of(kind, object, &settings.prices);
    let created = event["created"].as_i64().unwrap_or_else(|| now.unix_timestamp());
    let (Some(household), Some(change)) = (household, change) else {
        tracing::info!(
            event_id = id,
            kind,
            known_household = household.is_some(),
            "Stripe event acknowledged and ignored"
        );
        return Ok(match app.store.record_billing_event(id, kind, household, None, now).await? {
            EventRecorded::Duplicate => Received::Duplicate,
            _ => Received::Received,
        });
    };
    let event = Event { created, change };
    for _ in 0..5 {
        let current = app.store.subscription(household).await?.unwrap_or_else(|| Subscription::none(household));
        let (change, payment_failed) = match apply_event(&current, &event) {
            Applied::Changed { subscription, payment_failed } => (Some(subscription), payment_failed),
            Applied::Ignored(why) => {
                tracing::info!(event_id = id, kind, %household, why, "Stripe event left alone");
                (None, false)
            }
        };
        match app.store.record_billing_event(id, kind, Some(household), change.as_ref(), now).await? {
            EventRecorded::Duplicate => return Ok(Received::Duplicate),
            EventRecorded::Stale => continue,
            EventRecorded::Recorded => {
                if let Some(s) = &change {
                    tracing::info!(event_id = id, kind, %household, status = %s.status, "Stripe event applied");
                    let who = crate::audit::Who::system(household);
                    let detail = serde_json::json!({ "stripe_event": kind, "event_id": id });
                    let entity = s.subscription_id.as_deref().unwrap_or_default();
                    crate::audit::record(app, &who, "update", "subscription", entity, &detail).await?;
                    if payment_failed {
                        tell_owners_payment_failed(app, id, s).await?;
                    }
                    // The webhooks that asked for it (the Pet Management profile's events).
                    let told = match kind {
                        "customer.subscription.deleted" => "subscription.cancelled",
                        "invoice.paid" => "payment.succeeded",
                        "invoice.payment_failed" => "payment.failed",
                        _ => "subscription.updated",
                    };
                    let data = serde_json::json!({
                        "subscriptionId": s.subscription_id, "status": s.status.as_str(), "tier": s.tier.as_str(),
                        "currentPeriodEnd": s.current_period_end.and_then(|t| crate::rfc3339::from_ms(petty_store::to_ms(t))),
                        "cancelAtPeriodEnd": s.cancel_at_period_end, "stripeEvent": kind,
                    });
                    crate::notify::household_event(app, household, told, data).await;
                }
                return Ok(Received::Received);
            }
        }
    }
    Err(StoreError::Unavailable("the subscription kept changing while the event was applied".into()).into())
}

/// Checks a webhook's `Stripe-Signature` against the webhook secret: HMAC-SHA256 of
/// `"<t>.<raw body>"`, within 300 s of `now`.
pub fn verify_webhook(
    secret: &str,
    raw_body: &[u8],
    signature: Option<&str>,
    now: OffsetDateTime,
) -> Result<i64, SignatureError> {
    verify_signature(signature, now.unix_timestamp(), |t| webhook_mac(secret, t, raw_body))
}

/// The household an event's object belongs to, if it is one of this server's.
async fn household_of(app: &App, object: &Value) -> Result<Option<HouseholdId>, StoreError> {
    let named = [
        &object["metadata"]["household_id"],
        &object["subscription_details"]["metadata"]["household_id"],
        &object["parent"]["subscription_details"]["metadata"]["household_id"],
    ]
    .into_iter()
    .find_map(|v| v.as_str().and_then(|s| s.parse::<HouseholdId>().ok()));
    if let Some(household) = named
        && !app.store.list_members(household).await?.is_empty()
    {
        return Ok(Some(household));
    }
    match id_or_object(&object["customer"]) {
        Some(customer) => app.store.household_of_customer(customer).await,
        None => Ok(None),
    }
}

/// A field that is an id, or an expanded object with one.
fn id_or_object(v: &Value) -> Option<&str> {
    v.as_str().or_else(|| v["id"].as_str())
}

/// What an event of type `kind` asks, if it is one billing acts on.
fn change_of(kind: &str, object: &Value, prices: &Prices) -> Option<EventChange> {
    let invoice_subscription = || {
        id_or_object(&object["subscription"])
            .or_else(|| id_or_object(&object["parent"]["subscription_details"]["subscription"]))
            .map(str::to_owned)
    };
    match kind {
        "customer.subscription.created" | "customer.subscription.updated" => {
            subscription_facts(object, prices).map(EventChange::Subscription)
        }
        "customer.subscription.deleted" => subscription_facts(object, prices).map(EventChange::Deleted),
        "invoice.paid" => invoice_subscription().map(|subscription_id| EventChange::InvoicePaid { subscription_id }),
        "invoice.payment_failed" => {
            invoice_subscription().map(|subscription_id| EventChange::PaymentFailed { subscription_id })
        }
        _ => None,
    }
}

/// What a Stripe subscription object says. Its period is read at the top (Stripe's API
/// before 2025-03) or on its first item (since).
pub fn subscription_facts(object: &Value, prices: &Prices) -> Option<SubscriptionFacts> {
    let id = object["id"].as_str()?.to_owned();
    let status = SubscriptionStatus::parse(object["status"].as_str()?)?;
    let item = &object["items"]["data"][0];
    let price = &item["price"];
    let configured = price["id"].as_str().and_then(|p| prices.tier_of(p));
    let interval = match price["recurring"]["interval"].as_str() {
        Some("month") => Some(BillingPeriod::Monthly),
        Some("year") => Some(BillingPeriod::Yearly),
        _ => None,
    };
    let time = |field: &str| {
        object[field]
            .as_i64()
            .or_else(|| item[field].as_i64())
            .and_then(|secs| OffsetDateTime::from_unix_timestamp(secs).ok())
    };
    Some(SubscriptionFacts {
        id,
        customer_id: id_or_object(&object["customer"]).map(str::to_owned),
        status,
        tier: configured.map(|(tier, _)| tier),
        period: configured.map(|(_, period)| period).or(interval),
        current_period_start: time("current_period_start"),
        current_period_end: time("current_period_end"),
        cancel_at_period_end: object["cancel_at_period_end"].as_bool().unwrap_or(false),
    })
}

/// The household's owners: user id and email.
async fn owners(app: &App, household: HouseholdId) -> Result<Vec<(petty_core::ids::UserId, String)>, StoreError> {
    let members = app.store.list_members(household).await?;
    Ok(members.into_iter().filter(|m| m.role == Role::Owner).map(|m| (m.user.id, m.user.email)).collect())
}

/// One email per owner through the outbox (keyed by the event, so a retried webhook queues
/// nothing twice).
async fn tell_owners_payment_failed(app: &App, event_id: &str, s: &Subscription) -> Result<(), StoreError> {
    let now_ms = app.now_ms();
    let owners = owners(app, s.household_id).await?;
    let Some((first, _)) = owners.first() else { return Ok(()) };
    let name = app
        .store
        .active_membership(*first, s.household_id, app.now())
        .await?
        .map_or_else(|| "your household".to_owned(), |m| m.household_name);
    let grace = s.grace_ends().map(|t| format_date(t.date()));
    let (subject, body) = payment_failed_email(&name, s.tier.as_str(), grace.as_deref(), app.notifier.public_url());
    for (user, email) in owners {
        let n = NewNotification {
            household_id: s.household_id,
            idem_key: format!("billing:{event_id}:email:{user}"),
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
    app.wake.outbox.notify_one();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_contracts_signature_vector_verifies() {
        let body = br#"{"id":"evt_1","type":"invoice.paid"}"#;
        let header = "t=1700000000,v1=46dc069361a7691082640523fa33fe5d6c8c88d5f5e257cdf8cf11539d166595";
        let at = |unix| OffsetDateTime::from_unix_timestamp(unix).unwrap();
        assert_eq!(verify_webhook("whsec_test_secret", body, Some(header), at(1_700_000_100)), Ok(1_700_000_000));
        assert_eq!(verify_webhook("whsec_other", body, Some(header), at(1_700_000_000)), Err(SignatureError::NoMatch));
        assert_eq!(
            verify_webhook("whsec_test_secret", b"{\"id\":\"evt_2\"}", Some(header), at(1_700_000_000)),
            Err(SignatureError::NoMatch)
        );
        assert_eq!(
            verify_webhook("whsec_test_secret", body, Some(header), at(1_700_000_301)),
            Err(SignatureError::OutsideTolerance)
        );
        assert_eq!(verify_webhook("whsec_test_secret", body, None, at(1_700_000_000)), Err(SignatureError::Missing));
    }

    #[test]
    fn a_subscription_object_is_read_in_either_of_stripes_shapes() {
        let prices = Prices { premium_yearly: Some("price_py".into()), ..Prices::default() };
        let old = json!({"id": "sub_1", "object": "subscription", "status": "past_due", "customer": "cus_1",
            "current_period_start": 1_700_000_000, "current_period_end": 1_731_536_000, "cancel_at_period_end": true,
            "items": {"data": [{"price": {"id": "price_py", "recurring": {"interval": "year"}}}]}});
        let facts = subscription_facts(&old, &prices).unwrap();
        assert_eq!((facts.tier, facts.period), (Some(Tier::Premium), Some(BillingPeriod::Yearly)));
        assert_eq!(facts.current_period_end.map(OffsetDateTime::unix_timestamp), Some(1_731_536_000));
        assert!(facts.cancel_at_period_end);
        assert_eq!(facts.status, SubscriptionStatus::PastDue);
        let new = json!({"id": "sub_2", "status": "active", "customer": {"id": "cus_2"},
            "items": {"data": [{"current_period_start": 10, "current_period_end": 20,
                "price": {"id": "price_unknown", "recurring": {"interval": "month"}}}]}});
        let facts = subscription_facts(&new, &prices).unwrap();
        assert_eq!((facts.tier, facts.period), (None, Some(BillingPeriod::Monthly)));
        assert_eq!(facts.current_period_start.map(OffsetDateTime::unix_timestamp), Some(10));
        assert_eq!(facts.customer_id.as_deref(), Some("cus_2"));
        assert!(subscription_facts(&json!({"id": "sub_3", "status": "dancing"}), &prices).is_none());
    }
}
