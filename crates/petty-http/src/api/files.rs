//! `/api/v1/uploads`, `/api/v1/files`, `/api/v1/storage`, and the signed links `/files/{id}`
//! and `/files/{id}/thumbnail`: uploading a pet's photo or a record's attachment in two steps
//! (an upload URL, then a confirmation once the bytes are there), the household's files and
//! its storage use, and serving a file to whoever holds a link signed within the hour (an
//! `<img>` needs no header). The use cases are `petty_app::files`.

use axum::Json;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Multipart, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use petty_app::files::{self as uses, Confirmation, FileError};
use petty_core::accounts::Permission;
use petty_core::files::{UploadRequest, Variant};
use petty_core::ids::{FileId, PetId};
use petty_core::paging::PageRequest;
use petty_store::{FileFilter, FileMeta, FileStatus};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::api::Paged;
use crate::auth::CurrentActor;
use crate::error::{ApiError, ErrorBody, ErrorCode};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    // The upload target reads its body as a stream and counts the file against the upload
    // limit itself, so the default body limit is off for it.
    let target =
        OpenApiRouter::new().routes(routes!(receive_upload, receive_upload_form)).layer(DefaultBodyLimit::disable());
    OpenApiRouter::new()
        .routes(routes!(create_upload))
        .merge(target)
        .routes(routes!(confirm_upload))
        .routes(routes!(list_files))
        .routes(routes!(get_file, delete_file))
        .routes(routes!(storage_use))
}

impl From<FileError> for ApiError {
    fn from(e: FileError) -> Self {
        match e {
            FileError::Invalid(invalid) => invalid.into(),
            FileError::UnsupportedType(field) => {
                ApiError::field(ErrorCode::UnsupportedMediaType, &field.field, field.rule, field.message)
            }
            FileError::TooLarge { max_bytes } => ApiError::field(
                ErrorCode::PayloadTooLarge,
                "file",
                "too_large",
                format!(
                    "a file may be at most {max_bytes} bytes ({} MiB); nothing was kept",
                    max_bytes / (1024 * 1024)
                ),
            ),
            e @ (FileError::UrlExpired | FileError::LinkRefused) => ApiError::forbidden(e.to_string()),
            FileError::NotFound(what) => ApiError::not_found(what),
            FileError::Conflict(why) => ApiError::new(ErrorCode::Conflict, why),
            FileError::Infected(_) => ApiError::field(
                ErrorCode::ValidationFailed,
                "file",
                "virus_scan",
                "File failed the virus scan; it was deleted",
            ),
            FileError::Unreadable(why) => ApiError::field(ErrorCode::ValidationFailed, "file", "image", why),
            FileError::Interrupted(why) => ApiError::new(ErrorCode::MalformedRequest, why),
            FileError::ScannerUnavailable(why) => {
                tracing::warn!(%why, "virus scanner unavailable");
                ApiError::new(
                    ErrorCode::Unavailable,
                    "the virus scanner could not check the file right now; it is kept pending: confirm it again",
                )
            }
            FileError::Storage(petty_app::files::StorageError::NotFound(_)) => ApiError::not_found("file"),
            FileError::Storage(e) => {
                tracing::warn!(error = %e, "file storage unavailable");
                ApiError::new(
                    ErrorCode::Unavailable,
                    "file storage is unavailable right now; nothing was changed, try again",
                )
            }
            FileError::Billing(e) => e.into(),
            FileError::Store(e) => e.into(),
        }
    }
}

/// An upload to make.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UploadIn {
    /// Any name; the path is dropped and every character outside `[A-Za-z0-9._-]` becomes `_`.
    pub filename: String,
    /// `image/jpeg`, `image/png`, `image/webp` or `application/pdf` (any other: 415). A photo
    /// must be an image.
    pub content_type: String,
    /// `pet_profile_photo`, `user_profile_photo` or `health_record_attachment`.
    pub purpose: String,
    /// The file's size in bytes, if known: over the limit (10 MiB) is refused at once (413),
    /// and the upload must then be exactly this size.
    pub size: Option<i64>,
}

