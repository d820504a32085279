//! Signal handling, opt-in per logger, with the `signal-hook` crate (its
//! registration combines with other handlers; no hand-written handler).

// ---- SIGHUP: reopen every file sink ----

use std::io;
use std::sync::Weak;
use std::thread;

use signal_hook::consts::SIGHUP;
use signal_hook::iterator::{Handle, Signals};

use crate::control::Msg;
use crate::report::report;
use crate::send::Core;

/// The SIGHUP handler of one logger (`Builder::reopen_on_sighup`): a
/// thread (`logjet-sighup`) that waits for the signal and asks the logger
/// to reopen its files, exactly as `Logger::reopen` does (records logged
/// before the signal arrived go to the old files). Held by the guard;
/// dropping it ends the thread and unregisters the handler.
pub(crate) struct Sighup {
    handle: Handle,
}

impl Sighup {
    pub(crate) fn install(core: Weak<Core>) -> io::Result<Sighup> {
        let mut signals = Signals::new([SIGHUP])?;
        let handle = signals.handle();
        thread::Builder::new().name("logjet-sighup".into()).spawn(move || {
            for _ in signals.forever() {
                let Some(core) = core.upgrade() else { break };
                // Bounded like a shutdown: a reopen waits behind the records
                // queued before it, and a sink may be failing.
                if let Err(e) = core.control(Msg::Reopen, Some(core.shutdown_timeout)) {
                    report(format_args!("SIGHUP: reopening the log files failed: {e}"));
                }
            }
        })?;
        Ok(Sighup { handle })
    }
}

impl Drop for Sighup {
    fn drop(&mut self) {
        self.handle.close();
    }
}
