//! What of the clinic a member reaches, beyond what their role allows: which clients (a
//! practitioner only their care team) and which locations (those listed on the member, or all).
//! Pure rules; the use cases gather the facts (care links, an appointment's location) and ask.
//!
//! What is out of reach is answered as if it did not exist (404): an id a member cannot reach
//! tells them nothing. Naming a location outside one's own in a request (booking there, filtering
//! the calendar by it) is a 403 instead: locations are the clinic's public catalog, so there is
//! nothing to hide, and the caller learns why.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{AppError, AppResult};
use crate::ids::{LocationId, MemberId, PractitionerId};
use crate::team::{Member, Role};

/// Why a client is in someone's care team.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CareLink {
    /// The client has (or had) an appointment with this practitioner profile: written with
    /// every booking, and kept when it is cancelled or moved to someone else.
    BookedWith { practitioner_id: PractitionerId },
    /// An owner or manager shared the client with this member (or the member created them).
    SharedWith { member_id: MemberId },
}

/// Which of the clinic's clients a member may read or change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientScope {
    /// Every client (owners, managers, front desk, finance, support: their role decides what
    /// of a client they see, as before).
    Clinic,
    /// Only the practitioner's care team: clients booked with their practitioner profile (when
    /// the member has one) or shared with the member.
    CareTeam { member_id: MemberId, practitioner_id: Option<PractitionerId> },
}

impl ClientScope {
    pub fn of(member: &Member) -> Self {
        match member.input.role {
            Role::Practitioner => ClientScope::CareTeam {
                member_id: member.id.clone(),
                practitioner_id: member.input.practitioner_id.clone(),
            },
            // An educator sees no client unless one is shared with them (none is, in this slice).
            Role::Educator => ClientScope::CareTeam { member_id: member.id.clone(), practitioner_id: None },
            Role::Owner | Role::Manager | Role::FrontDesk | Role::Finance | Role::Support => ClientScope::Clinic,
        }
    }

    /// The links that would put a client in this member's care team (the keys to look up).
    /// Empty for the whole clinic: nothing needs to be read.
    pub fn wanted_links(&self) -> Vec<CareLink> {
        match self {
            ClientScope::Clinic => Vec::new(),
            ClientScope::CareTeam { member_id, practitioner_id } => {
                let mut links = vec![CareLink::SharedWith { member_id: member_id.clone() }];
                if let Some(p) = practitioner_id {
                    links.push(CareLink::BookedWith { practitioner_id: p.clone() });
                }
                links
            }
        }
    }

    /// Whether a client with these care links is within reach.
    pub fn admits(&self, links: &[CareLink]) -> bool {
        match self {
            ClientScope::Clinic => true,
            ClientScope::CareTeam { .. } => {
                let wanted = self.wanted_links();
                links.iter().any(|link| wanted.contains(link))
            }
        }
    }

    /// Whether an appointment is within reach: its own practitioner always sees it (whatever
    /// became of the care link); anyone else sees it when they may see its client.
    pub fn admits_appointment(&self, practitioner: &PractitionerId, client_admitted: bool) -> bool {
        match self {
            ClientScope::Clinic => true,
            ClientScope::CareTeam { practitioner_id, .. } => {
                practitioner_id.as_ref() == Some(practitioner) || client_admitted
            }
        }
    }

    /// What to answer for a client out of reach: the same as for one that does not exist.
    pub fn refuse() -> AppError {
        AppError::NotFound { what: "client" }
    }
}

/// Which locations a member works at (`MemberInput::location_ids`; empty means all).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocationScope {
    All,
    Only(BTreeSet<LocationId>),
}

impl LocationScope {
    pub fn of(member: &Member) -> Self {
        if member.input.location_ids.is_empty() {
            LocationScope::All
        } else {
            LocationScope::Only(member.input.location_ids.iter().cloned().collect())
        }
    }

    pub fn admits(&self, location: &LocationId) -> bool {
        match self {
            LocationScope::All => true,
            LocationScope::Only(mine) => mine.contains(location),
        }
    }

