//! Public pages behind a pet's links: `/passport/{token}` (the vaccination passport, with its
//! signature and how to check it) and `/found/{token}` (the lost-pet page and its "found me"
//! form); and the owner's controls for both, on the care page.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use maud::{Markup, html};
use petty_app::sharing::{self, FoundError};
use petty_core::accounts::{Actor, ActorKind, Permission};
use petty_core::pets::Pet;
use petty_http::AppState;
use petty_store::{PetShare, ShareKind};
use serde::Deserialize;

use super::PageError;
use super::csrf;
use super::layout::{self, FormErrors, Header, Input, TextArea};
use super::session::SignedIn;

/// `/passport/{token}`.
pub(crate) async fn passport_page(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, PageError> {
    let Some((share, pet)) = sharing::open(&state.app, &token, ShareKind::Passport).await? else {
        return Err(PageError::NotFound);
    };
    let document = sharing::passport_document(&state.app, &share, &pet).await?;
    let key = state.app.passport_key();
    let signature = key.sign(&document);
    let p = &pet.profile;
    let vaccinations = document["vaccinations"].as_array().cloned().unwrap_or_default();
    let text = |v: &serde_json::Value| v.as_str().unwrap_or("—").to_owned();
    let view = layout::page(
        &format!("{}'s vaccination passport", p.name),
        Header::Plain,
        html! {
            h1 { (p.name) "'s vaccination passport" }
            p.lead {
                (super::pets::species_label(p.species))
                @if let Some(b) = &p.breed { " · " (b) }
                @if let Some(chip) = &p.microchip_id { " · microchip " (chip) }
            }
            @if vaccinations.is_empty() {
                p { "No vaccination is recorded." }
            } @else {
                div.table-scroll {
                    table.members {
                        thead { tr { th scope="col" { "Vaccine" } th scope="col" { "Last dose" } th scope="col" { "Next due" } th scope="col" { "Vet" } } }
                        tbody {
                            @for v in &vaccinations {
                                tr { th scope="row" { (text(&v["label"])) } td { (text(&v["last_dose"])) } td { (text(&v["due_date"])) } td { (text(&v["vet"])) } }
                            }
                        }
                    }
                }
            }
            section.section aria-labelledby="verify-title" {
                h2 #verify-title { "Check it" }
                p { "Issued " (text(&document["issued_at"])) " by " (text(&document["issuer"])) ". "
                    "The signed document is at " a href={ "/api/v1/passports/" (token) } { "its JSON address" }
                    ": an Ed25519 signature over the document's canonical JSON, checked with the key at "
                    a href="/.well-known/petty-passport-key" { "/.well-known/petty-passport-key" } "." }
                p { "Signature (key " (key.key_id()) "): " code.secret { (signature) } }
            }
        },
    );
    Ok(layout::html(StatusCode::OK, view))
}

/// `/found/{token}`.
pub(crate) async fn found_page(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(token): Path<String>,
) -> Result<Response, PageError> {
    let Some((share, pet)) = sharing::open(&state.app, &token, ShareKind::Lost).await? else {
        return Err(PageError::NotFound);
    };
    let (jar, csrf) = csrf::anonymous_token(jar, state.config.secure_cookies);
    let view =
        found_view(&state, &token, &share, &pet, &csrf, &FoundForm::default(), &FormErrors::none(), false).await?;
    Ok((jar, layout::html(StatusCode::OK, view)).into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct FoundForm {
    csrf: String,
    message: String,
    contact: String,
}

#[allow(clippy::too_many_arguments)]
async fn found_view(
    state: &AppState,
    token: &str,
    share: &PetShare,
    pet: &Pet,
    csrf: &str,
    form: &FoundForm,
    errors: &FormErrors,
    sent: bool,
) -> Result<Markup, PageError> {
    let p = &pet.profile;
    let location =
        if share.show_location { sharing::last_location(&state.app, share.household_id, pet.id).await? } else { None };
    let fields = [("message", "Where is the pet now?"), ("contact", "How can they reach you?")];
    Ok(layout::page(
        &format!("{} is lost", p.name),
        Header::Plain,
        html! {
            h1 { (p.name) " is lost" }
            @if let Some(photo) = &p.photo_url {
                img.pet-photo src=(photo) alt={ "A photo of " (p.name) } width="320";
            }
            p.lead {
                (super::pets::species_label(p.species))
                @if let Some(b) = &p.breed { " · " (b) }
            }
            @if let Some(m) = &share.message { p { (m) } }
            @if let Some((lat, lon, at)) = location {
                p { "Last known position: " (format!("{lat:.5}, {lon:.5}")) " at " (petty_app::rfc3339::from_ms(petty_store::to_ms(at)).unwrap_or_default()) "." }
            }
            @if sent {
                div.notice role="status" { p { "Thank you. The family has been told at once." } }
            } @else {
                section.section aria-labelledby="found-title" {
                    h2 #found-title { "Found " (p.name) "?" }
                    p { "Tell the family: they are alerted at once. Your message reaches only them." }
                    (layout::error_summary(errors, &fields))
                    form.form method="post" action={ "/found/" (token) } novalidate {
                        (layout::csrf_field(csrf))
                        (layout::textarea(&TextArea { name: "message", label: fields[0].1, hint: Some("For example: safe with me at the bakery on Main Street."), value: &form.message, maxlength: sharing::FOUND_MESSAGE_MAX }, errors))
                        (layout::input(&Input { name: "contact", label: fields[1].1, hint: Some("A phone number or email address, if you want them to call you."), value: &form.contact, maxlength: Some(sharing::FOUND_CONTACT_MAX), ..Input::default() }, errors))
                        div.actions { button.button type="submit" { "Tell the family" } }
                    }
                }
            }
        },
    ))
}

pub(crate) async fn found_report(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(token): Path<String>,
    Form(form): Form<FoundForm>,
) -> Result<Response, PageError> {
    csrf::require_anonymous_token(&state.config.jwt_secret, &jar, &form.csrf, "found-pet")?;
    let Some((share, pet)) = sharing::open(&state.app, &token, ShareKind::Lost).await? else {
        return Err(PageError::NotFound);
    };
    let contact = Some(form.contact.as_str()).filter(|c| !c.trim().is_empty());
    match sharing::report_found(&state.app, &share, &pet, &form.message, contact).await {
        Ok(()) => {
            let view = found_view(&state, &token, &share, &pet, &form.csrf, &FoundForm::default(), &FormErrors::none(), true).await?;
            Ok(layout::html(StatusCode::OK, view))
        }
        Err(FoundError::Invalid(invalid)) => {
            let view = found_view(&state, &token, &share, &pet, &form.csrf, &form, &FormErrors::from_invalid(invalid), false).await?;
            Ok(layout::html(StatusCode::UNPROCESSABLE_ENTITY, view))
        }
        Err(FoundError::TooMany) => Err(PageError::BadRequest(
            "This page has passed on several reports in the last hour, so the family already knows. Please try again later."
                .into(),
        )),
        Err(FoundError::Store(e)) => Err(e.into()),
    }
}

/// The care page's section: publish or end the passport and the lost-pet page. A new link is
/// shown once, right after it is made.
pub(crate) fn controls(
    signed_in: &SignedIn,
    pet: &Pet,
    passport: Option<&PetShare>,
    lost: Option<&PetShare>,
    new_link: Option<&str>,
) -> Markup {
    let can_publish = signed_in.can(Permission::ManagePets);
    let can_lost = signed_in.can(Permission::WriteCare);
    let csrf = &signed_in.csrf;
    html! {
        section.section #sharing aria-labelledby="sharing-title" {
            h2 #sharing-title { "Passport and lost-pet page" }
            @if let Some(link) = new_link {
                div.notice role="status" {
                    p { "The new link (copy it now; it is shown once): " code.secret { (link) } }
                    @if let Some(svg) = super::security::qr_svg(link) {
                        figure.qr {
                            (maud::PreEscaped(svg))
                            figcaption { "Print this code for the collar tag or a poster: it opens the page." }
                        }
                    }
                }
            }
            p { "A signed vaccination passport a kennel or vet can check without an account: "
                @if passport.is_some() { "published." } @else { "not published." } }
            @if can_publish {
                div.actions {
                    form method="post" action={ "/pets/" (pet.id) "/share/passport" } {
                        (layout::csrf_field(csrf))
                        button.button.button-secondary type="submit" { @if passport.is_some() { "Make a new passport link" } @else { "Publish the passport" } }
                    }
                    @if passport.is_some() {
                        form method="post" action={ "/pets/" (pet.id) "/share/passport-end" } {
                            (layout::csrf_field(csrf))
                            button.button.button-quiet type="submit" { "Stop publishing" }
                        }
                    }
                }
            }
            @if let Some(l) = lost {
                div.notice role="status" { p { (pet.profile.name) " is marked lost since " (petty_core::pets::format_date(l.created_at.date())) "." } }
            }
            @if can_lost {
                @if lost.is_some() {
                    form method="post" action={ "/pets/" (pet.id) "/share/lost-end" } {
                        (layout::csrf_field(csrf))
                        button.button type="submit" { (pet.profile.name) " is home" }
                    }
                } @else {
                    form.form method="post" action={ "/pets/" (pet.id) "/share/lost" } {
                        (layout::csrf_field(csrf))
                        (layout::textarea(&TextArea { name: "message", label: "A word for the finder", hint: Some("Shown on the public page. Never your phone or address."), value: "", maxlength: sharing::FOUND_MESSAGE_MAX }, &FormErrors::none()))
                        label.check { input type="checkbox" name="show_location"; " Show the last place the collar reported" }
                        div.actions { button.button.button-danger type="submit" { (pet.profile.name) " is lost" } }
                    }
                }
            }
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct ShareForm {
    csrf: String,
    message: String,
    show_location: Option<String>,
}

fn actor(signed_in: &SignedIn) -> Actor {
    Actor {
        household_id: signed_in.membership.household_id,
        kind: ActorKind::User { user_id: signed_in.user.id, role: signed_in.membership.role },
    }
}

/// `/pets/{id}/share/{passport|passport-end|lost|lost-end}`.
pub(crate) async fn change(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path((id, what)): Path<(String, String)>,
    Form(form): Form<ShareForm>,
) -> Result<Response, PageError> {
    signed_in.check_csrf(&state, &form.csrf)?;
    let pet_id: petty_core::ids::PetId = id.parse().map_err(|_| PageError::NotFound)?;
    let household = signed_in.membership.household_id;
    let pet = state.store.get_pet(household, pet_id).await?;
    let base = state.app.notifier.public_url().trim_end_matches('/').to_owned();
    let link = match what.as_str() {
        "passport" => {
            signed_in.require(Permission::ManagePets)?;
            let (token, _) =
                sharing::publish(&state.app, &actor(&signed_in), pet.id, ShareKind::Passport, false, None).await?;
            Some(format!("{base}/passport/{token}"))
        }
        "lost" => {
            signed_in.require(Permission::WriteCare)?;
            let message =
                petty_core::validation::optional_text("message", Some(&form.message), sharing::FOUND_MESSAGE_MAX)
                    .map_err(|e| PageError::BadRequest(e.to_string()))?;
            let (token, _) = sharing::publish(
                &state.app,
                &actor(&signed_in),
                pet.id,
                ShareKind::Lost,
                form.show_location.is_some(),
                message.as_deref(),
            )
            .await?;
            Some(format!("{base}/found/{token}"))
        }
        "passport-end" => {
            signed_in.require(Permission::ManagePets)?;
            state.store.end_share(household, pet.id, ShareKind::Passport).await?;
            None
        }
        "lost-end" => {
            signed_in.require(Permission::WriteCare)?;
            state.store.end_share(household, pet.id, ShareKind::Lost).await?;
            None
        }
        _ => return Err(PageError::NotFound),
    };
    match link {
        None => Ok(Redirect::to(&format!("/pets/{}/care#sharing", pet.id)).into_response()),
        Some(link) => {
            let passport = state.store.share_of(household, pet.id, ShareKind::Passport).await?;
            let lost = state.store.share_of(household, pet.id, ShareKind::Lost).await?;
            let chrome = signed_in.chrome();
            let view = layout::page(
                &format!("{}'s links", pet.profile.name),
                Header::SignedIn(&chrome),
                html! {
                    a.back href={ "/pets/" (pet.id) "/care" } { "← Back to " (pet.profile.name) "'s care" }
                    h1 { (pet.profile.name) "'s links" }
                    (controls(&signed_in, &pet, passport.as_ref(), lost.as_ref(), Some(&link)))
                },
            );
            Ok(layout::html(StatusCode::OK, view))
        }
    }
}
