//! The calendar: Petty's household feed (`petty_app::calendar`) that Google, Microsoft and
//! Apple calendars subscribe to, its items as JSON, "sync" (publishing that feed), and `.ics`
//! import into reminders.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use petty_app::calendar::{FeedEvent, FeedStart};
use petty_http::AppState;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::wire::{Body, Check, param, query};
use super::{Action, Answer, Detail, Fail, Member, date, ok, require, ts};

/// The feed's address for a token, under the profile's own prefix.
fn feed_url(state: &AppState, token: &str) -> String {
    format!(
        "{}/compat/petmgmt/api/v1/calendar/feed.ics?token={token}",
        state.app.notifier.public_url().trim_end_matches('/')
    )
}

/// `POST /calendar/feed` → `{feedUrl, token}`; a new call replaces the token.
pub(super) async fn new_feed(State(state): State<AppState>, member: Member) -> Answer {
    require(&member.0, Action::Write)?;
    let token =
        petty_app::calendar::new_feed_token(&state.app, &member.0).await.map_err(super::account::billing_error)?;
    Ok(ok(StatusCode::OK, json!({"feedUrl": feed_url(&state, &token), "token": token})))
}

/// `GET /calendar/feed.ics?token=`: needs nothing but the token; `ETag`, 304 on
/// `If-None-Match`.
pub(super) async fn feed(State(state): State<AppState>, uri: Uri, headers: HeaderMap) -> Result<Response, Fail> {
    let q = query(&uri)?;
    let token = param(&q, "token").unwrap_or_default();
    let missing = || Fail::not_found("Calendar feed not found");
    if token.is_empty() || token.len() > 100 {
        return Err(missing());
    }
    let Some((household, name)) = petty_app::calendar::feed_household(&state.app, token).await.map_err(Fail::store)?
    else {
        return Err(missing());
    };
    let events = petty_app::calendar::feed_events(&state.app, household, state.app.now()).await.map_err(Fail::store)?;
    let (body, etag) = petty_app::calendar::feed_ics(&name, &events);
    let cache = [(header::ETAG, etag.clone()), (header::CACHE_CONTROL, "private, max-age=300".to_owned())];
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag))
    {
        return Ok((StatusCode::NOT_MODIFIED, cache).into_response());
    }
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, "text/calendar; charset=utf-8".to_owned())], cache, body)
        .into_response())
}

/// One feed item as the contract's event.
fn event_json(e: &FeedEvent, external_id: Option<&str>) -> Value {
    let (start, end) = match e.start {
        FeedStart::At(t) => (ts(t), ts(t + time::Duration::minutes(30))),
        FeedStart::AllDay(d) => (date(d), date(d + time::Duration::days(1))),
    };
    json!({
        "id": e.uid,
        "title": e.summary,
        "description": e.description,
        "startTime": start,
        "endTime": end,
        "allDay": matches!(e.start, FeedStart::AllDay(_)),
        "location": null,
        "petId": e.pet_id.map(|p| p.0),
        "reminderId": e.reminder_id,
        "calendarSource": "petty",
        "externalId": external_id,
    })
}

