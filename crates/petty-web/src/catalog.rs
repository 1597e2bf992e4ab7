//! `/catalog`: the household's pet listings. Ask in plain words ("3 cheapest cats that are not
//! black"): the answer shows how the sentence was understood as chips, each removable, and who
//! understood it (Petty's parser or the configured language model). People who manage pets add
//! listings, and change or remove them at `/catalog/{id}`; the owner makes the catalog public,
//! which anyone then reads at `/catalog/public/{household_id}` without signing in. Every change
//! goes through `petty_app::catalog`, as the API's do. A listing's photos (uploaded, or outside
//! addresses) are managed on its page (`catalog/photos.rs`).

pub(crate) mod photos;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use petty_app::catalog::{self as uses, CatalogError, Source};
use petty_core::accounts::Permission;
use petty_core::catalog::{COATS, Listing, ListingContent, ListingDraft, SPECIES_NAMES, Search};
use petty_core::ids::{HouseholdId, ListingId};
use petty_core::validation::{Collector, FieldError, Invalid};
use petty_http::AppState;
use petty_store::CatalogSettings;
use serde::Deserialize;

use super::PageError;
use super::layout::{self, FormErrors, Header, Input, Select, TextArea};
use super::session::SignedIn;

/// The most listings a page shows.
const PAGE: usize = 50;

fn page_error(e: CatalogError) -> PageError {
    match e {
        CatalogError::Invalid(invalid) => PageError::BadRequest(invalid.to_string()),
        CatalogError::NotFound => PageError::NotFound,
        CatalogError::Store(e) => e.into(),
    }
}

/// The search box as it arrives: the sentence, and the keys of the chips removed
/// (comma-separated).
#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct Ask {
    query: String,
    drop: String,
}

impl Ask {
    fn dropped(&self) -> Vec<&str> {
        self.drop.split(',').map(str::trim).filter(|k| !k.is_empty()).collect()
    }

    /// The link that asks again without the chip `key`.
    fn without(&self, base: &str, key: &str) -> String {
        let mut dropped = self.dropped();
        dropped.push(key);
        let query: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("query", &self.query)
            .append_pair("drop", &dropped.join(","))
            .finish();
        format!("{base}?{query}")
    }
}

/// What the page shows: a sentence's answer, or the whole catalog.
struct Shown {
    heading: String,
    chips: Vec<(&'static str, String)>,
    source: Option<Source>,
    total: usize,
    items: Vec<Listing>,
}

async fn answer(state: &AppState, household: HouseholdId, ask: &Ask, everything: bool) -> Result<Shown, PageError> {
    let text = ask.query.trim();
    if text.is_empty() {
        let mut search = Search::default();
        if everything {
            search.filters.status = None;
        }
        let results = uses::search(&state.app, household, search, None, 0, PAGE).await.map_err(page_error)?;
        let heading = if everything { "Every listing" } else { "Available now" };
        return Ok(Shown {
            heading: heading.to_owned(),
            chips: Vec::new(),
            source: None,
            total: results.total,
            items: results.items().cloned().collect(),
        });
    }
    if text.chars().count() > 500 {
        return Err(PageError::BadRequest("A question may be at most 500 characters.".to_owned()));
    }
    let mut understood = uses::understand(&state.app, text).await;
    for key in ask.dropped() {
        understood.filters = understood.filters.without(key);
    }
    let limit = understood.filters.limit as usize;
    let search = Search { filters: understood.filters.clone(), ..Search::default() };
    let results = uses::search(&state.app, household, search, None, 0, limit).await.map_err(page_error)?;
    Ok(Shown {
        heading: format!("“{text}”"),
        chips: understood.filters.chips(),
        source: Some(understood.source),
        total: results.total,
        items: results.items().cloned().collect(),
    })
}

fn source_words(source: Source) -> &'static str {
    match source {
        Source::Llm => "Understood by the language model",
        Source::Parser => "Understood by Petty's parser",
        Source::Fallback => "Understood by Petty's parser (the language model did not answer)",
    }
}

fn money(content: &ListingContent) -> String {
    match content.price() {
        Some(p) if p.fract() == 0.0 => format!("{p:.0} {}", content.currency),
        Some(p) => format!("{p:.2} {}", content.currency),
        None => "price on request".to_owned(),
    }
}