    /// A request that names a location (a booking, a calendar filter): 403 outside one's own.
    pub fn require(&self, location: &LocationId) -> AppResult<()> {
        if self.admits(location) {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!("this account works only at its own locations, not at {location}")))
        }
    }

    /// Something found at `location` (an appointment): out of reach is not found.
    pub fn find(&self, location: &LocationId, what: &'static str) -> AppResult<()> {
        if self.admits(location) { Ok(()) } else { Err(AppError::NotFound { what }) }
    }

    /// Whether every location of `sites` is one of this member's (something at every location,
    /// a service offered everywhere, is only for a member of every location).
    pub fn covers(&self, sites: &Sites) -> bool {
        match (self, sites) {
            (LocationScope::All, _) => true,
            (LocationScope::Only(_), Sites::Everywhere) => false,
            (LocationScope::Only(mine), Sites::At(theirs)) => theirs.is_subset(mine),
        }
    }

    /// Changing something at `sites` (a room, a location's hours, a practitioner's working
    /// rules): 403 unless all of them are this member's, as for a request naming a location.
    pub fn require_all(&self, sites: &Sites, what: &str) -> AppResult<()> {
        if self.covers(sites) {
            return Ok(());
        }
        let elsewhere = match (self, sites) {
            (LocationScope::Only(mine), Sites::At(theirs)) => {
                theirs.difference(mine).map(|l| l.to_string()).collect::<Vec<_>>().join(", ")
            }
            _ => "every location".to_owned(),
        };
        Err(AppError::Forbidden(format!(
            "this account works only at its own locations; this {what} is also at {elsewhere}"
        )))
    }
}

/// Where something of the catalog is: at some locations, or at every one (a service whose
/// `location_ids` is empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sites {
    Everywhere,
    At(BTreeSet<LocationId>),
}

impl Sites {
    pub fn at<'a>(locations: impl IntoIterator<Item = &'a LocationId>) -> Sites {
        Sites::At(locations.into_iter().cloned().collect())
    }

    /// Both `self` and `other` (an entry before and after a change).
    pub fn and(self, other: Sites) -> Sites {
        match (self, other) {
            (Sites::At(mut a), Sites::At(b)) => {
                a.extend(b);
                Sites::At(a)
            }
            _ => Sites::Everywhere,
        }
    }
}

/// Both scopes of one member, built once per request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reach {
    pub clients: ClientScope,
    pub locations: LocationScope,
}

impl Reach {
    pub fn of(member: &Member) -> Self {
        Reach { clients: ClientScope::of(member), locations: LocationScope::of(member) }
    }

    /// No limit at all (owners and managers of every location; workers and the portal, which
    /// act for the clinic or for one client already resolved).
    pub fn whole_clinic() -> Self {
        Reach { clients: ClientScope::Clinic, locations: LocationScope::All }
    }
}

/// Where a clinic's care-team backfill stands (`POST /v1/care-team/backfill`): one marker item
/// per clinic, advanced month by month with a write conditional on its version, so a run cut
/// short (a Lambda's timeout) goes on from the first month not done, two runs at once cannot
/// both advance it, and once `done` nothing is read or written again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CareBackfill {
    pub status: BackfillStatus,
    /// The first month looked at (the clinic's signup month) and the last (five years after the
    /// first run: bookings made before care links existed can start no later, in practice).
    #[schema(value_type = String, format = Date)]
    pub first_month: chrono::NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub last_month: chrono::NaiveDate,
    /// The first month not yet done (after `last_month` once done).
    #[schema(value_type = String, format = Date)]
    pub next_month: chrono::NaiveDate,
    /// Care links written so far (links already there are not counted).
    pub links_written: u64,
    pub started_at: chrono::DateTime<chrono::Utc>,
    pub finished_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Who started it.
    pub started_by: String,
    pub version: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BackfillStatus {
    /// Months are left: ask again (each answer does as much as fits in one request).
    Running,
    /// Every month is done; asking again changes nothing.
    Done,
}

