//! The use cases: what a request or a worker does, over the ports and the store, with every race
//! decided by a conditional write. Each capability is its own crate (see the README's
//! Architecture: the graph below is a compile error to break); this crate is where they meet —
//! routing of events to queues, the queue workers, the demo seed — and re-exports every
//! capability's modules, so handlers, functions and tests name one crate.
//!
//! ```text
//! context ─┬─ catalog ─┬─ accounts ─┬─ publishing
//!          └─ clients ─┴─ booking ──┴─ documents ─ messaging ─┬─ portal
//!                          │                                  ├─ privacy
//!               academy ───┘ (foundation only)                └─ staff-auth
//!          partners, insight (context / foundation only)
//! ```

pub use mas_academy::{
    certificates, cohorts, completion, courses, credentials, enrolments, gradebook, learning, practicals,
    public as public_academy, quizzes,
};
pub use mas_accounts::{audit, team, tenants};
pub use mas_booking::{
    appointments, cash_up, commissions, connect, desk, fees, gift_cards, loyalty, memberships, packages, paylinks,
    payments, reviews, sales, search, stock, stripe_events, waitlist,
};
pub use mas_catalog::{availability, catalog, policies, screening};
pub use mas_clients::{care_team, clients, medical};
pub use mas_context::{announcements, app, limits, local_identity, paging, tokens};
pub use mas_documents::{documents, esign, receipts, templates};
pub use mas_insight::{facts as insight_facts, kpis, projection as insight};
pub use mas_messaging::notifications;
pub use mas_partners::{api_keys, webhooks as partner_webhooks};
pub use mas_portal::portal;
pub use mas_privacy::gdpr;
pub use mas_publishing::{public_catalog, site};
pub use mas_staff_auth::auth;

pub use mas_catalog::error::CatalogError;

/// The API's public origin as certificates and credentials name it: the published pages' API
/// base (`MAS_SITE_API_BASE`, the HTTP API on AWS), else the local host's public URL.
pub fn api_base(app: &app::App) -> String {
    if !app.site_api_base.is_empty() {
        return app.site_api_base.clone();
    }
    app.public_url.clone().unwrap_or_else(|| format!("https://api.{}", app.config.site_domain))
}

pub mod demo;
pub mod routing;
pub mod workers;
