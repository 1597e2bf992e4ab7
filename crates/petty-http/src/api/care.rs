//! `/api/v1/pets/{id}/records`, `/api/v1/records/{id}`, `/api/v1/pets/{id}/vaccinations`,
//! `/api/v1/pets/{id}/weights`, `/api/v1/reminders`, `/api/v1/calendar/*` and the time zones:
//! a pet's care, the household's reminders and its calendar feed. Every change goes through
//! `petty_app::care` (a vaccination moves its reminder whichever edge wrote it).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use petty_app::calendar::{FeedEvent, FeedStart};
use petty_app::care::{Action, CareError, ReminderOut};
use petty_core::accounts::{Actor, ActorKind, Permission, Role};
use petty_core::care::{RawRecord, Record, SeriesStatus};
use petty_core::ids::PetId;
use petty_core::paging::PageRequest;
use petty_core::pets::{format_date, parse_date};
use petty_core::recurrence::Zone;
use petty_core::reminders::{RawReminder, Reminder, StatusFilter};
use petty_store::{RecordFilter, ReminderFilter};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::api::{Paged, patch_field};
use crate::auth::CurrentActor;
use crate::error::{ApiError, ErrorBody, ErrorCode};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::render::JsonBody;
use crate::state::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_records, create_record))
        .routes(routes!(record_summary))
        .routes(routes!(get_record, update_record, delete_record))
        .routes(routes!(pet_vaccinations))
        .routes(routes!(pet_weights))
        .routes(routes!(list_reminders, create_reminder))
        .routes(routes!(get_reminder, update_reminder, delete_reminder))
        .routes(routes!(complete_reminder))
        .routes(routes!(skip_reminder))
        .routes(routes!(snooze_reminder))
        .routes(routes!(reminder_occurrences))
        .routes(routes!(create_feed, revoke_feed))
        .routes(routes!(feed_ics))
        .routes(routes!(calendar_events))
        .routes(routes!(import_calendar))
        .routes(routes!(set_household_timezone))
        .routes(routes!(set_my_timezone))
}

impl From<CareError> for ApiError {
    fn from(e: CareError) -> Self {
        match e {
            CareError::Invalid(invalid) => invalid.into(),
            CareError::NotFound(what) => ApiError::not_found(what),
            CareError::Plan(e) => e.into(),
            CareError::Store(e) => e.into(),
        }
    }
}

/// A care record as the API shows it.
#[derive(Serialize, ToSchema)]
pub(crate) struct RecordOut {
    pub id: Uuid,
    pub pet_id: Uuid,
    /// vaccination, medication, visit, procedure, surgery, dental, test_result, allergy,
    /// condition, weight or other.
    pub kind: &'static str,
    pub title: String,
    pub description: Option<String>,
    /// The day the care happened (`YYYY-MM-DD`).
    pub date: String,
    pub vet: Option<String>,
    /// In the household's currency, two decimals.
    pub cost: Option<f64>,
    /// Vaccinations: rabies, dhpp, bordetella, leptospirosis, lyme, canine_influenza, fvrcp,
    /// felv or other.
    pub vaccine: Option<&'static str>,
    /// Vaccinations: the day the vet says this dose protects until.
    pub valid_until: Option<String>,
    /// Medications: how much.
    pub dose: Option<String>,
    /// Medications: how often.
    pub schedule: Option<String>,
    /// Weights: kilograms.
    pub weight_kg: Option<f64>,
    pub created_by: Option<Uuid>,
    /// Files attached to the record (upload them with `purpose` `health_record_attachment` and
    /// this record's id); each link is signed and good for an hour.
    pub attachments: Vec<AttachmentOut>,
    #[serde(serialize_with = "crate::rfc3339::serialize")]
    pub created_at: OffsetDateTime,
    #[serde(serialize_with = "crate::rfc3339::serialize")]
    pub updated_at: OffsetDateTime,
}

/// A file attached to a record.
#[derive(Serialize, ToSchema)]
pub(crate) struct AttachmentOut {
    pub id: Uuid,
    pub filename: String,
    pub content_type: &'static str,
    pub size: u64,
    /// A signed link to the file, good for an hour.
    pub url: String,
    /// A signed link to an image's thumbnail; null for a PDF.
    pub thumbnail_url: Option<String>,
}

/// The records' shapes with their attachments (one query for the page).
async fn with_attachments(
    state: &AppState,
    household: petty_core::ids::HouseholdId,
    records: &[Record],
) -> Result<Vec<RecordOut>, ApiError> {
    let ids: Vec<Uuid> = records.iter().map(|r| r.id).collect();
    let files = state.store.files_of_records(household, &ids).await?;
    Ok(records
        .iter()
        .map(|r| {
            let mut out = RecordOut::from(r);
            out.attachments = files
                .iter()
                .filter(|f| f.health_record_id == Some(r.id))
                .map(|f| {
                    let (url, thumbnail_url) = petty_app::files::links(&state.app, f);
                    AttachmentOut {
                        id: f.id.0,
                        filename: f.filename.clone(),
                        content_type: f.content_type.as_str(),
                        size: f.size,
                        url,
                        thumbnail_url,
                    }
                })
                .collect();
            out
        })
        .collect())
}

