//! Health records (Petty's care records) and a pet's vaccinations: the records list with its
//! summary over every matching record, writing through `petty_app::care` (so a vaccination
//! moves its series' reminder whichever edge wrote it), and the vaccine series with their due
//! dates and statuses.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use petty_core::care::{RawRecord, Record, RecordKind, SeriesStatus, Vaccine, VaccineStatus};
use petty_http::AppState;
use petty_store::RecordFilter;
use serde_json::{Map, Value, json};

use super::wire::{Body, Check, messages, page_request, paging, param, path_id, query};
use super::{Action, Answer, Detail, Fail, Member, date, ok, pagination, require, ts};

/// The contract's record types, in its order.
const TYPES: [&str; 8] = ["vaccination", "medication", "visit", "surgery", "lab", "dental", "allergy", "other"];

/// A contract type as Petty's kinds (`other` is Petty's `other` and the kinds it has no name for).
fn kinds_of(record_type: &str) -> Option<Vec<RecordKind>> {
    Some(match record_type {
        "vaccination" => vec![RecordKind::Vaccination],
        "medication" => vec![RecordKind::Medication],
        "visit" => vec![RecordKind::Visit],
        "surgery" => vec![RecordKind::Surgery],
        "lab" => vec![RecordKind::TestResult],
        "dental" => vec![RecordKind::Dental],
        "allergy" => vec![RecordKind::Allergy],
        "other" => vec![RecordKind::Other, RecordKind::Procedure, RecordKind::Condition, RecordKind::Weight],
        _ => return None,
    })
}

/// Petty's kind as the contract's type.
fn type_of(kind: RecordKind) -> &'static str {
    match kind {
        RecordKind::Vaccination => "vaccination",
        RecordKind::Medication => "medication",
        RecordKind::Visit => "visit",
        RecordKind::Surgery => "surgery",
        RecordKind::TestResult => "lab",
        RecordKind::Dental => "dental",
        RecordKind::Allergy => "allergy",
        RecordKind::Other | RecordKind::Procedure | RecordKind::Condition | RecordKind::Weight => "other",
    }
}

/// The records as the contract shows them, each with its attachments (one query for all).
pub(super) async fn records_json(state: &AppState, member: &Member, records: &[Record]) -> Result<Vec<Value>, Fail> {
    let ids: Vec<uuid::Uuid> = records.iter().map(|r| r.id).collect();
    let files = state.store.files_of_records(member.household(), &ids).await.map_err(Fail::store)?;
    Ok(records
        .iter()
        .map(|r| {
            let attached: Vec<Value> = files
                .iter()
                .filter(|f| f.health_record_id == Some(r.id))
                .map(|f| super::uploads::attachment_json(state, f))
                .collect();
            record_json(r, attached)
        })
        .collect())
}

async fn one_json(state: &AppState, member: &Member, record: &Record) -> Result<Value, Fail> {
    Ok(records_json(state, member, std::slice::from_ref(record)).await?.pop().unwrap_or(Value::Null))
}

/// The record as the contract shows it, with its attachments.
fn record_json(r: &Record, attachments: Vec<Value>) -> Value {
    let c = &r.content;
    json!({
        "id": r.id,
        "petId": r.pet_id.0,
        "recordType": type_of(c.kind),
        "title": c.title,
        "description": c.description,
        "dateAdministered": date(c.date),
        "veterinarian": c.vet,
        "cost": c.cost_cents.map(|cents| cents as f64 / 100.0),
        "attachments": attachments,
        "vaccine": c.vaccine.map(Vaccine::as_str),
        "validUntil": c.valid_until.map(date),
        "createdAt": ts(r.created_at),
        "updatedAt": ts(r.updated_at),
    })
}

/// `{status, vaccinations: [{vaccine, label, lastAdministered, dueDate, status, recordId}]}`.
pub(super) fn vaccinations_json(status: VaccineStatus, series: &[SeriesStatus]) -> Value {
    json!({
        "status": status.as_str(),
        "vaccinations": series.iter().map(|s| json!({
            "vaccine": s.vaccine.as_str(),
            "label": s.label,
            "lastAdministered": date(s.last_dose),
            "dueDate": date(s.due),
            "status": s.status.as_str(),
            "recordId": s.record_id,
        })).collect::<Vec<_>>(),
    })
}

