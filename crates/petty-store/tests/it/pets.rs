//! Pets: the full profile round trip, listing with paging and filters, and tenancy (one household
//! can never read, change or delete another household's pet).

use petty_core::ids::{HouseholdId, PetId};
use petty_core::paging::{Page, PageRequest};
use petty_core::pets::{Pet, PetProfile, Sex, Species};
use petty_store::{PetFilter, Store, StoreError};
use time::macros::date;

use crate::fixtures::{T0, at, owner, pet};
use crate::harness::store_test;

fn page(page: u32, page_size: u32) -> PageRequest {
    PageRequest::parse(Some(page), Some(page_size)).unwrap()
}

fn names(page: &Page<Pet>) -> Vec<&str> {
    page.items.iter().map(|p| p.profile.name.as_str()).collect()
}

fn name_contains(text: &str) -> PetFilter {
    PetFilter { name_contains: Some(text.to_owned()), ..PetFilter::default() }
}

/// Creates one pet per `(name, species)` in `household_id`.
async fn pets(store: &Store, household_id: HouseholdId, pets: &[(&str, Species)]) {
    for (name, species) in pets {
        store.create_pet(household_id, &pet(name, *species), T0).await.unwrap();
    }
}

/// The names listed for `filter`, on one page big enough for all of them.
async fn listed(store: &Store, household_id: HouseholdId, filter: &PetFilter) -> Vec<String> {
    let found = store.list_pets(household_id, filter, PageRequest::default()).await.unwrap();
    assert_eq!(found.total, found.items.len() as u64);
    found.items.into_iter().map(|p| p.profile.name).collect()
}

