//! Reviews: after a completed visit the client is sent a one-time link to rate it (1 to 5) and
//! say a few words under a name she chooses (her first name and initial unless she picks another,
//! never her full name or her email); the clinic moderates each review (publish, reject, reply
//! in public) and its site shows those published, with schema.org markup. Pure: no I/O.
//!
//! One review per appointment: the review's key is its appointment's, and a review is only ever
//! created by a conditional put, so a link used twice (or twice at once) makes one review.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ids::{AppointmentId, ClientId, LocationId, TenantId};
use crate::links::LinkSigner;

/// How long a review link works after it is sent.
pub const REQUEST_DAYS: i64 = 30;
/// The longest review text, in characters.
pub const MAX_TEXT: usize = 2000;
/// The longest public reply, in characters.
pub const MAX_REPLY: usize = 1000;
/// The longest display name, in characters.
pub const MAX_NAME: usize = 40;
/// The purpose review links are signed for (a signature for another purpose opens nothing).
pub const LINK_PURPOSE: &str = "review";

/// Why a review cannot be taken as written; each names its field and code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReviewError {
    #[error("a rating is a whole number from 1 to 5")]
    Rating,
    #[error("say a few words (at most {MAX_TEXT} characters, no control characters)")]
    Text,
    #[error("a name of 1 to {MAX_NAME} characters, no email address")]
    Name,
    #[error("a display name must not be your full name: use your first name and an initial, or a nickname")]
    FullName,
    #[error("a reply of 1 to {MAX_REPLY} characters, no control characters")]
    Reply,
}

impl ReviewError {
    pub fn field(self) -> &'static str {
        match self {
            ReviewError::Rating => "rating",
            ReviewError::Text => "text",
            ReviewError::Name | ReviewError::FullName => "display_name",
            ReviewError::Reply => "text",
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            ReviewError::Rating => "invalid_rating",
            ReviewError::Text => "invalid_text",
            ReviewError::Name => "invalid_display_name",
            ReviewError::FullName => "full_name_shown",
            ReviewError::Reply => "invalid_reply",
        }
    }
}

/// A rating from 1 to 5 stars.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "u8", into = "u8")]
#[schema(value_type = u8, example = 5)]
pub struct Rating(u8);

impl Rating {
    pub fn parse(raw: i64) -> Result<Rating, ReviewError> {
        u8::try_from(raw).ok().filter(|r| (1..=5).contains(r)).map(Rating).ok_or(ReviewError::Rating)
    }

    pub fn get(self) -> u8 {
        self.0
    }
}

impl TryFrom<u8> for Rating {
    type Error = ReviewError;
    fn try_from(raw: u8) -> Result<Self, Self::Error> {
        Rating::parse(i64::from(raw))
    }
}

impl From<Rating> for u8 {
    fn from(r: Rating) -> u8 {
        r.0
    }
}

fn clean(raw: &str, max: usize) -> Option<String> {
    let text = raw.trim();
    let bad = text.chars().any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t');
    (!text.is_empty() && text.chars().count() <= max && !bad).then(|| text.to_owned())
}

/// What the client wrote: 1 to 2,000 characters, trimmed, no control characters but line breaks.
pub fn parse_text(raw: &str) -> Result<String, ReviewError> {
    clean(raw, MAX_TEXT).ok_or(ReviewError::Text)
}

/// The clinic's public reply: 1 to 1,000 characters.
pub fn parse_reply(raw: &str) -> Result<String, ReviewError> {
    clean(raw, MAX_REPLY).ok_or(ReviewError::Reply)
}

/// Her name as the review shows it: first name and initial by default (`Jane S.`).
pub fn default_display_name(first: &str, last: &str) -> String {
    let first = first.split_whitespace().next().unwrap_or_default();
    match last.trim().chars().next() {
        Some(initial) => format!("{first} {}.", initial.to_uppercase()),
        None => first.to_owned(),
    }
}