impl From<&Record> for RecordOut {
    fn from(r: &Record) -> Self {
        let c = &r.content;
        Self {
            id: r.id,
            pet_id: r.pet_id.0,
            kind: c.kind.as_str(),
            title: c.title.clone(),
            description: c.description.clone(),
            date: format_date(c.date),
            vet: c.vet.clone(),
            cost: c.cost_cents.map(|cents| cents as f64 / 100.0),
            vaccine: c.vaccine.map(|v| v.as_str()),
            valid_until: c.valid_until.map(format_date),
            dose: c.dose.clone(),
            schedule: c.schedule.clone(),
            weight_kg: c.weight_kg,
            created_by: r.created_by.map(|u| u.0),
            attachments: Vec::new(),
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// A new care record.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RecordIn {
    /// vaccination, medication, visit, procedure, surgery, dental, test_result, allergy,
    /// condition, weight or other.
    pub kind: String,
    /// 1–200 characters (a weight's defaults to "Weight").
    pub title: Option<String>,
    /// Up to 10,000 characters.
    pub description: Option<String>,
    /// `YYYY-MM-DD`, at most tomorrow.
    pub date: String,
    /// Up to 200 characters.
    pub vet: Option<String>,
    /// 0 to 99,999,999.99.
    pub cost: Option<f64>,
    /// Vaccinations only; recognised from the title when left out.
    pub vaccine: Option<String>,
    /// Vaccinations only: `YYYY-MM-DD`, not before `date`.
    pub valid_until: Option<String>,
    /// Up to 200 characters.
    pub dose: Option<String>,
    /// Up to 200 characters.
    pub schedule: Option<String>,
    /// Weights only (and required for them): more than 0, at most 1500.
    pub weight_kg: Option<f64>,
}

impl From<RecordIn> for RawRecord {
    fn from(r: RecordIn) -> Self {
        RawRecord {
            kind: r.kind,
            title: r.title,
            description: r.description,
            date: r.date,
            vet: r.vet,
            cost: r.cost,
            vaccine: r.vaccine,
            valid_until: r.valid_until,
            dose: r.dose,
            schedule: r.schedule,
            weight_kg: r.weight_kg,
        }
    }
}

/// Changes to a record: a field left out stays; `null` clears it.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RecordPatch {
    pub kind: Option<String>,
    pub title: Option<String>,
    pub date: Option<String>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>)]
    pub vet: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<f64>)]
    pub cost: Option<Option<f64>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>)]
    pub vaccine: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>)]
    pub valid_until: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>)]
    pub dose: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>)]
    pub schedule: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<f64>)]
    pub weight_kg: Option<Option<f64>>,
}

impl RecordPatch {
    fn apply(self, raw: &mut RawRecord) {
        if let Some(v) = self.kind {
            raw.kind = v;
        }
        if let Some(v) = self.title {
            raw.title = Some(v);
        }
        if let Some(v) = self.date {
            raw.date = v;
        }
        macro_rules! nullable {
            ($($f:ident),*) => { $(if let Some(v) = self.$f { raw.$f = v; })* };
        }
        nullable!(description, vet, cost, vaccine, valid_until, dose, schedule, weight_kg);
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListRecordsQuery {
    /// 1-based page number (default 1).
    pub page: Option<u32>,
    /// Items per page, 1–500 (default 50).
    pub page_size: Option<u32>,
    /// Only records of this kind.
    pub kind: Option<String>,
    /// Only records dated on or after this day (`YYYY-MM-DD`).
    pub from: Option<String>,
    /// Only records dated on or before this day (`YYYY-MM-DD`).
    pub to: Option<String>,
}

impl ListRecordsQuery {
    fn filter(&self) -> Result<RecordFilter, ApiError> {
        let text = |v: &Option<String>| v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
        let kind = text(&self.kind)
            .map(|k| {
                k.parse().map_err(|_| {
                    petty_core::Invalid::one("kind", "one_of", petty_core::care::RecordKind::one_of_message("kind"))
                })
            })
            .transpose()?;
        let from = text(&self.from).map(|d| parse_date("from", &d)).transpose()?;
        let to = text(&self.to).map(|d| parse_date("to", &d)).transpose()?;
        Ok(RecordFilter { kind, from, to, ..RecordFilter::default() })
    }
}

/// A pet's records, newest first (by the day the care happened).
#[utoipa::path(get, path = "/api/v1/pets/{id}/records", tag = "care", params(("id" = Uuid, Path, description = "The pet's id"), ListRecordsQuery),
    responses((status = 200, body = Paged<RecordOut>)),
    security(("bearer" = [])))]
