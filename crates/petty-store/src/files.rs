//! Uploaded files' rows (the bytes are in the object store, `petty-files`): a pending upload,
//! its one-time URL's hashed token, its confirmation with what was stored, the lists a pet or a
//! care record shows, and a household's storage use. Every method takes the household, except
//! the three whose caller holds a credential instead (a one-time upload token's hash, a signed
//! link checked before the call) and the sweep of stale uploads across households.

use petty_core::files::{ContentType, Purpose};
use petty_core::ids::{FileId, HouseholdId, PetId};
use petty_core::paging::{Page, PageRequest};
use sqlx::FromRow;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{BeginWrite, Result, Store, StoreError, from_ms, from_ms_opt, on_pool, to_ms};

/// Where a file is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileStatus {
    /// An upload URL was made; the bytes may or may not have arrived.
    Pending,
    /// Checked, processed and stored.
    Confirmed,
}

impl FileStatus {
    fn as_str(self) -> &'static str {
        match self {
            FileStatus::Pending => "pending",
            FileStatus::Confirmed => "confirmed",
        }
    }
}

/// A file's row.
#[derive(Debug, Clone, PartialEq)]
pub struct FileMeta {
    pub id: FileId,
    pub household_id: HouseholdId,
    /// Where the upload arrives (`uploads/<id>/<filename>`); a PDF is served from here.
    pub key: String,
    /// Sanitised.
    pub filename: String,
    pub content_type: ContentType,
    pub purpose: Purpose,
    pub status: FileStatus,
    /// The size the uploader declared, if it did.
    pub declared_size: Option<u64>,
    /// Bytes of the copy served (0 until confirmed).
    pub size: u64,
    /// Bytes kept for the file in all (served copy and thumbnail).
    pub stored_bytes: u64,
    pub pet_id: Option<PetId>,
    pub health_record_id: Option<Uuid>,
    /// An image's served size, orientation applied.
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub thumbnail_width: Option<u32>,
    pub thumbnail_height: Option<u32>,
    /// An image's optimized copy.
    pub optimized_key: Option<String>,
    pub thumbnail_key: Option<String>,
    /// SHA-256 of the bytes as uploaded.
    pub sha256: Option<Vec<u8>>,
    /// Until when the upload URL works.
    pub upload_expires_at: OffsetDateTime,
    /// When Petty's one-time URL was used.
    pub uploaded_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    pub confirmed_at: Option<OffsetDateTime>,
}

impl FileMeta {
    /// The key of the copy served at the file's link.
    pub fn served_key(&self) -> &str {
        self.optimized_key.as_deref().unwrap_or(&self.key)
    }

    /// Every key this file may have bytes under (the upload, the optimized copy, the thumbnail).
    pub fn keys(&self) -> Vec<&str> {
        let mut keys = vec![self.key.as_str()];
        keys.extend(self.optimized_key.as_deref());
        keys.extend(self.thumbnail_key.as_deref());
        keys
    }
}

/// A pending upload to record.
#[derive(Debug, Clone)]
pub struct NewFile {
    pub id: FileId,
    pub key: String,
    pub filename: String,
    pub content_type: ContentType,
    pub purpose: Purpose,
    pub declared_size: Option<u64>,
    /// The SHA-256 of Petty's one-time upload token; `None` when the object store presigns.
    pub upload_token_hash: Option<Vec<u8>>,
    pub upload_expires_at: OffsetDateTime,
}

/// What confirming a file stored.
#[derive(Debug, Clone, Default)]
pub struct Confirmed {
    pub size: u64,
    pub stored_bytes: u64,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub thumbnail_width: Option<u32>,
    pub thumbnail_height: Option<u32>,
    pub optimized_key: Option<String>,
    pub thumbnail_key: Option<String>,
    pub sha256: Vec<u8>,
    pub pet_id: Option<PetId>,
    pub health_record_id: Option<Uuid>,
}

/// Narrows a household's list of files (confirmed ones only).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FileFilter {
    pub pet_id: Option<PetId>,
    pub health_record_id: Option<Uuid>,
}