fn age_words(months: Option<u32>) -> String {
    match months {
        None => "age unknown".to_owned(),
        Some(1) => "1 month".to_owned(),
        Some(m) if m < 12 => format!("{m} months"),
        Some(m) if m < 24 => "1 year".to_owned(),
        Some(m) => format!("{} years", m / 12),
    }
}

/// One listing as a card; `link` is where its name leads, if anywhere.
fn card(app: &petty_app::App, listing: &Listing, link: Option<String>) -> Markup {
    let c = &listing.content;
    html! {
        article.panel.listing data-listing=(listing.number) {
            @if let Some(main) = c.photos.first() { (photos::main_photo(app, &c.name, main)) }
            h3 {
                @match link { Some(href) => a href=(href) { (c.name) }, None => (c.name) }
                @if c.status != petty_core::catalog::Status::Available { " " span.badge { (c.status.as_str()) } }
            }
            p { (c.species) " · " (c.breed) " · " (age_words(c.age_months))
                @if let Some(sex) = c.sex { " · " (sex.as_str()) }
                @if let Some(size) = c.size { " · " (size.as_str()) } }
            p.big { (money(c)) }
            @if let Some(color) = &c.color { p.hint { "Colour: " (color) } }
            @if let Some(location) = &c.location { p.hint { "In " (location) } }
            @if let Some(description) = &c.description { p { (description) } }
        }
    }
}

fn results_view(
    app: &petty_app::App,
    shown: &Shown,
    ask: &Ask,
    base: &str,
    link: impl Fn(&Listing) -> Option<String>,
) -> Markup {
    html! {
        section.section aria-labelledby="results-title" {
            h2 #results-title { (shown.heading) }
            @if let Some(source) = shown.source {
                p.hint { (source_words(source)) " as:" }
                @if shown.chips.is_empty() {
                    p { "everything" }
                } @else {
                    ul.chips aria-label="Filters applied" {
                        @for (key, words) in &shown.chips {
                            li.chip { (words) " "
                                a href=(ask.without(base, key)) aria-label={ "Remove the filter “" (words) "”" } { "×" } }
                        }
                    }
                }
            }
            p role="status" {
                @if shown.total == 0 { "No pets found." }
                @else if shown.items.len() < shown.total { "Showing " (shown.items.len()) " of " (shown.total) " pets." }
                @else if shown.total == 1 { "1 pet." }
                @else { (shown.total) " pets." }
            }
            div.cards { @for l in &shown.items { (card(app, l, link(l))) } }
        }
    }
}

fn ask_form(action: &str, ask: &Ask) -> Markup {
    html! {
        form.form.search method="get" action=(action) role="search" {
            label for="query" { "Ask in plain words" }
            input #query type="search" name="query" value=(ask.query) maxlength="500"
                placeholder="golden retrievers under $500";
            button.button type="submit" { "Search" }
        }
    }
}

pub(crate) async fn catalog_page(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Query(ask): Query<Ask>,
) -> Result<Response, PageError> {
    signed_in.require(Permission::Read)?;
    let view = catalog_view(&state, &signed_in, &ask, &ListingForm::default(), &FormErrors::none()).await?;
    Ok(layout::html(StatusCode::OK, view))
}

async fn catalog_view(
    state: &AppState,
    signed_in: &SignedIn,
    ask: &Ask,
    form: &ListingForm,
    errors: &FormErrors,
) -> Result<Markup, PageError> {
    let household = signed_in.membership.household_id;
    let manage = signed_in.can(Permission::ManagePets);
    let shown = answer(state, household, ask, manage).await?;
    let settings = uses::settings(&state.app, household).await.map_err(page_error)?;
    let chrome = signed_in.chrome();
    Ok(layout::page(
        "Catalog",
        Header::SignedIn(&chrome),
        html! {
            div.page-head { div {
                h1 { "Catalog" }
                p.lead { "Pets your household offers for sale or adoption. Ask for what you want in your own words." }
                @if settings.public {
                    p { "Public at " a href={ "/catalog/public/" (household.0) } { "/catalog/public/" (household.0) } "." }
                }
            } }
            (ask_form("/catalog", ask))
            (results_view(&state.app, &shown, ask, "/catalog", |l| Some(format!("/catalog/{}", l.id.0))))
            @if manage {
                section.section aria-labelledby="add-title" {
                    h2 #add-title { "Add a listing" }
                    (listing_form(signed_in, "/catalog/listings", &form.with_photo_field(), errors, "Add the listing"))
                }
            }
            @if signed_in.can(Permission::ManageHousehold) {
                section.section aria-labelledby="public-title" {
                    h2 #public-title { "Public catalog" }
                    form.form method="post" action="/catalog/settings" {
                        (layout::csrf_field(&signed_in.csrf))
                        (layout::select(&Select { name: "public", label: "Who can see it", hint: Some("A public catalog can be read by anyone with its link, without signing in. It cannot be changed from there."), options: &[("no", "Only this household"), ("yes", "Anyone with the link")], selected: if settings.public { "yes" } else { "no" }, placeholder: None, required: true }, &FormErrors::none()))
                        (layout::input(&Input { name: "title", label: "Title", value: settings.title.as_deref().unwrap_or(""), maxlength: Some(100), hint: Some("What the public page is called, e.g. Riverside Shelter."), ..Input::default() }, &FormErrors::none()))
                        button.button.button-secondary type="submit" { "Save" }
                    }
                }
            }
        },
    ))
}

