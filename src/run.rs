//! `payrecon run`: load, classify, decide refunds, write outputs.
//!
//! All of it happens inside one database transaction. Outputs are staged
//! before the commit and renamed into place after it, so a failure at any
//! point leaves the database and the output folder as they were, and a crash
//! between commit and rename is repaired by rerunning (same bytes); until
//! that day is rerun, every later run names it (`published_day`).
//! `crate::failpoint` points mark each stage for the crash tests.

use crate::config::Config;
use crate::emit::{
    self, Staged,
    day::DayReport,
    summary::{FileLine, Summary, Tally},
};
use crate::ingest::{orders, settlement};
use crate::phases::Phases;
use crate::pipeline;
use crate::reconcile::{self, refunds};
use crate::store::bulk::SetAside;
use crate::store::{Store, cache, load, refund_files};
use anyhow::{Context, Result};
use rusqlite::Connection;
use rusqlite::OptionalExtension;
use sha2::Digest;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What a completed run reports back to the command line.
pub struct RunOutcome {
    pub business_day: String,
    pub out_dir: PathBuf,
    /// summary.md, for the terminal.
    pub summary_markdown: String,
    /// summary.json, for the short summary on a terminal.
    pub summary_json: Vec<u8>,
    /// Findings that need a person (for --fail-on-findings).
    pub needs_action: usize,
    /// One line per input file: loaded, skipped, replaced.
    pub notices: Vec<String>,
    /// Days whose committed refund instructions this run could not see
    /// into a published refund file: exit status 4.
    pub unpublished: Vec<String>,
    pub phases: Phases,
}

pub fn run(config: &Config) -> Result<RunOutcome> {
    run_logged(config, None)
}

