//! Gift cards: issued by a sale's gift-card line or an online purchase, spent as a sale's tender,
//! given back by a sale's void or refund, voided by an owner or manager.
//!
//! - **Stored** (`infra/access-patterns.md`): the card `TENANT#t#GIFT#{gft}`/`GIFT` (GSI1: the
//!   clinic's cards by issue time), its movements beside it (`MOVE#…`, one Query reads the card
//!   and its history), the code's hash `TENANT#t`/`GIFTCODE#{sha256}` → the card (the only way
//!   from a code to a card), and a reference in the buyer's and the recipient's client
//!   partitions (`GIFT#{gft}`: the portal's list).
//! - **Never double-spent.** A redemption is the card as read with its balance less the amount
//!   and its version one up, written on condition of the version read, in the sale's own
//!   transaction (with its invoice number): of two sales that read the same balance, one
//!   commits and the other starts again from a fresh read — and is refused when the money is gone.
//! - **The code** is in memory only while it is issued: the answer that issued it shows it once,
//!   and for the recipient's email a copy is sealed under the clinic's data key
//!   (`GIFT#…`/`MAILCODE`, AES-256-GCM, bound to the card) and deleted once the email went.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use mas_clients::clients;
use mas_domain::clients::ClientInput;
use mas_domain::error::{AppError, AppResult};
use mas_domain::gift_card::{self, GiftCard, GiftCardCode, GiftCardStatus, Movement, MovementKind, Recipient, SoldVia};
use mas_domain::ids::{ClientId, GiftCardId, GiftOrderId, TenantId};
use mas_domain::payment::IntentId;
use mas_domain::sale::{Reason, Sale, SaleInput, Tender};
use mas_domain::values::Name;
use mas_ports::events::DomainEvent;
use mas_ports::table::{GSI1PK, GSI1SK, SK, TTL};
use mas_ports::{Condition, Item, Query, SortKey, Write};
use mas_store::crypto::{KeyScope, Keyring, Sealed};
use mas_store::keys;
use mas_store::{AuditContext, Plan, Store, from_item, to_item};

/// Announced when a card is issued: the messaging worker emails its code to the recipient.
pub const GIFT_CARD_ISSUED: &str = "gift_card.issued";
/// How long the sealed copy of a code waits for its email before it is dropped.
const MAIL_CODE_DAYS: i64 = 30;

/// What `GIFTCODE#{hash}` holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct CodeRef {
    gift_card_id: GiftCardId,
}

/// What a client partition's `GIFT#{gft}` holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ClientRef {
    gift_card_id: GiftCardId,
    /// `buyer` or `recipient`.
    role: String,
}

/// A card just issued, with its code: shown once, in the answer that issued it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct IssuedGiftCard {
    pub gift_card: GiftCard,
    /// The whole code: shown here once; the clinic keeps only its hash.
    pub code: GiftCardCode,
}

/// A card with its history, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct GiftCardView {
    pub gift_card: GiftCard,
    pub movements: Vec<Movement>,
}

fn code_aad(t: &TenantId, id: &GiftCardId) -> String {
    format!("mas:gift-card-code:v1:{t}:{id}")
}

pub fn card_item(t: &TenantId, card: &GiftCard) -> AppResult<Item> {
    let mut item = to_item(&keys::gift_card(t, &card.id), "gift_card", card)?;
    item.insert(GSI1PK.into(), keys::gift_cards_gsi_pk(t).into());
    item.insert(GSI1SK.into(), format!("{}#{}", card.issued_at.to_rfc3339(), card.id).into());
    Ok(item)
}

/// The put of a changed card, on condition nobody changed it since it was read.
fn versioned_put(t: &TenantId, next: &GiftCard) -> AppResult<Write> {
    Ok(Write::put_if(card_item(t, next)?, Condition::equals("version", next.version - 1)))
}

fn stale() -> AppError {
    AppError::contention("the gift card was used at the same moment; try again")
}

fn movement_write(t: &TenantId, movement: &Movement) -> AppResult<Write> {
    let sk = format!("{}{}#{}", keys::GIFT_MOVE_PREFIX, movement.at.to_rfc3339(), ulid::Ulid::new());
    let key = mas_ports::Key::new(keys::gift_card_pk(t, &movement.gift_card_id), sk);
    Ok(Write::put_new(to_item(&key, "gift_card_movement", movement)?))
}