pub(crate) async fn list_records(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<ListRecordsQuery>,
) -> Result<JsonBody, ApiError> {
    let actor = actor.require_pet(&state, PetId(id)).await?;
    let page = PageRequest::parse(query.page, query.page_size)?;
    let filter = query.filter()?;
    // Read before the rows: a body kept under it is reused only while nothing was written since.
    let generation = state.store.write_generation();
    let key = (actor.household_id, PetId(id), filter, page);
    if let Some(body) = generation.and_then(|g| state.record_pages.get(&key, g)) {
        return Ok(JsonBody(body));
    }
    let filter = &key.2;
    let records = state.store.list_records(actor.household_id, PetId(id), filter, page).await?;
    if records.total == 0 {
        // An empty list of a pet that is not the household's is a 404, not an empty page.
        state.store.get_pet(actor.household_id, PetId(id)).await.map_err(|_| ApiError::not_found("pet"))?;
    }
    let has_next = records.has_next();
    let paged = Paged {
        items: with_attachments(&state, actor.household_id, &records.items).await?,
        total: records.total,
        page: records.request.page,
        page_size: records.request.page_size,
        has_next,
    };
    let body = axum::body::Bytes::from(serde_json::to_vec(&paged).map_err(ApiError::internal)?);
    if let Some(g) = generation {
        state.record_pages.put(key, g, body.clone());
    }
    Ok(JsonBody(body))
}

/// Totals over every record a filter matches.
#[derive(Serialize, ToSchema)]
pub(crate) struct RecordSummaryOut {
    pub total: u64,
    /// Records per kind.
    pub by_kind: std::collections::BTreeMap<&'static str, u64>,
    pub total_cost: f64,
}

/// Counts and costs of a pet's records (every page, the same filters as the list).
#[utoipa::path(get, path = "/api/v1/pets/{id}/records/summary", tag = "care", params(("id" = Uuid, Path, description = "The pet's id"), ListRecordsQuery),
    responses((status = 200, body = RecordSummaryOut)),
    security(("bearer" = [])))]
async fn record_summary(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<ListRecordsQuery>,
) -> Result<Json<RecordSummaryOut>, ApiError> {
    let actor = actor.require_pet(&state, PetId(id)).await?;
    // The summary covers every page, but the query is the list's: its paging is checked alike.
    PageRequest::parse(query.page, query.page_size)?;
    state.store.get_pet(actor.household_id, PetId(id)).await.map_err(|_| ApiError::not_found("pet"))?;
    let s = state.store.record_summary(actor.household_id, PetId(id), &query.filter()?).await?;
    Ok(Json(RecordSummaryOut {
        total: s.total,
        by_kind: s.by_kind.into_iter().map(|(k, n)| (k.as_str(), n)).collect(),
        total_cost: s.total_cost_cents as f64 / 100.0,
    }))
}

/// Add a record to a pet. A vaccination moves its series' reminder; a weight becomes the
/// pet's weight when it is the latest.
#[utoipa::path(post, path = "/api/v1/pets/{id}/records", tag = "care", params(("id" = Uuid, Path, description = "The pet's id")),
    request_body = RecordIn,
    responses((status = 201, body = RecordOut)),
    security(("bearer" = [])))]
async fn create_record(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<RecordIn>,
) -> Result<impl IntoResponse, ApiError> {
    let actor = actor.require(Permission::ManagePets)?;
    let record = petty_app::care::create_record(&state.app, &actor, PetId(id), &body.into()).await?;
    let location = format!("/api/v1/records/{}", record.id);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(RecordOut::from(&record))))
}

/// One record.
#[utoipa::path(get, path = "/api/v1/records/{id}", tag = "care", params(("id" = Uuid, Path, description = "The record's id")),
    responses((status = 200, body = RecordOut)),
    security(("bearer" = [])))]
async fn get_record(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<RecordOut>, ApiError> {
    let actor = actor.require(Permission::ReadCare)?;
    let record =
        state.store.get_record(actor.household_id, id).await.map_err(|_| ApiError::not_found("health record"))?;
    if !petty_app::care::sees_pet(&state.app, &actor, record.pet_id).await? {
        return Err(ApiError::not_found("health record"));
    }
    Ok(Json(with_attachments(&state, actor.household_id, std::slice::from_ref(&record)).await?.remove(0)))
}

/// Change some of a record's fields.
#[utoipa::path(patch, path = "/api/v1/records/{id}", tag = "care", params(("id" = Uuid, Path, description = "The record's id")),
    request_body = RecordPatch,
    responses((status = 200, body = RecordOut)),
    security(("bearer" = [])))]
async fn update_record(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(patch): ApiJson<RecordPatch>,
) -> Result<Json<RecordOut>, ApiError> {
    let actor = actor.require(Permission::ManagePets)?;
    let record = petty_app::care::update_record(&state.app, &actor, id, |raw| patch.apply(raw)).await?;
    Ok(Json(with_attachments(&state, actor.household_id, std::slice::from_ref(&record)).await?.remove(0)))
}

