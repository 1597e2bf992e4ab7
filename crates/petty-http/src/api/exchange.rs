//! Getting readings out and back in: `GET /api/v1/devices/{id}/export` streams CSV or JSON
//! lines a page at a time (memory stays flat however long the range), and
//! `POST /api/v1/import` takes the same formats back, reading the body as it arrives (memory
//! stays flat however large the body; see `Piece`). Import is idempotent: a reading already
//! stored (same device, time and sequence number) is counted as a duplicate, so a file can be
//! sent again after an interruption.
//!
//! Reading an import is shared with `petty import` (the CLI writes into the database
//! directly): [`ImportReader`] turns any byte source into readings or rejected lines one line
//! at a time, and [`ImportOut`] counts them the same way for both.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use futures_util::{StreamExt, stream};
use petty_core::accounts::Permission;
use petty_core::ids::{DeviceId, HouseholdId};
use petty_core::readings::{METRIC_COUNT, Metric, RawLocation, RawReading, RawTime, Reading};
use petty_store::{IngestOutcome, ReadingCursor, Store, StoredReading};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tokio::sync::mpsc;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::api::devices::{ReadingOut, query_time};
use crate::api::ingest::{ImportLine, sender};
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody, ErrorCode};
use crate::extract::{ApiPath, ApiQuery};
use crate::state::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    // The import reads its body as a stream and counts it against MAX_IMPORT_BYTES itself.
    OpenApiRouter::new().routes(routes!(export)).routes(routes!(import))
}

/// The largest import file one request may carry; larger files go in several requests. The
/// body is streamed, not held: this bounds an import's duration, not its memory (see `Piece`).
pub(crate) const MAX_IMPORT_BYTES: usize = 64 * 1024 * 1024;
/// Readings fetched per page while exporting, and stored per transaction while importing.
pub const CHUNK: usize = 2_000;
/// The longest JSON line an import takes; a reading with every field is well under 4 KiB.
pub(crate) const MAX_LINE_BYTES: usize = 1024 * 1024;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExportQuery {
    /// csv (default) or jsonl.
    pub format: Option<String>,
    /// Start (RFC 3339 or epoch milliseconds), inclusive; default: the beginning.
    pub from: Option<String>,
    /// End, exclusive; default: now plus 5 minutes.
    pub to: Option<String>,
}

/// The two formats readings travel in, out (export) and back in (import).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// A header row naming the columns, then one reading per row.
    Csv,
    /// One JSON object per line.
    JsonLines,
}

impl Format {
    /// `csv` or `jsonl`, as `?format=` and `petty import --format` name them.
    pub fn from_name(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "csv" => Some(Format::Csv),
            "jsonl" | "ndjson" => Some(Format::JsonLines),
            _ => None,
        }
    }

    /// From a file's extension: `.csv`, or `.jsonl` / `.ndjson`.
    pub fn from_path(path: &Path) -> Option<Self> {
        path.extension().and_then(|e| e.to_str()).and_then(Self::from_name)
    }
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
/// JSON lines, streamed. Exporting data is a sensitive action: with MFA on, send a fresh code
/// in `X-MFA-Code`.
#[utoipa::path(get, path = "/api/v1/devices/{id}/export", tag = "devices",
    params(("id" = Uuid, Path, description = "The device's id"), ExportQuery, ("X-MFA-Code" = Option<String>, Header, description = "With MFA on: a fresh code of the authenticator app or a backup code (a sensitive action)")),
    responses((status = 200, description = "The readings: CSV with a header row, or JSON lines",
        content((String = "text/csv"), (String = "application/x-ndjson")))),
    security(("bearer" = [])))]
