//! DynamoDB table adapter (to be written).
pub struct DynamoTable;
