//! Care records (what a vet and an owner keep about a pet) and the vaccines' due dates.
//!
//! A record is dated by the day the care happened. A vaccination names its vaccine, or the
//! vaccine is recognised in its title; per pet and vaccine the latest dose decides when the next
//! is due: its `valid_until` when the vet wrote one, three weeks later for a puppy's or kitten's
//! core series given before 16 weeks of age, otherwise twelve calendar months later.

use std::fmt;
use std::str::FromStr;

use time::{Date, Duration, OffsetDateTime};

use crate::ids::{HouseholdId, PetId, UserId};
use crate::pets::{Species, parse_date};
use crate::recurrence::add_months;
use crate::validation::{Collector, Invalid, optional_text, required_text};

/// What kind of care a record tells of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RecordKind {
    Vaccination,
    Medication,
    Visit,
    Procedure,
    Surgery,
    Dental,
    TestResult,
    Allergy,
    Condition,
    Weight,
    Other,
}

impl RecordKind {
    pub const ALL: [RecordKind; 11] = [
        RecordKind::Vaccination,
        RecordKind::Medication,
        RecordKind::Visit,
        RecordKind::Procedure,
        RecordKind::Surgery,
        RecordKind::Dental,
        RecordKind::TestResult,
        RecordKind::Allergy,
        RecordKind::Condition,
        RecordKind::Weight,
        RecordKind::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Vaccination => "vaccination",
            RecordKind::Medication => "medication",
            RecordKind::Visit => "visit",
            RecordKind::Procedure => "procedure",
            RecordKind::Surgery => "surgery",
            RecordKind::Dental => "dental",
            RecordKind::TestResult => "test_result",
            RecordKind::Allergy => "allergy",
            RecordKind::Condition => "condition",
            RecordKind::Weight => "weight",
            RecordKind::Other => "other",
        }
    }

    /// For people.
    pub fn label(self) -> &'static str {
        match self {
            RecordKind::Vaccination => "Vaccination",
            RecordKind::Medication => "Medication",
            RecordKind::Visit => "Visit",
            RecordKind::Procedure => "Procedure",
            RecordKind::Surgery => "Surgery",
            RecordKind::Dental => "Dental",
            RecordKind::TestResult => "Test result",
            RecordKind::Allergy => "Allergy",
            RecordKind::Condition => "Condition",
            RecordKind::Weight => "Weight",
            RecordKind::Other => "Other",
        }
    }

    pub fn one_of_message(field: &str) -> String {
        let names: Vec<&str> = RecordKind::ALL.iter().map(|k| k.as_str()).collect();
        format!("{field} must be one of: {}", names.join(", "))
    }
}

impl FromStr for RecordKind {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim().to_ascii_lowercase();
        RecordKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| Invalid::one("kind", "one_of", RecordKind::one_of_message("kind")))
    }
}

impl fmt::Display for RecordKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A vaccine series Petty follows; `Other` vaccines are followed per distinct title.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Vaccine {
    Rabies,
    Dhpp,
    Bordetella,
    Leptospirosis,
    Lyme,
    CanineInfluenza,
    Fvrcp,
    Felv,
    Other,
}

