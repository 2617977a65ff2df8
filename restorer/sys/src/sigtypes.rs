//! The signal set and `siginfo_t`, shared by the signal, poll, io_uring, signalfd and
//! wait calls.

pub const SI_QUEUE: i32 = linux_raw_sys::general::SI_QUEUE;

/// The kernel's signal set (`sigset_t` as the rt_* calls take it: 64 bits).
#[repr(transparent)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SigSet(pub u64);
assert_layout!(SigSet, size = 8);

impl SigSet {
    /// No signals.
    pub const EMPTY: SigSet = SigSet(0);
    /// Every signal.
    pub const FULL: SigSet = SigSet(!0);

    /// The set holding just `sig`.
    #[inline]
    pub const fn of(sig: i32) -> SigSet {
        SigSet(Self::bit(sig))
    }

    #[inline]
    const fn bit(sig: i32) -> u64 {
        1u64 << ((sig - 1) as u32 & 63)
    }

    /// Add `sig`.
    #[inline]
    pub const fn with(self, sig: i32) -> SigSet {
        SigSet(self.0 | Self::bit(sig))
    }

    /// Remove `sig`.
    #[inline]
    pub const fn without(self, sig: i32) -> SigSet {
        SigSet(self.0 & !Self::bit(sig))
    }

    /// Whether `sig` is in the set.
    #[inline]
    pub const fn contains(self, sig: i32) -> bool {
        self.0 & Self::bit(sig) != 0
    }
}

/// The kernel's `siginfo_t` (128 bytes): the common head and the union as words.
#[repr(C, align(8))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SigInfo {
    pub signo: i32,
    pub errno: i32,
    pub code: i32,
    pub __pad: i32,
    /// The union, as 32-bit words; the accessors read the common members.
    pub fields: [u32; 28],
}
assert_layout!(SigInfo, size = 128, code = 8, fields = 16);
zeroed_default!(SigInfo);

impl SigInfo {
    /// A siginfo as `sigqueue` makes it: `SI_QUEUE` from `pid`/`uid` carrying `value`.
    #[inline]
    pub const fn queue(signo: i32, pid: i32, uid: u32, value: u64) -> SigInfo {
        let mut si = SigInfo::zeroed();
        si.signo = signo;
        si.code = SI_QUEUE;
        si.fields[0] = pid as u32;
        si.fields[1] = uid;
        si.fields[2] = value as u32;
        si.fields[3] = (value >> 32) as u32;
        si
    }

    /// `si_pid` (kill, queue, child signals), or the timer id for `SI_TIMER`.
    #[inline]
    pub const fn pid(&self) -> i32 {
        self.fields[0] as i32
    }

    /// `si_uid` (kill, queue, child signals), or the overrun for `SI_TIMER`.
    #[inline]
    pub const fn uid(&self) -> u32 {
        self.fields[1]
    }

    /// `si_status` of a `SIGCHLD`: the exit code or the signal.
    #[inline]
    pub const fn status(&self) -> i32 {
        self.fields[2] as i32
    }

    /// `si_value` of a queued or timer signal (`sival_ptr`, whose low half is
    /// `sival_int`).
    #[inline]
    pub const fn value(&self) -> u64 {
        self.fields[2] as u64 | (self.fields[3] as u64) << 32
    }

    /// `si_addr` of a fault signal.
    #[inline]
    pub const fn addr(&self) -> u64 {
        self.fields[0] as u64 | (self.fields[1] as u64) << 32
    }
}
