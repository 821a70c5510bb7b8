//! Test-only crash points. When `PAYRECON_FAILPOINT` names a point, the
//! process aborts there as if killed, so crash tests can stop a real run at
//! chosen places; `NAME:sleep` parks the process there instead (holding
//! whatever it holds) until the test kills it.
//!
//! They exist only in a build with the `failpoints` cargo feature (which
//! the tests turn on through the crate's dev-dependency on itself): a
//! release binary ignores the variable, so nobody can abort a production
//! run from its environment.

use std::ops::RangeInclusive;

#[cfg(feature = "failpoints")]
fn armed() -> Option<&'static str> {
    static POINT: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    POINT
        .get_or_init(|| {
            std::env::var_os("PAYRECON_FAILPOINT").map(|p| p.to_string_lossy().into_owned())
        })
        .as_deref()
}

#[cfg(not(feature = "failpoints"))]
#[inline(always)]
fn armed() -> Option<&'static str> {
    None
}

/// The point named `point`.
pub fn hit(point: &str) {
    if let Some(armed) = armed() {
        fire_if(armed, |name| name == point);
    }
}

/// The point named `{prefix}-{n}` (`after-load-2`, `staged-2`): numbered
/// points are only parsed when one is armed.
pub fn hit_n(prefix: &str, n: u64) {
    hit_range(prefix, n..=n);
}

/// Each point `{prefix}-{n}` for `n` in `numbers` (`load-row-1000` inside a
/// batch of rows): a batch passes all of its points at once.
pub fn hit_range(prefix: &str, numbers: RangeInclusive<u64>) {
    if let Some(armed) = armed() {
        fire_if(armed, |name| {
            name.strip_prefix(prefix)
                .and_then(|rest| rest.strip_prefix('-'))
                .and_then(|number| number.parse::<u64>().ok())
                .is_some_and(|n| numbers.contains(&n))
        });
    }
}

fn fire_if(armed: &str, matches: impl Fn(&str) -> bool) {
    let (name, sleep) = match armed.strip_suffix(":sleep") {
        Some(name) => (name, true),
        None => (armed, false),
    };
    if !matches(name) {
        return;
    }
    if sleep {
        eprintln!("failpoint {name}: sleeping");
        loop {
            std::thread::sleep(std::time::Duration::from_secs(3600));
        }
    }
    std::process::abort();
}
