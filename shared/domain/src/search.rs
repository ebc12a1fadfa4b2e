//! The staff search box (`GET /v1/search`): what a query asks for, and how a name is filed so
//! that the start of a word, or the word with one slip in it, is found in a few key reads.
//!
//! Each word of a name is filed under keys (`filing_keys`): its first two and three letters (so
//! a name is found from its second typed letter on), and its first four letters with and
//! without each one of them: a symmetric-delete index, where two words one edit apart (a
//! letter missing, added, changed or two swapped) within those letters always share a key.
//! A query word is looked up under its own four letters and their deletions (`lookup_keys`);
//! the words found are kept when they begin with it, or begin within `allowed_edits` of it
//! (`matches`). Emails, phone numbers and booking numbers are exact, through the claims the
//! clinic already keeps for them.

use std::collections::BTreeSet;

use crate::appointment::ConfirmationNumber;
use crate::clients::normalize_name;
use crate::error::{AppError, AppResult};
use crate::values::{Email, Phone};

/// How many letters of a word the typo-tolerant keys look at.
pub const KEY_LETTERS: usize = 4;
/// The words of a query looked at (the rest are ignored).
pub const MAX_QUERY_WORDS: usize = 4;
/// The longest query taken.
pub const MAX_QUERY_CHARS: usize = 120;
/// Words shorter than this are not filed or looked up (one letter finds half the clinic).
pub const MIN_WORD_CHARS: usize = 2;

/// What the box was asked.
#[derive(Debug, Clone, PartialEq)]
pub enum SearchQuery {
    Email(Email),
    Phone(Phone),
    Booking(ConfirmationNumber),
    /// Normalized words (at most `MAX_QUERY_WORDS`, each at least `MIN_WORD_CHARS` long).
    Words(Vec<String>),
}

impl SearchQuery {
    /// An `@` makes an email, `BK-` a booking number, a `+` and digits a phone number; anything
    /// else is words of a name (any order, any of them the start of a word).
    pub fn parse(raw: &str) -> AppResult<SearchQuery> {
        let q = raw.trim();
        let invalid = |why: &str| AppError::invalid("invalid_query", "q", why);
        if q.is_empty() {
            return Err(invalid("give a name, an email, a phone number or a booking number"));
        }
        if q.chars().count() > MAX_QUERY_CHARS {
            return Err(invalid("must be at most 120 characters"));
        }
        if q.contains('@') {
            return Email::parse(q).map(SearchQuery::Email).map_err(|e| invalid(&e.0));
        }
        if q.get(..3).is_some_and(|start| start.eq_ignore_ascii_case("bk-")) {
            return ConfirmationNumber::parse(q).map(SearchQuery::Booking).map_err(|e| invalid(&e.0));
        }
        if q.starts_with('+') && q.chars().all(|c| c.is_ascii_digit() || " +-.()".contains(c)) {
            return Phone::parse(q).map(SearchQuery::Phone).map_err(|e| invalid(&e.0));
        }
        let words: Vec<String> = words(q).into_iter().take(MAX_QUERY_WORDS).collect();
        if words.is_empty() {
            return Err(invalid("give at least two letters of a name"));
        }
        Ok(SearchQuery::Words(words))
    }
}

/// The distinct normalized words of `text` that are long enough to file or look up, in order.
pub fn words(text: &str) -> Vec<String> {
    let mut seen = BTreeSet::new();
    normalize_name(text)
        .split_whitespace()
        .filter(|w| w.chars().count() >= MIN_WORD_CHARS)
        .filter(|w| seen.insert(w.to_string()))
        .map(str::to_owned)
        .collect()
}

fn head(word: &str, n: usize) -> String {
    word.chars().take(n).collect()
}

/// `key` and `key` with each one of its letters left out.
fn with_deletions(key: &str) -> BTreeSet<String> {
    let chars: Vec<char> = key.chars().collect();
    let mut keys = BTreeSet::from([key.to_owned()]);
    if chars.len() > MIN_WORD_CHARS {
        for skip in 0..chars.len() {
            keys.insert(chars.iter().enumerate().filter(|(i, _)| *i != skip).map(|(_, c)| c).collect());
        }
    }
    keys
}

/// The keys a (normalized) word is filed under: its first two and three letters, and its first
/// four with and without each letter.
pub fn filing_keys(word: &str) -> BTreeSet<String> {
    let mut keys = with_deletions(&head(word, KEY_LETTERS));
    for n in MIN_WORD_CHARS..KEY_LETTERS {
        if word.chars().count() >= n {
            keys.insert(head(word, n));
        }
    }
    keys
}

/// The keys a (normalized) query word is looked up under: a shorter word, itself (it must be
/// the start of a name: no slips forgiven); else its first four letters with and without each
/// one. Every word `matches` accepts with at most one slip in those letters is filed under one.
pub fn lookup_keys(word: &str) -> BTreeSet<String> {
    if word.chars().count() < KEY_LETTERS {
        return BTreeSet::from([word.to_owned()]);
    }
    with_deletions(&head(word, KEY_LETTERS))
}

/// Edits forgiven in a query word: none under four letters (too many names are that close),
/// one up to seven, two from eight.
pub fn allowed_edits(word: &str) -> usize {
    match word.chars().count() {
        0..=3 => 0,
        4..=7 => 1,
        _ => 2,
    }
}

