//! Registration of household owners, and the members of a household: listing them, removing them,
//! and the rule that a household always keeps an owner.

use petty_core::accounts::Role;
use petty_core::ids::UserId;
use petty_store::{NewUser, StoreError};

use crate::fixtures::{T0, at, email, invitation, member, new_user, owner, secret};
use crate::harness::store_test;

store_test!(register_owner_creates_a_household_with_its_owner, |store| async move {
    let new = NewUser {
        email: email("  Ana@Example.ORG "),
        display_name: "Ana".to_owned(),
        password_hash: "$argon2id$v=19$ana".to_owned(),
    };
    let (user, membership) = store.register_owner(&new, "Ana's pets", T0).await.unwrap();
    assert_eq!(user.email, "ana@example.org");
    assert_eq!(user.display_name, "Ana");
    assert_eq!(user.created_at, T0);
    assert_eq!(membership.user_id, user.id);
    assert_eq!(membership.role, Role::Owner);
    assert_eq!(membership.household_name, "Ana's pets");
    assert_eq!(membership.ends_at, None);

    // What was returned is what was stored.
    assert_eq!(store.get_user(user.id).await.unwrap(), user);
    assert_eq!(store.active_memberships(user.id, at(1)).await.unwrap(), vec![membership.clone()]);
    assert_eq!(
        store.active_membership(user.id, membership.household_id, at(1)).await.unwrap(),
        Some(membership.clone())
    );
    let members = store.list_members(membership.household_id).await.unwrap();
    assert_eq!(members.len(), 1);
    assert_eq!(members[0].user, user);
    assert_eq!(members[0].role, Role::Owner);
    assert_eq!(members[0].joined_at, T0);

    let credentials =
        store.user_credentials_by_email(&email("ANA@example.org")).await.unwrap().expect("found by email");
    assert_eq!(credentials.user, user);
    assert_eq!(credentials.password_hash, "$argon2id$v=19$ana");
    assert_eq!(store.user_credentials(user.id).await.unwrap().password_hash, credentials.password_hash);

    // A second registration is a second household.
    let (bob, bobs) = owner(&store, "bob@example.org").await;
    assert_ne!(bobs.household_id, membership.household_id);
    assert_eq!(store.active_memberships(bob.id, at(1)).await.unwrap(), vec![bobs]);
    assert_eq!(store.list_members(membership.household_id).await.unwrap().len(), 1);
});

store_test!(register_owner_with_a_taken_email_is_a_conflict, |store| async move {
    let (ana, _) = owner(&store, "ana@example.org").await;
    let mut again = new_user("ANA@Example.org");
    again.password_hash = "someone else's hash".to_owned();
    let err = store.register_owner(&again, "Another household", at(5)).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "expected Conflict, got {err:?}");

    // The existing account is untouched.
    let credentials = store.user_credentials_by_email(&email("ana@example.org")).await.unwrap().unwrap();
    assert_eq!(credentials.user.id, ana.id);
    assert_ne!(credentials.password_hash, "someone else's hash");
    assert_eq!(store.active_memberships(ana.id, at(6)).await.unwrap().len(), 1);
});

store_test!(unknown_users_are_not_found, |store| async move {
    assert!(store.user_credentials_by_email(&email("nobody@example.org")).await.unwrap().is_none());
    assert!(matches!(store.get_user(UserId::new()).await, Err(StoreError::NotFound)));
    assert!(matches!(store.user_credentials(UserId::new()).await, Err(StoreError::NotFound)));
    assert!(matches!(store.set_password_hash(UserId::new(), "x", T0).await, Err(StoreError::NotFound)));
    assert!(store.active_memberships(UserId::new(), T0).await.unwrap().is_empty());
});

store_test!(members_are_listed_in_joining_order_and_can_be_removed, |store| async move {
    let (ana, home) = owner(&store, "ana@example.org").await;
    let (bob, bobs_home) = owner(&store, "bob@example.org").await;
    let cat = member(&store, home.household_id, ana.id, "cat@example.org", Role::Member).await;

    let members = store.list_members(home.household_id).await.unwrap();
    let listed: Vec<_> = members.iter().map(|m| (m.user.id, m.role)).collect();
    assert_eq!(listed, [(ana.id, Role::Owner), (cat.id, Role::Member)]);
    assert_eq!(members[1].user.email, "cat@example.org");
    assert_eq!(members[1].joined_at, at(1));

    // Bob is not in Ana's household, so he cannot be removed from it (nor from his own by her).
    assert!(matches!(store.remove_member(home.household_id, bob.id, at(2)).await, Err(StoreError::NotFound)));
    assert!(matches!(store.remove_member(bobs_home.household_id, cat.id, at(2)).await, Err(StoreError::NotFound)));
    assert_eq!(store.list_members(home.household_id).await.unwrap().len(), 2);

    store.remove_member(home.household_id, cat.id, at(3)).await.unwrap();
    let listed: Vec<_> = store.list_members(home.household_id).await.unwrap().into_iter().map(|m| m.user.id).collect();
    assert_eq!(listed, [ana.id]);
    assert!(store.active_memberships(cat.id, at(4)).await.unwrap().is_empty());
    assert_eq!(store.active_membership(cat.id, home.household_id, at(4)).await.unwrap(), None);
    assert!(matches!(store.remove_member(home.household_id, cat.id, at(5)).await, Err(StoreError::NotFound)));
    // The account itself stays.
    assert_eq!(store.get_user(cat.id).await.unwrap().id, cat.id);
});

store_test!(the_last_owner_cannot_be_removed, |store| async move {
    let (ana, home) = owner(&store, "ana@example.org").await;
    let err = store.remove_member(home.household_id, ana.id, at(1)).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "expected Conflict, got {err:?}");
    assert_eq!(store.list_members(home.household_id).await.unwrap().len(), 1);

    // A plain member does not count as an owner.
    let cat = member(&store, home.household_id, ana.id, "cat@example.org", Role::Member).await;
    let err = store.remove_member(home.household_id, ana.id, at(2)).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "expected Conflict, got {err:?}");

    // With a second owner, either may go, but not both.
    let hash = secret();
    store.create_invitation(&invitation(home.household_id, ana.id, Role::Owner, &hash), at(3)).await.unwrap();
    let (dan, _) = store.register_with_invitation(&new_user("dan@example.org"), &hash, at(4)).await.unwrap();
    store.remove_member(home.household_id, ana.id, at(5)).await.unwrap();
    let err = store.remove_member(home.household_id, dan.id, at(6)).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "expected Conflict, got {err:?}");
    let listed: Vec<_> =
        store.list_members(home.household_id).await.unwrap().into_iter().map(|m| (m.user.id, m.role)).collect();
    assert_eq!(listed, [(cat.id, Role::Member), (dan.id, Role::Owner)]);
});
