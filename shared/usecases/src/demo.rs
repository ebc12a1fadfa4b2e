//! The demo clinic the local host starts with: a brand, two locations in different time zones,
//! services with buffers and clinical tags, three practitioners with schedules and a treatment
//! room. Seeding is idempotent: a second start finds the clinic and leaves it as it is.

use serde_json::{Value, json};

use mas_catalog::catalog;

use mas_accounts::team;

use mas_accounts::tenants;
use mas_domain::catalog::{LocationInput, PractitionerInput, ResourceInput, ServiceInput};
use mas_domain::error::{AppError, AppResult};
use mas_domain::ids::{RequestId, TenantId};
use mas_domain::reach::LocationScope;
use mas_domain::stock::{ProductInput, ReceiveInput, UsageInput};
use mas_domain::team::Member;
use mas_domain::tenant::{BrandInput, SignupInput};
use mas_domain::values::Slug;
use mas_store::{AuditContext, Store};

pub const DEMO_SLUG: &str = "demo-clinic";
pub const DEMO_OWNER_EMAIL: &str = "owner@demo-clinic.test";

pub struct DemoClinic {
    pub tenant_id: TenantId,
    pub owner: Member,
    /// False when the clinic was already there.
    pub created: bool,
}

fn parse<T: serde::de::DeserializeOwned>(value: Value) -> T {
    serde_json::from_value(value).expect("the demo data is valid")
}

