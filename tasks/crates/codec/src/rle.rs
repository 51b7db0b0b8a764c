//! Run-length encoding for byte streams and for text.

use std::fmt;

/// Longest count a text-encoded run may declare.
pub const MAX_TEXT_RUN: usize = 1_000_000;

/// Why run-length encoded input could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RleError {
    /// Byte-mode input must consist of (count, byte) pairs.
    OddLength(usize),
    /// A run of length zero at the given position.
    ZeroRun { pos: usize },
    /// A count that starts with `0` or exceeds [`MAX_TEXT_RUN`].
    BadCount { pos: usize },
    /// Digits at the end of the input with no character to repeat.
    DanglingCount { pos: usize },
    /// Text to encode may not contain ASCII digits.
    DigitInInput { pos: usize },
}

impl fmt::Display for RleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RleError::OddLength(len) => write!(f, "odd input length {len}"),
            RleError::ZeroRun { pos } => write!(f, "zero-length run at {pos}"),
            RleError::BadCount { pos } => write!(f, "bad run count at {pos}"),
            RleError::DanglingCount { pos } => write!(f, "count at {pos} has no character"),
            RleError::DigitInInput { pos } => write!(f, "digit at {pos} cannot be encoded"),
        }
    }
}

impl std::error::Error for RleError {}

/// Maximal runs of equal bytes as `(byte, length)`.
pub fn runs(data: &[u8]) -> Vec<(u8, usize)> {
    let mut out: Vec<(u8, usize)> = Vec::new();
    for &byte in data {
        match out.last_mut() {
            Some((last, len)) if *last == byte => *len += 1,
            _ => out.push((byte, 1)),
        }
    }
    out
}

/// Encodes bytes as `(count, byte)` pairs; runs longer than 255 are split.
pub fn encode_bytes(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for (byte, len) in runs(data) {
        let mut left = len;
        while left > 0 {
            let take = left.min(255);
            out.push(take as u8);
            out.push(byte);
            left -= take;
        }
    }
    out
}

/// Decodes `(count, byte)` pairs.
pub fn decode_bytes(data: &[u8]) -> Result<Vec<u8>, RleError> {
    if !data.len().is_multiple_of(2) {
        return Err(RleError::OddLength(data.len()));
    }
    let mut out = Vec::new();
    for (index, pair) in data.chunks(2).enumerate() {
        let count = pair[0];
        if count == 0 {
            return Err(RleError::ZeroRun { pos: index * 2 });
        }
        out.extend(std::iter::repeat_n(pair[1], usize::from(count)));
    }
    Ok(out)
}

/// Encodes text: a run of one character is written as the character, longer runs as
/// the decimal count followed by the character (`"aaabcc"` -> `"3ab2c"`). Text that
/// contains ASCII digits cannot be encoded.
pub fn encode_text(text: &str) -> Result<String, RleError> {
    if let Some(pos) = text.find(|c: char| c.is_ascii_digit()) {
        return Err(RleError::DigitInInput { pos });
    }
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(ch) = chars.next() {
        let mut count = 1;
        while chars.peek() == Some(&ch) {
            chars.next();
            count += 1;
        }
        if count > 1 {
            out.push_str(&count.to_string());
        }
        out.push(ch);
    }
    Ok(out)
}

/// Decodes the format written by [`encode_text`]. Positions in errors are byte offsets
/// of the offending count's first digit.
pub fn decode_text(encoded: &str) -> Result<String, RleError> {
    let mut out = String::new();
    let mut count: Option<(usize, usize)> = None; // (value, start position)
    for (pos, ch) in encoded.char_indices() {
        if let Some(digit) = ch.to_digit(10) {
            let digit = digit as usize;
            count = match count {
                None if digit == 0 => return Err(RleError::ZeroRun { pos }),
                None => Some((digit, pos)),
                Some((value, start)) => {
                    let next = value * 10 + digit;
                    if next > MAX_TEXT_RUN {
                        return Err(RleError::BadCount { pos: start });
                    }
                    Some((next, start))
                }
            };
            continue;
        }
        let repeat = count.map_or(1, |(value, _)| value);
        for _ in 0..repeat {
            out.push(ch);
        }
        count = None;
    }
    if let Some((_, start)) = count {
        return Err(RleError::DanglingCount { pos: start });
    }
    Ok(out)
}

