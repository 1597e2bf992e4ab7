//! Billing over HTTP against a wire-level fake of Stripe (`fake_stripe.rs`): what an upgrade
//! sends and answers and the limits it lifts; a declined card (402), Stripe failing or not
//! answering (502), each changing nothing; cancelling at the period's end and at once; the
//! webhook's signatures refused in the contract's words, each event applied once and never an
//! older one over a newer, a failed payment making the subscription past due with the owner
//! told and the 7-day grace running out; the fourth pet of a free household refused naming the
//! limit, a downgrade deleting nothing; and billing off: everything included, upgrade refused.
//! The Plan page does the same through its forms.

use std::time::Duration;

use petty_core::alarm::Channel;
use petty_core::ids::HouseholdId;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use crate::fake_stripe::{self, DECLINED_CARD, FakeStripe, GOOD_CARD, SECRET_KEY, WEBHOOK_SECRET};
use crate::harness::{Account, TestApp, error_code, spawn_app, spawn_app_with};

async fn billed(fake: &FakeStripe) -> TestApp {
    let settings = fake.settings(Duration::from_secs(1));
    spawn_app_with(move |c| c.billing = settings).await
}

async fn get(app: &TestApp, path: &str, token: &str) -> (StatusCode, Value) {
    let res = app.get(path, Some(token)).await;
    (res.status(), res.json().await.unwrap_or(Value::Null))
}

async fn post(app: &TestApp, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
    let res = app.post_json(path, &body, Some(token)).await;
    (res.status(), res.json().await.unwrap_or(Value::Null))
}

async fn upgrade(app: &TestApp, who: &Account, card: &str) -> (StatusCode, Value) {
    let body = json!({"tier": "premium", "billing_period": "monthly", "payment_method_id": card});
    post(app, "/api/v1/billing/upgrade", &who.access_token, body).await
}

