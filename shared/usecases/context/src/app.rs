//! The `App` context: every port a handler needs, built once per process by its host (each
//! Lambda's `main` builds only the adapters it uses, from `mas_functions::config`; the local host
//! and the tests build embedded ones). With nothing chosen, a port fails when used
//! (`Unconfigured`), so a function can never silently act on a port it was not given.

use std::sync::Arc;

use mas_domain::links::LinkSigner;
use mas_domain::webhook::WebhookSecret;
use mas_ports::{
    Blobs, Cdn, Clock, Events, Identity, KeyWrapper, LogCdn, Mailer, Payments, Queue, SmsSender, Table, TxtResolver,
    Unconfigured,
};
use mas_store::Store;
use mas_store::crypto::Keyring;

use crate::local_identity::LocalIdentity;
use crate::tokens::LocalIssuer;

pub enum AuthMode {
    /// On Lambda: API Gateway verified the JWT; claims come from the request context.
    ApiGateway,
    /// Locally: the host verifies bearer tokens itself (and the embedded identity signs them).
    Local(Arc<LocalIssuer>),
}

pub struct Config {
    pub site_domain: String,
}

/// Where a clinic's client portal page is: under the local host's `/sites/{slug}/` (when it has
/// a public URL), or on the clinic's site.
pub fn portal_url(public_url: Option<&str>, site_domain: &str, slug: &mas_domain::values::Slug) -> String {
    match public_url {
        Some(base) => format!("{base}/sites/{slug}/portal/"),
        None => format!("https://{slug}.{site_domain}/portal/"),
    }
}

pub struct App {
    pub store: Store,
    pub auth: AuthMode,
    /// Staff passwords and sessions: the embedded adapter with local auth; Cognito on AWS.
    pub identity: Arc<dyn Identity>,
    /// Where the back office is served (`MAS_APP_URL`); `None`: `/app/` on the API's host.
    pub app_url: Option<String>,
    /// How often public routes may be called per address, phone and clinic.
    pub limits: crate::limits::Limits,
    pub config: Config,
    /// Tenants' data keys for clinical fields.
    pub keyring: Arc<Keyring>,
    pub payments: Arc<dyn Payments>,
    pub events: Arc<dyn Events>,
    /// Verifies `Stripe-Signature` on `/webhooks/stripe`.
    pub webhook_secret: WebhookSecret,
    /// Verifies `Stripe-Signature` on `/webhooks/stripe/connect` (Stripe gives the Connect
    /// endpoint a secret of its own).
    pub connect_webhook_secret: WebhookSecret,
    /// The platform's cut of each online payment to a clinic's connected account
    /// (`MAS_APPLICATION_FEE_BPS`; none unless set).
    pub application_fee: mas_domain::connect::FeeRate,
    pub blobs: Arc<dyn Blobs>,
    pub queue: Arc<dyn Queue>,
    pub links: Arc<LinkSigner>,
    /// The base URL of links we hand out; `None`: the request's own host.
    pub public_url: Option<String>,
    /// Where published tenant sites go (`sites/{slug}/…`); `None`: `blobs`.
    pub site_blobs: Option<Arc<dyn Blobs>>,
    /// Drops the CDN's cached copies of a site after it is published.
    pub cdn: Arc<dyn Cdn>,
    /// The API's base URL as published pages call it; empty: the site's own origin.
    pub site_api_base: String,
    pub mailer: Arc<dyn Mailer>,
    pub sms: Arc<dyn SmsSender>,
    /// The address clinics' mail is sent from (their name is the display name).
    pub mail_from: String,
    /// Verifies `X-Twilio-Signature` on `/webhooks/twilio` (the account's auth token).
    pub twilio_auth_token: Option<String>,
    /// TXT lookups that prove a clinic controls its custom domain.
    pub dns: Arc<dyn TxtResolver>,
    /// Sends partner webhook deliveries (`mas-outbound`).
    pub webhook_poster: Arc<dyn mas_ports::WebhookPoster>,
    /// Where partner endpoints may be: public `https` on AWS; also loopback `http` locally.
    pub partner_egress: mas_domain::partner::Egress,
}