pub async fn seed(store: &Store, site_domain: &str) -> AppResult<DemoClinic> {
    let slug = Slug::parse(DEMO_SLUG).expect("a valid slug");
    if let Ok(tenant_id) = tenants::any_tenant_by_slug(store, &slug).await {
        let members = team::list(store, &tenant_id).await?;
        let owner = members
            .into_iter()
            .find(|m| m.input.email.as_str() == DEMO_OWNER_EMAIL)
            .ok_or_else(|| AppError::Internal("the demo clinic has lost its owner".into()))?;
        return Ok(DemoClinic { tenant_id, owner, created: false });
    }
    let signup: SignupInput = parse(json!({
        "name": "Demo Aesthetics Clinic",
        "slug": DEMO_SLUG,
        "owner": { "email": DEMO_OWNER_EMAIL, "name": "Olivia Owner" },
        "country": "GB", "currency": "GBP", "timezone": "Europe/London"
    }));
    let signed_up = tenants::sign_up(store, RequestId::new(), site_domain, signup).await?;
    let tenant_id = signed_up.tenant.id.clone();
    let audit =
        AuditContext { tenant_id: tenant_id.clone(), actor: "system".into(), role: None, request_id: RequestId::new() };
    // The demo's owner address is the platform's own: no email to confirm.
    tenants::go_live(store, &audit, site_domain, mas_store::Plan::new()).await?;

    let brand: BrandInput = parse(json!({
        "theme": "champagne_classic",
        "subdomain": "demo",
        "seo": { "title": "Demo Aesthetics Clinic — London & New York",
                 "description": "Doctor-led injectables, skin and laser treatments." }
    }));
    tenants::put_brand(store, &audit, site_domain, brand).await?;

    let weekdays = |start: &str, end: &str| -> Value {
        json!(
            ["monday", "tuesday", "wednesday", "thursday", "friday"]
                .iter()
                .map(|d| json!({"day": d, "start": start, "end": end}))
                .collect::<Vec<_>>()
        )
    };
    let mut london_hours = weekdays("09:00", "19:00");
    london_hours.as_array_mut().unwrap().push(json!({"day": "saturday", "start": "10:00", "end": "16:00"}));
    let london = catalog::create::<LocationInput>(
        store,
        &audit,
        &LocationScope::All,
        parse(json!({
            "name": "Marylebone", "timezone": "Europe/London",
            "address": {"line1": "12 Harley Street", "city": "London", "postcode": "W1G 9PF", "country": "GB"},
            "phone": "+44 20 7946 0000", "email": "london@demo-clinic.test",
            "opening_hours": london_hours,
            "closures": [{"from": "2026-12-25", "to": "2026-12-26", "reason": "Christmas"}]
        })),
    )
    .await?;
    let new_york = catalog::create::<LocationInput>(
        store,
        &audit,
        &LocationScope::All,
        parse(json!({
            "name": "Upper East Side", "timezone": "America/New_York",
            "address": {"line1": "800 Madison Avenue", "city": "New York", "postcode": "10065", "country": "US"},
            "phone": "+1 212 555 0100",
            "opening_hours": weekdays("10:00", "18:00")
        })),
    )
    .await?;

    let room = catalog::create::<ResourceInput>(
        store,
        &audit,
        &LocationScope::All,
        parse(json!({
            "name": "Treatment room 1", "kind": "room", "location_id": london.id, "capacity": 1
        })),
    )
    .await?;
    catalog::create::<ResourceInput>(
        store,
        &audit,
        &LocationScope::All,
        parse(json!({
            "name": "Laser (Candela GentleMax)", "kind": "device", "location_id": london.id, "capacity": 1
        })),
    )
    .await?;

    let services = [
        json!({"name": "Consultation", "category": "consultation", "duration_minutes": 20,
               "price": {"amount_minor": 0}, "deposit": {"kind": "none"}, "parallel_ok": true,
               "description": "Meet a practitioner to plan your treatment."}),
        json!({"name": "Anti-wrinkle, three areas", "category": "injectables", "duration_minutes": 30,
               "buffer_after_minutes": 10, "price": {"amount_minor": 32000},
               "clinical_tags": ["injectable", "toxin"],
               "description": "Forehead, frown lines and crow's feet."}),
        json!({"name": "Lip filler 1ml", "category": "injectables", "duration_minutes": 45,
               "buffer_before_minutes": 15, "buffer_after_minutes": 15, "price": {"amount_minor": 28000},
               "deposit": {"kind": "fixed", "amount_minor": 5000},
               "clinical_tags": ["injectable", "filler", "lidocaine"],
               "required_resources": [room.id], "location_ids": [london.id]}),
        json!({"name": "HydraFacial Deluxe", "category": "skin", "duration_minutes": 60,
               "buffer_after_minutes": 15, "price": {"amount_minor": 19500},
               "deposit": {"kind": "percent", "percent": 20}}),
        json!({"name": "Chemical peel", "category": "skin", "duration_minutes": 40,
               "buffer_after_minutes": 10, "price": {"amount_minor": 12000}, "clinical_tags": ["peel"],
               // While the peel works, another practitioner can hold the consultation for the next
               // treatment: the pair a visit may book alongside each other.
               "parallel_ok": true}),
    ];
    let mut service_ids = Vec::new();
    for service in services {
        service_ids.push(catalog::create::<ServiceInput>(store, &audit, &LocationScope::All, parse(service)).await?.id);
    }

    // Products: aftercare sold at the desk and what the injectables use, stocked in Marylebone
    // (the sun cream at its reorder level, so the reorder list has something on it).
    let products = [
        (
            json!({"sku": "SPF-50-50ML", "name": "Sun cream SPF 50, 50 ml", "category": "Aftercare", "kind": "retail",
                "retail_price": {"amount_minor": 2800}, "tax": {"rate_bp": 2000, "mode": "inclusive"},
                "reorder_level": 4, "reorder_quantity": 12, "supplier": "Heliocare UK"}),
            4,
        ),
        (
            json!({"sku": "HA-SERUM-30", "name": "Hyaluronic serum, 30 ml", "category": "Aftercare", "kind": "retail",
                "retail_price": {"amount_minor": 4500}, "tax": {"rate_bp": 2000, "mode": "inclusive"},
                "reorder_level": 3, "reorder_quantity": 6, "supplier": "SkinCeuticals"}),
            10,
        ),
        (
            json!({"sku": "TOX-100U", "name": "Botulinum toxin, 100-unit vial", "category": "Injectables",
                "kind": "professional_use", "retail_price": {"amount_minor": 0},
                "reorder_level": 2, "reorder_quantity": 5, "supplier": "Medical Aesthetics Supplies"}),
            4,
        ),
    ];
    for (product, units) in products {
        let created = catalog::create::<ProductInput>(store, &audit, &LocationScope::All, parse(product)).await?;
        let delivery: ReceiveInput = parse(json!({"location_id": london.id, "quantity": units}));
        mas_booking::stock::receive(store, &audit, &created.id, &delivery).await?;
    }
    // A treatment of anti-wrinkle uses one vial.
    let usage: UsageInput = parse(json!({"lines": [{"sku": "TOX-100U", "quantity": 1}]}));
    mas_booking::stock::put_usage(store, &audit, &service_ids[1], usage).await?;

    let rules = |location: &mas_domain::ids::LocationId, days: &[&str], start: &str, end: &str| -> Vec<Value> {
        days.iter().map(|d| json!({"location_id": location, "day": d, "start": start, "end": end})).collect()
    };
    let mut ada_rules = rules(&london.id, &["monday", "tuesday", "wednesday"], "09:00", "17:30");
    ada_rules.extend(rules(&london.id, &["saturday"], "10:00", "14:00"));
    // Saturday mornings both are in London: a peel with Ada and a consultation alongside it with Grace.
    let mut grace_rules = rules(&london.id, &["thursday", "friday"], "10:00", "19:00");
    grace_rules.extend(rules(&london.id, &["saturday"], "10:00", "14:00"));
    let practitioners = [
        json!({"display_name": "Dr Ada Okafor", "title": "Aesthetic Doctor", "email": "ada@demo-clinic.test",
               "bio": "GMC-registered doctor specialising in natural-looking injectables.",
               "specialties": ["consultation", "injectables", "skin"], "working_rules": ada_rules}),
        json!({"display_name": "Grace Lim", "title": "Advanced Aesthetic Nurse Practitioner",
               "specialties": ["consultation", "injectables"],
               "working_rules": grace_rules}),
        json!({"display_name": "Maya Russo", "title": "Skin Therapist",
               "specialties": ["consultation", "skin"],
               "working_rules": rules(&new_york.id, &["monday", "tuesday", "wednesday", "thursday"], "10:00", "18:00")}),
    ];
    for practitioner in practitioners {
        catalog::create::<PractitionerInput>(store, &audit, &LocationScope::All, parse(practitioner)).await?;
    }

    // The academy: one published course and a cohort six weeks out, taught by the owner.
    let course = mas_academy::courses::create(
        store,
        &audit,
        parse(json!({
            "title": "Foundations of anti-wrinkle injections", "slug": "toxin-foundations",
            "summary": "A one-day course for medical professionals new to botulinum toxin: anatomy, consultation, safe technique and complications, with a practical afternoon on models.",
            "cpd_hours": 7, "price_minor": 89500,
            "modules": [
                {"title": "Anatomy and assessment", "lessons": [
                    {"title": "Muscles of the upper face", "body": "# The glabella\n\nThe **procerus** and the *corrugators* draw the brows together.\n\n- frontalis\n- orbicularis oculi"},
                    {"title": "Consultation and consent", "body": "Assess, explain the risks, and record informed consent before any treatment."}]},
                {"title": "Technique and safety", "lessons": [
                    {"title": "Reconstitution and dosing", "body": "Dilute as the product's licence says; record batch and expiry."},
                    {"title": "Complications", "body": "Ptosis, asymmetry and how to manage them."}]}],
            "prerequisites": [{"kind": "qualification", "name": "A registered medical, dental or nursing professional"}]
        })),
    )
    .await?;
    mas_academy::courses::publish(store, &audit, &course.id).await?;
    let starts = store.clock.now().date_naive().iter_days().nth(42).expect("a date six weeks on");
    mas_academy::cohorts::create(
        store,
        &audit,
        parse(json!({"course_id": course.id, "starts_on": starts, "ends_on": starts, "seats": 8,
            "educator_id": signed_up.owner.id})),
    )
    .await?;
    Ok(DemoClinic { tenant_id, owner: signed_up.owner, created: true })
}

