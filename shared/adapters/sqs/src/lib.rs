//! SQS queue adapter: one queue URL per `QueueName`, from the environment (`RENDER_QUEUE_URL`).
//! Visibility timeouts and redrive to a dead-letter queue are the queues' own settings
//! (template.yaml).

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::DisplayErrorContext;
use serde_json::Value;

use mas_ports::{Queue, QueueError, QueueName};

#[derive(Debug, Clone)]
pub struct SqsQueue {
    client: Client,
    urls: BTreeMap<QueueName, String>,
}

impl SqsQueue {
    pub fn new(client: Client, urls: BTreeMap<QueueName, String>) -> Self {
        SqsQueue { client, urls }
    }

    /// Queues whose URL variable is set, on the process's one AWS configuration; `None` when none is.
    pub fn from_env(config: &SdkConfig) -> Option<Self> {
        let urls: BTreeMap<QueueName, String> = QueueName::ALL
            .into_iter()
            .filter_map(|q| std::env::var(q.url_variable()).ok().filter(|u| !u.is_empty()).map(|u| (q, u)))
            .collect();
        if urls.is_empty() {
            return None;
        }
        Some(SqsQueue::new(Client::new(config), urls))
    }
}

#[async_trait]
impl Queue for SqsQueue {
    async fn send(&self, queue: QueueName, body: Value) -> Result<(), QueueError> {
        let url = self.urls.get(&queue).ok_or(QueueError::NotConfigured(queue.as_str()))?;
        self.client
            .send_message()
            .queue_url(url)
            .message_body(body.to_string())
            .send()
            .await
            .map(drop)
            .map_err(|e| QueueError::Unavailable(DisplayErrorContext(e).to_string()))
    }

    async fn send_batch(&self, queue: QueueName, bodies: Vec<Value>) -> Result<(), QueueError> {
        let url = self.urls.get(&queue).ok_or(QueueError::NotConfigured(queue.as_str()))?.clone();
        // SendMessageBatch takes ten entries per request; up to sixteen requests in flight, so a
        // sweep of 100,000 reminders is ~10,000 calls but not 10,000 round trips end to end.
        let mut in_flight = tokio::task::JoinSet::new();
        for chunk in bodies.chunks(10) {
            if in_flight.len() >= 16 {
                in_flight
                    .join_next()
                    .await
                    .expect("a task is in flight")
                    .map_err(|e| QueueError::Unavailable(e.to_string()))??;
            }
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, body)| {
                    aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .message_body(body.to_string())
                        .build()
                        .map_err(|e| QueueError::Unavailable(e.to_string()))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let (client, url, count) = (self.client.clone(), url.clone(), chunk.len());
            in_flight.spawn(async move {
                let answer = client
                    .send_message_batch()
                    .queue_url(url)
                    .set_entries(Some(entries))
                    .send()
                    .await
                    .map_err(|e| QueueError::Unavailable(DisplayErrorContext(e).to_string()))?;
                if answer.failed().is_empty() {
                    Ok(())
                } else {
                    Err(QueueError::Unavailable(format!("{} of {count} messages refused", answer.failed().len())))
                }
            });
        }
        while let Some(done) = in_flight.join_next().await {
            done.map_err(|e| QueueError::Unavailable(e.to_string()))??;
        }
        Ok(())
    }
}
