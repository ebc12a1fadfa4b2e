//! Certificates: issued once per completed enrolment by the render worker, which reacts to
//! `academy.enrolment_completed` (template.yaml's `CertificateRule` routes it to the render
//! queue). Each is a PDF through the renderer (stamped in its footer with the SHA-256 of what it
//! certifies, stored write-once) and an Open Badges 3.0 credential signed with the clinic's key
//! (`credentials`), with a bit in the clinic's status list; owners and managers revoke it.
//!
//! **Once.** The enrolment's `CERTOF#{enr}` marker is put with "not exists" in the transaction
//! that stores the certificate, takes the next status index (a versioned put of the status
//! list) and announces `academy.certificate_issued`: a second delivery of the event finds the
//! marker (or loses to it) and answers the certificate already issued.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use mas_domain::academy::Enrolment;
use mas_domain::certificate::{Certificate, CertificateNumber, STATUS_LIST_BITS, StatusBits};
use mas_domain::documents::Sha256Hex;
use mas_domain::error::{AppError, AppResult};
use mas_domain::ids::{CohortId, EnrolmentId, RequestId, TenantId};
use mas_domain::team::Member;
use mas_domain::values::Color;
use mas_ports::events::DomainEvent;
use mas_ports::renderer::{RenderBlock, RenderColors, RenderJob};
use mas_ports::{BlobKey, Blobs, Condition, Query, Renderer, Retention, SortKey, Write};
use mas_store::crypto::Keyring;
use mas_store::{AuditContext, Once, Plan, Store, from_item, keys, retry, to_item};

use ring::signature::Ed25519KeyPair;

pub use crate::CERTIFICATE_ISSUED;
use crate::ENROLMENT_COMPLETED;
use crate::credentials::{self, PublicUrls};

/// The events the render worker turns into certificates (template.yaml's `CertificateRule`).
pub const ISSUED_ON: [&str; 1] = [ENROLMENT_COMPLETED];

pub const FOOTER_NOTE: &str = "Certificate stamp (SHA-256). Check the certificate at its verification page.";

/// The clinic's status list as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredStatusList {
    /// The bits, base64.
    bits: String,
    next_index: u32,
    version: u64,
    /// The list as a signed credential, signed again by each change (so serving it needs no key).
    #[serde(default)]
    jwt: String,
}

impl StoredStatusList {
    fn bits(&self) -> AppResult<StatusBits> {
        use base64::Engine;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&self.bits)
            .map_err(|_| AppError::Internal("a status list is not base64".into()))?;
        StatusBits::from_bytes(bytes).map_err(|e| AppError::Internal(e.0))
    }

    /// The next list: `bits`, `next_index`, signed by `pair` at `now`.
    fn next(
        &self,
        bits: &StatusBits,
        next_index: u32,
        signer: (&Ed25519KeyPair, &PublicUrls),
        now: DateTime<Utc>,
    ) -> AppResult<StoredStatusList> {
        use base64::Engine;
        Ok(StoredStatusList {
            bits: base64::engine::general_purpose::STANDARD.encode(bits.as_bytes()),
            next_index,
            version: self.version + 1,
            jwt: credentials::status_list_jwt(signer.0, signer.1, bits, now)?,
        })
    }
}

async fn status_list(store: &Store, t: &TenantId) -> AppResult<Option<StoredStatusList>> {
    store.get(&keys::status_list(t)).await
}

/// The write of the next status list: "not exists" for the first, else on its version.
fn status_write(t: &TenantId, before: Option<&StoredStatusList>, next: &StoredStatusList) -> AppResult<Write> {
    let item = to_item(&keys::status_list(t), "status_list", next)?;
    Ok(match before {
        None => Write::put_new(item),
        Some(b) => Write::put_if(item, Condition::equals("version", b.version)),
    })
}

