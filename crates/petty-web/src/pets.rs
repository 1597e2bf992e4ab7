//! `/pets/new`, `/pets/{id}/edit`, `/pets/{id}/photo`, `/pets/{id}/delete`: one pet's form and
//! its photo. People whose role may not manage pets (sitters, vets) see the pet read-only and
//! get a 403 page for any change.
//!
//! The photo form is a multipart upload that works without JavaScript; it goes through
//! `uploads`, the dashboard's one path for a file that arrives with its form.

use axum::Form;
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use petty_app::billing::BillingError;
use petty_app::files::DirectUpload;
use petty_core::accounts::Permission;
use petty_core::billing::Limited;
use petty_core::files::{Purpose, Variant};
use petty_core::ids::PetId;
use petty_core::pets::{self, Pet, PetProfile, RawPetProfile, Sex, Species};
use petty_core::validation::Collector;
use petty_core::{FieldError, Invalid};
use petty_http::extract::ClientIp;
use petty_http::{ApiError, AppState};
use serde::Deserialize;
use time::{Date, OffsetDateTime};

use super::PageError;
use super::layout::{self, FormErrors, Header, Input, Select, TextArea};
use super::session::SignedIn;
use super::uploads;

/// The pet form as posted. Every field is text, so that a bad value is explained beside its
/// field rather than refused by the extractor.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct PetForm {
    csrf: String,
    name: String,
    species: String,
    breed: String,
    date_of_birth: String,
    birth_precision: String,
    sex: String,
    neutered: String,
    weight_kg: String,
    microchip_id: String,
    photo_url: String,
    notes: String,
}

impl PetForm {
    fn from_profile(profile: &PetProfile) -> Self {
        let raw = profile.to_raw();
        Self {
            csrf: String::new(),
            name: raw.name,
            species: raw.species,
            breed: raw.breed.unwrap_or_default(),
            date_of_birth: raw.date_of_birth.unwrap_or_default(),
            birth_precision: raw.birth_precision.unwrap_or_default(),
            sex: raw.sex.unwrap_or_default(),
            neutered: neutered_value(raw.neutered).to_owned(),
            weight_kg: raw.weight_kg.map(weight_text).unwrap_or_default(),
            microchip_id: raw.microchip_id.unwrap_or_default(),
            photo_url: raw.photo_url.unwrap_or_default(),
            notes: raw.notes.unwrap_or_default(),
        }
    }

    /// Every problem at once: the weight's own (it arrives as text) and the profile's rules.
    fn parse(&self, today: Date) -> Result<PetProfile, Invalid> {
        let mut collector = Collector::new();
        let weight_kg = collector.take(parse_weight(&self.weight_kg)).flatten();
        let raw = RawPetProfile {
            name: self.name.clone(),
            species: self.species.clone(),
            breed: Some(self.breed.clone()),
            date_of_birth: Some(self.date_of_birth.clone()),
            birth_precision: Some(self.birth_precision.clone()),
            sex: Some(self.sex.clone()),
            neutered: match self.neutered.as_str() {
                "yes" => Some(true),
                "no" => Some(false),
                _ => None,
            },
            weight_kg,
            microchip_id: Some(self.microchip_id.clone()),
            photo_url: Some(self.photo_url.clone()),
            notes: Some(self.notes.clone()),
        };
        let profile = collector.take(PetProfile::parse(&raw, today).map_err(|invalid| self.explain(invalid)));
        collector.finish()?;
        profile.ok_or_else(|| Invalid::one("body", "invalid", "the pet could not be read"))
    }

    /// A species left unchosen is a missing answer, not a wrong one: say so.
    fn explain(&self, mut invalid: Invalid) -> Invalid {
        for error in &mut invalid.0 {
            if error.field == "species" && self.species.trim().is_empty() {
                *error = FieldError::new("species", "required", "Choose the pet's species");
            }
        }
        invalid
    }
}

