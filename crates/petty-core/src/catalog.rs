//! The pet catalog's query filters, and the deterministic parser that turns a sentence such as
//! "golden retrievers under $500" into them (`compat/petstore.md`, "The filters" and "The
//! parser"). No LLM, no I/O: the same text always gives the same [`Filters`].
//!
//! [`parse`] never panics on any string. [`Filters`] describes itself in words for chips and the
//! CLI ([`fmt::Display`]) and gives its pieces as plain key/values ([`Filters::entries`]) for an
//! edge to serialise.

mod index;
mod listing;
mod parser;
mod vocab;

#[cfg(test)]
mod tests;

use std::fmt;

pub use index::Index;
pub use listing::*;
pub use parser::parse;

/// Numeric bounds on one dimension; any subset may be set.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Bounds {
    pub gt: Option<f64>,
    pub gte: Option<f64>,
    pub lt: Option<f64>,
    pub lte: Option<f64>,
}

impl Bounds {
    pub fn is_empty(&self) -> bool {
        self.gt.is_none() && self.gte.is_none() && self.lt.is_none() && self.lte.is_none()
    }

    /// Adds a lower bound; of two lower bounds the tighter one stays.
    pub fn lower(&mut self, value: f64, inclusive: bool) {
        if tighter((self.gt, self.gte), value, inclusive, |a, b| a > b) {
            self.gt = (!inclusive).then_some(value);
            self.gte = inclusive.then_some(value);
        }
    }

    /// Adds an upper bound; of two upper bounds the tighter one stays.
    pub fn upper(&mut self, value: f64, inclusive: bool) {
        if tighter((self.lt, self.lte), value, inclusive, |a, b| a < b) {
            self.lt = (!inclusive).then_some(value);
            self.lte = inclusive.then_some(value);
        }
    }

    /// Whether `value` lies within the bounds.
    pub fn contains(&self, value: f64) -> bool {
        self.gt.is_none_or(|b| value > b)
            && self.gte.is_none_or(|b| value >= b)
            && self.lt.is_none_or(|b| value < b)
            && self.lte.is_none_or(|b| value <= b)
    }

    /// The set bounds as (key, value), in the order gt, gte, lt, lte.
    pub fn entries(&self) -> Vec<(&'static str, f64)> {
        [("gt", self.gt), ("gte", self.gte), ("lt", self.lt), ("lte", self.lte)]
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect()
    }
}

/// Whether a new bound is tighter than the (strict, inclusive) pair set on the same side;
/// `beyond(a, b)` says that `a` lies further in than `b`.
fn tighter(
    (strict, inclusive_now): (Option<f64>, Option<f64>),
    value: f64,
    inclusive: bool,
    beyond: fn(f64, f64) -> bool,
) -> bool {
    match (strict, inclusive_now) {
        (Some(v), _) => beyond(value, v),
        (None, Some(v)) => beyond(value, v) || (value == v && !inclusive),
        (None, None) => true,
    }
}

/// A listing's size class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    Small,
    Medium,
    Large,
    Xlarge,
}

impl Size {
    pub fn as_str(self) -> &'static str {
        match self {
            Size::Small => "small",
            Size::Medium => "medium",
            Size::Large => "large",
            Size::Xlarge => "xlarge",
        }
    }
}

/// The order of the results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortBy {
    PriceAsc,
    PriceDesc,
    AgeAsc,
    AgeDesc,
    Name,
    Newest,
}

impl SortBy {
    pub fn as_str(self) -> &'static str {
        match self {
            SortBy::PriceAsc => "price_asc",
            SortBy::PriceDesc => "price_desc",
            SortBy::AgeAsc => "age_asc",
            SortBy::AgeDesc => "age_desc",
            SortBy::Name => "name",
            SortBy::Newest => "newest",
        }
    }

    fn words(self) -> &'static str {
        match self {
            SortBy::PriceAsc => "cheapest first",
            SortBy::PriceDesc => "most expensive first",
            SortBy::AgeAsc => "youngest first",
            SortBy::AgeDesc => "oldest first",
            SortBy::Name => "by name",
            SortBy::Newest => "newest first",
        }
    }
}

/// A listing's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Available,
    Pending,
    Sold,
    Adopted,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Available => "available",
            Status::Pending => "pending",
            Status::Sold => "sold",
            Status::Adopted => "adopted",
        }
    }
}

