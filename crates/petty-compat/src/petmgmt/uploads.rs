//! Uploads (`petty_app::files`): an upload URL, the bytes sent to it (a `PUT` of the raw bytes
//! or S3's POST-policy form), and the confirmation that checks and processes them. With local
//! storage the upload URL is the profile's own one-time address, so its refusals are in the
//! envelope too; with S3 it is S3's presigned URL. Files are served at Petty's signed links
//! (`/files/<id>?exp&sig`), which need no header.

use axum::body::{Body as RawBody, Bytes};
use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use petty_app::files::{self as uses, Confirmation, FileError};
use petty_core::files::{UploadRefusal, UploadRequest};
use petty_core::ids::PetId;
use petty_http::AppState;
use petty_store::{FileMeta, PetmgmtProfile};
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::wire::{Body, Check};
use super::{Action, Answer, Fail, Member, ok, require};

const TYPES: &str = "contentType must be one of: image/jpeg, image/png, image/webp, application/pdf";
const MISMATCH: &str = "File content does not match its declared type";

fn too_large() -> Fail {
    Fail::new(StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE", "File exceeds the 10 MB limit")
}

/// A file use case's refusal as the contract answers it.
fn file_error(e: FileError) -> Fail {
    match e {
        FileError::Invalid(invalid) => Fail::canonical(invalid),
        FileError::UnsupportedType(field) if field.field == "content_type" => {
            Fail::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "UNSUPPORTED_MEDIA_TYPE", TYPES)
        }
        FileError::UnsupportedType(_) => {
            Fail::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "UNSUPPORTED_MEDIA_TYPE", MISMATCH)
        }
        FileError::TooLarge { .. } => too_large(),
        FileError::UrlExpired => Fail::new(
            StatusCode::FORBIDDEN,
            "UPLOAD_URL_EXPIRED",
            "This upload URL has expired or was already used; ask for a new one",
        ),
        FileError::LinkRefused => Fail::forbidden("This link is not valid or has expired"),
        FileError::NotFound("pet") => Fail::not_found("Pet not found"),
        FileError::NotFound("health record") => Fail::not_found("Health record not found"),
        FileError::NotFound(_) => Fail::not_found("File not found"),
        FileError::Conflict(why) => Fail::conflict(why),
        FileError::Infected(_) => {
            Fail::new(StatusCode::UNPROCESSABLE_ENTITY, "FILE_REJECTED", "File failed the virus scan")
        }
        FileError::Unreadable(why) => Fail::new(StatusCode::UNPROCESSABLE_ENTITY, "FILE_REJECTED", why),
        FileError::Interrupted(why) => Fail::field("body", why),
        FileError::ScannerUnavailable(_) | FileError::Storage(_) => Fail::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "SERVICE_UNAVAILABLE",
            "File storage or the virus scanner is unavailable; nothing was lost, try again",
        ),
        FileError::Store(e) => Fail::store(e),
        FileError::Billing(e) => super::account::billing_error(e),
    }
}

/// A file as the contract lists it among a record's attachments.
pub(super) fn attachment_json(state: &AppState, file: &FileMeta) -> Value {
    let (url, _) = uses::links(&state.app, file);
    json!({"id": file.id.0, "filename": file.filename, "url": url, "type": file.content_type.as_str(), "size": file.size})
}

/// A stored photo address (`/files/<id>`) as a fresh signed link; any other address as it is.
pub(super) fn photo(state: &AppState, stored: Option<&str>) -> Option<String> {
    stored.map(|url| uses::photo_link(&state.app, url, petty_core::files::Variant::File))
}