/// [`run`], recording in the run history's row `run_id` (when it has one)
/// that the run committed, in the commit itself: a run killed after it is
/// never shown as one whose changes rolled back.
pub fn run_logged(config: &Config, run_id: Option<i64>) -> Result<RunOutcome> {
    let lock = Duration::from_secs(config.lock_timeout_secs);
    let mut store = Store::open(&config.db, lock, config.db_file_mode)?;
    let mut notices = Vec::new();
    // In a transaction of its own, so what it writes stays recorded as
    // written even if this run fails later.
    let pending = {
        let tx = store.begin(&config.db, lock)?;
        let pending = settle_refund_files(&tx, config, &mut notices)?;
        tx.commit()?;
        pending
    };
    let tx = store.begin(&config.db, lock)?;
    crate::failpoint::hit("after-begin");
    let mut phases = Phases::default();
    // Rows loaded by this run so far, for the `load-row-N` crash points.
    let mut loaded = 0u64;
    let mut files = 0u64;
    let orders = identify(&config.orders, load::FileIdentity::of_orders)?;
    let settlements = identify(&settlement_files(&config.settlements)?, |path| {
        load::FileIdentity::of_settlement(path, config.settlement_day)
    })?;
    // The day the last judgement was made as of, when this run can build on
    // it: its loads then note what they change, and coverage before them
    // is kept (the days they newly cover wake the attempts waiting for them).
    let last_judged = match config.full {
        true => None,
        false => reconcile::scope::last_judged_day(
            &tx,
            config.settle_lag_days,
            config.refund_confirm_days,
        )?,
    };
    // A first judgement leaves aside the indexes only an incremental one
    // reads (a one-off day never needs them); any later run keeps them.
    let first_judgement = !reconcile::scope::judged_before(&tx)?;
    if last_judged.is_some() {
        crate::store::changes::track(&tx)?;
        reconcile::coverage(&tx, config.settle_lag_days)?;
        reconcile::scope::remember_coverage(&tx)?;
    }
    let aside = SetAside::for_load(&tx, new_bytes(&tx, orders.iter().chain(&settlements))?)?;
    for (path, identity) in &orders {
        load_orders(&tx, config, path, identity, &mut notices, &mut loaded)?;
        phases.mark(format!("load {}", path.display()));
        files += 1;
        crate::failpoint::hit_n("after-load", files);
    }
    // The channel day each settlement file of this run covers.
    let mut covered_now = BTreeMap::new();
    for (path, identity) in &settlements {
        let files_of_run = RunFiles {
            covered: &mut covered_now,
            notices: &mut notices,
            loaded: &mut loaded,
        };
        load_settlement(&tx, config, path, identity, files_of_run)?;
        phases.mark(format!("load {}", path.display()));
        files += 1;
        crate::failpoint::hit_n("after-load", files);
    }
    if aside.restore(&tx, first_judgement)? {
        phases.mark("rebuild the indexes set aside for the load");
    }
    if !first_judgement && crate::store::schema::ensure_follow_indexes(&tx)? {
        phases.mark("build the indexes an incremental judgement follows");
    }
    if let Some(path) = &config.refund_results {
        let results = crate::ingest::refund_results::read(path)?;
        let n = refunds::apply_results(&tx, path, &results)?;
        notices.push(format!("loaded {}: {n} refund result(s)", path.display()));
    }
    reconcile::coverage(&tx, config.settle_lag_days)?;
    let given = given_channel_days(&tx, &settlements)?;
    let business_day = business_day(&tx, config, &given)?;
    tx.execute(
        "UPDATE loaded_file SET business_day = ?1 WHERE business_day = ''",
        [&business_day],
    )?;
    // This run writes every refund file of its own day.
    let mut unpublished = Vec::new();
    for (day, warning) in pending {
        if day != business_day {
            notices.push(warning);
            unpublished.push(day);
        }
    }
    unpublished.dedup();
    // The outputs depend on the loaded state and on which days still wait
    // to be published (the summary names them).
    let state_key = |conn: &Connection| -> Result<String> {
        Ok(format!(
            "{};unpublished {};{}",
            cache::state_key(conn, &business_day, config.settle_lag_days)?,
            unpublished.join(","),
            output_settings(config).key()
        ))
    };
    let key = state_key(&tx)?;
    let out_dir = config
        .out
        .clone()
        .unwrap_or_else(|| config.out_root.join(&business_day));
    let mut staged = Staged::new(&out_dir)?;
    // `--full` judges again, whatever was stored.
    let stored = match config.full {
        true => None,
        false => cache::digests(&tx, &business_day, &key)?,
    };
    let reusable = match stored {
        Some(digests) => {
            let mut folders = vec![out_dir.clone()];
            folders.extend(cache::published_folder(&tx, &business_day)?);
            cache::intact_outputs(&folders, &digests)
                .filter(|_| emit::is_complete(&digests))
                .map(|folder| (folder, digests))
        }
        None => None,
    };
    let summary = match reusable {
        Some((folder, digests)) => {
            if !same_folder(&folder, &out_dir) {
                for (name, _) in &digests {
                    let mode = emit::mode_of(name, config.refund_file_mode);
                    staged.copy(name, &folder.join(name), mode)?;
                }
            }
            record_refund_files(&tx, &business_day, &out_dir, &digests)?;
            phases.mark("reuse the outputs of an unchanged state");
            ShownSummary::read(&folder)?
        }
        None => {
            let summary = reconcile_day(
                &tx,
                &business_day,
                last_judged.as_deref(),
                config,
                &unpublished,
                &mut phases,
                &mut staged,
            )?;
            cache::store(&tx, &business_day, &state_key(&tx)?, staged.digests())?;
            record_refund_files(&tx, &business_day, &out_dir, staged.digests())?;
            summary
        }
    };
    check_refund_file_places(&tx, &business_day, &out_dir, staged.digests())?;
    if let Some(run_id) = run_id {
        crate::cmd::history::mark_committed(&tx, run_id, &business_day)?;
    }
    crate::failpoint::hit("before-commit");
    tx.commit()
        .with_context(|| format!("failed to commit database {}", config.db.display()))?;
    crate::failpoint::hit("after-commit");
    let mut refund_files_out = Vec::new();
    staged
        .publish(|name| {
            if let Some(batch) = refund_files::batch_of(name) {
                refund_files::mark_published(store.conn(), &business_day, batch)?;
            }
            refund_files_out.push(name.to_string());
            Ok(())
        })
        .map_err(|err| {
            anyhow::Error::new(crate::error::PublishedInPart {
                business_day: business_day.clone(),
                out_dir: out_dir.clone(),
                refund_files: refund_files_out.clone(),
                cause: format!("{err:#}"),
            })
        })?;
    crate::failpoint::hit("after-publish");
    let batches = refund_files::batches(store.conn(), &business_day)?;
    if let Err(err) = store.mark_published(&business_day, &out_dir, &batches) {
        notices.push(format!(
            "warning: {err:#} (a later run will ask for a rerun of {business_day})"
        ));
    }
    phases.mark("commit and publish");
    if config.retention_days > 0 {
        match compact_after(&mut store, config, &business_day) {
            Ok(done) if done.files > 0 => notices.push(format!(
                "compacted {} settlement file(s) older than {} day(s): {} row(s), {} attempt(s)",
                done.files, config.retention_days, done.settlement_rows, done.attempts
            )),
            Ok(_) => {}
            Err(err) => notices.push(format!(
                "warning: compacting old days failed ({err:#}); nothing was removed, the next run tries again"
            )),
        }
        phases.mark("compact old days");
    }
    Ok(RunOutcome {
        phases,
        business_day,
        out_dir,
        summary_markdown: summary.markdown,
        summary_json: summary.json,
        needs_action: summary.needs_action,
        notices,
        unpublished,
    })
}