/// The name she chose, refused when it is empty, long, one line no more, an email address, or
/// carries her whole last name (her full name): `Jane S.` or `JS` may be shown, `Jane Smith`
/// may not.
pub fn parse_display_name(raw: &str, first: &str, last: &str) -> Result<String, ReviewError> {
    let name = clean(raw, MAX_NAME).ok_or(ReviewError::Name)?;
    if name.contains('@') || name.contains('\n') || name.contains('\r') {
        return Err(ReviewError::Name);
    }
    let words = |s: &str| -> Vec<String> {
        s.split(|c: char| !c.is_alphanumeric() && c != '\'' && c != '-')
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect()
    };
    let shown = words(&name);
    let last_words = words(last);
    // A last name of one letter is an initial already.
    let full = !last_words.is_empty()
        && last_words.iter().all(|w| w.chars().count() > 1)
        && last_words.iter().all(|w| shown.contains(w));
    if full || (!last.trim().is_empty() && shown.concat() == words(&format!("{first}{last}")).concat()) {
        return Err(ReviewError::FullName);
    }
    Ok(name)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReviewStatus {
    /// Waiting for the clinic to read it.
    Pending,
    /// On the clinic's site.
    Published,
    /// Not shown (refused, or taken down after publishing).
    Rejected,
}

impl ReviewStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewStatus::Pending => "pending",
            ReviewStatus::Published => "published",
            ReviewStatus::Rejected => "rejected",
        }
    }

    pub fn parse(raw: &str) -> Option<ReviewStatus> {
        [ReviewStatus::Pending, ReviewStatus::Published, ReviewStatus::Rejected].into_iter().find(|s| s.as_str() == raw)
    }
}

/// The clinic's public answer to a review.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Reply {
    pub text: String,
    /// The member who wrote it.
    pub by: String,
    pub at: DateTime<Utc>,
}

/// A review request: sent when a visit was completed, its link good until `expires_at`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReviewRequest {
    pub appointment_id: AppointmentId,
    pub client_id: ClientId,
    pub location_id: LocationId,
    pub sent_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl ReviewRequest {
    pub fn new(
        appointment_id: AppointmentId,
        client_id: ClientId,
        location_id: LocationId,
        now: DateTime<Utc>,
    ) -> ReviewRequest {
        // Whole seconds: the token carries the expiry, and must read back equal.
        let now = DateTime::from_timestamp(now.timestamp(), 0).unwrap_or(now);
        ReviewRequest {
            appointment_id,
            client_id,
            location_id,
            sent_at: now,
            expires_at: now + Duration::days(REQUEST_DAYS),
        }
    }
}

/// One client's review of one visit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Review {
    /// The review's id: the appointment it is about (one review per visit).
    pub id: AppointmentId,
    pub client_id: ClientId,
    pub location_id: LocationId,
    /// The services of the visit, by name, as they were when she reviewed it.
    pub service_name: String,
    pub rating: Rating,
    pub text: String,
    /// The name the review is shown under.
    pub display_name: String,
    pub status: ReviewStatus,
    pub submitted_at: DateTime<Utc>,
    /// Who last published or rejected it, and when.
    pub moderated_by: Option<String>,
    pub moderated_at: Option<DateTime<Utc>>,
    /// When it was (last) published: the site's `datePublished`.
    pub published_at: Option<DateTime<Utc>>,
    pub reply: Option<Reply>,
    pub version: u64,
}

impl Review {
    /// The review moved to `status` by `by` at `now` (a new version).
    pub fn moderated(&self, status: ReviewStatus, by: &str, now: DateTime<Utc>) -> Review {
        Review {
            status,
            moderated_by: Some(by.to_owned()),
            moderated_at: Some(now),
            published_at: if status == ReviewStatus::Published { Some(now) } else { self.published_at },
            version: self.version + 1,
            ..self.clone()
        }
    }
}

/// A clinic's review settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewSettings {
    /// Whether a completed visit sends its client a review request (on by default).
    pub send_requests: bool,
}

impl Default for ReviewSettings {
    fn default() -> Self {
        ReviewSettings { send_requests: true }
    }
}