/// What issuing needs beyond the store: where the PDF goes, the renderer, the clinic's keys and
/// the API's public origin (the credential's URLs).
pub struct Issuing<'a> {
    pub store: &'a Store,
    pub blobs: &'a dyn Blobs,
    pub renderer: Arc<dyn Renderer>,
    pub keyring: &'a Keyring,
    pub api_base: &'a str,
}

/// What the render worker does with `academy.enrolment_completed`. Safe to run twice.
pub async fn on_event(issuing: &Issuing<'_>, event: &DomainEvent) -> AppResult<Certificate> {
    let field = |name: &str| event.payload.get(name).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
    let bad = |e: mas_domain::values::ParseError| AppError::Internal(format!("{}: {}", event.kind, e.0));
    let cohort = CohortId::parse(&field("cohort_id")).map_err(bad)?;
    let enrolment = EnrolmentId::parse(&field("enrolment_id")).map_err(bad)?;
    issue(issuing, &event.tenant_id, &cohort, &enrolment).await
}

fn system(t: &TenantId) -> AuditContext {
    AuditContext { tenant_id: t.clone(), actor: "system".into(), role: None, request_id: RequestId::new() }
}

pub async fn get(store: &Store, t: &TenantId, number: &CertificateNumber) -> AppResult<Certificate> {
    store.get(&keys::certificate(t, number)).await?.ok_or(AppError::NotFound { what: "certificate" })
}

/// The certificate of an enrolment, if it was given one.
pub async fn of_enrolment(
    store: &Store,
    t: &TenantId,
    cohort: &CohortId,
    enrolment: &EnrolmentId,
) -> AppResult<Option<Certificate>> {
    let marker: Option<serde_json::Value> = store.get(&keys::enrolment_certificate(t, cohort, enrolment)).await?;
    let Some(number) = marker.as_ref().and_then(|m| m.get("number")).and_then(|n| n.as_str()) else {
        return Ok(None);
    };
    let number = CertificateNumber::parse(number).map_err(|e| AppError::Internal(e.0))?;
    Ok(Some(get(store, t, &number).await?))
}

/// The clinic's certificates, newest first.
pub async fn list(store: &Store, t: &TenantId) -> AppResult<Vec<Certificate>> {
    let query = Query::partition(keys::academy_pk(t)).sk(SortKey::BeginsWith(keys::CERTIFICATE_PREFIX.into()));
    let mut all: Vec<Certificate> =
        store.table.query_all(&query).await?.into_iter().map(from_item).collect::<AppResult<_>>()?;
    all.sort_by(|a, b| (b.issued_at, &b.number).cmp(&(a.issued_at, &a.number)));
    Ok(all)
}

/// The stamp printed on the PDF: SHA-256 of what it certifies, one fact a line.
fn stamp(t: &TenantId, c: &Certificate) -> Sha256Hex {
    let canonical = format!(
        "mas-certificate-v1\n{t}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}",
        c.number,
        c.student_name,
        c.course_title,
        c.course_version,
        c.cpd_hours,
        c.completed_on,
        c.educator_name,
        c.clinic_name
    );
    Sha256Hex::of(canonical.as_bytes())
}

fn job(c: &Certificate, stamp: &Sha256Hex, verify_url: &str) -> RenderJob {
    let block = |title: &str, body: String| RenderBlock { title: title.into(), body };
    RenderJob {
        clinic_name: c.clinic_name.clone(),
        colors: RenderColors {
            primary: Color::rgb(0x33, 0x33, 0x33),
            on_primary: Color::rgb(255, 255, 255),
            text: Color::rgb(0x1f, 0x1d, 0x1a),
            muted_text: Color::rgb(0x55, 0x50, 0x4a),
        },
        title: "Certificate of completion".into(),
        subtitle: vec![
            format!("Certificate {}", c.number),
            format!("Completed {}", c.completed_on.format("%-d %B %Y")),
        ],
        blocks: vec![
            block("Awarded to", c.student_name.clone()),
            block("Course", format!("{} (version {})", c.course_title, c.course_version)),
            block("CPD hours", c.cpd_hours.to_string()),
            block("Educator", c.educator_name.clone()),
            block("Issued by", c.clinic_name.clone()),
            block(
                "Verify",
                format!(
                    "Certificate number {}. Its verification page says whether it stands or was revoked, \
                     and the SHA-256 of this PDF: {verify_url}",
                    c.number
                ),
            ),
        ],
        stamp: stamp.to_string(),
        footer_note: FOOTER_NOTE.into(),
        signature: None,
        logo: None,
    }
}