/// Compacts the days older than the retention window, in a transaction of
/// its own after the run's commit (a failure removes nothing).
fn compact_after(
    store: &mut Store,
    config: &Config,
    business_day: &str,
) -> Result<crate::store::retention::Compacted> {
    let cutoff = crate::store::retention::cutoff_day(business_day, config.retention_days)?;
    if !crate::store::retention::is_due(store.conn(), &cutoff)? {
        return Ok(Default::default());
    }
    let lock = Duration::from_secs(config.lock_timeout_secs);
    let tx = store.begin(&config.db, lock)?;
    let done = crate::store::retention::compact(&tx, &cutoff)?;
    tx.commit()?;
    Ok(done)
}

/// Settles the refund files earlier runs committed but did not see into
/// place (a run killed between its commit and the rename): one found in
/// place with its recorded bytes is marked published; a missing one is
/// written again (its bytes follow from the database) and said so. Returns
/// the day and the warning of each refund file still not out, which the
/// run reports loudly unless it publishes that day itself.
fn settle_refund_files(
    conn: &Connection,
    config: &Config,
    notices: &mut Vec<String>,
) -> Result<Vec<(String, String)>> {
    let mut still_out = Vec::new();
    for file in refund_files::unpublished(conn)? {
        let day = &file.business_day;
        if file.path.is_empty() {
            still_out.push((day.clone(), format!(
                "warning: the refund instructions of {day} were committed but its refunds.csv was never written (a run was killed); rerun it: payrecon run --date {day}"
            )));
            continue;
        }
        let path = Path::new(&file.path);
        if load::file_sha256(path).ok().as_deref() == Some(&file.sha256) {
            refund_files::mark_published(conn, day, file.batch)?;
            continue;
        }
        match republish(conn, &file, config) {
            Ok(()) => {
                refund_files::mark_published(conn, day, file.batch)?;
                // A run records each refund file published as soon as it
                // is renamed into place; one missing now was either never
                // renamed, or renamed just before a kill took the run: only
                // the refund job knows whether it took the file.
                notices.push(format!(
                    "warning: wrote {}: {} refund instruction(s) of {day} that a run killed right after its commit did not record as published; submit it unless your refund job already submitted that file of {day} (it holds the same refund_request_ids)",
                    file.path, file.rows
                ));
            }
            Err(err) => still_out.push((day.clone(), format!(
                "warning: {} refund instruction(s) of {day} were committed but {} was never written, and writing it failed ({err:#}); publish them with: payrecon run --date {day}",
                file.rows, file.path
            ))),
        }
    }
    Ok(still_out)
}

/// Where output `name` of folder `out_dir` is, as one spelling: the folder's
/// canonical path (symlinks and `..` resolved; it exists once staged).
fn place_of(out_dir: &Path, name: &str) -> Result<String> {
    let folder = out_dir
        .canonicalize()
        .with_context(|| format!("failed to resolve output folder {}", out_dir.display()))?;
    Ok(folder.join(name).display().to_string())
}

