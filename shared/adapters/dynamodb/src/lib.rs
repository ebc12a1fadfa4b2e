//! DynamoDB table adapter: the table port over one DynamoDB table (`PK`/`SK`, sparse `GSI1`, `ttl`).

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::error::{BuildError, DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::create_table::CreateTableError;
use aws_sdk_dynamodb::operation::describe_table::DescribeTableError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, CancellationReason, ConditionCheck, Delete, GlobalSecondaryIndex,
    KeySchemaElement, KeyType, KeysAndAttributes, Projection, ProjectionType, Put, ScalarAttributeType,
    TimeToLiveSpecification, TimeToLiveStatus, TransactWriteItem, Update,
};
use serde_dynamo::aws_sdk_dynamodb_1::{from_item, to_attribute_value, to_item};
use serde_json::Value;

use mas_ports::cursor::Cursor;
use mas_ports::table::{
    Condition, GSI1PK, GSI1SK, Index, Item, Key, PK, Page, Query, SK, SortKey, TTL, Table, TableError, Write,
    validate_key, validate_query, validate_transaction,
};

const GSI1: &str = "GSI1";
/// BatchGetItem's limit on keys per request.
const BATCH_GET_KEYS: usize = 100;
const BATCH_GET_ATTEMPTS: u32 = 8;
/// Attempts at a transaction that DynamoDB cancels for a conflict with another one.
const CONFLICT_ATTEMPTS: u32 = 4;
const TABLE_ACTIVE_WAIT: Duration = Duration::from_secs(300);

type Attributes = HashMap<String, AttributeValue>;

#[derive(Debug, Clone)]
pub struct DynamoTable {
    client: Client,
    table: String,
}

impl DynamoTable {
    pub fn new(client: Client, table_name: impl Into<String>) -> Self {
        DynamoTable { client, table: table_name.into() }
    }

    /// A table reached with the standard AWS configuration (`AWS_ENDPOINT_URL` selects an emulator).
    pub fn from_config(config: &SdkConfig, table_name: impl Into<String>) -> Self {
        DynamoTable::new(Client::new(config), table_name)
    }

    pub fn table_name(&self) -> &str {
        &self.table
    }

    /// Creates the table (on-demand, with GSI1 and TTL on `ttl`) unless it exists, and waits until
    /// it is active. For tests and the local host on an emulator; production tables come from the
    /// infrastructure template.
    pub async fn create_table_if_missing(&self) -> Result<(), TableError> {
        if !self.table_exists().await? {
            self.create_table().await?;
        }
        self.client
            .wait_until_table_exists()
            .table_name(&self.table)
            .wait(TABLE_ACTIVE_WAIT)
            .await
            .map_err(|e| TableError::Unavailable(format!("table {} did not become active: {e}", self.table)))?;
        self.enable_ttl().await
    }

    async fn table_exists(&self) -> Result<bool, TableError> {
        match self.client.describe_table().table_name(&self.table).send().await {
            Ok(_) => Ok(true),
            Err(err) if matches!(err.as_service_error(), Some(DescribeTableError::ResourceNotFoundException(_))) => {
                Ok(false)
            }
            Err(err) => Err(sdk_error(err)),
        }
    }

    async fn create_table(&self) -> Result<(), TableError> {
        let text = |name: &str| {
            AttributeDefinition::builder().attribute_name(name).attribute_type(ScalarAttributeType::S).build()
        };
        let key =
            |name: &str, key_type: KeyType| KeySchemaElement::builder().attribute_name(name).key_type(key_type).build();
        let gsi1 = GlobalSecondaryIndex::builder()
            .index_name(GSI1)
            .key_schema(key(GSI1PK, KeyType::Hash).map_err(build_error)?)
            .key_schema(key(GSI1SK, KeyType::Range).map_err(build_error)?)
            .projection(Projection::builder().projection_type(ProjectionType::All).build())
            .build()
            .map_err(build_error)?;
        let created = self
            .client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .set_attribute_definitions(Some(
                [PK, SK, GSI1PK, GSI1SK].into_iter().map(text).collect::<Result<_, _>>().map_err(build_error)?,
            ))
            .key_schema(key(PK, KeyType::Hash).map_err(build_error)?)
            .key_schema(key(SK, KeyType::Range).map_err(build_error)?)
            .global_secondary_indexes(gsi1)
            .send()
            .await;
        match created {
            // Someone else created it first: as good as created here.
            Err(err) if matches!(err.as_service_error(), Some(CreateTableError::ResourceInUseException(_))) => Ok(()),
            other => other.map(drop).map_err(sdk_error),
        }
    }

