//! `/life`: the signed-in person's own life log. One tap logs the common things ("slept 7 h",
//! "walked 30 min", "mood 6/10"); a form logs anything else; today's energy and mood
//! predictions sit above with the factors that moved them, and change live when a write moves
//! them (`assets/petty-live.js` on `user:{id}:predictions`); then insights (drawn on request,
//! marked read or dismissed), patterns, what the learned models scored, and the newest events,
//! each removable. `/life/links` shows what goes together across the person's log, the pets'
//! walks and collars, and the air at night. Everything goes through `petty_app::lifelog`, as
//! the API does.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use petty_app::lifelog::{self as uses, EnergyOut, EventInput, InsightMark, LifeError, ModelMetricsOut, MoodOut};
use petty_core::ids::{InsightId, LifeEventId};
use petty_core::lifelog::{Patterns, RawLifeEvent, Subject};
use petty_core::paging::PageRequest;
use petty_http::AppState;
use petty_store::{InsightFilter, LifeEventFilter, StoredInsight, StoredLifeEvent};
use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::PageError;
use super::csrf::CsrfForm;
use super::layout::{self, FormErrors, Header, Input, Select};
use super::session::SignedIn;

/// A one-tap entry: an event of `kind` happening now.
struct Quick {
    label: &'static str,
    kind: &'static str,
    minutes: Option<i64>,
    mood: Option<i64>,
}

const QUICK: [Quick; 5] = [
    Quick { label: "Slept 7 h", kind: "sleep", minutes: Some(420), mood: None },
    Quick { label: "Walked 30 min", kind: "walk", minutes: Some(30), mood: None },
    Quick { label: "Exercised 45 min", kind: "exercise", minutes: Some(45), mood: None },
    Quick { label: "Worked 8 h", kind: "work", minutes: Some(480), mood: None },
    Quick { label: "Mood 6/10", kind: "mood", minutes: None, mood: Some(6) },
];

const TYPES: [(&str, &str); 10] = [
    ("sleep", "Sleep"),
    ("exercise", "Exercise"),
    ("walk", "Walk"),
    ("work", "Work"),
    ("social", "Time with people"),
    ("meal", "Meal"),
    ("mood", "Mood"),
    ("stress", "Stress"),
    ("rest", "Rest"),
    ("health", "Health"),
];

fn me(signed_in: &SignedIn) -> Subject {
    Subject::Person(signed_in.user.id)
}

pub(super) fn page_error(e: LifeError) -> PageError {
    match e {
        LifeError::Invalid(invalid) => PageError::BadRequest(invalid.to_string()),
        LifeError::NotFound(_) => PageError::NotFound,
        LifeError::Forbidden(why) => PageError::Forbidden(why.to_owned()),
        LifeError::Store(e) => e.into(),
    }
}

pub(crate) async fn life_page(State(state): State<AppState>, signed_in: SignedIn) -> Result<Response, PageError> {
    let view = life_view(&state, &signed_in, &EntryForm::default(), &FormErrors::none()).await?;
    Ok(layout::html(StatusCode::OK, view))
}

