//! Parsing on one core while SQLite writes on the other.
//!
//! A producer (a parser, on its own thread) hands records over in batches
//! through a bounded channel, so memory stays flat however large the file:
//! at most `DEPTH` batches of `BATCH` records are in flight. The consumer
//! runs on the calling thread, which owns the database transaction.

use anyhow::{Result, anyhow};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

const BATCH: usize = 4096;
const DEPTH: usize = 4;

/// Runs `produce` on a helper thread, feeding the items it emits to
/// `consume` here, a batch at a time, in order. `consume` gives each batch
/// back when done with it: the helper thread empties and reuses it, so what
/// the parser allocated is freed on the thread that allocated it (freeing
/// across threads made the allocator a tenth of the load). The first error
/// on either side stops both; a consumer error wins, since the producer only
/// sees that the consumer stopped.
pub fn run<T, R, P, C>(produce: P, mut consume: C) -> Result<R>
where
    T: Send,
    R: Send,
    P: FnOnce(&mut dyn FnMut(T) -> Result<()>) -> Result<R> + Send,
    C: FnMut(Vec<T>) -> Result<Vec<T>>,
{
    let (sender, receiver): (SyncSender<Vec<T>>, Receiver<Vec<T>>) = sync_channel(DEPTH);
    let (give_back, given_back): (SyncSender<Vec<T>>, Receiver<Vec<T>>) = sync_channel(DEPTH + 1);
    std::thread::scope(|scope| {
        let producer = scope.spawn(move || {
            let mut batch = Vec::with_capacity(BATCH);
            let result = produce(&mut |item| {
                batch.push(item);
                if batch.len() == BATCH {
                    let mut next = match given_back.try_recv() {
                        Ok(mut used) => {
                            used.clear();
                            used
                        }
                        Err(_) => Vec::with_capacity(BATCH),
                    };
                    std::mem::swap(&mut batch, &mut next);
                    sender
                        .send(next)
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
                // Full when the helper has stopped taking batches back:
                // this one is then freed here.
                Ok(used) => drop(give_back.try_send(used)),
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
                Ok(batch)
            },
        )
        .unwrap();
        assert_eq!(total, 10_000);
        assert!(seen.iter().copied().eq(0..10_000));
    }

    #[test]
    fn errors_on_either_side_stop_the_run() {
        let err = run(
            |emit| {
                emit(1)?;
                Err::<(), _>(anyhow!("bad row"))
            },
            |batch: Vec<i32>| Ok(batch),
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
                    Ok(batch)
                }
            },
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "disk full");
    }
}
