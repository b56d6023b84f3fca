//! A small bounded pool of PostgreSQL connections: at most `size` open at once, an idle one
//! reused, a broken one dropped rather than handed out again.

use std::ops::{Deref, DerefMut};
use std::sync::{Condvar, Mutex};

use postgres::{Client, Config, NoTls};

use crate::sync::{lock, wait};

use super::super::LedgerError;

/// Connections to one database.
pub(super) struct Pool {
    config: Config,
    /// The URL without its password, for messages.
    shown: String,
    size: usize,
    state: Mutex<PoolState>,
    freed: Condvar,
}

#[derive(Default)]
struct PoolState {
    idle: Vec<Client>,
    open: usize,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("url", &self.shown)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

/// A connection taken from the pool, given back when dropped (unless it broke).
pub(super) struct Pooled<'a> {
    pool: &'a Pool,
    client: Option<Client>,
}

impl Pool {
    pub(super) fn new(config: Config, shown: String, size: usize) -> Pool {
        Pool {
            config,
            shown,
            size: size.max(1),
            state: Mutex::new(PoolState::default()),
            freed: Condvar::new(),
        }
    }

    /// The database's URL without its password.
    pub(super) fn shown(&self) -> &str {
        &self.shown
    }

    /// A connection: an idle one, a new one while fewer than `size` are open, or the next
    /// one given back.
    pub(super) fn get(&self) -> Result<Pooled<'_>, LedgerError> {
        let mut state = lock(&self.state);
        loop {
            if let Some(client) = state.idle.pop() {
                if client.is_closed() {
                    state.open -= 1;
                    continue;
                }
                return Ok(Pooled {
                    pool: self,
                    client: Some(client),
                });
            }
            if state.open < self.size {
                state.open += 1;
                drop(state);
                return match self.connect() {
                    Ok(client) => Ok(Pooled {
                        pool: self,
                        client: Some(client),
                    }),
                    Err(e) => {
                        lock(&self.state).open -= 1;
                        self.freed.notify_one();
                        Err(e)
                    }
                };
            }
            state = wait(&self.freed, state);
        }
    }

    /// A connection of its own, outside the pool (a listener keeps one for itself).
    pub(super) fn connect(&self) -> Result<Client, LedgerError> {
        self.config
            .connect(NoTls)
            .map_err(|e| LedgerError::Unreachable {
                url: self.shown.clone(),
                detail: super::describe(&e),
            })
    }
}

impl Deref for Pooled<'_> {
    type Target = Client;
    fn deref(&self) -> &Client {
        // Present from creation until drop.
        #[expect(clippy::expect_used, reason = "the client is taken only in drop")]
        self.client.as_ref().expect("a pooled connection")
    }
}

impl DerefMut for Pooled<'_> {
    fn deref_mut(&mut self) -> &mut Client {
        #[expect(clippy::expect_used, reason = "the client is taken only in drop")]
        self.client.as_mut().expect("a pooled connection")
    }
}

impl Drop for Pooled<'_> {
    fn drop(&mut self) {
        let mut state = lock(&self.pool.state);
        match self.client.take() {
            Some(client) if !client.is_closed() => state.idle.push(client),
            _ => state.open -= 1,
        }
        drop(state);
        self.pool.freed.notify_one();
    }
}
