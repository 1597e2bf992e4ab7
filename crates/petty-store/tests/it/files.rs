//! Uploaded files' rows: a one-time upload URL works once and not after it expires, a
//! confirmation records what was stored, lists and storage use are per household, attaching
//! to a care record is all or nothing and only for the household's confirmed files, and the
//! sweep finds stale uploads across households.

use petty_core::files::{ContentType, Purpose, upload_key};
use petty_core::ids::{FileId, HouseholdId, PetId};
use petty_core::paging::PageRequest;
use petty_core::pets::Species;
use petty_store::{Confirmed, FileFilter, FileMeta, FileStatus, NewFile, StorageUse, Store, StoreError};
use uuid::Uuid;

use crate::fixtures::{T0, at, owner, pet, secret};
use crate::harness::store_test;

fn new_file(name: &str, content_type: ContentType, purpose: Purpose, token_hash: Option<Vec<u8>>) -> NewFile {
    let id = FileId::new();
    NewFile {
        id,
        key: upload_key(id.0, name),
        filename: name.to_owned(),
        content_type,
        purpose,
        declared_size: Some(1234),
        upload_token_hash: token_hash,
        upload_expires_at: at(5),
    }
}

/// A confirmed photo of `bytes` stored bytes in `household`.
async fn confirmed(store: &Store, household: HouseholdId, pet_id: Option<PetId>, bytes: u64) -> FileMeta {
    let file = store
        .create_pending_file(household, &new_file("p.jpg", ContentType::Jpeg, Purpose::PetProfilePhoto, None), T0)
        .await
        .unwrap();
    let done = Confirmed {
        size: bytes - 100,
        stored_bytes: bytes,
        width: Some(2048),
        height: Some(1536),
        thumbnail_width: Some(256),
        thumbnail_height: Some(192),
        optimized_key: Some(format!("files/{}/p.jpg", file.id)),
        thumbnail_key: Some(format!("files/{}/thumbnail-p.jpg", file.id)),
        sha256: vec![7; 32],
        pet_id,
        health_record_id: None,
    };
    store.confirm_file(household, file.id, &done, at(1)).await.unwrap()
}

store_test!(a_one_time_upload_url_works_once_and_not_after_it_expires, |store| async move {
    let (_, home) = owner(&store, "ana@example.org").await;
    let token = secret();
    let file = new_file("scan.pdf", ContentType::Pdf, Purpose::HealthRecordAttachment, Some(token.clone()));
    let created = store.create_pending_file(home.household_id, &file, T0).await.unwrap();
    assert_eq!(created.status, FileStatus::Pending);
    assert_eq!((created.key.as_str(), created.declared_size), (file.key.as_str(), Some(1234)));

    assert!(store.claim_upload(&secret(), at(1)).await.unwrap().is_none(), "another token");
    let claimed = store.claim_upload(&token, at(1)).await.unwrap().expect("the first use");
    assert_eq!(claimed.id, file.id);
    assert_eq!(claimed.uploaded_at, Some(at(1)));
    assert!(store.claim_upload(&token, at(2)).await.unwrap().is_none(), "a second use");
    // An upload that failed gives the URL back until it expires.
    store.release_upload(home.household_id, file.id).await.unwrap();
    assert!(store.claim_upload(&token, at(5)).await.unwrap().is_none(), "expired at 5 minutes");
    store.release_upload(home.household_id, file.id).await.unwrap();
    assert!(store.claim_upload(&token, at(4)).await.unwrap().is_some(), "released, and still in time");

    // Confirmed, the token is forgotten.
    let done = Confirmed { size: 900, stored_bytes: 900, sha256: vec![1; 32], ..Confirmed::default() };
    let confirmed = store.confirm_file(home.household_id, file.id, &done, at(4)).await.unwrap();
    assert_eq!(confirmed.status, FileStatus::Confirmed);
    assert_eq!((confirmed.size, confirmed.confirmed_at), (900, Some(at(4))));
    assert_eq!(confirmed.served_key(), file.key, "a PDF is served as uploaded");
    store.release_upload(home.household_id, file.id).await.unwrap();
    assert!(store.claim_upload(&token, at(4)).await.unwrap().is_none());
    assert!(
        matches!(store.confirm_file(home.household_id, file.id, &done, at(4)).await, Err(StoreError::NotFound)),
        "confirmed once"
    );
});