/// A refund file of another day (or batch) that is still where this run
/// would publish one of its own: renaming over it would take it away from
/// the refund job before it was read. Known by its bytes, wherever it was
/// first published (the folder may have been moved, or reached through
/// another spelling since). The run is refused instead.
fn check_refund_file_places(
    conn: &Connection,
    business_day: &str,
    out_dir: &Path,
    digests: &[(String, String)],
) -> Result<()> {
    for (name, _) in digests {
        let Some(batch) = refund_files::batch_of(name) else {
            continue;
        };
        let path = out_dir.join(name);
        let Ok(present) = load::file_sha256(&path) else {
            continue;
        };
        for other in refund_files::with_sha(conn, &present)? {
            if (other.business_day.as_str(), other.batch) == (business_day, batch)
                || other.rows == 0
            {
                continue;
            }
            anyhow::bail!(
                "{} holds {} refund instruction(s) of {} that this run's {name} for {business_day} would replace: let the refund job take it (move it away), or publish each day in its own folder (out_root, or another --out)",
                path.display(),
                other.rows,
                other.business_day
            );
        }
    }
    Ok(())
}

/// Writes a committed refund file again at its recorded path, from the
/// database, if that gives the bytes that were committed.
fn republish(conn: &Connection, file: &refund_files::RefundFile, config: &Config) -> Result<()> {
    let path = Path::new(&file.path);
    let bytes = emit::refunds::to_csv(&refunds::for_batch(conn, &file.business_day, file.batch)?)?;
    anyhow::ensure!(
        hex::encode(sha2::Sha256::digest(&bytes)) == file.sha256,
        "the database no longer gives the bytes that were committed"
    );
    let (Some(folder), Some(name)) = (path.parent(), path.file_name()) else {
        anyhow::bail!("{} is not a file path", path.display());
    };
    let name = name.to_string_lossy();
    let mut staged = Staged::new(folder)?;
    staged.bytes(&name, &bytes, emit::mode_of(&name, config.refund_file_mode))?;
    staged.publish_again()?;
    Ok(())
}

/// Records, in the run's transaction, each refund file among the day's
/// outputs (`digests`: name and SHA-256) at its place in `out_dir`.
fn record_refund_files(
    conn: &Connection,
    business_day: &str,
    out_dir: &Path,
    digests: &[(String, String)],
) -> Result<()> {
    for (name, sha256) in digests {
        let Some(batch) = refund_files::batch_of(name) else {
            continue;
        };
        let rows = refunds::count_in_batch(conn, business_day, batch)?;
        refund_files::record(
            conn,
            &refund_files::RefundFile {
                business_day: business_day.to_string(),
                batch,
                // Canonical: the run that settles it may start elsewhere,
                // and another spelling of the folder (a symlink, `..`) is
                // the same place.
                path: place_of(out_dir, name)?,
                sha256: sha256.clone(),
                rows,
            },
        )?;
    }
    Ok(())
}

/// What the run prints of the day's summary.
struct ShownSummary {
    markdown: String,
    json: Vec<u8>,
    needs_action: usize,
}

impl ShownSummary {
    fn new(markdown: String, json: &[u8]) -> ShownSummary {
        let needs_action = serde_json::from_slice::<serde_json::Value>(json)
            .ok()
            .and_then(|v| v["needs_action"].as_u64())
            .unwrap_or_default() as usize;
        ShownSummary {
            markdown,
            json: json.to_vec(),
            needs_action,
        }
    }

    /// From a folder of published outputs.
    fn read(folder: &Path) -> Result<ShownSummary> {
        let read = |name: &str| {
            let path = folder.join(name);
            std::fs::read(&path).with_context(|| format!("failed to read {}", path.display()))
        };
        Ok(ShownSummary::new(
            String::from_utf8_lossy(&read("summary.md")?).into_owned(),
            &read("summary.json")?,
        ))
    }
}

