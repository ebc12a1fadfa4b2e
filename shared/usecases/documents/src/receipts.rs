//! Receipts and credit notes of the desk till's sales (`mas_domain::receipt` says what they
//! print): rendered by the render worker when a sale is completed, voided or refunded (the bus
//! routes those events to the render queue), through the same renderer and stamp scheme as
//! documents, stored write-once for `FINANCIAL_RECORD_RETENTION_YEARS`, verifiable at
//! `/v1/documents/verify`, listed for staff and in the client's portal, and announced as
//! `receipt.issued` for the email to the client.
//!
//! **Once.** Each receipt is an item beside its sale (`RECEIPT#0000` the receipt, `RECEIPT#000n`
//! the credit note of correction `n`), written with "not exists" in one transaction with its
//! two stamp lookups, the copy in the client's partition and its event: a second delivery of the
//! same event renders again (the same bytes: rendering is deterministic) and finds it done.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use mas_accounts::tenants;
use mas_booking::sales;
use mas_catalog::catalog;
use mas_clients::clients::{self, ClientError};
use mas_domain::catalog::{LocationInput, PractitionerInput};
use mas_domain::documents::Sha256Hex;
use mas_domain::error::{AppError, AppResult};
use mas_domain::ids::{ClientId, PractitionerId, RequestId, SaleId, TenantId};
use mas_domain::receipt::{self, Receipt, ReceiptFacts, ReceiptKind, ReceiptStampRecord};
use mas_ports::events::DomainEvent;
use mas_ports::renderer::{RenderBlock, RenderJob, RenderLogo};
use mas_ports::{Blobs, Query, Renderer, Retention, SortKey, Write};
use mas_store::{AuditContext, Once, Plan, Store, from_item, keys, to_item};

use crate::documents::paper_colors;

/// The events whose sale gets a receipt or credit note (template.yaml's `ReceiptRule` routes
/// the same kinds to the render queue; a test holds them together).
pub const RENDERED_ON: [&str; 3] = ["sale.completed", "sale.voided", "sale.refunded"];

/// Announced when a receipt or credit note is stored (ids and amounts only).
pub const RECEIPT_ISSUED: &str = "receipt.issued";

pub const FOOTER_NOTE: &str = "Receipt stamp (SHA-256). Check it, or the PDF itself, at /v1/documents/verify";

/// A receipt with a short-lived link to its PDF.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReceiptLink {
    pub kind: ReceiptKind,
    pub number: String,
    pub sale_id: SaleId,
    pub amount_minor: i64,
    pub currency: mas_domain::values::Currency,
    pub issued_at: DateTime<Utc>,
    pub stamp: Sha256Hex,
    pub file_sha256: Sha256Hex,
    /// A URL to GET the PDF with, for `PDF_LINK_LIFETIME` (no token needed).
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

/// What the render worker does with one of `RENDERED_ON`: the sale's receipt, or the credit
/// note of the correction the event names. Safe to run twice.
pub async fn on_event(
    store: &Store,
    blobs: &dyn Blobs,
    renderer: Arc<dyn Renderer>,
    event: &DomainEvent,
) -> AppResult<Receipt> {
    let field = |name: &str| event.payload.get(name).and_then(Value::as_str).unwrap_or_default().to_owned();
    let sale_id =
        SaleId::parse(&field("sale_id")).map_err(|e| AppError::Internal(format!("{}: {}", event.kind, e.0)))?;
    let seq = match event.kind.as_str() {
        "sale.completed" => 0,
        "sale.voided" | "sale.refunded" => {
            let correction = field("correction_id");
            let view = sales::view(store, &event.tenant_id, &sale_id).await?;
            view.corrections
                .iter()
                .find(|c| c.id.as_str() == correction)
                .map(|c| c.seq)
                .ok_or_else(|| AppError::Internal(format!("{}: no correction {correction}", event.kind)))?
        }
        other => return Err(AppError::Internal(format!("no receipt for {other}"))),
    };
    issue(store, blobs, renderer, &event.tenant_id, &sale_id, seq).await
}

