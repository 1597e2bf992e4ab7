//! A metric rule's run state, stepped one reading at a time, and its stored form.
//!
//! [`RuleRun`] is where a rule stands after the readings it has been given: whether its alarm
//! is raised, the breaking or clearing stretch under way, the dose so far, the recent readings a
//! rise is measured against, and the last few readings of the stretch (the evidence a raise
//! carries). [`super::transitions`] steps a fresh run through a window of readings; the alarm
//! job keeps each device's runs between passes ([`DeviceRuns`], stored with the newest reading
//! they have seen), so a pass steps them through the new readings only and a restart resumes
//! them without reading the window again.
//!
//! The stored form is a few hand-written bytes (no serde in this crate): a version byte, then
//! each run under its alarm type and its rule's signature, so a run whose rule was edited since
//! is not resumed (the job rebuilds it from the readings). A form this code cannot read, or a
//! different version, is simply not resumed.

use std::collections::VecDeque;

use super::{ConditionKind, EVIDENCE_MAX, Rule, Transition, evidence, round2};
use crate::air::{Dose, WarmUp};
use crate::readings::Metric;

/// A rise run keeps at most this many recent readings; a run that would need more (a long
/// rise window at a high reading rate) is not stored, and is rebuilt from the readings.
pub const RISE_KEEP_MAX: usize = 4_096;

/// Where one metric rule stands after the readings stepped so far.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleRun {
    raised: bool,
    stretch: Stretch,
}

#[derive(Debug, Clone, PartialEq)]
enum Stretch {
    /// An above or below rule: when the current breaking run began (its newest readings kept
    /// as evidence), and when the current clearing run began.
    Threshold { breaking_from: Option<i64>, clearing_from: Option<i64>, run: VecDeque<(i64, f64)> },
    /// A rise rule: the readings a rise or its end may be measured from (oldest first).
    Rise { recent: VecDeque<(i64, f64)> },
    /// The CO dose rule: the exposure so far, and the newest readings of the stretch at or
    /// above the clear level.
    Dose { dose: Dose, run: VecDeque<(i64, f64)> },
    /// A rule that reads no metric.
    Idle,
}

impl RuleRun {
    /// A run with no alarm raised and no reading seen.
    pub fn new(rule: &Rule) -> Self {
        let stretch = match rule.kind {
            ConditionKind::Above | ConditionKind::Below => {
                Stretch::Threshold { breaking_from: None, clearing_from: None, run: VecDeque::new() }
            }
            ConditionKind::Rise => Stretch::Rise { recent: VecDeque::new() },
            ConditionKind::CoDose => Stretch::Dose { dose: Dose::default(), run: VecDeque::new() },
            _ => Stretch::Idle,
        };
        Self { raised: false, stretch }
    }

    /// Whether the rule's alarm is raised at the newest reading stepped.
    pub fn raised(&self) -> bool {
        self.raised
    }