/// Whether two paths name the same folder (one may be relative).
fn same_folder(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// What decides the outputs' bytes beyond the day's state.
fn output_settings(config: &Config) -> emit::Settings {
    emit::Settings {
        refund_file_mode: config.refund_file_mode,
        csv_encoding: config.csv_encoding,
    }
}

/// Classifies everything loaded, issues the day's refunds, records first
/// sightings, and stages every output of the registry (`emit::outputs`).
fn reconcile_day(
    conn: &Connection,
    business_day: &str,
    last_judged: Option<&str>,
    config: &Config,
    unpublished: &[String],
    phases: &mut Phases,
    staged: &mut Staged,
) -> Result<ShownSummary> {
    let clock_day = reconcile::scope::clock_day(conn, business_day)?;
    let judgement = reconcile::Judgement {
        settle_lag_days: config.settle_lag_days,
        business_day,
        clock_day: &clock_day,
        refund_confirm_days: config.refund_confirm_days,
    };
    let reach = reconcile::scope::prepare(conn, &judgement, last_judged, phases)?;
    phases.mark(format!(
        "scope: {} attempt(s) to judge{}",
        reconcile::scope::attempts_judged(conn)?,
        if reach == reconcile::scope::Reach::Everything {
            " (everything)"
        } else {
            ""
        }
    ));
    reconcile::classify(conn, &judgement, phases)?;
    crate::failpoint::hit("after-classify");
    refunds::issue(conn, business_day, judgement.judges_the_past())?;
    reconcile::judge_issued_instructions(conn, &judgement)?;
    crate::failpoint::hit("after-refunds");
    phases.mark("issue refunds");
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    reconcile::lifecycle::record(conn, business_day, &now, config.refund_confirm_days, phases)?;
    phases.mark("refunds and the findings ledger");
    reconcile::scope::record(conn, &judgement, reach)?;
    phases.mark("record what the next run starts from");
    crate::failpoint::hit("after-ledger");
    let settings = output_settings(config);
    let mut outputs = emit::outputs(staged, &settings)?;
    let mut day = DayReport {
        business_day: business_day.to_string(),
        refund_files: emit::day::refund_batches(conn, business_day)?,
        controls: emit::day::control_totals(conn, business_day)?,
        trend: emit::day::trend(conn, business_day)?,
        csv_encoding: settings.csv_encoding,
        summary: None,
    };
    phases.mark("outputs: refund files, control totals, trend");
    let mut tally = Tally::default();
    reconcile::for_each_finding(conn, business_day, &config.aging, |finding| {
        tally.add(&finding);
        outputs
            .iter_mut()
            .try_for_each(|output| output.finding(&finding))
    })?;
    phases.mark("outputs: the day's findings");
    day.summary = Some(Summary::new(
        business_day,
        files_for_day(conn, business_day)?,
        tally,
        &day.refund_files,
        refunds::states(conn, business_day, config.refund_confirm_days)?,
        reconcile::refunds_without_payment(conn, reach)?,
        unpublished.to_vec(),
        &day.controls,
    ));
    let mut sink = emit::Sink { staged, settings };
    phases.mark("outputs: summary");
    for output in outputs {
        let name = output.name();
        output.finish(&day, &mut sink)?;
        phases.mark(format!("output {name}"));
    }
    let markdown = day.summary().to_markdown();
    let json = day.summary().to_json()?;
    Ok(ShownSummary::new(markdown, &json))
}

fn load_orders(
    conn: &Connection,
    config: &Config,
    path: &Path,
    identity: &load::FileIdentity,
    notices: &mut Vec<String>,
    loaded: &mut u64,
) -> Result<()> {
    let Some(file_id) = register_new(conn, identity, "orders", path, notices)? else {
        return Ok(());
    };
    let (input, bar) = open_with_progress(path, config.quiet)?;
    let opts = orders::OrdersOptions {
        day_zone: config.zone,
        default_currency: &config.default_currency,
        mapping: &config.orders_mapping,
    };
    let mut loader = load::AttemptLoader::new(conn, file_id)?;
    let mut notes = Vec::new(); // what was told, not configured (encoding, delimiter)
    let rows = pipeline::run_ahead(
        load::SORT_CHUNK,
        |emit| {
            orders::read_noted(path, input, &opts, &mut notes, |attempt, line| {
                emit((attempt, line))
            })
        },
        |batch| {
            loaded_rows(loaded, batch.len() as u64);
            loader.add_batch(conn, path, batch)
        },
    )?;
    loader.finish(conn, path)?;
    ensure_orders_rows(config, path, rows)?;
    load::finish_orders_file(conn, file_id, rows)?;
    bar.finish_and_clear();
    notices.append(&mut notes);
    notices.push(format!("loaded {}: {rows} attempt(s)", path.display()));
    Ok(())
}

/// What a run keeps across the settlement files it loads.
struct RunFiles<'r> {
    /// The channel day each file loaded so far covers, and its path.
    covered: &'r mut BTreeMap<(String, chrono::NaiveDate), PathBuf>,
    notices: &'r mut Vec<String>,
    loaded: &'r mut u64,
}

