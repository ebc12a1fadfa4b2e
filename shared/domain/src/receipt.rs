//! Invoices and receipts of the desk till's sales, and credit notes of their voids and refunds:
//! what each PDF says (its lines of text; the renderer adds only layout), its number, its stamp
//! and how long it is kept.
//!
//! A completed sale is paid in full at the desk, so its one PDF is both the invoice and the
//! receipt ("Receipt", numbered by the sale's invoice number, `INV-000123`). A void or refund
//! never changes it: each gets its own **credit note**, numbered after the invoice and the
//! correction (`INV-000123-C1`), which names the invoice it corrects and what went back.

use chrono::{DateTime, Months, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::documents::{Sha256Hex, end_of};
use crate::ids::{ClientId, LocationId, SaleId, TenantId};
use crate::payment::money_text;
use crate::sale::{Correction, CorrectionKind, InvoiceNumber, ReturnMethod, Sale, TaxMode, Tender};
use crate::values::Currency;

/// How long a receipt or credit note (and its PDF, write-once) is kept: seven years from issue.
/// UK rules ask for six: HMRC for VAT records (VAT Notice 700/21) and for a company's accounting
/// records (six years from the end of the accounting period they belong to; Companies Act 2006
/// s.388 asks three for a private company), and five years after the filing deadline for the
/// self-employed. Counted from the day of issue, seven years covers six from the end of any
/// accounting period the record falls in. A financial record is kept through a client's erasure
/// (UK GDPR Art. 17(3)(b): a legal obligation).
pub const FINANCIAL_RECORD_RETENTION_YEARS: u32 = 7;

/// Until when a financial record issued at `issued` is kept (the end of that day, seven years on).
pub fn financial_retain_until(issued: DateTime<Utc>) -> DateTime<Utc> {
    let day = issued.date_naive();
    end_of(day.checked_add_months(Months::new(12 * FINANCIAL_RECORD_RETENTION_YEARS)).unwrap_or(day))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReceiptKind {
    /// The sale's invoice, paid in full: its receipt.
    Receipt,
    /// A void's or a refund's: what went back, against the invoice it corrects.
    CreditNote,
}

impl ReceiptKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ReceiptKind::Receipt => "receipt",
            ReceiptKind::CreditNote => "credit_note",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            ReceiptKind::Receipt => "Receipt",
            ReceiptKind::CreditNote => "Credit note",
        }
    }
}

/// Which PDF of a sale: its receipt (`0`) or the credit note of its correction `seq` (1, 2, …).
pub fn number(invoice: InvoiceNumber, correction_seq: u32) -> String {
    match correction_seq {
        0 => invoice.to_string(),
        seq => format!("{invoice}-C{seq}"),
    }
}

/// A receipt or credit note as issued: its PDF, its stamp, until when it is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Receipt {
    pub sale_id: SaleId,
    pub kind: ReceiptKind,
    /// `INV-000123`, or `INV-000123-C1` for a credit note.
    pub number: String,
    /// The correction a credit note is of (0 for the receipt).
    pub correction_seq: u32,
    pub location_id: LocationId,
    pub client_id: Option<ClientId>,
    /// What the receipt says was paid, or the credit note that went back.
    pub amount_minor: i64,
    pub currency: Currency,
    pub stamp: Sha256Hex,
    pub file_sha256: Sha256Hex,
    /// The SHA-256 of the PDF drawn with the stamp's placeholder (what the stamp covers).
    pub rendered_sha256: Sha256Hex,
    pub size_bytes: u64,
    pub blob_key: String,
    pub issued_at: DateTime<Utc>,
    /// The PDF is write-once until then (`FINANCIAL_RECORD_RETENTION_YEARS`).
    pub retain_until: DateTime<Utc>,
}

/// The public lookup of a receipt's stamp or file hash (beside documents' `STAMP#` records):
/// which clinic's receipt it is, never whose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptStampRecord {
    pub tenant_id: TenantId,
    pub sale_id: SaleId,
    pub kind: ReceiptKind,
    pub number: String,
    /// `stamp` or `file`.
    pub matched: String,
    pub issued_at: DateTime<Utc>,
}

