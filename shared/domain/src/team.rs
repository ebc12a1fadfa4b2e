//! Team members, their roles, and the permission matrix every staff request is checked against.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::values::{Email, Name};
use crate::ids::{LocationId, MemberId, PractitionerId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Owner,
    Manager,
    Practitioner,
    FrontDesk,
    Finance,
    /// Read-only: sees what it needs to help, changes nothing, never sees clinical notes.
    Support,
    /// Teaches the clinic's academy courses: sees the courses and their own cohorts' rosters,
    /// nothing clinical, no bookings, no money.
    Educator,
}

/// What a request may do. Routes name the permission they need; roles grant sets of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    CatalogRead,
    CatalogWrite,
    BrandWrite,
    TeamRead,
    TeamWrite,
    BookingRead,
    /// Book, move and cancel any appointment.
    BookingWrite,
    /// Book, move and cancel only one's own appointments (practitioners).
    BookingWriteOwn,
    ClinicalRead,
    ClinicalWrite,
    PaymentsRead,
    /// Take payments and issue refunds.
    PaymentsWrite,
    TemplatesWrite,
    /// Read clients' documents (consent forms hold health declarations).
    DocumentsRead,
    /// Generate documents, open e-sign sessions, void unsigned documents.
    DocumentsWrite,
    AnalyticsFull,
    /// Counts without money (practitioners, front desk, support).
    AnalyticsLimited,
    AuditRead,
    /// Export everything the clinic holds about a client (their data subject access request):
    /// health data included, so owners and managers, and every export is audited.
    ClientExport,
    /// Erase a client for good (crypto-shredding): owners only.
    ClientErase,
    /// Run the one-off care-team backfill of the clinic (`POST /v1/care-team/backfill`): owners only.
    CareTeamBackfill,
    /// Ring up a sale at the desk till (owners, managers, front desk, finance).
    SalesWrite,
    /// Give a discount on a sale or a line of it: owners and managers.
    DiscountGive,
    /// Void a sale the day it was made: owners and managers.
    SalesVoid,
    /// Reopen a location's till after its day was closed (cashed up): owners only.
    TillReopen,
    /// Connect the clinic's own Stripe account (where its online payments go) and see where it
    /// stands: owners only.
    PaymentsConnect,
    /// List gift cards, look one up by its code, read its history: the till's roles.
    GiftCardsRead,
    /// Void a gift card: owners and managers.
    GiftCardsVoid,
    /// See a client's packages of sessions and their history: the till's roles and practitioners
    /// (who see what a visit is covered by).
    PackagesRead,
    /// Void a client's package: owners and managers.
    PackagesVoid,
    /// See stock levels, movements and the reorder list: the till's roles and practitioners
    /// (who use the products).
    StockRead,
    /// Record a delivery from a supplier: owners, managers and the front desk.
    StockReceive,
    /// Adjust a level with a reason (a count, damaged, expired, other): owners and managers.
    StockAdjust,
    /// See the loyalty programme and a client's points and ledger: the till's roles and
    /// practitioners.
    LoyaltyRead,
    /// Set the loyalty programme and adjust a client's points: owners and managers.
    LoyaltyManage,
    /// Start a client's membership (its sign-up page), pause, resume and cancel it: owners,
    /// managers and the front desk (who sign clients up at the desk).
    MembershipsWrite,
    /// Read clients' reviews and publish, reject or answer them: owners and managers (what the
    /// clinic's site says in public).
    ReviewsModerate,
    /// Read the academy's courses and cohorts, and the rosters of the cohorts one may see
    /// (educators: only the cohorts they teach).
    AcademyRead,
    /// Write courses, publish versions, run cohorts, cancel enrolments: owners and managers.
    AcademyManage,
    /// Enrol a student at the desk: owners, managers and the front desk.
    AcademyEnrol,
    /// Record practical logbook entries (sign-off) for the students of a cohort: owners,
    /// managers, and educators for the cohorts they teach.
    AcademySignOff,
    /// Register partner webhook endpoints, replay their deliveries, and make and revoke API
    /// keys: owners and managers (a key reads clinic data from outside).
    IntegrationsManage,
    /// Rebuild the clinic's KPI projections from its event log: owners only.
    InsightRebuild,
}

