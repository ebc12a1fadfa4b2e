use chrono::Utc;
use mas_domain::values::Color;
use mas_ports::Renderer;
use mas_ports::renderer::{RenderAuditRow, RenderBlock, RenderColors, RenderJob, RenderSignature};

use super::KrillaRenderer;

/// A 1×1 transparent PNG.
const DOT: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0d, 0x49,
    0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0x64, 0x60, 0xf8, 0x5f, 0x0f, 0x00, 0x02, 0x87, 0x01, 0x80, 0xeb, 0x47, 0xba,
    0x92, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

pub fn job(blocks: usize) -> RenderJob {
    RenderJob {
        clinic_name: "Glow Clinic — Marylebone".into(),
        colors: RenderColors {
            primary: Color::rgb(0x8c, 0x4a, 0x3c),
            on_primary: Color::rgb(255, 255, 255),
            text: Color::rgb(0x1f, 0x1d, 0x1a),
            muted_text: Color::rgb(0x55, 0x50, 0x4a),
        },
        title: "Consent to anti-wrinkle treatment".into(),
        subtitle: vec!["Client: Zoë Ó Briain-Łukasiewicz".into()],
        blocks: (0..blocks)
            .map(|i| RenderBlock {
                title: format!("Clause {i}"),
                body: "The price is £320.00 (about €375). ".repeat(12) + "\n\nSecond paragraph.",
            })
            .collect(),
        stamp: "0".repeat(64),
        footer_note: "Check it at /v1/documents/verify".into(),
        signature: None,
        logo: None,
    }
}

#[test]
fn a_document_renders_to_a_pdf_and_the_same_job_gives_the_same_bytes() {
    let renderer = KrillaRenderer::new();
    let first = renderer.render(&job(3)).unwrap();
    assert!(first.starts_with(b"%PDF-"));
    assert_eq!(first, renderer.render(&job(3)).unwrap(), "rendering is deterministic");
    let mut other = job(3);
    other.stamp = "f".repeat(64);
    assert_ne!(first, renderer.render(&other).unwrap());
}

#[test]
fn a_long_document_flows_onto_more_pages_and_a_signed_one_adds_an_audit_page() {
    let renderer = KrillaRenderer::new();
    let short = renderer.render(&job(2)).unwrap();
    let long = renderer.render(&job(30)).unwrap();
    let mut signed = job(2);
    signed.signature = Some(RenderSignature {
        typed_name: "Zoë Ó Briain".into(),
        png: DOT.to_vec(),
        signed_at: Utc::now(),
        audit: vec![RenderAuditRow {
            at: Utc::now(),
            event: "signed".into(),
            ip: "127.0.0.1".into(),
            user_agent: "x".repeat(300),
        }],
        audit_notes: vec!["Document doc_1".into()],
    });
    let signed = renderer.render(&signed).unwrap();
    // The page tree's `/Count` (krilla writes one page tree, uncompressed).
    let pages = |pdf: &[u8]| {
        let text = String::from_utf8_lossy(pdf);
        let count = text.split("/Count ").nth(1).expect("a page tree");
        count.chars().take_while(char::is_ascii_digit).collect::<String>().parse::<usize>().unwrap()
    };
    assert!(pages(&long) > pages(&short), "{} vs {}", pages(&long), pages(&short));
    assert_eq!(pages(&signed), pages(&short) + 1);
}

#[test]
fn a_word_wider_than_the_line_is_broken_inside_and_nothing_is_lost() {
    let fonts = super::text::Fonts::embedded();
    let hash = "ab".repeat(60);
    let lines = fonts.wrap(false, &format!("Stamp {hash} end"), 10.0, 200.0);
    assert!(lines.len() > 2);
    assert!(lines.iter().all(|l| fonts.width(false, l, 10.0) <= 200.0));
    assert_eq!(lines.concat().replace(' ', ""), format!("Stamp{hash}end"));
}

#[test]
fn a_clinics_png_or_jpeg_logo_is_drawn_and_a_file_that_is_no_image_fails_the_render() {
    use mas_domain::logo::LogoFormat;
    use mas_ports::renderer::RenderLogo;
    let renderer = KrillaRenderer::new();
    let plain = renderer.render(&job(2)).unwrap();
    for (format, bytes) in [
        (LogoFormat::Png, &include_bytes!("../../shared/domain/testdata/python.png")[..]),
        (LogoFormat::Jpeg, &include_bytes!("../../shared/domain/testdata/python.jpg")[..]),
    ] {
        let mut with_logo = job(2);
        with_logo.logo = Some(RenderLogo { format, bytes: bytes.to_vec() });
        let pdf = renderer.render(&with_logo).unwrap();
        assert_ne!(pdf, plain, "{format:?}");
        assert_eq!(pdf, renderer.render(&with_logo).unwrap(), "still deterministic");
    }
    let mut broken = job(2);
    broken.logo = Some(RenderLogo { format: LogoFormat::Png, bytes: b"not a png".to_vec() });
    assert!(renderer.render(&broken).is_err());
}