/// Where and how to send the bytes.
#[derive(Serialize, ToSchema)]
pub(crate) struct UploadOut {
    /// `PUT` the raw bytes here, with the declared `Content-Type`: Petty's own one-time URL
    /// (a second use, or one after `expires_in`, answers 403), or S3's presigned URL.
    pub upload_url: String,
    /// `PUT`.
    pub method: &'static str,
    /// Name this in the confirmation: `uploads/<uuid>/<filename>`.
    pub file_key: String,
    /// The file's id once confirmed.
    pub file_id: Uuid,
    /// Seconds the URL works (300).
    pub expires_in: i64,
    /// The most bytes the upload may carry.
    pub max_file_size: u64,
    /// What the upload must carry besides its bytes.
    pub fields: UploadFields,
}

/// The form fields of an upload (the S3 POST-policy names).
#[derive(Serialize, ToSchema)]
pub(crate) struct UploadFields {
    pub key: String,
    #[serde(rename = "Content-Type")]
    pub content_type: &'static str,
}

/// Make an upload URL: a pending file whose bytes are sent next, then confirmed. Uploads never
/// confirmed are removed after 24 hours.
#[utoipa::path(post, path = "/api/v1/uploads", tag = "files", request_body = UploadIn,
    responses((status = 200, body = UploadOut),
        (status = 413, description = "The declared size is over the limit", body = ErrorBody),
        (status = 415, description = "A content type Petty does not store, or not for this purpose", body = ErrorBody)),
    security(("bearer" = [])))]
async fn create_upload(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiJson(body): ApiJson<UploadIn>,
) -> Result<Json<UploadOut>, ApiError> {
    let actor = actor.require(Permission::ManagePets)?;
    let max = state.app.files.settings().max_upload_bytes;
    let request = UploadRequest::parse(&body.filename, &body.content_type, &body.purpose, body.size, max)
        .map_err(FileError::from)?;
    let made = uses::create_upload(&state.app, actor.household_id, &request).await?;
    Ok(Json(UploadOut {
        upload_url: made.url,
        method: "PUT",
        fields: UploadFields { key: made.file.key.clone(), content_type: made.file.content_type.as_str() },
        file_key: made.file.key,
        file_id: made.file.id.0,
        expires_in: made.expires_in,
        max_file_size: made.max_bytes,
    }))
}

/// The file's bytes, as they are.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub(crate) struct RawFile(#[allow(dead_code)] Vec<u8>);

/// Send an upload's bytes to Petty's one-time URL (as `upload_url` names it): the raw bytes,
/// with the declared `Content-Type`. No credentials: the URL is the credential.
#[utoipa::path(put, path = "/api/v1/uploads/{token}", tag = "files",
    params(("token" = String, Path, description = "The one-time token in `upload_url`")),
    request_body(description = "The file's bytes", content(
        (inline(RawFile) = "image/jpeg"), (inline(RawFile) = "image/png"), (inline(RawFile) = "image/webp"),
        (inline(RawFile) = "application/pdf"))),
    responses((status = 204, description = "Received; confirm it next"),
        (status = 403, description = "The URL expired (after 300 s), was used already, or never was", body = ErrorBody),
        (status = 413, description = "More bytes than the limit; nothing was kept and the URL may be used again", body = ErrorBody),
        (status = 415, description = "The Content-Type is not the one declared for the upload", body = ErrorBody)))]
async fn receive_upload(
    State(state): State<AppState>,
    ApiPath(token): ApiPath<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<StatusCode, ApiError> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let length = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse().ok());
    uses::receive_upload(&state.app, &token, content_type, length, body.into_data_stream()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The form a browser posts to an upload URL, as to S3's POST policy: `key` and `Content-Type`
/// first (as `fields` names them), then the file.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct UploadForm {
    /// The upload's `file_key`.
    pub key: String,
    /// The declared content type.
    #[schema(rename = "Content-Type")]
    pub content_type: String,
    /// The file's bytes (the last part).
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
}

