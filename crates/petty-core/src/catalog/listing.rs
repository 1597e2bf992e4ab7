//! A catalog listing: a pet offered by a shelter, a breeder, a store or a family rehoming one.
//! What the household writes ([`ListingContent`], checked by [`ListingDraft::check`]), what the
//! search reads of it ([`Facts`]: the breed and colours in the vocabulary's canonical names,
//! the age in months, the price), and the search itself ([`Search::run`]): the contract's
//! filters, Petfinder's traits and a text match, sorted and paged. Pure: the store keeps the
//! rows, and the caller hands the listings in.

use time::OffsetDateTime;

#[cfg(test)]
mod tests;

use super::vocab::SPECIES;
use super::{Filters, Size, SortBy, Status};
use crate::ids::{HouseholdId, ListingId};
use crate::validation::{Collector, FieldError, Invalid};

/// The species a listing may be: the vocabulary's, and "other".
pub const SPECIES_NAMES: [&str; 17] = [
    "dog",
    "cat",
    "bird",
    "fish",
    "rabbit",
    "hamster",
    "guinea pig",
    "turtle",
    "lizard",
    "frog",
    "snake",
    "ferret",
    "horse",
    "mouse",
    "rat",
    "chinchilla",
    "other",
];

/// The longest name, in characters.
pub const NAME_MAX: usize = 100;
/// The longest description, in characters.
pub const DESCRIPTION_MAX: usize = 5_000;
/// The highest price (in the listing's currency).
pub const PRICE_MAX: f64 = 1_000_000.0;
/// The highest age, in months (50 years).
pub const AGE_MONTHS_MAX: u32 = 600;
/// The highest weight, in kilograms.
pub const WEIGHT_MAX_KG: f64 = 2_000.0;
/// The longest breed, colour, coat or location text.
const SHORT_MAX: usize = 100;
/// The longest photo URL.
const URL_MAX: usize = 2_000;
/// The most photos a listing shows (Petfinder's number).
pub const PHOTOS_MAX: usize = 6;

/// A species name as typed ("Puppy", "kitten", "guinea pig") in the vocabulary's canonical
/// form, or `None` when it is no species the catalog knows.
pub fn canonical_species(text: &str) -> Option<&'static str> {
    let folded = text.trim().to_lowercase();
    let folded = folded.split_whitespace().collect::<Vec<_>>().join(" ");
    if folded == "other" {
        return Some("other");
    }
    SPECIES.iter().find(|(_, aliases)| aliases.contains(&folded.as_str())).map(|(name, _)| *name)
}

/// The canonical breeds a listing's breed text names ("Labrador mix" → labrador retriever,
/// mixed), read with the query parser's vocabulary so a listing and a query agree.
pub fn canonical_breeds(text: &str) -> Vec<String> {
    super::parse(text).breeds
}

/// The canonical colours a listing's colour text names ("black and tan" → black, tan).
pub fn canonical_colors(text: &str) -> Vec<String> {
    super::parse(text).colors
}

/// A listing's sex.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sex {
    Male,
    Female,
}

impl Sex {
    pub fn as_str(self) -> &'static str {
        match self {
            Sex::Male => "male",
            Sex::Female => "female",
        }
    }

    pub fn parse(field: &str, text: &str) -> Result<Sex, FieldError> {
        match text.trim().to_lowercase().as_str() {
            "male" | "m" => Ok(Sex::Male),
            "female" | "f" => Ok(Sex::Female),
            _ => Err(FieldError::new(field, "one_of", format!("{field} must be male or female"))),
        }
    }
}

impl Size {
    pub fn parse(field: &str, text: &str) -> Result<Size, FieldError> {
        match text.trim().to_lowercase().as_str() {
            "small" => Ok(Size::Small),
            "medium" => Ok(Size::Medium),
            "large" => Ok(Size::Large),
            "xlarge" | "extra large" | "extra-large" => Ok(Size::Xlarge),
            _ => Err(FieldError::new(field, "one_of", format!("{field} must be one of small, medium, large, xlarge"))),
        }
    }
}

