//! Cargo-style version requirements.

use std::cmp::Ordering;
use std::fmt;

use crate::error::{parse_number, ErrorKind, ParseError};
use crate::identifier::{compare_pre, join, parse_pre, Identifier};
use crate::version::Version;

/// Comparison operator of one comparator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `=1.2.3`
    Exact,
    /// `>1.2.3`
    Greater,
    /// `>=1.2.3`
    GreaterEq,
    /// `<1.2.3`
    Less,
    /// `<=1.2.3`
    LessEq,
    /// `~1.2.3`: patch updates only (minor updates when only the major is given).
    Tilde,
    /// `^1.2.3` or bare `1.2.3`: updates that keep the leftmost non-zero number.
    Caret,
    /// `1.2.*` / `1.*`: any version with the given leading numbers.
    Wildcard,
}

impl Op {
    fn symbol(self) -> &'static str {
        match self {
            Op::Exact => "=",
            Op::Greater => ">",
            Op::GreaterEq => ">=",
            Op::Less => "<",
            Op::LessEq => "<=",
            Op::Tilde => "~",
            Op::Caret => "^",
            Op::Wildcard => "",
        }
    }
}

/// One operator applied to a possibly partial version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comparator {
    pub op: Op,
    pub major: u64,
    pub minor: Option<u64>,
    pub patch: Option<u64>,
    pub pre: Vec<Identifier>,
}

/// Splits a leading operator off `text`.
fn split_op(text: &str) -> (Option<Op>, &str) {
    for (prefix, op) in [
        (">=", Op::GreaterEq),
        ("<=", Op::LessEq),
        (">", Op::Greater),
        ("<", Op::Less),
        ("=", Op::Exact),
        ("~", Op::Tilde),
        ("^", Op::Caret),
    ] {
        if let Some(rest) = text.strip_prefix(prefix) {
            return (Some(op), rest);
        }
    }
    (None, text)
}

fn is_wildcard(part: &str) -> bool {
    matches!(part, "*" | "x" | "X")
}

impl Comparator {
    /// Parses one comparator; `offset` is the position of `text` in the whole input.
    pub fn parse(text: &str, offset: usize) -> Result<Comparator, ParseError> {
        let (op, rest) = split_op(text);
        let trimmed = rest.trim_start();
        let mut pos = offset + (text.len() - trimmed.len());
        let (core, pre_text) = match trimmed.find('-') {
            Some(i) => (&trimmed[..i], Some((&trimmed[i + 1..], pos + i + 1))),
            None => (trimmed, None),
        };
        let mut numbers: Vec<Option<u64>> = Vec::new();
        let mut wildcard_at: Option<usize> = None;
        for part in core.split('.') {
            if numbers.len() == 3 {
                return Err(ParseError::new(ErrorKind::WrongPartCount(4), pos - 1));
            }
            if is_wildcard(part) {
                wildcard_at.get_or_insert(pos);
                numbers.push(None);
            } else if wildcard_at.is_some() {
                return Err(ParseError::new(ErrorKind::MisplacedWildcard, pos));
            } else {
                numbers.push(Some(parse_number(part, pos)?));
            }
            pos += part.len() + 1;
        }
        let Some(major) = numbers[0] else {
            return Err(ParseError::new(ErrorKind::MisplacedWildcard, offset));
        };
        let minor = numbers.get(1).copied().flatten();
        let patch = numbers.get(2).copied().flatten();
        let op = match (op, wildcard_at) {
            (None | Some(Op::Exact), Some(_)) => Op::Wildcard,
            (Some(_), Some(at)) => return Err(ParseError::new(ErrorKind::MisplacedWildcard, at)),
            (Some(op), None) => op,
            (None, None) => Op::Caret,
        };
        let pre = match pre_text {
            Some((_, at)) if patch.is_none() => {
                return Err(ParseError::new(ErrorKind::PreReleaseNeedsPatch, at))
            }
            Some((text, at)) => parse_pre(text, at)?,
            None => Vec::new(),
        };
        Ok(Comparator {
            op,
            major,
            minor,
            patch,
            pre,
        })
    }

