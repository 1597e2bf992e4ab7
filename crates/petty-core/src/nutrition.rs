//! Daily energy needs for dogs and cats: resting energy (RER = 70 × kg^0.75) times a factor for
//! species, life stage and lifestyle (MER), corrected by measured activity and weight trend.
//!
//! Factors (MER = RER × factor):
//!
//! | species | situation                                   | factor |
//! |---------|---------------------------------------------|--------|
//! | dog     | puppy under 4 months                        | 3.0    |
//! | dog     | young, 4 months and over                    | 2.0    |
//! | dog     | weight-loss plan (adult or senior)          | 1.0    |
//! | dog     | active/working: ≥ 3 h active a day (7-day mean), 2.0 rising linearly to 5.0 at 8 h | 2.0–5.0 |
//! | dog     | senior                                      | 1.4    |
//! | dog     | intact adult                                | 1.8    |
//! | dog     | neutered adult, or neuter status unknown    | 1.6    |
//! | cat     | kitten (young)                              | 2.5    |
//! | cat     | weight-loss plan                            | 0.8    |
//! | cat     | senior                                      | 1.1    |
//! | cat     | intact adult                                | 1.4    |
//! | cat     | neutered adult, or neuter status unknown    | 1.2    |
//!
//! Life stages are [`crate::wellness::life_stage`]'s; an unknown date of birth counts as adult.
//!
//! Corrections, multiplied in: activity (not for active/working dogs, whose factor already
//! counts it) is +10% per full goal above the activity goal and −10% at no activity at all,
//! i.e. 10% × (7-day mean ÷ goal − 1), clamped to −10%..+20%. Weight trend (not while young):
//! gaining more than 2% of body weight a month −10%, losing more than 2% a month unintentionally
//! +10%; on a weight-loss plan, not losing −10% and losing more than 8% a month +10%.
//!
//! Treats are 10% of the daily energy; the meals share the other 90%.

use time::Date;

use crate::pets::{PetProfile, Species};
use crate::validation::Invalid;
use crate::wellness::{LifeStage, activity_goal_minutes, age_months, life_stage};

/// What Petty knows beyond the profile. Everything is optional.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct NutritionInputs {
    /// Mean active minutes a day over the last 7 days.
    pub active_minutes_7d: Option<f64>,
    /// Weight change over the last 30 days, kg (negative when losing).
    pub weight_trend_kg_per_30d: Option<f64>,
    /// Meals a day wanted, 1–6; a default from species and age otherwise.
    pub meals_per_day: Option<u8>,
    /// Whether the pet is neutered; unknown counts as neutered.
    pub neutered: Option<bool>,
    /// Whether the pet is on a weight-loss plan (ignored while young).
    pub weight_loss: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NutritionPlan {
    /// Resting energy, kcal a day.
    pub rer_kcal: f64,
    pub factor: f64,
    /// Which row of the table chose the factor, in words.
    pub factor_reason: String,
    /// RER × factor, kcal a day.
    pub mer_kcal: f64,
    /// Fraction applied for measured activity (−0.05 is −5%).
    pub activity_adjustment: f64,
    /// Fraction applied for the weight trend.
    pub weight_adjustment: f64,
    /// MER × (1 + activity) × (1 + weight), kcal a day.
    pub daily_kcal: f64,
    pub meals: u8,
    /// 90% of the daily energy split over the meals.
    pub kcal_per_meal: f64,
    /// 10% of the daily energy.
    pub treats_kcal: f64,
    pub notes: Vec<String>,
}

pub const TREATS_SHARE: f64 = 0.10;
pub const MEALS_MAX: u8 = 6;

