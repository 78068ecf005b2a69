//! What the status is made of between requests: with `metrics:`, the newest kernel read
//! and whether a publication is due ([`Publication`]); and the engine's states as the
//! control protocol names them. Control requests themselves are `status`'.

use vipd_api::State;

/// With `metrics:`, the status published for the metrics listener: the newest kernel
/// read (for the VIPs it shows), and whether something it shows changed during the
/// event being handled (a state, a read): then it is published once, at the event's end.
#[derive(Debug, Default)]
pub(crate) struct Publication {
    last_reads: Vec<crate::io::IfaceRead>,
    due: bool,
}

impl Publication {
    /// A router's (or an announced instance's) state changed.
    pub(crate) fn state_changed(&mut self) {
        self.due = true;
    }

    /// A kernel read came in: the VIPs shown are taken from it.
    pub(crate) fn kernel_read(&mut self, reads: Vec<crate::io::IfaceRead>) {
        self.last_reads = reads;
        self.due = true;
    }

    /// Whether the status is due, once per event: asking again says no.
    pub(crate) fn take_due(&mut self) -> bool {
        std::mem::take(&mut self.due)
    }

    pub(crate) fn last_reads(&self) -> &[crate::io::IfaceRead] {
        &self.last_reads
    }
}

/// The engine's state as the control protocol names it.
pub(crate) fn api_state(s: vipd_engine::State) -> State {
    match s {
        vipd_engine::State::Initialize => State::Initialize,
        vipd_engine::State::Backup => State::Backup,
        vipd_engine::State::Master => State::Master,
        vipd_engine::State::Fault => State::Fault,
        vipd_engine::State::Stopped => State::Stopped,
    }
}
