//! Credentials other than the password itself: refresh-token rotation and replay detection,
//! signing out, password changes, API keys and dashboard sessions. (Failed sign-ins, reset and
//! verification tokens and account mail are `signin.rs`'s.)

use petty_core::accounts::{ApiKeyScope, Role};
use petty_core::ids::{ApiKeyId, HouseholdId, SessionId, TokenFamilyId, UserId};
use petty_core::pets::Species;
use petty_store::{NewApiKey, NewInvitation, NewRefreshToken, RefreshOutcome, Store, StoreError};
use time::{Duration, OffsetDateTime};

use crate::fixtures::{T0, at, email, invitation, member, new_user, owner, secret};
use crate::harness::store_test;

/// Stores a refresh token valid for a day from `T0` and returns its hash.
async fn refresh_token(store: &Store, user_id: UserId, household_id: HouseholdId, family_id: TokenFamilyId) -> Vec<u8> {
    let token_hash = secret();
    let token =
        NewRefreshToken { family_id, user_id, household_id, token_hash: token_hash.clone(), expires_at: at(24 * 60) };
    store.insert_refresh_token(&token, T0).await.unwrap();
    token_hash
}

/// Presents `presented` at `now`, asking for a successor valid for a day.
async fn rotate(store: &Store, presented: &[u8], successor: &[u8], now: OffsetDateTime) -> RefreshOutcome {
    store.rotate_refresh_token(presented, successor, now + Duration::days(1), now).await.unwrap()
}

fn api_key(
    household_id: HouseholdId,
    created_by: Option<UserId>,
    name: &str,
    scope: ApiKeyScope,
) -> (NewApiKey, Vec<u8>) {
    let key_hash = secret();
    let new = NewApiKey {
        household_id,
        created_by,
        name: name.to_owned(),
        prefix: format!("pty_{}", &name[..3]),
        key_hash: key_hash.clone(),
        scope,
    };
    (new, key_hash)
}

store_test!(a_refresh_token_rotates_within_its_family, |store| async move {
    let (ana, home) = owner(&store, "ana@example.org").await;
    let family = TokenFamilyId::new();
    let first = refresh_token(&store, ana.id, home.household_id, family).await;

    let second = secret();
    let rotated = RefreshOutcome::Rotated { user_id: ana.id, household_id: home.household_id, family_id: family };
    assert_eq!(rotate(&store, &first, &second, at(1)).await, rotated);
    // The successor works in turn, and stays in the family.
    let third = secret();
    assert_eq!(rotate(&store, &second, &third, at(2)).await, rotated);
    assert_eq!(rotate(&store, &third, &secret(), at(3)).await, rotated);
});

store_test!(replaying_a_spent_refresh_token_revokes_its_family, |store| async move {
    let (ana, home) = owner(&store, "ana@example.org").await;
    let family = TokenFamilyId::new();
    let first = refresh_token(&store, ana.id, home.household_id, family).await;
    // Ana is also signed in elsewhere, in another family.
    let other_family = TokenFamilyId::new();
    let elsewhere = refresh_token(&store, ana.id, home.household_id, other_family).await;

    let second = secret();
    assert!(matches!(rotate(&store, &first, &second, at(1)).await, RefreshOutcome::Rotated { .. }));

    // Someone presents the spent token again.
    let stolen_successor = secret();
    assert_eq!(
        rotate(&store, &first, &stolen_successor, at(2)).await,
        RefreshOutcome::Reused { user_id: ana.id, family_id: family }
    );
    // Now the legitimate successor is dead too, and the thief got nothing.
    assert_eq!(rotate(&store, &second, &secret(), at(3)).await, RefreshOutcome::Rejected);
    assert_eq!(rotate(&store, &stolen_successor, &secret(), at(3)).await, RefreshOutcome::Rejected);
    // Presenting the spent token once more stays rejected: the family is revoked.
    assert_eq!(rotate(&store, &first, &secret(), at(4)).await, RefreshOutcome::Rejected);

    // The other sign-in is unaffected.
    assert_eq!(
        rotate(&store, &elsewhere, &secret(), at(5)).await,
        RefreshOutcome::Rotated { user_id: ana.id, household_id: home.household_id, family_id: other_family }
    );
});

