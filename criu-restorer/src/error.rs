//! How a phase fails: it logs what went wrong where it knows the details, then returns
//! [`Failed`]; the entry point takes CRIU's abort path on any `Err`.

/// A phase failed and has logged why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failed;

/// A phase's result.
pub type Result<T = ()> = core::result::Result<T, Failed>;

/// Log an error line (as [`pr_err!`](crate::pr_err)) and return `Err(Failed)`.
#[macro_export]
macro_rules! bail {
    ($($arg:expr),* $(,)?) => {{
        $crate::pr_err!($($arg),*);
        return Err($crate::error::Failed);
    }};
}