fn movement(card: &GiftCard, kind: MovementKind, amount: i64, at: DateTime<Utc>, by: &str) -> Movement {
    Movement {
        gift_card_id: card.id.clone(),
        kind,
        amount_minor: amount,
        balance_after_minor: card.balance_minor,
        sale_id: None,
        correction_id: None,
        at,
        by: by.to_owned(),
    }
}

pub async fn get(store: &Store, t: &TenantId, id: &GiftCardId) -> AppResult<GiftCard> {
    store.get(&keys::gift_card(t, id)).await?.ok_or(AppError::NotFound { what: "gift card" })
}

/// The card a code opens at this clinic (404 for a code of no card here, another clinic's
/// included: a code hashes differently at each).
pub async fn find_by_code(store: &Store, t: &TenantId, code: &GiftCardCode) -> AppResult<GiftCard> {
    let reference: CodeRef = store
        .get(&keys::gift_card_code(t, &gift_card::code_hash(t, code)))
        .await?
        .ok_or(AppError::NotFound { what: "gift card" })?;
    get(store, t, &reference.gift_card_id).await
}

/// A card and its movements (one Query of its partition), newest movement first.
pub async fn view(store: &Store, t: &TenantId, id: &GiftCardId) -> AppResult<GiftCardView> {
    let items = store.table.query_all(&Query::partition(keys::gift_card_pk(t, id))).await?;
    let (mut card, mut movements) = (None, Vec::new());
    for item in items {
        let sk = item.get(SK).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
        if sk == "GIFT" {
            card = Some(from_item::<GiftCard>(item)?);
        } else if sk.starts_with(keys::GIFT_MOVE_PREFIX) {
            movements.push(from_item::<Movement>(item)?);
        }
    }
    movements.reverse();
    Ok(GiftCardView { gift_card: card.ok_or(AppError::NotFound { what: "gift card" })?, movements })
}

/// The clinic's cards, newest first (at most `limit`).
pub async fn list(store: &Store, t: &TenantId, limit: u32) -> AppResult<Vec<GiftCard>> {
    let query = Query::gsi1(keys::gift_cards_gsi_pk(t)).descending().limit(limit);
    store.table.query(&query).await?.items.into_iter().map(from_item).collect()
}

/// The cards a client bought or was given, newest first.
pub async fn for_client(store: &Store, t: &TenantId, client: &ClientId) -> AppResult<Vec<GiftCard>> {
    let query = Query::partition(keys::client_pk(t, client)).sk(SortKey::BeginsWith(keys::GIFT_PREFIX.into()));
    let refs: Vec<ClientRef> =
        store.table.query_all(&query).await?.into_iter().map(from_item).collect::<AppResult<_>>()?;
    let card_keys: Vec<_> = refs.iter().map(|r| keys::gift_card(t, &r.gift_card_id)).collect();
    if card_keys.is_empty() {
        return Ok(Vec::new());
    }
    let mut cards: Vec<GiftCard> =
        store.table.batch_get(&card_keys).await?.into_iter().map(from_item).collect::<AppResult<_>>()?;
    cards.sort_by_key(|c| std::cmp::Reverse(c.issued_at));
    cards.dedup_by(|a, b| a.id == b.id);
    Ok(cards)
}

/// Voids a card (owners and managers, checked by the caller): nothing more can be spent.
pub async fn void(store: &Store, audit: &AuditContext, id: &GiftCardId, reason: &Reason) -> AppResult<GiftCard> {
    let t = &audit.tenant_id;
    mas_store::retry::on_contention(crate::payments::CONTENTION_RETRIES, || async {
        let mut card = get(store, t, id).await?;
        card.void(reason.as_str())?;
        let now = store.clock.now();
        let mut plan = Plan::new();
        plan.push(versioned_put(t, &card)?, stale());
        plan.push(movement_write(t, &movement(&card, MovementKind::Voided, 0, now, &audit.actor))?, stale());
        plan.commit(store, audit, "gift_card.voided", card.id.as_str()).await?;
        Ok(card)
    })
    .await
}

