//! Files people upload (pet photos, health-record attachments): the pure rules. What may be
//! uploaded for which purpose, how big, what a file's first bytes must be for its declared
//! type, how a filename is made safe, the sizes an image is fitted into, and the message a
//! signed link's HMAC covers. Storage, decoding and signing are `petty-files` and `petty-app`.

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

use crate::validation::{FieldError, Invalid};

/// The most bytes one upload may carry (10 MiB).
pub const MAX_UPLOAD_BYTES: u64 = 10 * 1024 * 1024;
/// How long an upload URL works, in seconds.
pub const UPLOAD_URL_TTL_SECS: i64 = 300;
/// How long a signed link to a file works, in seconds.
pub const SIGNED_LINK_TTL_SECS: i64 = 3600;
/// How long an upload may wait for its confirmation before it is removed, in seconds.
pub const UNCONFIRMED_TTL_SECS: i64 = 24 * 3600;
/// The largest image Petty decodes, in pixels (width × height as stored).
pub const MAX_IMAGE_PIXELS: u64 = 40_000_000;
/// The optimized copy of an image fits in a square of this side (the long side at most this).
pub const OPTIMIZED_MAX_SIDE: u32 = 2048;
/// A thumbnail fits in a square of this side.
pub const THUMBNAIL_MAX_SIDE: u32 = 256;
/// The longest filename kept, in characters (after sanitising).
pub const FILENAME_MAX: usize = 200;
/// The longest filename accepted as sent, in characters (before the path is dropped).
pub const FILENAME_INPUT_MAX: usize = 1024;

/// The types Petty stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContentType {
    Jpeg,
    Png,
    Webp,
    Pdf,
}

impl ContentType {
    pub const ALL: [ContentType; 4] = [ContentType::Jpeg, ContentType::Png, ContentType::Webp, ContentType::Pdf];

    /// The MIME type.
    pub fn as_str(self) -> &'static str {
        match self {
            ContentType::Jpeg => "image/jpeg",
            ContentType::Png => "image/png",
            ContentType::Webp => "image/webp",
            ContentType::Pdf => "application/pdf",
        }
    }

    pub fn is_image(self) -> bool {
        !matches!(self, ContentType::Pdf)
    }

    /// A MIME type as a client declares it: case and surrounding space do not matter, and
    /// neither do parameters (`image/jpeg; charset=binary`). `None` for a type Petty does not store.
    pub fn parse(raw: &str) -> Option<ContentType> {
        let essence = raw.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        let essence = if essence == "image/jpg" { "image/jpeg".to_owned() } else { essence };
        ContentType::ALL.into_iter().find(|t| t.as_str() == essence)
    }

    /// What a file's first bytes say it is, whatever it was called.
    pub fn sniff(bytes: &[u8]) -> Option<ContentType> {
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(ContentType::Jpeg)
        } else if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
            Some(ContentType::Png)
        } else if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP" {
            Some(ContentType::Webp)
        } else if bytes.starts_with(b"%PDF-") {
            Some(ContentType::Pdf)
        } else {
            None
        }
    }

    /// Whether `bytes` begin the way this type's files do.
    pub fn matches(self, bytes: &[u8]) -> bool {
        ContentType::sniff(bytes) == Some(self)
    }

    /// The sentence for a declared type Petty does not store.
    pub fn refusal(field: &str) -> FieldError {
        FieldError::new(
            field,
            "one_of",
            format!(
                "{field} must be one of {}",
                ContentType::ALL.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(", ")
            ),
        )
    }
}

impl fmt::Display for ContentType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a file is for; decides which types it may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Purpose {
    /// A pet's photo: its pet's `photo_url` becomes the file's stable address.
    PetProfilePhoto,
    /// A person's photo.
    UserProfilePhoto,
    /// A scan or photo attached to a health record.
    HealthRecordAttachment,
    /// A catalog listing's photo: the listing's `photo_url` names it by its stable address.
    ListingPhoto,
}

