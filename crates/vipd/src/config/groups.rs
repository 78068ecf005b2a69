//! `groups:` — sync groups (see `vipd_node::groups`): which instances move together.
//! Each failure names the field to blame.

use std::collections::HashMap;

use super::path::FieldPath;
use super::raw::RawGroup;
use super::validate::Problem;
use super::{GroupConfig, InstanceConfig};

/// The fewest members a group may have: one member alone follows nobody, so a group of
/// one is a mistake (keepalived only warns; vipd refuses it).
const MIN_MEMBERS: usize = 2;

pub(super) fn build_groups(
    raw: Vec<RawGroup>,
    instances: &[InstanceConfig],
    at: &FieldPath,
) -> Result<Vec<GroupConfig>, Problem> {
    let mut groups: Vec<GroupConfig> = Vec::with_capacity(raw.len());
    // Instance name -> (group index, group name) of the group it is in.
    let mut member_of: HashMap<String, (usize, String)> = HashMap::new();
    for (g, raw_group) in raw.into_iter().enumerate() {
        let here = at.index(g);
        let name = raw_group
            .name
            .ok_or_else(|| Problem::new(here.key("name"), "missing field `name`"))?
            .0;
        if let Some(first) = groups.iter().position(|x| x.name == name) {
            return Err(Problem::new(
                here.key("name"),
                format!("group name `{name}` is already used by groups[{first}]"),
            ));
        }
        let members = raw_group
            .instances
            .ok_or_else(|| Problem::new(here.key("instances"), "missing field `instances`"))?;
        if members.len() < MIN_MEMBERS {
            return Err(Problem::new(
                here.key("instances"),
                format!(
                    "a sync group needs at least {MIN_MEMBERS} instances, this one has {}; \
                     a group of one follows nobody (remove the group)",
                    members.len()
                ),
            ));
        }
        let mut names: Vec<String> = Vec::with_capacity(members.len());
        for (j, member) in members.into_iter().enumerate() {
            let member = member.0;
            let field = here.key("instances").index(j);
            if !instances.iter().any(|i| i.name == member) {
                return Err(Problem::new(
                    field,
                    format!("no instance is named `{member}`"),
                ));
            }
            if names.contains(&member) {
                return Err(Problem::new(
                    field,
                    format!("instance `{member}` is listed twice in this group"),
                ));
            }
            if let Some((k, other)) = member_of.get(&member) {
                return Err(Problem::new(
                    field,
                    format!(
                        "instance `{member}` is already in group `{other}` (groups[{k}]); \
                         an instance can be in one group only"
                    ),
                ));
            }
            member_of.insert(member.clone(), (g, name.clone()));
            names.push(member);
        }
        let notify = super::validate::build_notify(
            raw_group.notify,
            raw_group.notify_timeout.map(|d| d.0),
            raw_group.notify_positional,
            &here,
        )?;
        groups.push(GroupConfig {
            name,
            instances: names,
            notify,
        });
    }
    Ok(groups)
}