/// Checks a record body by the contract's rules and writes what it says into `raw`; `update`
/// leaves absent fields alone.
/// Answers the files `attachments` names, when the body has it.
fn check_record(
    body: &Body,
    raw: &mut RawRecord,
    update: bool,
    today: time::Date,
    public_url: &str,
) -> Result<Option<Vec<uuid::Uuid>>, Fail> {
    let mut c = Check::new(body);
    let present = |name: &str| !update || body.has(name);
    if present("recordType") {
        match c.text("recordType", 20, true, Some(messages::RECORD_TYPE)) {
            Some(Some(t)) => match kinds_of(&t.to_lowercase()) {
                Some(kinds) => {
                    let kind = kinds[0];
                    // A weigh-in shown as `other` stays a weigh-in unless the type changes.
                    let keep = update && type_of(raw.kind.parse().unwrap_or(RecordKind::Other)) == type_of(kind);
                    if !keep {
                        if raw.kind != kind.as_str() {
                            raw.weight_kg = None;
                        }
                        raw.kind = kind.as_str().to_owned();
                    }
                }
                None => c.fail("recordType", messages::RECORD_TYPE),
            },
            _ => c.fail("recordType", messages::RECORD_TYPE),
        }
    }
    if present("title")
        && let Some(Some(title)) = c.text("title", petty_core::care::TITLE_MAX, true, None)
    {
        raw.title = Some(title);
    }
    if present("description")
        && let Some(d) = c.text("description", petty_core::care::DESCRIPTION_MAX, false, None)
    {
        raw.description = d;
    }
    if present("dateAdministered") {
        match c.text("dateAdministered", 10, true, Some(messages::DATE_ADMINISTERED)) {
            Some(Some(d)) => match petty_core::pets::parse_date("dateAdministered", &d) {
                Ok(day) if day <= today + time::Duration::days(1) && day.year() >= 1950 => raw.date = date(day),
                _ => c.fail("dateAdministered", messages::DATE_ADMINISTERED),
            },
            _ => c.fail("dateAdministered", messages::DATE_ADMINISTERED),
        }
    }
    if present("veterinarian")
        && let Some(v) = c.text("veterinarian", petty_core::care::VET_MAX, false, None)
    {
        raw.vet = v;
    }
    if present("cost") {
        match c.number("cost", messages::COST) {
            Some(Some(cost)) if (0.0..=99_999_999.99).contains(&cost) => raw.cost = Some(cost),
            Some(Some(_)) => c.fail("cost", messages::COST),
            Some(None) => raw.cost = None,
            None => {}
        }
    }
    let attachments = match super::uploads::attachment_ids(body.get("attachments"), public_url) {
        Ok(ids) => body.has("attachments").then_some(ids),
        Err(()) => {
            c.fail("attachments", messages::ATTACHMENTS);
            None
        }
    };
    let is_vaccination = raw.kind == RecordKind::Vaccination.as_str();
    if present("vaccine") {
        let names: Vec<&str> = Vaccine::ALL.iter().map(|v| v.as_str()).collect();
        let one_of = format!("vaccine must be one of: {}", names.join(", "));
        match c.text("vaccine", 30, false, Some(&one_of)) {
            Some(Some(_)) if !is_vaccination => c.fail("vaccine", "vaccine is only for vaccination records"),
            Some(Some(v)) => match v.parse::<Vaccine>() {
                Ok(v) => raw.vaccine = Some(v.as_str().to_owned()),
                Err(_) => c.fail("vaccine", one_of),
            },
            Some(None) => raw.vaccine = None,
            None => {}
        }
    }
    if present("validUntil") {
        let message = "validUntil must be a date (YYYY-MM-DD) not before dateAdministered";
        match c.text("validUntil", 10, false, Some(message)) {
            Some(Some(_)) if !is_vaccination => c.fail("validUntil", "validUntil is only for vaccination records"),
            Some(Some(d)) => match petty_core::pets::parse_date("validUntil", &d) {
                Ok(day) if petty_core::pets::parse_date("d", &raw.date).is_ok_and(|dose| day >= dose) => {
                    raw.valid_until = Some(date(day));
                }
                Ok(day) if raw.date.is_empty() => raw.valid_until = Some(date(day)),
                _ => c.fail("validUntil", message),
            },
            Some(None) => raw.valid_until = None,
            None => {}
        }
    }
    if !is_vaccination && !c.failed() {
        // Changing a vaccination into another type drops what only vaccinations have.
        raw.vaccine = None;
        raw.valid_until = None;
    }
    c.finish()?;
    Ok(attachments)
}

/// A new record's body: JSON in body order and the contract's rules, as Petty's raw record
/// and the files it attaches.
pub(super) fn decode_new_record(
    bytes: &[u8],
    today: time::Date,
    public_url: &str,
) -> Result<(RawRecord, Vec<uuid::Uuid>), Fail> {
    let body = Body::parse(bytes)?;
    let mut raw = RawRecord::default();
    let attachments = check_record(&body, &mut raw, false, today, public_url)?;
    Ok((raw, attachments.unwrap_or_default()))
}

