//! Request extractors that speak our error envelope: JSON bodies (400 unreadable, 413 too large,
//! 422 naming the field), path ids (an id that cannot exist is simply not found), and the staff
//! `Actor` every protected handler starts from.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;

use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::error::ApiError;
use mas_domain::error::AppError;
use mas_domain::ids::{ClientId, DocumentId, RequestId, TenantId};
use mas_domain::reach::Reach;
use mas_domain::team::{Member, Permission};
use mas_store::AuditContext;
use mas_store::keys;
use mas_usecases::app::App;
use mas_usecases::tokens::StaffClaims;

/// The most bytes a request body may carry.
pub const BODY_LIMIT: usize = 64 * 1024;

/// A JSON body parsed into `T`, of at most `LIMIT` bytes.
pub struct JsonBody<T, const LIMIT: usize = BODY_LIMIT>(pub T);

impl<S: Send + Sync, T: DeserializeOwned, const LIMIT: usize> FromRequest<S> for JsonBody<T, LIMIT> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"));
        if !is_json {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes =
            axum::body::to_bytes(req.into_body(), LIMIT).await.map_err(|_| ApiError::TooLarge { limit: LIMIT })?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// 400 when the bytes are not JSON; 422 naming the field when the JSON does not fit `T`.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| ApiError::Malformed {
        code: "malformed_json",
        message: format!("the body is not valid JSON: {e}"),
    })?;
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        let message = err.inner().to_string();
        // serde names an unknown or missing field only in its message: lift it into the path.
        let named = message.strip_prefix("unknown field `").or_else(|| message.strip_prefix("missing field `"));
        let field = match named.and_then(|rest| rest.split('`').next()) {
            Some(unknown) if path == "." => unknown.to_owned(),
            Some(unknown) if !path.ends_with(unknown) => format!("{path}.{unknown}"),
            _ => path,
        };
        ApiError::InvalidField { field, message }
    })
}

/// Path parameters by name.
pub struct PathParams(HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for PathParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::Malformed { code: "malformed_path", message: e.body_text() })?;
        Ok(PathParams(params))
    }
}

impl PathParams {
    /// The id in `name`; one that cannot parse cannot exist, so it is not found.
    pub fn id<T: FromStr>(&self, name: &str, what: &'static str) -> Result<T, ApiError> {
        self.0.get(name).and_then(|raw| raw.parse().ok()).ok_or(ApiError::App(AppError::NotFound { what }))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
}

/// What the request context layer found about the caller, before any table read.
#[derive(Clone)]
pub enum Credentials {
    None,
    Claims(StaffClaims),
    Invalid(String),
}

/// A signed-in team member of the tenant named in their token.
pub struct Actor {
    pub member: Member,
    pub tenant_id: TenantId,
    pub request_id: RequestId,
}

impl Actor {
    pub fn require(&self, permission: Permission) -> Result<(), ApiError> {
        if self.member.input.role.allows(permission) {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!("the {:?} role may not do this", self.member.input.role)).into())
        }
    }

    /// What of the clinic this member reaches (care team, locations).
    pub fn reach(&self) -> Reach {
        Reach::of(&self.member)
    }

    /// A client this member may see; one out of reach is 404, as if it did not exist.
    pub async fn admit_client(&self, app: &App, client: &ClientId) -> Result<(), ApiError> {
        Ok(mas_usecases::care_team::admit(&app.store, &self.tenant_id, &self.reach().clients, client).await?)
    }

    /// A document of a client this member may see; out of reach is 404 `document`.
    pub async fn admit_document(&self, app: &App, document: &DocumentId) -> Result<(), ApiError> {
        let client = mas_usecases::documents::client_of(&app.store, &self.tenant_id, document).await?;
        match self.admit_client(app, &client).await {
            Err(ApiError::App(AppError::NotFound { .. })) => Err(AppError::NotFound { what: "document" }.into()),
            other => other,
        }
    }

    pub fn audit(&self) -> AuditContext {
        AuditContext {
            tenant_id: self.tenant_id.clone(),
            actor: self.member.id.to_string(),
            role: Some(self.member.input.role),
            request_id: self.request_id.clone(),
        }
    }
}