/// The token of a review link: the clinic, the appointment and the link's expiry, signed.
pub fn token(signer: &LinkSigner, tenant: &TenantId, appointment: &AppointmentId, expires: DateTime<Utc>) -> String {
    let payload = format!("{tenant}.{appointment}.{}", expires.timestamp());
    let signature = signer.sign(LINK_PURPOSE, &payload);
    format!("{payload}.{signature}")
}

/// Why a review link opens nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkRefused {
    /// Not one we signed (or edited since).
    Forged,
    /// Ours, but past its expiry.
    Expired,
}

/// What a review link names, if we signed it and it has not expired at `now`.
pub fn read_token(
    signer: &LinkSigner,
    token: &str,
    now: DateTime<Utc>,
) -> Result<(TenantId, AppointmentId, DateTime<Utc>), LinkRefused> {
    let (payload, signature) = token.rsplit_once('.').ok_or(LinkRefused::Forged)?;
    if !signer.verify(LINK_PURPOSE, payload, signature) {
        return Err(LinkRefused::Forged);
    }
    let mut parts = payload.split('.');
    let mut next = || parts.next().ok_or(LinkRefused::Forged);
    let tenant = TenantId::parse(next()?).map_err(|_| LinkRefused::Forged)?;
    let appointment = AppointmentId::parse(next()?).map_err(|_| LinkRefused::Forged)?;
    let expires =
        next()?.parse::<i64>().ok().and_then(|s| DateTime::from_timestamp(s, 0)).ok_or(LinkRefused::Forged)?;
    if next().is_ok() {
        return Err(LinkRefused::Forged);
    }
    if now >= expires {
        return Err(LinkRefused::Expired);
    }
    Ok((tenant, appointment, expires))
}

