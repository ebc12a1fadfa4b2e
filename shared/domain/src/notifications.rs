//! What a clinic tells its clients, and when: message kinds, their templates (rendered strictly:
//! a missing variable stops the message), channel preferences, quiet hours and the reminder plan
//! of an appointment, all evaluated in the location's time zone. Pure: no I/O.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDateTime, NaiveTime, TimeZone as _, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Email,
    Sms,
}

impl Channel {
    pub const ALL: [Channel; 2] = [Channel::Email, Channel::Sms];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
        }
    }
}

/// Why a message is sent, which decides the consent it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// About something the client booked or asked for.
    Transactional,
    /// Offers; needs marketing consent and carries `List-Unsubscribe`.
    Marketing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    Confirmation,
    #[serde(rename = "prep_48h")]
    Prep48h,
    #[serde(rename = "reminder_24h")]
    Reminder24h,
    #[serde(rename = "check_in_2h")]
    CheckIn2h,
    Aftercare,
    FollowUp,
    Rebook,
    CancellationNotice,
    RescheduleNotice,
    DepositReceipt,
    PortalLink,
    SignatureRequest,
    SignatureReminder,
    /// A link to pay a balance or a fee on a hosted page.
    PaymentLink,
    /// A desk sale's receipt or a credit note of its void or refund (email only).
    Receipt,
    /// A gift card's code, to the person it is for (email only).
    GiftCard,
    /// To whoever bought a gift card online: it was paid and sent (never its code).
    GiftCardPurchase,
    /// A waitlisted client: a time that suits them is held for them until the link expires.
    WaitlistOffer,
    /// A member: this month's charge failed (dunning); pay or change the card on the link.
    MembershipPaymentFailed,
    /// After a completed visit: a one-time link to review it (`domain::review`).
    ReviewRequest,
    /// A membership the desk started: the page where she joins and pays the first month.
    MembershipSignup,
}

impl MessageKind {
    pub const ALL: [MessageKind; 21] = [
        MessageKind::Confirmation,
        MessageKind::Prep48h,
        MessageKind::Reminder24h,
        MessageKind::CheckIn2h,
        MessageKind::Aftercare,
        MessageKind::FollowUp,
        MessageKind::Rebook,
        MessageKind::CancellationNotice,
        MessageKind::RescheduleNotice,
        MessageKind::DepositReceipt,
        MessageKind::PortalLink,
        MessageKind::SignatureRequest,
        MessageKind::SignatureReminder,
        MessageKind::PaymentLink,
        MessageKind::Receipt,
        MessageKind::GiftCard,
        MessageKind::GiftCardPurchase,
        MessageKind::WaitlistOffer,
        MessageKind::MembershipPaymentFailed,
        MessageKind::ReviewRequest,
        MessageKind::MembershipSignup,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Confirmation => "confirmation",
            MessageKind::Prep48h => "prep_48h",
            MessageKind::Reminder24h => "reminder_24h",
            MessageKind::CheckIn2h => "check_in_2h",
            MessageKind::Aftercare => "aftercare",
            MessageKind::FollowUp => "follow_up",
            MessageKind::Rebook => "rebook",
            MessageKind::CancellationNotice => "cancellation_notice",
            MessageKind::RescheduleNotice => "reschedule_notice",
            MessageKind::DepositReceipt => "deposit_receipt",
            MessageKind::PortalLink => "portal_link",
            MessageKind::SignatureRequest => "signature_request",
            MessageKind::SignatureReminder => "signature_reminder",
            MessageKind::PaymentLink => "payment_link",
            MessageKind::Receipt => "receipt",
            MessageKind::GiftCard => "gift_card",
            MessageKind::GiftCardPurchase => "gift_card_purchase",
            MessageKind::WaitlistOffer => "waitlist_offer",
            MessageKind::MembershipPaymentFailed => "membership_payment_failed",
            MessageKind::ReviewRequest => "review_request",
            MessageKind::MembershipSignup => "membership_signup",
        }
    }

    pub fn parse(raw: &str) -> Option<MessageKind> {
        MessageKind::ALL.into_iter().find(|k| k.as_str() == raw)
    }

    pub fn purpose(self) -> Purpose {
        match self {
            MessageKind::Rebook => Purpose::Marketing,
            _ => Purpose::Transactional,
        }
    }

    fn template(self) -> &'static Template {
        &TEMPLATES[self as usize]
    }
}