impl FromRequestParts<Arc<App>> for Actor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, ApiError> {
        let claims = match parts.extensions.get::<Credentials>() {
            Some(Credentials::Claims(claims)) => claims.clone(),
            Some(Credentials::Invalid(why)) => return Err(AppError::Unauthenticated(why.clone()).into()),
            _ => return Err(AppError::Unauthenticated("sign in: this route needs a bearer token".into()).into()),
        };
        // The membership is read on every request so that removing a member revokes their
        // access at once, whatever tokens they still hold.
        let member: Option<Member> = app.store.get(&keys::member(&claims.tenant_id, claims.member_id.as_str())).await?;
        let member = member
            .filter(|m| m.input.email == claims.email)
            .ok_or_else(|| AppError::Unauthenticated("this account is no longer a member of the clinic".into()))?;
        // A password reset or "sign out everywhere" moved the member to a later epoch: tokens
        // issued before it stop working now, not when they expire.
        if member.auth_epoch != claims.auth_epoch {
            return Err(AppError::Unauthenticated("this session has ended; sign in again".into()).into());
        }
        let request_id = parts.extensions.get::<RequestId>().cloned().unwrap_or_default();
        Ok(Actor { member, tenant_id: claims.tenant_id, request_id })
    }
}

/// Query-string arguments parsed into `T`; a bad value is a 422 naming the parameter.
pub struct QueryArgs<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for QueryArgs<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default();
        let deserializer = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(deserializer)
            .map(QueryArgs)
            .map_err(|err| ApiError::InvalidField { field: err.path().to_string(), message: err.inner().to_string() })
    }
}

/// A raw body of one media type (an uploaded PDF), of at most `LIMIT` bytes.
pub struct RawBody<const LIMIT: usize>(pub axum::body::Bytes);

/// The media type `RawBody` accepts.
pub const PDF: &str = "application/pdf";

impl<S: Send + Sync, const LIMIT: usize> FromRequest<S> for RawBody<LIMIT> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, ApiError> {
        let is_pdf = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|mime| mime.trim().eq_ignore_ascii_case(PDF));
        if !is_pdf {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes =
            axum::body::to_bytes(req.into_body(), LIMIT).await.map_err(|_| ApiError::TooLarge { limit: LIMIT })?;
        Ok(RawBody(bytes))
    }
}

/// An uploaded image (PNG or JPEG, by its `Content-Type`) of at most `LIMIT` bytes.
pub struct ImageBody<const LIMIT: usize>(pub mas_domain::logo::LogoFormat, pub axum::body::Bytes);

impl<S: Send + Sync, const LIMIT: usize> FromRequest<S> for ImageBody<LIMIT> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, ApiError> {
        let format = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .and_then(mas_domain::logo::LogoFormat::from_media_type)
            .ok_or(ApiError::UnsupportedMediaType)?;
        let bytes =
            axum::body::to_bytes(req.into_body(), LIMIT).await.map_err(|_| ApiError::TooLarge { limit: LIMIT })?;
        Ok(ImageBody(format, bytes))
    }
}

/// Where a request came from, for audit trails: the client IP API Gateway saw (locally the
/// socket's peer) and the user agent. Either may be missing.
pub struct RequestOrigin(pub mas_domain::esign::Origin);

impl<S: Send + Sync> FromRequestParts<S> for RequestOrigin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        use lambda_http::request::RequestContext;
        let lambda_ip = match parts.extensions.get::<RequestContext>() {
            Some(RequestContext::ApiGatewayV2(ctx)) => ctx.http.source_ip.clone(),
            _ => None,
        };
        let socket_ip = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|info| info.0.ip().to_string());
        let user_agent = parts
            .headers
            .get(axum::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().filter(|c| !c.is_control()).take(300).collect());
        Ok(RequestOrigin(mas_domain::esign::Origin { ip: lambda_ip.or(socket_ip), user_agent }))
    }
}

/// The base URL links in a response should use: the configured public URL, else the domain API
/// Gateway was called on (https), else the Host header (http, the local host).
pub struct PublicBase(pub String);

impl FromRequestParts<Arc<App>> for PublicBase {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, ApiError> {
        use lambda_http::request::RequestContext;
        if let Some(url) = &app.public_url {
            return Ok(PublicBase(url.clone()));
        }
        if let Some(RequestContext::ApiGatewayV2(ctx)) = parts.extensions.get::<RequestContext>()
            && let Some(domain) = &ctx.domain_name
        {
            return Ok(PublicBase(format!("https://{domain}")));
        }
        let host = parts.headers.get(axum::http::header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("127.0.0.1");
        Ok(PublicBase(format!("http://{host}")))
    }
}
