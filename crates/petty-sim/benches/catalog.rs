//! How long the catalog's sentence parser and its search take, on this machine, for issue 16's
//! budget "parse plus search over 10,000 listings, without an LLM: p99 under 1 ms of server
//! time for the parse":
//!
//! - every query of the labelled set (`crates/petty-core/src/catalog/labelled.txt`, 452 queries
//!   with numbers in words, typos, negations and ranges) parsed RUNS times, each parse timed;
//! - the same filters searched over 10,000 generated listings (species, breeds, colours, ages
//!   and prices drawn from the vocabulary), each search timed.
//!
//! ```text
//! cargo bench -p petty-sim --bench catalog -- [RUNS]
//! ```
//! Prints the median, the 99th percentile and the slowest of each, in microseconds.

use std::hint::black_box;
use std::time::{Duration, Instant};

use petty_core::catalog::{Listing, ListingDraft, Search, parse};
use petty_core::ids::{HouseholdId, ListingId};
use time::OffsetDateTime;

// Not `benches/timing.rs`: Cargo would take that for a bench of its own.
#[path = "support/timing.rs"]
mod timing;

const LABELLED: &str = include_str!("../../petty-core/src/catalog/labelled.txt");
const LISTINGS: usize = 10_000;

/// xorshift64.
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
}

const KINDS: [(&str, &[&str]); 6] = [
    ("dog", &["Golden Retriever", "Labrador mix", "German Shepherd", "Bulldog", "Beagle", "Poodle", "Husky", "Corgi"]),
    ("cat", &["Siamese", "Persian", "Domestic Shorthair", "Maine Coon", "Ragdoll", "Bengal"]),
    ("bird", &["Canary", "Budgie", "Cockatiel"]),
    ("fish", &["Goldfish", "Betta", "Clownfish"]),
    ("rabbit", &["Holland Lop", "Lionhead"]),
    ("hamster", &["Syrian Hamster", "Dwarf Hamster"]),
];
const COLOURS: [&str; 10] =
    ["black", "white", "brown", "golden", "cream", "black and tan", "gray", "orange", "brindle", "black and white"];
const NAMES: [&str; 12] =
    ["Max", "Bella", "Luna", "Charlie", "Daisy", "Rocky", "Milo", "Coco", "Nala", "Oscar", "Ruby", "Teddy"];

fn listings() -> Vec<Listing> {
    let mut draw = Draw(0x9e37_79b9_7f4a_7c15);
    (0..LISTINGS)
        .map(|i| {
            let (species, breeds) = KINDS[(draw.next() % KINDS.len() as u64) as usize];
            let content = ListingDraft {
                name: Some(format!("{} {i}", draw.pick(&NAMES))),
                species: Some(species.to_owned()),
                breed: Some(draw.pick(breeds).to_owned()),
                age_months: Some(Some((draw.next() % 180) as i64)),
                price: Some(Some((draw.next() % 2000) as f64)),
                color: Some(Some(draw.pick(&COLOURS).to_owned())),
                sex: Some(Some(if draw.next() % 2 == 0 { "male" } else { "female" }.to_owned())),
                ..ListingDraft::default()
            }
            .check(None)
            .expect("a valid listing");
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

fn report(label: &str, mut times: Vec<Duration>) {
    times.sort();
    let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)].as_secs_f64() * 1e6;
    println!(
        "{label:<44} n {:>7}   median {:>8.2} µs   p99 {:>8.2} µs   slowest {:>8.2} µs",
        times.len(),
        at(0.5),
        at(0.99),
        at(1.0)
    );
}

fn main() {
    let runs = timing::runs();
    let queries: Vec<&str> = LABELLED
        .lines()
        .filter(|l| !l.trim_start().starts_with('#') && l.contains("=>"))
        .filter_map(|l| l.split("=>").next().map(str::trim))
        .collect();
    let mut parses = Vec::with_capacity(queries.len() * runs);
    for _ in 0..runs {
        for q in &queries {
            let t = Instant::now();
            black_box(parse(black_box(q)));
            parses.push(t.elapsed());
        }
    }
    report(&format!("parse ({} labelled queries)", queries.len()), parses);
    timing::timed("the whole labelled set parsed once", runs, || queries.iter().map(|q| parse(q).limit).sum::<u32>());

    let catalog = listings();
    let searches: Vec<Search> = queries.iter().map(|q| Search { filters: parse(q), ..Search::default() }).collect();
    let mut times = Vec::with_capacity(searches.len() * runs);
    let mut found = 0usize;
    for _ in 0..runs {
        for s in &searches {
            let limit = s.filters.limit as usize;
            let t = Instant::now();
            let out = black_box(s.run(black_box(&catalog), 0, limit));
            times.push(t.elapsed());
            found += out.total;
        }
    }
    report(&format!("search over {LISTINGS} listings (listings)"), times);
    let index = petty_core::catalog::Index::build(&catalog);
    let mut times = Vec::with_capacity(searches.len() * runs);
    for _ in 0..runs {
        for s in &searches {
            let limit = s.filters.limit as usize;
            let t = Instant::now();
            black_box(s.run_indexed(black_box(&catalog), &index, 0, limit));
            times.push(t.elapsed());
        }
    }
    report(&format!("search over {LISTINGS} listings (packed index)"), times);
    let mut both = Vec::with_capacity(queries.len() * runs);
    for _ in 0..runs {
        for q in &queries {
            let t = Instant::now();
            let filters = parse(black_box(q));
            let limit = filters.limit as usize;
            black_box(Search { filters, ..Search::default() }.run_indexed(&catalog, &index, 0, limit));
            both.push(t.elapsed());
        }
    }
    report("parse + search", both);
    println!("matches per search: {:.0} on average", found as f64 / (searches.len() * runs) as f64);
}
