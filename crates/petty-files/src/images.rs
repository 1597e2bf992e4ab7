//! What is made of an uploaded image: an optimized copy that fits 2048 × 2048 and a thumbnail
//! that fits 256 × 256, aspect kept and never enlarged, each in the upload's own format, with
//! the EXIF orientation applied and nothing else of the original's metadata (EXIF with its GPS
//! position, XMP, ICC profiles, text chunks): both are encoded afresh from pixels, and the
//! encoders write none.
//!
//! JPEGs shrink while they are decoded: the decoder is asked for the smallest DCT scale (1/1,
//! 1/2, 1/4 or 1/8) that still covers the target size, the way libjpeg's `scale_denom` (and
//! so Pillow's `draft` and `vipsthumbnail`) does, and only that is resized with a filter. The
//! orientation is applied after scaling, to the few pixels left. A thumbnail of a 12-megapixel
//! photo decodes 1/8 of it.
//!
//! Synchronous and CPU-bound: run it off the async threads.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::{CompressionType, FilterType as PngFilter, PngEncoder};
use image::codecs::webp::WebPEncoder;
use image::imageops::FilterType;
use image::metadata::Orientation;
use image::{DynamicImage, GrayImage, ImageDecoder, ImageFormat, ImageReader, Limits, RgbImage};
use petty_core::files::{self, ContentType, OPTIMIZED_MAX_SIDE, THUMBNAIL_MAX_SIDE};

/// JPEG quality of the optimized copy and the thumbnail.
pub const JPEG_QUALITY: u8 = 85;
/// The most memory one decode may take.
const MAX_ALLOC: u64 = 512 * 1024 * 1024;

/// An image made ready to serve.
#[derive(Debug)]
pub struct Processed {
    /// The optimized copy, in the upload's format.
    pub optimized: Vec<u8>,
    /// The optimized copy's size, as shown (orientation applied).
    pub width: u32,
    pub height: u32,
    pub thumbnail: Vec<u8>,
    pub thumbnail_width: u32,
    pub thumbnail_height: u32,
}

/// Why an image could not be made ready.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ImageError {
    /// More pixels than Petty decodes (`petty_core::files::MAX_IMAGE_PIXELS`).
    #[error("the image is {width} × {height} pixels, more than {} megapixels", files::MAX_IMAGE_PIXELS / 1_000_000)]
    TooManyPixels { width: u32, height: u32 },
    /// Not an image of its type, or a damaged one.
    #[error("the image could not be read: {0}")]
    Unreadable(String),
    /// A PDF or another type that is not an image.
    #[error("{0} is not an image type")]
    NotAnImage(ContentType),
}

/// The optimized copy and the thumbnail of an image of type `content_type`.
pub fn process(bytes: &[u8], content_type: ContentType) -> Result<Processed, ImageError> {
    let optimized = decode_fitted(bytes, content_type, OPTIMIZED_MAX_SIDE)?;
    let (width, height) = (optimized.width(), optimized.height());
    let (tw, th) = files::fit_within(width, height, THUMBNAIL_MAX_SIDE, THUMBNAIL_MAX_SIDE);
    let thumbnail = resized(&optimized, tw, th);
    Ok(Processed {
        optimized: encode(&optimized, content_type)?,
        width,
        height,
        thumbnail: encode(&thumbnail, content_type)?,
        thumbnail_width: tw,
        thumbnail_height: th,
    })
}

/// A thumbnail that fits `max_side` × `max_side`, in the image's own format, and its size.
pub fn thumbnail(bytes: &[u8], content_type: ContentType, max_side: u32) -> Result<(Vec<u8>, u32, u32), ImageError> {
    let image = decode_fitted(bytes, content_type, max_side)?;
    Ok((encode(&image, content_type)?, image.width(), image.height()))
}

