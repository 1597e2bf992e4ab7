//! A packed index beside a snapshot of listings, so a search reads about 64 bytes a listing
//! instead of the whole [`Listing`]: status, species, sex and size as small numbers, breeds and
//! colours as bit sets over the vocabulary, the numbers the bounds and sorts read, and each
//! listing's place in name order. Posting lists per species and per breed let a search that
//! names species (or one breed) read only those listings' entries. [`Search::run_indexed`]
//! answers exactly what [`Search::run`]
//! does (a property test holds them together); filters it cannot pack (a name outside the
//! vocabulary) fall back to the listing itself.

use super::listing::cmp_opt;
use super::vocab::{BREEDS, COLORS};
use super::{Filters, Listing, SPECIES_NAMES, Search, SortBy, Status, Traits, text_score};
use super::{Found, Size};

/// No value (an age, a size, ...).
const NONE8: u8 = u8::MAX;

#[derive(Debug, Clone, Copy)]
struct Packed {
    breeds: u128,
    price_cents: i64,
    number: i64,
    weight_kg: f64,
    colors: u32,
    name_rank: u32,
    age_months: u32,
    /// Two bits per trait (known, yes), in [`Traits`]' order.
    traits: u16,
    status: u8,
    species: u8,
    sex: u8,
    size: u8,
}

/// The packed index of a snapshot's listings, in the same order.
#[derive(Debug, Clone, Default)]
pub struct Index {
    packed: Vec<Packed>,
    /// For each species code, the listings of that species (ascending positions).
    by_species: Vec<Vec<u32>>,
    /// For each breed bit, the listings with that breed (ascending positions).
    by_breed: Vec<Vec<u32>>,
}

fn bit_of<T: PartialEq + ?Sized>(names: &[&T], name: &T) -> Option<u32> {
    names.iter().position(|n| *n == name).map(|p| p as u32)
}

fn breed_names() -> Vec<&'static str> {
    BREEDS.iter().map(|(name, _, _)| *name).collect()
}

fn color_names() -> Vec<&'static str> {
    COLORS.iter().map(|(name, _)| *name).collect()
}

fn status_code(s: Status) -> u8 {
    Status::ALL.iter().position(|x| *x == s).map_or(NONE8, |p| p as u8)
}

fn size_code(s: Size) -> u8 {
    s as u8
}

fn traits_of(values: [Option<bool>; 5]) -> u16 {
    values.iter().enumerate().fold(0, |acc, (i, v)| match v {
        Some(yes) => acc | (1 << (2 * i)) | (u16::from(*yes) << (2 * i + 1)),
        None => acc,
    })
}

impl Index {
    /// The index of `listings`.
    pub fn build(listings: &[Listing]) -> Index {
        let (breeds, colors) = (breed_names(), color_names());
        let mut by_name: Vec<usize> = (0..listings.len()).collect();
        by_name.sort_by(|a, b| {
            let (a, b) = (&listings[*a], &listings[*b]);
            a.facts.name_key.cmp(&b.facts.name_key).then(a.number.cmp(&b.number))
        });
        let mut rank = vec![0u32; listings.len()];
        for (r, i) in by_name.into_iter().enumerate() {
            rank[i] = r as u32;
        }
        let packed = listings
            .iter()
            .zip(rank)
            .map(|(l, name_rank)| {
                let c = &l.content;
                let mask = |names: &[&str], of: &[String]| -> Option<u128> {
                    of.iter().try_fold(0u128, |m, n| bit_of(names, n.as_str()).map(|b| m | (1u128 << b)))
                };
                Packed {
                    // A name outside the vocabulary cannot be: the facts come from it.
                    breeds: mask(&breeds, &l.facts.breeds).unwrap_or(0),
                    colors: mask(&colors, &l.facts.colors).unwrap_or(0) as u32,
                    price_cents: c.price_cents.unwrap_or(i64::MIN),
                    number: l.number,
                    weight_kg: c.weight_kg.unwrap_or(f64::NAN),
                    name_rank,
                    age_months: c.age_months.unwrap_or(u32::MAX),
                    traits: traits_of([
                        c.good_with_children,
                        c.good_with_dogs,
                        c.good_with_cats,
                        c.house_trained,
                        c.special_needs,
                    ]),
                    status: status_code(c.status),
                    species: bit_of(&SPECIES_NAMES, l.facts.species.as_str()).map_or(NONE8, |b| b as u8),
                    sex: c.sex.map_or(NONE8, |s| s as u8),
                    size: c.size.map_or(NONE8, size_code),
                }
            })
            .collect::<Vec<Packed>>();
        let mut by_species = vec![Vec::new(); SPECIES_NAMES.len()];
        let mut by_breed = vec![Vec::new(); breeds.len()];
        for (i, p) in packed.iter().enumerate() {
            if let Some(list) = by_species.get_mut(usize::from(p.species)) {
                list.push(i as u32);
            }
            let mut bits = p.breeds;
            while bits != 0 {
                let bit = bits.trailing_zeros() as usize;
                if let Some(list) = by_breed.get_mut(bit) {
                    list.push(i as u32);
                }
                bits &= bits - 1;
            }
        }
        Index { packed, by_species, by_breed }
    }

