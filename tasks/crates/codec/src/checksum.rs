//! Checksums: Adler-32, CRC-32 (IEEE 802.3), Fletcher-16 and Luhn.

const ADLER_MOD: u32 = 65_521;
const CRC32_POLY: u32 = 0xEDB8_8320;

/// Streaming Adler-32 (as used by zlib).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Adler32 {
    a: u32,
    b: u32,
}

impl Default for Adler32 {
    fn default() -> Self {
        Adler32 { a: 1, b: 0 }
    }
}

impl Adler32 {
    pub fn new() -> Self {
        Adler32::default()
    }

    pub fn update(&mut self, data: &[u8]) {
        for &byte in data {
            self.a = (self.a + u32::from(byte)) % ADLER_MOD;
            self.b = (self.b + self.a) % ADLER_MOD;
        }
    }

    pub fn finish(&self) -> u32 {
        (self.b << 16) | self.a
    }
}

/// Adler-32 of `data`.
pub fn adler32(data: &[u8]) -> u32 {
    let mut state = Adler32::new();
    state.update(data);
    state.finish()
}

/// Streaming CRC-32 (reflected, polynomial 0x04C11DB7, init and final XOR 0xFFFFFFFF).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Crc32 {
    state: u32,
}

impl Default for Crc32 {
    fn default() -> Self {
        Crc32 { state: 0xFFFF_FFFF }
    }
}

impl Crc32 {
    pub fn new() -> Self {
        Crc32::default()
    }

    pub fn update(&mut self, data: &[u8]) {
        for &byte in data {
            self.state ^= u32::from(byte);
            for _ in 0..8 {
                if self.state & 1 != 0 {
                    self.state = (self.state >> 1) ^ CRC32_POLY;
                } else {
                    self.state >>= 1;
                }
            }
        }
    }

    pub fn finish(&self) -> u32 {
        !self.state
    }
}

/// CRC-32 of `data`.
pub fn crc32(data: &[u8]) -> u32 {
    let mut state = Crc32::new();
    state.update(data);
    state.finish()
}

/// Fletcher-16 (two running sums modulo 255).
pub fn fletcher16(data: &[u8]) -> u16 {
    let mut sum1: u16 = 0;
    let mut sum2: u16 = 0;
    for &byte in data {
        sum1 = (sum1 + u16::from(byte)) % 255;
        sum2 = (sum2 + sum1) % 255;
    }
    (sum2 << 8) | sum1
}

/// Luhn sum of `digits`, doubling every second digit counted from the right: starting
/// with the rightmost digit when `double_rightmost` (computing a check digit), else
/// starting with the one before it (validating a number that ends in its check digit).
fn luhn_sum(digits: &[u32], double_rightmost: bool) -> u32 {
    let mut sum = 0;
    for (i, &d) in digits.iter().rev().enumerate() {
        let doubled = (i % 2 == 0) == double_rightmost;
        if doubled {
            let twice = d * 2;
            sum += if twice > 9 { twice - 9 } else { twice };
        } else {
            sum += d;
        }
    }
    sum
}

/// Parses ASCII digits, ignoring spaces; `None` on anything else or when empty.
fn parse_digits(text: &str) -> Option<Vec<u32>> {
    let mut digits = Vec::with_capacity(text.len());
    for ch in text.chars() {
        if ch == ' ' {
            continue;
        }
        digits.push(ch.to_digit(10)?);
    }
    if digits.is_empty() {
        return None;
    }
    Some(digits)
}

/// The Luhn check digit to append to `payload` (digits and spaces only).
pub fn luhn_check_digit(payload: &str) -> Option<u32> {
    let digits = parse_digits(payload)?;
    let sum = luhn_sum(&digits, true);
    Some((10 - sum % 10) % 10)
}

/// Whether `number` (digits and spaces, check digit last) passes the Luhn check.
/// A single digit is never valid.
pub fn luhn_valid(number: &str) -> bool {
    match parse_digits(number) {
        Some(digits) if digits.len() >= 2 => luhn_sum(&digits, false).is_multiple_of(10),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FOX: &[u8] = b"The quick brown fox jumps over the lazy dog";

    #[test]
    fn adler32_known_values() {
        assert_eq!(adler32(b""), 1);
        assert_eq!(adler32(b"a"), 0x0062_0062);
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
        assert_eq!(adler32(FOX), 0x5BDC_0FDA);
    }

    #[test]
    fn adler32_wraps_modulo() {
        let data = vec![0xffu8; 1_000];
        assert_eq!(adler32(&data), 0xE6E9_E446);
    }

    #[test]
    fn adler32_streaming_matches_one_shot() {
        let mut state = Adler32::new();
        state.update(&FOX[..10]);
        state.update(&FOX[10..]);
        assert_eq!(state.finish(), adler32(FOX));
    }

    #[test]
    fn crc32_known_values() {
        assert_eq!(crc32(b""), 0);
        assert_eq!(crc32(b"a"), 0xE8B7_BE43);
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(FOX), 0x414F_A339);
    }

    #[test]
    fn crc32_streaming_matches_one_shot() {
        let mut state = Crc32::new();
        for chunk in FOX.chunks(7) {
            state.update(chunk);
        }
        assert_eq!(state.finish(), 0x414F_A339);
    }

    #[test]
    fn fletcher16_known_values() {
        assert_eq!(fletcher16(b""), 0);
        assert_eq!(fletcher16(b"abcde"), 0xC8F0);
        assert_eq!(fletcher16(b"abcdef"), 0x2057);
        assert_eq!(fletcher16(b"abcdefgh"), 0x0627);
    }

    #[test]
    fn luhn_check_digits() {
        assert_eq!(luhn_check_digit("7992739871"), Some(3));
        assert_eq!(luhn_check_digit("0"), Some(0));
        assert_eq!(luhn_check_digit("1"), Some(8));
        assert_eq!(luhn_check_digit("5"), Some(9));
        assert_eq!(luhn_check_digit("12a"), None);
        assert_eq!(luhn_check_digit("  "), None);
    }

    #[test]
    fn luhn_validation() {
        assert!(luhn_valid("79927398713"));
        assert!(luhn_valid("4539 3195 0343 6467"));
        assert!(!luhn_valid("79927398710"));
        assert!(!luhn_valid("8273 1232 7352 0569"));
        assert!(luhn_valid("18"));
        assert!(!luhn_valid("0"));
        assert!(!luhn_valid("12-3"));
    }
}