    async fn enable_ttl(&self) -> Result<(), TableError> {
        let described = self.client.describe_time_to_live().table_name(&self.table).send().await.map_err(sdk_error)?;
        let status = described.time_to_live_description.and_then(|description| description.time_to_live_status);
        if matches!(status, Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)) {
            return Ok(());
        }
        let specification =
            TimeToLiveSpecification::builder().attribute_name(TTL).enabled(true).build().map_err(build_error)?;
        self.client
            .update_time_to_live()
            .table_name(&self.table)
            .time_to_live_specification(specification)
            .send()
            .await
            .map(drop)
            .map_err(sdk_error)
    }

    async fn try_transact(&self, writes: &[Write]) -> Result<(), TableError> {
        match writes {
            [write] => self.write_one(plan(write)?).await,
            writes => self.write_many(writes.iter().map(plan).collect::<Result<_, _>>()?).await,
        }
    }

    /// One write as its own request: cheaper than a transaction, and equally atomic.
    async fn write_one(&self, plan: Plan) -> Result<(), TableError> {
        let Plan { op, condition, names, values } = plan;
        let table = &self.table;
        match op {
            Op::Put(item) => self
                .client
                .put_item()
                .table_name(table)
                .set_item(Some(item))
                .set_condition_expression(condition)
                .set_expression_attribute_names(names)
                .set_expression_attribute_values(values)
                .send()
                .await
                .map(drop)
                .map_err(sdk_error),
            Op::Update { key, expression } => self
                .client
                .update_item()
                .table_name(table)
                .set_key(Some(key))
                .update_expression(expression)
                .set_condition_expression(condition)
                .set_expression_attribute_names(names)
                .set_expression_attribute_values(values)
                .send()
                .await
                .map(drop)
                .map_err(sdk_error),
            Op::Delete(key) => self
                .client
                .delete_item()
                .table_name(table)
                .set_key(Some(key))
                .set_condition_expression(condition)
                .set_expression_attribute_names(names)
                .set_expression_attribute_values(values)
                .send()
                .await
                .map(drop)
                .map_err(sdk_error),
            // A check alone has no single-item API; a one-item transaction does it.
            op @ Op::Check(_) => self.write_many(vec![Plan { op, condition, names, values }]).await,
        }
    }

    async fn write_many(&self, plans: Vec<Plan>) -> Result<(), TableError> {
        let items = plans.into_iter().map(|plan| plan.transact_item(&self.table)).collect::<Result<Vec<_>, _>>()?;
        match self.client.transact_write_items().set_transact_items(Some(items)).send().await {
            Ok(_) => Ok(()),
            Err(err) => match err.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => {
                    Err(cancellation(cancelled.cancellation_reasons()))
                }
                _ => Err(sdk_error(err)),
            },
        }
    }

    /// Up to 100 distinct keys, retrying the ones DynamoDB leaves unprocessed.
    async fn batch_get_chunk(&self, keys: &[&Key]) -> Result<Vec<Item>, TableError> {
        let mut pending: Vec<Attributes> = keys.iter().map(|key| key_attributes(key)).collect();
        let mut items = Vec::with_capacity(keys.len());
        for attempt in 0..BATCH_GET_ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(backoff(attempt, Duration::from_millis(50))).await;
            }
            let request = KeysAndAttributes::builder()
                .set_keys(Some(std::mem::take(&mut pending)))
                .consistent_read(true)
                .build()
                .map_err(build_error)?;
            let output =
                self.client.batch_get_item().request_items(&self.table, request).send().await.map_err(sdk_error)?;
            let found = output.responses.and_then(|mut responses| responses.remove(&self.table)).unwrap_or_default();
            items.extend(found.into_iter().map(item_from).collect::<Result<Vec<_>, _>>()?);
            pending =
                output.unprocessed_keys.and_then(|mut left| left.remove(&self.table)).map_or(vec![], |left| left.keys);
            if pending.is_empty() {
                return Ok(items);
            }
        }
        Err(TableError::Unavailable(format!(
            "BatchGetItem left {} keys unprocessed after {BATCH_GET_ATTEMPTS} attempts",
            pending.len()
        )))
    }
}

