//! The domain: pure types and rules, no I/O and no AWS types.

pub mod error;
pub mod html;
pub mod ids;
pub mod links;

pub mod appointment;
pub mod auth;
pub mod availability;
pub mod business;
pub mod cash_up;
pub mod catalog;
pub mod clients;
pub mod connect;
pub mod csv;
pub mod documents;
pub mod esign;
pub mod gdpr;
pub mod limits;
pub mod logo;
pub mod medical;
pub mod notifications;
pub mod payment;
pub mod policy;
pub mod portal;
pub mod reach;
pub mod receipt;
pub mod sale;
pub mod schedule;
pub mod screening;
pub mod team;
pub mod tenant;
pub mod terminal;
pub mod twilio;
pub mod values;
pub mod webhook;
