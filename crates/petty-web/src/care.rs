//! Care pages: `/pets/{id}/care` (vaccine status, the weight log and its chart, the records,
//! with forms to add, change and remove them), `/reminders` (done, skip, snooze, write and
//! change), `/calendar` (the feed's address and importing a calendar file), and the time zones.
//! Every change goes through `petty_app::care`, as the API's do.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use petty_app::care::{self, Action, CareError};
use petty_core::accounts::{Actor, ActorKind, Permission, Role};
use petty_core::care::{RawRecord, Record, RecordKind, SeriesStatus, Vaccine, VaccineStatus};
use petty_core::chart::{Bucket, Chart, ChartKind, render_svg};
use petty_core::ids::PetId;
use petty_core::paging::PageRequest;
use petty_core::pets::{Pet, format_date};
use petty_core::recurrence::{Repeat, Zone};
use petty_core::reminders::{Method, RawReminder, Reminder, StatusFilter};
use petty_core::{FieldError, Invalid};
use petty_http::AppState;
use petty_store::{RecordFilter, ReminderFilter};
use serde::Deserialize;
use time::OffsetDateTime;
use uuid::Uuid;

use super::PageError;
use super::csrf::CsrfForm;
use super::layout::{self, FormErrors, Header, Input, Select, TextArea};
use super::session::SignedIn;

fn actor(signed_in: &SignedIn) -> Actor {
    Actor {
        household_id: signed_in.membership.household_id,
        kind: ActorKind::User { user_id: signed_in.user.id, role: signed_in.membership.role },
    }
}

fn pet_id(raw: &str) -> Result<PetId, PageError> {
    raw.parse().map_err(|_| PageError::NotFound)
}

fn uuid(raw: &str) -> Result<Uuid, PageError> {
    raw.parse().map_err(|_| PageError::NotFound)
}

/// A care error as a page: bad input is the form's to show, so it comes back as `Err(Invalid)`.
fn split(e: CareError) -> Result<Invalid, PageError> {
    match e {
        CareError::Invalid(invalid) => Ok(invalid),
        CareError::NotFound(_) => Err(PageError::NotFound),
        CareError::Plan(e) => Err(petty_http::ApiError::from(e).into()),
        CareError::Store(e) => Err(e.into()),
    }
}

fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

