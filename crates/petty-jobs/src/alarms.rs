//! Judging the alarm rules over new readings, in event-time order, and the sweep for silent
//! sensors.
//!
//! [`JudgeAlarms`] claims devices whose readings have not been judged (noted by ingest in the
//! same transaction), reads each rule's window before the oldest new reading up to the newest,
//! and asks `petty_core::alarm::transitions` what happened (through
//! `petty_app::alarms::judging`, which the rule preview shares), dated by the readings' own times.
//! A raise is dated at the incident's start and a clear at the recovery; an incident whose
//! deciding reading is older than the live window, or that is already over within the same
//! readings, is recorded quietly (it pages nobody). Judging the same readings again (a crash
//! before the claim was finished, or work that arrived during a pass) raises nothing twice:
//! the store knows an incident by its start, and an incident still open is found as it is
//! (see `apply`).

use std::collections::HashMap;
use std::time::Duration;

use petty_app::App;
use petty_app::alarms::judging::{self, DeviceSeries, Judged};
use petty_app::alarms::{alarm_type, applies};
use petty_core::alarm::{AlarmState, ConditionKind, Judgement, Transition, judge_silence};
use petty_core::ids::HouseholdId;
use petty_store::{AlarmFilter, Device, NewAlarm, StoreError, StoredRule, WorkClaim, WorkKind};
use time::OffsetDateTime;

/// How long a claim on a device is held before another run may take it: after a node dies
/// mid-pass, its devices wait this long to be judged elsewhere (or after its restart), so it is
/// short. A run outlasting it costs nothing but work: judging the same readings twice raises
/// nothing twice.
const LEASE_MS: i64 = 15_000;
/// Devices claimed at once (what a crash leaves waiting for the lease).
const BATCH: u32 = 16;
/// The most readings one judgement reads (a very long backfill is judged in its newest part).
const MAX_READINGS: usize = 200_000;
/// How far back an open incident's readings are read to see its clear.
const OPEN_LOOKBACK_MS: i64 = 24 * 3_600_000;

/// Judges devices with unjudged readings.
pub struct JudgeAlarms;

/// One judging pass now (tests and `petty` commands call this instead of the scheduler);
/// answers how many devices were judged. A failure is logged; the work stays noted.
pub async fn run_once(app: &App) -> usize {
    use crate::Job;
    JudgeAlarms.run_once(app, app.now()).await.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "judging alarm rules failed");
        0
    })
}

impl crate::Job for JudgeAlarms {
    fn name(&self) -> &'static str {
        "alarms"
    }

    fn every(&self, _app: &App) -> Duration {
        Duration::from_secs(2)
    }

    fn delay(&self, app: &App) -> Duration {
        app.settings.alarm_delay
    }

    fn wake<'a>(&self, app: &'a App) -> Option<&'a tokio::sync::Notify> {
        Some(&app.wake.alarms)
    }

    async fn run_once(&self, app: &App, now: OffsetDateTime) -> Result<usize, StoreError> {
        let now_ms = petty_store::to_ms(now);
        let mut judged = 0;
        loop {
            let claims = app.store.claim_work(WorkKind::Alarms, now_ms, LEASE_MS, BATCH).await?;
            if claims.is_empty() {
                return Ok(judged);
            }
            for claim in &claims {
                match judge_device(app, claim, now_ms).await {
                    Ok(()) | Err(StoreError::NotFound) => {
                        app.store.finish_work(WorkKind::Alarms, claim).await?;
                        judged += 1;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, device_id = %claim.device_id, "judging alarm rules failed");
                        app.store.release_work(WorkKind::Alarms, claim).await?;
                        return Err(e);
                    }
                }
            }
        }
    }
}

async fn judge_device(app: &App, claim: &WorkClaim, now_ms: i64) -> Result<(), StoreError> {
    let device = app.store.get_device(claim.household_id, claim.device_id).await?;
    let rules: Vec<StoredRule> = app
        .store
        .alarm_rules(claim.household_id, now_ms)
        .await?
        .into_iter()
        .filter(|r| applies(r, device.profile.kind) && r.rule.kind.reads_metric())
        .collect();
    // The context before the new readings: each rule's window, and the sensor's warm-up; for a
    // rule whose incident is still open, back to the incident's start (at most a day), so that
    // its clear is seen however long ago the last breaking reading was.
    let Some(context) = rules.iter().map(|r| judging::context_ms(&r.rule)).max() else { return Ok(()) };
    let open = AlarmFilter {
        states: vec![AlarmState::Active, AlarmState::Acknowledged],
        device_id: Some(device.id),
        limit: 200,
        ..AlarmFilter::default()
    };
    let open: HashMap<String, i64> = app
        .store
        .list_alarms(claim.household_id, &open)
        .await?
        .into_iter()
        .map(|a| (a.alarm_type, petty_store::to_ms(a.first_at).max(claim.from_ms - OPEN_LOOKBACK_MS)))
        .collect();
    let from = open.values().copied().fold(claim.from_ms - context, i64::min);
    let (readings, _) = judging::readings(app, &device, from, claim.to_ms, MAX_READINGS).await?;
    let live_ms = app.settings.live_window.as_millis() as i64;
    let mut series = DeviceSeries::new(&device, &readings);
    for stored in &rules {
        let window = claim.from_ms - stored.rule.window_secs() * 1000;
        let context = open.get(&alarm_type(stored)).map_or(window, |start| (*start).min(window));
        let Some(Judged { steps, values }) = series.judge_from(&stored.rule, claim.from_ms, context) else { continue };
        let newest = values.last().map_or(i64::MIN, |(t, _)| *t);
        for (i, step) in steps.iter().enumerate() {
            let over = steps[i + 1..].iter().any(|t| matches!(t, Transition::Clear { .. }));
            apply(app, &device, stored, step, now_ms - live_ms, over).await?;
        }
        // A recorded past incident still going on at the newest reading, which is live: page now.
        if let Some(Transition::Raise { at_ms, .. }) = steps.last()
            && newest >= now_ms - live_ms
        {
            let source = format!("device:{}", device.id);
            if let Some(alarm) = app.store.open_alarm(device.household_id, &source, &alarm_type(stored)).await?
                && alarm.quiet
                && petty_store::to_ms(alarm.first_at) <= *at_ms
            {
                petty_app::alarms::page(app, &alarm).await?;
            }
        }
    }
    Ok(())
}