/// The largest `limit`.
pub const MAX_LIMIT: u32 = 100;
/// The `limit` when the query names none.
pub const DEFAULT_LIMIT: u32 = 10;

/// One query's filters: the contract's filters object. Lists keep the order of the query and
/// hold no duplicates; species, breeds and colours are canonical lower-case names.
#[derive(Debug, Clone, PartialEq)]
pub struct Filters {
    pub species: Vec<String>,
    pub exclude_species: Vec<String>,
    pub breeds: Vec<String>,
    pub exclude_breeds: Vec<String>,
    pub colors: Vec<String>,
    pub exclude_colors: Vec<String>,
    pub age_years: Bounds,
    pub price: Bounds,
    pub weight_kg: Bounds,
    /// An ISO code, only when the query names a currency.
    pub currency: Option<String>,
    /// "male" or "female".
    pub sex: Option<String>,
    pub sizes: Vec<Size>,
    /// An exact name, compared case-insensitively.
    pub name: Option<String>,
    pub sort_by: Option<SortBy>,
    /// 1–100.
    pub limit: u32,
    /// `None` for any status.
    pub status: Option<Status>,
}

impl Default for Filters {
    fn default() -> Self {
        Filters {
            species: Vec::new(),
            exclude_species: Vec::new(),
            breeds: Vec::new(),
            exclude_breeds: Vec::new(),
            colors: Vec::new(),
            exclude_colors: Vec::new(),
            age_years: Bounds::default(),
            price: Bounds::default(),
            weight_kg: Bounds::default(),
            currency: None,
            sex: None,
            sizes: Vec::new(),
            name: None,
            sort_by: None,
            limit: DEFAULT_LIMIT,
            status: Some(Status::Available),
        }
    }
}

/// One key of the filters object with its value, for an edge to serialise.
#[derive(Debug, Clone, PartialEq)]
pub enum FilterValue {
    List(Vec<String>),
    Bounds(Bounds),
    Text(String),
    Number(u32),
    /// `status: null`.
    Null,
}

impl Filters {
    /// The set keys in the contract's order; `limit` and `status` are always there.
    pub fn entries(&self) -> Vec<(&'static str, FilterValue)> {
        let mut out = Vec::new();
        let lists = [
            ("species", &self.species),
            ("exclude_species", &self.exclude_species),
            ("breeds", &self.breeds),
            ("exclude_breeds", &self.exclude_breeds),
            ("colors", &self.colors),
            ("exclude_colors", &self.exclude_colors),
        ];
        for (key, list) in lists {
            if !list.is_empty() {
                out.push((key, FilterValue::List(list.clone())));
            }
        }
        for (key, bounds) in [("age_years", self.age_years), ("price", self.price), ("weight_kg", self.weight_kg)] {
            if !bounds.is_empty() {
                out.push((key, FilterValue::Bounds(bounds)));
            }
        }
        if let Some(currency) = &self.currency {
            out.push(("currency", FilterValue::Text(currency.clone())));
        }
        if let Some(sex) = &self.sex {
            out.push(("sex", FilterValue::Text(sex.clone())));
        }
        if !self.sizes.is_empty() {
            let sizes = self.sizes.iter().map(|s| s.as_str().to_owned()).collect();
            out.push(("sizes", FilterValue::List(sizes)));
        }
        if let Some(name) = &self.name {
            out.push(("name", FilterValue::Text(name.clone())));
        }
        if let Some(sort) = self.sort_by {
            out.push(("sort_by", FilterValue::Text(sort.as_str().to_owned())));
        }
        out.push(("limit", FilterValue::Number(self.limit)));
        out.push((
            "status",
            match self.status {
                Some(s) => FilterValue::Text(s.as_str().to_owned()),
                None => FilterValue::Null,
            },
        ));
        out
    }

    /// These filters with one key of [`Filters::entries`] back to its default (a chip removed).
    /// An unknown key changes nothing.
    pub fn without(mut self, key: &str) -> Filters {
        let default = Filters::default();
        match key {
            "species" => self.species.clear(),
            "exclude_species" => self.exclude_species.clear(),
            "breeds" => self.breeds.clear(),
            "exclude_breeds" => self.exclude_breeds.clear(),
            "colors" => self.colors.clear(),
            "exclude_colors" => self.exclude_colors.clear(),
            "age_years" => self.age_years = Bounds::default(),
            // A price chip carries its currency.
            "price" => {
                self.price = Bounds::default();
                self.currency = None;
            }
            "weight_kg" => self.weight_kg = Bounds::default(),
            "currency" => self.currency = None,
            "sex" => self.sex = None,
            "sizes" => self.sizes.clear(),
            "name" => self.name = None,
            "sort_by" => self.sort_by = None,
            "limit" => self.limit = default.limit,
            "status" => self.status = default.status,
            _ => {}
        }
        self
    }

