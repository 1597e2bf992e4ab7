//! Judging the alarm rules over new readings, in event-time order, and the sweep for silent
//! sensors.
//!
//! [`JudgeAlarms`] claims devices whose readings have not been judged (noted by ingest in the
//! same transaction) and steps each metric rule's run (`petty_core::alarm::RuleRun`) through
//! them, through `petty_app::alarms::judging`, which the rule preview shares. Transitions are
//! dated by the readings' own times.
//!
//! **Kept runs.** After a pass, every rule's run is stored with the newest reading it has seen
//! (`alarm_runs`, one row a device). The next pass resumes the runs and reads only the readings
//! after that watermark, so a pass costs the new readings, not the rules' windows, and a restart
//! resumes where the last pass stopped. The runs are rebuilt from each rule's window before the
//! new readings (the way every pass worked before) when a reading arrives older than the
//! watermark, when a rule was added or edited, when the device's calibration changed, or when
//! there is no row; for a rule whose incident is still open the rebuild starts a window before
//! the incident's start (at most a day back), so it knows the alarm is raised.
//!
//! **What a transition does.** A raise is dated at the incident's start and a clear at the
//! recovery; an incident whose deciding reading is older than the live window, or that is
//! already over within the same readings, is recorded quietly (it pages nobody). Judging the
//! same readings again (a crash before the claim was finished, or work that arrived during a
//! pass) raises nothing twice: the store knows an incident by its start, and an incident still
//! open is found as it is (see `apply`).

use std::collections::HashMap;
use std::time::Duration;

use petty_app::App;
use petty_app::alarms::judging::{self, DeviceSeries, Judged};
use petty_app::alarms::{alarm_type, applies};
use petty_core::alarm::{ConditionKind, DeviceRuns, Judgement, RuleRun, Transition, judge_silence, rule_signature};
use petty_core::ids::HouseholdId;
use petty_store::{AlarmInput, Device, NewAlarm, StoreError, StoredRule, WorkClaim, WorkKind};
use time::OffsetDateTime;

/// How long a claim on a device is held before another run may take it: after a node dies
/// mid-pass, its devices wait this long to be judged elsewhere (or after its restart), so it is
/// short. A run outlasting it costs nothing but work: judging the same readings twice raises
/// nothing twice.
const LEASE_MS: i64 = 15_000;
/// Devices claimed at once (what a crash leaves waiting for the lease); a batch's claims and
/// kept runs are written in one go.
const BATCH: u32 = 64;
/// The most readings one judgement reads (a very long backfill is judged in its newest part).
const MAX_READINGS: usize = 200_000;
/// The least time between two passes' starts: under steady ingest every commit wakes the job,
/// and a pass for each spends the writer on claims and finishes. Paced, a pass takes what a few
/// commits left, and a reading waits at most this long more for its judgement (a reading after
/// a quiet spell, none).
const PACE: Duration = Duration::from_millis(5);
/// The most a pass waits after the last one beyond its length (see `Job::pace`).
const REST_MAX: Duration = Duration::from_millis(20);
/// How far back an open incident's readings are read to see its clear.
const OPEN_LOOKBACK_MS: i64 = 24 * 3_600_000;

/// Judges devices with unjudged readings.
pub struct JudgeAlarms;

/// A device's rule runs to keep after a pass (their watermark and stored form), or `None` to
/// forget them.
type Kept = Option<(i64, Vec<u8>)>;

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

    /// At least [`PACE`], and twice the last pass's length (up to [`REST_MAX`] more): under
    /// heavy ingest the job takes at most about half the time there is, and each judgement
    /// covers more of a device's readings, rather than the job judging every reading on its
    /// own.
    fn pace(&self, _app: &App, last: Duration) -> Duration {
        PACE.max(last + last.min(REST_MAX))
    }

    fn wake<'a>(&self, app: &'a App) -> Option<&'a tokio::sync::Notify> {
        Some(&app.wake.alarms)
    }

    async fn run_once(&self, app: &App, now: OffsetDateTime) -> Result<usize, StoreError> {
        let how = if app.settings.alarm_keep_runs { Judging::Resume } else { Judging::Reread };
        pass(app, petty_store::to_ms(now), how).await
    }
}

/// How a pass judges a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Judging {
    /// Resume each rule's kept run over the new readings when it can (the job's way).
    Resume,
    /// Rebuild every run from the rules' windows (the path the kept runs replaced; tests hold
    /// the two to the same alarms).
    Reread,
}

/// One pass now that judges every device with work `how` (tests compare the two ways).
pub async fn run_once_judging(app: &App, how: Judging) -> Result<usize, StoreError> {
    pass(app, app.now_ms(), how).await
}