impl Vaccine {
    pub const ALL: [Vaccine; 9] = [
        Vaccine::Rabies,
        Vaccine::Dhpp,
        Vaccine::Bordetella,
        Vaccine::Leptospirosis,
        Vaccine::Lyme,
        Vaccine::CanineInfluenza,
        Vaccine::Fvrcp,
        Vaccine::Felv,
        Vaccine::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Vaccine::Rabies => "rabies",
            Vaccine::Dhpp => "dhpp",
            Vaccine::Bordetella => "bordetella",
            Vaccine::Leptospirosis => "leptospirosis",
            Vaccine::Lyme => "lyme",
            Vaccine::CanineInfluenza => "canine_influenza",
            Vaccine::Fvrcp => "fvrcp",
            Vaccine::Felv => "felv",
            Vaccine::Other => "other",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Vaccine::Rabies => "Rabies",
            Vaccine::Dhpp => "DHPP",
            Vaccine::Bordetella => "Bordetella",
            Vaccine::Leptospirosis => "Leptospirosis",
            Vaccine::Lyme => "Lyme",
            Vaccine::CanineInfluenza => "Canine influenza",
            Vaccine::Fvrcp => "FVRCP",
            Vaccine::Felv => "FeLV",
            Vaccine::Other => "Other",
        }
    }

    /// The core series a puppy or kitten gets every three weeks until 16 weeks old.
    fn has_juvenile_series(self) -> bool {
        matches!(self, Vaccine::Dhpp | Vaccine::Fvrcp)
    }

    /// The vaccine a title names, for this species: the first rule that matches, in order.
    pub fn recognise(title: &str, species: Species) -> Vaccine {
        let t = title.to_lowercase();
        let has = |words: &[&str]| words.iter().any(|w| t.contains(w));
        if has(&["rabies"]) {
            Vaccine::Rabies
        } else if has(&["dhpp", "dhlpp", "da2pp", "parvo"]) || (species == Species::Dog && has(&["distemper"])) {
            Vaccine::Dhpp
        } else if has(&["bordetella", "kennel cough"]) {
            Vaccine::Bordetella
        } else if has(&["lepto"]) {
            Vaccine::Leptospirosis
        } else if has(&["lyme"]) {
            Vaccine::Lyme
        } else if has(&["canine influenza", "dog flu"]) {
            Vaccine::CanineInfluenza
        } else if has(&["fvrcp", "panleukopenia"]) || (species == Species::Cat && has(&["distemper"])) {
            Vaccine::Fvrcp
        } else if has(&["felv", "feline leukemia"]) {
            Vaccine::Felv
        } else {
            Vaccine::Other
        }
    }
}

impl FromStr for Vaccine {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim().to_ascii_lowercase();
        Vaccine::ALL.into_iter().find(|v| v.as_str() == s).ok_or_else(|| {
            let names: Vec<&str> = Vaccine::ALL.iter().map(|v| v.as_str()).collect();
            Invalid::one("vaccine", "one_of", format!("vaccine must be one of: {}", names.join(", ")))
        })
    }
}

/// Money in cents, never negative, at most 99,999,999.99.
pub const COST_MAX_CENTS: i64 = 9_999_999_999;
pub const TITLE_MAX: usize = 200;
pub const DESCRIPTION_MAX: usize = 10_000;
pub const VET_MAX: usize = 200;
pub const DOSE_MAX: usize = 200;

/// A care record's content, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordContent {
    pub kind: RecordKind,
    pub title: String,
    pub description: Option<String>,
    /// The day the care happened.
    pub date: Date,
    pub vet: Option<String>,
    pub cost_cents: Option<i64>,
    /// Vaccinations: the series (recognised from the title when not given).
    pub vaccine: Option<Vaccine>,
    /// Vaccinations: the date the vet says the dose protects until.
    pub valid_until: Option<Date>,
    /// Medications: how much, and how often, as the vet wrote it.
    pub dose: Option<String>,
    pub schedule: Option<String>,
    /// Weights: the weight measured.
    pub weight_kg: Option<f64>,
}

/// A record as it arrives from outside.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawRecord {
    pub kind: String,
    pub title: Option<String>,
    pub description: Option<String>,
    pub date: String,
    pub vet: Option<String>,
    pub cost: Option<f64>,
    pub vaccine: Option<String>,
    pub valid_until: Option<String>,
    pub dose: Option<String>,
    pub schedule: Option<String>,
    pub weight_kg: Option<f64>,
}