    /// Takes the rule's next reading (time ms, value; newer than every reading before it) and
    /// answers the raise or clear it decides, if any.
    pub fn step(&mut self, rule: &Rule, ts: i64, v: f64) -> Option<Transition> {
        match &mut self.stretch {
            Stretch::Threshold { breaking_from, clearing_from, run } => {
                let above = rule.kind == ConditionKind::Above;
                let breaks = if above { v > rule.value } else { v < rule.value };
                let clears = if above { v < rule.clear_value } else { v > rule.clear_value };
                if breaks {
                    *clearing_from = None;
                    if breaking_from.is_none() {
                        run.clear();
                    }
                    let from = *breaking_from.get_or_insert(ts);
                    push_bounded(run, (ts, v), EVIDENCE_MAX);
                    if !self.raised && ts - from >= rule.for_secs * 1000 {
                        self.raised = true;
                        let word = if above { "above" } else { "below" };
                        let metric = rule.metric.map_or("value", Metric::name);
                        let unit = rule.metric.map_or("", |m| m.unit());
                        return Some(Transition::Raise {
                            at_ms: from,
                            decided_ms: ts,
                            value: v,
                            readings: run.iter().copied().collect(),
                            message: format!("{metric} {} {unit} is {word} {} {unit}", round2(v), rule.value),
                        });
                    }
                    None
                } else {
                    *breaking_from = None;
                    run.clear();
                    if !clears {
                        *clearing_from = None;
                        return None;
                    }
                    let from = *clearing_from.get_or_insert(ts);
                    if self.raised && ts - from >= rule.clear_secs * 1000 {
                        self.raised = false;
                        return Some(Transition::Clear { at_ms: from, decided_ms: ts, value: v });
                    }
                    None
                }
            }
            Stretch::Rise { recent } => {
                let (window_ms, clear_ms) = (rule.for_secs * 1000, rule.clear_secs * 1000);
                // The newest earlier reading at least `ms` before this one.
                let before = |recent: &VecDeque<(i64, f64)>, ms: i64| {
                    recent.partition_point(|(t, _)| *t <= ts - ms).checked_sub(1)
                };
                let mut out = None;
                if !self.raised {
                    if let Some(s) = before(recent, window_ms) {
                        let (start_ts, start) = recent[s];
                        let minutes = (ts - start_ts) as f64 / 60_000.0;
                        let rate = (v - start) / minutes;
                        if v >= rule.clear_value && rate >= rule.value && minutes <= 3.0 * rule.for_secs as f64 / 60.0 {
                            self.raised = true;
                            let unit = rule.metric.map_or("", |m| m.unit());
                            let mut run: Vec<(i64, f64)> = recent.range(s..).copied().collect();
                            run.push((ts, v));
                            out = Some(Transition::Raise {
                                at_ms: ts,
                                decided_ms: ts,
                                value: v,
                                readings: evidence(&run),
                                message: format!("rising {:.1} {unit} a minute, now {} {unit}", rate, round2(v)),
                            });
                        }
                    }
                } else if let Some(c) = before(recent, clear_ms)
                    && v <= recent[c].1
                {
                    self.raised = false;
                    out = Some(Transition::Clear { at_ms: recent[c].0, decided_ms: ts, value: v });
                }
                recent.push_back((ts, v));
                // A reading is never asked for again once a newer one is as far back as the
                // longest look-back from this reading.
                let keep_ms = window_ms.max(clear_ms);
                while recent.len() > 1 && recent[1].0 <= ts - keep_ms {
                    recent.pop_front();
                }
                out
            }
            Stretch::Dose { dose, run } => {
                let level = dose.reading(ts, v);
                if level < rule.clear_value {
                    run.clear();
                    if self.raised {
                        self.raised = false;
                        return Some(Transition::Clear { at_ms: ts, decided_ms: ts, value: level });
                    }
                    return None;
                }
                push_bounded(run, (ts, v), EVIDENCE_MAX);
                if !self.raised && level >= rule.value {
                    self.raised = true;
                    return Some(Transition::Raise {
                        at_ms: ts,
                        decided_ms: ts,
                        value: level,
                        readings: run.iter().copied().collect(),
                        message: format!(
                            "CO exposure reached {:.0} ppm-equivalent over time (now {} ppm)",
                            level,
                            round2(v)
                        ),
                    });
                }
                None
            }
            Stretch::Idle => None,
        }
    }

    fn write(&self, out: &mut Vec<u8>) -> bool {
        out.push(u8::from(self.raised));
        match &self.stretch {
            Stretch::Threshold { breaking_from, clearing_from, run } => {
                out.push(1);
                put_opt(out, *breaking_from);
                put_opt(out, *clearing_from);
                put_points(out, run);
            }
            Stretch::Rise { recent } => {
                if recent.len() > RISE_KEEP_MAX {
                    return false;
                }
                out.push(2);
                put_points(out, recent);
            }
            Stretch::Dose { dose, run } => {
                out.push(3);
                let (level, last_ms, last_ppm) = dose.parts();
                out.extend_from_slice(&level.to_le_bytes());
                put_opt(out, last_ms);
                out.extend_from_slice(&last_ppm.to_le_bytes());
                put_points(out, run);
            }
            Stretch::Idle => out.push(0),
        }
        true
    }

    fn read(rule: &Rule, r: &mut Reader<'_>) -> Option<Self> {
        let raised = r.u8()? != 0;
        let stretch = match (r.u8()?, rule.kind) {
            (1, ConditionKind::Above | ConditionKind::Below) => {
                Stretch::Threshold { breaking_from: r.opt()?, clearing_from: r.opt()?, run: r.points()? }
            }
            (2, ConditionKind::Rise) => Stretch::Rise { recent: r.points()? },
            (3, ConditionKind::CoDose) => {
                let (level, last_ms, last_ppm) = (r.f64()?, r.opt()?, r.f64()?);
                Stretch::Dose { dose: Dose::from_parts(level, last_ms, last_ppm), run: r.points()? }
            }
            (0, _) => Stretch::Idle,
            _ => return None,
        };
        Some(Self { raised, stretch })
    }
}