pub(crate) fn status_badge(status: VaccineStatus) -> Markup {
    let class = match status {
        VaccineStatus::Overdue => "badge badge-danger",
        VaccineStatus::Due => "badge badge-warning",
        VaccineStatus::UpToDate => "badge badge-ok",
        VaccineStatus::None => "badge",
    };
    html! { span class=(class) { (status.label()) } }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct CareQuery {
    show: String,
    page: Option<u32>,
}

/// `/pets/{id}/care`: everything about a pet's health in one place.
#[tracing::instrument(skip_all, fields(household_id = %signed_in.membership.household_id, pet_id = %id))]
pub(crate) async fn care_page(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    Query(query): Query<CareQuery>,
) -> Result<Response, PageError> {
    let household = signed_in.membership.household_id;
    let pet = state.store.get_pet(household, pet_id(&id)?).await?;
    if !care::sees_pet(&state.app, &signed_in.actor(), pet.id).await? {
        return Err(PageError::NotFound);
    }
    let view = care_view(
        &state,
        &signed_in,
        &pet,
        &query,
        &RecordForm::for_today(&state, household).await?,
        &FormErrors::none(),
    )
    .await?;
    Ok(layout::html(StatusCode::OK, view))
}

async fn care_view(
    state: &AppState,
    signed_in: &SignedIn,
    pet: &Pet,
    query: &CareQuery,
    form: &RecordForm,
    errors: &FormErrors,
) -> Result<Markup, PageError> {
    let household = signed_in.membership.household_id;
    let (overall, series) = care::vaccinations(&state.app, household, pet).await?;
    let (weights, trend) = care::weight_log(&state.app, household, pet.id).await?;
    let kind = query.show.parse::<RecordKind>().ok();
    let page = PageRequest::parse(query.page, Some(20)).unwrap_or(PageRequest { page: 1, page_size: 20 });
    let records =
        state.store.list_records(household, pet.id, &RecordFilter { kind, ..Default::default() }, page).await?;
    let ids: Vec<Uuid> = records.items.iter().map(|r| r.id).collect();
    let files = state.store.files_of_records(household, &ids).await?;
    let can_write = signed_in.can(Permission::ManagePets);
    let passport = state.store.share_of(household, pet.id, petty_store::ShareKind::Passport).await?;
    let lost = state.store.share_of(household, pet.id, petty_store::ShareKind::Lost).await?;
    let chrome = signed_in.chrome();
    let name = &pet.profile.name;
    let kinds: Vec<(&str, &str)> = RecordKind::ALL.iter().map(|k| (k.as_str(), k.label())).collect();
    Ok(layout::page(
        &format!("{name}'s care"),
        Header::SignedIn(&chrome),
        html! {
            a.back href={ "/pets/" (pet.id) } { "← Back to " (name) }
            div.page-head {
                div {
                    h1 { (name) "'s care" }
                    p.lead { "Vaccinations " (status_badge(overall)) }
                }
            }
            section.section aria-labelledby="vaccines-title" {
                h2 #vaccines-title { "Vaccinations" }
                @if series.is_empty() {
                    p { "No vaccination recorded yet." }
                } @else {
                    div.table-scroll {
                        table.members {
                            thead { tr { th scope="col" { "Vaccine" } th scope="col" { "Last dose" } th scope="col" { "Next due" } th scope="col" { "Status" } } }
                            tbody { @for s in &series { (series_row(s)) } }
                        }
                    }
                }
            }
            section.section aria-labelledby="weight-title" {
                h2 #weight-title { "Weight" }
                @if weights.len() >= 2 {
                    img.chart src={ "/pets/" (pet.id) "/weights.svg" } alt={ (name) "'s weight over time, from " (weights[0].weight_kg) " kg to " (weights[weights.len() - 1].weight_kg) " kg" } width="800" height="320";
                }
                @if let Some(t) = trend {
                    p { "Trend over the last 90 days: " (format!("{t:+.2}")) " kg per 30 days." }
                }
                @if weights.is_empty() {
                    p { "No weigh-in yet." }
                } @else {
                    p { "Latest: " (weights[weights.len() - 1].weight_kg) " kg on " (format_date(weights[weights.len() - 1].date)) " (" (weights.len()) " weigh-ins)." }
                }
            }
            section.section aria-labelledby="records-title" {
                div.section-head {
                    h2 #records-title { "Records" }
                }
                form.form.filters method="get" action={ "/pets/" (pet.id) "/care" } {
                    (layout::select(&Select { name: "show", label: "Show", hint: None, options: &kinds, selected: &query.show, placeholder: Some("Every kind"), required: false }, &FormErrors::none()))
                    button.button.button-secondary type="submit" { "Show" }
                }
                @if records.items.is_empty() {
                    p { "No records yet." }
                } @else {
                    ul.record-list {
                        @for r in &records.items {
                            li { (record_item(state, r, &files, can_write, &signed_in.csrf)) }
                        }
                    }
                    @if records.has_next() {
                        a href={ "/pets/" (pet.id) "/care?show=" (query.show) "&page=" (page.page + 1) } { "Older records" }
                    }
                }
            }
            (super::sharing::controls(signed_in, pet, passport.as_ref(), lost.as_ref(), None))
            @if can_write {
                section.section aria-labelledby="add-title" {
                    h2 #add-title { "Add a record" }
                    (record_form(&format!("/pets/{}/records", pet.id), "Add record", form, errors, &signed_in.csrf))
                }
            }
        },
    ))
}

fn series_row(s: &SeriesStatus) -> Markup {
    html! {
        tr {
            th scope="row" { (s.label) }
            td { time datetime=(format_date(s.last_dose)) { (format_date(s.last_dose)) } }
            td { time datetime=(format_date(s.due)) { (format_date(s.due)) } }
            td { (status_badge(s.status)) }
        }
    }
}

fn record_item(state: &AppState, r: &Record, files: &[petty_store::FileMeta], can_write: bool, csrf: &str) -> Markup {
    let c = &r.content;
    let attached: Vec<&petty_store::FileMeta> = files.iter().filter(|f| f.health_record_id == Some(r.id)).collect();
    html! {
        article.record aria-labelledby={ "record-" (r.id) } {
            h3 id={ "record-" (r.id) } { span.badge { (c.kind.label()) } " " (c.title) }
            p.record-meta {
                time datetime=(format_date(c.date)) { (format_date(c.date)) }
                @if let Some(vet) = &c.vet { " · " (vet) }
                @if let Some(cents) = c.cost_cents { " · " (format!("{:.2}", cents as f64 / 100.0)) }
                @if let Some(w) = c.weight_kg { " · " (w) " kg" }
                @if let Some(dose) = &c.dose { " · " (dose) }
                @if let Some(schedule) = &c.schedule { " · " (schedule) }
                @if let Some(until) = c.valid_until { " · valid until " (format_date(until)) }
            }
            @if let Some(d) = &c.description { p { (d) } }
            @if !attached.is_empty() {
                ul.attachments aria-label={ "Files of " (c.title) } {
                    @for f in &attached {
                        @let (url, thumb) = petty_app::files::links(&state.app, f);
                        li {
                            a href=(url) {
                                @if let Some(t) = thumb { img src=(t) alt="" width="64"; " " }
                                (f.filename)
                            }
                        }
                    }
                }
            }
            @if can_write {
                form.form.inline method="post" action={ "/records/" (r.id) "/attachments" } enctype="multipart/form-data" {
                    (layout::csrf_field(csrf))
                    label { "Attach a file (JPEG, PNG, WebP or PDF) " input type="file" name="file" accept="image/jpeg,image/png,image/webp,application/pdf"; }
                    button.button.button-secondary type="submit" aria-label={ "Attach a file to " (c.title) } { "Attach" }
                }
                (change_and_delete(&format!("/records/{}", r.id), &c.title, csrf))
            }
        }
    }
}

/// A "Change" link to `<base>/edit` and a "Delete" button posting to `<base>/delete`.
fn change_and_delete(base: &str, title: &str, csrf: &str) -> Markup {
    html! {
        div.actions {
            a href={ (base) "/edit" } aria-label={ "Change " (title) } { "Change" }
            form method="post" action={ (base) "/delete" } {
                (layout::csrf_field(csrf))
                button.button.button-quiet type="submit" aria-label={ "Delete " (title) } { "Delete" }
            }
        }
    }
}

/// The record form as posted: all text, so a bad value is explained beside its field.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub(crate) struct RecordForm {
    csrf: String,
    kind: String,
    title: String,
    date: String,
    vet: String,
    cost: String,
    vaccine: String,
    valid_until: String,
    dose: String,
    schedule: String,
    weight_kg: String,
    description: String,
}

impl RecordForm {
    async fn for_today(state: &AppState, household: petty_core::ids::HouseholdId) -> Result<Self, PageError> {
        let today = care::today(&state.app, household).await?;
        Ok(RecordForm { date: format_date(today), kind: "visit".to_owned(), ..RecordForm::default() })
    }

    fn from_record(r: &Record) -> Self {
        let raw = r.content.to_raw();
        RecordForm {
            csrf: String::new(),
            kind: raw.kind,
            title: raw.title.unwrap_or_default(),
            date: raw.date,
            vet: raw.vet.unwrap_or_default(),
            cost: raw.cost.map(|c| format!("{c:.2}")).unwrap_or_default(),
            vaccine: raw.vaccine.unwrap_or_default(),
            valid_until: raw.valid_until.unwrap_or_default(),
            dose: raw.dose.unwrap_or_default(),
            schedule: raw.schedule.unwrap_or_default(),
            weight_kg: raw.weight_kg.map(|w| w.to_string()).unwrap_or_default(),
            description: raw.description.unwrap_or_default(),
        }
    }