/// Send an upload's bytes to Petty's one-time URL as a form (`multipart/form-data`: the
/// answer's `fields`, then `file`), as to S3's POST policy. The same rules as `PUT`.
#[utoipa::path(post, path = "/api/v1/uploads/{token}", tag = "files",
    params(("token" = String, Path, description = "The one-time token in `upload_url`")),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses((status = 204, description = "Received; confirm it next"),
        (status = 403, description = "The URL expired (after 300 s), was used already, or never was", body = ErrorBody),
        (status = 413, description = "More bytes than the limit; nothing was kept and the URL may be used again", body = ErrorBody),
        (status = 415, description = "The Content-Type field is not the one declared for the upload", body = ErrorBody)))]
async fn receive_upload_form(
    State(state): State<AppState>,
    ApiPath(token): ApiPath<String>,
    mut form: Multipart,
) -> Result<StatusCode, ApiError> {
    let bad = |e: axum::extract::multipart::MultipartError| ApiError::new(ErrorCode::MalformedRequest, e.body_text());
    let (mut key, mut content_type) = (None, None);
    while let Some(mut field) = form.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or_default().to_owned();
        match name.as_str() {
            "key" | "Content-Type" => {
                let mut value = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(bad)? {
                    if value.len() + chunk.len() > 1024 {
                        let message = format!("{name} is at most 1024 bytes");
                        return Err(ApiError::field(ErrorCode::ValidationFailed, &name, "too_long", message));
                    }
                    value.extend_from_slice(&chunk);
                }
                let value = String::from_utf8_lossy(&value).into_owned();
                if name == "key" {
                    key = Some(value);
                } else {
                    content_type = Some(value);
                }
            }
            "file" => {
                let file = uses::receive_upload(&state.app, &token, content_type.as_deref(), None, field).await?;
                if key.as_deref().is_some_and(|k| k.trim() != file.key) {
                    // Received under the token's key whatever the form said; a wrong key is a
                    // client's mistake worth telling.
                    tracing::warn!(file_id = %file.id, "an upload form named another key than its URL's");
                }
                return Ok(StatusCode::NO_CONTENT);
            }
            // Other fields of an S3 policy form (policy, signature, ...) mean nothing here.
            _ => {}
        }
    }
    Err(ApiError::field(ErrorCode::ValidationFailed, "file", "required", "the form has no file field (it goes last)"))
}

/// An upload whose bytes were sent.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConfirmIn {
    /// As the upload URL's answer named it.
    pub file_key: String,
    /// The purpose the URL was made for.
    pub purpose: String,
    /// The pet a `pet_profile_photo` is of (required for one): it becomes the pet's photo.
    pub pet_id: Option<Uuid>,
    /// The health record an attachment belongs to.
    pub health_record_id: Option<Uuid>,
}

/// A stored file.
#[derive(Serialize, ToSchema)]
pub(crate) struct FileOut {
    pub id: Uuid,
    pub file_key: String,
    pub filename: String,
    /// image/jpeg, image/png, image/webp or application/pdf.
    pub content_type: &'static str,
    /// pet_profile_photo, user_profile_photo, health_record_attachment or listing_photo.
    pub purpose: &'static str,
    /// Bytes served at `url` (an image's optimized copy).
    pub size: u64,
    /// An image's optimized copy, orientation applied (at most 2048 on the long side); null for a PDF.
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// The thumbnail's (fits 256 × 256); null for a PDF.
    pub thumbnail_width: Option<u32>,
    pub thumbnail_height: Option<u32>,
    pub pet_id: Option<Uuid>,
    pub health_record_id: Option<Uuid>,
    /// A signed link to the file, good for an hour (`/files/{id}?exp=...&sig=...`).
    pub url: String,
    /// A signed link to the thumbnail; null for a PDF.
    pub thumbnail_url: Option<String>,
    /// Always true: a file is listed once checked and processed.
    pub processed: bool,
    #[serde(serialize_with = "crate::rfc3339::serialize")]
    pub created_at: OffsetDateTime,
}