/// Remove a record.
#[utoipa::path(delete, path = "/api/v1/records/{id}", tag = "care", params(("id" = Uuid, Path, description = "The record's id")),
    responses((status = 204)),
    security(("bearer" = [])))]
async fn delete_record(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    let actor = actor.require(Permission::ManagePets)?;
    petty_app::care::delete_record(&state.app, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// One vaccine series of a pet.
#[derive(Serialize, ToSchema)]
pub(crate) struct SeriesOut {
    /// rabies, dhpp, ..., or other.
    pub vaccine: &'static str,
    /// Rabies, DHPP, ...; the title for other vaccines.
    pub label: String,
    /// The latest dose's day.
    pub last_dose: String,
    /// The day the next dose is due.
    pub due_date: String,
    /// up_to_date, due (within 30 days) or overdue.
    pub status: &'static str,
    /// The record of the latest dose.
    pub record_id: Uuid,
}

impl From<&SeriesStatus> for SeriesOut {
    fn from(s: &SeriesStatus) -> Self {
        Self {
            vaccine: s.vaccine.as_str(),
            label: s.label.clone(),
            last_dose: format_date(s.last_dose),
            due_date: format_date(s.due),
            status: s.status.as_str(),
            record_id: s.record_id,
        }
    }
}

/// A pet's vaccine status.
#[derive(Serialize, ToSchema)]
pub(crate) struct VaccinationsOut {
    /// The worst of the series: overdue, due, up_to_date, or none without any vaccination.
    pub status: &'static str,
    pub vaccinations: Vec<SeriesOut>,
}

/// A pet's vaccine series: when each is due, as of the household's today.
#[utoipa::path(get, path = "/api/v1/pets/{id}/vaccinations", tag = "care", params(("id" = Uuid, Path, description = "The pet's id")),
    responses((status = 200, body = VaccinationsOut)),
    security(("bearer" = [])))]
async fn pet_vaccinations(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<VaccinationsOut>, ApiError> {
    let actor = actor.require_pet(&state, PetId(id)).await?;
    let pet = state.store.get_pet(actor.household_id, PetId(id)).await.map_err(|_| ApiError::not_found("pet"))?;
    let (status, series) = petty_app::care::vaccinations(&state.app, actor.household_id, &pet).await?;
    Ok(Json(VaccinationsOut { status: status.as_str(), vaccinations: series.iter().map(SeriesOut::from).collect() }))
}

/// One weigh-in.
#[derive(Serialize, ToSchema)]
pub(crate) struct WeightOut {
    pub date: String,
    pub weight_kg: f64,
    pub record_id: Uuid,
}

/// The pet's weight log, oldest first.
#[derive(Serialize, ToSchema)]
pub(crate) struct WeightsOut {
    pub items: Vec<WeightOut>,
    /// Kilograms per 30 days over the last 90 days of weigh-ins (null with fewer than two).
    pub trend_kg_per_30d: Option<f64>,
}

/// A pet's weight log (its weight records) and the trend.
#[utoipa::path(get, path = "/api/v1/pets/{id}/weights", tag = "care", params(("id" = Uuid, Path, description = "The pet's id")),
    responses((status = 200, body = WeightsOut)),
    security(("bearer" = [])))]
async fn pet_weights(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<WeightsOut>, ApiError> {
    let actor = actor.require_pet(&state, PetId(id)).await?;
    state.store.get_pet(actor.household_id, PetId(id)).await.map_err(|_| ApiError::not_found("pet"))?;
    let (log, trend) = petty_app::care::weight_log(&state.app, actor.household_id, PetId(id)).await?;
    let items = log
        .into_iter()
        .map(|w| WeightOut { date: format_date(w.date), weight_kg: w.weight_kg, record_id: w.record_id })
        .collect();
    Ok(Json(WeightsOut { items, trend_kg_per_30d: trend }))
}

/// 403 for a vet: reminders and the calendar are the household's own business.
fn require_reminders(actor: &CurrentActor, permission: Permission) -> Result<Actor, ApiError> {
    let actor = actor.require(permission)?;
    if let ActorKind::User { role: Role::Vet, .. } = actor.kind {
        return Err(ApiError::forbidden("a vet sees care records, not the household's reminders"));
    }
    Ok(actor)
}

/// A new reminder.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReminderIn {
    /// A pet of the household, or none.
    pub pet_id: Option<Uuid>,
    /// 1–200 characters.
    pub title: String,
    /// Up to 2000 characters.
    pub description: Option<String>,
    /// The first occurrence: `YYYY-MM-DDTHH:MM[:SS]` in `timezone`, or an RFC 3339 instant.
    pub at: String,
    /// An IANA time zone (default: yours).
    pub timezone: Option<String>,
    /// daily, weekly, monthly, yearly, or null for a one-off.
    pub repeat: Option<String>,
    /// No occurrence after this (local or RFC 3339).
    pub ends_at: Option<String>,
    /// Any of push, email, sms (default push).
    pub methods: Option<Vec<String>>,
}