/// One message's wording: the email subject and body (paragraphs separated by blank lines),
/// and the SMS text. `{{name}}` marks a variable.
struct Template {
    subject: &'static str,
    body: &'static str,
    sms: &'static str,
}

/// In `MessageKind` order.
const TEMPLATES: [Template; 21] = [
    Template {
        subject: "Your {{service.name}} is booked: {{appointment.when}}",
        body: "Hello {{client.first_name}},\n\nYour {{service.name}} at {{clinic.name}} is booked for {{appointment.when}} at {{location.name}}.\n\nYour booking number is {{appointment.number}}. Keep it for any question about this visit.",
        sms: "{{clinic.name}}: your {{service.name}} is booked for {{appointment.when}} ({{appointment.number}}).",
    },
    Template {
        subject: "Preparing for your {{service.name}}",
        body: "Hello {{client.first_name}},\n\nYour {{service.name}} is on {{appointment.when}}. To prepare: avoid alcohol, blood-thinning medicines you can safely pause, and strong sun exposure for 24 hours before, and arrive with clean skin.\n\nIf anything about your health has changed since you booked, tell us before your visit.",
        sms: "{{clinic.name}}: your {{service.name}} is on {{appointment.when}}. Preparation guide sent by email.",
    },
    Template {
        subject: "Reminder: {{service.name}} tomorrow, {{appointment.when}}",
        body: "Hello {{client.first_name}},\n\nThis is a reminder of your {{service.name}} at {{location.name}} on {{appointment.when}}.\n\nBooking number {{appointment.number}}.",
        sms: "{{clinic.name}}: reminder of your {{service.name}} on {{appointment.when}}. Reply C to confirm.",
    },
    Template {
        subject: "See you soon at {{clinic.name}}",
        body: "Hello {{client.first_name}},\n\nWe look forward to seeing you at {{appointment.when}} at {{location.name}}.",
        sms: "{{clinic.name}}: see you at {{appointment.when}} at {{location.name}}. Reply C to confirm.",
    },
    Template {
        subject: "Aftercare for your {{service.name}}",
        body: "Hello {{client.first_name}},\n\nThank you for visiting {{clinic.name}}. For the next days: keep the area clean, avoid heat, saunas and strenuous exercise, and use sun protection.\n\nIf you notice anything that worries you, contact us straight away.",
        sms: "{{clinic.name}}: aftercare guidance for your {{service.name}} is in your email.",
    },
    Template {
        subject: "How was your {{service.name}}?",
        body: "Hello {{client.first_name}},\n\nA week has passed since your {{service.name}} at {{clinic.name}}. We would value a few words on how it went: reply to this email.",
        sms: "{{clinic.name}}: how was your {{service.name}}? Reply to our email to tell us.",
    },
    Template {
        subject: "Time for your next {{service.name}}?",
        body: "Hello {{client.first_name}},\n\nIt has been a month since your {{service.name}} at {{clinic.name}}. Book your next visit online whenever suits you.",
        sms: "{{clinic.name}}: time for your next {{service.name}}? Book online. Reply STOP to opt out.",
    },
    Template {
        subject: "Cancelled: {{service.name}} on {{appointment.when}}",
        body: "Hello {{client.first_name}},\n\nYour {{service.name}} on {{appointment.when}} ({{appointment.number}}) is cancelled.",
        sms: "{{clinic.name}}: your {{service.name}} on {{appointment.when}} is cancelled.",
    },
    Template {
        subject: "Moved: {{service.name}} is now {{appointment.when}}",
        body: "Hello {{client.first_name}},\n\nYour {{service.name}} ({{appointment.number}}) has moved to {{appointment.when}} at {{location.name}}.",
        sms: "{{clinic.name}}: your {{service.name}} is now {{appointment.when}}.",
    },
    Template {
        subject: "Deposit received: {{payment.amount}}",
        body: "Hello {{client.first_name}},\n\nWe received your deposit of {{payment.amount}} for your {{service.name}} on {{appointment.when}} ({{appointment.number}}).",
        sms: "{{clinic.name}}: deposit of {{payment.amount}} received for {{appointment.when}}.",
    },
    Template {
        subject: "Your sign-in link for {{clinic.name}}",
        body: "Hello {{client.first_name}},\n\nOpen this link to see your appointments at {{clinic.name}}: {{link}}\n\nIt works once and expires at {{link.expires}}. If you did not ask for it, ignore this email.",
        sms: "{{clinic.name}}: your sign-in link (once, until {{link.expires}}): {{link}}",
    },
    Template {
        subject: "Please sign: {{document.title}}",
        body: "Hello {{client.first_name}},\n\n{{clinic.name}} asks you to read and sign {{document.title}}: {{link}}\n\nThe link expires at {{link.expires}}.",
        sms: "{{clinic.name}}: please sign {{document.title}}: {{link}}",
    },
    Template {
        subject: "Reminder: please sign {{document.title}}",
        body: "Hello {{client.first_name}},\n\n{{document.title}} is still waiting for your signature: {{link}}\n\nThe link expires at {{link.expires}}.",
        sms: "{{clinic.name}}: {{document.title}} still needs your signature: {{link}}",
    },
    Template {
        subject: "Payment link: {{payment.amount}} to {{clinic.name}}",
        body: "Hello {{client.first_name}},\n\n{{payment.for}}: {{payment.amount}}. You can pay it securely online here: {{link}}\n\nThe link works until {{link.expires}}. If you have already paid, please ignore this message.",
        sms: "{{clinic.name}}: {{payment.for}}, {{payment.amount}}. Pay online until {{link.expires}}: {{link}}",
    },
    Template {
        subject: "Your {{receipt.title}} {{receipt.number}} from {{clinic.name}}",
        body: "Hello {{client.first_name}},\n\nThank you for visiting {{clinic.name}}. Your {{receipt.title}} {{receipt.number}} ({{receipt.amount}}) is ready: download it from your client portal, where every receipt of yours is kept: {{portal.url}}\n\nIts stamp, to check it is ours and unaltered: {{receipt.stamp}}",
        sms: "{{clinic.name}}: your {{receipt.title}} {{receipt.number}} ({{receipt.amount}}) is in your email.",
    },
    Template {
        subject: "A gift card of {{gift_card.amount}} for you from {{clinic.name}}",
        body: "Hello {{client.first_name}},\n\nYou have a gift card of {{gift_card.amount}} to spend at {{clinic.name}}. Its code is:\n\n{{gift_card.code}}\n\nShow or tell it at the desk when you pay; you may spend it in part, and what is left stays on the card. {{gift_card.expiry}}\n\nKeep this code safe: whoever has it can spend the card. Your gift cards and their balances are in your client portal: {{portal.url}}",
        sms: "{{clinic.name}}: a gift card of {{gift_card.amount}} for you is in your email.",
    },
    Template {
        subject: "Your gift card of {{gift_card.amount}} from {{clinic.name}}",
        body: "Hello {{client.first_name}},\n\nThank you: your gift card of {{gift_card.amount}} for {{gift_card.recipient}} is paid, and its code has been emailed to them (the card ending {{gift_card.last4}}). {{gift_card.expiry}}\n\nFor your records, your purchases are in your client portal: {{portal.url}}",
        sms: "{{clinic.name}}: your gift card of {{gift_card.amount}} for {{gift_card.recipient}} is paid and sent.",
    },
    Template {
        subject: "A time for your {{service.name}}: {{appointment.when}}",
        body: "Hello {{client.first_name}},\n\nA time you were waiting for has come free at {{clinic.name}}: {{service.name}} on {{appointment.when}} at {{location.name}}.\n\nWe are holding it for you until {{link.expires}}. Take it or give it back here: {{link}}\n\nIf you do nothing, it goes to the next person waiting.",
        sms: "{{clinic.name}}: {{service.name}} {{appointment.when}} is free and held for you until {{link.expires}}. Take it: {{link}}",
    },
    Template {
        subject: "Your {{membership.plan}} payment did not go through",
        body: "Hello {{client.first_name}},\n\nWe could not take this month's {{membership.amount}} for your {{membership.plan}} membership at {{clinic.name}}. {{membership.retry}}\n\nYou can pay it, or change the card you pay with, here: {{link}}\n\nUntil it is paid, this month's credits wait. Your membership is in your client portal: {{portal.url}}",
        sms: "{{clinic.name}}: this month's {{membership.plan}} payment ({{membership.amount}}) did not go through. Pay or change your card: {{link}}",
    },
    Template {
        subject: "How was your {{service.name}} at {{clinic.name}}?",
        body: "Hello {{client.first_name}},\n\nThank you for visiting {{clinic.name}}. How was your {{service.name}}? Give it a rating and a few words here: {{link}}\n\nThe clinic reads every review before it appears on its website, under the name you choose (your first name and initial unless you pick another). The link works once, until {{link.expires}}.",
        sms: "{{clinic.name}}: how was your {{service.name}}? Review it here (once, until {{link.expires}}): {{link}}",
    },
    Template {
        subject: "Join {{membership.plan}} at {{clinic.name}}",
        body: "Hello {{client.first_name}},\n\n{{clinic.name}} has set up your {{membership.plan}} membership: {{membership.amount}} a month. To join, pay the first month on this secure page: {{link}}\n\nThe page works until {{link.expires}}; after that, ask the clinic for a new one. Once you have joined, your membership is in your client portal: {{portal.url}}",
        sms: "{{clinic.name}}: join {{membership.plan}} ({{membership.amount}} a month) on this page until {{link.expires}}: {{link}}",
    },
];

