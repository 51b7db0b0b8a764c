use semver::{max_satisfying, ErrorKind, Version, VersionReq};

fn v(text: &str) -> Version {
    Version::parse(text).unwrap()
}

#[test]
fn resolve_dependency_set() {
    let published: Vec<Version> = [
        "0.1.0",
        "0.1.5",
        "0.2.0",
        "1.0.0",
        "1.3.1",
        "1.3.2-alpha",
        "2.0.0-rc.1",
    ]
    .iter()
    .map(|t| v(t))
    .collect();
    let cases = [
        ("^0.1", Some("0.1.5")),
        ("^0.2", Some("0.2.0")),
        ("^1", Some("1.3.1")),
        (">=1.3.2-alpha", Some("1.3.2-alpha")),
        ("^2.0.0-rc.1", Some("2.0.0-rc.1")),
        ("^2", None),
        ("<1", Some("0.2.0")),
    ];
    for (requirement, expected) in cases {
        let req = VersionReq::parse(requirement).unwrap();
        let got = max_satisfying(&published, &req).map(Version::to_string);
        assert_eq!(got.as_deref(), expected, "{requirement}");
    }
}

#[test]
fn sorting_a_release_history() {
    let mut history: Vec<Version> = [
        "1.0.0",
        "1.0.0-rc.1",
        "0.9.12",
        "0.9.2",
        "1.0.0-beta.11",
        "1.0.0-beta.2",
    ]
    .iter()
    .map(|t| v(t))
    .collect();
    history.sort();
    let shown: Vec<String> = history.iter().map(Version::to_string).collect();
    assert_eq!(
        shown,
        [
            "0.9.2",
            "0.9.12",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0"
        ]
    );
}

#[test]
fn bump_then_match() {
    let current = v("1.4.7");
    let req = VersionReq::parse(&format!("^{current}")).unwrap();
    assert!(req.matches(&current.bump_patch()));
    assert!(req.matches(&current.bump_minor()));
    assert!(!req.matches(&current.bump_major()));
    let zero = v("0.4.7");
    let req = VersionReq::parse(&format!("^{zero}")).unwrap();
    assert!(req.matches(&zero.bump_patch()));
    assert!(!req.matches(&zero.bump_minor()));
}

#[test]
fn requirement_display_reparses_to_same_meaning() {
    for text in [">=1.2, <1.8", "~0.3.1", "=2.0.0-rc.1", "1.*", "^0.0.4", "*"] {
        let req = VersionReq::parse(text).unwrap();
        let again = VersionReq::parse(&req.to_string()).unwrap();
        assert_eq!(again, req, "{text}");
    }
}

#[test]
fn errors_point_into_the_input() {
    let err = VersionReq::parse(">=1.0.0, <1.0.0-rc..1").unwrap_err();
    assert_eq!((err.kind, err.pos), (ErrorKind::EmptyIdentifier, 19));
    let err = Version::parse("1.2.3-alpha+build+x").unwrap_err();
    assert_eq!((err.kind, err.pos), (ErrorKind::UnexpectedChar('+'), 17));
}
