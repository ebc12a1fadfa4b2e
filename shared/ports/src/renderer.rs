//! The renderer port: a document's merged content in, PDF bytes out. The implementation (a PDF
//! library and embedded fonts) lives in the `mas-render` crate, which only the render worker,
//! the local host and the tests depend on, so the API functions never carry its weight.

use chrono::{DateTime, Utc};

use mas_domain::values::Color;

/// Everything a page needs; the renderer adds nothing but layout.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderJob {
    pub clinic_name: String,
    pub colors: RenderColors,
    pub title: String,
    /// Lines printed under the title (client, date, document id).
    pub subtitle: Vec<String>,
    pub blocks: Vec<RenderBlock>,
    /// Printed in every page's footer.
    pub stamp: String,
    /// Printed beside the stamp: what it is and where to check it.
    pub footer_note: String,
    /// Present on the signed variant: the signature block and the audit page.
    pub signature: Option<RenderSignature>,
    /// The clinic's logo, drawn at the right of every page's header band.
    pub logo: Option<RenderLogo>,
}

/// An image already checked by decoding (`domain::logo::check_logo`).
#[derive(Debug, Clone, PartialEq)]
pub struct RenderLogo {
    pub format: mas_domain::logo::LogoFormat,
    pub bytes: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RenderColors {
    /// Header band and headings.
    pub primary: Color,
    /// Text drawn on the header band.
    pub on_primary: Color,
    pub text: Color,
    pub muted_text: Color,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RenderBlock {
    pub title: String,
    /// Paragraphs separated by blank lines; single newlines are line breaks.
    pub body: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RenderSignature {
    pub typed_name: String,
    /// The drawn signature as PNG bytes (checked when it was captured).
    pub png: Vec<u8>,
    pub signed_at: DateTime<Utc>,
    /// The audit page: what happened, when, from where.
    pub audit: Vec<RenderAuditRow>,
    /// Lines printed above the audit table (document id, stamp of the unsigned version…).
    pub audit_notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RenderAuditRow {
    pub at: DateTime<Utc>,
    pub event: String,
    pub ip: String,
    pub user_agent: String,
}

/// Renders PDFs. Synchronous and CPU-bound: callers run it on a blocking thread.
pub trait Renderer: Send + Sync {
    fn render(&self, job: &RenderJob) -> Result<Vec<u8>, String>;
}
