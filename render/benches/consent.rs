//! Rendering one consent form: the platform's UK anti-wrinkle consent merged for a client (two A4
//! pages), as generated and as signed (plus the signature and the audit page). The worker renders
//! twice per PDF (once with the stamp placeholder, once with the stamp): `stamped` measures that.

use std::hint::black_box;

use chrono::Utc;
use criterion::{Criterion, criterion_group, criterion_main};
use mas_domain::documents::{self, Sha256Hex};
use mas_domain::values::Color;
use mas_ports::Renderer;
use mas_ports::renderer::{RenderAuditRow, RenderBlock, RenderColors, RenderJob, RenderSignature};
use mas_render::KrillaRenderer;
use serde_json::json;

fn consent() -> RenderJob {
    let seed = mas_usecases::templates::global_seed().unwrap();
    let template = seed.iter().find(|t| t.topic.as_str() == "anti-wrinkle" && t.kind.as_str() == "consent").unwrap();
    let context = json!({
        "client": {"name": "Zoë Ó Briain-Łukasiewicz"}, "clinic": {"name": "Demo Aesthetics Clinic"},
        "treatment": {"name": "Azzalure, 50 Speywood units", "area": "forehead, frown lines and crow's feet"},
        "practitioner": {"name": "Dr Ada Okafor"}, "document": {"date": "21 November 2026"}
    });
    let merged = documents::merge(template, &[], &[], context.as_object().unwrap()).unwrap();
    RenderJob {
        clinic_name: "Demo Aesthetics Clinic".into(),
        colors: RenderColors {
            primary: Color::rgb(0x8c, 0x4a, 0x3c),
            on_primary: Color::rgb(255, 255, 255),
            text: Color::rgb(0x3a, 0x2a, 0x22),
            muted_text: Color::rgb(0x6b, 0x55, 0x48),
        },
        title: merged.title.clone(),
        subtitle: vec!["Client: Zoë Ó Briain-Łukasiewicz".into(), "Issued: 21 November 2026".into()],
        blocks: merged.blocks.iter().map(|b| RenderBlock { title: b.title.clone(), body: b.body.clone() }).collect(),
        stamp: Sha256Hex::placeholder().to_string(),
        footer_note: mas_usecases::documents::FOOTER_NOTE.into(),
        signature: None,
        logo: None,
    }
}

fn signed(mut job: RenderJob) -> RenderJob {
    // A 1×1 PNG: the image's decoding cost is not what this measures.
    const DOT: &[u8] = &[
        0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00,
        0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4, 0x89, 0x00, 0x00, 0x00,
        0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0x64, 0x60, 0xf8, 0x5f, 0x0f, 0x00, 0x02, 0x87, 0x01, 0x80,
        0xeb, 0x47, 0xba, 0x92, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
    ];
    let row = |event: &str| RenderAuditRow {
        at: Utc::now(),
        event: event.into(),
        ip: "203.0.113.7".into(),
        user_agent: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X)".into(),
    };
    job.signature = Some(RenderSignature {
        typed_name: "Zoë Ó Briain-Łukasiewicz".into(),
        png: DOT.to_vec(),
        signed_at: Utc::now(),
        audit: vec![row("document generated"), row("e-sign sent"), row("e-sign opened"), row("e-sign signed")],
        audit_notes: vec![
            "Document doc_01 · Consent v1.0.0 (UK)".into(),
            format!("Unsigned PDF stamp: {}", "a".repeat(64)),
        ],
    });
    job
}

fn bench(c: &mut Criterion) {
    let renderer = KrillaRenderer::new();
    let generated = consent();
    let signed = signed(consent());
    eprintln!(
        "consent: {} bytes as generated, {} bytes signed",
        renderer.render(&generated).unwrap().len(),
        renderer.render(&signed).unwrap().len()
    );
    let mut group = c.benchmark_group("render");
    group.bench_function("consent", |b| b.iter(|| black_box(renderer.render(black_box(&generated)).unwrap())));
    group.bench_function("consent_signed", |b| b.iter(|| black_box(renderer.render(black_box(&signed)).unwrap())));
    group.bench_function("consent_stamped", |b| {
        b.iter(|| {
            let mut job = generated.clone();
            let draft = renderer.render(&job).unwrap();
            job.stamp = Sha256Hex::of(&draft).to_string();
            black_box(renderer.render(&job).unwrap())
        })
    });
    group.bench_function("cold_fonts_and_consent", |b| {
        b.iter(|| black_box(KrillaRenderer::new().render(&generated).unwrap()))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