/// The stamp of a receipt: SHA-256 over the tenant, the receipt's number, its canonical content
/// (the sale as recorded, and the correction for a credit note) and the SHA-256 of the PDF drawn
/// with the placeholder, each length-prefixed (as documents' stamps, under its own label).
pub fn stamp(tenant: &TenantId, number: &str, canonical_content: &[u8], rendered: &Sha256Hex) -> Sha256Hex {
    let mut hasher = Sha256::new();
    hasher.update(b"mas-receipt-stamp/1\n");
    for field in [tenant.as_str().as_bytes(), number.as_bytes(), canonical_content, rendered.as_str().as_bytes()] {
        hasher.update(format!("{}:", field.len()).as_bytes());
        hasher.update(field);
        hasher.update(b"\n");
    }
    Sha256Hex::parse(&hex::encode(hasher.finalize())).expect("a SHA-256 in hex")
}

/// The canonical bytes a receipt's stamp covers.
pub fn canonical(sale: &Sale, correction: Option<&Correction>) -> Vec<u8> {
    serde_json::to_vec(&(sale, correction)).expect("a sale serializes")
}

/// What is printed about the clinic, the place and the people, read from the records.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceiptFacts {
    pub clinic_name: String,
    /// The clinic's legal name, company and VAT numbers as printed (`BusinessDetails::lines`).
    pub business_lines: Vec<String>,
    pub location_name: String,
    /// The location's address, one line.
    pub location_address: String,
    /// The sale's local date and time at the location, as printed.
    pub local_time: String,
    pub client_name: Option<String>,
    /// Practitioner names by id (for tips and service lines).
    pub practitioners: Vec<(String, String)>,
}

impl ReceiptFacts {
    fn practitioner(&self, id: &str) -> String {
        self.practitioners.iter().find(|(p, _)| p == id).map_or_else(|| "a practitioner".into(), |(_, n)| n.clone())
    }
}

/// One titled block of a receipt's text (paragraphs separated by blank lines, lines by `\n`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptBlock {
    pub title: String,
    pub body: String,
}

/// The title, the lines under it and the blocks of a receipt or credit note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptContent {
    pub title: String,
    pub subtitle: Vec<String>,
    pub blocks: Vec<ReceiptBlock>,
}

fn tender_text(tender: &Tender, currency: &Currency) -> String {
    let money = |m: i64| money_text(m, currency);
    match tender {
        Tender::Cash { tendered_minor } => format!("Cash: {} handed over", money(tendered_minor.get())),
        Tender::Card { amount_minor, .. } => format!("Card (online): {}", money(amount_minor.get())),
        Tender::CardExternal { amount_minor, terminal_reference } => {
            format!("Card (terminal {terminal_reference}): {}", money(amount_minor.get()))
        }
        Tender::BankTransfer { amount_minor, reference } => {
            format!("Bank transfer ({reference}): {}", money(amount_minor.get()))
        }
        Tender::Deposit { amount_minor, .. } => format!("Deposit paid online: {}", money(amount_minor.get())),
        Tender::GiftCard { amount_minor, code_last4, .. } => {
            format!("Gift card …{}: {}", code_last4.as_deref().unwrap_or("????"), money(amount_minor.get()))
        }
        Tender::Loyalty { points, amount_minor } => {
            format!("Loyalty points ({}): {}", points.get(), money(amount_minor.get()))
        }
    }
}

