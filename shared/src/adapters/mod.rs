//! Adapters: the AWS and embedded implementations of each port.

pub mod channel_queue;
mod cursor;
pub mod dir_blobs;
pub mod dynamo;
pub mod s3;
pub mod sqlite;
pub mod sqs;
pub mod unconfigured;

pub use channel_queue::ChannelQueue;
pub use dir_blobs::DirBlobs;
pub use dynamo::DynamoTable;
pub use s3::S3Blobs;
pub use sqlite::SqliteTable;
pub use sqs::SqsQueue;
pub use unconfigured::Unconfigured;
