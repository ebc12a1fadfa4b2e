//! The paging cursor both table adapters hand out: the keys of the last item of a page, as
//! URL-safe base64 of JSON shaped like DynamoDB's `LastEvaluatedKey`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::table::{GSI1PK, GSI1SK, Index, Item, PK, Query, SK, TableError};

/// Where a page ended. For GSI1 it holds the item's primary key too, so items sharing a GSI1SK
/// page correctly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    #[serde(rename = "GSI1PK", default, skip_serializing_if = "Option::is_none")]
    pub gsi1pk: Option<String>,
    #[serde(rename = "GSI1SK", default, skip_serializing_if = "Option::is_none")]
    pub gsi1sk: Option<String>,
}

impl Cursor {
    /// The cursor just after `item` on `index`; `None` if the item lacks a key that index needs.
    pub fn after(index: Index, item: &Item) -> Option<Cursor> {
        let text = |name: &str| item.get(name).and_then(|value| value.as_str()).map(str::to_owned);
        let (gsi1pk, gsi1sk) = match index {
            Index::Primary => (None, None),
            Index::Gsi1 => (Some(text(GSI1PK)?), Some(text(GSI1SK)?)),
        };
        Some(Cursor { pk: text(PK)?, sk: text(SK)?, gsi1pk, gsi1sk })
    }

    /// The cursor text for a page that ends with `item`.
    pub fn text_after(index: Index, item: &Item) -> Result<String, TableError> {
        let cursor = Cursor::after(index, item)
            .ok_or_else(|| TableError::Unavailable(format!("a page ended on an item without {index:?} keys")))?;
        Ok(cursor.encode())
    }

    pub fn encode(&self) -> String {
        let json = serde_json::to_vec(self).expect("a struct of strings always serializes");
        URL_SAFE_NO_PAD.encode(json)
    }

    /// The query's cursor, decoded and checked to continue this very query. The partition check
    /// matters for isolation: a caller can only move within a partition it may already read.
    pub fn of(query: &Query) -> Result<Option<Cursor>, TableError> {
        let Some(text) = &query.cursor else { return Ok(None) };
        let invalid = || TableError::Invalid("the cursor does not belong to this query".into());
        let json = URL_SAFE_NO_PAD.decode(text).map_err(|_| invalid())?;
        let mut cursor: Cursor = serde_json::from_slice(&json).map_err(|_| invalid())?;
        match query.index {
            Index::Primary if cursor.pk == query.pk => {
                (cursor.gsi1pk, cursor.gsi1sk) = (None, None);
                Ok(Some(cursor))
            }
            Index::Gsi1 if cursor.gsi1pk.as_deref() == Some(&query.pk) && cursor.gsi1sk.is_some() => Ok(Some(cursor)),
            _ => Err(invalid()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item(value: serde_json::Value) -> Item {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn a_cursor_round_trips_through_url_safe_text() {
        let stored = item(json!({"PK": "TENANT#é/+?", "SK": "a b", "GSI1PK": "DUE#1", "GSI1SK": "x", "other": 1}));
        let cursor = Cursor::after(Index::Gsi1, &stored).unwrap();
        let text = cursor.encode();
        assert!(text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{text}");
        let query = crate::Query::gsi1("DUE#1").after(Some(text));
        assert_eq!(Cursor::of(&query), Ok(Some(cursor)));
    }

    #[test]
    fn a_primary_cursor_carries_only_the_primary_key() {
        let stored = item(json!({"PK": "p", "SK": "s", "GSI1PK": "g", "GSI1SK": "h"}));
        let cursor = Cursor::after(Index::Primary, &stored).unwrap();
        assert_eq!(cursor.gsi1pk, None);
        assert_eq!(cursor.encode(), URL_SAFE_NO_PAD.encode(r#"{"PK":"p","SK":"s"}"#));
    }

    #[test]
    fn a_gsi1_cursor_needs_the_index_keys() {
        assert_eq!(Cursor::after(Index::Gsi1, &item(json!({"PK": "p", "SK": "s"}))), None);
    }

    #[test]
    fn a_cursor_for_another_partition_or_garbage_is_refused() {
        let other = Cursor::after(Index::Primary, &item(json!({"PK": "other", "SK": "s"}))).unwrap().encode();
        for text in [other, "not base64!".into(), URL_SAFE_NO_PAD.encode("[1]")] {
            let query = crate::Query::partition("mine").after(Some(text));
            assert!(matches!(Cursor::of(&query), Err(TableError::Invalid(_))));
        }
        let primary = Cursor::after(Index::Primary, &item(json!({"PK": "g", "SK": "s"}))).unwrap().encode();
        assert!(matches!(Cursor::of(&crate::Query::gsi1("g").after(Some(primary))), Err(TableError::Invalid(_))));
    }
}
