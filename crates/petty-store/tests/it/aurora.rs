//! What the AURORA_LIFE profile asks of the store, on both engines: a person's username (unique
//! whatever its case), full name and profile beside their account, found again by username.

use petty_store::{AuroraProfile, StoreError};

use crate::fixtures::{at, owner};
use crate::harness::store_test;

store_test!(a_persons_aurora_profile_and_username, |store| async move {
    let (ana, _) = owner(&store, "ana@example.org").await;
    let (eve, _) = owner(&store, "eve@example.org").await;
    assert_eq!(store.aurora_profile(ana.id).await.unwrap(), None);
    let mut profile = AuroraProfile {
        user_id: ana.id,
        username: "Ana_Lima".into(),
        full_name: Some("Ana Lima".into()),
        profile_data: r#"{"goals": ["sleep"], "values": [], "preferences": {}, "life_state": {}}"#.into(),
        updated_at: None,
        last_active: None,
    };
    store.put_aurora_profile(&profile, Some("Ana Lima")).await.unwrap();
    assert_eq!(store.aurora_profile(ana.id).await.unwrap().as_ref(), Some(&profile));
    assert_eq!(store.get_user(ana.id).await.unwrap().display_name, "Ana Lima");
    assert_eq!(store.aurora_user_by_username("ana_lima").await.unwrap(), Some(ana.id), "any case");
    assert_eq!(store.aurora_user_by_username("ana").await.unwrap(), None);

    // Another person cannot take the name in another case; the owner can change its case.
    let theirs = AuroraProfile { user_id: eve.id, username: "ANA_LIMA".into(), ..profile.clone() };
    assert!(matches!(store.put_aurora_profile(&theirs, None).await, Err(StoreError::Conflict(_))));
    assert_eq!(store.aurora_profile(eve.id).await.unwrap(), None);
    profile.username = "ana_lima".into();
    profile.updated_at = Some(at(2));
    store.put_aurora_profile(&profile, None).await.unwrap();
    assert_eq!(store.get_user(ana.id).await.unwrap().display_name, "Ana Lima", "kept without a new name");
    store.touch_aurora_profile(ana.id, at(3)).await.unwrap();
    profile.last_active = Some(at(3));
    assert_eq!(store.aurora_profile(ana.id).await.unwrap(), Some(profile.clone()));

    let stranger = AuroraProfile { user_id: petty_core::ids::UserId::new(), username: "x_y".into(), ..profile };
    assert!(store.put_aurora_profile(&stranger, Some("x")).await.is_err());
});
