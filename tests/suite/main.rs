//! One test binary for every black-box, contract, handler and template test (one link, not many).

mod academy;
mod academy_certs;
mod academy_student;
mod analytics;
mod api;
mod architecture;
mod auth;
mod blob_queue_contract;
mod booking;
mod care_team;
mod clients;
mod commissions;
mod connect;
mod desk;
mod dns_contract;
mod documents;
mod events;
mod events_contract;
mod gdpr;
mod gift_cards;
mod handlers;
mod identity_contract;
mod key_wrapper_contract;
mod loyalty;
mod memberships;
mod messaging_contract;
mod packages;
mod parallel_visits;
mod partners;
mod payments;
mod payments_by_link;
mod payments_contract;
mod plans;
mod portal;
mod receipts;
mod reminders;
mod reviews;
mod search;
mod secrets_contract;
mod site;
mod sms_inbound;
mod stock;
mod support;
mod table_contract;
mod template;
mod tenancy;
mod till;
mod till_close;
mod trust;
mod visits;
mod waitlist;
mod workflows;

use std::path::{Path, PathBuf};

/// The repository root: where `template.yaml` and `events/` live.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate sits one level below the repository root")
        .to_path_buf()
}
