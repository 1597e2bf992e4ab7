//! Uploads over HTTP (issue 14): an upload URL, the bytes, the confirmation; what is served
//! behind signed links (sizes with EXIF orientation, no GPS left); refusals (bytes that are not
//! their declared type, a virus through a clamd fake that speaks `INSTREAM`, too many bytes, a
//! used or expired URL, a forged or expired link); the sweep of unconfirmed uploads; storage
//! use per household; the dashboard's photo form; and the same flows on S3 against a real
//! S3-protocol server (`PETTY_TEST_S3_ENDPOINT`, default `http://127.0.0.1:9000`, which
//! `.ci/run` starts).

use std::io::Cursor;
use std::time::Duration;

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::{ExtendedColorType, ImageEncoder, Rgb, RgbImage};
use petty_app::files::{S3Config, StorageConfig};
use petty_jobs::Job as _;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::harness::{Account, TestApp, error_code, spawn_app, spawn_app_with};

const MARKER: &str = "PETTY-GPS-MARKER";
const EICAR: &str = r"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

/// A `w × h` JPEG: red on the left half, blue on the right, a gradient down.
pub(crate) fn jpeg(w: u32, h: u32) -> Vec<u8> {
    let image = RgbImage::from_fn(w, h, |x, y| {
        let shade = (y * 200 / h) as u8;
        if x < w / 2 { Rgb([230, shade, 20]) } else { Rgb([20, shade, 230]) }
    });
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, 80).write_image(&image, w, h, ExtendedColorType::Rgb8).unwrap();
    out
}

pub(crate) fn png(w: u32, h: u32) -> Vec<u8> {
    let image = RgbImage::from_pixel(w, h, Rgb([10, 120, 200]));
    let mut out = Vec::new();
    PngEncoder::new(&mut out).write_image(&image, w, h, ExtendedColorType::Rgb8).unwrap();
    out
}

/// `jpeg` with an EXIF segment after SOI: the orientation, and a GPS directory (latitude
/// reference "N" and a map datum of [`MARKER`], so its leaving shows).
pub(crate) fn with_exif(jpeg: &[u8], orientation: u16) -> Vec<u8> {
    let entry = |tag: u16, kind: u16, count: u32, value: [u8; 4]| {
        let mut e = tag.to_be_bytes().to_vec();
        e.extend_from_slice(&kind.to_be_bytes());
        e.extend_from_slice(&count.to_be_bytes());
        e.extend_from_slice(&value);
        e
    };
    let mut tiff = b"MM\0\x2a\0\0\0\x08".to_vec();
    // IFD0 at 8: orientation and the GPS directory's offset (38).
    tiff.extend_from_slice(&2u16.to_be_bytes());
    let o = orientation.to_be_bytes();
    tiff.extend(entry(0x0112, 3, 1, [o[0], o[1], 0, 0]));
    tiff.extend(entry(0x8825, 4, 1, 38u32.to_be_bytes()));
    tiff.extend_from_slice(&0u32.to_be_bytes());
    // The GPS directory at 38, its datum's text at 68.
    tiff.extend_from_slice(&2u16.to_be_bytes());
    tiff.extend(entry(0x0001, 2, 2, *b"N\0\0\0"));
    tiff.extend(entry(0x0012, 2, MARKER.len() as u32 + 1, 68u32.to_be_bytes()));
    tiff.extend_from_slice(&0u32.to_be_bytes());
    assert_eq!(tiff.len(), 68);
    tiff.extend_from_slice(MARKER.as_bytes());
    tiff.push(0);
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&tiff);
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&u16::try_from(app1.len() + 2).unwrap().to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&jpeg[2..]);
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// `POST /api/v1/uploads`.
async fn ask(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    app.post_json("/api/v1/uploads", &body, Some(token)).await
}

pub(crate) async fn upload_url(app: &TestApp, token: &str, filename: &str, content_type: &str, purpose: &str) -> Value {
    let res = ask(app, token, json!({"filename": filename, "content_type": content_type, "purpose": purpose})).await;
    assert_eq!(res.status(), StatusCode::OK, "an upload URL");
    res.json().await.unwrap()
}

/// The URL to `PUT` to: Petty's own on this test server (the answer names the configured
/// public address), or S3's as it is.
fn target(app: &TestApp, upload_url: &str) -> String {
    match upload_url.find("/api/v1/uploads/") {
        Some(at) => app.url(&upload_url[at..]),
        None => upload_url.to_owned(),
    }
}