async fn render(renderer: Arc<dyn Renderer>, job: RenderJob) -> AppResult<Vec<u8>> {
    tokio::task::spawn_blocking(move || renderer.render(&job))
        .await
        .map_err(|e| AppError::Internal(format!("render task failed: {e}")))?
        .map_err(|e| AppError::Internal(format!("render failed: {e}")))
}

fn random_number(year: i32) -> AppResult<CertificateNumber> {
    let mut bytes = [0u8; 8];
    mas_ports::crypto::fill_random(&mut bytes).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(CertificateNumber::from_random(year, bytes))
}

/// A certificate's own salt for its identity hash (16 random bytes, hex).
fn random_salt() -> AppResult<String> {
    let mut bytes = [0u8; 16];
    mas_ports::crypto::fill_random(&mut bytes).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(hex::encode(bytes))
}

/// Issues the certificate of a completed enrolment, once.
pub async fn issue(
    issuing: &Issuing<'_>,
    t: &TenantId,
    cohort_id: &CohortId,
    enrolment_id: &EnrolmentId,
) -> AppResult<Certificate> {
    let store = issuing.store;
    if let Some(done) = of_enrolment(store, t, cohort_id, enrolment_id).await? {
        return Ok(done);
    }
    let e: Enrolment = crate::enrolments::get(store, t, cohort_id, enrolment_id).await?;
    let completed_at =
        e.completed_at.ok_or_else(|| AppError::Internal(format!("enrolment {enrolment_id} is not completed")))?;
    let tenant = crate::tenant(store, t).await?;
    let cohort = crate::cohorts::get(store, t, cohort_id).await?;
    let version = crate::courses::version(store, t, &e.course_id, e.course_version)
        .await?
        .ok_or(AppError::Internal("an enrolment's course version is missing".into()))?;
    let educator: Option<Member> = store.get(&keys::member(t, cohort.educator_id.as_str())).await?;
    let urls = PublicUrls::new(issuing.api_base, &tenant);
    let now = store.clock.now();
    let number = random_number(now.format("%Y").to_string().parse().unwrap_or(2026))?;
    let mut certificate = Certificate {
        number: number.clone(),
        enrolment_id: e.id.clone(),
        cohort_id: cohort_id.clone(),
        course_id: e.course_id.clone(),
        course_version: e.course_version,
        student_name: e.student.name.to_string(),
        course_title: version.content.title.to_string(),
        cpd_hours: version.content.cpd_hours,
        completed_on: completed_at.with_timezone(&tenant.timezone.tz()).date_naive(),
        educator_name: educator.map_or_else(|| "(former educator)".into(), |m| m.input.name.to_string()),
        clinic_name: tenant.name.to_string(),
        issued_at: now,
        file_sha256: Sha256Hex::placeholder(),
        status_index: 0,
        revoked_at: None,
        blob_key: String::new(),
        credential_jwt: String::new(),
        version: 1,
    };
    let stamp = stamp(t, &certificate);
    let pdf = render(issuing.renderer.clone(), job(&certificate, &stamp, &urls.certificate(number.as_str()))).await?;
    certificate.file_sha256 = Sha256Hex::of(&pdf);
    let blob_key = BlobKey::parse(&format!("tenants/{t}/certificates/{number}-{}.pdf", certificate.file_sha256))
        .map_err(|e| AppError::Internal(e.to_string()))?;
    certificate.blob_key = blob_key.to_string();
    issuing
        .blobs
        .put(&blob_key, pdf, "application/pdf", Retention::Default)
        .await
        .map_err(AppError::backend("blobs"))?;

    let audit = system(t);
    let pair = credentials::signing_key(store, issuing.keyring, &audit).await?;
    let salt = random_salt()?;
    let outcome = retry::on_contention(12, || {
        let mut c = certificate.clone();
        let salt = salt.clone();
        let (urls, pair, email, audit) = (&urls, &pair, e.student.email.as_str(), &audit);
        async move {
            let list = status_list(store, t).await?;
            let next_index = list.as_ref().map_or(0, |l| l.next_index);
            if next_index >= STATUS_LIST_BITS {
                return Err(Once::Failed(AppError::Internal("the clinic's status list is full".into())));
            }
            let bits = match &list {
                Some(l) => l.bits()?,
                None => StatusBits::empty(),
            };
            c.status_index = next_index;
            c.credential_jwt = credentials::sign_jwt(
                pair,
                &urls.key_id(),
                &credentials::badge_claims(urls, &c, &c.clinic_name, email, &salt),
            );
            let empty = StoredStatusList { bits: String::new(), next_index: 0, version: 0, jwt: String::new() };
            let next = list.as_ref().unwrap_or(&empty).next(&bits, next_index + 1, (pair, urls), now)?;
            let already = || Once::AlreadyDone(AppError::conflict("already_issued", "issued by an earlier delivery"));
            let mut plan = Plan::<Once>::typed();
            let marker = json!({"number": c.number});
            plan.push(
                Write::put_new(to_item(
                    &keys::enrolment_certificate(t, cohort_id, enrolment_id),
                    "enrolment_certificate",
                    &marker,
                )?),
                already(),
            );
            plan.push(
                Write::put_new(to_item(&keys::certificate(t, &c.number), "certificate", &c)?),
                Once::Failed(AppError::contention("a certificate number clashed; drawn again")),
            );
            plan.push(
                status_write(t, list.as_ref(), &next)?,
                Once::Failed(AppError::contention("the status list changed")),
            );
            let payload = json!({"number": c.number, "enrolment_id": c.enrolment_id, "cohort_id": c.cohort_id,
                "course_id": c.course_id});
            plan.announce(DomainEvent::new(t, CERTIFICATE_ISSUED, c.number.as_str(), now, payload))?;
            plan.commit_as(store, audit, "certificate.issued", c.number.as_str()).await?;
            Ok(c)
        }
    })
    .await;
    match outcome {
        Ok(c) => Ok(c),
        Err(Once::AlreadyDone(_)) => of_enrolment(store, t, cohort_id, enrolment_id)
            .await?
            .ok_or_else(|| AppError::Internal("an enrolment's certificate marker names nothing".into())),
        Err(Once::Failed(err)) => Err(err),
    }
}

