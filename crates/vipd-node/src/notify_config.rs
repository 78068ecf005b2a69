//! What notify hooks are configured to run (`notify:` of an instance or a sync group),
//! and the states that run them; running them is [`crate::notify`]'s.

use std::fmt;
use std::time::Duration;

use vipd_engine::State;

/// The default `notify_timeout`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// What to run on the transitions of an instance or a sync group. Each hook
/// is an argv (no shell), its program an absolute path.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NotifyConfig {
    pub master: Option<Vec<String>>,
    pub backup: Option<Vec<String>>,
    pub fault: Option<Vec<String>>,
    pub stop: Option<Vec<String>>,
    /// After the state's own hook, on every transition that runs hooks.
    pub any: Option<Vec<String>>,
    /// A run longer than this has its process group killed. [`DEFAULT_TIMEOUT`] unless
    /// configured.
    pub timeout: Duration,
    /// keepalived's form: `TYPE NAME STATE PRIORITY` appended to every hook's argv.
    pub positional: bool,
}

impl NotifyConfig {
    /// No hooks, the default timeout.
    pub fn none() -> NotifyConfig {
        NotifyConfig {
            timeout: DEFAULT_TIMEOUT,
            ..NotifyConfig::default()
        }
    }

    /// Whether any hook is configured.
    pub fn is_empty(&self) -> bool {
        self.hooks_for(HookState::Master).is_empty()
            && self.hooks_for(HookState::Backup).is_empty()
            && self.hooks_for(HookState::Fault).is_empty()
            && self.hooks_for(HookState::Stop).is_empty()
    }

    /// The hooks a transition to `state` runs, in order: the state's own, then `any`.
    pub fn hooks_for(&self, state: HookState) -> Vec<(&'static str, &Vec<String>)> {
        let own = match state {
            HookState::Master => &self.master,
            HookState::Backup => &self.backup,
            HookState::Fault => &self.fault,
            HookState::Stop => &self.stop,
        };
        [(state.hook(), own.as_ref()), ("any", self.any.as_ref())]
            .into_iter()
            .filter_map(|(name, argv)| argv.map(|a| (name, a)))
            .collect()
    }
}

/// The states that run hooks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookState {
    Master,
    Backup,
    Fault,
    Stop,
}

impl HookState {
    /// The hook a transition to `state` runs, if any (none for Initialize).
    pub fn of(state: State) -> Option<HookState> {
        match state {
            State::Master => Some(HookState::Master),
            State::Backup => Some(HookState::Backup),
            State::Fault => Some(HookState::Fault),
            State::Stopped => Some(HookState::Stop),
            State::Initialize => None,
        }
    }

    /// The hook's name in the configuration.
    pub fn hook(self) -> &'static str {
        match self {
            HookState::Master => "master",
            HookState::Backup => "backup",
            HookState::Fault => "fault",
            HookState::Stop => "stopped",
        }
    }

    /// keepalived's word for the state, as its notify scripts get it.
    pub fn keepalived_word(self) -> &'static str {
        match self {
            HookState::Master => "MASTER",
            HookState::Backup => "BACKUP",
            HookState::Fault => "FAULT",
            HookState::Stop => "STOP",
        }
    }
}

/// Whose hooks: runs of one owner go one at a time, in order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HookOwner {
    Instance(String),
    /// A sync group, by name: its own queue, apart from its members'.
    Group(String),
}

impl HookOwner {
    pub fn name(&self) -> &str {
        match self {
            HookOwner::Instance(n) | HookOwner::Group(n) => n,
        }
    }

    /// keepalived's TYPE argument.
    pub fn keepalived_type(&self) -> &'static str {
        match self {
            HookOwner::Instance(_) => "INSTANCE",
            HookOwner::Group(_) => "GROUP",
        }
    }

    /// The instance the owner's log lines are about (none for a group: its name is in
    /// the text).
    pub(crate) fn instance(&self) -> Option<&str> {
        match self {
            HookOwner::Instance(n) => Some(n),
            HookOwner::Group(_) => None,
        }
    }

    /// What a log line about the owner starts with (an instance's name is its field).
    pub(crate) fn prefix(&self) -> String {
        match self {
            HookOwner::Instance(_) => String::new(),
            HookOwner::Group(n) => format!("sync group {n}: "),
        }
    }
}

impl fmt::Display for HookOwner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HookOwner::Instance(n) => write!(f, "instance {n}"),
            HookOwner::Group(n) => write!(f, "sync group {n}"),
        }
    }
}
