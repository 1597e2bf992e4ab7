//! `/pets`: Petty's pets in the contract's shape, with the pet's record summary, its next
//! reminders and its vaccine series on the single read.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use petty_core::care::VaccineStatus;
use petty_core::ids::PetId;
use petty_core::pets::{Pet, PetProfile, RawPetProfile, Species};
use petty_http::AppState;
use petty_http::extract::ClientIp;
use petty_store::{PetFilter, RecordFilter};
use serde_json::{Value, json};
use time::{Date, OffsetDateTime};

use super::wire::{Body, Check, messages, page_request, paging, param, path_id, query};
use super::{Action, Answer, Detail, Fail, Member, date, ok, pagination, require, ts};

const NAME_MAX: usize = 100;
const SPECIES_MAX: usize = 50;
const BREED_MAX: usize = 100;
const NOTES_MAX: usize = petty_core::pets::NOTES_MAX;
const WEIGHT_MAX: f64 = 999.99;

/// The pet as the contract shows it.
pub(super) fn pet_json(state: &AppState, pet: &Pet, vaccine_status: VaccineStatus) -> Value {
    let p = &pet.profile;
    json!({
        "id": pet.id.0,
        "name": p.name,
        "species": p.species.as_str(),
        "breed": p.breed,
        "dateOfBirth": p.date_of_birth.map(date),
        "weightKg": p.weight_kg,
        "microchipId": p.microchip_id,
        "sex": p.sex.as_str(),
        "notes": p.notes,
        "profilePhotoUrl": super::uploads::photo(state, p.photo_url.as_deref()),
        "vaccineStatus": vaccine_status.as_str(),
        "createdAt": ts(pet.created_at),
        "updatedAt": ts(pet.updated_at),
    })
}

/// The contract's species (any text of up to 50 characters) as Petty's: unknown ones are `other`.
fn species_of(text: &str) -> Species {
    text.trim().to_lowercase().parse().unwrap_or(Species::Other)
}

/// The household's local date.
pub(super) async fn today(state: &AppState, member: &Member) -> Result<Date, Fail> {
    petty_app::care::today(&state.app, member.household()).await.map_err(Fail::store)
}

/// Checks a pet body by the contract's rules; `update` leaves absent fields alone. Answers the
/// raw profile to give Petty (starting from `base`).
fn check_pet(body: &Body, base: RawPetProfile, update: bool, today: Date) -> Result<RawPetProfile, Fail> {
    let mut c = Check::new(body);
    let mut raw = base;
    let present = |name: &str| !update || body.has(name);
    if present("name")
        && let Some(Some(name)) = c.text("name", NAME_MAX, true, None)
    {
        raw.name = name;
    }
    if present("species") {
        match c.text("species", SPECIES_MAX, false, Some("species must be at most 50 characters")) {
            Some(Some(s)) => raw.species = species_of(&s).as_str().to_owned(),
            Some(None) => raw.species = Species::Other.as_str().to_owned(),
            None => {}
        }
    }
    if present("breed")
        && let Some(breed) = c.text("breed", BREED_MAX, false, None)
    {
        raw.breed = breed;
    }
    if present("dateOfBirth") {
        match c.text("dateOfBirth", 10, false, Some(messages::DATE_OF_BIRTH)) {
            Some(Some(d)) => match petty_core::pets::parse_date("dateOfBirth", &d) {
                Ok(d) if d >= time::macros::date!(1950 - 01 - 01) && d <= today => raw.date_of_birth = Some(date(d)),
                _ => c.fail("dateOfBirth", messages::DATE_OF_BIRTH),
            },
            Some(None) => raw.date_of_birth = None,
            None => {}
        }
    }
    if present("weightKg") {
        match c.number("weightKg", messages::WEIGHT) {
            Some(Some(w)) if w > 0.0 && w <= WEIGHT_MAX => raw.weight_kg = Some((w * 100.0).round() / 100.0),
            Some(Some(_)) => c.fail("weightKg", messages::WEIGHT),
            Some(None) => raw.weight_kg = None,
            None => {}
        }
    }
    if present("microchipId") {
        match c.text("microchipId", 15, false, Some(messages::MICROCHIP)) {
            Some(Some(m)) if m.len() >= 9 && m.chars().all(|c| c.is_ascii_alphanumeric()) => {
                raw.microchip_id = Some(m);
            }
            Some(Some(_)) => c.fail("microchipId", messages::MICROCHIP),
            Some(None) => raw.microchip_id = None,
            None => {}
        }
    }
    if present("sex") {
        match c.text("sex", 10, false, Some("sex must be one of: male, female, unknown")) {
            Some(Some(s)) if s.parse::<petty_core::pets::Sex>().is_ok() => raw.sex = Some(s.to_lowercase()),
            Some(Some(_)) => c.fail("sex", "sex must be one of: male, female, unknown"),
            Some(None) => raw.sex = None,
            None => {}
        }
    }
    if present("notes")
        && let Some(notes) = c.text("notes", NOTES_MAX, false, None)
    {
        raw.notes = notes;
    }
    if !update && !body.has("name") {
        c.fail("name", "name is required");
    }
    c.finish()?;
    Ok(raw)
}

