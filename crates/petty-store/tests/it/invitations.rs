//! Invitations into a household: creating and listing them, spending them by registering or by
//! accepting as an existing user, and every way one stops working (spent, expired, revoked).
//! Also sitters, whose membership carries the invitation's end and lapses by itself.

use petty_core::accounts::Role;
use petty_store::{NewInvitation, StoreError};
use time::Duration;

use crate::fixtures::{T0, at, email, invitation, new_user, owner, secret};
use crate::harness::store_test;

store_test!(pending_invitations_are_listed_newest_first, |store| async move {
    let (ana, home) = owner(&store, "ana@example.org").await;
    let (bob, bobs_home) = owner(&store, "bob@example.org").await;

    let first =
        store.create_invitation(&invitation(home.household_id, ana.id, Role::Member, &secret()), at(1)).await.unwrap();
    assert_eq!(first.household_id, home.household_id);
    assert_eq!(first.role, Role::Member);
    assert_eq!(first.created_by, ana.id);
    assert_eq!(first.created_at, at(1));
    assert_eq!(first.expires_at, at(7 * 24 * 60));
    assert_eq!((first.email.as_deref(), first.ends_at, first.accepted_at, first.revoked_at), (None, None, None, None));

    let second = store
        .create_invitation(
            &NewInvitation {
                email: Some(email("Vet@Example.org")),
                expires_at: at(60),
                ..invitation(home.household_id, ana.id, Role::Vet, &secret())
            },
            at(2),
        )
        .await
        .unwrap();
    assert_eq!(second.email.as_deref(), Some("vet@example.org"));
    store.create_invitation(&invitation(bobs_home.household_id, bob.id, Role::Member, &secret()), at(3)).await.unwrap();

    assert_eq!(
        store.list_pending_invitations(home.household_id, at(4)).await.unwrap(),
        vec![second.clone(), first.clone()]
    );
    // The vet's invitation expires after an hour and is no longer pending.
    assert_eq!(store.list_pending_invitations(home.household_id, at(61)).await.unwrap(), vec![first.clone()]);

    // Revoking is per household: Bob cannot revoke Ana's invitation.
    assert!(matches!(
        store.revoke_invitation(bobs_home.household_id, first.id, at(5)).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(store.list_pending_invitations(home.household_id, at(5)).await.unwrap().len(), 2);
    store.revoke_invitation(home.household_id, first.id, at(5)).await.unwrap();
    assert_eq!(store.list_pending_invitations(home.household_id, at(6)).await.unwrap(), vec![second]);
    assert!(matches!(store.revoke_invitation(home.household_id, first.id, at(7)).await, Err(StoreError::NotFound)));
});

store_test!(registering_with_an_invitation_spends_it, |store| async move {
    let (ana, home) = owner(&store, "ana@example.org").await;
    let hash = secret();
    store.create_invitation(&invitation(home.household_id, ana.id, Role::Member, &hash), at(1)).await.unwrap();

    let (cat, membership) = store.register_with_invitation(&new_user("Cat@Example.org"), &hash, at(2)).await.unwrap();
    assert_eq!(cat.email, "cat@example.org");
    assert_eq!(membership.household_id, home.household_id);
    assert_eq!(membership.household_name, home.household_name);
    assert_eq!(membership.user_id, cat.id);
    assert_eq!(membership.role, Role::Member);
    assert_eq!(membership.ends_at, None);
    assert_eq!(membership.created_at, at(2));
    assert_eq!(store.active_memberships(cat.id, at(3)).await.unwrap(), vec![membership]);
    assert_eq!(store.list_members(home.household_id).await.unwrap().len(), 2);
    assert!(store.list_pending_invitations(home.household_id, at(3)).await.unwrap().is_empty());

    // A spent invitation is gone, and the failed registration leaves no account behind.
    let err = store.register_with_invitation(&new_user("dan@example.org"), &hash, at(4)).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "expected NotFound, got {err:?}");
    assert!(store.user_credentials_by_email(&email("dan@example.org")).await.unwrap().is_none());
    let (dan, _) = owner(&store, "dan@example.org").await;
    assert!(matches!(store.accept_invitation(dan.id, &hash, at(5)).await, Err(StoreError::NotFound)));
    assert_eq!(store.list_members(home.household_id).await.unwrap().len(), 2);

    // An unknown invitation is not found either.
    assert!(matches!(
        store.register_with_invitation(&new_user("eve@example.org"), &secret(), at(6)).await,
        Err(StoreError::NotFound)
    ));
});

store_test!(registering_with_a_taken_email_does_not_spend_the_invitation, |store| async move {
    let (ana, home) = owner(&store, "ana@example.org").await;
    owner(&store, "bob@example.org").await;
    let hash = secret();
    store.create_invitation(&invitation(home.household_id, ana.id, Role::Member, &hash), at(1)).await.unwrap();

    let err = store.register_with_invitation(&new_user("BOB@example.org"), &hash, at(2)).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "expected Conflict, got {err:?}");
    assert_eq!(store.list_pending_invitations(home.household_id, at(3)).await.unwrap().len(), 1);
    store.register_with_invitation(&new_user("cat@example.org"), &hash, at(4)).await.unwrap();
});

