//! File use cases (issue 14): an upload URL ([`create_upload`]: Petty's own one-time URL with
//! a local folder, a presigned S3 `PUT` with S3), the bytes arriving at Petty's URL
//! ([`receive_upload`]), their confirmation ([`confirm_upload`]: the magic bytes against the
//! declared type, the virus scanner when one is configured, an image's optimized copy and
//! thumbnail made off the async threads), both at once for a form that carries the file
//! ([`upload_confirmed`]), signed expiring links ([`signed_link`], [`open_link`]), deletion of
//! one file or all of a care record's, a pet's or a household's (objects first, then rows), and
//! the sweep of uploads never confirmed ([`sweep_unconfirmed`], run by `petty-jobs`).
//!
//! A file that fails a check (its bytes are not its declared type, a virus, an image that
//! cannot be read, too many bytes) is deleted, bytes and row: nothing of it is kept. A
//! scanner that cannot be reached keeps the upload pending, to be confirmed again.
//!
//! The rules are `petty_core::files`'s; the bytes go through `petty_files::Storage`.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt};
use hmac::{Hmac, KeyInit, Mac};
use petty_core::Invalid;
use petty_core::files::{
    self, ContentType, Purpose, UNCONFIRMED_TTL_SECS, UPLOAD_URL_TTL_SECS, UploadRefusal, UploadRequest, Variant,
};
use petty_core::ids::{FileId, HouseholdId, PetId};
use petty_core::validation::FieldError;
use petty_files::clamd::{self, Verdict};
use petty_files::images;
use petty_store::{Confirmed, FileMeta, FileStatus, NewFile, StoreError};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use uuid::Uuid;

pub use petty_files::{S3Config, Storage, StorageConfig, StorageError};

use crate::App;

type HmacSha256 = Hmac<Sha256>;

/// How files are kept and checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilesSettings {
    pub storage: StorageConfig,
    /// The most bytes one upload may carry.
    pub max_upload_bytes: u64,
    /// clamd's `host:port`; `None`: no virus scan.
    pub clamd: Option<String>,
    /// How long a scan may take before the upload is left pending.
    pub scan_timeout: Duration,
}

impl Default for FilesSettings {
    fn default() -> Self {
        FilesSettings {
            storage: StorageConfig::Memory,
            max_upload_bytes: files::MAX_UPLOAD_BYTES,
            clamd: None,
            scan_timeout: Duration::from_secs(30),
        }
    }
}

/// The store and what signs links, as the application holds them.
pub struct Files {
    storage: Storage,
    /// Signs links (the server's secret).
    key: Vec<u8>,
    settings: FilesSettings,
}

impl Files {
    /// Opens the configured store; one that does not open leaves uploads refusing with the
    /// reason (logged here), and the rest of Petty working.
    pub(crate) fn new(settings: &FilesSettings, secret: &[u8]) -> Files {
        let storage = Storage::open(&settings.storage).unwrap_or_else(|e| {
            tracing::error!(error = %e, "file storage could not be opened; uploads will be refused");
            Storage::unusable(e.to_string())
        });
        Files { storage, key: secret.to_vec(), settings: settings.clone() }
    }

    pub fn storage(&self) -> &Storage {
        &self.storage
    }

    pub fn settings(&self) -> &FilesSettings {
        &self.settings
    }

    fn mac(&self, message: &str) -> HmacSha256 {
        let mut mac = <HmacSha256 as KeyInit>::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        mac.update(message.as_bytes());
        mac
    }
}