/// The image decoded, shrunk to fit `max_side` × `max_side` and turned upright.
fn decode_fitted(bytes: &[u8], content_type: ContentType, max_side: u32) -> Result<DynamicImage, ImageError> {
    let (image, orientation) = match content_type {
        ContentType::Jpeg => decode_jpeg(bytes, max_side)?,
        ContentType::Png => decode_other(bytes, ImageFormat::Png)?,
        ContentType::Webp => decode_other(bytes, ImageFormat::WebP)?,
        ContentType::Pdf => return Err(ImageError::NotAnImage(content_type)),
    };
    let (w, h) = files::fit_within(image.width(), image.height(), max_side, max_side);
    let mut image = if (w, h) == (image.width(), image.height()) { image } else { resized(&image, w, h) };
    image.apply_orientation(orientation);
    Ok(image)
}

fn unreadable(e: impl std::fmt::Display) -> ImageError {
    ImageError::Unreadable(e.to_string())
}

/// A JPEG decoded at the smallest DCT scale whose result still covers `max_side` (or the
/// image, if it is smaller), and its EXIF orientation.
fn decode_jpeg(bytes: &[u8], max_side: u32) -> Result<(DynamicImage, Orientation), ImageError> {
    let mut decoder = jpeg_decoder::Decoder::new(Cursor::new(bytes));
    decoder.set_max_decoding_buffer_size(usize::try_from(MAX_ALLOC).unwrap_or(usize::MAX));
    decoder.read_info().map_err(unreadable)?;
    let info = decoder.info().ok_or_else(|| unreadable("no frame header"))?;
    let (width, height) = (u32::from(info.width), u32::from(info.height));
    if !files::pixels_allowed(width, height) {
        return Err(ImageError::TooManyPixels { width, height });
    }
    let orientation = decoder.exif_data().and_then(Orientation::from_exif_chunk).unwrap_or(Orientation::NoTransforms);
    let (want_w, want_h) = files::fit_within(width, height, max_side, max_side);
    // Both fit u16: they are at most the image's own, which a JPEG states in 16 bits.
    let (scaled_w, scaled_h) = decoder
        .scale(u16::try_from(want_w).unwrap_or(u16::MAX), u16::try_from(want_h).unwrap_or(u16::MAX))
        .map_err(unreadable)?;
    let pixels = decoder.decode().map_err(unreadable)?;
    let (w, h) = (u32::from(scaled_w), u32::from(scaled_h));
    let wrong = || unreadable("the decoded pixels do not fill the image");
    let image = match info.pixel_format {
        jpeg_decoder::PixelFormat::L8 => DynamicImage::ImageLuma8(GrayImage::from_raw(w, h, pixels).ok_or_else(wrong)?),
        jpeg_decoder::PixelFormat::L16 => {
            // Big-endian samples; eight bits are plenty for a photo on a page.
            let eight = pixels.chunks_exact(2).map(|s| s[0]).collect();
            DynamicImage::ImageLuma8(GrayImage::from_raw(w, h, eight).ok_or_else(wrong)?)
        }
        jpeg_decoder::PixelFormat::RGB24 => {
            DynamicImage::ImageRgb8(RgbImage::from_raw(w, h, pixels).ok_or_else(wrong)?)
        }
        jpeg_decoder::PixelFormat::CMYK32 => {
            // As the image crate converted it when it decoded with jpeg-decoder: ink to light.
            let rgb = pixels
                .chunks_exact(4)
                .flat_map(|p| {
                    let white = 255 - u16::from(p[3]);
                    [p[0], p[1], p[2]].map(|c| ((255 - u16::from(c)) * white / 255) as u8)
                })
                .collect();
            DynamicImage::ImageRgb8(RgbImage::from_raw(w, h, rgb).ok_or_else(wrong)?)
        }
    };
    Ok((image, orientation))
}

/// A PNG or WebP decoded whole (neither can shrink while decoding), and its EXIF orientation.
fn decode_other(bytes: &[u8], format: ImageFormat) -> Result<(DynamicImage, Orientation), ImageError> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_alloc = Some(MAX_ALLOC);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(unreadable)?;
    let (width, height) = decoder.dimensions();
    if !files::pixels_allowed(width, height) {
        return Err(ImageError::TooManyPixels { width, height });
    }
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let image = DynamicImage::from_decoder(decoder).map_err(unreadable)?;
    Ok((image, orientation))
}

