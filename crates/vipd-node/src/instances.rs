//! [`Instances`]: every instance the node runs, each under a stable [`InstanceId`].
//!
//! One list holds them all, the current ones (the configuration's, in its order) and the
//! leaving ones ([`Phase::Leaving`]: reloaded away or restarted, a master still handing
//! over make-before-break), which follow in the order they left. An id is given once and
//! never reused, so whatever names an instance by id (a loop feeding routers one after
//! another, while a handover that ends drops a leaving one) finds that instance or none,
//! never a neighbour that moved into its place.

use crate::instance::{Instance, Phase};
use crate::io::RunId;

/// An instance, for as long as it lives (a restart is a new instance, a new id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct InstanceId(u64);

impl std::fmt::Display for InstanceId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "#{}", self.0)
    }
}

#[derive(Default)]
pub(crate) struct Instances {
    /// The current instances in the configuration's order, then the leaving ones in the
    /// order they left.
    list: Vec<(InstanceId, Instance)>,
    /// Ids given so far.
    given: u64,
}

fn leaving(inst: &Instance) -> bool {
    matches!(inst.phase, Phase::Leaving(_))
}

impl Instances {
    /// `inst` as a new current instance, after the current ones: its id.
    pub(crate) fn add(&mut self, inst: Instance) -> InstanceId {
        self.given += 1;
        let id = InstanceId(self.given);
        let at = self.list.iter().take_while(|(_, i)| !leaving(i)).count();
        self.list.insert(at, (id, inst));
        id
    }

    /// The current instances, in the configuration's order.
    pub(crate) fn current(&self) -> impl Iterator<Item = &Instance> {
        self.list.iter().map(|(_, i)| i).filter(|i| !leaving(i))
    }

    /// The current instances, in the configuration's order.
    pub(crate) fn current_mut(&mut self) -> impl Iterator<Item = &mut Instance> {
        self.list.iter_mut().map(|(_, i)| i).filter(|i| !leaving(i))
    }

    /// The leaving instances, in the order they left.
    pub(crate) fn leaving(&self) -> impl DoubleEndedIterator<Item = &Instance> {
        self.list.iter().map(|(_, i)| i).filter(|i| leaving(i))
    }

    /// Every instance, current then leaving.
    pub(crate) fn all(&self) -> impl Iterator<Item = &Instance> {
        self.list.iter().map(|(_, i)| i)
    }

    /// The ids of the current instances, in the configuration's order: a snapshot to
    /// feed them one after another.
    pub(crate) fn ids(&self) -> Vec<InstanceId> {
        self.list
            .iter()
            .filter(|(_, i)| !leaving(i))
            .map(|(id, _)| *id)
            .collect()
    }

    /// The id of the `n`th current instance (from 0, in the configuration's order), for
    /// feeding them one after another without a snapshot: feeding a router never adds
    /// or removes a current instance (only a reload does, and nothing it does is fed
    /// from a router), so counting up meets each once.
    pub(crate) fn current_id_at(&self, n: usize) -> Option<InstanceId> {
        debug_assert!(self.in_order(), "a current instance after a leaving one");
        self.list
            .get(n)
            .filter(|(_, i)| !leaving(i))
            .map(|(id, _)| *id)
    }

    /// The first current instance `pick` chooses.
    pub(crate) fn find_id(&self, pick: impl Fn(&Instance) -> bool) -> Option<InstanceId> {
        self.list
            .iter()
            .find(|(_, i)| !leaving(i) && pick(i))
            .map(|(id, _)| *id)
    }

    /// The ids of the leaving instances, in the order they left.
    pub(crate) fn leaving_ids(&self) -> Vec<InstanceId> {
        self.list
            .iter()
            .filter(|(_, i)| leaving(i))
            .map(|(id, _)| *id)
            .collect()
    }

    /// The ids of the current instances that `pick` chooses, in the configuration's order.
    pub(crate) fn ids_where(&self, pick: impl Fn(&Instance) -> bool) -> Vec<InstanceId> {
        self.list
            .iter()
            .filter(|(_, i)| !leaving(i) && pick(i))
            .map(|(id, _)| *id)
            .collect()
    }

    pub(crate) fn get(&self, id: InstanceId) -> Option<&Instance> {
        self.list.iter().find(|(x, _)| *x == id).map(|(_, i)| i)
    }

    pub(crate) fn get_mut(&mut self, id: InstanceId) -> Option<&mut Instance> {
        self.list.iter_mut().find(|(x, _)| *x == id).map(|(_, i)| i)
    }

    /// The current instance called `name`.
    pub(crate) fn named(&self, name: &str) -> Option<&Instance> {
        self.current().find(|i| i.cfg.name == name)
    }

    /// The current instance whose router is run `run`, if that run still goes on.
    pub(crate) fn id_of_run(&self, run: RunId) -> Option<InstanceId> {
        self.find_id(|i| i.router().is_some() && i.run == run)
    }

    /// How many current instances there are.
    pub(crate) fn len(&self) -> usize {
        self.current().count()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.current().next().is_none()
    }

    /// Drops instance `id` (a leaving one whose handover ended), if still there.
    pub(crate) fn remove(&mut self, id: InstanceId) {
        self.list.retain(|(x, _)| *x != id);
    }

    /// Takes out every current instance (a reload sorts them), leaving ones stay.
    pub(crate) fn take_current(&mut self) -> Vec<(InstanceId, Instance)> {
        let (current, leaving): (Vec<_>, Vec<_>) = std::mem::take(&mut self.list)
            .into_iter()
            .partition(|(_, i)| !leaving(i));
        self.list = leaving;
        current
    }

    /// Puts `current` back as the current instances, in this order, before the leaving
    /// ones.
    pub(crate) fn put_current(&mut self, current: Vec<(InstanceId, Instance)>) {
        debug_assert!(current.iter().all(|(_, i)| !leaving(i)));
        let leaving = std::mem::replace(&mut self.list, current);
        self.list.extend(leaving);
    }

    /// A new id, for an instance about to be put back with [`Self::put_current`].
    pub(crate) fn new_id(&mut self) -> InstanceId {
        self.given += 1;
        InstanceId(self.given)
    }

    /// Whether every current instance comes before every leaving one (what the walks
    /// by position rely on).
    fn in_order(&self) -> bool {
        let first_leaving = self.list.iter().position(|(_, i)| leaving(i));
        first_leaving.is_none_or(|k| self.list[k..].iter().all(|(_, i)| leaving(i)))
    }

    /// Appends `inst`, which left (its router hands over), to the leaving ones.
    pub(crate) fn push_leaving(&mut self, id: InstanceId, inst: Instance) {
        debug_assert!(leaving(&inst));
        self.list.push((id, inst));
    }
}