async fn pass(app: &App, now_ms: i64, how: Judging) -> Result<usize, StoreError> {
    let mut judged = 0;
    // Each household's rules, read once a pass.
    let mut rules_of: HashMap<HouseholdId, Vec<StoredRule>> = HashMap::new();
    loop {
        let claims = app.store.claim_work(WorkKind::Alarms, now_ms, LEASE_MS, BATCH).await?;
        if claims.is_empty() {
            return Ok(judged);
        }
        // A short batch took all the work there was; what arrives from now on wakes the job
        // again, so asking once more would only find nothing.
        let last = claims.len() < BATCH as usize;
        // The batch's devices, kept runs and first pages of new readings, read at once.
        let inputs = match app.store.alarm_inputs(&claims, petty_store::FAST_PAGE_MAX).await {
            Ok(inputs) => inputs,
            Err(e) => {
                app.store.release_work(WorkKind::Alarms, &claims).await?;
                return Err(e);
            }
        };
        let mut done: Vec<(&WorkClaim, Kept)> = Vec::with_capacity(claims.len());
        let mut failed = None;
        for (i, (claim, input)) in claims.iter().zip(inputs).enumerate() {
            let rules = match rules_of.entry(claim.household_id) {
                std::collections::hash_map::Entry::Occupied(e) => Ok(&*e.into_mut()),
                std::collections::hash_map::Entry::Vacant(e) => {
                    app.store.alarm_rules(claim.household_id, now_ms).await.map(|r| &*e.insert(r))
                }
            };
            let judged_device = match rules {
                Ok(rules) => judge_device(app, claim, input, rules, now_ms, how).await,
                Err(e) => Err(e),
            };
            match judged_device {
                Ok(kept) => done.push((claim, kept)),
                Err(StoreError::NotFound) => done.push((claim, None)),
                Err(e) => {
                    tracing::warn!(error = %e, device_id = %claim.device_id, "judging alarm rules failed");
                    failed = Some((i, e));
                    break;
                }
            }
        }
        let finished: Vec<petty_store::AlarmWorkDone<'_>> =
            done.iter().map(|(claim, kept)| (*claim, kept.as_ref().map(|(w, runs)| (*w, runs.as_slice())))).collect();
        app.store.finish_alarm_work(&finished).await?;
        judged += done.len();
        if let Some((i, e)) = failed {
            // This device and the rest of the batch are given back at once, not left to wait
            // out their leases.
            app.store.release_work(WorkKind::Alarms, &claims[i..]).await?;
            return Err(e);
        }
        if last {
            return Ok(judged);
        }
    }
}

