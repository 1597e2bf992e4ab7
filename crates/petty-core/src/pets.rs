//! A pet's profile and the rules its fields follow.

use std::fmt;
use std::str::FromStr;

use time::{Date, OffsetDateTime};

use crate::ids::{HouseholdId, PetId};
use crate::validation::{Collector, FieldError, Invalid, optional_text, required_text};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Species {
    Dog,
    Cat,
    Bird,
    Rabbit,
    Rodent,
    Fish,
    Reptile,
    Horse,
    Other,
}

impl Species {
    pub const ALL: [Species; 9] = [
        Species::Dog,
        Species::Cat,
        Species::Bird,
        Species::Rabbit,
        Species::Rodent,
        Species::Fish,
        Species::Reptile,
        Species::Horse,
        Species::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Species::Dog => "dog",
            Species::Cat => "cat",
            Species::Bird => "bird",
            Species::Rabbit => "rabbit",
            Species::Rodent => "rodent",
            Species::Fish => "fish",
            Species::Reptile => "reptile",
            Species::Horse => "horse",
            Species::Other => "other",
        }
    }
}

impl FromStr for Species {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim().to_lowercase();
        Species::ALL.into_iter().find(|x| x.as_str() == s).ok_or_else(|| {
            Invalid::one(
                "species",
                "one_of",
                "species must be one of dog, cat, bird, rabbit, rodent, fish, reptile, horse, other",
            )
        })
    }
}

impl fmt::Display for Species {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sex {
    Male,
    Female,
    Unknown,
}

impl Sex {
    pub const ALL: [Sex; 3] = [Sex::Male, Sex::Female, Sex::Unknown];

    pub fn as_str(self) -> &'static str {
        match self {
            Sex::Male => "male",
            Sex::Female => "female",
            Sex::Unknown => "unknown",
        }
    }
}

impl FromStr for Sex {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim().to_lowercase();
        Sex::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| Invalid::one("sex", "one_of", "sex must be one of male, female, unknown"))
    }
}

/// How much of a date of birth is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum BirthPrecision {
    /// The exact day.
    #[default]
    Day,
    /// The month: the day written is the 1st.
    Month,
    /// The year (an estimate, for an adopted adult): the date written is 1 January.
    Year,
}

impl BirthPrecision {
    pub const ALL: [BirthPrecision; 3] = [BirthPrecision::Day, BirthPrecision::Month, BirthPrecision::Year];

    pub fn as_str(self) -> &'static str {
        match self {
            BirthPrecision::Day => "day",
            BirthPrecision::Month => "month",
            BirthPrecision::Year => "year",
        }
    }

    /// The date of birth as precisely as it is known: `2021-04-30`, `2021-04` or `2021`.
    pub fn show(self, date: Date) -> String {
        match self {
            BirthPrecision::Day => format_date(date),
            BirthPrecision::Month => format!("{:04}-{:02}", date.year(), u8::from(date.month())),
            BirthPrecision::Year => format!("{:04}", date.year()),
        }
    }
}

impl FromStr for BirthPrecision {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim().to_lowercase();
        BirthPrecision::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| Invalid::one("birth_precision", "one_of", "birth_precision must be one of day, month, year"))
    }
}

/// A stored pet.
#[derive(Debug, Clone, PartialEq)]
pub struct Pet {
    pub id: PetId,
    pub household_id: HouseholdId,
    pub profile: PetProfile,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// Everything about a pet that its people can edit, already checked.
#[derive(Debug, Clone, PartialEq)]
pub struct PetProfile {
    pub name: String,
    pub species: Species,
    pub breed: Option<String>,
    pub date_of_birth: Option<Date>,
    /// How much of `date_of_birth` is known.
    pub birth_precision: BirthPrecision,
    pub sex: Sex,
    /// Whether the pet is neutered or spayed; `None` when nobody said.
    pub neutered: Option<bool>,
    pub weight_kg: Option<f64>,
    pub microchip_id: Option<String>,
    pub photo_url: Option<String>,
    pub notes: Option<String>,
}

impl PetProfile {
    /// The names of the fields that differ between `self` and `other` (for the audit log).
    /// Every field is named here: a new one does not compile until it is compared.
    pub fn changed_fields(&self, other: &PetProfile) -> Vec<&'static str> {
        let PetProfile {
            name,
            species,
            breed,
            date_of_birth,
            birth_precision,
            sex,
            neutered,
            weight_kg,
            microchip_id,
            photo_url,
            notes,
        } = self;
        let mut changed = Vec::new();
        macro_rules! compare {
            ($($f:ident),*) => { $(if *$f != other.$f { changed.push(stringify!($f)); })* };
        }
        compare!(
            name,
            species,
            breed,
            date_of_birth,
            birth_precision,
            sex,
            neutered,
            weight_kg,
            microchip_id,
            photo_url,
            notes
        );
        changed
    }
}

/// A pet profile as it arrives from outside: text, not yet checked.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawPetProfile {
    pub name: String,
    pub species: String,
    pub breed: Option<String>,
    pub date_of_birth: Option<String>,
    pub birth_precision: Option<String>,
    pub sex: Option<String>,
    pub neutered: Option<bool>,
    pub weight_kg: Option<f64>,
    pub microchip_id: Option<String>,
    pub photo_url: Option<String>,
    pub notes: Option<String>,
}