/// Gives the demo clinic's bookings made before care teams existed their care links, so a
/// practitioner signing in to an older local database finds her clients in her list: the same
/// recorded run as `POST /v1/care-team/backfill`, so only the first start after the upgrade
/// does any work. Returns how many links the run has written in all.
pub async fn link_care_teams(store: &Store, demo: &DemoClinic) -> AppResult<u64> {
    let audit = AuditContext {
        tenant_id: demo.tenant_id.clone(),
        actor: "system".into(),
        role: None,
        request_id: RequestId::new(),
    };
    let signed_up = tenants::tenant(store, &demo.tenant_id).await?.created_at;
    let whole = mas_clients::care_team::Budget { time: std::time::Duration::MAX, max_months: usize::MAX };
    Ok(mas_clients::care_team::run_backfill(store, &audit, signed_up, whole).await?.links_written)
}

/// The password of every demo account: public, like the demo clinic itself.
pub const DEMO_PASSWORD: &str = "demo-password";

/// The demo clinic's staff sign-ins, one per role a newcomer wants to try: (email, name, role).
pub const DEMO_ACCOUNTS: [(&str, &str, mas_domain::team::Role); 4] = [
    (DEMO_OWNER_EMAIL, "Olivia Owner", mas_domain::team::Role::Owner),
    ("desk@demo-clinic.test", "Dan Desk", mas_domain::team::Role::FrontDesk),
    ("ada@demo-clinic.test", "Dr Ada Okafor", mas_domain::team::Role::Practitioner),
    ("finance@demo-clinic.test", "Fay Finance", mas_domain::team::Role::Finance),
];