    /// The numbers' own problems first, then the record's rules through `raw`.
    fn to_raw(&self) -> Result<RawRecord, Invalid> {
        let mut errors = Vec::new();
        let mut number = |field: &'static str, text: &str, what: &str| -> Option<f64> {
            let t = text.trim().trim_end_matches("kg").trim().replace(',', ".");
            if t.is_empty() {
                return None;
            }
            match t.parse::<f64>() {
                Ok(v) => Some(v),
                Err(_) => {
                    errors.push(FieldError::new(field, "type", format!("{field} must be {what}")));
                    None
                }
            }
        };
        let cost = number("cost", &self.cost, "an amount like 45.50");
        let weight_kg = number("weight_kg", &self.weight_kg, "a number of kilograms, like 4.5");
        if !errors.is_empty() {
            return Err(Invalid(errors));
        }
        let opt = |s: &str| Some(s.to_owned()).filter(|s| !s.trim().is_empty());
        Ok(RawRecord {
            kind: self.kind.clone(),
            title: opt(&self.title),
            description: opt(&self.description),
            date: self.date.clone(),
            vet: opt(&self.vet),
            cost,
            vaccine: opt(&self.vaccine),
            valid_until: opt(&self.valid_until),
            dose: opt(&self.dose),
            schedule: opt(&self.schedule),
            weight_kg,
        })
    }
}

const RECORD_FIELDS: [(&str, &str); 11] = [
    ("kind", "Kind"),
    ("title", "Title"),
    ("date", "Date"),
    ("vet", "Vet or clinic"),
    ("cost", "Cost"),
    ("vaccine", "Vaccine"),
    ("valid_until", "Valid until"),
    ("dose", "Dose"),
    ("schedule", "How often"),
    ("weight_kg", "Weight (kg)"),
    ("description", "Notes"),
];

fn record_form(action: &str, submit: &str, form: &RecordForm, errors: &FormErrors, csrf: &str) -> Markup {
    let kinds: Vec<(&str, &str)> = RecordKind::ALL.iter().map(|k| (k.as_str(), k.label())).collect();
    let vaccines: Vec<(&str, &str)> = Vaccine::ALL.iter().map(|v| (v.as_str(), v.label())).collect();
    let label = |name: &str| RECORD_FIELDS.iter().find(|(n, _)| *n == name).map_or("", |(_, l)| *l);
    html! {
        (layout::error_summary(errors, &RECORD_FIELDS))
        form.form method="post" action=(action) novalidate {
            (layout::csrf_field(csrf))
            div.form-row {
                (layout::select(&Select { name: "kind", label: label("kind"), hint: None, options: &kinds, selected: &form.kind, placeholder: None, required: true }, errors))
                (layout::input(&Input { name: "date", label: label("date"), kind: "date", value: &form.date, required: true, ..Input::default() }, errors))
            }
            (layout::input(&Input { name: "title", label: label("title"), value: &form.title, maxlength: Some(petty_core::care::TITLE_MAX), hint: Some("For example: Rabies booster, Annual checkup. A weigh-in needs none."), ..Input::default() }, errors))
            div.form-row {
                (layout::input(&Input { name: "vet", label: label("vet"), value: &form.vet, autocomplete: Some("off"), ..Input::default() }, errors))
                (layout::input(&Input { name: "cost", label: label("cost"), value: &form.cost, inputmode: Some("decimal"), autocomplete: Some("off"), ..Input::default() }, errors))
            }
            fieldset.fieldset {
                legend { "Vaccinations" }
                div.form-row {
                    (layout::select(&Select { name: "vaccine", label: label("vaccine"), hint: Some("Recognised from the title when left empty."), options: &vaccines, selected: &form.vaccine, placeholder: Some("From the title"), required: false }, errors))
                    (layout::input(&Input { name: "valid_until", label: label("valid_until"), kind: "date", value: &form.valid_until, hint: Some("Only if the vet wrote one."), ..Input::default() }, errors))
                }
            }
            fieldset.fieldset {
                legend { "Medications" }
                div.form-row {
                    (layout::input(&Input { name: "dose", label: label("dose"), value: &form.dose, hint: Some("For example: 5 mg"), ..Input::default() }, errors))
                    (layout::input(&Input { name: "schedule", label: label("schedule"), value: &form.schedule, hint: Some("For example: twice a day with food"), ..Input::default() }, errors))
                }
            }
            (layout::input(&Input { name: "weight_kg", label: label("weight_kg"), value: &form.weight_kg, inputmode: Some("decimal"), hint: Some("For a weigh-in."), autocomplete: Some("off"), ..Input::default() }, errors))
            (layout::textarea(&TextArea { name: "description", label: label("description"), hint: None, value: &form.description, maxlength: petty_core::care::DESCRIPTION_MAX }, errors))
            div.actions { button.button type="submit" { (submit) } }
        }
    }
}

#[tracing::instrument(skip_all, fields(household_id = %signed_in.membership.household_id, pet_id = %id))]
pub(crate) async fn create_record(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<RecordForm>,
) -> Result<Response, PageError> {
    signed_in.check_csrf(&state, &form.csrf)?;
    signed_in.require(Permission::ManagePets)?;
    let pet = state.store.get_pet(signed_in.membership.household_id, pet_id(&id)?).await?;
    let result = match form.to_raw() {
        Ok(raw) => care::create_record(&state.app, &actor(&signed_in), pet.id, &raw).await.map_err(split),
        Err(invalid) => Err(Ok(invalid)),
    };
    match result {
        Ok(_) => Ok(see_other(&format!("/pets/{}/care", pet.id))),
        Err(Ok(invalid)) => {
            let view =
                care_view(&state, &signed_in, &pet, &CareQuery::default(), &form, &FormErrors::from_invalid(invalid))
                    .await?;
            Ok(layout::html(StatusCode::UNPROCESSABLE_ENTITY, view))
        }
        Err(Err(page)) => Err(page),
    }
}

