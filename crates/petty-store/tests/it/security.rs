//! What protects an account (issue 14), on both engines: the second factor (a pending secret,
//! turning it on with its backup codes, each TOTP step and each backup code accepted once),
//! live sign-ins listed and revoked (one, or all but the current), the sign-in history, and the
//! household's audit log (filtered, scoped to the household, with a tombstone for a deleted
//! actor).

use petty_core::ids::TokenFamilyId;
use petty_core::paging::PageRequest;
use petty_store::{
    AuditActorKind, AuditFilter, ClientOrigin, CurrentSignIn, NewAuditEntry, NewRefreshToken, RefreshOutcome,
    SignInKind, StoreError,
};
use uuid::Uuid;

use crate::fixtures::{T0, at, owner, secret};
use crate::harness::store_test;

fn origin(address: &str, agent: &str) -> ClientOrigin {
    ClientOrigin { address: Some(address.into()), user_agent: Some(agent.into()) }
}

store_test!(mfa_steps_and_backup_codes_are_accepted_once, |store| async move {
    let (ana, _) = owner(&store, "ana@example.org").await;
    let record = store.mfa_record(ana.id).await.unwrap();
    assert!(!record.enabled());
    store.set_pending_mfa_secret(ana.id, b"sealed-one").await.unwrap();
    store.set_pending_mfa_secret(ana.id, b"sealed-two").await.unwrap();
    // A code of a replaced setup turns nothing on.
    assert!(!store.enable_mfa(ana.id, b"sealed-one", 100, &[], at(1)).await.unwrap());
    let codes = vec![b"code-a".to_vec(), b"code-b".to_vec()];
    assert!(store.enable_mfa(ana.id, b"sealed-two", 100, &codes, at(1)).await.unwrap());
    let record = store.mfa_record(ana.id).await.unwrap();
    assert!(record.enabled());
    assert_eq!(
        (record.secret.as_deref(), record.pending_secret, record.last_step),
        (Some(&b"sealed-two"[..]), None, 100)
    );
    assert_eq!(record.backup_codes_left, 2);

    assert!(!store.accept_mfa_step(ana.id, 100).await.unwrap(), "the step that turned it on is spent");
    assert!(store.accept_mfa_step(ana.id, 101).await.unwrap());
    assert!(!store.accept_mfa_step(ana.id, 101).await.unwrap(), "once");
    assert!(!store.accept_mfa_step(ana.id, 99).await.unwrap(), "never an older one");
    assert!(store.use_backup_code(ana.id, b"code-a", at(2)).await.unwrap());
    assert!(!store.use_backup_code(ana.id, b"code-a", at(3)).await.unwrap(), "once");
    assert!(!store.use_backup_code(ana.id, b"other", at(3)).await.unwrap());
    let (bob, _) = owner(&store, "bob@example.org").await;
    assert!(!store.use_backup_code(bob.id, b"code-b", at(3)).await.unwrap(), "not another user's");
    assert_eq!(store.mfa_record(ana.id).await.unwrap().backup_codes_left, 1);

    store.disable_mfa(ana.id).await.unwrap();
    let record = store.mfa_record(ana.id).await.unwrap();
    assert!(!record.enabled() && record.secret.is_none() && record.backup_codes_left == 0);
    assert!(!store.accept_mfa_step(ana.id, 200).await.unwrap(), "no TOTP without a secret");
});