/// `POST /uploads/presigned-url` `{filename, contentType, purpose, size?}`.
pub(super) async fn presigned_url(State(state): State<AppState>, member: Member, bytes: Bytes) -> Answer {
    require(&member.0, Action::Write)?;
    let body = Body::parse(&bytes)?;
    let mut c = Check::new(&body);
    let filename = c.text("filename", 1000, true, None).flatten();
    let content_type = c.text("contentType", 100, true, Some(TYPES)).flatten();
    let purpose = c
        .text(
            "purpose",
            50,
            true,
            Some("purpose must be one of: pet_profile_photo, user_profile_photo, health_record_attachment"),
        )
        .flatten();
    let size = match c.number("size", "size must be a whole number of bytes") {
        Some(Some(s)) if s.fract() == 0.0 => Some(s as i64),
        Some(Some(_)) => {
            c.fail("size", "size must be a whole number of bytes");
            None
        }
        _ => None,
    };
    c.finish()?;
    let max = state.app.files.settings().max_upload_bytes;
    let request = UploadRequest::parse(
        filename.as_deref().unwrap_or_default(),
        content_type.as_deref().unwrap_or_default(),
        purpose.as_deref().unwrap_or_default(),
        size,
        max,
    )
    .map_err(|refusal| match refusal {
        UploadRefusal::TooLarge { .. } => too_large(),
        other => file_error(other.into()),
    })?;
    let made = uses::create_upload(&state.app, member.household(), &request).await.map_err(file_error)?;
    // Petty's own one-time URL, at the profile's address so its refusals are in the envelope.
    let own = format!("{}/api/v1/uploads/", state.app.notifier.public_url().trim_end_matches('/'));
    let upload_url = match made.url.strip_prefix(&own) {
        Some(token) => {
            format!("{}/compat/petmgmt/api/v1/uploads/{token}", state.app.notifier.public_url().trim_end_matches('/'))
        }
        None => made.url,
    };
    Ok(ok(
        StatusCode::OK,
        json!({
            "uploadUrl": upload_url,
            "fileKey": made.file.key,
            "expiresIn": made.expires_in,
            "maxFileSize": made.max_bytes,
            "method": "PUT",
            "fields": {"key": made.file.key, "Content-Type": made.file.content_type.as_str()},
        }),
    ))
}

/// `PUT` of the raw bytes to the one-time URL → 204.
pub(super) async fn receive(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: RawBody,
) -> Result<Response, Fail> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let length = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse().ok());
    uses::receive_upload(&state.app, &token, content_type, length, body.into_data_stream())
        .await
        .map_err(file_error)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// S3's POST-policy form to the one-time URL (`fields`, then `file`) → 204.
pub(super) async fn receive_form(
    State(state): State<AppState>,
    Path(token): Path<String>,
    mut form: Multipart,
) -> Result<Response, Fail> {
    let bad = |e: axum::extract::multipart::MultipartError| Fail::field("body", e.body_text());
    let mut content_type = None;
    while let Some(mut field) = form.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or_default().to_owned();
        match name.as_str() {
            "key" | "Content-Type" => {
                let mut value = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(bad)? {
                    if value.len() + chunk.len() > 1024 {
                        return Err(Fail::field(&name, format!("{name} must be at most 1024 bytes")));
                    }
                    value.extend_from_slice(&chunk);
                }
                if name == "Content-Type" {
                    content_type = Some(String::from_utf8_lossy(&value).into_owned());
                }
            }
            "file" => {
                uses::receive_upload(&state.app, &token, content_type.as_deref(), None, field)
                    .await
                    .map_err(file_error)?;
                return Ok(StatusCode::NO_CONTENT.into_response());
            }
            _ => {}
        }
    }
    Err(Fail::field("file", "The form has no file field (it goes last)"))
}

