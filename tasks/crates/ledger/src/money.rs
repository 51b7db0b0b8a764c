//! Integer-cent amounts: parsing, formatting, allocation and rates.

use std::fmt;

/// An amount of money in cents (1/100 of the currency unit).
pub type Cents = i64;

/// Why an amount string could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AmountError {
    Empty,
    /// An unexpected character at byte offset `pos` of the input.
    InvalidChar {
        pos: usize,
        ch: char,
    },
    TooManyDecimals,
    NoDigits,
    Overflow,
}

impl fmt::Display for AmountError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AmountError::Empty => write!(f, "empty amount"),
            AmountError::InvalidChar { pos, ch } => {
                write!(f, "invalid character {ch:?} at position {pos}")
            }
            AmountError::TooManyDecimals => write!(f, "at most 2 decimal places are allowed"),
            AmountError::NoDigits => write!(f, "amount has no digits"),
            AmountError::Overflow => write!(f, "amount is too large"),
        }
    }
}

impl std::error::Error for AmountError {}

/// Parses `"1,234.5"`, `"-0.07"`, `"12"` into cents. Commas are accepted as thousands
/// separators before the decimal point (not as the first character); surrounding
/// whitespace is ignored; at most two decimal places.
pub fn parse_amount(input: &str) -> Result<Cents, AmountError> {
    let leading = input.len() - input.trim_start().len();
    let text = input.trim();
    if text.is_empty() {
        return Err(AmountError::Empty);
    }
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let offset = leading + (text.len() - body.len());
    let mut whole: Cents = 0;
    let mut frac: Cents = 0;
    let mut frac_digits = 0;
    let mut has_digits = false;
    let mut seen_dot = false;
    for (i, ch) in body.char_indices() {
        match ch {
            '0'..='9' => {
                let d = Cents::from(ch as u8 - b'0');
                if seen_dot {
                    if frac_digits == 2 {
                        return Err(AmountError::TooManyDecimals);
                    }
                    frac = frac * 10 + d;
                    frac_digits += 1;
                } else {
                    whole = whole
                        .checked_mul(10)
                        .and_then(|w| w.checked_add(d))
                        .ok_or(AmountError::Overflow)?;
                }
                has_digits = true;
            }
            '.' if !seen_dot => seen_dot = true,
            ',' if !seen_dot && i > 0 => {}
            _ => {
                return Err(AmountError::InvalidChar {
                    pos: offset + i,
                    ch,
                })
            }
        }
    }
    if !has_digits {
        return Err(AmountError::NoDigits);
    }
    if frac_digits == 1 {
        frac *= 10;
    }
    let cents = whole
        .checked_mul(100)
        .and_then(|w| w.checked_add(frac))
        .ok_or(AmountError::Overflow)?;
    Ok(if negative { -cents } else { cents })
}

/// Formats cents as `"-1,234.05"`.
pub fn format_cents(amount: Cents) -> String {
    let sign = if amount < 0 { "-" } else { "" };
    let abs = amount.unsigned_abs();
    let whole = abs / 100;
    let frac = abs % 100;
    format!("{sign}{}.{frac:02}", group_thousands(whole))
}

fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// Splits `total` into `parts` amounts that differ by at most one cent and sum to
/// `total`; the earlier parts receive the leftover cents. Zero parts gives an empty list.
pub fn allocate(total: Cents, parts: usize) -> Vec<Cents> {
    if parts == 0 {
        return Vec::new();
    }
    let n = parts as Cents;
    let base = total / n;
    let rem = total % n;
    (0..n)
        .map(|i| {
            if i < rem.abs() {
                base + rem.signum()
            } else {
                base
            }
        })
        .collect()
}

