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

use crate::accounts::{Actor, ActorKind};
use crate::devices::DeviceKind;
use crate::ids::{ApiKeyId, ContactId, UserId};
use crate::readings::Metric;

mod run;
pub use run::{DeviceRuns, RISE_KEEP_MAX, RuleRun, rule_signature};

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

/// Who did something to an alarm, as its trail, `acknowledged_by` and `cleared_by` record it:
/// written `system`, `user:{id}`, `api_key:{id}` or `contact:{id}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrailActor {
    /// Petty itself: the rules, the outbox.
    System,
    User(UserId),
    ApiKey(ApiKeyId),
    /// A contact acting through an acknowledgement link or a call.
    Contact(ContactId),
}

impl From<&Actor> for TrailActor {
    fn from(actor: &Actor) -> Self {
        match actor.kind {
            ActorKind::User { user_id, .. } => Self::User(user_id),
            ActorKind::ApiKey { key_id, .. } => Self::ApiKey(key_id),
        }
    }
}

impl fmt::Display for TrailActor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::System => f.write_str("system"),
            Self::User(id) => write!(f, "user:{id}"),
            Self::ApiKey(id) => write!(f, "api_key:{id}"),
            Self::Contact(id) => write!(f, "contact:{id}"),
        }
    }
}

impl FromStr for TrailActor {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        if s == "system" {
            return Ok(Self::System);
        }
        let (kind, id) = s.split_once(':').ok_or(())?;
        match kind {
            "user" => id.parse().map(Self::User).map_err(|_| ()),
            "api_key" => id.parse().map(Self::ApiKey).map_err(|_| ()),
            "contact" => id.parse().map(Self::Contact).map_err(|_| ()),
            _ => Err(()),
        }
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
    /// The kind of device it watches; `None` watches every kind (written `any`).
    pub device_kind: Option<DeviceKind>,
    pub kind: ConditionKind,
    pub metric: Option<Metric>,
    pub value: f64,
    pub clear_value: f64,
    pub for_secs: i64,
    pub clear_secs: i64,
    pub severity: Severity,
    pub enabled: bool,
}

/// A rule's device kind as written: `collar`, `air_monitor` or `any` (`None`).
pub fn parse_rule_device_kind(s: &str) -> Result<Option<DeviceKind>, (&'static str, String)> {
    match s {
        "any" => Ok(None),
        "collar" => Ok(Some(DeviceKind::Collar)),
        "air_monitor" => Ok(Some(DeviceKind::AirMonitor)),
        _ => Err(("device_kind", "must be one of collar, air_monitor, any".into())),
    }
}

/// Longest `for_secs`/`clear_secs` a rule may ask for (a day).
pub const HOLD_MAX_SECS: i64 = 86_400;
/// The longest name a rule may have, in characters (spaces around it not counted).
pub const RULE_NAME_MAX: usize = 80;

impl Rule {
    /// Whether the rule watches devices of `kind`.
    pub fn watches(&self, kind: DeviceKind) -> bool {
        self.device_kind.is_none_or(|k| k == kind)
    }

    /// The device kind as written: `collar`, `air_monitor` or `any`.
    pub fn device_kind_name(&self) -> &'static str {
        self.device_kind.map_or("any", DeviceKind::as_str)
    }

    /// Checks a rule as a household wrote it; the error names the field and the rule.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        if self.name.trim().is_empty() || self.name.trim().chars().count() > RULE_NAME_MAX {
            return Err(("name", format!("must be 1 to {RULE_NAME_MAX} characters")));
        }
        if self.device_kind == Some(DeviceKind::Other) {
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
    device_kind: Option<DeviceKind>,
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
        device_kind,
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
    let air = Some(DeviceKind::AirMonitor);
    let collar = Some(DeviceKind::Collar);
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
            None,
            K::Battery,
            Some(Metric::BatteryPct),
            crate::devices::LOW_BATTERY_PCT,
            crate::devices::LOW_BATTERY_PCT,
            0,
            0,
            S::Warning,
        ),
        builtin("offline", "Device offline", None, K::Offline, None, 0.0, 0.0, 0, 0, S::Minor),
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

/// One change a run of readings makes to a rule's alarm, dated by the readings' own times.
#[derive(Debug, Clone, PartialEq)]
pub enum Transition {
    /// The rule broke. `at_ms` is when the incident began (a threshold's first breaking
    /// reading; the reading at which a rise or a dose reached its level); `decided_ms` is the
    /// reading that completed the condition (later than `at_ms` when the rule has a hold time).
    Raise { at_ms: i64, decided_ms: i64, value: f64, readings: Vec<(i64, f64)>, message: String },
    /// The readings came back and stayed for the clear time. `at_ms` is when they came back.
    Clear { at_ms: i64, decided_ms: i64, value: f64 },
}