impl Purpose {
    pub const ALL: [Purpose; 4] =
        [Purpose::PetProfilePhoto, Purpose::UserProfilePhoto, Purpose::HealthRecordAttachment, Purpose::ListingPhoto];

    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::PetProfilePhoto => "pet_profile_photo",
            Purpose::UserProfilePhoto => "user_profile_photo",
            Purpose::HealthRecordAttachment => "health_record_attachment",
            Purpose::ListingPhoto => "listing_photo",
        }
    }

    /// Photos are images; an attachment may also be a PDF.
    pub fn allows(self, content_type: ContentType) -> bool {
        match self {
            Purpose::PetProfilePhoto | Purpose::UserProfilePhoto | Purpose::ListingPhoto => content_type.is_image(),
            Purpose::HealthRecordAttachment => true,
        }
    }
}

impl FromStr for Purpose {
    type Err = Invalid;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim().to_ascii_lowercase();
        Purpose::ALL.into_iter().find(|p| p.as_str() == s).ok_or_else(|| {
            Invalid::one(
                "purpose",
                "one_of",
                "purpose must be one of pet_profile_photo, user_profile_photo, health_record_attachment, listing_photo",
            )
        })
    }
}

impl fmt::Display for Purpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A filename made safe to keep and to show: the path a browser may send is dropped (both `/`
/// and `\`), every character outside `[A-Za-z0-9._-]` becomes `_`, at most [`FILENAME_MAX`]
/// characters are kept (the extension with them), and a name of nothing or only dots is `file`.
pub fn sanitize_filename(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or_default().trim();
    let mut name: String =
        base.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '_' }).collect();
    if name.len() > FILENAME_MAX {
        // All ASCII by now, so bytes are characters.
        let extension = name.rfind('.').map(|at| name[at..].to_owned()).filter(|e| e.len() <= 16).unwrap_or_default();
        name.truncate(FILENAME_MAX - extension.len());
        name.push_str(&extension);
    }
    if name.chars().all(|c| c == '.') { "file".to_owned() } else { name }
}

/// Why an upload is refused before any byte is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UploadRefusal {
    /// A field broke a rule.
    Invalid(Invalid),
    /// The declared type is not one Petty stores, or not one the purpose allows.
    UnsupportedType(FieldError),
    /// The declared size is over the limit.
    TooLarge { max_bytes: u64 },
}

impl From<Invalid> for UploadRefusal {
    fn from(invalid: Invalid) -> Self {
        UploadRefusal::Invalid(invalid)
    }
}

/// An upload someone asked to make, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadRequest {
    /// Sanitised ([`sanitize_filename`]).
    pub filename: String,
    pub content_type: ContentType,
    pub purpose: Purpose,
    /// The size the client declared, if it did.
    pub size: Option<u64>,
}

impl UploadRequest {
    /// Checks what a client declares: a filename (any, made safe), a type Petty stores and the
    /// purpose allows (else [`UploadRefusal::UnsupportedType`]), a known purpose, and a size, if
    /// given, from 1 byte to `max_bytes` (over it: [`UploadRefusal::TooLarge`]).
    pub fn parse(
        filename: &str,
        content_type: &str,
        purpose: &str,
        size: Option<i64>,
        max_bytes: u64,
    ) -> Result<UploadRequest, UploadRefusal> {
        let mut errors = Vec::new();
        if filename.trim().is_empty() {
            errors.push(FieldError::new("filename", "required", "filename must not be empty"));
        } else if filename.chars().count() > FILENAME_INPUT_MAX {
            errors.push(FieldError::new(
                "filename",
                "too_long",
                format!("filename must be at most {FILENAME_INPUT_MAX} characters"),
            ));
        }
        let purpose = match purpose.parse::<Purpose>() {
            Ok(p) => Some(p),
            Err(Invalid(e)) => {
                errors.extend(e);
                None
            }
        };
        let size = match size {
            None => None,
            Some(s) if s < 1 => {
                errors.push(FieldError::new("size", "out_of_range", "size must be at least 1 byte"));
                None
            }
            Some(s) => Some(s as u64),
        };
        if !errors.is_empty() {
            return Err(UploadRefusal::Invalid(Invalid(errors)));
        }
        let Some(content_type) = ContentType::parse(content_type) else {
            return Err(UploadRefusal::UnsupportedType(ContentType::refusal("content_type")));
        };
        let purpose = purpose.unwrap_or(Purpose::HealthRecordAttachment);
        if !purpose.allows(content_type) {
            return Err(UploadRefusal::UnsupportedType(FieldError::new(
                "content_type",
                "one_of",
                format!("a {purpose} must be an image (image/jpeg, image/png or image/webp), not {content_type}"),
            )));
        }
        if size.is_some_and(|s| s > max_bytes) {
            return Err(UploadRefusal::TooLarge { max_bytes });
        }
        Ok(UploadRequest { filename: sanitize_filename(filename), content_type, purpose, size })
    }
}