/// Resting energy requirement, kcal a day: 70 × kg^0.75.
pub fn rer_kcal(weight_kg: f64) -> f64 {
    70.0 * weight_kg.powf(0.75)
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// A feeding plan, or which field is missing or unsupported (`weight_kg` without a weight,
/// `species` for anything but dogs and cats, `meals_per_day` out of 1–6).
pub fn plan(profile: &PetProfile, today: Date, inputs: &NutritionInputs) -> Result<NutritionPlan, Invalid> {
    let name = &profile.name;
    let weight = match profile.weight_kg {
        Some(w) if w.is_finite() && w > 0.0 => w,
        _ => {
            return Err(Invalid::one("weight_kg", "required", format!("add {name}'s weight to get a nutrition plan")));
        }
    };
    if !matches!(profile.species, Species::Dog | Species::Cat) {
        return Err(Invalid::one("species", "unsupported", "nutrition plans are available for dogs and cats"));
    }
    if let Some(m) = inputs.meals_per_day
        && !(1..=MEALS_MAX).contains(&m)
    {
        return Err(Invalid::one(
            "meals_per_day",
            "out_of_range",
            format!("meals_per_day must be between 1 and {MEALS_MAX}"),
        ));
    }

    let mut notes = Vec::new();
    let months = profile.date_of_birth.map(|d| age_months(d, today));
    let stage = life_stage(profile, today).unwrap_or_else(|| {
        notes.push(format!("{name}'s date of birth is unknown, so an adult is assumed"));
        LifeStage::Adult
    });
    let young = stage == LifeStage::Young;
    let weight_loss = inputs.weight_loss && !young;
    if inputs.weight_loss && young {
        notes.push("a growing animal should not be on a weight-loss plan; ask your vet".into());
    }
    let neuter = |neutered: f64, intact: f64, what: &str| match inputs.neutered {
        Some(false) => (intact, format!("intact adult {what}")),
        Some(true) => (neutered, format!("neutered adult {what}")),
        None => (neutered, format!("adult {what}, neuter status unknown (neutered value used)")),
    };
    let active = inputs.active_minutes_7d.filter(|a| a.is_finite() && *a >= 0.0);
    let mut working = false;
    let (factor, factor_reason) = match profile.species {
        Species::Dog => {
            if young && months.is_some_and(|m| m < 4) {
                (3.0, "puppy under 4 months".to_owned())
            } else if young {
                (2.0, "puppy from 4 months until grown".to_owned())
            } else if weight_loss {
                (1.0, "dog on a weight-loss plan".to_owned())
            } else if let Some(a) = active.filter(|a| *a >= 180.0) {
                working = true;
                let f = 2.0 + 3.0 * (a.min(480.0) - 180.0) / 300.0;
                (round1(f), format!("active/working dog ({} active minutes a day)", a.round()))
            } else if stage == LifeStage::Senior {
                (1.4, "senior dog".to_owned())
            } else {
                neuter(1.6, 1.8, "dog")
            }
        }
        _ => {
            if young {
                (2.5, "kitten".to_owned())
            } else if weight_loss {
                (0.8, "cat on a weight-loss plan".to_owned())
            } else if stage == LifeStage::Senior {
                (1.1, "senior cat".to_owned())
            } else {
                neuter(1.2, 1.4, "cat")
            }
        }
    };

    let rer = rer_kcal(weight);
    let mer = rer * factor;

    let goal = f64::from(activity_goal_minutes(profile, today).max(1));
    let activity_adjustment = match active {
        Some(a) if !working => {
            let adj = (0.10 * (a / goal - 1.0)).clamp(-0.10, 0.20);
            if adj.abs() >= 0.005 {
                notes.push(format!(
                    "{:+.0}% for activity: {} active minutes a day over the last 7 days against a goal of {}",
                    adj * 100.0,
                    a.round(),
                    goal
                ));
            }
            adj
        }
        _ => 0.0,
    };

    let mut weight_adjustment = 0.0;
    if let Some(trend) = inputs.weight_trend_kg_per_30d.filter(|t| t.is_finite()) {
        let pct = trend / weight;
        if young {
            notes.push("weight trend not used while growing".into());
        } else if weight_loss {
            if pct >= 0.0 {
                weight_adjustment = -0.10;
                notes.push(format!(
                    "−10%: {name} is not losing weight on the weight-loss plan ({trend:+.1} kg in 30 days)"
                ));
            } else if pct < -0.08 {
                weight_adjustment = 0.10;
                notes.push(format!(
                    "+10%: {name} is losing weight too fast ({:.1}% in 30 days; aim for at most 8%)",
                    -pct * 100.0
                ));
            }
        } else if pct > 0.02 {
            weight_adjustment = -0.10;
            notes.push(format!("−10%: {name} gained {:.1}% of body weight in 30 days ({trend:+.1} kg)", pct * 100.0));
        } else if pct < -0.02 {
            weight_adjustment = 0.10;
            notes.push(format!("+10%: {name} lost {:.1}% of body weight in 30 days ({trend:+.1} kg)", -pct * 100.0));
            if pct < -0.05 {
                notes.push(format!("unexplained weight loss of more than 5% a month: have {name} checked by a vet"));
            }
        }
    }

    let daily = mer * (1.0 + activity_adjustment) * (1.0 + weight_adjustment);
    let meals = inputs.meals_per_day.unwrap_or(match (profile.species, months) {
        (_, Some(m)) if young && m < 4 => 4,
        (_, Some(m)) if young && m < 6 => 3,
        _ => 2,
    });
    let treats = daily * TREATS_SHARE;
    notes.push(format!("treats at most {:.0} kcal a day (10%), included in the daily total", treats));

    Ok(NutritionPlan {
        rer_kcal: round1(rer),
        factor,
        factor_reason,
        mer_kcal: round1(mer),
        activity_adjustment,
        weight_adjustment,
        daily_kcal: round1(daily),
        meals,
        kcal_per_meal: round1((daily - treats) / f64::from(meals)),
        treats_kcal: round1(treats),
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wellness::tests::dog;
    use time::macros::date;

    const TODAY: Date = date!(2026 - 03 - 20);
    const ADULT: Option<Date> = Some(date!(2021 - 01 - 01));

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 0.051
    }

    #[test]
    fn a_ten_kilo_neutered_adult_dog() {
        let inputs = NutritionInputs { neutered: Some(true), ..Default::default() };
        let p = plan(&dog(None, ADULT, Some(10.0)), TODAY, &inputs).unwrap();
        assert_eq!(p.rer_kcal, 393.6);
        assert_eq!(p.factor, 1.6);
        assert_eq!(p.factor_reason, "neutered adult dog");
        assert_eq!(p.mer_kcal, 629.8);
        assert_eq!((p.activity_adjustment, p.weight_adjustment), (0.0, 0.0));
        assert_eq!(p.daily_kcal, 629.8);
        assert_eq!(p.meals, 2);
        assert_eq!(p.treats_kcal, 63.0);
        assert_eq!(p.kcal_per_meal, 283.4); // 629.82 × 0.9 / 2
    }

    #[test]
    fn factors_by_stage_and_status() {
        let f = |profile: PetProfile, inputs: NutritionInputs| plan(&profile, TODAY, &inputs).unwrap();
        let none = NutritionInputs::default();
        let unknown = f(dog(None, ADULT, Some(10.0)), none);
        assert_eq!(unknown.factor, 1.6);
        assert!(unknown.factor_reason.contains("unknown"));
        assert_eq!(f(dog(None, ADULT, Some(10.0)), NutritionInputs { neutered: Some(false), ..none }).factor, 1.8);
        // A 3-month-old 5 kg puppy: 70 × 5^0.75 = 234.06; × 3.0 = 702.2; four meals.
        let pup = f(dog(None, Some(date!(2025 - 12 - 10)), Some(5.0)), none);
        assert_eq!((pup.rer_kcal, pup.factor, pup.mer_kcal, pup.meals), (234.1, 3.0, 702.2, 4));
        assert_eq!(f(dog(None, Some(date!(2025 - 09 - 01)), Some(12.0)), none).factor, 2.0);
        assert_eq!(f(dog(Some("Labrador"), Some(date!(2016 - 01 - 01)), Some(30.0)), none).factor, 1.4);
        assert_eq!(f(dog(None, ADULT, Some(10.0)), NutritionInputs { weight_loss: true, ..none }).factor, 1.0);
        let working = f(
            dog(Some("Border Collie"), ADULT, Some(20.0)),
            NutritionInputs { active_minutes_7d: Some(330.0), ..none },
        );
        assert_eq!((working.factor, working.activity_adjustment), (3.5, 0.0));
        assert!(working.factor_reason.starts_with("active/working"));
        // A 4 kg adult cat, neuter status unknown: 70 × 4^0.75 = 198.0; × 1.2 = 237.6.
        let cat = PetProfile { species: crate::pets::Species::Cat, ..dog(None, ADULT, Some(4.0)) };
        let c = f(cat.clone(), none);
        assert_eq!((c.rer_kcal, c.factor, c.mer_kcal), (198.0, 1.2, 237.6));
        assert_eq!(f(cat.clone(), NutritionInputs { weight_loss: true, ..none }).factor, 0.8);
        assert_eq!(f(cat.clone(), NutritionInputs { neutered: Some(false), ..none }).factor, 1.4);
        assert_eq!(f(PetProfile { date_of_birth: Some(date!(2012 - 01 - 01)), ..cat.clone() }, none).factor, 1.1);
        assert_eq!(f(PetProfile { date_of_birth: Some(date!(2025 - 10 - 01)), ..cat }, none).factor, 2.5);
        let no_dob = f(dog(None, None, Some(10.0)), none);
        assert_eq!(no_dob.factor, 1.6);
        assert!(no_dob.notes[0].contains("date of birth is unknown"));
    }

    #[test]
    fn activity_and_weight_corrections() {
        // 10 kg, no breed: medium, goal 60 min. 30 min a day: 10% × (0.5 − 1) = −5%.
        let p = plan(
            &dog(None, ADULT, Some(10.0)),
            TODAY,
            &NutritionInputs { active_minutes_7d: Some(30.0), ..Default::default() },
        )
        .unwrap();
        assert!(close(p.activity_adjustment, -0.05));
        assert_eq!(p.daily_kcal, 598.3); // 629.82 × 0.95
        // Far above the goal is capped at +20%.
        let p = plan(
            &dog(None, ADULT, Some(10.0)),
            TODAY,
            &NutritionInputs { active_minutes_7d: Some(170.0), ..Default::default() },
        )
        .unwrap();
        assert!(close(p.activity_adjustment, 0.1833));
        // Gaining 0.3 kg a month on 10 kg (3%): −10%.
        let p = plan(
            &dog(None, ADULT, Some(10.0)),
            TODAY,
            &NutritionInputs { weight_trend_kg_per_30d: Some(0.3), ..Default::default() },
        )
        .unwrap();
        assert_eq!(p.weight_adjustment, -0.10);
        assert_eq!(p.daily_kcal, 566.8);
        assert!(p.notes.iter().any(|n| n.contains("gained 3.0%")), "{:?}", p.notes);
        // Losing 0.6 kg unintentionally (6%): +10% and see a vet; 1% either way: nothing.
        let p = plan(
            &dog(None, ADULT, Some(10.0)),
            TODAY,
            &NutritionInputs { weight_trend_kg_per_30d: Some(-0.6), ..Default::default() },
        )
        .unwrap();
        assert_eq!(p.weight_adjustment, 0.10);
        assert!(p.notes.iter().any(|n| n.contains("vet")));
        let p = plan(
            &dog(None, ADULT, Some(10.0)),
            TODAY,
            &NutritionInputs { weight_trend_kg_per_30d: Some(-0.1), ..Default::default() },
        )
        .unwrap();
        assert_eq!(p.weight_adjustment, 0.0);
        // On a weight-loss plan, not losing: −10% more.
        let inputs = NutritionInputs { weight_trend_kg_per_30d: Some(0.0), weight_loss: true, ..Default::default() };
        let p = plan(&dog(None, ADULT, Some(10.0)), TODAY, &inputs).unwrap();
        assert_eq!((p.factor, p.weight_adjustment, p.daily_kcal), (1.0, -0.10, 354.3));
    }

    #[test]
    fn missing_or_unsupported_inputs_name_the_field() {
        let err = plan(&dog(None, ADULT, None), TODAY, &NutritionInputs::default()).unwrap_err();
        assert_eq!((err.0[0].field.as_str(), err.0[0].rule), ("weight_kg", "required"));
        assert!(err.0[0].message.contains("Bella"));
        let fish = PetProfile { species: crate::pets::Species::Fish, ..dog(None, ADULT, Some(0.1)) };
        assert_eq!(plan(&fish, TODAY, &NutritionInputs::default()).unwrap_err().0[0].field, "species");
        let bad = NutritionInputs { meals_per_day: Some(0), ..Default::default() };
        assert_eq!(plan(&dog(None, ADULT, Some(10.0)), TODAY, &bad).unwrap_err().0[0].field, "meals_per_day");
        let three = NutritionInputs { meals_per_day: Some(3), ..Default::default() };
        let p = plan(&dog(None, ADULT, Some(10.0)), TODAY, &three).unwrap();
        assert_eq!((p.meals, p.kcal_per_meal), (3, 188.9));
    }
}
