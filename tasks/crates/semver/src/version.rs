//! The `Version` type: parsing, display, precedence and bumping.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use crate::error::{parse_number, ErrorKind, ParseError};
use crate::identifier::{compare_pre, join, parse_build, parse_pre, Identifier};

/// A semantic version `MAJOR.MINOR.PATCH[-PRE][+BUILD]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Version {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
    pub pre: Vec<Identifier>,
    pub build: Vec<String>,
}

impl Version {
    pub fn new(major: u64, minor: u64, patch: u64) -> Self {
        Version {
            major,
            minor,
            patch,
            pre: Vec::new(),
            build: Vec::new(),
        }
    }

    /// Parses a full version; surrounding whitespace is not allowed.
    pub fn parse(text: &str) -> Result<Version, ParseError> {
        if text.is_empty() {
            return Err(ParseError::new(ErrorKind::Empty, 0));
        }
        let (rest, build) = match text.find('+') {
            Some(i) => (&text[..i], parse_build(&text[i + 1..], i + 1)?),
            None => (text, Vec::new()),
        };
        let (core, pre) = match rest.find('-') {
            Some(i) => (&rest[..i], parse_pre(&rest[i + 1..], i + 1)?),
            None => (rest, Vec::new()),
        };
        let numbers = parse_core(core)?;
        Ok(Version {
            major: numbers[0],
            minor: numbers[1],
            patch: numbers[2],
            pre,
            build,
        })
    }

    pub fn is_prerelease(&self) -> bool {
        !self.pre.is_empty()
    }

    /// SemVer precedence: numbers, then pre-release; build metadata is ignored.
    pub fn cmp_precedence(&self, other: &Version) -> Ordering {
        self.major
            .cmp(&other.major)
            .then(self.minor.cmp(&other.minor))
            .then(self.patch.cmp(&other.patch))
            .then_with(|| compare_pre(&self.pre, &other.pre))
    }

    /// The same version without pre-release and build metadata.
    pub fn release(&self) -> Version {
        Version::new(self.major, self.minor, self.patch)
    }

    /// Next patch release; a pre-release of `x.y.z` bumps to `x.y.z` itself.
    pub fn bump_patch(&self) -> Version {
        if self.is_prerelease() {
            return self.release();
        }
        Version::new(self.major, self.minor, self.patch + 1)
    }

    /// Next minor release; `x.y.0-pre` bumps to `x.y.0`.
    pub fn bump_minor(&self) -> Version {
        if self.is_prerelease() && self.patch == 0 {
            return self.release();
        }
        Version::new(self.major, self.minor + 1, 0)
    }

    /// Next major release; `x.0.0-pre` bumps to `x.0.0`.
    pub fn bump_major(&self) -> Version {
        if self.is_prerelease() && self.minor == 0 && self.patch == 0 {
            return self.release();
        }
        Version::new(self.major + 1, 0, 0)
    }
}

/// Parses `MAJOR.MINOR.PATCH`, reporting positions relative to the start of `core`.
fn parse_core(core: &str) -> Result<[u64; 3], ParseError> {
    let parts: Vec<&str> = core.split('.').collect();
    if parts.len() != 3 {
        let pos = if parts.len() > 3 {
            parts[..3].iter().map(|p| p.len() + 1).sum::<usize>() - 1
        } else {
            core.len()
        };
        return Err(ParseError::new(ErrorKind::WrongPartCount(parts.len()), pos));
    }
    let mut numbers = [0u64; 3];
    let mut offset = 0;
    for (i, part) in parts.iter().enumerate() {
        numbers[i] = parse_number(part, offset)?;
        offset += part.len() + 1;
    }
    Ok(numbers)
}

impl Ord for Version {
    /// Precedence first; build metadata only breaks ties (so `Ord` agrees with `Eq`).
    fn cmp(&self, other: &Self) -> Ordering {
        self.cmp_precedence(other)
            .then_with(|| self.build.cmp(&other.build))
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        if !self.pre.is_empty() {
            write!(f, "-{}", join(&self.pre))?;
        }
        if !self.build.is_empty() {
            write!(f, "+{}", join(&self.build))?;
        }
        Ok(())
    }
}

impl FromStr for Version {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Version::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> Version {
        Version::parse(text).unwrap()
    }