    /// Whether `version` satisfies this comparator (pre-release gating aside).
    pub fn matches(&self, version: &Version) -> bool {
        match self.op {
            Op::Exact | Op::Wildcard => self.matches_exact(version),
            Op::Greater => self.matches_greater(version),
            Op::GreaterEq => self.matches_exact(version) || self.matches_greater(version),
            Op::Less => self.matches_less(version),
            Op::LessEq => self.matches_exact(version) || self.matches_less(version),
            Op::Tilde => self.matches_tilde(version),
            Op::Caret => self.matches_caret(version),
        }
    }

    fn matches_exact(&self, v: &Version) -> bool {
        if v.major != self.major {
            return false;
        }
        if let Some(minor) = self.minor {
            if v.minor != minor {
                return false;
            }
        }
        if let Some(patch) = self.patch {
            if v.patch != patch {
                return false;
            }
        }
        v.pre == self.pre
    }

    fn matches_greater(&self, v: &Version) -> bool {
        if v.major != self.major {
            return v.major > self.major;
        }
        let Some(minor) = self.minor else {
            return false;
        };
        if v.minor != minor {
            return v.minor > minor;
        }
        let Some(patch) = self.patch else {
            return false;
        };
        if v.patch != patch {
            return v.patch > patch;
        }
        compare_pre(&v.pre, &self.pre) == Ordering::Greater
    }

    fn matches_less(&self, v: &Version) -> bool {
        if v.major != self.major {
            return v.major < self.major;
        }
        let Some(minor) = self.minor else {
            return false;
        };
        if v.minor != minor {
            return v.minor < minor;
        }
        let Some(patch) = self.patch else {
            return false;
        };
        if v.patch != patch {
            return v.patch < patch;
        }
        compare_pre(&v.pre, &self.pre) == Ordering::Less
    }

    fn matches_tilde(&self, v: &Version) -> bool {
        if v.major != self.major {
            return false;
        }
        if let Some(minor) = self.minor {
            if v.minor != minor {
                return false;
            }
        }
        if let Some(patch) = self.patch {
            if v.patch != patch {
                return v.patch > patch;
            }
        }
        compare_pre(&v.pre, &self.pre) != Ordering::Less
    }

    fn matches_caret(&self, v: &Version) -> bool {
        if v.major != self.major {
            return false;
        }
        let Some(minor) = self.minor else {
            return true;
        };
        let Some(patch) = self.patch else {
            return if self.major > 0 {
                v.minor >= minor
            } else {
                v.minor == minor
            };
        };
        if self.major > 0 {
            if v.minor != minor {
                return v.minor > minor;
            }
            if v.patch != patch {
                return v.patch > patch;
            }
        } else if minor > 0 {
            if v.minor != minor {
                return false;
            }
            if v.patch != patch {
                return v.patch > patch;
            }
        } else if v.minor != minor || v.patch != patch {
            return false;
        }
        compare_pre(&v.pre, &self.pre) != Ordering::Less
    }

    /// Whether this comparator names exactly `v`'s release and has a pre-release, which
    /// is what allows pre-release versions of that release to match.
    pub fn allows_pre_of(&self, v: &Version) -> bool {
        self.major == v.major
            && self.minor == Some(v.minor)
            && self.patch == Some(v.patch)
            && !self.pre.is_empty()
    }
}

impl fmt::Display for Comparator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.op.symbol(), self.major)?;
        let wild = self.op == Op::Wildcard;
        match self.minor {
            Some(minor) => write!(f, ".{minor}")?,
            None if wild => return write!(f, ".*"),
            None => return Ok(()),
        }
        match self.patch {
            Some(patch) => write!(f, ".{patch}")?,
            None if wild => return write!(f, ".*"),
            None => return Ok(()),
        }
        if !self.pre.is_empty() {
            write!(f, "-{}", join(&self.pre))?;
        }
        Ok(())
    }
}

/// A conjunction of comparators (`>=1.2, <1.5`); no comparators means `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionReq {
    pub comparators: Vec<Comparator>,
}

impl VersionReq {
    /// The requirement that matches every release (but no pre-release).
    pub const STAR: VersionReq = VersionReq {
        comparators: Vec::new(),
    };

