//! Locks that serving threads share on every request (the driver's, the
//! server connection pool's): a thread that finds one taken tries again
//! a few times, pausing in between, before it sleeps on it. The other
//! thread holds it a microsecond or two, less than a sleep and a wake-up
//! take, and on a busy host a sleeping thread may wait a whole slice of
//! the scheduler's time (with `nbthread 2`, p99 latency near 4 ms).

use std::sync::{LockResult, Mutex, MutexGuard, TryLockError};

/// How often a thread tries a taken lock before it sleeps on it.
const TRIES: u32 = 8;
/// The pauses between two tries (a few microseconds in all).
const PAUSES: u32 = 32;

/// `mutex` locked, as [`Mutex::lock`] does, after a few tries.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> LockResult<MutexGuard<'_, T>> {
    for _ in 0..TRIES {
        match mutex.try_lock() {
            Ok(guard) => return Ok(guard),
            Err(TryLockError::Poisoned(poisoned)) => return Err(poisoned),
            Err(TryLockError::WouldBlock) => {
                for _ in 0..PAUSES {
                    std::hint::spin_loop();
                }
            }
        }
    }
    mutex.lock()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    // Input: two threads adding to one counter through `lock` 100,000
    // times each. Expected: no addition lost (the lock excludes), and a
    // lock poisoned by a panic reported as such.
    #[test]
    fn excludes_and_reports_poison() {
        let counter = Arc::new(Mutex::new(0u64));
        let other = Arc::clone(&counter);
        let adder = std::thread::spawn(move || {
            for _ in 0..100_000 {
                *lock(&other).expect("not poisoned") += 1;
            }
        });
        for _ in 0..100_000 {
            *lock(&counter).expect("not poisoned") += 1;
        }
        adder.join().expect("adder");
        assert_eq!(*lock(&counter).expect("not poisoned"), 200_000);
        let poisoner = Arc::clone(&counter);
        let _ = std::thread::spawn(move || {
            let _guard = lock(&poisoner).expect("not poisoned");
            panic!("poisons the lock");
        })
        .join();
        assert!(lock(&counter).is_err());
    }
}
