//! Alarms: the rules a household sets, how a run of readings breaks or clears one, and who hears
//! about it when.
//!
//! **Rules.** A rule watches one kind of device: a metric above or below a value, a rate of rise,
//! a CO dose over time, silence, or an event another part of Petty reports (a geofence exit, an
//! anomaly, a low battery, a device gone offline). A metric rule must hold *for* a time before it
//! raises, and its alarm clears only once the readings have been on the far side of a separate
//! *clear* level for a time: the gap between the two levels (hysteresis) is what stops an alarm
//! flapping around a threshold.
//!
//! **Escalation.** An alarm is told in the app at once; then, while nobody acknowledges it, the
//! household's contacts are reached one after another (email and SMS, then a voice call, then the
//! next contact), round after round. [`escalation_steps`] says which steps are due by a moment;
//! the caller writes each as an outbox row keyed by its step, so a step is never sent twice.
//! Each person's [`Policy`] says which severities reach them on which channel, and their quiet
//! hours hold back anything but a critical alarm.

use std::fmt;
use std::str::FromStr;

use crate::readings::Metric;

/// How bad an alarm is, most severe first (the order is the derive's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    Critical,
    Major,
    Minor,
    Warning,
    Info,
}

impl Severity {
    pub const ALL: [Severity; 5] =
        [Severity::Critical, Severity::Major, Severity::Minor, Severity::Warning, Severity::Info];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Major => "major",
            Severity::Minor => "minor",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }

    /// Whether this is at least as severe as `other`.
    pub fn at_least(self, other: Severity) -> bool {
        self <= other
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Severity::ALL.into_iter().find(|v| v.as_str() == s).ok_or(())
    }
}

/// Where an alarm is in its life: raised, seen by someone, over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlarmState {
    Active,
    Acknowledged,
    Cleared,
}

impl AlarmState {
    pub const ALL: [AlarmState; 3] = [AlarmState::Active, AlarmState::Acknowledged, AlarmState::Cleared];
    pub fn as_str(self) -> &'static str {
        match self {
            AlarmState::Active => "active",
            AlarmState::Acknowledged => "acknowledged",
            AlarmState::Cleared => "cleared",
        }
    }
}

impl FromStr for AlarmState {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        AlarmState::ALL.into_iter().find(|v| v.as_str() == s).ok_or(())
    }
}

/// What a rule watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConditionKind {
    /// The metric above `value`; clears below `clear_value`.
    Above,
    /// The metric below `value`; clears above `clear_value`.
    Below,
    /// The metric climbing at least `value` a minute over `for_secs`, to at least `clear_value`
    /// (the level below which a rise is not worth waking anyone).
    Rise,
    /// CO breathed over time (`air::Dose`) reaching `value` ppm-equivalent; clears below
    /// `clear_value`.
    CoDose,
    /// Nothing heard from the device for `for_secs`.
    Absence,
    /// A collar leaving a geofence (raised by the geofencing pass).
    GeofenceExit,
    /// An anomaly found by the analysis pass.
    Anomaly,
    /// The battery below its low mark (raised by the liveness pass).
    Battery,
    /// The device offline (raised by the liveness pass).
    Offline,
}

impl ConditionKind {
    pub const ALL: [ConditionKind; 9] = [
        ConditionKind::Above,
        ConditionKind::Below,
        ConditionKind::Rise,
        ConditionKind::CoDose,
        ConditionKind::Absence,
        ConditionKind::GeofenceExit,
        ConditionKind::Anomaly,
        ConditionKind::Battery,
        ConditionKind::Offline,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ConditionKind::Above => "above",
            ConditionKind::Below => "below",
            ConditionKind::Rise => "rise",
            ConditionKind::CoDose => "co_dose",
            ConditionKind::Absence => "absence",
            ConditionKind::GeofenceExit => "geofence_exit",
            ConditionKind::Anomaly => "anomaly",
            ConditionKind::Battery => "battery",
            ConditionKind::Offline => "offline",
        }
    }

    /// Whether the rule is judged from the device's readings (the others are raised by events).
    pub fn reads_metric(self) -> bool {
        matches!(self, ConditionKind::Above | ConditionKind::Below | ConditionKind::Rise | ConditionKind::CoDose)
    }
}

impl FromStr for ConditionKind {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        ConditionKind::ALL.into_iter().find(|v| v.as_str() == s).ok_or(())
    }
}

/// One alarm rule. `key` names a built-in rule (`co_high`, ...) so a household's tuned copy
/// keeps its identity; custom rules have none.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub key: Option<String>,
    pub name: String,
    /// `collar`, `air_monitor` or `any`.
    pub device_kind: String,
    pub kind: ConditionKind,
    pub metric: Option<Metric>,
    pub value: f64,
    pub clear_value: f64,
    pub for_secs: i64,
    pub clear_secs: i64,
    pub severity: Severity,
    pub enabled: bool,
}

