//! Reaching the localstripe server that `scripts/test` starts, for the Stripe adapter's contract.

/// Set by `scripts/test` to the localstripe it started, e.g. `http://127.0.0.1:5056`.
pub const LOCALSTRIPE_URL: &str = "MAS_TEST_LOCALSTRIPE_URL";
/// `1` skips the Stripe adapter's half of the payments contract when no localstripe is available.
pub const SKIP: &str = "MAS_SKIP_LOCALSTRIPE_TESTS";

/// localstripe's base URL, or `None` when its tests are explicitly skipped (the caller then
/// returns). Panics when it is neither configured nor skipped: a Stripe test must never pass
/// without having run.
pub fn localstripe(test: &str) -> Option<String> {
    match std::env::var(LOCALSTRIPE_URL) {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var(SKIP).as_deref() == Ok("1") => {
            println!("skipped {test}: {SKIP}=1 and no {LOCALSTRIPE_URL}");
            None
        }
        _ => panic!(
            "{test} needs localstripe: run the tests with scripts/test, which starts one and sets {LOCALSTRIPE_URL} \
             (or set {SKIP}=1 to skip the Stripe adapter tests knowingly)"
        ),
    }
}
