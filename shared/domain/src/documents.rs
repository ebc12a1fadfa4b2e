//! Document templates (kinds, jurisdictions, semantic versions, effective dates, blocks with
//! `{{placeholders}}` and mandatory blocks), merging a template with a context, and the stamp that
//! lets anyone prove later that a PDF is the unaltered document we issued.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::{DateTime, Months, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::team::Role;
use super::values::{Name, ParseError, Slug};
use crate::error::{AppError, AppResult};
use crate::ids::{AppointmentId, ClientId, DocumentId, MemberId, TemplateId, TenantId};

fn fail<T>(message: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError(message.into()))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TemplateKind {
    Consent,
    Aftercare,
    Policy,
    Invoice,
    /// Course certificates (the academy).
    Certificate,
}

impl TemplateKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TemplateKind::Consent => "consent",
            TemplateKind::Aftercare => "aftercare",
            TemplateKind::Policy => "policy",
            TemplateKind::Invoice => "invoice",
            TemplateKind::Certificate => "certificate",
        }
    }
}

/// Where a template's law applies: `UK`, `EU`, `US`, `US_CA`… (2–10 uppercase letters, digits or
/// underscores, starting with a letter).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, example = "UK")]
pub struct Jurisdiction(String);

impl Jurisdiction {
    pub fn parse(raw: &str) -> Result<Jurisdiction, ParseError> {
        let ok = (2..=10).contains(&raw.len())
            && raw.starts_with(|c: char| c.is_ascii_uppercase())
            && raw.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
        if !ok {
            return fail("must be a jurisdiction code such as UK, EU or US_CA");
        }
        Ok(Jurisdiction(raw.to_owned()))
    }

