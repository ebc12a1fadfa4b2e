//! The blob and queue ports' contracts: the same cases against the embedded adapters (files
//! served at signed URLs; an in-process channel) and the AWS ones (S3 and SQS on moto).

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use mas_domain::links::LinkSigner;
use mas_embedded::ChannelQueue;
use mas_embedded::DirBlobs;
use mas_ports::{BlobError, BlobKey, Blobs, Clock, FixedClock, Queue, QueueName, Retention};
use mas_s3::S3Blobs;
use mas_sqs::SqsQueue;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::support::aws;

// ---- blobs ---------------------------------------------------------------------------------

/// A blob store as production has it (the documents bucket: Object Lock, seven years by
/// default), and how time passes for it: the directory adapter reads the fixed clock, moto the
/// real one (so the S3 cases wait a few seconds where the directory's clock jumps).
struct BlobFixture {
    blobs: Arc<dyn Blobs>,
    clock: Option<Arc<FixedClock>>,
    _dir: Option<tempfile::TempDir>,
}

impl BlobFixture {
    fn now(&self) -> DateTime<Utc> {
        match &self.clock {
            Some(clock) => clock.now(),
            None => Utc::now(),
        }
    }

    async fn pass(&self, seconds: i64) {
        match &self.clock {
            Some(clock) => clock.advance(chrono::Duration::seconds(seconds)),
            None => tokio::time::sleep(Duration::from_secs(seconds as u64)).await,
        }
    }

    /// `seconds` from now, in whole seconds (what S3 keeps).
    fn in_seconds(&self, seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(self.now().timestamp() + seconds, 0).unwrap()
    }
}

const SEVEN_YEARS: chrono::Duration = chrono::Duration::days(7 * 365);

async fn fresh_dir_blobs(_test: &str) -> Option<BlobFixture> {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let clock = Arc::new(FixedClock::new(chrono::Utc::now()));
    let blobs = Arc::new(
        DirBlobs::new(dir.path().join("blobs"), base, Arc::new(LinkSigner::random()), clock.clone())
            .with_default_retention(SEVEN_YEARS),
    );
    let router = blobs.clone().router().into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    Some(BlobFixture { blobs, clock: Some(clock), _dir: Some(dir) })
}

async fn fresh_s3_bucket(test: &str) -> Option<BlobFixture> {
    let config = aws::moto(test).await?;
    let s3 = aws_sdk_s3::config::Builder::from(&config).force_path_style(true).build();
    let bucket = format!("contract-{}", ulid::Ulid::new().to_string().to_lowercase());
    let blobs = S3Blobs::new(aws_sdk_s3::Client::from_conf(s3), bucket).with_lock_mode("GOVERNANCE").unwrap();
    blobs.create_locked_bucket_if_missing(7).await.expect("a bucket with Object Lock on moto");
    Some(BlobFixture { blobs: Arc::new(blobs), clock: None, _dir: None })
}

macro_rules! blob_contract {
    ($($case:ident),* $(,)?) => {
        mod dir_blobs {
            $(#[tokio::test]
            async fn $case() {
                if let Some(f) = super::fresh_dir_blobs(stringify!($case)).await { super::$case(f).await; }
            })*
        }
        mod s3_blobs {
            $(#[tokio::test]
            async fn $case() {
                if let Some(f) = super::fresh_s3_bucket(stringify!($case)).await { super::$case(f).await; }
            })*
        }
    };
}

blob_contract!(
    a_blob_reads_back_exactly_as_it_was_put,
    a_missing_blob_is_none,
    a_put_replaces_the_blob_under_the_same_key,
    a_presigned_url_downloads_the_blob_without_credentials,
    a_blob_stored_with_the_default_retention_is_kept_years_and_its_delete_is_refused,
    a_blob_retained_until_a_date_cannot_be_deleted_before_it_and_is_gone_after,
    an_extension_keeps_a_blob_longer_and_never_shortens_it,
    a_missing_blob_has_no_retention_to_read_or_extend_and_its_delete_is_done,
    a_key_stored_twice_is_deleted_whole_once_the_later_lock_has_passed,
);