/// Writes the audit entry of a change to a pet, as Petty's own API does.
async fn audit(
    state: &AppState,
    member: &Member,
    ip: std::net::IpAddr,
    action: &str,
    pet: PetId,
    detail: Value,
) -> Result<(), Fail> {
    let who = petty_app::audit::Who::actor(&member.0, Some(ip));
    petty_app::audit::record(&state.app, &who, action, "pet", pet, &detail).await.map_err(Fail::store)
}

/// A new pet's body: JSON in body order, the contract's rules, then Petty's.
pub(super) fn decode_new_pet(bytes: &[u8], today: Date) -> Result<PetProfile, Fail> {
    let body = Body::parse(bytes)?;
    let base = RawPetProfile { species: Species::Other.as_str().to_owned(), ..RawPetProfile::default() };
    let raw = check_pet(&body, base, false, today)?;
    PetProfile::parse(&raw, today).map_err(Fail::canonical)
}

/// 409 when another pet of the household has this microchip.
async fn chip_is_free(state: &AppState, member: &Member, profile: &PetProfile, own: Option<PetId>) -> Result<(), Fail> {
    let Some(chip) = &profile.microchip_id else { return Ok(()) };
    let holders = state.store.pets_with_microchip(member.household(), chip).await.map_err(Fail::store)?;
    if holders.iter().any(|id| Some(*id) != own) {
        return Err(Fail::conflict("microchipId already used by another pet"));
    }
    Ok(())
}

/// `GET /pets?page&limit&search&species`.
pub(super) async fn list(State(state): State<AppState>, member: Member, uri: Uri) -> Answer {
    require(&member.0, Action::Read)?;
    let q = query(&uri)?;
    let mut details: Vec<Detail> = Vec::new();
    let (page, limit) = paging(&q, &mut details);
    if !details.is_empty() {
        return Err(Fail::validation(details));
    }
    let filter = PetFilter {
        species: param(&q, "species").map(species_of),
        text_contains: param(&q, "search").map(|s| s.chars().take(100).collect()),
        // A vet sees the pets shared with them.
        shared_with: member.0.sees_only_shared_pets(),
        ..PetFilter::default()
    };
    let pets =
        state.store.list_pets(member.household(), &filter, page_request(page, limit)).await.map_err(Fail::store)?;
    let statuses = petty_app::care::household_vaccine_statuses(&state.app, member.household(), &pets.items)
        .await
        .map_err(Fail::store)?;
    let items: Vec<Value> = pets
        .items
        .iter()
        .map(|p| pet_json(&state, p, statuses.get(&p.id).copied().unwrap_or(VaccineStatus::None)))
        .collect();
    Ok(ok(StatusCode::OK, json!({"pets": items, "pagination": pagination(page, limit, pets.total)})))
}

/// `POST /pets`.
pub(super) async fn create(
    State(state): State<AppState>,
    member: Member,
    ClientIp(ip): ClientIp,
    bytes: Bytes,
) -> Answer {
    require(&member.0, Action::Write)?;
    let today = today(&state, &member).await?;
    let profile = decode_new_pet(&bytes, today)?;
    chip_is_free(&state, &member, &profile, None).await?;
    super::account::check_pet_limit(&state, member.household()).await?;
    let pet =
        state.store.create_pet(member.household(), &profile, OffsetDateTime::now_utc()).await.map_err(Fail::store)?;
    audit(&state, &member, ip, "create", pet.id, petty_app::audit::no_detail()).await?;
    let out = pet_json(&state, &pet, VaccineStatus::None);
    petty_app::notify::household_event(&state.app, member.household(), "pet.created", out.clone()).await;
    Ok(ok(StatusCode::CREATED, out))
}

