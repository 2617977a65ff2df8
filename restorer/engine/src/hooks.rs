//! The engine's fault points: one small interface between the production path and the
//! faults its tests inject. Outside test builds [`Hooks`] is zero-sized and every point
//! is the plain operation, inlined; in test builds each point asks the
//! [`Faults`](super::fault::Faults) the restore was given, if any.

use core::marker::PhantomData;

use super::direct::DirectMode;
use pie_sys::fs::IoVec;
use pie_sys::Result;

/// The fault points of one restore, copied into every share and worker.
#[derive(Clone, Copy, Default)]
pub struct Hooks<'a> {
    #[cfg(test)]
    faults: Option<&'a super::fault::Faults>,
    _life: PhantomData<&'a ()>,
}

impl Hooks<'_> {
    /// No faults: what [`restore`](super::restore) runs with.
    pub const fn none() -> Self {
        Hooks {
            #[cfg(test)]
            faults: None,
            _life: PhantomData,
        }
    }
}

#[cfg(not(test))]
impl Hooks<'_> {
    /// One `preadv` of `iov`, done by `read`; `direct` is the restore's O_DIRECT mode.
    #[inline(always)]
    pub fn read(
        self,
        iov: &[IoVec],
        _direct: Option<&DirectMode<'_>>,
        read: impl FnOnce(&[IoVec]) -> Result<usize>,
    ) -> Result<usize> {
        read(iov)
    }

    /// Before a worker's stack is mapped: whether to go on.
    #[inline(always)]
    pub fn map_stack(self) -> Result<()> {
        Ok(())
    }

    /// Before each clone3 of a worker: whether to go on.
    #[inline(always)]
    pub fn clone3(self) -> Result<()> {
        Ok(())
    }

    /// One MADV_COLLAPSE of an extent, done by `collapse`.
    #[inline(always)]
    pub fn collapse(self, collapse: impl FnOnce() -> Result<()>) -> Result<()> {
        collapse()
    }

    /// A worker's stack was mapped (`+1`) or unmapped (`-1`).
    #[inline(always)]
    pub fn stacks(self, _delta: i64) {}

    /// A worker started (`+1`) or was joined (`-1`).
    #[inline(always)]
    pub fn threads(self, _delta: i64) {}
}

#[cfg(test)]
impl<'a> Hooks<'a> {
    /// The points of a restore with `faults` injected.
    pub fn with(faults: &'a super::fault::Faults) -> Self {
        Hooks {
            faults: Some(faults),
            _life: PhantomData,
        }
    }

    /// As outside tests, with an injected failure, O_DIRECT refusal or short read.
    pub fn read(
        self,
        iov: &[IoVec],
        direct: Option<&DirectMode<'_>>,
        read: impl FnOnce(&[IoVec]) -> Result<usize>,
    ) -> Result<usize> {
        if let Some(f) = self.faults {
            if let Some(e) = f.read() {
                return Err(e);
            }
            if direct.is_some_and(|d| d.is_on()) && f.direct() {
                return Err(pie_sys::Errno::EINVAL);
            }
            if f.short() {
                let half = [IoVec {
                    base: iov[0].base,
                    len: (iov[0].len / 2).max(1),
                }];
                return read(&half);
            }
        }
        read(iov)
    }

    /// As outside tests, with an injected refusal.
    pub fn collapse(self, collapse: impl FnOnce() -> Result<()>) -> Result<()> {
        match self.faults.and_then(|f| f.collapse()) {
            Some(e) => Err(e),
            None => collapse(),
        }
    }

    /// As outside tests, with an injected ENOMEM.
    pub fn map_stack(self) -> Result<()> {
        self.faults.and_then(|f| f.stack()).map_or(Ok(()), Err)
    }

    /// As outside tests, with an injected EAGAIN.
    pub fn clone3(self) -> Result<()> {
        self.faults.and_then(|f| f.clone3()).map_or(Ok(()), Err)
    }

    /// Counted in the faults' `stacks_live`.
    pub fn stacks(self, delta: i64) {
        if let Some(f) = self.faults {
            super::fault::Faults::count(&f.stacks_live, delta);
        }
    }

    /// Counted in the faults' `threads_live`.
    pub fn threads(self, delta: i64) {
        if let Some(f) = self.faults {
            super::fault::Faults::count(&f.threads_live, delta);
        }
    }
}
