//! Getting readings out and back in: `GET /api/v1/devices/{id}/export` streams CSV or JSON
//! lines a page at a time (memory stays flat however long the range), and
//! `POST /api/v1/import` takes the same formats back. Import is idempotent: a reading already
//! stored (same device, time and sequence number) is counted as a duplicate, so a file can be
//! sent again after an interruption.

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use futures_util::stream;
use petty_core::accounts::Permission;
use petty_core::ids::{DeviceId, HouseholdId};
use petty_core::readings::{METRIC_COUNT, Metric, RawLocation, RawReading, RawTime, Reading};
use petty_store::{IngestOutcome, ReadingCursor, Store, StoredReading};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::api::devices::{ReadingOut, query_time};
use crate::api::ingest::{Caller, ImportLine, sender};
use crate::auth::CurrentActor;
use crate::error::{ApiError, ErrorBody, ErrorCode};
use crate::extract::{ApiPath, ApiQuery};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    let import =
        OpenApiRouter::new().routes(routes!(import)).layer(axum::extract::DefaultBodyLimit::max(MAX_IMPORT_BYTES));
    OpenApiRouter::new().routes(routes!(export)).merge(import)
}

/// The largest import file one request may carry; larger files go in several requests.
pub const MAX_IMPORT_BYTES: usize = 64 * 1024 * 1024;
/// Readings fetched per page while exporting, and stored per transaction while importing.
const CHUNK: usize = 2_000;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// csv (default) or jsonl.
    pub format: Option<String>,
    /// Start (RFC 3339 or epoch milliseconds), inclusive; default: the beginning.
    pub from: Option<String>,
    /// End, exclusive; default: now plus 5 minutes.
    pub to: Option<String>,
}

#[derive(Clone, Copy, PartialEq)]
enum Format {
    Csv,
    JsonLines,
}

/// The CSV columns, in order: the reading's times, its typed metrics, its location and its
/// further values as a JSON object.
fn csv_header() -> Vec<&'static str> {
    let mut columns = vec!["ts", "seq", "received_at"];
    columns.extend(Metric::ALL.iter().map(|m| m.name()));
    columns.extend(["lat", "lon", "accuracy_m", "extra"]);
    columns
}

fn rfc3339(t: OffsetDateTime) -> String {
    crate::rfc3339::format(t).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default()
}

fn csv_chunk(rows: &[StoredReading], header: bool) -> Result<Bytes, ApiError> {
    let mut out = csv::Writer::from_writer(Vec::with_capacity(rows.len() * 96 + 256));
    if header {
        out.write_record(csv_header()).map_err(ApiError::internal)?;
    }
    let number = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    for row in rows {
        let r = &row.reading;
        let mut record =
            vec![rfc3339(r.ts), r.seq.map(|s| s.to_string()).unwrap_or_default(), rfc3339(row.received_at)];
        record.extend(Metric::ALL.iter().map(|m| number(r.value(*m))));
        record.push(number(r.location.map(|l| l.lat)));
        record.push(number(r.location.map(|l| l.lon)));
        record.push(number(r.location.and_then(|l| l.accuracy_m)));
        record.push(if r.extra.is_empty() {
            String::new()
        } else {
            serde_json::to_string(&r.extra).map_err(ApiError::internal)?
        });
        out.write_record(&record).map_err(ApiError::internal)?;
    }
    out.into_inner().map(Bytes::from).map_err(ApiError::internal)
}

fn jsonl_chunk(rows: Vec<StoredReading>) -> Result<Bytes, ApiError> {
    let mut out = Vec::with_capacity(rows.len() * 160);
    for row in rows {
        serde_json::to_writer(&mut out, &ReadingOut::from(row)).map_err(ApiError::internal)?;
        out.push(b'\n');
    }
    Ok(Bytes::from(out))
}

/// Where an export stream is: the next page starts after `cursor`.
struct Export {
    store: Store,
    household_id: HouseholdId,
    device_id: DeviceId,
    from: OffsetDateTime,
    to: OffsetDateTime,
    format: Format,
    cursor: Option<ReadingCursor>,
    first: bool,
    done: bool,
}

impl Export {
    async fn next_chunk(mut self) -> Option<(Result<Bytes, std::io::Error>, Self)> {
        if self.done {
            return None;
        }
        let page =
            self.store.readings(self.household_id, self.device_id, self.from, self.to, self.cursor, CHUNK as u32).await;
        let (rows, next) = match page {
            Ok(page) => page,
            Err(e) => {
                // The status line is gone already; cutting the stream short tells the client.
                tracing::error!(error = %e, "export stopped");
                return Some((
                    Err(std::io::Error::other("the export could not be completed")),
                    Self { done: true, ..self },
                ));
            }
        };
        let header = self.first && self.format == Format::Csv;
        let chunk = match self.format {
            Format::Csv => csv_chunk(&rows, header),
            Format::JsonLines => jsonl_chunk(rows),
        };
        self.first = false;
        self.cursor = next;
        self.done = next.is_none();
        Some((chunk.map_err(|_| std::io::Error::other("the export could not be completed")), self))
    }
}

