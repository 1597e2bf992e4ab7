//! Billing's rules: the tiers and their limits, which tier a household has now (the effective
//! tier, with the grace period after a failed payment), whether one more pet, record or byte
//! fits, the check of a Stripe webhook's signature (given the HMAC), and how a Stripe event
//! changes a household's subscription (once per event, never older over newer).
//!
//! Billing is off by default: a self-hosted household gets everything. With it on, a
//! household without a subscription is on [`Tier::Free`].

use std::fmt;
use std::str::FromStr;

use time::{Duration, OffsetDateTime};

use crate::Invalid;
use crate::ids::HouseholdId;
use crate::validation::Collector;

/// A plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tier {
    Free,
    Premium,
    Enterprise,
}

impl Tier {
    pub const ALL: [Tier; 3] = [Tier::Free, Tier::Premium, Tier::Enterprise];

    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Free => "free",
            Tier::Premium => "premium",
            Tier::Enterprise => "enterprise",
        }
    }

    /// What the tier allows.
    pub fn limits(self) -> Limits {
        match self {
            Tier::Free => Limits {
                pets: Some(3),
                health_records: Some(100),
                storage_bytes: Some(500 * MB),
                calendar_feed: false,
                priority_support: false,
                advanced_reports: false,
            },
            Tier::Premium => Limits {
                pets: Some(10),
                health_records: None,
                storage_bytes: Some(10 * 1024 * MB),
                calendar_feed: true,
                priority_support: true,
                advanced_reports: true,
            },
            Tier::Enterprise => Limits {
                pets: None,
                health_records: None,
                storage_bytes: None,
                calendar_feed: true,
                priority_support: true,
                advanced_reports: true,
            },
        }
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Tier {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Tier::ALL
            .into_iter()
            .find(|t| t.as_str() == s.trim())
            .ok_or_else(|| Invalid::one("tier", "one_of", "tier must be one of free, premium, enterprise"))
    }
}

/// One mebibyte: plans count storage in MB of 1,048,576 bytes (as the upload limit does).
pub const MB: u64 = 1024 * 1024;

/// What a tier allows; `None` is unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub pets: Option<u64>,
    pub health_records: Option<u64>,
    pub storage_bytes: Option<u64>,
    pub calendar_feed: bool,
    pub priority_support: bool,
    pub advanced_reports: bool,
}

/// How often a subscription is paid for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BillingPeriod {
    Monthly,
    Yearly,
}

impl BillingPeriod {
    pub const ALL: [BillingPeriod; 2] = [BillingPeriod::Monthly, BillingPeriod::Yearly];

    pub fn as_str(self) -> &'static str {
        match self {
            BillingPeriod::Monthly => "monthly",
            BillingPeriod::Yearly => "yearly",
        }
    }
}

impl fmt::Display for BillingPeriod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for BillingPeriod {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        BillingPeriod::ALL
            .into_iter()
            .find(|p| p.as_str() == s.trim())
            .ok_or_else(|| Invalid::one("billing_period", "one_of", "billing_period must be one of monthly, yearly"))
    }
}

/// A subscription's status, as Stripe names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SubscriptionStatus {
    Incomplete,
    IncompleteExpired,
    Trialing,
    Active,
    PastDue,
    Canceled,
    Unpaid,
    Paused,
}

impl SubscriptionStatus {
    pub const ALL: [SubscriptionStatus; 8] = [
        SubscriptionStatus::Incomplete,
        SubscriptionStatus::IncompleteExpired,
        SubscriptionStatus::Trialing,
        SubscriptionStatus::Active,
        SubscriptionStatus::PastDue,
        SubscriptionStatus::Canceled,
        SubscriptionStatus::Unpaid,
        SubscriptionStatus::Paused,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SubscriptionStatus::Incomplete => "incomplete",
            SubscriptionStatus::IncompleteExpired => "incomplete_expired",
            SubscriptionStatus::Trialing => "trialing",
            SubscriptionStatus::Active => "active",
            SubscriptionStatus::PastDue => "past_due",
            SubscriptionStatus::Canceled => "canceled",
            SubscriptionStatus::Unpaid => "unpaid",
            SubscriptionStatus::Paused => "paused",
        }
    }

    /// Stripe's name of a status; `None` for one this code does not know.
    pub fn parse(s: &str) -> Option<SubscriptionStatus> {
        SubscriptionStatus::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Whether the subscription is over for good: a new one may take its place.
    pub fn is_ended(self) -> bool {
        matches!(self, SubscriptionStatus::Canceled | SubscriptionStatus::IncompleteExpired)
    }
}