async fn put(app: &TestApp, made: &Value, content_type: &str, bytes: Vec<u8>) -> reqwest::Response {
    let url = target(app, made["upload_url"].as_str().unwrap());
    app.client.put(url).header("content-type", content_type).body(bytes).send().await.unwrap()
}

async fn confirm(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    app.post_json("/api/v1/uploads/confirm", &body, Some(token)).await
}

/// The three steps, each expected to succeed; answers the confirmed file.
pub(crate) async fn upload(
    app: &TestApp,
    token: &str,
    (filename, content_type, purpose): (&str, &str, &str),
    bytes: Vec<u8>,
    pet_id: Option<&str>,
) -> Value {
    let made = upload_url(app, token, filename, content_type, purpose).await;
    let res = put(app, &made, content_type, bytes).await;
    assert!(res.status().is_success(), "the bytes are taken: {} {}", res.status(), res.text().await.unwrap());
    let res = confirm(app, token, json!({"file_key": made["file_key"], "purpose": purpose, "pet_id": pet_id})).await;
    let status = res.status();
    let body: Value = res.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "confirmed: {body}");
    body
}

/// A signed link, fetched as an `<img>` would (no credentials).
async fn fetch(app: &TestApp, link: &str) -> reqwest::Response {
    app.client.get(app.url(link)).send().await.unwrap()
}

async fn served(app: &TestApp, link: &str) -> (reqwest::header::HeaderMap, Vec<u8>) {
    let res = fetch(app, link).await;
    assert_eq!(res.status(), StatusCode::OK, "{link}");
    let headers = res.headers().clone();
    (headers, res.bytes().await.unwrap().to_vec())
}

pub(crate) fn dimensions(bytes: &[u8]) -> (u32, u32) {
    let image = image::ImageReader::new(Cursor::new(bytes)).with_guessed_format().unwrap().decode().unwrap();
    (image.width(), image.height())
}

async fn pet(app: &TestApp, owner: &Account, name: &str) -> String {
    let pet = app.create_pet(&owner.access_token, json!({"name": name, "species": "dog"})).await;
    pet["id"].as_str().unwrap().to_owned()
}

/// The sizes of the issue, served as confirmed, with nothing of the original's metadata.
async fn images_are_fitted_oriented_and_stripped_on(app: &TestApp) {
    let ana = app.register("Ana").await;
    let bella = pet(app, &ana, "Bella").await;
    let t = &ana.access_token;
    let upright = jpeg(4000, 3000);
    let turned = with_exif(&upright, 6);
    assert!(contains(&turned, MARKER.as_bytes()), "the upload carries the GPS directory");
    let cases = [
        ("landscape.jpg", "image/jpeg", upright, (2048, 1536), (256, 192)),
        ("turned.jpg", "image/jpeg", turned, (1536, 2048), (192, 256)),
        ("small.png", "image/png", png(100, 50), (100, 50), (100, 50)),
    ];
    for (name, content_type, bytes, size, thumbnail) in cases {
        let file = upload(app, t, (name, content_type, "pet_profile_photo"), bytes, Some(&bella)).await;
        assert_eq!(
            (file["width"].as_u64(), file["height"].as_u64()),
            (Some(size.0.into()), Some(size.1.into())),
            "{name}"
        );
        assert_eq!(
            (file["thumbnail_width"].as_u64(), file["thumbnail_height"].as_u64()),
            (Some(thumbnail.0.into()), Some(thumbnail.1.into())),
            "{name}"
        );
        assert_eq!((file["processed"].as_bool(), file["content_type"].as_str()), (Some(true), Some(content_type)));
        let (headers, body) = served(app, file["url"].as_str().unwrap()).await;
        assert_eq!(headers["content-type"], content_type, "{name}");
        assert!(headers["cache-control"].to_str().unwrap().starts_with("private"), "{name}");
        assert!(headers["content-disposition"].to_str().unwrap().starts_with("inline"), "{name}");
        assert_eq!(body.len() as u64, file["size"].as_u64().unwrap());
        assert_eq!(dimensions(&body), size, "{name} as served");
        let (_, thumb) = served(app, file["thumbnail_url"].as_str().unwrap()).await;
        assert_eq!(dimensions(&thumb), thumbnail, "{name}'s thumbnail as served");
        for copy in [&body, &thumb] {
            assert!(!contains(copy, MARKER.as_bytes()) && !contains(copy, b"Exif\0\0"), "{name}: metadata left");
        }
        // The photo is the pet's, at its stable address.
        let pet: Value = app.get(&format!("/api/v1/pets/{bella}"), Some(t)).await.json().await.unwrap();
        assert_eq!(pet["photo_url"], format!("/files/{}", file["id"].as_str().unwrap()));
    }
    // Each new photo replaced the one before: one photo is kept.
    let files: Value = app.get(&format!("/api/v1/files?pet_id={bella}"), Some(t)).await.json().await.unwrap();
    assert_eq!(files["total"], 1, "{files}");
    assert_eq!(files["items"][0]["filename"], "small.png");
}

