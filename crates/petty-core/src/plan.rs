//! A pet's plan for the day: goals, feeding, exercise, and recommendations that each cite the
//! data that led to them.

use time::Date;

use crate::anomalies::{Anomaly, AnomalyKind, Severity, minutes};
use crate::baselines::{Baseline, DaySummary};
use crate::nutrition::NutritionPlan;
use crate::pets::{PetProfile, Species};
use crate::validation::Invalid;
use crate::wellness::{LifeStage, activity_goal_minutes, age_months, life_stage, night_sleep_norm_minutes};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Priority {
    Low,
    Medium,
    High,
    Urgent,
}

impl Priority {
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Medium => "medium",
            Priority::High => "high",
            Priority::Urgent => "urgent",
        }
    }

    /// Info → low; warning and minor → medium; major → high; critical → urgent.
    pub fn from_severity(s: Severity) -> Priority {
        match s {
            Severity::Info => Priority::Low,
            Severity::Warning | Severity::Minor => Priority::Medium,
            Severity::Major => Priority::High,
            Severity::Critical => Priority::Urgent,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Intensity {
    Low,
    Moderate,
    High,
}

impl Intensity {
    pub fn as_str(self) -> &'static str {
        match self {
            Intensity::Low => "low",
            Intensity::Moderate => "moderate",
            Intensity::High => "high",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct DailyGoals {
    /// Minutes of walking, running or playing.
    pub active_minutes: u32,
    /// Steps, when the 7-day baseline shows how many steps an active minute brings.
    pub steps: Option<u32>,
    /// Hours of sleep overnight.
    pub sleep_hours: f64,
    /// From the nutrition plan, when there is one.
    pub kcal: Option<f64>,
    pub meals: Option<u8>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ExercisePlan {
    pub sessions: Vec<String>,
    pub minutes_per_day: u32,
    pub intensity: Intensity,
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Recommendation {
    pub title: String,
    pub text: String,
    pub priority: Priority,
    /// The data that led to it, in words with the numbers.
    pub because: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub daily_goals: DailyGoals,
    pub nutrition: Option<NutritionPlan>,
    pub exercise: ExercisePlan,
    /// Most pressing first.
    pub recommendations: Vec<Recommendation>,
}

fn age_words(months: u32) -> String {
    match months {
        1 => "1 month old".into(),
        m if m < 24 => format!("{m} months old"),
        m => format!("{} years old", m / 12),
    }
}

fn rec(title: impl Into<String>, text: impl Into<String>, priority: Priority, because: Vec<String>) -> Recommendation {
    Recommendation { title: title.into(), text: text.into(), priority, because }
}

fn anomaly_advice(name: &str, a: &Anomaly) -> (&'static str, String) {
    match a.kind {
        AnomalyKind::ElevatedRestingHeartRate => (
            "Resting heart rate is up",
            format!(
                "Keep {name} calm and cool today and check again tomorrow. If it stays high, or {name} breathes fast, won't eat or seems weak, call your vet."
            ),
        ),
        AnomalyKind::DaytimeInactivity => (
            "Unusually long still spell",
            format!(
                "Check on {name}: a long stretch without moving can be tiredness after a big day, but lethargy with no appetite, pain or vomiting is a reason to call your vet."
            ),
        ),
        AnomalyKind::RestlessNight => (
            "Restless night",
            format!(
                "Look for what woke {name}: needing to go out, itching, noise, heat or discomfort. If it happens several nights running, talk to your vet."
            ),
        ),
        AnomalyKind::ActivityDrop => (
            "Much less active than usual",
            format!(
                "Watch {name} for limping, stiffness, pain or a poor appetite. Keep exercise gentle, and call your vet if it lasts more than a day or two."
            ),
        ),
        AnomalyKind::Scratching => (
            "More scratching than usual",
            format!(
                "Check {name}'s skin, coat and ears for fleas, redness or sore spots. Scratching that keeps up for days is worth a vet visit."
            ),
        ),
        AnomalyKind::GaitChange => (
            "Walking looks uneven",
            format!(
                "Watch {name} walk and trot on level ground: a head that nods with one front leg, or a leg held up, is a limp. Keep walks short and on the lead, and call your vet if it lasts more than a day or {name} cries out, swells or will not put the leg down."
            ),
        ),
        AnomalyKind::LowBattery => ("Charge the collar", format!("Charge {name}'s collar so monitoring continues.")),
        AnomalyKind::SilentCollar => (
            "The collar is not reporting",
            format!("Check that {name} is wearing the collar, that it is charged and within range of its connection."),
        ),
    }
}

/// What the nutrition plan is told about a pet beyond its profile. Activity counts only from
/// the 7-day baseline: days with at least 12 hours of collar data, and enough of them
/// ([`crate::baselines::baseline`]'s rule), so a minute of data never moves the food.
pub fn nutrition_inputs(
    profile: &PetProfile,
    b7: &Baseline,
    weight_trend_kg_per_30d: Option<f64>,
) -> crate::nutrition::NutritionInputs {
    crate::nutrition::NutritionInputs {
        active_minutes_7d: b7.active_minutes.map(|s| s.mean),
        weight_trend_kg_per_30d,
        neutered: profile.neutered,
        ..Default::default()
    }
}

/// The plan for `today`. `day` is today's (or the latest) summary; `nutrition` is
/// [`crate::nutrition::plan`]'s answer, whose error (a missing weight) becomes a recommendation.
pub fn plan(
    profile: &PetProfile,
    today: Date,
    day: Option<&DaySummary>,
    b7: &Baseline,
    anomalies: &[Anomaly],
    nutrition: Result<NutritionPlan, Invalid>,
) -> Plan {
    let name = profile.name.as_str();
    let goal = activity_goal_minutes(profile, today);
    let stage = life_stage(profile, today);
    let months = profile.date_of_birth.map(|d| age_months(d, today));
    let mut recs: Vec<Recommendation> = Vec::new();

    // Anomalies first: one recommendation per kind, at the most severe.
    let mut seen: Vec<AnomalyKind> = Vec::new();
    let mut sorted: Vec<&Anomaly> = anomalies.iter().collect();
    sorted.sort_by_key(|a| std::cmp::Reverse(a.severity));
    for a in sorted {
        if seen.contains(&a.kind) {
            continue;
        }
        seen.push(a.kind);
        let (title, text) = anomaly_advice(name, a);
        recs.push(rec(title, text, Priority::from_severity(a.severity), vec![a.explanation.clone()]));
    }
    let caution_because: Vec<String> = anomalies
        .iter()
        .filter(|a| {
            matches!(
                a.kind,
                AnomalyKind::ElevatedRestingHeartRate | AnomalyKind::ActivityDrop | AnomalyKind::DaytimeInactivity
            ) && a.severity >= Severity::Warning
        })
        .map(|a| a.explanation.clone())
        .collect();
    let caution = !caution_because.is_empty();

    // Exercise.
    let mean_active = b7.active_minutes.map(|s| s.mean);
    let mut notes = Vec::new();
    let mut minutes_per_day = goal;
    if let Some(m) = mean_active.filter(|m| *m < 0.8 * f64::from(goal)) {
        let step_up = (m * 1.1).max(m + 5.0).round() as u32;
        minutes_per_day = step_up.min(goal);
        let because = vec![format!("active minutes 7-day mean {:.0} min against a goal of {goal} min", m)];
        if !caution {
            notes.push(format!("build up by about 10% a week towards {goal} min a day"));
            recs.push(rec(
                "Build up activity",
                format!(
                    "{name} has been less active than the goal. Aim for {minutes_per_day} min a day this week and add a little each week until {name} reaches {goal} min."
                ),
                Priority::Medium,
                because,
            ));
        }
    } else if mean_active.is_none()
        && let Some(d) = day.filter(|d| d.minutes_covered >= 720.0 && d.active_minutes < 0.5 * f64::from(goal))
    {
        recs.push(rec(
            "More activity",
            format!("{name} was not very active today; try to reach {goal} min of walks and play."),
            Priority::Low,
            vec![format!("active minutes today {:.0} min against a goal of {goal} min", d.active_minutes)],
        ));
    }
    if let Some(m) = mean_active.filter(|m| *m > 2.0 * f64::from(goal))
        && matches!(stage, Some(LifeStage::Young | LifeStage::Senior))
    {
        let who = if stage == Some(LifeStage::Young) { "growing joints" } else { "older joints" };
        recs.push(rec(
            "Go easy",
            format!("{name} is doing a lot more than the goal; {who} do better with shorter, more frequent sessions and rest days."),
            Priority::Low,
            vec![format!("active minutes 7-day mean {:.0} min against a goal of {goal} min", m)],
        ));
    }
    let mut intensity = match (profile.species, stage) {
        (_, Some(LifeStage::Senior)) => Intensity::Low,
        (Species::Dog, _) if goal >= 90 => Intensity::High,
        _ => Intensity::Moderate,
    };
    if caution {
        intensity = Intensity::Low;
        minutes_per_day = minutes_per_day.min((goal / 2).max(15));
        notes.push(format!("keep exercise short and gentle until {name} is back to normal"));
    }
    let per = |n: u32| (minutes_per_day / n).max(5);
    let sessions = match (profile.species, stage) {
        _ if caution => vec![format!("{} short, easy walks or quiet play of about {} min", 2, per(2))],
        (Species::Dog, Some(LifeStage::Young)) => {
            vec![format!("4 short play sessions or walks of about {} min, with rest in between", per(4))]
        }
        (Species::Dog, Some(LifeStage::Senior)) => {
            vec![format!("3 gentle walks of about {} min on soft ground", per(3))]
        }
        (Species::Dog, _) => {
            let walk = (minutes_per_day * 2 / 5).max(5);
            let play = minutes_per_day.saturating_sub(2 * walk).max(5);
            let kind = if intensity == Intensity::High { "running, fetch or a sport" } else { "play or fetch" };
            vec![format!("2 walks of about {walk} min"), format!("{play} min of {kind}")]
        }
        (Species::Cat, _) => vec![format!("3 play sessions of about {} min with a wand or chase toy", per(3))],
        _ => vec![format!("{minutes_per_day} min of supervised exercise suited to a {}", profile.species.as_str())],
    };
    let exercise = ExercisePlan { sessions, minutes_per_day, intensity, notes };

    // Sleep.
    let norm = night_sleep_norm_minutes(profile.species);
    if let Some(d) = day.filter(|d| d.night_minutes_covered >= 360.0 && d.sleep_minutes < 0.75 * norm) {
        recs.push(rec(
            format!("Help {name} sleep"),
            format!(
                "Give {name} a quiet, dark, comfortable place to sleep, a last toilet break and a calm evening routine."
            ),
            Priority::Low,
            vec![format!("slept {} last night against about {} expected", minutes(d.sleep_minutes), minutes(norm))],
        ));
    }

    // Nutrition.
    let nutrition = match nutrition {
        Ok(n) => {
            let weight_notes: Vec<String> =
                n.notes.iter().filter(|s| s.contains("body weight") || s.contains("weight-loss")).cloned().collect();
            if n.weight_adjustment != 0.0 && !weight_notes.is_empty() {
                let vet = weight_notes.iter().any(|s| s.contains("vet"));
                recs.push(rec(
                    "Weight is changing",
                    format!(
                        "{name}'s daily food has been adjusted to {:.0} kcal. Weigh {name} again in two weeks.",
                        n.daily_kcal
                    ),
                    if vet { Priority::High } else { Priority::Medium },
                    weight_notes,
                ));
            }
            Some(n)
        }
        Err(err) => {
            if err.0.iter().any(|e| e.field == "weight_kg") {
                recs.push(rec(
                    format!("Add {name}'s weight"),
                    format!("Add {name}'s weight to get a nutrition plan."),
                    Priority::Medium,
                    vec![format!("no weight on {name}'s profile")],
                ));
            } else {
                recs.push(rec(
                    "No nutrition plan",
                    format!("Petty cannot work out {name}'s food needs; ask your vet how much to feed."),
                    Priority::Low,
                    err.0.iter().map(|e| e.message.clone()).collect(),
                ));
            }
            None
        }
    };

    // Profile and life stage.
    match (stage, months) {
        (Some(LifeStage::Senior), Some(m)) => recs.push(rec(
            "Senior care",
            "Plan vet check-ups twice a year, keep exercise regular but gentle, and watch for stiffness, weight change, drinking more or confusion at night."
                .to_owned(),
            Priority::Low,
            vec![format!("{name} is {}, a senior {}", age_words(m), profile.species.as_str())],
        )),
        (Some(LifeStage::Young), Some(m)) => recs.push(rec(
            "Growing up",
            "Keep play short and frequent with plenty of sleep, avoid long runs and jumping until fully grown, and keep vaccinations and socialisation on track."
                .to_owned(),
            Priority::Low,
            vec![format!("{name} is {}", age_words(m))],
        )),
        _ => {}
    }
    if profile.date_of_birth.is_none() {
        recs.push(rec(
            format!("Add {name}'s date of birth"),
            format!("Add {name}'s date of birth so goals and food fit {name}'s age."),
            Priority::Low,
            vec![format!("no date of birth on {name}'s profile: goals assume an adult")],
        ));
    }
    match day {
        Some(d) if d.minutes_covered >= 360.0 => {}
        _ => recs.push(rec(
            "Wear the collar",
            format!(
                "Petty needs more collar data to follow {name}'s activity, sleep and vitals; keep it on and charged."
            ),
            Priority::Low,
            vec![match day {
                Some(d) => format!("the collar covered {} of the day", minutes(d.minutes_covered)),
                None => "no collar data for the day".to_owned(),
            }],
        )),
    }

    recs.sort_by_key(|r| std::cmp::Reverse(r.priority));

    let steps = match (b7.steps, b7.active_minutes) {
        (Some(s), Some(a)) if a.mean >= 5.0 && s.mean > 0.0 => {
            Some(((f64::from(goal) * s.mean / a.mean / 100.0).round() * 100.0) as u32)
        }
        _ => None,
    };
    let daily_goals = DailyGoals {
        active_minutes: goal,
        steps,
        sleep_hours: norm / 60.0,
        kcal: nutrition.as_ref().map(|n| n.daily_kcal),
        meals: nutrition.as_ref().map(|n| n.meals),
    };
    Plan { daily_goals, nutrition, exercise, recommendations: recs }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::anomalies::{DeviceState, detect};
    use crate::baselines::{baseline, tests::normal_day};
    use crate::nutrition::{self, NutritionInputs};
    use crate::wellness::tests::dog;
    use time::Duration;
    use time::macros::date;

    const TODAY: Date = date!(2026 - 03 - 20);

    fn week(active: f64) -> Baseline {
        let h: Vec<DaySummary> = (1..=7)
            .map(|i| DaySummary { active_minutes: active, ..normal_day(TODAY - Duration::days(i), i as u32) })
            .collect();
        baseline(&h, 7, TODAY)
    }

    fn titles(p: &Plan) -> Vec<&str> {
        p.recommendations.iter().map(|r| r.title.as_str()).collect()
    }

    #[test]
    fn a_minute_of_data_changes_neither_food_nor_exercise() {
        let bella = dog(None, Some(date!(2021 - 01 - 01)), Some(20.0));
        let untouched = nutrition::plan(&bella, TODAY, &NutritionInputs::default()).unwrap();
        // The collar was worn for one minute today: 0 active minutes, but over one minute.
        let minute = DaySummary { minutes_covered: 1.0, active_minutes: 0.0, ..normal_day(TODAY, 0) };
        for history in [vec![], vec![minute.clone()]] {
            let b7 = baseline(&history, 7, TODAY + Duration::days(1));
            let inputs = nutrition_inputs(&bella, &b7, None);
            assert_eq!(inputs.active_minutes_7d, None);
            let n = nutrition::plan(&bella, TODAY, &inputs).unwrap();
            assert_eq!(n.daily_kcal, untouched.daily_kcal, "{:?}", n.notes);
            assert!(n.notes.iter().all(|s| !s.contains("for activity")), "{:?}", n.notes);
            let p = plan(&bella, TODAY, history.first(), &b7, &[], Ok(n));
            // Only the honest one: wear the collar, so there is something to go on.
            assert!(titles(&p).iter().all(|t| *t == "Wear the collar"), "{:?}", p.recommendations);
            assert_eq!(p.daily_goals.active_minutes, p.exercise.minutes_per_day, "the goal, not a step down");
        }
        // A week of full, idle days does change it, and says why.
        let idle = week(10.0);
        let n = nutrition::plan(&bella, TODAY, &nutrition_inputs(&bella, &idle, None)).unwrap();
        assert!(n.daily_kcal < untouched.daily_kcal && n.notes.iter().any(|s| s.contains("for activity")));
    }

    #[test]
    fn a_healthy_adult_gets_goals_and_no_worries() {
        let bella = dog(None, Some(date!(2021 - 01 - 01)), Some(10.0));
        let n = nutrition::plan(&bella, TODAY, &NutritionInputs::default());
        let today = normal_day(TODAY, 0);
        let p = plan(&bella, TODAY, Some(&today), &week(70.0), &[], n);
        assert!(p.recommendations.is_empty(), "{:?}", p.recommendations);
        assert_eq!(p.daily_goals.active_minutes, 60);
        assert_eq!(p.daily_goals.sleep_hours, 8.0);
        assert_eq!(p.daily_goals.kcal, Some(629.8));
        assert_eq!(p.daily_goals.meals, Some(2));
        // ~9,500 steps over 70 active minutes → 60 minutes ≈ 8,100 steps.
        assert_eq!(p.daily_goals.steps, Some(8_100));
        assert_eq!(p.exercise.minutes_per_day, 60);
        assert_eq!(p.exercise.intensity, Intensity::Moderate);
        assert_eq!(p.exercise.sessions, ["2 walks of about 24 min", "12 min of play or fetch"]);
        assert!(p.nutrition.is_some());
    }

    #[test]
    fn an_activity_deficit_cites_its_numbers() {
        let bella = dog(None, Some(date!(2021 - 01 - 01)), Some(10.0));
        let n = nutrition::plan(&bella, TODAY, &NutritionInputs::default());
        let p = plan(&bella, TODAY, Some(&normal_day(TODAY, 0)), &week(22.0), &[], n);
        assert_eq!(titles(&p), ["Build up activity"]);
        assert_eq!(p.recommendations[0].because, ["active minutes 7-day mean 22 min against a goal of 60 min"]);
        assert_eq!(p.exercise.minutes_per_day, 27);
    }

    #[test]
    fn missing_weight_and_birthday_are_asked_for() {
        let bella = dog(None, None, None);
        let n = nutrition::plan(&bella, TODAY, &NutritionInputs::default());
        let p = plan(&bella, TODAY, None, &Baseline::empty(7), &[], n);
        assert_eq!(titles(&p), ["Add Bella's weight", "Add Bella's date of birth", "Wear the collar"]);
        assert_eq!(p.recommendations[0].text, "Add Bella's weight to get a nutrition plan.");
        assert_eq!(p.recommendations[0].because, ["no weight on Bella's profile"]);
        assert_eq!((p.nutrition, p.daily_goals.kcal), (None, None));
    }

    #[test]
    fn anomalies_lead_and_make_exercise_gentle() {
        let bella = dog(None, Some(date!(2021 - 01 - 01)), Some(10.0));
        let b7 = week(70.0);
        let today = DaySummary { resting_hr: Some(112.0), active_minutes: 10.0, ..normal_day(TODAY, 0) };
        let device = DeviceState {
            battery_pct: Some(12.0),
            last_seen_ms: Some(0),
            expected_interval_ms: 60_000,
            now_ms: 60_000,
        };
        let anomalies = detect("Bella", &today, &b7, &b7, &device);
        assert_eq!(anomalies.len(), 3, "{anomalies:?}");
        let n = nutrition::plan(&bella, TODAY, &NutritionInputs::default());
        let p = plan(&bella, TODAY, Some(&today), &b7, &anomalies, n);
        assert_eq!(titles(&p), ["Resting heart rate is up", "Much less active than usual", "Charge the collar"]);
        assert_eq!(p.recommendations[0].priority, Priority::Medium);
        assert!(p.recommendations[0].because[0].starts_with("Resting heart rate 112 bpm"));
        assert_eq!(p.exercise.intensity, Intensity::Low);
        assert_eq!(p.exercise.minutes_per_day, 30);
        assert!(p.exercise.notes[0].contains("gentle"));
    }

    #[test]
    fn seniors_puppies_sleep_and_weight() {
        let old = dog(Some("Labrador"), Some(date!(2015 - 01 - 01)), Some(30.0));
        let n =
            nutrition::plan(&old, TODAY, &NutritionInputs { weight_trend_kg_per_30d: Some(1.2), ..Default::default() });
        let night = DaySummary { sleep_minutes: 300.0, ..normal_day(TODAY, 0) };
        let p = plan(&old, TODAY, Some(&night), &week(80.0), &[], n);
        assert_eq!(titles(&p), ["Weight is changing", "Help Bella sleep", "Senior care"]);
        assert_eq!(p.recommendations[1].because, ["slept 5 h last night against about 8 h expected"]);
        assert_eq!(p.recommendations[2].because, ["Bella is 11 years old, a senior dog"]);
        assert_eq!(p.exercise.intensity, Intensity::Low);
        assert_eq!(p.exercise.sessions, ["3 gentle walks of about 24 min on soft ground"]);

        let pup = dog(None, Some(date!(2025 - 11 - 01)), Some(6.0));
        let n = nutrition::plan(&pup, TODAY, &NutritionInputs::default());
        let p = plan(&pup, TODAY, Some(&normal_day(TODAY, 0)), &week(90.0), &[], n);
        assert_eq!(titles(&p), ["Go easy", "Growing up"]);
        assert_eq!(p.recommendations[1].because, ["Bella is 4 months old"]);
        assert_eq!(p.daily_goals.meals, Some(3));
        assert_eq!(Priority::from_severity(Severity::Critical), Priority::Urgent);
    }
}
