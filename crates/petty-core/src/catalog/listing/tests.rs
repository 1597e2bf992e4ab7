//! The contract's worked examples, searched: the parser's filters over its ten listings give
//! the pets and counts the contract lists.

use time::OffsetDateTime;

use super::*;
use crate::catalog::parse;

/// The contract's catalog: (name, type, breed, months, price, colour, sex).
const CATALOG: [(&str, &str, &str, u32, i64, &str, Sex); 10] = [
    ("Buddy", "dog", "Golden Retriever", 38, 500, "golden", Sex::Male),
    ("Max", "dog", "German Shepherd", 54, 800, "black and tan", Sex::Male),
    ("Rocky", "dog", "Bulldog", 24, 700, "white", Sex::Male),
    ("Charlie", "dog", "Labrador Retriever", 18, 600, "black", Sex::Male),
    ("Daisy", "dog", "Golden Retriever", 7, 450, "cream", Sex::Female),
    ("Whiskers", "cat", "Siamese", 28, 300, "cream", Sex::Female),
    ("Luna", "cat", "Persian", 60, 450, "white", Sex::Female),
    ("Shadow", "cat", "Domestic Shorthair", 13, 75, "black", Sex::Male),
    ("Tweety", "bird", "Canary", 12, 150, "yellow", Sex::Male),
    ("Nemo", "fish", "Clownfish", 11, 50, "orange", Sex::Male),
];

fn draft(name: &str, species: &str, breed: &str) -> ListingDraft {
    ListingDraft {
        name: Some(name.to_owned()),
        species: Some(species.to_owned()),
        breed: Some(breed.to_owned()),
        ..ListingDraft::default()
    }
}

fn catalog() -> Vec<Listing> {
    CATALOG
        .iter()
        .enumerate()
        .map(|(i, (name, species, breed, months, price, color, sex))| {
            let content = ListingDraft {
                age_months: Some(Some(i64::from(*months))),
                price: Some(Some(*price as f64)),
                color: Some(Some((*color).to_owned())),
                sex: Some(Some(sex.as_str().to_owned())),
                ..draft(name, species, breed)
            }
            .check(None)
            .unwrap();
            Listing {
                id: ListingId::new(),
                household_id: HouseholdId::new(),
                number: i as i64 + 1,
                facts: content.facts(),
                content,
                created_at: OffsetDateTime::UNIX_EPOCH,
                updated_at: OffsetDateTime::UNIX_EPOCH,
            }
        })
        .collect()
}

fn answer(listings: &[Listing], query: &str) -> (Vec<String>, usize) {
    let filters = parse(query);
    let limit = filters.limit as usize;
    let found = Search { filters, ..Search::default() }.run(listings, 0, limit);
    (found.at.iter().map(|i| listings[*i].content.name.clone()).collect(), found.total)
}

#[test]
fn the_contract_worked_examples_find_its_pets() {
    let listings = catalog();
    let cases: [(&str, &[&str], usize); 10] = [
        ("dogs under 2 years old", &["Charlie", "Daisy"], 2),
        ("cheapest cat", &["Shadow"], 3),
        ("golden retrievers under $500", &["Daisy"], 1),
        ("expensive dogs", &["Max", "Rocky", "Charlie", "Buddy", "Daisy"], 5),
        ("list 3 cheapest pets", &["Nemo", "Shadow", "Tweety"], 10),
        ("cats that are not black", &["Luna", "Whiskers"], 2),
        ("pets between 1 and 3 years old", &["Buddy", "Charlie", "Rocky", "Shadow", "Tweety", "Whiskers"], 6),
        ("show me catfish", &[], 0),
        ("Tell me about Buddy", &["Buddy"], 1),
        ("hello", &["Buddy", "Charlie", "Daisy", "Luna", "Max", "Nemo", "Rocky", "Shadow", "Tweety", "Whiskers"], 10),
    ];
    for (query, pets, count) in cases {
        let (names, total) = answer(&listings, query);
        assert_eq!(
            (names.as_slice(), total),
            (pets.iter().map(|p| p.to_string()).collect::<Vec<_>>().as_slice(), count),
            "{query}"
        );
    }
}