fn key(name: &str) -> BlobKey {
    BlobKey::parse(&format!("tenants/ten_a/documents/doc_1/{name}")).unwrap()
}

const PDF: &str = "application/pdf";

async fn a_blob_reads_back_exactly_as_it_was_put(f: BlobFixture) {
    let bytes: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    f.blobs.put(&key("a.pdf"), bytes.clone(), PDF, Retention::Default).await.unwrap();
    assert_eq!(f.blobs.get(&key("a.pdf")).await.unwrap(), Some(bytes));
}

async fn a_missing_blob_is_none(f: BlobFixture) {
    assert_eq!(f.blobs.get(&key("nothing.pdf")).await.unwrap(), None);
}

async fn a_put_replaces_the_blob_under_the_same_key(f: BlobFixture) {
    f.blobs.put(&key("b.pdf"), b"first".to_vec(), PDF, Retention::Default).await.unwrap();
    f.blobs.put(&key("b.pdf"), b"second".to_vec(), PDF, Retention::Default).await.unwrap();
    assert_eq!(f.blobs.get(&key("b.pdf")).await.unwrap(), Some(b"second".to_vec()));
}

async fn a_presigned_url_downloads_the_blob_without_credentials(f: BlobFixture) {
    f.blobs.put(&key("c.pdf"), b"%PDF-1.7 test".to_vec(), PDF, Retention::Default).await.unwrap();
    let url = f.blobs.presign(&key("c.pdf"), Duration::from_secs(300)).await.unwrap();
    let response = reqwest::get(&url).await.unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::OK, "{url}");
    assert_eq!(response.bytes().await.unwrap().as_ref(), b"%PDF-1.7 test");
}

async fn a_blob_stored_with_the_default_retention_is_kept_years_and_its_delete_is_refused(f: BlobFixture) {
    f.blobs.put(&key("kept.pdf"), b"kept".to_vec(), PDF, Retention::Default).await.unwrap();
    let until = f.blobs.retained_until(&key("kept.pdf")).await.unwrap().expect("the default retention");
    assert!(until > f.now() + chrono::Duration::days(6 * 365), "about seven years: {until}");
    match f.blobs.delete(&key("kept.pdf")).await {
        Err(BlobError::Locked { key: locked, until: refused_until }) => {
            assert_eq!(locked, key("kept.pdf").to_string());
            assert_eq!(refused_until.timestamp(), until.timestamp());
        }
        other => panic!("a delete under retention must be refused as Locked: {other:?}"),
    }
    assert_eq!(f.blobs.get(&key("kept.pdf")).await.unwrap(), Some(b"kept".to_vec()));
}

async fn a_blob_retained_until_a_date_cannot_be_deleted_before_it_and_is_gone_after(f: BlobFixture) {
    let until = f.in_seconds(2);
    f.blobs.put(&key("short.pdf"), b"short".to_vec(), PDF, Retention::Until(until)).await.unwrap();
    assert_eq!(f.blobs.retained_until(&key("short.pdf")).await.unwrap(), Some(until));
    assert_eq!(
        f.blobs.delete(&key("short.pdf")).await,
        Err(BlobError::Locked { key: key("short.pdf").to_string(), until })
    );
    assert_eq!(f.blobs.get(&key("short.pdf")).await.unwrap(), Some(b"short".to_vec()));
    f.pass(3).await;
    f.blobs.delete(&key("short.pdf")).await.expect("deleted once its lock has passed");
    assert_eq!(f.blobs.get(&key("short.pdf")).await.unwrap(), None);
    assert_eq!(f.blobs.retained_until(&key("short.pdf")).await, Err(BlobError::NotFound(key("short.pdf").to_string())));
    f.blobs.delete(&key("short.pdf")).await.expect("deleting what is gone is done");
}