#[async_trait]
impl Table for DynamoTable {
    async fn get(&self, key: &Key) -> Result<Option<Item>, TableError> {
        validate_key(key)?;
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_attributes(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_error)?;
        output.item.map(item_from).transpose()
    }

    async fn batch_get(&self, keys: &[Key]) -> Result<Vec<Item>, TableError> {
        keys.iter().try_for_each(validate_key)?;
        // DynamoDB refuses a request naming one key twice.
        let keys: Vec<&Key> = keys.iter().collect::<BTreeSet<_>>().into_iter().collect();
        let mut items = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(BATCH_GET_KEYS) {
            items.extend(self.batch_get_chunk(chunk).await?);
        }
        Ok(items)
    }

    async fn query(&self, query: &Query) -> Result<Page, TableError> {
        validate_query(query)?;
        let start = Cursor::of(query)?.map(to_item).transpose().map_err(conversion_error)?;
        let (partition, sort, index_name) = match query.index {
            Index::Primary => (PK, SK, None),
            Index::Gsi1 => (GSI1PK, GSI1SK, Some(GSI1)),
        };
        let mut expression = Expression::default();
        let mut key_condition =
            format!("{} = {}", expression.name(partition), expression.value(AttributeValue::S(query.pk.clone())));
        if let Some(condition) = &query.sk {
            key_condition += &format!(" AND {}", sort_key_text(&mut expression, sort, condition));
        }
        let (names, values) = expression.into_parts();
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .set_index_name(index_name.map(str::to_owned))
            .key_condition_expression(key_condition)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .scan_index_forward(!query.descending)
            // A GSI cannot be read consistently.
            .consistent_read(query.index == Index::Primary)
            // One item more than asked, to know whether another page follows.
            .set_limit(query.limit.map(|limit| i32::try_from(limit.saturating_add(1)).unwrap_or(i32::MAX)))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(sdk_error)?;
        let mut items = output.items.unwrap_or_default().into_iter().map(item_from).collect::<Result<Vec<_>, _>>()?;
        let cursor = match query.limit.map(|limit| limit as usize) {
            Some(limit) if items.len() > limit => {
                items.truncate(limit);
                items.last().map(|last| Cursor::text_after(query.index, last)).transpose()?
            }
            // DynamoDB stopped early (1 MB per page): continue where it stopped.
            _ => match output.last_evaluated_key {
                Some(last) => Some(Cursor::text_after(query.index, &item_from(last)?)?),
                None => None,
            },
        };
        Ok(Page { items, cursor })
    }

    async fn transact(&self, writes: Vec<Write>) -> Result<(), TableError> {
        validate_transaction(&writes)?;
        let mut attempt = 1;
        loop {
            match self.try_transact(&writes).await {
                Err(TableError::Contention) if attempt < CONFLICT_ATTEMPTS => {
                    tokio::time::sleep(backoff(attempt, Duration::from_millis(20))).await;
                    attempt += 1;
                }
                outcome => return outcome,
            }
        }
    }
}

/// A write translated into DynamoDB terms, ready to send alone or inside a transaction.
#[derive(Debug, PartialEq)]
struct Plan {
    op: Op,
    condition: Option<String>,
    names: Option<HashMap<String, String>>,
    values: Option<Attributes>,
}