impl Status {
    pub const ALL: [Status; 4] = [Status::Available, Status::Pending, Status::Sold, Status::Adopted];

    pub fn parse(field: &str, text: &str) -> Result<Status, FieldError> {
        let folded = text.trim().to_lowercase();
        Status::ALL.into_iter().find(|s| s.as_str() == folded).ok_or_else(|| {
            FieldError::new(field, "one_of", format!("{field} must be one of available, pending, sold, adopted"))
        })
    }
}

impl SortBy {
    pub const ALL: [SortBy; 6] =
        [SortBy::PriceAsc, SortBy::PriceDesc, SortBy::AgeAsc, SortBy::AgeDesc, SortBy::Name, SortBy::Newest];

    pub fn parse(field: &str, text: &str) -> Result<SortBy, FieldError> {
        SortBy::ALL.into_iter().find(|s| s.as_str() == text.trim()).ok_or_else(|| {
            FieldError::new(
                field,
                "one_of",
                format!("{field} must be one of price_asc, price_desc, age_asc, age_desc, name, newest"),
            )
        })
    }
}

/// Coat lengths, as Petfinder lists them.
pub const COATS: [&str; 6] = ["hairless", "short", "medium", "long", "wire", "curly"];

/// What a household writes about a listing, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct ListingContent {
    pub name: String,
    /// A canonical species name ([`SPECIES_NAMES`]).
    pub species: String,
    /// The breed as written ("Labrador mix"); "Mixed" when none was given.
    pub breed: String,
    pub age_months: Option<u32>,
    pub size: Option<Size>,
    pub sex: Option<Sex>,
    /// The colour as written ("black and tan").
    pub color: Option<String>,
    /// One of [`COATS`].
    pub coat: Option<String>,
    pub good_with_children: Option<bool>,
    pub good_with_dogs: Option<bool>,
    pub good_with_cats: Option<bool>,
    pub house_trained: Option<bool>,
    pub special_needs: Option<bool>,
    pub weight_kg: Option<f64>,
    /// In hundredths of the currency's unit.
    pub price_cents: Option<i64>,
    /// An ISO 4217 code, upper case.
    pub currency: String,
    pub status: Status,
    pub location: Option<String>,
    /// Up to [`PHOTOS_MAX`] photos, the first the main one: each an uploaded photo's stable
    /// address (`/files/{id}`) or an `https://` (or `http://`) address.
    pub photos: Vec<String>,
    pub description: Option<String>,
}

impl ListingContent {
    /// The price as a number of the currency's unit.
    pub fn price(&self) -> Option<f64> {
        self.price_cents.map(|c| c as f64 / 100.0)
    }

    /// What the search reads of this content.
    pub fn facts(&self) -> Facts {
        Facts {
            species: self.species.clone(),
            breeds: canonical_breeds(&self.breed),
            colors: self.color.as_deref().map(canonical_colors).unwrap_or_default(),
            name_key: self.name.to_lowercase(),
        }
    }
}

/// What a listing's text means in the vocabulary, worked out once when it is read or written.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Facts {
    pub species: String,
    pub breeds: Vec<String>,
    pub colors: Vec<String>,
    /// The name in lower case, for sorting and the exact-name filter.
    pub name_key: String,
}

/// A listing as kept.
#[derive(Debug, Clone, PartialEq)]
pub struct Listing {
    pub id: ListingId,
    pub household_id: HouseholdId,
    /// Its number in the household's catalog, from 1, never reused (the PetStore profile's id).
    pub number: i64,
    pub content: ListingContent,
    pub facts: Facts,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// A listing's fields as a client sent them: every one optional, checked by
/// [`ListingDraft::check`] against the listing it changes (or the defaults of a new one).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListingDraft {
    pub name: Option<String>,
    pub species: Option<String>,
    pub breed: Option<String>,
    pub age_months: Option<Option<i64>>,
    pub size: Option<Option<String>>,
    pub sex: Option<Option<String>>,
    pub color: Option<Option<String>>,
    pub coat: Option<Option<String>>,
    pub good_with_children: Option<Option<bool>>,
    pub good_with_dogs: Option<Option<bool>>,
    pub good_with_cats: Option<Option<bool>>,
    pub house_trained: Option<Option<bool>>,
    pub special_needs: Option<Option<bool>>,
    pub weight_kg: Option<Option<f64>>,
    pub price: Option<Option<f64>>,
    pub currency: Option<String>,
    pub status: Option<String>,
    pub location: Option<Option<String>>,
    /// One photo (`None` inside: no photo), for clients that know one; or …
    pub photo_url: Option<Option<String>>,
    /// … all the photos, in order. A draft sets at most one of the two.
    pub photos: Option<Vec<String>>,
    pub description: Option<Option<String>>,
}