store_test!(sign_ins_are_listed_with_their_origin_and_revoked, |store| async move {
    let (ana, home) = owner(&store, "ana@example.org").await;
    let (laptop, phone) = (TokenFamilyId::new(), TokenFamilyId::new());
    let mut phone_tokens = Vec::new();
    for (family, minute) in [(laptop, 1), (phone, 2)] {
        let hash = secret();
        let token = NewRefreshToken {
            family_id: family,
            user_id: ana.id,
            household_id: home.household_id,
            token_hash: hash.clone(),
            expires_at: at(24 * 60),
        };
        store.insert_refresh_token(&token, at(minute)).await.unwrap();
        if family == phone {
            phone_tokens.push(hash);
        }
    }
    store.set_refresh_family_origin(phone, &origin("192.0.2.9", "Phone/1")).await.unwrap();
    // The phone's token is rotated: one sign-in still, used later.
    let next = secret();
    let rotated = store.rotate_refresh_token(&phone_tokens[0], &next, at(24 * 60), at(5)).await.unwrap();
    assert!(matches!(rotated, RefreshOutcome::Rotated { .. }));
    let session = store.create_web_session(&secret(), ana.id, home.household_id, at(60), at(3)).await.unwrap();
    store.set_web_session_origin(session.id, &origin("198.51.100.4", "Browser/2"), Some(at(3))).await.unwrap();
    store.touch_web_session(session.id, at(4)).await.unwrap();
    let device = Uuid::new_v4();
    store.insert_trusted_device(device, ana.id, &origin("198.51.100.4", "Browser/2"), at(3)).await.unwrap();
    assert!(store.trusted_device_is_live(device, ana.id).await.unwrap());
    assert_eq!(store.web_session_mfa_at(session.id).await.unwrap(), Some(at(3)));

    let live = store.live_sign_ins(ana.id, T0, at(6)).await.unwrap();
    let kinds: Vec<(SignInKind, Uuid)> = live.iter().map(|s| (s.kind, s.id)).collect();
    assert_eq!(
        kinds,
        [
            (SignInKind::Api, phone.0),
            (SignInKind::Dashboard, session.id.0),
            (SignInKind::TrustedDevice, device),
            (SignInKind::Api, laptop.0)
        ],
        "most recently used first"
    );
    assert_eq!(live[0].origin, origin("192.0.2.9", "Phone/1"), "the rotated family keeps where it signed in");
    assert_eq!((live[0].created_at, live[0].last_used_at), (at(2), at(5)));
    assert_eq!(live[0].household_id, Some(home.household_id));
    assert_eq!(live[1].last_used_at, at(4));

    // Another person cannot revoke them.
    let (bob, _) = owner(&store, "bob@example.org").await;
    assert!(matches!(store.revoke_sign_in(bob.id, phone.0, at(7)).await, Err(StoreError::NotFound)));
    assert_eq!(store.revoke_sign_in(ana.id, phone.0, at(7)).await.unwrap(), SignInKind::Api);
    assert_eq!(
        store.rotate_refresh_token(&next, &secret(), at(24 * 60), at(8)).await.unwrap(),
        RefreshOutcome::Rejected
    );
    let standing = store.standing(ana.id, home.household_id).await.unwrap().unwrap();
    assert_eq!(&standing.revoked_families[..], [phone], "its access tokens are refused from now");
    assert_eq!(store.revoke_sign_in(ana.id, device, at(7)).await.unwrap(), SignInKind::TrustedDevice);
    assert!(!store.trusted_device_is_live(device, ana.id).await.unwrap());
    assert!(matches!(store.revoke_sign_in(ana.id, device, at(7)).await, Err(StoreError::NotFound)), "once");

    // Everything but the current session.
    let other = store.create_web_session(&secret(), ana.id, home.household_id, at(60), at(8)).await.unwrap();
    let keep = CurrentSignIn { session: Some(session.id), ..CurrentSignIn::default() };
    assert_eq!(store.revoke_other_sign_ins(ana.id, keep, at(9)).await.unwrap(), 2, "the laptop and the other session");
    let live = store.live_sign_ins(ana.id, T0, at(10)).await.unwrap();
    assert_eq!(live.iter().map(|s| s.id).collect::<Vec<_>>(), [session.id.0]);
    assert!(live.iter().all(|s| s.id != other.id.0));
});

store_test!(the_sign_in_history_is_the_users_newest_first, |store| async move {
    let (ana, _) = owner(&store, "ana@example.org").await;
    let (bob, _) = owner(&store, "bob@example.org").await;
    for (minute, outcome) in [(1, "wrong_password"), (2, "mfa_required"), (3, "success")] {
        store.record_login(ana.id, &origin("192.0.2.1", "Phone/1"), outcome, at(minute)).await.unwrap();
    }
    store.record_login(bob.id, &ClientOrigin::default(), "success", at(4)).await.unwrap();
    let page = store.list_logins(ana.id, PageRequest { page: 1, page_size: 2 }).await.unwrap();
    assert_eq!(page.total, 3);
    assert!(page.has_next());
    let outcomes: Vec<&str> = page.items.iter().map(|l| l.outcome.as_str()).collect();
    assert_eq!(outcomes, ["success", "mfa_required"]);
    assert_eq!(page.items[0].origin, origin("192.0.2.1", "Phone/1"));
    assert_eq!(page.items[0].at, at(3));
});

