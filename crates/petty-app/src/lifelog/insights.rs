//! Insights: the contract's rules over a person's recent events, kept so they can be read,
//! marked read or dismissed, and pushed live as `insight_generated`. A rule that holds again on
//! the same UTC day updates its insight in place (same id, read state kept). With a language
//! model configured, one `llm_summary` insight may follow, written from the rules' sentences
//! and numbers (`summary.rs`).

use petty_bus::Topic;
use petty_core::Invalid;
use petty_core::accounts::Actor;
use petty_core::ids::{InsightId, UserId};
use petty_core::lifelog::{InsightKind, Subject};
use petty_core::paging::{Page, PageRequest};
use petty_store::{InsightFilter, NewInsight, StoreError, StoredInsight};
use time::{Duration, OffsetDateTime};

use super::learning::ANY_HOUSEHOLD;
use super::out::InsightOut;
use super::summary::summarise;
use super::{LifeError, person};
use crate::App;

/// The longest range insights look over.
pub const MAX_RANGE_DAYS: u32 = 90;

/// How an insight is marked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsightMark {
    Read,
    Dismissed,
}

/// Draws the insights that hold over the caller's last `days` days (1–90), keeps them and
/// pushes each; answers them in the rules' order (none without events in the range), then the
/// language model's summary of them when one is configured and `llm_allowed()` (asked once,
/// right before the call, by the edge that keeps the daily budget) grants the call. A failed
/// call only leaves the summary out.
pub async fn generate_insights(
    app: &App,
    actor: &Actor,
    days: u32,
    llm_allowed: &(dyn Fn() -> bool + Sync),
) -> Result<Vec<StoredInsight>, LifeError> {
    let user = person(actor)?;
    if !(1..=MAX_RANGE_DAYS).contains(&days) {
        return Err(Invalid::one("time_range_days", "out_of_range", "time_range_days must be between 1 and 90").into());
    }
    let now = app.now();
    let from = now - Duration::days(i64::from(days));
    let events = app.store.life_events_between(Subject::Person(user), ANY_HOUSEHOLD, from, now).await?;
    let found = petty_core::lifelog::generate_insights(&events, now, days);
    let mut kept = Vec::with_capacity(found.len() + 1);
    for insight in &found {
        let metadata: serde_json::Map<String, serde_json::Value> =
            insight.metadata.iter().map(|(k, v)| ((*k).to_owned(), serde_json::Value::from(*v))).collect();
        let metadata = serde_json::Value::Object(metadata).to_string();
        let new = NewInsight {
            insight_type: insight.kind.as_str(),
            category: insight.category,
            title: &insight.title,
            content: &insight.content,
            priority: insight.priority.as_str(),
            confidence: insight.confidence,
            metadata_json: &metadata,
        };
        kept.push(keep(app, user, &new, now).await?);
    }
    if let Some(summary) = summarise(app.llm.as_ref(), user, &found, days, llm_allowed).await {
        let kind = InsightKind::LlmSummary;
        let new = NewInsight {
            insight_type: kind.as_str(),
            category: kind.category(),
            title: kind.title(),
            content: &summary.content,
            priority: kind.priority().as_str(),
            confidence: summary.confidence,
            metadata_json: &summary.metadata_json,
        };
        kept.push(keep(app, user, &new, now).await?);
    }
    // The patterns of the same days, for a live client (`pattern_detected`).
    let topic = Topic::UserInsights(user);
    if !events.is_empty() && app.bus.has_listeners(topic) {
        let zone = app.store.user_zone(user).await?;
        let patterns = petty_core::lifelog::detect_patterns(&events, now, days, &zone);
        if patterns.found() > 0 {
            super::live::publish(
                app,
                topic,
                "pattern_detected",
                super::out::PatternsOut::new(i64::from(days), &patterns),
            )
            .await;
        }
    }
    Ok(kept)
}

/// Keeps one insight drawn at `now` (in place of the same type's of that UTC day) and pushes it.
async fn keep(app: &App, user: UserId, new: &NewInsight<'_>, now: OffsetDateTime) -> Result<StoredInsight, LifeError> {
    let stored = app.store.upsert_life_insight(user, new, now).await?;
    super::live::publish(app, Topic::UserInsights(user), "insight_generated", InsightOut::from(&stored)).await;
    Ok(stored)
}

/// A page of the caller's insights, newest first.
pub async fn list_insights(
    app: &App,
    actor: &Actor,
    filter: &InsightFilter,
    page: PageRequest,
) -> Result<Page<StoredInsight>, LifeError> {
    let user = person(actor)?;
    Ok(app.store.list_life_insights(user, filter, page).await?)
}

/// One of the caller's insights.
pub async fn get_insight(app: &App, actor: &Actor, id: InsightId) -> Result<StoredInsight, LifeError> {
    let user = person(actor)?;
    app.store.get_life_insight(user, id).await.map_err(missing)
}

/// Marks one of the caller's insights read or dismissed.
pub async fn mark_insight(
    app: &App,
    actor: &Actor,
    id: InsightId,
    mark: InsightMark,
) -> Result<StoredInsight, LifeError> {
    let user = person(actor)?;
    let (read, dismissed) = match mark {
        InsightMark::Read => (true, false),
        InsightMark::Dismissed => (false, true),
    };
    app.store.mark_life_insight(user, id, read, dismissed).await.map_err(missing)
}

fn missing(e: StoreError) -> LifeError {
    match e {
        StoreError::NotFound => LifeError::NotFound("insight"),
        other => LifeError::Store(other),
    }
}