/// Revokes a certificate (owners and managers): its bit in the status list is set and the
/// verification page says revoked from then on. 409 `already_revoked`.
pub async fn revoke(
    store: &Store,
    keyring: &Keyring,
    audit: &AuditContext,
    api_base: &str,
    number: &CertificateNumber,
) -> AppResult<Certificate> {
    let t = &audit.tenant_id;
    get(store, t, number).await?;
    let tenant = crate::tenant(store, t).await?;
    let urls = PublicUrls::new(api_base, &tenant);
    let pair = credentials::existing_key(store, keyring, t)
        .await?
        .ok_or_else(|| AppError::Internal("a certificate was issued without a signing key".into()))?;
    let outcome = retry::on_contention(12, || async {
        let c = get(store, t, number).await?;
        if c.is_revoked() {
            return Err(AppError::conflict("already_revoked", "this certificate was revoked already"));
        }
        let list = status_list(store, t)
            .await?
            .ok_or_else(|| AppError::Internal("a certificate was issued without a status list".into()))?;
        let mut bits = list.bits()?;
        bits.set(c.status_index);
        let next_list = list.next(&bits, list.next_index, (&pair, &urls), store.clock.now())?;
        let before = c.version;
        let next = Certificate { revoked_at: Some(store.clock.now()), version: before + 1, ..c };
        let mut plan = Plan::new();
        plan.push(
            Write::put_if(
                to_item(&keys::certificate(t, number), "certificate", &next)?,
                Condition::equals("version", before),
            ),
            AppError::contention("the certificate changed"),
        );
        plan.push(status_write(t, Some(&list), &next_list)?, AppError::contention("the status list changed"));
        plan.commit(store, audit, "certificate.revoked", number.as_str()).await?;
        Ok(next)
    })
    .await?;
    Ok(outcome)
}

