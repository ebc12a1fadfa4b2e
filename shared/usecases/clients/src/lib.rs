//! Clients, who of the team may reach them (care teams), and their medical records.
//! (A capability of the use cases; `mas-usecases` re-exports every module.)

pub mod care_links;
pub mod care_team;
pub mod clients;
pub mod medical;
pub mod search_index;