    /// The jurisdiction a clinic in `country` (ISO 3166 alpha-2) works under by default.
    pub fn for_country(country: &str) -> Jurisdiction {
        const EU: [&str; 27] = [
            "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV", "LT", "LU",
            "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
        ];
        match country {
            "GB" => Jurisdiction("UK".into()),
            c if EU.contains(&c) => Jurisdiction("EU".into()),
            c => Jurisdiction::parse(c).unwrap_or_else(|_| Jurisdiction("UK".into())),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Jurisdiction {
    type Error = ParseError;
    fn try_from(raw: String) -> Result<Self, ParseError> {
        Jurisdiction::parse(&raw)
    }
}

impl From<Jurisdiction> for String {
    fn from(j: Jurisdiction) -> String {
        j.0
    }
}

impl fmt::Display for Jurisdiction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A semantic version `major.minor.patch` (no pre-release tags: only published versions exist).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SemVer {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl SemVer {
    pub fn parse(raw: &str) -> Result<SemVer, ParseError> {
        let parts: Vec<&str> = raw.split('.').collect();
        let number = |s: &str| -> Option<u32> {
            let ok = !s.is_empty()
                && s.len() <= 6
                && s.chars().all(|c| c.is_ascii_digit())
                && (s == "0" || !s.starts_with('0'));
            if ok { s.parse().ok() } else { None }
        };
        match parts.as_slice() {
            [a, b, c] => match (number(a), number(b), number(c)) {
                (Some(major), Some(minor), Some(patch)) => Ok(SemVer { major, minor, patch }),
                _ => fail("must be a version such as 1.2.0 (numbers below 1,000,000 without leading zeros)"),
            },
            _ => fail("must be a version such as 1.2.0"),
        }
    }

    /// Zero-padded, so sort keys order versions numerically.
    pub fn sort_key(self) -> String {
        format!("{:06}.{:06}.{:06}", self.major, self.minor, self.patch)
    }
}

impl utoipa::PartialSchema for SemVer {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some(r"^(0|[1-9][0-9]{0,5})\.(0|[1-9][0-9]{0,5})\.(0|[1-9][0-9]{0,5})$"))
            .examples([serde_json::json!("1.2.0")])
            .into()
    }
}

impl ToSchema for SemVer {}

impl fmt::Display for SemVer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

impl TryFrom<String> for SemVer {
    type Error = ParseError;
    fn try_from(raw: String) -> Result<Self, ParseError> {
        SemVer::parse(&raw)
    }
}

impl From<SemVer> for String {
    fn from(v: SemVer) -> String {
        v.to_string()
    }
}

/// A block's text: up to 4,000 characters whose `{{placeholders}}` are well formed. A placeholder
/// names a dotted path into the merge context: `{{client.name}}`, `{{treatment.area}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, example = "I, {{client.name}}, consent to {{treatment.name}}.")]
pub struct TemplateText(String);

impl TemplateText {
    pub fn parse(raw: &str) -> Result<TemplateText, ParseError> {
        let text = raw.trim();
        if text.is_empty() || text.chars().count() > 4000 {
            return fail("must be 1–4,000 characters");
        }
        if text.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
            return fail("must not contain control characters other than newlines and tabs");
        }
        parse_pieces(text)?;
        Ok(TemplateText(text.replace('\t', " ")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The placeholder paths this text uses, in order of first use.
    pub fn placeholders(&self) -> Vec<String> {
        let mut seen = Vec::new();
        for piece in parse_pieces(&self.0).expect("checked when parsed") {
            if let Piece::Placeholder(path) = piece
                && !seen.contains(&path)
            {
                seen.push(path);
            }
        }
        seen
    }
}

impl TryFrom<String> for TemplateText {
    type Error = ParseError;
    fn try_from(raw: String) -> Result<Self, ParseError> {
        TemplateText::parse(&raw)
    }
}

impl From<TemplateText> for String {
    fn from(t: TemplateText) -> String {
        t.0
    }
}

enum Piece<'a> {
    Literal(&'a str),
    Placeholder(String),
}

fn parse_pieces(text: &str) -> Result<Vec<Piece<'_>>, ParseError> {
    let mut pieces = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        pieces.push(Piece::Literal(&rest[..open]));
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else {
            return fail(format!("has an unclosed placeholder near `{}`", after.chars().take(30).collect::<String>()));
        };
        let path = after[..close].trim();
        if !is_placeholder_path(path) {
            return fail(format!(
                "has a malformed placeholder `{{{{{path}}}}}`: use dotted lowercase names such as {{{{client.name}}}}"
            ));
        }
        pieces.push(Piece::Placeholder(path.to_owned()));
        rest = &after[close + 2..];
    }
    if rest.contains("}}") {
        return fail("has `}}` without a matching `{{`");
    }
    pieces.push(Piece::Literal(rest));
    Ok(pieces)
}

fn is_placeholder_path(path: &str) -> bool {
    path.len() <= 80
        && path.split('.').all(|segment| {
            segment.starts_with(|c: char| c.is_ascii_lowercase())
                && segment.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        })
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Block {
    /// Stable within a template family: what mandatory-block lists and copies refer to.
    pub key: Slug,
    pub title: Name,
    /// Paragraphs separated by blank lines.
    pub body: TemplateText,
}

/// Publishing a template version (a tenant's own, usually adapted from a global one).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateInput {
    pub kind: TemplateKind,
    pub jurisdiction: Jurisdiction,
    /// What the template is about within its kind (`anti-wrinkle`, `dermal-filler`, `general`).
    #[serde(default = "general_topic")]
    #[schema(value_type = String, example = "anti-wrinkle")]
    pub topic: Slug,
    /// The document's title.
    pub name: Name,
    pub version: SemVer,
    pub effective_from: NaiveDate,
    /// The last day this version is in force; open-ended when absent.
    #[serde(default)]
    pub effective_to: Option<NaiveDate>,
    /// The template this one adapts (a global one, or an earlier version of the tenant's own).
    /// Its mandatory blocks cannot be removed.
    #[serde(default)]
    pub based_on: Option<TemplateId>,
    /// Omitted: the blocks of `based_on`, unchanged.
    #[serde(default)]
    pub blocks: Option<Vec<Block>>,
    /// Blocks a document must always contain; also those of `based_on` and of the platform's
    /// template of the same family, which are added here whether listed or not.
    #[serde(default)]
    pub mandatory_blocks: Vec<Slug>,
}

pub fn general_topic() -> Slug {
    Slug::parse("general").expect("a valid slug")
}

/// Who approved a published version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Approval {
    /// A member id, or `platform` for global templates.
    pub by: String,
    pub name: String,
    pub role: Option<Role>,
    pub at: DateTime<Utc>,
}

/// A published template version. Never changed once written: a new version is a new item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Template {
    pub id: TemplateId,
    /// The owning clinic; `None` for the platform's global templates, which clinics copy.
    pub tenant_id: Option<TenantId>,
    pub kind: TemplateKind,
    pub jurisdiction: Jurisdiction,
    #[schema(value_type = String)]
    pub topic: Slug,
    pub name: Name,
    pub version: SemVer,
    pub effective_from: NaiveDate,
    pub effective_to: Option<NaiveDate>,
    pub based_on: Option<TemplateId>,
    pub blocks: Vec<Block>,
    #[schema(value_type = Vec<String>)]
    pub mandatory_blocks: Vec<Slug>,
    pub approval: Approval,
    pub published_at: DateTime<Utc>,
}

impl Template {
    pub fn is_global(&self) -> bool {
        self.tenant_id.is_none()
    }

    pub fn in_force_on(&self, day: NaiveDate) -> bool {
        self.effective_from <= day && self.effective_to.is_none_or(|to| day <= to)
    }

    pub fn same_family(&self, kind: TemplateKind, jurisdiction: &Jurisdiction, topic: &Slug) -> bool {
        self.kind == kind && &self.jurisdiction == jurisdiction && &self.topic == topic
    }

    pub fn block(&self, key: &Slug) -> Option<&Block> {
        self.blocks.iter().find(|b| &b.key == key)
    }
}

