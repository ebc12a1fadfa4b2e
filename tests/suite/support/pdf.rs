//! Reading rendered PDFs with an independent reader: poppler's `pdftotext` and `pdftoppm`
//! (Debian's poppler-utils, installed by scripts/test).

use std::path::{Path, PathBuf};
use std::process::Command;

/// `1` skips the checks that need poppler-utils when it is not installed.
pub const SKIP: &str = "MAS_SKIP_PDF_TOOLS";

/// Whether poppler-utils is here; panics when it is neither here nor knowingly skipped, so a
/// golden test never passes without having read the PDF.
pub fn available(test: &str) -> bool {
    let found = Command::new("pdftotext").arg("-v").output().is_ok();
    if !found && std::env::var(SKIP).as_deref() != Ok("1") {
        panic!("{test} reads PDFs with pdftotext/pdftoppm: install poppler-utils (scripts/test does), or set {SKIP}=1");
    }
    if !found {
        println!("skipped the PDF reading in {test}: {SKIP}=1 and no pdftotext");
    }
    found
}

fn scratch(bytes: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("document.pdf");
    std::fs::write(&path, bytes).unwrap();
    (dir, path)
}

/// The text of every page, as pdftotext reads it.
pub fn text(bytes: &[u8]) -> String {
    let (_dir, path) = scratch(bytes);
    let output =
        Command::new("pdftotext").arg("-enc").arg("UTF-8").arg(&path).arg("-").output().expect("pdftotext runs");
    assert!(output.status.success(), "pdftotext failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("UTF-8 text")
}

/// Renders one page to a PNG at `out` (overwriting it) and returns its path.
pub fn page_png(bytes: &[u8], page: u32, out: &Path) -> PathBuf {
    let (_dir, path) = scratch(bytes);
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    let prefix = out.with_extension("");
    let status = Command::new("pdftoppm")
        .args(["-png", "-r", "90", "-singlefile", "-f", &page.to_string(), "-l", &page.to_string()])
        .arg(&path)
        .arg(&prefix)
        .status()
        .expect("pdftoppm runs");
    assert!(status.success(), "pdftoppm failed");
    let png = prefix.with_extension("png");
    assert!(std::fs::metadata(&png).unwrap().len() > 1000, "an empty picture");
    png
}

/// Where golden pictures go (kept after the run, to be looked at).
pub fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("golden")
}

/// The images drawn in the PDF as `pdfimages -list` sees them (alpha masks left out): (page,
/// width, height) of each.
pub fn images(bytes: &[u8]) -> Vec<(u32, u32, u32)> {
    let (_dir, path) = scratch(bytes);
    let output = Command::new("pdfimages").arg("-list").arg(&path).output().expect("pdfimages runs");
    assert!(output.status.success(), "pdfimages failed: {}", String::from_utf8_lossy(&output.stderr));
    // Two header lines, then `page num type width height …`.
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .skip(2)
        .filter_map(|line| {
            let cols: Vec<&str> = line.split_whitespace().collect();
            if cols.get(2) != Some(&"image") {
                return None;
            }
            Some((cols.first()?.parse().ok()?, cols.get(3)?.parse().ok()?, cols.get(4)?.parse().ok()?))
        })
        .collect()
}

/// The number of pages, as pdfinfo reads it.
pub fn pages(bytes: &[u8]) -> usize {
    let (_dir, path) = scratch(bytes);
    let output = Command::new("pdfinfo").arg(&path).output().expect("pdfinfo runs");
    let info = String::from_utf8_lossy(&output.stdout);
    info.lines().find_map(|l| l.strip_prefix("Pages:")).and_then(|n| n.trim().parse().ok()).expect("a page count")
}

/// A 300 × 100 PNG of a signature-like stroke (grey + alpha), made here so the test needs no
/// image library: stored (uncompressed) deflate blocks inside a valid zlib stream.
pub fn signature_png() -> Vec<u8> {
    let (width, height) = (300u32, 100u32);
    let mut raw = Vec::new();
    for y in 0..height {
        raw.push(0); // filter: none
        for x in 0..width {
            let t = x as f32 / width as f32;
            let curve = 50.0 + 28.0 * (t * 11.0).sin() * (1.0 - t * 0.6) + 10.0 * (t * 3.0).cos();
            let ink = (y as f32 - curve).abs() < 2.2 && x > 12 && x < width - 12;
            raw.extend_from_slice(if ink { &[20, 255] } else { &[255, 0] });
        }
    }
    let mut zlib = vec![0x78, 0x01];
    for (i, chunk) in raw.chunks(65_535).enumerate() {
        let last = (i + 1) * 65_535 >= raw.len();
        zlib.push(u8::from(last));
        zlib.extend_from_slice(&(chunk.len() as u16).to_le_bytes());
        zlib.extend_from_slice(&(!(chunk.len() as u16)).to_le_bytes());
        zlib.extend_from_slice(chunk);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for byte in &raw {
        a = (a + u32::from(*byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    zlib.extend_from_slice(&((b << 16) | a).to_be_bytes());
    let mut png = vec![0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n'];
    let mut header = Vec::new();
    header.extend_from_slice(&width.to_be_bytes());
    header.extend_from_slice(&height.to_be_bytes());
    header.extend_from_slice(&[8, 4, 0, 0, 0]); // 8-bit grey + alpha
    for (kind, data) in [(b"IHDR", header), (b"IDAT", zlib), (b"IEND", Vec::new())] {
        png.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut crc_input = kind.to_vec();
        crc_input.extend_from_slice(&data);
        png.extend_from_slice(&crc_input);
        png.extend_from_slice(&crc32(&crc_input).to_be_bytes());
    }
    png
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for byte in bytes {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xedb8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

pub fn data_url(png: &[u8]) -> String {
    use base64::Engine;
    format!("data:image/png;base64,{}", base64::engine::general_purpose::STANDARD.encode(png))
}