/// A household's files and the bytes they keep.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StorageUse {
    /// Confirmed files.
    pub files: u64,
    /// Bytes those keep (served copies and thumbnails).
    pub bytes: u64,
    /// Uploads not confirmed yet (their bytes are not counted; they go after a day).
    pub pending: u64,
}

#[derive(FromRow)]
struct FileRow {
    id: Uuid,
    household_id: Uuid,
    key: String,
    filename: String,
    content_type: String,
    purpose: String,
    status: String,
    declared_size: Option<i64>,
    size: i64,
    stored_bytes: i64,
    pet_id: Option<Uuid>,
    health_record_id: Option<Uuid>,
    width: Option<i64>,
    height: Option<i64>,
    thumbnail_width: Option<i64>,
    thumbnail_height: Option<i64>,
    optimized_key: Option<String>,
    thumbnail_key: Option<String>,
    sha256: Option<Vec<u8>>,
    upload_expires_at: i64,
    uploaded_at: Option<i64>,
    created_at: i64,
    confirmed_at: Option<i64>,
}

impl FileRow {
    fn into_meta(self) -> Result<FileMeta> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("file {}: {what}", self.id));
        let pixels = |v: Option<i64>| v.map(|v| u32::try_from(v).map_err(|_| corrupt("a size in pixels"))).transpose();
        let bytes = |v: i64| u64::try_from(v).map_err(|_| corrupt("a size in bytes"));
        Ok(FileMeta {
            id: FileId(self.id),
            household_id: HouseholdId(self.household_id),
            content_type: ContentType::parse(&self.content_type).ok_or_else(|| corrupt("content_type"))?,
            purpose: self.purpose.parse().map_err(|_| corrupt("purpose"))?,
            status: match self.status.as_str() {
                "pending" => FileStatus::Pending,
                "confirmed" => FileStatus::Confirmed,
                _ => return Err(corrupt("status")),
            },
            declared_size: self.declared_size.map(bytes).transpose()?,
            size: bytes(self.size)?,
            stored_bytes: bytes(self.stored_bytes)?,
            pet_id: self.pet_id.map(PetId),
            health_record_id: self.health_record_id,
            width: pixels(self.width)?,
            height: pixels(self.height)?,
            thumbnail_width: pixels(self.thumbnail_width)?,
            thumbnail_height: pixels(self.thumbnail_height)?,
            upload_expires_at: from_ms(self.upload_expires_at)?,
            uploaded_at: from_ms_opt(self.uploaded_at)?,
            created_at: from_ms(self.created_at)?,
            confirmed_at: from_ms_opt(self.confirmed_at)?,
            key: self.key,
            filename: self.filename,
            optimized_key: self.optimized_key,
            thumbnail_key: self.thumbnail_key,
            sha256: self.sha256,
        })
    }
}

macro_rules! file_columns {
    () => {
        "id, household_id, key, filename, content_type, purpose, status, declared_size, size, stored_bytes, \
         pet_id, health_record_id, width, height, thumbnail_width, thumbnail_height, optimized_key, \
         thumbnail_key, sha256, upload_expires_at, uploaded_at, created_at, confirmed_at"
    };
}

fn metas(rows: Vec<FileRow>) -> Result<Vec<FileMeta>> {
    rows.into_iter().map(FileRow::into_meta).collect()
}

