//! A listing's photos on its page: up to six, the first the main one (on the listing's card and
//! in the public catalog). People who manage pets upload a photo (a file of purpose
//! `listing_photo`, checked, stripped of its metadata and thumbnailed like a pet's photo), add
//! one by its address, make one the main photo, or remove one (an uploaded photo no listing
//! shows any more is deleted). Uploaded photos are shown through signed links, so a public
//! catalog's visitors see them too; an outside address is only linked, never loaded into the
//! page.

use axum::Form;
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use petty_app::catalog::{self as uses, CatalogError};
use petty_app::files::DirectUpload;
use petty_core::accounts::Permission;
use petty_core::catalog::{Listing, ListingDraft, PHOTOS_MAX};
use petty_core::files::{self, Purpose, Variant};
use petty_http::AppState;
use serde::Deserialize;

use super::{ListingForm, listing_id, listing_view, page_error};
use crate::PageError;
use crate::layout::{self, FormErrors};
use crate::session::SignedIn;
use crate::uploads;

const PHOTO_FIELDS: [(&str, &str); 3] = [("photo", "Photo"), ("url", "Photo address"), ("photos", "Photos")];

/// The listing's main photo on its card: an uploaded one as its thumbnail, an outside one as a
/// link.
pub(super) fn main_photo(app: &petty_app::App, name: &str, url: &str) -> Markup {
    if files::parse_stable_url(url).is_some() {
        let src = petty_app::files::photo_link(app, url, Variant::Thumbnail);
        html! { img.listing-photo src=(src) alt={ "Photo of " (name) } width="160" height="160" loading="lazy"; }
    } else {
        html! { p { a href=(url) rel="noopener noreferrer nofollow" { "Photo" } } }
    }
}

/// The photos section of a listing's page, with its forms for those who may change it.
pub(super) fn gallery(state: &AppState, signed_in: &SignedIn, listing: &Listing, errors: &FormErrors) -> Markup {
    let c = &listing.content;
    let path = format!("/catalog/{}/photos", listing.id.0);
    let manage = signed_in.can(Permission::ManagePets);
    html! {
        section.section #photos aria-labelledby="photos-title" {
            h2 #photos-title { "Photos" }
            (layout::error_summary(errors, &PHOTO_FIELDS))
            @if c.photos.is_empty() {
                p { "No photos of " (c.name) " yet." }
            }
            ul.photo-grid {
                @for (i, url) in c.photos.iter().enumerate() {
                    li data-photo=(i + 1) {
                        @if files::parse_stable_url(url).is_some() {
                            a href=(petty_app::files::photo_link(&state.app, url, Variant::File)) {
                                img.listing-photo src=(petty_app::files::photo_link(&state.app, url, Variant::Thumbnail))
                                    alt={ "Photo " (i + 1) " of " (c.name) } width="160" height="160" loading="lazy";
                            }
                        } @else {
                            a href=(url) rel="noopener noreferrer nofollow" { "Photo " (i + 1) " (at another site)" }
                        }
                        @if i == 0 { " " span.badge { "Main photo" } }
                        @if manage {
                            div.photo-actions {
                                @if i > 0 {
                                    form method="post" action={ (path) "/main" } {
                                        (layout::csrf_field(&signed_in.csrf))
                                        input type="hidden" name="photo" value=(url);
                                        button.button.button-secondary type="submit" { "Make main" }
                                    }
                                }
                                form method="post" action={ (path) "/remove" } {
                                    (layout::csrf_field(&signed_in.csrf))
                                    input type="hidden" name="photo" value=(url);
                                    button.button.button-danger type="submit" aria-label={ "Remove photo " (i + 1) } { "Remove" }
                                }
                            }
                        }
                    }
                }
            }
            @if manage && c.photos.len() < PHOTOS_MAX {
                form.form method="post" action=(path) enctype="multipart/form-data" {
                    (layout::csrf_field(&signed_in.csrf))
                    label for="f-photo" { "Upload a photo" }
                    p.hint #f-photo-hint {
                        "A JPEG, PNG or WebP image of at most 10 MB. Its location and other details are removed."
                    }
                    input #f-photo type="file" name="photo" accept="image/jpeg,image/png,image/webp" required
                        aria-describedby="f-photo-hint";
                    div.actions { button.button type="submit" { "Upload photo" } }
                }
                form.form method="post" action={ (path) "/address" } {
                    (layout::csrf_field(&signed_in.csrf))
                    label for="f-url" { "Or add a photo by its address" }
                    input #f-url type="url" name="url" maxlength="2000" required placeholder="https://";
                    div.actions { button.button.button-secondary type="submit" { "Add photo" } }
                }
            } @else if manage {
                p.hint { "A listing shows at most " (PHOTOS_MAX) " photos: remove one to add another." }
            }
        }
    }
}