fn load_settlement(
    conn: &Connection,
    config: &Config,
    path: &Path,
    identity: &load::FileIdentity,
    run: RunFiles,
) -> Result<()> {
    let RunFiles {
        covered,
        notices,
        loaded,
    } = run;
    let Some(file_id) = register_new(conn, identity, "settlement", path, notices)? else {
        return Ok(());
    };
    let (input, bar) = open_with_progress(path, config.quiet)?;
    let cx = settlement::Context {
        path,
        zone: config.zone,
        default_currency: &config.default_currency,
        settings: &config.format_settings,
    };
    let mut loader = load::SettlementLoader::new(conn, file_id)?;
    let mut span = crate::ingest::day::RowSpan::default();
    let parsed = pipeline::run(
        |emit| {
            settlement::read_file(
                input,
                &cx,
                config.format.as_deref(),
                config.settlement_day,
                emit,
            )
        },
        |batch| {
            batch.iter().for_each(|record| span.add(record));
            let batch = loader.add_batch(batch)?;
            loaded_rows(loaded, batch.len() as u64);
            Ok(vec![batch])
        },
    )?;
    drop(loader);
    check_channel_name(conn, path, &parsed.channel)?;
    if crate::store::retention::is_compacted(conn, &parsed.channel, &parsed.day.to_string())? {
        return Err(crate::error::InputError::file(
            path,
            format!(
                "is a file of {} {}, a day whose rows were compacted away (retention_days); a correction of it cannot be judged any more: reconcile it by hand",
                parsed.channel, parsed.day
            ),
        )
        .into());
    }
    check_day(config, path, &parsed, &span)?;
    // Two different files for one channel day in one run: which is the
    // right one is not payrecon's to guess (the later would silently
    // replace the other as its correction).
    let day_key = (parsed.channel.clone(), parsed.day);
    if let Some(other) = covered.get(&day_key) {
        return Err(crate::error::InputError::file(
            path,
            format!(
                "is a second file for {} {} in this run, with other content than {}: payrecon takes one file per channel and day: give the one that is right (a correction of a day loaded earlier is given alone, in a later run)",
                parsed.channel,
                parsed.day,
                other.display()
            ),
        )
        .into());
    }
    covered.insert(day_key, path.to_path_buf());
    let replaced = load::finish_settlement_file(conn, file_id, &parsed)?;
    bar.finish_and_clear();
    let skipped = load::skipped_text(&parsed.skipped);
    notices.extend(parsed.notes.iter().cloned()); // e.g. which source gave the day
    notices.push(format!(
        "loaded {}: {} day {}, {} row(s), {} format{}{}",
        path.display(),
        parsed.channel,
        parsed.day,
        parsed.rows,
        parsed.format,
        if skipped.is_empty() {
            String::new()
        } else {
            format!("; skipped (not order money): {skipped}")
        },
        replaced
            .map(|old| format!(", replacing {old} (corrected file)"))
            .unwrap_or_default()
    ));
    Ok(())
}

/// Counts rows loaded by this run, passing the `load-row-N` crash points.
fn loaded_rows(loaded: &mut u64, rows: u64) {
    let first = *loaded + 1;
    *loaded += rows;
    crate::failpoint::hit_range("load-row", first..=*loaded);
}