/// How far ahead of the first run the backfill looks: five years of months.
pub const BACKFILL_MONTHS_AHEAD: u32 = 60;

impl CareBackfill {
    /// A backfill starting now, from the clinic's first month.
    pub fn start(signed_up: chrono::DateTime<chrono::Utc>, now: chrono::DateTime<chrono::Utc>, by: &str) -> Self {
        let first_month = month_of(signed_up.date_naive());
        let last_month = month_of(now.date_naive()) + chrono::Months::new(BACKFILL_MONTHS_AHEAD);
        CareBackfill {
            status: BackfillStatus::Running,
            first_month,
            last_month,
            next_month: first_month,
            links_written: 0,
            started_at: now,
            finished_at: None,
            started_by: by.to_owned(),
            version: 1,
        }
    }

    /// The month to do next, if any is left.
    pub fn pending(&self) -> Option<chrono::NaiveDate> {
        (self.status == BackfillStatus::Running && self.next_month <= self.last_month).then_some(self.next_month)
    }

    /// The marker once `next_month` is done with `written` new links.
    pub fn advanced(&self, written: u64, now: chrono::DateTime<chrono::Utc>) -> Self {
        let next_month = self.next_month + chrono::Months::new(1);
        let done = next_month > self.last_month;
        CareBackfill {
            status: if done { BackfillStatus::Done } else { BackfillStatus::Running },
            next_month,
            links_written: self.links_written + written,
            finished_at: done.then_some(now),
            version: self.version + 1,
            ..self.clone()
        }
    }
}

