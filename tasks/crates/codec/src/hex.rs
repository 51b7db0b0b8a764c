//! Hexadecimal encoding, decoding and hex dumps.

use std::fmt;

const LOWER: &[u8; 16] = b"0123456789abcdef";
const UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// Why a string is not valid hex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HexError {
    OddLength(usize),
    /// A non-hex character at byte offset `pos`.
    InvalidDigit {
        pos: usize,
        ch: char,
    },
}

impl fmt::Display for HexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HexError::OddLength(len) => write!(f, "odd number of hex digits ({len})"),
            HexError::InvalidDigit { pos, ch } => {
                write!(f, "invalid hex digit {ch:?} at position {pos}")
            }
        }
    }
}

impl std::error::Error for HexError {}

fn encode_with(data: &[u8], digits: &[u8; 16]) -> String {
    let mut out = String::new();
    for &byte in data {
        out.push(char::from(digits[usize::from(byte >> 4)]));
        out.push(char::from(digits[usize::from(byte & 0x0f)]));
    }
    out
}

/// Lower-case hex.
pub fn encode(data: &[u8]) -> String {
    encode_with(data, LOWER)
}

/// Upper-case hex.
pub fn encode_upper(data: &[u8]) -> String {
    encode_with(data, UPPER)
}

/// Value of one hex digit (either case).
pub fn nibble(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

/// Decodes hex of either case. The first invalid character is reported before an odd
/// length is.
pub fn decode(text: &str) -> Result<Vec<u8>, HexError> {
    let bytes = text.as_bytes();
    for (pos, ch) in text.char_indices() {
        if !ch.is_ascii() || nibble(ch as u8).is_none() {
            return Err(HexError::InvalidDigit { pos, ch });
        }
    }
    if !bytes.len().is_multiple_of(2) {
        return Err(HexError::OddLength(bytes.len()));
    }
    let mut out = Vec::new();
    for pair in bytes.chunks(2) {
        let high = nibble(pair[0]).unwrap_or(0);
        let low = nibble(pair[1]).unwrap_or(0);
        out.push((high << 4) | low);
    }
    Ok(out)
}

/// A `hexdump -C` style listing with `width` bytes per line:
/// `00000010  48 65 6c 6c 6f  |Hello|`. Non-printable bytes show as `.` in the text
/// column; the last line's hex column is padded so the text columns line up.
pub fn dump(data: &[u8], width: usize) -> String {
    let width = width.max(1);
    let mut out = String::new();
    for (line, chunk) in data.chunks(width).enumerate() {
        out.push_str(&format!("{:08x} ", line * width));
        for i in 0..width {
            match chunk.get(i) {
                Some(byte) => out.push_str(&format!(" {byte:02x}")),
                None => out.push_str("   "),
            }
        }
        out.push_str("  |");
        for &byte in chunk {
            let shown = if (0x20..=0x7e).contains(&byte) {
                char::from(byte)
            } else {
                '.'
            };
            out.push(shown);
        }
        out.push_str("|\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_both_cases() {
        assert_eq!(encode(&[0x00, 0x0f, 0xa0, 0xff]), "000fa0ff");
        assert_eq!(encode_upper(&[0xde, 0xad, 0xbe, 0xef]), "DEADBEEF");
        assert_eq!(encode(&[]), "");
    }

    #[test]
    fn nibble_values() {
        assert_eq!(nibble(b'0'), Some(0));
        assert_eq!(nibble(b'9'), Some(9));
        assert_eq!(nibble(b'a'), Some(10));
        assert_eq!(nibble(b'f'), Some(15));
        assert_eq!(nibble(b'A'), Some(10));
        assert_eq!(nibble(b'F'), Some(15));
        assert_eq!(nibble(b'g'), None);
        assert_eq!(nibble(b'G'), None);
        assert_eq!(nibble(b'/'), None);
    }

    #[test]
    fn decodes_mixed_case() {
        assert_eq!(decode("DeadBeef").unwrap(), vec![0xde, 0xad, 0xbe, 0xef]);
        assert_eq!(decode("00ff10").unwrap(), vec![0x00, 0xff, 0x10]);
        assert_eq!(decode("").unwrap(), Vec::<u8>::new());
    }

    #[test]
    fn decode_errors() {
        assert_eq!(decode("abc"), Err(HexError::OddLength(3)));
        assert_eq!(
            decode("0g"),
            Err(HexError::InvalidDigit { pos: 1, ch: 'g' })
        );
        assert_eq!(
            decode("abz"),
            Err(HexError::InvalidDigit { pos: 2, ch: 'z' })
        );
        assert_eq!(
            decode("aé00"),
            Err(HexError::InvalidDigit { pos: 1, ch: 'é' })
        );
    }

    #[test]
    fn round_trip_all_bytes() {
        let data: Vec<u8> = (0..=255).collect();
        assert_eq!(decode(&encode(&data)).unwrap(), data);
        assert_eq!(decode(&encode_upper(&data)).unwrap(), data);
    }

    #[test]
    fn dump_formats_lines() {
        let text = dump(b"Hello, hex\x00\x7f!", 8);
        let expected = "00000000  48 65 6c 6c 6f 2c 20 68  |Hello, h|\n\
                        00000008  65 78 00 7f 21           |ex..!|\n";
        assert_eq!(text, expected);
    }

    #[test]
    fn dump_edge_cases() {
        assert_eq!(dump(b"", 16), "");
        assert_eq!(dump(b"~ ", 0), "00000000  7e  |~|\n00000001  20  | |\n");
    }
}