/// The server keeps an idle connection for a minute, not 5 s: these tests pause longer than
/// that between requests on a busy machine (making and reading 12-megapixel photos), and a
/// request sent on a connection the server is closing that moment fails on the client.
pub(crate) fn patient(config: &mut petty_http::HttpConfig) {
    config.idle_timeout = Duration::from_secs(60);
}

#[tokio::test]
async fn images_are_fitted_oriented_and_stripped_of_their_metadata() {
    images_are_fitted_oriented_and_stripped_on(&spawn_app_with(patient).await).await;
}

#[tokio::test]
async fn a_pdf_is_an_attachment_without_a_thumbnail_and_the_rules_are_checked() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let t = &ana.access_token;
    let pdf = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n".to_vec();
    let made =
        upload_url(&app, t, "C:\\scans\\Rabies shot (2026).pdf", "application/pdf", "health_record_attachment").await;
    assert_eq!(made["method"], "PUT");
    assert_eq!(made["expires_in"], 300);
    assert_eq!(made["max_file_size"], 10_485_760);
    let key = made["file_key"].as_str().unwrap();
    assert!(key.starts_with("uploads/") && key.ends_with("/Rabies_shot__2026_.pdf"), "{key}");
    assert_eq!(made["fields"]["key"], key);
    assert_eq!(made["fields"]["Content-Type"], "application/pdf");
    assert_eq!(put(&app, &made, "application/pdf", pdf.clone()).await.status(), StatusCode::NO_CONTENT);
    let bella = pet(&app, &ana, "Bella").await;
    let record: Value = app
        .post_json(
            &format!("/api/v1/pets/{bella}/records"),
            &json!({"kind": "vaccination", "title": "Rabies", "date": "2026-01-10"}),
            Some(t),
        )
        .await
        .json()
        .await
        .unwrap();
    let record = record["id"].as_str().expect("a record").to_owned();
    let attach =
        |record: String| json!({"file_key": key, "purpose": "health_record_attachment", "health_record_id": record});
    let res = confirm(&app, t, attach(uuid::Uuid::now_v7().to_string())).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND, "a record of nobody's");
    let res = confirm(&app, t, attach(record.clone())).await;
    assert_eq!(res.status(), StatusCode::OK);
    let file: Value = res.json().await.unwrap();
    assert_eq!((file["width"].clone(), file["thumbnail_url"].clone()), (Value::Null, Value::Null));
    assert_eq!(file["health_record_id"], record);
    assert_eq!(file["pet_id"], bella, "an attachment is its record's pet's too");
    let (headers, body) = served(&app, file["url"].as_str().unwrap()).await;
    assert_eq!(body, pdf);
    assert_eq!(headers["content-type"], "application/pdf");
    assert_eq!(headers["content-disposition"], "attachment; filename=\"Rabies_shot__2026_.pdf\"");
    let thumbnail = file["url"].as_str().unwrap().replace("?", "/thumbnail?");
    assert_eq!(
        fetch(&app, &thumbnail).await.status(),
        StatusCode::FORBIDDEN,
        "the signature is the file's, not a thumbnail's"
    );
    let listed: Value =
        app.get(&format!("/api/v1/files?health_record_id={record}"), Some(t)).await.json().await.unwrap();
    assert_eq!(listed["total"], 1);
    let res = confirm(&app, t, json!({"file_key": key, "purpose": "health_record_attachment"})).await;
    assert_eq!(res.status(), StatusCode::CONFLICT, "confirmed once");
    // The record's deletion takes its attachments with it.
    let res = app.client.delete(app.url(&format!("/api/v1/records/{record}"))).bearer_auth(t).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(fetch(&app, file["url"].as_str().unwrap()).await.status(), StatusCode::NOT_FOUND);
    assert!(!app.dir.join("files").join(key).exists(), "its bytes went too");

    // What is refused before anything is sent.
    for (body, status, field) in [
        (
            json!({"filename": "a.gif", "content_type": "image/gif", "purpose": "health_record_attachment"}),
            415,
            "content_type",
        ),
        (
            json!({"filename": "a.pdf", "content_type": "application/pdf", "purpose": "pet_profile_photo"}),
            415,
            "content_type",
        ),
        (json!({"filename": "a.png", "content_type": "image/png", "purpose": "selfie"}), 422, "purpose"),
        (
            json!({"filename": "a.png", "content_type": "image/png", "purpose": "user_profile_photo", "size": 10_485_761}),
            413,
            "file",
        ),
    ] {
        let (got, error) = error_code(ask(&app, t, body.clone()).await).await;
        assert_eq!(got.as_u16(), status, "{body}: {error}");
        assert_eq!(error["details"][0]["field"], field, "{body}: {error}");
    }
    // A photo names its pet, of this household.
    let made = upload_url(&app, t, "p.png", "image/png", "pet_profile_photo").await;
    assert_eq!(put(&app, &made, "image/png", png(10, 10)).await.status(), StatusCode::NO_CONTENT);
    let (status, error) =
        error_code(confirm(&app, t, json!({"file_key": made["file_key"], "purpose": "pet_profile_photo"})).await).await;
    assert_eq!((status, error["details"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("pet_id")));
    let bo = app.register("Bo").await;
    let bos_pet = pet(&app, &bo, "Rex").await;
    let res =
        confirm(&app, t, json!({"file_key": made["file_key"], "purpose": "pet_profile_photo", "pet_id": bos_pet}))
            .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND, "another household's pet");
    let res = confirm(
        &app,
        &bo.access_token,
        json!({"file_key": made["file_key"], "purpose": "pet_profile_photo", "pet_id": bos_pet}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND, "another household's upload");
}