/// Why a file use case did not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// A field broke a rule.
    #[error("{0}")]
    Invalid(Invalid),
    /// A type Petty does not store, or not for this purpose; or bytes that are not what their
    /// declared type's are (the file was deleted).
    #[error("{}", .0.message)]
    UnsupportedType(FieldError),
    /// More bytes than allowed (nothing was kept).
    #[error("a file may be at most {max_bytes} bytes")]
    TooLarge { max_bytes: u64 },
    /// An upload URL that expired, was used, or never was.
    #[error("this upload URL has expired or was already used; ask for a new one")]
    UrlExpired,
    /// A link whose signature is wrong or whose time is up.
    #[error("this link is not valid or has expired")]
    LinkRefused,
    /// Nothing of this kind with this id in the household.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The upload was confirmed already.
    #[error("{0}")]
    Conflict(&'static str),
    /// The virus scanner found something (the file was deleted).
    #[error("the file failed the virus scan ({0})")]
    Infected(String),
    /// An image that could not be made ready (the file was deleted).
    #[error("{0}")]
    Unreadable(String),
    /// The request's body could not be read to its end (nothing was kept).
    #[error("the upload did not arrive whole: {0}")]
    Interrupted(String),
    /// The virus scanner could not give a verdict; the upload stays pending.
    #[error("the virus scanner is unavailable: {0}")]
    ScannerUnavailable(String),
    /// The household's plan has no room for it (`billing::check_storage`).
    #[error("{0}")]
    Billing(crate::billing::BillingError),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Store(StoreError),
}

impl From<crate::billing::BillingError> for FileError {
    fn from(e: crate::billing::BillingError) -> Self {
        match e {
            crate::billing::BillingError::Store(e) => FileError::Store(e),
            other => FileError::Billing(other),
        }
    }
}

impl From<StoreError> for FileError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => FileError::NotFound("file"),
            other => FileError::Store(other),
        }
    }
}

impl From<Invalid> for FileError {
    fn from(invalid: Invalid) -> Self {
        FileError::Invalid(invalid)
    }
}

impl From<UploadRefusal> for FileError {
    fn from(refusal: UploadRefusal) -> Self {
        match refusal {
            UploadRefusal::Invalid(invalid) => FileError::Invalid(invalid),
            UploadRefusal::UnsupportedType(e) => FileError::UnsupportedType(e),
            UploadRefusal::TooLarge { max_bytes } => FileError::TooLarge { max_bytes },
        }
    }
}

/// An upload URL made.
#[derive(Debug, Clone)]
pub struct UploadUrl {
    pub file: FileMeta,
    /// Where to `PUT` the bytes.
    pub url: String,
    /// Seconds the URL works.
    pub expires_in: i64,
    pub max_bytes: u64,
}

/// Makes a pending upload and the URL its bytes go to: Petty's own one-time URL
/// (`{public_url}/api/v1/uploads/<token>`), or S3's presigned URL when the store presigns.
pub async fn create_upload(app: &App, household: HouseholdId, request: &UploadRequest) -> Result<UploadUrl, FileError> {
    // Room on the household's plan for what it declares (or any room at all).
    crate::billing::check_storage(app, household, request.size.unwrap_or(0)).await?;
    let now = app.now();
    let id = FileId::new();
    let key = files::upload_key(id.0, &request.filename);
    let ttl = Duration::from_secs(UPLOAD_URL_TTL_SECS as u64);
    let storage = &app.files.storage;
    let (url, token_hash) = match storage.presigned_put(&key, request.content_type.as_str(), request.size, ttl).await? {
        Some(url) => (url, None),
        None => {
            let (token, hash) = crate::secrets::new_secret("up_");
            (format!("{}/api/v1/uploads/{token}", app.notifier.public_url()), Some(hash))
        }
    };
    let new = NewFile {
        id,
        key,
        filename: request.filename.clone(),
        content_type: request.content_type,
        purpose: request.purpose,
        declared_size: request.size,
        upload_token_hash: token_hash,
        upload_expires_at: now + time::Duration::seconds(UPLOAD_URL_TTL_SECS),
    };
    let file = app.store.create_pending_file(household, &new, now).await?;
    tracing::info!(file_id = %file.id, purpose = %file.purpose, content_type = %file.content_type, "upload URL made");
    Ok(UploadUrl { file, url, expires_in: UPLOAD_URL_TTL_SECS, max_bytes: app.files.settings.max_upload_bytes })
}

