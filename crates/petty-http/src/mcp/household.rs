//! The household's tools: pets, readings, timeline, wellness, alarms, care records, reminders
//! and the life log. Each calls the REST handler of the same thing (see `mcp.rs`).

use axum::body::Bytes;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;
use rmcp::service::RequestContext;
use rmcp::{RoleServer, schemars, tool, tool_router};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{PettyMcp, body_of, uuid_arg};
use crate::api::{alarms, care, devices, lifelog, pets, timeline, wellness};
use crate::error::{ApiError, ErrorCode};
use crate::extract::{ApiJson, ApiPath, ApiQuery, ClientIp};

#[derive(Deserialize, schemars::JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
#[serde(deny_unknown_fields)]
pub(crate) struct ListPetsArgs {
    /// Only pets of this species: dog, cat, bird, rabbit, rodent, fish, reptile, horse or other.
    pub species: Option<String>,
    /// Only pets whose name contains this text (any case).
    pub name_contains: Option<String>,
    /// 1-based page number (default 1).
    pub page: Option<u32>,
    /// Pets per page, 1–500 (default 50).
    pub page_size: Option<u32>,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
#[serde(deny_unknown_fields)]
pub(crate) struct PetArgs {
    /// The pet's id (a UUID, from list_pets).
    pub pet_id: String,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
#[serde(deny_unknown_fields)]
pub(crate) struct LatestReadingsArgs {
    /// The device's id (a UUID, from get_pet).
    pub device_id: String,
    /// How many readings, newest first, 1–500 (default 20).
    pub limit: Option<u32>,
    /// How far back to look, in minutes, 1–1440 (default 60).
    pub minutes: Option<u32>,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
#[serde(deny_unknown_fields)]
pub(crate) struct TimelineArgs {
    /// The pet's id (a UUID, from list_pets).
    pub pet_id: String,
    /// The day, `YYYY-MM-DD`, in the household's time zone (default today there).
    pub date: Option<String>,
    /// Comma-separated: episode, anomaly, geofence, life_event, care (default all).
    pub kinds: Option<String>,
    /// 1-based page number (default 1).
    pub page: Option<u32>,
    /// Items per page, 1–500 (default 50).
    pub page_size: Option<u32>,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
#[serde(deny_unknown_fields)]
pub(crate) struct WellnessArgs {
    /// The pet's id (a UUID, from list_pets).
    pub pet_id: String,
    /// How many days of history, 1–90 (default 7).
    pub days: Option<u32>,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
#[serde(deny_unknown_fields)]
pub(crate) struct ListAlarmsArgs {
    /// Comma-separated states: active, acknowledged, cleared; or `all`. Default: the open ones
    /// (active,acknowledged).
    pub state: Option<String>,
    /// The least severe to include: critical, major, minor, warning, info.
    pub severity: Option<String>,
    /// Only this pet's alarms (a UUID).
    pub pet_id: Option<String>,
    /// Only this device's alarms (a UUID).
    pub device_id: Option<String>,
    /// 1-based page number (default 1).
    pub page: Option<u32>,
    /// Alarms per page, 1–500 (default 50).
    pub page_size: Option<u32>,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
#[serde(deny_unknown_fields)]
pub(crate) struct AcknowledgeArgs {
    /// The alarm's id (a UUID, from list_alarms).
    pub alarm_id: String,
    /// A note for the alarm's trail, up to 2,000 characters.
    pub note: Option<String>,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
#[serde(deny_unknown_fields)]
pub(crate) struct CareRecordsArgs {
    /// The pet's id (a UUID, from list_pets).
    pub pet_id: String,
    /// Only records of this kind (vaccination, vet_visit, medication, weight, ...).
    pub kind: Option<String>,
    /// Only records dated on or after this day (`YYYY-MM-DD`).
    pub from: Option<String>,
    /// Only records dated on or before this day (`YYYY-MM-DD`).
    pub to: Option<String>,
    /// 1-based page number (default 1).
    pub page: Option<u32>,
    /// Records per page, 1–500 (default 50).
    pub page_size: Option<u32>,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
#[serde(deny_unknown_fields)]
pub(crate) struct RemindersArgs {
    /// Only this pet's reminders (a UUID).
    pub pet_id: Option<String>,
    /// How many days ahead, 1–366 (default 30).
    pub days: Option<u32>,
    /// Reminders per page, 1–500 (default 50).
    pub page_size: Option<u32>,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
#[serde(deny_unknown_fields)]
pub(crate) struct ListLifeEventsArgs {
    /// A pet's events (a UUID); without it, your own (a signed-in person's, not an API key's).
    pub pet_id: Option<String>,
    /// Only events of this type (meal, walk, medication, grooming, sleep, mood, ...).
    pub event_type: Option<String>,
    /// Only the last this many days (1–3650).
    pub days: Option<i64>,
    /// 1-based page number (default 1).
    pub page: Option<u32>,
    /// Events per page (default 50).
    pub page_size: Option<u32>,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
#[serde(deny_unknown_fields)]
pub(crate) struct LogLifeEventArgs {
    /// Log it for this pet (a UUID): meal, walk, medication or grooming. Without it, for
    /// yourself (a signed-in person, not an API key).
    pub pet_id: Option<String>,
    /// What happened: a pet's meal, walk, medication or grooming; a person's sleep, exercise,
    /// mood, meal, walk, work, ... (a word of `[a-z][a-z0-9_]`, at most 50).
    pub event_type: String,
    /// 1–200 characters.
    pub title: String,
    /// When, ISO 8601 (no offset means UTC); default now.
    pub event_time: Option<String>,
    /// Up to 5,000 characters.
    pub description: Option<String>,
    /// 0–10,080.
    pub duration_minutes: Option<i64>,
    /// At most 20 tags of 1–50 characters.
    pub tags: Option<Vec<String>>,
    /// Anything (at most 16 KiB), kept as sent: `energy_level` and `mood_score` (0–10), ...
    pub event_data: Option<Map<String, Value>>,
}

fn bad(field: &str, rule: &str, message: impl Into<String>) -> ApiError {
    ApiError::field(ErrorCode::ValidationFailed, field, rule, message)
}

fn rfc3339(at: OffsetDateTime) -> Result<String, ApiError> {
    at.format(&Rfc3339).map_err(ApiError::internal)
}

#[tool_router(router = household_tools, vis = "pub(super)")]
impl PettyMcp {
    #[tool(
        description = "The household's pets, by name: id, name, species, breed, birth date, sex, weight, microchip.",
        annotations(read_only_hint = true)
    )]
    async fn list_pets(
        &self,
        Parameters(args): Parameters<ListPetsArgs>,
        context: RequestContext<RoleServer>,
    ) -> CallToolResult {
        self.run(&context, |caller| async move {
            let query = pets::ListPetsQuery {
                page: args.page,
                page_size: args.page_size,
                species: args.species,
                q: args.name_contains,
            };
            body_of(pets::list_pets(self.state(), caller.current(), ApiQuery(query)).await).await
        })
        .await
    }