/// Where an upload's bytes are kept until it is confirmed: `uploads/<id>/<filename>`.
pub fn upload_key(id: Uuid, filename: &str) -> String {
    format!("uploads/{id}/{filename}")
}

/// Where a confirmed file's served copy and thumbnail are kept.
pub fn stored_keys(id: Uuid, filename: &str) -> (String, String) {
    (format!("files/{id}/{filename}"), format!("files/{id}/thumbnail-{filename}"))
}

/// A file's stable Petty address (what a pet's `photo_url` holds): `/files/<id>`. Links that
/// work are made from it with a signature.
pub fn stable_url(id: Uuid) -> String {
    format!("/files/{id}")
}

/// The file a stable address names, if it is one.
pub fn parse_stable_url(url: &str) -> Option<Uuid> {
    let rest = url.trim().strip_prefix("/files/")?;
    let id = rest.split(['?', '#']).next().unwrap_or_default().trim_end_matches('/');
    Uuid::parse_str(id).ok().filter(|_| id.len() == 36)
}

/// Which copy of a file a link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Variant {
    /// The file as served (an image's optimized copy, a PDF as uploaded).
    File,
    Thumbnail,
}

impl Variant {
    pub fn as_str(self) -> &'static str {
        match self {
            Variant::File => "file",
            Variant::Thumbnail => "thumbnail",
        }
    }

    /// The link's path, without its signature.
    pub fn path(self, id: Uuid) -> String {
        match self {
            Variant::File => format!("/files/{id}"),
            Variant::Thumbnail => format!("/files/{id}/thumbnail"),
        }
    }
}

/// What a signed link's HMAC covers: a label (so a tag made for another use of the same key
/// is worthless here), the file, the copy and the expiry (Unix seconds), one per line.
pub fn link_message(id: Uuid, variant: Variant, expires_at: i64) -> String {
    format!("petty-file-link\n{id}\n{}\n{expires_at}", variant.as_str())
}

/// When a link made at `now` (Unix seconds) stops working.
pub fn link_expiry(now: i64) -> i64 {
    now.saturating_add(SIGNED_LINK_TTL_SECS)
}

/// Reads a signature sent as hex (either case); `None` when it is not whole bytes of hex.
pub fn parse_hex(raw: &str) -> Option<Vec<u8>> {
    let raw = raw.trim().as_bytes();
    if raw.is_empty() || raw.len() % 2 != 0 || raw.len() > 128 {
        return None;
    }
    let digit = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    raw.chunks(2).map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?)).collect()
}

/// Lower-case hex.
pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0xF)] as char);
    }
    out
}

/// `width × height` fitted into `max_width × max_height`: the aspect kept (rounded to the
/// nearest pixel, at least one), never made larger.
pub fn fit_within(width: u32, height: u32, max_width: u32, max_height: u32) -> (u32, u32) {
    if width == 0 || height == 0 || (width <= max_width && height <= max_height) {
        return (width, height);
    }
    let (w, h, mw, mh) = (u64::from(width), u64::from(height), u64::from(max_width), u64::from(max_height));
    // Scale by the tighter side; the other rounds to the nearest pixel.
    if w * mh >= h * mw {
        (max_width, ((h * mw + w / 2) / w).max(1) as u32)
    } else {
        (((w * mh + h / 2) / h).max(1) as u32, max_height)
    }
}

/// The size an image shows at once its EXIF orientation is applied: orientations 5 to 8 turn
/// it a quarter, swapping width and height.
pub fn oriented_size(width: u32, height: u32, exif_orientation: u8) -> (u32, u32) {
    if (5..=8).contains(&exif_orientation) { (height, width) } else { (width, height) }
}

/// Whether an image of this many pixels may be decoded.
pub fn pixels_allowed(width: u32, height: u32) -> bool {
    u64::from(width) * u64::from(height) <= MAX_IMAGE_PIXELS
}