#[tokio::test]
async fn bytes_that_are_not_their_declared_type_are_refused_and_deleted() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let t = &ana.access_token;
    let made = upload_url(&app, t, "photo.png", "image/png", "user_profile_photo").await;
    // The Content-Type of the upload must be the declared one; that refusal keeps the URL.
    let (status, _) = error_code(put(&app, &made, "image/jpeg", jpeg(64, 64)).await).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // Declared a PNG, sent as one, but a JPEG's bytes.
    assert_eq!(put(&app, &made, "image/png", jpeg(64, 64)).await.status(), StatusCode::NO_CONTENT);
    let key = made["file_key"].as_str().unwrap();
    let stored = app.dir.join("files").join(key);
    assert!(stored.exists(), "the bytes arrived at {}", stored.display());
    let (status, error) =
        error_code(confirm(&app, t, json!({"file_key": key, "purpose": "user_profile_photo"})).await).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{error}");
    assert_eq!(error["details"][0]["rule"], "magic_bytes");
    assert!(!stored.exists(), "deleted");
    let res = confirm(&app, t, json!({"file_key": key, "purpose": "user_profile_photo"})).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND, "nothing is left of it");
    let use_: Value = app.get("/api/v1/storage", Some(t)).await.json().await.unwrap();
    assert_eq!((use_["files"].as_u64(), use_["pending_uploads"].as_u64()), (Some(0), Some(0)));
}

/// A clamd fake at the wire: `zINSTREAM\0`, length-prefixed chunks, a zero chunk; it answers
/// FOUND when the bytes carry the EICAR test signature, OK otherwise.
async fn clamd_fake() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut command = [0u8; 10];
                if socket.read_exact(&mut command).await.is_err() || &command != b"zINSTREAM\0" {
                    let _ = socket.write_all(b"UNKNOWN COMMAND\0").await;
                    return;
                }
                let mut data = Vec::new();
                loop {
                    let mut length = [0u8; 4];
                    if socket.read_exact(&mut length).await.is_err() {
                        return;
                    }
                    let length = u32::from_be_bytes(length) as usize;
                    if length == 0 {
                        break;
                    }
                    let mut chunk = vec![0u8; length];
                    if socket.read_exact(&mut chunk).await.is_err() {
                        return;
                    }
                    data.extend_from_slice(&chunk);
                }
                let infected = contains(&data, b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE");
                let reply: &[u8] = if infected { b"stream: Eicar-Test-Signature FOUND\0" } else { b"stream: OK\0" };
                let _ = socket.write_all(reply).await;
            });
        }
    });
    address
}

