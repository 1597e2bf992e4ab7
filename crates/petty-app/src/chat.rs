//! The dashboard's chat, without a language model: a question is matched to a fixed intent and
//! answered from the household's own records, each answer with links to the records it used.
//!
//! - A pet named in the question ("how did Bella sleep?"): its last analysed night and day
//!   (sleep, interruptions, active minutes), or what is missing when there is no data.
//! - The air ("is the car's CO OK?", "how is the air?"): each air monitor's newest CO reading
//!   (only monitors named in the question, if any are) and the open CO alarms.
//! - Alarms ("any alarms?"): the open ones, most severe first.
//! - Anything else is a catalog question ("golden retrievers under $500"), answered through
//!   [`crate::catalog::query`] with the filters it applied; a question that sets no filter at all
//!   gets a word about what can be asked.
//!
//! Nothing here invents a number: a figure is shown only when a record holds it.

use petty_core::accounts::Actor;
use petty_core::alarm::AlarmState;
use petty_core::devices::DeviceKind;
use petty_core::readings::Metric;
use petty_store::{AlarmFilter, StoreError};
use time::OffsetDateTime;

use crate::App;
use crate::catalog::{self, Source};

/// A record an answer used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub label: String,
    pub href: String,
}

/// What the chat answers: lines of text, the records behind them, and which intent answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub intent: &'static str,
    pub lines: Vec<String>,
    pub links: Vec<Link>,
}

/// The longest question, in characters.
pub const QUESTION_MAX: usize = 500;

const HELP: &str = "I can tell you how your pets slept and moved (\u{201c}how did Bella sleep?\u{201d}), \
     how the air is (\u{201c}is the car's CO OK?\u{201d}), which alarms are open, and what the catalog \
     offers (\u{201c}golden retrievers under $500\u{201d}).";

fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
}

fn has_any(words: &[String], wanted: &[&str]) -> bool {
    words.iter().any(|w| wanted.contains(&w.as_str()))
}

fn hours(minutes: f64) -> String {
    let m = minutes.round() as i64;
    match (m / 60, m % 60) {
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m} min"),
    }
}

/// Answers `question` for `actor` from the household's records.
pub async fn reply(app: &App, actor: &Actor, question: &str) -> Result<Reply, StoreError> {
    let question = question.trim();
    let w = words(question);
    let household = actor.household_id;
    if w.is_empty() {
        return Ok(Reply { intent: "help", lines: vec![HELP.to_owned()], links: Vec::new() });
    }
    // A pet of the household named in the question.
    let pets = app
        .store
        .list_pets(
            household,
            &petty_store::PetFilter { shared_with: actor.sees_only_shared_pets(), ..Default::default() },
            petty_core::paging::PageRequest { page: 1, page_size: 500 },
        )
        .await?;
    let named = pets.items.iter().find(|p| {
        let name = words(&p.profile.name);
        !name.is_empty() && w.windows(name.len()).any(|window| window == name.as_slice())
    });
    let about_air = has_any(&w, &["co", "carbon", "monoxide", "air", "gas", "monitor", "monitors"]);
    if let Some(pet) = named.filter(|_| !about_air) {
        return pet_reply(app, actor, pet, &w).await;
    }
    if about_air {
        return air_reply(app, actor, &w).await;
    }
    if has_any(&w, &["alarm", "alarms", "alert", "alerts"]) {
        return alarms_reply(app, actor).await;
    }
    let answer = catalog::query(app, household, question).await.map_err(|e| match e {
        catalog::CatalogError::Store(e) => e,
        other => StoreError::Unavailable(other.to_string()),
    })?;
    let filters = &answer.understood.filters;
    if filters.chips().is_empty() && answer.understood.source != Source::Llm {
        return Ok(Reply { intent: "help", lines: vec![HELP.to_owned()], links: Vec::new() });
    }
    let total = answer.results.total;
    let shown: Vec<_> = answer.results.items().collect();
    let mut lines = vec![match (total, shown.len()) {
        (0, _) => format!("No pets in the catalog match \u{201c}{question}\u{201d}."),
        (1, _) => "Found 1 pet in the catalog.".to_owned(),
        (t, s) if s < t => format!("Found {t} pets in the catalog; here are {s}."),
        (t, _) => format!("Found {t} pets in the catalog."),
    }];
    lines.push(format!("Understood as: {filters}."));
    let mut links = Vec::new();
    for l in shown {
        let c = &l.content;
        let price = c.price().map_or_else(|| "price on request".to_owned(), |p| format!("{p:.2} {}", c.currency));
        lines.push(format!("{}: {} ({}), {price}", c.name, c.species, c.breed));
        links.push(Link { label: c.name.clone(), href: format!("/catalog/{}", l.id) });
    }
    Ok(Reply { intent: "catalog", lines, links })
}