#[derive(Debug, PartialEq)]
enum Op {
    Put(Attributes),
    Update { key: Attributes, expression: String },
    Delete(Attributes),
    Check(Attributes),
}

fn plan(write: &Write) -> Result<Plan, TableError> {
    let mut expression = Expression::default();
    let op = match write {
        Write::Put { item, .. } => Op::Put(to_item(item).map_err(conversion_error)?),
        Write::Update { key, set, add, remove, .. } => Op::Update {
            key: key_attributes(key),
            expression: update_text(&mut expression, set, add.iter().map(|(name, by)| (name.as_str(), *by)), remove)?,
        },
        Write::Delete { key, .. } => Op::Delete(key_attributes(key)),
        Write::Check { key, .. } => Op::Check(key_attributes(key)),
    };
    let condition = write.condition().map(|condition| condition_text(&mut expression, condition)).transpose()?;
    let (names, values) = expression.into_parts();
    Ok(Plan { op, condition, names, values })
}

impl Plan {
    fn transact_item(self, table: &str) -> Result<TransactWriteItem, TableError> {
        let Plan { op, condition, names, values } = self;
        let item = TransactWriteItem::builder();
        let item = match op {
            Op::Put(attributes) => item.put(
                Put::builder()
                    .table_name(table)
                    .set_item(Some(attributes))
                    .set_condition_expression(condition)
                    .set_expression_attribute_names(names)
                    .set_expression_attribute_values(values)
                    .build()
                    .map_err(build_error)?,
            ),
            Op::Update { key, expression } => item.update(
                Update::builder()
                    .table_name(table)
                    .set_key(Some(key))
                    .update_expression(expression)
                    .set_condition_expression(condition)
                    .set_expression_attribute_names(names)
                    .set_expression_attribute_values(values)
                    .build()
                    .map_err(build_error)?,
            ),
            Op::Delete(key) => item.delete(
                Delete::builder()
                    .table_name(table)
                    .set_key(Some(key))
                    .set_condition_expression(condition)
                    .set_expression_attribute_names(names)
                    .set_expression_attribute_values(values)
                    .build()
                    .map_err(build_error)?,
            ),
            Op::Check(key) => item.condition_check(
                ConditionCheck::builder()
                    .table_name(table)
                    .set_key(Some(key))
                    .set_condition_expression(condition)
                    .set_expression_attribute_names(names)
                    .set_expression_attribute_values(values)
                    .build()
                    .map_err(build_error)?,
            ),
        };
        Ok(item.build())
    }
}

/// Placeholders for one request's expressions: every attribute name goes through `#nN` (names
/// such as `status` and `ttl` are reserved words) and every value through `:vN`.
#[derive(Debug, Default)]
struct Expression {
    names: Vec<String>,
    values: Vec<AttributeValue>,
}

impl Expression {
    fn name(&mut self, name: &str) -> String {
        let index = match self.names.iter().position(|known| known == name) {
            Some(index) => index,
            None => {
                self.names.push(name.to_owned());
                self.names.len() - 1
            }
        };
        format!("#n{index}")
    }

    fn value(&mut self, value: AttributeValue) -> String {
        self.values.push(value);
        format!(":v{}", self.values.len() - 1)
    }

    fn json(&mut self, value: &Value) -> Result<String, TableError> {
        Ok(self.value(to_attribute_value(value).map_err(conversion_error)?))
    }

    /// The attribute-name and -value maps, left out when empty (DynamoDB refuses empty maps).
    fn into_parts(self) -> (Option<HashMap<String, String>>, Option<Attributes>) {
        let names: HashMap<_, _> =
            self.names.into_iter().enumerate().map(|(i, name)| (format!("#n{i}"), name)).collect();
        let values: HashMap<_, _> =
            self.values.into_iter().enumerate().map(|(i, value)| (format!(":v{i}"), value)).collect();
        ((!names.is_empty()).then_some(names), (!values.is_empty()).then_some(values))
    }
}

