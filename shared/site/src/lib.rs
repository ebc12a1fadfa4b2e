//! A clinic's public website, rendered from its brand and public catalog into static files:
//! landing, services (list and one page each), the booking wizard, privacy and terms, one CSS
//! file built from the theme tokens and one small script for the wizard. Pure: no I/O here.

mod pages;
pub mod public;
pub mod reviews;

pub use public::{
    PublicBrand, PublicCatalog, PublicClinic, PublicLocation, PublicPractitioner, PublicReview, PublicReviews,
    PublicService,
};

/// The script every booking page loads (the wizard); kept small and framework-free.
pub const SCRIPT: &str = concat!(include_str!("pay-loader.js"), include_str!("site.js"));
/// The client portal's script.
pub const PORTAL_SCRIPT: &str = concat!(include_str!("pay-loader.js"), include_str!("portal.js"));
/// The waiting list's script (`waitlist.html`).
pub const WAITLIST_SCRIPT: &str = concat!(include_str!("pay-loader.js"), include_str!("waitlist.js"));
/// The review page's script (`review.html`).
pub const REVIEW_SCRIPT: &str = include_str!("review.js");
/// The gift-card page's script (`gift-cards.html`).
pub const GIFT_SCRIPT: &str = concat!(include_str!("pay-loader.js"), include_str!("gift.js"));
/// The academy's page's script (`courses.html`).
pub const COURSES_SCRIPT: &str = include_str!("courses.js");
/// The student's page's script (`learn.html`).
pub const LEARN_SCRIPT: &str = include_str!("learn.js");
/// The pay step (Stripe's Payment Element) of both: loaded by them only when a visitor pays.
pub const PAY_SCRIPT: &str = include_str!("pay.js");
const STYLES: &str = include_str!("site.css");

/// How the rendered pages reach the API.
#[derive(Debug, Clone, Default)]
pub struct SiteOptions {
    /// Prefix for API calls from the browser (`https://api.example.com`); empty: same origin.
    pub api_base: String,
}

/// One rendered file, named relative to the tenant's site root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteFile {
    pub path: String,
    pub content_type: &'static str,
    pub body: String,
}

impl SiteFile {
    fn html(path: impl Into<String>, body: String) -> SiteFile {
        SiteFile { path: path.into(), content_type: "text/html; charset=utf-8", body }
    }
}

/// Every file of the clinic's site: what the local host serves on request and what the publisher
/// uploads (one renderer for both). Pages link to each other relatively (the portal, in its own
/// folder, through `../`), so the same files work under `/sites/{slug}/` and at the root of a
/// custom domain.
pub fn render(catalog: &PublicCatalog, options: &SiteOptions) -> Vec<SiteFile> {
    let mut files = vec![
        SiteFile::html("index.html", pages::landing(catalog, options)),
        SiteFile::html("services.html", pages::services(catalog, options)),
        SiteFile::html("book.html", pages::book(catalog, options)),
        SiteFile::html("privacy.html", pages::privacy(catalog, options)),
        SiteFile::html("terms.html", pages::terms(catalog, options)),
        SiteFile::html("portal/index.html", pages::portal(catalog, options)),
        SiteFile::html("gift-cards.html", pages::gift_cards(catalog, options)),
        SiteFile::html("waitlist.html", pages::waitlist(catalog, options)),
        SiteFile::html("review.html", pages::review(catalog, options)),
        SiteFile::html("courses.html", pages::courses(catalog, options)),
        SiteFile::html("learn.html", pages::learn(catalog, options)),
        SiteFile {
            path: "learn.js".into(),
            content_type: "text/javascript; charset=utf-8",
            body: LEARN_SCRIPT.to_owned(),
        },
        SiteFile {
            path: "courses.js".into(),
            content_type: "text/javascript; charset=utf-8",
            body: COURSES_SCRIPT.to_owned(),
        },
        SiteFile {
            path: "review.js".into(),
            content_type: "text/javascript; charset=utf-8",
            body: REVIEW_SCRIPT.to_owned(),
        },
        SiteFile {
            path: "waitlist.js".into(),
            content_type: "text/javascript; charset=utf-8",
            body: WAITLIST_SCRIPT.to_owned(),
        },
        SiteFile {
            path: "gift.js".into(),
            content_type: "text/javascript; charset=utf-8",
            body: GIFT_SCRIPT.to_owned(),
        },
        SiteFile { path: "site.css".into(), content_type: "text/css; charset=utf-8", body: stylesheet(catalog) },
        SiteFile { path: "site.js".into(), content_type: "text/javascript; charset=utf-8", body: SCRIPT.to_owned() },
        SiteFile {
            path: "portal.js".into(),
            content_type: "text/javascript; charset=utf-8",
            body: PORTAL_SCRIPT.to_owned(),
        },
        SiteFile { path: "pay.js".into(), content_type: "text/javascript; charset=utf-8", body: PAY_SCRIPT.to_owned() },
    ];
    for service in &catalog.services {
        files.push(SiteFile::html(pages::service_file(service), pages::service(catalog, options, service)));
    }
    files
}