impl fmt::Display for SubscriptionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How long a subscription whose payment failed keeps its tier after its period ended.
pub const GRACE: Duration = Duration::days(7);

/// A household's subscription as Petty keeps it. A household without one is
/// [`Subscription::none`]: free, active, nothing at Stripe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub household_id: HouseholdId,
    /// Stripe's customer (`cus_...`), made once per household.
    pub customer_id: Option<String>,
    /// Stripe's subscription (`sub_...`); `None` before the first.
    pub subscription_id: Option<String>,
    /// The tier subscribed to (what the household has while the subscription is in good standing).
    pub tier: Tier,
    pub status: SubscriptionStatus,
    pub period: Option<BillingPeriod>,
    pub current_period_start: Option<OffsetDateTime>,
    pub current_period_end: Option<OffsetDateTime>,
    /// The subscription ends at `current_period_end` rather than renewing.
    pub cancel_at_period_end: bool,
    /// Unix seconds of the newest Stripe event applied to `subscription_id`.
    pub last_event_at: Option<i64>,
    /// The stored row's version, for writes that must not overwrite another's (0: no row yet).
    pub version: i64,
}

impl Subscription {
    /// A household that never subscribed.
    pub fn none(household_id: HouseholdId) -> Subscription {
        Subscription {
            household_id,
            customer_id: None,
            subscription_id: None,
            tier: Tier::Free,
            status: SubscriptionStatus::Active,
            period: None,
            current_period_start: None,
            current_period_end: None,
            cancel_at_period_end: false,
            last_event_at: None,
            version: 0,
        }
    }

    /// Whether there is a subscription at Stripe that has not ended (a new one would be a second).
    pub fn is_live(&self) -> bool {
        self.subscription_id.is_some() && !self.status.is_ended()
    }

    /// The tier the household has at `now`: the subscribed one while the subscription is active
    /// or trialing, or past due until its period's end plus [`GRACE`]; otherwise free.
    pub fn effective_tier(&self, now: OffsetDateTime) -> Tier {
        if self.subscription_id.is_none() {
            return Tier::Free;
        }
        match self.status {
            SubscriptionStatus::Active | SubscriptionStatus::Trialing => self.tier,
            SubscriptionStatus::PastDue => match self.current_period_end {
                Some(end) if now <= end + GRACE => self.tier,
                _ => Tier::Free,
            },
            _ => Tier::Free,
        }
    }

    /// When a past-due subscription loses its tier, if it is past due.
    pub fn grace_ends(&self) -> Option<OffsetDateTime> {
        (self.status == SubscriptionStatus::PastDue).then_some(self.current_period_end.map(|end| end + GRACE)).flatten()
    }

    /// The household after Stripe answered a subscription (created, changed or cancelled):
    /// its facts replace the stored ones; the newest event applied is kept while it is the
    /// same subscription.
    pub fn with_facts(&self, facts: &SubscriptionFacts) -> Subscription {
        let same = self.subscription_id.as_deref() == Some(facts.id.as_str());
        Subscription {
            household_id: self.household_id,
            customer_id: facts.customer_id.clone().or_else(|| self.customer_id.clone()),
            subscription_id: Some(facts.id.clone()),
            tier: facts.tier.unwrap_or(if same { self.tier } else { Tier::Free }),
            status: facts.status,
            period: facts.period.or(if same { self.period } else { None }),
            current_period_start: facts.current_period_start.or(if same { self.current_period_start } else { None }),
            current_period_end: facts.current_period_end.or(if same { self.current_period_end } else { None }),
            cancel_at_period_end: facts.cancel_at_period_end,
            last_event_at: if same { self.last_event_at } else { None },
            version: self.version,
        }
    }
}

/// Which tier applies to a household at `now`: everything when billing is off.
pub fn effective_tier(billing_enabled: bool, subscription: Option<&Subscription>, now: OffsetDateTime) -> Tier {
    if !billing_enabled {
        return Tier::Enterprise;
    }
    subscription.map_or(Tier::Free, |s| s.effective_tier(now))
}

