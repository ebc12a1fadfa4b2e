//! The one retry layer for contention: a change that met another at the same moment (a cancelled
//! transaction, or a version that moved on since it was read) runs again from a fresh read, after
//! a short pause with jitter so racing writers spread out. Everything else returns at once.
//!
//! The AWS SDK retries throttling and transient network failures inside each call; it never
//! retries a cancelled transaction, so the two layers do not nest.

use std::future::Future;
use std::time::Duration;

use mas_domain::error::AppError;
use rand::Rng;

/// An error that may say the change met another at the same moment (worth a fresh attempt).
pub trait Contended {
    fn is_contention(&self) -> bool;
}

impl Contended for AppError {
    fn is_contention(&self) -> bool {
        AppError::is_contention(self)
    }
}

/// Only a failure can be contention: what is already done stays done.
impl Contended for crate::Once {
    fn is_contention(&self) -> bool {
        matches!(self, crate::Once::Failed(err) if err.is_contention())
    }
}

/// Runs `attempt` (one whole read-decide-write) until it does not fail with contention, at most
/// `attempts` times in all; the last contention is returned as it is.
pub async fn on_contention<T, E, F, Fut>(attempts: usize, mut attempt: F) -> Result<T, E>
where
    E: Contended,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut tried = 0;
    loop {
        tried += 1;
        match attempt().await {
            Err(err) if err.is_contention() && tried < attempts => pause(tried).await,
            other => return other,
        }
    }
}

/// 5 ms up to 25 ms per attempt so far, at random.
async fn pause(tried: usize) {
    let millis = rand::rng().random_range(5..25 * tried as u64);
    tokio::time::sleep(Duration::from_millis(millis)).await;
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use mas_domain::error::{AppError, AppResult};

    use super::*;

    #[tokio::test]
    async fn contention_is_retried_until_the_attempt_succeeds() {
        let calls = Cell::new(0);
        let answer = on_contention(4, || {
            calls.set(calls.get() + 1);
            let n = calls.get();
            async move { if n < 3 { Err(AppError::contention("raced")) } else { Ok(n) } }
        })
        .await;
        assert_eq!(answer.unwrap(), 3);
    }

    #[tokio::test]
    async fn the_last_contention_is_returned_after_the_allowed_attempts() {
        let calls = Cell::new(0);
        let answer: AppResult<()> = on_contention(4, || {
            calls.set(calls.get() + 1);
            async { Err(AppError::contention("raced")) }
        })
        .await;
        assert!(answer.unwrap_err().is_contention());
        assert_eq!(calls.get(), 4);
    }

    #[tokio::test]
    async fn any_other_error_returns_at_once() {
        let calls = Cell::new(0);
        let answer: AppResult<()> = on_contention(4, || {
            calls.set(calls.get() + 1);
            async { Err(AppError::conflict("slot_taken", "someone else has the time")) }
        })
        .await;
        assert!(!answer.unwrap_err().is_contention());
        assert_eq!(calls.get(), 1);
    }
}
