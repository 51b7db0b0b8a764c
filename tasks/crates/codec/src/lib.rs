//! Small binary-to-text codecs and checksums.
//!
//! - [`base64`]: RFC 4648 standard and URL-safe alphabets, with or without padding,
//!   strict decoding with error positions.
//! - [`hex`]: hexadecimal encoding, decoding and a classic hex dump.
//! - [`rle`]: run-length encoding for bytes (count/byte pairs) and text (`3a2bc`).
//! - [`checksum`]: Adler-32, CRC-32 (IEEE), Fletcher-16 and the Luhn check digit.

pub mod base64;
pub mod checksum;
pub mod hex;
pub mod rle;

pub use base64::{Alphabet, Base64Config, DecodeError};
pub use checksum::{adler32, crc32, fletcher16, luhn_check_digit, luhn_valid, Adler32, Crc32};
pub use hex::HexError;
pub use rle::RleError;