fn push_bounded(run: &mut VecDeque<(i64, f64)>, point: (i64, f64), max: usize) {
    if run.len() == max {
        run.pop_front();
    }
    run.push_back(point);
}

/// What a rule's run depends on besides the readings: when any of it changes, the run is
/// rebuilt from the readings instead of resumed.
pub fn rule_signature(rule: &Rule) -> String {
    format!(
        "{}|{}|{}|{}|{}|{}",
        rule.kind.as_str(),
        rule.metric.map_or("", Metric::name),
        rule.value.to_bits(),
        rule.clear_value.to_bits(),
        rule.for_secs,
        rule.clear_secs
    )
}

/// A device's rule runs as the alarm job keeps them between passes: every run has seen the
/// device's readings up to `watermark_ms` and none after.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceRuns {
    /// The newest reading's event time the runs have seen.
    pub watermark_ms: i64,
    /// The CO sensor's warm-up, fed every reading with a CO value.
    pub warm: WarmUp,
    /// What the device's CO figures were computed with (its calibration), as the caller
    /// fingerprints it: runs computed with another are rebuilt.
    pub calibration: u64,
    /// Each rule's run under its alarm type, with the rule's signature.
    pub runs: Vec<(String, String, RuleRun)>,
}

const FORM_VERSION: u8 = 1;

impl DeviceRuns {
    /// The run kept for the rule with this alarm type, if its rule has not changed since.
    pub fn take(&mut self, alarm_type: &str, rule: &Rule) -> Option<RuleRun> {
        let signature = rule_signature(rule);
        let i = self.runs.iter().position(|(t, s, _)| t == alarm_type && *s == signature)?;
        Some(self.runs.swap_remove(i).2)
    }

    /// The stored form; `None` when a run is too large to keep (it is rebuilt instead).
    pub fn encode(&self) -> Option<Vec<u8>> {
        let mut out = Vec::with_capacity(64 + self.runs.len() * 128);
        out.push(FORM_VERSION);
        out.extend_from_slice(&self.watermark_ms.to_le_bytes());
        let (started, last) = self.warm.parts();
        put_opt(&mut out, started);
        put_opt(&mut out, last);
        out.extend_from_slice(&self.calibration.to_le_bytes());
        out.extend_from_slice(&(self.runs.len() as u32).to_le_bytes());
        let mut body = Vec::new();
        for (alarm_type, signature, run) in &self.runs {
            put_str(&mut out, alarm_type);
            put_str(&mut out, signature);
            body.clear();
            if !run.write(&mut body) {
                return None;
            }
            out.extend_from_slice(&(body.len() as u32).to_le_bytes());
            out.extend_from_slice(&body);
        }
        Some(out)
    }

    /// Reads the stored form back, each run checked against its rule (`rule_of` answers the
    /// rule for an alarm type); `None` for a form this code did not write.
    pub fn decode<'r>(bytes: &[u8], rule_of: impl Fn(&str) -> Option<&'r Rule>) -> Option<Self> {
        let mut r = Reader(bytes);
        if r.u8()? != FORM_VERSION {
            return None;
        }
        let watermark_ms = r.i64()?;
        let warm = WarmUp::from_parts(r.opt()?, r.opt()?);
        let calibration = r.i64()? as u64;
        let n = r.u32()? as usize;
        let mut runs = Vec::with_capacity(n.min(64));
        for _ in 0..n {
            let alarm_type = r.str()?;
            let signature = r.str()?;
            let body = r.bytes()?;
            // The run of a rule that is gone or was edited since is left behind.
            let Some(rule) = rule_of(&alarm_type).filter(|rule| rule_signature(rule) == signature) else { continue };
            let mut body = Reader(body);
            let run = RuleRun::read(rule, &mut body)?;
            if !body.0.is_empty() {
                return None;
            }
            runs.push((alarm_type, signature, run));
        }
        r.0.is_empty().then_some(Self { watermark_ms, warm, calibration, runs })
    }
}

fn put_opt(out: &mut Vec<u8>, v: Option<i64>) {
    match v {
        Some(v) => {
            out.push(1);
            out.extend_from_slice(&v.to_le_bytes());
        }
        None => out.push(0),
    }
}