impl RecordContent {
    /// Checks every field, naming each that is wrong. `today` is the household's local date;
    /// a record may be dated up to tomorrow (a vet abroad, a clock a little ahead).
    pub fn parse(raw: &RawRecord, species: Species, today: Date) -> Result<RecordContent, Invalid> {
        let mut c = Collector::new();
        let kind = c.take(raw.kind.parse::<RecordKind>());
        let title_raw = match (raw.title.as_deref().map(str::trim).filter(|t| !t.is_empty()), kind) {
            (Some(t), _) => t.to_owned(),
            (None, Some(RecordKind::Weight)) => "Weight".to_owned(),
            (None, _) => String::new(),
        };
        let title = c.take(required_text("title", &title_raw, TITLE_MAX));
        let description = c.take(optional_text("description", raw.description.as_deref(), DESCRIPTION_MAX));
        let date = c.take(parse_record_date("date", &raw.date, today));
        let vet = c.take(optional_text("vet", raw.vet.as_deref(), VET_MAX));
        let cost_cents = c.take(parse_cost("cost", raw.cost));
        let dose = c.take(optional_text("dose", raw.dose.as_deref(), DOSE_MAX));
        let schedule = c.take(optional_text("schedule", raw.schedule.as_deref(), DOSE_MAX));
        let is_vaccination = kind == Some(RecordKind::Vaccination);
        let vaccine = c.take(match raw.vaccine.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            Some(_) if !is_vaccination => {
                Err(Invalid::one("vaccine", "only_vaccination", "vaccine is only for vaccination records"))
            }
            Some(v) => v.parse::<Vaccine>().map(Some),
            None if is_vaccination => Ok(Some(Vaccine::recognise(&title_raw, species))),
            None => Ok(None),
        });
        let valid_until = c.take(match raw.valid_until.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            Some(_) if !is_vaccination => {
                Err(Invalid::one("valid_until", "only_vaccination", "valid_until is only for vaccination records"))
            }
            Some(v) => parse_date("valid_until", v).map(Some),
            None => Ok(None),
        });
        let weight_kg = c.take(match (kind, raw.weight_kg) {
            (Some(RecordKind::Weight), None) => {
                Err(Invalid::one("weight_kg", "required", "weight_kg is required for a weight record"))
            }
            (_, Some(w)) if !(w.is_finite() && w > 0.0 && w <= crate::pets::WEIGHT_MAX_KG) => Err(Invalid::one(
                "weight_kg",
                "out_of_range",
                format!("weight_kg must be more than 0 and at most {}", crate::pets::WEIGHT_MAX_KG),
            )),
            (Some(RecordKind::Weight), Some(w)) => Ok(Some((w * 100.0).round() / 100.0)),
            (_, Some(_)) => Err(Invalid::one("weight_kg", "only_weight", "weight_kg is only for weight records")),
            (_, None) => Ok(None),
        });
        if let (Some(date), Some(Some(until))) = (date, valid_until)
            && until < date
        {
            c.push(crate::FieldError::new("valid_until", "out_of_range", "valid_until must not be before date"));
        }
        c.finish()?;
        match (kind, title, description, date, vet, cost_cents, vaccine, valid_until, dose, schedule, weight_kg) {
            (
                Some(kind),
                Some(title),
                Some(description),
                Some(date),
                Some(vet),
                Some(cost_cents),
                Some(vaccine),
                Some(valid_until),
                Some(dose),
                Some(schedule),
                Some(weight_kg),
            ) => Ok(RecordContent {
                kind,
                title,
                description,
                date,
                vet,
                cost_cents,
                vaccine,
                valid_until,
                dose,
                schedule,
                weight_kg,
            }),
            _ => Err(Invalid::one("body", "invalid", "the record could not be read")),
        }
    }

    /// The content as raw input again, for a change that keeps what it does not name.
    pub fn to_raw(&self) -> RawRecord {
        RawRecord {
            kind: self.kind.as_str().to_owned(),
            title: Some(self.title.clone()),
            description: self.description.clone(),
            date: crate::pets::format_date(self.date),
            vet: self.vet.clone(),
            cost: self.cost_cents.map(|c| c as f64 / 100.0),
            vaccine: self.vaccine.map(|v| v.as_str().to_owned()),
            valid_until: self.valid_until.map(crate::pets::format_date),
            dose: self.dose.clone(),
            schedule: self.schedule.clone(),
            weight_kg: self.weight_kg,
        }
    }

    /// A vaccination's series key: the vaccine, or for `other` the title (each distinct
    /// title its own series).
    pub fn series(&self) -> Option<String> {
        match self.vaccine? {
            Vaccine::Other => Some(format!("other:{}", self.title.trim().to_lowercase())),
            v => Some(v.as_str().to_owned()),
        }
    }
}