/// A message ready for a channel: every variable filled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
    pub sms: String,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("template variables missing: {}", .0.join(", "))]
pub struct MissingVariables(pub Vec<String>);

/// The variables of one message, by name.
pub type Variables = BTreeMap<String, String>;

/// Renders `kind` with `vars`, or names every variable that is missing (never half a message).
pub fn render(kind: MessageKind, vars: &Variables) -> Result<Rendered, MissingVariables> {
    let template = kind.template();
    let mut missing = Vec::new();
    let subject = fill(template.subject, vars, &mut missing, |s| s.to_owned());
    let text = fill(template.body, vars, &mut missing, |s| s.to_owned());
    let body_html = fill(template.body, vars, &mut missing, crate::html::escape);
    let sms = fill(template.sms, vars, &mut missing, |s| s.to_owned());
    let color = vars.get("brand.color").cloned().unwrap_or_else(|| "#1f1f1f".into());
    if !missing.is_empty() {
        missing.sort();
        missing.dedup();
        return Err(MissingVariables(missing));
    }
    let paragraphs: String = body_html.split("\n\n").map(|p| format!("<p>{p}</p>")).collect();
    let html = format!(
        "<!doctype html><html><body style=\"font-family:Helvetica,Arial,sans-serif;color:#1f1f1f;margin:0;padding:24px\">\
         <div style=\"border-top:4px solid {color};padding-top:16px;max-width:560px\">\
         <h1 style=\"font-size:18px;color:{color}\">{}</h1>{paragraphs}</div></body></html>",
        crate::html::escape(vars.get("clinic.name").map(String::as_str).unwrap_or_default()),
    );
    Ok(Rendered { subject, text, html, sms })
}

