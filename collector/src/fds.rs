//! The process's limit on open files (RLIMIT_NOFILE): every connection
//! takes a file descriptor, and the usual soft limit (1,024) is far below
//! what the hard limit allows. The binary raises the soft limit to the
//! hard one at start; the connection budget (`serve::Budget`) is sized from
//! whatever soft limit there is.

use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};

/// Descriptors kept out of the connection budget: stdio, the listeners,
/// the runtime's epoll and wakers, files read at start (`--load`, TLS),
/// and one accepted connection per listener waiting for room.
pub const RESERVE: u64 = 64;
/// Where the hard limit is unlimited, the soft limit is raised this far.
const UNLIMITED: u64 = 1 << 20;

/// The soft and hard limits on open files (`None`: unlimited).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenFiles {
    /// What the process may open now.
    pub soft: Option<u64>,
    /// What the soft limit may be raised to.
    pub hard: Option<u64>,
}

/// The limits now.
pub fn open_files() -> OpenFiles {
    let Rlimit { current, maximum } = getrlimit(Resource::Nofile);
    OpenFiles {
        soft: current,
        hard: maximum,
    }
}

/// Raises the soft limit on open files to the hard limit (no privilege
/// needed) and returns the limits after; on failure the limits are as
/// they were, and the error says why.
pub fn raise_open_files_limit() -> std::io::Result<OpenFiles> {
    let before = open_files();
    let target = before.hard.unwrap_or(UNLIMITED);
    if before.soft.is_none_or(|soft| soft >= target) {
        return Ok(before);
    }
    setrlimit(
        Resource::Nofile,
        Rlimit {
            current: Some(target),
            maximum: before.hard,
        },
    )?;
    Ok(open_files())
}

/// Connections all listeners together may hold: the soft limit less
/// [`RESERVE`], and at most `cap`.
pub(crate) fn connection_budget(cap: usize, limits: OpenFiles) -> usize {
    let available = match limits.soft {
        Some(soft) => usize::try_from(soft.saturating_sub(RESERVE)).unwrap_or(usize::MAX),
        None => usize::MAX,
    };
    cap.min(available).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_leaves_a_reserve_and_keeps_the_cap() {
        let limits = |soft| OpenFiles {
            soft,
            hard: Some(4096),
        };
        assert_eq!(connection_budget(usize::MAX, limits(Some(1024))), 960);
        assert_eq!(connection_budget(100, limits(Some(1024))), 100);
        assert_eq!(connection_budget(usize::MAX, limits(Some(10))), 1);
        assert_eq!(connection_budget(5000, limits(None)), 5000);
    }
}