/// Renders, stores and records a sale's receipt (`seq` 0) or the credit note of its correction
/// `seq`, once.
pub async fn issue(
    store: &Store,
    blobs: &dyn Blobs,
    renderer: Arc<dyn Renderer>,
    tenant: &TenantId,
    sale_id: &SaleId,
    seq: u32,
) -> AppResult<Receipt> {
    let key = keys::receipt(tenant, sale_id, seq);
    if let Some(done) = store.get::<Receipt>(&key).await? {
        return Ok(done);
    }
    let view = sales::view(store, tenant, sale_id).await?;
    let sale = &view.sale;
    let correction = match seq {
        0 => None,
        seq => Some(
            view.corrections
                .iter()
                .find(|c| c.seq == seq)
                .ok_or_else(|| AppError::Internal(format!("sale {sale_id} has no correction {seq}")))?,
        ),
    };
    let (facts, client_erased) = facts(store, tenant, sale).await?;
    let content = receipt::content(sale, correction, &facts);
    let (brand, logo) = tokio::try_join!(tenants::brand(store, tenant), tenants::logo(store, tenant))?;
    let logo = match logo {
        Some(logo) => Some(RenderLogo { format: logo.info.format, bytes: logo.bytes()? }),
        None => None,
    };
    let mut job = RenderJob {
        clinic_name: facts.clinic_name.clone(),
        colors: paper_colors(&brand.tokens),
        title: content.title,
        subtitle: content.subtitle,
        blocks: content.blocks.into_iter().map(|b| RenderBlock { title: b.title, body: b.body }).collect(),
        stamp: Sha256Hex::placeholder().to_string(),
        footer_note: FOOTER_NOTE.into(),
        signature: None,
        logo,
    };
    let number = receipt::number(sale.invoice_number, seq);
    let draft = run(renderer.clone(), job.clone()).await?;
    let rendered_sha256 = Sha256Hex::of(&draft);
    let stamp = receipt::stamp(tenant, &number, &receipt::canonical(sale, correction), &rendered_sha256);
    job.stamp = stamp.to_string();
    let pdf = run(renderer, job).await?;
    let file_sha256 = Sha256Hex::of(&pdf);
    let blob_key = keys::receipt_pdf(tenant, sale_id, &number, &file_sha256);
    let now = store.clock.now();
    let issued = Receipt {
        sale_id: sale_id.clone(),
        kind: if seq == 0 { ReceiptKind::Receipt } else { ReceiptKind::CreditNote },
        number: number.clone(),
        correction_seq: seq,
        location_id: sale.location_id.clone(),
        client_id: sale.client_id.clone(),
        amount_minor: correction.map_or(sale.totals.total_minor, |c| c.amount()),
        currency: sale.currency.clone(),
        stamp: stamp.clone(),
        file_sha256: file_sha256.clone(),
        rendered_sha256,
        size_bytes: pdf.len() as u64,
        blob_key: blob_key.to_string(),
        issued_at: now,
        retain_until: receipt::financial_retain_until(now),
    };
    blobs
        .put(&blob_key, pdf, "application/pdf", Retention::Until(issued.retain_until))
        .await
        .map_err(AppError::backend("blobs"))?;

    let already = || Once::AlreadyDone(AppError::conflict("already_issued", "issued by an earlier delivery"));
    let mut plan = Plan::<Once>::typed();
    plan.push(Write::put_new(to_item(&key, "receipt", &issued)?), already());
    for (hash, matched) in [(&stamp, "stamp"), (&file_sha256, "file")] {
        let record = ReceiptStampRecord {
            tenant_id: tenant.clone(),
            sale_id: sale_id.clone(),
            kind: issued.kind,
            number: number.clone(),
            matched: matched.into(),
            issued_at: now,
        };
        plan.push(Write::put_new(to_item(&keys::stamp(hash), RECEIPT_STAMP, &record)?), already());
    }
    // An erased client's file stays empty: the receipt is kept beside the sale only.
    if let Some(client) = issued.client_id.as_ref().filter(|_| !client_erased) {
        let copy = to_item(&keys::client_receipt(tenant, client, sale_id, seq), "receipt", &issued)?;
        plan.push(Write::put(copy), AppError::Internal("an unconditional put failed".into()));
    }
    let payload = json!({
        "sale_id": sale_id,
        "client_id": issued.client_id,
        "kind": issued.kind,
        "number": number,
        "correction_seq": seq,
        "amount_minor": issued.amount_minor,
        "currency": issued.currency,
    });
    plan.announce(DomainEvent::new(tenant, RECEIPT_ISSUED, &format!("{sale_id}#{seq}"), now, payload))?;
    let audit =
        AuditContext { tenant_id: tenant.clone(), actor: "system".into(), role: None, request_id: RequestId::new() };
    let action = format!("sale.{}_issued", issued.kind.as_str());
    match plan.commit_as(store, &audit, &action, &number).await {
        Ok(()) => Ok(issued),
        Err(Once::AlreadyDone(_)) => {
            store.get::<Receipt>(&key).await?.ok_or_else(|| AppError::Internal("a receipt's stamp is taken".into()))
        }
        Err(Once::Failed(err)) => Err(err),
    }
}

/// What a receipt names a client erased since the sale.
const ERASED: &str = "(record erased)";

/// The `entity_type` of a receipt's stamp lookup (documents' are `stamp`).
pub const RECEIPT_STAMP: &str = "receipt_stamp";

/// The clinic's legal identity, as its brand records it (none before it has a brand).
async fn business_details(store: &Store, tenant: &TenantId) -> AppResult<mas_domain::business::BusinessDetails> {
    match tenants::brand(store, tenant).await {
        Ok(brand) => Ok(brand.input.business),
        Err(AppError::NotFound { .. }) => Ok(Default::default()),
        Err(err) => Err(err),
    }
}