async fn an_extension_keeps_a_blob_longer_and_never_shortens_it(f: BlobFixture) {
    f.blobs.put(&key("signed.pdf"), b"signed".to_vec(), PDF, Retention::Until(f.in_seconds(2))).await.unwrap();
    let later = f.in_seconds(3600);
    f.blobs.extend_retention(&key("signed.pdf"), later).await.unwrap();
    assert_eq!(f.blobs.retained_until(&key("signed.pdf")).await.unwrap(), Some(later));
    f.blobs.extend_retention(&key("signed.pdf"), f.in_seconds(600)).await.expect("an earlier date is no error");
    assert_eq!(f.blobs.retained_until(&key("signed.pdf")).await.unwrap(), Some(later), "never shortened");
    f.pass(3).await;
    assert!(matches!(f.blobs.delete(&key("signed.pdf")).await, Err(BlobError::Locked { .. })));
    assert_eq!(f.blobs.get(&key("signed.pdf")).await.unwrap(), Some(b"signed".to_vec()));
}

async fn a_missing_blob_has_no_retention_to_read_or_extend_and_its_delete_is_done(f: BlobFixture) {
    let missing = key("missing.pdf");
    assert_eq!(f.blobs.retained_until(&missing).await, Err(BlobError::NotFound(missing.to_string())));
    assert_eq!(
        f.blobs.extend_retention(&missing, f.in_seconds(60)).await,
        Err(BlobError::NotFound(missing.to_string()))
    );
    f.blobs.delete(&missing).await.unwrap();
}

/// A duplicate delivery of a render stores the same file again: the key stays until every
/// copy's lock has passed, and the delete then takes every one.
async fn a_key_stored_twice_is_deleted_whole_once_the_later_lock_has_passed(f: BlobFixture) {
    let (first, second) = (f.in_seconds(2), f.in_seconds(5));
    f.blobs.put(&key("twice.pdf"), b"same".to_vec(), PDF, Retention::Until(first)).await.unwrap();
    f.blobs.put(&key("twice.pdf"), b"same".to_vec(), PDF, Retention::Until(second)).await.unwrap();
    assert_eq!(f.blobs.retained_until(&key("twice.pdf")).await.unwrap(), Some(second));
    f.pass(3).await;
    assert_eq!(
        f.blobs.delete(&key("twice.pdf")).await,
        Err(BlobError::Locked { key: key("twice.pdf").to_string(), until: second })
    );
    assert_eq!(f.blobs.get(&key("twice.pdf")).await.unwrap(), Some(b"same".to_vec()));
    f.pass(3).await;
    f.blobs.delete(&key("twice.pdf")).await.unwrap();
    assert_eq!(f.blobs.get(&key("twice.pdf")).await.unwrap(), None);
}

/// Embedded only: moto does not check S3 presigned signatures or expiry (AWS does).
mod dir_blob_links {
    use super::*;

    #[tokio::test]
    async fn an_edited_or_expired_local_link_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let clock = Arc::new(FixedClock::new(chrono::Utc::now()));
        let blobs = Arc::new(DirBlobs::new(dir.path(), base, Arc::new(LinkSigner::random()), clock.clone()));
        let router = blobs.clone().router();
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        blobs.put(&key("d.pdf"), b"secret".to_vec(), PDF, Retention::Default).await.unwrap();
        blobs.put(&key("e.pdf"), b"other".to_vec(), PDF, Retention::Default).await.unwrap();
        let url = blobs.presign(&key("d.pdf"), Duration::from_secs(60)).await.unwrap();
        assert_eq!(reqwest::get(&url).await.unwrap().status(), reqwest::StatusCode::OK);
        let other_file = url.replace("d.pdf", "e.pdf");
        assert_eq!(reqwest::get(&other_file).await.unwrap().status(), reqwest::StatusCode::FORBIDDEN);
        // Sent raw: an HTTP client would normalize the `..` away before sending it.
        let climbing = url.replace("documents/doc_1/d.pdf", "documents/doc_1/../doc_1/d.pdf");
        assert!(!raw_get(&climbing).await.starts_with("HTTP/1.1 200"), "a path with `..` was served");
        clock.advance(chrono::Duration::seconds(61));
        assert_eq!(reqwest::get(&url).await.unwrap().status(), reqwest::StatusCode::FORBIDDEN);
    }
}