/// The refusals of selling, spending and voiding gift cards made here, typed; each becomes its
/// code and status in one place (`From<GiftCardError> for AppError`).
#[derive(Debug, Clone, thiserror::Error)]
pub enum GiftCardError {
    /// 422 `gift_card_code_required` at the tender's `code`: an id or last four sent instead.
    #[error("send the gift card's code; its id is recorded by the till")]
    IdInsteadOfCode { field: String },
    /// 422 `gift_card_code_required` at the tender's `code`.
    #[error("the gift card's code is needed")]
    CodeMissing { field: String },
    /// 422 `unknown_gift_card` at the tender's `code`.
    #[error("no gift card of this clinic has this code")]
    UnknownCode { field: String },
    /// 422 `gift_card_named_twice` at the tender's `code`.
    #[error("the same gift card is named twice")]
    NamedTwice { field: String },
    /// 409 `gift_card_issued`: issued already (a redelivered webhook, a replayed sale).
    #[error("this gift card was issued already")]
    Issued,
    /// 409 `gift_card_spent`: a sale that sold a card spent or voided since cannot be voided.
    #[error("a gift card this sale sold was spent or voided already: the sale cannot be voided")]
    SoldCardSpent,
    /// 422 `recipient_email_required` (field `recipient.email`).
    #[error("the code is emailed to the recipient (your own email, to give it yourself)")]
    RecipientEmailRequired,
}

impl From<GiftCardError> for AppError {
    fn from(err: GiftCardError) -> Self {
        use GiftCardError as E;
        let message = err.to_string();
        match err {
            E::IdInsteadOfCode { field } | E::CodeMissing { field } => {
                AppError::invalid("gift_card_code_required", field, message)
            }
            E::UnknownCode { field } => AppError::invalid("unknown_gift_card", field, message),
            E::NamedTwice { field } => AppError::invalid("gift_card_named_twice", field, message),
            E::Issued => AppError::conflict("gift_card_issued", message),
            E::SoldCardSpent => AppError::conflict("gift_card_spent", message),
            E::RecipientEmailRequired => AppError::invalid("recipient_email_required", "recipient.email", message),
        }
    }
}

// ---- At the till ------------------------------------------------------------------------

/// Turns each gift-card tender's code into its card (id and last four symbols) and drops the
/// code, so the sale never records it. A code of no card here is 422 `unknown_gift_card`.
pub async fn resolve_tenders(store: &Store, t: &TenantId, input: &mut SaleInput) -> AppResult<()> {
    let mut seen = Vec::new();
    for (i, tender) in input.tenders.iter_mut().enumerate() {
        let Tender::GiftCard { code, gift_card_id, code_last4, .. } = tender else { continue };
        let field = format!("tenders[{i}].code");
        if gift_card_id.is_some() || code_last4.is_some() {
            return Err(GiftCardError::IdInsteadOfCode { field }.into());
        }
        let Some(given) = code.take() else {
            return Err(GiftCardError::CodeMissing { field }.into());
        };
        let card = match find_by_code(store, t, &given).await {
            Err(AppError::NotFound { .. }) => {
                return Err(GiftCardError::UnknownCode { field }.into());
            }
            other => other?,
        };
        if seen.contains(&card.id) {
            return Err(GiftCardError::NamedTwice { field }.into());
        }
        seen.push(card.id.clone());
        *gift_card_id = Some(card.id);
        *code_last4 = Some(given.last4());
    }
    Ok(())
}

/// Spends each gift-card tender of `sale`, in the sale's transaction: the card as read with
/// the amount taken off, on condition of the version read (see the module notes).
pub async fn push_redemptions<F: From<AppError>>(
    plan: &mut Plan<F>,
    store: &Store,
    t: &TenantId,
    sale: &Sale,
) -> AppResult<()> {
    for (i, tender) in sale.tenders.iter().enumerate() {
        let Tender::GiftCard { amount_minor, gift_card_id: Some(id), .. } = tender else { continue };
        let mut card = get(store, t, id).await?;
        card.redeem(amount_minor.get(), &sale.currency, sale.completed_at, &format!("tenders[{i}].amount_minor"))?;
        plan.push(versioned_put(t, &card)?, stale());
        let mut spent =
            movement(&card, MovementKind::Redeemed, -amount_minor.get(), sale.completed_at, &sale.completed_by);
        spent.sale_id = Some(sale.id.clone());
        plan.push(movement_write(t, &spent)?, stale());
    }
    Ok(())
}