impl Transition {
    /// The reading that made this transition happen.
    pub fn decided_ms(&self) -> i64 {
        match self {
            Transition::Raise { decided_ms, .. } | Transition::Clear { decided_ms, .. } => *decided_ms,
        }
    }
}

/// The state a run of readings leaves a metric rule in (tests, and the dashboard's "would it
/// raise" preview): the last transition of [`transitions`], or hold.
pub fn judge(rule: &Rule, readings: &[(i64, f64)]) -> Judgement {
    match transitions(rule, readings, i64::MIN).pop() {
        Some(Transition::Raise { value, readings, message, .. }) => Judgement::Raise { value, readings, message },
        Some(Transition::Clear { value, .. }) => Judgement::Clear { value },
        None => Judgement::Hold,
    }
}

/// Steps a metric rule through a device's readings of its metric (time ms, value; in event
/// time order; CO already warm), from a state with no alarm at the first reading, and answers
/// every raise and clear in order whose deciding reading is at or after `since_ms`. The
/// earlier readings are context only: they were judged before, or they fill the rule's window.
///
/// Because transitions are dated by the readings, late and backfilled readings are judged as
/// if they had come on time: a spike that came and went between two judgements raises and
/// clears at its own times, and an hour of backfilled CO raises its dose alarm when the dose
/// got there. Event rules ([`ConditionKind::reads_metric`] false) make no transitions.
pub fn transitions(rule: &Rule, readings: &[(i64, f64)], since_ms: i64) -> Vec<Transition> {
    let mut run = RuleRun::new(rule);
    transitions_from(&mut run, rule, readings, since_ms)
}