/// 100, as pet-care products (and the Pet Management seed's contract) allow.
pub const NAME_MAX: usize = 100;
pub const BREED_MAX: usize = 100;
pub const NOTES_MAX: usize = 4000;
pub const PHOTO_URL_MAX: usize = 2048;
/// The heaviest household animal Petty expects (a horse); anything heavier is a typo.
pub const WEIGHT_MAX_KG: f64 = 1500.0;

impl PetProfile {
    /// Checks every field and reports every problem at once.
    pub fn parse(raw: &RawPetProfile, today: Date) -> Result<Self, Invalid> {
        let mut c = Collector::new();
        let name = c.take(required_text("name", &raw.name, NAME_MAX));
        let species = c.take(raw.species.parse::<Species>());
        let breed = c.take(optional_text("breed", raw.breed.as_deref(), BREED_MAX));
        let date_of_birth = c.take(parse_date_of_birth(raw.date_of_birth.as_deref(), today));
        let birth_precision = c.take(match raw.birth_precision.as_deref().map(str::trim) {
            None | Some("") => Ok(BirthPrecision::Day),
            Some(s) => s.parse::<BirthPrecision>(),
        });
        let sex = c.take(match raw.sex.as_deref().map(str::trim) {
            None | Some("") => Ok(Sex::Unknown),
            Some(s) => s.parse::<Sex>(),
        });
        let weight_kg = c.take(parse_weight(raw.weight_kg));
        let microchip_id = c.take(parse_microchip(raw.microchip_id.as_deref()));
        let photo_url = c.take(parse_photo_url(raw.photo_url.as_deref()));
        let notes = c.take(optional_text("notes", raw.notes.as_deref(), NOTES_MAX));
        c.finish()?;
        match (name, species, breed, date_of_birth, birth_precision, sex, weight_kg, microchip_id, photo_url, notes) {
            (
                Some(name),
                Some(species),
                Some(breed),
                Some(date_of_birth),
                Some(birth_precision),
                Some(sex),
                Some(weight_kg),
                Some(microchip_id),
                Some(photo_url),
                Some(notes),
            ) => Ok(Self {
                name,
                species,
                breed,
                // A month or a year is written as its first day.
                date_of_birth: date_of_birth.map(|d| match birth_precision {
                    BirthPrecision::Day => d,
                    BirthPrecision::Month => d.replace_day(1).unwrap_or(d),
                    BirthPrecision::Year => {
                        d.replace_day(1).and_then(|d| d.replace_month(time::Month::January)).unwrap_or(d)
                    }
                }),
                birth_precision,
                sex,
                neutered: raw.neutered,
                weight_kg,
                microchip_id,
                photo_url,
                notes,
            }),
            _ => Err(Invalid::one("body", "invalid", "the pet could not be read")),
        }
    }

    /// The profile as raw text again, for forms that edit it.
    pub fn to_raw(&self) -> RawPetProfile {
        RawPetProfile {
            name: self.name.clone(),
            species: self.species.as_str().to_owned(),
            breed: self.breed.clone(),
            date_of_birth: self.date_of_birth.map(format_date),
            birth_precision: Some(self.birth_precision.as_str().to_owned()),
            sex: Some(self.sex.as_str().to_owned()),
            neutered: self.neutered,
            weight_kg: self.weight_kg,
            microchip_id: self.microchip_id.clone(),
            photo_url: self.photo_url.clone(),
            notes: self.notes.clone(),
        }
    }
}

/// `YYYY-MM-DD`.
pub fn format_date(date: Date) -> String {
    format!("{:04}-{:02}-{:02}", date.year(), u8::from(date.month()), date.day())
}