/// Kilograms as typed: `4.5`, `4,5` and `4.5 kg` all mean the same; empty means unknown.
fn parse_weight(raw: &str) -> Result<Option<f64>, Invalid> {
    let text = raw.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let number = text.strip_suffix("kg").unwrap_or(text).trim().replace(',', ".");
    number
        .parse::<f64>()
        .map(Some)
        .map_err(|_| Invalid::one("weight_kg", "type", "weight_kg must be a number of kilograms, like 4.5"))
}

/// `4.5`, `30`: as short as the number allows.
pub(crate) fn weight_text(kg: f64) -> String {
    format!("{kg}")
}

pub(crate) fn species_label(species: Species) -> &'static str {
    match species {
        Species::Dog => "Dog",
        Species::Cat => "Cat",
        Species::Bird => "Bird",
        Species::Rabbit => "Rabbit",
        Species::Rodent => "Rodent",
        Species::Fish => "Fish",
        Species::Reptile => "Reptile",
        Species::Horse => "Horse",
        Species::Other => "Other",
    }
}

/// The neuter status as the form's select names it.
fn neutered_value(neutered: Option<bool>) -> &'static str {
    match neutered {
        Some(true) => "yes",
        Some(false) => "no",
        None => "unknown",
    }
}

pub(crate) fn neutered_label(neutered: Option<bool>) -> &'static str {
    match neutered {
        Some(true) => "Neutered or spayed",
        Some(false) => "Not neutered",
        None => "Not known",
    }
}

fn sex_label(sex: Sex) -> &'static str {
    match sex {
        Sex::Male => "Male",
        Sex::Female => "Female",
        Sex::Unknown => "Not known",
    }
}

/// An id from the URL; one that cannot be a pet is simply not found.
fn pet_id(raw: &str) -> Result<PetId, PageError> {
    raw.parse().map_err(|_| PageError::NotFound)
}

fn today() -> Date {
    OffsetDateTime::now_utc().date()
}

pub(crate) async fn new_pet_page(signed_in: SignedIn) -> Result<Response, PageError> {
    signed_in.require(Permission::ManagePets)?;
    let view = form_view(&signed_in, None, &PetForm::default(), &FormErrors::none(), &Photo::default());
    Ok(layout::html(StatusCode::OK, view))
}

#[tracing::instrument(skip_all, fields(household_id = %signed_in.membership.household_id))]
pub(crate) async fn create_pet(
    State(state): State<AppState>,
    signed_in: SignedIn,
    ClientIp(ip): ClientIp,
    Form(form): Form<PetForm>,
) -> Result<Response, PageError> {
    signed_in.check_csrf(&state, &form.csrf)?;
    signed_in.require(Permission::ManagePets)?;
    let profile = match form.parse(today()) {
        Ok(profile) => profile,
        Err(invalid) => {
            let errors = FormErrors::from_invalid(invalid);
            let view = form_view(&signed_in, None, &form, &errors, &Photo::default());
            return Ok(layout::html(StatusCode::UNPROCESSABLE_ENTITY, view));
        }
    };
    let household_id = signed_in.membership.household_id;
    match petty_app::billing::check_limit(&state.app, household_id, Limited::Pets).await {
        Ok(()) => {}
        Err(BillingError::LimitReached(limit)) => {
            let errors =
                FormErrors::general(format!("{limit} on the {} plan. See the Plan page to upgrade.", limit.tier));
            return Ok(layout::html(
                StatusCode::FORBIDDEN,
                form_view(&signed_in, None, &form, &errors, &Photo::default()),
            ));
        }
        Err(other) => return Err(ApiError::from(other).into()),
    }
    let pet = state.store.create_pet(household_id, &profile, OffsetDateTime::now_utc()).await?;
    tracing::info!(pet_id = %pet.id, "pet added from the dashboard");
    signed_in.audit(&state, ip, "create", "pet", pet.id, petty_app::audit::no_detail()).await?;
    Ok(Redirect::to("/household").into_response())
}