#[tokio::test]
async fn an_infected_file_is_refused_and_deleted_and_a_silent_scanner_keeps_it_pending() {
    let clamd = clamd_fake().await;
    let app = spawn_app_with(|c| c.files.clamd = Some(clamd)).await;
    let ana = app.register("Ana").await;
    let t = &ana.access_token;
    let infected = format!("%PDF-1.4\n{EICAR}\n").into_bytes();
    let made = upload_url(&app, t, "virus.pdf", "application/pdf", "health_record_attachment").await;
    assert_eq!(put(&app, &made, "application/pdf", infected).await.status(), StatusCode::NO_CONTENT);
    let key = made["file_key"].as_str().unwrap();
    let (status, error) =
        error_code(confirm(&app, t, json!({"file_key": key, "purpose": "health_record_attachment"})).await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error["details"][0]["rule"], "virus_scan");
    assert_eq!(error["message"], "File failed the virus scan; it was deleted");
    assert!(!app.dir.join("files").join(key).exists(), "deleted");
    let clean = upload(
        &app,
        t,
        ("clean.pdf", "application/pdf", "health_record_attachment"),
        b"%PDF-1.4\nfine\n".to_vec(),
        None,
    )
    .await;
    assert_eq!(clean["size"], 14);

    // No scanner answering: the upload is kept, pending, to be confirmed again.
    let silent = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().to_string()
    };
    let app = spawn_app_with(|c| c.files.clamd = Some(silent)).await;
    let ana = app.register("Ana").await;
    let made = upload_url(&app, &ana.access_token, "a.pdf", "application/pdf", "health_record_attachment").await;
    assert_eq!(put(&app, &made, "application/pdf", b"%PDF-1.4\n".to_vec()).await.status(), StatusCode::NO_CONTENT);
    let res =
        confirm(&app, &ana.access_token, json!({"file_key": made["file_key"], "purpose": "health_record_attachment"}))
            .await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(app.dir.join("files").join(made["file_key"].as_str().unwrap()).exists(), "kept");
}