/// The listing form as posted: every field is text, so a bad value is explained beside its
/// field.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub(crate) struct ListingForm {
    csrf: String,
    name: String,
    species: String,
    breed: String,
    age_months: String,
    sex: String,
    size: String,
    color: String,
    coat: String,
    weight_kg: String,
    price: String,
    currency: String,
    status: String,
    good_with_children: String,
    good_with_dogs: String,
    good_with_cats: String,
    house_trained: String,
    special_needs: String,
    location: String,
    /// Only on the form that adds a listing (its one photo, by address); photos are changed on
    /// the listing's page.
    photo_url: Option<String>,
    description: String,
}

fn yes_no(value: Option<bool>) -> String {
    match value {
        Some(true) => "yes".to_owned(),
        Some(false) => "no".to_owned(),
        None => String::new(),
    }
}

fn number_text(value: Option<f64>) -> String {
    value.map(|v| if v.fract() == 0.0 { format!("{v:.0}") } else { format!("{v}") }).unwrap_or_default()
}

impl ListingForm {
    /// The form that adds a listing shows the photo address field, empty at first.
    fn with_photo_field(&self) -> std::borrow::Cow<'_, ListingForm> {
        if self.photo_url.is_some() {
            return std::borrow::Cow::Borrowed(self);
        }
        std::borrow::Cow::Owned(ListingForm { photo_url: Some(String::new()), ..self.clone() })
    }

    fn of(c: &ListingContent) -> ListingForm {
        ListingForm {
            csrf: String::new(),
            name: c.name.clone(),
            species: c.species.clone(),
            breed: c.breed.clone(),
            age_months: c.age_months.map(|m| m.to_string()).unwrap_or_default(),
            sex: c.sex.map(|s| s.as_str().to_owned()).unwrap_or_default(),
            size: c.size.map(|s| s.as_str().to_owned()).unwrap_or_default(),
            color: c.color.clone().unwrap_or_default(),
            coat: c.coat.clone().unwrap_or_default(),
            weight_kg: number_text(c.weight_kg),
            price: number_text(c.price()),
            currency: c.currency.clone(),
            status: c.status.as_str().to_owned(),
            good_with_children: yes_no(c.good_with_children),
            good_with_dogs: yes_no(c.good_with_dogs),
            good_with_cats: yes_no(c.good_with_cats),
            house_trained: yes_no(c.house_trained),
            special_needs: yes_no(c.special_needs),
            location: c.location.clone().unwrap_or_default(),
            photo_url: None,
            description: c.description.clone().unwrap_or_default(),
        }
    }

    /// The draft this form asks for (an empty field clears its value), or everything that is
    /// wrong with it: what does not read as a number or yes/no, and what the listing's rules
    /// refuse (checked against `base`, the listing it changes).
    fn draft(&self, base: Option<&ListingContent>) -> Result<ListingDraft, Invalid> {
        let (draft, mut errors) = self.read();
        if let Err(Invalid(refused)) = draft.clone().check(base) {
            for e in refused {
                if !errors.iter().any(|known: &FieldError| known.field == e.field) {
                    errors.push(e);
                }
            }
        }
        if errors.is_empty() {
            return Ok(draft);
        }
        // In the form's order.
        errors.sort_by_key(|e| FIELDS.iter().position(|(name, _)| *name == e.field).unwrap_or(FIELDS.len()));
        Err(Invalid(errors))
    }

    /// The draft as typed, and the fields that did not read as what they hold.
    fn read(&self) -> (ListingDraft, Vec<FieldError>) {
        let mut errors = Collector::new();
        let text = |v: &str| Some(v.trim().to_owned()).filter(|v| !v.is_empty());
        let mut number = |field: &str, v: &str| -> Option<f64> {
            let v = v.trim().replace(',', ".");
            if v.is_empty() {
                return None;
            }
            v.parse::<f64>().ok().filter(|n| n.is_finite()).or_else(|| {
                errors.push(FieldError::new(field, "number", format!("{field} must be a number")));
                None
            })
        };
        let age = number("age_months", &self.age_months);
        let weight = number("weight_kg", &self.weight_kg);
        let price = number("price", &self.price);
        let mut flag = |field: &str, v: &str| -> Option<bool> {
            match v.trim() {
                "" => None,
                "yes" => Some(true),
                "no" => Some(false),
                _ => {
                    errors.push(FieldError::new(field, "one_of", format!("{field} must be yes, no or unknown")));
                    None
                }
            }
        };
        let draft = ListingDraft {
            name: Some(self.name.clone()),
            species: Some(self.species.clone()),
            breed: Some(self.breed.clone()),
            age_months: Some(age.map(|a| if a.fract() == 0.0 { a as i64 } else { -1 })),
            size: Some(text(&self.size)),
            sex: Some(text(&self.sex)),
            color: Some(text(&self.color)),
            coat: Some(text(&self.coat)),
            good_with_children: Some(flag("good_with_children", &self.good_with_children)),
            good_with_dogs: Some(flag("good_with_dogs", &self.good_with_dogs)),
            good_with_cats: Some(flag("good_with_cats", &self.good_with_cats)),
            house_trained: Some(flag("house_trained", &self.house_trained)),
            special_needs: Some(flag("special_needs", &self.special_needs)),
            weight_kg: Some(weight),
            price: Some(price),
            currency: text(&self.currency),
            status: text(&self.status),
            location: Some(text(&self.location)),
            photo_url: self.photo_url.as_deref().map(text),
            photos: None,
            description: Some(text(&self.description)),
        };
        (draft, errors.finish().err().map(|Invalid(e)| e).unwrap_or_default())
    }
}