/// A fingerprint of what the device's CO figures are computed with (FNV-1a over its
/// calibration): runs kept under another are rebuilt.
fn calibration_print(device: &Device) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for (key, value) in &device.profile.calibration {
        for byte in key.bytes().chain([0]).chain(value.to_bits().to_le_bytes()) {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

/// Judges one claimed device from what was read of it; answers the runs to keep (with their
/// watermark), or `None` to forget them.
async fn judge_device(
    app: &App,
    claim: &WorkClaim,
    input: AlarmInput,
    rules: &[StoredRule],
    now_ms: i64,
    how: Judging,
) -> Result<Kept, StoreError> {
    let AlarmInput { device, runs: kept, after_runs } = input;
    let Some(device) = device else { return Ok(None) };
    let rules: Vec<(&StoredRule, String)> = rules
        .iter()
        .filter(|r| applies(r, device.profile.kind) && r.rule.kind.reads_metric())
        .map(|r| (r, alarm_type(r)))
        .collect();
    if rules.is_empty() {
        return Ok(None);
    }
    let calibration = calibration_print(&device);
    // The runs kept by the last pass, when every rule has one and no reading older than what
    // they have seen has arrived since (`late_from`: readings that came older than the
    // device's newest): then only the readings after their watermark are read.
    let kept = match how {
        Judging::Resume => kept,
        Judging::Reread => None,
    };
    let resumed = kept
        .filter(|(watermark, _)| claim.late_from.is_none_or(|late| late > *watermark))
        .filter(|(watermark, _)| {
            // Read with the runs (`Store::alarm_inputs`), unless none are new.
            after_runs.is_some() || *watermark >= claim.to_ms
        })
        .and_then(|(watermark, bytes)| {
            DeviceRuns::decode(&bytes, |kind| rules.iter().find(|(_, k)| k == kind).map(|(r, _)| &r.rule))
                .filter(|runs| runs.watermark_ms == watermark)
        })
        .filter(|runs| runs.calibration == calibration && runs.runs.len() == rules.len());
    let live_from_ms = now_ms - app.settings.live_window.as_millis() as i64;
    let mut next = DeviceRuns { watermark_ms: i64::MIN, warm: Default::default(), calibration, runs: Vec::new() };
    let capped = match resumed {
        Some(mut runs) => {
            let span = (runs.watermark_ms.saturating_add(1), claim.to_ms);
            let page = petty_store::FAST_PAGE_MAX;
            let (readings, capped) = match after_runs {
                Some(first) => judging::readings_after_page(app, &device, span, MAX_READINGS, page, first).await?,
                None => (Vec::new(), false),
            };
            let mut series = DeviceSeries::resuming(&device, &readings, runs.warm);
            for (stored, kind) in &rules {
                let Some(mut run) = runs.take(kind, &stored.rule) else { continue };
                if let Some(judged) = series.step(&stored.rule, &mut run, i64::MIN, i64::MIN) {
                    act(app, &device, stored, kind, &judged, live_from_ms).await?;
                }
                next.runs.push((kind.clone(), rule_signature(&stored.rule), run));
            }
            next.warm = series.warm();
            next.watermark_ms = readings.last().map_or(runs.watermark_ms, |r| r.reading.ts_ms());
            capped
        }
        None => {
            // Rebuilt from each rule's window before the new readings, and the sensor's
            // warm-up; for a rule whose incident is still open, from its window before the
            // incident's start (at most a day back), so that the run knows it is raised and
            // its clear is seen however long ago the last breaking reading was.
            let context = rules.iter().map(|(r, _)| judging::context_ms(&r.rule)).max().unwrap_or(0);
            let open: HashMap<String, i64> = app
                .store
                .open_alarm_starts(claim.household_id, device.id)
                .await?
                .into_iter()
                .map(|(alarm_type, first_at)| (alarm_type, first_at.max(claim.from_ms - OPEN_LOOKBACK_MS)))
                .collect();
            let from = open.values().copied().fold(claim.from_ms, i64::min) - context;
            let (readings, capped) = judging::readings(app, &device, from, claim.to_ms, MAX_READINGS).await?;
            let mut series = DeviceSeries::new(&device, &readings);
            for (stored, kind) in &rules {
                // From the rule's window before the incident's start: a rise is only seen as
                // one with the readings before it.
                let window = stored.rule.window_secs() * 1000;
                let context = open.get(kind).map_or(claim.from_ms, |start| (*start).min(claim.from_ms)) - window;
                let mut run = RuleRun::new(&stored.rule);
                if let Some(judged) = series.step(&stored.rule, &mut run, claim.from_ms, context) {
                    act(app, &device, stored, kind, &judged, live_from_ms).await?;
                }
                next.runs.push((kind.clone(), rule_signature(&stored.rule), run));
            }
            next.warm = series.warm();
            next.watermark_ms = readings.last().map_or(i64::MIN, |r| r.reading.ts_ms());
            capped
        }
    };
    // Runs that have not seen every reading up to the claim's end (a backfill longer than one
    // pass reads), or that are too large to keep, are rebuilt next time.
    // A pass that rereads keeps nothing, and forgets what an earlier pass kept: those runs
    // have not seen these readings.
    Ok(match how {
        Judging::Resume if !capped && next.watermark_ms != i64::MIN => {
            next.encode().map(|runs| (next.watermark_ms, runs))
        }
        _ => None,
    })
}

/// Applies what judging one rule found: each raise and clear, then a page for a recorded past
/// incident still going on at the newest reading, which is live.
async fn act(
    app: &App,
    device: &Device,
    stored: &StoredRule,
    kind: &str,
    judged: &Judged<'_>,
    live_from_ms: i64,
) -> Result<(), StoreError> {
    let Judged { steps, values } = judged;
    let newest = values.last().map_or(i64::MIN, |(t, _)| *t);
    for (i, step) in steps.iter().enumerate() {
        let over = steps[i + 1..].iter().any(|t| matches!(t, Transition::Clear { .. }));
        apply(app, device, stored, step, live_from_ms, over).await?;
    }
    if let Some(Transition::Raise { at_ms, .. }) = steps.last()
        && newest >= live_from_ms
    {
        let source = format!("device:{}", device.id);
        if let Some(alarm) = app.store.open_alarm(device.household_id, &source, kind).await?
            && alarm.quiet
            && petty_store::to_ms(alarm.first_at) <= *at_ms
        {
            petty_app::alarms::page(app, &alarm).await?;
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
            // has one that began no earlier, or whose latest occurrence began at this very
            // millisecond: judged again (a crash before the claim was finished, readings that
            // came during a pass, a pass that starts within a millisecond already judged), it
            // is found as it is, not counted again; readings that arrived late and out of
            // order move its start back to the first that broke the rule.
            if !over
                && let Some(open) = app.store.open_alarm(device.household_id, &source, &alarm_type(stored)).await?
                && (petty_store::to_ms(open.first_at) >= *at_ms || petty_store::to_ms(open.last_at) == *at_ms)
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