    /// Parses comma-separated comparators; `*` alone matches any release.
    pub fn parse(text: &str) -> Result<VersionReq, ParseError> {
        if text.trim() == "*" {
            return Ok(VersionReq::STAR);
        }
        let mut comparators = Vec::new();
        let mut start = 0;
        for piece in text.split(',') {
            let leading = piece.len() - piece.trim_start().len();
            let body = piece.trim();
            comparators.push(Comparator::parse(body, start + leading)?);
            start += piece.len() + 1;
        }
        Ok(VersionReq { comparators })
    }

    /// Whether `version` satisfies every comparator. A pre-release version additionally
    /// needs a comparator that names its exact release with a pre-release.
    pub fn matches(&self, version: &Version) -> bool {
        for comparator in &self.comparators {
            if !comparator.matches(version) {
                return false;
            }
        }
        if !version.is_prerelease() {
            return true;
        }
        self.comparators.iter().any(|c| c.allows_pre_of(version))
    }
}

impl fmt::Display for VersionReq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.comparators.is_empty() {
            return f.write_str("*");
        }
        let parts: Vec<String> = self.comparators.iter().map(|c| c.to_string()).collect();
        f.write_str(&parts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(text: &str) -> VersionReq {
        VersionReq::parse(text).unwrap()
    }

    fn matches(r: &str, v: &str) -> bool {
        req(r).matches(&Version::parse(v).unwrap())
    }

    #[test]
    fn parses_operators_and_partial_versions() {
        let r = req(">= 1.2, <2");
        assert_eq!(r.comparators.len(), 2);
        assert_eq!(r.comparators[0].op, Op::GreaterEq);
        assert_eq!(r.comparators[0].minor, Some(2));
        assert_eq!(r.comparators[0].patch, None);
        assert_eq!(r.comparators[1].op, Op::Less);
        assert_eq!(r.comparators[1].minor, None);
        assert_eq!(req("1.2.3").comparators[0].op, Op::Caret);
        assert_eq!(req("1.x").comparators[0].op, Op::Wildcard);
        assert_eq!(req("=1.2.*").comparators[0].op, Op::Wildcard);
    }

    #[test]
    fn caret_requirements() {
        assert!(matches("^1.2.3", "1.2.3"));
        assert!(matches("^1.2.3", "1.9.0"));
        assert!(!matches("^1.2.3", "1.2.2"));
        assert!(!matches("^1.2.3", "2.0.0"));
        assert!(matches("^0.2.3", "0.2.9"));
        assert!(!matches("^0.2.3", "0.3.0"));
        assert!(!matches("^0.2.3", "0.2.2"));
        assert!(matches("^0.0.3", "0.0.3"));
        assert!(!matches("^0.0.3", "0.0.4"));
    }

    #[test]
    fn caret_with_partial_versions() {
        assert!(matches("^1.2", "1.2.0"));
        assert!(matches("^1.2", "1.7.1"));
        assert!(!matches("^1.2", "1.1.9"));
        assert!(matches("^0.2", "0.2.7"));
        assert!(!matches("^0.2", "0.3.0"));
        assert!(matches("^0", "0.9.9"));
        assert!(!matches("^0", "1.0.0"));
        assert!(matches("^0.0", "0.0.5"));
        assert!(!matches("^0.0", "0.1.0"));
    }

    #[test]
    fn tilde_requirements() {
        assert!(matches("~1.2.3", "1.2.3"));
        assert!(matches("~1.2.3", "1.2.9"));
        assert!(!matches("~1.2.3", "1.3.0"));
        assert!(!matches("~1.2.3", "1.2.2"));
        assert!(matches("~1.2", "1.2.0"));
        assert!(!matches("~1.2", "1.3.0"));
        assert!(matches("~1", "1.9.0"));
        assert!(!matches("~1", "2.0.0"));
    }

    #[test]
    fn greater_and_less_with_partial_versions() {
        assert!(matches(">1.2", "1.3.0"));
        assert!(!matches(">1.2", "1.2.9"));
        assert!(matches(">1", "2.0.0"));
        assert!(!matches(">1", "1.9.9"));
        assert!(matches("<1.2", "1.1.9"));
        assert!(!matches("<1.2", "1.2.0"));
        assert!(matches("<=1.2", "1.2.9"));
        assert!(!matches("<=1.2", "1.3.0"));
        assert!(matches(">=1.2.3", "1.2.3"));
        assert!(!matches(">=1.2.3", "1.2.2"));
        assert!(matches("<=1", "1.9.0"));
        assert!(!matches("<1", "1.0.0"));
        assert!(matches("<1.2.3", "1.2.2"));
        assert!(!matches("<1.2.3", "1.2.4"));
        assert!(!matches("<1.2.3", "1.2.3"));
    }

    #[test]
    fn ranges_combine_comparators() {
        assert!(matches(">=1.2.0, <1.5.0", "1.4.9"));
        assert!(!matches(">=1.2.0, <1.5.0", "1.5.0"));
        assert!(!matches(">=1.2.0, <1.5.0", "1.1.0"));
        assert!(matches(">1.0.0, <=1.0.5", "1.0.5"));
        assert!(!matches(">1.0.0, <=1.0.5", "1.0.0"));
    }

    #[test]
    fn wildcards_and_exact() {
        assert!(matches("*", "0.0.1"));
        assert!(matches("*", "42.0.0"));
        assert!(matches("1.*", "1.99.0"));
        assert!(!matches("1.*", "2.0.0"));
        assert!(matches("1.2.x", "1.2.7"));
        assert!(!matches("1.2.x", "1.3.0"));
        assert!(matches("=1.2.3", "1.2.3"));
        assert!(!matches("=1.2.3", "1.2.4"));
        assert!(matches("=1.2", "1.2.4"));
    }

    #[test]
    fn pre_releases_need_an_explicit_opt_in() {
        assert!(!matches("*", "1.0.0-alpha"));
        assert!(!matches("^1.0.0", "1.1.0-beta"));
        assert!(!matches(">=1.0.0", "1.0.1-rc.1"));
        assert!(matches(">=1.0.0-rc.1", "1.0.0-rc.2"));
        assert!(matches(">=1.0.0-rc.1", "1.0.0"));
        assert!(!matches(">=1.0.0-rc.1", "1.0.1-rc.1"));
        assert!(!matches(">=1.0.0-rc.2", "1.0.0-rc.1"));
        assert!(matches("^1.0.0-beta", "1.0.0-beta.2"));
        assert!(matches("~2.1.0-a", "2.1.0-b"));
        assert!(matches("<1.0.0-rc.1", "0.9.0"));
        assert!(matches(">1.0.0-alpha, <1.0.0", "1.0.0-beta"));
        assert!(!matches(">1.0.0-alpha, <1.0.0", "1.0.0-alpha"));
    }

    #[test]
    fn parse_errors_report_positions() {
        assert_eq!(
            VersionReq::parse(""),
            Err(ParseError::new(ErrorKind::Empty, 0))
        );
        assert_eq!(
            VersionReq::parse("1.0,,2.0"),
            Err(ParseError::new(ErrorKind::Empty, 4))
        );
        assert_eq!(
            VersionReq::parse(">=1.2, "),
            Err(ParseError::new(ErrorKind::Empty, 7))
        );
        assert_eq!(
            VersionReq::parse("^1.*"),
            Err(ParseError::new(ErrorKind::MisplacedWildcard, 3))
        );
        assert_eq!(
            VersionReq::parse("1.*.3"),
            Err(ParseError::new(ErrorKind::MisplacedWildcard, 4))
        );
        assert_eq!(
            VersionReq::parse("<1.2-rc"),
            Err(ParseError::new(ErrorKind::PreReleaseNeedsPatch, 5))
        );
        assert_eq!(
            VersionReq::parse("1.2.3.4"),
            Err(ParseError::new(ErrorKind::WrongPartCount(4), 5))
        );
        assert_eq!(
            VersionReq::parse(">=1.0, <2.a"),
            Err(ParseError::new(ErrorKind::UnexpectedChar('a'), 10))
        );
        assert_eq!(
            VersionReq::parse("*.1"),
            Err(ParseError::new(ErrorKind::MisplacedWildcard, 2))
        );
    }

    #[test]
    fn display_normalises_requirements() {
        assert_eq!(req(">= 1.2,<2").to_string(), ">=1.2, <2");
        assert_eq!(req("1.2.3-rc.1").to_string(), "^1.2.3-rc.1");
        assert_eq!(req("1.x").to_string(), "1.*");
        assert_eq!(req("1.2.*").to_string(), "1.2.*");
        assert_eq!(req("*").to_string(), "*");
        assert_eq!(req("~0.3").to_string(), "~0.3");
    }
}
