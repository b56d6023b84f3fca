//! A tenant's turn: the lock that serializes its operations, and waking the async callers
//! that found it taken.
//!
//! The server decides a call on its async worker when the tenant is free ([`Workspace::try_call`]
//! declines with `Busy` when it is not). Yielding and trying again is enough while the holder
//! decides for microseconds; but a holder descheduled by the OS keeps the turn for a whole
//! time slice, and callers that then gave up and blocked a pool thread each kept it longer
//! still: with 64 connections on one tenant, ~95 pool threads queued on one lock and p99 rose
//! to 40–60 ms. A caller that finds the turn taken instead awaits its release.
//!
//! [`Workspace::try_call`]: super::Workspace::try_call

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use crate::sync::{lock, try_lock};

/// The turn of one tenant, and who waits for its release.
#[derive(Debug, Default)]
pub(super) struct Turns {
    turn: Mutex<()>,
    waiting: Mutex<Waiting>,
}

#[derive(Debug, Default)]
struct Waiting {
    /// How many times the turn was released.
    releases: u64,
    wakers: Vec<Waker>,
}

/// The turn, held; released (waking whoever awaits it) when dropped.
pub(super) struct Turn<'a> {
    guard: Option<MutexGuard<'a, ()>>,
    turns: &'a Turns,
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        // Unlocked before the wake-ups, so the woken find it free.
        self.guard.take();
        let wakers = {
            let mut waiting = lock(&self.turns.waiting);
            waiting.releases += 1;
            std::mem::take(&mut waiting.wakers)
        };
        for waker in wakers {
            waker.wake();
        }
    }
}

impl Turns {
    /// Waits for the turn and takes it.
    pub(super) fn take(&self) -> Turn<'_> {
        Turn {
            guard: Some(lock(&self.turn)),
            turns: self,
        }
    }

    /// The turn, if no one holds it.
    pub(super) fn try_take(&self) -> Option<Turn<'_>> {
        try_lock(&self.turn).map(|guard| Turn {
            guard: Some(guard),
            turns: self,
        })
    }

    /// How many times the turn has been released: read before trying to take it, then
    /// awaited past with [`TurnReleased`].
    pub(super) fn releases(&self) -> u64 {
        lock(&self.waiting).releases
    }
}

/// Resolves once a tenant's turn has been released more than `seen` times (at once when it
/// already has): a caller that found the turn taken awaits this before trying again. Reading
/// `seen` before the attempt means a release in between is never missed.
#[derive(Debug)]
pub struct TurnReleased {
    turns: Option<Arc<Turns>>,
    seen: u64,
}

impl TurnReleased {
    pub(super) fn new(turns: Option<Arc<Turns>>, seen: u64) -> Self {
        TurnReleased { turns, seen }
    }
}

impl Future for TurnReleased {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let Some(turns) = &self.turns else {
            return Poll::Ready(());
        };
        let mut waiting = lock(&turns.waiting);
        if waiting.releases > self.seen {
            return Poll::Ready(());
        }
        if !waiting.wakers.iter().any(|w| w.will_wake(cx.waker())) {
            waiting.wakers.push(cx.waker().clone());
        }
        Poll::Pending
    }
}
