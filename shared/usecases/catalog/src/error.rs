//! The catalog's refusals, typed: what a caller may act on is a variant with its fields; the
//! store's and ports' failures are kept whole as the source. `From<CatalogError> for AppError`
//! is the one place the public codes are given.

use mas_domain::error::AppError;
use mas_store::retry;

#[derive(Debug, Clone, thiserror::Error)]
pub enum CatalogError {
    /// 422 `in_the_past`: a policy version that would take effect before today.
    #[error("a policy cannot take effect before today")]
    PolicyInThePast,
    /// 422 `unknown_reference`: the entry names (at `field`) something missing or archived.
    #[error("refers to something that does not exist or is archived")]
    UnknownReference { field: String },
    /// 409 `slug_taken`: another entry holds the slug.
    #[error("that slug is already in use")]
    SlugTaken,
    /// 409 `sku_taken`: another product (not archived) holds the SKU.
    #[error("another product has this SKU")]
    SkuTaken,
    /// 409 `archived`: an archived entry is not changed.
    #[error("this {what} is archived and cannot be changed")]
    Archived { what: &'static str },
    /// 409 `in_use`: the entry cannot be archived while others depend on it (`why` says which).
    #[error("{why}")]
    InUse { why: String },
    #[error(transparent)]
    Store(#[from] AppError),
}

impl retry::Contended for CatalogError {
    fn is_contention(&self) -> bool {
        matches!(self, CatalogError::Store(err) if err.is_contention())
    }
}

impl From<CatalogError> for AppError {
    fn from(err: CatalogError) -> Self {
        let message = err.to_string();
        match err {
            CatalogError::PolicyInThePast => AppError::invalid("in_the_past", "effective_from", message),
            CatalogError::UnknownReference { field } => AppError::invalid("unknown_reference", field, message),
            CatalogError::SlugTaken => AppError::conflict("slug_taken", message),
            CatalogError::SkuTaken => AppError::conflict("sku_taken", message),
            CatalogError::Archived { .. } => AppError::conflict("archived", message),
            CatalogError::InUse { .. } => AppError::conflict("in_use", message),
            CatalogError::Store(err) => err,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_refusal_keeps_the_public_code_and_message_it_always_had() {
        let code = |err: CatalogError| match AppError::from(err) {
            AppError::Invalid { code, field, message } => (code, field, message),
            AppError::Conflict { code, message } => (code, None, message),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            code(CatalogError::UnknownReference { field: "location_ids[1]".into() }),
            (
                "unknown_reference",
                Some("location_ids[1]".into()),
                "refers to something that does not exist or is archived".into()
            )
        );
        assert_eq!(code(CatalogError::SlugTaken), ("slug_taken", None, "that slug is already in use".into()));
        assert_eq!(
            code(CatalogError::Archived { what: "service" }),
            ("archived", None, "this service is archived and cannot be changed".into())
        );
        assert_eq!(
            code(CatalogError::PolicyInThePast),
            ("in_the_past", Some("effective_from".into()), "a policy cannot take effect before today".into())
        );
    }
}