/// The pet with this path id in the caller's household.
pub(super) async fn pet_of(state: &AppState, member: &Member, id: &str) -> Result<std::sync::Arc<Pet>, Fail> {
    let id = path_id(id, "Pet not found")?;
    let pet = state.store.get_pet(member.household(), PetId(id)).await.map_err(Fail::store_or("Pet not found"))?;
    // A pet not shared with a vet is, to them, no pet at all.
    if !petty_app::care::sees_pet(&state.app, &member.0, pet.id).await.map_err(Fail::store)? {
        return Err(Fail::not_found("Pet not found"));
    }
    Ok(pet)
}

/// `GET /pets/:id`: the pet, its records' count and five newest, its next five pending
/// occurrences of reminders (none for a vet, who reads no reminders) and its vaccine series.
pub(super) async fn read(State(state): State<AppState>, member: Member, Path(id): Path<String>) -> Answer {
    require(&member.0, Action::Read)?;
    let pet = pet_of(&state, &member, &id).await?;
    let (status, series) =
        petty_app::care::vaccinations(&state.app, member.household(), &pet).await.map_err(Fail::store)?;
    let recent = state
        .store
        .list_records(member.household(), pet.id, &RecordFilter::default(), page_request(1, 5))
        .await
        .map_err(Fail::store)?;
    let upcoming = if super::allows(&member.0, Action::ReadReminders) {
        super::reminders::upcoming_for_pet(&state, &member, &pet, 5).await?
    } else {
        Vec::new()
    };
    let mut out = pet_json(&state, &pet, status);
    out["healthRecords"] = json!({
        "total": recent.total,
        "recent": super::records::records_json(&state, &member, &recent.items).await?,
    });
    out["upcomingReminders"] = json!(upcoming);
    out["vaccinations"] = super::records::vaccinations_json(status, &series);
    Ok(ok(StatusCode::OK, out))
}

/// `PUT /pets/:id`: the fields present change; a changed `weightKg` is also a weigh-in in the
/// pet's weight log.
pub(super) async fn update(
    State(state): State<AppState>,
    member: Member,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Answer {
    require(&member.0, Action::Write)?;
    let current = pet_of(&state, &member, &id).await?;
    let body = Body::parse(&bytes)?;
    let today = today(&state, &member).await?;
    let raw = check_pet(&body, current.profile.to_raw(), true, today)?;
    let profile = PetProfile::parse(&raw, today).map_err(Fail::canonical)?;
    chip_is_free(&state, &member, &profile, Some(current.id)).await?;
    let new_weight = profile.weight_kg.filter(|w| Some(*w) != current.profile.weight_kg);
    let pet = state
        .store
        .update_pet(member.household(), current.id, &profile, OffsetDateTime::now_utc())
        .await
        .map_err(Fail::store_or("Pet not found"))?;
    if let Some(weight) = new_weight {
        petty_app::care::weight_changed(&state.app, &member.0, &pet, weight).await.map_err(Fail::care)?;
    }
    let changed = petty_app::audit::fields(&current.profile.changed_fields(&pet.profile));
    audit(&state, &member, ip, "update", pet.id, changed).await?;
    let (status, _) = petty_app::care::vaccinations(&state.app, member.household(), &pet).await.map_err(Fail::store)?;
    let out = pet_json(&state, &pet, status);
    petty_app::notify::household_event(&state.app, member.household(), "pet.updated", out.clone()).await;
    Ok(ok(StatusCode::OK, out))
}

/// `DELETE /pets/:id`: the pet and its records, reminders and files.
pub(super) async fn delete(
    State(state): State<AppState>,
    member: Member,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
) -> Answer {
    require(&member.0, Action::Delete)?;
    let pet = pet_of(&state, &member, &id).await?;
    // Its photos and attachments first: their bytes are in the object store, not the database.
    petty_app::files::delete_files_of_pet(&state.app, member.household(), pet.id).await.map_err(|_| {
        Fail::new(StatusCode::SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE", "File storage is unavailable; try again")
    })?;
    state.store.delete_pet(member.household(), pet.id).await.map_err(Fail::store_or("Pet not found"))?;
    audit(&state, &member, ip, "delete", pet.id, petty_app::audit::no_detail()).await?;
    let out = json!({"id": pet.id.0, "deleted": true});
    petty_app::notify::household_event(&state.app, member.household(), "pet.deleted", out.clone()).await;
    Ok(ok(StatusCode::OK, out))
}
