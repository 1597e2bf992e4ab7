//! `/life`: the signed-in person's own life log. One tap logs the common things ("slept 7 h",
//! "walked 30 min", "mood 6/10"); a form logs anything else; today's energy and mood
//! predictions sit above with the factors that moved them; the newest events below, each
//! removable. Everything goes through `petty_app::lifelog`, as the API does.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use petty_app::lifelog::{self as uses, EventInput, LifeError};
use petty_core::ids::LifeEventId;
use petty_core::lifelog::{EnergyPrediction, MoodPrediction, RawLifeEvent, Subject};
use petty_core::paging::PageRequest;
use petty_http::AppState;
use petty_store::{LifeEventFilter, StoredLifeEvent};
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

fn page_error(e: LifeError) -> PageError {
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
    let energy = uses::predict_energy(&state.app, &actor, subject, None, None).await.map_err(page_error)?;
    let mood = uses::predict_mood(&state.app, &actor, subject, None).await.map_err(page_error)?;
    let chrome = signed_in.chrome();
    let fields =
        [("event_type", "What"), ("title", "Title"), ("duration_minutes", "Minutes"), ("mood_score", "Mood (0–10)")];
    Ok(layout::page(
        "Life log",
        Header::SignedIn(&chrome),
        html! {
            div.page-head { div {
                h1 { "Your life log" }
                p.lead { "Only you see it. Log what you did and how you felt; Petty predicts your energy and mood from the last 30 days." }
            } }
            (layout::error_summary(errors, &fields))
            section.section aria-labelledby="predictions-title" {
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
                        form method="post" action="/life/quick" {
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
            section.section aria-labelledby="recent-title" {
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

fn energy_card(p: &EnergyPrediction) -> Markup {
    html! {
        article.panel #energy aria-labelledby="energy-title" {
            h3 #energy-title { "Energy this " (p.time_of_day.as_str()) }
            p.big { (format!("{:.1}", p.energy)) " / 10" }
            p.hint { "How sure: " (format!("{:.0} %", p.confidence * 100.0)) " (from how much you have logged)" }
            @if !p.explanation.contributions.is_empty() {
                ul.factors { @for c in &p.explanation.contributions {
                    li { (c.label) ": " (format!("{:+.2}", c.effect)) }
                } }
            }
            @for f in &p.factors { p.factor { (f) } }
        }
    }
}

fn mood_card(p: &MoodPrediction) -> Markup {
    html! {
        article.panel #mood aria-labelledby="mood-title" {
            h3 #mood-title { "Mood" }
            p.big { (p.class.as_str().replace('_', " ")) }
            p.hint { (format!("{:.1}", p.score)) " / 10 · how sure: " (format!("{:.0} %", p.confidence * 100.0)) }
            @if !p.explanation.contributions.is_empty() {
                ul.factors { @for c in &p.explanation.contributions {
                    li { (c.label) ": " (format!("{:+.2}", c.effect)) }
                } }
            }
            @for f in &p.factors { p.factor { (f) } }
        }
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
fn input_now(event_type: &str, title: &str, minutes: Option<i64>, mood: Option<i64>) -> EventInput {
    let event_data_json = match mood {
        Some(score) => format!("{{\"mood_score\":{score}}}"),
        None => "{}".to_owned(),
    };
    let raw = RawLifeEvent {
        event_type: Some(event_type.to_owned()),
        title: Some(title.to_owned()),
        event_time: Some(OffsetDateTime::now_utc().format(&Rfc3339).unwrap_or_default()),
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
    let input = input_now(quick.kind, quick.label, quick.minutes, quick.mood);
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
            let input = input_now(&form.event_type, &form.title, minutes, mood);
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