/// GETs a URL exactly as written (no path normalization) and returns the status line.
async fn raw_get(url: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    stream
        .write_all(format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap_or_default();
    response.lines().next().unwrap_or_default().to_owned()
}

// ---- queue ---------------------------------------------------------------------------------

/// A queue and a way to receive what reached it (within a few seconds).
struct QueueFixture {
    queue: Arc<dyn Queue>,
    receive: Receiver,
}

enum Receiver {
    Channel(Mutex<tokio::sync::mpsc::UnboundedReceiver<mas_embedded::channel_queue::Message>>),
    Sqs { client: aws_sdk_sqs::Client, url: String },
}

impl Receiver {
    async fn take(&self, count: usize) -> Vec<Value> {
        let mut received = Vec::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while received.len() < count && tokio::time::Instant::now() < deadline {
            match self {
                Receiver::Channel(rx) => {
                    let next = tokio::time::timeout(Duration::from_millis(200), rx.lock().await.recv()).await;
                    if let Ok(Some((QueueName::Render, body))) = next {
                        received.push(body);
                    }
                }
                Receiver::Sqs { client, url } => {
                    let out = client
                        .receive_message()
                        .queue_url(url)
                        .max_number_of_messages(10)
                        .wait_time_seconds(1)
                        .send()
                        .await
                        .unwrap();
                    for message in out.messages() {
                        received.push(serde_json::from_str(message.body().unwrap()).unwrap());
                        client
                            .delete_message()
                            .queue_url(url)
                            .receipt_handle(message.receipt_handle().unwrap())
                            .send()
                            .await
                            .unwrap();
                    }
                }
            }
        }
        received
    }
}

async fn fresh_channel(_test: &str) -> Option<QueueFixture> {
    let (queue, receiver) = ChannelQueue::new();
    Some(QueueFixture { queue: Arc::new(queue), receive: Receiver::Channel(Mutex::new(receiver)) })
}

async fn fresh_sqs_queue(test: &str) -> Option<QueueFixture> {
    let config = aws::moto(test).await?;
    let client = aws_sdk_sqs::Client::new(&config);
    let name = format!("contract-{}", ulid::Ulid::new());
    let url = client.create_queue().queue_name(name).send().await.unwrap().queue_url().unwrap().to_owned();
    let queue = SqsQueue::new(client.clone(), [(QueueName::Render, url.clone())].into());
    Some(QueueFixture { queue: Arc::new(queue), receive: Receiver::Sqs { client, url } })
}

macro_rules! queue_contract {
    ($($case:ident),* $(,)?) => {
        mod channel_queue {
            $(#[tokio::test]
            async fn $case() {
                if let Some(f) = super::fresh_channel(stringify!($case)).await { super::$case(f).await; }
            })*
        }
        mod sqs_queue {
            $(#[tokio::test]
            async fn $case() {
                if let Some(f) = super::fresh_sqs_queue(stringify!($case)).await { super::$case(f).await; }
            })*
        }
    };
}

queue_contract!(
    a_sent_message_arrives_with_its_body,
    every_message_of_a_burst_arrives,
    a_batch_of_twenty_five_arrives_whole
);

async fn a_sent_message_arrives_with_its_body(f: QueueFixture) {
    let body = json!({"tenant_id": "ten_a", "document_id": "doc_1", "variant": "generated", "note": "Zoë £€"});
    f.queue.send(QueueName::Render, body.clone()).await.unwrap();
    assert_eq!(f.receive.take(1).await, vec![body]);
}

async fn every_message_of_a_burst_arrives(f: QueueFixture) {
    for i in 0..12 {
        f.queue.send(QueueName::Render, json!({ "n": i })).await.unwrap();
    }
    let received: BTreeSet<i64> = f.receive.take(12).await.iter().map(|v| v["n"].as_i64().unwrap()).collect();
    assert_eq!(received, (0..12).collect());
}

async fn a_batch_of_twenty_five_arrives_whole(f: QueueFixture) {
    // Three SendMessageBatch calls on SQS (ten, ten, five), sent concurrently.
    let bodies: Vec<serde_json::Value> = (0..25).map(|i| json!({ "n": i })).collect();
    f.queue.send_batch(QueueName::Render, bodies).await.unwrap();
    let received: BTreeSet<i64> = f.receive.take(25).await.iter().map(|v| v["n"].as_i64().unwrap()).collect();
    assert_eq!(received, (0..25).collect());
}

#[tokio::test]
async fn a_queue_without_a_url_says_so() {
    let queue = SqsQueue::new(
        aws_sdk_sqs::Client::from_conf(aws_sdk_sqs::Config::builder().behavior_version_latest().build()),
        Default::default(),
    );
    let err = queue.send(QueueName::Render, json!({})).await.unwrap_err();
    assert_eq!(err, mas_ports::QueueError::NotConfigured("render"));
}

/// The documents bucket as template.yaml makes it (versioned, Object Lock with a default
/// retention): a PDF stored through the adapter is kept under that retention, and deleting its
/// version is refused.
#[tokio::test]
async fn a_pdf_put_into_the_object_locked_documents_bucket_is_retained_and_its_version_cannot_be_deleted() {
    use aws_sdk_s3::types::{
        DefaultRetention, ObjectLockConfiguration, ObjectLockEnabled, ObjectLockRetentionMode, ObjectLockRule,
    };
    let Some(config) = aws::moto("object-locked documents bucket").await else { return };
    let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&config).force_path_style(true).build());
    let bucket = format!("locked-{}", ulid::Ulid::new().to_string().to_lowercase());
    let location = aws_sdk_s3::types::CreateBucketConfiguration::builder()
        .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest1)
        .build();
    s3.create_bucket()
        .bucket(&bucket)
        .create_bucket_configuration(location)
        .object_lock_enabled_for_bucket(true)
        .send()
        .await
        .unwrap();
    let rule = ObjectLockRule::builder()
        .default_retention(DefaultRetention::builder().mode(ObjectLockRetentionMode::Compliance).years(7).build())
        .build();
    let lock = ObjectLockConfiguration::builder().object_lock_enabled(ObjectLockEnabled::Enabled).rule(rule).build();
    s3.put_object_lock_configuration().bucket(&bucket).object_lock_configuration(lock).send().await.unwrap();

    let blobs = S3Blobs::new(s3.clone(), bucket.clone());
    let key = mas_ports::BlobKey::parse("tenants/ten_a/documents/doc_a/generated-abc.pdf").unwrap();
    blobs.put(&key, b"%PDF-1.7 locked".to_vec(), PDF, Retention::Default).await.expect("stored under Object Lock");
    assert_eq!(blobs.get(&key).await.unwrap().as_deref(), Some(&b"%PDF-1.7 locked"[..]));
    let head = s3.head_object().bucket(&bucket).key(key.as_str()).send().await.unwrap();
    assert_eq!(head.object_lock_mode(), Some(&aws_sdk_s3::types::ObjectLockMode::Compliance));
    let until = head.object_lock_retain_until_date().expect("a retention date");
    assert!(until.secs() > chrono::Utc::now().timestamp() + 6 * 365 * 86_400, "about seven years");
    let version = head.version_id().expect("versioned").to_owned();
    let deleted = s3.delete_object().bucket(&bucket).key(key.as_str()).version_id(version).send().await;
    assert!(deleted.is_err(), "a locked version cannot be deleted");
}
