//! Embedded adapters: what the local host and the tests run on instead of AWS, Stripe and Twilio.
//! Each passes the same contract suite as its AWS counterpart (`tests/suite/*_contract.rs`).
//! This is the only crate that links SQLite.

pub mod channel_queue;
pub mod dir_blobs;
pub mod in_process_events;
pub mod local_kek;
pub mod outbox;
pub mod simulated;
pub mod sqlite;

pub use channel_queue::ChannelQueue;
pub use dir_blobs::DirBlobs;
pub use in_process_events::InProcessEvents;
pub use local_kek::LocalKeyWrapper;
pub use outbox::Outbox;
pub use simulated::SimulatedGateway;
pub use sqlite::SqliteTable;

/// The signing secret of a development or test host's simulated gateway: public, so never the
/// secret of a real Stripe endpoint.
pub const DEV_WEBHOOK_SECRET: &str = "whsec_local_development_only_not_a_real_secret";

/// The signing secret of the simulated gateway's Connect events (a Connect endpoint has its own
/// secret at Stripe): public too.
pub const DEV_CONNECT_WEBHOOK_SECRET: &str = "whsec_local_connect_development_only_not_a_real_secret";
