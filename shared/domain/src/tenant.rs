//! A tenant (one clinic business) and its brand: theme tokens, custom domain or subdomain, SEO.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::values::{Color, CountryCode, Currency, Email, Hostname, Name, ParseError, Slug, Text, TimeZone};
use crate::error::{AppError, AppResult};
use crate::ids::TenantId;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Tenant {
    pub id: TenantId,
    /// The tenant's public handle: `/v1/public/{slug}/…`, `/sites/{slug}/`.
    pub slug: Slug,
    pub name: Name,
    pub country: CountryCode,
    pub currency: Currency,
    /// The default zone for new locations.
    pub timezone: TimeZone,
    pub created_at: DateTime<Utc>,
    /// Whether the clinic is live: a new clinic waits for its owner to confirm their email
    /// before its site, booking and portal answer anyone. Clinics stored before the field
    /// existed were live.
    #[serde(default)]
    pub status: TenantStatus,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TenantStatus {
    /// Signed up; the owner has not yet opened the link emailed to them.
    PendingEmailVerification,
    #[default]
    Live,
}

impl Tenant {
    pub fn is_live(&self) -> bool {
        self.status == TenantStatus::Live
    }
}

/// Names the platform keeps for itself: no clinic's slug or subdomain may be one (each becomes
/// `{name}.{SiteDomain}`, and these are, or may become, the platform's own hosts).
pub const RESERVED_NAMES: &[&str] = &[
    "www",
    "api",
    "app",
    "apps",
    "admin",
    "auth",
    "login",
    "account",
    "accounts",
    "mail",
    "email",
    "smtp",
    "imap",
    "static",
    "assets",
    "cdn",
    "media",
    "files",
    "sites",
    "site",
    "portal",
    "status",
    "help",
    "support",
    "docs",
    "blog",
    "news",
    "dashboard",
    "billing",
    "pay",
    "payments",
    "m",
    "mobile",
    "dev",
    "test",
    "staging",
    "demo-api",
];

pub fn is_reserved_name(name: &str) -> bool {
    RESERVED_NAMES.contains(&name)
}

/// Signing up a clinic: the tenant and its first owner.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignupInput {
    pub name: Name,
    pub slug: Slug,
    pub owner: OwnerInput,
    #[serde(default = "default_country")]
    pub country: CountryCode,
    #[serde(default)]
    pub currency: Currency,
    #[serde(default = "default_timezone")]
    pub timezone: TimeZone,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OwnerInput {
    pub email: Email,
    pub name: Name,
    /// The owner's password (10–128 characters): given, the answer carries a signed-in session.
    #[serde(default)]
    pub password: Option<super::auth::Password>,
}

fn default_country() -> CountryCode {
    CountryCode::parse("GB").expect("GB is a country code")
}

fn default_timezone() -> TimeZone {
    TimeZone::parse("Europe/London").expect("Europe/London is a zone")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum ThemePreset {
    LuxuryNoir,
    #[default]
    IvoryMinimal,
    ChampagneClassic,
}

/// The design tokens a site is drawn with; they become CSS custom properties.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ThemeTokens {
    pub background: Color,
    pub surface: Color,
    pub text: Color,
    pub muted_text: Color,
    pub primary: Color,
    /// Text drawn on `primary` (buttons).
    pub on_primary: Color,
    pub accent: Color,
    pub font_heading: String,
    pub font_body: String,
    pub radius_px: u8,
}

impl ThemePreset {
    pub fn tokens(self) -> ThemeTokens {
        let c = Color::rgb;
        match self {
            ThemePreset::LuxuryNoir => ThemeTokens {
                background: c(0x0f, 0x0f, 0x10),
                surface: c(0x1c, 0x1c, 0x1f),
                text: c(0xf5, 0xf1, 0xe8),
                muted_text: c(0xbd, 0xb6, 0xa8),
                primary: c(0xc9, 0xa9, 0x6e),
                on_primary: c(0x14, 0x11, 0x0c),
                accent: c(0xe8, 0xd5, 0xb0),
                font_heading: "Playfair Display, Georgia, serif".into(),
                font_body: "Inter, system-ui, sans-serif".into(),
                radius_px: 2,
            },
            ThemePreset::IvoryMinimal => ThemeTokens {
                background: c(0xfb, 0xf9, 0xf5),
                surface: c(0xff, 0xff, 0xff),
                text: c(0x1f, 0x1d, 0x1a),
                muted_text: c(0x5c, 0x57, 0x50),
                primary: c(0x2f, 0x4a, 0x3f),
                on_primary: c(0xff, 0xff, 0xff),
                accent: c(0x8a, 0x6f, 0x4e),
                font_heading: "Cormorant Garamond, Georgia, serif".into(),
                font_body: "Inter, system-ui, sans-serif".into(),
                radius_px: 12,
            },
            ThemePreset::ChampagneClassic => ThemeTokens {
                background: c(0xf7, 0xef, 0xe6),
                surface: c(0xff, 0xfb, 0xf6),
                text: c(0x3a, 0x2a, 0x22),
                muted_text: c(0x6b, 0x55, 0x48),
                primary: c(0x8c, 0x4a, 0x3c),
                on_primary: c(0xff, 0xff, 0xff),
                accent: c(0xb8, 0x86, 0x5b),
                font_heading: "Libre Baskerville, Georgia, serif".into(),
                font_body: "Lato, system-ui, sans-serif".into(),
                radius_px: 6,
            },
        }
    }
}

/// A font stack: letters, digits, spaces, hyphens and commas only (it lands in CSS).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, example = "Inter, system-ui, sans-serif")]
pub struct FontStack(String);

impl TryFrom<String> for FontStack {
    type Error = ParseError;
    fn try_from(raw: String) -> Result<Self, ParseError> {
        let ok = raw.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, ' ' | '-' | ','));
        if raw.trim().is_empty() || raw.len() > 120 || !ok {
            return Err(ParseError("must be a font stack of letters, digits, spaces, hyphens and commas".into()));
        }
        Ok(FontStack(raw.trim().to_owned()))
    }
}