    #[tool(
        description = "One pet's profile, with its devices (collars, monitors) and each device's newest reading.",
        annotations(read_only_hint = true)
    )]
    async fn get_pet(
        &self,
        Parameters(args): Parameters<PetArgs>,
        context: RequestContext<RoleServer>,
    ) -> CallToolResult {
        self.run(&context, |caller| async move {
            let id = uuid_arg("pet_id", &args.pet_id)?;
            let pet = body_of(pets::get_pet(self.state(), caller.current(), ApiPath(id)).await).await?;
            // Someone who may read the pet but not the household's devices (a vet) gets the pet.
            let listed = match body_of(devices::list_devices(self.state(), caller.current()).await).await {
                Err(refused) if refused.code == ErrorCode::Forbidden => Value::Null,
                listed => listed?,
            };
            let mut shown = Vec::new();
            for device in listed["items"].as_array().into_iter().flatten().filter(|d| d["pet_id"] == json!(id)) {
                let device_id = uuid_arg("device_id", device["id"].as_str().unwrap_or_default())?;
                let latest = devices::latest_reading(self.state(), caller.current(), ApiPath(device_id)).await;
                shown.push(json!({"device": device, "latest_reading": body_of(latest).await?}));
            }
            Ok(json!({"pet": pet, "devices": shown}))
        })
        .await
    }

