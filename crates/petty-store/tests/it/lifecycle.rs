//! The store as a whole: it answers pings, migrating again changes nothing, and URLs it cannot
//! use are refused.

use petty_core::paging::PageRequest;
use petty_core::pets::Species;
use petty_store::{PetFilter, Store, StoreError};

use crate::fixtures::{T0, at, owner, pet};
use crate::harness::store_test;

store_test!(ping_answers, |store| async move {
    store.ping().await.unwrap();
    let stats = store.pool_stats();
    assert!(stats.size >= 1, "an open store holds at least one connection: {stats:?}");
});

store_test!(migrating_twice_is_harmless, |store| async move {
    let (ana, home) = owner(&store, "ana@example.org").await;
    let bella = store.create_pet(home.household_id, &pet("Bella", Species::Dog), at(1)).await.unwrap();

    store.migrate().await.unwrap();
    store.migrate().await.unwrap();

    store.ping().await.unwrap();
    assert_eq!(*store.get_pet(home.household_id, bella.id).await.unwrap(), bella);
    assert_eq!(store.active_memberships(ana.id, at(2)).await.unwrap(), vec![home.clone()]);
    let listed = store.list_pets(home.household_id, &PetFilter::default(), PageRequest::default()).await.unwrap();
    assert_eq!(listed.total, 1);
    // And the store still writes.
    store.create_pet(home.household_id, &pet("Rex", Species::Dog), T0).await.unwrap();
});

#[tokio::test]
async fn unusable_urls_are_refused() {
    for url in ["mysql://localhost/petty", "petty.db", ""] {
        let err = Store::connect(url).await.unwrap_err();
        assert!(matches!(err, StoreError::BadUrl(_)), "{url:?}: expected BadUrl, got {err:?}");
    }
}