async fn export(
    State(state): State<AppState>,
    actor: crate::stepup::StepUp,
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
    state.store.get_device(actor.household_id, device_id).await.map_err(ApiError::store_or_not_found("device"))?;
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
#[serde(deny_unknown_fields)]
pub(crate) struct ImportQuery {
    /// The device, unless authenticating with its own token.
    pub device_id: Option<Uuid>,
}

/// What an import did.
#[derive(Serialize, ToSchema, Default, Debug)]
pub struct ImportOut {
    pub accepted: usize,
    pub duplicates: usize,
    pub rejected: usize,
    /// The first 100 problems, by line (line 1 is a CSV file's header).
    pub errors: Vec<ImportError>,
}

#[derive(Serialize, ToSchema, Debug, Clone, PartialEq, Eq)]
pub struct ImportError {
    pub line: usize,
    pub field: String,
    pub rule: String,
    pub message: String,
}

/// How many rejected lines an import lists (all are counted).
pub const MAX_REPORTED: usize = 100;

impl ImportOut {
    /// Counts a rejected line; the first [`MAX_REPORTED`] are listed.
    pub fn reject(&mut self, error: ImportError) {
        self.rejected += 1;
        if self.errors.len() < MAX_REPORTED {
            self.errors.push(error);
        }
    }

    /// Counts what the store did with a chunk of readings.
    pub fn count(&mut self, outcomes: &[IngestOutcome]) {
        for outcome in outcomes {
            match outcome {
                IngestOutcome::Accepted => self.accepted += 1,
                IngestOutcome::Duplicate => self.duplicates += 1,
            }
        }
    }

    /// Adds another file's counts to these (its listed errors too, up to the limit).
    pub fn add(&mut self, other: &ImportOut) {
        self.accepted += other.accepted;
        self.duplicates += other.duplicates;
        self.rejected += other.rejected;
        let room = MAX_REPORTED.saturating_sub(self.errors.len());
        self.errors.extend(other.errors.iter().take(room).cloned());
    }
}

fn line_error(line: usize, field: &str, rule: &str, message: String) -> ImportError {
    ImportError { line, field: field.to_owned(), rule: rule.to_owned(), message }
}

/// A source that failed while being read: the import stops there (what was stored stays
/// stored; sending the file again stores nothing twice).
fn unreadable(after_line: usize, e: impl std::fmt::Display) -> ApiError {
    ApiError::new(ErrorCode::MalformedRequest, format!("the file could not be read after line {after_line}: {e}"))
}

/// One line of an import: its number (1 is the first line, a CSV file's header) and the
/// reading on it, or why it was rejected.
pub type ImportItem = (usize, Result<Reading, ImportError>);

/// Reads an import from any byte source (a request body, a file) one line at a time, so a file
/// of any size costs one line of memory: each line becomes a reading checked by the same rules
/// as `POST /api/v1/ingest` (as of `now`), or a rejection naming its line, field and rule.
pub struct ImportReader<R: Read> {
    source: Source<R>,
    now: OffsetDateTime,
}

enum Source<R: Read> {
    Csv { reader: csv::Reader<R>, columns: Vec<String>, record: csv::StringRecord, records: usize },
    JsonLines { reader: BufReader<R>, line: Vec<u8>, line_no: usize },
}

impl<R: Read> ImportReader<R> {
    /// For CSV, reads the header row first: a file whose header Petty cannot use is refused
    /// whole (422, naming the column), before anything is stored.
    pub fn new(source: R, format: Format, now: OffsetDateTime) -> Result<Self, ApiError> {
        let source = match format {
            Format::Csv => {
                let mut reader = csv::ReaderBuilder::new().has_headers(true).flexible(false).from_reader(source);
                let header = reader.headers().map_err(|e| {
                    if let csv::ErrorKind::Io(io) = e.kind() {
                        return unreadable(0, io);
                    }
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
                        format!(
                            "the CSV column {unknown:?} is not one Petty knows; the columns are {}",
                            csv_header().join(",")
                        ),
                    ));
                }
                Source::Csv { reader, columns, record: csv::StringRecord::new(), records: 0 }
            }
            Format::JsonLines => Source::JsonLines { reader: BufReader::new(source), line: Vec::new(), line_no: 0 },
        };
        Ok(Self { source, now })
    }

    /// The next line with a reading or a rejection; `None` at the end of the source, and an
    /// error when the source itself fails (the rest of it is not read).
    pub fn next_item(&mut self) -> Result<Option<ImportItem>, ApiError> {
        let now = self.now;
        let checked = |line: usize, raw: Result<RawReading, ImportError>| -> ImportItem {
            let reading = raw.and_then(|raw| {
                Reading::parse(&raw, now).map_err(|invalid| match invalid.0.into_iter().next() {
                    Some(e) => line_error(line, &e.field, e.rule, format!("line {line}: {}", e.message)),
                    None => line_error(line, "line", "invalid", format!("line {line}: not a valid reading")),
                })
            });
            (line, reading)
        };
        match &mut self.source {
            Source::Csv { reader, columns, record, records } => {
                *records += 1;
                // After the header: the line the record starts on, when the reader knows it.
                let fallback = *records + 1;
                match reader.read_record(record) {
                    Ok(false) => Ok(None),
                    Ok(true) => {
                        let line = record.position().map_or(fallback, |p| p.line() as usize);
                        Ok(Some(checked(line, csv_row(line, columns, record))))
                    }
                    Err(e) => {
                        if let csv::ErrorKind::Io(io) = e.kind() {
                            return Err(unreadable(fallback.saturating_sub(1), io));
                        }
                        let line = e.position().map_or(fallback, |p| p.line() as usize);
                        Ok(Some((line, Err(line_error(line, "line", "format", format!("line {line}: {e}"))))))
                    }
                }
            }
            Source::JsonLines { reader, line, line_no } => loop {
                let Some(too_long) = read_line(reader, line).map_err(|e| unreadable(*line_no, e))? else {
                    return Ok(None);
                };
                *line_no += 1;
                let n = *line_no;
                if too_long {
                    return Ok(Some((
                        n,
                        Err(line_error(
                            n,
                            "line",
                            "too_long",
                            format!("line {n}: longer than {MAX_LINE_BYTES} bytes, which no reading is"),
                        )),
                    )));
                }
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                let raw = crate::extract::parse_json::<ImportLine>(line).map(|l| l.raw()).map_err(|e| {
                    let detail = e.details.first();
                    line_error(
                        n,
                        detail.map_or("line", |d| d.field.as_str()),
                        detail.map_or("format", |d| d.rule.as_str()),
                        format!("line {n}: {}", e.message.replacen("the body", "the line", 1)),
                    )
                });
                return Ok(Some(checked(n, raw)));
            },
        }
    }
}