/// `3.4 MB`, `512 KB`, `17 bytes`: a size as people read it (decimal units).
pub fn human_size(bytes: u64) -> String {
    match bytes {
        0..1_000 => format!("{bytes} {}", if bytes == 1 { "byte" } else { "bytes" }),
        1_000..1_000_000 => format!("{:.0} KB", bytes as f64 / 1e3),
        1_000_000..1_000_000_000 => format!("{:.1} MB", bytes as f64 / 1e6),
        _ => format!("{:.2} GB", bytes as f64 / 1e9),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_bytes_name_the_type() {
        assert_eq!(ContentType::sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0]), Some(ContentType::Jpeg));
        assert_eq!(ContentType::sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), Some(ContentType::Png));
        assert_eq!(ContentType::sniff(b"RIFF\x10\0\0\0WEBPVP8 "), Some(ContentType::Webp));
        assert_eq!(ContentType::sniff(b"%PDF-1.7\n"), Some(ContentType::Pdf));
        assert_eq!(ContentType::sniff(b"RIFF\x10\0\0\0WAVEfmt "), None, "a WAV file is RIFF too");
        assert_eq!(ContentType::sniff(b"<html>"), None);
        assert_eq!(ContentType::sniff(b""), None);
        assert!(!ContentType::Png.matches(&[0xFF, 0xD8, 0xFF]));
        assert!(ContentType::Jpeg.matches(&[0xFF, 0xD8, 0xFF, 0xDB]));
    }

    #[test]
    fn declared_types_are_read_leniently_and_only_four_are_stored() {
        assert_eq!(ContentType::parse(" Image/JPEG "), Some(ContentType::Jpeg));
        assert_eq!(ContentType::parse("image/jpg"), Some(ContentType::Jpeg));
        assert_eq!(ContentType::parse("application/pdf; charset=binary"), Some(ContentType::Pdf));
        assert_eq!(ContentType::parse("image/gif"), None);
        assert_eq!(ContentType::parse("text/html"), None);
    }

    #[test]
    fn filenames_lose_their_path_and_odd_characters() {
        assert_eq!(sanitize_filename("C:\\Users\\ana\\Bella at the beach.JPG"), "Bella_at_the_beach.JPG");
        assert_eq!(sanitize_filename("../../etc/passwd"), "passwd");
        assert_eq!(sanitize_filename("vaccination (2026)‽.pdf"), "vaccination__2026__.pdf");
        assert_eq!(sanitize_filename(".."), "file");
        assert_eq!(sanitize_filename("dir/"), "file");
        assert_eq!(sanitize_filename("ok-name_1.png"), "ok-name_1.png");
        let long = format!("{}.jpeg", "a".repeat(300));
        let kept = sanitize_filename(&long);
        assert_eq!(kept.len(), FILENAME_MAX);
        assert!(kept.ends_with("a.jpeg"), "{kept}");
    }

    #[test]
    fn an_upload_request_is_checked_field_by_field() {
        let ok = UploadRequest::parse("a/b/Bella.jpg", "image/jpeg", "pet_profile_photo", Some(1000), MAX_UPLOAD_BYTES)
            .unwrap();
        assert_eq!(ok.filename, "Bella.jpg");
        assert_eq!(ok.purpose, Purpose::PetProfilePhoto);
        assert_eq!(ok.size, Some(1000));
        let Err(UploadRefusal::UnsupportedType(e)) =
            UploadRequest::parse("x.gif", "image/gif", "health_record_attachment", None, MAX_UPLOAD_BYTES)
        else {
            panic!("a GIF is not stored")
        };
        assert_eq!(e.field, "content_type");
        let Err(UploadRefusal::UnsupportedType(e)) =
            UploadRequest::parse("x.pdf", "application/pdf", "pet_profile_photo", None, MAX_UPLOAD_BYTES)
        else {
            panic!("a photo is an image")
        };
        assert!(e.message.contains("image"), "{}", e.message);
        assert!(
            UploadRequest::parse("x.pdf", "application/pdf", "health_record_attachment", None, MAX_UPLOAD_BYTES)
                .is_ok()
        );
        assert_eq!(
            UploadRequest::parse(
                "x.png",
                "image/png",
                "user_profile_photo",
                Some(MAX_UPLOAD_BYTES as i64 + 1),
                MAX_UPLOAD_BYTES
            ),
            Err(UploadRefusal::TooLarge { max_bytes: MAX_UPLOAD_BYTES })
        );
        assert!(
            UploadRequest::parse(
                "x.png",
                "image/png",
                "user_profile_photo",
                Some(MAX_UPLOAD_BYTES as i64),
                MAX_UPLOAD_BYTES
            )
            .is_ok()
        );
        let Err(UploadRefusal::Invalid(Invalid(errors))) =
            UploadRequest::parse(" ", "image/png", "selfie", Some(0), MAX_UPLOAD_BYTES)
        else {
            panic!("three bad fields")
        };
        let fields: Vec<_> = errors.iter().map(|e| (e.field.as_str(), e.rule)).collect();
        assert_eq!(fields, [("filename", "required"), ("purpose", "one_of"), ("size", "out_of_range")]);
    }

    #[test]
    fn images_fit_without_growing() {
        assert_eq!(fit_within(4000, 3000, OPTIMIZED_MAX_SIDE, OPTIMIZED_MAX_SIDE), (2048, 1536));
        assert_eq!(fit_within(3000, 4000, OPTIMIZED_MAX_SIDE, OPTIMIZED_MAX_SIDE), (1536, 2048));
        assert_eq!(fit_within(2048, 1536, THUMBNAIL_MAX_SIDE, THUMBNAIL_MAX_SIDE), (256, 192));
        assert_eq!(fit_within(1536, 2048, THUMBNAIL_MAX_SIDE, THUMBNAIL_MAX_SIDE), (192, 256));
        assert_eq!(fit_within(100, 50, THUMBNAIL_MAX_SIDE, THUMBNAIL_MAX_SIDE), (100, 50), "never upscaled");
        assert_eq!(fit_within(10_000, 10, 256, 256), (256, 1), "at least a pixel");
        assert_eq!(fit_within(4032, 3024, 256, 256), (256, 192));
        assert_eq!(oriented_size(4000, 3000, 6), (3000, 4000));
        assert_eq!(oriented_size(4000, 3000, 3), (4000, 3000));
        assert!(pixels_allowed(8000, 5000));
        assert!(!pixels_allowed(8000, 5001));
    }

    #[test]
    fn stable_urls_and_link_messages() {
        let id = Uuid::parse_str("0190a6f2-8b3c-7def-8123-456789abcdef").unwrap();
        assert_eq!(parse_stable_url(&stable_url(id)), Some(id));
        assert_eq!(parse_stable_url("/files/0190a6f2-8b3c-7def-8123-456789abcdef?exp=1&sig=ab"), Some(id));
        assert_eq!(parse_stable_url("https://example.org/bella.jpg"), None);
        assert_eq!(parse_stable_url("/files/not-an-id"), None);
        assert_eq!(Variant::Thumbnail.path(id), "/files/0190a6f2-8b3c-7def-8123-456789abcdef/thumbnail");
        assert_ne!(link_message(id, Variant::File, 10), link_message(id, Variant::Thumbnail, 10));
        assert_ne!(link_message(id, Variant::File, 10), link_message(id, Variant::File, 11));
        assert_eq!(link_expiry(1_000), 4_600);
        assert_eq!(upload_key(id, "a.png"), "uploads/0190a6f2-8b3c-7def-8123-456789abcdef/a.png");
    }

    #[test]
    fn hex_round_trips_and_refuses_what_is_not_hex() {
        assert_eq!(to_hex(&[0x00, 0xAB, 0xFF]), "00abff");
        assert_eq!(parse_hex("00ABff"), Some(vec![0x00, 0xAB, 0xFF]));
        assert_eq!(parse_hex("abc"), None);
        assert_eq!(parse_hex("zz"), None);
        assert_eq!(parse_hex(""), None);
    }

    #[test]
    fn sizes_read_as_people_say_them() {
        assert_eq!(human_size(1), "1 byte");
        assert_eq!(human_size(999), "999 bytes");
        assert_eq!(human_size(512_000), "512 KB");
        assert_eq!(human_size(3_400_000), "3.4 MB");
    }
}