#[tokio::test]
async fn links_are_signed_expire_and_a_deleted_file_is_gone() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let t = &ana.access_token;
    let file = upload(&app, t, ("a.png", "image/png", "user_profile_photo"), png(20, 10), None).await;
    let link = file["url"].as_str().unwrap().to_owned();
    let id = file["id"].as_str().unwrap();
    assert!(link.starts_with(&format!("/files/{id}?exp=")) && link.contains("&sig="), "{link}");
    assert_eq!(fetch(&app, &link).await.status(), StatusCode::OK);
    // Another signature, none, another file's, a later expiry: refused.
    let forged = format!("{}{}", &link[..link.len() - 1], if link.ends_with('0') { '1' } else { '0' });
    let (base, query) = link.split_once('?').unwrap();
    let expiry: i64 = query.split('&').find_map(|p| p.strip_prefix("exp=")).unwrap().parse().unwrap();
    let signature = query.split('&').find_map(|p| p.strip_prefix("sig=")).unwrap();
    let other = uuid::Uuid::now_v7();
    for bad in [
        forged,
        base.to_owned(),
        format!("/files/{other}?{query}"),
        format!("{base}?exp={}&sig={signature}", expiry + 3600),
        format!("{base}?exp=soon&sig={signature}"),
    ] {
        let (status, error) = error_code(fetch(&app, &bad).await).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{bad}: {error}");
    }
    // An hour later the link is spent; the API hands out fresh ones.
    app.state.app.clock.advance(Duration::from_secs(3601));
    assert_eq!(fetch(&app, &link).await.status(), StatusCode::FORBIDDEN, "expired");
    let again: Value = app.get(&format!("/api/v1/files/{id}"), Some(t)).await.json().await.unwrap();
    let fresh = again["url"].as_str().unwrap().to_owned();
    assert_ne!(fresh, link);
    assert_eq!(fetch(&app, &fresh).await.status(), StatusCode::OK);
    // Deleted: its links find nothing, and neither does the API.
    let bo = app.register("Bo").await;
    let res =
        app.client.delete(app.url(&format!("/api/v1/files/{id}"))).bearer_auth(&bo.access_token).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND, "not Bo's");
    let res = app.client.delete(app.url(&format!("/api/v1/files/{id}"))).bearer_auth(t).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(fetch(&app, &fresh).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.get(&format!("/api/v1/files/{id}"), Some(t)).await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_one_time_url_works_once_within_five_minutes_and_too_much_is_not_kept() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let t = &ana.access_token;
    let made = upload_url(&app, t, "a.png", "image/png", "user_profile_photo").await;
    let stored = app.dir.join("files").join(made["file_key"].as_str().unwrap());
    // Over 10 MiB, declared or not: refused, nothing kept, the URL still good.
    let too_much = vec![0u8; 10 * 1024 * 1024 + 1];
    let (status, _) = error_code(put(&app, &made, "image/png", too_much).await).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let url = target(&app, made["upload_url"].as_str().unwrap());
    let chunks = futures_util::stream::iter((0..11).map(|_| Ok::<_, std::io::Error>(vec![0u8; 1024 * 1024])));
    let res = app
        .client
        .put(&url)
        .header("content-type", "image/png")
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE, "a chunked body is counted as it comes");
    assert!(!stored.exists(), "nothing kept");
    assert_eq!(put(&app, &made, "image/png", png(8, 8)).await.status(), StatusCode::NO_CONTENT);
    let (status, error) = error_code(put(&app, &made, "image/png", png(8, 8)).await).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a second use: {error}");
    // Five minutes after it was made, a URL is spent.
    let late = upload_url(&app, t, "b.png", "image/png", "user_profile_photo").await;
    app.state.app.clock.advance(Duration::from_secs(301));
    assert_eq!(put(&app, &late, "image/png", png(8, 8)).await.status(), StatusCode::FORBIDDEN);
    let (status, _) =
        error_code(app.client.put(app.url("/api/v1/uploads/up_not-a-token")).body("x").send().await.unwrap()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // A declared size is the size.
    let sized = ask(
        &app,
        t,
        json!({"filename": "c.png", "content_type": "image/png", "purpose": "user_profile_photo", "size": 10}),
    )
    .await;
    let sized: Value = sized.json().await.unwrap();
    let (status, error) = error_code(put(&app, &sized, "image/png", png(8, 8)).await).await;
    assert_eq!((status, error["details"][0]["rule"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("size")));
}

#[tokio::test]
async fn an_upload_url_also_takes_the_s3_post_form() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let made = upload_url(&app, &ana.access_token, "scan.pdf", "application/pdf", "health_record_attachment").await;
    let boundary = "petty-form-boundary-31";
    let part = |name: &str, value: &str| {
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
    };
    let form = |content_type: &str| {
        let mut body = part("key", made["fields"]["key"].as_str().unwrap());
        body.push_str(&part("Content-Type", content_type));
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"scan.pdf\"\r\n\
             Content-Type: application/pdf\r\n\r\n%PDF-1.4\nform\n\r\n--{boundary}--\r\n"
        ));
        body
    };
    let url = target(&app, made["upload_url"].as_str().unwrap());
    let post = |body: String| {
        app.client
            .post(&url)
            .header("content-type", format!("multipart/form-data; boundary={boundary}"))
            .body(body)
            .send()
    };
    let (status, _) = error_code(post(form("image/png")).await.unwrap()).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "the declared type, in its field");
    assert_eq!(post(form("application/pdf")).await.unwrap().status(), StatusCode::NO_CONTENT);
    assert_eq!(post(form("application/pdf")).await.unwrap().status(), StatusCode::FORBIDDEN, "once");
    let res =
        confirm(&app, &ana.access_token, json!({"file_key": made["file_key"], "purpose": "health_record_attachment"}))
            .await;
    let file: Value = res.json().await.unwrap();
    let (_, body) = served(&app, file["url"].as_str().unwrap()).await;
    assert_eq!(body, b"%PDF-1.4\nform\n");
}