store_test!(unknown_and_expired_refresh_tokens_are_rejected, |store| async move {
    let (ana, home) = owner(&store, "ana@example.org").await;
    assert_eq!(rotate(&store, &secret(), &secret(), at(1)).await, RefreshOutcome::Rejected);

    let expiring = secret();
    let token = NewRefreshToken {
        family_id: TokenFamilyId::new(),
        user_id: ana.id,
        household_id: home.household_id,
        token_hash: expiring.clone(),
        expires_at: at(10),
    };
    store.insert_refresh_token(&token, T0).await.unwrap();
    let successor = secret();
    assert_eq!(rotate(&store, &expiring, &successor, at(10)).await, RefreshOutcome::Rejected);
    assert_eq!(rotate(&store, &expiring, &successor, at(11)).await, RefreshOutcome::Rejected);
    // No successor was stored for the expired token.
    assert_eq!(rotate(&store, &successor, &secret(), at(12)).await, RefreshOutcome::Rejected);

    // The same token a minute before its expiry is fine.
    let live = secret();
    store.insert_refresh_token(&NewRefreshToken { token_hash: live.clone(), ..token }, T0).await.unwrap();
    assert!(matches!(rotate(&store, &live, &secret(), at(9)).await, RefreshOutcome::Rotated { .. }));
});

store_test!(signing_out_revokes_the_refresh_family, |store| async move {
    let (ana, home) = owner(&store, "ana@example.org").await;
    let first = refresh_token(&store, ana.id, home.household_id, TokenFamilyId::new()).await;
    let elsewhere = refresh_token(&store, ana.id, home.household_id, TokenFamilyId::new()).await;
    let second = secret();
    assert!(matches!(rotate(&store, &first, &second, at(1)).await, RefreshOutcome::Rotated { .. }));

    // Signing out with the spent first token still finds (and ends) the family.
    assert!(store.revoke_refresh_family_of(&first, at(2)).await.unwrap());
    assert_eq!(rotate(&store, &second, &secret(), at(3)).await, RefreshOutcome::Rejected);
    assert!(!store.revoke_refresh_family_of(&second, at(4)).await.unwrap());
    assert!(!store.revoke_refresh_family_of(&secret(), at(4)).await.unwrap());

    assert!(matches!(rotate(&store, &elsewhere, &secret(), at(5)).await, RefreshOutcome::Rotated { .. }));
});

store_test!(changing_the_password_signs_the_user_out_everywhere, |store| async move {
    let (ana, home) = owner(&store, "ana@example.org").await;
    let (bob, bobs_home) = owner(&store, "bob@example.org").await;
    let phone = refresh_token(&store, ana.id, home.household_id, TokenFamilyId::new()).await;
    let laptop = refresh_token(&store, ana.id, home.household_id, TokenFamilyId::new()).await;
    let anas_session = secret();
    store.create_web_session(&anas_session, ana.id, home.household_id, at(60), T0).await.unwrap();
    let bobs_token = refresh_token(&store, bob.id, bobs_home.household_id, TokenFamilyId::new()).await;
    let bobs_session = secret();
    store.create_web_session(&bobs_session, bob.id, bobs_home.household_id, at(60), T0).await.unwrap();

    store.set_password_hash(ana.id, "$argon2id$v=19$new", at(1)).await.unwrap();
    assert_eq!(store.user_credentials(ana.id).await.unwrap().password_hash, "$argon2id$v=19$new");
    let by_email = store.user_credentials_by_email(&email("ana@example.org")).await.unwrap().unwrap();
    assert_eq!(by_email.password_hash, "$argon2id$v=19$new");

    assert_eq!(rotate(&store, &phone, &secret(), at(2)).await, RefreshOutcome::Rejected);
    assert_eq!(rotate(&store, &laptop, &secret(), at(2)).await, RefreshOutcome::Rejected);
    assert_eq!(store.find_web_session(&anas_session, at(2)).await.unwrap(), None);

    // Bob was not signed out.
    assert!(matches!(rotate(&store, &bobs_token, &secret(), at(2)).await, RefreshOutcome::Rotated { .. }));
    assert!(store.find_web_session(&bobs_session, at(2)).await.unwrap().is_some());
    assert_ne!(store.user_credentials(bob.id).await.unwrap().password_hash, "$argon2id$v=19$new");
});