/// [`transitions`] from a run that has already seen the readings before these (the alarm job's
/// kept state); the run is left where the readings take it.
pub fn transitions_from(run: &mut RuleRun, rule: &Rule, readings: &[(i64, f64)], since_ms: i64) -> Vec<Transition> {
    readings.iter().filter_map(|&(ts, v)| run.step(rule, ts, v)).filter(|t| t.decided_ms() >= since_ms).collect()
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
    /// The longest any of its delays may be (a day).
    pub const MAX_DELAY_SECS: i64 = 86_400;
    /// The shortest gap between one contact's turn and the next one's.
    pub const MIN_NEXT_CONTACT_SECS: i64 = 30;
    /// The shortest pause before a round starts again.
    pub const MIN_REPEAT_SECS: i64 = 60;
    /// The most rounds an escalation may go.
    pub const MAX_ROUNDS: u32 = 20;

    pub fn check(&self) -> Result<(), (&'static str, String)> {
        let day = Self::MAX_DELAY_SECS;
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
        if self.next_contact_after_secs < Self::MIN_NEXT_CONTACT_SECS {
            return Err((
                "next_contact_after_secs",
                format!("must be at least {} seconds", Self::MIN_NEXT_CONTACT_SECS),
            ));
        }
        if self.repeat_after_secs < Self::MIN_REPEAT_SECS {
            return Err(("repeat_after_secs", format!("must be at least {} seconds", Self::MIN_REPEAT_SECS)));
        }
        if !(1..=Self::MAX_ROUNDS).contains(&self.max_rounds) {
            return Err(("max_rounds", format!("must be between 1 and {}", Self::MAX_ROUNDS)));
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

    #[test]
    fn a_trail_actor_is_written_and_read_in_one_form() {
        let id: uuid::Uuid = "0190a6f2-8b3c-7def-8123-456789abcdef".parse().unwrap();
        for actor in [
            TrailActor::System,
            TrailActor::User(UserId(id)),
            TrailActor::ApiKey(ApiKeyId(id)),
            TrailActor::Contact(ContactId(id)),
        ] {
            assert_eq!(actor.to_string().parse(), Ok(actor));
        }
        assert_eq!(TrailActor::User(UserId(id)).to_string(), format!("user:{id}"));
        for bad in ["", "user", "user:", "user:1", "robot:0190a6f2-8b3c-7def-8123-456789abcdef", "System"] {
            assert_eq!(bad.parse::<TrailActor>(), Err(()), "{bad}");
        }
    }

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
    fn a_spike_between_two_judgements_raises_once_at_its_own_time() {
        // CO jumps to 120 ppm for one reading and is back to 20 by the time the rules are
        // judged (co_high raises at once, clears after 5 minutes under 35).
        let co = rule("co_high");
        let day = series(0, 10, &[20.0, 20.0, 120.0, 20.0, 20.0]);
        match transitions(&co, &day, 10_000).as_slice() {
            [Transition::Raise { at_ms, value, readings, .. }] => {
                assert_eq!((*at_ms, *value), (20_000, 120.0), "raised at the spike's own time");
                assert_eq!(readings, &vec![(20_000, 120.0)], "the spike is the evidence");
            }
            other => panic!("a spike after the last judgement must raise: {other:?}"),
        }
        // Judged again with the spike behind the last judgement: no second raise.
        assert_eq!(transitions(&co, &day, 40_000), vec![]);
        // Five minutes under 35 after the spike: raised and then cleared, dated at the spike and
        // at the first clean reading, whenever the judging happens.
        let later: Vec<(i64, f64)> = day.iter().copied().chain((5..40).map(|i| (i * 10_000, 20.0))).collect();
        match transitions(&co, &later, 10_000).as_slice() {
            [Transition::Raise { at_ms: 20_000, .. }, Transition::Clear { at_ms: 30_000, decided_ms, .. }] => {
                assert_eq!(*decided_ms, 330_000, "decided once it had been clean for 5 minutes");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(transitions(&co, &later, 100_000).as_slice(), [Transition::Clear { at_ms: 30_000, .. }]));
        // A rule that clears at once still raises for a one-reading spike, then clears.
        let instant = Rule { for_secs: 0, clear_secs: 0, clear_value: co.value, ..co.clone() };
        let steps = transitions(&instant, &day, 10_000);
        assert!(matches!(steps.as_slice(), [Transition::Raise { .. }, Transition::Clear { .. }]), "{steps:?}");
    }

    #[test]
    fn a_held_rule_is_dated_at_the_first_breaking_reading() {
        let heart = rule("heart_high"); // above 180 for 5 min
        let long = series(600, 60, &[120.0, 190.0, 195.0, 200.0, 199.0, 197.0, 192.0]);
        match transitions(&heart, &long, i64::MIN).as_slice() {
            [Transition::Raise { at_ms, decided_ms, .. }] => {
                assert_eq!((*at_ms, *decided_ms), (660_000, 960_000), "began at 190, decided 5 minutes on");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn two_incidents_in_one_backfill_are_two_raises_and_two_clears() {
        let co = rule("co_high");
        let mut values = vec![10.0; 10];
        values.extend([80.0; 5]);
        values.extend([10.0; 40]);
        values.extend([90.0; 5]);
        values.extend([10.0; 40]);
        let steps = transitions(&co, &series(0, 10, &values), i64::MIN);
        let kinds: Vec<(&str, i64)> = steps
            .iter()
            .map(|t| match t {
                Transition::Raise { at_ms, .. } => ("raise", *at_ms),
                Transition::Clear { at_ms, .. } => ("clear", *at_ms),
            })
            .collect();
        assert_eq!(kinds, vec![("raise", 100_000), ("clear", 150_000), ("raise", 550_000), ("clear", 600_000)]);
    }

    #[test]
    fn the_dose_and_rise_rules_work_on_a_backfilled_hour_as_on_live_data() {
        // Ten minutes clean, an hour at 400 ppm, five hours clean, one reading a minute, judged
        // in one go after the fact.
        let mut values = vec![5.0; 10];
        values.extend([400.0; 60]);
        values.extend([5.0; 300]);
        let hour = series(0, 60, &values);
        let dose = transitions(&rule("co_dose"), &hour, i64::MIN);
        match dose.as_slice() {
            [Transition::Raise { at_ms: raised, .. }, Transition::Clear { at_ms: cleared, .. }] => {
                assert!((600_000..=600_000 + 15 * 60_000).contains(raised), "UL 2034: 400 ppm within 15 min: {raised}");
                assert!(*cleared > 70 * 60_000, "clears after the air is clean again: {cleared}");
            }
            other => panic!("{other:?}"),
        }
        // A climb of 10 ppm a minute over 5 minutes from 5 ppm, then a plateau.
        let mut climb: Vec<f64> = (0..10).map(|_| 5.0).collect();
        climb.extend((1..=6).map(|i| 5.0 + 12.0 * f64::from(i)));
        climb.extend([77.0; 20]);
        let rise = transitions(&rule("co_rising"), &series(0, 60, &climb), i64::MIN);
        assert!(
            matches!(rise.as_slice(), [Transition::Raise { at_ms, .. }, Transition::Clear { .. }] if (660_000..=900_000).contains(at_ms)),
            "{rise:?}"
        );
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
        let mut plateau = vec![5.0, 12.0, 20.0, 28.0, 36.0, 44.0];
        plateau.extend(std::iter::repeat_n(44.0, 12));
        assert!(matches!(judge(&rising, &series(0, 30, &plateau)), Judgement::Clear { .. }), "a rise, then none");
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
