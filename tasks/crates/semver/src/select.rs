//! Picking versions from a list of candidates.

use crate::req::VersionReq;
use crate::version::Version;

/// The highest version that satisfies `req`.
pub fn max_satisfying<'a>(versions: &'a [Version], req: &VersionReq) -> Option<&'a Version> {
    let mut best: Option<&Version> = None;
    for version in versions {
        if !req.matches(version) {
            continue;
        }
        match best {
            Some(current) if current >= version => {}
            _ => best = Some(version),
        }
    }
    best
}

/// The lowest version that satisfies `req`.
pub fn min_satisfying<'a>(versions: &'a [Version], req: &VersionReq) -> Option<&'a Version> {
    let mut best: Option<&Version> = None;
    for version in versions {
        if !req.matches(version) {
            continue;
        }
        match best {
            Some(current) if current <= version => {}
            _ => best = Some(version),
        }
    }
    best
}

/// The highest version that is not a pre-release.
pub fn latest_stable(versions: &[Version]) -> Option<&Version> {
    versions.iter().filter(|v| !v.is_prerelease()).max()
}

/// Whether an upgrade from `from` to `to` is semver-compatible in Cargo's sense: same
/// leftmost non-zero number and not a downgrade.
pub fn is_compatible_upgrade(from: &Version, to: &Version) -> bool {
    if to < from {
        return false;
    }
    if from.major != to.major {
        return false;
    }
    if from.major > 0 {
        return true;
    }
    if from.minor != to.minor {
        return false;
    }
    from.minor > 0 || from.patch == to.patch
}

/// Sorts ascending and removes versions equal in precedence (keeping the first of each).
pub fn sort_dedup(versions: &mut Vec<Version>) {
    versions.sort();
    versions.dedup_by(|later, earlier| later.cmp_precedence(earlier).is_eq());
}

/// Versions newer than `current` that satisfy `req`, ascending.
pub fn upgrades(versions: &[Version], current: &Version, req: &VersionReq) -> Vec<Version> {
    let mut out: Vec<Version> = versions
        .iter()
        .filter(|v| *v > current && req.matches(v))
        .cloned()
        .collect();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vs(texts: &[&str]) -> Vec<Version> {
        texts.iter().map(|t| Version::parse(t).unwrap()).collect()
    }

    fn v(text: &str) -> Version {
        Version::parse(text).unwrap()
    }

    fn req(text: &str) -> VersionReq {
        VersionReq::parse(text).unwrap()
    }

    const REGISTRY: [&str; 8] = [
        "0.9.0",
        "1.0.0",
        "1.4.2",
        "1.5.0-rc.1",
        "1.4.10",
        "2.0.0",
        "1.2.0",
        "2.1.0-beta",
    ];

    #[test]
    fn max_satisfying_picks_highest_match() {
        let all = vs(&REGISTRY);
        assert_eq!(max_satisfying(&all, &req("^1.0")), Some(&v("1.4.10")));
        assert_eq!(max_satisfying(&all, &req("~1.4")), Some(&v("1.4.10")));
        assert_eq!(max_satisfying(&all, &req("*")), Some(&v("2.0.0")));
        assert_eq!(
            max_satisfying(&all, &req(">=1.5.0-rc.1")),
            Some(&v("2.0.0"))
        );
        assert_eq!(max_satisfying(&all, &req("^3")), None);
    }

    #[test]
    fn min_satisfying_picks_lowest_match() {
        let all = vs(&REGISTRY);
        assert_eq!(min_satisfying(&all, &req("^1.0")), Some(&v("1.0.0")));
        assert_eq!(min_satisfying(&all, &req(">1.2")), Some(&v("1.4.2")));
        assert_eq!(
            min_satisfying(&all, &req(">=1.5.0-rc.1")),
            Some(&v("1.5.0-rc.1"))
        );
        assert_eq!(min_satisfying(&all, &req("<0.9")), None);
    }

    #[test]
    fn first_of_equal_candidates_wins() {
        let all = vs(&["1.0.0+b", "1.0.0+a"]);
        let star = req("*");
        assert_eq!(max_satisfying(&all, &star).unwrap().build, vec!["b"]);
        assert_eq!(min_satisfying(&all, &star).unwrap().build, vec!["a"]);
    }

    #[test]
    fn latest_stable_skips_pre_releases() {
        assert_eq!(latest_stable(&vs(&REGISTRY)), Some(&v("2.0.0")));
        assert_eq!(
            latest_stable(&vs(&["1.0.0-rc.1", "0.1.0"])),
            Some(&v("0.1.0"))
        );
        assert_eq!(latest_stable(&vs(&["1.0.0-rc.1"])), None);
    }

    #[test]
    fn compatible_upgrades() {
        assert!(is_compatible_upgrade(&v("1.2.3"), &v("1.9.0")));
        assert!(!is_compatible_upgrade(&v("1.2.3"), &v("2.0.0")));
        assert!(!is_compatible_upgrade(&v("1.2.3"), &v("1.2.2")));
        assert!(is_compatible_upgrade(&v("0.3.1"), &v("0.3.7")));
        assert!(!is_compatible_upgrade(&v("0.3.1"), &v("0.4.0")));
        assert!(is_compatible_upgrade(&v("0.0.4"), &v("0.0.4")));
        assert!(!is_compatible_upgrade(&v("0.0.4"), &v("0.0.5")));
    }

    #[test]
    fn sort_dedup_orders_and_collapses() {
        let mut all = vs(&["1.0.0+z", "0.1.0", "1.0.0-rc.1", "1.0.0+a", "0.1.0"]);
        sort_dedup(&mut all);
        let shown: Vec<String> = all.iter().map(Version::to_string).collect();
        assert_eq!(shown, vec!["0.1.0", "1.0.0-rc.1", "1.0.0+a"]);
    }

    #[test]
    fn upgrades_lists_newer_matches() {
        let all = vs(&REGISTRY);
        let found = upgrades(&all, &v("1.2.0"), &req("^1"));
        let shown: Vec<String> = found.iter().map(Version::to_string).collect();
        assert_eq!(shown, vec!["1.4.2", "1.4.10"]);
        assert!(upgrades(&all, &v("2.0.0"), &req("*")).is_empty());
    }
}
