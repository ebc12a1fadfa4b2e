//! Embedded queue adapter: an in-process channel. The local host drains it on a tokio task and
//! runs the workers in the same process. Messages live in memory only: a document whose render
//! was queued when the process stopped stays without a PDF until it is queued again.

use async_trait::async_trait;
use serde_json::Value;
use tokio::sync::mpsc;

use mas_ports::{Queue, QueueError, QueueName};

pub type Message = (QueueName, Value);

pub struct ChannelQueue {
    sender: mpsc::UnboundedSender<Message>,
}

impl ChannelQueue {
    /// The queue, and the receiving end its consumer drains.
    pub fn new() -> (ChannelQueue, mpsc::UnboundedReceiver<Message>) {
        let (sender, receiver) = mpsc::unbounded_channel();
        (ChannelQueue { sender }, receiver)
    }
}

#[async_trait]
impl Queue for ChannelQueue {
    async fn send(&self, queue: QueueName, body: Value) -> Result<(), QueueError> {
        self.sender
            .send((queue, body))
            .map_err(|_| QueueError::Unavailable("the in-process consumer has stopped".into()))
    }
}
