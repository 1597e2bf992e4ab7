//! What signing in and account mail leave in the store: failed sign-ins per source for the
//! throttles, reset and verification tokens (single use, expiring, only as hashes), resetting a
//! password (which ends every sign-in), verifying an address, and the account mail queue with
//! its per-address cap and leases.

use petty_core::ids::TokenFamilyId;
use petty_store::{
    AccountMailKind, AccountMailStatus, FailureScope, Failures, NewRefreshToken, RefreshOutcome, TokenPurpose,
};
use time::Duration;

use crate::fixtures::{T0, at, email, owner, secret};
use crate::harness::store_test;

store_test!(failed_sign_ins_are_counted_per_source_and_forgotten, |store| async move {
    let long_ago = T0 - Duration::days(2);
    for minute in 1..=3 {
        store
            .record_signin_failure(
                &[(FailureScope::Address, "192.0.2.7"), (FailureScope::Account, "ana@example.org")],
                at(minute),
                long_ago,
            )
            .await
            .unwrap();
    }
    store.record_signin_failure(&[(FailureScope::TrustedDevice, "d1")], at(4), long_ago).await.unwrap();

    let ana = store.signin_failures(FailureScope::Account, "ana@example.org", T0).await.unwrap();
    assert_eq!(ana, Failures { count: 3, latest: Some(at(3)) });
    // The same key in another scope is another source.
    let other = store.signin_failures(FailureScope::Address, "ana@example.org", T0).await.unwrap();
    assert_eq!(other, Failures::default());
    assert_eq!(store.signin_failures(FailureScope::Address, "192.0.2.7", at(2)).await.unwrap().count, 1);
    assert_eq!(store.signin_failures(FailureScope::TrustedDevice, "d1", T0).await.unwrap().count, 1);

    // Clearing one source leaves the others.
    store.clear_signin_failures(FailureScope::Account, "ana@example.org").await.unwrap();
    assert_eq!(store.signin_failures(FailureScope::Account, "ana@example.org", long_ago).await.unwrap().count, 0);
    assert_eq!(store.signin_failures(FailureScope::Address, "192.0.2.7", long_ago).await.unwrap().count, 3);

    // A failure that forgets everything before minute 3 prunes every source.
    store.record_signin_failure(&[(FailureScope::Address, "198.51.100.1")], at(30), at(3)).await.unwrap();
    assert_eq!(store.signin_failures(FailureScope::Address, "192.0.2.7", long_ago).await.unwrap().count, 1);
    assert_eq!(store.signin_failures(FailureScope::TrustedDevice, "d1", long_ago).await.unwrap().count, 1);
});

store_test!(a_reset_token_sets_the_password_once_and_ends_every_sign_in, |store| async move {
    let (ana, home) = owner(&store, "ana@example.org").await;
    assert_eq!(ana.email_verified_at, None, "a new account's address is unverified");
    let refresh = secret();
    let token = NewRefreshToken {
        family_id: TokenFamilyId::new(),
        user_id: ana.id,
        household_id: home.household_id,
        token_hash: refresh.clone(),
        expires_at: at(24 * 60),
    };
    store.insert_refresh_token(&token, T0).await.unwrap();
    let session = secret();
    store.create_web_session(&session, ana.id, home.household_id, at(24 * 60), T0).await.unwrap();
    store
        .record_signin_failure(&[(FailureScope::Account, "ana@example.org")], at(1), T0 - Duration::days(1))
        .await
        .unwrap();

    let first = secret();
    let second = secret();
    for hash in [&first, &second] {
        store
            .insert_account_token(TokenPurpose::PasswordReset, hash, ana.id, "ana@example.org", at(60), at(1))
            .await
            .unwrap();
    }
    let found = store.find_account_token(TokenPurpose::PasswordReset, &first, at(2)).await.unwrap();
    assert_eq!(found, Some((ana.id, "ana@example.org".to_owned())));
    // A reset token is no verification token, and an unknown one is nothing.
    assert_eq!(store.find_account_token(TokenPurpose::VerifyEmail, &first, at(2)).await.unwrap(), None);
    assert_eq!(store.reset_password(&secret(), "$argon2id$x", at(2)).await.unwrap(), None);
    assert_eq!(store.verify_email(&first, at(2)).await.unwrap(), None);

    let user = store.reset_password(&first, "$argon2id$new", at(3)).await.unwrap().expect("the token works");
    assert_eq!(user.id, ana.id);
    assert_eq!(user.email_verified_at, Some(at(3)), "the link reached the address");
    let credentials = store.user_credentials(ana.id).await.unwrap();
    assert_eq!((credentials.password_hash.as_str(), credentials.password_changed_at), ("$argon2id$new", at(3)));
    // Every sign-in ended; access tokens issued before now are refused through the stamp.
    assert_eq!(store.rotate_refresh_token(&refresh, &secret(), at(60), at(4)).await.unwrap(), RefreshOutcome::Rejected);
    assert_eq!(store.find_web_session(&session, at(4)).await.unwrap(), None);
    let standing = store.standing(ana.id, home.household_id).await.unwrap().unwrap();
    assert_eq!(standing.tokens_valid_after, at(3));
    // The account's throttle is forgotten.
    assert_eq!(store.signin_failures(FailureScope::Account, "ana@example.org", T0).await.unwrap().count, 0);

    // Spent: neither this token nor the other one from before works again.
    assert_eq!(store.reset_password(&first, "$argon2id$again", at(4)).await.unwrap(), None);
    assert_eq!(store.reset_password(&second, "$argon2id$again", at(4)).await.unwrap(), None);
    assert_eq!(store.user_credentials(ana.id).await.unwrap().password_hash, "$argon2id$new");
});

