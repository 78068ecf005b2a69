//! The event stream (`vipctl watch`): the node decides what is an event and publishes
//! it ([`Command::Publish`]) with the instant it happened; the shell stamps it with the
//! wall clock and fans it out to the watchers. Events: state changes, check changes,
//! maintenance on/off, reloads (applied or refused) and drop summaries.
//!
//! Dropped packets are summarised ([`crate::drop_summaries`]).

use vipd_api::{Response, WatchEvent, WatchStart, PROTOCOL_VERSION};
use vipd_engine::{DropReason, Instant};

use crate::drop_summaries::drops_event;
pub use crate::drop_summaries::DROP_SUMMARY_EVERY;
use crate::instances::InstanceId;
use crate::io::{Command, Published, RequestId};
use crate::node::Node;

impl Node {
    /// Publishes `event`, which happened at `now`, to the watchers.
    pub(crate) fn publish(&mut self, now: Instant, event: WatchEvent) {
        self.push(Command::Publish(Published { at: now, event }));
    }

    /// Counts a drop of instance `id` for the summaries; publishes one if due.
    pub(crate) fn count_drop(&mut self, now: Instant, id: InstanceId, reason: &DropReason) {
        let Some(name) = self.instances.get(id).map(|i| i.cfg.name.clone()) else {
            return;
        };
        if let Some(counts) = self.drops.count(now, &name, reason.kind()) {
            self.publish(now, drops_event(name, counts));
        }
    }

    /// Publishes the drop summaries due at `now`.
    pub(crate) fn drop_summaries_due(&mut self, now: Instant) {
        for (name, counts) in self.drops.take_due(now) {
            self.publish(now, drops_event(name, counts));
        }
    }

    /// `watch`: the named instances must exist; the answer says where each stands.
    /// Allowed to anyone (it changes nothing).
    pub(crate) fn on_watch(&mut self, id: RequestId, named: &[String]) {
        if let Some(unknown) = named.iter().find(|n| {
            !self.instances.current().any(|i| i.cfg.name == **n) && !self.announces.contains(n)
        }) {
            self.push(Command::Reply {
                id,
                response: Response::Error {
                    v: PROTOCOL_VERSION,
                    message: format!("no instance named {unknown}"),
                },
            });
            return;
        }
        let instances = self
            .instances
            .current()
            .filter(|i| named.is_empty() || named.contains(&i.cfg.name))
            .map(|i| {
                let (state, priority) = match i.router() {
                    Some(r) => (
                        crate::publication::api_state(r.state()),
                        r.effective_priority(),
                    ),
                    None => (vipd_api::State::Initialize, i.cfg.priority),
                };
                WatchStart {
                    name: i.cfg.name.clone(),
                    state,
                    priority,
                    maintenance: self.maintenance.contains(&i.cfg.name),
                }
            })
            .collect();
        self.push(Command::Reply {
            id,
            response: Response::Watching {
                v: PROTOCOL_VERSION,
                instances,
            },
        });
    }
}
