//! Adapters: the AWS (or Stripe) and embedded implementations of each port.

mod cursor;
pub mod dynamo;
pub mod events;
pub mod kms;
pub mod local_kek;
pub mod simulated;
pub mod sqlite;
pub mod stripe;

pub use dynamo::DynamoTable;
pub use events::{EventBridgeEvents, InProcessEvents};
pub use kms::KmsKeyWrapper;
pub use local_kek::LocalKeyWrapper;
pub use simulated::SimulatedGateway;
pub use sqlite::SqliteTable;
pub use stripe::StripeGateway;