/// The listing's page again, its photo section showing `errors`.
fn again(state: &AppState, signed_in: &SignedIn, listing: &Listing, errors: FormErrors) -> Response {
    let form = ListingForm::of(&listing.content);
    let view = listing_view(state, signed_in, listing, &form, &FormErrors::none(), &errors);
    layout::html(StatusCode::UNPROCESSABLE_ENTITY, view)
}

fn back(listing: &Listing) -> Response {
    Redirect::to(&format!("/catalog/{}#photos", listing.id.0)).into_response()
}

/// `POST /catalog/{id}/photos`: an uploaded photo, added after the listing's others.
#[tracing::instrument(skip_all, fields(household_id = %signed_in.membership.household_id, listing_id = %id))]
pub(crate) async fn upload(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    multipart: Multipart,
) -> Result<Response, PageError> {
    let household = signed_in.membership.household_id;
    let form = uploads::read_checked_file_form(&state, &signed_in, multipart, "photo").await?;
    let listing = uses::get(&state.app, household, listing_id(&id)?).await.map_err(page_error)?;
    let form = match form {
        Ok(form) => form,
        Err(errors) => return Ok(again(&state, &signed_in, &listing, errors)),
    };
    if listing.content.photos.len() >= PHOTOS_MAX {
        let full = FormErrors::general(format!("A listing shows at most {PHOTOS_MAX} photos: remove one first."));
        return Ok(again(&state, &signed_in, &listing, full));
    }
    let Some((filename, content_type, bytes)) = form.file else {
        return Ok(again(&state, &signed_in, &listing, FormErrors::general("Choose a photo to upload.")));
    };
    let upload = DirectUpload {
        bytes,
        filename,
        content_type,
        purpose: Purpose::ListingPhoto,
        pet_id: None,
        health_record_id: None,
    };
    let file = match uploads::upload_file(&state, household, upload, "photo").await? {
        Ok(file) => file,
        Err(errors) => return Ok(again(&state, &signed_in, &listing, errors)),
    };
    match uses::add_photo(&state.app, &signed_in.actor(), listing.id, file.id).await {
        Ok(_) => {
            tracing::info!(file_id = %file.id, "listing photo uploaded from the dashboard");
            Ok(back(&listing))
        }
        Err(e) => {
            // Not shown by any listing: not kept.
            if let Err(gone) = petty_app::files::delete_file(&state.app, household, file.id).await {
                tracing::warn!(file_id = %file.id, error = %gone, "an unused listing photo could not be deleted");
            }
            match e {
                CatalogError::Invalid(invalid) => {
                    Ok(again(&state, &signed_in, &listing, FormErrors::from_invalid(invalid)))
                }
                other => Err(page_error(other)),
            }
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct PhotoForm {
    csrf: String,
    /// The photo acted on, by its address as stored.
    photo: String,
    /// A new photo's address (`address`).
    url: String,
}

/// `POST /catalog/{id}/photos/{action}`: `main` (make `photo` the main one), `remove` (`photo`),
/// or `address` (add `url`).
pub(crate) async fn change(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path((id, action)): Path<(String, String)>,
    Form(form): Form<PhotoForm>,
) -> Result<Response, PageError> {
    signed_in.check_csrf(&state, &form.csrf)?;
    signed_in.require(Permission::ManagePets)?;
    let listing =
        uses::get(&state.app, signed_in.membership.household_id, listing_id(&id)?).await.map_err(page_error)?;
    let mut photos = listing.content.photos.clone();
    let at = photos.iter().position(|p| *p == form.photo);
    match (action.as_str(), at) {
        ("main", Some(at)) => {
            let main = photos.remove(at);
            photos.insert(0, main);
        }
        ("remove", Some(at)) => {
            photos.remove(at);
        }
        // Already gone (a second click, another tab): nothing to do.
        ("main" | "remove", None) => return Ok(back(&listing)),
        ("address", _) => {
            let url = form.url.trim();
            if url.is_empty() {
                return Ok(again(&state, &signed_in, &listing, FormErrors::general("Give the photo's address.")));
            }
            if files::parse_stable_url(url).is_some() {
                let refused =
                    FormErrors::general("Upload a photo with the form above; this is for other sites' photos.");
                return Ok(again(&state, &signed_in, &listing, refused));
            }
            photos.push(url.to_owned());
        }
        _ => return Err(PageError::NotFound),
    }
    let draft = ListingDraft { photos: Some(photos), ..ListingDraft::default() };
    match uses::update(&state.app, &signed_in.actor(), listing.id, draft).await {
        Ok(_) => Ok(back(&listing)),
        Err(CatalogError::Invalid(mut invalid)) => {
            // What is wrong with an address added is told at the address field.
            if action == "address" {
                invalid.0.iter_mut().filter(|e| e.field == "photos").for_each(|e| e.field = "url".to_owned());
            }
            Ok(again(&state, &signed_in, &listing, FormErrors::from_invalid(invalid)))
        }
        Err(e) => Err(page_error(e)),
    }
}