async fn life_view(
    state: &AppState,
    signed_in: &SignedIn,
    form: &EntryForm,
    errors: &FormErrors,
) -> Result<Markup, PageError> {
    let actor = signed_in.actor();
    let subject = me(signed_in);
    let recent = uses::list_events(
        &state.app,
        &actor,
        subject,
        &LifeEventFilter::default(),
        PageRequest { page: 1, page_size: 30 },
    )
    .await
    .map_err(page_error)?;
    let energy = uses::predict_energy(&state.app, &actor, None, None).await.map_err(page_error)?;
    let mood = uses::predict_mood(&state.app, &actor, None).await.map_err(page_error)?;
    let insights =
        uses::list_insights(&state.app, &actor, &InsightFilter::default(), PageRequest { page: 1, page_size: 10 })
            .await
            .map_err(page_error)?;
    let patterns = uses::patterns(&state.app, &actor, 30).await.map_err(page_error)?;
    let metrics = uses::model_metrics(&state.app, &actor).await.map_err(page_error)?;
    let chrome = signed_in.chrome();
    let fields =
        [("event_type", "What"), ("title", "Title"), ("duration_minutes", "Minutes"), ("mood_score", "Mood (0–10)")];
    Ok(layout::live_page(
        "Life log",
        Header::SignedIn(&chrome),
        html! {
            div.page-head { div {
                h1 { "Your life log" }
                p.lead { "Only you see it. Log what you did and how you felt; Petty predicts your energy and mood from the last 30 days." }
                p { a href="/life/links" { "What goes together" } " — your log beside your pets' walks and collars and the air at night." }
            } }
            (super::devices::live_status(&super::devices::Follow {
                page: "life",
                user: Some(signed_in.user.id),
                ..Default::default()
            }))
            (layout::error_summary(errors, &fields))
            section.section #predictions data-live-region aria-labelledby="predictions-title" {
                h2 #predictions-title { "Now" }
                div.cards {
                    (energy_card(&energy))
                    (mood_card(&mood))
                }
            }
            section.section aria-labelledby="quick-title" {
                h2 #quick-title { "One tap" }
                div.quick-entries {
                    @for (i, quick) in QUICK.iter().enumerate() {
                        form method="post" action="/life/quick" data-live-submit {
                            (layout::csrf_field(&signed_in.csrf))
                            input type="hidden" name="entry" value=(i);
                            button.button.button-secondary type="submit" { (quick.label) }
                        }
                    }
                }
            }
            section.section aria-labelledby="entry-title" {
                h2 #entry-title { "Something else" }
                form.form method="post" action="/life/events" {
                    (layout::csrf_field(&signed_in.csrf))
                    (layout::select(&Select { name: "event_type", label: fields[0].1, hint: None, options: &TYPES, selected: &form.event_type, placeholder: Some("Choose"), required: true }, errors))
                    (layout::input(&Input { name: "title", label: fields[1].1, value: &form.title, maxlength: Some(200), required: true, ..Input::default() }, errors))
                    (layout::input(&Input { name: "duration_minutes", label: fields[2].1, kind: "number", value: &form.duration_minutes, inputmode: Some("numeric"), hint: Some("How long, if it lasted."), ..Input::default() }, errors))
                    (layout::input(&Input { name: "mood_score", label: fields[3].1, kind: "number", value: &form.mood_score, inputmode: Some("numeric"), max: Some("10"), hint: Some("How you felt, if you want to say."), ..Input::default() }, errors))
                    button.button type="submit" { "Log it" }
                }
            }
            section.section #insights data-live-region aria-labelledby="insights-title" {
                h2 #insights-title { "Insights" }
                form method="post" action="/life/insights/generate" {
                    (layout::csrf_field(&signed_in.csrf))
                    button.button.button-secondary type="submit" { "Look at my last 7 days" }
                }
                @if insights.items.is_empty() {
                    p.hint { "No insights yet. Petty draws them from your last days when you ask." }
                } @else {
                    ul.insights { @for i in &insights.items { li { (insight_row(signed_in, i)) } } }
                }
            }
            section.section aria-labelledby="patterns-title" {
                h2 #patterns-title { "Patterns (30 days)" }
                (patterns_view(&patterns))
            }
            section.section aria-labelledby="learning-title" {
                h2 #learning-title { "What Petty has learned" }
                (metrics_view(&metrics))
                form method="post" action="/life/retrain" {
                    (layout::csrf_field(&signed_in.csrf))
                    button.button.button-quiet type="submit" { "Train my models now" }
                }
            }
            section.section #recent data-live-region aria-labelledby="recent-title" {
                h2 #recent-title { "Recent" }
                @if recent.items.is_empty() {
                    div.empty { h3 { "Nothing logged yet" } p { "Tap one of the buttons above to start." } }
                } @else {
                    ul.life-events {
                        @for event in &recent.items { li { (event_row(signed_in, event)) } }
                    }
                }
            }
        },
    ))
}

fn energy_card(p: &EnergyOut) -> Markup {
    html! {
        article.panel #energy aria-labelledby="energy-title" {
            h3 #energy-title { "Energy this " (p.time_of_day) }
            p.big data-prediction="energy" { (format!("{:.1}", p.predicted_energy)) " / 10" }
            p.hint { "How sure: " (format!("{:.0} %", p.confidence * 100.0)) " · " (model_words(&p.model_version)) }
            @if !p.explanation.contributions.is_empty() {
                ul.factors { @for c in &p.explanation.contributions {
                    li { (c.label) ": " (format!("{:+.2}", c.effect)) }
                } }
            }
            @for f in &p.factors { p.factor { (f) } }
        }
    }
}

