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

impl Source {
    /// The directory the tarball unpacks into.
    pub fn top_dir(&self) -> String {
        format!("criu-{}", self.version)
    }
}