async fn billing(app: &TestApp, who: &Account) -> Value {
    let (status, body) = get(app, "/api/v1/billing", &who.access_token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// The app's time as unix seconds (tests move the app's clock).
fn now(app: &TestApp) -> i64 {
    app.state.app.now().unix_timestamp()
}

/// Posts `event` to the webhook, signed as Stripe would at the app's time (or with `header`).
async fn webhook(app: &TestApp, event: &Value, header: Option<String>) -> (StatusCode, Value) {
    let body = event.to_string();
    let header = header.unwrap_or_else(|| fake_stripe::signature(WEBHOOK_SECRET, now(app), &body));
    let res = app
        .client
        .post(app.url("/api/v1/billing/stripe/webhook"))
        .header("content-type", "application/json")
        .header("stripe-signature", header)
        .body(body)
        .send()
        .await
        .unwrap();
    (res.status(), res.json().await.unwrap_or(Value::Null))
}

fn event(id: &str, kind: &str, created: i64, object: Value) -> Value {
    json!({"id": id, "object": "event", "type": kind, "created": created, "livemode": false,
        "api_version": "2024-06-20", "data": {"object": object}})
}

async fn create_pets(app: &TestApp, who: &Account, n: usize) -> Vec<StatusCode> {
    let mut out = Vec::new();
    for i in 0..n {
        let res = app
            .post_json("/api/v1/pets", &json!({"name": format!("Pet {i}"), "species": "cat"}), Some(&who.access_token))
            .await;
        out.push(res.status());
    }
    out
}

#[tokio::test]
async fn an_upgrade_sends_stripe_what_it_needs_and_lifts_the_limits() {
    let fake = fake_stripe::stripe().await;
    let app = billed(&fake).await;
    let ana = app.register("Ana").await;
    let before = billing(&app, &ana).await;
    assert_eq!((before["billing_enabled"].as_bool(), before["tier"].as_str()), (Some(true), Some("free")));
    assert_eq!(before["features"]["max_pets"], 3, "{before}");
    assert_eq!(before["features"]["calendar_sync"], false);
    assert_eq!(before["subscribed_tier"], Value::Null);

    let (status, body) = upgrade(&app, &ana, GOOD_CARD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let subscription_id = body["subscription_id"].as_str().expect("a subscription id").to_owned();
    assert!(subscription_id.starts_with("sub_"), "{body}");
    assert_eq!((body["status"].as_str(), body["tier"].as_str()), (Some("active"), Some("premium")));
    assert_eq!((body["amount"].as_f64(), body["currency"].as_str()), (Some(9.99), Some("USD")));
    let stripe_end = fake.subscription(&subscription_id)["current_period_end"].as_i64().unwrap();
    let next = time::OffsetDateTime::from_unix_timestamp(stripe_end).unwrap().date();
    assert_eq!(body["next_billing_date"], petty_core::pets::format_date(next));

    // What Petty sent: a customer, the card attached to it, the subscription; form-encoded,
    // with the secret key and an idempotency key on each.
    let sent = fake.requests();
    let calls: Vec<(&str, &str)> = sent.iter().map(|r| (r.method.as_str(), r.path.as_str())).collect();
    assert_eq!(
        calls,
        [("POST", "/v1/customers"), ("POST", "/v1/payment_methods/pm_card_visa/attach"), ("POST", "/v1/subscriptions")]
    );
    for r in &sent {
        assert_eq!(r.authorization.as_deref(), Some(format!("Bearer {SECRET_KEY}").as_str()));
        assert!(r.content_type.as_deref().is_some_and(|t| t.starts_with("application/x-www-form-urlencoded")), "{r:?}");
        assert!(r.idempotency_key.as_deref().is_some_and(|k| k.len() >= 16), "{r:?}");
    }
    let keys: std::collections::BTreeSet<_> = sent.iter().map(|r| r.idempotency_key.clone()).collect();
    assert_eq!(keys.len(), 3, "each call has its own key");
    assert_eq!(sent[0].form.get("email"), Some(&ana.email));
    assert_eq!(sent[0].form.get("metadata[household_id]"), Some(&ana.household_id));
    let customer = fake.subscription(&subscription_id)["customer"].as_str().unwrap().to_owned();
    assert_eq!(sent[1].form.get("customer"), Some(&customer));
    let s = &sent[2].form;
    assert_eq!(s.get("customer"), Some(&customer));
    assert_eq!(s.get("items[0][price]").map(String::as_str), Some("price_premium_monthly"));
    assert_eq!(s.get("default_payment_method").map(String::as_str), Some(GOOD_CARD));
    assert_eq!(s.get("payment_behavior").map(String::as_str), Some("error_if_incomplete"));
    assert_eq!(s.get("metadata[household_id]"), Some(&ana.household_id));

    // The household is premium now, with premium's limits.
    let after = billing(&app, &ana).await;
    assert_eq!((after["tier"].as_str(), after["subscribed_tier"].as_str()), (Some("premium"), Some("premium")));
    assert_eq!((after["status"].as_str(), after["billing_period"].as_str()), (Some("active"), Some("monthly")));
    assert_eq!(after["features"]["max_pets"], 10);
    assert_eq!(after["features"]["max_health_records"], Value::Null, "unlimited");
    assert_eq!(after["features"]["calendar_sync"], true);
    assert!(create_pets(&app, &ana, 5).await.iter().all(|s| *s == StatusCode::CREATED), "premium allows more than 3");
    assert_eq!(billing(&app, &ana).await["usage"]["pets_count"], 5);
    // A second subscription is refused while this one lives.
    let (status, body) = upgrade(&app, &ana, GOOD_CARD).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(fake.requests().len(), 3, "nothing more was sent to Stripe");
}

#[tokio::test]
async fn a_declined_card_is_a_402_with_stripes_message_and_changes_nothing() {
    let fake = fake_stripe::stripe().await;
    let app = billed(&fake).await;
    let ana = app.register("Ana").await;
    let before = billing(&app, &ana).await;
    let (status, body) = upgrade(&app, &ana, DECLINED_CARD).await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED, "{body}");
    assert_eq!(body["error"]["code"], "payment_failed");
    assert_eq!(body["error"]["message"], "Your card was declined.");
    assert_eq!(billing(&app, &ana).await, before, "the plan is as it was");
    assert_eq!(create_pets(&app, &ana, 4).await.last(), Some(&StatusCode::FORBIDDEN), "still free");

    // With a card that works it goes through, and the household's customer is not made twice.
    let (status, body) = upgrade(&app, &ana, GOOD_CARD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let customers = fake.requests().iter().filter(|r| r.path == "/v1/customers").count();
    assert_eq!(customers, 1, "one customer per household");
}

#[tokio::test]
async fn stripe_failing_or_not_answering_is_a_502_and_changes_nothing() {
    let fake = fake_stripe::stripe().await;
    let app = billed(&fake).await;
    let ana = app.register("Ana").await;
    let before = billing(&app, &ana).await;

    fake.fail_next("/v1/subscriptions");
    let (status, body) = upgrade(&app, &ana, GOOD_CARD).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    assert_eq!(body["error"]["code"], "payment_provider_error");
    assert_eq!(billing(&app, &ana).await, before);

    fake.hang_next("/v1/subscriptions");
    let started = std::time::Instant::now();
    let (status, body) = upgrade(&app, &ana, GOOD_CARD).await;
    let waited = started.elapsed();
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    assert!(waited >= Duration::from_millis(900) && waited < Duration::from_secs(5), "gave up after {waited:?}");
    assert_eq!(billing(&app, &ana).await, before);

    fake.hang_next("/v1/customers");
    let bo = app.register("Bo").await;
    let (status, _) = upgrade(&app, &bo, GOOD_CARD).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "a hang at the first call is no different");
    assert_eq!(billing(&app, &bo).await["tier"], "free");

    let (status, body) = upgrade(&app, &ana, GOOD_CARD).await;
    assert_eq!(status, StatusCode::OK, "once Stripe answers again: {body}");
}

#[tokio::test]
async fn cancelling_at_the_periods_end_keeps_the_tier_and_cancelling_now_ends_it() {
    let fake = fake_stripe::stripe().await;
    let app = billed(&fake).await;
    let ana = app.register("Ana").await;
    let (status, body) = post(&app, "/api/v1/billing/cancel", &ana.access_token, json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "nothing to cancel: {body}");
    let (_, up) = upgrade(&app, &ana, GOOD_CARD).await;
    let id = up["subscription_id"].as_str().unwrap().to_owned();

    let (status, body) = post(&app, "/api/v1/billing/cancel", &ana.access_token, json!({"at_period_end": true})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!((body["tier"].as_str(), body["status"].as_str()), (Some("premium"), Some("active")));
    assert_eq!(body["cancel_at_period_end"], true);
    let last = fake.requests().pop().unwrap();
    assert_eq!((last.method.as_str(), last.path.as_str()), ("POST", format!("/v1/subscriptions/{id}").as_str()));
    assert_eq!(last.form.get("cancel_at_period_end").map(String::as_str), Some("true"));
    assert!(last.idempotency_key.is_some() && last.authorization.is_some());
    assert_eq!(fake.subscription(&id)["cancel_at_period_end"], true);

    let (status, body) = post(&app, "/api/v1/billing/cancel", &ana.access_token, json!({"at_period_end": false})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!((body["tier"].as_str(), body["status"].as_str()), (Some("free"), Some("canceled")));
    let last = fake.requests().pop().unwrap();
    assert_eq!((last.method.as_str(), last.path.as_str()), ("DELETE", format!("/v1/subscriptions/{id}").as_str()));
    assert_eq!(fake.subscription(&id)["status"], "canceled");
    // A new subscription may follow the one that ended.
    assert_eq!(upgrade(&app, &ana, GOOD_CARD).await.0, StatusCode::OK);
    // The household's audit log names who did each, and no card.
    let (_, log) = get(&app, "/api/v1/audit?entity_type=subscription", &ana.access_token).await;
    let seen: Vec<(&str, &str)> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["action"].as_str().unwrap(), e["actor_kind"].as_str().unwrap()))
        .collect();
    assert_eq!(seen, [("subscribe", "user"), ("cancel", "user"), ("cancel", "user"), ("subscribe", "user")], "{log}");
    assert_eq!(log["items"][1]["detail"], json!({"at_period_end": false}));
    assert!(!log.to_string().contains(GOOD_CARD), "{log}");
}

#[tokio::test]
async fn webhook_signatures_are_refused_in_the_contracts_words_and_nothing_is_applied() {
    let fake = fake_stripe::stripe().await;
    let app = billed(&fake).await;
    let ana = app.register("Ana").await;
    let (_, up) = upgrade(&app, &ana, GOOD_CARD).await;
    let sub = up["subscription_id"].as_str().unwrap();
    let customer = fake.subscription(sub)["customer"].clone();
    let invoice = json!({"object": "invoice", "subscription": sub, "customer": customer});
    let failed = event("evt_sig", "invoice.payment_failed", now(&app), invoice);
    let body = failed.to_string();

    let res = app
        .client
        .post(app.url("/api/v1/billing/stripe/webhook"))
        .header("content-type", "application/json")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    let (status, error) = error_code(res).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_signature")));
    assert_eq!(error["message"], "Missing Stripe-Signature header");

    let t = now(&app);
    let no_match = "No signatures found matching the expected signature for payload";
    for header in [
        fake_stripe::signature("whsec_someone_else", t, &body),
        fake_stripe::signature(WEBHOOK_SECRET, t, &body.replace("evt_sig", "evt_sig2")),
        format!("t={t},v1=zz"),
        format!("t={t}"),
    ] {
        let (status, answer) = webhook(&app, &failed, Some(header.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{header}: {answer}");
        assert_eq!(answer["error"]["message"], no_match, "{header}");
    }
    for t in [now(&app) - 301, now(&app) + 301] {
        let (status, answer) = webhook(&app, &failed, Some(fake_stripe::signature(WEBHOOK_SECRET, t, &body))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
        assert_eq!(answer["error"]["message"], "Timestamp outside the tolerance zone");
    }
    // Within the tolerance, and with a second v1 that matches, it is taken.
    let old_but_fresh = fake_stripe::signature(WEBHOOK_SECRET, now(&app) - 250, &body);
    let two = format!("{},v1={}", old_but_fresh, "0".repeat(64));
    assert_eq!(billing(&app, &ana).await["status"], "active", "no refused event was applied");
    let (status, answer) = webhook(&app, &failed, Some(two)).await;
    assert_eq!((status, answer), (StatusCode::OK, json!({"received": true})), "refusals did not record the event");
    assert_eq!(billing(&app, &ana).await["status"], "past_due");
}

#[tokio::test]
async fn each_event_is_applied_once_and_never_an_older_one_over_a_newer() {
    let fake = fake_stripe::stripe().await;
    let app = billed(&fake).await;
    let ana = app.register("Ana").await;
    let (_, up) = upgrade(&app, &ana, GOOD_CARD).await;
    let id = up["subscription_id"].as_str().unwrap().to_owned();
    let mut object = fake.subscription(&id);
    let t = now(&app);

    object["cancel_at_period_end"] = json!(true);
    let updated = event("evt_upd", "customer.subscription.updated", t, object.clone());
    let (status, answer) = webhook(&app, &updated, None).await;
    assert_eq!((status, answer), (StatusCode::OK, json!({"received": true})));
    assert_eq!(billing(&app, &ana).await["cancel_at_period_end"], true);
    // A replay is acknowledged as such and changes nothing, even after the state moved on.
    object["cancel_at_period_end"] = json!(false);
    let undo = event("evt_undo", "customer.subscription.updated", t + 5, object.clone());
    assert_eq!(webhook(&app, &undo, None).await.0, StatusCode::OK);
    assert_eq!(billing(&app, &ana).await["cancel_at_period_end"], false);
    let (status, answer) = webhook(&app, &updated, None).await;
    assert_eq!((status, answer), (StatusCode::OK, json!({"received": true, "duplicate": true})));
    assert_eq!(billing(&app, &ana).await["cancel_at_period_end"], false, "the replay was not applied again");

    // An event made before the newest applied one is acknowledged and ignored.
    object["status"] = json!("unpaid");
    let stale = event("evt_stale", "customer.subscription.updated", t - 60, object.clone());
    assert_eq!(webhook(&app, &stale, None).await, (StatusCode::OK, json!({"received": true})));
    assert_eq!(billing(&app, &ana).await["status"], "active");

    // Unknown event types and households are acknowledged and change nothing.
    let other = event("evt_other", "charge.refunded", t + 10, json!({"object": "charge", "customer": "cus_fake0001"}));
    assert_eq!(webhook(&app, &other, None).await, (StatusCode::OK, json!({"received": true})));
    let mut stranger = object.clone();
    stranger["id"] = json!("sub_stranger");
    stranger["customer"] = json!("cus_stranger");
    stranger["metadata"] = json!({"household_id": HouseholdId::new().to_string()});
    let nobody = event("evt_nobody", "customer.subscription.deleted", t + 10, stranger);
    assert_eq!(webhook(&app, &nobody, None).await, (StatusCode::OK, json!({"received": true})));
    assert_eq!(billing(&app, &ana).await["tier"], "premium");

    // The household's subscription deleted at Stripe: found by its customer without metadata.
    let mut gone = fake.subscription(&id);
    gone["status"] = json!("canceled");
    gone["metadata"] = json!({});
    let deleted = event("evt_del", "customer.subscription.deleted", t + 20, gone);
    assert_eq!(webhook(&app, &deleted, None).await, (StatusCode::OK, json!({"received": true})));
    let after = billing(&app, &ana).await;
    assert_eq!((after["status"].as_str(), after["tier"].as_str()), (Some("canceled"), Some("free")));
    // Each applied event is in the audit log as Petty's own change; ignored ones are not.
    let (_, log) = get(&app, "/api/v1/audit?entity_type=subscription", &ana.access_token).await;
    let events: Vec<&str> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["actor_kind"] == "system")
        .map(|e| e["detail"]["event_id"].as_str().unwrap())
        .collect();
    assert_eq!(events, ["evt_del", "evt_undo", "evt_upd"], "{log}");
}

#[tokio::test]
async fn a_failed_payment_is_past_due_tells_the_owner_and_after_the_grace_the_household_is_free_with_nothing_deleted() {
    let fake = fake_stripe::stripe().await;
    let app = billed(&fake).await;
    let ana = app.register("Ana").await;
    let (_, up) = upgrade(&app, &ana, GOOD_CARD).await;
    let id = up["subscription_id"].as_str().unwrap().to_owned();
    assert!(create_pets(&app, &ana, 5).await.iter().all(|s| *s == StatusCode::CREATED));
    let period_end = fake.subscription(&id)["current_period_end"].as_i64().unwrap();

    let failed = event(
        "evt_fail",
        "invoice.payment_failed",
        now(&app),
        json!({"id": "in_1", "object": "invoice",
        "customer": fake.subscription(&id)["customer"], "subscription": id, "billing_reason": "subscription_cycle"}),
    );
    assert_eq!(webhook(&app, &failed, None).await, (StatusCode::OK, json!({"received": true})));
    let due = billing(&app, &ana).await;
    assert_eq!((due["status"].as_str(), due["tier"].as_str()), (Some("past_due"), Some("premium")));
    let grace = time::OffsetDateTime::from_unix_timestamp(period_end + 7 * 86_400).unwrap();
    assert_eq!(due["grace_ends_at"], petty_app::rfc3339::from_ms(petty_store::to_ms(grace)).unwrap());

    // The owner is told through the outbox, once.
    assert_eq!(webhook(&app, &failed, None).await.1["duplicate"], true);
    let household: HouseholdId = ana.household_id.parse().unwrap();
    let outbox = app.store.notifications(household, None, 50).await.unwrap();
    let told: Vec<_> = outbox.iter().filter(|n| n.idem_key.starts_with("billing:")).collect();
    assert_eq!(told.len(), 1, "{outbox:?}");
    assert_eq!((told[0].channel, told[0].recipient.as_str()), (Channel::Email, ana.email.as_str()));
    assert!(told[0].subject.contains("payment") && told[0].body.contains(&petty_core::pets::format_date(grace.date())));

    // Six days after the period the tier holds; eight days after, the household is free.
    let to_end = Duration::from_secs(u64::try_from(period_end - now(&app)).unwrap());
    app.state.app.clock.advance(to_end + Duration::from_secs(6 * 86_400));
    assert_eq!(billing(&app, &ana).await["tier"], "premium");
    assert_eq!(create_pets(&app, &ana, 1).await, [StatusCode::CREATED]);
    app.state.app.clock.advance(Duration::from_secs(2 * 86_400));
    let lapsed = billing(&app, &ana).await;
    assert_eq!((lapsed["tier"].as_str(), lapsed["subscribed_tier"].as_str()), (Some("free"), Some("premium")));
    // Nothing is deleted; only new pets are refused.
    let (_, pets) = get(&app, "/api/v1/pets", &ana.access_token).await;
    assert_eq!(pets["total"], 6, "a downgrade deletes nothing");
    let res =
        app.post_json("/api/v1/pets", &json!({"name": "One more", "species": "dog"}), Some(&ana.access_token)).await;
    let (status, error) = error_code(res).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::FORBIDDEN, Some("plan_limit_reached")));
    let (_, pets) = get(&app, "/api/v1/pets", &ana.access_token).await;
    assert_eq!(pets["total"], 6);

    // Paid at last (an event signed at the app's time): premium again.
    let invoice = json!({"object": "invoice", "subscription": id, "customer": fake.subscription(&id)["customer"]});
    let paid = event("evt_paid", "invoice.paid", now(&app), invoice);
    assert_eq!(webhook(&app, &paid, None).await, (StatusCode::OK, json!({"received": true})));
    assert_eq!(billing(&app, &ana).await["tier"], "premium");
}

#[tokio::test]
async fn the_fourth_pet_of_a_free_household_is_refused_naming_the_limit() {
    let fake = fake_stripe::stripe().await;
    let app = billed(&fake).await;
    let ana = app.register("Ana").await;
    assert_eq!(create_pets(&app, &ana, 3).await, [StatusCode::CREATED; 3]);
    let res =
        app.post_json("/api/v1/pets", &json!({"name": "Fourth", "species": "dog"}), Some(&ana.access_token)).await;
    let (status, error) = error_code(res).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(error["code"], "plan_limit_reached");
    assert!(error["message"].as_str().unwrap().starts_with("Your plan allows up to 3 pets"), "{error}");
    assert_eq!(error["details"][0]["field"], "pets");
    assert_eq!(error["details"][0]["rule"], "plan_limit");
    let (_, pets) = get(&app, "/api/v1/pets", &ana.access_token).await;
    assert_eq!(pets["total"], 3, "nothing was added");
    // Another household's pets are its own.
    let bo = app.register("Bo").await;
    assert_eq!(create_pets(&app, &bo, 1).await, [StatusCode::CREATED]);
    assert_eq!(fake.requests().len(), 0, "checking limits asks Stripe nothing");
}

#[tokio::test]
async fn a_free_household_keeps_100_health_records_and_has_no_calendar_feed() {
    let fake = fake_stripe::stripe().await;
    let app = billed(&fake).await;
    let ana = app.register("Ana").await;
    let t = &ana.access_token;
    let pet = app.create_pet(t, json!({"name": "Rex", "species": "dog"})).await;
    let path = format!("/api/v1/pets/{}/records", pet["id"].as_str().unwrap());
    for i in 0..100 {
        let (status, body) =
            post(&app, &path, t, json!({"kind": "visit", "title": format!("Visit {i}"), "date": "2025-01-01"})).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let res = app.post_json(&path, &json!({"kind": "visit", "title": "One more", "date": "2025-01-02"}), Some(t)).await;
    let (status, error) = error_code(res).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::FORBIDDEN, Some("plan_limit_reached")), "{error}");
    let (_, records) = get(&app, &path, t).await;
    assert_eq!(records["total"], 100, "nothing was added");
    let res = app.post_json("/api/v1/calendar/feed", &json!({}), Some(t)).await;
    let (status, error) = error_code(res).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::FORBIDDEN, Some("plan_limit_reached")), "{error}");
}