    #[tool(
        description = "A device's newest readings (heart rate, activity, temperature, CO, battery, ...), newest first.",
        annotations(read_only_hint = true)
    )]
    async fn latest_readings(
        &self,
        Parameters(args): Parameters<LatestReadingsArgs>,
        context: RequestContext<RoleServer>,
    ) -> CallToolResult {
        self.run(&context, |caller| async move {
            let id = uuid_arg("device_id", &args.device_id)?;
            let limit = args.limit.unwrap_or(20);
            if !(1..=500).contains(&limit) {
                return Err(bad("limit", "out_of_range", "limit must be between 1 and 500"));
            }
            let minutes = args.minutes.unwrap_or(60);
            if !(1..=1440).contains(&minutes) {
                return Err(bad("minutes", "out_of_range", "minutes must be between 1 and 1440"));
            }
            let now = self.state.app.now();
            let query = devices::ReadingsQuery {
                from: Some(rfc3339(now - time::Duration::minutes(i64::from(minutes)))?),
                to: None,
                cursor: None,
                limit: Some(devices::READINGS_LIMIT_MAX),
            };
            let page = devices::list_readings(self.state(), caller.current(), ApiPath(id), ApiQuery(query)).await;
            let mut readings = match body_of(page).await?["items"].take() {
                Value::Array(items) => items,
                _ => Vec::new(),
            };
            readings.reverse();
            readings.truncate(limit as usize);
            if readings.is_empty() {
                // Nothing lately: the newest reading there is, however old.
                let latest = devices::latest_reading(self.state(), caller.current(), ApiPath(id));
                readings.extend(Some(body_of(latest.await).await?).filter(|r| !r.is_null()));
            }
            Ok(json!({"device_id": id, "readings": readings}))
        })
        .await
    }

    #[tool(
        description = "What a pet did on one day (behaviour episodes, anomalies, geofence crossings, life events, care), in time order. The day is in the household's time zone; default today.",
        annotations(read_only_hint = true)
    )]
    async fn pet_timeline(
        &self,
        Parameters(args): Parameters<TimelineArgs>,
        context: RequestContext<RoleServer>,
    ) -> CallToolResult {
        self.run(&context, |caller| async move {
            let id = uuid_arg("pet_id", &args.pet_id)?;
            let zone = self.state.store.household_zone(caller.actor.household_id).await?;
            let day = match args.date.as_deref().map(str::trim) {
                Some(raw) => petty_core::pets::parse_date("date", raw)?,
                None => zone.date_at(self.state.app.now()),
            };
            let next = day.next_day().ok_or_else(|| bad("date", "out_of_range", "date is too far ahead"))?;
            let (Some(from), Some(to)) = (zone.at_hour(day, 0), zone.at_hour(next, 0)) else {
                return Err(bad("date", "out_of_range", "date is out of range"));
            };
            let query = timeline::TimelineQuery {
                from: Some(rfc3339(from)?),
                to: Some(rfc3339(to)?),
                kinds: args.kinds,
                page: args.page,
                page_size: args.page_size,
            };
            let items = timeline::timeline(self.state(), caller.current(), ApiPath(id), ApiQuery(query)).await;
            let mut answer = body_of(items).await?;
            answer["date"] = json!(petty_core::pets::format_date(day));
            answer["time_zone"] = json!(zone.name());
            Ok(answer)
        })
        .await
    }

    #[tool(
        description = "A pet's wellness score (0-100) with its breakdown, trend and daily history.",
        annotations(read_only_hint = true)
    )]
    async fn pet_wellness(
        &self,
        Parameters(args): Parameters<WellnessArgs>,
        context: RequestContext<RoleServer>,
    ) -> CallToolResult {
        self.run(&context, |caller| async move {
            let id = uuid_arg("pet_id", &args.pet_id)?;
            let query = wellness::WellnessQuery { days: args.days };
            body_of(wellness::get_wellness(self.state(), caller.current(), ApiPath(id), ApiQuery(query)).await).await
        })
        .await
    }

