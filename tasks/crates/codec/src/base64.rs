//! Base64 (RFC 4648) with the standard and URL-safe alphabets.

use std::fmt;

const STANDARD_SYMBOLS: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL_SAFE_SYMBOLS: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Which 64 symbols are used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alphabet {
    /// `A-Z a-z 0-9 + /`
    Standard,
    /// `A-Z a-z 0-9 - _`
    UrlSafe,
}

impl Alphabet {
    fn symbols(self) -> &'static [u8; 64] {
        match self {
            Alphabet::Standard => STANDARD_SYMBOLS,
            Alphabet::UrlSafe => URL_SAFE_SYMBOLS,
        }
    }

    /// The 6-bit value of a symbol, or `None` if it is not in this alphabet.
    pub fn value_of(self, symbol: u8) -> Option<u8> {
        match symbol {
            b'A'..=b'Z' => Some(symbol - b'A'),
            b'a'..=b'z' => Some(symbol - b'a' + 26),
            b'0'..=b'9' => Some(symbol - b'0' + 52),
            b'+' if self == Alphabet::Standard => Some(62),
            b'/' if self == Alphabet::Standard => Some(63),
            b'-' if self == Alphabet::UrlSafe => Some(62),
            b'_' if self == Alphabet::UrlSafe => Some(63),
            _ => None,
        }
    }
}

/// Alphabet plus padding rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Base64Config {
    pub alphabet: Alphabet,
    /// Encoding writes `=` padding; decoding requires it (and rejects it when false).
    pub pad: bool,
}

/// Standard alphabet with padding (RFC 4648 section 4).
pub const STANDARD: Base64Config = Base64Config {
    alphabet: Alphabet::Standard,
    pad: true,
};

/// URL-safe alphabet without padding (RFC 4648 section 5, as used in JWTs).
pub const URL_SAFE: Base64Config = Base64Config {
    alphabet: Alphabet::UrlSafe,
    pad: false,
};

/// Why a string is not valid base64 under a given config. Positions are byte offsets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    InvalidByte {
        pos: usize,
        byte: u8,
    },
    InvalidLength {
        len: usize,
    },
    InvalidPadding {
        pos: usize,
    },
    /// The last symbol carries bits that do not fit in the output (non-canonical input).
    TrailingBits {
        pos: usize,
    },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::InvalidByte { pos, byte } => {
                write!(f, "invalid byte 0x{byte:02x} at position {pos}")
            }
            DecodeError::InvalidLength { len } => write!(f, "invalid input length {len}"),
            DecodeError::InvalidPadding { pos } => write!(f, "invalid padding at position {pos}"),
            DecodeError::TrailingBits { pos } => {
                write!(f, "non-zero trailing bits at position {pos}")
            }
        }
    }
}

impl std::error::Error for DecodeError {}

/// Length of the encoding of `n` bytes.
pub fn encoded_len(n: usize, pad: bool) -> usize {
    if pad {
        return n.div_ceil(3) * 4;
    }
    let tail = match n % 3 {
        0 => 0,
        1 => 2,
        _ => 3,
    };
    n / 3 * 4 + tail
}

/// Encodes `data` under `config`.
pub fn encode(data: &[u8], config: Base64Config) -> String {
    let symbols = config.alphabet.symbols();
    let mut out = String::with_capacity(encoded_len(data.len(), config.pad));
    for chunk in data.chunks(3) {
        let b0 = u32::from(chunk[0]);
        let b1 = u32::from(chunk.get(1).copied().unwrap_or(0));
        let b2 = u32::from(chunk.get(2).copied().unwrap_or(0));
        let group = (b0 << 16) | (b1 << 8) | b2;
        let emitted = chunk.len() + 1;
        for i in 0..4 {
            if i < emitted {
                let index = (group >> (18 - 6 * i)) & 0x3f;
                out.push(char::from(symbols[index as usize]));
            } else if config.pad {
                out.push('=');
            }
        }
    }
    out
}