/// Longest `for_secs`/`clear_secs` a rule may ask for (a day).
pub const HOLD_MAX_SECS: i64 = 86_400;

impl Rule {
    /// Checks a rule as a household wrote it; the error names the field and the rule.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        if self.name.trim().is_empty() || self.name.chars().count() > 80 {
            return Err(("name", "must be 1 to 80 characters".into()));
        }
        if !matches!(self.device_kind.as_str(), "collar" | "air_monitor" | "any") {
            return Err(("device_kind", "must be one of collar, air_monitor, any".into()));
        }
        if self.kind.reads_metric() && self.kind != ConditionKind::CoDose && self.metric.is_none() {
            return Err(("metric", format!("is required for a rule of kind {}", self.kind.as_str())));
        }
        if !self.value.is_finite() || !self.clear_value.is_finite() {
            return Err(("value", "must be a finite number".into()));
        }
        for (field, secs) in [("for_secs", self.for_secs), ("clear_secs", self.clear_secs)] {
            if !(0..=HOLD_MAX_SECS).contains(&secs) {
                return Err((field, format!("must be between 0 and {HOLD_MAX_SECS} seconds")));
            }
        }
        let hysteresis_ok = match self.kind {
            ConditionKind::Above | ConditionKind::CoDose => self.clear_value <= self.value,
            ConditionKind::Below => self.clear_value >= self.value,
            _ => true,
        };
        if !hysteresis_ok {
            let side = if self.kind == ConditionKind::Below { "at or above" } else { "at or below" };
            return Err(("clear_value", format!("must be {side} value, or the alarm would never clear")));
        }
        if self.kind == ConditionKind::Rise && (self.value <= 0.0 || self.for_secs < 60) {
            return Err(("value", "a rise needs a positive rate per minute over for_secs of at least 60".into()));
        }
        if self.kind == ConditionKind::Absence && self.for_secs < 60 {
            return Err(("for_secs", "silence must last at least 60 seconds".into()));
        }
        Ok(())
    }

    /// How far back a judgement needs readings.
    pub fn window_secs(&self) -> i64 {
        match self.kind {
            // Five time constants: what came before weighs under 1%.
            ConditionKind::CoDose => (crate::air::DOSE_TAU_MIN * 60.0 * 5.0) as i64,
            _ => self.for_secs.max(self.clear_secs) + 120,
        }
    }

    /// A sentence for people: "CO above 50 ppm for 0 s".
    pub fn describe(&self) -> String {
        let metric = self.metric.map_or("value", Metric::name);
        let hold = if self.for_secs > 0 { format!(" for {}", human_secs(self.for_secs)) } else { String::new() };
        match self.kind {
            ConditionKind::Above => format!("{metric} above {}{hold}", self.value),
            ConditionKind::Below => format!("{metric} below {}{hold}", self.value),
            ConditionKind::Rise => {
                format!(
                    "{metric} rising {} a minute over {} to {} or more",
                    self.value,
                    human_secs(self.for_secs),
                    self.clear_value
                )
            }
            ConditionKind::CoDose => format!("CO dose over time reaching {} ppm-equivalent", self.value),
            ConditionKind::Absence => format!("no data for {}", human_secs(self.for_secs)),
            ConditionKind::GeofenceExit => "a collar leaving a geofence".into(),
            ConditionKind::Anomaly => "an anomaly in a pet's day".into(),
            ConditionKind::Battery => "a low battery".into(),
            ConditionKind::Offline => "a device offline".into(),
        }
    }
}

fn human_secs(secs: i64) -> String {
    if secs >= 3600 && secs % 3600 == 0 {
        format!("{} h", secs / 3600)
    } else if secs >= 60 && secs % 60 == 0 {
        format!("{} min", secs / 60)
    } else {
        format!("{secs} s")
    }
}

#[allow(clippy::too_many_arguments)]
fn builtin(
    key: &str,
    name: &str,
    device_kind: &str,
    kind: ConditionKind,
    metric: Option<Metric>,
    value: f64,
    clear_value: f64,
    for_secs: i64,
    clear_secs: i64,
    severity: Severity,
) -> Rule {
    Rule {
        key: Some(key.into()),
        name: name.into(),
        device_kind: device_kind.into(),
        kind,
        metric,
        value,
        clear_value,
        for_secs,
        clear_secs,
        severity,
        enabled: true,
    }
}

/// The default CO threshold (the Car-Bon seed's, user-set).
pub const CO_THRESHOLD_PPM: f64 = 50.0;