const FIELDS: [(&str, &str); 20] = [
    ("name", "Name"),
    ("species", "Species"),
    ("breed", "Breed"),
    ("age_months", "Age (months)"),
    ("sex", "Sex"),
    ("size", "Size"),
    ("color", "Colour"),
    ("coat", "Coat"),
    ("weight_kg", "Weight (kg)"),
    ("price", "Price"),
    ("currency", "Currency"),
    ("status", "Status"),
    ("good_with_children", "Good with children"),
    ("good_with_dogs", "Good with dogs"),
    ("good_with_cats", "Good with cats"),
    ("house_trained", "House-trained"),
    ("special_needs", "Special needs"),
    ("location", "Location"),
    ("photo_url", "Photo address"),
    ("description", "Description"),
];

const YES_NO: [(&str, &str); 2] = [("yes", "Yes"), ("no", "No")];

fn listing_form(signed_in: &SignedIn, action: &str, form: &ListingForm, errors: &FormErrors, submit: &str) -> Markup {
    let species: Vec<(&str, &str)> = SPECIES_NAMES.iter().map(|s| (*s, *s)).collect();
    let coats: Vec<(&str, &str)> = COATS.iter().map(|s| (*s, *s)).collect();
    let label = |name: &str| FIELDS.iter().find(|(n, _)| *n == name).map_or("", |(_, l)| *l);
    let flag = |name: &'static str, value: &str| {
        layout::select(
            &Select {
                name,
                label: label(name),
                hint: None,
                options: &YES_NO,
                selected: value,
                placeholder: Some("Not known"),
                required: false,
            },
            errors,
        )
    };
    html! {
        (layout::error_summary(errors, &FIELDS))
        form.form method="post" action=(action) {
            (layout::csrf_field(&signed_in.csrf))
            (layout::input(&Input { name: "name", label: label("name"), value: &form.name, maxlength: Some(100), required: true, ..Input::default() }, errors))
            (layout::select(&Select { name: "species", label: label("species"), hint: None, options: &species, selected: &form.species, placeholder: Some("Choose"), required: true }, errors))
            (layout::input(&Input { name: "breed", label: label("breed"), value: &form.breed, maxlength: Some(100), hint: Some("As you would say it: “Labrador mix”, “Domestic Shorthair”. Left empty: Mixed."), ..Input::default() }, errors))
            (layout::input(&Input { name: "age_months", label: label("age_months"), kind: "number", value: &form.age_months, inputmode: Some("numeric"), max: Some("600"), hint: Some("18 for a year and a half."), ..Input::default() }, errors))
            (layout::select(&Select { name: "sex", label: label("sex"), hint: None, options: &[("male", "Male"), ("female", "Female")], selected: &form.sex, placeholder: Some("Not known"), required: false }, errors))
            (layout::select(&Select { name: "size", label: label("size"), hint: None, options: &[("small", "Small"), ("medium", "Medium"), ("large", "Large"), ("xlarge", "Extra large")], selected: &form.size, placeholder: Some("Not known"), required: false }, errors))
            (layout::input(&Input { name: "color", label: label("color"), value: &form.color, maxlength: Some(100), hint: Some("“black and tan”, “cream”."), ..Input::default() }, errors))
            (layout::select(&Select { name: "coat", label: label("coat"), hint: None, options: &coats, selected: &form.coat, placeholder: Some("Not known"), required: false }, errors))
            (layout::input(&Input { name: "weight_kg", label: label("weight_kg"), value: &form.weight_kg, inputmode: Some("decimal"), ..Input::default() }, errors))
            (layout::input(&Input { name: "price", label: label("price"), value: &form.price, inputmode: Some("decimal"), hint: Some("Left empty: price on request. 0 for free."), ..Input::default() }, errors))
            (layout::input(&Input { name: "currency", label: label("currency"), value: if form.currency.is_empty() { "USD" } else { &form.currency }, maxlength: Some(3), hint: Some("A three-letter code: USD, EUR, GBP."), ..Input::default() }, errors))
            (layout::select(&Select { name: "status", label: label("status"), hint: None, options: &[("available", "Available"), ("pending", "Pending"), ("sold", "Sold"), ("adopted", "Adopted")], selected: if form.status.is_empty() { "available" } else { &form.status }, placeholder: None, required: true }, errors))
            (flag("good_with_children", &form.good_with_children))
            (flag("good_with_dogs", &form.good_with_dogs))
            (flag("good_with_cats", &form.good_with_cats))
            (flag("house_trained", &form.house_trained))
            (flag("special_needs", &form.special_needs))
            (layout::input(&Input { name: "location", label: label("location"), value: &form.location, maxlength: Some(100), ..Input::default() }, errors))
            @if let Some(photo_url) = &form.photo_url {
                (layout::input(&Input { name: "photo_url", label: label("photo_url"), kind: "url", value: photo_url, maxlength: Some(2000), hint: Some("An https:// address of a photo. Upload photos on the listing's page once it is added."), ..Input::default() }, errors))
            }
            (layout::textarea(&TextArea { name: "description", label: label("description"), hint: None, value: &form.description, maxlength: 5000 }, errors))
            button.button type="submit" { (submit) }
        }
    }
}

