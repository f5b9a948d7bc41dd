//! Many servers as one toolset.

mod filter;

pub use filter::ToolFilter;
