//! Semantic versions (SemVer 2.0.0) and Cargo-style version requirements.
//!
//! [`Version`] parses `MAJOR.MINOR.PATCH[-PRE][+BUILD]` and orders versions by SemVer
//! precedence. [`VersionReq`] parses requirements such as `^1.2`, `~0.3.1`,
//! `>=1.0, <2.0`, `1.*` and `*` and matches versions with Cargo's rules, including the
//! rule that pre-releases only match requirements that mention the same release.

pub mod error;
pub mod identifier;
pub mod req;
pub mod select;
pub mod version;

pub use error::{ErrorKind, ParseError};
pub use identifier::Identifier;
pub use req::{Comparator, Op, VersionReq};
pub use select::{max_satisfying, min_satisfying};
pub use version::Version;