/// Takes an upload's bytes at Petty's one-time URL: `token` from the URL, the request's
/// `Content-Type` (it must be the declared one) and `Content-Length` if it has one. Over the
/// limit, nothing is kept and the URL may be used again until it expires; so too when the body
/// breaks off. Answers the pending file.
pub async fn receive_upload<S, E>(
    app: &App,
    token: &str,
    content_type: Option<&str>,
    content_length: Option<u64>,
    body: S,
) -> Result<FileMeta, FileError>
where
    S: Stream<Item = Result<Bytes, E>>,
    E: std::fmt::Display,
{
    let max = app.files.settings.max_upload_bytes;
    if content_length.is_some_and(|n| n > max) {
        return Err(FileError::TooLarge { max_bytes: max });
    }
    if !token.starts_with("up_") || token.len() > 100 {
        return Err(FileError::UrlExpired);
    }
    let Some(file) = app.store.claim_upload(&crate::secrets::secret_hash(token), app.now()).await? else {
        return Err(FileError::UrlExpired);
    };
    match receive(app, &file, content_type, max, body).await {
        Ok(()) => {
            tracing::info!(file_id = %file.id, "upload received");
            Ok(file)
        }
        Err(e) => {
            app.store.release_upload(file.household_id, file.id).await?;
            Err(e)
        }
    }
}

async fn receive<S, E>(
    app: &App,
    file: &FileMeta,
    content_type: Option<&str>,
    max: u64,
    body: S,
) -> Result<(), FileError>
where
    S: Stream<Item = Result<Bytes, E>>,
    E: std::fmt::Display,
{
    if content_type.and_then(ContentType::parse) != Some(file.content_type) {
        return Err(FileError::UnsupportedType(FieldError::new(
            "Content-Type",
            "declared",
            format!("the upload's Content-Type must be {}, as declared for it", file.content_type),
        )));
    }
    let mut body = std::pin::pin!(body);
    let mut bytes = BytesMut::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| FileError::Interrupted(e.to_string()))?;
        if (bytes.len() + chunk.len()) as u64 > max {
            return Err(FileError::TooLarge { max_bytes: max });
        }
        bytes.extend_from_slice(&chunk);
    }
    if let Some(declared) = file.declared_size.filter(|d| *d != bytes.len() as u64) {
        return Err(FileError::Invalid(Invalid::one(
            "body",
            "size",
            format!("the upload must be {declared} bytes, as declared for it (got {})", bytes.len()),
        )));
    }
    if bytes.is_empty() {
        return Err(FileError::Invalid(Invalid::one("body", "required", "the upload has no bytes")));
    }
    app.files.storage.put(&file.key, bytes.freeze()).await?;
    Ok(())
}

/// What confirming an upload says about it.
#[derive(Debug, Clone, Default)]
pub struct Confirmation {
    /// The upload key the URL answer named (`uploads/<id>/<filename>`).
    pub file_key: String,
    /// Must be the purpose the URL was made for.
    pub purpose: String,
    /// Required for a pet's photo; a pet of the household.
    pub pet_id: Option<PetId>,
    /// The health record an attachment belongs to: one of the household's (the file then
    /// belongs to the record's pet too).
    pub health_record_id: Option<Uuid>,
}

