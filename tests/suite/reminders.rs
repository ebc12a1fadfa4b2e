//! The reminder correctness suite, end to end: real bookings over HTTP on a clock the test
//! moves, events delivered twice each (as at-least-once buses do), the sweep run at each due
//! time with every job handled twice, and one sender that crashes holding a message. What comes
//! out must be exactly the expected messages, at the expected local times, each sent once.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Duration, NaiveDate, TimeZone as _, Utc};
use chrono_tz::Tz;
use mas_ports::messages::{Accepted, Mailer, OutgoingEmail, OutgoingSms, SendError, SmsSender};
use mas_ports::{Clock, FixedClock, Query, Queue, QueueError, QueueName};
use mas_usecases::notifications::plan::{self, Work};
use mas_usecases::notifications::{self, MessageRecord, Notifier};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::app::*;

/// Every send the providers saw, by our message id, with the time it happened.
#[derive(Default)]
struct Providers {
    sent: Mutex<Vec<(String, DateTime<Utc>)>>,
    clock: Mutex<Option<Arc<FixedClock>>>,
    /// Addresses the provider refuses for good.
    refuse: Mutex<Vec<String>>,
}

impl Providers {
    fn record(&self, id: &str, to: &str) -> Result<Accepted, SendError> {
        if self.refuse.lock().unwrap().iter().any(|r| r == to) {
            return Err(SendError::Undeliverable(format!("{to} does not exist")));
        }
        let now = self.clock.lock().unwrap().as_ref().unwrap().now();
        self.sent.lock().unwrap().push((id.to_owned(), now));
        Ok(Accepted { provider_id: format!("p-{id}") })
    }

    fn sends_per_message(&self) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for (id, _) in self.sent.lock().unwrap().iter() {
            *counts.entry(id.clone()).or_insert(0) += 1;
        }
        counts
    }
}

#[async_trait]
impl Mailer for Providers {
    async fn send_email(&self, email: &OutgoingEmail) -> Result<Accepted, SendError> {
        self.record(&email.message_id, &email.to)
    }
}

#[async_trait]
impl SmsSender for Providers {
    async fn send_sms(&self, sms: &OutgoingSms) -> Result<Accepted, SendError> {
        self.record(&sms.message_id, &sms.to)
    }
}

/// The notify queue, kept for the test to deliver.
#[derive(Default)]
struct Jobs(Mutex<Vec<Value>>);

#[async_trait]
impl Queue for Jobs {
    async fn send(&self, queue: QueueName, body: Value) -> Result<(), QueueError> {
        if queue == QueueName::Notify {
            self.0.lock().unwrap().push(body);
        }
        Ok(())
    }
}

struct World {
    app: TestApp,
    clock: Arc<FixedClock>,
    providers: Arc<Providers>,
    jobs: Arc<Jobs>,
    notifier: Notifier,
    token: String,
    tenant: mas_domain::ids::TenantId,
    location_id: String,
    service_id: String,
    client_id: String,
    zone: Tz,
    /// Events already handed to the worker.
    delivered: usize,
}

const DAYS: [&str; 7] = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];