fn mood_card(p: &MoodOut) -> Markup {
    html! {
        article.panel #mood aria-labelledby="mood-title" {
            h3 #mood-title { "Mood" }
            p.big data-prediction="mood" { (p.prediction_class.replace('_', " ")) }
            p.hint { (format!("{:.1}", p.predicted_mood_score)) " / 10 · how sure: " (format!("{:.0} %", p.confidence * 100.0)) " · " (model_words(&p.model_version)) }
            @if !p.explanation.contributions.is_empty() {
                ul.factors { @for c in &p.explanation.contributions {
                    li { (c.label) ": " (format!("{:+.2}", c.effect)) }
                } }
            }
            @for f in &p.influencing_factors { p.factor { (f) } }
        }
    }
}

/// Where a prediction came from, in words.
fn model_words(version: &str) -> String {
    if version.starts_with("baseline") {
        "from the rules every new user starts with".to_owned()
    } else {
        format!("from your own model ({version})")
    }
}

fn insight_row(signed_in: &SignedIn, i: &StoredInsight) -> Markup {
    html! {
        article.insight data-priority=(i.priority) {
            h3 { (i.title) @if !i.is_read { " " span.badge.badge-info { "New" } } }
            p { (i.content) }
            p.hint { "Priority " (i.priority) " · how sure: " (format!("{:.0} %", i.confidence * 100.0)) }
            @if i.insight_type == "llm_summary" {
                p.hint { "Written by a language model from the insights’ sentences and numbers." }
            }
            div.actions {
                @if !i.is_read {
                    form method="post" action={ "/life/insights/" (i.id.0) "/read" } {
                        (layout::csrf_field(&signed_in.csrf))
                        button.button.button-quiet type="submit" aria-label={ "Mark “" (i.title) "” read" } { "Mark read" }
                    }
                }
                form method="post" action={ "/life/insights/" (i.id.0) "/dismiss" } {
                    (layout::csrf_field(&signed_in.csrf))
                    button.button.button-quiet type="submit" aria-label={ "Dismiss “" (i.title) "”" } { "Dismiss" }
                }
            }
        }
    }
}

fn patterns_view(p: &Patterns) -> Markup {
    html! {
        @match &p.sleep_cycle {
            Some(c) => {
                p { "Sleep: " strong { (format!("{:.1} h", c.avg_duration_hours)) } " a night on average (± " (format!("{:.1}", c.std_duration_hours)) " h), bedtime around "
                    strong { (bedtime(c.avg_bedtime_hour)) } ", regularity " (format!("{:.0} %", c.regularity_score * 100.0)) " over " (c.sample_size) " nights." }
            }
            None => p.hint { "Sleep: log at least 3 nights with how long you slept to see your cycle." }
        }
        @match &p.activity {
            Some(a) => {
                p { "Workouts: " strong { (format!("{:.1}", a.avg_activities_per_week)) } " a week, most often on "
                    (a.preferred_days.iter().map(|(d, n)| format!("{d} ({n})")).collect::<Vec<_>>().join(", ")) "." }
            }
            None => p.hint { "Workouts: log at least 3 to see which days you move." }
        }
    }
}

