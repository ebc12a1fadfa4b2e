//! The one place errors become HTTP statuses and the JSON envelope
//! `{"error":{"code","message","details"}}`. Internal causes are logged, never returned.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use mas_domain::error::{AppError, Rejection};

#[derive(Debug)]
pub enum ApiError {
    App(AppError),
    /// The request could not be read at all (400).
    Malformed {
        code: &'static str,
        message: String,
    },
    /// A field failed to parse (422), named by its JSON path.
    InvalidField {
        field: String,
        message: String,
    },
    /// The body is larger than we accept (413).
    TooLarge {
        limit: usize,
    },
    UnsupportedMediaType,
    RouteNotFound,
    MethodNotAllowed,
}

impl From<AppError> for ApiError {
    fn from(err: AppError) -> Self {
        ApiError::App(err)
    }
}

/// The use cases' typed errors reach a status through `AppError`, each by its own `From` impl in
/// its crate, so the codes and messages are given in one place.
macro_rules! through_app_error {
    ($($err:ty),* $(,)?) => {$(
        impl From<$err> for ApiError {
            fn from(err: $err) -> Self {
                ApiError::App(err.into())
            }
        }
    )*};
}

through_app_error!(
    mas_usecases::CatalogError,
    mas_usecases::templates::TemplateError,
    mas_usecases::documents::DocumentError,
    mas_usecases::appointments::AppointmentError,
    mas_usecases::notifications::SettingsError,
    mas_usecases::gdpr::ErasureError,
    mas_usecases::esign::EsignError,
    mas_usecases::auth::AuthError,
    mas_usecases::audit::AuditError,
    mas_usecases::team::TeamError,
    mas_usecases::tenants::TenantError,
    mas_usecases::clients::ClientError,
    mas_usecases::limits::LimitError,
    mas_usecases::paging::PagingError,
    mas_usecases::portal::PortalError,
    mas_usecases::connect::ConnectError,
    mas_usecases::paylinks::PayLinkError,
    mas_usecases::waitlist::WaitlistError,
    mas_usecases::reviews::ReviewsError
);

impl From<mas_ports::TableError> for ApiError {
    fn from(err: mas_ports::TableError) -> Self {
        ApiError::App(err.into())
    }
}

/// The error envelope, as documented in the OpenAPI document.
#[derive(Serialize, ToSchema)]
pub struct ErrorEnvelope {
    pub error: ErrorBody,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    /// Stable, machine-readable (`slug_taken`, `invalid_field`, …).
    pub code: String,
    pub message: String,
    /// What the code's documentation says it carries (`field`, `missing`, `retry_after_seconds`,
    /// the engine's reasons…); absent when there is nothing more to say.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Object, required = false)]
    pub details: Option<Value>,
}