store_test!(an_expired_invitation_is_not_found, |store| async move {
    let (ana, home) = owner(&store, "ana@example.org").await;
    let (bob, _) = owner(&store, "bob@example.org").await;
    let hash = secret();
    let new = NewInvitation { expires_at: at(60), ..invitation(home.household_id, ana.id, Role::Member, &hash) };
    store.create_invitation(&new, at(1)).await.unwrap();

    let err = store.register_with_invitation(&new_user("cat@example.org"), &hash, at(60)).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "expected NotFound, got {err:?}");
    assert!(store.user_credentials_by_email(&email("cat@example.org")).await.unwrap().is_none());
    assert!(matches!(store.accept_invitation(bob.id, &hash, at(61)).await, Err(StoreError::NotFound)));
    assert_eq!(store.list_members(home.household_id).await.unwrap().len(), 1);

    // Just before it expired, it would have worked.
    store.accept_invitation(bob.id, &hash, at(59)).await.unwrap();
});

store_test!(a_revoked_invitation_is_not_found, |store| async move {
    let (ana, home) = owner(&store, "ana@example.org").await;
    let (bob, _) = owner(&store, "bob@example.org").await;
    let hash = secret();
    let created =
        store.create_invitation(&invitation(home.household_id, ana.id, Role::Member, &hash), at(1)).await.unwrap();
    store.revoke_invitation(home.household_id, created.id, at(2)).await.unwrap();

    let err = store.register_with_invitation(&new_user("cat@example.org"), &hash, at(3)).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "expected NotFound, got {err:?}");
    assert!(store.user_credentials_by_email(&email("cat@example.org")).await.unwrap().is_none());
    assert!(matches!(store.accept_invitation(bob.id, &hash, at(3)).await, Err(StoreError::NotFound)));
    assert_eq!(store.list_members(home.household_id).await.unwrap().len(), 1);
});

store_test!(an_existing_user_accepting_gets_the_invited_role, |store| async move {
    let (ana, home) = owner(&store, "ana@example.org").await;
    let (bob, bobs_home) = owner(&store, "bob@example.org").await;
    let hash = secret();
    store.create_invitation(&invitation(home.household_id, ana.id, Role::Vet, &hash), at(1)).await.unwrap();

    let membership = store.accept_invitation(bob.id, &hash, at(2)).await.unwrap();
    assert_eq!(membership.household_id, home.household_id);
    assert_eq!(membership.household_name, home.household_name);
    assert_eq!(membership.user_id, bob.id);
    assert_eq!(membership.role, Role::Vet);
    assert_eq!(membership.ends_at, None);
    assert_eq!(membership.created_at, at(2));

    // Bob is now in both households, his own first.
    assert_eq!(store.active_memberships(bob.id, at(3)).await.unwrap(), vec![bobs_home, membership.clone()]);
    assert_eq!(store.active_membership(bob.id, home.household_id, at(3)).await.unwrap(), Some(membership));
    let roles: Vec<_> =
        store.list_members(home.household_id).await.unwrap().into_iter().map(|m| (m.user.id, m.role)).collect();
    assert_eq!(roles, [(ana.id, Role::Owner), (bob.id, Role::Vet)]);
    assert!(store.list_pending_invitations(home.household_id, at(3)).await.unwrap().is_empty());
});