    /// The positions a search with `masks` need look at: the postings of the one breed or of
    /// the species it names (whichever are fewer; the species' lists are disjoint, so together
    /// they hold each listing once), or `None` for every listing.
    fn candidates(&self, masks: &Masks) -> Option<Vec<&[u32]>> {
        let breed = (masks.breeds.count_ones() == 1)
            .then(|| self.by_breed.get(masks.breeds.trailing_zeros() as usize))
            .flatten()
            .map(|list| vec![list.as_slice()]);
        let species: Option<Vec<&[u32]>> = (masks.species != 0).then(|| {
            (0..32)
                .filter(|b| masks.species & (1u32 << b) != 0)
                .filter_map(|b| self.by_species.get(b))
                .map(|l| l.as_slice())
                .collect()
        });
        let len = |lists: &Vec<&[u32]>| lists.iter().map(|l| l.len()).sum::<usize>();
        match (breed, species) {
            (Some(b), Some(s)) => Some(if len(&b) <= len(&s) { b } else { s }),
            (b, s) => b.or(s),
        }
    }
}

/// The filters as masks over the packed fields; `None` when some name is not in the
/// vocabulary (the search then reads the listings).
struct Masks {
    status: Option<u8>,
    species: u32,
    exclude_species: u32,
    breeds: u128,
    exclude_breeds: u128,
    colors: u32,
    exclude_colors: u32,
    sex: Option<u8>,
    sizes: u8,
    /// (mask, wanted) over [`Packed::traits`].
    traits: (u16, u16),
}

impl Masks {
    fn of(filters: &Filters, traits: &Traits) -> Option<Masks> {
        let (breeds, colors) = (breed_names(), color_names());
        let set = |names: &[&str], of: &[String]| -> Option<u128> {
            of.iter().try_fold(0u128, |m, n| bit_of(names, n.as_str()).map(|b| m | (1u128 << b)))
        };
        let sex = match filters.sex.as_deref() {
            None => None,
            Some("male") => Some(super::Sex::Male as u8),
            Some("female") => Some(super::Sex::Female as u8),
            Some(_) => return None,
        };
        let wanted = [
            traits.good_with_children,
            traits.good_with_dogs,
            traits.good_with_cats,
            traits.house_trained,
            traits.special_needs,
        ];
        let mask =
            wanted.iter().enumerate().fold(0u16, |m, (i, w)| if w.is_some() { m | (0b11 << (2 * i)) } else { m });
        Some(Masks {
            status: filters.status.map(status_code),
            species: set(&SPECIES_NAMES, &filters.species)? as u32,
            exclude_species: set(&SPECIES_NAMES, &filters.exclude_species)? as u32,
            breeds: set(&breeds, &filters.breeds)?,
            exclude_breeds: set(&breeds, &filters.exclude_breeds)?,
            colors: set(&colors, &filters.colors)? as u32,
            exclude_colors: set(&colors, &filters.exclude_colors)? as u32,
            sex,
            sizes: filters.sizes.iter().fold(0u8, |m, s| m | (1 << size_code(*s))),
            traits: (mask, traits_of(wanted)),
        })
    }

