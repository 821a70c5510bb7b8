//! End-to-end tests: the real `payrecon` binary over the fixtures.

mod accounting;
mod bad_input;
mod cases;
mod concurrency;
mod crash;
mod demo;
mod errors;
mod files;
mod fuzz_smoke;
mod generated;
mod idempotence;
mod inspect;
mod limits;
mod mapped;
mod multi_day;
mod native;
mod output_safety;
mod permissions;
mod refund_attack;
mod refund_properties;
mod regression;
mod report;
mod rerun;
mod util;
mod zones;
