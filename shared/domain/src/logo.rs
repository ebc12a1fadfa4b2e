//! The clinic's logo for its PDFs: a small PNG or JPEG the clinic uploads once, checked by
//! decoding it here (so the renderer never meets a file it cannot draw) and stored with the brand.
//! The render worker embeds the stored bytes; it never fetches a URL.

use std::io::Cursor;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::documents::Sha256Hex;
use crate::error::{AppError, AppResult};

/// The largest upload: a logo is a few kilobytes; the cap keeps the stored item well inside
/// DynamoDB's 400 KB item limit once base64-encoded.
pub const LOGO_MAX_BYTES: usize = 128 * 1024;
/// The longest side in pixels; larger images are refused before their pixels are decoded.
pub const LOGO_MAX_SIDE: u32 = 2000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LogoFormat {
    Png,
    Jpeg,
}

impl LogoFormat {
    /// The format a media type names, if it is one we take.
    pub fn from_media_type(media_type: &str) -> Option<LogoFormat> {
        match media_type.trim().to_ascii_lowercase().as_str() {
            "image/png" => Some(LogoFormat::Png),
            "image/jpeg" | "image/jpg" => Some(LogoFormat::Jpeg),
            _ => None,
        }
    }

    pub fn media_type(self) -> &'static str {
        match self {
            LogoFormat::Png => "image/png",
            LogoFormat::Jpeg => "image/jpeg",
        }
    }
}

/// What we know of a stored logo (the API's answer; the bytes are not in it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LogoInfo {
    pub format: LogoFormat,
    pub width: u32,
    pub height: u32,
    pub size_bytes: u64,
    pub sha256: Sha256Hex,
    pub uploaded_at: DateTime<Utc>,
    pub uploaded_by: String,
}

/// The stored logo: its description and its bytes (base64).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredLogo {
    #[serde(flatten)]
    pub info: LogoInfo,
    pub data_base64: String,
}

impl StoredLogo {
    pub fn bytes(&self) -> AppResult<Vec<u8>> {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .decode(&self.data_base64)
            .map_err(|e| AppError::Internal(format!("stored logo is not base64: {e}")))
    }
}

fn unreadable(why: impl std::fmt::Display) -> AppError {
    AppError::invalid("invalid_image", "body", format!("the logo could not be read as an image: {why}"))
}

fn check_side(width: u32, height: u32) -> AppResult<()> {
    if width == 0 || height == 0 || width > LOGO_MAX_SIDE || height > LOGO_MAX_SIDE {
        return Err(AppError::invalid(
            "image_too_large",
            "body",
            format!("the logo is {width} × {height} pixels; at most {LOGO_MAX_SIDE} on each side"),
        ));
    }
    Ok(())
}

/// Decodes the whole image (not just its header: a truncated or corrupt file is refused now,
/// not at render time) and returns its size in pixels.
pub fn check_logo(format: LogoFormat, bytes: &[u8]) -> AppResult<(u32, u32)> {
    if bytes.len() > LOGO_MAX_BYTES {
        return Err(AppError::invalid("image_too_large", "body", format!("at most {} KB", LOGO_MAX_BYTES / 1024)));
    }
    match format {
        LogoFormat::Png => {
            let mut decoder = png::Decoder::new(Cursor::new(bytes));
            // The transformation the renderer applies (palette and low bit depths to 8-bit).
            decoder.set_transformations(png::Transformations::EXPAND);
            let mut reader = decoder.read_info().map_err(unreadable)?;
            let (width, height) = (reader.info().width, reader.info().height);
            check_side(width, height)?;
            let size = reader.output_buffer_size().ok_or_else(|| unreadable("too large"))?;
            let mut pixels = vec![0; size];
            reader.next_frame(&mut pixels).map_err(unreadable)?;
            Ok((width, height))
        }
        LogoFormat::Jpeg => {
            use zune_jpeg::zune_core::options::DecoderOptions;
            let side = LOGO_MAX_SIDE as usize;
            let options = DecoderOptions::default().set_max_width(side).set_max_height(side);
            let mut decoder = zune_jpeg::JpegDecoder::new_with_options(Cursor::new(bytes), options);
            decoder.decode_headers().map_err(unreadable)?;
            let (width, height) = decoder.dimensions().ok_or_else(|| unreadable("no dimensions"))?;
            check_side(width as u32, height as u32)?;
            decoder.decode().map_err(unreadable)?;
            Ok((width as u32, height as u32))
        }
    }
}

/// A checked logo, ready to store.
pub fn stored_logo(
    format: LogoFormat,
    bytes: &[u8],
    uploaded_at: DateTime<Utc>,
    uploaded_by: &str,
) -> AppResult<StoredLogo> {
    use base64::Engine as _;
    let (width, height) = check_logo(format, bytes)?;
    Ok(StoredLogo {
        info: LogoInfo {
            format,
            width,
            height,
            size_bytes: bytes.len() as u64,
            sha256: Sha256Hex::of(bytes),
            uploaded_at,
            uploaded_by: uploaded_by.to_owned(),
        },
        data_base64: base64::engine::general_purpose::STANDARD.encode(bytes),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = include_bytes!("../testdata/python.png");
    const JPEG: &[u8] = include_bytes!("../testdata/python.jpg");

    #[test]
    fn a_real_png_or_jpeg_is_taken_with_its_size_and_round_trips_through_storage() {
        assert_eq!(check_logo(LogoFormat::Png, PNG).unwrap(), (16, 16));
        assert_eq!(check_logo(LogoFormat::Jpeg, JPEG).unwrap(), (16, 16));
        let stored = stored_logo(LogoFormat::Png, PNG, Utc::now(), "mem_1").unwrap();
        assert_eq!(stored.bytes().unwrap(), PNG);
        assert_eq!(stored.info.sha256, Sha256Hex::of(PNG));
    }

    #[test]
    fn a_truncated_mislabelled_or_oversized_image_is_refused() {
        let refused = |format, bytes: &[u8]| matches!(check_logo(format, bytes), Err(AppError::Invalid { .. }));
        assert!(refused(LogoFormat::Png, &PNG[..800]), "cut inside the pixel data");
        assert!(refused(LogoFormat::Jpeg, &JPEG[..JPEG.len() / 2]), "truncated");
        assert!(refused(LogoFormat::Png, JPEG), "a JPEG sent as PNG");
        assert!(refused(LogoFormat::Jpeg, b"<svg/>"));
        assert!(refused(LogoFormat::Png, &vec![0; LOGO_MAX_BYTES + 1]));
        // A PNG header claiming 5000 × 10 pixels is refused before decoding its pixels.
        let mut wide = PNG.to_vec();
        wide[16..20].copy_from_slice(&5000u32.to_be_bytes());
        assert!(matches!(check_logo(LogoFormat::Png, &wide), Err(AppError::Invalid { .. })));
        assert_eq!(LogoFormat::from_media_type("IMAGE/PNG"), Some(LogoFormat::Png));
        assert_eq!(LogoFormat::from_media_type("image/svg+xml"), None);
    }
}