/// A card to issue, decided before the sale's transaction: its id and code stay the same
/// however often the transaction is tried.
#[derive(Debug, Clone)]
pub struct ToIssue {
    pub id: GiftCardId,
    pub code: GiftCardCode,
    /// The sale line that sells it.
    pub line: usize,
}

/// One card for each gift-card line of `input`.
pub fn cards_to_issue(input: &SaleInput) -> Vec<ToIssue> {
    input
        .lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.kind == mas_domain::sale::LineKind::GiftCard)
        .map(|(line, _)| ToIssue { id: GiftCardId::new(), code: GiftCardCode::generate(), line })
        .collect()
}

/// What issuing one card needs beyond the card.
pub struct Issue<'a> {
    pub id: &'a GiftCardId,
    pub code: &'a GiftCardCode,
    pub amount_minor: i64,
    pub currency: mas_domain::values::Currency,
    pub recipient: Recipient,
    pub buyer: Option<ClientId>,
    pub sold_via: SoldVia,
    pub at: DateTime<Utc>,
}

/// The clinic's validity for new cards: its country's default (the clinic's own choice within
/// its country's bounds is open work).
async fn validity(store: &Store, t: &TenantId) -> AppResult<Option<u32>> {
    let profile: Option<mas_domain::tenant::Tenant> = store.get(&keys::tenant_profile(t)).await?;
    let country = profile.map(|p| p.country).unwrap_or_else(|| mas_domain::values::CountryCode::parse("GB").unwrap());
    Ok(gift_card::default_validity(&country))
}

/// The recipient's client record: the clinic's client with that email, or a new one made in
/// this transaction (so the code reaches them through the one messaging path, with their
/// consent settings, and their portal lists the card).
async fn recipient_client<F: From<AppError>>(
    plan: &mut Plan<F>,
    store: &Store,
    audit: &AuditContext,
    recipient: &Recipient,
) -> AppResult<Option<ClientId>> {
    let Some(email) = &recipient.email else { return Ok(None) };
    let (first_name, last_name) = first_and_last(&recipient.name)?;
    let details = ClientInput {
        first_name,
        last_name,
        email: Some(email.clone()),
        phone: None,
        date_of_birth: None,
        notes: None,
        marketing_consent: false,
    };
    let (client, creation) = clients::for_public_booking(store, audit, details).await?;
    if let Some(creation) = creation {
        plan.append(creation);
    }
    Ok(Some(client))
}