    fn matches(&self, p: &Packed, f: &Filters) -> bool {
        let species = if p.species == NONE8 { 0 } else { 1u32 << p.species };
        let bounded = |b: &super::Bounds, v: Option<f64>| b.is_empty() || v.is_some_and(|v| b.contains(v));
        self.status.is_none_or(|s| s == p.status)
            && (self.species == 0 || self.species & species != 0)
            && self.exclude_species & species == 0
            && (self.breeds == 0 || self.breeds & p.breeds != 0)
            && self.exclude_breeds & p.breeds == 0
            && self.colors & p.colors == self.colors
            && self.exclude_colors & p.colors == 0
            && self.sex.is_none_or(|s| s == p.sex)
            && (self.sizes == 0 || (p.size != NONE8 && self.sizes & (1 << p.size) != 0))
            && p.traits & self.traits.0 == self.traits.1
            && bounded(&f.age_years, (p.age_months != u32::MAX).then(|| f64::from(p.age_months) / 12.0))
            && bounded(&f.price, (p.price_cents != i64::MIN).then(|| p.price_cents as f64 / 100.0))
            && bounded(&f.weight_kg, (!p.weight_kg.is_nan()).then_some(p.weight_kg))
    }
}

impl Search {
    /// [`Search::run`] over `listings` through their `index` (built from the same listings).
    pub fn run_indexed(&self, listings: &[Listing], index: &Index, offset: usize, limit: usize) -> Found {
        let masks = match Masks::of(&self.filters, &self.traits) {
            Some(m) if index.packed.len() == listings.len() => m,
            _ => return self.run(listings, offset, limit),
        };
        let name = self.filters.name.as_deref().map(str::to_lowercase);
        let positions: Box<dyn Iterator<Item = usize>> = match index.candidates(&masks) {
            Some(lists) => Box::new(lists.into_iter().flatten().map(|i| *i as usize)),
            None => Box::new(0..index.packed.len()),
        };
        let matched: Vec<(usize, f64)> = positions
            .map(|i| (i, &index.packed[i]))
            .filter(|(_, p)| masks.matches(p, &self.filters))
            .filter(|(_, p)| self.text.as_ref().is_none_or(|t| t.numbers.contains(&p.number)))
            .filter(|(i, _)| name.as_ref().is_none_or(|n| *n == listings[*i].facts.name_key))
            .map(|(i, _)| (i, self.text.as_ref().map_or(0.0, |t| text_score(&t.terms, &listings[i].content))))
            .collect();
        let sort = self.filters.sort_by;
        let relevance = sort.is_none() && self.text.is_some();
        let packed = &index.packed;
        let some_price = |p: &Packed| (p.price_cents != i64::MIN).then_some(p.price_cents);
        let some_age = |p: &Packed| (p.age_months != u32::MAX).then_some(p.age_months);
        let order = |(a, sa): &(usize, f64), (b, sb): &(usize, f64)| {
            let (a, b) = (&packed[*a], &packed[*b]);
            let first = match sort {
                Some(SortBy::PriceAsc) => cmp_opt(some_price(a), some_price(b), false),
                Some(SortBy::PriceDesc) => cmp_opt(some_price(a), some_price(b), true),
                Some(SortBy::AgeAsc) => cmp_opt(some_age(a), some_age(b), false),
                Some(SortBy::AgeDesc) => cmp_opt(some_age(a), some_age(b), true),
                Some(SortBy::Newest) => b.number.cmp(&a.number),
                Some(SortBy::Name) => std::cmp::Ordering::Equal,
                None if relevance => sb.partial_cmp(sa).unwrap_or(std::cmp::Ordering::Equal),
                None => std::cmp::Ordering::Equal,
            };
            first.then(a.name_rank.cmp(&b.name_rank))
        };
        super::listing::page_of(matched, offset, limit, order)
    }
}