/// Encoded size as a percentage of the input size (rounded down; 0 for empty input).
pub fn ratio_percent(original: usize, encoded: usize) -> usize {
    if original == 0 {
        return 0;
    }
    encoded * 100 / original
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_groups_equal_neighbours() {
        assert_eq!(
            runs(b"aaabccdd"),
            vec![(b'a', 3), (b'b', 1), (b'c', 2), (b'd', 2)]
        );
        assert_eq!(
            runs(b"abab"),
            vec![(b'a', 1), (b'b', 1), (b'a', 1), (b'b', 1)]
        );
        assert_eq!(runs(b""), vec![]);
    }

    #[test]
    fn byte_mode_round_trip() {
        let data = b"\x00\x00\x00\xffAAAAB";
        let encoded = encode_bytes(data);
        assert_eq!(encoded, vec![3, 0, 1, 0xff, 4, b'A', 1, b'B']);
        assert_eq!(decode_bytes(&encoded).unwrap(), data);
    }

    #[test]
    fn long_runs_are_split_at_255() {
        let data = vec![7u8; 600];
        assert_eq!(encode_bytes(&data), vec![255, 7, 255, 7, 90, 7]);
        assert_eq!(encode_bytes(&[1u8; 255]), vec![255, 1]);
        assert_eq!(encode_bytes(&[1u8; 256]), vec![255, 1, 1, 1]);
        assert_eq!(decode_bytes(&encode_bytes(&data)).unwrap(), data);
    }

    #[test]
    fn byte_mode_errors() {
        assert_eq!(decode_bytes(&[2, 9, 1]), Err(RleError::OddLength(3)));
        assert_eq!(
            decode_bytes(&[2, 9, 0, 4]),
            Err(RleError::ZeroRun { pos: 2 })
        );
        assert_eq!(decode_bytes(&[]).unwrap(), Vec::<u8>::new());
    }

    #[test]
    fn text_encoding() {
        assert_eq!(encode_text("aaabcc").unwrap(), "3ab2c");
        assert_eq!(encode_text("abc").unwrap(), "abc");
        assert_eq!(encode_text("ééé  x").unwrap(), "3é2 x");
        assert_eq!(encode_text(&"z".repeat(12)).unwrap(), "12z");
        assert_eq!(encode_text("").unwrap(), "");
        assert_eq!(encode_text("ab1"), Err(RleError::DigitInInput { pos: 2 }));
    }

    #[test]
    fn text_decoding() {
        assert_eq!(decode_text("3ab2c").unwrap(), "aaabcc");
        assert_eq!(decode_text("10x").unwrap(), "xxxxxxxxxx");
        assert_eq!(decode_text("2é1a").unwrap(), "ééa");
        assert_eq!(decode_text("").unwrap(), "");
    }

    #[test]
    fn text_decoding_errors() {
        assert_eq!(decode_text("ab0c"), Err(RleError::ZeroRun { pos: 2 }));
        assert_eq!(decode_text("a12"), Err(RleError::DanglingCount { pos: 1 }));
        assert_eq!(decode_text("x1000000y").unwrap().len(), 1 + 1_000_000);
        assert_eq!(decode_text("x1000001y"), Err(RleError::BadCount { pos: 1 }));
    }

    #[test]
    fn ratio_rounds_down() {
        assert_eq!(ratio_percent(8, 6), 75);
        assert_eq!(ratio_percent(3, 2), 66);
        assert_eq!(ratio_percent(0, 5), 0);
        assert_eq!(ratio_percent(2, 4), 200);
    }
}