fn put_points(out: &mut Vec<u8>, points: &VecDeque<(i64, f64)>) {
    out.extend_from_slice(&(points.len() as u32).to_le_bytes());
    for (t, v) in points {
        out.extend_from_slice(&t.to_le_bytes());
        out.extend_from_slice(&v.to_le_bytes());
    }
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.0.split_first_chunk::<N>()?;
        self.0 = rest;
        Some(*head)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take::<1>().map(|[b]| b)
    }
    fn u32(&mut self) -> Option<u32> {
        self.take().map(u32::from_le_bytes)
    }
    fn i64(&mut self) -> Option<i64> {
        self.take().map(i64::from_le_bytes)
    }
    fn f64(&mut self) -> Option<f64> {
        self.take().map(f64::from_le_bytes)
    }
    fn opt(&mut self) -> Option<Option<i64>> {
        match self.u8()? {
            0 => Some(None),
            1 => self.i64().map(Some),
            _ => None,
        }
    }
    fn points(&mut self) -> Option<VecDeque<(i64, f64)>> {
        let n = self.u32()? as usize;
        if n > self.0.len() / 16 {
            return None;
        }
        (0..n).map(|_| Some((self.i64()?, self.f64()?))).collect()
    }
    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = self.u32()? as usize;
        let (s, rest) = self.0.split_at_checked(n)?;
        self.0 = rest;
        Some(s)
    }
    fn str(&mut self) -> Option<String> {
        String::from_utf8(self.bytes()?.to_vec()).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Severity, transitions, transitions_from};
    use super::*;

    /// The walks this module replaced, kept word for word as the reference: each steps a fresh
    /// state through a whole slice, looking back into the slice itself.
    mod reference {
        use super::super::super::{ConditionKind, Rule, Transition, evidence, round2};
        use crate::readings::Metric;

        pub(super) fn transitions(rule: &Rule, readings: &[(i64, f64)]) -> Vec<Transition> {
            match rule.kind {
                ConditionKind::Above | ConditionKind::Below => walk_threshold(rule, readings),
                ConditionKind::Rise => walk_rise(rule, readings),
                ConditionKind::CoDose => walk_dose(rule, readings),
                _ => Vec::new(),
            }
        }

        fn walk_threshold(rule: &Rule, readings: &[(i64, f64)]) -> Vec<Transition> {
            let above = rule.kind == ConditionKind::Above;
            let breaks = |v: f64| if above { v > rule.value } else { v < rule.value };
            let clears = |v: f64| if above { v < rule.clear_value } else { v > rule.clear_value };
            let (for_ms, clear_ms) = (rule.for_secs * 1000, rule.clear_secs * 1000);
            let word = if above { "above" } else { "below" };
            let metric = rule.metric.map_or("value", Metric::name);
            let unit = rule.metric.map_or("", |m| m.unit());
            let mut out = Vec::new();
            let (mut breaking, mut clearing): (Option<usize>, Option<usize>) = (None, None);
            let mut raised = false;
            for (i, &(ts, v)) in readings.iter().enumerate() {
                if breaks(v) {
                    clearing = None;
                    let from = *breaking.get_or_insert(i);
                    if !raised && ts - readings[from].0 >= for_ms {
                        raised = true;
                        out.push(Transition::Raise {
                            at_ms: readings[from].0,
                            decided_ms: ts,
                            value: v,
                            readings: evidence(&readings[from..=i]),
                            message: format!("{metric} {} {unit} is {word} {} {unit}", round2(v), rule.value),
                        });
                    }
                } else {
                    breaking = None;
                    if !clears(v) {
                        clearing = None;
                        continue;
                    }
                    let from = *clearing.get_or_insert(i);
                    if raised && ts - readings[from].0 >= clear_ms {
                        raised = false;
                        out.push(Transition::Clear { at_ms: readings[from].0, decided_ms: ts, value: v });
                    }
                }
            }
            out
        }

        fn walk_rise(rule: &Rule, readings: &[(i64, f64)]) -> Vec<Transition> {
            let unit = rule.metric.map_or("", |m| m.unit());
            let (window_ms, clear_ms) = (rule.for_secs * 1000, rule.clear_secs * 1000);
            let mut out = Vec::new();
            let mut raised = false;
            for (i, &(ts, v)) in readings.iter().enumerate() {
                let before = |ms: i64| readings[..i].partition_point(|(t, _)| *t <= ts - ms).checked_sub(1);
                if !raised {
                    let Some(s) = before(window_ms) else { continue };
                    let (start_ts, start) = readings[s];
                    let minutes = (ts - start_ts) as f64 / 60_000.0;
                    let rate = (v - start) / minutes;
                    if v >= rule.clear_value && rate >= rule.value && minutes <= 3.0 * rule.for_secs as f64 / 60.0 {
                        raised = true;
                        out.push(Transition::Raise {
                            at_ms: ts,
                            decided_ms: ts,
                            value: v,
                            readings: evidence(&readings[s..=i]),
                            message: format!("rising {:.1} {unit} a minute, now {} {unit}", rate, round2(v)),
                        });
                    }
                } else if let Some(c) = before(clear_ms)
                    && v <= readings[c].1
                {
                    raised = false;
                    out.push(Transition::Clear { at_ms: readings[c].0, decided_ms: ts, value: v });
                }
            }
            out
        }

        fn walk_dose(rule: &Rule, readings: &[(i64, f64)]) -> Vec<Transition> {
            let mut out = Vec::new();
            let mut dose = crate::air::Dose::default();
            let mut raised = false;
            let mut peak_from = 0;
            for (i, &(ts, ppm)) in readings.iter().enumerate() {
                let level = dose.reading(ts, ppm);
                if level < rule.clear_value {
                    peak_from = i + 1;
                    if raised {
                        raised = false;
                        out.push(Transition::Clear { at_ms: ts, decided_ms: ts, value: level });
                    }
                } else if !raised && level >= rule.value {
                    raised = true;
                    out.push(Transition::Raise {
                        at_ms: ts,
                        decided_ms: ts,
                        value: level,
                        readings: evidence(&readings[peak_from.min(i)..=i]),
                        message: format!(
                            "CO exposure reached {:.0} ppm-equivalent over time (now {} ppm)",
                            level,
                            round2(ppm)
                        ),
                    });
                }
            }
            out
        }
    }

    /// Generated cases, the same on every machine (the life log's test generator).
    struct Cases(crate::lifelog::boost::tests::Rng);
    impl Cases {
        fn below(&mut self, n: u64) -> u64 {
            self.0.next_u64() % n
        }
        fn unit(&mut self) -> f64 {
            self.0.uniform()
        }
    }

    fn custom(
        kind: ConditionKind,
        metric: Metric,
        value: f64,
        clear_value: f64,
        for_secs: i64,
        clear_secs: i64,
    ) -> Rule {
        Rule {
            key: None,
            name: "Generated".into(),
            device_kind: None,
            kind,
            metric: Some(metric),
            value,
            clear_value,
            for_secs,
            clear_secs,
            severity: Severity::Major,
            enabled: true,
        }
    }

    /// A rule of every metric kind, with random levels and hold times around a series that
    /// wanders between 0 and 200.
    fn random_rule(cases: &mut Cases) -> Rule {
        let (for_secs, clear_secs) = (cases.below(4) as i64 * 30, cases.below(4) as i64 * 30);
        let level = 80.0 + cases.unit() * 60.0;
        let gap = cases.unit() * 30.0;
        match cases.below(4) {
            0 => custom(ConditionKind::Above, Metric::HeartRate, level, level - gap, for_secs, clear_secs),
            1 => custom(ConditionKind::Below, Metric::HeartRate, level, level + gap, for_secs, clear_secs),
            2 => {
                custom(ConditionKind::Rise, Metric::CoPpm, 5.0 + cases.unit() * 20.0, level, 60 + for_secs, clear_secs)
            }
            _ => custom(ConditionKind::CoDose, Metric::CoPpm, level / 2.0, level / 2.0 - gap / 2.0, 0, 0),
        }
    }

    /// Readings 1 s to 90 s apart, drifting, with spikes and plateaus.
    fn random_series(cases: &mut Cases, n: usize) -> Vec<(i64, f64)> {
        let (mut ts, mut v) = (cases.below(1_000_000) as i64, 100.0);
        (0..n)
            .map(|_| {
                ts += 1_000 + cases.below(89_000) as i64;
                v = match cases.below(20) {
                    0 => cases.unit() * 200.0,
                    1..=3 => v,
                    _ => (v + (cases.unit() - 0.5) * 30.0).clamp(0.0, 200.0),
                };
                (ts, v)
            })
            .collect()
    }

    fn encoded_and_back(runs: &DeviceRuns, rule: &Rule) -> DeviceRuns {
        let bytes = runs.encode().expect("small runs are kept");
        DeviceRuns::decode(&bytes, |t| (t == "generated").then_some(rule)).expect("its own form reads back")
    }

    #[test]
    fn a_run_resumed_from_its_stored_form_between_any_two_readings_decides_what_one_walk_decides() {
        let mut cases = Cases(crate::lifelog::boost::tests::Rng(0x5EED));
        let mut transitions_seen = 0;
        for case in 0..400 {
            let rule = random_rule(&mut cases);
            let n = 50 + cases.below(400) as usize;
            let series = random_series(&mut cases, n);
            let whole = transitions(&rule, &series, i64::MIN);
            assert_eq!(whole, reference::transitions(&rule, &series), "case {case}: the walk it replaced, {rule:?}");
            // The same readings in random pieces, the run stored and read back between them.
            let mut runs = DeviceRuns {
                watermark_ms: i64::MIN,
                warm: WarmUp::default(),
                calibration: 7,
                runs: vec![("generated".into(), rule_signature(&rule), RuleRun::new(&rule))],
            };
            let mut pieces = Vec::new();
            let mut at = 0;
            while at < series.len() {
                let end = (at + 1 + cases.below(40) as usize).min(series.len());
                runs = encoded_and_back(&runs, &rule);
                let mut run = runs.take("generated", &rule).expect("the rule has not changed");
                pieces.extend(transitions_from(&mut run, &rule, &series[at..end], i64::MIN));
                runs.runs.push(("generated".into(), rule_signature(&rule), run));
                runs.watermark_ms = series[end - 1].0;
                at = end;
            }
            assert_eq!(pieces, whole, "case {case}: {rule:?}");
            transitions_seen += whole.len();
        }
        assert!(transitions_seen > 400, "the generated cases raise and clear: {transitions_seen}");
    }

    #[test]
    fn a_run_of_an_edited_rule_is_not_resumed_and_a_strange_form_is_not_read() {
        let rule = custom(ConditionKind::Above, Metric::HeartRate, 180.0, 150.0, 60, 60);
        let mut run = RuleRun::new(&rule);
        run.step(&rule, 0, 200.0);
        run.step(&rule, 60_000, 200.0);
        assert!(run.raised());
        let runs = DeviceRuns {
            watermark_ms: 60_000,
            warm: WarmUp::default(),
            calibration: 1,
            runs: vec![("generated".into(), rule_signature(&rule), run.clone())],
        };
        let bytes = runs.encode().expect("kept");
        let mut back = DeviceRuns::decode(&bytes, |_| Some(&rule)).expect("read back");
        assert_eq!(back, runs);
        assert_eq!(back.take("generated", &rule), Some(run));

        let edited = Rule { value: 170.0, ..rule.clone() };
        let mut back = DeviceRuns::decode(&bytes, |_| Some(&edited)).expect("the rest is read");
        assert!(back.runs.is_empty(), "the edited rule's run is left behind");
        assert_eq!(back.take("generated", &edited), None);
        assert!(DeviceRuns::decode(&bytes, |_| None).is_some_and(|r| r.runs.is_empty()), "a deleted rule");

        let mut other_version = bytes.clone();
        other_version[0] = 99;
        assert_eq!(DeviceRuns::decode(&other_version, |_| Some(&rule)), None);
        for cut in 0..bytes.len() {
            assert_eq!(DeviceRuns::decode(&bytes[..cut], |_| Some(&rule)), None, "cut at {cut}");
        }
    }

    #[test]
    fn a_rise_run_too_long_to_keep_is_not_stored() {
        // A rise over an hour at ten readings a second keeps 36,000 readings: rebuilt instead.
        let rule = custom(ConditionKind::Rise, Metric::CoPpm, 1.0, 50.0, 3_600, 0);
        let mut run = RuleRun::new(&rule);
        for i in 0..(RISE_KEEP_MAX as i64 + 10) {
            run.step(&rule, i * 100, 10.0);
        }
        let runs = DeviceRuns {
            watermark_ms: 0,
            warm: WarmUp::default(),
            calibration: 0,
            runs: vec![("generated".into(), rule_signature(&rule), run)],
        };
        assert_eq!(runs.encode(), None);
    }
}