/// Confirms an upload whose bytes arrived: checks and processes them, stores the result, and
/// for a pet's photo makes it the pet's `photo_url`.
pub async fn confirm_upload(
    app: &App,
    household: HouseholdId,
    confirmation: &Confirmation,
) -> Result<FileMeta, FileError> {
    let file = app.store.file_by_key(household, confirmation.file_key.trim()).await.map_err(|e| match e {
        StoreError::NotFound => FileError::NotFound("upload"),
        other => other.into(),
    })?;
    if file.status == FileStatus::Confirmed {
        return Err(FileError::Conflict("this upload was confirmed already"));
    }
    let purpose: Purpose = confirmation.purpose.parse()?;
    if purpose != file.purpose {
        return Err(FileError::Invalid(Invalid::one(
            "purpose",
            "declared",
            format!("purpose must be {}, as declared when the upload URL was made", file.purpose),
        )));
    }
    let mut links = Links { pet_id: confirmation.pet_id, health_record_id: confirmation.health_record_id };
    check_links(app, household, purpose, &mut links).await?;
    let max = app.files.settings.max_upload_bytes;
    let size = match app.files.storage.size(&file.key).await? {
        None => {
            return Err(FileError::Invalid(Invalid::one(
                "file_key",
                "not_uploaded",
                "nothing was uploaded for this file_key yet: PUT the bytes to the upload URL first",
            )));
        }
        Some(size) => size,
    };
    if size > max {
        discard(app, &file).await;
        return Err(FileError::TooLarge { max_bytes: max });
    }
    let bytes = app.files.storage.get(&file.key).await?;
    finish(app, household, file, bytes, links).await
}

/// A file that arrives with its request (a dashboard form's): checked as an upload URL would
/// be, stored, then confirmed as [`confirm_upload`] does. What record pages call to attach a
/// file in one step.
pub async fn upload_confirmed(app: &App, household: HouseholdId, upload: DirectUpload) -> Result<FileMeta, FileError> {
    let max = app.files.settings.max_upload_bytes;
    if upload.bytes.len() as u64 > max {
        return Err(FileError::TooLarge { max_bytes: max });
    }
    let size = i64::try_from(upload.bytes.len()).unwrap_or(i64::MAX);
    let request =
        UploadRequest::parse(&upload.filename, &upload.content_type, upload.purpose.as_str(), Some(size), max)?;
    let mut links = Links { pet_id: upload.pet_id, health_record_id: upload.health_record_id };
    check_links(app, household, request.purpose, &mut links).await?;
    let now = app.now();
    let id = FileId::new();
    let new = NewFile {
        id,
        key: files::upload_key(id.0, &request.filename),
        filename: request.filename,
        content_type: request.content_type,
        purpose: request.purpose,
        declared_size: request.size,
        upload_token_hash: None,
        upload_expires_at: now,
    };
    let file = app.store.create_pending_file(household, &new, now).await?;
    if let Err(e) = app.files.storage.put(&file.key, upload.bytes.clone()).await {
        discard(app, &file).await;
        return Err(e.into());
    }
    finish(app, household, file, upload.bytes, links).await
}

/// A file and what it is for, arriving whole.
#[derive(Debug, Clone)]
pub struct DirectUpload {
    pub bytes: Bytes,
    pub filename: String,
    /// As declared (`image/jpeg`); the bytes must match it.
    pub content_type: String,
    pub purpose: Purpose,
    pub pet_id: Option<PetId>,
    pub health_record_id: Option<Uuid>,
}

#[derive(Debug, Clone, Copy)]
struct Links {
    pet_id: Option<PetId>,
    health_record_id: Option<Uuid>,
}

/// A pet's photo names one of the household's pets; any named pet and health record must be
/// the household's. An attachment belongs to its record's pet too (so it goes with the pet).
async fn check_links(app: &App, household: HouseholdId, purpose: Purpose, links: &mut Links) -> Result<(), FileError> {
    if purpose == Purpose::PetProfilePhoto && links.pet_id.is_none() {
        return Err(FileError::Invalid(Invalid::one(
            "pet_id",
            "required",
            "pet_id is required for a pet_profile_photo",
        )));
    }
    let missing = |what: &'static str| {
        move |e: StoreError| match e {
            StoreError::NotFound => FileError::NotFound(what),
            other => other.into(),
        }
    };
    if let Some(record) = links.health_record_id {
        let record = app.store.get_record(household, record).await.map_err(missing("health record"))?;
        if links.pet_id.is_some_and(|pet| pet != record.pet_id) {
            return Err(FileError::Invalid(Invalid::one(
                "pet_id",
                "record",
                "pet_id must be the pet of the health record named",
            )));
        }
        links.pet_id = Some(record.pet_id);
    }
    if let Some(pet) = links.pet_id {
        app.store.get_pet(household, pet).await.map_err(missing("pet"))?;
    }
    Ok(())
}