impl TemplateInput {
    /// The version to publish: checks the input's own rules and keeps every mandatory block of
    /// `inherited` (the base and the platform's template of the family). `blocks` falls back to
    /// the base's when omitted.
    pub fn into_template(
        self,
        id: TemplateId,
        tenant_id: Option<TenantId>,
        base: Option<&Template>,
        inherited: &[&Template],
        approval: Approval,
    ) -> AppResult<Template> {
        if let Some(to) = self.effective_to
            && to < self.effective_from
        {
            return Err(AppError::invalid("invalid_dates", "effective_to", "must not be before effective_from"));
        }
        let blocks = match (self.blocks, base) {
            (Some(blocks), _) => blocks,
            (None, Some(base)) => base.blocks.clone(),
            (None, None) => {
                return Err(AppError::invalid(
                    "blocks_required",
                    "blocks",
                    "give the blocks, or a template to copy them from in based_on",
                ));
            }
        };
        if blocks.is_empty() || blocks.len() > 60 {
            return Err(AppError::invalid("invalid_blocks", "blocks", "a template has 1–60 blocks"));
        }
        let mut keys = BTreeSet::new();
        for (i, block) in blocks.iter().enumerate() {
            if !keys.insert(&block.key) {
                return Err(AppError::invalid(
                    "duplicate_block",
                    format!("blocks[{i}].key"),
                    format!("`{}` is used twice", block.key),
                ));
            }
        }
        let mut mandatory = Vec::new();
        for (i, key) in self.mandatory_blocks.iter().enumerate() {
            if !keys.contains(key) {
                return Err(AppError::invalid(
                    "mandatory_block_missing",
                    format!("mandatory_blocks[{i}]"),
                    format!("the mandatory block `{key}` is not among the blocks"),
                ));
            }
            if !mandatory.contains(key) {
                mandatory.push(key.clone());
            }
        }
        for template in inherited {
            for key in &template.mandatory_blocks {
                if !keys.contains(key) {
                    let title = template.block(key).map(|b| b.title.to_string()).unwrap_or_default();
                    return Err(AppError::invalid(
                        "mandatory_block_missing",
                        "blocks",
                        format!(
                            "the mandatory block `{key}` ({title}) of {} {} cannot be removed",
                            template.name, template.version
                        ),
                    ));
                }
                if !mandatory.contains(key) {
                    mandatory.push(key.clone());
                }
            }
        }
        Ok(Template {
            id,
            tenant_id,
            kind: self.kind,
            jurisdiction: self.jurisdiction,
            topic: self.topic,
            name: self.name,
            version: self.version,
            effective_from: self.effective_from,
            effective_to: self.effective_to,
            based_on: self.based_on,
            blocks,
            mandatory_blocks: mandatory,
            published_at: approval.at,
            approval,
        })
    }
}

/// The template in force for one family on `day`: a clinic's own versions shadow the platform's;
/// among those in force the highest version wins.
pub fn pick_in_force(candidates: &[Template], day: NaiveDate) -> Option<&Template> {
    let in_force = |global: bool| {
        candidates.iter().filter(move |t| t.is_global() == global && t.in_force_on(day)).max_by_key(|t| t.version)
    };
    in_force(false).or_else(|| in_force(true))
}

/// One block of a merged document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MergedBlock {
    pub key: String,
    pub title: String,
    pub body: String,
    pub mandatory: bool,
}

/// A document's text after merging: exactly what was issued, in a canonical form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MergedContent {
    pub title: String,
    pub blocks: Vec<MergedBlock>,
}

impl MergedContent {
    /// The canonical bytes the stamp covers: compact JSON with fields in declaration order.
    pub fn canonical(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("merged content serializes")
    }
}

