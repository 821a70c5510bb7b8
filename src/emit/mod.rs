//! Emit: the run's output files, staged and published atomically.
//!
//! Small outputs are built in memory (`-> Vec<u8>`); the discrepancy report,
//! which grows with the findings, is streamed straight into its staged file.
//! [`Staged`] writes every file of a run next to its final name first, each
//! with its SHA-256; the run commits its database transaction, then
//! [`Staged::publish`] renames them all into place. A crash before the
//! rename leaves the previous outputs untouched (and a rerun recreates the
//! same bytes); no reader ever sees half a file.

pub mod csv_safe;
pub mod day;
pub mod encoding;
pub mod html;
pub mod refunds;
pub mod report;
pub mod summary;
pub mod svg;
pub mod terminal;
pub mod xlsx;

use crate::reconcile::finding::Finding;
use anyhow::{Context, Result};
use day::DayReport;
use sha2::{Digest, Sha256};
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Every file a run writes, in the order they are staged: the registry's
/// names ([`outputs`]). `refunds.csv` stands for the day's refund files,
/// `refunds-2.csv`… when a later run for the day issued more.
pub const OUTPUT_NAMES: [&str; 6] = [
    "refunds.csv",
    "discrepancies.csv",
    "summary.md",
    "summary.json",
    "report.html",
    "report.xlsx",
];

/// Whether `name` is one of a run's output files (a refund file of any
/// batch included).
pub fn is_output(name: &str) -> bool {
    OUTPUT_NAMES.contains(&name) || crate::store::refund_files::batch_of(name).is_some()
}

/// Whether a stored set of outputs (name and SHA-256) has every file the
/// registry writes now: outputs a run of an older payrecon published lack
/// the newer ones, and are computed again rather than reused.
pub fn is_complete(digests: &[(String, String)]) -> bool {
    OUTPUT_NAMES
        .iter()
        .all(|name| digests.iter().any(|(n, _)| n == name))
}

/// What decides the bytes of the outputs beyond the day's state.
#[derive(Debug, Clone, Copy, Default)]
pub struct Settings {
    pub refund_file_mode: u32,
    pub csv_encoding: encoding::CsvEncoding,
}

impl Settings {
    /// For the cache key: outputs written with other settings differ.
    pub fn key(&self) -> String {
        format!("csv {}", self.csv_encoding.name())
    }
}

/// One output file (or, for refunds, the day's refund files), made from the
/// day's report: it sees every finding in report order, then stages its
/// file(s). A new output is one new module and one line in [`outputs`].
pub trait Output {
    /// The name in [`OUTPUT_NAMES`].
    fn name(&self) -> &'static str;

    /// Sees one finding of the day (in report order).
    fn finding(&mut self, _finding: &Finding) -> Result<()> {
        Ok(())
    }

    /// Stages the file(s), now that the whole day is known.
    fn finish(self: Box<Self>, day: &DayReport, sink: &mut Sink) -> Result<()>;
}

/// The registry: every output, in staging order.
pub fn outputs(staged: &Staged, settings: &Settings) -> Result<Vec<Box<dyn Output>>> {
    let mode = mode_of("discrepancies.csv", settings.refund_file_mode);
    Ok(vec![
        Box::new(refunds::RefundFiles),
        Box::new(report::Discrepancies::new(
            staged.create("discrepancies.csv", mode)?,
            settings.csv_encoding,
        )?),
        Box::new(summary::Markdown),
        Box::new(summary::Json),
        Box::new(html::Html::default()),
        Box::new(xlsx::Xlsx::new()?),
    ])
}

/// Where outputs stage their files, with the permission bits each gets.
pub struct Sink<'a> {
    pub staged: &'a mut Staged,
    pub settings: Settings,
}

impl Sink<'_> {
    pub fn bytes(&mut self, name: &str, bytes: &[u8]) -> Result<()> {
        let mode = mode_of(name, self.settings.refund_file_mode);
        self.staged.bytes(name, bytes, mode)
    }

    pub fn add(&mut self, file: StagedFile) -> Result<()> {
        self.staged.add(file)
    }
}

/// Permission bits of an output: refund instructions are for the refund
/// job's eyes (`refund_file_mode`), the rest for anyone.
pub fn mode_of(name: &str, refund_file_mode: u32) -> u32 {
    if crate::store::refund_files::batch_of(name).is_some() {
        refund_file_mode
    } else {
        0o644
    }
}

