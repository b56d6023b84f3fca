//! The one way tai takes its locks: a panic while a lock was held does not poison it for
//! everyone else.
//!
//! Every structure tai guards changes its data only once a check has succeeded, so a thread
//! that panicked while holding a lock never leaves the data half-updated; refusing every
//! later caller would turn one bug into an outage. This module imports nothing of tai's.

use std::sync::{
    Condvar, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard,
    TryLockError,
};

/// Locks `m`, taking over the data if a thread panicked while holding it.
pub fn lock<T: ?Sized>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Locks `m` if no one holds it; `None` when someone does.
pub fn try_lock<T: ?Sized>(m: &Mutex<T>) -> Option<MutexGuard<'_, T>> {
    match m.try_lock() {
        Ok(guard) => Some(guard),
        Err(TryLockError::Poisoned(p)) => Some(p.into_inner()),
        Err(TryLockError::WouldBlock) => None,
    }
}

/// Waits on `cv`, releasing `guard` meanwhile, as [`Condvar::wait`] does.
pub fn wait<'a, T>(cv: &Condvar, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
    cv.wait(guard).unwrap_or_else(PoisonError::into_inner)
}

/// Takes `l` for reading.
pub fn read<T: ?Sized>(l: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(PoisonError::into_inner)
}

/// Takes `l` for writing.
pub fn write<T: ?Sized>(l: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Condvar, Mutex, RwLock};

    use super::*;

    #[test]
    fn a_panic_while_locked_does_not_lock_anyone_out() {
        let m = Arc::new(Mutex::new(1));
        let l = Arc::new(RwLock::new(1));
        let (m2, l2) = (Arc::clone(&m), Arc::clone(&l));
        let _ = std::thread::spawn(move || {
            let _m = m2.lock();
            let _l = l2.write();
            std::panic::panic_any("poison");
        })
        .join();
        assert!(m.is_poisoned() && l.is_poisoned());
        *lock(&m) += 1;
        assert_eq!(try_lock(&m).map(|g| *g), Some(2));
        *write(&l) += 1;
        assert_eq!(*read(&l), 2);
        let held = lock(&m);
        assert!(try_lock(&m).is_none());
        drop(held);
    }

    #[test]
    fn wait_returns_the_guard_once_notified() {
        let pair = Arc::new((Mutex::new(false), Condvar::new()));
        let other = Arc::clone(&pair);
        let t = std::thread::spawn(move || {
            *lock(&other.0) = true;
            other.1.notify_all();
        });
        let mut ready = lock(&pair.0);
        while !*ready {
            ready = wait(&pair.1, ready);
        }
        drop(ready);
        t.join().unwrap();
    }
}