/// The average of the ratings, to one decimal (`None` when there are none).
pub fn average(ratings: impl IntoIterator<Item = Rating>) -> Option<(f64, usize)> {
    let (sum, count) = ratings.into_iter().fold((0u32, 0usize), |(s, n), r| (s + u32::from(r.get()), n + 1));
    (count > 0).then(|| ((f64::from(sum) / count as f64 * 10.0).round() / 10.0, count))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn a_rating_is_one_to_five_stars() {
        assert_eq!(Rating::parse(0), Err(ReviewError::Rating));
        assert_eq!(Rating::parse(6), Err(ReviewError::Rating));
        assert_eq!(Rating::parse(-1), Err(ReviewError::Rating));
        assert_eq!(Rating::parse(5).map(Rating::get), Ok(5));
        assert!(serde_json::from_str::<Rating>("9").is_err());
        assert_eq!(serde_json::from_str::<Rating>("4").unwrap().get(), 4);
    }

    #[test]
    fn a_text_is_trimmed_and_at_most_two_thousand_characters() {
        assert_eq!(parse_text("  Lovely  "), Ok("Lovely".into()));
        assert_eq!(parse_text("   "), Err(ReviewError::Text));
        assert!(parse_text(&"é".repeat(MAX_TEXT)).is_ok());
        assert_eq!(parse_text(&"é".repeat(MAX_TEXT + 1)), Err(ReviewError::Text));
        assert_eq!(parse_text("bell\u{7}"), Err(ReviewError::Text));
        assert!(parse_text("two\nlines").is_ok());
    }

    #[test]
    fn the_default_name_is_the_first_name_and_an_initial() {
        assert_eq!(default_display_name("Jane", "smith"), "Jane S.");
        assert_eq!(default_display_name("Mary Ann", "O'Neil"), "Mary O.");
        assert_eq!(default_display_name("Cher", ""), "Cher");
    }

    #[test]
    fn a_display_name_never_shows_her_full_name_or_an_email() {
        let ok = |raw: &str| parse_display_name(raw, "Jane", "Smith");
        assert_eq!(ok("Jane S."), Ok("Jane S.".into()));
        assert_eq!(ok("JS"), Ok("JS".into()));
        assert_eq!(ok("Happy client"), Ok("Happy client".into()));
        assert_eq!(ok("Jane Smith"), Err(ReviewError::FullName));
        assert_eq!(ok("jane SMITH!"), Err(ReviewError::FullName));
        assert_eq!(ok("Smith, Jane"), Err(ReviewError::FullName));
        assert_eq!(ok("JaneSmith"), Err(ReviewError::FullName));
        assert_eq!(ok("jane@example.com"), Err(ReviewError::Name));
        assert_eq!(ok(""), Err(ReviewError::Name));
        assert_eq!(ok(&"x".repeat(MAX_NAME + 1)), Err(ReviewError::Name));
        assert_eq!(ok("Jane\nS."), Err(ReviewError::Name));
        // A double-barrelled name counts only whole.
        assert_eq!(parse_display_name("Ana Lopez", "Ana", "Lopez-Garcia"), Ok("Ana Lopez".into()));
        assert_eq!(parse_display_name("Ana Lopez-Garcia", "Ana", "Lopez-Garcia"), Err(ReviewError::FullName));
    }

    #[test]
    fn a_review_link_opens_only_with_our_signature_and_before_it_expires() {
        let signer = LinkSigner::new(b"secret");
        let t = TenantId::parse("ten_a").unwrap();
        let a = AppointmentId::parse("apt_b").unwrap();
        let request = ReviewRequest::new(
            a.clone(),
            ClientId::parse("cli_c").unwrap(),
            LocationId::parse("loc_d").unwrap(),
            at("2027-03-02T10:00:00.5Z"),
        );
        let token = token(&signer, &t, &a, request.expires_at);
        let before = at("2027-03-31T10:00:00Z");
        assert_eq!(read_token(&signer, &token, before), Ok((t.clone(), a.clone(), request.expires_at)));
        assert_eq!(read_token(&signer, &token, request.expires_at), Err(LinkRefused::Expired));
        assert_eq!(read_token(&LinkSigner::new(b"other"), &token, before), Err(LinkRefused::Forged));
        // A later expiry written into the link breaks its signature.
        let stretched = token.replace(&request.expires_at.timestamp().to_string(), "4102444800");
        assert_eq!(read_token(&signer, &stretched, before), Err(LinkRefused::Forged));
        assert_eq!(read_token(&signer, &token.replace("apt_b", "apt_x"), before), Err(LinkRefused::Forged));
        assert_eq!(read_token(&signer, "nonsense", before), Err(LinkRefused::Forged));
    }

    #[test]
    fn publishing_stamps_who_when_and_the_date_published_and_rejecting_keeps_it() {
        let review = Review {
            id: AppointmentId::parse("apt_b").unwrap(),
            client_id: ClientId::parse("cli_c").unwrap(),
            location_id: LocationId::parse("loc_d").unwrap(),
            service_name: "Peel".into(),
            rating: Rating::parse(5).unwrap(),
            text: "Great".into(),
            display_name: "Jane S.".into(),
            status: ReviewStatus::Pending,
            submitted_at: at("2027-03-02T10:00:00Z"),
            moderated_by: None,
            moderated_at: None,
            published_at: None,
            reply: None,
            version: 1,
        };
        let published = review.moderated(ReviewStatus::Published, "mem_1", at("2027-03-03T10:00:00Z"));
        assert_eq!(published.published_at, Some(at("2027-03-03T10:00:00Z")));
        assert_eq!((published.version, published.moderated_by.as_deref()), (2, Some("mem_1")));
        let down = published.moderated(ReviewStatus::Rejected, "mem_2", at("2027-03-04T10:00:00Z"));
        assert_eq!((down.status, down.version), (ReviewStatus::Rejected, 3));
        assert_eq!(down.moderated_at, Some(at("2027-03-04T10:00:00Z")));
    }

    #[test]
    fn the_average_rating_is_to_one_decimal() {
        let r = |n| Rating::parse(n).unwrap();
        assert_eq!(average([r(5), r(4), r(4)]), Some((4.3, 3)));
        assert_eq!(average([]), None);
    }
}