#[test]
fn a_mix_matches_its_breed_and_colours_match_all_of_them() {
    let mut listings = catalog();
    let content = ListingDraft { color: Some(Some("Black & White".into())), ..draft("Patch", "puppy", "Labrador mix") }
        .check(None)
        .unwrap();
    assert_eq!(content.species, "dog", "a puppy is listed as a dog");
    listings.push(Listing {
        id: ListingId::new(),
        household_id: HouseholdId::new(),
        number: 11,
        facts: content.facts(),
        content,
        created_at: OffsetDateTime::UNIX_EPOCH,
        updated_at: OffsetDateTime::UNIX_EPOCH,
    });
    assert_eq!(answer(&listings, "labradors").0, ["Charlie", "Patch"]);
    assert_eq!(answer(&listings, "mixed breed dogs").0, ["Patch"]);
    assert_eq!(answer(&listings, "black and white dogs").0, ["Patch"], "both colours are needed");
    // A listing with no price never meets a price bound.
    assert!(!answer(&listings, "dogs under $1000").0.contains(&"Patch".to_owned()));
}

#[test]
fn a_text_search_ranks_name_over_breed_over_description_and_the_same_each_time() {
    let mut listings = catalog();
    listings[7].content.description = Some("A golden-eyed cat".into());
    let terms = search_terms("Golden");
    let numbers = listings.iter().filter(|l| text_score(&terms, &l.content) > 0.0).map(|l| l.number).collect();
    let search = Search { text: Some(TextMatch { numbers, terms }), ..Search::default() };
    let found = search.run(&listings, 0, 10);
    let names: Vec<&str> = found.at.iter().map(|i| listings[*i].content.name.as_str()).collect();
    assert_eq!(names, ["Buddy", "Daisy", "Shadow"], "breed matches (by name) before the description match");
    assert_eq!(search_terms("  the GOLDEN golden retriever, x "), ["the", "golden", "retriever"]);
}

#[test]
fn a_page_is_the_slice_of_the_whole_order() {
    let listings = catalog();
    let filters = Filters { sort_by: Some(SortBy::PriceDesc), limit: 100, ..Filters::default() };
    let search = Search { filters, ..Search::default() };
    let all = search.run(&listings, 0, 100).at;
    for (offset, limit) in [(0, 3), (3, 3), (8, 5), (10, 2)] {
        let page = search.run(&listings, offset, limit);
        assert_eq!(page.total, 10);
        assert_eq!(page.at, all.iter().skip(offset).take(limit).copied().collect::<Vec<_>>(), "{offset}+{limit}");
    }
}

#[test]
fn bad_fields_are_named_together() {
    let broken = ListingDraft {
        name: Some(String::new()),
        species: Some("dragon".into()),
        age_months: Some(Some(601)),
        price: Some(Some(10.005)),
        currency: Some("dollars".into()),
        photo_url: Some(Some("javascript:alert(1)".into())),
        ..ListingDraft::default()
    };
    let Err(Invalid(errors)) = broken.check(None) else { panic!("accepted") };
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["name", "species", "age_months", "price", "currency", "photo_url"]);
    let missing = ListingDraft::default().check(None).unwrap_err();
    assert_eq!(
        missing.0.iter().map(|e| (e.field.as_str(), e.rule)).collect::<Vec<_>>(),
        [("name", "required"), ("species", "required")]
    );
}

/// xorshift64, for the property test.
struct Draw(u64);

impl Draw {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[(self.next() % from.len() as u64) as usize]
    }

    fn maybe(&mut self) -> Option<bool> {
        match self.next() % 3 {
            0 => None,
            1 => Some(true),
            _ => Some(false),
        }
    }
}

