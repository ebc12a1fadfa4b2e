//! A clinic's clients (patients): who they are and how to reach them. Clinical answers live in
//! `medical`, encrypted; nothing here is clinical.

use chrono::NaiveDate;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

use super::catalog::Record;
use super::values::{Email, Name, Phone, Text};
use crate::error::{AppError, AppResult};
use crate::ids::ClientId;

pub type Client = Record<ClientId, ClientInput>;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientInput {
    pub first_name: Name,
    pub last_name: Name,
    /// Unique among the clinic's clients: a second client with the same email is refused.
    #[serde(default)]
    pub email: Option<Email>,
    #[serde(default)]
    pub phone: Option<Phone>,
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Date, example = "1990-04-21")]
    pub date_of_birth: Option<NaiveDate>,
    /// Administrative notes (preferences, access needs); never clinical detail.
    #[serde(default)]
    pub notes: Option<Text>,
    /// Agreed to receive marketing; reminders about booked appointments do not depend on it.
    #[serde(default)]
    pub marketing_consent: bool,
}

impl ClientInput {
    /// Rules that need today's date.
    pub fn check(&self, today: NaiveDate) -> AppResult<()> {
        if let Some(born) = self.date_of_birth {
            let earliest = NaiveDate::from_ymd_opt(1900, 1, 1).expect("a valid date");
            if born > today || born < earliest {
                return Err(AppError::invalid(
                    "out_of_range",
                    "date_of_birth",
                    "must be a date between 1900-01-01 and today",
                ));
            }
        }
        Ok(())
    }

    /// The GSI1 sort name: normalized `last first`.
    pub fn sort_name(&self) -> String {
        sort_name(self.first_name.as_str(), self.last_name.as_str())
    }
}

/// A partial update: fields left out keep their value, `null` clears an optional one, and
/// `version` must be the version the caller read (409 `stale_version` otherwise).
#[derive(Debug, Clone, PartialEq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientPatch {
    pub version: u64,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub first_name: Option<Name>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub last_name: Option<Name>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = Email)]
    pub email: Option<Option<Email>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub phone: Option<Option<Phone>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = Date)]
    pub date_of_birth: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub notes: Option<Option<Text>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<bool>)]
    pub marketing_consent: Option<bool>,
}

/// A field that is present: `Some` of whatever it holds, so `null` on an optional field becomes
/// `Some(None)` (clear it) while a missing field stays `None` (keep it). On a required field
/// (`first_name`) `null` fails to parse, as it should.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(deserializer: D) -> Result<Option<T>, D::Error> {
    T::deserialize(deserializer).map(Some)
}

impl ClientPatch {
    /// The client's details with this patch applied, and the names of the fields it changed.
    pub fn apply(self, current: &ClientInput) -> (ClientInput, Vec<&'static str>) {
        let mut next = current.clone();
        let mut changed = Vec::new();
        macro_rules! set {
            ($field:ident) => {
                if let Some(value) = self.$field {
                    if next.$field != value {
                        next.$field = value;
                        changed.push(stringify!($field));
                    }
                }
            };
        }
        set!(first_name);
        set!(last_name);
        set!(email);
        set!(phone);
        set!(date_of_birth);
        set!(notes);
        set!(marketing_consent);
        (next, changed)
    }
}

/// The most characters of each name part kept in the sort key (GSI1 sort keys are at most
/// 1,024 bytes).
const SORT_PART_CHARS: usize = 100;

/// `last first`, normalized with `normalize_name`: the order a clinic's client list is read in.
pub fn sort_name(first: &str, last: &str) -> String {
    let part = |name: &str| normalize_name(name).chars().take(SORT_PART_CHARS).collect::<String>();
    format!("{} {}", part(last), part(first)).trim().to_owned()
}

/// Lowercase, common Latin accents folded (`Zoë` → `zoe`), apostrophes dropped (`O'Brien` →
/// `obrien`), any other punctuation a single space. Names and search text go through the same
/// function, so `smith-j` finds `Smith-Jones`.
pub fn normalize_name(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars().flat_map(char::to_lowercase) {
        if matches!(c, '\'' | '’' | '`') {
            continue;
        }
        if let Some(folded) = fold(c) {
            out.push_str(folded);
        } else if c.is_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with(' ') {
            out.push(' ');
        }
    }
    out.trim_end().to_owned()
}

fn fold(c: char) -> Option<&'static str> {
    Some(match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => "a",
        'æ' => "ae",
        'ç' | 'ć' | 'č' => "c",
        'ď' | 'đ' | 'ð' => "d",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ė' | 'ę' | 'ě' => "e",
        'ğ' | 'ģ' => "g",
        'ì' | 'í' | 'î' | 'ï' | 'ī' | 'į' | 'ı' => "i",
        'ķ' => "k",
        'ł' | 'ľ' | 'ĺ' | 'ļ' => "l",
        'ñ' | 'ń' | 'ň' | 'ņ' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ő' => "o",
        'œ' => "oe",
        'ř' | 'ŕ' => "r",
        'ś' | 'š' | 'ş' | 'ș' => "s",
        'ß' => "ss",
        'ť' | 'ţ' | 'ț' => "t",
        'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' | 'ű' | 'ų' => "u",
        'ý' | 'ÿ' => "y",
        'ź' | 'ż' | 'ž' => "z",
        'þ' => "th",
        _ => return None,
    })
}