/// Merges `template` with `context`, leaving out `excluded` blocks. Refuses when a mandatory
/// block (the template's own or one of `also_mandatory`) would be missing, or when placeholders
/// have no value, naming them all.
pub fn merge(
    template: &Template,
    also_mandatory: &[(Slug, String)],
    excluded: &[Slug],
    context: &serde_json::Map<String, Value>,
) -> AppResult<MergedContent> {
    let mut mandatory: Vec<(Slug, String)> = template
        .mandatory_blocks
        .iter()
        .map(|key| (key.clone(), template.block(key).map(|b| b.title.to_string()).unwrap_or_default()))
        .collect();
    for (key, title) in also_mandatory {
        if !mandatory.iter().any(|(k, _)| k == key) {
            mandatory.push((key.clone(), title.clone()));
        }
    }
    for (i, key) in excluded.iter().enumerate() {
        if template.block(key).is_none() {
            return Err(AppError::invalid(
                "unknown_block",
                format!("exclude_blocks[{i}]"),
                format!("the template has no block `{key}`"),
            ));
        }
    }
    for (key, title) in &mandatory {
        let present = template.block(key).is_some() && !excluded.contains(key);
        if !present {
            let title = if title.is_empty() { String::new() } else { format!(" ({title})") };
            return Err(AppError::Missing {
                code: "mandatory_clause_missing",
                message: format!(
                    "the mandatory clause `{key}`{title} is missing from {} {}; a document cannot be issued without it",
                    template.name, template.version
                ),
                missing: vec![key.to_string()],
            });
        }
    }
    let mut missing = BTreeSet::new();
    let mut blocks = Vec::new();
    for block in template.blocks.iter().filter(|b| !excluded.contains(&b.key)) {
        let mut body = String::new();
        for piece in parse_pieces(block.body.as_str()).expect("checked when parsed") {
            match piece {
                Piece::Literal(text) => body.push_str(text),
                Piece::Placeholder(path) => match lookup(context, &path) {
                    Some(value) => body.push_str(&value),
                    None => {
                        missing.insert(path);
                    }
                },
            }
        }
        blocks.push(MergedBlock {
            key: block.key.to_string(),
            title: block.title.to_string(),
            body,
            mandatory: mandatory.iter().any(|(k, _)| k == &block.key),
        });
    }
    if !missing.is_empty() {
        let names: Vec<String> = missing.into_iter().collect();
        return Err(AppError::Missing {
            code: "unfilled_placeholders",
            message: format!(
                "the context has no value for {}",
                names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
            ),
            missing: names,
        });
    }
    Ok(MergedContent { title: template.name.to_string(), blocks })
}