/// Output files written under temporary names, not yet visible.
pub struct Staged {
    dir: PathBuf,
    /// The folders `new` had to create, deepest first: a run that fails
    /// before publishing removes them again (when empty), so it leaves the
    /// output tree as it found it.
    created: Vec<PathBuf>,
    files: Vec<(PathBuf, PathBuf)>,
    /// Each staged output's name and SHA-256.
    digests: Vec<(String, String)>,
}

impl Staged {
    /// Stages into `dir` (created if need be), first removing what a killed
    /// run left staged there.
    pub fn new(dir: &Path) -> Result<Staged> {
        let created: Vec<PathBuf> = dir
            .ancestors()
            .take_while(|folder| !folder.as_os_str().is_empty() && !folder.exists())
            .map(Path::to_path_buf)
            .collect();
        std::fs::create_dir_all(dir)
            .with_context(|| format!("failed to create output folder {}", dir.display()))?;
        remove_stale_temporaries(dir);
        Ok(Staged {
            dir: dir.to_path_buf(),
            created,
            files: Vec::new(),
            digests: Vec::new(),
        })
    }

    /// A file to stream output `name` into; [`Staged::add`] it when written.
    pub fn create(&self, name: &str, mode: u32) -> Result<StagedFile> {
        let temp = self.dir.join(format!(".{name}.tmp-{}", std::process::id()));
        let file = create_new(&temp, mode)
            .with_context(|| format!("failed to write {}", temp.display()))?;
        Ok(StagedFile {
            name: name.to_string(),
            target: self.dir.join(name),
            out: BufWriter::with_capacity(1 << 16, file),
            hash: Sha256::new(),
            temp: Some(temp),
        })
    }

    /// Stages output `name` with these bytes.
    pub fn bytes(&mut self, name: &str, bytes: &[u8], mode: u32) -> Result<()> {
        let mut file = self.create(name, mode)?;
        file.write_all(bytes)
            .with_context(|| format!("failed to write {}", file.display()))?;
        self.add(file)
    }

    /// Stages output `name` as a copy of the file at `from`.
    pub fn copy(&mut self, name: &str, from: &Path, mode: u32) -> Result<()> {
        let mut file = self.create(name, mode)?;
        let mut source =
            File::open(from).with_context(|| format!("failed to open {}", from.display()))?;
        std::io::copy(&mut source, &mut file)
            .with_context(|| format!("failed to copy {} to {}", from.display(), file.display()))?;
        self.add(file)
    }

    /// Adds a fully written file: synced, not yet visible.
    pub fn add(&mut self, file: StagedFile) -> Result<()> {
        let shown = file.display();
        let (name, temp, target, digest) = file
            .finish()
            .with_context(|| format!("failed to write {shown}"))?;
        self.files.push((temp, target));
        self.digests.push((name, digest));
        crate::failpoint::hit_n("staged", self.files.len() as u64);
        Ok(())
    }

    /// Each staged output's name and SHA-256, in staging order.
    pub fn digests(&self) -> &[(String, String)] {
        &self.digests
    }

    /// Renames every staged file into place and syncs the folder: the
    /// refund files first, each followed by `after_refund_file` (the run
    /// records it published there and then, so a failure or a kill while
    /// the other outputs move cannot leave a refund file out but recorded
    /// as never published, to be written again for a second submission).
    pub fn publish(
        self,
        after_refund_file: impl FnMut(&str) -> Result<()>,
    ) -> Result<Vec<PathBuf>> {
        self.publish_with(after_refund_file, |n| {
            crate::failpoint::hit_n("published", n)
        })
    }

    /// [`Staged::publish`] without the run's `published-N` crash points:
    /// for a refund file an earlier run left unpublished, written before
    /// the run's own work.
    pub fn publish_again(self) -> Result<Vec<PathBuf>> {
        self.publish_with(|_| Ok(()), |_| {})
    }

    fn publish_with(
        mut self,
        mut after_refund_file: impl FnMut(&str) -> Result<()>,
        after_each: impl Fn(u64),
    ) -> Result<Vec<PathBuf>> {
        let mut files = std::mem::take(&mut self.files);
        files.sort_by_key(|(_, target)| refund_file_name(target).is_none());
        let mut published = Vec::new();
        let mut files = files.into_iter();
        while let Some((temp, target)) = files.next() {
            if let Err(err) = std::fs::rename(&temp, &target)
                .with_context(|| format!("failed to move {} into place", target.display()))
            {
                // What is not published is not left behind half-named.
                self.files = std::iter::once((temp, target)).chain(files).collect();
                return Err(err);
            }
            if let Some(name) = refund_file_name(&target) {
                after_refund_file(name)?;
            }
            published.push(target);
            after_each(published.len() as u64);
        }
        self.created.clear();
        if let Ok(dir) = File::open(&self.dir) {
            let _ = dir.sync_all();
        }
        Ok(published)
    }
}