/// Issues a card in the transaction of what sold it: the card, its code's hash, its first
/// movement, the buyer's and recipient's references, the sealed copy of the code for the
/// recipient's email, and `gift_card.issued`.
pub async fn push_issue<F: From<AppError>>(
    plan: &mut Plan<F>,
    store: &Store,
    keyring: &Keyring,
    audit: &AuditContext,
    issue: Issue<'_>,
) -> AppResult<GiftCard> {
    let t = &audit.tenant_id;
    let recipient_client_id = recipient_client(plan, store, audit, &issue.recipient).await?;
    let card = GiftCard {
        id: issue.id.clone(),
        code_last4: issue.code.last4(),
        currency: issue.currency,
        initial_minor: issue.amount_minor,
        balance_minor: issue.amount_minor,
        status: GiftCardStatus::Active,
        issued_at: issue.at,
        expires_at: gift_card::expires_at(issue.at, validity(store, t).await?),
        recipient: issue.recipient,
        recipient_client_id,
        buyer_client_id: issue.buyer,
        sold_via: issue.sold_via,
        void_reason: None,
        version: 1,
    };
    let taken = || AppError::from(GiftCardError::Issued);
    plan.push(Write::put_new(card_item(t, &card)?), taken());
    let code_ref = CodeRef { gift_card_id: card.id.clone() };
    let hash = gift_card::code_hash(t, issue.code);
    plan.push(Write::put_new(to_item(&keys::gift_card_code(t, &hash), "gift_card_code", &code_ref)?), taken());
    plan.push(
        movement_write(t, &movement(&card, MovementKind::Issued, card.initial_minor, issue.at, &audit.actor))?,
        taken(),
    );
    let mut referenced = Vec::new();
    for (client, role) in [(&card.buyer_client_id, "buyer"), (&card.recipient_client_id, "recipient")] {
        let Some(client) = client else { continue };
        if referenced.contains(client) {
            continue;
        }
        referenced.push(client.clone());
        let reference = ClientRef { gift_card_id: card.id.clone(), role: role.into() };
        let item = to_item(&keys::client_gift_card(t, client, &card.id), "gift_card_ref", &reference)?;
        plan.push(Write::put_new(item), taken());
    }
    if card.recipient_client_id.is_some() {
        let key = keyring.for_writing(store, audit).await?;
        let sealed = Sealed::seal(&key, KeyScope::Tenant, &code_aad(t, &card.id), &issue.code.grouped())?;
        let mut item =
            to_item(&keys::gift_card_mail_code(t, &card.id), "gift_card_mail_code", &json!({ "code": sealed }))?;
        item.insert(TTL.into(), (issue.at + chrono::Duration::days(MAIL_CODE_DAYS)).timestamp().into());
        plan.push(Write::put_new(item), taken());
    }
    plan.audit_also(store, audit, "gift_card.issued", card.id.as_str())?;
    let payload = json!({
        "gift_card_id": card.id,
        "amount_minor": card.initial_minor,
        "currency": card.currency,
        "recipient_client_id": card.recipient_client_id,
        "buyer_client_id": card.buyer_client_id,
    });
    plan.announce(DomainEvent::new(t, GIFT_CARD_ISSUED, card.id.as_str(), issue.at, payload))?;
    Ok(card)
}

/// The code sealed for the recipient's email, opened (`None` once it went, or was dropped).
pub async fn mail_code(store: &Store, keyring: &Keyring, t: &TenantId, id: &GiftCardId) -> AppResult<Option<String>> {
    #[derive(Deserialize)]
    struct Stored {
        code: Sealed,
    }
    let Some(stored) = store.get::<Stored>(&keys::gift_card_mail_code(t, id)).await? else { return Ok(None) };
    let Some(key) = keyring.existing(store, t).await? else { return Ok(None) };
    Ok(Some(stored.code.open::<String>(&key, &code_aad(t, id))?))
}

/// Drops the sealed copy once the email went: from then on, nobody holds the code but its owner.
pub async fn forget_mail_code(store: &Store, t: &TenantId, id: &GiftCardId) -> AppResult<()> {
    store.table.transact(vec![Write::delete(keys::gift_card_mail_code(t, id))]).await?;
    Ok(())
}

// ---- Corrections --------------------------------------------------------------------------

/// What a sale's void or refund does to its gift cards, in the correction's transaction: what
/// went back onto a card is added to its balance; a void also voids the cards the sale sold,
/// unless one was spent already (409 `gift_card_spent`).
pub async fn push_correction(
    plan: &mut Plan,
    store: &Store,
    audit: &AuditContext,
    sale: &Sale,
    correction: &mas_domain::sale::Correction,
) -> AppResult<()> {
    let t = &audit.tenant_id;
    let (correction_id, at) = (&correction.id, correction.at);
    let voids = correction.kind == mas_domain::sale::CorrectionKind::Void;
    let returns = &correction.returns;
    for back in returns.iter().filter(|r| r.method == mas_domain::sale::ReturnMethod::GiftCard) {
        let Some(id) = &back.gift_card_id else { continue };
        let mut card = get(store, t, id).await?;
        card.give_back(back.amount_minor);
        plan.push(versioned_put(t, &card)?, stale());
        let mut returned = movement(&card, MovementKind::Returned, back.amount_minor, at, &audit.actor);
        returned.sale_id = Some(sale.id.clone());
        returned.correction_id = Some(correction_id.clone());
        plan.push(movement_write(t, &returned)?, stale());
    }
    if voids {
        for id in sale.lines.iter().filter_map(|l| l.gift_card_id.as_ref()) {
            let mut card = get(store, t, id).await?;
            if card.balance_minor != card.initial_minor || card.status != GiftCardStatus::Active {
                return Err(GiftCardError::SoldCardSpent.into());
            }
            card.void("its sale was voided")?;
            plan.push(versioned_put(t, &card)?, stale());
            let mut voided = movement(&card, MovementKind::Voided, 0, at, &audit.actor);
            voided.sale_id = Some(sale.id.clone());
            voided.correction_id = Some(correction_id.clone());
            plan.push(movement_write(t, &voided)?, stale());
        }
    }
    Ok(())
}