/// What a receipt (`correction` `None`) or a credit note says.
pub fn content(sale: &Sale, correction: Option<&Correction>, facts: &ReceiptFacts) -> ReceiptContent {
    let c = &sale.currency;
    let money = |m: i64| money_text(m, c);
    let invoice = sale.invoice_number.to_string();
    let mut subtitle = facts.business_lines.clone();
    subtitle.push(format!("{}, {}", facts.location_name, facts.location_address));
    subtitle.push(format!("Sale of {} · invoice {invoice}", facts.local_time));
    subtitle.push(match &facts.client_name {
        Some(name) => format!("Client: {name}"),
        None => "Client: walk-in".into(),
    });
    let Some(correction) = correction else {
        let mut items = Vec::new();
        for line in &sale.lines {
            let input = &line.input;
            let mut text = format!("{} × {}", input.quantity.get(), input.name);
            if let Some(sku) = &input.sku {
                text.push_str(&format!(" ({sku})"));
            }
            text.push_str(&format!(" at {}: {}", money(input.unit_price_minor.get()), money(line.total_minor)));
            if line.discount_minor > 0 {
                text.push_str(&format!(", after {} off", money(line.discount_minor)));
            }
            if let Some(tax) = input.tax.filter(|t| t.rate_bp.get() > 0) {
                let rate = tax.rate_bp.get() as f64 / 100.0;
                let how = if tax.mode == TaxMode::Inclusive { "included" } else { "added" };
                text.push_str(&format!(" (VAT {rate}% {how}: {})", money(line.tax_minor)));
            }
            if let Some(p) = &input.practitioner_id {
                text.push_str(&format!(" · with {}", facts.practitioner(p.as_str())));
            }
            if line.covered_by_package() {
                text.push_str(" · covered by a package session (paid when the package was sold)");
            }
            items.push(text);
        }
        let t = &sale.totals;
        let mut totals = vec![format!("Subtotal: {}", money(t.subtotal_minor))];
        if t.discount_minor > 0 {
            let why = sale.discount.as_ref().map(|d| match d {
                crate::sale::Discount::Percent { reason, .. } | crate::sale::Discount::Fixed { reason, .. } => {
                    reason.to_string()
                }
            });
            totals.push(format!(
                "Discounts: −{}{}",
                money(t.discount_minor),
                why.map(|w| format!(" ({w})")).unwrap_or_default()
            ));
        }
        totals.push(format!("VAT: {}", money(t.tax_minor)));
        for tip in &sale.tips {
            totals.push(format!(
                "Tip for {}: {}",
                facts.practitioner(tip.practitioner_id.as_str()),
                money(tip.amount_minor.get())
            ));
        }
        totals.push(format!("Total: {}", money(t.total_minor)));
        let mut paid: Vec<String> = sale.tenders.iter().map(|tender| tender_text(tender, c)).collect();
        if t.change_minor > 0 {
            paid.push(format!("Change given: {}", money(t.change_minor)));
        }
        paid.push(format!("Paid in full: {}", money(t.total_minor)));
        return ReceiptContent {
            title: format!("Receipt {invoice}"),
            subtitle,
            blocks: vec![
                ReceiptBlock { title: "Items".into(), body: items.join("\n") },
                ReceiptBlock { title: "Totals".into(), body: totals.join("\n") },
                ReceiptBlock { title: "Payment".into(), body: paid.join("\n") },
            ],
        };
    };
    let number = number(sale.invoice_number, correction.seq);
    let what = match correction.kind {
        CorrectionKind::Void => {
            format!("Void of invoice {invoice}: the sale is cancelled and every payment given back.")
        }
        CorrectionKind::Refund => {
            format!("Refund against invoice {invoice} (total {}).", money(sale.totals.total_minor))
        }
    };
    let back: Vec<String> = correction
        .returns
        .iter()
        .map(|r| {
            let how = match r.method {
                ReturnMethod::Cash => "In cash",
                ReturnMethod::Card => "To the card",
                ReturnMethod::External => "On the card terminal or by bank",
                ReturnMethod::Deposit => "Back to the booking's deposit",
                ReturnMethod::GiftCard => "Back onto the gift card",
                ReturnMethod::Package => {
                    return format!("Back onto the package: {} session(s)", r.sessions.unwrap_or(0));
                }
                ReturnMethod::Loyalty => {
                    return format!("Back as {} loyalty points: {}", r.points.unwrap_or(0), money(r.amount_minor));
                }
            };
            format!("{how}: {}", money(r.amount_minor))
        })
        .collect();
    ReceiptContent {
        title: format!("Credit note {number}"),
        subtitle,
        blocks: vec![
            ReceiptBlock { title: "What it corrects".into(), body: format!("{what}\n\nReason: {}", correction.reason) },
            ReceiptBlock {
                title: "Given back".into(),
                body: format!("{}\nTotal credited: {}", back.join("\n"), money(correction.amount())),
            },
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credit_notes_are_numbered_after_their_invoice_and_correction() {
        let invoice = InvoiceNumber::new(123).unwrap();
        assert_eq!(number(invoice, 0), "INV-000123");
        assert_eq!(number(invoice, 2), "INV-000123-C2");
    }

    #[test]
    fn a_financial_record_is_kept_seven_years_to_the_end_of_its_day() {
        let issued = "2027-03-01T10:30:00Z".parse::<DateTime<Utc>>().unwrap();
        assert_eq!(financial_retain_until(issued), "2034-03-02T00:00:00Z".parse::<DateTime<Utc>>().unwrap());
    }

    #[test]
    fn the_stamp_changes_with_any_field() {
        let tenant = TenantId::new();
        let rendered = Sha256Hex::of(b"pdf");
        let a = stamp(&tenant, "INV-000001", b"{}", &rendered);
        assert_ne!(a, stamp(&tenant, "INV-000002", b"{}", &rendered));
        assert_ne!(a, stamp(&tenant, "INV-000001", b"{ }", &rendered));
        assert_eq!(a, stamp(&tenant, "INV-000001", b"{}", &rendered));
    }
}