fn month_of(day: chrono::NaiveDate) -> chrono::NaiveDate {
    use chrono::Datelike;
    day.with_day(1).expect("every month has a first day")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::team::MemberInput;
    use chrono::Utc;

    fn member(role: Role, practitioner: Option<&str>, locations: &[&str]) -> Member {
        Member {
            id: MemberId::parse("mem_me").unwrap(),
            input: MemberInput {
                email: crate::values::Email::parse("me@clinic.test").unwrap(),
                name: crate::values::Name::parse("Me").unwrap(),
                role,
                location_ids: locations.iter().map(|l| LocationId::parse(l).unwrap()).collect(),
                practitioner_id: practitioner.map(|p| PractitionerId::parse(p).unwrap()),
            },
            version: 1,
            auth_epoch: 0,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    fn booked(p: &str) -> CareLink {
        CareLink::BookedWith { practitioner_id: PractitionerId::parse(p).unwrap() }
    }

    fn shared(m: &str) -> CareLink {
        CareLink::SharedWith { member_id: MemberId::parse(m).unwrap() }
    }

    #[test]
    fn a_practitioner_reaches_only_clients_booked_with_her_or_shared_with_her() {
        let scope = ClientScope::of(&member(Role::Practitioner, Some("prc_me"), &[]));
        assert!(!scope.admits(&[]), "a client she has never seen");
        assert!(scope.admits(&[booked("prc_me")]));
        assert!(scope.admits(&[shared("mem_me")]));
        assert!(!scope.admits(&[booked("prc_other"), shared("mem_other")]), "someone else's client");
        assert!(scope.admits(&[booked("prc_other"), shared("mem_me")]));
    }

    #[test]
    fn a_practitioner_without_a_profile_reaches_only_what_is_shared_with_her() {
        let scope = ClientScope::of(&member(Role::Practitioner, None, &[]));
        assert_eq!(scope.wanted_links(), vec![shared("mem_me")]);
        assert!(scope.admits(&[shared("mem_me")]));
        assert!(!scope.admits(&[booked("prc_me")]));
    }

    #[test]
    fn every_other_role_keeps_the_whole_client_list_and_needs_no_lookup() {
        for role in [Role::Owner, Role::Manager, Role::FrontDesk, Role::Finance, Role::Support] {
            let scope = ClientScope::of(&member(role, Some("prc_me"), &[]));
            assert_eq!(scope, ClientScope::Clinic, "{role:?}");
            assert!(scope.wanted_links().is_empty());
            assert!(scope.admits(&[]));
        }
    }

    #[test]
    fn a_practitioner_sees_her_own_appointments_and_those_of_her_care_team() {
        let scope = ClientScope::of(&member(Role::Practitioner, Some("prc_me"), &[]));
        let me = PractitionerId::parse("prc_me").unwrap();
        let other = PractitionerId::parse("prc_other").unwrap();
        assert!(scope.admits_appointment(&me, false));
        assert!(scope.admits_appointment(&other, true));
        assert!(!scope.admits_appointment(&other, false));
        assert!(ClientScope::Clinic.admits_appointment(&other, false));
    }

    #[test]
    fn a_member_without_locations_works_everywhere() {
        let scope = LocationScope::of(&member(Role::FrontDesk, None, &[]));
        assert_eq!(scope, LocationScope::All);
        assert!(scope.require(&LocationId::parse("loc_any").unwrap()).is_ok());
    }

    #[test]
    fn a_member_restricted_to_locations_is_refused_elsewhere_and_finds_nothing_there() {
        let scope = LocationScope::of(&member(Role::FrontDesk, None, &["loc_a", "loc_b"]));
        let (a, c) = (LocationId::parse("loc_a").unwrap(), LocationId::parse("loc_c").unwrap());
        assert!(scope.admits(&a) && !scope.admits(&c));
        assert!(scope.require(&a).is_ok());
        assert!(matches!(scope.require(&c), Err(AppError::Forbidden(_))));
        assert!(matches!(scope.find(&c, "appointment"), Err(AppError::NotFound { what: "appointment" })));
    }

    #[test]
    fn a_member_changes_only_what_lies_wholly_at_her_locations() {
        let (a, b) = (LocationId::parse("loc_a").unwrap(), LocationId::parse("loc_b").unwrap());
        let scope = LocationScope::of(&member(Role::Manager, None, &["loc_a"]));
        assert!(scope.covers(&Sites::at([&a])));
        assert!(scope.covers(&Sites::at([])), "nowhere yet (a practitioner without working rules)");
        assert!(!scope.covers(&Sites::at([&a, &b])), "partly elsewhere");
        assert!(!scope.covers(&Sites::Everywhere), "a service offered at every location");
        assert!(
            matches!(scope.require_all(&Sites::at([&a, &b]), "practitioner"), Err(AppError::Forbidden(m)) if m.contains("loc_b"))
        );
        assert!(LocationScope::All.covers(&Sites::Everywhere));
        assert_eq!(Sites::at([&a]).and(Sites::at([&b])), Sites::at([&a, &b]));
        assert_eq!(Sites::at([&a]).and(Sites::Everywhere), Sites::Everywhere);
    }

    #[test]
    fn a_backfill_walks_every_month_from_signup_to_five_years_ahead_once() {
        let at = |s: &str| s.parse::<chrono::DateTime<Utc>>().unwrap();
        let mut run = CareBackfill::start(at("2025-11-20T10:00:00Z"), at("2026-01-31T23:00:00Z"), "mem_me");
        assert_eq!(run.pending(), chrono::NaiveDate::from_ymd_opt(2025, 11, 1));
        assert_eq!(run.last_month, chrono::NaiveDate::from_ymd_opt(2031, 1, 1).unwrap());
        let mut months = 0;
        while run.pending().is_some() {
            run = run.advanced(1, at("2026-02-01T00:00:00Z"));
            months += 1;
        }
        assert_eq!(months, 2 + 61, "Nov and Dec 2025, then Jan 2026 to Jan 2031");
        assert_eq!((run.status, run.links_written, run.version), (BackfillStatus::Done, months, months + 1));
        assert!(run.finished_at.is_some());
    }

    #[test]
    fn owners_restricted_to_a_location_are_restricted_too() {
        // The list on the member is the rule, whatever the role: an owner of a group who runs
        // one site is given that site.
        let reach = Reach::of(&member(Role::Owner, None, &["loc_a"]));
        assert_eq!(reach.clients, ClientScope::Clinic);
        assert!(!reach.locations.admits(&LocationId::parse("loc_b").unwrap()));
    }
}
