//! Partner webhook deliveries over HTTP(S) with reqwest.
//!
//! SSRF: the endpoint's URL was checked when it was registered (`partner::EndpointUrl`), but a
//! public name may later resolve to a private address (or be made to: DNS rebinding). So with
//! [`Egress::Public`] the host is resolved here, every address checked with
//! `partner::is_public_ip`, and the request pinned to the checked address (reqwest's `resolve`),
//! so the connection goes where the check looked. Redirects are not followed (a 3xx is a
//! failure), so an endpoint cannot bounce us elsewhere.

use std::net::SocketAddr;
use std::time::Duration;

use async_trait::async_trait;
use mas_domain::partner::{Egress, EndpointUrl, TIMEOUT_SECONDS, is_public_ip};
use mas_ports::{OutboundPost, PostError, WebhookPoster};

pub struct HttpPoster {
    egress: Egress,
    timeout: Duration,
}

impl HttpPoster {
    /// A sender for `egress` (`Public` on AWS) with the deliveries' timeout.
    pub fn new(egress: Egress) -> HttpPoster {
        HttpPoster { egress, timeout: Duration::from_secs(TIMEOUT_SECONDS) }
    }

    fn client(&self, pinned: Option<(&str, SocketAddr)>) -> Result<reqwest::Client, PostError> {
        let builder = reqwest::Client::builder().timeout(self.timeout).redirect(reqwest::redirect::Policy::none());
        let builder = match pinned {
            Some((host, addr)) => builder.resolve(host, addr),
            None => builder,
        };
        builder.build().map_err(|e| PostError::NoAnswer(format!("no HTTP client: {e}")))
    }
}

#[async_trait]
impl WebhookPoster for HttpPoster {
    async fn post(&self, post: &OutboundPost) -> Result<u16, PostError> {
        let url = EndpointUrl::parse(&post.url, self.egress).map_err(PostError::Refused)?;
        let pinned = match self.egress {
            Egress::AlsoLoopback => None,
            Egress::Public => {
                let host = url.host();
                let port = if url.as_str().starts_with("https") { 443 } else { 80 };
                let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
                    .await
                    .map_err(|e| PostError::NoAnswer(format!("{host} does not resolve: {e}")))?
                    .collect();
                if addrs.is_empty() || addrs.iter().any(|a| !is_public_ip(a.ip())) {
                    return Err(PostError::Refused(format!("{host} resolves to an address deliveries may not go to")));
                }
                Some((host, addrs[0]))
            }
        };
        let client = self.client(pinned.as_ref().map(|(h, a)| (h.as_str(), *a)))?;
        let mut request = client.post(url.as_str()).body(post.body.clone());
        for (name, value) in &post.headers {
            request = request.header(name.as_str(), value.as_str());
        }
        let response = request.send().await.map_err(|e| {
            if e.is_timeout() {
                PostError::NoAnswer(format!("no answer within {} s", self.timeout.as_secs()))
            } else {
                PostError::NoAnswer(format!("no answer: {e}"))
            }
        })?;
        Ok(response.status().as_u16())
    }
}
