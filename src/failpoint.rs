//! Test-only crash points. When `PAYRECON_FAILPOINT` names a point, the
//! process aborts there as if killed, so crash tests can stop a real run at
//! chosen places. Unset (always, in production) it costs one env lookup per
//! point per run.

pub fn hit(point: &str) {
    if std::env::var_os("PAYRECON_FAILPOINT").is_some_and(|p| p == point) {
        std::process::abort();
    }
}