    #[test]
    fn parses_core_pre_and_build() {
        let version = v("1.20.3-rc.1+build.5");
        assert_eq!((version.major, version.minor, version.patch), (1, 20, 3));
        assert_eq!(
            version.pre,
            vec![Identifier::Alpha("rc".into()), Identifier::Numeric(1)]
        );
        assert_eq!(version.build, vec!["build", "5"]);
        assert!(version.is_prerelease());
        assert!(!v("1.0.0+meta").is_prerelease());
    }

    #[test]
    fn hyphens_after_the_first_belong_to_the_pre_release() {
        assert_eq!(v("1.0.0-x-y-z.-").pre.len(), 2);
        assert_eq!(v("1.0.0+a-b").build, vec!["a-b"]);
        assert_eq!(v("1.0.0-a+b-c").pre, vec![Identifier::Alpha("a".into())]);
    }

    #[test]
    fn rejects_wrong_part_counts() {
        assert_eq!(
            Version::parse("1.2"),
            Err(ParseError::new(ErrorKind::WrongPartCount(2), 3))
        );
        assert_eq!(
            Version::parse("1.2.3.4"),
            Err(ParseError::new(ErrorKind::WrongPartCount(4), 5))
        );
        assert_eq!(
            Version::parse(""),
            Err(ParseError::new(ErrorKind::Empty, 0))
        );
    }

    #[test]
    fn rejects_bad_numbers_with_positions() {
        assert_eq!(
            Version::parse("1.02.3"),
            Err(ParseError::new(ErrorKind::LeadingZero, 2))
        );
        assert_eq!(
            Version::parse("1.2.x"),
            Err(ParseError::new(ErrorKind::UnexpectedChar('x'), 4))
        );
        assert_eq!(
            Version::parse("1..3"),
            Err(ParseError::new(ErrorKind::Empty, 2))
        );
        assert_eq!(
            Version::parse("1.2.3-beta.02"),
            Err(ParseError::new(ErrorKind::LeadingZero, 11))
        );
        assert_eq!(
            Version::parse("1.2.3+"),
            Err(ParseError::new(ErrorKind::EmptyIdentifier, 6))
        );
    }

    #[test]
    fn display_round_trips() {
        for text in [
            "0.0.0",
            "1.2.3",
            "10.20.30-alpha.1",
            "1.0.0-rc.1+build.007",
            "2.0.0+x",
        ] {
            assert_eq!(v(text).to_string(), text);
        }
        assert_eq!("3.1.4".parse::<Version>(), Ok(Version::new(3, 1, 4)));
    }

    #[test]
    fn precedence_follows_spec_example() {
        let ordered = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
            "1.0.1",
            "1.1.0",
            "2.0.0",
        ];
        for pair in ordered.windows(2) {
            assert!(v(pair[0]) < v(pair[1]), "{} < {}", pair[0], pair[1]);
        }
    }

    #[test]
    fn numeric_fields_compare_numerically() {
        assert!(v("1.10.0") > v("1.9.0"));
        assert!(v("1.0.10") > v("1.0.9"));
        assert!(v("10.0.0") > v("9.99.99"));
        assert_eq!(v("1.2.3").cmp(&v("1.2.3")), Ordering::Equal);
    }

    #[test]
    fn build_metadata_ignored_for_precedence() {
        let a = v("1.0.0+a");
        let b = v("1.0.0+b");
        assert_eq!(a.cmp_precedence(&b), Ordering::Equal);
        assert_ne!(a, b);
        assert!(a < b);
        assert_eq!(v("1.0.0-rc.1+zzz").cmp(&v("1.0.0")), Ordering::Less);
    }

    #[test]
    fn bumps_follow_release_rules() {
        assert_eq!(v("1.2.3").bump_patch(), v("1.2.4"));
        assert_eq!(v("1.2.3-rc.1").bump_patch(), v("1.2.3"));
        assert_eq!(v("1.2.3").bump_minor(), v("1.3.0"));
        assert_eq!(v("1.3.0-beta").bump_minor(), v("1.3.0"));
        assert_eq!(v("1.3.1-beta").bump_minor(), v("1.4.0"));
        assert_eq!(v("1.2.3+b").bump_major(), v("2.0.0"));
        assert_eq!(v("2.0.0-rc.2").bump_major(), v("2.0.0"));
        assert_eq!(v("2.1.0-rc.2").bump_major(), v("3.0.0"));
        assert_eq!(v("2.0.1-rc.2").bump_major(), v("3.0.0"));
    }
}
