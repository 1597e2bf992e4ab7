//! Owners' feedback on the episodes Petty labelled: reading what they said ([`parse`]) and
//! keeping it ([`record`]), which has the episode's day analysed again with it. The API's
//! feedback endpoint and the pet's dashboard page both go through here, so a rule is checked
//! in one way whichever way the feedback came.

use petty_core::accounts::{Actor, ActorKind};
use petty_core::behaviour::Behaviour;
use petty_core::behaviour::features::episode_mean_features;
use petty_core::validation::FieldError;
use petty_store::{EpisodeFeedback, FeedbackVerdict, NewEpisodeFeedback, StoreError, StoredEpisode};
use time::OffsetDateTime;

use crate::App;

/// The longest note, in characters.
pub const NOTE_MAX: usize = 500;

/// What an owner said about one episode.
#[derive(Debug, Clone, PartialEq)]
pub struct Feedback {
    pub verdict: FeedbackVerdict,
    /// The right label; only with [`FeedbackVerdict::Relabelled`].
    pub label: Option<Behaviour>,
    pub note: Option<String>,
}

/// Reads a verdict (`confirmed`, `wrong` or `relabelled`, in a few spellings), the right label
/// (required with `relabelled`, refused with anything else) and an optional note of at most
/// [`NOTE_MAX`] characters. The error names the field and the rule it broke.
pub fn parse(verdict: &str, label: Option<&str>, note: Option<&str>) -> Result<Feedback, FieldError> {
    let verdict = match verdict.trim() {
        "confirmed" | "confirm" => FeedbackVerdict::Confirmed,
        "wrong" => FeedbackVerdict::Wrong,
        "relabelled" | "relabeled" | "relabel" => FeedbackVerdict::Relabelled,
        _ => {
            return Err(FieldError::new("verdict", "one_of", "verdict must be one of confirmed, wrong, relabelled"));
        }
    };
    let label = match (verdict, label.map(str::trim).filter(|l| !l.is_empty())) {
        (FeedbackVerdict::Relabelled, None) => {
            return Err(FieldError::new("label", "required", "label is required when the verdict is relabelled"));
        }
        (FeedbackVerdict::Relabelled, Some(l)) => Some(l.parse::<Behaviour>().map_err(|invalid| {
            invalid
                .0
                .into_iter()
                .next()
                .unwrap_or_else(|| FieldError::new("label", "one_of", "label is not a behaviour"))
        })?),
        (_, Some(_)) => {
            return Err(FieldError::new("label", "not_allowed", "label is only taken with the verdict relabelled"));
        }
        (_, None) => None,
    };
    let note = note.map(str::trim).filter(|n| !n.is_empty()).map(str::to_owned);
    if note.as_ref().is_some_and(|n| n.chars().count() > NOTE_MAX) {
        return Err(FieldError::new("note", "too_long", format!("note must be at most {NOTE_MAX} characters")));
    }
    Ok(Feedback { verdict, label, note })
}

/// Keeps `actor`'s feedback on `episode` (with the episode's mean features, so the pet's
/// calibration can find the nearest judged episodes) and asks for the episode's day to be
/// analysed again with it.
pub async fn record(
    app: &App,
    actor: &Actor,
    episode: &StoredEpisode,
    feedback: Feedback,
) -> Result<EpisodeFeedback, StoreError> {
    let (samples, _) = crate::analysis::samples(
        &app.store,
        actor.household_id,
        episode.pet_id,
        episode.episode.start_ms,
        episode.episode.end_ms,
    )
    .await?;
    let features =
        episode_mean_features(&samples, episode.episode.start_ms, episode.episode.end_ms).map(|f| f.to_vec());
    let user_id = match actor.kind {
        ActorKind::User { user_id, .. } => Some(user_id),
        ActorKind::ApiKey { .. } => None,
    };
    let Feedback { verdict, label, note } = feedback;
    let new = NewEpisodeFeedback { verdict, label, note, features, user_id };
    let now = OffsetDateTime::now_utc();
    let stored = app.store.add_episode_feedback(actor.household_id, episode, &new, now).await?;
    // Analyse the episode's day again with the new feedback.
    app.reanalyse(actor.household_id, episode.device_id, episode.episode.start_ms, episode.episode.end_ms).await?;
    Ok(stored)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feedback_is_read_with_its_rules() {
        let ok = parse(" confirm ", None, Some("  ")).unwrap();
        assert_eq!((ok.verdict, ok.label, ok.note), (FeedbackVerdict::Confirmed, None, None));
        let relabel = parse("relabeled", Some("Running"), Some(" she sprinted ")).unwrap();
        assert_eq!(relabel.label, Some(Behaviour::Running));
        assert_eq!(relabel.note.as_deref(), Some("she sprinted"));
        let rule = |r: Result<Feedback, FieldError>| {
            let e = r.unwrap_err();
            (e.field, e.rule)
        };
        assert_eq!(rule(parse("maybe", None, None)), ("verdict".to_owned(), "one_of"));
        assert_eq!(rule(parse("relabelled", Some(" "), None)), ("label".to_owned(), "required"));
        assert_eq!(rule(parse("relabelled", Some("flying"), None)), ("label".to_owned(), "one_of"));
        assert_eq!(rule(parse("wrong", Some("running"), None)), ("label".to_owned(), "not_allowed"));
        assert_eq!(rule(parse("wrong", None, Some(&"x".repeat(NOTE_MAX + 1)))), ("note".to_owned(), "too_long"));
    }
}
