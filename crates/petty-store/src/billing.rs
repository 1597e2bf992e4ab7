//! Billing: each household's subscription (written compare-and-set on its version, so a
//! webhook and an upgrade never overwrite each other's newer state) and the Stripe events
//! already applied (an event id is recorded once, in the same transaction as its change).

use petty_core::billing::{BillingPeriod, Subscription, SubscriptionStatus, Tier};
use petty_core::ids::HouseholdId;
use sqlx::FromRow;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{BeginWrite, Result, Store, StoreError, from_ms_opt, on_pool, to_ms};

#[derive(FromRow)]
struct SubscriptionRow {
    household_id: Uuid,
    customer_id: Option<String>,
    subscription_id: Option<String>,
    tier: String,
    status: String,
    period: Option<String>,
    current_period_start: Option<i64>,
    current_period_end: Option<i64>,
    cancel_at_period_end: bool,
    last_event_at: Option<i64>,
    version: i64,
}

impl SubscriptionRow {
    fn into_subscription(self) -> Result<Subscription> {
        let corrupt =
            |what: &str| StoreError::Corrupt(format!("subscription of household {}: {what}", self.household_id));
        Ok(Subscription {
            household_id: HouseholdId(self.household_id),
            tier: self.tier.parse::<Tier>().map_err(|_| corrupt("tier"))?,
            status: SubscriptionStatus::parse(&self.status).ok_or_else(|| corrupt("status"))?,
            period: self
                .period
                .as_deref()
                .map(str::parse::<BillingPeriod>)
                .transpose()
                .map_err(|_| corrupt("period"))?,
            current_period_start: from_ms_opt(self.current_period_start)?,
            current_period_end: from_ms_opt(self.current_period_end)?,
            customer_id: self.customer_id,
            subscription_id: self.subscription_id,
            cancel_at_period_end: self.cancel_at_period_end,
            last_event_at: self.last_event_at,
            version: self.version,
        })
    }
}

/// What became of a Stripe event handed to [`Store::record_billing_event`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventRecorded {
    /// Recorded, with its change to the subscription if it had one.
    Recorded,
    /// This event id was recorded before; nothing changed.
    Duplicate,
    /// The subscription changed since it was read; nothing was recorded: read it again and retry.
    Stale,
}

macro_rules! subscription_columns {
    () => {
        "household_id, customer_id, subscription_id, tier, status, period, current_period_start, current_period_end, \
         cancel_at_period_end, last_event_at, version"
    };
}

/// Writes `$s` over the row at version `$s.version` (inserting it when that is 0), as version
/// `$s.version + 1`; evaluates to the rows written (0 or 1).
macro_rules! write_subscription {
    ($executor:expr, $s:expr, $at:expr) => {{
        let s: &Subscription = $s;
        let sql = if s.version == 0 {
            "INSERT INTO billing_subscriptions (household_id, customer_id, subscription_id, tier, status, period, \
             current_period_start, current_period_end, cancel_at_period_end, last_event_at, version, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11 + 1, $12) ON CONFLICT (household_id) DO NOTHING"
        } else {
            "UPDATE billing_subscriptions SET customer_id = $2, subscription_id = $3, tier = $4, status = $5, \
             period = $6, current_period_start = $7, current_period_end = $8, cancel_at_period_end = $9, \
             last_event_at = $10, version = $11 + 1, updated_at = $12 WHERE household_id = $1 AND version = $11"
        };
        sqlx::query(sql)
            .bind(s.household_id.0)
            .bind(&s.customer_id)
            .bind(&s.subscription_id)
            .bind(s.tier.as_str())
            .bind(s.status.as_str())
            .bind(s.period.map(BillingPeriod::as_str))
            .bind(s.current_period_start.map(to_ms))
            .bind(s.current_period_end.map(to_ms))
            .bind(s.cancel_at_period_end)
            .bind(s.last_event_at)
            .bind(s.version)
            .bind($at)
            .execute($executor)
            .await?
            .rows_affected()
    }};
}

impl Store {
    /// The household's subscription; `None` if it never went to Stripe.
    #[tracing::instrument(level = "debug", skip_all, fields(household_id = %household_id))]
    pub async fn subscription(&self, household_id: HouseholdId) -> Result<Option<Subscription>> {
        let row: Option<SubscriptionRow> = on_pool!(read, self, |pool| {
            sqlx::query_as(concat!(
                "SELECT ",
                subscription_columns!(),
                " FROM billing_subscriptions WHERE household_id = $1"
            ))
            .bind(household_id.0)
            .fetch_optional(pool)
            .await?
        });
        row.map(SubscriptionRow::into_subscription).transpose()
    }

    /// Writes `s` if the stored row is still at `s.version` (0: there is none yet). Answers
    /// whether it was written; `false` means someone wrote first: read it again.
    #[tracing::instrument(level = "debug", skip_all, fields(household_id = %s.household_id))]
    pub async fn save_subscription(&self, s: &Subscription, now: OffsetDateTime) -> Result<bool> {
        let at = to_ms(now);
        let written = on_pool!(write, self, |pool| write_subscription!(pool, s, at));
        Ok(written == 1)
    }

    /// The household whose Stripe customer this is.
    pub async fn household_of_customer(&self, customer_id: &str) -> Result<Option<HouseholdId>> {
        let id: Option<Uuid> = on_pool!(read, self, |pool| {
            sqlx::query_scalar("SELECT household_id FROM billing_subscriptions WHERE customer_id = $1")
                .bind(customer_id)
                .fetch_optional(pool)
                .await?
        });
        Ok(id.map(HouseholdId))
    }

    /// Whether a Stripe event id was recorded already.
    pub async fn billing_event_seen(&self, event_id: &str) -> Result<bool> {
        let n: i64 = on_pool!(read, self, |pool| {
            sqlx::query_scalar("SELECT COUNT(*) FROM billing_events WHERE event_id = $1")
                .bind(event_id)
                .fetch_one(pool)
                .await?
        });
        Ok(n > 0)
    }

    /// Records Stripe event `event_id` (of type `kind`, for `household_id` if it names one) and,
    /// in the same transaction, writes `change` compare-and-set as [`Store::save_subscription`]
    /// does: both happen or neither. A second call with the same id changes nothing.
    #[tracing::instrument(level = "debug", skip_all, fields(event_id = %event_id))]
    pub async fn record_billing_event(
        &self,
        event_id: &str,
        kind: &str,
        household_id: Option<HouseholdId>,
        change: Option<&Subscription>,
        now: OffsetDateTime,
    ) -> Result<EventRecorded> {
        let at = to_ms(now);
        let outcome = on_pool!(write, self, |pool| {
            let mut tx = pool.begin_write().await?;
            let inserted = sqlx::query(
                "INSERT INTO billing_events (event_id, household_id, type, received_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (event_id) DO NOTHING",
            )
            .bind(event_id)
            .bind(household_id.map(|h| h.0))
            .bind(kind)
            .bind(at)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if inserted == 0 {
                tx.rollback().await?;
                EventRecorded::Duplicate
            } else {
                let written = match change {
                    Some(s) => write_subscription!(&mut *tx, s, at),
                    None => 1,
                };
                if written == 1 {
                    tx.commit().await?;
                    EventRecorded::Recorded
                } else {
                    tx.rollback().await?;
                    EventRecorded::Stale
                }
            }
        });
        Ok(outcome)
    }
}
