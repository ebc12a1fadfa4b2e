//! Adapters: the AWS (or Stripe) and embedded implementations of each port.

pub mod cdn;
pub mod channel_queue;
mod cursor;
pub mod dir_blobs;
pub mod dynamo;
pub mod events;
pub mod kms;
pub mod local_identity;
pub mod local_kek;
pub mod outbox;
pub mod s3;
pub mod ses;
pub mod simulated;
pub mod sqlite;
pub mod sqs;
pub mod stripe;
pub mod twilio;
pub mod unconfigured;

pub use cdn::{CloudFrontCdn, LogCdn};
pub use channel_queue::ChannelQueue;
pub use dir_blobs::DirBlobs;
pub use dynamo::DynamoTable;
pub use events::{EventBridgeEvents, InProcessEvents};
pub use kms::KmsKeyWrapper;
pub use local_identity::LocalIdentity;
pub use local_kek::LocalKeyWrapper;
pub use outbox::Outbox;
pub use s3::S3Blobs;
pub use ses::SesMailer;
pub use simulated::SimulatedGateway;
pub use sqlite::SqliteTable;
pub use sqs::SqsQueue;
pub use stripe::StripeGateway;
pub use twilio::TwilioSms;
pub use unconfigured::Unconfigured;