store_test!(api_keys_are_created_listed_newest_first_and_found_by_hash, |store| async move {
    let (ana, home) = owner(&store, "ana@example.org").await;
    let (_, bobs_home) = owner(&store, "bob@example.org").await;

    let (new, feeder_hash) = api_key(home.household_id, Some(ana.id), "feeder", ApiKeyScope::Write);
    let feeder = store.create_api_key(&new, at(1)).await.unwrap();
    assert_eq!(feeder.household_id, home.household_id);
    assert_eq!(feeder.created_by, Some(ana.id));
    assert_eq!((feeder.name.as_str(), feeder.prefix.as_str()), ("feeder", "pty_fee"));
    assert_eq!(feeder.scope, ApiKeyScope::Write);
    assert_eq!((feeder.created_at, feeder.last_used_at, feeder.revoked_at), (at(1), None, None));

    let (new, _) = api_key(home.household_id, None, "grafana", ApiKeyScope::Read);
    let grafana = store.create_api_key(&new, at(2)).await.unwrap();
    let (new, admin_hash) = api_key(home.household_id, Some(ana.id), "admin-tool", ApiKeyScope::Admin);
    let admin = store.create_api_key(&new, at(3)).await.unwrap();
    let (new, _) = api_key(bobs_home.household_id, None, "bobs-key", ApiKeyScope::Read);
    let bobs = store.create_api_key(&new, at(4)).await.unwrap();

    assert_eq!(store.list_api_keys(home.household_id).await.unwrap(), vec![admin.clone(), grafana, feeder.clone()]);
    assert_eq!(store.list_api_keys(bobs_home.household_id).await.unwrap(), vec![bobs]);
    assert!(store.list_api_keys(HouseholdId::new()).await.unwrap().is_empty());

    assert_eq!(store.find_api_key(&feeder_hash, T0).await.unwrap(), Some(feeder));
    assert_eq!(store.find_api_key(&admin_hash, T0).await.unwrap(), Some(admin));
    assert_eq!(store.find_api_key(&secret(), T0).await.unwrap(), None);
});

store_test!(a_revoked_api_key_is_not_found, |store| async move {
    let (ana, home) = owner(&store, "ana@example.org").await;
    let (_, bobs_home) = owner(&store, "bob@example.org").await;
    let (new, hash) = api_key(home.household_id, Some(ana.id), "feeder", ApiKeyScope::Write);
    let key = store.create_api_key(&new, at(1)).await.unwrap();

    // Another household cannot revoke it.
    assert!(matches!(store.revoke_api_key(bobs_home.household_id, key.id, at(2)).await, Err(StoreError::NotFound)));
    assert!(store.find_api_key(&hash, T0).await.unwrap().is_some());

    store.revoke_api_key(home.household_id, key.id, at(3)).await.unwrap();
    assert_eq!(store.find_api_key(&hash, T0).await.unwrap(), None);
    // It stays listed, marked as revoked.
    let listed = store.list_api_keys(home.household_id).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].revoked_at, Some(at(3)));

    assert!(matches!(store.revoke_api_key(home.household_id, key.id, at(4)).await, Err(StoreError::NotFound)));
    assert!(matches!(store.revoke_api_key(home.household_id, ApiKeyId::new(), at(4)).await, Err(StoreError::NotFound)));
    assert_eq!(store.list_api_keys(home.household_id).await.unwrap()[0].revoked_at, Some(at(3)));
});

