//! `/pets/{id}`: one pet's day. Today's timeline with confirm / wrong / relabel on every
//! episode, the walks, meals, medication and grooming logged today (one tap to log the common
//! ones, each removable), the wellness score and its breakdown, activity and sleep over 7 and 30
//! days, and the plan. Server-rendered and complete without JavaScript; feedback and logging are
//! plain form posts.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Redirect, Response};
use maud::{Markup, html};
use petty_app::feedback;
use petty_core::accounts::Permission;
use petty_core::baselines::DaySummary;
use petty_core::behaviour::Behaviour;
use petty_core::behaviour::calibrate::{Certainty, LabelPrecision};
use petty_core::ids::{LifeEventId, PetId};
use petty_core::lifelog::Subject;
use petty_core::recurrence::Zone;
use petty_http::AppState;
use petty_store::StoredEpisode;
use serde::Deserialize;
use time::OffsetDateTime;
use uuid::Uuid;

use super::PageError;
use super::layout::{self, Header, csrf_field};
use super::lifelog::page_error;
use super::session::SignedIn;
use crate::summary_json;

const DAY_MS: i64 = 86_400_000;

fn pet_id(raw: &str) -> Result<PetId, PageError> {
    raw.parse::<Uuid>().map(PetId).map_err(|_| PageError::NotFound)
}

/// `ms` as the household's local `HH:MM`.
fn hhmm(zone: &Zone, ms: i64) -> String {
    let local = zone.local_at(petty_store::from_ms(ms).unwrap_or(OffsetDateTime::UNIX_EPOCH));
    format!("{:02}:{:02}", local.hour(), local.minute())
}

fn minutes(ms: i64) -> String {
    let m = (ms / 60_000).max(1);
    if m >= 60 { format!("{} h {:02} min", m / 60, m % 60) } else { format!("{m} min") }
}