/// What a plan limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limited {
    Pets,
    HealthRecords,
    /// Stored files, in bytes.
    Storage,
    CalendarFeed,
    AdvancedReports,
}

impl Limited {
    pub fn as_str(self) -> &'static str {
        match self {
            Limited::Pets => "pets",
            Limited::HealthRecords => "health_records",
            Limited::Storage => "storage",
            Limited::CalendarFeed => "calendar_feed",
            Limited::AdvancedReports => "advanced_reports",
        }
    }
}

/// What a household holds, against its plan's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    pub pets: u64,
    pub health_records: u64,
    pub storage_bytes: u64,
}

/// A plan's limit that a new item would break.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitReached {
    pub what: Limited,
    pub tier: Tier,
    /// The most the tier allows (`None` for a feature the tier does not have).
    pub max: Option<u64>,
}

impl fmt::Display for LimitReached {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.what, self.max) {
            (Limited::Pets, Some(n)) => write!(f, "Your plan allows up to {n} pets"),
            (Limited::HealthRecords, Some(n)) => write!(f, "Your plan allows up to {n} health records"),
            (Limited::Storage, Some(bytes)) => write!(f, "Your plan allows up to {} of files", size_text(bytes)),
            _ => f.write_str("Premium subscription required for this feature"),
        }
    }
}

impl std::error::Error for LimitReached {}

/// `500 MB`, `10 GB`.
pub fn size_text(bytes: u64) -> String {
    if bytes >= 1024 * MB && bytes % (1024 * MB) == 0 {
        format!("{} GB", bytes / (1024 * MB))
    } else {
        format!("{} MB", bytes / MB)
    }
}

/// Whether `adding` more of `what` (1 for a pet or a record, the bytes of a file, 0 for a
/// feature) fits the tier, given what the household holds.
pub fn check_limit(tier: Tier, what: Limited, usage: &Usage, adding: u64) -> Result<(), LimitReached> {
    let limits = tier.limits();
    let (held, max) = match what {
        Limited::Pets => (usage.pets, limits.pets),
        Limited::HealthRecords => (usage.health_records, limits.health_records),
        Limited::Storage => (usage.storage_bytes, limits.storage_bytes),
        Limited::CalendarFeed => {
            return if limits.calendar_feed { Ok(()) } else { Err(LimitReached { what, tier, max: None }) };
        }
        Limited::AdvancedReports => {
            return if limits.advanced_reports { Ok(()) } else { Err(LimitReached { what, tier, max: None }) };
        }
    };
    match max {
        Some(max) if held.saturating_add(adding) > max => Err(LimitReached { what, tier, max: Some(max) }),
        _ => Ok(()),
    }
}

/// A request to subscribe, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upgrade {
    pub tier: Tier,
    pub period: BillingPeriod,
    /// Stripe's payment method (`pm_...`), made by Stripe's card form.
    pub payment_method_id: String,
}

impl Upgrade {
    /// Every field's problem at once.
    pub fn parse(tier: &str, period: &str, payment_method_id: &str) -> Result<Upgrade, Invalid> {
        let mut c = Collector::new();
        let tier = c.take(tier.parse::<Tier>().and_then(|t| match t {
            Tier::Free => Err(Invalid::one(
                "tier",
                "one_of",
                "tier must be premium or enterprise (to go back to free, cancel the subscription)",
            )),
            paid => Ok(paid),
        }));
        let period = c.take(period.parse::<BillingPeriod>());
        let pm = payment_method_id.trim();
        let pm_ok = !pm.is_empty() && pm.len() <= 255 && pm.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !pm_ok {
            c.push(crate::FieldError::new(
                "payment_method_id",
                if pm.is_empty() { "required" } else { "format" },
                "payment_method_id must be a Stripe payment method id such as pm_1Nx...",
            ));
        }
        c.finish()?;
        match (tier, period) {
            (Some(tier), Some(period)) => Ok(Upgrade { tier, period, payment_method_id: pm.to_owned() }),
            _ => Err(Invalid::one("body", "invalid", "the upgrade could not be read")),
        }
    }
}

/// How far a webhook's timestamp may be from now, either way.
pub const SIGNATURE_TOLERANCE_SECS: i64 = 300;