fn fill(template: &str, vars: &Variables, missing: &mut Vec<String>, escape: impl Fn(&str) -> String) -> String {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else {
            out.push_str(&rest[open..]);
            return out;
        };
        let name = &after[..close];
        match vars.get(name).filter(|v| !v.trim().is_empty()) {
            Some(value) => out.push_str(&escape(value)),
            None => missing.push(name.to_owned()),
        }
        rest = &after[close + 2..];
    }
    out.push_str(rest);
    out
}

/// An instant as a client reads it: on the location's wall clock, with the zone's abbreviation
/// (`Tuesday 24 March 2026 at 14:30 GMT`).
/// A message as it may be kept where staff read it (the message log, the timeline): every link
/// replaced by `[link]`. A signing or sign-in link is a credential of the client's; whoever can
/// read the log must not be able to open it.
pub fn redact_links(text: &str) -> String {
    text.split_inclusive(char::is_whitespace)
        .map(|word| {
            let bare = word.trim_end();
            let lower = bare.to_ascii_lowercase();
            if lower.starts_with("http://") || lower.starts_with("https://") || lower.starts_with("www.") {
                format!("[link]{}", &word[bare.len()..])
            } else {
                word.to_owned()
            }
        })
        .collect()
}

pub fn local_when(at: DateTime<Utc>, zone: Tz) -> String {
    at.with_timezone(&zone).format("%A %-d %B %Y at %H:%M %Z").to_string()
}