impl From<ReminderIn> for RawReminder {
    fn from(r: ReminderIn) -> Self {
        RawReminder {
            pet_id: r.pet_id.map(PetId),
            title: r.title,
            description: r.description,
            at: r.at,
            timezone: r.timezone,
            repeat: r.repeat,
            ends_at: r.ends_at,
            methods: r.methods,
        }
    }
}

/// Changes to a reminder: a field left out stays; `null` clears it. A new time, zone, repeat
/// or end starts the schedule again from its new first occurrence.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReminderPatch {
    pub title: Option<String>,
    pub at: Option<String>,
    pub timezone: Option<String>,
    pub methods: Option<Vec<String>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<Uuid>)]
    pub pet_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>)]
    pub repeat: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>)]
    pub ends_at: Option<Option<String>>,
}

impl ReminderPatch {
    fn apply(self, raw: &mut RawReminder) {
        if let Some(v) = self.title {
            raw.title = v;
        }
        if let Some(v) = self.at {
            raw.at = v;
        }
        if let Some(v) = self.timezone {
            raw.timezone = Some(v);
        }
        if let Some(v) = self.methods {
            raw.methods = Some(v);
        }
        if let Some(v) = self.pet_id {
            raw.pet_id = v.map(PetId);
        }
        macro_rules! nullable {
            ($($f:ident),*) => { $(if let Some(v) = self.$f { raw.$f = v; })* };
        }
        nullable!(description, repeat, ends_at);
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListRemindersQuery {
    /// 1-based page number (default 1).
    pub page: Option<u32>,
    /// Items per page, 1–500 (default 50).
    pub page_size: Option<u32>,
    /// all (default), pending, overdue or completed.
    pub status: Option<String>,
    /// Only this pet's reminders.
    pub pet_id: Option<Uuid>,
    /// Due at or after this instant (RFC 3339).
    pub from: Option<String>,
    /// Due before this instant (RFC 3339).
    pub to: Option<String>,
}

fn instant(field: &str, raw: Option<&str>) -> Result<Option<OffsetDateTime>, ApiError> {
    let Some(raw) = raw.map(str::trim).filter(|s| !s.is_empty()) else { return Ok(None) };
    OffsetDateTime::parse(raw, &time::format_description::well_known::Rfc3339)
        .map(Some)
        .map_err(|_| petty_core::Invalid::one(field, "format", format!("{field} must be an RFC 3339 date-time")).into())
}

/// Shapes reminders with their pets' names.
pub(crate) async fn reminders_out(state: &AppState, actor: &Actor, reminders: &[Reminder]) -> Vec<ReminderOut> {
    let now = state.app.now();
    let mut names = std::collections::HashMap::new();
    for r in reminders {
        if let Some(pet_id) = r.content.pet_id
            && !names.contains_key(&pet_id)
            && let Ok(pet) = state.store.get_pet(actor.household_id, pet_id).await
        {
            names.insert(pet_id, pet.profile.name.clone());
        }
    }
    reminders
        .iter()
        .map(|r| {
            let name = r.content.pet_id.and_then(|p| names.get(&p)).map(String::as_str);
            let due = petty_app::rfc3339::from_ms(petty_store::to_ms(r.due_at));
            ReminderOut::at(r, name, due, now)
        })
        .collect()
}

/// The household's reminders, by due time.
#[utoipa::path(get, path = "/api/v1/reminders", tag = "care", params(ListRemindersQuery),
    responses((status = 200, body = Paged<ReminderOut>)),
    security(("bearer" = [])))]
pub(crate) async fn list_reminders(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiQuery(query): ApiQuery<ListRemindersQuery>,
) -> Result<Json<Paged<ReminderOut>>, ApiError> {
    let actor = require_reminders(&actor, Permission::Read)?;
    let page = PageRequest::parse(query.page, query.page_size)?;
    let status: StatusFilter = query.status.as_deref().unwrap_or("").parse()?;
    let filter = ReminderFilter {
        status,
        pet_id: query.pet_id.map(PetId),
        from: instant("from", query.from.as_deref())?,
        to: instant("to", query.to.as_deref())?,
    };
    let found = state.store.list_reminders(actor.household_id, &filter, state.app.now(), page).await?;
    let has_next = found.has_next();
    Ok(Json(Paged {
        items: reminders_out(&state, &actor, &found.items).await,
        total: found.total,
        page: found.request.page,
        page_size: found.request.page_size,
        has_next,
    }))
}

async fn one_reminder_out(state: &AppState, actor: &Actor, r: &Reminder) -> ReminderOut {
    let name = match r.content.pet_id {
        Some(pet_id) => state.store.get_pet(actor.household_id, pet_id).await.ok().map(|p| p.profile.name.clone()),
        None => None,
    };
    ReminderOut::at(r, name.as_deref(), petty_app::rfc3339::from_ms(petty_store::to_ms(r.due_at)), state.app.now())
}