/// Raises or clears the rule's alarm on `device` as the transition says. A raise decided before
/// `live_from_ms`, or followed by a clear in the same readings (`over`), is recorded quietly.
async fn apply(
    app: &App,
    device: &Device,
    stored: &StoredRule,
    step: &Transition,
    live_from_ms: i64,
    over: bool,
) -> Result<(), StoreError> {
    let source = format!("device:{}", device.id);
    match step {
        Transition::Raise { at_ms, decided_ms, value, readings, message } => {
            // An incident still going on at the newest reading is the rule's open alarm, if it
            // has one that began no earlier: judged again (a crash before the claim was
            // finished, readings that came during a pass), it is found as it is, not counted
            // again; readings that arrived late and out of order move its start back to the
            // first that broke the rule.
            if !over
                && let Some(open) = app.store.open_alarm(device.household_id, &source, &alarm_type(stored)).await?
                && petty_store::to_ms(open.first_at) >= *at_ms
            {
                if petty_store::to_ms(open.first_at) > *at_ms {
                    app.store.move_alarm_start(device.household_id, open.id, *at_ms).await?;
                }
                return Ok(());
            }
            let quiet = over || *decided_ms < live_from_ms;
            let new = device_alarm(device, stored, message, *value, readings.clone(), *at_ms, quiet);
            petty_app::alarms::raise(app, device.household_id, &new).await?;
        }
        Transition::Clear { at_ms, .. } => {
            let reason = format!("back to normal: {}", stored.rule.describe());
            petty_app::alarms::clear(app, device.household_id, &source, &alarm_type(stored), &reason, *at_ms).await?;
        }
    }
    Ok(())
}

/// The alarm a metric or silence rule raises on a device.
fn device_alarm(
    device: &Device,
    stored: &StoredRule,
    message: &str,
    value: f64,
    evidence: Vec<(i64, f64)>,
    at_ms: i64,
    quiet: bool,
) -> NewAlarm {
    NewAlarm {
        rule_id: Some(stored.id),
        source: format!("device:{}", device.id),
        alarm_type: alarm_type(stored),
        device_id: Some(device.id),
        pet_id: device.profile.pet_id,
        severity: stored.rule.severity,
        title: format!("{}: {}", stored.rule.name, device.profile.name),
        message: format!("{} on {} ({})", message, device.profile.name, stored.rule.describe()),
        value: Some(value),
        evidence,
        at_ms,
        quiet,
    }
}

/// Silence rules: raises for every device whose rule says "no data for N" and that has been
/// quiet that long, clears for those heard from again. One node at a time, every 10 s.
pub struct SilenceSweep;

impl crate::Job for SilenceSweep {
    fn name(&self) -> &'static str {
        "alarm-silence"
    }

    fn every(&self, _app: &App) -> Duration {
        Duration::from_secs(10)
    }

    async fn run_once(&self, app: &App, now: OffsetDateTime) -> Result<usize, StoreError> {
        let now_ms = petty_store::to_ms(now);
        crate::with_lease(app, self.name(), self.every(app), now_ms, || sweep(app, now_ms)).await
    }
}

/// The sweep itself, as of `now_ms` (tests call it with a later time).
pub async fn sweep(app: &App, now_ms: i64) -> Result<usize, StoreError> {
    let devices = app.store.devices_everywhere().await?;
    let mut rules_of: HashMap<HouseholdId, Vec<StoredRule>> = HashMap::new();
    let mut changed = 0;
    for device in devices {
        if let std::collections::hash_map::Entry::Vacant(slot) = rules_of.entry(device.household_id) {
            slot.insert(app.store.alarm_rules(device.household_id, now_ms).await?);
        }
        let Some(rules) = rules_of.get(&device.household_id) else { continue };
        for stored in rules.iter().filter(|r| applies(r, device.profile.kind) && r.rule.kind == ConditionKind::Absence)
        {
            let last = device.last_seen_at.map(petty_store::to_ms);
            let source = format!("device:{}", device.id);
            match judge_silence(&stored.rule, last, now_ms) {
                Judgement::Raise { value, readings, message } => {
                    let new = device_alarm(&device, stored, &message, value, readings, now_ms, false);
                    petty_app::alarms::raise(app, device.household_id, &new).await?;
                    changed += 1;
                }
                Judgement::Clear { .. } => {
                    // Silence is judged as of now, not by a reading's time: it ends when the
                    // sweep hears the device again (and never before it began).
                    let kind = alarm_type(stored);
                    if let Some(open) = app.store.open_alarm(device.household_id, &source, &kind).await? {
                        let reason = format!("back to normal: {}", stored.rule.describe());
                        let at = now_ms.max(petty_store::to_ms(open.first_at));
                        petty_app::alarms::clear(app, device.household_id, &source, &kind, &reason, at).await?;
                    }
                }
                Judgement::Hold => {}
            }
        }
    }
    Ok(changed)
}