#[tracing::instrument(skip_all, fields(household_id = %signed_in.membership.household_id, record_id = %id))]
pub(crate) async fn edit_record_page(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    signed_in.require(Permission::ManagePets)?;
    let record = state.store.get_record(signed_in.membership.household_id, uuid(&id)?).await?;
    Ok(layout::html(
        StatusCode::OK,
        edit_record_view(&signed_in, &record, &RecordForm::from_record(&record), &FormErrors::none()),
    ))
}

fn edit_record_view(signed_in: &SignedIn, record: &Record, form: &RecordForm, errors: &FormErrors) -> Markup {
    let chrome = signed_in.chrome();
    let title = format!("Change {}", record.content.title);
    layout::page(
        &title,
        Header::SignedIn(&chrome),
        html! {
            a.back href={ "/pets/" (record.pet_id) "/care" } { "← Back to the care page" }
            h1 { (title) }
            (record_form(&format!("/records/{}/edit", record.id), "Save changes", form, errors, &signed_in.csrf))
        },
    )
}

#[tracing::instrument(skip_all, fields(household_id = %signed_in.membership.household_id, record_id = %id))]
pub(crate) async fn update_record(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<RecordForm>,
) -> Result<Response, PageError> {
    signed_in.check_csrf(&state, &form.csrf)?;
    signed_in.require(Permission::ManagePets)?;
    let record = state.store.get_record(signed_in.membership.household_id, uuid(&id)?).await?;
    let result = match form.to_raw() {
        Ok(raw) => care::update_record(&state.app, &actor(&signed_in), record.id, |r| *r = raw).await.map_err(split),
        Err(invalid) => Err(Ok(invalid)),
    };
    match result {
        Ok(r) => Ok(see_other(&format!("/pets/{}/care", r.pet_id))),
        Err(Ok(invalid)) => {
            let view = edit_record_view(&signed_in, &record, &form, &FormErrors::from_invalid(invalid));
            Ok(layout::html(StatusCode::UNPROCESSABLE_ENTITY, view))
        }
        Err(Err(page)) => Err(page),
    }
}

pub(crate) async fn delete_record(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    signed_in.check_csrf(&state, &form.csrf)?;
    signed_in.require(Permission::ManagePets)?;
    let record = state.store.get_record(signed_in.membership.household_id, uuid(&id)?).await?;
    care::delete_record(&state.app, &actor(&signed_in), record.id)
        .await
        .map_err(|e| split(e).err().unwrap_or(PageError::Internal))?;
    Ok(see_other(&format!("/pets/{}/care", record.pet_id)))
}

/// `/records/{id}/attachments`: a file attached to a record from its care page.
pub(crate) async fn attach_file(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    multipart: axum::extract::Multipart,
) -> Result<Response, PageError> {
    let household = signed_in.membership.household_id;
    let form = super::uploads::read_checked_file_form(&state, &signed_in, multipart, "file").await?;
    let record = state.store.get_record(household, uuid(&id)?).await?;
    let pet = state.store.get_pet(household, record.pet_id).await?;
    let refused = match form {
        Err(errors) => Some((errors, StatusCode::PAYLOAD_TOO_LARGE)),
        Ok(read) => match read.file {
            None => Some((FormErrors::general("Choose a file to attach."), StatusCode::UNPROCESSABLE_ENTITY)),
            Some((filename, content_type, bytes)) => {
                let upload = petty_app::files::DirectUpload {
                    bytes,
                    filename,
                    content_type,
                    purpose: petty_core::files::Purpose::HealthRecordAttachment,
                    pet_id: Some(record.pet_id),
                    health_record_id: Some(record.id),
                };
                match super::uploads::upload_file(&state, household, upload, "file").await? {
                    Ok(_) => None,
                    Err(errors) => Some((errors, StatusCode::UNPROCESSABLE_ENTITY)),
                }
            }
        },
    };
    match refused {
        None => Ok(see_other(&format!("/pets/{}/care", record.pet_id))),
        Some((errors, status)) => {
            let form = RecordForm::for_today(&state, household).await?;
            let view = care_view(&state, &signed_in, &pet, &CareQuery::default(), &form, &errors).await?;
            Ok(layout::html(status, view))
        }
    }
}