/// Decodes `text` under `config`, rejecting anything non-canonical: symbols from the
/// other alphabet, misplaced or missing padding, impossible lengths and stray bits.
pub fn decode(text: &str, config: Base64Config) -> Result<Vec<u8>, DecodeError> {
    let bytes = text.as_bytes();
    let pad_start = bytes.iter().position(|&b| b == b'=').unwrap_or(bytes.len());
    let pad_len = bytes.len() - pad_start;
    if pad_len > 0 {
        if !config.pad || pad_len > 2 {
            return Err(DecodeError::InvalidPadding { pos: pad_start });
        }
        if let Some(offset) = bytes[pad_start..].iter().position(|&b| b != b'=') {
            return Err(DecodeError::InvalidPadding {
                pos: pad_start + offset,
            });
        }
    }
    if config.pad && !bytes.len().is_multiple_of(4) {
        return Err(DecodeError::InvalidLength { len: bytes.len() });
    }
    let data = &bytes[..pad_start];
    if data.len() % 4 == 1 {
        return Err(DecodeError::InvalidLength { len: bytes.len() });
    }
    let mut out = Vec::new();
    for (index, chunk) in data.chunks(4).enumerate() {
        let base = index * 4;
        let mut group: u32 = 0;
        for (i, &symbol) in chunk.iter().enumerate() {
            let value = config
                .alphabet
                .value_of(symbol)
                .ok_or(DecodeError::InvalidByte {
                    pos: base + i,
                    byte: symbol,
                })?;
            group |= u32::from(value) << (18 - 6 * i);
        }
        let produced = chunk.len() * 6 / 8;
        let unused_mask = (1u32 << (24 - 8 * produced)) - 1;
        if group & unused_mask != 0 {
            return Err(DecodeError::TrailingBits {
                pos: base + chunk.len() - 1,
            });
        }
        for k in 0..produced {
            out.push((group >> (16 - 8 * k)) as u8);
        }
    }
    Ok(out)
}