fn condition_text(expression: &mut Expression, condition: &Condition) -> Result<String, TableError> {
    // The key's name is added only where used: DynamoDB refuses a name no expression uses.
    Ok(match condition {
        Condition::NotExists => format!("attribute_not_exists({})", expression.name(PK)),
        Condition::Exists => format!("attribute_exists({})", expression.name(PK)),
        Condition::Equals { attr, value } => {
            let key = expression.name(PK);
            format!("attribute_exists({key}) AND {} = {}", expression.name(attr), expression.json(value)?)
        }
        Condition::AbsentOrExpired { attr, before } => {
            let key = expression.name(PK);
            let before = expression.value(AttributeValue::N(before.to_string()));
            format!("attribute_not_exists({key}) OR {} < {before}", expression.name(attr))
        }
        Condition::SlotFree { attr, expires, before } => {
            let before = expression.value(AttributeValue::N(before.to_string()));
            format!("attribute_not_exists({}) OR {} < {before}", expression.name(attr), expression.name(expires))
        }
        // DynamoDB refuses redundant parentheses, so one condition goes as it is.
        Condition::All(all) if all.len() == 1 => condition_text(expression, &all[0])?,
        Condition::All(all) => {
            let parts = all.iter().map(|c| condition_text(expression, c).map(|t| format!("({t})")));
            parts.collect::<Result<Vec<_>, _>>()?.join(" AND ")
        }
    })
}

fn update_text<'a>(
    expression: &mut Expression,
    set: &Item,
    add: impl Iterator<Item = (&'a str, i64)>,
    remove: &[String],
) -> Result<String, TableError> {
    let mut clauses = Vec::new();
    let mut sets = Vec::new();
    for (name, value) in set {
        sets.push(format!("{} = {}", expression.name(name), expression.json(value)?));
    }
    if !sets.is_empty() {
        clauses.push(format!("SET {}", sets.join(", ")));
    }
    let adds: Vec<String> = add
        .map(|(name, by)| format!("{} {}", expression.name(name), expression.value(AttributeValue::N(by.to_string()))))
        .collect();
    if !adds.is_empty() {
        clauses.push(format!("ADD {}", adds.join(", ")));
    }
    let removes: Vec<String> = remove.iter().map(|name| expression.name(name)).collect();
    if !removes.is_empty() {
        clauses.push(format!("REMOVE {}", removes.join(", ")));
    }
    Ok(clauses.join(" "))
}

fn sort_key_text(expression: &mut Expression, attribute: &str, condition: &SortKey) -> String {
    let name = expression.name(attribute);
    let mut value = |text: &String| expression.value(AttributeValue::S(text.clone()));
    match condition {
        SortKey::Eq(text) => format!("{name} = {}", value(text)),
        SortKey::BeginsWith(text) => format!("begins_with({name}, {})", value(text)),
        SortKey::Between(low, high) => format!("{name} BETWEEN {} AND {}", value(low), value(high)),
        SortKey::Gt(text) => format!("{name} > {}", value(text)),
        SortKey::Ge(text) => format!("{name} >= {}", value(text)),
        SortKey::Lt(text) => format!("{name} < {}", value(text)),
        SortKey::Le(text) => format!("{name} <= {}", value(text)),
    }
}

/// What a cancelled transaction means: the first write whose condition failed, or a conflict
/// worth retrying, or a refusal.
fn cancellation(reasons: &[CancellationReason]) -> TableError {
    let code = |wanted: &str| reasons.iter().position(|reason| reason.code() == Some(wanted));
    if let Some(index) = code("ConditionalCheckFailed") {
        return TableError::ConditionFailed { index };
    }
    if code("TransactionConflict").is_some() {
        return TableError::Contention;
    }
    if code("ThrottlingError").is_some() || code("ProvisionedThroughputExceeded").is_some() {
        return TableError::Throttled("transaction cancelled: throttled".into());
    }
    let described: Vec<String> = reasons
        .iter()
        .enumerate()
        .filter(|(_, reason)| reason.code().is_some_and(|code| code != "None"))
        .map(|(index, reason)| {
            format!("write {index}: {} {}", reason.code().unwrap_or("?"), reason.message().unwrap_or(""))
        })
        .collect();
    match code("ValidationError") {
        Some(_) => TableError::Invalid(described.join("; ")),
        None => TableError::Unavailable(format!("transaction cancelled: {}", described.join("; "))),
    }
}