store_test!(a_pet_is_created_read_updated_and_deleted, |store| async move {
    let (_, home) = owner(&store, "ana@example.org").await;
    let profile = PetProfile {
        name: "Bella".to_owned(),
        species: Species::Dog,
        breed: Some("Border Collie".to_owned()),
        date_of_birth: Some(date!(2020 - 02 - 29)),
        birth_precision: petty_core::pets::BirthPrecision::Day,
        sex: Sex::Female,
        neutered: Some(true),
        weight_kg: Some(21.5),
        microchip_id: Some("985112003456789".to_owned()),
        photo_url: Some("https://example.org/bella.jpg".to_owned()),
        notes: Some("Afraid of thunder.\nLoves cheese.".to_owned()),
    };
    let created = store.create_pet(home.household_id, &profile, at(1)).await.unwrap();
    assert_eq!(created.household_id, home.household_id);
    assert_eq!(created.profile, profile);
    assert_eq!((created.created_at, created.updated_at), (at(1), at(1)));
    assert_eq!(*store.get_pet(home.household_id, created.id).await.unwrap(), created);

    let changed = PetProfile { name: "Bella Rose".to_owned(), weight_kg: Some(22.25), ..pet("ignored", Species::Cat) };
    let updated = store.update_pet(home.household_id, created.id, &changed, at(5)).await.unwrap();
    assert_eq!(updated.id, created.id);
    assert_eq!(updated.profile, changed);
    assert_eq!((updated.created_at, updated.updated_at), (at(1), at(5)));
    assert_eq!(*store.get_pet(home.household_id, created.id).await.unwrap(), updated);

    store.delete_pet(home.household_id, created.id).await.unwrap();
    assert!(matches!(store.get_pet(home.household_id, created.id).await, Err(StoreError::NotFound)));
    assert!(matches!(store.delete_pet(home.household_id, created.id).await, Err(StoreError::NotFound)));
    assert!(matches!(
        store.update_pet(home.household_id, created.id, &changed, at(6)).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(store.get_pet(home.household_id, PetId::new()).await, Err(StoreError::NotFound)));
    assert_eq!(
        store.list_pets(home.household_id, &PetFilter::default(), PageRequest::default()).await.unwrap().total,
        0
    );
});

store_test!(pets_are_listed_by_name_a_page_at_a_time, |store| async move {
    let (_, home) = owner(&store, "ana@example.org").await;
    let (_, bobs_home) = owner(&store, "bob@example.org").await;
    pets(
        &store,
        home.household_id,
        &[
            ("delta", Species::Dog),
            ("Alpha", Species::Cat),
            ("echo", Species::Dog),
            ("Bravo", Species::Fish),
            ("charlie", Species::Cat),
        ],
    )
    .await;
    pets(&store, bobs_home.household_id, &[("Aardvark", Species::Other)]).await;
    let all = PetFilter::default();

    let first = store.list_pets(home.household_id, &all, page(1, 2)).await.unwrap();
    assert_eq!(names(&first), ["Alpha", "Bravo"]);
    assert_eq!(first.total, 5);
    assert!(first.has_next());
    let second = store.list_pets(home.household_id, &all, page(2, 2)).await.unwrap();
    assert_eq!(names(&second), ["charlie", "delta"]);
    assert!(second.has_next());
    let third = store.list_pets(home.household_id, &all, page(3, 2)).await.unwrap();
    assert_eq!(names(&third), ["echo"]);
    assert_eq!(third.total, 5);
    assert!(!third.has_next());
    let beyond = store.list_pets(home.household_id, &all, page(4, 2)).await.unwrap();
    assert!(beyond.items.is_empty());
    assert_eq!(beyond.total, 5);
    assert!(!beyond.has_next());

    let exact = store.list_pets(home.household_id, &all, page(1, 5)).await.unwrap();
    assert_eq!(names(&exact), ["Alpha", "Bravo", "charlie", "delta", "echo"]);
    assert!(!exact.has_next());
    assert_eq!(listed(&store, home.household_id, &all).await, ["Alpha", "Bravo", "charlie", "delta", "echo"]);
});

store_test!(pets_are_filtered_by_species_and_name, |store| async move {
    let (_, home) = owner(&store, "ana@example.org").await;
    pets(
        &store,
        home.household_id,
        &[
            ("Bella", Species::Dog),
            ("Nell", Species::Cat),
            ("Rex", Species::Dog),
            ("Tom", Species::Cat),
            ("Ellie", Species::Bird),
        ],
    )
    .await;

    let cats = PetFilter { species: Some(Species::Cat), ..PetFilter::default() };
    assert_eq!(listed(&store, home.household_id, &cats).await, ["Nell", "Tom"]);
    let horses = PetFilter { species: Some(Species::Horse), ..PetFilter::default() };
    assert!(listed(&store, home.household_id, &horses).await.is_empty());

    assert_eq!(listed(&store, home.household_id, &name_contains("ell")).await, ["Bella", "Ellie", "Nell"]);
    assert_eq!(listed(&store, home.household_id, &name_contains("ELL")).await, ["Bella", "Ellie", "Nell"]);
    assert_eq!(listed(&store, home.household_id, &name_contains("rEx")).await, ["Rex"]);
    assert!(listed(&store, home.household_id, &name_contains("max")).await.is_empty());

    let cats_with_ell =
        PetFilter { species: Some(Species::Cat), name_contains: Some("Ell".to_owned()), ..PetFilter::default() };
    assert_eq!(listed(&store, home.household_id, &cats_with_ell).await, ["Nell"]);

    // Filters and paging together: the total counts the filtered pets, not all of them.
    let first = store.list_pets(home.household_id, &name_contains("ell"), page(1, 2)).await.unwrap();
    assert_eq!(names(&first), ["Bella", "Ellie"]);
    assert_eq!(first.total, 3);
    assert!(first.has_next());
});

store_test!(name_filter_takes_wildcards_literally, |store| async move {
    let (_, home) = owner(&store, "ana@example.org").await;
    pets(
        &store,
        home.household_id,
        &[
            ("100% Good Boy", Species::Dog),
            ("Fluffy", Species::Cat),
            ("Mr_Whiskers", Species::Cat),
            ("MrXWhiskers", Species::Cat),
            ("Back\\slash", Species::Fish),
        ],
    )
    .await;

    assert_eq!(listed(&store, home.household_id, &name_contains("%")).await, ["100% Good Boy"]);
    assert_eq!(listed(&store, home.household_id, &name_contains("0% g")).await, ["100% Good Boy"]);
    assert_eq!(listed(&store, home.household_id, &name_contains("_")).await, ["Mr_Whiskers"]);
    assert_eq!(listed(&store, home.household_id, &name_contains("r_w")).await, ["Mr_Whiskers"]);
    assert_eq!(listed(&store, home.household_id, &name_contains("\\")).await, ["Back\\slash"]);
    assert!(listed(&store, home.household_id, &name_contains("%%")).await.is_empty());
});

store_test!(name_filter_ignores_case_beyond_ascii, |store| async move {
    let (_, home) = owner(&store, "ana@example.org").await;
    pets(&store, home.household_id, &[("Éclair", Species::Cat), ("Øskar", Species::Dog)]).await;

    assert_eq!(listed(&store, home.household_id, &name_contains("éclair")).await, ["Éclair"]);
    assert_eq!(listed(&store, home.household_id, &name_contains("ÉCLAIR")).await, ["Éclair"]);
    assert_eq!(listed(&store, home.household_id, &name_contains("øsk")).await, ["Øskar"]);
});

store_test!(a_household_cannot_reach_another_households_pets, |store| async move {
    let (_, home) = owner(&store, "ana@example.org").await;
    let (_, other) = owner(&store, "bob@example.org").await;
    let bella = store.create_pet(home.household_id, &pet("Bella", Species::Dog), at(1)).await.unwrap();

    assert!(matches!(store.get_pet(other.household_id, bella.id).await, Err(StoreError::NotFound)));
    let err = store.update_pet(other.household_id, bella.id, &pet("Stolen", Species::Cat), at(2)).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "expected NotFound, got {err:?}");
    assert!(matches!(store.delete_pet(other.household_id, bella.id).await, Err(StoreError::NotFound)));

    let everything = PetFilter::default();
    let theirs = store.list_pets(other.household_id, &everything, PageRequest::default()).await.unwrap();
    assert!(theirs.items.is_empty());
    assert_eq!(theirs.total, 0);
    assert!(listed(&store, other.household_id, &name_contains("bella")).await.is_empty());
    let dogs = PetFilter { species: Some(Species::Dog), ..PetFilter::default() };
    assert!(listed(&store, other.household_id, &dogs).await.is_empty());

    // Bella is untouched.
    assert_eq!(*store.get_pet(home.household_id, bella.id).await.unwrap(), bella);
    assert_eq!(listed(&store, home.household_id, &everything).await, ["Bella"]);
});
