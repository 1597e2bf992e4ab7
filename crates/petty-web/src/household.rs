//! `/household`: the household's pets, its people and its storage use, the dashboard's home.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use petty_core::accounts::Permission;
use petty_core::care::VaccineStatus;
use petty_core::files::{Variant, human_size};
use petty_core::ids::PetId;
use petty_core::paging::{Page, PageRequest};
use petty_core::pets::{Pet, format_date};
use petty_core::recurrence::Zone;
use petty_http::AppState;
use petty_store::{Member, PetFilter, StorageUse};
use std::collections::HashMap;
use time::{Date, OffsetDateTime};

use super::PageError;
use super::layout::{self, Header};
use super::pets::{species_label, weight_text};
use super::session::SignedIn;

#[tracing::instrument(skip_all, fields(household_id = %signed_in.membership.household_id))]
pub(crate) async fn household_page(State(state): State<AppState>, signed_in: SignedIn) -> Result<Response, PageError> {
    let household_id = signed_in.membership.household_id;
    let everything = PageRequest { page: 1, page_size: PageRequest::MAX_SIZE };
    let pets = state.store.list_pets(household_id, &PetFilter::default(), everything).await?;
    let members = state.store.list_members(household_id).await?;
    let statuses = petty_app::care::household_vaccine_statuses(&state.app, household_id, &pets.items).await?;
    let zones = (state.store.household_zone(household_id).await?, state.store.user_zone(signed_in.user.id).await?);
    let storage = state.store.storage_used(household_id).await?;
    let photos: Vec<Option<String>> =
        pets.items.iter().map(|pet| super::pets::photo_src(&state, pet, Variant::Thumbnail)).collect();
    let view = household_view(
        &signed_in,
        &pets,
        &Extras { photos: &photos, statuses: &statuses, storage: &storage },
        &members,
        &zones,
        OffsetDateTime::now_utc(),
    );
    Ok(layout::html(StatusCode::OK, view))
}

/// What the household page shows beside each pet and below the people.
struct Extras<'a> {
    /// Where each pet's photo is found, in the pets' order.
    photos: &'a [Option<String>],
    statuses: &'a HashMap<PetId, VaccineStatus>,
    storage: &'a StorageUse,
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
            (super::care::timezone_section(signed_in, &zones.0, &zones.1))
            section.section aria-labelledby="storage-title" {
                div.section-head { h2 #storage-title { "Storage" } }
                p #storage-use {
                    (extras.storage.files) " " (plural(extras.storage.files, "file", "files")) " (pets' photos and records' attachments) use "
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