/// Reads one line (without its `\n`) into `line`; `None` at the end, `Some(true)` for a line
/// longer than [`MAX_LINE_BYTES`] (skipped to its end, never held whole).
fn read_line(reader: &mut impl BufRead, line: &mut Vec<u8>) -> std::io::Result<Option<bool>> {
    line.clear();
    let mut read_any = false;
    let mut too_long = false;
    loop {
        let available = match reader.fill_buf() {
            Ok(available) => available,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok(read_any.then_some(too_long));
        }
        read_any = true;
        let end = available.iter().position(|b| *b == b'\n');
        let part = &available[..end.unwrap_or(available.len())];
        if !too_long {
            if line.len() + part.len() > MAX_LINE_BYTES {
                too_long = true;
                line.clear();
            } else {
                line.extend_from_slice(part);
            }
        }
        let used = part.len() + usize::from(end.is_some());
        reader.consume(used);
        if end.is_some() {
            return Ok(Some(too_long));
        }
    }
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
/// The body is read as it arrives and stored 2,000 readings at a time, so an import of any size
/// holds a few MB; a body is at most 64 MiB.
#[utoipa::path(post, path = "/api/v1/import", tag = "readings", params(ImportQuery),
    request_body(content = String, description = "CSV or JSON lines", content_type = "text/csv"),
    responses((status = 200, body = ImportOut),
        (status = 404, description = "No device `device_id` in the caller's household", body = ErrorBody)),
    security(("bearer" = [])))]
async fn import(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(query): ApiQuery<ImportQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<ImportOut>, ApiError> {
    let sender = sender(&state, caller, query.device_id).await?;
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let mime = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let format = match mime.as_str() {
        "text/csv" => Format::Csv,
        "application/x-ndjson" | "application/jsonl" | "application/jsonlines" => Format::JsonLines,
        _ => {
            return Err(ApiError::new(
                ErrorCode::UnsupportedMediaType,
                "send CSV as text/csv or JSON lines as application/x-ndjson",
            ));
        }
    };
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
    if declared.is_some_and(|length: u64| length > MAX_IMPORT_BYTES as u64) {
        return Err(too_large());
    }
    let now = OffsetDateTime::now_utc();
    // The body goes to a blocking thread a few network chunks at a time, is read there line
    // by line, and comes back as chunks of readings: memory stays within IMPORT_MEMORY_BOUND
    // whatever the size of the body.
    let (bytes_tx, bytes_rx) = mpsc::channel::<std::io::Result<Bytes>>(BODY_CHUNKS_IN_FLIGHT);
    let (piece_tx, mut piece_rx) = mpsc::channel::<Piece>(2);
    let reading = tokio::task::spawn_blocking(move || {
        read_pieces(BodyReader { rx: bytes_rx, current: Bytes::new() }, format, now, &piece_tx)
    });
    let forward = async move {
        let mut stream = body.into_data_stream();
        let mut total = 0usize;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(std::io::Error::other);
            total += chunk.as_ref().map_or(0, Bytes::len);
            if total > MAX_IMPORT_BYTES {
                let _ = bytes_tx.send(Err(std::io::Error::other("the body is too large"))).await;
                return true;
            }
            let failed = chunk.is_err();
            if bytes_tx.send(chunk).await.is_err() || failed {
                break;
            }
        }
        false
    };
    let store = async {
        let mut answer = ImportOut::default();
        while let Some(piece) = piece_rx.recv().await {
            match piece {
                Piece::Chunk { readings, rejected } => {
                    for error in rejected {
                        answer.reject(error);
                    }
                    answer.count(&state.app.ingest(sender.app(), readings).await?);
                }
                Piece::Failed(error) => return Err(error),
            }
        }
        Ok(answer)
    };
    let (too_big, answer) = tokio::join!(forward, store);
    // The reader ends once its channels close, which the two halves above have done by now.
    reading.await.map_err(ApiError::internal)?;
    if too_big {
        return Err(too_large());
    }
    answer.map(Json)
}