#[test]
fn the_packed_index_answers_exactly_what_the_listings_do() {
    let mut draw = Draw(0x2545_f491_4f6c_dd1d);
    let species = ["dog", "cat", "bird", "fish", "rabbit", "other", "puppy", "kitten"];
    let breeds = ["Golden Retriever", "Labrador mix", "Siamese", "Persian", "Canary", "Mutt", "Unicorn", "Beagle"];
    let colors = ["black", "white", "black and tan", "cream", "golden", "purple", "brindle"];
    let names = ["Max", "max", "Bella", "Luna", "Charlie", "Daisy"];
    let listings: Vec<Listing> = (0..600)
        .map(|i| {
            let content = ListingDraft {
                age_months: Some((draw.next() % 4 != 0).then(|| (draw.next() % 200) as i64)),
                price: Some((draw.next() % 5 != 0).then(|| (draw.next() % 150_000) as f64 / 100.0)),
                weight_kg: Some((draw.next() % 2 == 0).then(|| (1 + draw.next() % 800) as f64 / 10.0)),
                color: Some((draw.next() % 6 != 0).then(|| draw.pick(&colors).to_owned())),
                sex: Some(
                    (draw.next() % 4 != 0).then(|| if draw.next() % 2 == 0 { "male" } else { "female" }.to_owned()),
                ),
                size: Some(
                    (draw.next() % 3 != 0).then(|| draw.pick(&["small", "medium", "large", "xlarge"]).to_owned()),
                ),
                status: Some(draw.pick(&["available", "available", "pending", "sold", "adopted"]).to_owned()),
                good_with_children: Some(draw.maybe()),
                good_with_dogs: Some(draw.maybe()),
                house_trained: Some(draw.maybe()),
                description: Some(Some(format!("friendly {}", draw.pick(&breeds)))),
                ..draft(draw.pick(&names), draw.pick(&species), draw.pick(&breeds))
            }
            .check(None)
            .unwrap();
            Listing {
                id: ListingId::new(),
                household_id: HouseholdId::new(),
                number: i + 1,
                facts: content.facts(),
                content,
                created_at: OffsetDateTime::UNIX_EPOCH,
                updated_at: OffsetDateTime::UNIX_EPOCH,
            }
        })
        .collect();
    let index = crate::catalog::Index::build(&listings);
    let queries = include_str!("../labelled.txt")
        .lines()
        .filter(|l| !l.trim_start().starts_with('#') && l.contains("=>"))
        .filter_map(|l| l.split("=>").next().map(str::trim))
        .collect::<Vec<_>>();
    for (k, q) in queries.iter().enumerate() {
        let traits = Traits {
            good_with_children: draw.maybe().filter(|_| k % 3 == 0),
            house_trained: draw.maybe().filter(|_| k % 5 == 0),
            ..Traits::default()
        };
        let text = (k % 7 == 0).then(|| {
            let terms = search_terms(draw.pick(&["max", "golden", "friendly lab", "sia"]));
            let numbers = listings.iter().filter(|l| text_score(&terms, &l.content) > 0.0).map(|l| l.number).collect();
            TextMatch { numbers, terms }
        });
        let search = Search { filters: parse(q), traits, text };
        for (offset, limit) in [(0, 10), (0, 100), (7, 5), (0, 1000)] {
            assert_eq!(
                search.run_indexed(&listings, &index, offset, limit),
                search.run(&listings, offset, limit),
                "{q} ({offset}+{limit})"
            );
        }
    }
}

#[test]
fn photos_are_addresses_or_uploaded_files_at_most_six_once_each() {
    let base = ListingDraft { name: Some("Rex".into()), species: Some("dog".into()), ..ListingDraft::default() };
    let file = "/files/0190a6f2-8b3c-7def-8123-456789abcdef";
    let draft = ListingDraft {
        photos: Some(vec![
            format!(" {file}?exp=1&sig=ab "),
            "https://example.org/rex.jpg".into(),
            file.into(),
            "  ".into(),
        ]),
        ..base.clone()
    };
    let content = draft.check(None).unwrap();
    assert_eq!(content.photos, [file, "https://example.org/rex.jpg"], "stable addresses, each once, blanks dropped");
    // One photo, as photo_url: the list becomes that one; null clears it.
    let one = ListingDraft { photo_url: Some(Some("https://example.org/a.jpg".into())), ..ListingDraft::default() };
    assert_eq!(one.check(Some(&content)).unwrap().photos, ["https://example.org/a.jpg"]);
    let none = ListingDraft { photo_url: Some(None), ..ListingDraft::default() };
    assert!(none.check(Some(&content)).unwrap().photos.is_empty());
    let untouched = ListingDraft { name: Some("Rex II".into()), ..ListingDraft::default() };
    assert_eq!(untouched.check(Some(&content)).unwrap().photos, content.photos, "a patch without photos keeps them");
    let rule = |draft: ListingDraft| {
        let Err(Invalid(errors)) = draft.check(None) else { panic!("accepted") };
        errors.iter().map(|e| (e.field.clone(), e.rule)).collect::<Vec<_>>()
    };
    let seven = ListingDraft { photos: Some(vec!["https://example.org/x.jpg".into(); 7]), ..base.clone() };
    assert_eq!(rule(seven), [("photos".to_owned(), "max_items")]);
    let both = ListingDraft { photos: Some(Vec::new()), photo_url: Some(None), ..base.clone() };
    assert_eq!(rule(both), [("photos".to_owned(), "exclusive")]);
    let bad = ListingDraft { photos: Some(vec!["javascript:alert(1)".into()]), ..base };
    assert_eq!(rule(bad), [("photos".to_owned(), "url")]);
}
