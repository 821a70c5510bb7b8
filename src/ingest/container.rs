//! Containers settlement files are downloaded in, opened before detection so
//! a format only ever sees its own bytes: gzip (WeChat Pay's
//! `tar_type=GZIP`) and zip (Alipay's `.csv.zip`, a detail member plus a
//! per-store summary). Recognised by magic bytes, not by name.
//!
//! Gzip streams. A zip keeps its directory at the end, so the archive is
//! read into memory (Alipay daily zips are small: the detail is compressed
//! about tenfold) and the chosen member is then streamed out of it.

use crate::error::InputError;
use anyhow::{Context as _, Result};
use flate2::read::MultiGzDecoder;
use std::io::{Cursor, Read};
use std::path::Path;

const GZIP: &[u8] = b"\x1f\x8b";
const ZIP: &[u8] = b"PK\x03\x04";

/// Hands `read` the plain bytes of `input` and the path to name in errors:
/// the file itself, or `archive.zip/member.csv` for a zip member.
#[cfg(test)]
pub fn open<T>(
    input: impl Read,
    path: &Path,
    read: impl FnOnce(&mut dyn Read, &Path) -> Result<T>,
) -> Result<T> {
    open_with_sheets(input, path, &[], &mut Vec::new(), read)
}

/// [`open`], reading a workbook's sheet named in `sheets` if it has one
/// (else its first), and noting which sheet of several was read.
pub fn open_with_sheets<T>(
    input: impl Read,
    path: &Path,
    sheets: &[&str],
    notes: &mut Vec<String>,
    read: impl FnOnce(&mut dyn Read, &Path) -> Result<T>,
) -> Result<T> {
    let mut input = input;
    let mut magic = Vec::with_capacity(ZIP.len());
    input
        .by_ref()
        .take(ZIP.len() as u64)
        .read_to_end(&mut magic)
        .with_context(|| format!("failed to read settlement file {}", path.display()))?;
    let mut all = Cursor::new(magic.clone()).chain(input);
    if magic.starts_with(GZIP) {
        read(&mut Gunzip(MultiGzDecoder::new(all)), path)
    } else if super::workbook::may_be(&magic) {
        let mut bytes = Vec::new();
        all.read_to_end(&mut bytes)
            .with_context(|| format!("failed to read settlement file {}", path.display()))?;
        if super::workbook::is_workbook(&bytes) {
            let converted = super::workbook::to_csv(path, bytes, None, sheets, false)?;
            if converted.sheets > 1 {
                notes.push(format!(
                    "note: {} is a workbook of {} sheets: read its sheet '{}'",
                    path.display(),
                    converted.sheets,
                    super::escape(&converted.sheet)
                ));
            }
            return read(&mut Cursor::new(converted.csv), path);
        }
        if !magic.starts_with(ZIP) {
            return read(&mut Cursor::new(bytes), path);
        }
        let mut archive = zip::ZipArchive::new(Cursor::new(bytes))
            .map_err(|e| InputError::file(path, format!("is not a readable zip archive: {e}")))?;
        let (index, name) = choose_member(&mut archive, path)?;
        let mut member = archive
            .by_index(index)
            .map_err(|e| InputError::file(path, format!("member '{name}' cannot be read: {e}")))?;
        read(&mut member, &path.join(&name))
    } else {
        read(&mut all, path)
    }
}

/// Gzip whose errors say what they mean for a bill: the download is damaged
/// or was cut short (flate2 only says "incomplete deflate stream").
struct Gunzip<R>(MultiGzDecoder<R>);

impl<R: Read> Read for Gunzip<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.read(buf).map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("the gzip data is damaged or cut short ({e}): download the bill again"),
            )
        })
    }
}

/// The member holding the bill: the one whose name ends with `业务明细.csv`
/// (Alipay's detail), else the only file in the archive. A `(汇总).csv`
/// member is a per-store summary and never read.
fn choose_member<R: Read + std::io::Seek>(
    archive: &mut zip::ZipArchive<R>,
    path: &Path,
) -> Result<(usize, String), InputError> {
    let mut files = Vec::new();
    for index in 0..archive.len() {
        let member = archive
            .by_index_raw(index)
            .map_err(|e| InputError::file(path, format!("is a damaged zip archive: {e}")))?;
        if member.is_file() {
            files.push((
                index,
                member_name(member.name_raw(), member.flags().as_u16()),
            ));
        }
    }
    let bills: Vec<&(usize, String)> = files
        .iter()
        .filter(|(_, name)| !name.ends_with("(汇总).csv") && !name.ends_with("（汇总）.csv"))
        .collect();
    let details: Vec<&(usize, String)> = bills
        .iter()
        .copied()
        .filter(|(_, name)| name.ends_with("业务明细.csv"))
        .collect();
    match (details.as_slice(), bills.as_slice()) {
        ([one], _) | ([], [one]) => Ok((*one).clone()),
        _ => Err(InputError::file(
            path,
            format!(
                "is a zip archive without one bill to read in it (members: {}). payrecon reads the Alipay member ending in 业务明细.csv, or a zip holding a single bill",
                files
                    .iter()
                    .map(|(_, n)| n.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}

/// A member name as text. Bit 11 of the flags says UTF-8; without it the name
/// is in the archiver's code page, GBK for Alipay's downloads.
fn member_name(raw: &[u8], flags: u16) -> String {
    const UTF8_FLAG: u16 = 1 << 11;
    if flags & UTF8_FLAG != 0 {
        String::from_utf8_lossy(raw).into_owned()
    } else {
        super::gbk::text(raw).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::path::PathBuf;

    fn read_all(bytes: &[u8]) -> Result<(String, PathBuf)> {
        open(bytes, Path::new("in.bin"), |r, p| {
            let mut s = String::new();
            r.read_to_string(&mut s)?;
            Ok((s, p.to_path_buf()))
        })
    }

    #[test]
    fn plain_bytes_pass_through() {
        let (text, path) = read_all(b"a,b\n1,2\n").unwrap();
        assert_eq!(text, "a,b\n1,2\n");
        assert_eq!(path, Path::new("in.bin"));
        assert_eq!(read_all(b"P").unwrap().0, "P");
        assert_eq!(read_all(b"").unwrap().0, "");
    }

    #[test]
    fn gzip_is_decompressed() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all("交易时间,x\n".as_bytes()).unwrap();
        let bytes = gz.finish().unwrap();
        assert_eq!(read_all(&bytes).unwrap().0, "交易时间,x\n");
    }

    #[test]
    fn gbk_member_names_are_decoded() {
        let (gbk, _, _) = encoding_rs::GB18030.encode("2088_20190916_业务明细.csv");
        assert_eq!(member_name(&gbk, 0), "2088_20190916_业务明细.csv");
        assert_eq!(
            member_name("业务明细.csv".as_bytes(), 1 << 11),
            "业务明细.csv"
        );
    }

    #[test]
    fn a_zip_without_a_bill_member_is_refused() {
        let err = read_all(b"PK\x03\x04garbage").unwrap_err().to_string();
        assert!(err.contains("in.bin") && err.contains("zip"), "{err}");
    }
}