/// Breaks an encoded string into lines of at most `width` characters joined by `\n`
/// (MIME uses 76). A width of 0 returns the input unchanged.
pub fn wrap_lines(encoded: &str, width: usize) -> String {
    if width == 0 || encoded.len() <= width {
        return encoded.to_string();
    }
    let mut out = String::new();
    for (i, ch) in encoded.chars().enumerate() {
        if i > 0 && i % width == 0 {
            out.push('\n');
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const VECTORS: [(&str, &str); 7] = [
        ("", ""),
        ("f", "Zg=="),
        ("fo", "Zm8="),
        ("foo", "Zm9v"),
        ("foob", "Zm9vYg=="),
        ("fooba", "Zm9vYmE="),
        ("foobar", "Zm9vYmFy"),
    ];

    #[test]
    fn encodes_rfc_vectors() {
        for (plain, encoded) in VECTORS {
            assert_eq!(encode(plain.as_bytes(), STANDARD), encoded, "{plain:?}");
        }
    }

    #[test]
    fn decodes_rfc_vectors() {
        for (plain, encoded) in VECTORS {
            assert_eq!(
                decode(encoded, STANDARD).unwrap(),
                plain.as_bytes(),
                "{encoded:?}"
            );
        }
    }

    #[test]
    fn unpadded_encoding_drops_equals() {
        let config = Base64Config {
            alphabet: Alphabet::Standard,
            pad: false,
        };
        assert_eq!(encode(b"f", config), "Zg");
        assert_eq!(encode(b"fo", config), "Zm8");
        assert_eq!(encode(b"foo", config), "Zm9v");
        assert_eq!(decode("Zm8", config).unwrap(), b"fo");
    }

    #[test]
    fn url_safe_uses_dash_and_underscore() {
        let data = [0xfb, 0xff, 0xbf];
        assert_eq!(encode(&data, STANDARD), "+/+/");
        assert_eq!(encode(&data, URL_SAFE), "-_-_");
        assert_eq!(encode(&[0xfb, 0xff], URL_SAFE), "-_8");
        assert_eq!(decode("-_-_", URL_SAFE).unwrap(), data);
    }

    #[test]
    fn alphabets_reject_each_others_symbols() {
        assert_eq!(
            decode("ab+c", URL_SAFE),
            Err(DecodeError::InvalidByte { pos: 2, byte: b'+' })
        );
        assert_eq!(
            decode("ab_c", STANDARD),
            Err(DecodeError::InvalidByte { pos: 2, byte: b'_' })
        );
        assert_eq!(Alphabet::Standard.value_of(b'/'), Some(63));
        assert_eq!(Alphabet::UrlSafe.value_of(b'-'), Some(62));
        assert_eq!(Alphabet::UrlSafe.value_of(b'/'), None);
    }

    #[test]
    fn symbol_values_cover_ranges() {
        let a = Alphabet::Standard;
        assert_eq!(a.value_of(b'A'), Some(0));
        assert_eq!(a.value_of(b'Z'), Some(25));
        assert_eq!(a.value_of(b'a'), Some(26));
        assert_eq!(a.value_of(b'z'), Some(51));
        assert_eq!(a.value_of(b'0'), Some(52));
        assert_eq!(a.value_of(b'9'), Some(61));
        assert_eq!(a.value_of(b'+'), Some(62));
        assert_eq!(a.value_of(b'='), None);
        assert_eq!(a.value_of(b' '), None);
    }

    #[test]
    fn error_positions_point_at_bad_byte() {
        assert_eq!(
            decode("Zm9vY!==", STANDARD),
            Err(DecodeError::InvalidByte { pos: 5, byte: b'!' })
        );
        assert_eq!(
            decode("*m9v", STANDARD),
            Err(DecodeError::InvalidByte { pos: 0, byte: b'*' })
        );
    }

    #[test]
    fn padding_rules() {
        assert_eq!(
            decode("Zg=", STANDARD),
            Err(DecodeError::InvalidLength { len: 3 })
        );
        assert_eq!(
            decode("Zg", STANDARD),
            Err(DecodeError::InvalidLength { len: 2 })
        );
        assert_eq!(
            decode("Z===", STANDARD),
            Err(DecodeError::InvalidPadding { pos: 1 })
        );
        assert_eq!(
            decode("Zg=a", STANDARD),
            Err(DecodeError::InvalidPadding { pos: 3 })
        );
        assert_eq!(
            decode("Zg==", URL_SAFE),
            Err(DecodeError::InvalidPadding { pos: 2 })
        );
        assert_eq!(
            decode("Zm9v====", STANDARD),
            Err(DecodeError::InvalidPadding { pos: 4 })
        );
    }

    #[test]
    fn impossible_lengths_are_rejected() {
        assert_eq!(
            decode("Zm9vY", URL_SAFE),
            Err(DecodeError::InvalidLength { len: 5 })
        );
        assert_eq!(
            decode("Z", URL_SAFE),
            Err(DecodeError::InvalidLength { len: 1 })
        );
        assert_eq!(decode("", URL_SAFE).unwrap(), b"");
    }

    #[test]
    fn trailing_bits_must_be_zero() {
        assert_eq!(
            decode("Zh==", STANDARD),
            Err(DecodeError::TrailingBits { pos: 1 })
        );
        assert_eq!(
            decode("Zm9=", STANDARD),
            Err(DecodeError::TrailingBits { pos: 2 })
        );
        assert_eq!(
            decode("Zm9vZm9=", STANDARD),
            Err(DecodeError::TrailingBits { pos: 6 })
        );
        assert_eq!(decode("Zm8=", STANDARD).unwrap(), b"fo");
    }

    #[test]
    fn encoded_len_matches_encode() {
        for n in 0..10 {
            let data = vec![0xa5u8; n];
            assert_eq!(encoded_len(n, true), encode(&data, STANDARD).len(), "n={n}");
            assert_eq!(
                encoded_len(n, false),
                encode(&data, URL_SAFE).len(),
                "n={n}"
            );
        }
        assert_eq!(encoded_len(4, true), 8);
        assert_eq!(encoded_len(4, false), 6);
        assert_eq!(encoded_len(5, false), 7);
    }

    #[test]
    fn binary_round_trip() {
        let data: Vec<u8> = (0..=255).collect();
        for config in [STANDARD, URL_SAFE] {
            assert_eq!(decode(&encode(&data, config), config).unwrap(), data);
        }
    }

    #[test]
    fn wrap_lines_inserts_newlines() {
        assert_eq!(wrap_lines("abcdefgh", 3), "abc\ndef\ngh");
        assert_eq!(wrap_lines("abcdef", 3), "abc\ndef");
        assert_eq!(wrap_lines("abc", 3), "abc");
        assert_eq!(wrap_lines("abc", 0), "abc");
    }
}