store_test!(a_sitter_membership_ends_when_the_invitation_said, |store| async move {
    let (ana, home) = owner(&store, "ana@example.org").await;
    let (bob, bobs_home) = owner(&store, "bob@example.org").await;
    let ends_at = T0 + Duration::days(3);
    let sitter_invitation = |hash: &[u8]| NewInvitation {
        ends_at: Some(ends_at),
        ..invitation(home.household_id, ana.id, Role::Sitter, hash)
    };

    // An existing user accepts...
    let hash = secret();
    let created = store.create_invitation(&sitter_invitation(&hash), at(1)).await.unwrap();
    assert_eq!(created.ends_at, Some(ends_at));
    let membership = store.accept_invitation(bob.id, &hash, at(2)).await.unwrap();
    assert_eq!(membership.role, Role::Sitter);
    assert_eq!(membership.ends_at, Some(ends_at));

    // ...and so does a new one.
    let hash = secret();
    store.create_invitation(&sitter_invitation(&hash), at(3)).await.unwrap();
    let (cat, cats) = store.register_with_invitation(&new_user("cat@example.org"), &hash, at(4)).await.unwrap();
    assert_eq!((cats.role, cats.ends_at), (Role::Sitter, Some(ends_at)));

    // In force until the end...
    let before = ends_at - Duration::minutes(1);
    assert_eq!(store.active_memberships(bob.id, before).await.unwrap(), vec![bobs_home.clone(), membership.clone()]);
    assert_eq!(store.active_membership(bob.id, home.household_id, before).await.unwrap(), Some(membership));
    assert_eq!(store.active_memberships(cat.id, before).await.unwrap().len(), 1);

    // ...and not after it, though the sitters are still listed as members.
    let after = ends_at + Duration::minutes(1);
    assert_eq!(store.active_memberships(bob.id, after).await.unwrap(), vec![bobs_home]);
    assert_eq!(store.active_membership(bob.id, home.household_id, after).await.unwrap(), None);
    assert!(store.active_memberships(cat.id, after).await.unwrap().is_empty());
    assert!(store.active_memberships(cat.id, ends_at).await.unwrap().is_empty());
    let listed: Vec<_> =
        store.list_members(home.household_id).await.unwrap().into_iter().map(|m| (m.role, m.ends_at)).collect();
    assert_eq!(listed, [(Role::Owner, None), (Role::Sitter, Some(ends_at)), (Role::Sitter, Some(ends_at))]);
});

store_test!(a_sitter_invitation_whose_end_has_passed_cannot_be_accepted, |store| async move {
    let (ana, home) = owner(&store, "ana@example.org").await;
    let (bob, _) = owner(&store, "bob@example.org").await;
    let hash = secret();
    let new = NewInvitation { ends_at: Some(at(30)), ..invitation(home.household_id, ana.id, Role::Sitter, &hash) };
    store.create_invitation(&new, at(1)).await.unwrap();

    assert!(matches!(store.accept_invitation(bob.id, &hash, at(31)).await, Err(StoreError::NotFound)));
    assert_eq!(store.list_members(home.household_id).await.unwrap().len(), 1);
});

store_test!(accepting_into_a_household_twice_is_a_conflict, |store| async move {
    let (ana, home) = owner(&store, "ana@example.org").await;
    let (bob, _) = owner(&store, "bob@example.org").await;
    let (first, second) = (secret(), secret());
    store.create_invitation(&invitation(home.household_id, ana.id, Role::Member, &first), at(1)).await.unwrap();
    let pending =
        store.create_invitation(&invitation(home.household_id, ana.id, Role::Vet, &second), at(2)).await.unwrap();

    store.accept_invitation(bob.id, &first, at(3)).await.unwrap();
    let err = store.accept_invitation(bob.id, &second, at(4)).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "expected Conflict, got {err:?}");
    // Bob keeps the role he had, and the second invitation is still there for someone else.
    assert_eq!(
        store.active_membership(bob.id, home.household_id, at(5)).await.unwrap().map(|m| m.role),
        Some(Role::Member)
    );
    assert_eq!(store.list_pending_invitations(home.household_id, at(5)).await.unwrap(), vec![pending]);

    // The owner cannot join her own household again either.
    let err = store.accept_invitation(ana.id, &second, at(6)).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "expected Conflict, got {err:?}");
    assert_eq!(
        store.active_membership(ana.id, home.household_id, at(7)).await.unwrap().map(|m| m.role),
        Some(Role::Owner)
    );
});
