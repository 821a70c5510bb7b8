//! Wall-clock time per phase of a run, for `--timings` and the benchmarks.
//! Only durations are measured (monotonic clock); nothing here reaches an
//! output file, so runs stay reproducible.

use std::time::{Duration, Instant};

pub struct Phases {
    last: Instant,
    pub entries: Vec<(String, Duration)>,
}

impl Default for Phases {
    fn default() -> Self {
        Phases {
            last: Instant::now(),
            entries: Vec::new(),
        }
    }
}

impl Phases {
    /// Ends the current phase under `name` and starts the next.
    pub fn mark(&mut self, name: impl Into<String>) {
        let now = Instant::now();
        self.entries.push((name.into(), now - self.last));
        self.last = now;
    }

    pub fn report(&self) -> String {
        let total: Duration = self.entries.iter().map(|(_, d)| *d).sum();
        let mut text = String::new();
        for (name, d) in &self.entries {
            text += &format!("{:>9.3} s  {name}\n", d.as_secs_f64());
        }
        text += &format!("{:>9.3} s  total\n", total.as_secs_f64());
        text
    }
}