// ---- Online ------------------------------------------------------------------------------

/// Who buys a card online.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Buyer {
    pub name: Name,
    /// Where the confirmation goes (and the portal lists the card).
    pub email: mas_domain::values::Email,
}

/// An online purchase waiting for its payment: what the webhook issues once the intent succeeded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GiftOrder {
    pub id: GiftOrderId,
    /// The card this purchase issues (derived from the order: a replayed event names the same).
    pub gift_card_id: GiftCardId,
    pub amount_minor: i64,
    pub currency: mas_domain::values::Currency,
    pub buyer: Buyer,
    pub recipient: Recipient,
    pub intent_id: IntentId,
    pub created_at: DateTime<Utc>,
}

/// What `STRIPE#PI#{pi}`/`GIFT` holds: whose purchase an intent pays.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OrderRef {
    pub tenant_id: TenantId,
    pub order_id: GiftOrderId,
}

/// A purchase started: the intent the buyer pays in the browser.
#[derive(Debug, Clone)]
pub struct Purchase {
    pub order: GiftOrder,
    pub client_secret: Option<mas_domain::payment::ClientSecret>,
}

/// Starts an online purchase of a card of `amount` (the clinic's currency, within the bounds):
/// the order and the gateway's intent, whose success the webhook turns into the card. The code
/// goes to the recipient's email, so the recipient needs one.
pub async fn start_purchase(
    ports: crate::payments::Ports<'_>,
    audit: &AuditContext,
    amount: mas_domain::values::MinorUnits,
    buyer: Buyer,
    recipient: Recipient,
) -> AppResult<Purchase> {
    let (store, t) = (ports.store, &audit.tenant_id);
    gift_card::check_amount(amount.get(), "amount_minor")?;
    if recipient.email.is_none() {
        return Err(GiftCardError::RecipientEmailRequired.into());
    }
    let tenant: mas_domain::tenant::Tenant =
        store.get(&keys::tenant_profile(t)).await?.ok_or(AppError::NotFound { what: "tenant" })?;
    let id = GiftOrderId::new();
    let gift_card_id = GiftCardId::parse(&format!("gft_{}", &id.as_str()[4..])).map_err(|e| AppError::Internal(e.0))?;
    let destination = crate::connect::destination(ports, t, amount).await?;
    let intent = ports
        .payments
        .create_intent(mas_ports::payments::IntentRequest {
            amount,
            currency: tenant.currency.clone(),
            metadata: std::collections::BTreeMap::from([
                ("tenant_id".to_owned(), t.to_string()),
                ("kind".to_owned(), "gift_card".to_owned()),
                ("gift_order_id".to_owned(), id.to_string()),
            ]),
            idempotency_key: format!("{id}-intent"),
            customer: None,
            save_for_later: false,
            charge_saved_method: None,
            destination,
        })
        .await?;
    let order = GiftOrder {
        id: id.clone(),
        gift_card_id,
        amount_minor: amount.get(),
        currency: tenant.currency,
        buyer,
        recipient,
        intent_id: intent.id.clone(),
        created_at: store.clock.now(),
    };
    let mut plan = Plan::new();
    let taken = || AppError::conflict("id_taken", "an id clash; try again");
    plan.push(Write::put_new(to_item(&keys::gift_order(t, &id), "gift_order", &order)?), taken());
    let reference = OrderRef { tenant_id: t.clone(), order_id: id.clone() };
    let item = to_item(&keys::stripe_intent_gift(intent.id.as_str()), "intent_gift", &reference)?;
    plan.push(Write::put_new(item), taken());
    plan.commit(store, audit, "gift_card.purchase_started", id.as_str()).await?;
    Ok(Purchase { order, client_secret: intent.client_secret })
}

