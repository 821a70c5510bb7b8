//! GBK, the other encoding of Chinese bills: Alipay's 业务明细 and its zip
//! member names, consumer exports, and any bill re-saved by Excel. Files do
//! not say which encoding they use, so this tells GBK from UTF-8 by trying
//! strict UTF-8 first (Chinese GBK text is practically never valid UTF-8)
//! and decodes GBK as GB18030, its superset.

use encoding_rs::GB18030;
use encoding_rs_io::{DecodeReaderBytes, DecodeReaderBytesBuilder};
use std::borrow::Cow;
use std::io::{BufRead, Read};

/// What the decoder puts in place of bytes that are not GBK: a reader of
/// decoded text refuses a field holding one with [`DAMAGED`].
pub const REPLACEMENT: &str = "\u{fffd}";
/// The problem of a field holding [`REPLACEMENT`].
pub const DAMAGED: &str =
    "holds bytes that are neither GBK nor UTF-8 (a damaged file, or another encoding)";

/// Is this head of a file UTF-8? A multi-byte character cut by the end of
/// the head does not count against it.
pub fn is_utf8(head: &[u8]) -> bool {
    match std::str::from_utf8(head) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none() && head.len() - e.valid_up_to() < 4,
    }
}

/// Is this head of a file GB18030 (GBK) text? A multi-byte character cut
/// by the end of the head does not count against it.
pub fn is_gb18030(head: &[u8]) -> bool {
    let (text, whole) = gbk_prefix(head);
    whole && is_plain_text(&text)
}

/// The head decoded as GB18030 up to its first byte that is not (all of it
/// when there is none, which the flag says).
fn gbk_prefix(head: &[u8]) -> (String, bool) {
    let mut decoder = GB18030.new_decoder_without_bom_handling();
    let mut out = String::with_capacity(
        decoder
            .max_utf8_buffer_length_without_replacement(head.len())
            .unwrap_or(head.len() * 3 + 16),
    );
    let (result, _) = decoder.decode_to_string_without_replacement(head, &mut out, false);
    let whole = matches!(result, encoding_rs::DecoderResult::InputEmpty);
    (out, whole)
}

/// No control characters but tab and line ends.
fn is_plain_text(text: &str) -> bool {
    !text.contains(|c: char| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
}

/// The text of a head of a file (or a zip member name), whichever of UTF-8
/// (BOM dropped) or GBK it is in.
pub fn text(bytes: &[u8]) -> Cow<'_, str> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    if is_utf8(bytes) {
        String::from_utf8_lossy(bytes)
    } else {
        GB18030.decode_without_bom_handling(bytes).0
    }
}

/// A reader of a whole file as UTF-8 text: the file as it is when its head
/// is UTF-8 (or not GBK either, for the reader to refuse), decoded from GBK
/// when its head is not UTF-8 but reads as GBK, as a bill re-saved by Excel
/// on a Chinese Windows does. The flag says which, for
/// [`super::Row::decoded_from_gbk`]: a damaged byte in a GBK file is then
/// refused on its own row and column. A UTF-8 BOM before GBK text (an
/// editor's) is dropped.
pub fn decoding<'a, R: BufRead + 'a>(mut input: R) -> std::io::Result<(Box<dyn Read + 'a>, bool)> {
    let head = input.fill_buf()?;
    let bom = head.starts_with(b"\xef\xbb\xbf");
    let body = if bom { &head[3..] } else { head };
    if is_utf8(body) || !reads_as_gbk(body) {
        return Ok((Box::new(input), false));
    }
    if bom {
        input.consume(3);
    }
    Ok((Box::new(reader(input)), true))
}

/// Does this head of a file read as GBK text up to its first byte that is
/// not GBK (if any), with GBK characters before it? One damaged byte must
/// not make a GBK bill look like another encoding: it is refused where it
/// stands. A file whose first non-ASCII byte is itself not GBK is not GBK.
fn reads_as_gbk(head: &[u8]) -> bool {
    let (text, whole) = gbk_prefix(head);
    is_plain_text(&text) && (whole || !text.is_ascii())
}

/// Streams GBK bytes as UTF-8, in constant memory. A UTF-8 BOM, if any, wins
/// over GBK.
pub fn reader<R: Read>(input: R) -> DecodeReaderBytes<R, Vec<u8>> {
    DecodeReaderBytesBuilder::new()
        .encoding(Some(GB18030))
        .build(input)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_gbk_from_utf8() {
        let (gbk, _, _) = GB18030.encode("支付宝交易号,商户订单号");
        assert!(!is_utf8(&gbk));
        assert_eq!(text(&gbk), "支付宝交易号,商户订单号");
        let utf8 = "支付宝交易号".as_bytes();
        assert!(is_utf8(utf8));
        // A head may end inside a character.
        assert!(is_utf8(&utf8[..utf8.len() - 1]));
        assert_eq!(text("\u{feff}交易时间".as_bytes()), "交易时间");
    }

    #[test]
    fn streams_gbk_as_utf8() {
        let (gbk, _, _) = GB18030.encode("#支付宝业务明细查询\n支付宝交易号\t,x\n");
        let mut out = String::new();
        reader(&gbk[..]).read_to_string(&mut out).unwrap();
        assert_eq!(out, "#支付宝业务明细查询\n支付宝交易号\t,x\n");
    }
}