/// Parses `YYYY-MM-DD`.
pub fn parse_date(field: &str, raw: &str) -> Result<Date, Invalid> {
    let bad = || Invalid::one(field, "format", format!("{field} must be a date like 2021-04-30"));
    let mut parts = raw.trim().splitn(3, '-');
    let (Some(y), Some(m), Some(d)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    let digits = |part: &str, len: usize| part.len() == len && part.bytes().all(|b| b.is_ascii_digit());
    if !(digits(y, 4) && digits(m, 2) && digits(d, 2)) {
        return Err(bad());
    }
    let year: i32 = y.parse().map_err(|_| bad())?;
    let month: u8 = m.parse().map_err(|_| bad())?;
    let day: u8 = d.parse().map_err(|_| bad())?;
    let month = time::Month::try_from(month).map_err(|_| bad())?;
    Date::from_calendar_date(year, month, day).map_err(|_| bad())
}

fn parse_date_of_birth(raw: Option<&str>, today: Date) -> Result<Option<Date>, Invalid> {
    let Some(raw) = raw.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let date = parse_date("date_of_birth", raw)?;
    if date > today {
        return Err(Invalid::one("date_of_birth", "out_of_range", "date_of_birth must not be in the future"));
    }
    if today.year() - date.year() > 100 {
        return Err(Invalid::one("date_of_birth", "out_of_range", "date_of_birth must be within the last 100 years"));
    }
    Ok(Some(date))
}

fn parse_weight(raw: Option<f64>) -> Result<Option<f64>, Invalid> {
    match raw {
        None => Ok(None),
        Some(w) if w.is_finite() && w > 0.0 && w <= WEIGHT_MAX_KG => Ok(Some(w)),
        Some(_) => Err(Invalid::one(
            "weight_kg",
            "out_of_range",
            format!("weight_kg must be more than 0 and at most {WEIGHT_MAX_KG}"),
        )),
    }
}

/// ISO 11784 chips are 15 digits; older and regional chips (AVID, Trovan, ...) are 9 to 14
/// letters and digits. Spaces, dashes and dots between them are dropped; letters are kept
/// upper-case.
pub const MICROCHIP_MIN: usize = 9;
pub const MICROCHIP_MAX: usize = 15;

fn parse_microchip(raw: Option<&str>) -> Result<Option<String>, Invalid> {
    let Some(raw) = raw.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let compact: String = raw.chars().filter(|c| !matches!(c, ' ' | '-' | '.')).collect::<String>().to_uppercase();
    let ok =
        (MICROCHIP_MIN..=MICROCHIP_MAX).contains(&compact.len()) && compact.chars().all(|c| c.is_ascii_alphanumeric());
    if ok {
        Ok(Some(compact))
    } else {
        Err(Invalid(vec![FieldError::new(
            "microchip_id",
            "format",
            "microchip_id must be 9 to 15 letters or digits (an ISO 11784 chip is 15 digits)",
        )]))
    }
}

fn parse_photo_url(raw: Option<&str>) -> Result<Option<String>, Invalid> {
    let Some(raw) = raw.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let ok_scheme = raw.starts_with("https://") || raw.starts_with("http://") || raw.starts_with('/');
    if !ok_scheme || raw.chars().any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '<' || c == '>') {
        return Err(Invalid::one("photo_url", "format", "photo_url must be an http(s) URL or a path starting with /"));
    }
    if raw.len() > PHOTO_URL_MAX {
        return Err(Invalid::one(
            "photo_url",
            "too_long",
            format!("photo_url must be at most {PHOTO_URL_MAX} characters"),
        ));
    }
    Ok(Some(raw.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn raw() -> RawPetProfile {
        RawPetProfile { name: "Bella".into(), species: "dog".into(), ..Default::default() }
    }

    #[test]
    fn a_minimal_pet_parses() {
        let p = PetProfile::parse(&raw(), date!(2026 - 11 - 22)).unwrap();
        assert_eq!(p.name, "Bella");
        assert_eq!(p.species, Species::Dog);
        assert_eq!(p.sex, Sex::Unknown);
    }

    #[test]
    fn every_bad_field_is_named() {
        let bad = RawPetProfile {
            name: " ".into(),
            species: "dragon".into(),
            date_of_birth: Some("2030-01-01".into()),
            weight_kg: Some(-2.0),
            microchip_id: Some("12".into()),
            photo_url: Some("javascript:alert(1)".into()),
            sex: Some("x".into()),
            ..Default::default()
        };
        let err = PetProfile::parse(&bad, date!(2026 - 11 - 22)).unwrap_err();
        let fields: Vec<_> = err.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "species", "date_of_birth", "sex", "weight_kg", "microchip_id", "photo_url"]);
    }

    #[test]
    fn dates_and_chips() {
        assert_eq!(parse_date("d", "2021-04-30").unwrap(), date!(2021 - 04 - 30));
        assert!(parse_date("d", "2021-02-30").is_err());
        assert!(parse_date("d", "21-4-30").is_err());
        assert!(parse_date("d", "2021-+4-30").is_err(), "digits only, no sign");
        assert_eq!(format_date(date!(2021 - 04 - 05)), "2021-04-05");
        assert_eq!(parse_microchip(Some("985 112 003 456 789")).unwrap().as_deref(), Some("985112003456789"));
        assert_eq!(parse_microchip(Some("a1b2c3d4e")).unwrap().as_deref(), Some("A1B2C3D4E"));
        assert_eq!(parse_microchip(Some("98511200345678X")).unwrap().as_deref(), Some("98511200345678X"));
        assert_eq!(parse_microchip(Some("AVID1234567")).unwrap().as_deref(), Some("AVID1234567"));
        assert!(parse_microchip(Some("12345678")).is_err(), "8 is too short");
        assert!(parse_microchip(Some("1234567890123456")).is_err(), "16 is too long");
        assert!(parse_microchip(Some("12345678_9")).is_err(), "letters and digits only");
    }

    #[test]
    fn raw_round_trip() {
        let mut r = raw();
        r.date_of_birth = Some("2020-02-29".into());
        r.weight_kg = Some(21.5);
        r.sex = Some("female".into());
        let p = PetProfile::parse(&r, date!(2026 - 11 - 22)).unwrap();
        assert_eq!(PetProfile::parse(&p.to_raw(), date!(2026 - 11 - 22)).unwrap(), p);
    }
}