/// The name of `path` when it is a refund file.
fn refund_file_name(path: &Path) -> Option<&str> {
    let name = path.file_name()?.to_str()?;
    crate::store::refund_files::batch_of(name).map(|_| name)
}

impl Drop for Staged {
    /// A run that fails before publishing leaves no temporary files behind.
    fn drop(&mut self) {
        for (temp, _) in &self.files {
            let _ = std::fs::remove_file(temp);
        }
        for folder in &self.created {
            let _ = std::fs::remove_dir(folder);
        }
    }
}

/// One output being written under its temporary name, hashed as it goes.
pub struct StagedFile {
    name: String,
    target: PathBuf,
    out: BufWriter<File>,
    hash: Sha256,
    /// The temporary file, until it is handed to [`Staged`].
    temp: Option<PathBuf>,
}

impl StagedFile {
    fn display(&self) -> String {
        self.temp
            .as_deref()
            .unwrap_or(&self.target)
            .display()
            .to_string()
    }

    /// Flushes and syncs; returns name, temporary path, target and SHA-256.
    fn finish(mut self) -> std::io::Result<(String, PathBuf, PathBuf, String)> {
        self.out.flush()?;
        self.out.get_ref().sync_all()?;
        let digest = hex::encode(std::mem::take(&mut self.hash).finalize());
        let temp = self.temp.take().expect("a staged file is finished once");
        Ok((
            std::mem::take(&mut self.name),
            temp,
            std::mem::take(&mut self.target),
            digest,
        ))
    }
}

impl Write for StagedFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.out.write(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

impl Drop for StagedFile {
    /// A file abandoned half written (the run failed) is removed.
    fn drop(&mut self) {
        if let Some(temp) = &self.temp {
            let _ = std::fs::remove_file(temp);
        }
    }
}

/// A run killed before publishing could not clean up after itself; the next
/// run removes what it left (only files named like our own temporaries).
fn remove_stale_temporaries(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let output = name
            .strip_prefix('.')
            .and_then(|rest| rest.split_once(".tmp-"))
            .map(|(output, _)| output);
        if output.is_some_and(is_output) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

fn create_new(path: &Path, mode: u32) -> std::io::Result<File> {
    let _ = std::fs::remove_file(path);
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    options.open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The registry and the list of names agree, in staging order.
    #[test]
    fn the_registry_names_every_output_once() {
        let dir = tempfile::tempdir().unwrap();
        let staged = Staged::new(dir.path()).unwrap();
        let names: Vec<&str> = outputs(&staged, &Settings::default())
            .unwrap()
            .iter()
            .map(|o| o.name())
            .collect();
        assert_eq!(names, OUTPUT_NAMES);
        assert!(is_output("refunds-3.csv") && !is_output("notes.txt"));
    }

    #[test]
    fn nothing_is_visible_until_published() {
        let dir = tempfile::tempdir().unwrap();
        let mut staged = Staged::new(dir.path()).unwrap();
        staged.bytes("a.csv", b"x\n", 0o600).unwrap();
        assert_eq!(
            staged.digests(),
            [("a.csv".to_string(), hex::encode(Sha256::digest(b"x\n")))]
        );
        assert!(!dir.path().join("a.csv").exists());
        staged.publish(|_| Ok(())).unwrap();
        assert_eq!(std::fs::read(dir.path().join("a.csv")).unwrap(), b"x\n");
        let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1);
    }

    #[test]
    fn dropped_staging_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut staged = Staged::new(dir.path()).unwrap();
        staged.bytes("a.csv", b"x\n", 0o644).unwrap();
        let half_written = staged.create("b.csv", 0o644).unwrap();
        drop(half_written);
        drop(staged);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    /// A run that fails before publishing removes the output folders it
    /// created (a lock timeout used to leave an empty day folder behind),
    /// and leaves one that was there before.
    #[test]
    fn dropped_staging_removes_the_folders_it_created() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out/2026-11-21");
        let mut staged = Staged::new(&out).unwrap();
        staged.bytes("a.csv", b"x\n", 0o644).unwrap();
        drop(staged);
        assert!(!dir.path().join("out").exists());
        std::fs::create_dir(dir.path().join("kept")).unwrap();
        drop(Staged::new(&dir.path().join("kept")).unwrap());
        assert!(dir.path().join("kept").is_dir());
    }
}