/// A record's date: a day, at most tomorrow.
pub fn parse_record_date(field: &str, raw: &str, today: Date) -> Result<Date, Invalid> {
    if raw.trim().is_empty() {
        return Err(Invalid::one(field, "required", format!("{field} is required")));
    }
    let date = parse_date(field, raw)?;
    if date > today + Duration::days(1) {
        return Err(Invalid::one(field, "out_of_range", format!("{field} must not be in the future")));
    }
    if date.year() < 1950 {
        return Err(Invalid::one(field, "out_of_range", format!("{field} must be 1950 or later")));
    }
    Ok(date)
}

/// A cost in the household's currency: 0 to 99,999,999.99, kept in cents.
pub fn parse_cost(field: &str, raw: Option<f64>) -> Result<Option<i64>, Invalid> {
    let Some(cost) = raw else { return Ok(None) };
    let cents = (cost * 100.0).round();
    if !cost.is_finite() || cost < 0.0 || cents > COST_MAX_CENTS as f64 {
        return Err(Invalid::one(field, "out_of_range", format!("{field} must be between 0 and 99999999.99")));
    }
    Ok(Some(cents as i64))
}

/// A stored care record.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub id: uuid::Uuid,
    pub household_id: HouseholdId,
    pub pet_id: PetId,
    pub content: RecordContent,
    pub created_by: Option<UserId>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// Where a vaccine series stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum VaccineStatus {
    /// No vaccination recorded (only for a pet's overall status).
    None,
    UpToDate,
    Due,
    Overdue,
}

impl VaccineStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            VaccineStatus::None => "none",
            VaccineStatus::UpToDate => "up_to_date",
            VaccineStatus::Due => "due",
            VaccineStatus::Overdue => "overdue",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            VaccineStatus::None => "No vaccinations",
            VaccineStatus::UpToDate => "Up to date",
            VaccineStatus::Due => "Due",
            VaccineStatus::Overdue => "Overdue",
        }
    }

    /// `today` against a due date: overdue after it, due from 30 days before it.
    pub fn on(due: Date, today: Date) -> VaccineStatus {
        if today > due {
            VaccineStatus::Overdue
        } else if today >= due - Duration::days(30) {
            VaccineStatus::Due
        } else {
            VaccineStatus::UpToDate
        }
    }
}

/// One vaccine series of a pet: its latest dose and when the next is due.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesStatus {
    pub series: String,
    pub vaccine: Vaccine,
    /// Rabies, DHPP, ...; for other vaccines, the title of the latest dose.
    pub label: String,
    pub last_dose: Date,
    pub due: Date,
    pub status: VaccineStatus,
    pub record_id: uuid::Uuid,
}

/// The date the next dose is due after `dose`.
pub fn due_date(vaccine: Vaccine, dose: Date, valid_until: Option<Date>, born: Option<Date>) -> Date {
    if let Some(until) = valid_until {
        return until;
    }
    let juvenile = born.is_some_and(|b| dose < b + Duration::days(112));
    if vaccine.has_juvenile_series() && juvenile {
        return dose + Duration::days(21);
    }
    add_months(dose, 12).unwrap_or(dose + Duration::days(365))
}

