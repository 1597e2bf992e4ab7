//! `/household`: the household's pets, its people and its storage use, the dashboard's home.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use bytes::Bytes;
use maud::{Markup, html};
use petty_app::care::CareError;
use petty_core::accounts::Permission;
use petty_core::care::VaccineStatus;
use petty_core::files::{Variant, human_size};
use petty_core::ids::{PetId, UserId};
use petty_core::paging::{Page, PageRequest};
use petty_core::pets::{Pet, format_date};
use petty_core::recurrence::Zone;
use petty_http::AppState;
use petty_store::{Member, PetFilter, StorageUse};
use std::collections::HashMap;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use super::PageError;
use super::layout::{self, Header};
use super::pets::{species_label, weight_text};
use super::session::SignedIn;

#[tracing::instrument(skip_all, fields(household_id = %signed_in.membership.household_id))]
pub(crate) async fn household_page(State(state): State<AppState>, signed_in: SignedIn) -> Result<Response, PageError> {
    let household_id = signed_in.membership.household_id;
    let everything = PageRequest { page: 1, page_size: PageRequest::MAX_SIZE };
    // A vet sees the pets shared with them, and none of the household's people or settings.
    let shared_with = signed_in.actor().sees_only_shared_pets();
    let filter = PetFilter { shared_with, ..PetFilter::default() };
    let pets = state.store.list_pets(household_id, &filter, everything).await?;
    if shared_with.is_some() {
        let view = vet_view(&signed_in, &pets, &state).await?;
        return Ok(layout::html(StatusCode::OK, view));
    }
    let members = state.store.list_members(household_id).await?;
    let mut shares = HashMap::new();
    for m in members.iter().filter(|m| !m.role.sees_every_pet()) {
        shares.insert(m.user.id, state.store.vet_shared_pets(household_id, m.user.id).await?);
    }
    let statuses = petty_app::care::household_vaccine_statuses(&state.app, household_id, &pets.items).await?;
    let zones = (state.store.household_zone(household_id).await?, state.store.user_zone(signed_in.user.id).await?);
    let storage = state.store.storage_used(household_id).await?;
    let photos: Vec<Option<String>> =
        pets.items.iter().map(|pet| super::pets::photo_src(&state, pet, Variant::Thumbnail)).collect();
    let view = household_view(
        &signed_in,
        &pets,
        &Extras { photos: &photos, statuses: &statuses, storage: &storage, shares: &shares },
        &members,
        &zones,
        OffsetDateTime::now_utc(),
    );
    Ok(layout::html(StatusCode::OK, view))
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub(crate) struct PetsQuery {
    /// Name, breed or microchip contains this.
    q: String,
}

/// `/pets`: every pet of the household, with its photo, age, vaccinations and weight, and a
/// search by name, breed or microchip. A vet sees the pets shared with them on the household
/// page, and is sent there.
pub(crate) async fn pets_page(
    State(state): State<AppState>,
    signed_in: SignedIn,
    axum::extract::Query(query): axum::extract::Query<PetsQuery>,
) -> Result<Response, PageError> {
    if signed_in.actor().sees_only_shared_pets().is_some() {
        return Ok(Redirect::to("/household").into_response());
    }
    let household_id = signed_in.membership.household_id;
    let q = query.q.trim();
    let filter = PetFilter { text_contains: (!q.is_empty()).then(|| q.to_owned()), ..PetFilter::default() };
    let everything = PageRequest { page: 1, page_size: PageRequest::MAX_SIZE };
    let pets = state.store.list_pets(household_id, &filter, everything).await?;
    let statuses = petty_app::care::household_vaccine_statuses(&state.app, household_id, &pets.items).await?;
    let today = state.store.household_zone(household_id).await?.date_at(OffsetDateTime::now_utc());
    let chrome = signed_in.chrome();
    let can_manage = signed_in.can(Permission::ManagePets);
    let view = layout::page(
        "Pets",
        Header::SignedIn(&chrome),
        html! {
            div.page-head {
                div {
                    h1 { "Pets" }
                    p.lead {
                        @if q.is_empty() { (pet_count(pets.total)) " in " (signed_in.membership.household_name) "." }
                        @else { (pet_count(pets.total)) " match “" (q) "”." }
                    }
                }
                @if can_manage { a.button href="/pets/new" { "Add a pet" } }
            }
            form.form.search method="get" action="/pets" role="search" {
                label for="pets-q" { "Find a pet by name, breed or microchip" }
                input #pets-q type="search" name="q" value=(q) maxlength="100";
                button.button type="submit" { "Search" }
            }
            @if pets.items.is_empty() {
                div.empty {
                    @if q.is_empty() {
                        h2 { "No pets yet" }
                        p { "Add your first pet to follow its days, care and collar." }
                        @if can_manage { a.button href="/pets/new" { "Add a pet" } }
                    } @else {
                        h2 { "No pet matches" }
                        p { a href="/pets" { "Show every pet" } }
                    }
                }
            } @else {
                // Each pet is an h3: the list has the h2 above them, for screen readers.
                h2.visually-hidden { "The pets" }
                ul.pet-list {
                    @for pet in &pets.items {
                        @let vaccines = statuses.get(&pet.id).copied().unwrap_or(VaccineStatus::None);
                        @let photo = super::pets::photo_src(&state, pet, Variant::Thumbnail);
                        li { (pet_card(pet, photo.as_deref(), vaccines, today)) }
                    }
                }
            }
        },
    );
    Ok(layout::html(StatusCode::OK, view))
}

/// What the household page shows beside each pet and below the people.
struct Extras<'a> {
    /// Where each pet's photo is found, in the pets' order.
    photos: &'a [Option<String>],
    statuses: &'a HashMap<PetId, VaccineStatus>,
    storage: &'a StorageUse,
    /// The pets shared with each vet of the household.
    shares: &'a HashMap<UserId, Vec<PetId>>,
}

