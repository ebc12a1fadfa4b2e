//! The application error: what went wrong in domain or storage terms. `http::error` is the one
//! place these become HTTP statuses.

#[derive(Debug, Clone, thiserror::Error)]
pub enum AppError {
    /// Input that parsed but breaks a rule (422). `field` is a JSON path such as `opening_hours[2]`.
    #[error("{message}")]
    Invalid { code: &'static str, field: Option<String>, message: String },
    /// Input that parsed but lacks required parts (422), each named in `missing`: unfilled
    /// placeholders, a mandatory clause.
    #[error("{message}")]
    Missing { code: &'static str, message: String, missing: Vec<String> },
    /// Missing, or belonging to another tenant (404): the two are indistinguishable on purpose.
    #[error("{what} not found")]
    NotFound { what: &'static str },
    /// It existed and was removed for good (410): an erased client. Says nothing about what it was.
    #[error("{message}")]
    Gone { code: &'static str, message: String },
    /// The request clashes with stored state (409): a taken slug, a stale version, a claimed slot.
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// A refusal the caller can act on, with structured details (the engine's reasons, the
    /// service to book instead): a clash with stored state, or a rule the input breaks.
    #[error("{message}")]
    Rejected { kind: Rejection, code: &'static str, message: String, details: serde_json::Value },
    /// No valid credentials (401).
    #[error("{0}")]
    Unauthenticated(String),
    /// A sign-in or session refused, with a code the caller acts on (401): `invalid_credentials`,
    /// `mfa_required`, `session_ended`.
    #[error("{message}")]
    SignInRefused { code: &'static str, message: String },
    /// Too many attempts; try again after `retry_after_seconds` (429 with `Retry-After`).
    #[error("too many attempts; try again in {retry_after_seconds} s")]
    Limited { code: &'static str, retry_after_seconds: i64 },
    /// A backend is saturated for a moment (503 with `Retry-After`): nothing was changed.
    #[error("busy: {0}")]
    Busy(String),
    /// Valid credentials without the permission (403).
    #[error("{0}")]
    Forbidden(String),
    /// Storage or configuration failure (500); the detail goes to logs only.
    #[error("internal error: {0}")]
    Internal(String),
    /// A port's backend failed (500): the table, the bus, a queue, the blob store, the payment
    /// gateway. The adapter's own error is kept as the source, for the logs (never the caller).
    #[error("{port} failed: {source}")]
    Backend {
        port: &'static str,
        #[source]
        source: std::sync::Arc<dyn std::error::Error + Send + Sync>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// Like `Conflict` (409).
    Conflict,
    /// Like `Invalid` (422).
    Invalid,
}

/// The conflict code of a change that met another at the same moment (a cancelled transaction,
/// or a version that moved on since it was read): the same change from a fresh read may succeed.
pub const CONCURRENT_UPDATE: &str = "concurrent_update";

impl AppError {
    /// Contention: worth retrying from a fresh read (`mas_store::retry::on_contention`).
    pub fn is_contention(&self) -> bool {
        matches!(self, AppError::Conflict { code: CONCURRENT_UPDATE, .. })
    }

    /// A conflict saying the change met another; see `CONCURRENT_UPDATE`.
    pub fn contention(message: impl Into<String>) -> Self {
        AppError::conflict(CONCURRENT_UPDATE, message)
    }

    pub fn invalid(code: &'static str, field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::Invalid { code, field: Some(field.into()), message: message.into() }
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        AppError::Conflict { code, message: message.into() }
    }

    /// Wraps a port's failure, keeping it as the source: `.map_err(AppError::backend("queue"))`.
    pub fn backend<E: std::error::Error + Send + Sync + 'static>(port: &'static str) -> impl FnOnce(E) -> AppError {
        move |source| AppError::Backend { port, source: std::sync::Arc::new(source) }
    }
}

pub type AppResult<T> = Result<T, AppError>;
