//! The analysis' plain `petty_core` values in and out of JSON (the core carries no serde): day
//! summaries as the store keeps them, anomalies read back for the plan, and the plan as the API
//! and the dashboard show it.

use petty_core::anomalies::{Anomaly, AnomalyKind, Severity};
use petty_core::baselines::DaySummary;
use petty_core::nutrition::NutritionPlan;
use petty_core::plan::Plan;
use petty_store::StoredAnomaly;
use serde_json::{Value, json};
use time::Date;

fn round(v: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (v * f).round() / f
}

/// A day summary as the store keeps it (and the API shows it).
pub fn to_value(s: &DaySummary) -> Value {
    json!({
        "day": petty_core::pets::format_date(s.day),
        "minutes_covered": round(s.minutes_covered, 1),
        "night_minutes_covered": round(s.night_minutes_covered, 1),
        "resting_hr": s.resting_hr.map(|v| round(v, 1)),
        "respiration": s.respiration.map(|v| round(v, 1)),
        "active_minutes": round(s.active_minutes, 1),
        "sleep_minutes": round(s.sleep_minutes, 1),
        "sleep_interruptions": s.sleep_interruptions,
        "night_restless_minutes": round(s.night_restless_minutes, 1),
        "scratching_secs": round(s.scratching_secs, 1),
        "longest_daytime_inactive_min": round(s.longest_daytime_inactive_min, 1),
        "daytime_sleep_minutes": round(s.daytime_sleep_minutes, 1),
        "steps": round(s.steps, 0),
        "gait_nod": s.gait_nod.map(|v| round(v, 3)),
    })
}

pub fn to_json(s: &DaySummary) -> String {
    to_value(s).to_string()
}

/// A stored summary read back; `None` if it is not one (then the day is treated as unknown).
pub fn from_json(day: Date, text: &str) -> Option<DaySummary> {
    let v: Value = serde_json::from_str(text).ok()?;
    let num = |k: &str| v.get(k).and_then(Value::as_f64);
    Some(DaySummary {
        day,
        minutes_covered: num("minutes_covered")?,
        night_minutes_covered: num("night_minutes_covered").unwrap_or(0.0),
        resting_hr: num("resting_hr"),
        respiration: num("respiration"),
        active_minutes: num("active_minutes").unwrap_or(0.0),
        sleep_minutes: num("sleep_minutes").unwrap_or(0.0),
        sleep_interruptions: v.get("sleep_interruptions").and_then(Value::as_u64).unwrap_or(0) as u32,
        night_restless_minutes: num("night_restless_minutes").unwrap_or(0.0),
        scratching_secs: num("scratching_secs").unwrap_or(0.0),
        longest_daytime_inactive_min: num("longest_daytime_inactive_min").unwrap_or(0.0),
        daytime_sleep_minutes: num("daytime_sleep_minutes").unwrap_or(0.0),
        steps: num("steps").unwrap_or(0.0),
        gait_nod: num("gait_nod"),
    })
}

/// A stored anomaly as the core's value again (for the plan's recommendations).
pub fn anomaly_from_stored(a: &StoredAnomaly) -> Option<Anomaly> {
    let kind = AnomalyKind::ALL.into_iter().find(|k| k.as_str() == a.kind)?;
    let severity = [Severity::Info, Severity::Warning, Severity::Minor, Severity::Major, Severity::Critical]
        .into_iter()
        .find(|s| s.as_str() == a.severity)?;
    Some(Anomaly {
        kind,
        severity,
        at_ms: a.at_ms,
        explanation: a.explanation.clone(),
        value: a.value,
        baseline: a.baseline,
    })
}

pub fn nutrition_value(n: &NutritionPlan) -> Value {
    json!({
        "rer_kcal": round(n.rer_kcal, 1),
        "factor": round(n.factor, 2),
        "factor_reason": n.factor_reason,
        "mer_kcal": round(n.mer_kcal, 1),
        "activity_adjustment": round(n.activity_adjustment, 3),
        "weight_adjustment": round(n.weight_adjustment, 3),
        "daily_kcal": round(n.daily_kcal, 0),
        "meals": n.meals,
        "kcal_per_meal": round(n.kcal_per_meal, 0),
        "treats_kcal": round(n.treats_kcal, 0),
        "notes": n.notes,
    })
}

/// The plan as JSON: `daily_goals`, `nutrition_plan`, `exercise_plan`, `health_recommendations`.
pub fn plan_value(plan: &Plan) -> Value {
    let g = &plan.daily_goals;
    json!({
        "daily_goals": {
            "active_minutes": g.active_minutes,
            "steps": g.steps,
            "sleep_hours": round(g.sleep_hours, 1),
            "kcal": g.kcal.map(|k| round(k, 0)),
            "meals": g.meals,
        },
        "nutrition_plan": plan.nutrition.as_ref().map(nutrition_value),
        "exercise_plan": {
            "sessions": plan.exercise.sessions,
            "minutes_per_day": plan.exercise.minutes_per_day,
            "intensity": plan.exercise.intensity.as_str(),
            "notes": plan.exercise.notes,
        },
        "health_recommendations": plan.recommendations.iter().map(|r| json!({
            "title": r.title,
            "text": r.text,
            "priority": r.priority.as_str(),
            "because": r.because,
        })).collect::<Vec<_>>(),
    })
}