/// SHA-256 (hex) over every file's path, content type and body, in path order: equal hashes,
/// equal sites (the publisher skips a publish that would change nothing).
pub fn content_hash(files: &[SiteFile]) -> String {
    use sha2::{Digest, Sha256};
    let mut sorted: Vec<&SiteFile> = files.iter().collect();
    sorted.sort_by(|a, b| a.path.cmp(&b.path));
    let mut hasher = Sha256::new();
    for file in sorted {
        // Length-prefixed, so no two different file lists can produce the same stream.
        for part in [file.path.as_bytes(), file.content_type.as_bytes(), file.body.as_bytes()] {
            hasher.update((part.len() as u64).to_be_bytes());
            hasher.update(part);
        }
    }
    hex::encode(hasher.finalize())
}

/// The theme tokens as CSS custom properties, then the shared rules that read them.
pub fn stylesheet(catalog: &PublicCatalog) -> String {
    let t = &catalog.brand.tokens;
    let hex = |c: mas_domain::values::Color| format!("#{:02x}{:02x}{:02x}", c.r, c.g, c.b);
    format!(
        ":root{{--bg:{};--surface:{};--text:{};--muted:{};--primary:{};--on-primary:{};--accent:{};\
         --font-heading:{};--font-body:{};--radius:{}px;color-scheme:{}}}\n{STYLES}",
        hex(t.background),
        hex(t.surface),
        hex(t.text),
        hex(t.muted_text),
        hex(t.primary),
        hex(t.on_primary),
        hex(t.accent),
        t.font_heading,
        t.font_body,
        t.radius_px,
        if t.background.luminance() < 0.2 { "dark" } else { "light" },
    )
}

pub use mas_domain::html::escape;

/// Where Stripe.js and its iframes come from (Stripe's Content Security Policy guidance).
const STRIPE_JS: &str = "https://js.stripe.com https://*.js.stripe.com";

/// JSON for a `<script type="application/json">` data island: `<`, `>` and `&` as `\u003c`,
/// `\u003e`, `\u0026` (so no `</script>` or `<!--` can end or bend the element, whatever a clinic
/// names its treatments), and U+2028/U+2029 escaped for older JavaScript parsers. Still valid
/// JSON, read back unchanged by `JSON.parse`.
pub fn script_json(value: &serde_json::Value) -> String {
    let mut out = String::new();
    for c in value.to_string().chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            other => out.push(other),
        }
    }
    out
}

/// The security headers every page of a tenant site is served with, here and (the same text) by
/// CloudFront's response headers policy in template.yaml. `api_origin` is where pages call the
/// API (empty: the site's own origin). No inline script or style runs: the pages need none.
/// Stripe.js (the pay step's Payment Element) is the one script from elsewhere: its origins are
/// allowed as Stripe documents them — the script, its iframes (the element, 3-D Secure) and
/// its API.
pub fn security_headers(api_origin: &str) -> [(&'static str, String); 5] {
    let connect = if api_origin.is_empty() { "'self'".to_owned() } else { format!("'self' {api_origin}") };
    [
        (
            "content-security-policy",
            format!(
                "default-src 'self'; script-src 'self' {STRIPE_JS}; style-src 'self'; img-src 'self' data:; \
                 connect-src {connect} https://api.stripe.com; frame-src {STRIPE_JS} https://hooks.stripe.com; \
                 frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'"
            ),
        ),
        ("strict-transport-security", "max-age=63072000; includeSubDomains".to_owned()),
        ("x-content-type-options", "nosniff".to_owned()),
        ("x-frame-options", "DENY".to_owned()),
        ("referrer-policy", "strict-origin-when-cross-origin".to_owned()),
    ]
}

#[cfg(test)]
mod tests;