fn resized(image: &DynamicImage, width: u32, height: u32) -> DynamicImage {
    image.resize_exact(width, height, FilterType::CatmullRom)
}

/// Encoded afresh in `content_type`'s format: JPEG at [`JPEG_QUALITY`], PNG, or lossless WebP.
/// No metadata is written.
fn encode(image: &DynamicImage, content_type: ContentType) -> Result<Vec<u8>, ImageError> {
    let mut out = Vec::new();
    match content_type {
        ContentType::Jpeg => {
            let encoder = JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY);
            match image {
                DynamicImage::ImageLuma8(_) | DynamicImage::ImageRgb8(_) => image.write_with_encoder(encoder),
                DynamicImage::ImageLuma16(_) | DynamicImage::ImageLumaA8(_) | DynamicImage::ImageLumaA16(_) => {
                    DynamicImage::ImageLuma8(image.to_luma8()).write_with_encoder(encoder)
                }
                _ => DynamicImage::ImageRgb8(image.to_rgb8()).write_with_encoder(encoder),
            }
        }
        ContentType::Png => {
            image.write_with_encoder(PngEncoder::new_with_quality(&mut out, CompressionType::Fast, PngFilter::Adaptive))
        }
        ContentType::Webp => {
            let encoder = WebPEncoder::new_lossless(&mut out);
            match image {
                DynamicImage::ImageLuma8(_)
                | DynamicImage::ImageLumaA8(_)
                | DynamicImage::ImageRgb8(_)
                | DynamicImage::ImageRgba8(_) => image.write_with_encoder(encoder),
                _ if image.color().has_alpha() => {
                    DynamicImage::ImageRgba8(image.to_rgba8()).write_with_encoder(encoder)
                }
                _ => DynamicImage::ImageRgb8(image.to_rgb8()).write_with_encoder(encoder),
            }
        }
        ContentType::Pdf => return Err(ImageError::NotAnImage(content_type)),
    }
    .map_err(unreadable)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageEncoder, Rgb};

    /// An `w × h` JPEG, red on the left half and blue on the right.
    fn jpeg(w: u32, h: u32) -> Vec<u8> {
        let image = RgbImage::from_fn(w, h, |x, _| if x < w / 2 { Rgb([220, 20, 20]) } else { Rgb([20, 20, 220]) });
        let mut out = Vec::new();
        JpegEncoder::new_with_quality(&mut out, 90).write_image(&image, w, h, image::ExtendedColorType::Rgb8).unwrap();
        out
    }

    /// `jpeg` with an EXIF segment saying `orientation`, right after SOI.
    fn with_orientation(jpeg: &[u8], orientation: u16) -> Vec<u8> {
        let mut tiff = b"MM\0\x2a\0\0\0\x08".to_vec();
        tiff.extend_from_slice(&1u16.to_be_bytes());
        tiff.extend_from_slice(&0x0112u16.to_be_bytes());
        tiff.extend_from_slice(&3u16.to_be_bytes());
        tiff.extend_from_slice(&1u32.to_be_bytes());
        tiff.extend_from_slice(&orientation.to_be_bytes());
        tiff.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
        let mut app1 = b"Exif\0\0".to_vec();
        app1.extend_from_slice(&tiff);
        let mut out = jpeg[..2].to_vec();
        out.extend_from_slice(&[0xFF, 0xE1]);
        out.extend_from_slice(&u16::try_from(app1.len() + 2).unwrap().to_be_bytes());
        out.extend_from_slice(&app1);
        out.extend_from_slice(&jpeg[2..]);
        out
    }

    fn dimensions(bytes: &[u8], format: ImageFormat) -> (u32, u32) {
        let image = image::load_from_memory_with_format(bytes, format).unwrap();
        (image.width(), image.height())
    }

    #[test]
    fn a_large_jpeg_is_fitted_and_its_thumbnail_too() {
        let processed = process(&jpeg(4000, 3000), ContentType::Jpeg).unwrap();
        assert_eq!((processed.width, processed.height), (2048, 1536));
        assert_eq!((processed.thumbnail_width, processed.thumbnail_height), (256, 192));
        assert_eq!(dimensions(&processed.optimized, ImageFormat::Jpeg), (2048, 1536));
        assert_eq!(dimensions(&processed.thumbnail, ImageFormat::Jpeg), (256, 192));
    }

    #[test]
    fn orientation_six_turns_the_picture_a_quarter_and_is_then_dropped() {
        let processed = process(&with_orientation(&jpeg(400, 300), 6), ContentType::Jpeg).unwrap();
        assert_eq!((processed.width, processed.height), (300, 400));
        assert_eq!((processed.thumbnail_width, processed.thumbnail_height), (192, 256));
        let upright = image::load_from_memory(&processed.optimized).unwrap().to_rgb8();
        // Turned clockwise: the left (red) half is now on top.
        assert!(upright.get_pixel(150, 20)[0] > 150, "red on top");
        assert!(upright.get_pixel(150, 380)[2] > 150, "blue below");
        assert!(!processed.optimized.windows(4).any(|w| w == b"Exif"), "no EXIF left");
        let (_, w, h) = thumbnail(&with_orientation(&jpeg(4000, 3000), 6), ContentType::Jpeg, 256).unwrap();
        assert_eq!((w, h), (192, 256));
    }

    #[test]
    fn a_small_png_is_kept_at_its_size() {
        let image = image::RgbaImage::from_pixel(100, 50, image::Rgba([1, 2, 3, 128]));
        let mut png = Vec::new();
        PngEncoder::new(&mut png).write_image(&image, 100, 50, image::ExtendedColorType::Rgba8).unwrap();
        let processed = process(&png, ContentType::Png).unwrap();
        assert_eq!(
            (processed.width, processed.height, processed.thumbnail_width, processed.thumbnail_height),
            (100, 50, 100, 50)
        );
        assert_eq!(dimensions(&processed.thumbnail, ImageFormat::Png), (100, 50));
        let again = process(&processed.optimized, ContentType::Png).unwrap();
        assert!(ContentType::Png.matches(&again.optimized), "still a PNG");
    }

    #[test]
    fn a_webp_stays_a_webp() {
        let image = RgbImage::from_pixel(3000, 1000, Rgb([30, 60, 90]));
        let mut webp = Vec::new();
        WebPEncoder::new_lossless(&mut webp).write_image(&image, 3000, 1000, image::ExtendedColorType::Rgb8).unwrap();
        let processed = process(&webp, ContentType::Webp).unwrap();
        assert_eq!((processed.width, processed.height), (2048, 683));
        assert_eq!((processed.thumbnail_width, processed.thumbnail_height), (256, 85));
        assert!(ContentType::Webp.matches(&processed.optimized) && ContentType::Webp.matches(&processed.thumbnail));
        assert_eq!(dimensions(&processed.thumbnail, ImageFormat::WebP), (256, 85));
    }

    #[test]
    fn damaged_and_oversized_images_are_refused() {
        let mut broken = jpeg(64, 64);
        broken.truncate(40);
        assert!(matches!(process(&broken, ContentType::Jpeg), Err(ImageError::Unreadable(_))));
        assert!(matches!(process(b"%PDF-1.4", ContentType::Pdf), Err(ImageError::NotAnImage(_))));
        // A header that claims 10000 × 5000 is refused before anything is decoded.
        let mut huge = jpeg(16, 16);
        let sof = huge.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
        huge[sof + 5..sof + 7].copy_from_slice(&5000u16.to_be_bytes());
        huge[sof + 7..sof + 9].copy_from_slice(&10000u16.to_be_bytes());
        assert_eq!(
            process(&huge, ContentType::Jpeg).unwrap_err(),
            ImageError::TooManyPixels { width: 10000, height: 5000 }
        );
    }
}
