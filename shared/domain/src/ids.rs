//! Prefixed, time-sortable, URL-safe ids (`loc_01j…`): a ULID in lowercase behind a prefix that
//! says what the id names, so an id of one kind can never be passed where another is expected.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::values::ParseError;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(try_from = "String", into = "String")]
        #[schema(value_type = String, example = json!(concat!($prefix, "01jd2kq8x4m5n6p7r8s9t0v1w2")))]
        pub struct $name(String);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            pub fn new() -> Self {
                $name(format!("{}{}", $prefix, ulid::Ulid::new().to_string().to_lowercase()))
            }

            /// Accepts the prefix and then 1–40 lowercase letters or digits (generated ids are
            /// ULIDs; fixtures and seeds may use readable ones such as `ten_demo`).
            pub fn parse(raw: &str) -> Result<Self, ParseError> {
                match raw.strip_prefix($prefix) {
                    Some(body)
                        if (1..=40).contains(&body.len())
                            && body.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()) =>
                    {
                        Ok($name(raw.to_owned()))
                    }
                    _ => Err(ParseError(format!("must be an id starting with `{}`", $prefix))),
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl TryFrom<String> for $name {
            type Error = ParseError;
            fn try_from(raw: String) -> Result<Self, ParseError> {
                $name::parse(&raw)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl std::str::FromStr for $name {
            type Err = ParseError;
            fn from_str(raw: &str) -> Result<Self, ParseError> {
                $name::parse(raw)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(TenantId, "ten_");
id_type!(LocationId, "loc_");
id_type!(ServiceId, "svc_");
id_type!(PractitionerId, "prc_");
id_type!(ExceptionId, "exc_");
id_type!(ResourceId, "res_");
id_type!(MemberId, "mem_");
id_type!(AuditId, "aud_");
id_type!(RequestId, "req_");
id_type!(ClientId, "cli_");
id_type!(AppointmentId, "apt_");
id_type!(TimelineId, "tle_");
id_type!(DocumentId, "doc_");
id_type!(TemplateId, "tpl_");
id_type!(SigningSessionId, "sig_");
id_type!(PaymentId, "pay_");
id_type!(
    /// A link sent to a client to pay an amount on a hosted page (a balance, or a fee); derived
    /// from what it asks for, so a repeat request names the same link.
    PayLinkId,
    "lnk_"
);
id_type!(PublishId, "pub_");
id_type!(
    /// A completed sale at the desk till (immutable once recorded).
    SaleId,
    "sal_"
);
id_type!(
    /// A correction of a sale: its void, or a refund.
    CorrectionId,
    "cor_"
);
id_type!(
    /// A gift card (its code is never its id: see `gift_card::code_hash`).
    GiftCardId,
    "gft_"
);
id_type!(
    /// A client's place on the waitlist (`domain::waitlist`).
    WaitlistId,
    "wai_"
);
id_type!(
    /// An online gift-card purchase waiting for its payment.
    GiftOrderId,
    "gfo_"
);
id_type!(
    /// A package of treatment sessions in the catalog (its template: what a client buys).
    PackageTemplateId,
    "pkt_"
);
id_type!(
    /// A client's package: sessions sold together, redeemed one per visit.
    PackageId,
    "pkg_"
);
id_type!(
    /// A product in the clinic's catalog (what it sells or uses; its SKU is what tills name).
    ProductId,
    "prd_"
);
id_type!(
    /// A membership plan in the catalog (a monthly subscription with credits).
    MembershipPlanId,
    "mpl_"
);
id_type!(
    /// A client's membership of a plan.
    MembershipId,
    "mem_"
);
id_type!(
    /// A card payment taken at the desk (on a card reader, or the client's saved card): its
    /// intent is what the till's card tender names.
    DeskPaymentId,
    "dpy_"
);
id_type!(
    /// A course of the clinic's academy (its draft and published versions).
    CourseId,
    "crs_"
);
id_type!(
    /// A run of a course version with dates, seats and an educator.
    CohortId,
    "coh_"
);
id_type!(
    /// A student's place in a cohort.
    EnrolmentId,
    "enr_"
);
id_type!(
    /// One entry of a student's practical logbook (append-only: a correction is a new entry).
    LogEntryId,
    "log_"
);
id_type!(
    /// A message to a client on one channel; derived from what it is about, so a repeat is recognised.
    MessageId,
    "msg_"
);
id_type!(
    /// A domain event (`booking.confirmed`, `payment.succeeded`…); derived from what happened, so
    /// a retry publishes the same id and consumers can drop the repeat.
    DomainEventId,
    "dev_"
);

id_type!(
    /// A partner's webhook endpoint: a URL of theirs the clinic's chosen events are POSTed to.
    WebhookEndpointId,
    "whe_"
);
id_type!(
    /// One event's delivery to one endpoint; derived from both, so an event redelivered by the
    /// bus makes no second delivery.
    WebhookDeliveryId,
    "whd_"
);
id_type!(
    /// A server-to-server API key (its secret is shown once; only its hash is stored).
    ApiKeyId,
    "key_"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_ids_carry_their_prefix_and_sort_by_creation_time() {
        let first = LocationId::new();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let second = LocationId::new();
        assert!(first.as_str().starts_with("loc_"));
        assert!(first < second);
        assert_eq!(LocationId::parse(first.as_str()).unwrap(), first);
    }

    #[test]
    fn an_id_of_another_kind_is_refused() {
        let service = ServiceId::new();
        assert!(LocationId::parse(service.as_str()).is_err());
        assert!(LocationId::parse("loc_").is_err());
        assert!(LocationId::parse("loc_ABC").is_err());
        assert!(LocationId::parse("loc_a/b").is_err());
    }
}