#[tokio::test]
async fn unconfirmed_uploads_are_swept_after_a_day_and_storage_is_per_household() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let bo = app.register("Bo").await;
    let kept =
        upload(&app, &ana.access_token, ("kept.png", "image/png", "user_profile_photo"), png(300, 300), None).await;
    let forgotten = upload_url(&app, &ana.access_token, "forgotten.png", "image/png", "user_profile_photo").await;
    assert_eq!(put(&app, &forgotten, "image/png", png(8, 8)).await.status(), StatusCode::NO_CONTENT);
    let stored = app.dir.join("files").join(forgotten["file_key"].as_str().unwrap());
    assert!(stored.exists());
    upload(
        &app,
        &bo.access_token,
        ("bo.pdf", "application/pdf", "health_record_attachment"),
        b"%PDF-1.4\nbo\n".to_vec(),
        None,
    )
    .await;

    let ana_use: Value = app.get("/api/v1/storage", Some(&ana.access_token)).await.json().await.unwrap();
    assert_eq!((ana_use["files"].as_u64(), ana_use["pending_uploads"].as_u64()), (Some(1), Some(1)));
    let kept_bytes = ana_use["bytes"].as_u64().unwrap();
    assert!(kept_bytes > kept["size"].as_u64().unwrap(), "the thumbnail counts too: {ana_use}");
    let bo_use: Value = app.get("/api/v1/storage", Some(&bo.access_token)).await.json().await.unwrap();
    assert_eq!((bo_use["files"].as_u64(), bo_use["bytes"].as_u64()), (Some(1), Some(12)));
    let bos: Value = app.get("/api/v1/files", Some(&bo.access_token)).await.json().await.unwrap();
    assert_eq!(bos["total"], 1, "Bo lists Bo's only");
    let id = kept["id"].as_str().unwrap();
    assert_eq!(app.get(&format!("/api/v1/files/{id}"), Some(&bo.access_token)).await.status(), StatusCode::NOT_FOUND);

    let sweep = petty_jobs::files::SweepUploads;
    assert_eq!(sweep.run_once(&app.state.app, app.state.app.now()).await.unwrap(), 0, "a fresh upload stays");
    app.state.app.clock.advance(Duration::from_secs(25 * 3600));
    assert_eq!(sweep.run_once(&app.state.app, app.state.app.now()).await.unwrap(), 1);
    assert!(!stored.exists(), "its bytes went");
    let res =
        confirm(&app, &ana.access_token, json!({"file_key": forgotten["file_key"], "purpose": "user_profile_photo"}))
            .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let ana_use: Value = app.get("/api/v1/storage", Some(&ana.access_token)).await.json().await.unwrap();
    assert_eq!(
        (ana_use["files"].as_u64(), ana_use["bytes"].as_u64(), ana_use["pending_uploads"].as_u64()),
        (Some(1), Some(kept_bytes), Some(0))
    );

    // A pet's deletion takes its files with it.
    let rex = pet(&app, &bo, "Rex").await;
    let photo =
        upload(&app, &bo.access_token, ("rex.png", "image/png", "pet_profile_photo"), png(40, 40), Some(&rex)).await;
    let res =
        app.client.delete(app.url(&format!("/api/v1/pets/{rex}"))).bearer_auth(&bo.access_token).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(fetch(&app, photo["url"].as_str().unwrap()).await.status(), StatusCode::NOT_FOUND);
    let bo_use: Value = app.get("/api/v1/storage", Some(&bo.access_token)).await.json().await.unwrap();
    assert_eq!(bo_use["files"], 1);
}

/// A multipart body of a CSRF field and a file field.
pub(crate) fn multipart(csrf: &str, filename: &str, content_type: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "petty-test-boundary-7d1a";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n--{boundary}\r\n\
         Content-Disposition: form-data; name=\"photo\"; filename=\"{filename}\"\r\nContent-Type: {content_type}\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[tokio::test]
async fn a_photo_uploaded_on_the_dashboard_shows_on_the_pet_pages_and_the_storage_is_told() {
    use crate::pages::{add_pet_through_form, browser, csrf_in, get_page, location, register_through_form};
    let app = spawn_app().await;
    let client = browser();
    register_through_form(&app, &client, "Ana").await;
    add_pet_through_form(&app, &client, &[("name", "Bella"), ("species", "dog")]).await;
    let (_, household) = get_page(&app, &client, "/household").await;
    let at = household.find("aria-labelledby=\"pet-").unwrap() + "aria-labelledby=\"pet-".len();
    let pet_id = household[at..at + 36].to_owned();
    let (status, edit) = get_page(&app, &client, &format!("/pets/{pet_id}/edit")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(edit.contains(r#"enctype="multipart/form-data""#) && edit.contains(r#"type="file""#), "a photo form");
    let csrf = csrf_in(&edit);
    let path = format!("/pets/{pet_id}/photo");

    let (content_type, body) = multipart("not-the-token", "bella.jpg", "image/jpeg", &jpeg(600, 400));
    let res = client.post(app.url(&path)).header("content-type", content_type).body(body).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "no CSRF token, no photo");

    let (content_type, body) = multipart(&csrf, "bella.png", "image/png", &jpeg(600, 400));
    let res = client.post(app.url(&path)).header("content-type", content_type).body(body).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "a JPEG is not a PNG");
    assert!(res.text().await.unwrap().contains("not the declared image/png"), "the page says why");

    let (content_type, body) = multipart(&csrf, "bella.jpg", "image/jpeg", &with_exif(&jpeg(600, 400), 6));
    let res = client.post(app.url(&path)).header("content-type", content_type).body(body).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), format!("/pets/{pet_id}/edit"));
    for page in [format!("/pets/{pet_id}"), format!("/pets/{pet_id}/edit"), "/household".to_owned()] {
        let (_, html) = get_page(&app, &client, &page).await;
        let at = html.find("src=\"/files/").unwrap_or_else(|| panic!("{page} shows the photo")) + "src=\"".len();
        let link = html[at..].split('"').next().unwrap().replace("&amp;", "&");
        assert!(link.contains("/thumbnail?exp="), "{link}");
        let (_, bytes) = served(&app, &link).await;
        assert_eq!(dimensions(&bytes), (171, 256), "{page}: turned upright, fitted in 256");
    }
    let (_, household) = get_page(&app, &client, "/household").await;
    assert!(household.contains("1 file (photos of pets and listings"), "storage use shown");
}