/// Write a reminder. Its occurrences are computed in its time zone from the first one, so
/// they keep their wall-clock time.
#[utoipa::path(post, path = "/api/v1/reminders", tag = "care", request_body = ReminderIn,
    responses((status = 201, body = ReminderOut)),
    security(("bearer" = [])))]
async fn create_reminder(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiJson(body): ApiJson<ReminderIn>,
) -> Result<impl IntoResponse, ApiError> {
    let actor = require_reminders(&actor, Permission::ManagePets)?;
    let reminder = petty_app::care::create_reminder(&state.app, &actor, &body.into()).await.map_err(pet_field)?;
    let location = format!("/api/v1/reminders/{}", reminder.id);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(one_reminder_out(&state, &actor, &reminder).await)))
}

/// A reminder naming a pet that is not the household's: the field is wrong.
fn pet_field(e: CareError) -> ApiError {
    match e {
        CareError::NotFound("pet") => petty_core::Invalid(vec![petty_app::care::unknown_pet("pet_id")]).into(),
        other => other.into(),
    }
}

/// One reminder.
#[utoipa::path(get, path = "/api/v1/reminders/{id}", tag = "care", params(("id" = Uuid, Path, description = "The reminder's id")),
    responses((status = 200, body = ReminderOut)),
    security(("bearer" = [])))]
async fn get_reminder(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<ReminderOut>, ApiError> {
    let actor = require_reminders(&actor, Permission::Read)?;
    let r = state.store.get_reminder(actor.household_id, id).await.map_err(|_| ApiError::not_found("reminder"))?;
    Ok(Json(one_reminder_out(&state, &actor, &r).await))
}

/// Change a reminder.
#[utoipa::path(patch, path = "/api/v1/reminders/{id}", tag = "care", params(("id" = Uuid, Path, description = "The reminder's id")),
    request_body = ReminderPatch,
    responses((status = 200, body = ReminderOut)),
    security(("bearer" = [])))]
async fn update_reminder(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(patch): ApiJson<ReminderPatch>,
) -> Result<Json<ReminderOut>, ApiError> {
    let actor = require_reminders(&actor, Permission::ManagePets)?;
    let r = petty_app::care::update_reminder(&state.app, &actor, id, |raw| patch.apply(raw)).await.map_err(
        |e| match e {
            CareError::NotFound("pet") => pet_field(e),
            other => other.into(),
        },
    )?;
    Ok(Json(one_reminder_out(&state, &actor, &r).await))
}

/// Remove a reminder.
#[utoipa::path(delete, path = "/api/v1/reminders/{id}", tag = "care", params(("id" = Uuid, Path, description = "The reminder's id")),
    responses((status = 204)),
    security(("bearer" = [])))]
async fn delete_reminder(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    let actor = require_reminders(&actor, Permission::ManagePets)?;
    petty_app::care::delete_reminder(&state.app, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn act(state: &AppState, actor: &CurrentActor, id: Uuid, action: Action) -> Result<Json<ReminderOut>, ApiError> {
    let actor = require_reminders(actor, Permission::WriteCare)?;
    let r = petty_app::care::act_on_reminder(&state.app, &actor, id, action).await?;
    Ok(Json(one_reminder_out(state, &actor, &r).await))
}

/// Done: a repeating reminder moves to its next occurrence after now (missed ones are
/// skipped, not stacked); a one-off is completed.
#[utoipa::path(post, path = "/api/v1/reminders/{id}/complete", tag = "care", params(("id" = Uuid, Path, description = "The reminder's id")),
    responses((status = 200, body = ReminderOut)),
    security(("bearer" = [])))]
async fn complete_reminder(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<ReminderOut>, ApiError> {
    act(&state, &actor, id, Action::Complete).await
}

/// Not done, but this occurrence is over: the next one waits (a one-off ends).
#[utoipa::path(post, path = "/api/v1/reminders/{id}/skip", tag = "care", params(("id" = Uuid, Path, description = "The reminder's id")),
    responses((status = 200, body = ReminderOut)),
    security(("bearer" = [])))]
async fn skip_reminder(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<ReminderOut>, ApiError> {
    act(&state, &actor, id, Action::Skip).await
}

/// When to be told again.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SnoozeIn {
    /// An RFC 3339 instant, in the future and at most 30 days away.
    pub until: Option<String>,
    /// Or a number of minutes from now, 1–43200.
    pub minutes: Option<u32>,
}

/// Tell again later.
#[utoipa::path(post, path = "/api/v1/reminders/{id}/snooze", tag = "care", params(("id" = Uuid, Path, description = "The reminder's id")),
    request_body = SnoozeIn,
    responses((status = 200, body = ReminderOut)),
    security(("bearer" = [])))]