async fn pet_reply(app: &App, actor: &Actor, pet: &petty_core::pets::Pet, w: &[String]) -> Result<Reply, StoreError> {
    let today = app.store.household_zone(actor.household_id).await?.date_at(OffsetDateTime::now_utc());
    let days = app.store.pet_days(actor.household_id, pet.id, today - time::Duration::days(6), today).await?;
    let summaries: Vec<_> = days.iter().filter_map(|d| crate::summary_json::from_json(d.day, &d.summary)).collect();
    let name = &pet.profile.name;
    let link = Link { label: name.clone(), href: format!("/pets/{}", pet.id) };
    let wants_sleep = has_any(w, &["sleep", "slept", "night", "nights", "rest", "rested"]);
    let wants_activity =
        has_any(w, &["active", "activity", "walk", "walked", "exercise", "play", "played", "move", "moved"]);
    let (sleep, activity) = if wants_sleep || wants_activity { (wants_sleep, wants_activity) } else { (true, true) };
    let mut lines = Vec::new();
    if sleep {
        match summaries.iter().rev().find(|s| s.night_minutes_covered > 0.0) {
            Some(s) => lines.push(format!(
                "{name} slept {} in the night before {}, waking {} time{} (the collar covered {} of the night).",
                hours(s.sleep_minutes),
                petty_core::pets::format_date(s.day),
                s.sleep_interruptions,
                if s.sleep_interruptions == 1 { "" } else { "s" },
                hours(s.night_minutes_covered),
            )),
            None => lines.push(format!(
                "I have no night of {name}'s collar data from the last week, so I cannot say how {name} slept."
            )),
        }
    }
    if activity {
        match summaries.iter().rev().find(|s| s.minutes_covered > 0.0) {
            Some(s) => lines.push(format!(
                "On {} {name} was active for {} (walking, running or playing), over {} of data.",
                petty_core::pets::format_date(s.day),
                hours(s.active_minutes),
                hours(s.minutes_covered),
            )),
            None => lines.push(format!("I have no collar data for {name} from the last week.")),
        }
    }
    Ok(Reply { intent: "pet", lines, links: vec![link] })
}

async fn air_reply(app: &App, actor: &Actor, w: &[String]) -> Result<Reply, StoreError> {
    let devices = app.store.list_devices(actor.household_id).await?;
    let monitors: Vec<_> = devices.iter().filter(|d| d.profile.kind == DeviceKind::AirMonitor).collect();
    if monitors.is_empty() {
        return Ok(Reply {
            intent: "air",
            lines: vec!["This household has no air monitor, so I know nothing of its air.".to_owned()],
            links: Vec::new(),
        });
    }
    // Monitors named in the question ("the car's"), else every one.
    let named: Vec<_> = monitors
        .iter()
        .copied()
        .filter(|d| words(&d.profile.name).iter().any(|n| n.len() > 2 && w.contains(n)))
        .collect();
    let asked = if named.is_empty() { monitors } else { named };
    let open = open_alarms(app, actor).await?;
    let mut lines = Vec::new();
    let mut links = Vec::new();
    for device in asked {
        let name = &device.profile.name;
        let latest = app.store.latest_reading(actor.household_id, device.id).await?;
        let ppm = latest.as_ref().and_then(|r| {
            crate::alarms::series(device, Metric::CoPpm, std::slice::from_ref(r)).first().map(|(t, v)| (*t, *v))
        });
        let alarms: Vec<_> = open.iter().filter(|a| a.device_id == Some(device.id)).collect();
        let line = match (ppm, alarms.is_empty()) {
            (Some((at, v)), true) => format!(
                "{name}: {v:.1} ppm of CO at {} UTC, and no alarm is open.",
                crate::timeline::time_of(at)
                    .format(&time::macros::format_description!("[hour]:[minute]"))
                    .unwrap_or_default()
            ),
            (Some((_, v)), false) => format!(
                "{name}: {v:.1} ppm of CO, and {} open: {}.",
                if alarms.len() == 1 { "an alarm is" } else { "alarms are" },
                alarms.iter().map(|a| a.title.as_str()).collect::<Vec<_>>().join("; ")
            ),
            (None, true) => format!("{name} has sent no CO reading yet, and no alarm is open."),
            (None, false) => format!(
                "{name} has sent no CO reading yet, but an alarm is open: {}.",
                alarms.iter().map(|a| a.title.as_str()).collect::<Vec<_>>().join("; ")
            ),
        };
        lines.push(line);
        links.push(Link { label: name.clone(), href: format!("/devices/{}", device.id) });
        for a in alarms {
            links.push(Link { label: a.title.clone(), href: format!("/alarms/{}", a.id) });
        }
    }
    Ok(Reply { intent: "air", lines, links })
}

async fn alarms_reply(app: &App, actor: &Actor) -> Result<Reply, StoreError> {
    let mut open = open_alarms(app, actor).await?;
    // Most severe first (the severities' order), then the newest.
    open.sort_by(|a, b| a.severity.cmp(&b.severity).then(b.first_at.cmp(&a.first_at)));
    if open.is_empty() {
        return Ok(Reply { intent: "alarms", lines: vec!["No alarm is open.".to_owned()], links: Vec::new() });
    }
    let mut lines = vec![format!("{} alarm{} open:", open.len(), if open.len() == 1 { " is" } else { "s are" })];
    let mut links = Vec::new();
    for a in open.iter().take(10) {
        lines.push(format!("{} ({}): {}", a.title, a.severity.as_str(), a.message));
        links.push(Link { label: a.title.clone(), href: format!("/alarms/{}", a.id) });
    }
    Ok(Reply { intent: "alarms", lines, links })
}

/// The household's open alarms (active or acknowledged), up to 100.
async fn open_alarms(app: &App, actor: &Actor) -> Result<Vec<petty_store::Alarm>, StoreError> {
    let filter = AlarmFilter {
        states: vec![AlarmState::Active, AlarmState::Acknowledged],
        limit: 100,
        ..AlarmFilter::default()
    };
    app.store.list_alarms(actor.household_id, &filter).await
}