/// How many network chunks of an import's body wait for the reader (hyper's are at most a few
/// hundred KiB, usually 8–64 KiB).
const BODY_CHUNKS_IN_FLIGHT: usize = 4;

/// What the import's reading thread hands over: readings to store and the lines rejected
/// meanwhile, in file order, [`CHUNK`] readings at a time; or why it stopped (a refused CSV
/// header, a body that broke off). Two pieces wait at most, so an import holds at most three
/// chunks of readings (about 1 MB each), its body chunks in flight, and one line (at most
/// [`MAX_LINE_BYTES`]): a few MB, whatever the size of the body.
enum Piece {
    Chunk { readings: Vec<Reading>, rejected: Vec<ImportError> },
    Failed(ApiError),
}

fn too_large() -> ApiError {
    ApiError::new(
        ErrorCode::PayloadTooLarge,
        format!(
            "an import is at most {} MiB: send larger files in several requests (what was read is stored, and \
             sending it again stores nothing twice)",
            MAX_IMPORT_BYTES / (1024 * 1024)
        ),
    )
}

/// Reads an import on a blocking thread, as `petty import` reads a file, and sends it on in
/// pieces; stops when the receiving side has gone.
fn read_pieces(source: BodyReader, format: Format, now: OffsetDateTime, tx: &mpsc::Sender<Piece>) {
    let mut lines = match ImportReader::new(source, format, now) {
        Ok(lines) => lines,
        Err(refused) => {
            let _ = tx.blocking_send(Piece::Failed(refused));
            return;
        }
    };
    let mut readings = Vec::with_capacity(CHUNK);
    let mut rejected = Vec::new();
    loop {
        match lines.next_item() {
            Ok(Some((_, Ok(reading)))) => readings.push(reading),
            Ok(Some((_, Err(error)))) => rejected.push(error),
            Ok(None) => break,
            Err(failed) => {
                // As before streaming: the readings of the unfinished chunk are not stored.
                let _ = tx.blocking_send(Piece::Failed(failed));
                return;
            }
        }
        if readings.len() == CHUNK {
            let chunk =
                Piece::Chunk { readings: std::mem::take(&mut readings), rejected: std::mem::take(&mut rejected) };
            if tx.blocking_send(chunk).is_err() {
                return;
            }
            readings.reserve(CHUNK);
        }
    }
    let _ = tx.blocking_send(Piece::Chunk { readings, rejected });
}

/// A request body as a `Read`, for the blocking thread: each read waits for the next network
/// chunk.
struct BodyReader {
    rx: mpsc::Receiver<std::io::Result<Bytes>>,
    current: Bytes,
}