/// Consent per channel and purpose. Transactional messages are on unless the client opted out
/// (an SMS `STOP` turns off the whole SMS channel); marketing needs consent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ChannelConsent {
    pub transactional: bool,
    pub marketing: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Preferences {
    pub email: ChannelConsent,
    pub sms: ChannelConsent,
}

impl Preferences {
    /// Before the client said anything: booking messages on, marketing as the client record says.
    pub fn defaults(marketing_consent: bool) -> Preferences {
        let consent = ChannelConsent { transactional: true, marketing: marketing_consent };
        Preferences { email: consent, sms: consent }
    }

    pub fn allows(&self, channel: Channel, purpose: Purpose) -> bool {
        let consent = match channel {
            Channel::Email => self.email,
            Channel::Sms => self.sms,
        };
        match purpose {
            Purpose::Transactional => consent.transactional,
            Purpose::Marketing => consent.marketing,
        }
    }

    /// `STOP`: no SMS of any kind.
    pub fn sms_stopped(self) -> Preferences {
        Preferences { sms: ChannelConsent { transactional: false, marketing: false }, ..self }
    }

    /// `START`: booking SMS again (marketing stays off until the client agrees to it).
    pub fn sms_started(self) -> Preferences {
        Preferences { sms: ChannelConsent { transactional: true, marketing: self.sms.marketing }, ..self }
    }
}

/// Hours of the location's day in which nothing is sent; `start` > `end` crosses midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct QuietHours {
    #[schema(value_type = String, example = "21:00")]
    pub start: NaiveTime,
    #[schema(value_type = String, example = "08:00")]
    pub end: NaiveTime,
}

impl Default for QuietHours {
    fn default() -> Self {
        QuietHours { start: hm(21, 0), end: hm(8, 0) }
    }
}

fn hm(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).expect("a valid time")
}

impl QuietHours {
    pub fn contains(&self, time: NaiveTime) -> bool {
        if self.start == self.end {
            false
        } else if self.start < self.end {
            time >= self.start && time < self.end
        } else {
            time >= self.start || time < self.end
        }
    }

    /// `at`, or when the quiet hours it falls in end (on the wall clock of `zone`).
    pub fn next_allowed(&self, at: DateTime<Utc>, zone: Tz) -> DateTime<Utc> {
        let local = at.with_timezone(&zone).naive_local();
        if !self.contains(local.time()) {
            return at;
        }
        let day = if self.start > self.end && local.time() >= self.start {
            local.date().succ_opt().unwrap_or(local.date())
        } else {
            local.date()
        };
        resolve(day.and_time(self.end), zone).max(at)
    }
}

/// The instant a wall-clock time names in `zone`: the earlier of two in an overlap, and the
/// first existing minute after a gap.
fn resolve(local: NaiveDateTime, zone: Tz) -> DateTime<Utc> {
    let mut probe = local;
    for _ in 0..(4 * 60) {
        if let Some(at) = zone.from_local_datetime(&probe).earliest() {
            return at.with_timezone(&Utc);
        }
        probe += Duration::minutes(1);
    }
    Utc.from_utc_datetime(&local)
}

/// What a planned message is timed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Anchor {
    Start,
    End,
}

