//! A daily wellness score (0–100) from activity, rest, vitals and care, with the reasons; the
//! activity goal it measures against; and the trend of the score.
//!
//! Life stages (documented bands):
//! - dogs: young under 12 months (under 18 months for giant breeds); senior from 10 years
//!   (small, under 10 kg), 9 years (medium, 10–25 kg), 8 years (large, 25–45 kg), 6 years
//!   (giant, over 45 kg), or 9 years when the size is unknown;
//! - cats: young under 12 months, senior from 11 years;
//! - rabbits: young under 6 months, senior from 6 years; horses: young under 24 months, senior
//!   from 18 years; other species: young under 6 months, never senior.
//!
//! A dog's size comes from its breed when the breed is one Petty knows, else from its weight.

use time::Date;

use crate::anomalies::minutes;
use crate::baselines::{Baseline, DaySummary};
use crate::pets::{PetProfile, Species};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LifeStage {
    Young,
    Adult,
    Senior,
}

impl LifeStage {
    pub fn as_str(self) -> &'static str {
        match self {
            LifeStage::Young => "young",
            LifeStage::Adult => "adult",
            LifeStage::Senior => "senior",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SizeClass {
    /// Under 10 kg as an adult.
    Small,
    /// 10–25 kg.
    Medium,
    /// 25–45 kg.
    Large,
    /// Over 45 kg.
    Giant,
}

impl SizeClass {
    pub fn as_str(self) -> &'static str {
        match self {
            SizeClass::Small => "small",
            SizeClass::Medium => "medium",
            SizeClass::Large => "large",
            SizeClass::Giant => "giant",
        }
    }

    pub fn from_weight(kg: f64) -> SizeClass {
        if kg < 10.0 {
            SizeClass::Small
        } else if kg < 25.0 {
            SizeClass::Medium
        } else if kg <= 45.0 {
            SizeClass::Large
        } else {
            SizeClass::Giant
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Energy {
    Low,
    Normal,
    High,
}

/// Dog breeds Petty knows: (name, size, energy, typical adult weight upper bound in kg).
const BREEDS: &[(&str, SizeClass, Energy, f64)] = &[
    ("chihuahua", SizeClass::Small, Energy::Normal, 3.0),
    ("yorkshire", SizeClass::Small, Energy::Normal, 3.5),
    ("pomeranian", SizeClass::Small, Energy::Normal, 3.5),
    ("maltese", SizeClass::Small, Energy::Normal, 4.0),
    ("shih tzu", SizeClass::Small, Energy::Low, 7.5),
    ("pug", SizeClass::Small, Energy::Low, 8.5),
    ("dachshund", SizeClass::Small, Energy::Normal, 14.0),
    ("jack russell", SizeClass::Small, Energy::High, 8.0),
    ("cavalier", SizeClass::Small, Energy::Normal, 8.5),
    ("french bulldog", SizeClass::Small, Energy::Low, 13.0),
    ("miniature schnauzer", SizeClass::Small, Energy::Normal, 8.0),
    ("poodle", SizeClass::Medium, Energy::Normal, 32.0),
    ("beagle", SizeClass::Medium, Energy::High, 14.0),
    ("cocker spaniel", SizeClass::Medium, Energy::Normal, 15.0),
    ("springer spaniel", SizeClass::Medium, Energy::High, 25.0),
    ("border collie", SizeClass::Medium, Energy::High, 20.0),
    ("australian shepherd", SizeClass::Medium, Energy::High, 32.0),
    ("bulldog", SizeClass::Medium, Energy::Low, 25.0),
    ("husky", SizeClass::Medium, Energy::High, 27.0),
    ("whippet", SizeClass::Medium, Energy::Normal, 18.0),
    ("staffordshire", SizeClass::Medium, Energy::Normal, 17.0),
    ("labrador", SizeClass::Large, Energy::High, 36.0),
    ("golden retriever", SizeClass::Large, Energy::High, 34.0),
    ("german shepherd", SizeClass::Large, Energy::High, 40.0),
    ("malinois", SizeClass::Large, Energy::High, 30.0),
    ("boxer", SizeClass::Large, Energy::High, 32.0),
    ("vizsla", SizeClass::Large, Energy::High, 30.0),
    ("weimaraner", SizeClass::Large, Energy::High, 40.0),
    ("dalmatian", SizeClass::Large, Energy::High, 32.0),
    ("doberman", SizeClass::Large, Energy::High, 45.0),
    ("greyhound", SizeClass::Large, Energy::Low, 40.0),
    ("basset", SizeClass::Medium, Energy::Low, 29.0),
    ("rottweiler", SizeClass::Large, Energy::Normal, 60.0),
    ("bernese", SizeClass::Giant, Energy::Normal, 55.0),
    ("great dane", SizeClass::Giant, Energy::Normal, 90.0),
    ("mastiff", SizeClass::Giant, Energy::Low, 100.0),
    ("saint bernard", SizeClass::Giant, Energy::Low, 90.0),
    ("st bernard", SizeClass::Giant, Energy::Low, 90.0),
    ("newfoundland", SizeClass::Giant, Energy::Normal, 70.0),
    ("irish wolfhound", SizeClass::Giant, Energy::Normal, 70.0),
];

fn known_breed(profile: &PetProfile) -> Option<&'static (&'static str, SizeClass, Energy, f64)> {
    if profile.species != Species::Dog {
        return None;
    }
    let breed = profile.breed.as_deref()?.to_lowercase().replace(['-', '_'], " ");
    // The longest matching name wins ("french bulldog" over "bulldog").
    BREEDS.iter().filter(|b| breed.contains(b.0)).max_by_key(|b| b.0.len())
}

/// Whole months from `dob` to `today` (0 when `dob` is later).
pub fn age_months(dob: Date, today: Date) -> u32 {
    let months =
        (today.year() - dob.year()) * 12 + i32::from(u8::from(today.month())) - i32::from(u8::from(dob.month()));
    let months = if today.day() < dob.day() { months - 1 } else { months };
    months.max(0) as u32
}

/// A dog's size: from its breed when known, else from its weight; `None` for other species or
/// when neither helps.
pub fn size_class(profile: &PetProfile) -> Option<SizeClass> {
    if profile.species != Species::Dog {
        return None;
    }
    known_breed(profile).map(|b| b.1).or_else(|| profile.weight_kg.map(SizeClass::from_weight))
}

/// The pet's life stage (see the module's bands); `None` when the date of birth is unknown.
pub fn life_stage(profile: &PetProfile, today: Date) -> Option<LifeStage> {
    let months = age_months(profile.date_of_birth?, today);
    let (young_below, senior_from_years) = match profile.species {
        Species::Dog => {
            let size = size_class(profile);
            let young = if size == Some(SizeClass::Giant) { 18 } else { 12 };
            let senior = match size {
                Some(SizeClass::Small) => 10,
                Some(SizeClass::Medium) | None => 9,
                Some(SizeClass::Large) => 8,
                Some(SizeClass::Giant) => 6,
            };
            (young, Some(senior))
        }
        Species::Cat => (12, Some(11)),
        Species::Rabbit => (6, Some(6)),
        Species::Horse => (24, Some(18)),
        _ => (6, None),
    };
    Some(if months < young_below {
        LifeStage::Young
    } else if senior_from_years.is_some_and(|y| months >= y * 12) {
        LifeStage::Senior
    } else {
        LifeStage::Adult
    })
}

/// Minutes of walking, running or playing a day to aim for.
///
/// Dogs: 45 (small), 60 (medium or unknown), 75 (large), 45 (giant); 30 more for high-energy
/// breeds, 15 fewer (at least 30) for low-energy ones; 15 more when heavier than the breed's
/// usual upper weight by over 15%. Young dogs: 10 minutes per month of age (the "5 minutes per
/// month, twice a day" rule), at least 20 and at most the adult goal; seniors: 70% of it.
/// Cats: 30 (young 45, senior 20). Rabbits 60, horses 120, others 30 (seniors 70%).
pub fn activity_goal_minutes(profile: &PetProfile, today: Date) -> u32 {
    let stage = life_stage(profile, today);
    let adult = match profile.species {
        Species::Dog => {
            let base: u32 = match size_class(profile) {
                Some(SizeClass::Small) | Some(SizeClass::Giant) => 45,
                Some(SizeClass::Medium) | None => 60,
                Some(SizeClass::Large) => 75,
            };
            let breed = known_breed(profile);
            let base = match breed.map(|b| b.2) {
                Some(Energy::High) => base + 30,
                Some(Energy::Low) => base.saturating_sub(15).max(30),
                _ => base,
            };
            let overweight = breed.zip(profile.weight_kg).is_some_and(|(b, w)| w > b.3 * 1.15);
            if overweight && stage != Some(LifeStage::Young) { base + 15 } else { base }
        }
        Species::Cat => {
            return match stage {
                Some(LifeStage::Young) => 45,
                Some(LifeStage::Senior) => 20,
                _ => 30,
            };
        }
        Species::Rabbit => 60,
        Species::Horse => 120,
        _ => 30,
    };
    match stage {
        Some(LifeStage::Young) if profile.species == Species::Dog => {
            let months = profile.date_of_birth.map(|d| age_months(d, today)).unwrap_or(0);
            (10 * months).clamp(20, adult)
        }
        Some(LifeStage::Senior) => (f64::from(adult) * 0.7).round() as u32,
        _ => adult,
    }
}

/// Minutes of sleep to expect in the night window (21:00–07:00): dogs 8 h, cats and others 7 h.
pub fn night_sleep_norm_minutes(species: Species) -> f64 {
    match species {
        Species::Dog => 480.0,
        _ => 420.0,
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Component {
    /// `activity`, `rest`, `vitals` or `care`.
    pub name: &'static str,
    /// 0–100; 0 when there is no data.
    pub score: u8,
    /// Its share of the total (the weights of components with data sum to 1; 0 without data).
    pub weight: f64,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Wellness {
    /// 0–100; 0 when no component has data.
    pub score: u8,
    /// Always the four components, in the order activity, rest, vitals, care.
    pub components: Vec<Component>,
}

/// The fewest parts with data for a score to be shown: one part alone (an active afternoon, a
/// night's sleep) says little of a day, and a score of it would claim more than is known.
pub const MIN_PARTS_WITH_DATA: usize = 2;

impl Wellness {
    /// How many parts had data.
    pub fn parts_with_data(&self) -> usize {
        self.components.iter().filter(|c| c.weight > 0.0).count()
    }

    /// The score, when at least [`MIN_PARTS_WITH_DATA`] parts had data to earn one.
    pub fn earned(&self) -> Option<u8> {
        (self.parts_with_data() >= MIN_PARTS_WITH_DATA).then_some(self.score)
    }

    /// The parts without data, each with why.
    pub fn missing(&self) -> Vec<&Component> {
        self.components.iter().filter(|c| c.weight == 0.0).collect()
    }
}

pub const ACTIVITY_WEIGHT: f64 = 0.35;
pub const REST_WEIGHT: f64 = 0.25;
pub const VITALS_WEIGHT: f64 = 0.25;
pub const CARE_WEIGHT: f64 = 0.15;

/// Scores a day. `care_compliance` is the share (0–1) of planned care tasks done.
pub fn score(
    profile: &PetProfile,
    today: Date,
    day: &DaySummary,
    b7: &Baseline,
    care_compliance: Option<f64>,
) -> Wellness {
    // (name, base weight, score 0–100 if there is data, detail)
    let mut parts: Vec<(&'static str, f64, Option<f64>, String)> = Vec::with_capacity(4);

    let goal = activity_goal_minutes(profile, today);
    parts.push(if day.minutes_covered >= 720.0 {
        let s = 100.0 * (day.active_minutes / f64::from(goal.max(1))).min(1.0);
        (
            "activity",
            ACTIVITY_WEIGHT,
            Some(s),
            format!("{} active against a goal of {goal} min", minutes(day.active_minutes)),
        )
    } else {
        ("activity", ACTIVITY_WEIGHT, None, "no data: the collar covered less than 12 hours of the day".into())
    });

    parts.push(if day.night_minutes_covered >= 360.0 {
        let norm = night_sleep_norm_minutes(profile.species);
        let r = day.sleep_minutes / norm;
        let sleep = if r >= 0.85 { 100.0 } else { 100.0 * r / 0.85 };
        let usual = b7.sleep_interruptions.map(|s| s.mean).unwrap_or(1.0).max(1.0);
        let excess = (f64::from(day.sleep_interruptions) - usual).max(0.0);
        let s = (sleep - 10.0 * excess).max(0.0);
        (
            "rest",
            REST_WEIGHT,
            Some(s),
            format!(
                "{} of sleep overnight against about {} expected; {} interruption{} (usually {:.0})",
                minutes(day.sleep_minutes),
                minutes(norm),
                day.sleep_interruptions,
                if day.sleep_interruptions == 1 { "" } else { "s" },
                usual
            ),
        )
    } else {
        ("rest", REST_WEIGHT, None, "no data: the collar covered less than 6 hours of the night".into())
    });

    let dev = |v: Option<f64>, base: Option<f64>| {
        let (v, base) = (v?, base.filter(|b| *b > 0.0)?);
        let d = (v - base).abs() / base;
        Some((v, base, 100.0 * (1.0 - ((d - 0.1) / 0.4).clamp(0.0, 1.0))))
    };
    let hr = dev(day.resting_hr, b7.resting_hr.map(|s| s.mean));
    let resp = dev(day.respiration, b7.respiration.map(|s| s.mean));
    let mut details = Vec::new();
    if let Some((v, b, _)) = hr {
        details.push(format!("resting heart rate {v:.0} bpm against a 7-day baseline of {b:.0}"));
    }
    if let Some((v, b, _)) = resp {
        details.push(format!("respiration {v:.0} breaths/min against a 7-day baseline of {b:.0}"));
    }
    let vital_scores: Vec<f64> = [hr, resp].into_iter().flatten().map(|x| x.2).collect();
    parts.push(if vital_scores.is_empty() {
        ("vitals", VITALS_WEIGHT, None, "no data: no resting vitals with a 7-day baseline".into())
    } else {
        (
            "vitals",
            VITALS_WEIGHT,
            Some(vital_scores.iter().sum::<f64>() / vital_scores.len() as f64),
            details.join("; "),
        )
    });

    parts.push(match care_compliance.filter(|c| c.is_finite()) {
        Some(c) => {
            let c = c.clamp(0.0, 1.0);
            ("care", CARE_WEIGHT, Some(100.0 * c), format!("{:.0}% of planned care done", 100.0 * c))
        }
        None => ("care", CARE_WEIGHT, None, "no data: no care tasks planned".into()),
    });

    let total_weight: f64 = parts.iter().filter(|p| p.2.is_some()).map(|p| p.1).sum();
    let mut total = 0.0;
    let components = parts
        .into_iter()
        .map(|(name, w, s, detail)| {
            let weight = if s.is_some() && total_weight > 0.0 { w / total_weight } else { 0.0 };
            let s = s.unwrap_or(0.0).clamp(0.0, 100.0);
            total += weight * s;
            Component { name, score: s.round() as u8, weight, detail }
        })
        .collect();
    Wellness { score: total.round().clamp(0.0, 100.0) as u8, components }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    Rising,
    Falling,
    Steady,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Rising => "rising",
            Direction::Falling => "falling",
            Direction::Steady => "steady",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Trend {
    /// Mean of the last 7 days (up to the latest date) minus the mean of the 7 before; 0 when
    /// either week has fewer than 3 scores.
    pub delta_7d: f64,
    /// Rising or falling when the change is at least 3 points.
    pub direction: Direction,
}

pub const TREND_MIN_POINTS: f64 = 3.0;

pub fn trend(scores: &[(Date, u8)]) -> Trend {
    let steady = Trend { delta_7d: 0.0, direction: Direction::Steady };
    let Some(latest) = scores.iter().map(|s| s.0).max() else {
        return steady;
    };
    let mean_between = |from: i64, to: i64| {
        let v: Vec<f64> = scores
            .iter()
            .filter(|(d, _)| {
                let ago = (latest - *d).whole_days();
                ago >= from && ago < to
            })
            .map(|(_, s)| f64::from(*s))
            .collect();
        (v.len() >= 3).then(|| v.iter().sum::<f64>() / v.len() as f64)
    };
    let (Some(recent), Some(prior)) = (mean_between(0, 7), mean_between(7, 14)) else {
        return steady;
    };
    let delta_7d = recent - prior;
    let direction = if delta_7d >= TREND_MIN_POINTS {
        Direction::Rising
    } else if delta_7d <= -TREND_MIN_POINTS {
        Direction::Falling
    } else {
        Direction::Steady
    };
    Trend { delta_7d, direction }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::baselines::{baseline, tests::normal_day};
    use crate::pets::Sex;
    use time::Duration;
    use time::macros::date;

    const TODAY: Date = date!(2026 - 03 - 20);

    pub(crate) fn dog(breed: Option<&str>, dob: Option<Date>, weight: Option<f64>) -> PetProfile {
        PetProfile {
            name: "Bella".into(),
            species: Species::Dog,
            breed: breed.map(Into::into),
            date_of_birth: dob,
            birth_precision: crate::pets::BirthPrecision::Day,
            sex: Sex::Female,
            neutered: None,
            weight_kg: weight,
            microchip_id: None,
            photo_url: None,
            notes: None,
        }
    }

    fn b7() -> Baseline {
        let h: Vec<DaySummary> = (1..=7).map(|i| normal_day(TODAY - Duration::days(i), i as u32)).collect();
        baseline(&h, 7, TODAY)
    }

    #[test]
    fn ages_and_stages() {
        assert_eq!(age_months(date!(2025 - 03 - 21), TODAY), 11);
        assert_eq!(age_months(date!(2025 - 03 - 20), TODAY), 12);
        assert_eq!(age_months(date!(2027 - 01 - 01), TODAY), 0);
        let stage = |breed, dob, w| life_stage(&dog(breed, Some(dob), w), TODAY);
        assert_eq!(stage(None, date!(2025 - 06 - 01), Some(8.0)), Some(LifeStage::Young));
        assert_eq!(
            stage(Some("Great Dane"), date!(2025 - 01 - 01), None),
            Some(LifeStage::Young),
            "giants grow to 18 months"
        );
        assert_eq!(stage(Some("Labrador Retriever"), date!(2018 - 01 - 01), None), Some(LifeStage::Senior));
        assert_eq!(stage(Some("Chihuahua"), date!(2018 - 01 - 01), None), Some(LifeStage::Adult));
        assert_eq!(life_stage(&dog(None, None, None), TODAY), None);
        assert_eq!(size_class(&dog(Some("french bulldog"), None, None)), Some(SizeClass::Small));
        assert_eq!(size_class(&dog(Some("mixed"), None, Some(30.0))), Some(SizeClass::Large));
        assert_eq!(size_class(&dog(None, None, None)), None);
    }

    #[test]
    fn activity_goals() {
        let adult = Some(date!(2021 - 01 - 01));
        assert_eq!(activity_goal_minutes(&dog(Some("Border Collie"), adult, Some(18.0)), TODAY), 90);
        assert_eq!(activity_goal_minutes(&dog(Some("Pug"), adult, Some(8.0)), TODAY), 30);
        assert_eq!(activity_goal_minutes(&dog(None, adult, Some(30.0)), TODAY), 75, "weight stands in for size");
        assert_eq!(activity_goal_minutes(&dog(None, None, None), TODAY), 60);
        assert_eq!(activity_goal_minutes(&dog(Some("Labrador"), adult, Some(45.0)), TODAY), 120, "overweight: +15");
        // A 3-month-old puppy: 30 min; a senior lab: 70% of 105.
        assert_eq!(activity_goal_minutes(&dog(Some("Labrador"), Some(date!(2025 - 12 - 10)), Some(10.0)), TODAY), 30);
        assert_eq!(activity_goal_minutes(&dog(Some("Labrador"), Some(date!(2016 - 01 - 01)), Some(30.0)), TODAY), 74);
        let cat = PetProfile { species: Species::Cat, ..dog(None, adult, Some(4.0)) };
        assert_eq!(activity_goal_minutes(&cat, TODAY), 30);
    }

    #[test]
    fn a_good_day_scores_high_and_says_why() {
        let p = dog(Some("Labrador"), Some(date!(2021 - 01 - 01)), Some(30.0));
        let day = DaySummary { active_minutes: 110.0, ..normal_day(TODAY, 0) };
        let w = score(&p, TODAY, &day, &b7(), Some(1.0));
        assert!(w.score >= 95, "{w:?}");
        let names: Vec<_> = w.components.iter().map(|c| c.name).collect();
        assert_eq!(names, ["activity", "rest", "vitals", "care"]);
        assert!((w.components.iter().map(|c| c.weight).sum::<f64>() - 1.0).abs() < 1e-9);
        assert_eq!(w.components[0].detail, "1 h 50 min active against a goal of 105 min");
    }

    #[test]
    fn a_poor_day_scores_low() {
        let p = dog(Some("Labrador"), Some(date!(2021 - 01 - 01)), Some(30.0));
        let day = DaySummary {
            active_minutes: 21.0,
            sleep_minutes: 200.0,
            sleep_interruptions: 6,
            resting_hr: Some(100.0),
            respiration: Some(30.0),
            ..normal_day(TODAY, 0)
        };
        let w = score(&p, TODAY, &day, &b7(), Some(0.5));
        let s: Vec<u8> = w.components.iter().map(|c| c.score).collect();
        assert_eq!(s[0], 20);
        assert!(s[1] < 30, "{w:?}");
        assert!(s[2] < 20, "{w:?}");
        assert_eq!(s[3], 50);
        assert!(w.score < 35, "{w:?}");
    }

    #[test]
    fn weights_are_renormalised_without_data() {
        let p = dog(None, None, None);
        let day = DaySummary {
            resting_hr: None,
            respiration: None,
            night_minutes_covered: 0.0,
            active_minutes: 30.0,
            ..normal_day(TODAY, 0)
        };
        let w = score(&p, TODAY, &day, &Baseline::empty(7), None);
        assert_eq!(w.components[0].weight, 1.0);
        assert_eq!(w.score, 50);
        assert!(w.components[3].detail.starts_with("no data"));
        let nothing = score(&p, TODAY, &DaySummary::empty(TODAY), &Baseline::empty(7), None);
        assert_eq!(nothing.score, 0);
        assert!(nothing.components.iter().all(|c| c.weight == 0.0));
    }

    #[test]
    fn no_score_is_shown_without_data_or_from_one_part_alone() {
        let p = dog(None, None, None);
        let nothing = score(&p, TODAY, &DaySummary::empty(TODAY), &Baseline::empty(7), None);
        assert_eq!((nothing.earned(), nothing.missing().len()), (None, 4), "no data, no score");
        // One part with data (an active day, no night covered, no baseline, no care plan).
        let one = DaySummary {
            resting_hr: None,
            respiration: None,
            night_minutes_covered: 0.0,
            active_minutes: 200.0,
            ..normal_day(TODAY, 0)
        };
        let w = score(&p, TODAY, &one, &Baseline::empty(7), None);
        assert_eq!((w.score, w.parts_with_data()), (100, 1));
        assert_eq!(w.earned(), None, "a hundred from one part is not a score of the day");
        let missing: Vec<&str> = w.missing().iter().map(|c| c.name).collect();
        assert_eq!(missing, ["rest", "vitals", "care"]);
        // Activity and rest: enough.
        let two = DaySummary { resting_hr: None, respiration: None, ..normal_day(TODAY, 0) };
        let w = score(&p, TODAY, &two, &Baseline::empty(7), None);
        assert_eq!(w.parts_with_data(), 2);
        assert_eq!(w.earned(), Some(w.score));
    }

    #[test]
    fn trends() {
        let days = |from: u8, to: u8| -> Vec<(Date, u8)> {
            (0..14).map(|i| (TODAY - Duration::days(i), if i < 7 { to } else { from })).collect()
        };
        let t = trend(&days(60, 70));
        assert_eq!((t.delta_7d, t.direction), (10.0, Direction::Rising));
        assert_eq!(trend(&days(70, 60)).direction, Direction::Falling);
        assert_eq!(trend(&days(70, 71)).direction, Direction::Steady);
        assert_eq!(trend(&days(70, 60)[..9]).delta_7d, 0.0, "two days of the prior week are not enough");
        assert_eq!(trend(&[]).direction, Direction::Steady);
    }
}