/// An hour of the day (0–24, fractional) as HH:MM.
fn bedtime(hour: f64) -> String {
    let minutes = (hour * 60.0).round() as i64 % (24 * 60);
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

fn metrics_view(m: &ModelMetricsOut) -> Markup {
    html! {
        @match (m.energy.mae, m.energy.baseline_mae) {
            (Some(mae), Some(base)) => p {
                "Energy model " (m.energy.model_version) ": off by " strong { (format!("{mae:.2}")) } " points on the days it did not train on, the starting rules by "
                (format!("{base:.2}")) ". " @if m.energy.in_use { "Your predictions use it." } @else { "It did not beat the rules, so your predictions keep using them." }
            },
            _ => p.hint { "Energy: " (m.energy.status.as_deref().unwrap_or("no model yet: log your energy (0–10) on 30 different days")) "." },
        }
        @match (m.mood.accuracy, m.mood.baseline_accuracy) {
            (Some(acc), Some(base)) => p {
                "Mood model " (m.mood.model_version) ": right " strong { (format!("{:.0} %", acc * 100.0)) } " of the time on held-out days, the starting rules "
                (format!("{:.0} %", base * 100.0)) ". " @if m.mood.in_use { "Your predictions use it." } @else { "It did not beat the rules, so your predictions keep using them." }
            },
            _ => p.hint { "Mood: " (m.mood.status.as_deref().unwrap_or("no model yet: log your mood on 30 different days")) "." },
        }
        p.hint { (m.new_reports) " reports since the last training; models are trained daily and after every 50 reports." }
    }
}

fn event_row(signed_in: &SignedIn, stored: &StoredLifeEvent) -> Markup {
    let c = &stored.event.content;
    let at = c.event_time.format(&Rfc3339).unwrap_or_default();
    html! {
        article.life-event {
            p {
                strong { (c.title) } " · " (c.event_type.as_str())
                @if let Some(m) = c.duration_minutes { " · " (m) " min" }
                " · " time datetime=(at) { (at.get(..16).unwrap_or(&at).replace('T', " ")) " UTC" }
            }
            form method="post" action={ "/life/events/" (stored.event.id) "/delete" } {
                (layout::csrf_field(&signed_in.csrf))
                button.button.button-quiet type="submit" aria-label={ "Remove " (c.title) } { "Remove" }
            }
        }
    }
}

/// The form of "Something else".
#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct EntryForm {
    csrf: String,
    event_type: String,
    title: String,
    duration_minutes: String,
    mood_score: String,
}

/// An event happening now, as the API would take it.
pub(super) fn input_now(
    now: OffsetDateTime,
    event_type: &str,
    title: &str,
    minutes: Option<i64>,
    mood: Option<i64>,
) -> EventInput {
    let event_data_json = match mood {
        Some(score) => format!("{{\"mood_score\":{score}}}"),
        None => "{}".to_owned(),
    };
    let raw = RawLifeEvent {
        event_type: Some(event_type.to_owned()),
        title: Some(title.to_owned()),
        event_time: Some(now.format(&Rfc3339).unwrap_or_default()),
        duration_minutes: minutes,
        ..RawLifeEvent::default()
    };
    EventInput::new(raw, event_data_json, "{}".to_owned())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct QuickForm {
    csrf: String,
    entry: usize,
}

pub(crate) async fn quick(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Form(form): Form<QuickForm>,
) -> Result<Response, PageError> {
    signed_in.check_csrf(&state, &form.csrf)?;
    let Some(quick) = QUICK.get(form.entry) else {
        return Err(PageError::BadRequest("entry: one of the buttons on the page".to_owned()));
    };
    let input = input_now(state.app.now(), quick.kind, quick.label, quick.minutes, quick.mood);
    uses::log_events(&state.app, &signed_in.actor(), me(&signed_in), vec![input], false).await.map_err(page_error)?;
    Ok(Redirect::to("/life").into_response())
}

pub(crate) async fn create(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Form(form): Form<EntryForm>,
) -> Result<Response, PageError> {
    signed_in.check_csrf(&state, &form.csrf)?;
    let number = |field: &str, raw: &str| -> Result<Option<i64>, petty_core::Invalid> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Ok(None);
        }
        raw.parse()
            .map(Some)
            .map_err(|_| petty_core::Invalid::one(field, "format", format!("{field} must be a whole number")))
    };
    let parsed = number("duration_minutes", &form.duration_minutes)
        .and_then(|minutes| number("mood_score", &form.mood_score).map(|mood| (minutes, mood)));
    let outcome = match parsed {
        Ok((_, Some(mood))) if !(0..=10).contains(&mood) => Err(LifeError::Invalid(petty_core::Invalid::one(
            "mood_score",
            "out_of_range",
            "mood_score must be between 0 and 10",
        ))),
        Ok((minutes, mood)) => {
            let input = input_now(state.app.now(), &form.event_type, &form.title, minutes, mood);
            uses::log_events(&state.app, &signed_in.actor(), me(&signed_in), vec![input], false).await.map(|_| ())
        }
        Err(invalid) => Err(LifeError::Invalid(invalid)),
    };
    match outcome {
        Ok(()) => Ok(Redirect::to("/life").into_response()),
        Err(LifeError::Invalid(invalid)) => {
            let errors = FormErrors::from_invalid(invalid);
            let view = life_view(&state, &signed_in, &form, &errors).await?;
            Ok(layout::html(StatusCode::UNPROCESSABLE_ENTITY, view))
        }
        Err(other) => Err(page_error(other)),
    }
}