/// The checks and the processing of bytes that arrived for `file`, then its confirmation.
async fn finish(
    app: &App,
    household: HouseholdId,
    file: FileMeta,
    bytes: Bytes,
    links: Links,
) -> Result<FileMeta, FileError> {
    if !file.content_type.matches(&bytes) {
        discard(app, &file).await;
        let found = ContentType::sniff(&bytes).map_or("something else".to_owned(), |t| t.to_string());
        return Err(FileError::UnsupportedType(FieldError::new(
            "file",
            "magic_bytes",
            format!("the file's bytes are {found}, not the declared {}; it was deleted", file.content_type),
        )));
    }
    if let Some(address) = &app.files.settings.clamd {
        match clamd::scan(address, &bytes, app.files.settings.scan_timeout).await {
            Ok(Verdict::Clean) => {}
            Ok(Verdict::Infected(signature)) => {
                tracing::warn!(file_id = %file.id, %signature, "upload failed the virus scan; deleted");
                metrics::counter!("petty_uploads_rejected_total", "why" => "virus").increment(1);
                discard(app, &file).await;
                return Err(FileError::Infected(signature));
            }
            Err(e) => {
                tracing::warn!(file_id = %file.id, error = %e, "virus scanner unavailable; upload left pending");
                return Err(FileError::ScannerUnavailable(e.to_string()));
            }
        }
    }
    let sha256 = Sha256::digest(&bytes).to_vec();
    let mut confirmed = Confirmed {
        size: bytes.len() as u64,
        stored_bytes: bytes.len() as u64,
        sha256,
        pet_id: links.pet_id,
        health_record_id: links.health_record_id,
        ..Confirmed::default()
    };
    if file.content_type.is_image() {
        let content_type = file.content_type;
        let processed = tokio::task::spawn_blocking(move || images::process(&bytes, content_type))
            .await
            .map_err(|e| FileError::Unreadable(format!("the image could not be processed: {e}")))?;
        let processed = match processed {
            Ok(p) => p,
            Err(e) => {
                discard(app, &file).await;
                return Err(FileError::Unreadable(format!("{e}; it was deleted")));
            }
        };
        let (optimized_key, thumbnail_key) = files::stored_keys(file.id.0, &file.filename);
        confirmed.size = processed.optimized.len() as u64;
        confirmed.stored_bytes = (processed.optimized.len() + processed.thumbnail.len()) as u64;
        confirmed.width = Some(processed.width);
        confirmed.height = Some(processed.height);
        confirmed.thumbnail_width = Some(processed.thumbnail_width);
        confirmed.thumbnail_height = Some(processed.thumbnail_height);
        app.files.storage.put(&optimized_key, Bytes::from(processed.optimized)).await?;
        app.files.storage.put(&thumbnail_key, Bytes::from(processed.thumbnail)).await?;
        confirmed.optimized_key = Some(optimized_key);
        confirmed.thumbnail_key = Some(thumbnail_key);
        // What was uploaded (with its metadata) is not kept: only what is served.
        app.files.storage.delete(&file.key).await?;
    }
    if let Err(e) = crate::billing::check_storage(app, household, confirmed.stored_bytes).await {
        discard(app, &file).await;
        return Err(e.into());
    }
    let meta = match app.store.confirm_file(household, file.id, &confirmed, app.now()).await {
        Ok(meta) => meta,
        // Confirmed at the same time by another request (which stored the same copies).
        Err(StoreError::NotFound) => return Err(FileError::Conflict("this upload was confirmed already")),
        Err(e) => return Err(e.into()),
    };
    metrics::counter!("petty_uploads_confirmed_total", "purpose" => meta.purpose.as_str()).increment(1);
    tracing::info!(file_id = %meta.id, size = meta.size, stored_bytes = meta.stored_bytes, "upload confirmed");
    if meta.purpose == Purpose::PetProfilePhoto
        && let Some(pet_id) = meta.pet_id
    {
        set_pet_photo(app, household, pet_id, &meta).await?;
    }
    Ok(meta)
}