/// Gives the demo clinic its staff accounts, each with `DEMO_PASSWORD` (the practitioner linked
/// to Dr Ada Okafor's calendar). Idempotent: a member already there keeps their password.
pub async fn seed_accounts(app: &mas_context::app::App, demo: &DemoClinic) -> AppResult<()> {
    use mas_domain::auth::Password;
    use mas_domain::team::{MemberInput, Role};
    let store = &app.store;
    let audit = AuditContext {
        tenant_id: demo.tenant_id.clone(),
        actor: "system".into(),
        role: None,
        request_id: RequestId::new(),
    };
    let members = team::list(store, &demo.tenant_id).await?;
    let practitioners = catalog::list::<PractitionerInput>(store, &demo.tenant_id, false).await?;
    let password = Password::parse(DEMO_PASSWORD).expect("the demo password is long enough");
    for (email, name, role) in DEMO_ACCOUNTS {
        let member = match members.iter().find(|m| m.input.email.as_str() == email) {
            Some(member) => member.clone(),
            None => {
                let practitioner_id = (role == Role::Practitioner)
                    .then(|| {
                        practitioners
                            .iter()
                            .find(|p| p.data.email.as_ref().is_some_and(|e| e.as_str() == email))
                            .map(|p| p.id.clone())
                    })
                    .flatten();
                let input: MemberInput =
                    parse(json!({ "email": email, "name": name, "role": role, "practitioner_id": practitioner_id }));
                team::create(store, &audit, Role::Owner, input).await?
            }
        };
        if store.table.get(&mas_store::keys::credential(&demo.tenant_id, &member.id)).await?.is_none() {
            mas_staff_auth::auth::set_password(app, &demo.tenant_id, &member, &password).await?;
        }
    }
    Ok(())
}