store_test!(files_are_the_households_own, |store| async move {
    let (_, ana) = owner(&store, "ana@example.org").await;
    let (_, bo) = owner(&store, "bo@example.org").await;
    let bella = store.create_pet(ana.household_id, &pet("Bella", Species::Dog), T0).await.unwrap();
    let photo = confirmed(&store, ana.household_id, Some(bella.id), 5000).await;
    let other = confirmed(&store, ana.household_id, None, 700).await;
    let pending = store
        .create_pending_file(
            ana.household_id,
            &new_file("x.png", ContentType::Png, Purpose::UserProfilePhoto, None),
            T0,
        )
        .await
        .unwrap();

    assert_eq!(store.get_file(ana.household_id, photo.id).await.unwrap(), photo);
    assert_eq!(store.file_by_key(ana.household_id, &photo.key).await.unwrap().id, photo.id);
    for missing in [
        store.get_file(bo.household_id, photo.id).await,
        store.file_by_key(bo.household_id, &photo.key).await,
        store.file_for_signed_link(pending.id).await,
        store.file_for_signed_link(FileId::new()).await,
    ] {
        assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
    }
    assert_eq!(store.file_for_signed_link(photo.id).await.unwrap().id, photo.id);

    let all = store.list_files(ana.household_id, &FileFilter::default(), PageRequest::default()).await.unwrap();
    assert_eq!(all.items.iter().map(|f| f.id).collect::<Vec<_>>(), [other.id, photo.id], "confirmed, newest first");
    let of_bella = FileFilter { pet_id: Some(bella.id), ..FileFilter::default() };
    let listed = store.list_files(ana.household_id, &of_bella, PageRequest::default()).await.unwrap();
    assert_eq!((listed.total, listed.items[0].id), (1, photo.id));
    let page = PageRequest::parse(Some(2), Some(1)).unwrap();
    let second = store.list_files(ana.household_id, &FileFilter::default(), page).await.unwrap();
    assert_eq!((second.total, second.items.len(), second.has_next()), (2, 1, false));
    assert_eq!(store.list_files(bo.household_id, &FileFilter::default(), page).await.unwrap().total, 0);

    assert_eq!(store.storage_used(ana.household_id).await.unwrap(), StorageUse { files: 2, bytes: 5700, pending: 1 });
    assert_eq!(store.storage_used(bo.household_id).await.unwrap(), StorageUse::default());

    // Bo cannot delete Ana's rows; a pet's deletion leaves its files to the household.
    assert_eq!(store.delete_file_rows(bo.household_id, &[photo.id]).await.unwrap(), 0);
    store.delete_pet(ana.household_id, bella.id).await.unwrap();
    assert_eq!(store.get_file(ana.household_id, photo.id).await.unwrap().pet_id, None);
    assert_eq!(store.delete_file_rows(ana.household_id, &[photo.id, other.id]).await.unwrap(), 2);
    assert_eq!(store.storage_used(ana.household_id).await.unwrap(), StorageUse { files: 0, bytes: 0, pending: 1 });
});

store_test!(attaching_to_a_record_is_all_or_nothing, |store| async move {
    let (_, ana) = owner(&store, "ana@example.org").await;
    let (_, bo) = owner(&store, "bo@example.org").await;
    let (record, other_record) = (Uuid::now_v7(), Uuid::now_v7());
    let first = confirmed(&store, ana.household_id, None, 100).await;
    let second = confirmed(&store, ana.household_id, None, 200).await;
    let bos = confirmed(&store, bo.household_id, None, 300).await;
    let pending = store
        .create_pending_file(
            ana.household_id,
            &new_file("y.pdf", ContentType::Pdf, Purpose::HealthRecordAttachment, None),
            T0,
        )
        .await
        .unwrap();

    for refused in [vec![first.id.0, bos.id.0], vec![first.id.0, pending.id.0], vec![Uuid::now_v7()]] {
        let result = store.attach_files_to_record(ana.household_id, record, &refused).await;
        assert!(matches!(result, Err(StoreError::NotFound)), "{result:?}");
    }
    assert!(store.files_of_records(ana.household_id, &[record]).await.unwrap().is_empty(), "nothing attached");

    store.attach_files_to_record(ana.household_id, record, &[second.id.0, first.id.0, first.id.0]).await.unwrap();
    let attached = store.files_of_records(ana.household_id, &[record, other_record]).await.unwrap();
    assert_eq!(attached.iter().map(|f| f.id).collect::<Vec<_>>(), [first.id, second.id]);
    assert!(attached.iter().all(|f| f.health_record_id == Some(record)));
    assert!(store.files_of_records(bo.household_id, &[record]).await.unwrap().is_empty());
    assert!(store.files_of_records(ana.household_id, &[]).await.unwrap().is_empty());
    let of_record = FileFilter { health_record_id: Some(record), ..FileFilter::default() };
    assert_eq!(store.list_files(ana.household_id, &of_record, PageRequest::default()).await.unwrap().total, 2);

    // What deleting the record, or the household, removes.
    let doomed = store.files_to_delete(ana.household_id, None, Some(record)).await.unwrap();
    assert_eq!(doomed.len(), 2);
    let everything = store.files_to_delete(ana.household_id, None, None).await.unwrap();
    assert_eq!(everything.len(), 3, "pending ones too");
});

store_test!(stale_uploads_are_found_across_households, |store| async move {
    let (_, ana) = owner(&store, "ana@example.org").await;
    let (_, bo) = owner(&store, "bo@example.org").await;
    let old = store
        .create_pending_file(
            ana.household_id,
            &new_file("a.png", ContentType::Png, Purpose::UserProfilePhoto, None),
            T0,
        )
        .await
        .unwrap();
    let older = store
        .create_pending_file(
            bo.household_id,
            &new_file("b.png", ContentType::Png, Purpose::UserProfilePhoto, None),
            at(-10),
        )
        .await
        .unwrap();
    store
        .create_pending_file(
            ana.household_id,
            &new_file("c.png", ContentType::Png, Purpose::UserProfilePhoto, None),
            at(60),
        )
        .await
        .unwrap();
    confirmed(&store, ana.household_id, None, 1000).await;
    let stale = store.stale_uploads(at(30), 10).await.unwrap();
    assert_eq!(stale.iter().map(|f| f.id).collect::<Vec<_>>(), [older.id, old.id]);
    assert_eq!(store.stale_uploads(at(30), 1).await.unwrap().len(), 1);
});