impl Read for BodyReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                None => return Ok(0),
                Some(chunk) => self.current = chunk?,
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }

    /// A line's heart rate, or the field and rule that rejected it.
    type Outcome = Result<Option<f64>, (String, String)>;

    /// Every line of `text` with its number.
    fn read_all(text: &[u8], format: Format) -> Vec<(usize, Outcome)> {
        let mut reader = ImportReader::new(text, format, now()).unwrap();
        let mut out = Vec::new();
        while let Some((line, item)) = reader.next_item().unwrap() {
            out.push((line, item.map(|r| r.value(Metric::HeartRate)).map_err(|e| (e.field, e.rule))));
        }
        out
    }

    fn err(field: &str, rule: &str) -> Outcome {
        Err((field.to_owned(), rule.to_owned()))
    }

    #[test]
    fn json_lines_are_numbered_as_an_editor_numbers_them() {
        let text = b"{\"ts\": 1700000000000, \"heart_rate\": 80}\n\n  \r\n{\"ts\": 1700000000001, \"pulse\": 3}\r\n\
            {\"ts\": 1700000000002, \"heart_rate\": 500}\nnot json\n{\"ts\": 1700000000003, \"heart_rate\": 81}";
        assert_eq!(
            read_all(text, Format::JsonLines),
            vec![
                (1, Ok(Some(80.0))),
                (4, err("pulse", "unknown_field")),
                (5, err("heart_rate", "out_of_range")),
                (6, err("line", "format")),
                (7, Ok(Some(81.0))),
            ]
        );
        let mut reader =
            ImportReader::new(&b"{\"ts\": 1700000000000, \"heart_rate\": 500}\n"[..], Format::JsonLines, now())
                .unwrap();
        let (_, item) = reader.next_item().unwrap().unwrap();
        assert!(item.unwrap_err().message.starts_with("line 1: heart_rate"), "messages name their line");
    }

    #[test]
    fn an_overlong_line_is_rejected_without_being_held_and_the_next_one_still_counts() {
        let mut text = Vec::new();
        text.extend_from_slice(b"{\"ts\": 1700000000000, \"extra\": {\"x\": \"");
        text.resize(MAX_LINE_BYTES + 100, b'a');
        text.extend_from_slice(b"\"}}\n{\"ts\": 1700000000001, \"heart_rate\": 70}\n");
        assert_eq!(read_all(&text, Format::JsonLines), vec![(1, err("line", "too_long")), (2, Ok(Some(70.0)))]);
    }

    #[test]
    fn csv_rows_are_numbered_after_the_header_and_broken_rows_are_rejected() {
        let text = b"ts,seq,heart_rate,extra\n1700000000000,1,80,\n1700000000001,2,fast,\n1700000000002,3\n\
            1700000000003,4,82,\"{\"\"a\"\":\n1}\"\n1700000000004,5,83,\n";
        assert_eq!(
            read_all(text, Format::Csv),
            vec![
                (2, Ok(Some(80.0))),
                (3, err("heart_rate", "type")),
                (4, err("line", "format")),
                (5, Ok(Some(82.0))),
                (7, Ok(Some(83.0))),
            ]
        );
    }

    #[test]
    fn a_csv_header_petty_cannot_use_refuses_the_whole_file() {
        let refused = ImportReader::new(&b"ts,pulse\n1,2\n"[..], Format::Csv, now()).err().unwrap();
        assert_eq!((refused.details[0].field.as_str(), refused.details[0].rule.as_str()), ("pulse", "unknown_field"));
    }

    /// Gives `good` bytes, then fails.
    struct Failing(&'static [u8]);

    impl Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.0.is_empty() {
                return Err(std::io::Error::other("disk on fire"));
            }
            let n = buf.len().min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn a_source_that_fails_stops_the_import_with_a_message() {
        for format in [Format::JsonLines, Format::Csv] {
            let text: &'static [u8] = if format == Format::Csv {
                b"ts,heart_rate\n1700000000000,80\n"
            } else {
                b"{\"ts\": 1700000000000, \"heart_rate\": 80}\n"
            };
            let mut reader = ImportReader::new(Failing(text), format, now()).unwrap();
            assert!(reader.next_item().unwrap().unwrap().1.is_ok());
            let failed = reader.next_item().unwrap_err();
            assert!(
                failed.message.contains("could not be read after line") && failed.message.contains("disk on fire"),
                "{}",
                failed.message
            );
        }
    }

    #[test]
    fn formats_come_from_names_and_extensions() {
        assert_eq!(Format::from_path(Path::new("a/b.CSV")), Some(Format::Csv));
        assert_eq!(Format::from_path(Path::new("collar-1.jsonl")), Some(Format::JsonLines));
        assert_eq!(Format::from_path(Path::new("x.ndjson")), Some(Format::JsonLines));
        assert_eq!(Format::from_path(Path::new("readings.txt")), None);
        assert_eq!(Format::from_path(Path::new("readings")), None);
        assert_eq!(Format::from_name("jsonl"), Some(Format::JsonLines));
    }

    #[test]
    fn counts_add_up_and_the_list_stays_bounded() {
        let mut one = ImportOut::default();
        for line in 0..150 {
            one.reject(line_error(line, "ts", "required", String::new()));
        }
        one.count(&[IngestOutcome::Accepted, IngestOutcome::Duplicate, IngestOutcome::Accepted]);
        assert_eq!((one.accepted, one.duplicates, one.rejected, one.errors.len()), (2, 1, 150, MAX_REPORTED));
        let mut total = ImportOut::default();
        total.add(&one);
        total.add(&one);
        assert_eq!((total.accepted, total.duplicates, total.rejected, total.errors.len()), (4, 2, 300, MAX_REPORTED));
    }
}