/// What a client search text asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientQuery {
    /// Every client, by name.
    All,
    /// Clients whose normalized `last first` starts with this.
    NamePrefix(String),
    Email(Email),
    Phone(Phone),
}

impl ClientQuery {
    /// `q` with an `@` is an email; one made of a `+`, digits and phone punctuation is a phone
    /// number; anything else is the start of a name (last name first).
    pub fn parse(q: Option<&str>) -> AppResult<ClientQuery> {
        let q = q.map(str::trim).unwrap_or_default();
        if q.is_empty() {
            return Ok(ClientQuery::All);
        }
        if q.chars().count() > 120 {
            return Err(AppError::invalid("invalid_query", "q", "must be at most 120 characters"));
        }
        if q.contains('@') {
            return Email::parse(q).map(ClientQuery::Email).map_err(|e| AppError::invalid("invalid_query", "q", e.0));
        }
        let phone_like = q.starts_with('+') && q.chars().all(|c| c.is_ascii_digit() || " +-.()".contains(c));
        if phone_like {
            return Phone::parse(q).map(ClientQuery::Phone).map_err(|e| AppError::invalid("invalid_query", "q", e.0));
        }
        match normalize_name(q) {
            prefix if prefix.is_empty() => {
                Err(AppError::invalid("invalid_query", "q", "give a name, an email or a phone number"))
            }
            prefix => Ok(ClientQuery::NamePrefix(prefix)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn input(extra: serde_json::Value) -> ClientInput {
        let mut body = json!({"first_name": "Zoë", "last_name": "O'Brien-Smith"});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        serde_json::from_value(body).unwrap()
    }

    #[test]
    fn names_sort_last_name_first_without_case_accents_or_apostrophes() {
        assert_eq!(input(json!({})).sort_name(), "obrien smith zoe");
        assert_eq!(normalize_name("  ÉLODIE   d'Arc "), "elodie darc");
        assert_eq!(normalize_name("Müller-Lüdenscheidt"), "muller ludenscheidt");
        assert_eq!(normalize_name("Łukasz Żółć"), "lukasz zolc");
    }

    #[test]
    fn a_search_text_is_an_email_a_phone_or_a_name_prefix() {
        assert_eq!(ClientQuery::parse(None).unwrap(), ClientQuery::All);
        assert_eq!(ClientQuery::parse(Some("  ")).unwrap(), ClientQuery::All);
        assert_eq!(
            ClientQuery::parse(Some("Jane@Example.com")).unwrap(),
            ClientQuery::Email(Email::parse("jane@example.com").unwrap())
        );
        assert_eq!(
            ClientQuery::parse(Some("+44 7700 900123")).unwrap(),
            ClientQuery::Phone(Phone::parse("+447700900123").unwrap())
        );
        assert_eq!(ClientQuery::parse(Some("O'Brien-S")).unwrap(), ClientQuery::NamePrefix("obrien s".into()));
        assert!(matches!(ClientQuery::parse(Some("jane@")), Err(AppError::Invalid { code: "invalid_query", .. })));
        assert!(matches!(ClientQuery::parse(Some("+12")), Err(AppError::Invalid { code: "invalid_query", .. })));
        assert!(matches!(ClientQuery::parse(Some("!!!")), Err(AppError::Invalid { code: "invalid_query", .. })));
    }

    #[test]
    fn a_patch_keeps_what_it_leaves_out_clears_what_it_nulls_and_refuses_a_null_name() {
        let current = input(json!({"email": "zoe@example.com", "phone": "+447700900123", "notes": "prefers mornings"}));
        let patch: ClientPatch =
            serde_json::from_value(json!({"version": 1, "phone": null, "last_name": "Smith"})).unwrap();
        let (next, changed) = patch.apply(&current);
        assert_eq!(next.email, current.email);
        assert_eq!(next.phone, None);
        assert_eq!(next.last_name.as_str(), "Smith");
        assert_eq!(changed, vec!["last_name", "phone"]);
        assert!(serde_json::from_value::<ClientPatch>(json!({"version": 1, "first_name": null})).is_err());
        assert!(serde_json::from_value::<ClientPatch>(json!({"first_name": "A"})).is_err(), "version is required");
        assert!(serde_json::from_value::<ClientPatch>(json!({"version": 1, "nickname": "Z"})).is_err());
    }

    #[test]
    fn a_birth_date_in_the_future_or_before_1900_is_refused() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();
        assert!(input(json!({"date_of_birth": "1990-04-21"})).check(today).is_ok());
        for bad in ["2026-11-22", "1899-12-31"] {
            let err = input(json!({"date_of_birth": bad})).check(today).unwrap_err();
            assert!(matches!(err, AppError::Invalid { code: "out_of_range", .. }), "{bad}");
        }
        assert!(
            serde_json::from_value::<ClientInput>(
                json!({"first_name": "A", "last_name": "B", "date_of_birth": "21/04/1990"})
            )
            .is_err()
        );
    }
}