/// `GET /pets/:petId/health-records?page&limit&type&from&to`.
pub(super) async fn list(State(state): State<AppState>, member: Member, Path(id): Path<String>, uri: Uri) -> Answer {
    require(&member.0, Action::Read)?;
    let pet = super::pets::pet_of(&state, &member, &id).await?;
    let q = query(&uri)?;
    let mut details: Vec<Detail> = Vec::new();
    let (page, limit) = paging(&q, &mut details);
    let mut filter = RecordFilter::default();
    if let Some(t) = param(&q, "type") {
        match kinds_of(&t.to_lowercase()) {
            Some(kinds) => {
                filter.kind = kinds.first().copied();
                filter.also_kinds = kinds.into_iter().skip(1).collect();
            }
            None => details
                .push(Detail { field: "type".into(), message: messages::RECORD_TYPE.replace("recordType", "type") }),
        }
    }
    for (name, slot) in [("from", &mut filter.from), ("to", &mut filter.to)] {
        if let Some(d) = param(&q, name) {
            match petty_core::pets::parse_date(name, d) {
                Ok(day) => *slot = Some(day),
                Err(_) => {
                    details.push(Detail { field: name.into(), message: format!("{name} must be a date (YYYY-MM-DD)") })
                }
            }
        }
    }
    if !details.is_empty() {
        return Err(Fail::validation(details));
    }
    let records = state
        .store
        .list_records(member.household(), pet.id, &filter, page_request(page, limit))
        .await
        .map_err(Fail::store)?;
    let summary = state.store.record_summary(member.household(), pet.id, &filter).await.map_err(Fail::store)?;
    let mut types = Map::new();
    for t in TYPES {
        let n: u64 = summary.by_kind.iter().filter(|(k, _)| type_of(*k) == t).map(|(_, n)| n).sum();
        if n > 0 {
            types.insert(t.to_owned(), json!(n));
        }
    }
    Ok(ok(
        StatusCode::OK,
        json!({
            "records": records_json(&state, &member, &records.items).await?,
            "pagination": pagination(page, limit, records.total),
            "summary": {
                "totalRecords": summary.total,
                "recordTypes": types,
                "totalCost": summary.total_cost_cents as f64 / 100.0,
            },
        }),
    ))
}

/// `POST /pets/:petId/health-records`.
pub(super) async fn create(
    State(state): State<AppState>,
    member: Member,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Answer {
    require(&member.0, Action::Write)?;
    let pet = super::pets::pet_of(&state, &member, &id).await?;
    let today = super::pets::today(&state, &member).await?;
    let (raw, attachments) = decode_new_record(&bytes, today, state.app.notifier.public_url())?;
    super::uploads::check_attachments(&state, &member, &attachments).await?;
    let record = petty_app::care::create_record(&state.app, &member.0, pet.id, &raw).await.map_err(Fail::care)?;
    super::uploads::attach(&state, &member, record.id, &attachments).await?;
    let out = one_json(&state, &member, &record).await?;
    petty_app::notify::household_event(&state.app, member.household(), "health_record.created", out.clone()).await;
    Ok(ok(StatusCode::CREATED, out))
}

/// `PUT /health-records/:id`: the fields present change.
pub(super) async fn update(
    State(state): State<AppState>,
    member: Member,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Answer {
    require(&member.0, Action::Write)?;
    let id = path_id(&id, "Health record not found")?;
    let current =
        state.store.get_record(member.household(), id).await.map_err(Fail::store_or("Health record not found"))?;
    let body = Body::parse(&bytes)?;
    let today = super::pets::today(&state, &member).await?;
    let mut raw = current.content.to_raw();
    // Attachments are added to the record's (a file leaves it when deleted).
    let attachments = check_record(&body, &mut raw, true, today, state.app.notifier.public_url())?.unwrap_or_default();
    super::uploads::check_attachments(&state, &member, &attachments).await?;
    let record =
        petty_app::care::update_record(&state.app, &member.0, id, |stored| *stored = raw).await.map_err(Fail::care)?;
    super::uploads::attach(&state, &member, record.id, &attachments).await?;
    let out = one_json(&state, &member, &record).await?;
    petty_app::notify::household_event(&state.app, member.household(), "health_record.updated", out.clone()).await;
    Ok(ok(StatusCode::OK, out))
}

/// `DELETE /health-records/:id`.
pub(super) async fn delete(State(state): State<AppState>, member: Member, Path(id): Path<String>) -> Answer {
    require(&member.0, Action::Delete)?;
    let id = path_id(&id, "Health record not found")?;
    petty_app::care::delete_record(&state.app, &member.0, id).await.map_err(Fail::care)?;
    Ok(ok(StatusCode::OK, json!({"id": id, "deleted": true})))
}

/// `GET /pets/:petId/vaccinations`.
pub(super) async fn vaccinations(State(state): State<AppState>, member: Member, Path(id): Path<String>) -> Answer {
    require(&member.0, Action::Read)?;
    let pet = super::pets::pet_of(&state, &member, &id).await?;
    let (status, series) =
        petty_app::care::vaccinations(&state.app, member.household(), &pet).await.map_err(Fail::store)?;
    Ok(ok(StatusCode::OK, vaccinations_json(status, &series)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_reads_as_a_contract_type_and_back() {
        for kind in RecordKind::ALL {
            let t = type_of(kind);
            assert!(TYPES.contains(&t));
            assert!(kinds_of(t).unwrap().contains(&kind), "{kind} lists under {t}");
        }
        assert_eq!(kinds_of("lab").unwrap(), [RecordKind::TestResult]);
        assert!(kinds_of("test_result").is_none(), "Petty's own name is not the contract's");
    }
}