impl App {
    /// An app over `table` and `clock` whose other ports are unconfigured (they fail when used);
    /// the `with_*` methods supply them. Local auth brings the embedded identity (passwords and
    /// sessions in the table); a random link secret and webhook secret make any link or webhook
    /// check fail closed until real ones are given.
    pub fn new(table: Arc<dyn Table>, clock: Arc<dyn Clock>, auth: AuthMode, config: Config) -> App {
        let unconfigured = Arc::new(Unconfigured);
        let identity: Arc<dyn Identity> = match &auth {
            AuthMode::Local(issuer) => Arc::new(LocalIdentity::new(table.clone(), clock.clone(), issuer.clone())),
            AuthMode::ApiGateway => unconfigured.clone(),
        };
        App {
            store: Store::new(table, clock),
            auth,
            identity,
            app_url: None,
            limits: Default::default(),
            config,
            keyring: Arc::new(Keyring::new(unconfigured.clone())),
            payments: unconfigured.clone(),
            events: unconfigured.clone(),
            webhook_secret: unguessable_webhook_secret(),
            connect_webhook_secret: unguessable_webhook_secret(),
            application_fee: Default::default(),
            blobs: unconfigured.clone(),
            queue: unconfigured.clone(),
            links: Arc::new(LinkSigner::random()),
            public_url: None,
            site_blobs: None,
            cdn: Arc::new(LogCdn::new()),
            site_api_base: String::new(),
            mailer: unconfigured.clone(),
            sms: unconfigured.clone(),
            mail_from: "bookings@mail.localhost".into(),
            twilio_auth_token: None,
            dns: unconfigured.clone(),
            webhook_poster: unconfigured,
            partner_egress: mas_domain::partner::Egress::Public,
        }
    }

    /// The blob store tenant sites are published to.
    pub fn site_blobs(&self) -> &dyn Blobs {
        self.site_blobs.as_deref().unwrap_or(self.blobs.as_ref())
    }

    pub fn with_site_blobs(mut self, blobs: Arc<dyn Blobs>) -> App {
        self.site_blobs = Some(blobs);
        self
    }

    pub fn with_dns(mut self, dns: Arc<dyn TxtResolver>) -> App {
        self.dns = dns;
        self
    }

    /// The partner webhook sender and where its endpoints may be.
    pub fn with_webhook_poster(
        mut self,
        poster: Arc<dyn mas_ports::WebhookPoster>,
        egress: mas_domain::partner::Egress,
    ) -> App {
        self.webhook_poster = poster;
        self.partner_egress = egress;
        self
    }

    pub fn with_cdn(mut self, cdn: Arc<dyn Cdn>) -> App {
        self.cdn = cdn;
        self
    }

    /// The gateway alone, for a function that checks no webhook signatures.
    pub fn with_payments_gateway(mut self, payments: Arc<dyn Payments>) -> App {
        self.payments = payments;
        self
    }

    pub fn with_payments(mut self, payments: Arc<dyn Payments>, webhook_secret: WebhookSecret) -> App {
        self.payments = payments;
        self.webhook_secret = webhook_secret;
        self
    }

    /// The Connect endpoint's signing secret (`/webhooks/stripe/connect`).
    pub fn with_connect_webhook_secret(mut self, secret: WebhookSecret) -> App {
        self.connect_webhook_secret = secret;
        self
    }

    pub fn with_events(mut self, events: Arc<dyn Events>) -> App {
        self.store = self.store.with_events(events.clone());
        self.events = events;
        self
    }

    pub fn with_messaging(mut self, mailer: Arc<dyn Mailer>, sms: Arc<dyn SmsSender>) -> App {
        self.mailer = mailer;
        self.sms = sms;
        self
    }

    pub fn with_key_wrapper(mut self, wrapper: Arc<dyn KeyWrapper>) -> App {
        self.keyring = Arc::new(Keyring::new(wrapper));
        self
    }

    pub fn with_blobs(mut self, blobs: Arc<dyn Blobs>) -> App {
        self.blobs = blobs;
        self
    }

    pub fn with_queue(mut self, queue: Arc<dyn Queue>) -> App {
        self.queue = queue;
        self
    }

    pub fn with_links(mut self, links: Arc<LinkSigner>) -> App {
        self.links = links;
        self
    }

    pub fn with_public_url(mut self, url: impl Into<String>) -> App {
        self.public_url = Some(url.into().trim_end_matches('/').to_owned());
        self
    }

    pub fn with_identity(mut self, identity: Arc<dyn Identity>) -> App {
        self.identity = identity;
        self
    }
}

/// A webhook secret no one knows: a process given no real one verifies no webhook.
fn unguessable_webhook_secret() -> WebhookSecret {
    let mut bytes = [0u8; 24];
    mas_ports::crypto::fill_random(&mut bytes).expect("the operating system supplies randomness");
    WebhookSecret::new(format!("whsec_{}", hex::encode(bytes))).expect("48 hex digits are a valid secret")
}