/// The public verification page's answer: what the certificate itself shows, whether it stands,
/// and the SHA-256 of its PDF. Nothing else (no email, no enrolment or cohort ids).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CertificateCheck {
    pub number: CertificateNumber,
    /// `valid` or `revoked`.
    pub status: String,
    pub message: String,
    pub student_name: String,
    pub course_title: String,
    pub cpd_hours: u32,
    pub completed_on: chrono::NaiveDate,
    pub educator_name: String,
    pub clinic_name: String,
    pub issued_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// SHA-256 of the PDF as issued: compare it with `sha256sum` of the copy you were shown.
    pub file_sha256: Sha256Hex,
    /// The PDF and the Open Badges 3.0 credential (a VC-JWT).
    pub pdf_url: String,
    pub credential_url: String,
    /// The clinic's issuer profile (its public key) and its status list.
    pub issuer_url: String,
}

pub fn check(api_base: &str, tenant: &mas_domain::tenant::Tenant, c: &Certificate) -> CertificateCheck {
    let urls = PublicUrls::new(api_base, tenant);
    let page = urls.certificate(c.number.as_str());
    let (status, message) = match c.revoked_at {
        None => ("valid", format!("Valid: {} issued this certificate and has not revoked it.", c.clinic_name)),
        Some(at) => ("revoked", format!("Revoked: {} revoked this certificate on {}.", c.clinic_name, at.date_naive())),
    };
    CertificateCheck {
        number: c.number.clone(),
        status: status.into(),
        message,
        student_name: c.student_name.clone(),
        course_title: c.course_title.clone(),
        cpd_hours: c.cpd_hours,
        completed_on: c.completed_on,
        educator_name: c.educator_name.clone(),
        clinic_name: c.clinic_name.clone(),
        issued_at: c.issued_at,
        revoked_at: c.revoked_at,
        file_sha256: c.file_sha256.clone(),
        pdf_url: format!("{page}/pdf"),
        credential_url: format!("{page}/credential"),
        issuer_url: urls.issuer(),
    }
}

/// The clinic's status list as last signed (`None`: it has issued no certificate).
pub async fn status_list_credential(store: &Store, t: &TenantId) -> AppResult<Option<String>> {
    Ok(status_list(store, t).await?.map(|l| l.jwt))
}

/// Whether bit `index` of the clinic's status list is set (for tests and the back office).
pub async fn status_bit(store: &Store, t: &TenantId, index: u32) -> AppResult<bool> {
    match status_list(store, t).await? {
        Some(l) => Ok(l.bits()?.get(index)),
        None => Ok(false),
    }
}

/// The clinic's issuer profile with its public key (`None`: no key yet).
pub async fn issuer(
    store: &Store,
    tenant: &mas_domain::tenant::Tenant,
    api_base: &str,
) -> AppResult<Option<serde_json::Value>> {
    let Some(jwk) = credentials::public_jwk(store, &tenant.id).await? else { return Ok(None) };
    Ok(Some(credentials::issuer_profile(&PublicUrls::new(api_base, tenant), tenant.name.as_str(), jwk)))
}
