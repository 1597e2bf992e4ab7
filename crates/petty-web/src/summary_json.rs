//! The plan as the dashboard shows it; the rest of the analysis' JSON is
//! `petty_app::summary_json`.

use maud::{Markup, html};
pub(crate) use petty_app::summary_json::*;
use petty_core::plan::Plan;

/// The plan for the pet's dashboard page.
pub(crate) fn plan_markup(plan: &Plan) -> Markup {
    let g = &plan.daily_goals;
    html! {
        h3 { "Daily goals" }
        ul {
            li { (g.active_minutes) " active minutes" }
            @if let Some(steps) = g.steps { li { (steps) " steps" } }
            li { (format!("{:.1}", g.sleep_hours)) " hours of sleep" }
            @if let Some(kcal) = g.kcal { li { (format!("{kcal:.0}")) " kcal" } }
        }
        h3 { "Food" }
        @match &plan.nutrition {
            Some(n) => {
                p { (format!("{:.0}", n.daily_kcal)) " kcal a day in " (n.meals) " meals of about "
                    (format!("{:.0}", n.kcal_per_meal)) " kcal; treats up to " (format!("{:.0}", n.treats_kcal)) " kcal." }
                p.muted { "Resting energy " (format!("{:.0}", n.rer_kcal)) " kcal × " (format!("{:.1}", n.factor))
                    " (" (n.factor_reason) ")" }
                @for note in &n.notes { p.muted { (note) } }
            }
            None => p { "Add the pet's weight to get a food plan." }
        }
        h3 { "Exercise" }
        p { (plan.exercise.minutes_per_day) " minutes a day, " (plan.exercise.intensity.as_str()) " intensity." }
        ul { @for s in &plan.exercise.sessions { li { (s) } } }
        @if !plan.recommendations.is_empty() {
            h3 { "Recommendations" }
            ul.recommendations {
                @for r in &plan.recommendations {
                    li {
                        strong { (r.title) } " (" (r.priority.as_str()) "): " (r.text)
                        @if !r.because.is_empty() { br; span.muted { "Because: " (r.because.join("; ")) } }
                    }
                }
            }
        }
    }
}