/// The rules every household starts with; it may tune or disable each.
pub fn builtin_rules() -> Vec<Rule> {
    use ConditionKind as K;
    use Severity as S;
    let air = "air_monitor";
    let collar = "collar";
    vec![
        builtin(
            "co_high",
            "Carbon monoxide high",
            air,
            K::Above,
            Some(Metric::CoPpm),
            CO_THRESHOLD_PPM,
            35.0,
            0,
            300,
            S::Critical,
        ),
        builtin(
            "co_dose",
            "Carbon monoxide exposure over time",
            air,
            K::CoDose,
            Some(Metric::CoPpm),
            crate::air::DOSE_ALARM_PPM,
            30.0,
            0,
            0,
            S::Critical,
        ),
        builtin(
            "co_rising",
            "Carbon monoxide rising fast",
            air,
            K::Rise,
            Some(Metric::CoPpm),
            crate::air::RISE_PPM_PER_MIN,
            crate::air::RISE_FLOOR_PPM,
            120,
            300,
            S::Major,
        ),
        builtin("co_silent", "CO sensor silent", air, K::Absence, None, 0.0, 0.0, 300, 0, S::Critical),
        builtin(
            "air_hot",
            "Too hot for a pet",
            air,
            K::Above,
            Some(Metric::AmbientTempC),
            30.0,
            27.0,
            120,
            300,
            S::Critical,
        ),
        builtin(
            "air_cold",
            "Too cold for a pet",
            air,
            K::Below,
            Some(Metric::AmbientTempC),
            5.0,
            8.0,
            600,
            600,
            S::Major,
        ),
        builtin(
            "air_humid",
            "Humidity high",
            air,
            K::Above,
            Some(Metric::HumidityPct),
            85.0,
            75.0,
            600,
            600,
            S::Warning,
        ),
        builtin(
            "heart_high",
            "Heart racing",
            collar,
            K::Above,
            Some(Metric::HeartRate),
            180.0,
            150.0,
            300,
            300,
            S::Major,
        ),
        builtin(
            "fever",
            "Body temperature high",
            collar,
            K::Above,
            Some(Metric::TemperatureC),
            40.0,
            39.5,
            600,
            600,
            S::Major,
        ),
        builtin("geofence_exit", "Left a safe zone", collar, K::GeofenceExit, None, 0.0, 0.0, 0, 0, S::Major),
        builtin("anomaly", "Unusual day", collar, K::Anomaly, None, 0.0, 0.0, 0, 0, S::Minor),
        builtin(
            "battery_low",
            "Battery low",
            "any",
            K::Battery,
            Some(Metric::BatteryPct),
            crate::devices::LOW_BATTERY_PCT,
            crate::devices::LOW_BATTERY_PCT,
            0,
            0,
            S::Warning,
        ),
        builtin("offline", "Device offline", "any", K::Offline, None, 0.0, 0.0, 0, 0, S::Minor),
    ]
}

/// What a run of readings says about a rule.
#[derive(Debug, Clone, PartialEq)]
pub enum Judgement {
    /// The rule is broken: the value that broke it, the readings that did (at most
    /// [`EVIDENCE_MAX`], newest last), and a sentence for people.
    Raise { value: f64, readings: Vec<(i64, f64)>, message: String },
    /// The readings have been on the clear side for long enough.
    Clear { value: f64 },
    /// Neither: keep whatever state the alarm is in.
    Hold,
}

/// The most readings an alarm keeps as its evidence.
pub const EVIDENCE_MAX: usize = 10;

/// Judges a metric rule over the device's readings of that metric (time ms, value; in time
/// order; CO already warm): the state the readings leave the rule in. Event rules
/// ([`ConditionKind::reads_metric`] false) always hold.
pub fn judge(rule: &Rule, readings: &[(i64, f64)]) -> Judgement {
    judge_since(rule, readings, i64::MIN).pop().unwrap_or(Judgement::Hold)
}

/// What happened to a rule over a window some of which was judged before, in order: nothing
/// (hold), a raise, a clear, or a raise and then a clear. A threshold rule raises only for a
/// run of breaking readings that reached its hold time at or after `since_ms` (the newest
/// reading the last judgement saw), so a spike that came and went between two judgements
/// still raises (and clears, if the readings after it say so), and one judged before does not
/// raise again.
pub fn judge_since(rule: &Rule, readings: &[(i64, f64)], since_ms: i64) -> Vec<Judgement> {
    let one = match rule.kind {
        ConditionKind::Above | ConditionKind::Below => return judge_threshold(rule, readings, since_ms),
        ConditionKind::Rise => judge_rise(rule, readings),
        ConditionKind::CoDose => judge_dose(rule, readings),
        _ => Judgement::Hold,
    };
    if one == Judgement::Hold { Vec::new() } else { vec![one] }
}