/// What the receipt prints about the clinic, the location, the client and the practitioners.
/// And whether the sale's client has been erased since.
async fn facts(store: &Store, tenant: &TenantId, sale: &mas_domain::sale::Sale) -> AppResult<(ReceiptFacts, bool)> {
    let (clinic, location, brand) = tokio::try_join!(
        tenants::tenant(store, tenant),
        catalog::get::<LocationInput>(store, tenant, &sale.location_id),
        business_details(store, tenant)
    )?;
    let client_name = match &sale.client_id {
        None => None,
        Some(id) => match clients::get(store, tenant, id).await {
            Ok(client) => Some(format!("{} {}", client.data.first_name, client.data.last_name)),
            // Erased since: the receipt is a financial record and names nobody now.
            Err(ClientError::Erased) => Some(ERASED.into()),
            Err(err) => return Err(err.into()),
        },
    };
    let mut ids: Vec<PractitionerId> = sale.lines.iter().filter_map(|l| l.input.practitioner_id.clone()).collect();
    ids.extend(sale.tips.iter().map(|t| t.practitioner_id.clone()));
    ids.sort();
    ids.dedup();
    let mut practitioners = Vec::new();
    for id in ids {
        // Archived since is still named: they gave the treatment. A read that fails is not
        // printed as "a practitioner" for seven years: the render is retried instead.
        match catalog::get::<PractitionerInput>(store, tenant, &id).await {
            Ok(p) => practitioners.push((id.to_string(), p.data.display_name.to_string())),
            Err(AppError::NotFound { .. }) => {}
            Err(err) => return Err(err),
        }
    }
    let a = &location.data.address;
    let address = [
        Some(a.line1.to_string()),
        a.line2.as_ref().map(ToString::to_string),
        Some(a.city.to_string()),
        Some(a.postcode.to_string()),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(", ");
    let local = sale.completed_at.with_timezone(&location.data.timezone.tz());
    let erased = client_name.as_deref() == Some(ERASED);
    let facts = ReceiptFacts {
        business_lines: brand.lines(clinic.name.as_str()),
        clinic_name: clinic.name.to_string(),
        location_name: location.data.name.to_string(),
        location_address: address,
        local_time: local.format("%-d %B %Y, %H:%M").to_string(),
        client_name,
        practitioners,
    };
    Ok((facts, erased))
}

async fn run(renderer: Arc<dyn Renderer>, job: RenderJob) -> AppResult<Vec<u8>> {
    tokio::task::spawn_blocking(move || renderer.render(&job))
        .await
        .map_err(|e| AppError::Internal(format!("render task failed: {e}")))?
        .map_err(|e| AppError::Internal(format!("render failed: {e}")))
}

/// A sale's receipt and credit notes issued so far, in order.
pub async fn of_sale(store: &Store, tenant: &TenantId, sale: &SaleId) -> AppResult<Vec<Receipt>> {
    let query = Query::partition(keys::sale_pk(tenant, sale)).sk(SortKey::BeginsWith(keys::RECEIPT_PREFIX.into()));
    store.table.query_all(&query).await?.into_iter().map(from_item).collect()
}

/// A client's receipts and credit notes, newest first.
pub async fn of_client(store: &Store, tenant: &TenantId, client: &ClientId) -> AppResult<Vec<Receipt>> {
    let query = Query::partition(keys::client_pk(tenant, client)).sk(SortKey::BeginsWith(keys::RECEIPT_PREFIX.into()));
    let mut receipts: Vec<Receipt> =
        store.table.query_all(&query).await?.into_iter().map(from_item).collect::<AppResult<_>>()?;
    receipts.sort_by(|a, b| (b.issued_at, &b.number).cmp(&(a.issued_at, &a.number)));
    Ok(receipts)
}

/// Links to `receipts`' PDFs, valid for `lifetime` (`PDF_LINK_LIFETIME` for a page's links).
pub async fn links(
    store: &Store,
    blobs: &dyn Blobs,
    receipts: Vec<Receipt>,
    lifetime: std::time::Duration,
) -> AppResult<Vec<ReceiptLink>> {
    let expires_at = store.clock.now() + chrono::Duration::seconds(lifetime.as_secs() as i64);
    let mut links = Vec::with_capacity(receipts.len());
    for r in receipts {
        let key = mas_ports::BlobKey::parse(&r.blob_key).map_err(|e| AppError::Internal(e.to_string()))?;
        let url = blobs.presign(&key, lifetime).await.map_err(AppError::backend("blobs"))?;
        links.push(ReceiptLink {
            kind: r.kind,
            number: r.number,
            sale_id: r.sale_id,
            amount_minor: r.amount_minor,
            currency: r.currency,
            issued_at: r.issued_at,
            stamp: r.stamp,
            file_sha256: r.file_sha256,
            url,
            expires_at,
        });
    }
    Ok(links)
}
