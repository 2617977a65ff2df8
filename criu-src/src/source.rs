//! The pinned CRIU source: which package, which file, which bytes.

/// An upstream CRIU source tarball as a Debian source package carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Source {
    /// CRIU's version, also the name of the tarball's top directory (`criu-VERSION`).
    pub version: &'static str,
    /// The source package version apt is asked for (`criu=...`).
    pub package_version: &'static str,
    /// The Debian suite whose `deb-src` index lists it.
    pub suite: &'static str,
    /// The file apt downloads.
    pub file: &'static str,
    pub size: u64,
    /// Lowercase hex.
    pub sha256: &'static str,
}

/// CRIU 4.1.1, from Debian trixie (its `.dsc` and Debian patches are not fetchable, and
/// not needed: the orig tarball is upstream's release).
pub const CRIU_4_1_1: Source = Source {
    version: "4.1.1",
    package_version: "4.1.1-1",
    suite: "trixie",
    file: "criu_4.1.1.orig.tar.xz",
    size: 1_021_136,
    sha256: "f80a66cb3726bb2116266d4759ce3bcbfab7abdb6b6d430bf20dd41911717afe",
};

/// CRIU 4.2.1, from Debian unstable (`criu 4.2.1-1` in its deb-src index).
pub const CRIU_4_2_1: Source = Source {
    version: "4.2.1",
    package_version: "4.2.1-1",
    suite: "unstable",
    file: "criu_4.2.1.orig.tar.xz",
    size: 1_038_700,
    sha256: "29ec0ee09e296479fe7048c80980e8ef1d0684d0b0204c2b101dfea19f6725b9",
};

/// Every CRIU the tests run against, oldest first; the first is [`CriuTree::fixture`].
///
/// [`CriuTree::fixture`]: crate::CriuTree::fixture
pub const FIXTURES: &[Source] = &[CRIU_4_1_1, CRIU_4_2_1];

impl Source {
    /// The fixture of CRIU `version` (`"4.2.1"`), if there is one.
    pub fn fixture(version: &str) -> Option<&'static Source> {
        FIXTURES.iter().find(|s| s.version == version)
    }

    /// The directory the tarball unpacks into.
    pub fn top_dir(&self) -> String {
        format!("criu-{}", self.version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixtures_are_distinct_and_found_by_version() {
        assert_eq!(Source::fixture("4.2.1"), Some(&CRIU_4_2_1));
        assert_eq!(Source::fixture("4.1.1"), Some(&CRIU_4_1_1));
        assert_eq!(Source::fixture("4.2"), None);
        for (i, a) in FIXTURES.iter().enumerate() {
            assert_eq!(a.sha256.len(), 64, "{}", a.version);
            assert!(a.file.starts_with(&format!("criu_{}.", a.version)), "{}", a.file);
            for b in &FIXTURES[i + 1..] {
                assert!(a.version != b.version && a.sha256 != b.sha256 && a.file != b.file);
            }
        }
    }
}
