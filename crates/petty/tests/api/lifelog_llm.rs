//! The life log's optional summary insight over HTTP, against a fake OpenAI-compatible API on a
//! real socket (`fake_llm.rs`): with a model configured, the rule insights are followed by one
//! `llm_summary` written from their sentences and numbers (and pushed live like them); the
//! daily budget of calls holds per person; a failing, silent or nonsensical model only leaves
//! the summary out; and without a model no summary ever appears.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::fake_llm::{self, API_KEY, FakeLlm, MODEL, SUMMARY, Trouble};
use crate::harness::{Account, TestApp, spawn_app, spawn_app_with};
use crate::lifelog::call;
use crate::ws::{next, open, send};

/// A title nothing else has, to show that what the person wrote is not sent.
const PRIVATE_TITLE: &str = "Night at Grandma Edith's";

/// A Petty asking a fake model (with the budget and timeout given), and Ana, whose last days
/// hold short nights and long working days.
async fn ana_with_a_model(daily_calls_per_user: u32, timeout: Duration) -> (FakeLlm, TestApp, Account) {
    let fake = fake_llm::llm().await;
    let settings = fake.settings(daily_calls_per_user, timeout);
    let app = spawn_app_with(move |c| c.llm = Some(settings)).await;
    let ana = app.register("Ana").await;
    log_short_nights_and_long_days(&app, &ana.access_token).await;
    (fake, app, ana)
}