impl From<FontStack> for String {
    fn from(f: FontStack) -> String {
        f.0
    }
}

/// An absolute `https://` URL (logos are fetched by visitors' browsers).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, example = "https://cdn.example.com/logo.svg")]
pub struct HttpsUrl(String);

impl TryFrom<String> for HttpsUrl {
    type Error = ParseError;
    fn try_from(raw: String) -> Result<Self, ParseError> {
        let rest = raw.strip_prefix("https://").unwrap_or("");
        let host = rest.split(['/', '?', '#']).next().unwrap_or("");
        if raw.len() > 2048 || Hostname::parse(host).is_err() || raw.chars().any(|c| c.is_whitespace() || c == '"') {
            return Err(ParseError("must be an https:// URL".into()));
        }
        Ok(HttpsUrl(raw))
    }
}

impl From<HttpsUrl> for String {
    fn from(u: HttpsUrl) -> String {
        u.0
    }
}

/// Tenant overrides of a preset; anything left out comes from the preset.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ThemeOverrides {
    #[serde(default)]
    pub background: Option<Color>,
    #[serde(default)]
    pub surface: Option<Color>,
    #[serde(default)]
    pub text: Option<Color>,
    #[serde(default)]
    pub muted_text: Option<Color>,
    #[serde(default)]
    pub primary: Option<Color>,
    #[serde(default)]
    pub on_primary: Option<Color>,
    #[serde(default)]
    pub accent: Option<Color>,
    #[serde(default)]
    pub font_heading: Option<FontStack>,
    #[serde(default)]
    pub font_body: Option<FontStack>,
    #[serde(default)]
    pub radius_px: Option<u8>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Seo {
    #[serde(default)]
    pub title: Option<Name>,
    #[serde(default)]
    pub description: Option<Text>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BrandInput {
    #[serde(default)]
    pub theme: ThemePreset,
    #[serde(default)]
    pub overrides: ThemeOverrides,
    #[serde(default)]
    pub logo_url: Option<HttpsUrl>,
    /// A custom domain the tenant's site answers on; one tenant per domain.
    #[serde(default)]
    pub domain: Option<Hostname>,
    /// A subdomain of the platform's site domain; one tenant per subdomain.
    #[serde(default)]
    pub subdomain: Option<Slug>,
    #[serde(default)]
    pub seo: Seo,
    /// Who the clinic is in law: printed on its receipts and in its site's footer.
    #[serde(default)]
    pub business: crate::business::BusinessDetails,
}

/// Minimum WCAG 2.2 AA contrast for body text.
pub const MIN_TEXT_CONTRAST: f64 = 4.5;

impl BrandInput {
    /// The preset with the overrides applied.
    pub fn tokens(&self) -> ThemeTokens {
        let mut t = self.theme.tokens();
        let o = &self.overrides;
        let pick = |over: Option<Color>, base: Color| over.unwrap_or(base);
        t.background = pick(o.background, t.background);
        t.surface = pick(o.surface, t.surface);
        t.text = pick(o.text, t.text);
        t.muted_text = pick(o.muted_text, t.muted_text);
        t.primary = pick(o.primary, t.primary);
        t.on_primary = pick(o.on_primary, t.on_primary);
        t.accent = pick(o.accent, t.accent);
        if let Some(f) = &o.font_heading {
            t.font_heading = f.0.clone();
        }
        if let Some(f) = &o.font_body {
            t.font_body = f.0.clone();
        }
        if let Some(r) = o.radius_px {
            t.radius_px = r;
        }
        t
    }

    /// Refuses a brand whose text would be hard to read (WCAG 2.2 AA, 4.5:1 for normal text).
    pub fn check(&self) -> AppResult<()> {
        if let Some(sub) = self.subdomain.as_ref().filter(|s| is_reserved_name(s.as_str())) {
            return Err(AppError::invalid(
                "subdomain_reserved",
                "subdomain",
                format!("`{sub}` is kept for the platform"),
            ));
        }
        if self.overrides.radius_px.is_some_and(|r| r > 32) {
            return Err(AppError::invalid("out_of_range", "overrides.radius_px", "must be 0–32"));
        }
        if self.seo.description.as_ref().is_some_and(|d| d.as_str().chars().count() > 300) {
            return Err(AppError::invalid("too_long", "seo.description", "at most 300 characters"));
        }
        let t = self.tokens();
        let pairs = [
            ("overrides.text", t.text, t.background, "text on background"),
            ("overrides.text", t.text, t.surface, "text on surface"),
            ("overrides.muted_text", t.muted_text, t.background, "muted text on background"),
            ("overrides.on_primary", t.on_primary, t.primary, "button text on primary"),
        ];
        for (field, fg, bg, what) in pairs {
            let ratio = fg.contrast(bg);
            if ratio < MIN_TEXT_CONTRAST {
                return Err(AppError::invalid(
                    "insufficient_contrast",
                    field,
                    format!("{what} has contrast {ratio:.2}:1; WCAG AA needs at least {MIN_TEXT_CONTRAST}:1"),
                ));
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Brand {
    #[serde(flatten)]
    pub input: BrandInput,
    /// The resolved tokens (preset plus overrides), for the site renderer and the API's readers.
    pub tokens: ThemeTokens,
    /// The custom domain's proof of control: until its TXT record is seen the site does not
    /// answer on the domain and no other clinic is kept from it. Absent without a domain, and on
    /// brands whose domain was claimed before proofs existed (their claim stands).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain_verification: Option<DomainVerification>,
    pub version: u64,
    pub updated_at: DateTime<Utc>,
}

/// What proves a clinic controls its custom domain: a TXT record named `record_name` whose text
/// is `record_value` (a token only this brand was given). A clinic cannot take a domain whose DNS
/// it does not control, and a pending domain holds nothing, so nobody can squat another's domain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DomainVerification {
    pub domain: Hostname,
    /// `_mas-verify.{domain}`.
    pub record_name: String,
    /// `mas-verify={token}`.
    pub record_value: String,
    /// When the record was seen and the domain claimed; absent while pending.
    #[serde(default)]
    pub verified_at: Option<DateTime<Utc>>,
}

impl DomainVerification {
    /// The label under the domain where the TXT record goes.
    pub const RECORD_LABEL: &str = "_mas-verify";

    /// A pending proof for `domain`; `token` must be unguessable (it is what only the brand knows).
    pub fn pending(domain: Hostname, token: &str) -> DomainVerification {
        DomainVerification {
            record_name: format!("{}.{domain}", Self::RECORD_LABEL),
            record_value: format!("mas-verify={token}"),
            domain,
            verified_at: None,
        }
    }

    pub fn is_verified(&self) -> bool {
        self.verified_at.is_some()
    }

    /// Whether the TXT strings found at `record_name` hold the expected value (resolvers may
    /// split or quote long strings; ours is short, so a whole-string match after trimming quotes).
    pub fn is_proven_by(&self, texts: &[String]) -> bool {
        texts.iter().any(|text| text.trim().trim_matches('"') == self.record_value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_domain_is_proven_only_by_its_own_token_at_its_own_record() {
        let proof = DomainVerification::pending(Hostname::parse("www.glow.example").unwrap(), "t0k3n");
        assert_eq!(proof.record_name, "_mas-verify.www.glow.example");
        assert!(!proof.is_verified());
        assert!(proof.is_proven_by(&["v=spf1 -all".into(), "\"mas-verify=t0k3n\"".into()]));
        assert!(!proof.is_proven_by(&["mas-verify=other".into()]));
        assert!(!proof.is_proven_by(&["mas-verify=t0k3n-and-more".into()]));
        assert!(!proof.is_proven_by(&[]));
    }

    #[test]
    fn every_preset_meets_wcag_aa_contrast() {
        for theme in [ThemePreset::LuxuryNoir, ThemePreset::IvoryMinimal, ThemePreset::ChampagneClassic] {
            BrandInput { theme, ..BrandInput::default() }.check().unwrap_or_else(|e| panic!("{theme:?}: {e}"));
        }
    }

    #[test]
    fn pale_text_on_a_white_background_is_refused_with_the_field_named() {
        let brand: BrandInput = serde_json::from_str(
            r##"{"theme": "ivory_minimal", "overrides": {"text": "#cccccc", "background": "#ffffff"}}"##,
        )
        .unwrap();
        let err = brand.check().unwrap_err();
        assert!(
            matches!(err, AppError::Invalid { code: "insufficient_contrast", field: Some(f), .. } if f == "overrides.text")
        );
    }

    #[test]
    fn a_logo_must_be_served_over_https() {
        assert!(serde_json::from_str::<BrandInput>(r#"{"logo_url": "http://example.com/a.png"}"#).is_err());
        assert!(serde_json::from_str::<BrandInput>(r#"{"logo_url": "https://example.com/a.png"}"#).is_ok());
        assert!(
            serde_json::from_str::<BrandInput>(r#"{"overrides": {"font_body": "x; } body { color: red"}}"#).is_err()
        );
    }
}