/// Makes `photo` the pet's photo (its stable address in `photo_url`), and deletes the photo it
/// replaces if that was one of the pet's uploaded photos.
async fn set_pet_photo(app: &App, household: HouseholdId, pet_id: PetId, photo: &FileMeta) -> Result<(), FileError> {
    let pet = app.store.get_pet(household, pet_id).await?;
    let mut profile = pet.profile.clone();
    let previous = profile.photo_url.as_deref().and_then(files::parse_stable_url);
    profile.photo_url = Some(files::stable_url(photo.id.0));
    app.store.update_pet(household, pet_id, &profile, app.now()).await?;
    if let Some(previous) = previous.filter(|p| *p != photo.id.0)
        && let Ok(old) = app.store.get_file(household, FileId(previous)).await
        && old.purpose == Purpose::PetProfilePhoto
        && old.pet_id == Some(pet_id)
    {
        remove(app, household, &[old]).await?;
    }
    Ok(())
}

/// Removes a file that failed a check, bytes and row; a failure here is logged (the sweep
/// finds what is left).
async fn discard(app: &App, file: &FileMeta) {
    if let Err(e) = remove(app, file.household_id, std::slice::from_ref(file)).await {
        tracing::warn!(file_id = %file.id, error = %e, "a refused upload could not be removed yet");
    }
}

/// Deletes the files' objects, then their rows; answers how many rows went. An image's copies
/// are looked for where they would be even when the row does not name them (a confirmation
/// that stopped half-way).
async fn remove(app: &App, household: HouseholdId, doomed: &[FileMeta]) -> Result<u64, FileError> {
    for file in doomed {
        let mut keys: Vec<String> = file.keys().into_iter().map(str::to_owned).collect();
        if file.content_type.is_image() {
            let (optimized, thumbnail) = files::stored_keys(file.id.0, &file.filename);
            keys.extend([optimized, thumbnail]);
        }
        keys.sort();
        keys.dedup();
        for key in &keys {
            app.files.storage.delete(key).await?;
        }
    }
    let ids: Vec<FileId> = doomed.iter().map(|f| f.id).collect();
    Ok(app.store.delete_file_rows(household, &ids).await?)
}

/// Deletes one of the household's files (bytes, then row); a pet whose photo it was has none,
/// and a listing that showed it shows its other photos.
pub async fn delete_file(app: &App, household: HouseholdId, id: FileId) -> Result<(), FileError> {
    let file = app.store.get_file(household, id).await?;
    remove(app, household, std::slice::from_ref(&file)).await?;
    if file.purpose == Purpose::ListingPhoto {
        crate::catalog::forget_photo(app, household, id).await?;
    }
    if let Some(pet_id) = file.pet_id
        && let Ok(pet) = app.store.get_pet(household, pet_id).await
        && pet.profile.photo_url.as_deref().and_then(files::parse_stable_url) == Some(id.0)
    {
        let mut profile = pet.profile.clone();
        profile.photo_url = None;
        app.store.update_pet(household, pet_id, &profile, app.now()).await?;
    }
    tracing::info!(file_id = %id, "file deleted");
    Ok(())
}

/// Deletes every file attached to the care record (for the record's own deletion, before it).
pub async fn delete_files_of_record(app: &App, household: HouseholdId, record_id: Uuid) -> Result<u64, FileError> {
    let doomed = app.store.files_to_delete(household, None, Some(record_id)).await?;
    remove(app, household, &doomed).await
}

/// Deletes every file of the pet (for the pet's deletion, before it).
pub async fn delete_files_of_pet(app: &App, household: HouseholdId, pet_id: PetId) -> Result<u64, FileError> {
    let doomed = app.store.files_to_delete(household, Some(pet_id), None).await?;
    remove(app, household, &doomed).await
}