/// An above or below rule, stepped through the readings (see [`ThresholdSteps`]).
fn judge_threshold(rule: &Rule, readings: &[(i64, f64)], since_ms: i64) -> Vec<Judgement> {
    let Some(&(_, last)) = readings.last() else {
        return Vec::new();
    };
    let above = rule.kind == ConditionKind::Above;
    let breaks = |v: f64| if above { v > rule.value } else { v < rule.value };
    let clears = |v: f64| if above { v < rule.clear_value } else { v > rule.clear_value };
    let steps = ThresholdSteps { for_ms: rule.for_secs * 1000, clear_ms: rule.clear_secs * 1000, since_ms };
    let (raised, cleared) = steps.walk(readings, breaks, clears);
    let mut out = Vec::with_capacity(2);
    if let Some((from, to)) = raised {
        let value = readings[to].1;
        let word = if above { "above" } else { "below" };
        let metric = rule.metric.map_or("value", Metric::name);
        let unit = rule.metric.map_or("", |m| m.unit());
        out.push(Judgement::Raise {
            value,
            readings: evidence(&readings[from..=to]),
            message: format!("{metric} {} {unit} is {word} {} {unit}", round2(value), rule.value),
        });
    }
    if cleared {
        out.push(Judgement::Clear { value: last });
    }
    out
}

/// A rise rule: the value climbed at least `value` a minute over `for_secs` to `clear_value`
/// or more; cleared once it has stopped climbing for `clear_secs`.
fn judge_rise(rule: &Rule, readings: &[(i64, f64)]) -> Judgement {
    let Some(&(last_ts, last)) = readings.last() else {
        return Judgement::Hold;
    };
    let unit = rule.metric.map_or("", |m| m.unit());
    let window_ms = rule.for_secs * 1000;
    let Some(start) = readings.iter().rev().find(|(t, _)| last_ts - t >= window_ms) else {
        return Judgement::Hold;
    };
    let minutes = (last_ts - start.0) as f64 / 60_000.0;
    let rate = (last - start.1) / minutes;
    if last >= rule.clear_value && rate >= rule.value && minutes <= 3.0 * rule.for_secs as f64 / 60.0 {
        let from = readings.iter().position(|r| r.0 >= start.0).unwrap_or(0);
        return Judgement::Raise {
            value: last,
            readings: evidence(&readings[from..]),
            message: format!("rising {:.1} {unit} a minute, now {} {unit}", rate, round2(last)),
        };
    }
    // Cleared once it has stopped climbing for the clear time.
    let clear_ms = rule.clear_secs * 1000;
    match readings.iter().rev().find(|(t, _)| last_ts - t >= clear_ms) {
        Some(&(_, then)) if last <= then => Judgement::Clear { value: last },
        _ => Judgement::Hold,
    }
}

/// The CO dose rule: the exposure model's level against `value`, cleared under `clear_value`.
fn judge_dose(rule: &Rule, readings: &[(i64, f64)]) -> Judgement {
    let Some(&(_, last)) = readings.last() else {
        return Judgement::Hold;
    };
    let mut dose = crate::air::Dose::default();
    let mut peak_from = 0;
    for (i, &(ts, ppm)) in readings.iter().enumerate() {
        let level = dose.reading(ts, ppm);
        if level < rule.clear_value {
            peak_from = i + 1;
        }
    }
    let level = dose.level_ppm;
    if level >= rule.value {
        let tail = &readings[peak_from.min(readings.len() - 1)..];
        Judgement::Raise {
            value: level,
            readings: evidence(tail),
            message: format!("CO exposure reached {:.0} ppm-equivalent over time (now {} ppm)", level, round2(last)),
        }
    } else if level < rule.clear_value {
        Judgement::Clear { value: level }
    } else {
        Judgement::Hold
    }
}

/// Judges a silence rule: raise when nothing has come for `for_secs`, clear once data flows.
pub fn judge_silence(rule: &Rule, last_seen_ms: Option<i64>, now_ms: i64) -> Judgement {
    let Some(last) = last_seen_ms else {
        return Judgement::Hold;
    };
    let quiet = now_ms - last;
    if quiet >= rule.for_secs * 1000 {
        Judgement::Raise {
            value: quiet as f64 / 1000.0,
            readings: Vec::new(),
            message: format!("nothing heard for {}", human_secs(quiet / 1000)),
        }
    } else {
        Judgement::Clear { value: quiet as f64 / 1000.0 }
    }
}

/// How a threshold rule is stepped through readings: a run of breaking readings that has
/// lasted `for_ms` raises (counted only when it gets there at or after `since_ms`), a run of
/// clearing readings that has lasted `clear_ms` clears; readings between the two levels end
/// both runs.
struct ThresholdSteps {
    for_ms: i64,
    clear_ms: i64,
    since_ms: i64,
}

