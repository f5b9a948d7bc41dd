//! The toolset's name map: every offered tool under its prefixed name, rebuilt when a server's
//! cached tool list changes.

use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::features::tools::ToolList;
use crate::toolset::filter::ToolFilter;

/// One offered tool: its prefixed name, and where it is.
#[derive(Debug, Clone)]
pub(crate) struct Slot {
    pub(crate) name: String,
    pub(crate) member: usize,
    pub(crate) index: usize,
}

/// The tool lists the map was built from, and the map.
#[derive(Debug, Default)]
pub(crate) struct Catalog {
    /// Per server (by member index): its tool list, if it is up.
    pub(crate) lists: Vec<Option<ToolList>>,
    /// Offered tools, in server order then the server's order.
    pub(crate) slots: Vec<Slot>,
    by_name: HashMap<String, usize>,
}

impl Catalog {
    /// Builds the map. `names[i]`, `filters[i]` and `lists[i]` describe server `i`.
    pub(crate) fn build(
        names: &[&str],
        filters: &[&ToolFilter],
        lists: Vec<Option<ToolList>>,
        separator: &str,
    ) -> Result<Catalog> {
        let mut slots: Vec<Slot> = Vec::new();
        let mut by_name: HashMap<String, usize> = HashMap::new();
        for (member, list) in lists.iter().enumerate() {
            let Some(list) = list else { continue };
            for (index, tool) in list.iter().enumerate() {
                if !filters[member].allows(&tool.name) {
                    continue;
                }
                let name = format!("{}{separator}{}", names[member], tool.name);
                if let Some(&other) = by_name.get(&name) {
                    let o = &slots[other];
                    let other_tool = lists[o.member]
                        .as_ref()
                        .and_then(|l| l[..].get(o.index))
                        .map_or("?", |t| t.name.as_str());
                    return Err(Error::invalid(format!(
                        "tool name conflict: `{name}` is both server `{}`'s tool `{other_tool}` and \
                         server `{}`'s tool `{}`; choose another separator or exclude one of them",
                        names[o.member], names[member], tool.name
                    )));
                }
                by_name.insert(name.clone(), slots.len());
                slots.push(Slot {
                    name,
                    member,
                    index,
                });
            }
        }
        Ok(Catalog {
            lists,
            slots,
            by_name,
        })
    }

    /// The slot of a prefixed name.
    pub(crate) fn get(&self, name: &str) -> Option<&Slot> {
        self.by_name.get(name).map(|&i| &self.slots[i])
    }

    /// The slot of server `member`'s tool `tool`, if it is offered.
    pub(crate) fn find(&self, member: usize, tool: &str) -> Option<&Slot> {
        let list = self.lists.get(member)?.as_ref()?;
        let index = list.iter().position(|t| t.name == tool)?;
        self.slots
            .iter()
            .find(|s| s.member == member && s.index == index)
    }

    /// The tool of a slot.
    pub(crate) fn tool(&self, slot: &Slot) -> Option<&crate::Tool> {
        self.lists.get(slot.member)?.as_ref()?[..].get(slot.index)
    }

    /// Whether `lists` are the very lists this map was built from (same cache entries).
    pub(crate) fn built_from(&self, lists: &[Option<ToolList>]) -> bool {
        self.lists.len() == lists.len()
            && self.lists.iter().zip(lists).all(|(a, b)| match (a, b) {
                (Some(a), Some(b)) => std::ptr::eq(a.as_ptr(), b.as_ptr()) && a.len() == b.len(),
                (None, None) => true,
                _ => false,
            })
    }
}