/// A placeholder's value: a non-empty string or a number at the dotted path.
fn lookup(context: &serde_json::Map<String, Value>, path: &str) -> Option<String> {
    let mut segments = path.split('.');
    let mut value = context.get(segments.next()?)?;
    for segment in segments {
        value = value.as_object()?.get(segment)?;
    }
    match value {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Checks a merge context: an object of at most 200 values, each string at most 1,000 characters
/// without control characters other than newlines.
pub fn check_context(context: &serde_json::Map<String, Value>) -> AppResult<()> {
    fn walk(value: &Value, path: &str, count: &mut usize) -> AppResult<()> {
        *count += 1;
        if *count > 200 {
            return Err(AppError::invalid("context_too_large", "context", "at most 200 values"));
        }
        match value {
            Value::String(s) if s.chars().count() > 1000 || s.chars().any(|c| c.is_control() && c != '\n') => {
                Err(AppError::invalid(
                    "invalid_value",
                    path.to_owned(),
                    "at most 1,000 characters with no control characters",
                ))
            }
            Value::Object(map) => map.iter().try_for_each(|(k, v)| walk(v, &format!("{path}.{k}"), count)),
            Value::Array(items) => {
                items.iter().enumerate().try_for_each(|(i, v)| walk(v, &format!("{path}[{i}]"), count))
            }
            _ => Ok(()),
        }
    }
    let mut count = 0;
    context.iter().try_for_each(|(k, v)| walk(v, &format!("context.{k}"), &mut count))
}

/// A lowercase hex SHA-256 digest.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, example = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")]
pub struct Sha256Hex(String);

impl Sha256Hex {
    pub fn parse(raw: &str) -> Result<Sha256Hex, ParseError> {
        let raw = raw.trim().to_ascii_lowercase();
        if raw.len() != 64 || !raw.chars().all(|c| c.is_ascii_hexdigit()) {
            return fail("must be a SHA-256 hash: 64 hexadecimal characters");
        }
        Ok(Sha256Hex(raw))
    }

    pub fn of(bytes: &[u8]) -> Sha256Hex {
        Sha256Hex(hex::encode(Sha256::digest(bytes)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// All zeros: stands where the stamp will be printed while the bytes the stamp covers are
    /// rendered (same length, so the layout is identical).
    pub fn placeholder() -> Sha256Hex {
        Sha256Hex("0".repeat(64))
    }
}

impl TryFrom<String> for Sha256Hex {
    type Error = ParseError;
    fn try_from(raw: String) -> Result<Self, ParseError> {
        Sha256Hex::parse(&raw)
    }
}

impl From<Sha256Hex> for String {
    fn from(h: Sha256Hex) -> String {
        h.0
    }
}

impl fmt::Display for Sha256Hex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The stamp: SHA-256 over the tenant, the template id and version, the canonical merged content
/// (with the signature record, for a signed document) and the SHA-256 of the rendered PDF (drawn
/// with the placeholder where the stamp goes). Each field is length-prefixed, so no two different
/// inputs can run together into the same bytes.
pub fn stamp(
    tenant: &TenantId,
    template: &TemplateId,
    version: SemVer,
    canonical_content: &[u8],
    rendered: &Sha256Hex,
) -> Sha256Hex {
    let mut hasher = Sha256::new();
    hasher.update(b"mas-stamp/1\n");
    for field in [
        tenant.as_str().as_bytes(),
        template.as_str().as_bytes(),
        version.to_string().as_bytes(),
        canonical_content,
        rendered.as_str().as_bytes(),
    ] {
        hasher.update(format!("{}:", field.len()).as_bytes());
        hasher.update(field);
        hasher.update(b"\n");
    }
    Sha256Hex(hex::encode(hasher.finalize()))
}

/// How long records are kept: consent records at least seven years (and so every document).
pub const RETENTION_YEARS: u32 = 7;

pub fn retain_until(created: DateTime<Utc>) -> NaiveDate {
    let day = created.date_naive();
    day.checked_add_months(Months::new(12 * RETENTION_YEARS)).unwrap_or(day)
}

/// How long the PDF of a document nobody has signed is kept write-once: one day. An unsigned
/// document records no act of the client, so its PDF must be deletable when the client is
/// erased, but not at once: the render is delivered at least once (a duplicate delivery can
/// store the same file again, as a new version, after a delete that listed the versions), and an
/// erasure deletes at once only PDFs whose lock has passed, scheduling the rest for when it
/// does. One day is far beyond the life of any delivery of a render message (five receives,
/// three minutes apart, each at most the function's 30 s), so a scheduled delete comes after
/// the last of them and takes every version.
pub const UNSIGNED_PDF_RETENTION: chrono::Duration = chrono::Duration::days(1);

/// Until when a PDF stored at `now` of `document` is kept write-once: a signed document's
/// (both its PDFs) to the end of its `retain_until` day, an unsigned one's `UNSIGNED_PDF_RETENTION`.
pub fn pdf_retained_until(document: &Document, now: DateTime<Utc>) -> DateTime<Utc> {
    if document.locked { end_of(document.retain_until) } else { now + UNSIGNED_PDF_RETENTION }
}

/// The first instant after `day` (UTC): a record kept "until" a date is kept through it.
pub fn end_of(day: NaiveDate) -> DateTime<Utc> {
    day.succ_opt().unwrap_or(day).and_time(chrono::NaiveTime::MIN).and_utc()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DocumentStatus {
    /// Stored; its PDF is rendered by the worker (see `pdf`).
    Generated,
    /// Signed by the client: locked for good.
    Signed,
    /// Withdrawn before signing; kept for the retention period.
    Voided,
}

/// The template a document was merged from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TemplateRef {
    pub id: TemplateId,
    pub name: String,
    pub version: SemVer,
    pub jurisdiction: Jurisdiction,
    pub global: bool,
}

/// The client's signature, as captured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SignatureRecord {
    pub session_id: crate::ids::SigningSessionId,
    pub typed_name: String,
    /// SHA-256 of the PNG image the client drew.
    pub image_sha256: Sha256Hex,
    pub signed_at: DateTime<Utc>,
    pub ip: String,
    pub user_agent: String,
}

/// A document: the merged text as issued, what it was merged from, and its signature once signed.
/// Only two changes ever happen to it, each a conditional write on `version`: signing (which
/// locks it) and voiding an unsigned one. Rendered PDFs are separate items, written once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Document {
    pub id: DocumentId,
    pub tenant_id: TenantId,
    pub client_id: ClientId,
    pub appointment_id: Option<AppointmentId>,
    pub kind: TemplateKind,
    #[schema(value_type = String)]
    pub topic: Slug,
    pub template: TemplateRef,
    pub content: MergedContent,
    pub content_sha256: Sha256Hex,
    /// The client's name as printed (from the context until the client record is read).
    pub client_name: String,
    pub status: DocumentStatus,
    /// Set by signing; a locked document is never changed again.
    pub locked: bool,
    pub signature: Option<SignatureRecord>,
    pub version: u64,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    /// Kept at least until this day (consent records: seven years or more); never deleted by a role.
    pub retain_until: NaiveDate,
}

impl Document {
    /// The bytes the stamp of a variant covers: the content, plus the signature for the signed PDF.
    pub fn canonical(&self, variant: Variant) -> Vec<u8> {
        match (variant, &self.signature) {
            (Variant::Signed, Some(signature)) => {
                serde_json::to_vec(&serde_json::json!({ "content": self.content, "signature": signature }))
                    .expect("serializes")
            }
            _ => self.content.canonical(),
        }
    }
}

/// Which PDF of a document: as generated, or signed (with the signature and the audit page).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Variant {
    Generated,
    Signed,
}

impl Variant {
    pub fn as_str(self) -> &'static str {
        match self {
            Variant::Generated => "generated",
            Variant::Signed => "signed",
        }
    }
}

/// A rendered PDF of a document, written once by the render worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Rendition {
    pub document_id: DocumentId,
    pub variant: Variant,
    /// Printed in the PDF's footer.
    pub stamp: Sha256Hex,
    /// SHA-256 of the PDF file as stored (what `sha256sum` prints).
    pub file_sha256: Sha256Hex,
    /// SHA-256 of the same PDF drawn with the stamp placeholder: the bytes the stamp covers.
    pub rendered_sha256: Sha256Hex,
    pub size_bytes: u64,
    pub blob_key: String,
    pub rendered_at: DateTime<Utc>,
}