impl ThresholdSteps {
    /// The last counted raise (the indices of its run's first and last readings), and whether
    /// the rule stands cleared at the end: a clear came after that raise or, with no counted
    /// raise, after every raise.
    fn walk(
        &self,
        readings: &[(i64, f64)],
        breaks: impl Fn(f64) -> bool,
        clears: impl Fn(f64) -> bool,
    ) -> (Option<(usize, usize)>, bool) {
        let (mut breaking, mut clearing): (Option<usize>, Option<usize>) = (None, None);
        let mut raised = None;
        let mut cleared = false;
        for (i, &(ts, v)) in readings.iter().enumerate() {
            if breaks(v) {
                clearing = None;
                let from = *breaking.get_or_insert(i);
                if ts - readings[from].0 >= self.for_ms {
                    cleared = false;
                    if ts >= self.since_ms {
                        raised = Some((from, i));
                    }
                }
            } else {
                breaking = None;
                if !clears(v) {
                    clearing = None;
                    continue;
                }
                let from = *clearing.get_or_insert(i);
                if ts - readings[from].0 >= self.clear_ms {
                    cleared = true;
                }
            }
        }
        (raised, cleared)
    }
}

fn evidence(run: &[(i64, f64)]) -> Vec<(i64, f64)> {
    run[run.len().saturating_sub(EVIDENCE_MAX)..].to_vec()
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// The ways a person can be told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Channel {
    Email,
    Sms,
    Voice,
    Webhook,
}

impl Channel {
    pub const ALL: [Channel; 4] = [Channel::Email, Channel::Sms, Channel::Voice, Channel::Webhook];
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
            Channel::Voice => "voice",
            Channel::Webhook => "webhook",
        }
    }
}

impl FromStr for Channel {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Channel::ALL.into_iter().find(|v| v.as_str() == s).ok_or(())
    }
}

/// A household's escalation: how long an unacknowledged alarm waits before each next step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Escalation {
    /// Alarms less severe than this stay in the app (and whatever each person's policy adds).
    pub min_severity: Severity,
    /// Email and SMS to a contact this long after their turn starts.
    pub message_after_secs: i64,
    /// A voice call this long after their turn starts (major and critical only).
    pub call_after_secs: i64,
    /// The next contact's turn starts this long after the previous one's.
    pub next_contact_after_secs: i64,
    /// After the last contact, start again from the first after this long.
    pub repeat_after_secs: i64,
    /// How many rounds before escalation gives up (the alarm stays active in the app).
    pub max_rounds: u32,
}

impl Default for Escalation {
    fn default() -> Self {
        Escalation {
            min_severity: Severity::Major,
            message_after_secs: 300,
            call_after_secs: 600,
            next_contact_after_secs: 600,
            repeat_after_secs: 900,
            max_rounds: 3,
        }
    }
}

impl Escalation {
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        let day = 86_400;
        for (field, v) in [
            ("message_after_secs", self.message_after_secs),
            ("call_after_secs", self.call_after_secs),
            ("next_contact_after_secs", self.next_contact_after_secs),
            ("repeat_after_secs", self.repeat_after_secs),
        ] {
            if !(0..=day).contains(&v) {
                return Err((field, format!("must be between 0 and {day} seconds")));
            }
        }
        if self.next_contact_after_secs < 30 {
            return Err(("next_contact_after_secs", "must be at least 30 seconds".into()));
        }
        if self.repeat_after_secs < 60 {
            return Err(("repeat_after_secs", "must be at least 60 seconds".into()));
        }
        if !(1..=20).contains(&self.max_rounds) {
            return Err(("max_rounds", "must be between 1 and 20".into()));
        }
        Ok(())
    }
}

/// One step of an escalation: tell `contact` (an index into the household's ordered contacts)
/// on `channel` at `due_ms`. `key` identifies the step within its alarm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub key: String,
    pub round: u32,
    pub contact: usize,
    pub channel: Channel,
    pub due_ms: i64,
}

