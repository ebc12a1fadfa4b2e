use super::*;
use crate::public::{PublicBrand, PublicClinic, PublicService};
use mas_domain::tenant::{BrandInput, ThemePreset};

fn catalog(theme: ThemePreset) -> PublicCatalog {
    let brand = BrandInput { theme, ..BrandInput::default() };
    let service: PublicService = PublicService {
        id: mas_domain::ids::ServiceId::parse("svc_01jd0000000000000000000000").unwrap(),
        name: mas_domain::values::Name::parse("Lips <&> \"more\"").unwrap(),
        slug: None,
        category: mas_domain::values::Slug::parse("injectables").unwrap(),
        description: serde_json::from_value(serde_json::json!("Soft & natural")).unwrap(),
        duration_minutes: mas_domain::values::Minutes::new(45, 5, 600).unwrap(),
        price: serde_json::from_value(serde_json::json!({"amount_minor": 28050})).unwrap(),
        deposit: None,
        location_ids: vec![],
    };
    PublicCatalog {
        clinic: PublicClinic {
            name: mas_domain::values::Name::parse("Glow </script> Clinic").unwrap(),
            slug: mas_domain::values::Slug::parse("glow").unwrap(),
            currency: Default::default(),
        },
        brand: PublicBrand { theme, tokens: brand.tokens(), logo_url: None, seo: Default::default() },
        locations: vec![],
        services: vec![service],
        practitioners: vec![],
    }
}

#[test]
fn every_page_has_the_landmarks_a_screen_reader_needs() {
    for file in render(&catalog(ThemePreset::IvoryMinimal), &SiteOptions::default()) {
        if file.content_type.starts_with("text/html") {
            for needle in [
                r#"<html lang="en">"#,
                "<header",
                r#"<main id="main""#,
                "<footer",
                r#"<nav aria-label="Main">"#,
                r#"class="skip""#,
                "<h1",
            ] {
                assert!(file.body.contains(needle), "{} lacks {needle}", file.path);
            }
        }
    }
}

#[test]
fn the_theme_tokens_become_css_custom_properties() {
    let css = stylesheet(&catalog(ThemePreset::LuxuryNoir));
    assert!(css.starts_with(":root{--bg:#0f0f10;--surface:#1c1c1f;--text:#f5f1e8;"), "{css}");
    assert!(css.contains("--radius:2px") && css.contains("color-scheme:dark"));
    assert!(css.contains("prefers-reduced-motion"));
}

#[test]
fn clinic_text_is_escaped_in_pages_and_in_the_data_island() {
    let files = render(&catalog(ThemePreset::ChampagneClassic), &SiteOptions::default());
    let landing = &files.iter().find(|f| f.path == "index.html").unwrap().body;
    assert!(landing.contains("Glow &lt;/script&gt; Clinic") && landing.contains("Lips &lt;&amp;&gt; &quot;more&quot;"));
    let book = &files.iter().find(|f| f.path == "book.html").unwrap().body;
    assert_eq!(book.matches("</script>").count(), 2, "only the script tag and the data island close");
    assert!(book.contains("£280.50"));
}

#[test]
fn the_booking_page_asks_all_seven_screening_questions() {
    let book = pages::book(&catalog(ThemePreset::IvoryMinimal), &SiteOptions::default());
    let answers: mas_domain::medical::MedicalAnswers = serde_json::from_value(serde_json::Value::Object(
        pages::SCREENING_QUESTIONS.iter().map(|(f, _)| (f.to_string(), serde_json::json!(false))).collect(),
    ))
    .expect("the questions are exactly the answer fields");
    assert!(!answers.pregnant_or_breastfeeding);
    for (field, _) in pages::SCREENING_QUESTIONS {
        assert!(book.contains(&format!(r#"name="{field}" value="yes""#)), "{field}");
    }
}

#[test]
fn the_script_stays_well_under_the_budget() {
    assert!(SCRIPT.len() < 20_000, "site.js is {} bytes", SCRIPT.len());
}

#[test]
fn the_portal_links_back_to_the_site_root_from_its_folder() {
    let files = render(&catalog(ThemePreset::LuxuryNoir), &SiteOptions::default());
    let portal = files.iter().find(|f| f.path == "portal/index.html").expect("the portal is rendered");
    for needle in
        [r#"href="../site.css""#, r#"src="../portal.js""#, r#"href="../book.html""#, r#"href="../index.html""#]
    {
        assert!(portal.body.contains(needle), "portal lacks {needle}");
    }
    assert!(portal.body.contains(r#"<label for="portal-email">Email</label>"#));
    let landing = files.iter().find(|f| f.path == "index.html").unwrap();
    assert!(landing.body.contains(r#"href="portal/""#), "the site links to the portal");
    assert!(files.iter().any(|f| f.path == "portal.js"));
}

#[test]
fn the_content_hash_names_the_whole_site_and_changes_with_any_byte_or_name() {
    let files = render(&catalog(ThemePreset::IvoryMinimal), &SiteOptions::default());
    let hash = content_hash(&files);
    let mut reversed = files.clone();
    reversed.reverse();
    assert_eq!(content_hash(&reversed), hash, "order does not matter");
    let mut edited = files.clone();
    edited[0].body.push(' ');
    assert_ne!(content_hash(&edited), hash);
    let mut renamed = files.clone();
    renamed[0].path = "other.html".into();
    assert_ne!(content_hash(&renamed), hash);
    assert_ne!(
        content_hash(&render(&catalog(ThemePreset::LuxuryNoir), &SiteOptions::default())),
        hash,
        "another theme"
    );
}

#[test]
fn both_scripts_together_stay_well_under_the_budget() {
    assert!(
        SCRIPT.len() + PORTAL_SCRIPT.len() < 40_000,
        "site.js + portal.js are {} bytes",
        SCRIPT.len() + PORTAL_SCRIPT.len()
    );
}

#[test]
fn json_in_a_data_island_cannot_close_its_script_and_reads_back_unchanged() {
    let hostile = serde_json::json!({"name": "Botox</script><script>alert(1)</script> & <!-- \u{2028}\u{2029}"});
    let island = super::script_json(&hostile);
    for bad in ["<", ">", "&", "\u{2028}", "\u{2029}"] {
        assert!(!island.contains(bad), "{bad:?} in {island}");
    }
    assert_eq!(serde_json::from_str::<serde_json::Value>(&island).unwrap(), hostile);
}

#[test]
fn site_pages_forbid_framing_inline_script_and_calls_to_other_origins_than_the_api() {
    let headers = super::security_headers("https://api.example.test");
    let csp = &headers.iter().find(|(name, _)| *name == "content-security-policy").unwrap().1;
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self';"), "{csp}");
    assert!(csp.contains("connect-src 'self' https://api.example.test;"), "{csp}");
    assert!(headers.iter().any(|(name, value)| *name == "strict-transport-security" && value.contains("max-age=")));
}