fn sdk_error<E>(err: SdkError<E>) -> TableError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match err.code() {
        Some("ConditionalCheckFailedException") => TableError::ConditionFailed { index: 0 },
        Some("TransactionConflictException") => TableError::Contention,
        Some("ValidationException") => TableError::Invalid(err.message().unwrap_or("refused by DynamoDB").to_owned()),
        Some("ProvisionedThroughputExceededException" | "ThrottlingException" | "RequestLimitExceeded") => {
            TableError::Throttled(DisplayErrorContext(&err).to_string())
        }
        _ => TableError::Unavailable(DisplayErrorContext(&err).to_string()),
    }
}

fn build_error(err: BuildError) -> TableError {
    TableError::Unavailable(format!("building a DynamoDB request: {err}"))
}

fn conversion_error(err: serde_dynamo::Error) -> TableError {
    TableError::Invalid(format!("not representable in DynamoDB: {err}"))
}

fn item_from(attributes: Attributes) -> Result<Item, TableError> {
    from_item(attributes).map_err(|e| TableError::Unavailable(format!("item from DynamoDB is not JSON-shaped: {e}")))
}

fn key_attributes(key: &Key) -> Attributes {
    HashMap::from([
        (PK.to_owned(), AttributeValue::S(key.pk.clone())),
        (SK.to_owned(), AttributeValue::S(key.sk.clone())),
    ])
}