/// `GET /calendar/events?from&to&calendar`: the feed's items in the window (dates or
/// date-times; all-day items by their day).
pub(super) async fn events(State(state): State<AppState>, member: Member, uri: Uri) -> Answer {
    require(&member.0, Action::ReadReminders)?;
    let q = query(&uri)?;
    let mut details = Vec::new();
    let bound = |name: &str, details: &mut Vec<Detail>| -> Option<OffsetDateTime> {
        let text = param(&q, name)?;
        let parsed = if text.len() == 10 {
            petty_core::pets::parse_date(name, text).ok().map(|d| d.midnight().assume_utc())
        } else {
            OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()
        };
        if parsed.is_none() {
            details
                .push(Detail { field: name.into(), message: format!("{name} must be an ISO 8601 date or date-time") });
        }
        parsed
    };
    let from = bound("from", &mut details);
    let to = bound("to", &mut details);
    if !details.is_empty() {
        return Err(Fail::validation(details));
    }
    let events =
        petty_app::calendar::feed_events(&state.app, member.household(), state.app.now()).await.map_err(Fail::store)?;
    let reminders = state.store.pending_reminders(member.household()).await.map_err(Fail::store)?;
    let items: Vec<Value> = events
        .iter()
        .filter(|e| {
            let at = match e.start {
                FeedStart::At(t) => t,
                FeedStart::AllDay(d) => d.midnight().assume_utc(),
            };
            from.is_none_or(|f| at >= f) && to.is_none_or(|t| at < t)
        })
        .map(|e| {
            let external = e
                .reminder_id
                .and_then(|id| reminders.iter().find(|r| r.id == id))
                .and_then(|r| r.external_uid.as_deref());
            event_json(e, external)
        })
        .collect();
    Ok(ok(StatusCode::OK, json!({"events": items})))
}

/// `POST /calendar/sync` `{calendarProvider, syncDirection}`: Petty cannot reach the providers,
/// so syncing publishes the household's feed for them to subscribe to. A feed is made if there
/// is none (its address is in `feedUrl`); an existing one keeps the address handed out before
/// (Petty keeps only its token's hash), and `feedUrl` is then null.
pub(super) async fn sync(State(state): State<AppState>, member: Member, bytes: Bytes) -> Answer {
    require(&member.0, Action::Write)?;
    let body = Body::parse(&bytes)?;
    let mut c = Check::new(&body);
    let provider = c.text("calendarProvider", 50, true, None).flatten();
    let direction = c.text("syncDirection", 20, false, None).flatten();
    if let Some(d) = &direction
        && !matches!(d.to_lowercase().as_str(), "export" | "import" | "bidirectional" | "both")
    {
        c.fail("syncDirection", "syncDirection must be one of: export, import, bidirectional");
    }
    c.finish()?;
    let _ = provider;
    super::account::check_calendar(&state, member.household()).await?;
    let feed_url = match state.store.calendar_feed_since(member.household()).await.map_err(Fail::store)? {
        Some(_) => None,
        None => {
            let token = petty_app::calendar::new_feed_token(&state.app, &member.0)
                .await
                .map_err(super::account::billing_error)?;
            Some(feed_url(&state, &token))
        }
    };
    let now = state.app.now();
    let events = petty_app::calendar::feed_events(&state.app, member.household(), now).await.map_err(Fail::store)?;
    Ok(ok(
        StatusCode::OK,
        json!({
            "syncId": uuid::Uuid::new_v4(),
            "status": "completed",
            "eventsImported": 0,
            "eventsExported": events.len(),
            "lastSyncTime": ts(now),
            "feedUrl": feed_url,
        }),
    ))
}

/// `POST /calendar/import` (a `text/calendar` body) → `{imported, updated, skipped}`.
pub(super) async fn import(State(state): State<AppState>, member: Member, headers: HeaderMap, bytes: Bytes) -> Answer {
    require(&member.0, Action::Write)?;
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !content_type.trim_start().to_ascii_lowercase().starts_with("text/calendar") {
        return Err(Fail::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
            "The body must be text/calendar",
        ));
    }
    let text = std::str::from_utf8(&bytes).map_err(|_| Fail::field("body", "The calendar file must be UTF-8"))?;
    let outcome = petty_app::calendar::import_ics(&state.app, &member.0, text).await.map_err(Fail::care)?;
    Ok(ok(
        StatusCode::OK,
        json!({
            "imported": outcome.imported,
            "updated": outcome.updated,
            "skipped": outcome.skipped.into_iter().map(|(uid, reason)| json!({"uid": uid, "reason": reason})).collect::<Vec<_>>(),
        }),
    ))
}