impl FileOut {
    fn new(state: &AppState, file: FileMeta) -> FileOut {
        let (url, thumbnail_url) = uses::links(&state.app, &file);
        FileOut {
            id: file.id.0,
            content_type: file.content_type.as_str(),
            purpose: file.purpose.as_str(),
            size: file.size,
            width: file.width,
            height: file.height,
            thumbnail_width: file.thumbnail_width,
            thumbnail_height: file.thumbnail_height,
            pet_id: file.pet_id.map(|p| p.0),
            health_record_id: file.health_record_id,
            url,
            thumbnail_url,
            processed: file.status == FileStatus::Confirmed,
            created_at: file.created_at,
            file_key: file.key,
            filename: file.filename,
        }
    }
}

/// Confirm an upload once its bytes are sent: its first bytes must be its declared type's
/// (else 415, and it is deleted), the virus scanner must pass it when one is configured (else
/// 422, deleted), and an image gets an optimized copy and a thumbnail with its EXIF orientation
/// applied and all its metadata, GPS included, removed. A `pet_profile_photo` becomes its
/// pet's `photo_url`.
#[utoipa::path(post, path = "/api/v1/uploads/confirm", tag = "files", request_body = ConfirmIn,
    responses((status = 200, body = FileOut),
        (status = 404, description = "No such upload, or no such pet, in the caller's household", body = ErrorBody),
        (status = 409, description = "The upload was confirmed already", body = ErrorBody),
        (status = 413, description = "The upload is over the limit; it was deleted", body = ErrorBody),
        (status = 415, description = "The bytes are not the declared type; the file was deleted", body = ErrorBody),
        (status = 422, description = "A field broke a rule, nothing was uploaded yet, the image cannot be read, or \
            the file failed the virus scan (`details[0].rule` = `virus_scan`; it was deleted)", body = ErrorBody),
        (status = 503, description = "The virus scanner or the file storage could not be reached; the upload is \
            kept: confirm it again", body = ErrorBody)),
    security(("bearer" = [])))]
async fn confirm_upload(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiJson(body): ApiJson<ConfirmIn>,
) -> Result<Json<FileOut>, ApiError> {
    let actor = actor.require(Permission::ManagePets)?;
    let confirmation = Confirmation {
        file_key: body.file_key,
        purpose: body.purpose,
        pet_id: body.pet_id.map(PetId),
        health_record_id: body.health_record_id,
    };
    let file = uses::confirm_upload(&state.app, actor.household_id, &confirmation).await?;
    Ok(Json(FileOut::new(&state, file)))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListFilesQuery {
    /// 1-based page number (default 1).
    pub page: Option<u32>,
    /// Items per page, 1–500 (default 50).
    pub page_size: Option<u32>,
    /// Only this pet's files.
    pub pet_id: Option<Uuid>,
    /// Only this health record's attachments.
    pub health_record_id: Option<Uuid>,
}

/// The household's files, newest first, each with fresh signed links.
#[utoipa::path(get, path = "/api/v1/files", tag = "files", params(ListFilesQuery),
    responses((status = 200, body = Paged<FileOut>)),
    security(("bearer" = [])))]
async fn list_files(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiQuery(query): ApiQuery<ListFilesQuery>,
) -> Result<Json<Paged<FileOut>>, ApiError> {
    let actor = actor.require(Permission::Read)?;
    let page = PageRequest::parse(query.page, query.page_size)?;
    let filter = FileFilter { pet_id: query.pet_id.map(PetId), health_record_id: query.health_record_id };
    let files = state.store.list_files(actor.household_id, &filter, page).await?;
    Ok(Json(Paged::from_page(files, |f| FileOut::new(&state, f))))
}

/// One file, with fresh signed links.
#[utoipa::path(get, path = "/api/v1/files/{id}", tag = "files", params(("id" = Uuid, Path, description = "The file's id")),
    responses((status = 200, body = FileOut)),
    security(("bearer" = [])))]
async fn get_file(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<FileOut>, ApiError> {
    let actor = actor.require(Permission::Read)?;
    let file =
        state.store.get_file(actor.household_id, FileId(id)).await.map_err(ApiError::store_or_not_found("file"))?;
    if file.status != FileStatus::Confirmed {
        return Err(ApiError::not_found("file"));
    }
    Ok(Json(FileOut::new(&state, file)))
}

/// Delete a file (or an upload not yet confirmed): its bytes, then its row. Its links answer
/// 404 from now on; a pet whose photo it was has none.
#[utoipa::path(delete, path = "/api/v1/files/{id}", tag = "files", params(("id" = Uuid, Path, description = "The file's id")),
    responses((status = 204)),
    security(("bearer" = [])))]