/// `$first, $first+1, ...` for `n` values bound after `first - 1` others.
fn placeholders(first: usize, n: usize) -> String {
    (first..first + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl Store {
    /// Records a pending upload.
    #[tracing::instrument(level = "debug", skip_all, fields(household_id = %household_id, file_id = %file.id))]
    pub async fn create_pending_file(
        &self,
        household_id: HouseholdId,
        file: &NewFile,
        now: OffsetDateTime,
    ) -> Result<FileMeta> {
        let row: FileRow = on_pool!(write, self, |pool| {
            sqlx::query_as(concat!(
                "INSERT INTO files (id, household_id, key, filename, content_type, purpose, status, declared_size, \
                 upload_token_hash, upload_expires_at, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $8, $9, $10) RETURNING ",
                file_columns!()
            ))
            .bind(file.id.0)
            .bind(household_id.0)
            .bind(&file.key)
            .bind(&file.filename)
            .bind(file.content_type.as_str())
            .bind(file.purpose.as_str())
            .bind(file.declared_size.map(to_i64))
            .bind(&file.upload_token_hash)
            .bind(to_ms(file.upload_expires_at))
            .bind(to_ms(now))
            .fetch_one(pool)
            .await?
        });
        row.into_meta()
    }

    /// Takes the one-time upload URL whose token hashes to `token_hash`: the pending file, if the
    /// URL has not expired at `now` and was not used; `None` otherwise (and for any other
    /// token). The token is the credential, so no household is asked for.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn claim_upload(&self, token_hash: &[u8], now: OffsetDateTime) -> Result<Option<FileMeta>> {
        let row: Option<FileRow> = on_pool!(write, self, |pool| {
            sqlx::query_as(concat!(
                "UPDATE files SET uploaded_at = $2 WHERE upload_token_hash = $1 AND status = 'pending' \
                 AND uploaded_at IS NULL AND upload_expires_at > $2 RETURNING ",
                file_columns!()
            ))
            .bind(token_hash)
            .bind(to_ms(now))
            .fetch_optional(pool)
            .await?
        });
        row.map(FileRow::into_meta).transpose()
    }

    /// Gives a claimed upload URL back (its upload failed and nothing was kept), so it can be
    /// used again until it expires.
    #[tracing::instrument(level = "debug", skip_all, fields(file_id = %id))]
    pub async fn release_upload(&self, household_id: HouseholdId, id: FileId) -> Result<()> {
        on_pool!(write, self, |pool| {
            sqlx::query(
                "UPDATE files SET uploaded_at = NULL WHERE household_id = $1 AND id = $2 AND status = 'pending'",
            )
            .bind(household_id.0)
            .bind(id.0)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// The household's file; `NotFound` if it has none with this id.
    #[tracing::instrument(level = "debug", skip_all, fields(household_id = %household_id, file_id = %id))]
    pub async fn get_file(&self, household_id: HouseholdId, id: FileId) -> Result<FileMeta> {
        let row: FileRow = on_pool!(read, self, |pool| {
            sqlx::query_as(concat!("SELECT ", file_columns!(), " FROM files WHERE household_id = $1 AND id = $2"))
                .bind(household_id.0)
                .bind(id.0)
                .fetch_one(pool)
                .await?
        });
        row.into_meta()
    }

    /// The household's file stored under the upload key `key`; `NotFound` otherwise.
    #[tracing::instrument(level = "debug", skip_all, fields(household_id = %household_id))]
    pub async fn file_by_key(&self, household_id: HouseholdId, key: &str) -> Result<FileMeta> {
        let row: FileRow = on_pool!(read, self, |pool| {
            sqlx::query_as(concat!("SELECT ", file_columns!(), " FROM files WHERE household_id = $1 AND key = $2"))
                .bind(household_id.0)
                .bind(key)
                .fetch_one(pool)
                .await?
        });
        row.into_meta()
    }

    /// A confirmed file by id alone, for a signed link: the caller has checked the link's
    /// signature, which is the credential. `NotFound` for a pending or deleted file.
    #[tracing::instrument(level = "debug", skip_all, fields(file_id = %id))]
    pub async fn file_for_signed_link(&self, id: FileId) -> Result<FileMeta> {
        let row: FileRow = on_pool!(read, self, |pool| {
            sqlx::query_as(concat!("SELECT ", file_columns!(), " FROM files WHERE id = $1 AND status = 'confirmed'"))
                .bind(id.0)
                .fetch_one(pool)
                .await?
        });
        row.into_meta()
    }

    /// Marks a pending file confirmed with what was stored; `NotFound` unless it is a pending
    /// file of the household.
    #[tracing::instrument(level = "debug", skip_all, fields(household_id = %household_id, file_id = %id))]
    pub async fn confirm_file(
        &self,
        household_id: HouseholdId,
        id: FileId,
        confirmed: &Confirmed,
        now: OffsetDateTime,
    ) -> Result<FileMeta> {
        let row: FileRow = on_pool!(write, self, |pool| {
            sqlx::query_as(concat!(
                "UPDATE files SET status = 'confirmed', size = $3, stored_bytes = $4, width = $5, height = $6, \
                 thumbnail_width = $7, thumbnail_height = $8, optimized_key = $9, thumbnail_key = $10, sha256 = $11, \
                 pet_id = $12, health_record_id = $13, confirmed_at = $14, upload_token_hash = NULL \
                 WHERE household_id = $1 AND id = $2 AND status = 'pending' RETURNING ",
                file_columns!()
            ))
            .bind(household_id.0)
            .bind(id.0)
            .bind(to_i64(confirmed.size))
            .bind(to_i64(confirmed.stored_bytes))
            .bind(confirmed.width.map(i64::from))
            .bind(confirmed.height.map(i64::from))
            .bind(confirmed.thumbnail_width.map(i64::from))
            .bind(confirmed.thumbnail_height.map(i64::from))
            .bind(&confirmed.optimized_key)
            .bind(&confirmed.thumbnail_key)
            .bind(&confirmed.sha256)
            .bind(confirmed.pet_id.map(|p| p.0))
            .bind(confirmed.health_record_id)
            .bind(to_ms(now))
            .fetch_one(pool)
            .await?
        });
        row.into_meta()
    }

    /// One page of the household's confirmed files, newest first.
    #[tracing::instrument(level = "debug", skip_all, fields(household_id = %household_id))]
    pub async fn list_files(
        &self,
        household_id: HouseholdId,
        filter: &FileFilter,
        page: PageRequest,
    ) -> Result<Page<FileMeta>> {
        const CONDITION: &str = "household_id = $1 AND status = 'confirmed' AND ($2 IS NULL OR pet_id = $2) \
                                 AND ($3 IS NULL OR health_record_id = $3)";
        let pet = filter.pet_id.map(|p| p.0);
        let (total, rows): (i64, Vec<FileRow>) = on_pool!(read, self, |pool| {
            let total =
                sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM files WHERE {CONDITION}")))
                    .bind(household_id.0)
                    .bind(pet)
                    .bind(filter.health_record_id)
                    .fetch_one(pool)
                    .await?;
            let rows = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {} FROM files WHERE {CONDITION} ORDER BY created_at DESC, id DESC LIMIT $4 OFFSET $5",
                file_columns!()
            )))
            .bind(household_id.0)
            .bind(pet)
            .bind(filter.health_record_id)
            .bind(page.limit())
            .bind(page.offset())
            .fetch_all(pool)
            .await?;
            (total, rows)
        });
        Ok(Page { items: metas(rows)?, total: u64::try_from(total).unwrap_or(0), request: page })
    }

    /// The confirmed files attached to any of `record_ids`, oldest first (for the care records'
    /// pages and answers).
    #[tracing::instrument(level = "debug", skip_all, fields(household_id = %household, records = record_ids.len()))]
    pub async fn files_of_records(&self, household: HouseholdId, record_ids: &[Uuid]) -> Result<Vec<FileMeta>> {
        if record_ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {} FROM files WHERE household_id = $1 AND status = 'confirmed' AND health_record_id IN ({}) \
             ORDER BY created_at, id",
            file_columns!(),
            placeholders(2, record_ids.len())
        );
        let rows: Vec<FileRow> = on_pool!(read, self, |pool| {
            let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(household.0);
            for id in record_ids {
                query = query.bind(*id);
            }
            query.fetch_all(pool).await?
        });
        metas(rows)
    }

    /// Attaches `file_ids` to the care record `record_id`, all or none: `NotFound` unless every
    /// one is a confirmed file of the household.
    #[tracing::instrument(level = "debug", skip_all, fields(household_id = %household, files = file_ids.len()))]
    pub async fn attach_files_to_record(
        &self,
        household: HouseholdId,
        record_id: Uuid,
        file_ids: &[Uuid],
    ) -> Result<()> {
        let mut ids = file_ids.to_vec();
        ids.sort();
        ids.dedup();
        if ids.is_empty() {
            return Ok(());
        }
        let sql = format!(
            "UPDATE files SET health_record_id = $2 WHERE household_id = $1 AND status = 'confirmed' AND id IN ({})",
            placeholders(3, ids.len())
        );
        on_pool!(write, self, |pool| {
            let mut tx = pool.begin_write().await?;
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(household.0).bind(record_id);
            for id in &ids {
                query = query.bind(*id);
            }
            let changed = query.execute(&mut *tx).await?.rows_affected();
            if changed != ids.len() as u64 {
                tx.rollback().await?;
                return Err(StoreError::NotFound);
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Every file of the household (any status) that belongs to the pet, the care record, or
    /// (both `None`) the whole household: what deleting those removes.
    #[tracing::instrument(level = "debug", skip_all, fields(household_id = %household))]
    pub async fn files_to_delete(
        &self,
        household: HouseholdId,
        pet_id: Option<PetId>,
        record_id: Option<Uuid>,
    ) -> Result<Vec<FileMeta>> {
        let rows: Vec<FileRow> = on_pool!(read, self, |pool| {
            sqlx::query_as(concat!(
                "SELECT ",
                file_columns!(),
                " FROM files WHERE household_id = $1 AND ($2 IS NULL OR pet_id = $2) \
                 AND ($3 IS NULL OR health_record_id = $3) ORDER BY created_at, id"
            ))
            .bind(household.0)
            .bind(pet_id.map(|p| p.0))
            .bind(record_id)
            .fetch_all(pool)
            .await?
        });
        metas(rows)
    }

    /// Deletes the household's file rows with these ids (the caller removed their bytes first);
    /// answers how many went.
    #[tracing::instrument(level = "debug", skip_all, fields(household_id = %household, files = ids.len()))]
    pub async fn delete_file_rows(&self, household: HouseholdId, ids: &[FileId]) -> Result<u64> {
        let mut removed = 0;
        for chunk in ids.chunks(500) {
            let sql = format!("DELETE FROM files WHERE household_id = $1 AND id IN ({})", placeholders(2, chunk.len()));
            removed += on_pool!(write, self, |pool| {
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(household.0);
                for id in chunk {
                    query = query.bind(id.0);
                }
                query.execute(pool).await?.rows_affected()
            });
        }
        Ok(removed)
    }

    /// Pending uploads made before `before`, across households, oldest first (the sweep).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn stale_uploads(&self, before: OffsetDateTime, limit: u32) -> Result<Vec<FileMeta>> {
        let rows: Vec<FileRow> = on_pool!(read, self, |pool| {
            sqlx::query_as(concat!(
                "SELECT ",
                file_columns!(),
                " FROM files WHERE status = 'pending' AND created_at < $1 ORDER BY created_at, id LIMIT $2"
            ))
            .bind(to_ms(before))
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?
        });
        metas(rows)
    }

    /// The household's storage use.
    #[tracing::instrument(level = "debug", skip_all, fields(household_id = %household))]
    pub async fn storage_used(&self, household: HouseholdId) -> Result<StorageUse> {
        let (files, bytes, pending): (i64, Option<i64>, i64) = on_pool!(read, self, |pool| {
            sqlx::query_as(
                "SELECT COUNT(*) FILTER (WHERE status = 'confirmed'), \
                 CAST(SUM(CASE WHEN status = 'confirmed' THEN stored_bytes ELSE 0 END) AS BIGINT), \
                 COUNT(*) FILTER (WHERE status = $2) FROM files WHERE household_id = $1",
            )
            .bind(household.0)
            .bind(FileStatus::Pending.as_str())
            .fetch_one(pool)
            .await?
        });
        let count = |n: i64| u64::try_from(n).unwrap_or(0);
        Ok(StorageUse { files: count(files), bytes: count(bytes.unwrap_or(0)), pending: count(pending) })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn placeholders_count_from_where_they_start() {
        assert_eq!(super::placeholders(2, 3), "$2, $3, $4");
        assert_eq!(super::placeholders(1, 1), "$1");
    }
}
