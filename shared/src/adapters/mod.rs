//! Adapters: the AWS and embedded implementations of each port.

mod cursor;
pub mod dynamo;
pub mod sqlite;

pub use dynamo::DynamoTable;
pub use sqlite::SqliteTable;
