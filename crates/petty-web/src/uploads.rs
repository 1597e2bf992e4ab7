//! The dashboard's one path for a file that arrives with its form (a pet's photo; a care
//! record's attachment): reading a multipart form's CSRF token and file within the upload
//! limit ([`read_file_form`]), then storing and confirming the file through
//! `petty_app::files::upload_confirmed` with the refusals a person can act on turned into
//! form errors ([`upload_file`]). Forms that post files route with
//! `DefaultBodyLimit::disable()`: the file is counted here.

use axum::extract::Multipart;
use axum::http::StatusCode;
use petty_app::files::{DirectUpload, FileError};
use petty_core::files::human_size;
use petty_core::ids::HouseholdId;
use petty_http::{ApiError, AppState};
use petty_store::FileMeta;

use super::PageError;
use super::layout::FormErrors;

/// A file that arrived with a dashboard form, stored and confirmed for `purpose` (a pet's photo
/// becomes its `photo_url`). Refusals a person can act on (too big, not the type it claims, a
/// virus, an unreadable image) come back as form errors on `field`; anything else is a page
/// error.
pub(crate) async fn upload_file(
    state: &AppState,
    household: HouseholdId,
    upload: DirectUpload,
    field: &str,
) -> Result<Result<FileMeta, FormErrors>, PageError> {
    match petty_app::files::upload_confirmed(&state.app, household, upload).await {
        Ok(file) => Ok(Ok(file)),
        Err(
            e @ (FileError::TooLarge { .. }
            | FileError::UnsupportedType(_)
            | FileError::Infected(_)
            | FileError::Unreadable(_)
            | FileError::Invalid(_)),
        ) => {
            let mut error = ApiError::from(e);
            for detail in &mut error.details {
                detail.field = field.to_owned();
            }
            Ok(Err(FormErrors::from_api(&error)))
        }
        Err(FileError::Billing(petty_app::billing::BillingError::LimitReached(limit))) => Ok(Err(FormErrors::general(
            format!("{limit} on the {} plan, so the file was not kept. See the Plan page to upgrade.", limit.tier),
        ))),
        Err(FileError::ScannerUnavailable(_)) => Ok(Err(FormErrors::general(
            "The file could not be checked for viruses right now, so it was not kept. Please try again in a moment.",
        ))),
        Err(e) => Err(ApiError::from(e).into()),
    }
}

/// One file field of a multipart form, with the form's CSRF token: what a dashboard upload
/// form sends. The file is read up to `max_bytes` and one more (so that too much is known).
pub(crate) struct FileForm {
    pub csrf: String,
    pub file: Option<(String, String, bytes::Bytes)>,
}

/// A file form posted by someone who must be allowed to manage pets: read within the upload
/// limit, its token checked, the permission required. A form too large to read is `Ok(Err)`
/// with the error to show: it has no token to check, and nothing is changed.
pub(crate) async fn read_checked_file_form(
    state: &AppState,
    signed_in: &super::session::SignedIn,
    multipart: Multipart,
    file_field: &str,
) -> Result<Result<FileForm, FormErrors>, PageError> {
    let max = state.app.files.settings().max_upload_bytes;
    let form = read_file_form(multipart, file_field, max).await;
    if let Ok(read) = &form {
        signed_in.check_csrf(state, &read.csrf)?;
    }
    signed_in.require(petty_core::accounts::Permission::ManagePets)?;
    Ok(form)
}

pub(crate) async fn read_file_form(
    mut multipart: Multipart,
    file_field: &str,
    max_bytes: u64,
) -> Result<FileForm, FormErrors> {
    let too_large = || FormErrors::general(format!("The file is larger than {} allows.", human_size(max_bytes)));
    let mut form = FileForm { csrf: String::new(), file: None };
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(too_large()),
            Err(e) => return Err(FormErrors::general(format!("The form could not be read: {}", e.body_text()))),
        };
        match field.name() {
            Some("csrf") => {
                // A token is 43 characters; more is not a token, and is not kept.
                let mut field = field;
                while let Ok(Some(chunk)) = field.chunk().await {
                    if form.csrf.len() + chunk.len() <= 256 {
                        form.csrf.push_str(&String::from_utf8_lossy(&chunk));
                    }
                }
            }
            Some(name) if name == file_field => {
                let filename = field.file_name().unwrap_or("upload").to_owned();
                let content_type = field.content_type().unwrap_or("application/octet-stream").to_owned();
                let mut field = field;
                let mut bytes = bytes::BytesMut::new();
                loop {
                    match field.chunk().await {
                        Ok(Some(chunk)) => {
                            bytes.extend_from_slice(&chunk);
                            if bytes.len() as u64 > max_bytes {
                                return Err(too_large());
                            }
                        }
                        Ok(None) => break,
                        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(too_large()),
                        Err(e) => {
                            return Err(FormErrors::general(format!("The file could not be read: {}", e.body_text())));
                        }
                    }
                }
                if !bytes.is_empty() {
                    form.file = Some((filename, content_type, bytes.freeze()));
                }
            }
            _ => {}
        }
    }
    Ok(form)
}