/// Six short nights and six long working days: short sleep, low activity and low balance.
async fn log_short_nights_and_long_days(app: &TestApp, token: &str) {
    let now = app.state.app.now();
    let at = |t: OffsetDateTime| t.format(&Rfc3339).unwrap();
    let mut events = Vec::new();
    for d in 0..6 {
        let night = now - time::Duration::days(d) - time::Duration::hours(8);
        events.push(json!({"event_type": "sleep", "title": PRIVATE_TITLE, "event_time": at(night),
            "duration_minutes": 330}));
        events.push(json!({"event_type": "work", "title": "Work", "event_time": at(night - time::Duration::hours(12)),
            "duration_minutes": 600}));
    }
    let (status, body) =
        call(app, Method::POST, "/api/v1/life-events/batch", token, Some(json!({"events": events}))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

async fn generate(app: &TestApp, token: &str) -> Vec<Value> {
    let (status, drawn) =
        call(app, Method::POST, "/api/v1/insights/generate", token, Some(json!({"time_range_days": 7}))).await;
    assert_eq!(status, StatusCode::CREATED, "{drawn}");
    drawn.as_array().cloned().unwrap_or_default()
}

/// The rule insights and the summary, apart.
fn split(drawn: &[Value]) -> (Vec<&Value>, Vec<&Value>) {
    drawn.iter().partition(|i| i["insight_type"] != "llm_summary")
}

#[tokio::test]
async fn with_a_model_the_insights_end_with_its_summary_of_their_numbers() {
    let (fake, app, ana) = ana_with_a_model(100, Duration::from_secs(10)).await;
    let t = &ana.access_token;
    let (_, me) = call(&app, Method::GET, "/api/v1/me", t, None).await;
    let mut socket = open(&app, Some(t)).await;
    let topic = format!("user:{}:insights", me["user"]["id"].as_str().unwrap());
    send(&mut socket, json!({"type": "subscribe", "topic": topic})).await;
    assert_eq!(next(&mut socket).await["type"], "subscribed");

    let drawn = generate(&app, t).await;
    let (rules, summaries) = split(&drawn);
    let types: Vec<&str> = rules.iter().map(|i| i["insight_type"].as_str().unwrap()).collect();
    assert_eq!(types, ["activity_summary", "sleep_short", "activity_low", "balance_low"], "{drawn:?}");
    assert_eq!(summaries.len(), 1, "one summary: {drawn:?}");
    let summary = summaries[0];
    assert_eq!(drawn.last(), Some(summary), "the summary comes after the rules");
    assert_eq!(summary["content"], SUMMARY, "the model's text, trimmed");
    assert_eq!(
        (summary["category"].as_str(), summary["title"].as_str(), summary["priority"].as_str()),
        (Some("summary"), Some("Your days in a few words"), Some("low"))
    );
    let lowest = rules.iter().map(|i| i["confidence"].as_f64().unwrap()).fold(f64::INFINITY, f64::min);
    assert_eq!(summary["confidence"].as_f64(), Some(lowest), "the least sure of what it summarised");
    assert_eq!(summary["metadata"], json!({"model": MODEL, "insight_types": types}));

    // The model was asked once, with the key, for this model, from the insights' sentences.
    let requests = fake.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    let asked = &requests[0];
    assert_eq!((asked.method.as_str(), asked.path.as_str()), ("POST", "/v1/chat/completions"));
    assert_eq!(asked.authorization.as_deref(), Some(format!("Bearer {API_KEY}").as_str()));
    assert_eq!(asked.body["model"], MODEL);
    assert!(asked.body["max_tokens"].as_u64().is_some_and(|n| n > 0), "{}", asked.body);
    assert!(asked.body["temperature"].is_number(), "{}", asked.body);
    let question = asked.message("user");
    for rule in &rules {
        let sentence = rule["content"].as_str().unwrap();
        assert!(question.contains(sentence), "{sentence:?} is in the prompt:\n{question}");
        for (name, number) in rule["metadata"].as_object().unwrap() {
            let said = format!("{name} = {}", number.as_f64().unwrap());
            assert!(question.contains(&said), "{said:?} is in the prompt:\n{question}");
        }
    }
    assert!(!question.contains("Grandma") && !asked.body.to_string().contains("Grandma"), "no title is sent");
    let instructions = asked.message("system");
    assert!(instructions.contains("2 or 3") && instructions.contains("medical advice"), "{instructions}");
    assert!(instructions.contains("do not invent"), "{instructions}");

    // Pushed live like the others, after them.
    let mut pushed = Vec::new();
    for _ in 0..drawn.len() {
        let m = next(&mut socket).await;
        assert_eq!(m["data"]["type"], "insight_generated", "{m}");
        pushed.push(m["data"]["data"]["insight_type"].as_str().unwrap().to_owned());
    }
    assert_eq!(pushed.last().map(String::as_str), Some("llm_summary"), "{pushed:?}");

    // Drawn again the same day: the summary is updated in place, like the rules' insights.
    let again = generate(&app, t).await;
    let (_, summaries_again) = split(&again);
    assert_eq!(summaries_again.len(), 1);
    assert_eq!(summaries_again[0]["id"], summary["id"], "the same insight");
    assert_eq!(fake.requests().len(), 2);
    let (_, listed) = call(&app, Method::GET, "/api/v1/insights?insight_type=llm_summary", t, None).await;
    assert_eq!(listed["total"], 1, "{listed}");
}

#[tokio::test]
async fn a_spent_daily_budget_asks_nothing_and_still_answers_the_rules() {
    let (fake, app, ana) = ana_with_a_model(1, Duration::from_secs(10)).await;
    let first = generate(&app, &ana.access_token).await;
    let (rules, summaries) = split(&first);
    assert_eq!(summaries.len(), 1, "{first:?}");
    assert_eq!(fake.requests().len(), 1);

    let second = generate(&app, &ana.access_token).await;
    let (rules_again, none) = split(&second);
    assert!(none.is_empty(), "no call, no summary in the answer: {second:?}");
    assert_eq!(rules_again.len(), rules.len(), "the rules still hold: {second:?}");
    assert_eq!(fake.requests().len(), 1, "no second request reached the model");
    let (_, kept) = call(&app, Method::GET, "/api/v1/insights?insight_type=llm_summary", &ana.access_token, None).await;
    assert_eq!((kept["total"].as_u64(), &kept["items"][0]["id"]), (Some(1), &summaries[0]["id"]), "the first stays");

    // The budget is each person's own.
    let bo = app.register("Bo").await;
    log_short_nights_and_long_days(&app, &bo.access_token).await;
    let theirs = generate(&app, &bo.access_token).await;
    assert_eq!(split(&theirs).1.len(), 1, "{theirs:?}");
    assert_eq!(fake.requests().len(), 2);

    // Nothing to summarise spends nothing: Cy has no events.
    let cy = app.register("Cy").await;
    assert!(generate(&app, &cy.access_token).await.is_empty());
    assert_eq!(fake.requests().len(), 2);
}

#[tokio::test]
async fn a_failing_silent_or_nonsensical_model_only_leaves_the_summary_out() {
    let (fake, app, ana) = ana_with_a_model(100, Duration::from_secs(1)).await;
    for (trouble, what) in [
        (Trouble::Fail, "a 500"),
        (Trouble::Hang, "no answer within the timeout"),
        (Trouble::Malformed, "an answer without a choice"),
    ] {
        fake.trouble_next(trouble);
        let asked = fake.requests().len();
        let drawn = generate(&app, &ana.access_token).await;
        let (rules, summaries) = split(&drawn);
        assert!(summaries.is_empty(), "{what}: {drawn:?}");
        assert_eq!(rules.len(), 4, "{what}: the rules are still answered: {drawn:?}");
        assert_eq!(fake.requests().len(), asked + 1, "{what}: the model was asked");
    }
    let (_, kept) = call(&app, Method::GET, "/api/v1/insights?insight_type=llm_summary", &ana.access_token, None).await;
    assert_eq!(kept["total"], 0, "{kept}");
    // Once the model answers again, so does the summary.
    let drawn = generate(&app, &ana.access_token).await;
    assert_eq!(split(&drawn).1.len(), 1, "{drawn:?}");
}

#[tokio::test]
async fn without_a_model_no_summary_ever_appears() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    log_short_nights_and_long_days(&app, &ana.access_token).await;
    for _ in 0..2 {
        let drawn = generate(&app, &ana.access_token).await;
        let (rules, summaries) = split(&drawn);
        assert_eq!((rules.len(), summaries.len()), (4, 0), "{drawn:?}");
    }
    let (_, kept) = call(
        &app,
        Method::GET,
        "/api/v1/insights?insight_type=llm_summary&include_dismissed=true",
        &ana.access_token,
        None,
    )
    .await;
    assert_eq!(kept["total"], 0, "{kept}");
}

#[tokio::test]
async fn on_the_dashboard_the_summary_is_drawn_with_the_others_and_says_who_wrote_it() {
    use crate::pages::{browser, csrf_in, get_page, post_form, sign_in_through_form};
    let (fake, app, ana) = ana_with_a_model(100, Duration::from_secs(10)).await;
    let client = browser();
    sign_in_through_form(&app, &client, &ana.email, &ana.password).await;
    let (_, html) = get_page(&app, &client, "/life").await;
    let res = post_form(&app, &client, "/life/insights/generate", &[("csrf", &csrf_in(&html))]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, html) = get_page(&app, &client, "/life").await;
    assert!(html.contains("Your days in a few words") && html.contains("Written by a language model"), "{html}");
    assert!(html.contains("You slept about 5.5 hours a night"), "{html}");
    assert_eq!(fake.requests().len(), 1);
}