/// `amount * basis_points / 10_000`, rounding halves away from zero
/// (100 basis points = 1%).
pub fn apply_rate(amount: Cents, basis_points: i64) -> Cents {
    let product = amount * basis_points;
    let quotient = product / 10_000;
    let remainder = product % 10_000;
    if remainder.abs() * 2 >= 10_000 {
        quotient + product.signum()
    } else {
        quotient
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_whole_and_fractional_amounts() {
        assert_eq!(parse_amount("12"), Ok(1200));
        assert_eq!(parse_amount("12.3"), Ok(1230));
        assert_eq!(parse_amount("12.34"), Ok(1234));
        assert_eq!(parse_amount("0.07"), Ok(7));
        assert_eq!(parse_amount(".5"), Ok(50));
    }

    #[test]
    fn parses_negative_and_grouped_amounts() {
        assert_eq!(parse_amount("-3.10"), Ok(-310));
        assert_eq!(parse_amount("1,234,567.89"), Ok(123_456_789));
        assert_eq!(parse_amount("  42.00 "), Ok(4200));
    }

    #[test]
    fn rejects_malformed_amounts() {
        assert_eq!(parse_amount("   "), Err(AmountError::Empty));
        assert_eq!(parse_amount("-"), Err(AmountError::NoDigits));
        assert_eq!(parse_amount("1.234"), Err(AmountError::TooManyDecimals));
        assert_eq!(
            parse_amount("1.2.3"),
            Err(AmountError::InvalidChar { pos: 3, ch: '.' })
        );
        assert_eq!(
            parse_amount(",5"),
            Err(AmountError::InvalidChar { pos: 0, ch: ',' })
        );
        assert_eq!(
            parse_amount("1.0,0"),
            Err(AmountError::InvalidChar { pos: 3, ch: ',' })
        );
    }

    #[test]
    fn error_position_accounts_for_sign_and_whitespace() {
        assert_eq!(
            parse_amount(" -12x"),
            Err(AmountError::InvalidChar { pos: 4, ch: 'x' })
        );
        assert_eq!(
            parse_amount("--1"),
            Err(AmountError::InvalidChar { pos: 1, ch: '-' })
        );
    }

    #[test]
    fn rejects_overflow() {
        assert_eq!(parse_amount("92233720368547758.07"), Ok(i64::MAX));
        assert_eq!(
            parse_amount("92233720368547758.08"),
            Err(AmountError::Overflow)
        );
        assert_eq!(
            parse_amount("99999999999999999999"),
            Err(AmountError::Overflow)
        );
    }

    #[test]
    fn formats_with_grouping_and_sign() {
        assert_eq!(format_cents(0), "0.00");
        assert_eq!(format_cents(5), "0.05");
        assert_eq!(format_cents(-1999), "-19.99");
        assert_eq!(format_cents(100_000), "1,000.00");
        assert_eq!(format_cents(99_999), "999.99");
        assert_eq!(format_cents(123_456_789), "1,234,567.89");
        assert_eq!(format_cents(i64::MIN), "-92,233,720,368,547,758.08");
    }

    #[test]
    fn format_and_parse_round_trip() {
        for cents in [-100_001, -1, 0, 1, 99, 100, 12_345_678] {
            assert_eq!(parse_amount(&format_cents(cents)), Ok(cents));
        }
    }

    #[test]
    fn allocate_spreads_remainder_first() {
        assert_eq!(allocate(100, 3), vec![34, 33, 33]);
        assert_eq!(allocate(101, 3), vec![34, 34, 33]);
        assert_eq!(allocate(99, 3), vec![33, 33, 33]);
        assert_eq!(allocate(-100, 3), vec![-34, -33, -33]);
        assert_eq!(allocate(2, 4), vec![1, 1, 0, 0]);
        assert_eq!(allocate(5, 0), Vec::<Cents>::new());
    }

    #[test]
    fn apply_rate_rounds_half_away_from_zero() {
        assert_eq!(apply_rate(10_000, 825), 825);
        assert_eq!(apply_rate(1_999, 500), 100); // 99.95 -> 100
        assert_eq!(apply_rate(1_989, 500), 99); // 99.45 -> 99
        assert_eq!(apply_rate(-1_999, 500), -100);
        assert_eq!(apply_rate(10, 5_000), 5);
        assert_eq!(apply_rate(1, 5_000), 1); // 0.5 -> 1
        assert_eq!(apply_rate(1, 4_999), 0);
    }
}