async fn snooze_reminder(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<SnoozeIn>,
) -> Result<Json<ReminderOut>, ApiError> {
    let until = match (instant("until", body.until.as_deref())?, body.minutes) {
        (Some(t), None) => t,
        (None, Some(m)) if (1..=43_200).contains(&m) => state.app.now() + time::Duration::minutes(i64::from(m)),
        (None, Some(_)) => {
            return Err(
                petty_core::Invalid::one("minutes", "out_of_range", "minutes must be between 1 and 43200").into()
            );
        }
        _ => {
            return Err(petty_core::Invalid::one("until", "required", "give either until or minutes").into());
        }
    };
    act(&state, &actor, id, Action::Snooze { until }).await
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct OccurrencesQuery {
    /// From this instant (RFC 3339; default now).
    pub from: Option<String>,
    /// How many, 1–100 (default 10).
    pub limit: Option<u32>,
}

/// When a reminder comes round.
#[derive(Serialize, ToSchema)]
pub(crate) struct OccurrenceOut {
    /// RFC 3339, UTC.
    pub at: String,
    /// The local wall time in the reminder's time zone.
    pub local: String,
}

/// A reminder's occurrences from an instant on (its schedule, whatever was done).
#[utoipa::path(get, path = "/api/v1/reminders/{id}/occurrences", tag = "care", params(("id" = Uuid, Path, description = "The reminder's id"), OccurrencesQuery),
    responses((status = 200, body = Paged<OccurrenceOut>)),
    security(("bearer" = [])))]
async fn reminder_occurrences(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<OccurrencesQuery>,
) -> Result<Json<Paged<OccurrenceOut>>, ApiError> {
    let actor = require_reminders(&actor, Permission::Read)?;
    let limit = query.limit.unwrap_or(10);
    if !(1..=100).contains(&limit) {
        return Err(petty_core::Invalid::one("limit", "out_of_range", "limit must be between 1 and 100").into());
    }
    let from = instant("from", query.from.as_deref())?.unwrap_or_else(|| state.app.now());
    let r = state.store.get_reminder(actor.household_id, id).await.map_err(|_| ApiError::not_found("reminder"))?;
    let schedule = &r.content.schedule;
    let items = schedule
        .forward_from(from)
        .take(limit as usize)
        .map(|t| OccurrenceOut {
            at: petty_app::rfc3339::from_ms(petty_store::to_ms(t)).unwrap_or_default(),
            local: schedule.zone.local_at(t).to_string(),
        })
        .collect();
    Ok(Json(Paged::all(items)))
}

/// A calendar feed's address.
#[derive(Serialize, ToSchema)]
pub(crate) struct FeedOut {
    /// The address calendars subscribe to (it holds the token: keep it private).
    pub feed_url: String,
    pub token: String,
}

/// Make the household's calendar feed (a new call replaces the token: the old address stops
/// working).
#[utoipa::path(post, path = "/api/v1/calendar/feed", tag = "care",
    responses((status = 201, body = FeedOut)),
    security(("bearer" = [])))]
async fn create_feed(State(state): State<AppState>, actor: CurrentActor) -> Result<impl IntoResponse, ApiError> {
    let actor = require_reminders(&actor, Permission::ManagePets)?;
    let token = petty_app::calendar::new_feed_token(&state.app, &actor).await?;
    let feed_url =
        format!("{}/api/v1/calendar/feed.ics?token={token}", state.app.notifier.public_url().trim_end_matches('/'));
    Ok((StatusCode::CREATED, Json(FeedOut { feed_url, token })))
}

/// End the household's calendar feed.
#[utoipa::path(delete, path = "/api/v1/calendar/feed", tag = "care",
    responses((status = 204)),
    security(("bearer" = [])))]
async fn revoke_feed(State(state): State<AppState>, actor: CurrentActor) -> Result<StatusCode, ApiError> {
    let actor = require_reminders(&actor, Permission::ManagePets)?;
    if state.store.revoke_calendar_feed(actor.household_id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("calendar feed"))
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct FeedQuery {
    /// The feed's token.
    pub token: String,
}

/// The household calendar as iCalendar, for calendars to subscribe to: needs only the token
/// (a revoked one is 404). `ETag`, and 304 on `If-None-Match`.
#[utoipa::path(get, path = "/api/v1/calendar/feed.ics", tag = "care", params(FeedQuery),
    responses((status = 200, content_type = "text/calendar", body = String), (status = 304),
        (status = 404, description = "No current feed has this token (it was replaced or ended)", body = ErrorBody)))]
