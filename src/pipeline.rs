//! Parsing on one core while SQLite writes on the other.
//!
//! A producer (a parser, on its own thread) hands records over in batches
//! through a bounded channel, so memory stays flat however large the file:
//! at most `DEPTH` batches of `BATCH` records are in flight, plus what a
//! consumer asks to gather ([`run_ahead`]). The consumer
//! runs on the calling thread, which owns the database transaction.

use anyhow::{Result, anyhow};
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};

const BATCH: usize = 4096;
const DEPTH: usize = 4;

/// Runs `produce` on a helper thread, feeding the items it emits to
/// `consume` here, a batch at a time, in order. `consume` gives batches back
/// when done with them (at once, or later, several together): the helper
/// thread empties and reuses them, so what the parser allocated is freed on
/// the thread that allocated it (freeing across threads made the allocator a
/// tenth of the load). The first error on either side stops both; a
/// consumer error wins, since the producer only sees that the consumer
/// stopped.
pub fn run<T, R, P, C>(produce: P, consume: C) -> Result<R>
where
    T: Send,
    R: Send,
    P: FnOnce(&mut dyn FnMut(T) -> Result<()>) -> Result<R> + Send,
    C: FnMut(Vec<T>) -> Result<Vec<Vec<T>>>,
{
    run_ahead(0, produce, consume)
}

/// [`run`], with the producer allowed `items` more items ahead: a consumer
/// that gathers that many before it works on them keeps the producer busy
/// meanwhile.
pub fn run_ahead<T, R, P, C>(items: usize, produce: P, mut consume: C) -> Result<R>
where
    T: Send,
    R: Send,
    P: FnOnce(&mut dyn FnMut(T) -> Result<()>) -> Result<R> + Send,
    C: FnMut(Vec<T>) -> Result<Vec<Vec<T>>>,
{
    let depth = DEPTH + items.div_ceil(BATCH);
    let (sender, receiver): (SyncSender<Vec<T>>, Receiver<Vec<T>>) = sync_channel(depth);
    let (give_back, given_back): (Sender<Vec<T>>, Receiver<Vec<T>>) = channel();
    std::thread::scope(|scope| {
        let producer = scope.spawn(move || {
            let mut batch = Vec::with_capacity(BATCH);
            let mut empty: Vec<Vec<T>> = Vec::new();
            let result = produce(&mut |item| {
                batch.push(item);
                if batch.len() == BATCH {
                    for mut used in given_back.try_iter() {
                        used.clear();
                        empty.push(used);
                    }
                    let next = empty.pop().unwrap_or_else(|| Vec::with_capacity(BATCH));
                    sender
                        .send(std::mem::replace(&mut batch, next))
                        .map_err(|_| anyhow!("the loader stopped"))?;
                }
                Ok(())
            });
            if result.is_ok() && !batch.is_empty() {
                let _ = sender.send(batch);
            }
            result
        });
        let mut consumed = Ok(());
        for batch in receiver.iter() {
            match consume(batch) {
                Ok(used) => {
                    for batch in used {
                        // Fails only once the helper is gone: freed here.
                        let _ = give_back.send(batch);
                    }
                }
                Err(e) => {
                    consumed = Err(e);
                    break;
                }
            }
        }
        drop(receiver);
        let produced = producer
            .join()
            .map_err(|_| anyhow!("the parser thread panicked"))?;
        consumed?;
        produced
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_item_arrives_in_order() {
        let mut seen = Vec::new();
        let total = run(
            |emit| {
                for i in 0..10_000u32 {
                    emit(i)?;
                }
                Ok(10_000)
            },
            |batch| {
                assert!(!batch.is_empty() && batch.len() <= BATCH);
                seen.extend(batch.iter().copied());
                Ok(vec![batch])
            },
        )
        .unwrap();
        assert_eq!(total, 10_000);
        assert!(seen.iter().copied().eq(0..10_000));
    }

    /// A consumer that holds batches and gives them back together, with
    /// the producer running ahead, still sees every item once, in order.
    #[test]
    fn batches_given_back_later_and_together_lose_nothing() {
        let mut seen = Vec::new();
        let mut held: Vec<Vec<u32>> = Vec::new();
        run_ahead(
            3 * BATCH,
            |emit| {
                for i in 0..50_000u32 {
                    emit(i)?;
                }
                Ok(())
            },
            |batch| {
                seen.extend(batch.iter().copied());
                held.push(batch);
                Ok(if held.len() == 3 {
                    std::mem::take(&mut held)
                } else {
                    Vec::new()
                })
            },
        )
        .unwrap();
        assert!(seen.iter().copied().eq(0..50_000));
    }

    #[test]
    fn errors_on_either_side_stop_the_run() {
        let err = run(
            |emit| {
                emit(1)?;
                Err::<(), _>(anyhow!("bad row"))
            },
            |batch: Vec<i32>| Ok(vec![batch]),
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "bad row");
        let err = run(
            |emit| {
                for i in 0..100_000 {
                    emit(i)?;
                }
                Ok(())
            },
            |batch: Vec<i32>| {
                if batch.contains(&5000) {
                    Err(anyhow!("disk full"))
                } else {
                    Ok(vec![batch])
                }
            },
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "disk full");
    }
}