impl Permission {
    pub const ALL: [Permission; 43] = {
        use Permission::*;
        [
            CatalogRead,
            CatalogWrite,
            BrandWrite,
            TeamRead,
            TeamWrite,
            BookingRead,
            BookingWrite,
            BookingWriteOwn,
            ClinicalRead,
            ClinicalWrite,
            PaymentsRead,
            PaymentsWrite,
            TemplatesWrite,
            DocumentsRead,
            DocumentsWrite,
            AnalyticsFull,
            AnalyticsLimited,
            AuditRead,
            ClientExport,
            ClientErase,
            CareTeamBackfill,
            SalesWrite,
            DiscountGive,
            SalesVoid,
            TillReopen,
            PaymentsConnect,
            GiftCardsRead,
            GiftCardsVoid,
            PackagesRead,
            PackagesVoid,
            StockRead,
            StockReceive,
            StockAdjust,
            LoyaltyRead,
            LoyaltyManage,
            MembershipsWrite,
            ReviewsModerate,
            AcademyRead,
            AcademyManage,
            AcademyEnrol,
            AcademySignOff,
            IntegrationsManage,
            InsightRebuild,
        ]
    };
}

impl Role {
    pub const ALL: [Role; 7] =
        [Role::Owner, Role::Manager, Role::Practitioner, Role::FrontDesk, Role::Finance, Role::Support, Role::Educator];

