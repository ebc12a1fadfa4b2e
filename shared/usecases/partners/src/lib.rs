//! Partner integrations: webhook endpoints with signed deliveries (fanned out from the bus,
//! retried by a sweep, replayable) and server-to-server API keys.

pub mod api_keys;
pub mod webhooks;