pub(crate) async fn create_listing(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Form(form): Form<ListingForm>,
) -> Result<Response, PageError> {
    signed_in.check_csrf(&state, &form.csrf)?;
    signed_in.require(Permission::ManagePets)?;
    let created = match form.draft(None) {
        Ok(draft) => uses::create(&state.app, &signed_in.actor(), draft).await,
        Err(invalid) => Err(CatalogError::Invalid(invalid)),
    };
    match created {
        Ok(listing) => Ok(Redirect::to(&format!("/catalog/{}", listing.id.0)).into_response()),
        Err(CatalogError::Invalid(invalid)) => {
            let errors = FormErrors::from_invalid(invalid);
            let view = catalog_view(&state, &signed_in, &Ask::default(), &form, &errors).await?;
            Ok(layout::html(StatusCode::UNPROCESSABLE_ENTITY, view))
        }
        Err(e) => Err(page_error(e)),
    }
}

fn listing_id(raw: &str) -> Result<ListingId, PageError> {
    raw.parse().map_err(|_| PageError::NotFound)
}

pub(crate) async fn listing_page(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    signed_in.require(Permission::Read)?;
    let listing =
        uses::get(&state.app, signed_in.membership.household_id, listing_id(&id)?).await.map_err(page_error)?;
    let form = ListingForm::of(&listing.content);
    let view = listing_view(&state, &signed_in, &listing, &form, &FormErrors::none(), &FormErrors::none());
    Ok(layout::html(StatusCode::OK, view))
}