    /// Upstream's `min_price`: the price's lower bound, inclusive or not.
    pub fn min_price(&self) -> Option<f64> {
        self.price.gte.or(self.price.gt)
    }

    /// Upstream's `max_price`: the price's upper bound, inclusive or not.
    pub fn max_price(&self) -> Option<f64> {
        self.price.lte.or(self.price.lt)
    }

    /// The species when there is exactly one (upstream's `type_filter`).
    pub fn type_filter(&self) -> Option<&str> {
        match self.species.as_slice() {
            [one] => Some(one),
            _ => None,
        }
    }
}

/// A number as the filters print it: an integer when whole.
fn number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 { format!("{}", value as i64) } else { format!("{value}") }
}

fn bounds_in_words(bounds: &Bounds, unit: &str) -> String {
    let mut parts = Vec::new();
    if let Some(v) = bounds.gt {
        parts.push(format!("over {}", number(v)));
    }
    if let Some(v) = bounds.gte {
        parts.push(format!("at least {}", number(v)));
    }
    if let Some(v) = bounds.lt {
        parts.push(format!("under {}", number(v)));
    }
    if let Some(v) = bounds.lte {
        parts.push(format!("at most {}", number(v)));
    }
    format!("{}{unit}", parts.join(", "))
}

/// The filters in words, one chip per key: "dog", "golden retriever", "under 500 USD",
/// "cheapest first", "top 3". Removing a chip is [`Filters::without`] its key.
impl Filters {
    pub fn chips(&self) -> Vec<(&'static str, String)> {
        let mut chips: Vec<(&'static str, String)> = Vec::new();
        let not = |list: &[String]| list.iter().map(|s| format!("not {s}")).collect::<Vec<_>>().join(", ");
        if let Some(name) = &self.name {
            chips.push(("name", format!("named {name}")));
        }
        let lists: [(&'static str, &Vec<String>, Option<&str>); 6] = [
            ("species", &self.species, Some(" or ")),
            ("exclude_species", &self.exclude_species, None),
            ("breeds", &self.breeds, Some(" or ")),
            ("exclude_breeds", &self.exclude_breeds, None),
            ("colors", &self.colors, Some(" and ")),
            ("exclude_colors", &self.exclude_colors, None),
        ];
        for (key, list, joiner) in lists {
            if !list.is_empty() {
                chips.push((key, joiner.map_or_else(|| not(list), |j| list.join(j))));
            }
        }
        if let Some(sex) = &self.sex {
            chips.push(("sex", sex.clone()));
        }
        if !self.sizes.is_empty() {
            chips.push(("sizes", self.sizes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" or ")));
        }
        if !self.age_years.is_empty() {
            chips.push(("age_years", format!("age {}", bounds_in_words(&self.age_years, " years"))));
        }
        if !self.price.is_empty() {
            let unit = self.currency.as_deref().map(|c| format!(" {c}")).unwrap_or_default();
            chips.push(("price", bounds_in_words(&self.price, &unit)));
        } else if let Some(currency) = &self.currency {
            chips.push(("currency", currency.clone()));
        }
        if !self.weight_kg.is_empty() {
            chips.push(("weight_kg", format!("weight {}", bounds_in_words(&self.weight_kg, " kg"))));
        }
        if let Some(sort) = self.sort_by {
            chips.push(("sort_by", sort.words().to_owned()));
        }
        if self.limit != DEFAULT_LIMIT {
            chips.push(("limit", format!("top {}", self.limit)));
        }
        match self.status {
            Some(Status::Available) => {}
            Some(s) => chips.push(("status", s.as_str().to_owned())),
            None => chips.push(("status", "any status".to_owned())),
        }
        chips
    }
}

/// One line in words: "dog · golden retriever · under 500 USD · cheapest first · top 3".
impl fmt::Display for Filters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let chips = self.chips();
        if chips.is_empty() {
            return f.write_str("everything");
        }
        let words: Vec<String> = chips.into_iter().map(|(_, w)| w).collect();
        f.write_str(&words.join(" · "))
    }
}