/// The escalation steps of an alarm raised at `raised_ms` that are due by `now_ms`, for
/// `contacts` people in order. A critical alarm messages every contact at once (the Car-Bon
/// promise: an SMS to the user's contacts and a call) and then calls them one by one; others
/// reach one contact at a time. Voice calls are for major and critical alarms only. An alarm
/// below the household's escalation is one message to each contact, no more (each person's
/// [`Policy`] decides whether they take it).
pub fn escalation_steps(
    policy: &Escalation,
    severity: Severity,
    raised_ms: i64,
    now_ms: i64,
    contacts: usize,
) -> Vec<Step> {
    let mut steps = Vec::new();
    if contacts == 0 {
        return steps;
    }
    if !severity.at_least(policy.min_severity) {
        // Below the escalation: told once, by message, to whoever's policy takes it; no calls,
        // no rounds.
        if raised_ms <= now_ms {
            for contact in 0..contacts {
                for channel in [Channel::Email, Channel::Sms] {
                    steps.push(Step {
                        key: format!("once-c{contact}{}", channel.as_str()),
                        round: 0,
                        contact,
                        channel,
                        due_ms: raised_ms,
                    });
                }
            }
        }
        return steps;
    }
    let critical = severity == Severity::Critical;
    let turn = policy.next_contact_after_secs * 1000;
    let round_len = turn * contacts as i64 + policy.repeat_after_secs * 1000;
    for round in 0..policy.max_rounds {
        let round_start = raised_ms + i64::from(round) * round_len;
        if round_start > now_ms {
            break;
        }
        for contact in 0..contacts {
            let start = round_start + turn * contact as i64;
            let message_at = if critical { round_start } else { start + policy.message_after_secs * 1000 };
            let call_at = if critical {
                start + policy.call_after_secs.min(60) * 1000
            } else {
                start + policy.call_after_secs * 1000
            };
            let mut push = |channel: Channel, due_ms: i64| {
                if due_ms <= now_ms {
                    steps.push(Step {
                        key: format!("r{round}c{contact}{}", channel.as_str()),
                        round,
                        contact,
                        channel,
                        due_ms,
                    });
                }
            };
            push(Channel::Email, message_at);
            push(Channel::Sms, message_at);
            if severity.at_least(Severity::Major) {
                push(Channel::Voice, call_at);
            }
        }
    }
    steps.sort_by_key(|s| s.due_ms);
    steps
}

/// Quiet hours in a person's local time: minutes after midnight, `start` to `end` (wrapping
/// past midnight when `end` < `start`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    pub start_min: u16,
    pub end_min: u16,
    /// The person's offset from UTC, minutes.
    pub utc_offset_min: i16,
}

impl QuietHours {
    /// When quiet hours in force at `now_ms` end; `None` outside them.
    pub fn until(&self, now_ms: i64) -> Option<i64> {
        const DAY: i64 = 1440;
        if self.start_min == self.end_min {
            return None;
        }
        let local_min = (now_ms.div_euclid(60_000) + i64::from(self.utc_offset_min)).rem_euclid(DAY);
        let (start, end) = (i64::from(self.start_min), i64::from(self.end_min));
        let inside =
            if start < end { (start..end).contains(&local_min) } else { local_min >= start || local_min < end };
        if !inside {
            return None;
        }
        let wait_min = (end - local_min).rem_euclid(DAY);
        Some((now_ms.div_euclid(60_000) + wait_min) * 60_000)
    }
}

/// One person's notification policy: the least severe alarm each channel carries to them, and
/// their quiet hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub email: Option<Severity>,
    pub sms: Option<Severity>,
    pub voice: Option<Severity>,
    pub quiet: Option<QuietHours>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy { email: Some(Severity::Minor), sms: Some(Severity::Major), voice: Some(Severity::Major), quiet: None }
    }
}

/// What to do with one notification for one person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Now,
    /// Held back by quiet hours until this moment.
    HoldUntil(i64),
    /// This person does not take this severity on this channel.
    Skip,
}

