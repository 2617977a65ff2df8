//! A runner for CRIU's zdtm static tests, one test at a time, each isolated, with one or
//! more CRIU binaries side by side.
//!
//! `test/zdtm.py` cannot dump on these machines (its own container setup is refused), so
//! this drives the tests the way it would in its host flavor: `make T.pid` starts a test,
//! `criu dump` and `criu restore -d` take it through a checkpoint, SIGTERM makes it check
//! itself and write PASS or FAIL to `T.out`. The `.desc` of a test is honoured (flavor,
//! `noauto`, `crfail`, `suid`, options, features, arch, timeout), as are `.checkskip`
//! and `.hook` scripts. Each run gets fresh namespaces ([`sandbox::Sandbox`]) and a
//! deadline on every step; every process it leaves is killed.

pub mod desc;
pub mod hugepages;
pub mod list;
pub mod report;
pub mod roundtrip;
pub mod run;
pub mod sandbox;
pub mod step;

pub use run::{run, Binary, Config, Failure, Outcome, Report, Stage, TestResult};