/// Why a webhook's signature was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureError {
    Missing,
    NoMatch,
    OutsideTolerance,
}

impl SignatureError {
    /// The words Stripe's own libraries use.
    pub fn message(self) -> &'static str {
        match self {
            SignatureError::Missing => "Missing Stripe-Signature header",
            SignatureError::NoMatch => "No signatures found matching the expected signature for payload",
            SignatureError::OutsideTolerance => "Timestamp outside the tolerance zone",
        }
    }
}

impl fmt::Display for SignatureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for SignatureError {}

/// Checks a `Stripe-Signature` header (`t=<unix>,v1=<hex>[,v1=<hex>...]`): `mac(t)` is the
/// HMAC-SHA256 of `"<t>.<raw body>"` under the webhook secret, with `t` as the header wrote
/// it; it must equal one of the `v1` values (compared in constant time), and `t` must be within
/// [`SIGNATURE_TOLERANCE_SECS`] of `now_unix`. Answers `t`.
pub fn verify_signature(
    header: Option<&str>,
    now_unix: i64,
    mac: impl Fn(&str) -> [u8; 32],
) -> Result<i64, SignatureError> {
    let header = header.map(str::trim).filter(|h| !h.is_empty()).ok_or(SignatureError::Missing)?;
    let mut timestamp = None;
    let mut candidates = Vec::new();
    for part in header.split(',') {
        let Some((key, value)) = part.trim().split_once('=') else { continue };
        match key {
            "t" => timestamp = Some(value),
            "v1" => candidates.push(value),
            _ => {}
        }
    }
    let t_text = timestamp.ok_or(SignatureError::NoMatch)?;
    let t: i64 = t_text.parse().map_err(|_| SignatureError::NoMatch)?;
    let expected = mac(t_text);
    let mut matched = false;
    for candidate in candidates {
        if let Some(given) = hex32(candidate) {
            // Every candidate is compared, and each comparison looks at every byte.
            matched |= constant_time_eq(&expected, &given);
        }
    }
    if !matched {
        return Err(SignatureError::NoMatch);
    }
    if (now_unix - t).abs() > SIGNATURE_TOLERANCE_SECS {
        return Err(SignatureError::OutsideTolerance);
    }
    Ok(t)
}

fn hex32(text: &str) -> Option<[u8; 32]> {
    let bytes = text.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in bytes.chunks_exact(2).enumerate() {
        let high = (pair[0] as char).to_digit(16)?;
        let low = (pair[1] as char).to_digit(16)?;
        out[i] = (high * 16 + low) as u8;
    }
    Some(out)
}

fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// What a Stripe subscription object says, read at the edge of the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionFacts {
    pub id: String,
    pub customer_id: Option<String>,
    pub status: SubscriptionStatus,
    /// The tier its price is for (`None`: a price this server was not configured with).
    pub tier: Option<Tier>,
    pub period: Option<BillingPeriod>,
    pub current_period_start: Option<OffsetDateTime>,
    pub current_period_end: Option<OffsetDateTime>,
    pub cancel_at_period_end: bool,
}

/// What a Stripe event asks of a household's subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventChange {
    /// `customer.subscription.created` or `.updated`.
    Subscription(SubscriptionFacts),
    /// `customer.subscription.deleted`.
    Deleted(SubscriptionFacts),
    /// `invoice.paid` for this subscription.
    InvoicePaid { subscription_id: String },
    /// `invoice.payment_failed` for this subscription.
    PaymentFailed { subscription_id: String },
}

/// A Stripe event that concerns a subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Unix seconds when Stripe made the event.
    pub created: i64,
    pub change: EventChange,
}

/// What an event does to a household's subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// Store this; `payment_failed` tells the owners.
    Changed { subscription: Subscription, payment_failed: bool },
    /// Acknowledged and left alone, for this reason.
    Ignored(&'static str),
}