/// A file named for one channel (`alipay-2026-11-21.csv`) whose rows are
/// another's is the wrong file: loading it would stand in for, or replace,
/// the other channel's day. Refused when the name's leading word is a
/// channel payrecon knows (a format it reads natively, the export or
/// earlier files); other names
/// (`settlement_detail_report_batch_4.csv`) say nothing about the channel.
fn check_channel_name(conn: &Connection, path: &Path, channel: &str) -> Result<()> {
    let Some(named) = crate::ingest::day::channel_from_name(path) else {
        return Ok(());
    };
    if named == channel {
        return Ok(());
    }
    // A channel payrecon reads natively is one by name, even before the
    // first of its files or attempts is loaded.
    let native = settlement::FORMATS
        .iter()
        .any(|f| f.name == named && f.name != "canonical");
    let known: bool = native
        || conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM attempt WHERE channel = ?1)
             OR EXISTS (SELECT 1 FROM loaded_file WHERE role = 'settlement' AND channel = ?1)",
            [&named],
            |r| r.get(0),
        )?;
    if known {
        return Err(crate::error::InputError::file(
            path,
            format!("its name says channel '{named}', but its rows are channel '{channel}': is it the wrong file, or misnamed?"),
        )
        .into());
    }
    Ok(())
}

/// A file whose rows fall outside the day it claims (within its format's
/// tolerance) is another day's file, or misnamed: loaded under the claimed
/// day it would stand in for that day, and a later right file would be
/// taken as a correction of it.
fn check_day(
    config: &Config,
    path: &Path,
    parsed: &settlement::ParsedFile,
    span: &crate::ingest::day::RowSpan,
) -> Result<()> {
    let refusal = span.refusal(
        parsed.day,
        parsed.day_source.describe(&parsed.format),
        &parsed.format,
        config.zone,
        config.day_tolerance(&parsed.format),
    );
    match refusal {
        Some(problem) => Err(crate::error::InputError::file(path, problem).into()),
        None => Ok(()),
    }
}

/// Each input file with its identity (its content hash).
fn identify(
    paths: &[PathBuf],
    identity: impl Fn(&Path) -> Result<load::FileIdentity>,
) -> Result<Vec<(PathBuf, load::FileIdentity)>> {
    paths
        .iter()
        .map(|path| Ok((path.clone(), identity(path)?)))
        .collect()
}

/// The size of the input files not loaded before: how large this run's
/// load is.
fn new_bytes<'a>(
    conn: &Connection,
    files: impl Iterator<Item = &'a (PathBuf, load::FileIdentity)>,
) -> Result<u64> {
    let mut total = 0;
    for (path, identity) in files {
        if load::known_file(conn, &identity.key)?.is_none() {
            total += std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        }
    }
    Ok(total)
}

/// Registers a file not loaded before and returns its id; a file already
/// loaded (same identity) is only noted.
fn register_new(
    conn: &Connection,
    identity: &load::FileIdentity,
    role: &str,
    path: &Path,
    notices: &mut Vec<String>,
) -> Result<Option<i64>> {
    if let Some(known) = load::known_file(conn, &identity.key)? {
        notices.push(already_loaded(path, &known));
        return Ok(None);
    }
    Ok(Some(load::register_file(conn, identity, role, path, "")?))
}

fn already_loaded(path: &Path, known: &load::KnownFile) -> String {
    format!(
        "skipped {}: already loaded (same content as {}, run for {})",
        path.display(),
        known.path,
        known.business_day
    )
}

fn open_with_progress(
    path: &Path,
    quiet: bool,
) -> Result<(impl std::io::Read, indicatif::ProgressBar)> {
    let file =
        std::fs::File::open(path).with_context(|| format!("failed to open {}", path.display()))?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let bar = crate::progress::file_bar(len, &path.display().to_string(), quiet);
    Ok((bar.wrap_read(file), bar))
}

/// Files given as folders are read in name order; hidden files are skipped.
fn settlement_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
                .with_context(|| format!("failed to list settlement folder {}", path.display()))?
                .map(|e| e.map(|e| e.path()))
                .collect::<std::io::Result<_>>()
                .with_context(|| format!("failed to list settlement folder {}", path.display()))?;
            entries.retain(|p| {
                p.is_file()
                    && !p
                        .file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            });
            entries.sort();
            files.extend(entries);
        } else {
            files.push(path.clone());
        }
    }
    Ok(files)
}

/// The (channel, day) of each settlement file given to this run, loaded now
/// or before.
fn given_channel_days(
    conn: &Connection,
    files: &[(PathBuf, load::FileIdentity)],
) -> Result<Vec<(String, String)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT channel, day FROM loaded_file
         WHERE identity = ?1 AND channel IS NOT NULL AND day IS NOT NULL",
    )?;
    let mut given = Vec::new();
    for (_, identity) in files {
        if let Some(pair) = stmt
            .query_row([&identity.key], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?
        {
            given.push(pair);
        }
    }
    Ok(given)
}