impl ApiError {
    pub fn parts(&self) -> (StatusCode, &str, String, Value) {
        use StatusCode as S;
        match self {
            ApiError::App(err) => match err {
                AppError::Invalid { code, field, message } => {
                    (S::UNPROCESSABLE_ENTITY, code, message.clone(), json!({ "field": field }))
                }
                AppError::Missing { code, message, missing } => {
                    (S::UNPROCESSABLE_ENTITY, code, message.clone(), json!({ "missing": missing }))
                }
                AppError::NotFound { what } => (S::NOT_FOUND, "not_found", format!("{what} not found"), Value::Null),
                AppError::Conflict { code, message } => (S::CONFLICT, code, message.clone(), Value::Null),
                AppError::Gone { code, message } => (S::GONE, code, message.clone(), Value::Null),
                AppError::Rejected { kind, code, message, details } => {
                    let status = match kind {
                        Rejection::Conflict => S::CONFLICT,
                        Rejection::Invalid => S::UNPROCESSABLE_ENTITY,
                    };
                    (status, code, message.clone(), details.clone())
                }
                AppError::Unauthenticated(message) => {
                    (S::UNAUTHORIZED, "unauthenticated", message.clone(), Value::Null)
                }
                AppError::SignInRefused { code, message } => (S::UNAUTHORIZED, code, message.clone(), Value::Null),
                AppError::Limited { code, retry_after_seconds } => (
                    S::TOO_MANY_REQUESTS,
                    code,
                    format!("too many attempts; try again in {retry_after_seconds} seconds"),
                    json!({ "retry_after_seconds": retry_after_seconds }),
                ),
                AppError::Busy(_) => (
                    S::SERVICE_UNAVAILABLE,
                    "busy",
                    format!("the service is busy; try again in {BUSY_RETRY_SECONDS} seconds"),
                    json!({ "retry_after_seconds": BUSY_RETRY_SECONDS }),
                ),
                AppError::Forbidden(message) => (S::FORBIDDEN, "forbidden", message.clone(), Value::Null),
                AppError::Internal(_) | AppError::Backend { .. } => (
                    S::INTERNAL_SERVER_ERROR,
                    "internal",
                    "something went wrong on our side; it has been logged".into(),
                    Value::Null,
                ),
            },
            ApiError::Malformed { code, message } => (S::BAD_REQUEST, code, message.clone(), Value::Null),
            ApiError::InvalidField { field, message } => {
                (S::UNPROCESSABLE_ENTITY, "invalid_field", format!("{field}: {message}"), json!({ "field": field }))
            }
            ApiError::TooLarge { limit } => (
                S::PAYLOAD_TOO_LARGE,
                "body_too_large",
                format!("the body must be at most {limit} bytes"),
                json!({ "limit": limit }),
            ),
            ApiError::UnsupportedMediaType => (
                S::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send JSON with Content-Type: application/json".into(),
                Value::Null,
            ),
            ApiError::RouteNotFound => (S::NOT_FOUND, "route_not_found", "no such route".into(), Value::Null),
            ApiError::MethodNotAllowed => (
                S::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this route does not take that method".into(),
                Value::Null,
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            ApiError::App(AppError::Internal(cause)) => tracing::error!(%cause, "request failed"),
            // The whole chain: the port, the adapter's error and whatever it wraps.
            ApiError::App(failure @ AppError::Backend { port, .. }) => {
                let chain = error_chain(failure);
                tracing::error!(port, cause = %chain, "request failed");
            }
            _ => {}
        }
        let retry_after = match &self {
            ApiError::App(AppError::Limited { retry_after_seconds, .. }) => {
                Some(retry_after_seconds.max(&1).to_string())
            }
            ApiError::App(AppError::Busy(cause)) => {
                tracing::warn!(%cause, "throttled");
                Some(BUSY_RETRY_SECONDS.to_string())
            }
            _ => None,
        };
        let (status, code, message, details) = self.parts();
        let details = Some(details).filter(|d| !d.is_null());
        let body = ErrorEnvelope { error: ErrorBody { code: code.to_owned(), message, details } };
        let mut response = (status, axum::Json(body)).into_response();
        if let Some(seconds) = retry_after.and_then(|s| axum::http::HeaderValue::from_str(&s).ok()) {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, seconds);
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// How long a throttled caller is asked to wait (the SDK has already retried with backoff).
const BUSY_RETRY_SECONDS: i64 = 2;

/// An error and its sources, outermost first (`payment gateway failed: … ← hyper: …`); a
/// source whose text the message already holds is not said twice.
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let said = cause.to_string();
        if !text.contains(&said) {
            text.push_str(" \u{2190} ");
            text.push_str(&said);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_throttled_table_answers_503_with_retry_after_and_no_internals() {
        let throttled = mas_ports::TableError::Throttled("ProvisionedThroughputExceeded on mas".into());
        let (_, _, message, _) = ApiError::from(throttled.clone()).parts();
        assert!(!message.contains("ProvisionedThroughput"), "{message}");
        let response = ApiError::from(throttled).into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers().get(axum::http::header::RETRY_AFTER).unwrap(), "2");
    }

    #[test]
    fn too_many_attempts_answers_429_with_the_wait() {
        let limited = AppError::Limited { code: "rate_limited", retry_after_seconds: 90 };
        let response = ApiError::from(limited).into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers().get(axum::http::header::RETRY_AFTER).unwrap(), "90");
    }
}
