//! Reserving huge pages for the run: zdtm's hugetlb tests fail at start without them.

use std::fs;
use std::io;

const KNOB: &str = "/proc/sys/vm/nr_hugepages";

/// Holds `vm.nr_hugepages` at least at the asked number; puts the old value back on drop.
pub struct Reservation {
    old: u64,
}

impl Reservation {
    /// Raise the reservation to `n` if it is lower.
    pub fn at_least(n: u64) -> io::Result<Reservation> {
        let old = read()?;
        if old < n {
            fs::write(KNOB, n.to_string())?;
        }
        Ok(Reservation { old })
    }

    pub fn old(&self) -> u64 {
        self.old
    }
}

pub fn read() -> io::Result<u64> {
    fs::read_to_string(KNOB)?
        .trim()
        .parse()
        .map_err(|_| io::Error::other(format!("{KNOB} is not a number")))
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if read().ok() != Some(self.old) {
            let _ = fs::write(KNOB, self.old.to_string());
        }
    }
}
