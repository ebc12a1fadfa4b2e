//! Appointments (holds, claims, moves, cancellations), deposits and payments, fees above the
//! deposit, payment links, Stripe's events, the till's sales and gift cards.
//! (A capability of the use cases; `mas-usecases` re-exports every module.)

pub mod appointments;
pub mod cash_up;
pub mod claims;
pub mod commissions;
pub mod connect;
pub mod desk;
pub mod fees;
pub mod gift_cards;
pub mod loyalty;
pub mod memberships;
pub mod packages;
pub mod paylinks;
pub mod payments;
pub mod records;
pub mod reviews;
pub mod sales;
pub mod search;
pub mod stock;
pub mod stripe_events;
pub mod waitlist;