/// `POST /uploads/confirm` `{fileKey, purpose, petId?, healthRecordId?}`: checked, processed,
/// and linked (a pet's photo becomes its `profilePhotoUrl`, a person's their own, an attachment
/// joins its record).
pub(super) async fn confirm(State(state): State<AppState>, member: Member, bytes: Bytes) -> Answer {
    require(&member.0, Action::Write)?;
    let body = Body::parse(&bytes)?;
    let mut c = Check::new(&body);
    let file_key = c.text("fileKey", 1200, true, None).flatten();
    let purpose = c.text("purpose", 50, true, None).flatten();
    let mut id = |field: &str| match c.text(field, 36, false, Some(&format!("{field} must be an id"))) {
        Some(Some(text)) => match text.parse::<uuid::Uuid>() {
            Ok(id) => Some(id),
            Err(_) => {
                c.fail(field, format!("{field} must be an id"));
                None
            }
        },
        _ => None,
    };
    let pet_id = id("petId");
    let record_id = id("healthRecordId");
    c.finish()?;
    let confirmation = Confirmation {
        file_key: file_key.unwrap_or_default(),
        purpose: purpose.unwrap_or_default(),
        pet_id: pet_id.map(PetId),
        health_record_id: record_id,
    };
    let file = uses::confirm_upload(&state.app, member.household(), &confirmation).await.map_err(file_error)?;
    if file.purpose == petty_core::files::Purpose::UserProfilePhoto
        && let Ok((user_id, _)) = member.user()
    {
        let user = state.store.get_user(user_id).await.map_err(Fail::store)?;
        let existing = state.store.petmgmt_profile(user_id).await.map_err(Fail::store)?;
        let (first, last) = super::auth::names(&user, existing.as_ref());
        let profile = PetmgmtProfile {
            user_id,
            first_name: first,
            last_name: last,
            phone: existing.and_then(|p| p.phone),
            photo_url: Some(petty_core::files::stable_url(file.id.0)),
            updated_at: OffsetDateTime::now_utc(),
        };
        state.store.put_petmgmt_profile(&profile, &user.display_name).await.map_err(Fail::store)?;
    }
    let (url, thumbnail) = uses::links(&state.app, &file);
    Ok(ok(
        StatusCode::OK,
        json!({
            "fileId": file.id.0,
            "url": url,
            "thumbnailUrl": thumbnail,
            "processed": true,
            "contentType": file.content_type.as_str(),
            "size": file.size,
            "width": file.width,
            "height": file.height,
        }),
    ))
}

/// The files a record's `attachments` name: `{fileId}`, or `{filename, url}` with a link of
/// this server (`/files/<id>...`, as a path or under `public_url`). Anything else is refused.
pub(super) fn attachment_ids(value: Option<&Value>, public_url: &str) -> Result<Vec<uuid::Uuid>, ()> {
    let Some(value) = value.filter(|v| !v.is_null()) else { return Ok(Vec::new()) };
    let items = value.as_array().ok_or(())?;
    items
        .iter()
        .map(|item| {
            if let Some(id) = item["fileId"].as_str() {
                return id.parse::<uuid::Uuid>().map_err(|_| ());
            }
            let url = item["url"].as_str().ok_or(())?;
            let path = match url.strip_prefix(public_url.trim_end_matches('/')) {
                Some(path) if path.starts_with('/') => path,
                _ if url.starts_with('/') => url,
                _ => return Err(()),
            };
            petty_core::files::parse_stable_url(path).ok_or(())
        })
        .collect()
}

/// 400 unless every id is a confirmed file of the household (checked before anything is written).
pub(super) async fn check_attachments(state: &AppState, member: &Member, ids: &[uuid::Uuid]) -> Result<(), Fail> {
    for id in ids {
        match state.store.get_file(member.household(), petty_core::ids::FileId(*id)).await {
            Ok(f) if f.status == petty_store::FileStatus::Confirmed => {}
            Ok(_) | Err(petty_store::StoreError::NotFound) => {
                return Err(Fail::field("attachments", super::wire::messages::ATTACHMENTS));
            }
            Err(e) => return Err(Fail::store(e)),
        }
    }
    Ok(())
}

/// Attaches the files to the record: every one must be a confirmed file of the household.
pub(super) async fn attach(
    state: &AppState,
    member: &Member,
    record: uuid::Uuid,
    ids: &[uuid::Uuid],
) -> Result<(), Fail> {
    state.store.attach_files_to_record(member.household(), record, ids).await.map_err(|e| match e {
        petty_store::StoreError::NotFound => Fail::field("attachments", super::wire::messages::ATTACHMENTS),
        other => Fail::store(other),
    })
}