/// `--date`, else the latest day the run's own settlement files cover (a
/// file of day D helps cover D - lag through D), else the latest day
/// covered (its files and its T+lag files are loaded), else the latest
/// settlement day loaded, else the latest attempt day. So a run that loads
/// an earlier day's files (days fed out of order) reports that day, and
/// never files that day's refunds under a later day already published.
/// Runs after [`reconcile::coverage`], which builds `covered_day`.
fn business_day(conn: &Connection, config: &Config, given: &[(String, String)]) -> Result<String> {
    if let Some(day) = config.business_date {
        refuse_a_day_before_the_files(day, given, config.settle_lag_days)?;
        return Ok(day.to_string());
    }
    let mut covered_by_given = conn.prepare_cached(
        "SELECT max(day) FROM temp.covered_day
         WHERE channel = ?1 AND day BETWEEN date(?2, '-' || ?3 || ' days') AND ?2",
    )?;
    let mut latest_given: Option<String> = None;
    for (channel, day) in given {
        let covered: Option<String> = covered_by_given.query_row(
            rusqlite::params![channel, day, config.settle_lag_days],
            |r| r.get(0),
        )?;
        latest_given = latest_given.max(covered);
    }
    if let Some(day) = latest_given {
        return Ok(day);
    }
    let latest: Option<String> = conn.query_row(
        "SELECT coalesce(
            (SELECT max(day) FROM temp.covered_day),
            (SELECT max(day) FROM loaded_file WHERE role = 'settlement' AND replaced_by IS NULL),
            (SELECT max(created_day) FROM attempt))",
        [],
        |r| r.get(0),
    )?;
    latest.context("nothing is loaded yet, so there is no business day to reconcile: give --orders and --settlement files (or --date)")
}

/// A `--date` before every day this run's settlement files can cover (a
/// file of day D covers D − lag through D) would judge their payments, and
/// file their refunds, on a day before they were made, and set the ledger's
/// first sightings before the facts: a typo, refused. A later `--date` is a
/// day on which nothing new arrived, which is fine.
fn refuse_a_day_before_the_files(
    day: chrono::NaiveDate,
    given: &[(String, String)],
    lag_days: u32,
) -> Result<()> {
    let earliest = given
        .iter()
        .filter_map(|(channel, file_day)| Some((crate::timestamp::parse_day(file_day)?, channel)))
        .min();
    let Some((file_day, channel)) = earliest else {
        return Ok(());
    };
    let first_covered = file_day - chrono::Days::new(u64::from(lag_days));
    if day < first_covered {
        anyhow::bail!(
            "--date {day} is before every day this run's settlement files cover ({channel}'s file of {file_day} covers {first_covered} onward, with settle_lag_days = {lag_days}): their payments would be judged, and their refunds filed, on a day before they were made. Give --date {first_covered} or later, or leave it out"
        );
    }
    Ok(())
}

fn files_for_day(conn: &Connection, business_day: &str) -> Result<Vec<FileLine>> {
    let mut stmt = conn.prepare(
        "SELECT path, role, format, channel, day, rows, replaced_by IS NOT NULL, skipped
         FROM loaded_file WHERE business_day = ?1 ORDER BY file_id",
    )?;
    let rows = stmt.query_map([business_day], |r| {
        Ok(FileLine {
            path: r.get(0)?,
            role: r.get(1)?,
            format: r.get(2)?,
            channel: r.get(3)?,
            day: r.get(4)?,
            rows: r.get(5)?,
            replaced: r.get(6)?,
            skipped: r.get(7)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Issue 12: an order export with no rows (0 bytes, or its header only) is
/// an error unless `--allow-empty-orders`: a failed export job must not
/// pass as a quiet day (every channel payment would be UNMATCHED_CHANNEL).
fn ensure_orders_rows(config: &Config, path: &Path, rows: u64) -> Result<()> {
    if rows > 0 || config.allow_empty_orders {
        return Ok(());
    }
    Err(crate::error::InputError::file(
        path,
        "has no order rows (0 bytes, or the header only): did the export job fail? Give --allow-empty-orders if the day truly had no orders",
    )
    .into())
}