/// Where the S3-protocol server is, if one answers; a skip line otherwise (a failure in CI).
async fn s3_endpoint() -> Option<String> {
    let endpoint = std::env::var("PETTY_TEST_S3_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:9000".to_owned());
    let address = endpoint.trim_start_matches("http://").trim_end_matches('/').to_owned();
    if tokio::net::TcpStream::connect(&address).await.is_ok() {
        return Some(endpoint);
    }
    if std::env::var("CI").is_ok_and(|v| !v.is_empty()) {
        panic!("CI needs an S3-protocol server at {endpoint} (.ci/run starts moto_server)");
    }
    eprintln!("skipped: the files tests on S3 (no S3-protocol server at {endpoint}; .ci/run starts one)");
    None
}

#[tokio::test]
async fn the_same_flows_on_s3() {
    let Some(endpoint) = s3_endpoint().await else { return };
    petty_http::notify::install_tls_provider();
    // A bucket of this test's own (the server takes an unsigned CreateBucket).
    let bucket = format!("petty-{}", uuid::Uuid::new_v4().simple());
    let res = reqwest::Client::new().put(format!("{endpoint}/{bucket}")).send().await.unwrap();
    assert!(res.status().is_success(), "bucket made: {}", res.status());
    let config = S3Config {
        endpoint: Some(endpoint.clone()),
        bucket,
        region: "us-east-1".into(),
        access_key_id: Some("petty-test".into()),
        secret_access_key: Some("petty-test-secret".into()),
        allow_http: true,
    };
    let app = spawn_app_with(|c| {
        patient(c);
        c.files.storage = StorageConfig::S3(config);
    })
    .await;
    images_are_fitted_oriented_and_stripped_on(&app).await;

    let ana = app.register("Ana").await;
    let t = &ana.access_token;
    let made = upload_url(&app, t, "scan.pdf", "application/pdf", "health_record_attachment").await;
    let url = made["upload_url"].as_str().unwrap();
    assert!(url.starts_with(&endpoint) && url.contains("X-Amz-Signature="), "a presigned S3 URL: {url}");
    // Bytes that are not a PDF are refused at confirmation and deleted from the bucket.
    assert!(put(&app, &made, "application/pdf", b"<html>not a pdf</html>".to_vec()).await.status().is_success());
    let (status, _) = error_code(
        confirm(&app, t, json!({"file_key": made["file_key"], "purpose": "health_record_attachment"})).await,
    )
    .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let storage = app.state.app.files.storage();
    assert_eq!(storage.size(made["file_key"].as_str().unwrap()).await.unwrap(), None, "deleted from the bucket");
    // A real one: served behind a signed link, then deleted.
    let file =
        upload(&app, t, ("scan.pdf", "application/pdf", "health_record_attachment"), b"%PDF-1.4\ns3\n".to_vec(), None)
            .await;
    let (_, body) = served(&app, file["url"].as_str().unwrap()).await;
    assert_eq!(body, b"%PDF-1.4\ns3\n");
    let res = app
        .client
        .delete(app.url(&format!("/api/v1/files/{}", file["id"].as_str().unwrap())))
        .bearer_auth(t)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(fetch(&app, file["url"].as_str().unwrap()).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(storage.size(file["file_key"].as_str().unwrap()).await.unwrap(), None);
    // Unconfirmed uploads go from the bucket after a day.
    let forgotten = upload_url(&app, t, "late.pdf", "application/pdf", "health_record_attachment").await;
    assert!(put(&app, &forgotten, "application/pdf", b"%PDF-1.4\n".to_vec()).await.status().is_success());
    let key = forgotten["file_key"].as_str().unwrap();
    assert_eq!(storage.size(key).await.unwrap(), Some(9));
    app.state.app.clock.advance(Duration::from_secs(25 * 3600));
    assert!(petty_jobs::files::SweepUploads.run_once(&app.state.app, app.state.app.now()).await.unwrap() >= 1);
    assert_eq!(storage.size(key).await.unwrap(), None);
}