/// `/pets/{id}/weights.svg`: the weight log drawn.
pub(crate) async fn weights_svg(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let household = signed_in.membership.household_id;
    let pet = state.store.get_pet(household, pet_id(&id)?).await?;
    if !care::sees_pet(&state.app, &signed_in.actor(), pet.id).await? {
        return Err(PageError::NotFound);
    }
    let (weights, _) = care::weight_log(&state.app, household, pet.id).await?;
    if weights.is_empty() {
        return Err(PageError::NotFound);
    }
    const DAY_MS: i64 = 86_400_000;
    let ms = |d: time::Date| petty_store::to_ms(d.midnight().assume_utc());
    let from = ms(weights[0].date);
    let to = ms(weights[weights.len() - 1].date) + DAY_MS;
    let buckets = weights
        .iter()
        .map(|w| Bucket { start_ms: ms(w.date), min: w.weight_kg, mean: w.weight_kg, max: w.weight_kg })
        .collect();
    let chart = Chart::new(
        format!("{}'s weight", pet.profile.name),
        "Weight".into(),
        "kg".into(),
        ChartKind::Line,
        from,
        to,
        DAY_MS,
    )
    .with_buckets(buckets);
    Ok(([(header::CONTENT_TYPE, "image/svg+xml"), (header::CACHE_CONTROL, "private, no-store")], render_svg(&chart))
        .into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct RemindersQuery {
    status: String,
}

fn may_see_reminders(signed_in: &SignedIn) -> Result<(), PageError> {
    if care::sees_reminders(signed_in.membership.role) {
        Ok(())
    } else {
        Err(PageError::Forbidden("As a vet you see the pets' care records, not the household's reminders.".into()))
    }
}

/// `/reminders`: what is due, overdue and done, with the ways to act on each.
pub(crate) async fn reminders_page(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Query(query): Query<RemindersQuery>,
) -> Result<Response, PageError> {
    may_see_reminders(&signed_in)?;
    let form = ReminderForm::default();
    Ok(layout::html(StatusCode::OK, reminders_view(&state, &signed_in, &query, &form, &FormErrors::none()).await?))
}

async fn reminders_view(
    state: &AppState,
    signed_in: &SignedIn,
    query: &RemindersQuery,
    form: &ReminderForm,
    errors: &FormErrors,
) -> Result<Markup, PageError> {
    let household = signed_in.membership.household_id;
    let status: StatusFilter = query.status.parse().unwrap_or(StatusFilter::Pending);
    let status = if query.status.is_empty() { StatusFilter::Pending } else { status };
    let now = state.app.now();
    let page = PageRequest { page: 1, page_size: PageRequest::MAX_SIZE };
    let found =
        state.store.list_reminders(household, &ReminderFilter { status, ..Default::default() }, now, page).await?;
    let pet_options = pet_options(state, household).await?;
    let pet_name = |r: &Reminder| {
        let id = r.content.pet_id?.to_string();
        pet_options.iter().find(|(p, _)| *p == id).map(|(_, name)| name.clone())
    };
    let zone = care::default_zone(&state.app, &actor(signed_in)).await?;
    let can_act = signed_in.can(Permission::WriteCare);
    let can_write = signed_in.can(Permission::ManagePets);
    let chrome = signed_in.chrome();
    let tabs = [("pending", "To do"), ("overdue", "Overdue"), ("completed", "Done"), ("all", "All")];
    let current = match status {
        StatusFilter::Pending => "pending",
        StatusFilter::Overdue => "overdue",
        StatusFilter::Completed => "completed",
        StatusFilter::All => "all",
    };
    Ok(layout::page(
        "Reminders",
        Header::SignedIn(&chrome),
        html! {
            div.page-head { div { h1 { "Reminders" } p.lead { "Times are shown in " (zone.name()) "." } } }
            nav.tabs aria-label="Which reminders" {
                @for (value, text) in tabs {
                    a href={ "/reminders?status=" (value) } aria-current=[(value == current).then_some("page")] { (text) }
                }
            }
            @if found.items.is_empty() {
                p { "Nothing here." }
            } @else {
                // Each reminder is an h3: the list has the h2 above them, for screen readers.
                @let shown = tabs.iter().find(|(value, _)| *value == current).map_or("All", |(_, text)| text);
                h2.visually-hidden { "Reminders: " (shown) }
                ul.record-list {
                    @for r in &found.items {
                        li { (reminder_item(r, pet_name(r).as_deref(), &zone, now, can_act, can_write, &signed_in.csrf)) }
                    }
                }
            }
            @if can_write {
                section.section aria-labelledby="new-reminder" {
                    h2 #new-reminder { "New reminder" }
                    (reminder_form("/reminders", "Add reminder", form, errors, &pet_options, &signed_in.csrf))
                }
            }
        },
    ))
}

fn local_text(zone: &Zone, at: OffsetDateTime) -> String {
    let l = zone.local_at(at);
    format!("{} {:02}:{:02}", l.date().map(format_date).unwrap_or_default(), l.hour(), l.minute())
}

fn reminder_item(
    r: &Reminder,
    pet: Option<&str>,
    zone: &Zone,
    now: OffsetDateTime,
    can_act: bool,
    can_write: bool,
    csrf: &str,
) -> Markup {
    let c = &r.content;
    let status = if r.is_completed() {
        "Done"
    } else if r.is_overdue(now) {
        "Overdue"
    } else {
        "To do"
    };
    html! {
        article.record aria-labelledby={ "reminder-" (r.id) } {
            h3 id={ "reminder-" (r.id) } {
                (c.title)
                @if let Some(p) = pet { @if !c.title.contains(p) { " – " (p) } }
            }
            p.record-meta {
                span.badge { (status) } " "
                @if let Some(done) = r.completed_at { "Done " (local_text(zone, done)) } @else {
                    "Due " time datetime=(petty_app::rfc3339::from_ms(petty_store::to_ms(r.due_at)).unwrap_or_default()) { (local_text(zone, r.due_at)) }
                }
                @if let Some(rep) = c.schedule.repeat { " · repeats " (rep.as_str()) }
                @if r.completed_count > 0 { " · done " (r.completed_count) " times" }
                @if let Some(s) = r.snoozed_until { " · snoozed until " (local_text(zone, s)) }
            }
            @if let Some(d) = &c.description { p { (d) } }
            @if can_act && !r.is_completed() {
                div.actions {
                    form method="post" action={ "/reminders/" (r.id) "/complete" } {
                        (layout::csrf_field(csrf))
                        button.button type="submit" aria-label={ "Mark " (c.title) " done" } { "Done" }
                    }
                    form method="post" action={ "/reminders/" (r.id) "/snooze" } {
                        (layout::csrf_field(csrf))
                        input type="hidden" name="minutes" value="60";
                        button.button.button-secondary type="submit" aria-label={ "Snooze " (c.title) " for an hour" } { "Snooze 1 h" }
                    }
                    form method="post" action={ "/reminders/" (r.id) "/skip" } {
                        (layout::csrf_field(csrf))
                        button.button.button-quiet type="submit" aria-label={ "Skip " (c.title) " this time" } { "Skip" }
                    }
                }
            }
            @if can_write {
                (change_and_delete(&format!("/reminders/{}", r.id), &c.title, csrf))
            }
        }
    }
}

/// The reminder form as posted.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub(crate) struct ReminderForm {
    csrf: String,
    title: String,
    pet_id: String,
    date: String,
    time: String,
    repeat: String,
    ends_on: String,
    timezone: String,
    description: String,
    email: Option<String>,
    sms: Option<String>,
}

impl ReminderForm {
    fn from_reminder(r: &Reminder) -> Self {
        let c = &r.content;
        ReminderForm {
            csrf: String::new(),
            title: c.title.clone(),
            pet_id: c.pet_id.map(|p| p.to_string()).unwrap_or_default(),
            date: c.schedule.anchor.date().map(format_date).unwrap_or_default(),
            time: format!("{:02}:{:02}", c.schedule.anchor.hour(), c.schedule.anchor.minute()),
            repeat: c.schedule.repeat.map(|r| r.as_str().to_owned()).unwrap_or_default(),
            ends_on: c.schedule.ends_at.map(|e| format_date(c.schedule.zone.date_at(e))).unwrap_or_default(),
            timezone: c.schedule.zone.name().to_owned(),
            description: c.description.clone().unwrap_or_default(),
            email: c.methods.contains(&Method::Email).then(|| "on".to_owned()),
            sms: c.methods.contains(&Method::Sms).then(|| "on".to_owned()),
        }
    }

    fn to_raw(&self) -> Result<RawReminder, Invalid> {
        let pet_id = match self.pet_id.trim() {
            "" => None,
            p => Some(p.parse::<PetId>().map_err(|_| Invalid(vec![care::unknown_pet("pet_id")]))?),
        };
        let time = if self.time.trim().is_empty() { "09:00" } else { self.time.trim() };
        if self.date.trim().is_empty() {
            return Err(Invalid::one("date", "required", "date is required"));
        }
        let mut methods = vec!["push".to_owned()];
        if self.email.is_some() {
            methods.push("email".to_owned());
        }
        if self.sms.is_some() {
            methods.push("sms".to_owned());
        }
        let opt = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        Ok(RawReminder {
            pet_id,
            title: self.title.clone(),
            description: opt(&self.description),
            at: format!("{}T{time}", self.date.trim()),
            timezone: opt(&self.timezone),
            repeat: opt(&self.repeat),
            // The end date's last minute, local time.
            ends_at: opt(&self.ends_on).map(|d| format!("{d}T23:59")),
            methods: Some(methods),
        })
    }
}

const REMINDER_FIELDS: [(&str, &str); 9] = [
    ("title", "What"),
    ("pet_id", "Pet"),
    ("date", "Date"),
    ("at", "Date and time"),
    ("time", "Time"),
    ("repeat", "Repeats"),
    ("ends_at", "Until"),
    ("timezone", "Time zone"),
    ("methods", "How to tell"),
];

fn reminder_form(
    action: &str,
    submit: &str,
    form: &ReminderForm,
    errors: &FormErrors,
    pets: &[(String, String)],
    csrf: &str,
) -> Markup {
    let pet_options: Vec<(&str, &str)> = pets.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let repeats: Vec<(&str, &str)> = Repeat::ALL.iter().map(|r| (r.as_str(), r.as_str())).collect();
    let label = |name: &str| REMINDER_FIELDS.iter().find(|(n, _)| *n == name).map_or("", |(_, l)| *l);
    html! {
        (layout::error_summary(errors, &REMINDER_FIELDS))
        form.form method="post" action=(action) novalidate {
            (layout::csrf_field(csrf))
            (layout::input(&Input { name: "title", label: label("title"), value: &form.title, required: true, maxlength: Some(petty_core::reminders::TITLE_MAX), ..Input::default() }, errors))
            (layout::select(&Select { name: "pet_id", label: label("pet_id"), hint: None, options: &pet_options, selected: &form.pet_id, placeholder: Some("No particular pet"), required: false }, errors))
            div.form-row {
                (layout::input(&Input { name: "date", label: label("date"), kind: "date", value: &form.date, required: true, ..Input::default() }, errors))
                (layout::input(&Input { name: "time", label: label("time"), kind: "time", value: if form.time.is_empty() { "09:00" } else { &form.time }, ..Input::default() }, errors))
            }
            div.form-row {
                (layout::select(&Select { name: "repeat", label: label("repeat"), hint: None, options: &repeats, selected: &form.repeat, placeholder: Some("Does not repeat"), required: false }, errors))
                (layout::input(&Input { name: "ends_on", label: label("ends_at"), kind: "date", value: &form.ends_on, hint: Some("Leave empty to go on."), ..Input::default() }, errors))
            }
            (layout::input(&Input { name: "timezone", label: label("timezone"), value: &form.timezone, hint: Some("Leave empty for yours, or an IANA name such as Europe/Paris."), autocomplete: Some("off"), ..Input::default() }, errors))
            fieldset.fieldset {
                legend { "How to tell" }
                p.hint { "Always on the dashboard." }
                label.check { input type="checkbox" name="email" checked[form.email.is_some()]; " Email" }
                label.check { input type="checkbox" name="sms" checked[form.sms.is_some()]; " Text message (to the household's contacts)" }
            }
            (layout::textarea(&TextArea { name: "description", label: "Notes", hint: None, value: &form.description, maxlength: petty_core::reminders::DESCRIPTION_MAX }, errors))
            div.actions { button.button type="submit" { (submit) } }
        }
    }
}

pub(crate) async fn create_reminder(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Form(form): Form<ReminderForm>,
) -> Result<Response, PageError> {
    signed_in.check_csrf(&state, &form.csrf)?;
    signed_in.require(Permission::ManagePets)?;
    may_see_reminders(&signed_in)?;
    let result = match form.to_raw() {
        Ok(raw) => care::create_reminder(&state.app, &actor(&signed_in), &raw).await.map_err(|e| match e {
            CareError::NotFound(_) => Ok(Invalid(vec![care::unknown_pet("pet_id")])),
            other => split(other),
        }),
        Err(invalid) => Err(Ok(invalid)),
    };
    match result {
        Ok(_) => Ok(see_other("/reminders")),
        Err(Ok(invalid)) => {
            let view = reminders_view(
                &state,
                &signed_in,
                &RemindersQuery::default(),
                &form,
                &FormErrors::from_invalid(invalid),
            )
            .await?;
            Ok(layout::html(StatusCode::UNPROCESSABLE_ENTITY, view))
        }
        Err(Err(page)) => Err(page),
    }
}

pub(crate) async fn edit_reminder_page(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    signed_in.require(Permission::ManagePets)?;
    may_see_reminders(&signed_in)?;
    let household = signed_in.membership.household_id;
    let r = state.store.get_reminder(household, uuid(&id)?).await?;
    let pets = pet_options(&state, household).await?;
    Ok(layout::html(
        StatusCode::OK,
        edit_reminder_view(&signed_in, &r, &ReminderForm::from_reminder(&r), &FormErrors::none(), &pets),
    ))
}

async fn pet_options(
    state: &AppState,
    household: petty_core::ids::HouseholdId,
) -> Result<Vec<(String, String)>, PageError> {
    let page = PageRequest { page: 1, page_size: PageRequest::MAX_SIZE };
    let pets = state.store.list_pets(household, &Default::default(), page).await?;
    Ok(pets.items.iter().map(|p| (p.id.to_string(), p.profile.name.clone())).collect())
}

fn edit_reminder_view(
    signed_in: &SignedIn,
    r: &Reminder,
    form: &ReminderForm,
    errors: &FormErrors,
    pets: &[(String, String)],
) -> Markup {
    let chrome = signed_in.chrome();
    let title = format!("Change {}", r.content.title);
    layout::page(
        &title,
        Header::SignedIn(&chrome),
        html! {
            a.back href="/reminders" { "← Back to reminders" }
            h1 { (title) }
            (reminder_form(&format!("/reminders/{}/edit", r.id), "Save changes", form, errors, pets, &signed_in.csrf))
        },
    )
}

pub(crate) async fn update_reminder(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<ReminderForm>,
) -> Result<Response, PageError> {
    signed_in.check_csrf(&state, &form.csrf)?;
    signed_in.require(Permission::ManagePets)?;
    may_see_reminders(&signed_in)?;
    let household = signed_in.membership.household_id;
    let r = state.store.get_reminder(household, uuid(&id)?).await?;
    let result = match form.to_raw() {
        Ok(raw) => {
            care::update_reminder(&state.app, &actor(&signed_in), r.id, |x| *x = raw).await.map_err(|e| match e {
                CareError::NotFound("pet") => Ok(Invalid(vec![care::unknown_pet("pet_id")])),
                other => split(other),
            })
        }
        Err(invalid) => Err(Ok(invalid)),
    };
    match result {
        Ok(_) => Ok(see_other("/reminders")),
        Err(Ok(invalid)) => {
            let pets = pet_options(&state, household).await?;
            let view = edit_reminder_view(&signed_in, &r, &form, &FormErrors::from_invalid(invalid), &pets);
            Ok(layout::html(StatusCode::UNPROCESSABLE_ENTITY, view))
        }
        Err(Err(page)) => Err(page),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct ActForm {
    csrf: String,
    minutes: Option<u32>,
}

/// `/reminders/{id}/{complete|skip|snooze|delete}`.
pub(crate) async fn act_on_reminder(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path((id, what)): Path<(String, String)>,
    Form(form): Form<ActForm>,
) -> Result<Response, PageError> {
    signed_in.check_csrf(&state, &form.csrf)?;
    may_see_reminders(&signed_in)?;
    let id = uuid(&id)?;
    let actor = actor(&signed_in);
    let action = match what.as_str() {
        "complete" => Action::Complete,
        "skip" => Action::Skip,
        "snooze" => {
            let minutes = form.minutes.filter(|m| (1..=43_200).contains(m)).unwrap_or(60);
            Action::Snooze { until: state.app.now() + time::Duration::minutes(i64::from(minutes)) }
        }
        "delete" => {
            signed_in.require(Permission::ManagePets)?;
            care::delete_reminder(&state.app, &actor, id)
                .await
                .map_err(|e| split(e).err().unwrap_or(PageError::Internal))?;
            return Ok(see_other("/reminders"));
        }
        _ => return Err(PageError::NotFound),
    };
    signed_in.require(Permission::WriteCare)?;
    match care::act_on_reminder(&state.app, &actor, id, action).await {
        Ok(_) => Ok(see_other("/reminders")),
        Err(e) => Err(PageError::BadRequest(split(e)?.to_string())),
    }
}

/// `/calendar`: the feed's address, and importing a calendar file.
pub(crate) async fn calendar_page(State(state): State<AppState>, signed_in: SignedIn) -> Result<Response, PageError> {
    may_see_reminders(&signed_in)?;
    let since = state.store.calendar_feed_since(signed_in.membership.household_id).await?;
    Ok(layout::html(StatusCode::OK, calendar_view(&signed_in, since, None, None)))
}

fn calendar_view(
    signed_in: &SignedIn,
    since: Option<OffsetDateTime>,
    new_url: Option<&str>,
    imported: Option<&petty_app::calendar::ImportOutcome>,
) -> Markup {
    let chrome = signed_in.chrome();
    let can_write = signed_in.can(Permission::ManagePets);
    layout::page(
        "Calendar",
        Header::SignedIn(&chrome),
        html! {
            h1 { "Calendar" }
            section.section aria-labelledby="feed-title" {
                h2 #feed-title { "Subscribe from your calendar" }
                p { "Google Calendar, Outlook and Apple Calendar can subscribe to the household's reminders and vaccine due dates. The address holds a key: anyone with it can read the calendar." }
                @if let Some(url) = new_url {
                    div.notice role="status" {
                        p { "Your calendar address (shown once; copy it now):" }
                        p { code.secret { (url) } }
                    }
                } @else if let Some(at) = since {
                    p { "A calendar address has been in use since " (format_date(at.date())) ". Making a new one stops the old one." }
                }
                @if can_write {
                    div.actions {
                        form method="post" action="/calendar/feed" {
                            (layout::csrf_field(&signed_in.csrf))
                            button.button type="submit" { @if since.is_some() { "Make a new address" } @else { "Make a calendar address" } }
                        }
                        @if since.is_some() {
                            form method="post" action="/calendar/feed/revoke" {
                                (layout::csrf_field(&signed_in.csrf))
                                button.button.button-danger type="submit" { "Stop the calendar address" }
                            }
                        }
                    }
                }
            }
            @if can_write {
                section.section aria-labelledby="import-title" {
                    h2 #import-title { "Import a calendar file" }
                    p { "Each event becomes a reminder. Importing the same file again updates them." }
                    @if let Some(out) = imported {
                        div.notice role="status" {
                            p { (out.imported) " imported, " (out.updated) " updated, " (out.skipped.len()) " skipped." }
                            @if !out.skipped.is_empty() {
                                ul { @for (uid, why) in &out.skipped { li { (uid) ": " (why) } } }
                            }
                        }
                    }
                    form.form method="post" action="/calendar/import" {
                        (layout::csrf_field(&signed_in.csrf))
                        (layout::textarea(&TextArea { name: "ics", label: "Calendar file (.ics) contents", hint: Some("Open the .ics file in a text editor and paste it here."), value: "", maxlength: 1_000_000 }, &FormErrors::none()))
                        div.actions { button.button type="submit" { "Import" } }
                    }
                }
            }
        },
    )
}

pub(crate) async fn new_feed(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    signed_in.check_csrf(&state, &form.csrf)?;
    signed_in.require(Permission::ManagePets)?;
    may_see_reminders(&signed_in)?;
    let token = petty_app::calendar::new_feed_token(&state.app, &actor(&signed_in))
        .await
        .map_err(|e| PageError::from(petty_http::ApiError::from(e)))?;
    let url = format!("{}/api/v1/calendar/feed.ics?token={token}", state.app.notifier.public_url());
    let since = state.store.calendar_feed_since(signed_in.membership.household_id).await?;
    Ok(layout::html(StatusCode::OK, calendar_view(&signed_in, since, Some(&url), None)))
}

pub(crate) async fn revoke_feed(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    signed_in.check_csrf(&state, &form.csrf)?;
    signed_in.require(Permission::ManagePets)?;
    state.store.revoke_calendar_feed(signed_in.membership.household_id).await?;
    Ok(see_other("/calendar"))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct ImportForm {
    csrf: String,
    ics: String,
}

pub(crate) async fn import_calendar(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Form(form): Form<ImportForm>,
) -> Result<Response, PageError> {
    signed_in.check_csrf(&state, &form.csrf)?;
    signed_in.require(Permission::ManagePets)?;
    may_see_reminders(&signed_in)?;
    let outcome = petty_app::calendar::import_ics(&state.app, &actor(&signed_in), &form.ics).await.map_err(|e| {
        match split(e) {
            Ok(invalid) => PageError::BadRequest(invalid.to_string()),
            Err(page) => page,
        }
    })?;
    let since = state.store.calendar_feed_since(signed_in.membership.household_id).await?;
    Ok(layout::html(StatusCode::OK, calendar_view(&signed_in, since, None, Some(&outcome))))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct ZoneForm {
    csrf: String,
    timezone: String,
    /// `household` or `me`.
    whose: String,
}

/// `/timezone`: the household's (owner) or the person's own time zone.
pub(crate) async fn set_timezone(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Form(form): Form<ZoneForm>,
) -> Result<Response, PageError> {
    signed_in.check_csrf(&state, &form.csrf)?;
    let zone = Zone::parse("timezone", &form.timezone).map_err(|e| PageError::BadRequest(e.to_string()))?;
    if form.whose == "household" {
        signed_in.require(Permission::ManageHousehold)?;
        state.store.set_household_zone(signed_in.membership.household_id, &zone).await?;
    } else {
        state.store.set_user_zone(signed_in.user.id, &zone).await?;
    }
    Ok(see_other("/household#time-zones"))
}

/// The household page's time zone section.
pub(crate) fn timezone_section(signed_in: &SignedIn, household_zone: &Zone, my_zone: &Zone) -> Markup {
    html! {
        section.section #time-zones aria-labelledby="tz-title" {
            h2 #tz-title { "Time zones" }
            p { "Vaccine due dates count the household's days; your reminders keep their time in yours." }
            @if signed_in.membership.role == Role::Owner {
                form.form.inline method="post" action="/timezone" {
                    (layout::csrf_field(&signed_in.csrf))
                    input type="hidden" name="whose" value="household";
                    (layout::input(&Input { name: "timezone", label: "The household's time zone", value: household_zone.name(), autocomplete: Some("off"), ..Input::default() }, &FormErrors::none()))
                    button.button.button-secondary type="submit" { "Save" }
                }
            } @else {
                p { "The household's time zone: " (household_zone.name()) }
            }
            form.form.inline method="post" action="/timezone" {
                (layout::csrf_field(&signed_in.csrf))
                input type="hidden" name="whose" value="me";
                (layout::input(&Input { name: "timezone", label: "Your time zone", value: my_zone.name(), autocomplete: Some("off"), ..Input::default() }, &FormErrors::none()))
                button.button.button-secondary type="submit" { "Save" }
            }
        }
    }
}
