//! The catalog on both engines: numbers from 1 per household and never reused, the snapshot
//! follows every change, and the full-text index (FTS5 or `tsvector`) matches the same
//! listings for the same words, so the ranked answer is the same on either engine.

use petty_core::catalog::{ListingDraft, Search, TextMatch, search_terms};
use petty_store::{CatalogSettings, StoreError};

use crate::fixtures::{T0, at, owner};
use crate::harness::store_test;

fn draft(name: &str, species: &str, breed: &str, description: Option<&str>) -> ListingDraft {
    ListingDraft {
        name: Some(name.to_owned()),
        species: Some(species.to_owned()),
        breed: Some(breed.to_owned()),
        description: Some(description.map(str::to_owned)),
        ..ListingDraft::default()
    }
}

store_test!(listings_are_numbered_searched_by_words_and_snapshots_follow_changes, |store| async move {
    let (ana, home) = owner(&store, "ana@example.org").await;
    let (_, other) = owner(&store, "eve@example.org").await;
    let h = home.household_id;
    let rows = [
        ("Goldie", "fish", "Goldfish", Some("Bright orange, loves flakes")),
        ("Buddy", "dog", "Golden Retriever", Some("A gentle giant who loves water")),
        ("Daisy", "dog", "Golden Retriever", None),
        ("Shadow", "cat", "Domestic Shorthair", Some("Quiet; golden eyes; indoor only")),
        ("Max", "dog", "German Shepherd", Some("Needs an experienced home")),
        ("Pepper", "dog", "Labrador mix", Some("Gold-medal fetcher")),
    ];
    let mut made = Vec::new();
    for (name, species, breed, description) in rows {
        let content = draft(name, species, breed, description).check(None).unwrap();
        made.push(store.create_listing(h, &content, Some(ana.id), T0).await.unwrap());
    }
    assert_eq!(made.iter().map(|l| l.number).collect::<Vec<_>>(), [1, 2, 3, 4, 5, 6]);
    let theirs = store.create_listing(other.household_id, &made[0].content, None, T0).await.unwrap();
    assert_eq!(theirs.number, 1, "each household counts from 1");

    let snapshot = store.catalog(h).await.unwrap();
    assert_eq!(snapshot.listings.len(), 6);
    let ranked = |words: &'static str| {
        let store = store.clone();
        async move {
            let terms = search_terms(words);
            let numbers = store.catalog_text_matches(h, &terms).await.unwrap();
            let snapshot = store.catalog(h).await.unwrap();
            let search = Search { text: Some(TextMatch { numbers, terms }), ..Search::default() };
            let found = search.run(&snapshot.listings, 0, 50);
            found.at.iter().map(|i| snapshot.listings[*i].content.name.clone()).collect::<Vec<_>>()
        }
    };
    // A word matches as a prefix of any word of name, breed or description; names rank over
    // breeds over descriptions, then by name.
    assert_eq!(ranked("gold").await, ["Goldie", "Buddy", "Daisy", "Pepper", "Shadow"]);
    assert_eq!(ranked("golden retriever").await, ["Buddy", "Daisy"], "every word must match");
    assert_eq!(ranked("LOVES").await, ["Buddy", "Goldie"]);
    assert_eq!(ranked("shepherd experienced").await, ["Max"]);
    assert!(ranked("zebra").await.is_empty());
    assert!(store.catalog_text_matches(other.household_id, &search_terms("buddy")).await.unwrap().is_empty());

    // A change is in the next snapshot, and in the index.
    let mut changed = made[4].content.clone();
    changed.name = "Maximus".into();
    changed.description = Some("Loves long walks".into());
    store.update_listing(h, made[4].id, &changed, at(1)).await.unwrap();
    assert_eq!(ranked("loves").await, ["Buddy", "Goldie", "Maximus"]);
    assert!(ranked("experienced").await.is_empty(), "the old words are gone from the index");
    store.delete_listing(h, made[1].id).await.unwrap();
    assert!(matches!(store.delete_listing(h, made[1].id).await, Err(StoreError::NotFound)));
    assert_eq!(ranked("gentle").await, Vec::<String>::new());
    let after = store.catalog(h).await.unwrap();
    assert!(after.version > snapshot.version);
    assert_eq!(after.listings.iter().map(|l| l.number).collect::<Vec<_>>(), [1, 3, 4, 5, 6]);
    let next = store.create_listing(h, &made[0].content, None, at(2)).await.unwrap();
    assert_eq!(next.number, 7, "a removed number is not given again");

    assert_eq!(store.catalog_state(h).await.unwrap().1, CatalogSettings::default());
    let public = CatalogSettings { public: true, title: Some("Ana's Ark".into()) };
    store.set_catalog_settings(h, &public).await.unwrap();
    assert_eq!(store.catalog(h).await.unwrap().settings, public);
    assert!(matches!(store.get_listing(other.household_id, made[0].id).await, Err(StoreError::NotFound)));
});
