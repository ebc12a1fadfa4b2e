//! Adapters: the AWS and embedded implementations of each port.

mod cursor;
pub mod dynamo;
pub mod kms;
pub mod local_kek;
pub mod sqlite;

pub use dynamo::DynamoTable;
pub use kms::KmsKeyWrapper;
pub use local_kek::LocalKeyWrapper;
pub use sqlite::SqliteTable;