#[tracing::instrument(skip_all, fields(household_id = %signed_in.membership.household_id, pet_id = %id))]
pub(crate) async fn pet_page(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let household_id = signed_in.membership.household_id;
    let pet_id = pet_id(&id)?;
    let pet = state.store.get_pet(household_id, pet_id).await?;
    let now = OffsetDateTime::now_utc();
    let now_ms = petty_store::to_ms(now);
    // The household's day, from its local midnight to the next (23 or 25 hours when the clocks
    // change), with the night's episode that runs into it.
    let zone = state.store.household_zone(household_id).await?;
    let today = zone.date_at(now);
    let (d0, d1) = petty_core::baselines::day_window(today, &zone);
    let episodes = state.store.episodes(household_id, pet_id, d0, d1).await?;
    let judged = petty_app::analysis::label_precision(&state.app, household_id, pet_id).await?;
    let anomalies = state.store.anomalies(household_id, pet_id, now_ms - 7 * DAY_MS, now_ms + DAY_MS).await?;
    let days = state.store.pet_days(household_id, pet_id, today - time::Duration::days(29), today).await?;
    let summaries: Vec<(time::Date, Option<DaySummary>, Option<i64>)> =
        days.iter().map(|d| (d.day, summary_json::from_json(d.day, &d.summary), d.wellness)).collect();
    let plan = petty_app::analysis::plan_for(&state.app, household_id, pet_id, now).await?;
    let today_summary = summaries.iter().rev().find(|(d, _, _)| *d == today).and_then(|(_, s, _)| s.clone());
    let b7 = petty_core::baselines::baseline(
        &summaries.iter().filter_map(|(_, s, _)| s.clone()).collect::<Vec<_>>(),
        7,
        today,
    );
    let wellness = today_summary.as_ref().map(|s| petty_core::wellness::score(&pet.profile, today, s, &b7, None));
    let can_write = signed_in.can(Permission::WriteCare);
    // The pet's log of the day, for those who read its care.
    let logged = if signed_in.can(Permission::ReadCare) {
        let start = petty_store::from_ms(d0).ok();
        let filter = petty_store::LifeEventFilter { start, ..Default::default() };
        let page = petty_core::paging::PageRequest { page: 1, page_size: 50 };
        petty_app::lifelog::list_events(&state.app, &signed_in.actor(), Subject::Pet(pet_id), &filter, page)
            .await
            .map(|p| p.items)
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let photo = super::pets::photo_src(&state, &pet, petty_core::files::Variant::Thumbnail);
    let chrome = signed_in.chrome();
    let name = &pet.profile.name;
    let view = layout::live_page(
        name,
        Header::SignedIn(&chrome),
        html! {
            a.back href="/household" { "← Back to " (signed_in.membership.household_name) }
            h1 { (name) }
            @if let Some(src) = &photo {
                p { img.pet-avatar.pet-photo src=(src) alt={ "Photo of " (name) } width="128" height="128"; }
            }
            p { a href={ "/pets/" (pet_id) "/edit" } { "Profile" } " · " a href={ "/pets/" (pet_id) "/care" } { "Care records and vaccinations" } }
            (super::devices::live_status(&super::devices::Follow {
                page: "pet",
                household: Some(household_id),
                pet: Some(pet_id),
                ..Default::default()
            }))
            section.panel #wellness data-live-region {
                h2 { "Wellness today" }
                @match &wellness {
                    Some(w) => {
                        @match w.earned() {
                            Some(score) => p.score { strong { (score) } " / 100" },
                            None => p.score-pending {
                                strong { "Not enough data yet." }
                                " A score needs at least " (petty_core::wellness::MIN_PARTS_WITH_DATA)
                                " of its parts; missing: "
                                (w.missing().iter().map(|c| c.name).collect::<Vec<_>>().join(", ")) "."
                            },
                        }
                        div.table-scroll {
                            table.data-table {
                                caption.visually-hidden { "How the score is made up" }
                                thead { tr { th scope="col" { "Part" } th scope="col" { "Score" } th scope="col" { "Weight" } th scope="col" { "Why" } } }
                                tbody {
                                    @for c in &w.components {
                                        tr {
                                            th scope="row" { (c.name) }
                                            // A part without data counts for nothing; it has no score to show.
                                            @if c.weight > 0.0 {
                                                td { (c.score) } td { (format!("{:.0} %", c.weight * 100.0)) }
                                            } @else {
                                                td { "—" } td { "—" }
                                            }
                                            td { (c.detail) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    None => p { "No collar readings for " (name) " today yet." }
                }
            }
            section.panel #timeline data-live-region {
                h2 { "Today" }
                @if episodes.is_empty() {
                    p { "Nothing analysed today yet. Episodes appear a little while after the collar's readings." }
                } @else {
                    ol.timeline {
                        @for e in &episodes {
                            (episode_row(&signed_in, pet_id, &Shown { zone: &zone, judged: &judged }, e, can_write))
                        }
                    }
                }
            }
            @if signed_in.can(Permission::ReadCare) {
                section.panel #logged data-live-region aria-labelledby="logged-title" {
                    h2 #logged-title { "Walks, meals and care today" }
                    @if can_write {
                        div.quick-entries {
                            @for (i, quick) in PET_QUICK.iter().enumerate() {
                                form method="post" action={ "/pets/" (pet_id) "/life" } {
                                    (csrf_field(&signed_in.csrf))
                                    input type="hidden" name="entry" value=(i);
                                    button.button.button-secondary type="submit" { (quick.0) }
                                }
                            }
                        }
                    }
                    @if logged.is_empty() {
                        p { "Nothing logged for " (name) " today." }
                    } @else {
                        ul.life-events {
                            @for e in &logged {
                                li {
                                    strong { (e.event.content.title) } " · " (hhmm(&zone, petty_store::to_ms(e.event.content.event_time)))
                                    @if let Some(m) = e.event.content.duration_minutes { " · " (m) " min" }
                                    @if can_write {
                                        form.inline method="post" action={ "/pets/" (pet_id) "/life/" (e.event.id) "/delete" } {
                                            (csrf_field(&signed_in.csrf))
                                            button.button.button-quiet type="submit" aria-label={ "Remove " (e.event.content.title) } { "Remove" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            section.panel #anomalies data-live-region {
                h2 { "Stood out this week" }
                @if anomalies.is_empty() {
                    p { "Nothing stood out this week." }
                } @else {
                    ul {
                        @for a in anomalies.iter().rev() {
                            li { strong { (a.severity) } " · " (a.day) ": " (a.explanation) }
                        }
                    }
                }
            }
            section.panel #charts data-live-region {
                h2 { "Activity and sleep" }
                (bar_chart("Active minutes, last 7 days", &series(&summaries, 7, |s| s.active_minutes), "min"))
                (bar_chart("Sleep, last 7 days", &series(&summaries, 7, |s| s.sleep_minutes / 60.0), "h"))
                (bar_chart("Active minutes, last 30 days", &series(&summaries, 30, |s| s.active_minutes), "min"))
                (bar_chart("Sleep, last 30 days", &series(&summaries, 30, |s| s.sleep_minutes / 60.0), "h"))
            }
            section.panel #plan {
                h2 { "Plan" }
                (summary_json::plan_markup(&plan))
            }
        },
    );
    Ok(layout::html(StatusCode::OK, view))
}

/// How a day's episodes are shown: in the household's zone, with the owner's judgements.
struct Shown<'a> {
    zone: &'a Zone,
    judged: &'a [LabelPrecision],
}

fn episode_row(signed_in: &SignedIn, pet_id: PetId, shown: &Shown, e: &StoredEpisode, can_write: bool) -> Markup {
    let ep = &e.episode;
    let judged = shown.judged.iter().find(|p| p.label == ep.label);
    let certainty = Certainty::of(ep.confidence, judged).words();
    html! {
        li.episode data-label=(ep.label.as_str()) {
            span.when { (hhmm(shown.zone, ep.start_ms)) "–" (hhmm(shown.zone, ep.end_ms)) }
            " " strong { (ep.label.as_str()) }
            " " span.muted { (minutes(ep.duration_ms())) ", " (certainty) }
            @if let Some(f) = &e.feedback {
                " " span.feedback {
                    "You said: " (f.verdict.as_str())
                    @if let Some(l) = f.label { " → " (l.as_str()) }
                }
            }
            @if can_write {
                form.inline method="post" action={ "/pets/" (pet_id) "/episodes/" (e.id) "/feedback" } {
                    (csrf_field(&signed_in.csrf))
                    button name="verdict" value="confirmed" { "Right" }
                    button name="verdict" value="wrong" { "Wrong" }
                    label { span.visually-hidden { "Right label" }
                        select name="label" {
                            option value="" { "It was…" }
                            @for b in Behaviour::ALL { option value=(b.as_str()) { (b.as_str()) } }
                        }
                    }
                    button name="verdict" value="relabelled" { "Relabel" }
                }
            }
        }
    }
}

/// One value per day for the last `days` days (oldest first), missing days as `None`.
fn series(
    summaries: &[(time::Date, Option<DaySummary>, Option<i64>)],
    days: i64,
    value: impl Fn(&DaySummary) -> f64,
) -> Vec<(time::Date, Option<f64>)> {
    let today = OffsetDateTime::now_utc().date();
    (0..days)
        .rev()
        .map(|back| {
            let day = today - time::Duration::days(back);
            let v = summaries
                .iter()
                .find(|(d, _, _)| *d == day)
                .and_then(|(_, s, _)| s.as_ref())
                .filter(|s| s.minutes_covered > 0.0)
                .map(&value);
            (day, v)
        })
        .collect()
}

/// A small SVG bar chart with a title, the largest value on the axis and a label per bar.
fn bar_chart(title: &str, values: &[(time::Date, Option<f64>)], unit: &str) -> Markup {
    let (w, h, pad) = (600.0, 160.0, 24.0);
    let max = values.iter().filter_map(|(_, v)| *v).fold(0.0_f64, f64::max).max(1.0);
    let n = values.len().max(1) as f64;
    let slot = (w - 2.0 * pad) / n;
    html! {
        figure.chart {
            figcaption { (title) }
            svg viewBox={ "0 0 " (w) " " (h) } role="img" aria-label=(title) width="100%" {
                line x1=(pad) y1=(h - pad) x2=(w - pad) y2=(h - pad) stroke="currentColor" {}
                text x="2" y="14" font-size="11" { (format!("{max:.0} {unit}")) }
                @for (i, (day, v)) in values.iter().enumerate() {
                    @let x = pad + slot * i as f64 + slot * 0.15;
                    @if let Some(v) = v {
                        @let bh = (h - 2.0 * pad) * (v / max);
                        rect x=(format!("{x:.1}")) y=(format!("{:.1}", h - pad - bh)) width=(format!("{:.1}", slot * 0.7)) height=(format!("{bh:.1}")) fill="currentColor" opacity="0.6" {
                            title { (day) ": " (format!("{v:.0} {unit}")) }
                        }
                    }
                    @if values.len() <= 7 || i % 5 == 0 {
                        text x=(format!("{x:.1}")) y=(h - 6.0) font-size="10" { (format!("{:02}-{:02}", day.month() as u8, day.day())) }
                    }
                }
            }
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct FeedbackForm {
    csrf: String,
    verdict: String,
    label: Option<String>,
    note: Option<String>,
}

#[tracing::instrument(skip_all, fields(household_id = %signed_in.membership.household_id, pet_id = %id))]
pub(crate) async fn episode_feedback(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path((id, episode_id)): Path<(String, String)>,
    Form(form): Form<FeedbackForm>,
) -> Result<Response, PageError> {
    signed_in.check_csrf(&state, &form.csrf)?;
    signed_in.require(Permission::WriteCare)?;
    let pet_id = pet_id(&id)?;
    let episode_id: Uuid = episode_id.parse().map_err(|_| PageError::NotFound)?;
    let household_id = signed_in.membership.household_id;
    let episode = state.store.episode(household_id, pet_id, episode_id).await?;
    // The relabel select is sent with every button; only a relabel takes it.
    let label = if form.verdict == "relabelled" { form.label.clone() } else { None };
    let feedback = feedback::parse(&form.verdict, label.as_deref(), form.note.as_deref())
        .map_err(|e| PageError::BadRequest(e.message))?;
    let actor = petty_core::accounts::Actor {
        household_id,
        kind: petty_core::accounts::ActorKind::User { user_id: signed_in.user.id, role: signed_in.membership.role },
    };
    feedback::record(&state.app, &actor, &episode, feedback)
        .await
        .map_err(|e| PageError::BadRequest(petty_http::ApiError::from(e).message))?;
    Ok(axum::response::IntoResponse::into_response(Redirect::to(&format!("/pets/{pet_id}#timeline"))))
}

/// One-tap entries for a pet: the label (also the event's title), its type and minutes.
const PET_QUICK: [(&str, &str, Option<i64>); 4] = [
    ("Walked 30 min", "walk", Some(30)),
    ("Fed", "meal", None),
    ("Gave medication", "medication", None),
    ("Groomed", "grooming", Some(15)),
];

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct PetQuickForm {
    csrf: String,
    entry: usize,
}

/// Logs one of [`PET_QUICK`] for the pet, now.
pub(crate) async fn log_for_pet(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<PetQuickForm>,
) -> Result<Response, PageError> {
    signed_in.check_csrf(&state, &form.csrf)?;
    let pet_id = pet_id(&id)?;
    let Some((label, kind, minutes)) = PET_QUICK.get(form.entry) else {
        return Err(PageError::BadRequest("entry: one of the buttons on the page".to_owned()));
    };
    let actor = signed_in.actor();
    let subject = petty_app::lifelog::subject_for(&state.app, &actor, Some(pet_id), true).await.map_err(page_error)?;
    let input = super::lifelog::input_now(state.app.now(), kind, label, *minutes, None);
    petty_app::lifelog::log_events(&state.app, &actor, subject, vec![input], false).await.map_err(page_error)?;
    Ok(axum::response::IntoResponse::into_response(Redirect::to(&format!("/pets/{pet_id}#logged"))))
}

/// Removes one of the pet's logged events.
pub(crate) async fn remove_for_pet(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path((id, event_id)): Path<(String, String)>,
    Form(form): Form<super::csrf::CsrfForm>,
) -> Result<Response, PageError> {
    signed_in.check_csrf(&state, &form.csrf)?;
    let pet_id = pet_id(&id)?;
    let event_id = LifeEventId(event_id.parse().map_err(|_| PageError::NotFound)?);
    let actor = signed_in.actor();
    let subject = petty_app::lifelog::subject_for(&state.app, &actor, Some(pet_id), true).await.map_err(page_error)?;
    petty_app::lifelog::delete_event(&state.app, &actor, subject, event_id).await.map_err(page_error)?;
    Ok(axum::response::IntoResponse::into_response(Redirect::to(&format!("/pets/{pet_id}#logged"))))
}