async fn delete_file(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    let actor = actor.require(Permission::ManagePets)?;
    uses::delete_file(&state.app, actor.household_id, FileId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A household's storage use.
#[derive(Serialize, ToSchema)]
pub(crate) struct StorageOut {
    /// Files stored.
    pub files: u64,
    /// Bytes they keep (served copies and thumbnails).
    pub bytes: u64,
    /// Uploads not confirmed yet (removed after 24 hours; not counted in `bytes`).
    pub pending_uploads: u64,
    /// The most bytes one upload may carry.
    pub max_file_size: u64,
}

/// How much the household's files keep.
#[utoipa::path(get, path = "/api/v1/storage", tag = "files",
    responses((status = 200, body = StorageOut)),
    security(("bearer" = [])))]
async fn storage_use(State(state): State<AppState>, actor: CurrentActor) -> Result<Json<StorageOut>, ApiError> {
    let actor = actor.require(Permission::Read)?;
    let used = state.store.storage_used(actor.household_id).await?;
    Ok(Json(StorageOut {
        files: used.files,
        bytes: used.bytes,
        pending_uploads: used.pending,
        max_file_size: state.app.files.settings().max_upload_bytes,
    }))
}

/// `GET /files/{id}`: the file behind a signed link.
pub(crate) async fn signed_file(
    State(state): State<AppState>,
    axum::extract::Path(id): axum::extract::Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    serve_link(&state, &id, Variant::File, query.as_deref()).await.unwrap_or_else(IntoResponse::into_response)
}

/// `GET /files/{id}/thumbnail`: an image's thumbnail behind a signed link.
pub(crate) async fn signed_thumbnail(
    State(state): State<AppState>,
    axum::extract::Path(id): axum::extract::Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    serve_link(&state, &id, Variant::Thumbnail, query.as_deref()).await.unwrap_or_else(IntoResponse::into_response)
}

/// `exp` and `sig` from a link's query; `None` when either is missing or not of its form.
fn link_parameters(query: Option<&str>) -> Option<(i64, String)> {
    let (mut expires, mut signature) = (None, None);
    for pair in query.unwrap_or_default().split('&') {
        match pair.split_once('=') {
            Some(("exp", v)) => expires = v.parse::<i64>().ok(),
            Some(("sig", v)) => signature = Some(v.to_owned()),
            _ => {}
        }
    }
    Some((expires?, signature?))
}

async fn serve_link(state: &AppState, id: &str, variant: Variant, query: Option<&str>) -> Result<Response, ApiError> {
    let Ok(id) = id.parse::<Uuid>() else { return Err(ApiError::not_found("file")) };
    let Some((expires, signature)) = link_parameters(query) else {
        return Err(ApiError::field(
            ErrorCode::Forbidden,
            "sig",
            "signature",
            "this link is not valid: it needs exp and sig, as Petty signed it",
        ));
    };
    let served = uses::open_link(&state.app, FileId(id), variant, expires, &signature).await?;
    let mut response = Response::new(Body::from_stream(served.body));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(served.content_type.as_str()));
    if let Ok(length) = HeaderValue::from_str(&served.size.to_string()) {
        headers.insert(header::CONTENT_LENGTH, length);
    }
    if let Ok(cache) = HeaderValue::from_str(&format!("private, max-age={}", served.fresh_for.max(0))) {
        headers.insert(header::CACHE_CONTROL, cache);
    }
    // The filename is sanitised: nothing in it needs quoting.
    let disposition = if served.content_type.is_image() { "inline" } else { "attachment" };
    let name = match variant {
        Variant::File => served.file.filename.clone(),
        Variant::Thumbnail => format!("thumbnail-{}", served.file.filename),
    };
    if let Ok(value) = HeaderValue::from_str(&format!("{disposition}; filename=\"{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}