    /// The permission matrix (DESIGN.md §6): services CRUD owner/manager; booking
    /// owner/manager/practitioner (own)/front desk; clinical owner/manager/practitioner;
    /// payments and refunds owner/manager/finance; templates owner/manager; analytics
    /// owner/manager/finance, limited for the others; support reads only.
    pub fn allows(self, permission: Permission) -> bool {
        use Permission::*;
        use Role::*;
        match permission {
            CatalogRead | TeamRead => true,
            // Educators teach; the clinic's bookings and clients are none of their business.
            BookingRead | AnalyticsLimited => !matches!(self, Educator),
            CatalogWrite | BrandWrite | TeamWrite | TemplatesWrite | AuditRead | ClientExport => {
                matches!(self, Owner | Manager)
            }
            ClientErase | CareTeamBackfill | TillReopen | PaymentsConnect | InsightRebuild => matches!(self, Owner),
            BookingWrite => matches!(self, Owner | Manager | FrontDesk),
            BookingWriteOwn => matches!(self, Owner | Manager | FrontDesk | Practitioner),
            ClinicalRead | ClinicalWrite => matches!(self, Owner | Manager | Practitioner),
            // Front desk prepares consent forms and sends them for signature; finance and
            // support never see them (they hold health declarations).
            DocumentsRead | DocumentsWrite => matches!(self, Owner | Manager | Practitioner | FrontDesk),
            PaymentsRead => matches!(self, Owner | Manager | Finance | FrontDesk | Support),
            PaymentsWrite | AnalyticsFull => matches!(self, Owner | Manager | Finance),
            SalesWrite | GiftCardsRead => matches!(self, Owner | Manager | FrontDesk | Finance),
            DiscountGive | SalesVoid | GiftCardsVoid | PackagesVoid | StockAdjust | ReviewsModerate | LoyaltyManage
            | IntegrationsManage => {
                matches!(self, Owner | Manager)
            }
            PackagesRead | StockRead | LoyaltyRead => {
                matches!(self, Owner | Manager | FrontDesk | Finance | Practitioner)
            }
            StockReceive | MembershipsWrite | AcademyEnrol => matches!(self, Owner | Manager | FrontDesk),
            AcademyManage => matches!(self, Owner | Manager),
            AcademyRead => matches!(self, Owner | Manager | FrontDesk | Educator),
            AcademySignOff => matches!(self, Owner | Manager | Educator),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberInput {
    pub email: Email,
    pub name: Name,
    pub role: Role,
    /// Locations this member works at; empty means all.
    #[serde(default)]
    pub location_ids: Vec<LocationId>,
    /// The practitioner profile this member is, for practitioners acting on their own bookings.
    #[serde(default)]
    pub practitioner_id: Option<PractitionerId>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Member {
    pub id: MemberId,
    #[serde(flatten)]
    pub input: MemberInput,
    pub version: u64,
    /// Bumped when all the member's sessions end (a password reset, "sign out everywhere"):
    /// tokens carry the epoch they were issued in, and older ones are refused.
    #[serde(default)]
    pub auth_epoch: u32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::Permission::*;
    use super::Role::*;
    use super::*;

    #[test]
    fn support_reads_but_never_writes_and_never_sees_clinical_data() {
        for write in [
            CatalogWrite,
            BrandWrite,
            TeamWrite,
            BookingWrite,
            BookingWriteOwn,
            ClinicalWrite,
            PaymentsWrite,
            TemplatesWrite,
        ] {
            assert!(!Support.allows(write), "{write:?}");
        }
        assert!(Support.allows(CatalogRead) && Support.allows(BookingRead));
        assert!(!Support.allows(ClinicalRead));
    }

    #[test]
    fn the_till_is_closed_by_its_roles_its_takings_read_by_payments_readers_and_reopened_by_owners() {
        let closers: Vec<Role> = Role::ALL.into_iter().filter(|r| r.allows(SalesWrite)).collect();
        assert_eq!(closers, vec![Owner, Manager, FrontDesk, Finance]);
        let readers: Vec<Role> = Role::ALL.into_iter().filter(|r| r.allows(PaymentsRead)).collect();
        assert_eq!(readers, vec![Owner, Manager, FrontDesk, Finance, Support]);
        let reopeners: Vec<Role> = Role::ALL.into_iter().filter(|r| r.allows(TillReopen)).collect();
        assert_eq!(reopeners, vec![Owner]);
    }

    #[test]
    fn only_owners_managers_and_finance_move_money() {
        let movers: Vec<Role> = Role::ALL.into_iter().filter(|r| r.allows(PaymentsWrite)).collect();
        assert_eq!(movers, vec![Owner, Manager, Finance]);
    }

    #[test]
    fn practitioners_book_only_their_own_and_see_clinical_records() {
        assert!(!Practitioner.allows(BookingWrite));
        assert!(Practitioner.allows(BookingWriteOwn));
        assert!(Practitioner.allows(ClinicalRead) && Practitioner.allows(ClinicalWrite));
        assert!(!FrontDesk.allows(ClinicalRead) && !Finance.allows(ClinicalRead));
    }

    #[test]
    fn the_catalog_and_templates_are_managed_by_owners_and_managers_only() {
        let managers: Vec<Role> = Role::ALL.into_iter().filter(|r| r.allows(CatalogWrite)).collect();
        assert_eq!(managers, vec![Owner, Manager]);
        assert_eq!(Role::ALL.into_iter().filter(|r| r.allows(TemplatesWrite)).count(), 2);
    }

    #[test]
    fn documents_are_handled_by_clinical_staff_and_the_front_desk_never_by_finance_or_support() {
        let handlers: Vec<Role> = Role::ALL.into_iter().filter(|r| r.allows(DocumentsWrite)).collect();
        assert_eq!(handlers, vec![Owner, Manager, Practitioner, FrontDesk]);
        assert!(!Finance.allows(DocumentsRead) && !Support.allows(DocumentsRead));
    }

    #[test]
    fn the_till_is_rung_by_the_desk_and_finance_but_only_owners_and_managers_discount_or_void() {
        let tills: Vec<Role> = Role::ALL.into_iter().filter(|r| r.allows(SalesWrite)).collect();
        assert_eq!(tills, vec![Owner, Manager, FrontDesk, Finance]);
        for permission in [DiscountGive, SalesVoid, GiftCardsVoid, PackagesVoid, ReviewsModerate, LoyaltyManage] {
            let granted: Vec<Role> = Role::ALL.into_iter().filter(|r| r.allows(permission)).collect();
            assert_eq!(granted, vec![Owner, Manager], "{permission:?}");
        }
    }

    #[test]
    fn gift_cards_are_looked_up_by_the_till_roles_and_never_by_practitioners_or_support() {
        let readers: Vec<Role> = Role::ALL.into_iter().filter(|r| r.allows(GiftCardsRead)).collect();
        assert_eq!(readers, vec![Owner, Manager, FrontDesk, Finance]);
    }

    #[test]
    fn packages_are_seen_by_the_till_roles_and_practitioners_and_never_by_support() {
        let readers: Vec<Role> = Role::ALL.into_iter().filter(|r| r.allows(PackagesRead)).collect();
        assert_eq!(readers, vec![Owner, Manager, Practitioner, FrontDesk, Finance]);
    }

    #[test]
    fn the_desk_receives_stock_but_only_owners_and_managers_adjust_it_and_support_never_sees_it() {
        let receivers: Vec<Role> = Role::ALL.into_iter().filter(|r| r.allows(StockReceive)).collect();
        assert_eq!(receivers, vec![Owner, Manager, FrontDesk]);
        let adjusters: Vec<Role> = Role::ALL.into_iter().filter(|r| r.allows(StockAdjust)).collect();
        assert_eq!(adjusters, vec![Owner, Manager]);
        assert!(!Support.allows(StockRead) && Practitioner.allows(StockRead));
    }

    #[test]
    fn memberships_are_started_paused_and_cancelled_by_owners_managers_and_the_desk() {
        let writers: Vec<Role> = Role::ALL.into_iter().filter(|r| r.allows(MembershipsWrite)).collect();
        assert_eq!(writers, vec![Owner, Manager, FrontDesk]);
    }

    #[test]
    fn owners_and_managers_export_a_client_and_only_owners_erase_one() {
        let exporters: Vec<Role> = Role::ALL.into_iter().filter(|r| r.allows(ClientExport)).collect();
        assert_eq!(exporters, vec![Owner, Manager]);
        let erasers: Vec<Role> = Role::ALL.into_iter().filter(|r| r.allows(ClientErase)).collect();
        assert_eq!(erasers, vec![Owner]);
    }

    #[test]
    fn educators_read_the_academy_and_nothing_clinical_nor_bookings_nor_money() {
        let managers: Vec<Role> = Role::ALL.into_iter().filter(|r| r.allows(AcademyManage)).collect();
        assert_eq!(managers, vec![Owner, Manager]);
        let readers: Vec<Role> = Role::ALL.into_iter().filter(|r| r.allows(AcademyRead)).collect();
        assert_eq!(readers, vec![Owner, Manager, FrontDesk, Educator]);
        let granted: Vec<Permission> = Permission::ALL.into_iter().filter(|p| Educator.allows(*p)).collect();
        assert_eq!(granted, vec![CatalogRead, TeamRead, AcademyRead, AcademySignOff]);
        let signers: Vec<Role> = Role::ALL.into_iter().filter(|r| r.allows(AcademySignOff)).collect();
        assert_eq!(signers, vec![Owner, Manager, Educator]);
    }

    #[test]
    fn only_owners_connect_the_clinics_stripe_account() {
        let connectors: Vec<Role> = Role::ALL.into_iter().filter(|r| r.allows(PaymentsConnect)).collect();
        assert_eq!(connectors, vec![Owner]);
    }
}