/// The household as a vet sees it: the pets shared with them, each leading to its care records.
async fn vet_view(signed_in: &SignedIn, pets: &Page<Pet>, state: &AppState) -> Result<Markup, PageError> {
    let household_id = signed_in.membership.household_id;
    let statuses = petty_app::care::household_vaccine_statuses(&state.app, household_id, &pets.items).await?;
    let chrome = signed_in.chrome();
    Ok(layout::page(
        &signed_in.membership.household_name,
        Header::SignedIn(&chrome),
        html! {
            div.page-head {
                div {
                    h1 { (signed_in.membership.household_name) }
                    p.lead { "The household shares " (pet_count(pets.total)) " with you. You see their care records." }
                }
            }
            section.section aria-labelledby="pets-title" {
                div.section-head { h2 #pets-title { "Pets shared with you" } }
                @if pets.items.is_empty() {
                    div.empty {
                        h3 { "No pets shared with you yet" }
                        p { "The household's owner chooses which pets you see, on their household page." }
                    }
                } @else {
                    ul.pet-list {
                        @for pet in &pets.items {
                            @let vaccines = statuses.get(&pet.id).copied().unwrap_or(VaccineStatus::None);
                            li {
                                article.pet-card aria-labelledby={ "pet-" (pet.id) } {
                                    span.pet-avatar aria-hidden="true" { (pet.profile.name.chars().next().map(|c| c.to_uppercase().to_string()).unwrap_or_default()) }
                                    div {
                                        h3 id={ "pet-" (pet.id) } { a href={ "/pets/" (pet.id) "/care" } { (pet.profile.name) } }
                                        p.pet-kind {
                                            (species_label(pet.profile.species))
                                            @if let Some(breed) = &pet.profile.breed { " · " (breed) }
                                        }
                                    }
                                    dl.pet-facts {
                                        dt { "Vaccinations" }
                                        dd { (super::care::status_badge(vaccines)) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        },
    ))
}

/// For an owner, beside a vet: which pets the vet sees, as a form of checkboxes.
fn vet_shares_form(signed_in: &SignedIn, member: &Member, pets: &[Pet], shared: &[PetId]) -> Markup {
    let owner = signed_in.can(Permission::ManageHousehold);
    let names: Vec<&str> = pets.iter().filter(|p| shared.contains(&p.id)).map(|p| p.profile.name.as_str()).collect();
    html! {
        @if !owner {
            @if names.is_empty() { "No pets" } @else { (names.join(", ")) }
        } @else if pets.is_empty() {
            "No pets to share yet"
        } @else {
            form.vet-shares method="post" action={ "/household/members/" (member.user.id) "/pets" } {
                (layout::csrf_field(&signed_in.csrf))
                fieldset {
                    legend { "Pets " (member.user.display_name) " sees" }
                    @for pet in pets {
                        label.check {
                            input type="checkbox" name="pet_id" value=(pet.id) checked[shared.contains(&pet.id)];
                            " " (pet.profile.name)
                        }
                    }
                }
                button.button.button-secondary type="submit" { "Save" }
            }
        }
    }
}

fn household_view(
    signed_in: &SignedIn,
    pets: &Page<Pet>,
    extras: &Extras<'_>,
    members: &[Member],
    zones: &(Zone, Zone),
    now: OffsetDateTime,
) -> Markup {
    let today = now.date();
    let can_manage = signed_in.can(Permission::ManagePets);
    let chrome = signed_in.chrome();
    layout::page(
        &signed_in.membership.household_name,
        Header::SignedIn(&chrome),
        html! {
            div.page-head {
                div {
                    h1 { (signed_in.membership.household_name) }
                    p.lead { (pet_count(pets.total)) " · " (members.len()) " " (plural(members.len() as u64, "person", "people")) }
                }
            }
            section.section aria-labelledby="pets-title" {
                div.section-head {
                    h2 #pets-title { "Pets" }
                    @if can_manage && !pets.items.is_empty() { a.button href="/pets/new" { "Add a pet" } }
                }
                @if pets.items.is_empty() {
                    div.empty {
                        h3 { "No pets yet" }
                        @if can_manage {
                            p { "Add your first pet to keep their details in one place." }
                            a.button href="/pets/new" { "Add a pet" }
                        } @else {
                            p { "When someone in the household adds a pet, it shows up here." }
                        }
                    }
                } @else {
                    ul.pet-list {
                        @for (pet, photo) in pets.items.iter().zip(extras.photos) {
                            @let vaccines = extras.statuses.get(&pet.id).copied().unwrap_or(VaccineStatus::None);
                            li { (pet_card(pet, photo.as_deref(), vaccines, today)) }
                        }
                    }
                    @if pets.has_next() {
                        p.lead { "Showing the first " (pets.items.len()) " of " (pets.total) " pets." }
                    }
                }
            }
            section.section aria-labelledby="members-title" {
                div.section-head { h2 #members-title { "People" } }
                div.table-scroll {
                    table.members {
                        thead { tr { th scope="col" { "Name" } th scope="col" { "Role" } th scope="col" { "Access until" } } }
                        tbody {
                            @for member in members {
                                tr {
                                    th scope="row" {
                                        (member.user.display_name)
                                        @if member.user.id == signed_in.user.id { " " span.you { "(you)" } }
                                    }
                                    td { span.badge { (layout::role_label(member.role)) } }
                                    td {
                                        @if let Some(ends) = member.ends_at {
                                            @let day = format_date(ends.date());
                                            @if ends <= now { "Ended " }
                                            time datetime=(day) { (day) }
                                        } @else { span.visually-hidden { "No end date" } "—" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @let vets: Vec<&Member> = members.iter().filter(|m| extras.shares.contains_key(&m.user.id)).collect();
            @if !vets.is_empty() {
                section.section aria-labelledby="vets-title" {
                    div.section-head { h2 #vets-title { "What vets see" } }
                    p.lead { "A vet sees the care records of the pets shared with them, and nothing else of the household." }
                    @for vet in vets {
                        div.vet-shares {
                            h3 { (vet.user.display_name) }
                            (vet_shares_form(signed_in, vet, &pets.items, extras.shares.get(&vet.user.id).map_or(&[][..], Vec::as_slice)))
                        }
                    }
                }
            }
            (settings_section(signed_in))
            (super::care::timezone_section(signed_in, &zones.0, &zones.1))
            section.section aria-labelledby="storage-title" {
                div.section-head { h2 #storage-title { "Storage" } }
                p #storage-use {
                    (extras.storage.files) " " (plural(extras.storage.files, "file", "files")) " (photos of pets and listings, and records' attachments) use "
                    strong { (human_size(extras.storage.bytes)) } "."
                    @if extras.storage.pending > 0 {
                        " " (extras.storage.pending) " " (plural(extras.storage.pending, "upload is", "uploads are"))
                        " not finished yet; unfinished uploads are removed after a day."
                    }
                }
            }
        },
    )
}

/// Links to the household's settings pages, each shown to the roles its page lets in.
fn settings_section(signed_in: &SignedIn) -> Markup {
    let owner = signed_in.can(Permission::ManageHousehold);
    html! {
        section.section aria-labelledby="settings-title" {
            div.section-head { h2 #settings-title { "Settings" } }
            ul.settings-links {
                li { a href="/geofences" { "Geofences" } ": the areas your pets should stay in, on maps of the collars' recent positions" }
                li { a href="/household/retention" { "Data retention" } ": how long the devices' readings are kept" }
                li { a href="/household/api-keys" { "API keys" } ": keys for other programs, with what each may do" }
                @if owner {
                    li { a href="/household/members" { "Members and invitations" } ": roles, removing someone, inviting someone" }
                }
            }
        }
    }
}

/// One pet; `photo` is where its photo is found (a fresh signed link for an uploaded one).
fn pet_card(pet: &Pet, photo: Option<&str>, vaccines: VaccineStatus, today: Date) -> Markup {
    let profile = &pet.profile;
    let initial = profile.name.chars().next().map(|c| c.to_uppercase().to_string()).unwrap_or_default();
    html! {
        article.pet-card aria-labelledby={ "pet-" (pet.id) } {
            @if let Some(photo) = photo {
                img.pet-avatar src=(photo) alt="" loading="lazy" width="56" height="56";
            } @else {
                span.pet-avatar aria-hidden="true" { (initial) }
            }
            div {
                h3 id={ "pet-" (pet.id) } { a href={ "/pets/" (pet.id) } { (profile.name) } }
                p.pet-kind {
                    (species_label(profile.species))
                    @if let Some(breed) = &profile.breed { " · " (breed) }
                    " · " a href={ "/pets/" (pet.id) "/edit" } aria-label={ "Profile of " (profile.name) } { "Profile" }
                }
            }
            dl.pet-facts {
                dt { "Age" }
                dd {
                    @if let Some(born) = profile.date_of_birth {
                        @let day = format_date(born);
                        time datetime=(day) title={ "Born " (day) } { (age(born, today)) }
                    } @else { "Not known" }
                }
                dt { "Vaccinations" }
                dd { a href={ "/pets/" (pet.id) "/care" } aria-label={ "Care of " (profile.name) ": vaccinations " (vaccines.label()) } { (super::care::status_badge(vaccines)) } }
                dt { "Weight" }
                dd {
                    @if let Some(kg) = profile.weight_kg { (weight_text(kg)) " kg" } @else { "Not known" }
                }
            }
        }
    }
}

fn pet_count(n: u64) -> String {
    if n == 0 { "No pets".to_owned() } else { format!("{n} {}", plural(n, "pet", "pets")) }
}

fn plural(n: u64, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 { one } else { many }
}

/// A pet's age the way people say it: weeks for the very young, months in the first two
/// years, then years.
fn age(born: Date, today: Date) -> String {
    if born >= today {
        return "Newborn".to_owned();
    }
    let mut months =
        (today.year() - born.year()) * 12 + (i32::from(u8::from(today.month())) - i32::from(u8::from(born.month())));
    if today.day() < born.day() {
        months -= 1;
    }
    match months {
        0 => {
            let weeks = (today - born).whole_weeks();
            if weeks == 0 {
                let days = (today - born).whole_days();
                format!("{days} {}", plural(days as u64, "day", "days"))
            } else {
                format!("{weeks} {}", plural(weeks as u64, "week", "weeks"))
            }
        }
        1..=23 => format!("{months} {}", plural(months as u64, "month", "months")),
        _ => {
            let years = months / 12;
            format!("{years} years")
        }
    }
}

/// `POST /household/members/{user_id}/pets`: the owner's form beside a vet; exactly the ticked
/// pets are shared with them from now on.
pub(crate) async fn share_with_vet(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(user_id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    let mut csrf = String::new();
    let mut pets = Vec::new();
    for (name, value) in form_urlencoded::parse(&body) {
        match &*name {
            "csrf" => csrf = value.into_owned(),
            "pet_id" => pets.push(PetId(value.parse::<Uuid>().map_err(|_| {
                PageError::BadRequest("pet_id: each ticked pet must be one of the household's".to_owned())
            })?)),
            _ => {}
        }
    }
    signed_in.check_csrf(&state, &csrf)?;
    signed_in.require(Permission::ManageHousehold)?;
    let vet = UserId(user_id.parse::<Uuid>().map_err(|_| PageError::NotFound)?);
    petty_app::care::share_with_vet(&state.app, &signed_in.actor(), vet, &pets).await.map_err(|e| match e {
        CareError::Invalid(invalid) => PageError::BadRequest(invalid.to_string()),
        CareError::NotFound(_) => PageError::NotFound,
        CareError::Plan(e) => PageError::Forbidden(e.to_string()),
        CareError::Store(e) => e.into(),
    })?;
    Ok(Redirect::to("/household").into_response())
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    #[test]
    fn ages_read_naturally() {
        let today = date!(2026 - 03 - 15);
        assert_eq!(age(date!(2026 - 03 - 14), today), "1 day");
        assert_eq!(age(date!(2026 - 03 - 01), today), "2 weeks");
        assert_eq!(age(date!(2026 - 02 - 15), today), "1 month");
        assert_eq!(age(date!(2026 - 02 - 16), today), "3 weeks");
        assert_eq!(age(date!(2025 - 03 - 15), today), "12 months");
        assert_eq!(age(date!(2024 - 03 - 16), today), "23 months");
        assert_eq!(age(date!(2024 - 03 - 15), today), "2 years");
        assert_eq!(age(date!(2016 - 12 - 01), today), "9 years");
        assert_eq!(age(today, today), "Newborn");
    }
}