/// How `event` changes `current`. Events about the household's subscription apply unless
/// an event made later (by `created`) already did; a new subscription takes the place of one
/// that ended; events about any other subscription are ignored.
pub fn apply_event(current: &Subscription, event: &Event) -> Applied {
    let about = match &event.change {
        EventChange::Subscription(f) | EventChange::Deleted(f) => f.id.as_str(),
        EventChange::InvoicePaid { subscription_id } | EventChange::PaymentFailed { subscription_id } => {
            subscription_id.as_str()
        }
    };
    let same = current.subscription_id.as_deref() == Some(about);
    if same && current.last_event_at.is_some_and(|last| event.created < last) {
        return Applied::Ignored("an event newer than this one was already applied");
    }
    let stamped = |mut s: Subscription| {
        s.last_event_at = Some(event.created.max(s.last_event_at.unwrap_or(i64::MIN)));
        s
    };
    match &event.change {
        EventChange::Subscription(facts) => {
            if !same && current.is_live() {
                return Applied::Ignored("the household has another subscription");
            }
            Applied::Changed { subscription: stamped(current.with_facts(facts)), payment_failed: false }
        }
        EventChange::Deleted(facts) => {
            if !same {
                return Applied::Ignored("not the household's subscription");
            }
            let mut ended = current.with_facts(facts);
            ended.status = SubscriptionStatus::Canceled;
            Applied::Changed { subscription: stamped(ended), payment_failed: false }
        }
        EventChange::InvoicePaid { .. } => {
            if !same {
                return Applied::Ignored("not the household's subscription");
            }
            if current.status.is_ended() {
                return Applied::Ignored("the subscription has ended");
            }
            let mut paid = current.clone();
            paid.status = SubscriptionStatus::Active;
            Applied::Changed { subscription: stamped(paid), payment_failed: false }
        }
        EventChange::PaymentFailed { .. } => {
            if !same {
                return Applied::Ignored("not the household's subscription");
            }
            if current.status.is_ended() {
                return Applied::Ignored("the subscription has ended");
            }
            let mut due = current.clone();
            due.status = SubscriptionStatus::PastDue;
            Applied::Changed { subscription: stamped(due), payment_failed: true }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-03-01 12:00 UTC);

    fn premium(status: SubscriptionStatus) -> Subscription {
        Subscription {
            subscription_id: Some("sub_1".into()),
            customer_id: Some("cus_1".into()),
            tier: Tier::Premium,
            status,
            period: Some(BillingPeriod::Monthly),
            current_period_start: Some(NOW - Duration::days(20)),
            current_period_end: Some(NOW + Duration::days(10)),
            last_event_at: Some(1_000),
            version: 3,
            ..Subscription::none(HouseholdId::new())
        }
    }

    fn facts(id: &str, status: SubscriptionStatus) -> SubscriptionFacts {
        SubscriptionFacts {
            id: id.into(),
            customer_id: Some("cus_1".into()),
            status,
            tier: Some(Tier::Premium),
            period: Some(BillingPeriod::Monthly),
            current_period_start: Some(NOW),
            current_period_end: Some(NOW + Duration::days(30)),
            cancel_at_period_end: false,
        }
    }

    #[test]
    fn tiers_have_the_contracts_limits() {
        let free = Tier::Free.limits();
        assert_eq!((free.pets, free.health_records, free.storage_bytes), (Some(3), Some(100), Some(500 * MB)));
        assert!(!free.calendar_feed && !free.advanced_reports && !free.priority_support);
        let premium = Tier::Premium.limits();
        assert_eq!((premium.pets, premium.health_records), (Some(10), None));
        assert_eq!(size_text(premium.storage_bytes.unwrap()), "10 GB");
        assert!(premium.calendar_feed && premium.advanced_reports && premium.priority_support);
        let enterprise = Tier::Enterprise.limits();
        assert_eq!((enterprise.pets, enterprise.health_records, enterprise.storage_bytes), (None, None, None));
    }

    #[test]
    fn billing_off_is_enterprise_and_no_subscription_is_free() {
        assert_eq!(effective_tier(false, None, NOW), Tier::Enterprise);
        assert_eq!(effective_tier(false, Some(&Subscription::none(HouseholdId::new())), NOW), Tier::Enterprise);
        assert_eq!(effective_tier(true, None, NOW), Tier::Free);
        assert_eq!(effective_tier(true, Some(&premium(SubscriptionStatus::Active)), NOW), Tier::Premium);
        assert_eq!(effective_tier(true, Some(&premium(SubscriptionStatus::Trialing)), NOW), Tier::Premium);
        for ended in [SubscriptionStatus::Canceled, SubscriptionStatus::Unpaid, SubscriptionStatus::Incomplete] {
            assert_eq!(effective_tier(true, Some(&premium(ended)), NOW), Tier::Free, "{ended}");
        }
    }

    #[test]
    fn past_due_keeps_the_tier_until_seven_days_after_the_period() {
        let s = premium(SubscriptionStatus::PastDue);
        let end = s.current_period_end.unwrap();
        assert_eq!(s.effective_tier(end), Tier::Premium);
        assert_eq!(s.effective_tier(end + Duration::days(7)), Tier::Premium);
        assert_eq!(s.effective_tier(end + Duration::days(7) + Duration::seconds(1)), Tier::Free);
        assert_eq!(s.grace_ends(), Some(end + GRACE));
        assert_eq!(premium(SubscriptionStatus::Active).grace_ends(), None);
    }

    #[test]
    fn limits_count_what_is_held_plus_what_is_added() {
        let usage = Usage { pets: 3, health_records: 99, storage_bytes: 500 * MB - 10 };
        let refused = check_limit(Tier::Free, Limited::Pets, &usage, 1).unwrap_err();
        assert_eq!(refused.to_string(), "Your plan allows up to 3 pets");
        assert!(check_limit(Tier::Premium, Limited::Pets, &usage, 1).is_ok());
        assert!(check_limit(Tier::Free, Limited::HealthRecords, &usage, 1).is_ok());
        let refused = check_limit(Tier::Free, Limited::Storage, &usage, 11).unwrap_err();
        assert_eq!(refused.to_string(), "Your plan allows up to 500 MB of files");
        assert!(check_limit(Tier::Free, Limited::Storage, &usage, 10).is_ok());
        let refused = check_limit(Tier::Free, Limited::CalendarFeed, &usage, 0).unwrap_err();
        assert_eq!(refused.to_string(), "Premium subscription required for this feature");
        assert!(check_limit(Tier::Premium, Limited::CalendarFeed, &usage, 0).is_ok());
        let many = Usage { pets: 1_000, health_records: 1_000_000, storage_bytes: u64::MAX };
        for what in [Limited::Pets, Limited::HealthRecords, Limited::Storage, Limited::AdvancedReports] {
            assert!(check_limit(Tier::Enterprise, what, &many, 1).is_ok());
        }
    }

    #[test]
    fn an_upgrade_names_every_bad_field() {
        let ok = Upgrade::parse("premium", "yearly", " pm_card_visa ").unwrap();
        assert_eq!(
            (ok.tier, ok.period, ok.payment_method_id.as_str()),
            (Tier::Premium, BillingPeriod::Yearly, "pm_card_visa")
        );
        let err = Upgrade::parse("free", "weekly", "").unwrap_err();
        let fields: Vec<_> = err.0.iter().map(|e| (e.field.as_str(), e.rule)).collect();
        assert_eq!(fields, [("tier", "one_of"), ("billing_period", "one_of"), ("payment_method_id", "required")]);
        assert_eq!(Upgrade::parse("gold", "monthly", "pm_x y").unwrap_err().0.len(), 2);
    }

    /// A stand-in MAC: the real one is HMAC-SHA256 (checked against Stripe's vector in petty-app).
    fn mac(t: &str) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (i, b) in t.bytes().enumerate() {
            out[i % 32] ^= b;
        }
        out
    }

    fn hex(bytes: &[u8; 32]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn a_signature_needs_the_header_a_matching_v1_and_a_fresh_timestamp() {
        let good = hex(&mac("1700000000"));
        let header = format!("t=1700000000,v1={}", "0".repeat(64)) + &format!(",v1={good}");
        assert_eq!(verify_signature(Some(&header), 1_700_000_000, mac), Ok(1_700_000_000));
        assert_eq!(verify_signature(Some(&header), 1_700_000_300, mac), Ok(1_700_000_000));
        assert_eq!(verify_signature(Some(&header), 1_699_999_700, mac), Ok(1_700_000_000));
        assert_eq!(verify_signature(Some(&header), 1_700_000_301, mac), Err(SignatureError::OutsideTolerance));
        assert_eq!(verify_signature(None, 1_700_000_000, mac), Err(SignatureError::Missing));
        assert_eq!(verify_signature(Some("  "), 1_700_000_000, mac), Err(SignatureError::Missing));
        for bad in [
            format!("t=1700000001,v1={good}"),
            format!("v1={good}"),
            "t=1700000000".to_owned(),
            format!("t=1700000000,v0={good}"),
            format!("t=1700000000,v1={}{}", &good[..63], if good.ends_with('0') { "1" } else { "0" }),
            format!("t=1700000000,v1={}g", &good[..63]),
            format!("t=1700000000,v1={}", &good[..62]),
        ] {
            assert_eq!(verify_signature(Some(&bad), 1_700_000_000, mac), Err(SignatureError::NoMatch), "{bad}");
        }
        // A bad signature is refused as such even when its time is also wrong.
        assert_eq!(verify_signature(Some(&format!("t=1,v1={good}")), 1_700_000_000, mac), Err(SignatureError::NoMatch));
        assert_eq!(SignatureError::Missing.message(), "Missing Stripe-Signature header");
    }

    #[test]
    fn events_apply_in_order_of_creation_per_subscription() {
        let current = premium(SubscriptionStatus::Active);
        let failed = Event { created: 1_500, change: EventChange::PaymentFailed { subscription_id: "sub_1".into() } };
        let Applied::Changed { subscription: due, payment_failed: true } = apply_event(&current, &failed) else {
            panic!("a failed payment applies");
        };
        assert_eq!((due.status, due.last_event_at, due.version), (SubscriptionStatus::PastDue, Some(1_500), 3));
        // An older invoice.paid does not undo it; one as new or newer does.
        let paid = |created| Event { created, change: EventChange::InvoicePaid { subscription_id: "sub_1".into() } };
        assert!(matches!(apply_event(&due, &paid(1_499)), Applied::Ignored(_)));
        let Applied::Changed { subscription: active, .. } = apply_event(&due, &paid(1_500)) else { panic!() };
        assert_eq!(active.status, SubscriptionStatus::Active);
        // Another subscription's events leave this one alone.
        let other = Event { created: 2_000, change: EventChange::PaymentFailed { subscription_id: "sub_2".into() } };
        assert!(matches!(apply_event(&current, &other), Applied::Ignored(_)));
        let other_created =
            Event { created: 2_000, change: EventChange::Subscription(facts("sub_2", SubscriptionStatus::Active)) };
        assert!(matches!(apply_event(&current, &other_created), Applied::Ignored(_)));
    }

    #[test]
    fn a_subscription_event_sets_status_period_and_cancellation_and_deletion_ends_it() {
        let current = premium(SubscriptionStatus::Active);
        let mut f = facts("sub_1", SubscriptionStatus::Active);
        f.cancel_at_period_end = true;
        let Applied::Changed { subscription: s, .. } =
            apply_event(&current, &Event { created: 1_200, change: EventChange::Subscription(f.clone()) })
        else {
            panic!()
        };
        assert!(s.cancel_at_period_end);
        assert_eq!(s.current_period_end, Some(NOW + Duration::days(30)));
        let stale =
            Event { created: 900, change: EventChange::Subscription(facts("sub_1", SubscriptionStatus::Unpaid)) };
        assert!(matches!(apply_event(&s, &stale), Applied::Ignored(_)));
        let Applied::Changed { subscription: ended, .. } =
            apply_event(&s, &Event { created: 1_300, change: EventChange::Deleted(f) })
        else {
            panic!()
        };
        assert_eq!((ended.status, ended.effective_tier(NOW)), (SubscriptionStatus::Canceled, Tier::Free));
        // After it ended, a new subscription takes its place, its own events counted afresh.
        let new = Event { created: 50, change: EventChange::Subscription(facts("sub_2", SubscriptionStatus::Active)) };
        let Applied::Changed { subscription: renewed, .. } = apply_event(&ended, &new) else { panic!() };
        assert_eq!((renewed.subscription_id.as_deref(), renewed.last_event_at), (Some("sub_2"), Some(50)));
        assert_eq!(renewed.effective_tier(NOW), Tier::Premium);
        // A household without a subscription adopts the first one Stripe tells of.
        let none = Subscription::none(HouseholdId::new());
        assert!(matches!(apply_event(&none, &new), Applied::Changed { .. }));
        assert!(matches!(
            apply_event(
                &none,
                &Event { created: 1, change: EventChange::InvoicePaid { subscription_id: "sub_2".into() } }
            ),
            Applied::Ignored(_)
        ));
    }
}