/// A photo's address: an uploaded photo's stable address (the application checks it is one of
/// the household's listing photos), or an `http(s)` address.
fn photo(field: &str, url: String, errors: &mut Collector) -> Option<String> {
    let url = short_text(field, Some(url), URL_MAX, errors)?;
    if let Some(id) = crate::files::parse_stable_url(&url) {
        return Some(crate::files::stable_url(id));
    }
    let lower = url.to_ascii_lowercase();
    let ok = (lower.starts_with("https://") || lower.starts_with("http://"))
        && !url.contains(char::is_whitespace)
        && url.len() > "https://".len();
    if ok {
        return Some(url);
    }
    let message = if field == "photos" {
        "each of photos must be an http(s) address or an uploaded photo's /files/{id}"
    } else {
        "photo_url must be an http(s) address or an uploaded photo's /files/{id}"
    };
    errors.push(FieldError::new(field, "url", message));
    None
}

fn short_text(field: &str, value: Option<String>, max: usize, errors: &mut Collector) -> Option<String> {
    let value = value?.trim().to_owned();
    if value.is_empty() {
        return None;
    }
    if value.chars().count() > max {
        errors.push(FieldError::new(field, "too_long", format!("{field} must be at most {max} characters")));
        return None;
    }
    if value.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        errors.push(FieldError::new(field, "control_characters", format!("{field} must not hold control characters")));
        return None;
    }
    Some(value)
}

/// A price as hundredths: 0 to [`PRICE_MAX`] with at most two decimals.
pub fn price_cents(field: &str, price: f64) -> Result<i64, FieldError> {
    let cents = price * 100.0;
    if !price.is_finite() || !(0.0..=PRICE_MAX).contains(&price) || (cents - cents.round()).abs() > 1e-6 {
        return Err(FieldError::new(
            field,
            "out_of_range",
            format!("{field} must be a number from 0 to 1000000 with at most 2 decimals"),
        ));
    }
    Ok(cents.round() as i64)
}

