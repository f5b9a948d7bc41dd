//! [`ToolFilter`]: which of a server's tools a toolset offers.

/// Which of a server's tools a [`Toolset`](crate::Toolset) offers: an optional allow-list and a
/// deny-list of exact tool names. The deny-list wins.
///
/// ```
/// use mcpmux::ToolFilter;
/// let filter = ToolFilter::all().include(["read", "write", "delete"]).exclude(["delete"]);
/// assert!(filter.allows("read"));
/// assert!(!filter.allows("delete")); // excluded wins over included
/// assert!(!filter.allows("list"));   // not on the allow-list
/// assert!(ToolFilter::all().allows("anything"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ToolFilter {
    include: Option<Vec<String>>,
    exclude: Vec<String>,
}

impl ToolFilter {
    /// Every tool.
    pub fn all() -> Self {
        Self::default()
    }

    /// Offer only these tools (adds to an earlier allow-list).
    pub fn include<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.include
            .get_or_insert_with(Vec::new)
            .extend(names.into_iter().map(Into::into));
        self
    }

    /// Never offer these tools (adds to an earlier deny-list).
    pub fn exclude<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.exclude.extend(names.into_iter().map(Into::into));
        self
    }

    /// The allow-list, if there is one.
    pub fn included(&self) -> Option<&[String]> {
        self.include.as_deref()
    }

    /// The deny-list.
    pub fn excluded(&self) -> &[String] {
        &self.exclude
    }

    /// Whether the tool `name` is offered.
    pub fn allows(&self, name: &str) -> bool {
        if self.exclude.iter().any(|n| n == name) {
            return false;
        }
        match &self.include {
            Some(list) => list.iter().any(|n| n == name),
            None => true,
        }
    }

    /// Whether every tool is offered (no allow-list, empty deny-list).
    pub fn is_all(&self) -> bool {
        self.include.is_none() && self.exclude.is_empty()
    }
}