pub async fn order(store: &Store, t: &TenantId, id: &GiftOrderId) -> AppResult<GiftOrder> {
    store.get(&keys::gift_order(t, id)).await?.ok_or(AppError::NotFound { what: "gift card purchase" })
}

/// Whether a purchase's card was issued (the webhook has recorded its payment).
pub async fn purchase_issued(store: &Store, t: &TenantId, id: &GiftOrderId) -> AppResult<Option<GiftCard>> {
    let order = order(store, t, id).await?;
    store.get(&keys::gift_card(t, &order.gift_card_id)).await
}

/// The purchase an intent pays, if it is one.
pub async fn order_of_intent(store: &Store, intent: &IntentId) -> AppResult<Option<OrderRef>> {
    store.get(&keys::stripe_intent_gift(intent.as_str())).await
}

/// Issues the card of a paid purchase, once: called by the verified webhook with the intent as
/// the gateway reports it now. An intent that has not succeeded for the order's amount issues
/// nothing; a card already issued (a replayed or concurrent event) is left as it is.
pub async fn issue_paid(
    ports: crate::payments::Ports<'_>,
    audit: &AuditContext,
    reference: &OrderRef,
    intent: &mas_ports::payments::Intent,
) -> AppResult<Option<GiftCard>> {
    let (store, t) = (ports.store, &reference.tenant_id);
    let order = order(store, t, &reference.order_id).await?;
    let received = intent.snapshot.amount_received.unwrap_or(intent.snapshot.amount);
    if intent.snapshot.status != mas_domain::payment::IntentStatus::Succeeded
        || received != order.amount_minor
        || intent.currency != order.currency.as_str()
        || intent.id != order.intent_id
    {
        tracing::info!(gift_order_id = %order.id, "gift card intent not (yet) paid for the order: nothing issued");
        return Ok(None);
    }
    if store.get::<GiftCard>(&keys::gift_card(t, &order.gift_card_id)).await?.is_some() {
        return Ok(None);
    }
    let mut plan = Plan::new();
    let buyer_details = ClientInput {
        first_name: first_and_last(&order.buyer.name)?.0,
        last_name: first_and_last(&order.buyer.name)?.1,
        email: Some(order.buyer.email.clone()),
        phone: None,
        date_of_birth: None,
        notes: None,
        marketing_consent: false,
    };
    let (buyer, creation) = clients::for_public_booking(store, audit, buyer_details).await?;
    if let Some(creation) = creation {
        plan.append(creation);
    }
    let code = GiftCardCode::generate();
    let issue = Issue {
        id: &order.gift_card_id,
        code: &code,
        amount_minor: order.amount_minor,
        currency: order.currency.clone(),
        recipient: order.recipient.clone(),
        buyer: Some(buyer),
        sold_via: SoldVia::Online { intent_id: order.intent_id.to_string() },
        at: store.clock.now(),
    };
    let card = push_issue(&mut plan, store, ports.keyring, audit, issue).await?;
    match plan.commit(store, audit, "gift_card.sold_online", order.id.as_str()).await {
        Ok(()) => Ok(Some(card)),
        // Refused because another delivery of the news issued it at the same moment: the card
        // (its id is the order's) is there now. Any other refusal stands.
        Err(refused) => match get(store, &audit.tenant_id, &order.gift_card_id).await {
            Ok(_) => Ok(None),
            Err(AppError::NotFound { .. }) => Err(refused),
            Err(other) => Err(other),
        },
    }
}

fn first_and_last(name: &Name) -> AppResult<(Name, Name)> {
    let words: Vec<&str> = name.as_str().split_whitespace().collect();
    let (first, last) = match words.as_slice() {
        [one] => (*one, *one),
        [first, .., last] => (*first, *last),
        [] => ("Gift", "Recipient"),
    };
    let parse = |n: &str| Name::parse(n).map_err(|e| AppError::invalid("invalid_name", "name", e.0));
    Ok((parse(first)?, parse(last)?))
}