impl Policy {
    pub fn decide(&self, channel: Channel, severity: Severity, now_ms: i64) -> Delivery {
        let least = match channel {
            Channel::Email => self.email,
            Channel::Sms => self.sms,
            Channel::Voice => self.voice,
            Channel::Webhook => Some(Severity::Info),
        };
        if !least.is_some_and(|l| severity.at_least(l)) {
            return Delivery::Skip;
        }
        if severity == Severity::Critical {
            return Delivery::Now;
        }
        match self.quiet.and_then(|q| q.until(now_ms)) {
            Some(until) => Delivery::HoldUntil(until),
            None => Delivery::Now,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(key: &str) -> Rule {
        builtin_rules().into_iter().find(|r| r.key.as_deref() == Some(key)).unwrap()
    }

    fn series(start_s: i64, step_s: i64, values: &[f64]) -> Vec<(i64, f64)> {
        values.iter().enumerate().map(|(i, &v)| ((start_s + i as i64 * step_s) * 1000, v)).collect()
    }

    #[test]
    fn every_builtin_rule_passes_its_own_checks() {
        for r in builtin_rules() {
            assert_eq!(r.check(), Ok(()), "{}", r.name);
        }
    }

    #[test]
    fn a_rule_must_hold_for_its_time_before_it_raises() {
        let heart = rule("heart_high"); // above 180 for 5 min
        let short = series(0, 60, &[120.0, 190.0, 195.0, 200.0]);
        assert_eq!(judge(&heart, &short), Judgement::Hold, "3 minutes is not 5");
        let long = series(0, 60, &[120.0, 190.0, 195.0, 200.0, 199.0, 197.0, 192.0]);
        match judge(&heart, &long) {
            Judgement::Raise { value, readings, message } => {
                assert_eq!(value, 192.0);
                assert_eq!(readings.len(), 6, "the readings that broke it");
                assert!(message.contains("heart_rate 192 beats per minute is above 180"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_spike_between_two_judgements_raises_once() {
        // CO jumps to 120 ppm for one reading and is back to 20 by the time the rules are
        // judged (co_high raises at once, clears after 5 minutes under 35).
        let co = rule("co_high");
        let day = series(0, 10, &[20.0, 20.0, 120.0, 20.0, 20.0]);
        match judge_since(&co, &day, 10_000).as_slice() {
            [Judgement::Raise { value, readings, .. }] => {
                assert_eq!((*value, readings.clone()), (120.0, vec![(20_000, 120.0)]), "the spike raised it");
            }
            other => panic!("a spike after the last judgement must raise: {other:?}"),
        }
        // Judged again with the spike behind the last judgement: no second raise.
        assert_eq!(judge_since(&co, &day, 40_000), vec![]);
        // Five minutes under 35 after the spike: raised and then cleared, when judged at once.
        let later: Vec<(i64, f64)> = day.iter().copied().chain((5..40).map(|i| (i * 10_000, 20.0))).collect();
        let steps = judge_since(&co, &later, 10_000);
        assert!(matches!(steps.as_slice(), [Judgement::Raise { .. }, Judgement::Clear { .. }]), "{steps:?}");
        assert!(matches!(judge_since(&co, &later, 100_000).as_slice(), [Judgement::Clear { .. }]));
        // A rule that clears at once still raises for a one-reading spike, then clears.
        let instant = Rule { for_secs: 0, clear_secs: 0, clear_value: co.value, ..co.clone() };
        let steps = judge_since(&instant, &day, 10_000);
        assert!(matches!(steps.as_slice(), [Judgement::Raise { .. }, Judgement::Clear { .. }]), "{steps:?}");
    }

    #[test]
    fn hysteresis_stops_an_alarm_flapping_around_its_threshold() {
        // CO wandering 45..55 around the 50 ppm threshold: after the first raise, the alarm
        // never clears, because clearing needs 5 minutes below 35.
        let co = rule("co_high");
        let mut raised = 0;
        let mut cleared = 0;
        let mut active = false;
        let values: Vec<f64> = (0..240).map(|i| 50.0 + 5.0 * ((i as f64) * 0.7).sin()).collect();
        let all = series(0, 30, &values);
        for end in 1..=all.len() {
            match judge(&co, &all[..end]) {
                Judgement::Raise { .. } if !active => {
                    active = true;
                    raised += 1;
                }
                Judgement::Clear { .. } if active => {
                    active = false;
                    cleared += 1;
                }
                _ => {}
            }
        }
        assert_eq!((raised, cleared), (1, 0));
        // A naive threshold (clear at the same level, no hold) flaps dozens of times.
        let naive = Rule { clear_value: 50.0, clear_secs: 0, ..co.clone() };
        let mut flips = 0;
        let mut state = false;
        for end in 1..=all.len() {
            let now = matches!(judge(&naive, &all[..end]), Judgement::Raise { .. });
            if now != state {
                flips += 1;
                state = now;
            }
        }
        assert!(flips > 20, "{flips}");
        // And clean air for 5 minutes clears it.
        let mut recovered = values.clone();
        recovered.extend(std::iter::repeat_n(10.0, 11));
        assert!(matches!(judge(&co, &series(0, 30, &recovered)), Judgement::Clear { .. }));
    }

    #[test]
    fn the_dose_rule_raises_within_ul_2034s_windows() {
        let dose = rule("co_dose");
        for (ppm, lo, hi) in [(70.0, 60, 240), (150.0, 10, 50), (400.0, 4, 15)] {
            let mut readings = Vec::new();
            let mut at = None;
            for minute in 0..300 {
                readings.push((minute * 60_000, ppm));
                if matches!(judge(&dose, &readings), Judgement::Raise { .. }) {
                    at = Some(minute);
                    break;
                }
            }
            let at = at.unwrap_or(i64::MAX);
            assert!((lo..=hi).contains(&at), "{ppm} ppm raised at {at} min");
        }
        let quiet: Vec<(i64, f64)> = (0..600).map(|m| (m * 60_000, 30.0)).collect();
        assert!(matches!(judge(&dose, &quiet), Judgement::Clear { .. } | Judgement::Hold));
    }

    #[test]
    fn a_fast_rise_raises_and_a_plateau_clears_it() {
        let rising = rule("co_rising");
        let climb = series(0, 30, &[5.0, 12.0, 20.0, 28.0, 36.0, 44.0]);
        assert!(matches!(judge(&rising, &climb), Judgement::Raise { .. }));
        let slow = series(0, 30, &[30.0, 32.0, 34.0, 36.0, 38.0, 40.0]);
        assert_eq!(judge(&rising, &slow), Judgement::Hold, "4 ppm a minute is not fast");
        let low = series(0, 30, &[0.0, 6.0, 12.0, 18.0, 24.0, 30.0]);
        assert_eq!(judge(&rising, &low), Judgement::Hold, "fast, but still under 35 ppm");
        let plateau: Vec<f64> = std::iter::repeat_n(44.0, 12).collect();
        assert!(matches!(judge(&rising, &series(0, 30, &plateau)), Judgement::Clear { .. }));
    }

    #[test]
    fn silence_is_judged_from_the_last_reading() {
        let silent = rule("co_silent");
        assert!(matches!(judge_silence(&silent, Some(0), 301_000), Judgement::Raise { .. }));
        assert!(matches!(judge_silence(&silent, Some(0), 100_000), Judgement::Clear { .. }));
        assert_eq!(judge_silence(&silent, None, 1_000_000), Judgement::Hold, "never seen is not silent");
    }

    #[test]
    fn rule_checks_name_the_field() {
        let mut r = rule("co_high");
        r.clear_value = 60.0;
        assert_eq!(r.check().unwrap_err().0, "clear_value");
        let mut r = rule("heart_high");
        r.metric = None;
        assert_eq!(r.check().unwrap_err().0, "metric");
        let mut r = rule("heart_high");
        r.for_secs = -1;
        assert_eq!(r.check().unwrap_err().0, "for_secs");
    }

    #[test]
    fn escalation_reaches_the_call_then_the_next_contact_and_repeats() {
        let p = Escalation::default(); // message +5 min, call +10, next contact +10, repeat +15
        let at = |secs: i64| escalation_steps(&p, Severity::Major, 0, secs * 1000, 2);
        assert!(at(299).is_empty(), "in the app only for 5 minutes");
        let five: Vec<_> = at(300).iter().map(|s| (s.contact, s.channel)).collect();
        assert_eq!(five, vec![(0, Channel::Email), (0, Channel::Sms)]);
        assert!(at(600).iter().any(|s| s.contact == 0 && s.channel == Channel::Voice));
        assert!(!at(600).iter().any(|s| s.contact == 1), "the second contact waits their turn");
        assert!(at(1200).iter().any(|s| s.contact == 1 && s.channel == Channel::Voice));
        // Round 2 starts after both turns and the repeat wait: 2 × 600 + 900 s.
        assert!(!at(2099).iter().any(|s| s.round == 1));
        assert!(at(2400).iter().any(|s| s.round == 1 && s.contact == 0 && s.channel == Channel::Sms));
        let all = at(1_000_000);
        assert_eq!(all.iter().map(|s| s.round).max(), Some(2), "three rounds, then it stops");
        let keys: std::collections::HashSet<_> = all.iter().map(|s| &s.key).collect();
        assert_eq!(keys.len(), all.len(), "every step has its own key");
    }

    #[test]
    fn a_critical_alarm_messages_everyone_at_once_and_calls_within_a_minute() {
        let p = Escalation::default();
        let now = escalation_steps(&p, Severity::Critical, 0, 0, 3);
        assert_eq!(now.iter().filter(|s| s.channel == Channel::Sms).count(), 3);
        assert!(!now.iter().any(|s| s.channel == Channel::Voice));
        let minute = escalation_steps(&p, Severity::Critical, 0, 60_000, 3);
        assert!(minute.iter().any(|s| s.contact == 0 && s.channel == Channel::Voice));
        // Below the escalation: one message each, never a call, never again.
        let minor = escalation_steps(&p, Severity::Minor, 0, 10_000_000, 3);
        assert_eq!(minor.len(), 6);
        assert!(minor.iter().all(|s| s.channel != Channel::Voice && s.due_ms == 0));
    }

    #[test]
    fn quiet_hours_hold_back_a_warning_but_not_a_critical_alarm() {
        // 22:00–07:00 at UTC+1; 23:30 local is 22:30 UTC.
        let quiet = QuietHours { start_min: 22 * 60, end_min: 7 * 60, utc_offset_min: 60 };
        let policy = Policy { email: Some(Severity::Warning), quiet: Some(quiet), ..Policy::default() };
        let t = (22 * 60 + 30) * 60_000;
        let seven_local = (6 * 60 + 24 * 60) * 60_000; // 07:00 local next day = 06:00 UTC
        assert_eq!(policy.decide(Channel::Email, Severity::Warning, t), Delivery::HoldUntil(seven_local));
        assert_eq!(policy.decide(Channel::Sms, Severity::Critical, t), Delivery::Now);
        assert_eq!(policy.decide(Channel::Email, Severity::Warning, 12 * 3_600_000), Delivery::Now, "noon");
        assert_eq!(policy.decide(Channel::Sms, Severity::Warning, 12 * 3_600_000), Delivery::Skip, "SMS from major up");
        assert_eq!(
            policy.decide(Channel::Voice, Severity::Minor, 12 * 3_600_000),
            Delivery::Skip,
            "calls from major up"
        );
    }
}