/// Deletes every file of the household (for the household's deletion, before it).
pub async fn delete_files_of_household(app: &App, household: HouseholdId) -> Result<u64, FileError> {
    let doomed = app.store.files_to_delete(household, None, None).await?;
    remove(app, household, &doomed).await
}

/// Removes uploads made more than a day before `now` and never confirmed, across households
/// (a batch at a time); answers how many went.
pub async fn sweep_unconfirmed(app: &App, now: OffsetDateTime) -> Result<usize, FileError> {
    let before = now - time::Duration::seconds(UNCONFIRMED_TTL_SECS);
    let stale = app.store.stale_uploads(before, 500).await?;
    let mut removed = 0;
    for file in &stale {
        match remove(app, file.household_id, std::slice::from_ref(file)).await {
            Ok(n) => removed += n as usize,
            Err(e) => tracing::warn!(file_id = %file.id, error = %e, "an unconfirmed upload could not be removed yet"),
        }
    }
    if removed > 0 {
        tracing::info!(removed, "removed uploads that were never confirmed");
    }
    Ok(removed)
}

/// A signed link to the file's copy (`/files/<id>[/thumbnail]?exp=<unix>&sig=<hex>`), good for
/// an hour from now.
pub fn signed_link(app: &App, id: FileId, variant: Variant) -> String {
    let expires = files::link_expiry(app.now().unix_timestamp());
    let signature = app.files.mac(&files::link_message(id.0, variant, expires)).finalize().into_bytes();
    format!("{}?exp={expires}&sig={}", variant.path(id.0), files::to_hex(&signature))
}

/// The links an answer about a confirmed file carries: the file's, and the thumbnail's for an
/// image.
pub fn links(app: &App, file: &FileMeta) -> (String, Option<String>) {
    let thumbnail = file.thumbnail_key.as_ref().map(|_| signed_link(app, file.id, Variant::Thumbnail));
    (signed_link(app, file.id, Variant::File), thumbnail)
}

/// A pet's `photo_url` as a page shows it: a file of Petty's becomes a fresh signed link to
/// `variant`; any other address is shown as it is.
pub fn photo_link(app: &App, photo_url: &str, variant: Variant) -> String {
    match files::parse_stable_url(photo_url) {
        Some(id) => signed_link(app, FileId(id), variant),
        None => photo_url.to_owned(),
    }
}

/// A file's bytes on their way out.
pub struct Served {
    pub file: FileMeta,
    pub content_type: ContentType,
    pub size: u64,
    /// Seconds the link has left (for caching).
    pub fresh_for: i64,
    pub body: futures_util::stream::BoxStream<'static, Result<Bytes, StorageError>>,
}

/// Opens a signed link: [`FileError::LinkRefused`] unless the signature is this server's and
/// `expires` (Unix seconds) is still ahead; [`FileError::NotFound`] for a file that is gone.
pub async fn open_link(
    app: &App,
    id: FileId,
    variant: Variant,
    expires: i64,
    signature: &str,
) -> Result<Served, FileError> {
    let now = app.now().unix_timestamp();
    let Some(signature) = files::parse_hex(signature) else { return Err(FileError::LinkRefused) };
    if app.files.mac(&files::link_message(id.0, variant, expires)).verify_slice(&signature).is_err() {
        return Err(FileError::LinkRefused);
    }
    if expires <= now {
        return Err(FileError::LinkRefused);
    }
    let file = app.store.file_for_signed_link(id).await?;
    let key = match variant {
        Variant::File => file.served_key().to_owned(),
        Variant::Thumbnail => file.thumbnail_key.clone().ok_or(FileError::NotFound("thumbnail"))?,
    };
    let (size, body) = app.files.storage.stream(&key).await.map_err(|e| match e {
        StorageError::NotFound(_) => FileError::NotFound("file"),
        other => other.into(),
    })?;
    Ok(Served { content_type: file.content_type, file, size, fresh_for: expires - now, body })
}