#[tokio::test]
async fn with_billing_off_everything_is_included_and_upgrade_is_refused() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    assert!(create_pets(&app, &ana, 5).await.iter().all(|s| *s == StatusCode::CREATED));
    let status = billing(&app, &ana).await;
    assert_eq!((status["billing_enabled"].as_bool(), status["tier"].as_str()), (Some(false), Some("enterprise")));
    assert_eq!(status["status"], "active");
    assert_eq!(status["current_period_end"], Value::Null);
    let features = &status["features"];
    for unlimited in ["max_pets", "max_health_records", "max_storage_bytes"] {
        assert_eq!(features[unlimited], Value::Null, "{unlimited}");
    }
    assert_eq!((features["calendar_sync"].as_bool(), features["advanced_reports"].as_bool()), (Some(true), Some(true)));
    assert_eq!(status["usage"]["pets_count"], 5);
    assert_eq!(status["plans"], json!([]));
    for (path, body) in [
        (
            "/api/v1/billing/upgrade",
            json!({"tier": "premium", "billing_period": "monthly", "payment_method_id": GOOD_CARD}),
        ),
        ("/api/v1/billing/cancel", json!({"at_period_end": true})),
    ] {
        let (status, body) = post(&app, path, &ana.access_token, body).await;
        assert_eq!(status, StatusCode::CONFLICT, "{path}: {body}");
        assert_eq!(body["error"]["code"], "billing_disabled");
        assert_eq!(body["error"]["message"], "Billing is not enabled on this server");
    }
    let event = event("evt_1", "invoice.paid", now(&app), json!({"object": "invoice"}));
    assert_eq!(webhook(&app, &event, None).await.1["error"]["code"], "billing_disabled");
    let res = app.client.post(app.url("/api/v1/billing/stripe/webhook")).body(event.to_string()).send().await.unwrap();
    let (status, error) = error_code(res).await;
    assert_eq!((status, error["message"].as_str()), (StatusCode::BAD_REQUEST, Some("Missing Stripe-Signature header")));
}