pub(crate) async fn delete(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    signed_in.check_csrf(&state, &form.csrf)?;
    let id = LifeEventId(id.parse().map_err(|_| PageError::NotFound)?);
    uses::delete_event(&state.app, &signed_in.actor(), me(&signed_in), id).await.map_err(page_error)?;
    Ok(Redirect::to("/life").into_response())
}

pub(crate) async fn generate_insights(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    signed_in.check_csrf(&state, &form.csrf)?;
    let actor = signed_in.actor();
    uses::generate_insights(&state.app, &actor, 7, &state.llm_budget(&actor)).await.map_err(page_error)?;
    Ok(Redirect::to("/life#insights").into_response())
}

async fn mark(state: &AppState, signed_in: &SignedIn, id: &str, mark: InsightMark) -> Result<Response, PageError> {
    let id = InsightId(id.parse().map_err(|_| PageError::NotFound)?);
    uses::mark_insight(&state.app, &signed_in.actor(), id, mark).await.map_err(page_error)?;
    Ok(Redirect::to("/life#insights").into_response())
}

pub(crate) async fn read_insight(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    signed_in.check_csrf(&state, &form.csrf)?;
    mark(&state, &signed_in, &id, InsightMark::Read).await
}

pub(crate) async fn dismiss_insight(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    signed_in.check_csrf(&state, &form.csrf)?;
    mark(&state, &signed_in, &id, InsightMark::Dismissed).await
}

pub(crate) async fn retrain(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    signed_in.check_csrf(&state, &form.csrf)?;
    uses::retrain(&state.app, &signed_in.actor()).await.map_err(page_error)?;
    Ok(Redirect::to("/life#learning-title").into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct LinksQuery {
    days: Option<i64>,
}

/// `/life/links`: what goes together across the person's log, the pets and the air.
pub(crate) async fn links_page(
    State(state): State<AppState>,
    signed_in: SignedIn,
    axum::extract::Query(query): axum::extract::Query<LinksQuery>,
) -> Result<Response, PageError> {
    let days = query.days.unwrap_or(90);
    let found = uses::correlations(&state.app, &signed_in.actor(), days).await.map_err(page_error)?;
    let chrome = signed_in.chrome();
    let (holding, rest): (Vec<_>, Vec<_>) = found.links.iter().partition(|l| l.status == "holds");
    let short: Vec<_> = rest.iter().filter(|l| l.status == "not_enough_data").collect();
    let tested: Vec<_> = rest.iter().filter(|l| l.status == "not_significant").collect();
    let view = layout::page(
        "What goes together",
        Header::SignedIn(&chrome),
        html! {
            a.back href="/life" { "← Back to your life log" }
            h1 { "What goes together" }
            p.lead { "Your life log beside your pets' walks and collars and the air at night, over the last " (days) " days. "
                "A link is shown when it holds after correcting for the " (found.links.len()) " comparisons made (false discovery rate 5 %) and its 95 % interval leaves out zero." }
            section.section aria-labelledby="holding-title" {
                h2 #holding-title { "Links that hold (" (holding.len()) ")" }
                @if holding.is_empty() {
                    p { "None yet. That is an answer too: nothing in your data goes together strongly enough to say so." }
                } @else {
                    ul.links { @for l in &holding { li { (l.sentence) } } }
                }
            }
            section.section aria-labelledby="streams-title" {
                h2 #streams-title { "Streams looked at" }
                div.table-scroll {
                    table.data-table {
                        thead { tr { th scope="col" { "Stream" } th scope="col" { "Days with data" } } }
                        tbody { @for s in &found.series { tr { th scope="row" { (s.label) } td { (s.days) } } } }
                    }
                }
            }
            @if !tested.is_empty() {
                details { summary { "Tested, not shown to hold (" (tested.len()) ")" }
                    ul { @for l in &tested { li { (l.sentence) } } } }
            }
            @if !short.is_empty() {
                details { summary { "Not enough data yet (" (short.len()) ")" }
                    ul { @for l in &short { li { (l.sentence) } } } }
            }
        },
    );
    Ok(layout::html(StatusCode::OK, view))
}
