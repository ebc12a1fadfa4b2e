//! E-signature sessions: a client signs one document through a signed link before it expires,
//! with a typed name and a drawn signature; every step is recorded with time, IP and user agent.

use base64::Engine;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::documents::Sha256Hex;
use super::values::{Name, ParseError};
use crate::ids::{ClientId, DocumentId, SigningSessionId, TenantId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    /// Opened by staff; the link has not been handed out yet.
    Created,
    /// The link has been given to the client (returned to staff, or sent by a message).
    Sent,
    /// The client opened the signing page.
    Opened,
    Signed,
    Declined,
    /// Not signed before `expires_at`.
    Expired,
}

impl SessionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionStatus::Created => "created",
            SessionStatus::Sent => "sent",
            SessionStatus::Opened => "opened",
            SessionStatus::Signed => "signed",
            SessionStatus::Declined => "declined",
            SessionStatus::Expired => "expired",
        }
    }

    /// Still waiting for the client.
    pub fn is_open(self) -> bool {
        matches!(self, SessionStatus::Created | SessionStatus::Sent | SessionStatus::Opened)
    }
}

/// One line of the audit page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SessionEvent {
    pub at: DateTime<Utc>,
    pub event: SessionStatus,
    /// A member id, or `client`.
    pub actor: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SigningSession {
    pub id: SigningSessionId,
    pub tenant_id: TenantId,
    pub document_id: DocumentId,
    pub client_id: ClientId,
    /// As stored; `current_status` also says whether it has expired since.
    pub status: SessionStatus,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub events: Vec<SessionEvent>,
    /// The drawn signature (a `data:image/png;base64,…` URL), once signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub signature_png: Option<String>,
    pub typed_name: Option<String>,
    pub version: u64,
}

impl SigningSession {
    pub fn current_status(&self, now: DateTime<Utc>) -> SessionStatus {
        if self.status.is_open() && now >= self.expires_at { SessionStatus::Expired } else { self.status }
    }
}

/// Where a request came from, as recorded on the audit page.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Origin {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// The client's signature: a typed name, a drawn image and an explicit agreement.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignInput {
    pub typed_name: Name,
    pub signature_png: PngDataUrl,
    /// Must be `true`: the client ticked "I have read and agree".
    pub agree: bool,
}

/// A `data:image/png;base64,…` URL holding a real PNG of at most 96 KB and 2,000 × 1,000 pixels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, example = "data:image/png;base64,iVBORw0KGgo…")]
pub struct PngDataUrl(String);

pub const MAX_SIGNATURE_BYTES: usize = 96 * 1024;

impl PngDataUrl {
    pub fn parse(raw: &str) -> Result<PngDataUrl, ParseError> {
        let bad = |why: &str| Err(ParseError(format!("must be a data:image/png;base64 URL of a signature: {why}")));
        let Some(encoded) = raw.strip_prefix("data:image/png;base64,") else { return bad("wrong prefix") };
        if encoded.len() > MAX_SIGNATURE_BYTES * 4 / 3 + 4 {
            return bad("larger than 96 KB");
        }
        let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(encoded) else { return bad("not base64") };
        match png_size(&bytes) {
            Some((w, h)) if (1..=2000).contains(&w) && (1..=1000).contains(&h) => Ok(PngDataUrl(raw.to_owned())),
            Some(_) => bad("at most 2000 × 1000 pixels"),
            None => bad("not a PNG image"),
        }
    }

    pub fn bytes(&self) -> Vec<u8> {
        let encoded = self.0.strip_prefix("data:image/png;base64,").expect("checked when parsed");
        base64::engine::general_purpose::STANDARD.decode(encoded).expect("checked when parsed")
    }

    pub fn sha256(&self) -> Sha256Hex {
        Sha256Hex::of(&self.bytes())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PngDataUrl {
    type Error = ParseError;
    fn try_from(raw: String) -> Result<Self, ParseError> {
        PngDataUrl::parse(&raw)
    }
}

impl From<PngDataUrl> for String {
    fn from(p: PngDataUrl) -> String {
        p.0
    }
}

/// Width and height from a PNG's signature and IHDR chunk.
fn png_size(bytes: &[u8]) -> Option<(u32, u32)> {
    const SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n'];
    if bytes.len() < 33 || bytes[..8] != SIGNATURE || &bytes[12..16] != b"IHDR" {
        return None;
    }
    let number = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().expect("four bytes"));
    Some((number(16), number(20)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 1×1 transparent PNG.
    pub const DOT: &str = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

    #[test]
    fn a_signature_must_be_a_small_real_png() {
        assert_eq!(PngDataUrl::parse(DOT).unwrap().bytes().len(), 70);
        for bad in ["", "data:image/jpeg;base64,AAAA", "data:image/png;base64,!!!", "data:image/png;base64,AAAAAAAA"] {
            assert!(PngDataUrl::parse(bad).is_err(), "{bad}");
        }
        let huge = format!("data:image/png;base64,{}", "A".repeat(200_000));
        assert!(PngDataUrl::parse(&huge).is_err());
    }

    #[test]
    fn an_open_session_past_its_expiry_reads_as_expired_and_a_signed_one_stays_signed() {
        let now = Utc::now();
        let mut session = SigningSession {
            id: SigningSessionId::new(),
            tenant_id: TenantId::parse("ten_a").unwrap(),
            document_id: DocumentId::new(),
            client_id: ClientId::new(),
            status: SessionStatus::Opened,
            created_at: now,
            expires_at: now + chrono::Duration::hours(1),
            events: vec![],
            signature_png: None,
            typed_name: None,
            version: 1,
        };
        assert_eq!(session.current_status(now), SessionStatus::Opened);
        assert_eq!(session.current_status(now + chrono::Duration::hours(2)), SessionStatus::Expired);
        session.status = SessionStatus::Signed;
        assert_eq!(session.current_status(now + chrono::Duration::hours(2)), SessionStatus::Signed);
    }
}
