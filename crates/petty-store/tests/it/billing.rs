//! Billing on both engines: a household's subscription written compare-and-set (a writer that
//! read an older row changes nothing), found by its Stripe customer, and Stripe events
//! recorded once with their change (a replay or a stale change leaves everything as it was).

use petty_core::billing::{BillingPeriod, Subscription, SubscriptionStatus, Tier};
use petty_store::{EventRecorded, StoreError};
use time::Duration;

use crate::fixtures::{T0, at, owner};
use crate::harness::store_test;

store_test!(a_subscription_is_written_compare_and_set_and_stays_in_its_household, |store| async move {
    let (_, home) = owner(&store, "ana@example.org").await;
    let (_, other) = owner(&store, "eve@example.org").await;
    assert_eq!(store.subscription(home.household_id).await.unwrap(), None);

    let mut s = Subscription::none(home.household_id);
    s.customer_id = Some("cus_ana".into());
    assert!(store.save_subscription(&s, T0).await.unwrap());
    assert!(!store.save_subscription(&s, T0).await.unwrap(), "a second insert from the same read loses");
    let stored = store.subscription(home.household_id).await.unwrap().expect("stored");
    assert_eq!((stored.version, stored.customer_id.as_deref(), stored.tier), (1, Some("cus_ana"), Tier::Free));

    let premium = Subscription {
        subscription_id: Some("sub_ana".into()),
        tier: Tier::Premium,
        status: SubscriptionStatus::Active,
        period: Some(BillingPeriod::Yearly),
        current_period_start: Some(T0),
        current_period_end: Some(T0 + Duration::days(365)),
        cancel_at_period_end: true,
        last_event_at: Some(1_700_000_000),
        ..stored.clone()
    };
    assert!(store.save_subscription(&premium, at(1)).await.unwrap());
    assert!(!store.save_subscription(&premium, at(2)).await.unwrap(), "written from a stale version");
    let read = store.subscription(home.household_id).await.unwrap().unwrap();
    assert_eq!(read, Subscription { version: 2, ..premium }, "every field survives the round trip");

    assert_eq!(store.household_of_customer("cus_ana").await.unwrap(), Some(home.household_id));
    assert_eq!(store.household_of_customer("cus_nobody").await.unwrap(), None);
    assert_eq!(store.subscription(other.household_id).await.unwrap(), None, "another household has none");
    // A customer belongs to one household.
    let mut theirs = Subscription::none(other.household_id);
    theirs.customer_id = Some("cus_ana".into());
    assert!(matches!(store.save_subscription(&theirs, T0).await, Err(StoreError::Conflict(_))));
});

store_test!(an_event_is_recorded_once_with_its_change_or_not_at_all, |store| async move {
    let (_, home) = owner(&store, "ana@example.org").await;
    let household = Some(home.household_id);
    let mut s = Subscription::none(home.household_id);
    s.customer_id = Some("cus_ana".into());
    s.subscription_id = Some("sub_ana".into());
    s.tier = Tier::Premium;
    assert!(store.save_subscription(&s, T0).await.unwrap());
    let current = store.subscription(home.household_id).await.unwrap().unwrap();

    let due = Subscription { status: SubscriptionStatus::PastDue, last_event_at: Some(10), ..current.clone() };
    let recorded = store.record_billing_event("evt_1", "invoice.payment_failed", household, Some(&due), at(1)).await;
    assert_eq!(recorded.unwrap(), EventRecorded::Recorded);
    assert!(store.billing_event_seen("evt_1").await.unwrap());
    let after = store.subscription(home.household_id).await.unwrap().unwrap();
    assert_eq!((after.status, after.version), (SubscriptionStatus::PastDue, 2));

    // The same event again: nothing changes, even with another change attached.
    let paid = Subscription { status: SubscriptionStatus::Active, ..after.clone() };
    let again = store.record_billing_event("evt_1", "invoice.payment_failed", household, Some(&paid), at(2)).await;
    assert_eq!(again.unwrap(), EventRecorded::Duplicate);
    assert_eq!(store.subscription(home.household_id).await.unwrap().unwrap(), after);

    // A change made from an older read records nothing, so the event can be tried again.
    let stale = Subscription { status: SubscriptionStatus::Active, ..current };
    let recorded = store.record_billing_event("evt_2", "invoice.paid", household, Some(&stale), at(3)).await;
    assert_eq!(recorded.unwrap(), EventRecorded::Stale);
    assert!(!store.billing_event_seen("evt_2").await.unwrap(), "a stale change leaves no record");
    let recorded = store.record_billing_event("evt_2", "invoice.paid", household, Some(&paid), at(3)).await;
    assert_eq!(recorded.unwrap(), EventRecorded::Recorded);
    assert_eq!(store.subscription(home.household_id).await.unwrap().unwrap().status, SubscriptionStatus::Active);

    // Events for nobody known are recorded too (acknowledged once, then recognised).
    let unknown = store.record_billing_event("evt_3", "charge.refunded", None, None, at(4)).await;
    assert_eq!(unknown.unwrap(), EventRecorded::Recorded);
    assert_eq!(
        store.record_billing_event("evt_3", "charge.refunded", None, None, at(5)).await.unwrap(),
        EventRecorded::Duplicate
    );
});