/// What a stamp or a file hash leads to: enough to answer a verification without reading more.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StampRecord {
    pub tenant_id: TenantId,
    pub client_id: ClientId,
    pub document_id: DocumentId,
    pub variant: Variant,
    /// `stamp` (the hash printed in the PDF) or `file` (the SHA-256 of the PDF's bytes).
    pub matched: String,
    pub issued_at: DateTime<Utc>,
}

/// Who generated a document, for the record.
pub fn member_actor(member: &MemberId) -> String {
    member.to_string()
}

/// Placeholder values the platform supplies itself (the caller's context may not override them).
pub fn platform_context(clinic_name: &str, day: NaiveDate, document: &DocumentId) -> BTreeMap<&'static str, Value> {
    BTreeMap::from([
        ("clinic", serde_json::json!({ "name": clinic_name })),
        ("document", serde_json::json!({ "date": day.format("%-d %B %Y").to_string(), "id": document })),
    ])
}

/// The client as their record has them: generation never trusts a caller for who the client is.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientFacts {
    pub first_name: String,
    pub last_name: String,
    pub date_of_birth: Option<NaiveDate>,
}

impl ClientFacts {
    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name.trim(), self.last_name.trim()).trim().to_owned()
    }
}

/// The booking a document is about, as the appointment and the catalog have it.
#[derive(Debug, Clone, PartialEq)]
pub struct BookingFacts {
    pub service_name: String,
    pub practitioner_name: String,
    pub location_name: String,
    /// The start on the location's wall clock.
    pub local_start: DateTime<chrono_tz::Tz>,
}

fn object_at<'a>(
    context: &'a mut serde_json::Map<String, Value>,
    name: &str,
) -> &'a mut serde_json::Map<String, Value> {
    let slot = context.entry(name.to_owned()).or_insert_with(|| Value::Object(Default::default()));
    if !slot.is_object() {
        *slot = Value::Object(Default::default());
    }
    slot.as_object_mut().expect("made an object above")
}