/// One planned message: `offset_minutes` from the anchor (negative: before). Whole days are
/// counted on the location's calendar (a 14:00 visit gets its day-before reminder at 14:00 even
/// across a clock change); other offsets are elapsed time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CadenceStep {
    pub kind: MessageKind,
    pub anchor: Anchor,
    pub offset_minutes: i64,
    pub channels: Vec<Channel>,
}

/// A tenant's reminder settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct NotificationSettings {
    pub steps: Vec<CadenceStep>,
    pub quiet_hours: QuietHours,
    /// Channels of the immediate notices (confirmation, reschedule, cancellation, receipt).
    pub notice_channels: Vec<Channel>,
    /// Countries whose numbers the clinic texts (ISO codes); empty: the clinic's own country.
    /// A text to any other number is skipped, and the public site refuses such a number.
    #[serde(default)]
    pub sms_countries: Vec<super::values::CountryCode>,
    /// The most texts the clinic sends in a day (UTC): a ceiling on what abuse could cost.
    #[serde(default = "default_sms_daily_budget")]
    pub sms_daily_budget: u32,
}

fn default_sms_daily_budget() -> u32 {
    500
}

impl NotificationSettings {
    pub const MAX_SMS_DAILY_BUDGET: u32 = 100_000;

    /// Whether the clinic (in `home` country) texts `phone` (E.164): its calling code is one of
    /// the texted countries'.
    pub fn texts_to(&self, home: &str, phone: &str) -> bool {
        use super::limits::{country_calling_code, phone_calling_code};
        let Some(code) = phone_calling_code(phone) else { return false };
        if self.sms_countries.is_empty() {
            country_calling_code(home) == Some(code)
        } else {
            self.sms_countries.iter().any(|c| country_calling_code(c.as_str()) == Some(code))
        }
    }

    /// The countries texted, for messages.
    pub fn sms_country_list(&self, home: &str) -> String {
        if self.sms_countries.is_empty() {
            home.to_owned()
        } else {
            self.sms_countries.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ")
        }
    }
}

impl Default for NotificationSettings {
    fn default() -> Self {
        use Channel::{Email, Sms};
        let step = |kind, anchor, offset_minutes, channels: &[Channel]| CadenceStep {
            kind,
            anchor,
            offset_minutes,
            channels: channels.to_vec(),
        };
        NotificationSettings {
            steps: vec![
                step(MessageKind::Prep48h, Anchor::Start, -2 * 1440, &[Email]),
                step(MessageKind::Reminder24h, Anchor::Start, -1440, &[Email, Sms]),
                step(MessageKind::CheckIn2h, Anchor::Start, -120, &[Sms]),
                step(MessageKind::Aftercare, Anchor::End, 1440, &[Email]),
                step(MessageKind::FollowUp, Anchor::End, 7 * 1440, &[Email]),
                step(MessageKind::Rebook, Anchor::End, 30 * 1440, &[Email]),
            ],
            quiet_hours: QuietHours::default(),
            notice_channels: vec![Email, Sms],
            sms_countries: Vec::new(),
            sms_daily_budget: default_sms_daily_budget(),
        }
    }
}

impl NotificationSettings {
    /// Refuses settings that could not be planned: a reminder kind twice, an immediate kind in
    /// the cadence, offsets on the wrong side of their anchor or beyond a year, no channel.
    pub fn check(&self) -> Result<(), String> {
        let mut seen = Vec::new();
        for step in &self.steps {
            if !matches!(
                step.kind,
                MessageKind::Prep48h
                    | MessageKind::Reminder24h
                    | MessageKind::CheckIn2h
                    | MessageKind::Aftercare
                    | MessageKind::FollowUp
                    | MessageKind::Rebook
            ) {
                return Err(format!("{} is sent when it happens, not planned", step.kind.as_str()));
            }
            if seen.contains(&step.kind) {
                return Err(format!("{} is planned twice", step.kind.as_str()));
            }
            seen.push(step.kind);
            let ok = match step.anchor {
                Anchor::Start => (-366 * 1440..=-5).contains(&step.offset_minutes),
                Anchor::End => (0..=366 * 1440).contains(&step.offset_minutes),
            };
            if !ok {
                return Err(format!("{}: offset_minutes out of range for its anchor", step.kind.as_str()));
            }
            if step.channels.is_empty() {
                return Err(format!("{}: at least one channel", step.kind.as_str()));
            }
        }
        if self.sms_daily_budget > Self::MAX_SMS_DAILY_BUDGET {
            return Err(format!("sms_daily_budget: at most {}", Self::MAX_SMS_DAILY_BUDGET));
        }
        if self.sms_countries.len() > 50 {
            return Err("sms_countries: at most 50".into());
        }
        if let Some(unknown) =
            self.sms_countries.iter().find(|c| super::limits::country_calling_code(c.as_str()).is_none())
        {
            return Err(format!("sms_countries: {} has no telephone numbering plan", unknown.as_str()));
        }
        Ok(())
    }
}