/// Every reading of the device in a time range, oldest first, as CSV (with a header row) or
/// JSON lines, streamed.
#[utoipa::path(get, path = "/api/v1/devices/{id}/export", tag = "devices",
    params(("id" = Uuid, Path, description = "The device's id"), ExportQuery),
    responses((status = 200, description = "text/csv or application/x-ndjson"), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn export(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<ExportQuery>,
) -> Result<Response, ApiError> {
    let actor = actor.require(Permission::Read)?;
    let format = match query.format.as_deref() {
        None | Some("csv") => Format::Csv,
        Some("jsonl") => Format::JsonLines,
        Some(_) => {
            return Err(ApiError::field(
                ErrorCode::ValidationFailed,
                "format",
                "one_of",
                "format must be csv or jsonl",
            ));
        }
    };
    let now = OffsetDateTime::now_utc();
    let from =
        query.from.as_deref().map(|v| query_time("from", v)).transpose()?.unwrap_or(petty_core::readings::EARLIEST);
    let to = query.to.as_deref().map(|v| query_time("to", v)).transpose()?.unwrap_or(now + time::Duration::minutes(5));
    let device_id = DeviceId(id);
    state.store.get_device(actor.household_id, device_id).await.map_err(|e| match e {
        petty_store::StoreError::NotFound => ApiError::not_found("device"),
        other => other.into(),
    })?;
    let start = Export {
        store: state.store.clone(),
        household_id: actor.household_id,
        device_id,
        from,
        to,
        format,
        cursor: None,
        first: true,
        done: false,
    };
    let (content_type, extension) = match format {
        Format::Csv => ("text/csv; charset=utf-8", "csv"),
        Format::JsonLines => ("application/x-ndjson", "jsonl"),
    };
    let disposition = format!("attachment; filename=\"readings-{id}.{extension}\"");
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok((headers, Body::from_stream(stream::unfold(start, Export::next_chunk))).into_response())
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// The device, unless authenticating with its own token.
    pub device_id: Option<Uuid>,
}

/// What an import did.
#[derive(Serialize, ToSchema)]
pub struct ImportOut {
    pub accepted: usize,
    pub duplicates: usize,
    pub rejected: usize,
    /// The first 100 problems, by line (line 1 is a CSV file's header).
    pub errors: Vec<ImportError>,
}

#[derive(Serialize, ToSchema)]
pub struct ImportError {
    pub line: usize,
    pub field: String,
    pub rule: String,
    pub message: String,
}

const MAX_REPORTED: usize = 100;

/// The body's lines as raw readings (with their line numbers), or why a line is unreadable.
type Parsed = Vec<(usize, Result<RawReading, ImportError>)>;

fn line_error(line: usize, field: &str, rule: &str, message: String) -> ImportError {
    ImportError { line, field: field.to_owned(), rule: rule.to_owned(), message }
}

fn parse_jsonl(body: &[u8]) -> Parsed {
    let mut out = Vec::new();
    for (i, line) in body.split(|b| *b == b'\n').enumerate() {
        let line_no = i + 1;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let parsed = crate::extract::parse_json::<ImportLine>(line).map(|l| l.raw()).map_err(|e| {
            let detail = e.details.first();
            line_error(
                line_no,
                detail.map_or("line", |d| d.field.as_str()),
                detail.map_or("format", |d| d.rule.as_str()),
                e.message,
            )
        });
        out.push((line_no, parsed));
    }
    out
}

fn parse_csv(body: &[u8]) -> Result<Parsed, ApiError> {
    let mut reader = csv::ReaderBuilder::new().has_headers(true).flexible(false).from_reader(body);
    let header = reader.headers().map_err(|e| {
        ApiError::field(
            ErrorCode::ValidationFailed,
            "header",
            "format",
            format!("the CSV header could not be read: {e}"),
        )
    })?;
    let columns: Vec<String> = header.iter().map(|c| c.trim().to_owned()).collect();
    if let Some(unknown) = columns.iter().find(|c| !csv_header().contains(&c.as_str())) {
        return Err(ApiError::field(
            ErrorCode::ValidationFailed,
            unknown,
            "unknown_field",
            format!("the CSV column {unknown:?} is not one Petty knows; the columns are {}", csv_header().join(",")),
        ));
    }
    let mut out = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let line_no = i + 2;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                out.push((line_no, Err(line_error(line_no, "line", "format", format!("line {line_no}: {e}")))));
                continue;
            }
        };
        out.push((line_no, csv_row(line_no, &columns, &record)));
    }
    Ok(out)
}

