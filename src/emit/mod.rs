//! Emit: the run's output files, built in memory and published atomically.
//!
//! Emitters are pure (`-> Vec<u8>`). [`Staged`] writes every file of a run
//! next to its final name first; the run commits its database transaction,
//! then [`Staged::publish`] renames them all into place. A crash before the
//! rename leaves the previous outputs untouched (and a rerun recreates the
//! same bytes); no reader ever sees half a file.

pub mod csv_safe;
pub mod refunds;
pub mod report;
pub mod summary;

use anyhow::{Context, Result};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// One output file: name in the output folder, bytes, permission bits.
pub struct Output {
    pub name: String,
    pub bytes: Vec<u8>,
    pub mode: u32,
}

/// Output files written under temporary names, not yet visible.
pub struct Staged {
    dir: PathBuf,
    files: Vec<(PathBuf, PathBuf)>,
}

impl Staged {
    /// Writes and syncs every output under a temporary name in `dir`.
    pub fn write(dir: &Path, outputs: &[Output]) -> Result<Staged> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("failed to create output folder {}", dir.display()))?;
        remove_stale_temporaries(dir, outputs);
        let mut staged = Staged {
            dir: dir.to_path_buf(),
            files: Vec::new(),
        };
        for output in outputs {
            let target = dir.join(&output.name);
            let temp = dir.join(format!(".{}.tmp-{}", output.name, std::process::id()));
            write_synced(&temp, &output.bytes, output.mode)
                .with_context(|| format!("failed to write {}", temp.display()))?;
            staged.files.push((temp, target));
            crate::failpoint::hit_n("staged", staged.files.len() as u64);
        }
        Ok(staged)
    }

    /// Renames every staged file into place and syncs the folder.
    pub fn publish(mut self) -> Result<Vec<PathBuf>> {
        let mut published = Vec::new();
        for (temp, target) in std::mem::take(&mut self.files) {
            std::fs::rename(&temp, &target)
                .with_context(|| format!("failed to move {} into place", target.display()))?;
            published.push(target);
            crate::failpoint::hit_n("published", published.len() as u64);
        }
        if let Ok(dir) = File::open(&self.dir) {
            let _ = dir.sync_all();
        }
        Ok(published)
    }
}

impl Drop for Staged {
    /// A run that fails before publishing leaves no temporary files behind.
    fn drop(&mut self) {
        for (temp, _) in &self.files {
            let _ = std::fs::remove_file(temp);
        }
    }
}

/// A run killed before publishing could not clean up after itself; the next
/// run removes what it left (only files named like our own temporaries).
fn remove_stale_temporaries(dir: &Path, outputs: &[Output]) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if outputs
            .iter()
            .any(|o| name.starts_with(&format!(".{}.tmp-", o.name)))
        {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

fn write_synced(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
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
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_is_visible_until_published() {
        let dir = tempfile::tempdir().unwrap();
        let outputs = [Output {
            name: "a.csv".into(),
            bytes: b"x\n".to_vec(),
            mode: 0o600,
        }];
        let staged = Staged::write(dir.path(), &outputs).unwrap();
        assert!(!dir.path().join("a.csv").exists());
        staged.publish().unwrap();
        assert_eq!(std::fs::read(dir.path().join("a.csv")).unwrap(), b"x\n");
        let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1);
    }

    #[test]
    fn dropped_staging_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let outputs = [Output {
            name: "a.csv".into(),
            bytes: b"x\n".to_vec(),
            mode: 0o644,
        }];
        drop(Staged::write(dir.path(), &outputs).unwrap());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