async fn feed_ics(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<FeedQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Some((household, name)) = petty_app::calendar::feed_household(&state.app, &query.token).await? else {
        return Err(ApiError::not_found("calendar feed"));
    };
    let events = petty_app::calendar::feed_events(&state.app, household, state.app.now()).await?;
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

/// One item of the calendar.
#[derive(Serialize, ToSchema)]
pub(crate) struct CalendarEventOut {
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    /// RFC 3339 for reminders; `YYYY-MM-DD` for all-day vaccine due dates.
    pub start: String,
    pub all_day: bool,
    pub pet_id: Option<Uuid>,
    pub reminder_id: Option<Uuid>,
    /// REMINDER or VACCINATION.
    pub category: &'static str,
}

impl From<&FeedEvent> for CalendarEventOut {
    fn from(e: &FeedEvent) -> Self {
        let (start, all_day) = match e.start {
            FeedStart::At(t) => (petty_app::rfc3339::from_ms(petty_store::to_ms(t)).unwrap_or_default(), false),
            FeedStart::AllDay(d) => (format_date(d), true),
        };
        Self {
            id: e.uid.clone(),
            title: e.summary.clone(),
            description: e.description.clone(),
            start,
            all_day,
            pet_id: e.pet_id.map(|p| p.0),
            reminder_id: e.reminder_id,
            category: e.category,
        }
    }
}

/// The calendar's items as JSON: what the feed holds.
#[utoipa::path(get, path = "/api/v1/calendar/events", tag = "care",
    responses((status = 200, body = Paged<CalendarEventOut>)),
    security(("bearer" = [])))]
async fn calendar_events(
    State(state): State<AppState>,
    actor: CurrentActor,
) -> Result<Json<Paged<CalendarEventOut>>, ApiError> {
    let actor = require_reminders(&actor, Permission::Read)?;
    let events = petty_app::calendar::feed_events(&state.app, actor.household_id, state.app.now()).await?;
    Ok(Json(Paged::all(events.iter().map(CalendarEventOut::from).collect())))
}

/// What an import did.
#[derive(Serialize, ToSchema)]
pub(crate) struct CalendarImportOut {
    pub imported: usize,
    pub updated: usize,
    pub skipped: Vec<SkippedOut>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct SkippedOut {
    pub uid: String,
    pub reason: String,
}

/// Import a calendar file (`text/calendar`): each event becomes a reminder (a daily, weekly,
/// monthly or yearly RRULE becomes its repeat; other rules are skipped with the reason);
/// importing the same file again updates them, by UID.
#[utoipa::path(post, path = "/api/v1/calendar/import", tag = "care",
    request_body(content = String, content_type = "text/calendar"),
    responses((status = 200, body = CalendarImportOut)),
    security(("bearer" = [])))]
async fn import_calendar(
    State(state): State<AppState>,
    actor: CurrentActor,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<CalendarImportOut>, ApiError> {
    let actor = require_reminders(&actor, Permission::ManagePets)?;
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !content_type.trim_start().to_ascii_lowercase().starts_with("text/calendar") {
        return Err(ApiError::new(ErrorCode::UnsupportedMediaType, "the body must be text/calendar"));
    }
    let text = std::str::from_utf8(&body)
        .map_err(|_| petty_core::Invalid::one("body", "encoding", "the calendar file must be UTF-8"))?;
    let outcome = petty_app::calendar::import_ics(&state.app, &actor, text).await?;
    Ok(Json(CalendarImportOut {
        imported: outcome.imported,
        updated: outcome.updated,
        skipped: outcome.skipped.into_iter().map(|(uid, reason)| SkippedOut { uid, reason }).collect(),
    }))
}

/// A time zone.
#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TimezoneIo {
    /// An IANA time zone such as Europe/Paris.
    pub timezone: String,
}

/// Set the household's time zone: vaccine due dates count its days, and Petty's own reminders
/// come at 09:00 in it.
#[utoipa::path(put, path = "/api/v1/household/timezone", tag = "household", request_body = TimezoneIo,
    responses((status = 200, body = TimezoneIo)),
    security(("bearer" = [])))]
async fn set_household_timezone(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiJson(body): ApiJson<TimezoneIo>,
) -> Result<Json<TimezoneIo>, ApiError> {
    let actor = actor.require(Permission::ManageHousehold)?;
    let zone = Zone::parse("timezone", &body.timezone)?;
    state.store.set_household_zone(actor.household_id, &zone).await?;
    Ok(Json(TimezoneIo { timezone: zone.name().to_owned() }))
}

/// Set your own time zone: your new reminders are kept in it unless they name another.
#[utoipa::path(put, path = "/api/v1/me/timezone", tag = "auth", request_body = TimezoneIo,
    responses((status = 200, body = TimezoneIo)),
    security(("bearer" = [])))]
async fn set_my_timezone(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiJson(body): ApiJson<TimezoneIo>,
) -> Result<Json<TimezoneIo>, ApiError> {
    // Every role may set its own (every role holds `ReadCare`).
    let actor = actor.require(Permission::ReadCare)?;
    let Some(user) = actor.user_id() else {
        return Err(ApiError::forbidden("an API key has no time zone of its own; set the household's"));
    };
    let zone = Zone::parse("timezone", &body.timezone)?;
    state.store.set_user_zone(user, &zone).await?;
    Ok(Json(TimezoneIo { timezone: zone.name().to_owned() }))
}