store_test!(the_audit_log_is_filtered_scoped_and_tombstoned, |store| async move {
    let (ana, home) = owner(&store, "ana@example.org").await;
    let (_, away) = owner(&store, "bob@example.org").await;
    let key = Uuid::now_v7();
    let entry = |household_id, kind, actor_id, action, entity_id| NewAuditEntry {
        household_id,
        actor_kind: kind,
        actor_id,
        action,
        entity_type: "pet",
        entity_id,
        address: Some("192.0.2.1"),
        detail: r#"{"fields":["name"]}"#,
    };
    let h = home.household_id;
    store.insert_audit_entry(&entry(h, AuditActorKind::User, Some(ana.id.0), "create", "p1"), at(1)).await.unwrap();
    store.insert_audit_entry(&entry(h, AuditActorKind::ApiKey, Some(key), "update", "p1"), at(2)).await.unwrap();
    store.insert_audit_entry(&entry(h, AuditActorKind::User, Some(ana.id.0), "create", "p2"), at(3)).await.unwrap();
    store
        .insert_audit_entry(&entry(away.household_id, AuditActorKind::User, Some(ana.id.0), "create", "p1"), at(4))
        .await
        .unwrap();

    let all = store.list_audit(h, &AuditFilter::default(), PageRequest::default()).await.unwrap();
    assert_eq!(all.total, 3, "only this household's");
    assert_eq!(all.items.iter().map(|e| e.entity_id.as_str()).collect::<Vec<_>>(), ["p2", "p1", "p1"]);
    let p1 = AuditFilter { entity_type: Some("pet".into()), entity_id: Some("p1".into()), actor_id: None };
    let found = store.list_audit(h, &p1, PageRequest::default()).await.unwrap();
    assert_eq!(found.items.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(), ["update", "create"]);
    let by_key = AuditFilter { actor_id: Some(key), ..AuditFilter::default() };
    let found = store.list_audit(h, &by_key, PageRequest::default()).await.unwrap();
    assert_eq!((found.total, found.items[0].actor_kind), (1, AuditActorKind::ApiKey));
    let devices = AuditFilter { entity_type: Some("device".into()), ..AuditFilter::default() };
    assert_eq!(store.list_audit(h, &devices, PageRequest::default()).await.unwrap().total, 0);

    // Deleting Ana's account later: her entries stay, under a tombstone without an address.
    let tombstone = store.tombstone_audit_actor(ana.id).await.unwrap();
    let all = store.list_audit(h, &AuditFilter::default(), PageRequest::default()).await.unwrap();
    let hers: Vec<_> = all.items.iter().filter(|e| e.actor_kind == AuditActorKind::Deleted).collect();
    assert_eq!(hers.len(), 2);
    assert!(hers.iter().all(|e| e.actor_id == Some(tombstone) && e.address.is_none()));
    let by_ana = AuditFilter { actor_id: Some(ana.id.0), ..AuditFilter::default() };
    assert_eq!(store.list_audit(h, &by_ana, PageRequest::default()).await.unwrap().total, 0);
    assert_eq!(
        all.items.iter().find(|e| e.actor_kind == AuditActorKind::ApiKey).unwrap().address.as_deref(),
        Some("192.0.2.1")
    );
});

store_test!(retention_prunes_sign_in_history_older_than_a_year_and_keeps_the_rest, |store| async move {
    let (ana, _) = owner(&store, "ana@example.org").await;
    let day = time::Duration::days(1);
    let now = T0 + time::Duration::days(800);
    store.record_login(ana.id, &ClientOrigin::default(), "success", now - day * 400).await.unwrap();
    store.record_login(ana.id, &ClientOrigin::default(), "wrong_password", now - day * 30).await.unwrap();
    let all = petty_core::paging::PageRequest { page: 1, page_size: 50 };
    assert_eq!(store.list_logins(ana.id, all).await.unwrap().total, 2);
    assert!(store.prune_history(now).await.unwrap() >= 1);
    let left = store.list_logins(ana.id, all).await.unwrap();
    assert_eq!(left.total, 1, "a month-old attempt stays");
    assert_eq!(left.items[0].outcome, "wrong_password");
    assert_eq!(store.prune_history(now).await.unwrap(), 0, "nothing more to remove");
});
