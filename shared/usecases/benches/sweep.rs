//! The reminder sweep at scale: 100,000 reminders due across 1,000 tenants, spread over the
//! sweep's look-back hours and shards, enqueued by one sweep. Reports the time and the number of
//! table reads (query pages) per run on the embedded SQLite table; `cargo bench -p mas-shared
//! --bench sweep` (add `-- --quick` for 10,000).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use async_trait::async_trait;
use chrono::{Duration, TimeZone, Utc};
use mas_domain::ids::{AppointmentId, ClientId, TenantId};
use mas_domain::notifications::{Channel, MessageKind};
use mas_embedded::SqliteTable;
use mas_ports::{FixedClock, Queue, QueueError, QueueName, Table};
use mas_usecases::app::{App, AuthMode, Config};
use mas_usecases::notifications::plan::{DueItem, plan_all, sweep};
use serde_json::Value;

/// Counts the messages the sweep enqueues and the batches it sends them in.
#[derive(Default)]
struct CountingQueue {
    messages: AtomicUsize,
    batches: AtomicUsize,
}

#[async_trait]
impl Queue for CountingQueue {
    async fn send(&self, _: QueueName, _: Value) -> Result<(), QueueError> {
        self.messages.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    async fn send_batch(&self, _: QueueName, bodies: Vec<Value>) -> Result<(), QueueError> {
        self.messages.fetch_add(bodies.len(), Ordering::Relaxed);
        self.batches.fetch_add(bodies.len().div_ceil(10), Ordering::Relaxed);
        Ok(())
    }
}

#[path = "support/counting_table.rs"]
mod counting_table;
use counting_table::CountingTable;

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (tenants, per_tenant) = if quick { (100, 100) } else { (1_000, 100) };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(async move {
        let dir = tempfile::tempdir().unwrap();
        let sqlite: Arc<dyn Table> = Arc::new(SqliteTable::open(&dir.path().join("sweep.sqlite3")).unwrap());
        let table = CountingTable::over(sqlite);
        let now = Utc.with_ymd_and_hms(2027, 5, 4, 10, 2, 0).unwrap();
        let clock = Arc::new(FixedClock::new(now));
        let queue = Arc::new(CountingQueue::default());
        let app = App::new(table.clone(), clock, AuthMode::ApiGateway, Config { site_domain: "sites.test".into() });
        let notifier = mas_usecases::notifications::Notifier { queue: queue.clone(), ..mas_usecases::notifications::Notifier::of(&app) };

        // Due over the last three hours, each tenant's reminders spread through the window.
        let mut items = Vec::with_capacity(tenants * per_tenant);
        for t in 0..tenants {
            let tenant = TenantId::parse(&format!("ten_{t:05}")).unwrap();
            for i in 0..per_tenant {
                let due_at = now - Duration::seconds(((t * per_tenant + i) % (3 * 3600)) as i64);
                items.push(DueItem {
                    tenant_id: tenant.clone(),
                    subject: AppointmentId::new().to_string(),
                    client_id: ClientId::new(),
                    kind: MessageKind::Reminder24h.into(),
                    channels: vec![Channel::Email, Channel::Sms],
                    due_at,
                    useful_until: due_at + Duration::hours(12),
                    planned_start: Some(due_at + Duration::hours(24)),
                });
            }
        }
        let seeding = Instant::now();
        plan_all(&notifier, &items).await.unwrap();
        println!("seeded {} due reminders across {tenants} tenants in {:.1} s", items.len(), seeding.elapsed().as_secs_f64());

        let mut runs = Vec::new();
        for run in 1..=3 {
            table.queries.store(0, Ordering::Relaxed);
            queue.messages.store(0, Ordering::Relaxed);
            queue.batches.store(0, Ordering::Relaxed);
            let started = Instant::now();
            let report = sweep(&notifier).await.unwrap();
            let elapsed = started.elapsed();
            assert_eq!(report.enqueued, items.len(), "every due reminder enqueued");
            println!(
                "run {run}: enqueued {} in {:.3} s ({:.0} reminders/s); table reads (query pages) {}; SQS SendMessageBatch calls {}",
                report.enqueued,
                elapsed.as_secs_f64(),
                report.enqueued as f64 / elapsed.as_secs_f64(),
                table.queries.load(Ordering::Relaxed),
                queue.batches.load(Ordering::Relaxed),
            );
            runs.push(elapsed.as_secs_f64());
        }
        runs.sort_by(f64::total_cmp);
        println!("median sweep: {:.3} s", runs[1]);
    });
}