/// Every series of a pet from its vaccination records (any order), latest dose deciding (by
/// date, then by when it was written), in vaccine order.
pub fn vaccine_statuses(records: &[Record], born: Option<Date>, today: Date) -> Vec<SeriesStatus> {
    let mut latest: std::collections::BTreeMap<String, &Record> = std::collections::BTreeMap::new();
    for r in records.iter().filter(|r| r.content.kind == RecordKind::Vaccination) {
        let Some(series) = r.content.series() else { continue };
        let newer =
            latest.get(&series).is_none_or(|cur| (r.content.date, r.created_at) > (cur.content.date, cur.created_at));
        if newer {
            latest.insert(series, r);
        }
    }
    let mut out: Vec<SeriesStatus> = latest
        .into_iter()
        .filter_map(|(series, r)| {
            let vaccine = r.content.vaccine?;
            let due = due_date(vaccine, r.content.date, r.content.valid_until, born);
            Some(SeriesStatus {
                label: if vaccine == Vaccine::Other { r.content.title.clone() } else { vaccine.label().to_owned() },
                series,
                vaccine,
                last_dose: r.content.date,
                due,
                status: VaccineStatus::on(due, today),
                record_id: r.id,
            })
        })
        .collect();
    out.sort_by(|a, b| (a.vaccine, &a.label).cmp(&(b.vaccine, &b.label)));
    out
}

/// The worst of a pet's series; `None` without any.
pub fn overall_status(series: &[SeriesStatus]) -> VaccineStatus {
    series.iter().map(|s| s.status).max().unwrap_or(VaccineStatus::None)
}