impl ListingDraft {
    /// The content `base` becomes with this draft applied; a new listing's base is
    /// [`ListingDraft::defaults`]. Every broken field is named at once.
    pub fn check(self, base: Option<&ListingContent>) -> Result<ListingContent, Invalid> {
        let mut errors = Collector::new();
        let new = base.is_none();
        let name = match self.name.map(|n| n.trim().to_owned()) {
            Some(n) if n.is_empty() || n.chars().count() > NAME_MAX => {
                errors.push(FieldError::new("name", "length", "name must be 1 to 100 characters"));
                String::new()
            }
            Some(n) => n,
            None if new => {
                errors.push(FieldError::new("name", "required", "name is required"));
                String::new()
            }
            None => base.map(|b| b.name.clone()).unwrap_or_default(),
        };
        let species = match self.species {
            Some(s) => match canonical_species(&s) {
                Some(c) => c.to_owned(),
                None => {
                    errors.push(FieldError::new(
                        "species",
                        "one_of",
                        format!("species must be one of {}", SPECIES_NAMES.join(", ")),
                    ));
                    String::new()
                }
            },
            None if new => {
                errors.push(FieldError::new("species", "required", "species is required"));
                String::new()
            }
            None => base.map(|b| b.species.clone()).unwrap_or_default(),
        };
        let mut out = base.cloned().unwrap_or_else(|| ListingContent {
            name: String::new(),
            species: String::new(),
            breed: "Mixed".to_owned(),
            age_months: None,
            size: None,
            sex: None,
            color: None,
            coat: None,
            good_with_children: None,
            good_with_dogs: None,
            good_with_cats: None,
            house_trained: None,
            special_needs: None,
            weight_kg: None,
            price_cents: None,
            currency: "USD".to_owned(),
            status: Status::Available,
            location: None,
            photos: Vec::new(),
            description: None,
        });
        out.name = name;
        out.species = species;
        if let Some(breed) = self.breed {
            out.breed = short_text("breed", Some(breed), SHORT_MAX, &mut errors).unwrap_or_else(|| "Mixed".to_owned());
        }
        if let Some(age) = self.age_months {
            out.age_months = match age {
                None => None,
                Some(m) if (0..=i64::from(AGE_MONTHS_MAX)).contains(&m) => Some(m as u32),
                Some(_) => {
                    errors.push(FieldError::new("age_months", "out_of_range", "age_months must be from 0 to 600"));
                    None
                }
            };
        }
        if let Some(size) = self.size {
            out.size = size.and_then(|s| Size::parse("size", &s).map_err(|e| errors.push(e)).ok());
        }
        if let Some(sex) = self.sex {
            out.sex = sex.and_then(|s| Sex::parse("sex", &s).map_err(|e| errors.push(e)).ok());
        }
        if let Some(color) = self.color {
            out.color = short_text("color", color, SHORT_MAX, &mut errors);
        }
        if let Some(coat) = self.coat {
            out.coat = coat.and_then(|c| {
                let c = c.trim().to_lowercase();
                if COATS.contains(&c.as_str()) {
                    Some(c)
                } else {
                    errors.push(FieldError::new("coat", "one_of", format!("coat must be one of {}", COATS.join(", "))));
                    None
                }
            });
        }
        for (value, slot) in [
            (self.good_with_children, &mut out.good_with_children),
            (self.good_with_dogs, &mut out.good_with_dogs),
            (self.good_with_cats, &mut out.good_with_cats),
            (self.house_trained, &mut out.house_trained),
            (self.special_needs, &mut out.special_needs),
        ] {
            if let Some(v) = value {
                *slot = v;
            }
        }
        if let Some(weight) = self.weight_kg {
            out.weight_kg = match weight {
                None => None,
                Some(w) if w.is_finite() && w > 0.0 && w <= WEIGHT_MAX_KG => Some((w * 100.0).round() / 100.0),
                Some(_) => {
                    errors.push(FieldError::new(
                        "weight_kg",
                        "out_of_range",
                        "weight_kg must be more than 0 and at most 2000",
                    ));
                    None
                }
            };
        }
        if let Some(price) = self.price {
            out.price_cents = price.and_then(|p| price_cents("price", p).map_err(|e| errors.push(e)).ok());
        }
        if let Some(currency) = self.currency {
            let code = currency.trim().to_uppercase();
            if code.len() == 3 && code.chars().all(|c| c.is_ascii_uppercase()) {
                out.currency = code;
            } else {
                errors.push(FieldError::new("currency", "format", "currency must be a three-letter ISO 4217 code"));
            }
        }
        if let Some(status) = self.status {
            match Status::parse("status", &status) {
                Ok(s) => out.status = s,
                Err(e) => errors.push(e),
            }
        }
        if let Some(location) = self.location {
            out.location = short_text("location", location, SHORT_MAX, &mut errors);
        }
        match (self.photo_url, self.photos) {
            (Some(_), Some(_)) => errors.push(FieldError::new(
                "photos",
                "exclusive",
                "give photos (all of them) or photo_url (one), not both",
            )),
            (Some(url), None) => {
                out.photos = url.and_then(|u| photo("photo_url", u, &mut errors)).into_iter().collect();
            }
            (None, Some(photos)) => {
                if photos.len() > PHOTOS_MAX {
                    errors.push(FieldError::new(
                        "photos",
                        "max_items",
                        format!("photos may hold at most {PHOTOS_MAX} photos"),
                    ));
                } else {
                    // Each once, in the order given.
                    out.photos.clear();
                    for p in photos.into_iter().filter_map(|u| photo("photos", u, &mut errors)) {
                        if !out.photos.contains(&p) {
                            out.photos.push(p);
                        }
                    }
                }
            }
            (None, None) => {}
        }
        if let Some(description) = self.description {
            out.description = short_text("description", description, DESCRIPTION_MAX, &mut errors);
        }
        errors.finish().map(|()| out)
    }
}