    #[tool(
        description = "The household's alarms, newest first: the open ones (active or acknowledged) unless a state is given.",
        annotations(read_only_hint = true)
    )]
    async fn list_alarms(
        &self,
        Parameters(args): Parameters<ListAlarmsArgs>,
        context: RequestContext<RoleServer>,
    ) -> CallToolResult {
        self.run(&context, |caller| async move {
            let state = match args.state.as_deref().map(str::trim) {
                None | Some("") => Some("active,acknowledged".to_owned()),
                Some("all") => None,
                Some(states) => Some(states.to_owned()),
            };
            let query = alarms::AlarmQuery {
                state,
                severity: args.severity,
                device_id: args.device_id.as_deref().map(|d| uuid_arg("device_id", d)).transpose()?,
                pet_id: args.pet_id.as_deref().map(|p| uuid_arg("pet_id", p)).transpose()?,
                from: None,
                to: None,
                page: args.page,
                page_size: args.page_size,
            };
            body_of(alarms::list_alarms(self.state(), caller.current(), ApiQuery(query)).await).await
        })
        .await
    }

    #[tool(
        description = "Acknowledge an active alarm: someone is on it, and its calls and messages stop.",
        annotations(read_only_hint = false, destructive_hint = false, idempotent_hint = false)
    )]
    async fn acknowledge_alarm(
        &self,
        Parameters(args): Parameters<AcknowledgeArgs>,
        context: RequestContext<RoleServer>,
    ) -> CallToolResult {
        self.run(&context, |caller| async move {
            let id = uuid_arg("alarm_id", &args.alarm_id)?;
            let body = match args.note {
                Some(note) => Bytes::from(json!({ "note": note }).to_string()),
                None => Bytes::new(),
            };
            let state = self.state();
            let acknowledged =
                alarms::acknowledge_alarm(state, caller.current(), ClientIp(caller.ip), ApiPath(id), body).await;
            body_of(acknowledged).await
        })
        .await
    }

    #[tool(
        description = "A pet's care records (vaccinations, vet visits, medication, weights, ...), newest first.",
        annotations(read_only_hint = true)
    )]
    async fn list_care_records(
        &self,
        Parameters(args): Parameters<CareRecordsArgs>,
        context: RequestContext<RoleServer>,
    ) -> CallToolResult {
        self.run(&context, |caller| async move {
            let id = uuid_arg("pet_id", &args.pet_id)?;
            let query = care::ListRecordsQuery {
                page: args.page,
                page_size: args.page_size,
                kind: args.kind,
                from: args.from,
                to: args.to,
            };
            body_of(care::list_records(self.state(), caller.current(), ApiPath(id), ApiQuery(query)).await).await
        })
        .await
    }

    #[tool(
        description = "Reminders not yet done and due within the next days (overdue ones first), by due time.",
        annotations(read_only_hint = true)
    )]
    async fn upcoming_reminders(
        &self,
        Parameters(args): Parameters<RemindersArgs>,
        context: RequestContext<RoleServer>,
    ) -> CallToolResult {
        self.run(&context, |caller| async move {
            let days = args.days.unwrap_or(30);
            if !(1..=366).contains(&days) {
                return Err(bad("days", "out_of_range", "days must be between 1 and 366"));
            }
            let until = self.state.app.now() + time::Duration::days(i64::from(days));
            let query = care::ListRemindersQuery {
                page: None,
                page_size: args.page_size,
                status: Some("pending".to_owned()),
                pet_id: args.pet_id.as_deref().map(|p| uuid_arg("pet_id", p)).transpose()?,
                from: None,
                to: Some(rfc3339(until)?),
            };
            body_of(care::list_reminders(self.state(), caller.current(), ApiQuery(query)).await).await
        })
        .await
    }

    #[tool(
        description = "Life events, newest first: a pet's (meals, walks, medication, grooming) or, without pet_id, your own.",
        annotations(read_only_hint = true)
    )]
    async fn list_life_events(
        &self,
        Parameters(args): Parameters<ListLifeEventsArgs>,
        context: RequestContext<RoleServer>,
    ) -> CallToolResult {
        self.run(&context, |caller| async move {
            let query = lifelog::ListEventsQuery {
                page: args.page,
                page_size: args.page_size,
                event_type: args.event_type,
                start_time: None,
                end_time: None,
                days: args.days,
            };
            let state = self.state();
            let listed = match args.pet_id.as_deref() {
                Some(pet) => {
                    let id = ApiPath(uuid_arg("pet_id", pet)?);
                    lifelog::list_pet_events(state, caller.current(), id, ApiQuery(query)).await
                }
                None => lifelog::list_events(state, caller.current(), ApiQuery(query)).await,
            };
            body_of(listed).await
        })
        .await
    }

    #[tool(
        description = "Log a life event: a pet's meal, walk, medication or grooming, or (without pet_id) one of your own.",
        annotations(read_only_hint = false, destructive_hint = false, idempotent_hint = false)
    )]
    async fn log_life_event(
        &self,
        Parameters(args): Parameters<LogLifeEventArgs>,
        context: RequestContext<RoleServer>,
    ) -> CallToolResult {
        self.run(&context, |caller| async move {
            let event_time = match args.event_time {
                Some(at) => at,
                None => rfc3339(self.state.app.now())?,
            };
            let event = lifelog::LifeEventIn {
                event_type: Some(args.event_type),
                title: Some(args.title),
                event_time: Some(event_time),
                description: args.description,
                duration_minutes: args.duration_minutes,
                tags: args.tags,
                event_data: args.event_data,
                ..lifelog::LifeEventIn::default()
            };
            let state = self.state();
            match args.pet_id.as_deref() {
                Some(pet) => {
                    let id = ApiPath(uuid_arg("pet_id", pet)?);
                    body_of(lifelog::create_pet_event(state, caller.current(), id, ApiJson(event)).await).await
                }
                None => body_of(lifelog::create_event(state, caller.current(), ApiJson(event)).await).await,
            }
        })
        .await
    }
}