/// API keys are kept in memory on PostgreSQL too, and forgotten with members' standing: a key
/// revoked on one node, or whose maker is given a narrower role there, is refused on the other
/// as soon as the notification arrives.
#[tokio::test]
async fn an_api_key_revoked_or_narrowed_on_one_node_is_refused_on_the_other() {
    crate::harness::run_postgres_nodes(
        "credentials::an_api_key_revoked_or_narrowed_on_one_node_is_refused_on_the_other",
        |a, b| async move {
            let (ana, home) = owner(&a, "ana@example.org").await;
            let cat = member(&a, home.household_id, ana.id, "cat@example.org", Role::Member).await;
            let (new, anas_hash) = api_key(home.household_id, Some(ana.id), "ana's", ApiKeyScope::Admin);
            let anas = a.create_api_key(&new, at(2)).await.unwrap();
            let (new, cats_hash) = api_key(home.household_id, Some(cat.id), "cat's", ApiKeyScope::Write);
            a.create_api_key(&new, at(2)).await.unwrap();
            // Give node B's listener a moment to start, so that its lookups below are kept.
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            for _ in 0..3 {
                assert_eq!(b.find_api_key(&anas_hash, at(3)).await.unwrap().map(|k| k.id), Some(anas.id));
                assert_eq!(b.find_api_key(&cats_hash, at(3)).await.unwrap().unwrap().scope, ApiKeyScope::Write);
            }
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
            a.set_member_role(home.household_id, cat.id, Role::Sitter, Some(at(60)), at(4)).await.unwrap();
            while b.find_api_key(&cats_hash, at(5)).await.unwrap().map(|k| k.scope) != Some(ApiKeyScope::Read) {
                assert!(std::time::Instant::now() < deadline, "node B still lets a sitter's key write");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            // The sitter's end is checked at every use, kept or not.
            assert_eq!(b.find_api_key(&cats_hash, at(61)).await.unwrap(), None);
            a.revoke_api_key(home.household_id, anas.id, at(6)).await.unwrap();
            while b.find_api_key(&anas_hash, at(7)).await.unwrap().is_some() {
                assert!(std::time::Instant::now() < deadline, "node B still honours a key node A revoked");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        },
    )
    .await;
}

/// `petty mcp` opens the embedded database a `petty serve` writes: what the server changes must
/// reach it at once, so a store shared with other processes keeps nothing in memory. A key the
/// server revokes is refused on its next use there, and a renamed pet reads renamed.
#[tokio::test]
async fn a_store_beside_a_server_sees_the_servers_revocations_at_once() {
    let dir = crate::harness::TempDir::new();
    let url = format!("sqlite://{}", dir.path().join("petty.db").display());
    let server = Store::connect(&url).await.unwrap();
    server.migrate().await.unwrap();
    let beside = Store::connect(&url).await.unwrap().shared_with_other_processes();
    let (ana, home) = owner(&server, "ana@example.org").await;
    let (new, hash) = api_key(home.household_id, Some(ana.id), "assistant", ApiKeyScope::Read);
    let key = server.create_api_key(&new, at(1)).await.unwrap();
    for _ in 0..3 {
        assert_eq!(beside.find_api_key(&hash, at(2)).await.unwrap().map(|k| k.id), Some(key.id));
    }
    server.revoke_api_key(home.household_id, key.id, at(3)).await.unwrap();
    assert_eq!(beside.find_api_key(&hash, at(4)).await.unwrap(), None, "revoked in the other process");

    let pet =
        server.create_pet(home.household_id, &crate::fixtures::pet("Biscuit", Species::Dog), at(5)).await.unwrap();
    assert_eq!(beside.get_pet(home.household_id, pet.id).await.unwrap().profile.name, "Biscuit");
    server.update_pet(home.household_id, pet.id, &crate::fixtures::pet("Bisou", Species::Dog), at(6)).await.unwrap();
    assert_eq!(
        beside.get_pet(home.household_id, pet.id).await.unwrap().profile.name,
        "Bisou",
        "renamed in the other process"
    );
    assert_eq!(beside.write_generation(), None, "no answers are kept on this process's writes alone");
    beside.close().await;
    server.close().await;
}

store_test!(using_an_api_key_is_recorded_at_most_once_a_minute, |store| async move {
    let (ana, home) = owner(&store, "ana@example.org").await;
    let (new, hash) = api_key(home.household_id, Some(ana.id), "feeder", ApiKeyScope::Write);
    store.create_api_key(&new, T0).await.unwrap();
    let (new, other_hash) = api_key(home.household_id, Some(ana.id), "other", ApiKeyScope::Write);
    store.create_api_key(&new, T0).await.unwrap();
    let last_used = |hash: Vec<u8>| {
        let store = store.clone();
        async move { store.find_api_key(&hash, T0).await.unwrap().expect("the key is live").last_used_at }
    };
    let key = store.find_api_key(&hash, T0).await.unwrap().unwrap();

    store.touch_api_key(key.id, at(10)).await.unwrap();
    assert_eq!(last_used(hash.clone()).await, Some(at(10)));
    assert_eq!(last_used(other_hash.clone()).await, None);

    store.touch_api_key(key.id, at(10) + Duration::seconds(59)).await.unwrap();
    assert_eq!(last_used(hash.clone()).await, Some(at(10)));

    store.touch_api_key(key.id, at(11) + Duration::seconds(1)).await.unwrap();
    assert_eq!(last_used(hash.clone()).await, Some(at(11) + Duration::seconds(1)));
    assert_eq!(last_used(other_hash).await, None);
});

store_test!(a_web_session_is_found_until_it_expires, |store| async move {
    let (ana, home) = owner(&store, "ana@example.org").await;
    let hash = secret();
    let session = store.create_web_session(&hash, ana.id, home.household_id, at(60), at(1)).await.unwrap();
    assert_eq!((session.user_id, session.household_id, session.expires_at), (ana.id, home.household_id, at(60)));

    assert_eq!(store.find_web_session(&hash, at(2)).await.unwrap(), Some(session.clone()));
    assert_eq!(store.find_web_session(&hash, at(59)).await.unwrap(), Some(session));
    assert_eq!(store.find_web_session(&hash, at(60)).await.unwrap(), None);
    assert_eq!(store.find_web_session(&hash, at(61)).await.unwrap(), None);
    assert_eq!(store.find_web_session(&secret(), at(2)).await.unwrap(), None);
});

store_test!(a_revoked_web_session_is_not_found, |store| async move {
    let (ana, home) = owner(&store, "ana@example.org").await;
    let (phone, laptop) = (secret(), secret());
    let session = store.create_web_session(&phone, ana.id, home.household_id, at(60), T0).await.unwrap();
    store.create_web_session(&laptop, ana.id, home.household_id, at(60), T0).await.unwrap();

    store.revoke_web_session(session.id, at(1)).await.unwrap();
    assert_eq!(store.find_web_session(&phone, at(2)).await.unwrap(), None);
    assert!(store.find_web_session(&laptop, at(2)).await.unwrap().is_some());
    // Revoking again, or an unknown session, is harmless.
    store.revoke_web_session(session.id, at(3)).await.unwrap();
    store.revoke_web_session(SessionId::new(), at(3)).await.unwrap();
    assert_eq!(store.find_web_session(&phone, at(4)).await.unwrap(), None);
});

store_test!(a_removed_member_is_signed_out_of_that_household, |store| async move {
    let (ana, home) = owner(&store, "ana@example.org").await;
    let cat = member(&store, home.household_id, ana.id, "cat@example.org", Role::Member).await;
    let cats_session = secret();
    store.create_web_session(&cats_session, cat.id, home.household_id, at(60), at(2)).await.unwrap();
    let cats_token = refresh_token(&store, cat.id, home.household_id, TokenFamilyId::new()).await;
    let anas_session = secret();
    store.create_web_session(&anas_session, ana.id, home.household_id, at(60), at(2)).await.unwrap();
    assert!(store.find_web_session(&cats_session, at(3)).await.unwrap().is_some());

    store.remove_member(home.household_id, cat.id, at(4)).await.unwrap();
    assert_eq!(store.find_web_session(&cats_session, at(5)).await.unwrap(), None);
    assert_eq!(rotate(&store, &cats_token, &secret(), at(5)).await, RefreshOutcome::Rejected);
    assert!(store.find_web_session(&anas_session, at(5)).await.unwrap().is_some());
});

store_test!(a_sitters_web_session_ends_with_the_membership, |store| async move {
    let (ana, home) = owner(&store, "ana@example.org").await;
    let hash = secret();
    let sitting = NewInvitation { ends_at: Some(at(30)), ..invitation(home.household_id, ana.id, Role::Sitter, &hash) };
    store.create_invitation(&sitting, T0).await.unwrap();
    let (sitter, _) = store.register_with_invitation(&new_user("sam@example.org"), &hash, at(1)).await.unwrap();
    let session = secret();
    store.create_web_session(&session, sitter.id, home.household_id, at(120), at(2)).await.unwrap();

    assert!(store.find_web_session(&session, at(29)).await.unwrap().is_some());
    assert_eq!(store.find_web_session(&session, at(31)).await.unwrap(), None);
});

store_test!(a_members_standing_follows_every_revocation_at_once, |store| async move {
    let (ana, home) = owner(&store, "ana@example.org").await;
    let cat = member(&store, home.household_id, ana.id, "cat@example.org", Role::Member).await;
    let standing = store.standing(cat.id, home.household_id).await.unwrap().expect("a member");
    assert_eq!(
        (standing.role, standing.ends_at, standing.tokens_valid_after),
        (Role::Member, None, OffsetDateTime::UNIX_EPOCH)
    );
    assert_eq!(store.standing(cat.id, HouseholdId::new()).await.unwrap(), None);

    // A sign-out stamps the membership the refresh token was for; a password change the user.
    let token = refresh_token(&store, cat.id, home.household_id, TokenFamilyId::new()).await;
    assert!(store.revoke_refresh_family_of(&token, at(2)).await.unwrap());
    assert_eq!(store.standing(cat.id, home.household_id).await.unwrap().unwrap().tokens_valid_after, at(2));
    store.set_password_hash(cat.id, "$argon2id$v=19$new", at(3)).await.unwrap();
    assert_eq!(store.standing(cat.id, home.household_id).await.unwrap().unwrap().tokens_valid_after, at(3));

    // A role change stamps the membership, and the last owner keeps the role.
    let sitter = store.set_member_role(home.household_id, cat.id, Role::Sitter, Some(at(60)), at(4)).await.unwrap();
    assert_eq!((sitter.role, sitter.ends_at), (Role::Sitter, Some(at(60))));
    let standing = store.standing(cat.id, home.household_id).await.unwrap().unwrap();
    assert_eq!((standing.role, standing.ends_at, standing.tokens_valid_after), (Role::Sitter, Some(at(60)), at(4)));
    // Saying again what holds already signs nobody out; a new end does.
    store.set_member_role(home.household_id, cat.id, Role::Sitter, Some(at(60)), at(5)).await.unwrap();
    assert_eq!(store.standing(cat.id, home.household_id).await.unwrap().unwrap().tokens_valid_after, at(4));
    store.set_member_role(home.household_id, cat.id, Role::Sitter, Some(at(61)), at(5)).await.unwrap();
    assert_eq!(store.standing(cat.id, home.household_id).await.unwrap().unwrap().tokens_valid_after, at(5));
    store.set_member_role(home.household_id, ana.id, Role::Owner, None, at(5)).await.unwrap();
    assert_eq!(
        store.standing(ana.id, home.household_id).await.unwrap().unwrap().tokens_valid_after,
        OffsetDateTime::UNIX_EPOCH
    );
    assert!(matches!(
        store.set_member_role(home.household_id, ana.id, Role::Member, None, at(5)).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store.set_member_role(home.household_id, UserId::new(), Role::Member, None, at(5)).await,
        Err(StoreError::NotFound)
    ));

    // Removed: no standing at all.
    store.remove_member(home.household_id, cat.id, at(6)).await.unwrap();
    assert_eq!(store.standing(cat.id, home.household_id).await.unwrap(), None);
});

store_test!(an_api_key_holds_no_more_than_its_maker_and_dies_with_the_membership, |store| async move {
    let (ana, home) = owner(&store, "ana@example.org").await;
    let cat = member(&store, home.household_id, ana.id, "cat@example.org", Role::Member).await;
    let (new, cats_hash) = api_key(home.household_id, Some(cat.id), "cat's", ApiKeyScope::Write);
    let cats = store.create_api_key(&new, at(2)).await.unwrap();
    let (new, anas_hash) = api_key(home.household_id, Some(ana.id), "ana's", ApiKeyScope::Admin);
    store.create_api_key(&new, at(2)).await.unwrap();
    assert_eq!(store.find_api_key(&cats_hash, at(3)).await.unwrap().unwrap().scope, ApiKeyScope::Write);

    // A sitter's key reads, and only until the sitter's time ends.
    store.set_member_role(home.household_id, cat.id, Role::Sitter, Some(at(10)), at(4)).await.unwrap();
    assert_eq!(store.find_api_key(&cats_hash, at(5)).await.unwrap().unwrap().scope, ApiKeyScope::Read);
    assert_eq!(store.find_api_key(&cats_hash, at(10)).await.unwrap(), None);
    store.set_member_role(home.household_id, cat.id, Role::Member, None, at(11)).await.unwrap();
    assert!(store.find_api_key(&cats_hash, at(12)).await.unwrap().is_some());

    // Removing the member revokes their keys, visibly; the others' keys live on.
    store.remove_member(home.household_id, cat.id, at(13)).await.unwrap();
    assert_eq!(store.find_api_key(&cats_hash, at(14)).await.unwrap(), None);
    let listed = store.list_api_keys(home.household_id).await.unwrap();
    let cats_listed = listed.iter().find(|k| k.id == cats.id).unwrap();
    assert_eq!(cats_listed.revoked_at, Some(at(13)));
    assert_eq!(store.find_api_key(&anas_hash, at(14)).await.unwrap().unwrap().scope, ApiKeyScope::Admin);
});