/// A reminder due for an appointment: when to send it, and the last moment it is still worth
/// sending (a sweep that runs late drops it instead of sending it in a burst).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Planned {
    pub kind: MessageKind,
    pub channels: Vec<Channel>,
    pub due_at: DateTime<Utc>,
    pub useful_until: DateTime<Utc>,
}

/// Before the visit, a reminder must land at least this long before the start.
const LAST_USEFUL_BEFORE_START: i64 = 30;
/// After the visit, quiet hours may push a message this far past its time.
const AFTER_END_GRACE_HOURS: i64 = 12;
/// However useful it would still be, a message is never sent more than this late (the sweep
/// looks this far back): a late sweep does not send a burst of stale messages.
pub const MAX_LATENESS_HOURS: i64 = 3;

/// The reminders of a visit from `start` to `end` in `zone`, as of `now`: those whose time has
/// passed are skipped; one in quiet hours moves to their end, or is dropped if by then it is
/// no longer useful.
pub fn plan(
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    zone: Tz,
    settings: &NotificationSettings,
    now: DateTime<Utc>,
) -> Vec<Planned> {
    let mut out = Vec::new();
    for step in &settings.steps {
        let anchor = match step.anchor {
            Anchor::Start => start,
            Anchor::End => end,
        };
        let nominal = offset(anchor, step.offset_minutes, zone);
        if nominal < now {
            continue;
        }
        let limit = match step.anchor {
            Anchor::Start => start - Duration::minutes(LAST_USEFUL_BEFORE_START),
            Anchor::End => nominal + Duration::hours(AFTER_END_GRACE_HOURS),
        };
        let due_at = settings.quiet_hours.next_allowed(nominal, zone);
        if due_at > limit {
            continue;
        }
        let useful_until = limit.min(due_at + Duration::hours(MAX_LATENESS_HOURS));
        out.push(Planned { kind: step.kind, channels: step.channels.clone(), due_at, useful_until });
    }
    out.sort_by_key(|p| (p.due_at, p.kind));
    out
}

fn offset(anchor: DateTime<Utc>, minutes: i64, zone: Tz) -> DateTime<Utc> {
    if minutes % 1440 == 0 {
        let local = anchor.with_timezone(&zone).naive_local() + Duration::days(minutes / 1440);
        resolve(local, zone)
    } else {
        anchor + Duration::minutes(minutes)
    }
}

/// What an inbound SMS asks for (Twilio's advanced opt-out keywords plus ours).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmsCommand {
    Confirm,
    Stop,
    Start,
    Help,
    Other,
}

pub fn sms_command(body: &str) -> SmsCommand {
    let word = body.trim().trim_end_matches(['.', '!']).to_ascii_uppercase();
    match word.as_str() {
        "C" | "YES" | "CONFIRM" => SmsCommand::Confirm,
        "STOP" | "UNSUBSCRIBE" | "END" | "QUIT" | "CANCEL" | "OPTOUT" | "STOPALL" | "REVOKE" => SmsCommand::Stop,
        "START" | "UNSTOP" => SmsCommand::Start,
        "HELP" | "INFO" => SmsCommand::Help,
        _ => SmsCommand::Other,
    }
}

#[cfg(test)]
mod tests;