/// Full-jitter exponential backoff: a random wait up to `base · 2^attempt`, capped at 2 s.
fn backoff(attempt: u32, base: Duration) -> Duration {
    let ceiling = base.saturating_mul(1 << attempt.min(16)).min(Duration::from_secs(2));
    Duration::from_millis(rand::random_range(0..=ceiling.as_millis() as u64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item(value: Value) -> Item {
        value.as_object().unwrap().clone()
    }

    fn text(value: &str) -> AttributeValue {
        AttributeValue::S(value.into())
    }

    fn number(value: &str) -> AttributeValue {
        AttributeValue::N(value.into())
    }

    #[test]
    fn conditions_become_expressions_with_placeholders_only() {
        let cases = [
            (Condition::NotExists, "attribute_not_exists(#n0)", vec![]),
            (Condition::Exists, "attribute_exists(#n0)", vec![]),
            (Condition::equals("status", "held"), "attribute_exists(#n0) AND #n1 = :v0", vec![text("held")]),
            (
                Condition::AbsentOrExpired { attr: "ttl".into(), before: 1_700_000_000 },
                "attribute_not_exists(#n0) OR #n1 < :v0",
                vec![number("1700000000")],
            ),
            (
                Condition::All(vec![
                    Condition::SlotFree { attr: "c05".into(), expires: "h05".into(), before: 9 },
                    Condition::equals("c10", "apt_1"),
                ]),
                "(attribute_not_exists(#n0) OR #n1 < :v0) AND (attribute_exists(#n2) AND #n3 = :v1)",
                vec![number("9"), text("apt_1")],
            ),
        ];
        for (condition, wanted, values) in cases {
            let mut expression = Expression::default();
            assert_eq!(condition_text(&mut expression, &condition).unwrap(), wanted);
            assert_eq!(expression.values, values);
            assert!(expression.names.iter().any(|name| name == PK));
        }
    }

    #[test]
    fn an_update_sets_adds_and_removes_in_one_expression() {
        let mut expression = Expression::default();
        let set = item(json!({"status": "booked", "GSI1PK": "DUE#1"}));
        let text_of =
            update_text(&mut expression, &set, [("count", 2)].into_iter(), &["hold".into(), "status_old".into()]);
        assert_eq!(text_of.unwrap(), "SET #n0 = :v0, #n1 = :v1 ADD #n2 :v2 REMOVE #n3, #n4");
        assert_eq!(expression.names, ["GSI1PK", "status", "count", "hold", "status_old"]);
        assert_eq!(expression.values, [text("DUE#1"), text("booked"), number("2")]);
    }

    #[test]
    fn a_name_used_by_the_update_and_its_condition_gets_one_placeholder() {
        let write = Write::Update {
            key: Key::new("p", "s"),
            set: item(json!({"version": 2})),
            add: Default::default(),
            remove: vec![],
            condition: Some(Condition::equals("version", 1)),
        };
        let plan = plan(&write).unwrap();
        assert_eq!(
            plan.op,
            Op::Update { key: key_attributes(&Key::new("p", "s")), expression: "SET #n0 = :v0".into() }
        );
        assert_eq!(plan.condition.as_deref(), Some("attribute_exists(#n1) AND #n0 = :v1"));
        assert_eq!(plan.names.unwrap(), HashMap::from([("#n0".into(), "version".into()), ("#n1".into(), PK.into())]));
        assert_eq!(plan.values.unwrap(), HashMap::from([(":v0".into(), number("2")), (":v1".into(), number("1"))]));
    }

    #[test]
    fn an_unconditional_put_sends_no_empty_maps() {
        let plan =
            plan(&Write::put(item(json!({"PK": "p", "SK": "s", "n": 1.5, "tags": ["a"], "gone": null})))).unwrap();
        assert_eq!((plan.condition, plan.names, plan.values), (None, None, None));
        let Op::Put(attributes) = plan.op else { panic!("a put plans a put") };
        assert_eq!(attributes["n"], number("1.5"));
        assert_eq!(attributes["tags"], AttributeValue::L(vec![text("a")]));
        assert_eq!(attributes["gone"], AttributeValue::Null(true));
    }

    #[test]
    fn every_sort_key_condition_has_its_expression() {
        let cases = [
            (SortKey::Eq("a".into()), "#n0 = :v0"),
            (SortKey::BeginsWith("a".into()), "begins_with(#n0, :v0)"),
            (SortKey::Between("a".into(), "b".into()), "#n0 BETWEEN :v0 AND :v1"),
            (SortKey::Gt("a".into()), "#n0 > :v0"),
            (SortKey::Ge("a".into()), "#n0 >= :v0"),
            (SortKey::Lt("a".into()), "#n0 < :v0"),
            (SortKey::Le("a".into()), "#n0 <= :v0"),
        ];
        for (condition, wanted) in cases {
            assert_eq!(sort_key_text(&mut Expression::default(), GSI1SK, &condition), wanted);
        }
    }

    fn reasons(codes: &[&str]) -> Vec<CancellationReason> {
        codes.iter().map(|code| CancellationReason::builder().code(*code).message("why").build()).collect()
    }

    #[test]
    fn a_cancelled_transaction_names_its_first_failed_condition() {
        let cancelled = reasons(&["None", "ConditionalCheckFailed", "TransactionConflict", "ConditionalCheckFailed"]);
        assert_eq!(cancellation(&cancelled), TableError::ConditionFailed { index: 1 });
    }

    #[test]
    fn a_conflict_is_contention_and_other_cancellations_are_not_conditions() {
        assert_eq!(cancellation(&reasons(&["None", "TransactionConflict"])), TableError::Contention);
        assert!(matches!(cancellation(&reasons(&["ValidationError", "None"])), TableError::Invalid(_)));
        assert!(matches!(cancellation(&reasons(&["ThrottlingError"])), TableError::Throttled(_)));
        assert!(matches!(cancellation(&[]), TableError::Unavailable(_)));
    }

    #[test]
    fn backoff_stays_under_its_ceiling() {
        for attempt in 0..40 {
            assert!(backoff(attempt, Duration::from_millis(50)) <= Duration::from_secs(2));
        }
        assert!(backoff(1, Duration::from_millis(20)) <= Duration::from_millis(40));
    }
}