/// The weight's trend in kilograms per 30 days: the least-squares slope over the weigh-ins of
/// the 90 days up to the latest; `None` with fewer than two days of weigh-ins in that time.
pub fn weight_trend_per_30d(points: &[(Date, f64)]) -> Option<f64> {
    let latest = points.iter().map(|(d, _)| *d).max()?;
    let window: Vec<(f64, f64)> = points
        .iter()
        .filter(|(d, _)| *d > latest - Duration::days(90))
        .map(|(d, w)| (f64::from((*d - latest).whole_days() as i32), *w))
        .collect();
    let n = window.len() as f64;
    let mean_x = window.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_y = window.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = window.iter().map(|p| (p.0 - mean_x).powi(2)).sum();
    if window.len() < 2 || sxx == 0.0 {
        return None;
    }
    let sxy: f64 = window.iter().map(|p| (p.0 - mean_x) * (p.1 - mean_y)).sum();
    Some((sxy / sxx * 30.0 * 100.0).round() / 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    fn vaccination(title: &str, on: Date, valid_until: Option<Date>, species: Species) -> Record {
        let raw = RawRecord {
            kind: "vaccination".into(),
            title: Some(title.into()),
            date: crate::pets::format_date(on),
            valid_until: valid_until.map(crate::pets::format_date),
            ..Default::default()
        };
        Record {
            id: uuid::Uuid::now_v7(),
            household_id: HouseholdId(uuid::Uuid::nil()),
            pet_id: PetId(uuid::Uuid::nil()),
            content: RecordContent::parse(&raw, species, date!(2030 - 01 - 01)).unwrap(),
            created_by: None,
            created_at: datetime!(2024-01-01 0:00 UTC),
            updated_at: datetime!(2024-01-01 0:00 UTC),
        }
    }

    #[test]
    fn a_puppy_series_is_due_three_weeks_later() {
        let r = vaccination("DHPP booster", date!(2024 - 03 - 01), None, Species::Dog);
        let s = vaccine_statuses(&[r], Some(date!(2024 - 01 - 10)), date!(2024 - 03 - 05));
        assert_eq!(s[0].vaccine, Vaccine::Dhpp);
        assert_eq!(s[0].due, date!(2024 - 03 - 22));
        assert_eq!(s[0].status, VaccineStatus::Due);
    }

    #[test]
    fn rabies_is_due_a_year_later_with_thirty_days_warning() {
        let r = vaccination("Rabies", date!(2024 - 05 - 20), None, Species::Dog);
        let at = |today| vaccine_statuses(std::slice::from_ref(&r), None, today)[0].status;
        assert_eq!(at(date!(2025 - 04 - 19)), VaccineStatus::UpToDate);
        assert_eq!(at(date!(2025 - 04 - 20)), VaccineStatus::Due);
        assert_eq!(at(date!(2025 - 05 - 20)), VaccineStatus::Due);
        assert_eq!(at(date!(2025 - 05 - 21)), VaccineStatus::Overdue);
        let until = vaccination("Rabies 3-year", date!(2024 - 05 - 20), Some(date!(2027 - 05 - 20)), Species::Dog);
        assert_eq!(vaccine_statuses(&[until], None, date!(2025 - 06 - 01))[0].due, date!(2027 - 05 - 20));
    }

    #[test]
    fn month_end_clamps() {
        assert_eq!(due_date(Vaccine::Rabies, date!(2024 - 02 - 29), None, None), date!(2025 - 02 - 28));
    }

    #[test]
    fn titles_are_recognised_by_species() {
        assert_eq!(Vaccine::recognise("Distemper combo", Species::Dog), Vaccine::Dhpp);
        assert_eq!(Vaccine::recognise("Distemper combo", Species::Cat), Vaccine::Fvrcp);
        assert_eq!(Vaccine::recognise("Kennel Cough intranasal", Species::Dog), Vaccine::Bordetella);
        assert_eq!(Vaccine::recognise("Feline Leukemia", Species::Cat), Vaccine::Felv);
        assert_eq!(Vaccine::recognise("Myxomatosis", Species::Rabbit), Vaccine::Other);
    }

    #[test]
    fn the_latest_dose_decides_and_the_worst_series_is_the_pets() {
        let old = vaccination("Rabies", date!(2023 - 01 - 01), None, Species::Dog);
        let new = vaccination("Rabies", date!(2024 - 06 - 01), None, Species::Dog);
        let lepto = vaccination("Lepto", date!(2023 - 01 - 01), None, Species::Dog);
        let s = vaccine_statuses(&[new.clone(), old, lepto], None, date!(2024 - 07 - 01));
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].record_id, new.id);
        assert_eq!(s[0].status, VaccineStatus::UpToDate);
        assert_eq!(overall_status(&s), VaccineStatus::Overdue);
        assert_eq!(overall_status(&[]), VaccineStatus::None);
    }

    #[test]
    fn bad_records_name_every_field() {
        let raw = RawRecord {
            kind: "haircut".into(),
            title: Some(" ".into()),
            date: "2099-01-01".into(),
            cost: Some(-1.0),
            ..Default::default()
        };
        let err = RecordContent::parse(&raw, Species::Dog, date!(2026 - 01 - 01)).unwrap_err();
        let fields: Vec<_> = err.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["kind", "title", "date", "cost"]);
        let weight = RawRecord { kind: "weight".into(), date: "2025-01-01".into(), ..Default::default() };
        let err = RecordContent::parse(&weight, Species::Dog, date!(2026 - 01 - 01)).unwrap_err();
        assert_eq!(err.0[0].field, "weight_kg");
        let vaccine_on_visit = RawRecord {
            kind: "visit".into(),
            title: Some("Checkup".into()),
            date: "2025-01-01".into(),
            vaccine: Some("rabies".into()),
            ..Default::default()
        };
        assert_eq!(
            RecordContent::parse(&vaccine_on_visit, Species::Dog, date!(2026 - 01 - 01)).unwrap_err().0[0].field,
            "vaccine"
        );
    }

    #[test]
    fn the_weight_trend_is_per_thirty_days() {
        let points = [(date!(2025 - 01 - 01), 20.0), (date!(2025 - 01 - 31), 21.0), (date!(2025 - 03 - 02), 22.0)];
        assert_eq!(weight_trend_per_30d(&points), Some(1.0));
        assert_eq!(weight_trend_per_30d(&points[..1]), None);
        // Only the last 90 days count.
        let old = [(date!(2020 - 01 - 01), 50.0), (date!(2025 - 01 - 01), 20.0), (date!(2025 - 01 - 31), 20.0)];
        assert_eq!(weight_trend_per_30d(&old), Some(0.0));
    }

    #[test]
    fn costs_are_cents() {
        assert_eq!(parse_cost("cost", Some(12.345)).unwrap(), Some(1235));
        assert!(parse_cost("cost", Some(100_000_000.0)).is_err());
        assert!(parse_cost("cost", Some(f64::NAN)).is_err());
    }
}