#[tracing::instrument(skip_all, fields(household_id = %signed_in.membership.household_id))]
pub(crate) async fn edit_pet_page(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let pet = state.store.get_pet(signed_in.membership.household_id, pet_id(&id)?).await?;
    let photo = Photo::of(&state, &pet);
    let view = if signed_in.can(Permission::ManagePets) {
        form_view(&signed_in, Some(&pet), &PetForm::from_profile(&pet.profile), &FormErrors::none(), &photo)
    } else {
        read_only_view(&signed_in, &pet, &photo)
    };
    Ok(layout::html(StatusCode::OK, view))
}

#[tracing::instrument(skip_all, fields(household_id = %signed_in.membership.household_id, pet_id = %id))]
pub(crate) async fn update_pet(
    State(state): State<AppState>,
    signed_in: SignedIn,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
    Form(form): Form<PetForm>,
) -> Result<Response, PageError> {
    signed_in.check_csrf(&state, &form.csrf)?;
    signed_in.require(Permission::ManagePets)?;
    let household_id = signed_in.membership.household_id;
    let pet = state.store.get_pet(household_id, pet_id(&id)?).await?;
    let profile = match form.parse(today()) {
        Ok(profile) => profile,
        Err(invalid) => {
            let errors = FormErrors::from_invalid(invalid);
            let view = form_view(&signed_in, Some(&pet), &form, &errors, &Photo::of(&state, &pet));
            return Ok(layout::html(StatusCode::UNPROCESSABLE_ENTITY, view));
        }
    };
    state.store.update_pet(household_id, pet.id, &profile, OffsetDateTime::now_utc()).await?;
    signed_in
        .audit(&state, ip, "update", "pet", pet.id, petty_app::audit::fields(&pet.profile.changed_fields(&profile)))
        .await?;
    Ok(Redirect::to("/household").into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct DeleteForm {
    csrf: String,
}

#[tracing::instrument(skip_all, fields(household_id = %signed_in.membership.household_id, pet_id = %id))]
pub(crate) async fn delete_pet(
    State(state): State<AppState>,
    signed_in: SignedIn,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
    Form(form): Form<DeleteForm>,
) -> Result<Response, PageError> {
    signed_in.check_csrf(&state, &form.csrf)?;
    signed_in.require(Permission::ManagePets)?;
    let (household_id, pet_id) = (signed_in.membership.household_id, pet_id(&id)?);
    state.store.get_pet(household_id, pet_id).await?;
    // Its photos and attachments first: their bytes are in the object store, not the database.
    petty_app::files::delete_files_of_pet(&state.app, household_id, pet_id).await.map_err(ApiError::from)?;
    state.store.delete_pet(household_id, pet_id).await?;
    tracing::info!("pet deleted from the dashboard");
    signed_in.audit(&state, ip, "delete", "pet", id, petty_app::audit::no_detail()).await?;
    Ok(Redirect::to("/household").into_response())
}

const FIELDS: [(&str, &str); 11] = [
    ("name", "Name"),
    ("species", "Species"),
    ("sex", "Sex"),
    ("neutered", "Neutered"),
    ("breed", "Breed"),
    ("date_of_birth", "Date of birth"),
    ("birth_precision", "How sure"),
    ("weight_kg", "Weight (kg)"),
    ("microchip_id", "Microchip number"),
    ("photo_url", "Photo URL"),
    ("notes", "Notes"),
];

/// The add form (`pet` is `None`) or the edit form, with what was typed and what is wrong, and
/// (editing) the photo form.
fn form_view(signed_in: &SignedIn, pet: Option<&Pet>, form: &PetForm, errors: &FormErrors, photo: &Photo) -> Markup {
    let species: Vec<(&str, &str)> = Species::ALL.iter().map(|s| (s.as_str(), species_label(*s))).collect();
    let sexes: Vec<(&str, &str)> = Sex::ALL.iter().map(|s| (s.as_str(), sex_label(*s))).collect();
    let neuter_options: Vec<(&str, &str)> =
        [None, Some(true), Some(false)].into_iter().map(|n| (neutered_value(n), neutered_label(n))).collect();
    let precisions = [("day", "The exact day"), ("month", "Only the month"), ("year", "Only the year (an estimate)")];
    let today = pets::format_date(today());
    let (title, action, submit) = match pet {
        None => ("Add a pet".to_owned(), "/pets/new".to_owned(), "Add pet"),
        Some(pet) => (format!("Edit {}", pet.profile.name), format!("/pets/{}/edit", pet.id), "Save changes"),
    };
    let chrome = signed_in.chrome();
    let label = |name: &str| FIELDS.iter().find(|(n, _)| *n == name).map_or("", |(_, l)| *l);
    layout::page(
        &title,
        Header::SignedIn(&chrome),
        html! {
            a.back href="/household" { "← Back to " (signed_in.membership.household_name) }
            h1 { (title) }
            (layout::error_summary(errors, &FIELDS))
            form.form method="post" action=(action) novalidate {
                (layout::csrf_field(&signed_in.csrf))
                (layout::input(&Input {
                    name: "name", label: label("name"), value: &form.name, autocomplete: Some("off"),
                    maxlength: Some(pets::NAME_MAX), required: true, ..Input::default()
                }, errors))
                div.form-row {
                    (layout::select(&Select {
                        name: "species", label: label("species"), hint: None, options: &species,
                        selected: &form.species, placeholder: Some("Choose a species"), required: true,
                    }, errors))
                    (layout::select(&Select {
                        name: "sex", label: label("sex"), hint: None, options: &sexes,
                        selected: if form.sex.is_empty() { "unknown" } else { &form.sex },
                        placeholder: None, required: false,
                    }, errors))
                    (layout::select(&Select {
                        name: "neutered", label: label("neutered"), hint: None, options: &neuter_options,
                        selected: if form.neutered.is_empty() { "unknown" } else { &form.neutered },
                        placeholder: None, required: false,
                    }, errors))
                }
                (layout::input(&Input {
                    name: "breed", label: label("breed"), value: &form.breed, autocomplete: Some("off"),
                    maxlength: Some(pets::BREED_MAX), ..Input::default()
                }, errors))
                div.form-row {
                    (layout::input(&Input {
                        name: "date_of_birth", label: label("date_of_birth"), kind: "date",
                        value: &form.date_of_birth, hint: Some("A guess is fine."), max: Some(&today),
                        ..Input::default()
                    }, errors))
                    (layout::select(&Select {
                        name: "birth_precision", label: label("birth_precision"), hint: None, options: &precisions,
                        selected: if form.birth_precision.is_empty() { "day" } else { &form.birth_precision },
                        placeholder: None, required: false,
                    }, errors))
                    (layout::input(&Input {
                        name: "weight_kg", label: label("weight_kg"), value: &form.weight_kg,
                        hint: Some("In kilograms, for example 4.5."), inputmode: Some("decimal"),
                        autocomplete: Some("off"), ..Input::default()
                    }, errors))
                }
                (layout::input(&Input {
                    name: "microchip_id", label: label("microchip_id"), value: &form.microchip_id,
                    hint: Some("9 to 15 letters and digits (15 digits on an ISO chip)."),
                    autocomplete: Some("off"), ..Input::default()
                }, errors))
                (layout::input(&Input {
                    name: "photo_url", label: label("photo_url"), kind: "url", value: &form.photo_url,
                    hint: Some("A link to a photo, starting with https://"), autocomplete: Some("off"),
                    maxlength: Some(pets::PHOTO_URL_MAX), ..Input::default()
                }, errors))
                (layout::textarea(&TextArea {
                    name: "notes", label: label("notes"), value: &form.notes,
                    hint: Some("Feeding, medicines, habits: anything a sitter should know."),
                    maxlength: pets::NOTES_MAX,
                }, errors))
                div.actions {
                    button.button type="submit" { (submit) }
                    a href="/household" { "Cancel" }
                }
            }
            @if let Some(pet) = pet {
                (photo_form(signed_in, pet, photo))
                section.danger-zone aria-labelledby="delete-title" {
                    h2 #delete-title { "Delete " (pet.profile.name) }
                    p { "This removes " (pet.profile.name) " and their details for everyone in the household. It cannot be undone." }
                    form method="post" action={ "/pets/" (pet.id) "/delete" } {
                        (layout::csrf_field(&signed_in.csrf))
                        button.button.button-danger type="submit" { "Delete " (pet.profile.name) }
                    }
                }
            }
        },
    )
}

/// What sitters and vets see: every detail, nothing to change.
fn read_only_view(signed_in: &SignedIn, pet: &Pet, photo: &Photo) -> Markup {
    let profile = &pet.profile;
    let chrome = signed_in.chrome();
    let unknown = "Not known";
    layout::page(
        &profile.name,
        Header::SignedIn(&chrome),
        html! {
            a.back href="/household" { "← Back to " (signed_in.membership.household_name) }
            h1 { (profile.name) }
            p.lead { "As a " (signed_in.membership.role) " you can see this pet's details but not change them." }
            dl.details.panel {
                dt { "Species" } dd { (species_label(profile.species)) }
                dt { "Sex" } dd { (sex_label(profile.sex)) }
                dt { "Neutered" } dd { (neutered_label(profile.neutered)) }
                dt { "Breed" } dd { (profile.breed.as_deref().unwrap_or(unknown)) }
                dt { "Date of birth" }
                dd { (profile.date_of_birth.map(|d| profile.birth_precision.show(d)).as_deref().unwrap_or(unknown)) }
                dt { "Weight" }
                dd { (profile.weight_kg.map(|kg| format!("{} kg", weight_text(kg))).as_deref().unwrap_or(unknown)) }
                dt { "Microchip number" } dd { (profile.microchip_id.as_deref().unwrap_or(unknown)) }
                @if let Some(src) = &photo.src {
                    dt { "Photo" }
                    dd { img.pet-avatar src=(src) alt={ "Photo of " (profile.name) } loading="lazy" width="56" height="56"; }
                }
                dt { "Notes" } dd { (profile.notes.as_deref().unwrap_or("None")) }
            }
        },
    )
}

/// The pet's photo as the edit page shows it, and what went wrong with an upload.
#[derive(Default)]
pub(crate) struct Photo {
    /// A fresh signed link to an uploaded photo's thumbnail, or the photo's own URL.
    src: Option<String>,
    errors: FormErrors,
}

impl Photo {
    fn of(state: &AppState, pet: &Pet) -> Photo {
        Photo { src: photo_src(state, pet, Variant::Thumbnail), errors: FormErrors::none() }
    }
}

/// Where a page finds the pet's photo: an uploaded one through a fresh signed link to
/// `variant`, any other URL as it is.
pub(crate) fn photo_src(state: &AppState, pet: &Pet, variant: Variant) -> Option<String> {
    pet.profile.photo_url.as_deref().map(|url| petty_app::files::photo_link(&state.app, url, variant))
}

const PHOTO_FIELDS: [(&str, &str); 1] = [("photo", "Photo")];

fn photo_form(signed_in: &SignedIn, pet: &Pet, photo: &Photo) -> Markup {
    let name = &pet.profile.name;
    html! {
        section.panel aria-labelledby="photo-title" {
            h2 #photo-title { "Photo" }
            @if let Some(src) = &photo.src {
                p { img.pet-avatar.pet-photo src=(src) alt={ "Photo of " (name) } width="128" height="128"; }
            } @else {
                p { "No photo of " (name) " yet." }
            }
            (layout::error_summary(&photo.errors, &PHOTO_FIELDS))
            form.form method="post" action={ "/pets/" (pet.id) "/photo" } enctype="multipart/form-data" {
                (layout::csrf_field(&signed_in.csrf))
                label for="f-photo" { "Upload a photo" }
                p.hint #f-photo-hint {
                    "A JPEG, PNG or WebP image of at most 10 MB. Its location and other details are removed."
                }
                input #f-photo type="file" name="photo" accept="image/jpeg,image/png,image/webp" required
                    aria-describedby="f-photo-hint";
                div.actions { button.button type="submit" { "Upload photo" } }
            }
        }
    }
}

/// `POST /pets/{id}/photo`: a new photo for the pet, from the edit page's photo form.
#[tracing::instrument(skip_all, fields(household_id = %signed_in.membership.household_id, pet_id = %id))]
pub(crate) async fn upload_photo(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    multipart: Multipart,
) -> Result<Response, PageError> {
    let household_id = signed_in.membership.household_id;
    // A form that cannot be read changes nothing, and says nothing about the pet to someone who
    // may not see it.
    let form = uploads::read_checked_file_form(&state, &signed_in, multipart, "photo").await?;
    let pet = state.store.get_pet(household_id, pet_id(&id)?).await?;
    let again = |errors: FormErrors, status: StatusCode| {
        let photo = Photo { errors, ..Photo::of(&state, &pet) };
        layout::html(
            status,
            form_view(&signed_in, Some(&pet), &PetForm::from_profile(&pet.profile), &FormErrors::none(), &photo),
        )
    };
    let form = match form {
        Ok(form) => form,
        Err(errors) => return Ok(again(errors, StatusCode::PAYLOAD_TOO_LARGE)),
    };
    let Some((filename, content_type, bytes)) = form.file else {
        return Ok(again(FormErrors::general("Choose a photo to upload."), StatusCode::UNPROCESSABLE_ENTITY));
    };
    let upload = DirectUpload {
        bytes,
        filename,
        content_type,
        purpose: Purpose::PetProfilePhoto,
        pet_id: Some(pet.id),
        health_record_id: None,
    };
    match uploads::upload_file(&state, household_id, upload, "photo").await? {
        Ok(file) => {
            tracing::info!(file_id = %file.id, "pet photo uploaded from the dashboard");
            Ok(Redirect::to(&format!("/pets/{}/edit", pet.id)).into_response())
        }
        Err(errors) => Ok(again(errors, StatusCode::UNPROCESSABLE_ENTITY)),
    }
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    fn form(name: &str, species: &str, weight: &str) -> PetForm {
        PetForm { name: name.into(), species: species.into(), weight_kg: weight.into(), ..PetForm::default() }
    }

    #[test]
    fn weights_are_read_as_people_type_them() {
        assert_eq!(parse_weight("4.5").unwrap(), Some(4.5));
        assert_eq!(parse_weight(" 4,5 kg ").unwrap(), Some(4.5));
        assert_eq!(parse_weight("").unwrap(), None);
        assert_eq!(parse_weight("heavy").unwrap_err().0[0].rule, "type");
        assert_eq!(weight_text(30.0), "30");
        assert_eq!(weight_text(4.25), "4.25");
    }

    #[test]
    fn a_bad_form_reports_every_field() {
        let err = form(" ", "dog", "heavy").parse(date!(2026 - 01 - 01)).unwrap_err();
        let mut fields: Vec<_> = err.0.iter().map(|e| (e.field.as_str(), e.rule)).collect();
        fields.sort();
        assert_eq!(fields, [("name", "required"), ("weight_kg", "type")]);
        let err = form("Bella", "", "").parse(date!(2026 - 01 - 01)).unwrap_err();
        assert_eq!((err.0[0].field.as_str(), err.0[0].rule), ("species", "required"));
        let err = form("Bella", "dragon", "").parse(date!(2026 - 01 - 01)).unwrap_err();
        assert_eq!(err.0[0].rule, "one_of");
        let err = form("Bella", "dog", "-3").parse(date!(2026 - 01 - 01)).unwrap_err();
        assert_eq!(err.0[0].rule, "out_of_range");
    }

    #[test]
    fn a_profile_survives_the_form() {
        let profile = form("Bella", "dog", "21.5").parse(date!(2026 - 01 - 01)).unwrap();
        assert_eq!(profile.weight_kg, Some(21.5));
        assert_eq!(profile.sex, Sex::Unknown);
        assert_eq!(PetForm::from_profile(&profile).parse(date!(2026 - 01 - 01)).unwrap(), profile);
    }
}