fn listing_view(
    state: &AppState,
    signed_in: &SignedIn,
    listing: &Listing,
    form: &ListingForm,
    errors: &FormErrors,
    photo_errors: &FormErrors,
) -> Markup {
    let chrome = signed_in.chrome();
    let path = format!("/catalog/{}", listing.id.0);
    layout::page(
        &listing.content.name,
        Header::SignedIn(&chrome),
        html! {
            p { a href="/catalog" { "← Catalog" } }
            h1 { (listing.content.name) " " span.hint { "No. " (listing.number) } }
            (card(&state.app, listing, None))
            (photos::gallery(state, signed_in, listing, photo_errors))
            @if signed_in.can(Permission::ManagePets) {
                section.section aria-labelledby="edit-title" {
                    h2 #edit-title { "Change the listing" }
                    (listing_form(signed_in, &path, form, errors, "Save changes"))
                }
                section.section aria-labelledby="remove-title" {
                    h2 #remove-title { "Remove the listing" }
                    form method="post" action={ (path) "/delete" } {
                        (layout::csrf_field(&signed_in.csrf))
                        button.button.button-danger type="submit" { "Remove " (listing.content.name) }
                    }
                }
            }
        },
    )
}

pub(crate) async fn update_listing(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<ListingForm>,
) -> Result<Response, PageError> {
    signed_in.check_csrf(&state, &form.csrf)?;
    signed_in.require(Permission::ManagePets)?;
    let id = listing_id(&id)?;
    let listing = uses::get(&state.app, signed_in.membership.household_id, id).await.map_err(page_error)?;
    let updated = match form.draft(Some(&listing.content)) {
        Ok(draft) => uses::update(&state.app, &signed_in.actor(), id, draft).await,
        Err(invalid) => Err(CatalogError::Invalid(invalid)),
    };
    match updated {
        Ok(_) => Ok(Redirect::to(&format!("/catalog/{}", id.0)).into_response()),
        Err(CatalogError::Invalid(invalid)) => {
            let errors = FormErrors::from_invalid(invalid);
            let view = listing_view(&state, &signed_in, &listing, &form, &errors, &FormErrors::none());
            Ok(layout::html(StatusCode::UNPROCESSABLE_ENTITY, view))
        }
        Err(e) => Err(page_error(e)),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct CsrfOnly {
    csrf: String,
}

pub(crate) async fn delete_listing(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, PageError> {
    signed_in.check_csrf(&state, &form.csrf)?;
    signed_in.require(Permission::ManagePets)?;
    uses::delete(&state.app, &signed_in.actor(), listing_id(&id)?).await.map_err(page_error)?;
    Ok(Redirect::to("/catalog").into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct SettingsForm {
    csrf: String,
    public: String,
    title: String,
}

pub(crate) async fn save_settings(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Form(form): Form<SettingsForm>,
) -> Result<Response, PageError> {
    signed_in.check_csrf(&state, &form.csrf)?;
    signed_in.require(Permission::ManageHousehold)?;
    let settings =
        CatalogSettings { public: form.public == "yes", title: Some(form.title).filter(|t| !t.trim().is_empty()) };
    uses::set_settings(&state.app, &signed_in.actor(), settings).await.map_err(page_error)?;
    Ok(Redirect::to("/catalog").into_response())
}

/// A public catalog, read without signing in; a private one is not told apart from none.
pub(crate) async fn public_page(
    State(state): State<AppState>,
    Path(household): Path<String>,
    Query(ask): Query<Ask>,
) -> Result<Response, PageError> {
    let household = HouseholdId(household.parse().map_err(|_| PageError::NotFound)?);
    let settings = uses::settings(&state.app, household).await.map_err(page_error)?;
    if !settings.public {
        return Err(PageError::NotFound);
    }
    let shown = answer(&state, household, &ask, false).await?;
    let title = settings.title.clone().unwrap_or_else(|| "Pets looking for a home".to_owned());
    let base = format!("/catalog/public/{}", household.0);
    let view = layout::page(
        &title,
        Header::SignedOut,
        html! {
            div.page-head { div {
                h1 { (title) }
                p.lead { "Ask for what you want in your own words." }
            } }
            (ask_form(&base, &ask))
            (results_view(&state.app, &shown, &ask, &base, |_| None))
        },
    );
    Ok(layout::html(StatusCode::OK, view))
}