#[tokio::test]
async fn only_the_owner_changes_the_plan_and_bad_input_names_each_field() {
    let fake = fake_stripe::stripe().await;
    let app = billed(&fake).await;
    let ana = app.register("Ana").await;
    let (member, _) = crate::revocation::join(&app, &ana, "Max", "member", None).await;
    assert_eq!(billing(&app, &member).await["tier"], "free", "every member sees the plan");
    let (status, _) = upgrade(&app, &member, GOOD_CARD).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let body = json!({"tier": "free", "billing_period": "weekly", "payment_method_id": ""});
    let (status, answer) = post(&app, "/api/v1/billing/upgrade", &ana.access_token, body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> =
        answer["error"]["details"].as_array().unwrap().iter().map(|d| d["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["tier", "billing_period", "payment_method_id"]);
    assert!(fake.requests().is_empty(), "nothing reached Stripe");
}

/// A browser without JavaScript: cookies kept, redirects shown.
fn browser() -> Client {
    Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

fn csrf_in(html: &str) -> String {
    let marker = r#"name="csrf" value=""#;
    let start = html.find(marker).expect("a csrf field") + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

async fn page(app: &TestApp, client: &Client, path: &str) -> (StatusCode, String) {
    let res = client.get(app.url(path)).send().await.unwrap();
    (res.status(), res.text().await.unwrap())
}

async fn sign_in(app: &TestApp, client: &Client, who: &Account) {
    let (_, html) = page(app, client, "/login").await;
    let form = [("csrf", csrf_in(&html)), ("email", who.email.clone()), ("password", who.password.clone())];
    let res = client.post(app.url("/login")).form(&form).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
}

async fn submit(app: &TestApp, client: &Client, path: &str, fields: &[(&str, &str)]) -> (StatusCode, String) {
    let (_, html) = page(app, client, "/plan").await;
    let csrf = csrf_in(&html);
    let mut form = vec![("csrf", csrf.as_str())];
    form.extend_from_slice(fields);
    let res = client.post(app.url(path)).form(&form).send().await.unwrap();
    (res.status(), res.text().await.unwrap())
}

#[tokio::test]
async fn the_plan_page_subscribes_and_cancels_through_its_forms() {
    let fake = fake_stripe::stripe().await;
    let app = billed(&fake).await;
    let ana = app.register("Ana").await;
    let client = browser();
    sign_in(&app, &client, &ana).await;
    let (status, html) = page(&app, &client, "/plan").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("<strong>Free</strong>") && html.contains(r#"action="/plan/upgrade""#), "{html}");
    assert!(html.contains(r#"value="premium:yearly""#) && !html.contains("<script"));

    let (status, html) =
        submit(&app, &client, "/plan/upgrade", &[("plan", "premium:monthly"), ("payment_method_id", DECLINED_CARD)])
            .await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED);
    assert!(html.contains("Your card was declined."), "{html}");
    let (status, html) =
        submit(&app, &client, "/plan/upgrade", &[("plan", "premium:monthly"), ("payment_method_id", "")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("Card must be a Stripe payment method id"), "{html}");

    let (status, _) =
        submit(&app, &client, "/plan/upgrade", &[("plan", "premium:monthly"), ("payment_method_id", GOOD_CARD)]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, html) = page(&app, &client, "/plan").await;
    assert!(html.contains("<strong>Premium</strong>") && html.contains("Renews on"), "{html}");
    assert_eq!(billing(&app, &ana).await["tier"], "premium");

    let (status, _) = submit(&app, &client, "/plan/cancel", &[("at_period_end", "true")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, html) = page(&app, &client, "/plan").await;
    assert!(html.contains("Ends on") && html.contains("Cancel now"), "{html}");
    assert_eq!(billing(&app, &ana).await["cancel_at_period_end"], true);

    // The pet form says why a pet over the plan's limit cannot be added.
    let (_, html) = page(&app, &client, "/pets/new").await;
    let csrf = csrf_in(&html);
    let (status, _) = submit(&app, &client, "/plan/cancel", &[("at_period_end", "false")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(create_pets(&app, &ana, 3).await, [StatusCode::CREATED; 3]);
    let form = [("csrf", csrf.as_str()), ("name", "Fourth"), ("species", "dog")];
    let res = client.post(app.url("/pets/new")).form(&form).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res.text().await.unwrap().contains("Your plan allows up to 3 pets"));
}

#[tokio::test]
async fn the_plan_page_says_everything_is_included_when_billing_is_off() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let client = browser();
    sign_in(&app, &client, &ana).await;
    let (status, html) = page(&app, &client, "/plan").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Everything included on this server"), "{html}");
    assert!(!html.contains(r#"action="/plan/upgrade""#));
    let (status, _) =
        submit(&app, &client, "/plan/upgrade", &[("plan", "premium:monthly"), ("payment_method_id", GOOD_CARD)]).await;
    assert_eq!(status, StatusCode::CONFLICT);
}