/// Petfinder's yes/no traits; `Some(true)` keeps only listings known to have the trait.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Traits {
    pub good_with_children: Option<bool>,
    pub good_with_dogs: Option<bool>,
    pub good_with_cats: Option<bool>,
    pub house_trained: Option<bool>,
    pub special_needs: Option<bool>,
}

impl Traits {
    fn matches(&self, c: &ListingContent) -> bool {
        let want = |wanted: Option<bool>, has: Option<bool>| wanted.is_none_or(|w| has == Some(w));
        want(self.good_with_children, c.good_with_children)
            && want(self.good_with_dogs, c.good_with_dogs)
            && want(self.good_with_cats, c.good_with_cats)
            && want(self.house_trained, c.house_trained)
            && want(self.special_needs, c.special_needs)
    }
}

impl Filters {
    /// Whether a listing passes every filter (`limit` and `sort_by` aside). A bound on a value
    /// the listing does not state (no price, no age) is not met.
    pub fn matches(&self, listing: &Listing) -> bool {
        let (c, f) = (&listing.content, &listing.facts);
        let any = |list: &[String], values: &[String]| list.is_empty() || list.iter().any(|v| values.contains(v));
        let none = |list: &[String], values: &[String]| !list.iter().any(|v| values.contains(v));
        let species = std::slice::from_ref(&f.species);
        let bounded =
            |bounds: &super::Bounds, value: Option<f64>| bounds.is_empty() || value.is_some_and(|v| bounds.contains(v));
        self.status.is_none_or(|s| s == c.status)
            && any(&self.species, species)
            && none(&self.exclude_species, species)
            && any(&self.breeds, &f.breeds)
            && none(&self.exclude_breeds, &f.breeds)
            && self.colors.iter().all(|color| f.colors.contains(color))
            && none(&self.exclude_colors, &f.colors)
            && bounded(&self.age_years, c.age_months.map(|m| f64::from(m) / 12.0))
            && bounded(&self.price, c.price())
            && bounded(&self.weight_kg, c.weight_kg)
            && self.sex.as_deref().is_none_or(|s| c.sex.is_some_and(|x| x.as_str() == s))
            && (self.sizes.is_empty() || c.size.is_some_and(|s| self.sizes.contains(&s)))
            && self.name.as_deref().is_none_or(|n| n.to_lowercase() == f.name_key)
    }
}

/// One search of a catalog: the contract's filters, the traits, and an optional text match.
#[derive(Debug, Clone, Default)]
pub struct Search {
    pub filters: Filters,
    pub traits: Traits,
    pub text: Option<TextMatch>,
}

/// The listings a full-text search matched (the store's index finds them, FTS5 or `tsvector`),
/// and the words searched for, which rank them here, the same way on either engine.
#[derive(Debug, Clone, Default)]
pub struct TextMatch {
    /// The matched listings' numbers.
    pub numbers: std::collections::HashSet<i64>,
    pub terms: Vec<String>,
}

/// The most words a text search takes.
pub const TERMS_MAX: usize = 8;

/// The words of a text search: lower-case runs of letters and digits, each at least two
/// characters, at most [`TERMS_MAX`], no repeats. Each is matched as a word prefix.
pub fn search_terms(text: &str) -> Vec<String> {
    let mut terms: Vec<String> = Vec::new();
    for word in text.split(|c: char| !c.is_alphanumeric()) {
        let word = word.to_lowercase();
        if word.chars().count() >= 2 && !terms.contains(&word) && terms.len() < TERMS_MAX {
            terms.push(word);
        }
    }
    terms
}

