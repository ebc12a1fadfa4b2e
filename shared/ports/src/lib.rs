//! Ports: the narrow traits the domain needs from the outside world. Each has an AWS (or Stripe)
//! adapter in its own crate (`shared/adapters/*`) and an embedded one in `mas-embedded`, and one contract suite run against both.

pub mod blobs;
pub mod cdn;
pub mod clock;
pub mod crypto;
pub mod cursor;
pub mod dns;
pub mod events;
pub mod identity;
pub mod messages;
pub mod outbound;
pub mod payments;
pub mod queue;
pub mod renderer;
pub mod table;
pub mod unconfigured;

pub use blobs::{BlobError, BlobKey, Blobs, Retention};
pub use cdn::{Cdn, CdnError, LogCdn};
pub use clock::{Clock, FixedClock, SystemClock};
pub use crypto::{CryptoError, DataKey, GeneratedKey, KeyWrapper};
pub use dns::{DnsError, RecordedTxt, TxtResolver};
pub use events::{DomainEvent, Events, EventsError};
pub use identity::{Identity, IdentityError};
pub use messages::{Accepted, Mailer, OutgoingEmail, OutgoingSms, SendError, SmsSender};
pub use outbound::{OutboundPost, PostError, WebhookPoster};
pub use payments::{
    AccountRequest, BrowserCheckout, ConnectedAccount, GatewayRefund, Intent, IntentRequest, OnboardingLink,
    OnboardingRequest, PaymentLink, PaymentLinkRequest, PaymentLinkStatus, Payments, PaymentsError, ReaderAction,
    ReaderRequest, RefundRequest, TerminalLocationRequest, TerminalReader,
};
pub use queue::{Queue, QueueError, QueueName};
pub use renderer::Renderer;
pub use table::{Condition, Index, Item, Key, Page, Query, SortKey, Table, TableError, Write};
pub use unconfigured::Unconfigured;
