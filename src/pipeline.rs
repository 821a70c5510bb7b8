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

/// Runs `produce` on a helper thread, feeding every item it emits to
/// `consume` here. The first error on either side stops both; a consumer
/// error wins, since the producer only sees that the consumer stopped.
pub fn run<T, R, P, C>(produce: P, mut consume: C) -> Result<R>
where
    T: Send,
    R: Send,
    P: FnOnce(&mut dyn FnMut(T) -> Result<()>) -> Result<R> + Send,
    C: FnMut(T) -> Result<()>,
{
    let (sender, receiver): (SyncSender<Vec<T>>, Receiver<Vec<T>>) = sync_channel(DEPTH);
    std::thread::scope(|scope| {
        let producer = scope.spawn(move || {
            let mut batch = Vec::with_capacity(BATCH);
            let result = produce(&mut |item| {
                batch.push(item);
                if batch.len() == BATCH {
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                    sender
                        .send(full)
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
            if let Err(e) = batch.into_iter().try_for_each(&mut consume) {
                consumed = Err(e);
                break;
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
            |i| {
                seen.push(i);
                Ok(())
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
            |_: i32| Ok(()),
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
            |i: i32| {
                if i == 5000 {
                    Err(anyhow!("disk full"))
                } else {
                    Ok(())
                }
            },
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "disk full");
    }
}