/// A clinic in `zone` open 07:00–22:00 daily, one practitioner, and a client with an email and
/// a phone who has not agreed to marketing; the clock at `now`.
async fn world(zone: &str, now: DateTime<Utc>) -> World {
    let clock = Arc::new(FixedClock::new(now));
    let app = spawn_app_without_bus(clock.clone()).await;
    let slug = format!("r-{}", &ulid::Ulid::new().to_string().to_lowercase()[16..]);
    let mut clinic = app.sign_up(&slug).await;
    // The app's clock may be far from today: a token minted now outlives the test.
    let claims = mas_usecases::tokens::StaffClaims {
        sub: clinic.owner_id.clone(),
        email: mas_domain::values::Email::parse(&format!("owner@{slug}.test")).unwrap(),
        tenant_id: clinic.tenant_id.clone(),
        member_id: mas_domain::ids::MemberId::parse(&clinic.owner_id).unwrap(),
        auth_epoch: 0,
    };
    clinic.token = mas_usecases::tokens::LocalIssuer::new(TEST_SECRET).issue(&claims, Utc::now());
    let t = &clinic.token;
    let hours: Vec<Value> = DAYS.iter().map(|d| json!({"day": d, "start": "07:00", "end": "22:00"})).collect();
    let mut location = location_body("Harbour");
    location["timezone"] = json!(zone);
    location["opening_hours"] = json!(hours);
    let (status, location) = app.post("/v1/locations", t, location).await;
    assert_eq!(status, StatusCode::CREATED, "{location}");
    let location_id = location["id"].as_str().unwrap().to_owned();
    let (_, service) = app
        .post(
            "/v1/services",
            t,
            json!({"name": "Skin peel", "category": "peels", "duration_minutes": 60, "price": {"amount_minor": 9000}}),
        )
        .await;
    let rules: Vec<Value> =
        DAYS.iter().map(|d| json!({"location_id": location_id, "day": d, "start": "07:00", "end": "22:00"})).collect();
    let (status, p) = app
        .post(
            "/v1/practitioners",
            t,
            json!({"display_name": "Dr Rowe", "specialties": ["peels"], "working_rules": rules}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{p}");
    let (status, client) = app
        .post("/v1/clients", t, json!({"first_name": "Ada", "last_name": "Lovelace", "email": "ada@clients.test", "phone": "+447700900123"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{client}");
    let providers = Arc::new(Providers::default());
    *providers.clock.lock().unwrap() = Some(clock.clone());
    let jobs = Arc::new(Jobs::default());
    let base = mas_usecases::notifications::Notifier::of(&app.app);
    let notifier = Notifier { mailer: providers.clone(), sms: providers.clone(), queue: jobs.clone(), ..base };
    World {
        tenant: clinic.tenant_id.clone(),
        token: clinic.token.clone(),
        app,
        clock,
        providers,
        jobs,
        notifier,
        location_id,
        service_id: service["id"].as_str().unwrap().to_owned(),
        client_id: client["id"].as_str().unwrap().to_owned(),
        zone: zone.parse().unwrap(),
        delivered: 0,
    }
}

fn local(zone: &str, y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    let zone: Tz = zone.parse().unwrap();
    zone.from_local_datetime(&NaiveDate::from_ymd_opt(y, mo, d).unwrap().and_hms_opt(h, mi, 0).unwrap())
        .single()
        .unwrap()
        .with_timezone(&Utc)
}

impl World {
    async fn book(&self, start: DateTime<Utc>) -> String {
        let body = json!({"location_id": self.location_id, "service_id": self.service_id, "client_id": self.client_id,
            "start": start.to_rfc3339()});
        let (status, appointment) = self.app.post("/v1/appointments", &self.token, body).await;
        assert_eq!(status, StatusCode::CREATED, "{appointment}");
        appointment["id"].as_str().unwrap().to_owned()
    }

    /// Hands every new event the notify rule matches to the worker twice, as a bus may.
    async fn deliver_events(&mut self) {
        let events = self.app.events.published();
        for event in &events[self.delivered..] {
            if mas_usecases::routing::route(&event.kind).is_some() {
                for _ in 0..2 {
                    plan::handle(&self.notifier, &Work::event_body(event)).await.unwrap();
                }
            }
        }
        self.delivered = events.len();
    }

    /// The reminders still planned, soonest first.
    async fn planned(&self, appointment: &str) -> Vec<plan::DueItem> {
        let query = Query::partition(mas_store::keys::reminder_plan(&self.tenant, appointment));
        let items = self.app.app.store.table.query_all(&query).await.unwrap();
        let mut due: Vec<plan::DueItem> = items.into_iter().map(|i| mas_store::from_item(i).unwrap()).collect();
        due.sort_by_key(|d| d.due_at);
        due
    }

    /// Runs the schedule: the clock jumps to the next five-minute tick at or after the next due
    /// reminder, the sweep runs, and each job is handled twice; until nothing is left.
    async fn run_schedule(&mut self, appointment: &str) {
        for _ in 0..50 {
            let Some(next) = self.planned(appointment).await.first().map(|d| d.due_at) else { return };
            let tick = next + Duration::seconds((300 - next.timestamp().rem_euclid(300)) % 300);
            if tick > self.clock.now() {
                self.clock.set(tick);
            }
            self.sweep_and_handle_twice().await;
        }
        panic!("the plan never drained");
    }

    async fn sweep_and_handle_twice(&mut self) {
        plan::sweep(&self.notifier).await.unwrap();
        let jobs: Vec<Value> = std::mem::take(&mut *self.jobs.0.lock().unwrap());
        for job in jobs {
            for _ in 0..2 {
                plan::handle(&self.notifier, &job).await.unwrap();
            }
        }
    }

    /// The log as `(kind, channel, status, local time)`, oldest first.
    async fn log(&self) -> Vec<(String, String, String, String)> {
        let client = mas_domain::ids::ClientId::parse(&self.client_id).unwrap();
        let mut records: Vec<MessageRecord> =
            notifications::messages(&self.app.app.store, &self.tenant, &client, 200).await.unwrap();
        records.sort_by_key(|r| (r.updated_at, r.kind, r.channel));
        records
            .into_iter()
            .map(|r| {
                (
                    r.kind.map(|k| k.as_str().to_owned()).unwrap_or_default(),
                    r.channel.as_str().to_owned(),
                    r.status.as_str().to_owned(),
                    r.updated_at.with_timezone(&self.zone).format("%Y-%m-%d %H:%M %:z").to_string(),
                )
            })
            .collect()
    }

    /// Every message the providers took was taken once.
    fn assert_each_sent_once(&self) {
        let counts = self.providers.sends_per_message();
        assert!(counts.values().all(|n| *n == 1), "sent more than once: {counts:?}");
    }
}

fn row(kind: &str, channel: &str, status: &str, at: &str) -> (String, String, String, String) {
    (kind.into(), channel.into(), status.into(), at.into())
}

#[tokio::test]
async fn a_london_visit_across_the_autumn_clock_change_booked_three_days_ahead_gets_every_message_once_on_the_wall_clock()
 {
    let start = local("Europe/London", 2026, 10, 26, 14, 0);
    let mut w = world("Europe/London", start - Duration::days(3)).await;
    let appointment = w.book(start).await;
    w.deliver_events().await;
    w.run_schedule(&appointment).await;
    // 72 hours before 14:00 GMT is 15:00 BST: the clocks went back in between.
    let booked = "2026-10-23 15:00 +01:00";
    assert_eq!(
        w.log().await,
        vec![
            row("confirmation", "email", "sent", booked),
            row("confirmation", "sms", "sent", booked),
            row("prep_48h", "email", "sent", "2026-10-24 14:00 +01:00"),
            row("reminder_24h", "email", "sent", "2026-10-25 14:00 +00:00"),
            row("reminder_24h", "sms", "sent", "2026-10-25 14:00 +00:00"),
            row("check_in_2h", "sms", "sent", "2026-10-26 12:00 +00:00"),
            row("aftercare", "email", "sent", "2026-10-27 15:00 +00:00"),
            row("follow_up", "email", "sent", "2026-11-02 15:00 +00:00"),
            // No marketing consent: the rebooking offer is recorded, not sent.
            row("rebook", "email", "skipped", "2026-11-25 15:00 +00:00"),
        ]
    );
    w.assert_each_sent_once();
    assert_eq!(w.providers.sent.lock().unwrap().len(), 8);
}

#[tokio::test]
async fn a_new_york_visit_after_the_spring_clock_change_booked_thirty_hours_ahead_skips_the_preparation_guide() {
    let start = local("America/New_York", 2026, 3, 9, 10, 30);
    let mut w = world("America/New_York", start - Duration::hours(30)).await;
    let appointment = w.book(start).await;
    w.deliver_events().await;
    w.run_schedule(&appointment).await;
    let kinds: Vec<(String, String, String)> =
        w.log().await.into_iter().filter(|r| r.2 == "sent").map(|r| (r.0, r.1, r.3)).collect();
    assert_eq!(
        kinds,
        vec![
            ("confirmation".into(), "email".into(), "2026-03-08 04:30 -04:00".into()),
            ("confirmation".into(), "sms".into(), "2026-03-08 04:30 -04:00".into()),
            ("reminder_24h".into(), "email".into(), "2026-03-08 10:30 -04:00".into()),
            ("reminder_24h".into(), "sms".into(), "2026-03-08 10:30 -04:00".into()),
            ("check_in_2h".into(), "sms".into(), "2026-03-09 08:30 -04:00".into()),
            ("aftercare".into(), "email".into(), "2026-03-10 11:30 -04:00".into()),
            ("follow_up".into(), "email".into(), "2026-03-16 11:30 -04:00".into()),
        ]
    );
    w.assert_each_sent_once();
}

#[tokio::test]
async fn a_lord_howe_visit_booked_ninety_minutes_ahead_gets_its_confirmation_and_only_after_visit_messages() {
    // Lord Howe moved to +11:00 (a half-hour change) on 4 October 2026.
    let start = local("Australia/Lord_Howe", 2026, 10, 5, 10, 0);
    let mut w = world("Australia/Lord_Howe", start - Duration::minutes(90)).await;
    let appointment = w.book(start).await;
    w.deliver_events().await;
    w.run_schedule(&appointment).await;
    let sent: Vec<(String, String, String)> =
        w.log().await.into_iter().filter(|r| r.2 == "sent").map(|r| (r.0, r.1, r.3)).collect();
    assert_eq!(
        sent,
        vec![
            ("confirmation".into(), "email".into(), "2026-10-05 08:30 +11:00".into()),
            ("confirmation".into(), "sms".into(), "2026-10-05 08:30 +11:00".into()),
            ("aftercare".into(), "email".into(), "2026-10-06 11:00 +11:00".into()),
            ("follow_up".into(), "email".into(), "2026-10-12 11:00 +11:00".into()),
        ]
    );
    w.assert_each_sent_once();
}

#[tokio::test]
async fn a_rescheduled_visit_is_reminded_for_its_new_time_only_and_a_cancelled_one_gets_only_its_notice() {
    let start = local("Europe/London", 2026, 6, 10, 15, 0);
    let mut w = world("Europe/London", start - Duration::days(4)).await;
    let moved = w.book(start).await;
    w.deliver_events().await;
    // The day after booking, it moves two days later, to 11:00.
    w.clock.advance(Duration::days(1));
    let new_start = local("Europe/London", 2026, 6, 12, 11, 0);
    let (status, body) = w
        .app
        .patch(
            &format!("/v1/appointments/{moved}"),
            &w.token,
            json!({"action": "reschedule", "start": new_start.to_rfc3339()}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    w.deliver_events().await;
    let kept: Vec<(String, String)> = w
        .planned(&moved)
        .await
        .iter()
        .map(|d| (d.kind.as_str().to_owned(), d.due_at.with_timezone(&w.zone).format("%m-%d %H:%M").to_string()))
        .collect();
    assert_eq!(
        kept,
        [
            ("prep_48h", "06-10 11:00"),
            ("reminder_24h", "06-11 11:00"),
            ("check_in_2h", "06-12 09:00"),
            ("aftercare", "06-13 12:00"),
            ("follow_up", "06-19 12:00"),
            ("rebook", "07-12 12:00")
        ]
        .map(|(k, t)| (k.to_owned(), t.to_owned()))
    );
    w.run_schedule(&moved).await;
    let log = w.log().await;
    assert!(log.contains(&row("reschedule_notice", "email", "sent", "2026-06-07 15:00 +01:00")), "{log:#?}");
    assert_eq!(
        log.iter().filter(|r| r.0 == "reminder_24h").count(),
        2,
        "email and sms, for the new time only: {log:#?}"
    );
    assert!(log.contains(&row("reminder_24h", "sms", "sent", "2026-06-11 11:00 +01:00")));
    w.assert_each_sent_once();

    // A second booking, cancelled before any reminder: its plan is dropped.
    let later = local("Europe/London", 2026, 7, 20, 10, 0);
    let cancelled = w.book(later).await;
    w.deliver_events().await;
    assert_eq!(w.planned(&cancelled).await.len(), 6);
    let (status, body) =
        w.app.patch(&format!("/v1/appointments/{cancelled}"), &w.token, json!({"action": "cancel"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    w.deliver_events().await;
    assert!(w.planned(&cancelled).await.is_empty());
    let notices: Vec<String> =
        w.log().await.into_iter().filter(|r| r.0 == "cancellation_notice").map(|r| r.1).collect();
    assert_eq!(notices, ["email", "sms"]);
    w.assert_each_sent_once();
}

#[tokio::test]
async fn a_sender_that_crashed_holding_a_reminder_leaves_it_to_the_retry_which_sends_it_once() {
    let start = local("Europe/London", 2026, 6, 10, 15, 0);
    let mut w = world("Europe/London", start - Duration::days(3)).await;
    let appointment = w.book(start).await;
    w.deliver_events().await;
    let prep = w.planned(&appointment).await.into_iter().find(|d| d.kind.as_str() == "prep_48h").unwrap();
    w.clock.set(prep.due_at);
    // A sender claimed the email and died before sending: its record says `sending`, leased.
    let subject = format!("{appointment}@{}", start.timestamp());
    let kind = mas_domain::notifications::MessageKind::Prep48h;
    let channel = mas_domain::notifications::Channel::Email;
    let id = notifications::message_id(&w.tenant, &subject, kind, channel);
    let claim = json!({"id": id, "client_id": w.client_id, "kind": "prep_48h", "channel": "email", "direction": "outbound",
        "subject": subject, "to": "ada@clients.test", "status": "sending", "reason": null, "summary": "prep",
        "provider_id": null, "created_at": prep.due_at, "updated_at": prep.due_at, "lease_until": prep.due_at.timestamp() + 60});
    let item = mas_store::to_item(&mas_store::keys::message(&w.tenant, &id), "message", &claim).unwrap();
    w.app.app.store.table.transact(vec![mas_ports::Write::put(item)]).await.unwrap();
    // While the lease holds, the retry neither sends nor gives the reminder up.
    plan::sweep(&w.notifier).await.unwrap();
    let jobs: Vec<Value> = std::mem::take(&mut *w.jobs.0.lock().unwrap());
    assert_eq!(jobs.len(), 1);
    assert!(plan::handle(&w.notifier, &jobs[0]).await.is_err(), "in flight elsewhere: the queue must retry");
    assert!(w.planned(&appointment).await.iter().any(|d| d.kind == kind.into()), "still planned");
    // After the lease (SQS makes it visible again later than that), it goes, once.
    w.clock.advance(Duration::minutes(3));
    w.sweep_and_handle_twice().await;
    let prep_sends: Vec<String> =
        w.providers.sent.lock().unwrap().iter().filter(|(m, _)| *m == id.to_string()).map(|(m, _)| m.clone()).collect();
    assert_eq!(prep_sends.len(), 1);
    assert!(!w.planned(&appointment).await.iter().any(|d| d.kind == kind.into()));
    w.assert_each_sent_once();
}

#[tokio::test]
async fn quiet_hours_from_the_clinics_settings_move_a_check_in_and_an_undeliverable_number_is_recorded_not_retried() {
    let start = local("Europe/London", 2026, 6, 10, 9, 30);
    let mut w = world("Europe/London", start - Duration::days(3)).await;
    let mut settings = serde_json::to_value(mas_domain::notifications::NotificationSettings::default()).unwrap();
    settings["quiet_hours"] = json!({"start": "20:00:00", "end": "09:00:00"});
    let (status, body) = w.app.put("/v1/notification-settings", &w.token, settings).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    w.providers.refuse.lock().unwrap().push("+447700900123".into());
    let appointment = w.book(start).await;
    w.deliver_events().await;
    w.run_schedule(&appointment).await;
    let log = w.log().await;
    // 07:30 is quiet until 09:00, still half an hour before the visit.
    assert!(log.contains(&row("check_in_2h", "sms", "undeliverable", "2026-06-10 09:00 +01:00")), "{log:#?}");
    let (status, messages) = w.app.get(&format!("/v1/notifications?client_id={}", w.client_id), &w.token).await;
    assert_eq!(status, StatusCode::OK);
    let refused = messages.as_array().unwrap().iter().find(|m| m["kind"] == "check_in_2h").unwrap();
    assert!(refused["reason"].as_str().unwrap().contains("does not exist"), "{refused}");
    let statuses: Vec<&str> = messages
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["channel"] == "sms")
        .map(|m| m["status"].as_str().unwrap())
        .collect();
    assert!(statuses.iter().all(|s| *s == "undeliverable"), "{statuses:?}");
    w.assert_each_sent_once();
}

#[tokio::test]
async fn a_sweep_that_runs_hours_late_records_the_stale_reminder_as_skipped_instead_of_sending_it() {
    let start = local("Europe/London", 2026, 6, 10, 11, 0);
    let mut w = world("Europe/London", start - Duration::days(3)).await;
    let appointment = w.book(start).await;
    w.deliver_events().await;
    let prep = w.planned(&appointment).await.into_iter().find(|d| d.kind.as_str() == "prep_48h").unwrap();
    assert_eq!(prep.useful_until, prep.due_at + Duration::hours(3));
    // The schedule was down: the next sweep runs 3 hours and a minute after the guide was due.
    w.clock.set(prep.due_at + Duration::hours(3) + Duration::minutes(1));
    w.sweep_and_handle_twice().await;
    let log = w.log().await;
    assert!(log.contains(&row("prep_48h", "email", "skipped", "2026-06-08 14:01 +01:00")), "{log:#?}");
    assert!(!w.planned(&appointment).await.iter().any(|d| d.kind.as_str() == "prep_48h"), "dropped from the plan");
    let sent = w.providers.sent.lock().unwrap().len();
    assert_eq!(sent, 2, "only the confirmation (email and text) went");
    let client = mas_domain::ids::ClientId::parse(&w.client_id).unwrap();
    let records = notifications::messages(&w.app.app.store, &w.tenant, &client, 50).await.unwrap();
    let skipped = records.iter().find(|r| r.kind.map(|k| k.as_str()) == Some("prep_48h")).unwrap();
    assert!(skipped.reason.as_deref().unwrap().starts_with("too late"), "{skipped:?}");
}