fn csv_row(line: usize, columns: &[String], record: &csv::StringRecord) -> Result<RawReading, ImportError> {
    let mut raw = RawReading { values: [None; METRIC_COUNT], ..RawReading::default() };
    let mut location = RawLocation::default();
    for (column, cell) in columns.iter().zip(record.iter()) {
        let cell = cell.trim();
        if cell.is_empty() {
            continue;
        }
        let number = || {
            cell.parse::<f64>().map_err(|_| {
                line_error(line, column, "type", format!("line {line}: {column} must be a number, not {cell:?}"))
            })
        };
        match column.as_str() {
            "ts" => {
                raw.ts = Some(match cell.parse::<i64>() {
                    Ok(ms) => RawTime::EpochMs(ms),
                    Err(_) => RawTime::Text(cell.to_owned()),
                })
            }
            "seq" => {
                raw.seq = Some(cell.parse().map_err(|_| {
                    line_error(line, "seq", "type", format!("line {line}: seq must be a whole number, not {cell:?}"))
                })?)
            }
            "received_at" => {}
            "lat" => location.lat = Some(number()?),
            "lon" => location.lon = Some(number()?),
            "accuracy_m" => location.accuracy_m = Some(number()?),
            "extra" => {
                let extra: std::collections::BTreeMap<String, f64> = serde_json::from_str(cell).map_err(|_| {
                    line_error(line, "extra", "type", format!("line {line}: extra must be a JSON object of numbers"))
                })?;
                raw.extra = extra.into_iter().collect();
            }
            name => {
                if let Some(metric) = Metric::from_name(name) {
                    raw.values[metric.index()] = Some(number()?);
                }
            }
        }
    }
    if location != RawLocation::default() {
        raw.location = Some(location);
    }
    Ok(raw)
}

/// Backfill a device's readings from CSV (`Content-Type: text/csv`, the export's columns, a
/// header row first) or JSON lines (`application/x-ndjson`, one reading per line, as the API
/// takes them or as the export writes them). Sending the same file twice stores nothing twice.
#[utoipa::path(post, path = "/api/v1/import", tag = "readings", params(ImportQuery),
    request_body(content = String, description = "CSV or JSON lines", content_type = "text/csv"),
    responses((status = 200, body = ImportOut), (status = 401, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn import(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(query): ApiQuery<ImportQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<ImportOut>, ApiError> {
    let sender = sender(&state, caller, query.device_id).await?;
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let mime = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let parsed = match mime.as_str() {
        "text/csv" => parse_csv(&body)?,
        "application/x-ndjson" | "application/jsonl" | "application/jsonlines" => parse_jsonl(&body),
        _ => {
            return Err(ApiError::new(
                ErrorCode::UnsupportedMediaType,
                "send CSV as text/csv or JSON lines as application/x-ndjson",
            ));
        }
    };
    let now = OffsetDateTime::now_utc();
    let mut answer = ImportOut { accepted: 0, duplicates: 0, rejected: 0, errors: Vec::new() };
    let mut batch: Vec<Reading> = Vec::with_capacity(CHUNK);
    let report = |answer: &mut ImportOut, error: ImportError| {
        answer.rejected += 1;
        if answer.errors.len() < MAX_REPORTED {
            answer.errors.push(error);
        }
    };
    for (line, raw) in parsed {
        match raw.map(|raw| Reading::parse(&raw, now)) {
            Ok(Ok(reading)) => batch.push(reading),
            Ok(Err(invalid)) => {
                for e in invalid.0.into_iter().take(1) {
                    report(&mut answer, line_error(line, &e.field, e.rule, format!("line {line}: {}", e.message)));
                }
            }
            Err(error) => report(&mut answer, error),
        }
        if batch.len() == CHUNK {
            store_batch(&state, &sender, std::mem::take(&mut batch), now, &mut answer).await?;
        }
    }
    store_batch(&state, &sender, batch, now, &mut answer).await?;
    Ok(Json(answer))
}

async fn store_batch(
    state: &AppState,
    sender: &crate::api::ingest::Sender,
    batch: Vec<Reading>,
    now: OffsetDateTime,
    answer: &mut ImportOut,
) -> Result<(), ApiError> {
    for outcome in state.store.ingest(sender.household_id, sender.device_id, batch, now).await? {
        match outcome {
            IngestOutcome::Accepted => answer.accepted += 1,
            IngestOutcome::Duplicate => answer.duplicates += 1,
        }
    }
    Ok(())
}