/// Lays the records over the caller's context. Who the client is (`client.*`), who treats them
/// (`practitioner.name`) and when and where (`appointment.*`) come from the records and override
/// the context; `treatment.name` defaults to the service's name, which the context may refine
/// (the product and dose are the practitioner's to state). A date of birth the record lacks is
/// removed, so a template that needs it names it as unfilled rather than printing a guess.
pub fn apply_records(
    context: &mut serde_json::Map<String, Value>,
    client: &ClientFacts,
    booking: Option<&BookingFacts>,
) {
    let entry = object_at(context, "client");
    entry.insert("name".into(), Value::String(client.full_name()));
    entry.insert("first_name".into(), Value::String(client.first_name.clone()));
    entry.insert("last_name".into(), Value::String(client.last_name.clone()));
    match client.date_of_birth {
        Some(born) => entry.insert("date_of_birth".into(), Value::String(born.format("%-d %B %Y").to_string())),
        None => entry.remove("date_of_birth"),
    };
    let Some(booking) = booking else { return };
    object_at(context, "practitioner").insert("name".into(), Value::String(booking.practitioner_name.clone()));
    let appointment = object_at(context, "appointment");
    appointment.insert("date".into(), Value::String(booking.local_start.format("%-d %B %Y").to_string()));
    appointment.insert("time".into(), Value::String(booking.local_start.format("%H:%M").to_string()));
    appointment.insert("timezone".into(), Value::String(booking.local_start.timezone().name().to_owned()));
    appointment.insert("location".into(), Value::String(booking.location_name.clone()));
    let treatment = object_at(context, "treatment");
    let named = treatment.get("name").and_then(Value::as_str).is_some_and(|n| !n.trim().is_empty());
    if !named {
        treatment.insert("name".into(), Value::String(booking.service_name.clone()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ann() -> ClientFacts {
        ClientFacts {
            first_name: "Zoë".into(),
            last_name: "Ó Briain".into(),
            date_of_birth: NaiveDate::from_ymd_opt(1990, 4, 21),
        }
    }

    fn booking() -> BookingFacts {
        use chrono::TimeZone as _;
        BookingFacts {
            service_name: "Anti-wrinkle, three areas".into(),
            practitioner_name: "Dr Ada Okafor".into(),
            location_name: "Mayfair".into(),
            // 09:30 UTC on a summer day is 10:30 in London (BST).
            local_start: Utc.with_ymd_and_hms(2026, 7, 1, 9, 30, 0).unwrap().with_timezone(&chrono_tz::Europe::London),
        }
    }

    #[test]
    fn the_clients_record_overrides_whatever_the_caller_says_about_who_the_client_is() {
        let mut context = object(json!({
            "client": {"name": "Somebody Else", "date_of_birth": "1 January 2000", "preferred": "Zo"},
            "treatment": {"area": "forehead"}
        }));
        apply_records(&mut context, &ann(), None);
        assert_eq!(context["client"]["name"], "Zoë Ó Briain");
        assert_eq!(context["client"]["date_of_birth"], "21 April 1990");
        assert_eq!(context["client"]["preferred"], "Zo", "other values of the caller stay");
        assert_eq!(context["treatment"]["area"], "forehead");

        let unknown_birthday = ClientFacts { date_of_birth: None, ..ann() };
        apply_records(&mut context, &unknown_birthday, None);
        assert!(context["client"].get("date_of_birth").is_none(), "never a date the record does not have");
    }

    #[test]
    fn a_booking_fills_the_practitioner_and_the_local_date_and_time_while_the_context_may_name_the_product() {
        let mut context = object(json!({"practitioner": {"name": "Not them"}, "client": "not an object"}));
        apply_records(&mut context, &ann(), Some(&booking()));
        assert_eq!(context["practitioner"]["name"], "Dr Ada Okafor");
        assert_eq!(context["treatment"]["name"], "Anti-wrinkle, three areas");
        assert_eq!(context["appointment"]["date"], "1 July 2026");
        assert_eq!(context["appointment"]["time"], "10:30", "the location's wall clock, not UTC");
        assert_eq!(context["appointment"]["timezone"], "Europe/London");
        assert_eq!(context["client"]["name"], "Zoë Ó Briain");

        let mut refined = object(json!({"treatment": {"name": "Azzalure, 50 Speywood units"}}));
        apply_records(&mut refined, &ann(), Some(&booking()));
        assert_eq!(refined["treatment"]["name"], "Azzalure, 50 Speywood units");
    }

    fn template(blocks: Value, mandatory: &[&str]) -> Template {
        let input: TemplateInput = serde_json::from_value(json!({
            "kind": "consent", "jurisdiction": "UK", "topic": "anti-wrinkle", "name": "Consent", "version": "1.0.0",
            "effective_from": "2026-01-01", "blocks": blocks, "mandatory_blocks": mandatory
        }))
        .unwrap();
        let approval = Approval { by: "platform".into(), name: "Platform".into(), role: None, at: Utc::now() };
        input.into_template(TemplateId::new(), None, None, &[], approval).unwrap()
    }

    fn object(value: Value) -> serde_json::Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn versions_parse_strictly_and_sort_numerically() {
        assert!(SemVer::parse("1.10.0").unwrap() > SemVer::parse("1.9.3").unwrap());
        assert!(SemVer::parse("1.10.0").unwrap().sort_key() > SemVer::parse("1.9.3").unwrap().sort_key());
        for bad in ["1", "1.2", "1.2.3.4", "01.2.3", "1.2.x", "-1.2.3", "1.2.3-beta", ""] {
            assert!(SemVer::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn malformed_placeholders_are_refused_when_the_template_is_read() {
        assert!(TemplateText::parse("Hello {{client.name}}").is_ok());
        for bad in ["Hello {{client.name", "Hello {{Client}}", "Hello {{ }}", "Hello }} there", "{{a..b}}", "{{1a}}"] {
            assert!(TemplateText::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn merging_fills_placeholders_and_names_every_missing_one() {
        let t = template(
            json!([{"key": "intro", "title": "Intro", "body": "I, {{client.name}}, agree to {{treatment.name}} at {{clinic.name}}."},
                   {"key": "risks", "title": "Risks", "body": "Bruising {{treatment.area}}"}]),
            &["risks"],
        );
        let merged = merge(&t, &[], &[], &object(json!({"client": {"name": "Zoë Ó Briain"}, "treatment": {"name": "Botox", "area": "forehead"}, "clinic": {"name": "Glow"}}))).unwrap();
        assert_eq!(merged.blocks[0].body, "I, Zoë Ó Briain, agree to Botox at Glow.");
        assert!(merged.blocks[1].mandatory && !merged.blocks[0].mandatory);

        let err = merge(&t, &[], &[], &object(json!({"client": {"name": " "}, "treatment": {"name": {"x": 1}}})))
            .unwrap_err();
        match err {
            AppError::Missing { code, missing, .. } => {
                assert_eq!(code, "unfilled_placeholders");
                assert_eq!(missing, ["client.name", "clinic.name", "treatment.area", "treatment.name"]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn excluding_a_mandatory_block_or_lacking_an_inherited_one_names_the_clause() {
        let t = template(
            json!([{"key": "risks", "title": "Risks", "body": "Bruising."}, {"key": "photos", "title": "Photos", "body": "Maybe."}]),
            &["risks"],
        );
        let risks = Slug::parse("risks").unwrap();
        let err = merge(&t, &[], std::slice::from_ref(&risks), &serde_json::Map::new()).unwrap_err();
        assert!(
            matches!(err, AppError::Missing { code: "mandatory_clause_missing", ref missing, .. } if missing == &["risks"]),
            "{err:?}"
        );
        let cooling = (Slug::parse("cooling-off").unwrap(), "Cooling off".to_owned());
        let err = merge(&t, &[cooling], &[], &serde_json::Map::new()).unwrap_err();
        assert!(err.to_string().contains("cooling-off") && err.to_string().contains("Cooling off"), "{err}");
        let photos = Slug::parse("photos").unwrap();
        assert_eq!(merge(&t, &[], &[photos], &serde_json::Map::new()).unwrap().blocks.len(), 1);
    }

    #[test]
    fn a_copy_that_drops_an_inherited_mandatory_block_cannot_be_published() {
        let base = template(json!([{"key": "risks", "title": "Risks", "body": "Bruising."}]), &["risks"]);
        let input: TemplateInput = serde_json::from_value(json!({
            "kind": "consent", "jurisdiction": "UK", "topic": "anti-wrinkle", "name": "Ours", "version": "1.0.0",
            "effective_from": "2026-01-01", "blocks": [{"key": "intro", "title": "Intro", "body": "Hi"}]
        }))
        .unwrap();
        let approval = Approval { by: "mem_1".into(), name: "O".into(), role: Some(Role::Owner), at: Utc::now() };
        let err =
            input.clone().into_template(TemplateId::new(), None, Some(&base), &[&base], approval.clone()).unwrap_err();
        assert!(matches!(err, AppError::Invalid { code: "mandatory_block_missing", .. }), "{err:?}");
        let copied = TemplateInput { blocks: None, ..input };
        let t = copied.into_template(TemplateId::new(), None, Some(&base), &[&base], approval).unwrap();
        assert_eq!(t.mandatory_blocks, [Slug::parse("risks").unwrap()]);
    }

    #[test]
    fn the_clinics_version_in_force_shadows_the_platforms_and_the_highest_version_wins() {
        let mut global_1 = template(json!([{"key": "aa", "title": "A", "body": "a"}]), &[]);
        global_1.effective_to = NaiveDate::from_ymd_opt(2026, 6, 30);
        let mut global_2 = template(json!([{"key": "aa", "title": "A", "body": "a"}]), &[]);
        global_2.version = SemVer::parse("2.0.0").unwrap();
        global_2.effective_from = NaiveDate::from_ymd_opt(2026, 7, 1).unwrap();
        let day = |m, d| NaiveDate::from_ymd_opt(2026, m, d).unwrap();
        let all = vec![global_1.clone(), global_2.clone()];
        assert_eq!(pick_in_force(&all, day(6, 30)).unwrap().version, global_1.version);
        assert_eq!(pick_in_force(&all, day(7, 1)).unwrap().version, global_2.version);
        assert!(pick_in_force(&all, day(1, 1) - chrono::Duration::days(1)).is_none());
        let mut ours = global_1.clone();
        ours.tenant_id = Some(TenantId::parse("ten_a").unwrap());
        ours.effective_to = None;
        let with_ours = vec![global_1, global_2, ours.clone()];
        assert_eq!(pick_in_force(&with_ours, day(8, 1)).unwrap().id, ours.id);
    }

    #[test]
    fn the_stamp_changes_with_every_input_it_covers() {
        let tenant = TenantId::parse("ten_a").unwrap();
        let template = TemplateId::parse("tpl_a").unwrap();
        let version = SemVer::parse("1.0.0").unwrap();
        let rendered = Sha256Hex::of(b"pdf");
        let base = stamp(&tenant, &template, version, b"content", &rendered);
        assert_eq!(base, stamp(&tenant, &template, version, b"content", &rendered));
        assert_ne!(base, stamp(&TenantId::parse("ten_b").unwrap(), &template, version, b"content", &rendered));
        assert_ne!(base, stamp(&tenant, &TemplateId::parse("tpl_b").unwrap(), version, b"content", &rendered));
        assert_ne!(base, stamp(&tenant, &template, SemVer::parse("1.0.1").unwrap(), b"content", &rendered));
        assert_ne!(base, stamp(&tenant, &template, version, b"contenT", &rendered));
        assert_ne!(base, stamp(&tenant, &template, version, b"content", &Sha256Hex::of(b"pdf2")));
    }

    #[test]
    fn consent_records_are_kept_seven_years() {
        let created = DateTime::parse_from_rfc3339("2026-02-28T10:00:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(retain_until(created), NaiveDate::from_ymd_opt(2033, 2, 28).unwrap());
    }

    #[test]
    fn an_unsigned_pdf_is_kept_a_day_and_a_record_kept_until_a_date_is_kept_through_it() {
        assert_eq!(
            end_of(NaiveDate::from_ymd_opt(2034, 3, 1).unwrap()),
            DateTime::parse_from_rfc3339("2034-03-02T00:00:00Z").unwrap().with_timezone(&Utc)
        );
        assert_eq!(UNSIGNED_PDF_RETENTION, chrono::Duration::hours(24));
    }
}
