//! Abuse limits held in the table, so they hold across every Lambda at once: token buckets taken
//! with a write conditional on the state read (a lost race reads again), and the daily SMS
//! budget counted with a conditional add. A refusal is 429 with `Retry-After`.

use serde::{Deserialize, Serialize};
use serde_json::json;

use mas_domain::error::{AppError, AppResult};
use mas_domain::ids::TenantId;
use mas_domain::limits::{Bucket, BucketState, Window};
use mas_ports::{Condition, TableError, Write};
use mas_store::keys;
use mas_store::{Store, from_item, to_item};

/// The limits public routes apply per caller. Defaults suit a clinic's real traffic; tests set
/// tighter ones to see them bite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Public bookings from one client address (across clinics).
    pub booking_per_address: Bucket,
    /// Public bookings naming one phone number (each may text it).
    pub booking_per_phone: Bucket,
    /// Public bookings at one clinic, from anyone: a window, since every visitor of a busy
    /// clinic takes from it at once.
    pub booking_per_clinic: Window,
    /// Clinic signups from one address.
    pub signup_per_address: Bucket,
    /// Portal sign-in links asked for from one address.
    pub portal_link_per_address: Bucket,
    /// Deposit intents asked for from one address.
    pub deposit_intent_per_address: Bucket,
    /// Document verifications from one address.
    pub verify_per_address: Bucket,
    /// Gift-card balance checks and online purchases from one address (a code has 95 random
    /// bits; this keeps anyone from even trying).
    pub gift_card_per_address: Bucket,
}

const fn per_hour(n: u32) -> Bucket {
    Bucket { capacity: n, refill_seconds: 3600 / n }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            booking_per_address: per_hour(20),
            booking_per_phone: per_hour(5),
            booking_per_clinic: Window { max: 600, seconds: 3600 },
            signup_per_address: per_hour(10),
            portal_link_per_address: per_hour(30),
            deposit_intent_per_address: per_hour(60),
            verify_per_address: per_hour(120),
            gift_card_per_address: per_hour(30),
        }
    }
}

impl Limits {
    /// Buckets no load run empties (a million tokens, one more a second), for `scripts/load.sh`
    /// on the local host (`MAS_LIMITS=load-test`): every take still reads and writes its bucket,
    /// as in production, but none refuses.
    pub fn load_test() -> Limits {
        const WIDE: Bucket = Bucket { capacity: 1_000_000, refill_seconds: 1 };
        Limits {
            booking_per_address: WIDE,
            booking_per_phone: WIDE,
            booking_per_clinic: Window { max: u32::MAX, seconds: 1 },
            signup_per_address: WIDE,
            portal_link_per_address: WIDE,
            deposit_intent_per_address: WIDE,
            verify_per_address: WIDE,
            gift_card_per_address: WIDE,
        }
    }
}

#[derive(Serialize, Deserialize)]
struct StoredBucket {
    #[serde(flatten)]
    state: BucketState,
    /// Bumped by every take: the condition that makes concurrent takes count each.
    n: u64,
    #[serde(default)]
    ttl: i64,
}

/// A take refused: too many attempts, or the table failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LimitError {
    /// 429 `rate_limited` with `Retry-After`: the allowance is spent for `retry_after_seconds`.
    #[error("too many attempts; try again in {retry_after_seconds} s")]
    Limited { retry_after_seconds: i64 },
    #[error(transparent)]
    Store(#[from] AppError),
}

impl From<TableError> for LimitError {
    fn from(err: TableError) -> Self {
        LimitError::Store(err.into())
    }
}

impl From<LimitError> for AppError {
    fn from(err: LimitError) -> Self {
        match err {
            LimitError::Limited { retry_after_seconds } => {
                AppError::Limited { code: "rate_limited", retry_after_seconds }
            }
            LimitError::Store(err) => err,
        }
    }
}

/// How often one take may lose its conditional write to simultaneous takes of the same bucket
/// before it answers 429 with `Retry-After: 1`.
const TAKE_ATTEMPTS: usize = 32;

/// Takes one token from the bucket named `scope`, or refuses with 429 and how long to wait.
pub async fn take(store: &Store, scope: &str, bucket: Bucket) -> Result<(), LimitError> {
    let key = keys::limit_bucket(scope);
    // A failed condition means another take of this bucket landed, so the attempts are bounded by
    // the takers of one moment; a refusal below the limit would be a race decided by luck.
    for _ in 0..TAKE_ATTEMPTS {
        let now = store.clock.now().timestamp();
        let stored: Option<StoredBucket> = store.table.get(&key).await?.map(from_item).transpose()?;
        let state = bucket.take(stored.as_ref().map(|s| s.state), now);
        let next = match state {
            Ok(state) => state,
            Err(wait) => return Err(LimitError::Limited { retry_after_seconds: wait }),
        };
        let n = stored.as_ref().map_or(0, |s| s.n) + 1;
        let item =
            to_item(&key, "limit_bucket", &StoredBucket { state: next, n, ttl: now + bucket.refills_within() + 60 })?;
        let condition = match &stored {
            None => Condition::NotExists,
            Some(s) => Condition::equals("n", s.n),
        };
        match store.table.transact(vec![Write::put_if(item, condition)]).await {
            Ok(()) => return Ok(()),
            Err(TableError::ConditionFailed { .. }) => continue,
            Err(other) => return Err(other.into()),
        }
    }
    Err(LimitError::Limited { retry_after_seconds: 1 })
}

/// Takes one of `window`'s allowance for `scope`: one conditional add to the current window's
/// counter, no read first, so concurrent takers all succeed until it is spent (the table
/// serialises the adds), then 429 until the window ends.
pub async fn take_from_window(store: &Store, scope: &str, window: Window) -> Result<(), LimitError> {
    let now = store.clock.now().timestamp();
    let key = keys::limit_window(scope, window.index(now));
    if add_below(store, key, window.max, window.ends(now) + 60).await? {
        Ok(())
    } else {
        Err(LimitError::Limited { retry_after_seconds: (window.ends(now) - now).max(1) })
    }
}

/// Counts one text against the clinic's daily budget: false (nothing counted) once `budget`
/// texts went today, so concurrent senders never overshoot it.
pub async fn spend_sms_budget(store: &Store, tenant: &TenantId, budget: u32) -> AppResult<bool> {
    let now = store.clock.now();
    add_below(store, keys::sms_budget(tenant, now), budget, now.timestamp() + 3 * 86_400).await
}

/// Adds one to the `count` of `key` on condition that it is below `max` (an absent item counts
/// 0); false, with nothing written, when it is not. The item expires at `ttl`.
async fn add_below(store: &Store, key: mas_ports::Key, max: u32, ttl: i64) -> AppResult<bool> {
    let mut set = mas_ports::Item::new();
    set.insert("ttl".into(), json!(ttl));
    let write = Write::Update {
        key,
        set,
        add: [("count".to_owned(), 1)].into(),
        remove: vec![],
        condition: Some(Condition::AbsentOrExpired { attr: "count".into(), before: i64::from(max) }),
    };
    match store.table.transact(vec![write]).await {
        Ok(()) => Ok(true),
        Err(TableError::ConditionFailed { .. }) => Ok(false),
        Err(other) => Err(other.into()),
    }
}

/// Takes one of `what`'s tokens for the caller's address (`None`: all unknown callers share one).
pub async fn take_for_address(
    store: &Store,
    what: &str,
    address: Option<&str>,
    bucket: Bucket,
) -> Result<(), LimitError> {
    take(store, &format!("{what}#addr#{}", address.unwrap_or("unknown")), bucket).await
}