/// Whether a filed word answers a query word: it begins with it, or its beginning is within the
/// allowed edits of it (a beginning one letter shorter or longer, for a letter left out or
/// added). Edits within the first four letters are at most one, as the keys find.
pub fn matches(query: &str, filed: &str) -> bool {
    if filed.starts_with(query) {
        return true;
    }
    let allowed = allowed_edits(query);
    if allowed == 0 {
        return false;
    }
    let q: Vec<char> = query.chars().collect();
    let f: Vec<char> = filed.chars().collect();
    let lengths = q.len().saturating_sub(allowed)..=(q.len() + allowed).min(f.len());
    lengths.into_iter().any(|n| {
        let beginning: String = f[..n].iter().collect();
        strsim::osa_distance(query, &beginning) <= allowed
    })
}

/// How well a filed word answers a query word, for ordering: 0 the same word, 1 a word it
/// begins, 2 a slip.
pub fn closeness(query: &str, filed: &str) -> u8 {
    if query == filed {
        0
    } else if filed.starts_with(query) {
        1
    } else {
        2
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(query: &str, name: &str) -> bool {
        // What the index does: a filed word is read when one of its keys is looked up, then kept
        // when it matches.
        let q = &words(query)[0];
        words(name).iter().any(|w| !filing_keys(w).is_disjoint(&lookup_keys(q)) && matches(q, w))
    }

    fn refused(raw: &str) -> bool {
        matches!(SearchQuery::parse(raw), Err(AppError::Invalid { code: "invalid_query", .. }))
    }

    #[test]
    fn a_query_is_an_email_a_phone_a_booking_number_or_words() {
        assert!(matches!(SearchQuery::parse("Sarah@Example.test").unwrap(), SearchQuery::Email(_)));
        assert!(matches!(SearchQuery::parse("+44 7700 900123").unwrap(), SearchQuery::Phone(_)));
        assert!(
            matches!(SearchQuery::parse("bk-04821937").unwrap(), SearchQuery::Booking(n) if n.as_str() == "BK-04821937")
        );
        assert_eq!(
            SearchQuery::parse("  O'Brien  Zoë ").unwrap(),
            SearchQuery::Words(vec!["obrien".into(), "zoe".into()])
        );
        assert_eq!(
            SearchQuery::parse("Zoë").unwrap(),
            SearchQuery::Words(vec!["zoe".into()]),
            "not cut inside a letter"
        );
        assert!(refused("a b c d e f g h"));
        assert!(refused("BK-12"));
        assert!(refused(""));
        assert!(refused(&"x".repeat(121)));
        let five = SearchQuery::parse("one two three four five").unwrap();
        assert_eq!(five, SearchQuery::Words(vec!["one".into(), "two".into(), "three".into(), "four".into()]));
    }

    #[test]
    fn the_start_of_a_word_finds_it_from_the_second_letter() {
        for typed in ["sa", "sar", "sara", "sarah"] {
            assert!(found(typed, "Sarah Jones"), "{typed}");
        }
        assert!(found("jon", "Sarah Jones"));
        assert!(!found("so", "Sarah Jones"));
    }

    #[test]
    fn one_slip_in_a_word_of_four_letters_or_more_still_finds_it() {
        assert!(found("sarh", "Sarah"), "a letter left out");
        assert!(found("saarah", "Sarah"), "a letter added");
        assert!(found("sorah", "Sarah"), "a letter changed");
        assert!(found("asrah", "Sarah"), "two letters swapped at the start");
        assert!(found("thompsen", "Thompson"), "a slip after the fourth letter");
        assert!(found("tohmpson", "Thompson"), "a swap inside the key letters");
        assert!(found("tompsonn", "Thompson"), "two slips in a long word");
        assert!(!found("sra", "Sarah"), "three letters must be exact");
        assert!(!found("smith", "Sarah Jones"));
        assert!(!found("jnoes", "Sarah Smith"));
    }

    #[test]
    fn every_word_the_match_accepts_within_one_edit_shares_a_key_with_the_query() {
        // The index reads only the keys: a match it could not read would be lost.
        let names = ["sarah", "thompson", "li", "oconnor", "abe", "zoe", "mohammed", "ng"];
        for name in names {
            let chars: Vec<char> = name.chars().collect();
            let mut variants = vec![name.to_owned()];
            for i in 0..chars.len() {
                let mut v = chars.clone();
                v.remove(i);
                variants.push(v.iter().collect());
                let mut v = chars.clone();
                v[i] = 'x';
                variants.push(v.iter().collect());
                if i + 1 < chars.len() {
                    let mut v = chars.clone();
                    v.swap(i, i + 1);
                    variants.push(v.iter().collect());
                }
            }
            for q in variants.iter().filter(|q| q.chars().count() >= MIN_WORD_CHARS) {
                if matches(q, name) {
                    assert!(!filing_keys(name).is_disjoint(&lookup_keys(q)), "{q} matches {name} but shares no key");
                }
            }
        }
    }

    #[test]
    fn closeness_orders_the_same_word_before_a_longer_one_before_a_slip() {
        assert!(closeness("sarah", "sarah") < closeness("sar", "sarah"));
        assert!(closeness("sar", "sarah") < closeness("sarh", "sarah"));
    }
}