store_test!(an_expired_reset_token_does_nothing, |store| async move {
    let (ana, _) = owner(&store, "ana@example.org").await;
    let hash = secret();
    store.insert_account_token(TokenPurpose::PasswordReset, &hash, ana.id, &ana.email, at(60), T0).await.unwrap();
    assert_eq!(store.find_account_token(TokenPurpose::PasswordReset, &hash, at(60)).await.unwrap(), None);
    assert_eq!(store.reset_password(&hash, "$argon2id$late", at(61)).await.unwrap(), None);
    assert_ne!(store.user_credentials(ana.id).await.unwrap().password_hash, "$argon2id$late");
});

store_test!(a_verification_token_verifies_the_address_once, |store| async move {
    let (ana, _) = owner(&store, "ana@example.org").await;
    let (bob, _) = owner(&store, "bob@example.org").await;
    let hash = secret();
    store.insert_account_token(TokenPurpose::VerifyEmail, &hash, ana.id, &ana.email, at(60), T0).await.unwrap();
    assert_eq!(store.reset_password(&hash, "$argon2id$x", at(1)).await.unwrap(), None, "not a reset token");

    let verified = store.verify_email(&hash, at(2)).await.unwrap().expect("the token works");
    assert_eq!(verified.email_verified_at, Some(at(2)));
    assert_eq!(store.get_user(ana.id).await.unwrap().email_verified_at, Some(at(2)));
    assert_eq!(store.verify_email(&hash, at(3)).await.unwrap(), None, "single use");
    assert_eq!(store.get_user(bob.id).await.unwrap().email_verified_at, None, "only Ana's");

    store.mark_email_verified(bob.id, at(5)).await.unwrap();
    store.mark_email_verified(bob.id, at(9)).await.unwrap();
    assert_eq!(store.get_user(bob.id).await.unwrap().email_verified_at, Some(at(5)), "kept from the first time");
});

store_test!(account_mail_is_queued_capped_per_address_and_claimed_once, |store| async move {
    let ana = email("ana@example.org");
    let mut ids = Vec::new();
    for minute in 0..3 {
        let id = store.enqueue_account_mail(AccountMailKind::PasswordReset, &ana, at(minute), 3).await.unwrap();
        ids.push(id.expect("under the cap"));
    }
    // A fourth within the hour is held back; an hour later there is room again.
    assert_eq!(store.enqueue_account_mail(AccountMailKind::VerifyEmail, &ana, at(10), 3).await.unwrap(), None);
    let later = store.enqueue_account_mail(AccountMailKind::RegistrationAttempt, &ana, at(61), 3).await.unwrap();
    assert!(later.is_some());
    let bob = email("bob@example.org");
    let bobs = store.enqueue_account_mail(AccountMailKind::VerifyEmail, &bob, at(10), 3).await.unwrap();
    let bobs = bobs.expect("another address has its own cap");

    let now = petty_store::to_ms(at(62));
    let lease = 60_000;
    let first = store.claim_account_mail_by_id(ids[0], now, lease).await.unwrap().expect("pending");
    assert_eq!(
        (first.kind, first.attempts, first.status),
        (AccountMailKind::PasswordReset, 1, AccountMailStatus::Pending)
    );
    assert_eq!(store.claim_account_mail_by_id(ids[0], now, lease).await.unwrap(), None, "leased");
    let batch = store.claim_account_mail(now, lease, 10).await.unwrap();
    assert_eq!(batch.len(), 4, "every due row but the leased one");
    assert!(batch.iter().all(|m| m.id != ids[0]));

    store.account_mail_finished(ids[0], AccountMailStatus::Sent, Some("250 ok"), now).await.unwrap();
    store.account_mail_failed(ids[1], "SMTP down", Some(now + 5_000)).await.unwrap();
    store.account_mail_failed(ids[2], "refused", None).await.unwrap();
    store.account_mail_finished(later.unwrap(), AccountMailStatus::Dropped, Some("no account"), now).await.unwrap();
    // The retry is due after its wait, not before; a mail whose sender died is claimed again
    // once its lease runs out; finished mail never.
    assert_eq!(store.claim_account_mail(now + 1_000, lease, 10).await.unwrap(), []);
    let again = store.claim_account_mail(now + 120_000, lease, 10).await.unwrap();
    let mut again_ids: Vec<_> = again.iter().map(|m| m.id).collect();
    again_ids.sort();
    let mut expected = vec![ids[1], bobs];
    expected.sort();
    assert_eq!(again_ids, expected);
    assert!(again.iter().all(|m| m.attempts == 2));

    let mail = store.account_mail_to(&ana).await.unwrap();
    let statuses: Vec<AccountMailStatus> = mail.iter().map(|m| m.status).collect();
    use AccountMailStatus::*;
    assert_eq!(statuses, [Sent, Pending, Failed, Dropped]);
    assert_eq!(mail[0].sent_at.map(petty_store::to_ms), Some(now));
    assert_eq!(mail[2].last_error.as_deref(), Some("refused"));
});
