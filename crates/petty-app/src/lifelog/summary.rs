//! The optional `llm_summary` insight: with a language model configured, the rule insights that
//! hold are put to it (their titles, sentences and numbers, nothing else from the log) and it
//! writes two or three plain sentences from them. The edge keeps the daily budget of calls and
//! is asked right before a call; no model, nothing to summarise, a spent budget or a failed
//! call all leave the summary out, and the rule insights stand on their own.

use petty_core::ids::UserId;
use petty_core::lifelog::{Insight, InsightKind};
use petty_notify::llm::Llm;

/// The most characters of the model's text kept.
const MAX_SUMMARY_CHARS: usize = 1_000;

/// The longest answer asked for.
const MAX_TOKENS: u32 = 300;

const SYSTEM: &str = "You summarise a person's recent days for them, from the insights an app measured in their \
life log. Write 2 or 3 plain sentences, addressed to the person as \"you\". Use only the facts and numbers given: \
do not invent, estimate or round to other numbers, and do not add facts. Do not give medical advice, diagnoses or \
treatment suggestions. No lists, headings or markdown.";

/// The summary the model wrote, ready to keep as an insight.
pub(super) struct Summary {
    pub content: String,
    /// The lowest confidence of the insights it was written from.
    pub confidence: f64,
    pub metadata_json: String,
}

/// Asks the configured model for a summary of `found` (the rule insights over the last `days`
/// days), when there is a model, something to summarise and `llm_allowed()` grants a call.
pub(super) async fn summarise(
    llm: Option<&Llm>,
    user: UserId,
    found: &[Insight],
    days: u32,
    llm_allowed: &(dyn Fn() -> bool + Sync),
) -> Option<Summary> {
    let llm = llm?;
    let rules: Vec<&Insight> = found.iter().filter(|i| i.kind != InsightKind::LlmSummary).collect();
    let confidence = rules.iter().map(|i| i.confidence).reduce(f64::min)?;
    if !llm_allowed() {
        tracing::debug!(user = %user.0, "the day's LLM calls are spent: no summary");
        counted("budget_spent");
        return None;
    }
    let answer = match llm.complete(SYSTEM, &prompt(&rules, days), MAX_TOKENS).await {
        Ok(answer) => answer,
        Err(e) => {
            tracing::warn!(user = %user.0, error = %e, "the LLM summary is left out");
            counted("failed");
            return None;
        }
    };
    let Some(content) = tidy(&answer) else {
        tracing::warn!(user = %user.0, "the LLM answered no text: the summary is left out");
        counted("failed");
        return None;
    };
    counted("written");
    let metadata = serde_json::json!({
        "model": llm.config().model,
        "insight_types": rules.iter().map(|i| i.kind.as_str()).collect::<Vec<_>>(),
    });
    Some(Summary { content, confidence, metadata_json: metadata.to_string() })
}

/// `petty_llm_summaries_total{result}`: written, failed (the call or its answer), or
/// budget_spent (no call made).
fn counted(result: &'static str) {
    metrics::counter!("petty_llm_summaries_total", "result" => result).increment(1);
}

/// The question: each insight's title, sentence and numbers, one a line.
fn prompt(rules: &[&Insight], days: u32) -> String {
    let mut text = format!("What my life log showed over my last {days} days:\n");
    for insight in rules {
        let numbers: Vec<String> = insight.metadata.iter().map(|(name, value)| format!("{name} = {value}")).collect();
        text.push_str(&format!("- {}: {} ({})\n", insight.title, insight.content, numbers.join(", ")));
    }
    text.push_str("Summarise this for me in 2 or 3 sentences.");
    text
}

/// The answer on one line, at most [`MAX_SUMMARY_CHARS`]; `None` when it is empty.
fn tidy(answer: &str) -> Option<String> {
    let words: Vec<&str> = answer.split_whitespace().collect();
    let line = words.join(" ");
    let kept: String = line.chars().take(MAX_SUMMARY_CHARS).collect();
    let kept = kept.trim_end().to_owned();
    (!kept.is_empty()).then_some(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_answer_is_one_trimmed_line_and_capped() {
        assert_eq!(
            tidy("  You slept well.\n\n  You worked  a lot. \n"),
            Some("You slept well. You worked a lot.".into())
        );
        assert_eq!(tidy(" \n\t "), None);
        let long = "é".repeat(3 * MAX_SUMMARY_CHARS);
        assert_eq!(tidy(&long).map(|t| t.chars().count()), Some(MAX_SUMMARY_CHARS));
    }

    #[test]
    fn the_prompt_holds_each_sentence_and_its_numbers() {
        let sleep = Insight {
            kind: InsightKind::SleepShort,
            category: "sleep",
            title: "Short sleep".into(),
            content: "You slept 5.5 hours a night on average over 6 nights.".into(),
            priority: petty_core::lifelog::Priority::High,
            confidence: 0.6,
            metadata: vec![("avg_sleep_hours", 5.5), ("nights", 6.0)],
        };
        let text = prompt(&[&sleep], 7);
        assert!(text.contains("last 7 days"), "{text}");
        assert!(
            text.contains("- Short sleep: You slept 5.5 hours a night on average over 6 nights. (avg_sleep_hours = 5.5, nights = 6)"),
            "{text}"
        );
    }
}
