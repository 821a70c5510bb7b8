//! End-to-end tests: the real `payrecon` binary over the fixtures.

mod cases;
mod demo;
mod errors;
mod generated;
mod inspect;
mod mapped;
mod native;
mod rerun;
mod util;