/// How well a listing matches the words: 3 for each word that starts a word of the name, 2 of
/// the breed, 1 of the description.
pub fn text_score(terms: &[String], content: &ListingContent) -> f64 {
    let starts =
        |text: &str, term: &str| text.split(|c: char| !c.is_alphanumeric()).any(|w| w.to_lowercase().starts_with(term));
    terms
        .iter()
        .map(|t| {
            let mut score = 0.0;
            if starts(&content.name, t) {
                score += 3.0;
            }
            if starts(&content.breed, t) {
                score += 2.0;
            }
            if content.description.as_deref().is_some_and(|d| starts(d, t)) {
                score += 1.0;
            }
            score
        })
        .sum()
}

/// What a search found: `total` before paging, and the page asked for as positions in the
/// listings searched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub total: usize,
    pub at: Vec<usize>,
}

/// Orders two optional values; a listing that does not state the value goes last either way.
pub(super) fn cmp_opt<T: PartialOrd>(a: Option<T>, b: Option<T>, descending: bool) -> std::cmp::Ordering {
    use std::cmp::Ordering::*;
    match (a, b) {
        // Listings that do not state the value go last either way.
        (None, None) => Equal,
        (None, Some(_)) => Greater,
        (Some(_), None) => Less,
        (Some(a), Some(b)) => {
            let o = a.partial_cmp(&b).unwrap_or(Equal);
            if descending { o.reverse() } else { o }
        }
    }
}

impl Search {
    /// The listings that match, sorted (by `sort_by`; else by relevance for a text search;
    /// else by name; ties by number), `offset` and `limit` applied after counting.
    pub fn run(&self, listings: &[Listing], offset: usize, limit: usize) -> Found {
        let matched: Vec<(usize, f64)> = listings
            .iter()
            .enumerate()
            .filter(|(_, l)| self.text.as_ref().is_none_or(|t| t.numbers.contains(&l.number)))
            .filter(|(_, l)| self.filters.matches(l) && self.traits.matches(&l.content))
            .map(|(i, l)| (i, self.text.as_ref().map_or(0.0, |t| text_score(&t.terms, &l.content))))
            .collect();
        let sort = self.filters.sort_by;
        let relevance = sort.is_none() && self.text.is_some();
        let order = |(a, sa): &(usize, f64), (b, sb): &(usize, f64)| {
            let (a, b) = (&listings[*a], &listings[*b]);
            let (ca, cb) = (&a.content, &b.content);
            let first = match sort {
                Some(SortBy::PriceAsc) => cmp_opt(ca.price_cents, cb.price_cents, false),
                Some(SortBy::PriceDesc) => cmp_opt(ca.price_cents, cb.price_cents, true),
                Some(SortBy::AgeAsc) => cmp_opt(ca.age_months, cb.age_months, false),
                Some(SortBy::AgeDesc) => cmp_opt(ca.age_months, cb.age_months, true),
                Some(SortBy::Newest) => b.number.cmp(&a.number),
                Some(SortBy::Name) => std::cmp::Ordering::Equal,
                None if relevance => sb.partial_cmp(sa).unwrap_or(std::cmp::Ordering::Equal),
                None => std::cmp::Ordering::Equal,
            };
            first.then_with(|| a.facts.name_key.cmp(&b.facts.name_key)).then(a.number.cmp(&b.number))
        };
        page_of(matched, offset, limit, order)
    }
}

/// The page `offset..offset + limit` of `matched` (positions and scores) in `order`, and how
/// many matched: only the first `offset + limit` are put in order.
pub(super) fn page_of(
    mut matched: Vec<(usize, f64)>,
    offset: usize,
    limit: usize,
    order: impl Fn(&(usize, f64), &(usize, f64)) -> std::cmp::Ordering,
) -> Found {
    let total = matched.len();
    let wanted = offset.saturating_add(limit).min(total);
    if wanted < total && wanted > 0 {
        matched.select_nth_unstable_by(wanted - 1, &order);
        matched.truncate(wanted);
    }
    matched.sort_by(&order);
    Found { total, at: matched.into_iter().skip(offset).take(limit).map(|(i, _)| i).collect() }
}
