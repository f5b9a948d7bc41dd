//! Tool definitions for model APIs: OpenAI (chat completions and responses), Anthropic, Gemini.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use crate::Tool;
use crate::error::Result;
use crate::toolset::names::{self, NameRules};

/// A model API whose tool format [`export_tools`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Provider {
    /// OpenAI chat completions `tools`: `{"type": "function", "function": {name, description,
    /// parameters}}`.
    OpenAiChat,
    /// OpenAI responses `tools`: `{"type": "function", name, description, parameters,
    /// "strict": false}` (the responses API is strict unless told otherwise, and MCP schemas are
    /// seldom strict-compatible).
    OpenAiResponses,
    /// Anthropic messages `tools`: `{name, description, input_schema}`.
    Anthropic,
    /// Gemini `functionDeclarations`: `{name, description, parameters}` with the schema reduced to
    /// Gemini's OpenAPI subset (`$ref`s inlined, `nullable`, ...).
    Gemini,
}

impl Provider {
    fn rules(self) -> NameRules {
        NameRules {
            letter_first: self == Provider::Gemini,
        }
    }
}

/// A toolset's tool, as [`Toolset::tools`](crate::Toolset::tools) lists it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ToolInfo {
    /// The toolset's name for it: server, separator, tool (`github_search`).
    pub name: String,
    /// The server.
    pub server: String,
    /// The tool as the server describes it.
    pub tool: Tool,
}

impl ToolInfo {
    /// A tool of `server` named `name` in the toolset.
    pub fn new(name: impl Into<String>, server: impl Into<String>, tool: Tool) -> Self {
        ToolInfo {
            name: name.into(),
            server: server.into(),
            tool,
        }
    }
}

/// Where an API name leads back to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct ToolRef {
    /// The server.
    pub server: String,
    /// The server's name of the tool.
    pub tool: String,
    /// The toolset's (prefixed) name.
    pub name: String,
}

/// Tool definitions for one model API, with the map from the names the model will call back to
/// server and tool.
#[derive(Debug, Clone)]
pub struct ExportedTools {
    provider: Provider,
    definitions: Vec<Value>,
    names: Vec<String>,
    refs: HashMap<String, ToolRef>,
}

impl ExportedTools {
    /// The API.
    pub fn provider(&self) -> Provider {
        self.provider
    }

    /// The definitions, one per tool, in toolset order.
    pub fn definitions(&self) -> &[Value] {
        &self.definitions
    }

    /// The definitions as one JSON array (the request's `tools`, or Gemini's
    /// `functionDeclarations`).
    pub fn to_json(&self) -> Value {
        Value::Array(self.definitions.clone())
    }

    /// The API names, in the order of [`definitions`](Self::definitions).
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The server and tool a name the model called stands for.
    pub fn resolve(&self, api_name: &str) -> Option<&ToolRef> {
        self.refs.get(api_name)
    }
}

/// Writes `tools` in `provider`'s format. Names are made valid for the API (letters, digits, `_`
/// and `-`; a letter or `_` first for Gemini; at most 64 characters, long ones cut and given a
/// hash suffix) and unique.
///
/// # Errors
/// Only if no unique name can be found (practically never).
///
/// # Examples
/// ```
/// use mcpmux::{Provider, ToolInfo, export_tools};
/// let tool: mcpmux::Tool = serde_json::from_value(serde_json::json!({
///     "name": "search", "description": "Search the web",
///     "inputSchema": {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}
/// })).unwrap();
/// let tools = [ToolInfo::new("web.v2_search", "web.v2", tool)];
/// let out = export_tools(Provider::Anthropic, &tools)?;
/// assert_eq!(out.to_json(), serde_json::json!([{
///     "name": "web_v2_search",
///     "description": "Search the web",
///     "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}
/// }]));
/// assert_eq!(out.resolve("web_v2_search").unwrap().tool, "search");
/// # Ok::<(), mcpmux::Error>(())
/// ```
pub fn export_tools(provider: Provider, tools: &[ToolInfo]) -> Result<ExportedTools> {
    let wanted: Vec<&str> = tools.iter().map(|t| t.name.as_str()).collect();
    let api_names = names::assign(provider.rules(), &wanted)?;
    let mut definitions = Vec::with_capacity(tools.len());
    let mut refs = HashMap::with_capacity(tools.len());
    for (info, name) in tools.iter().zip(&api_names) {
        definitions.push(definition(provider, name, &info.tool));
        refs.insert(
            name.clone(),
            ToolRef {
                server: info.server.clone(),
                tool: info.tool.name.clone(),
                name: info.name.clone(),
            },
        );
    }
    Ok(ExportedTools {
        provider,
        definitions,
        names: api_names,
        refs,
    })
}

fn definition(provider: Provider, name: &str, tool: &Tool) -> Value {
    let description = tool.description.clone().or_else(|| tool.title.clone());
    let mut def = Map::new();
    def.insert("name".into(), json!(name));
    if let Some(d) = description {
        def.insert("description".into(), json!(d));
    }
    match provider {
        Provider::OpenAiChat => {
            def.insert("parameters".into(), object_schema(&tool.input_schema, true));
            json!({"type": "function", "function": def})
        }
        Provider::OpenAiResponses => {
            def.insert("parameters".into(), object_schema(&tool.input_schema, true));
            def.insert("strict".into(), json!(false));
            let mut out = Map::new();
            out.insert("type".into(), json!("function"));
            out.extend(def);
            Value::Object(out)
        }
        Provider::Anthropic => {
            def.insert(
                "input_schema".into(),
                object_schema(&tool.input_schema, false),
            );
            Value::Object(def)
        }
        Provider::Gemini => {
            let params = crate::toolset::gemini::convert(&tool.input_schema);
            // A function without parameters leaves them out (an OBJECT needs properties).
            if params.get("properties").is_some() || params.get("anyOf").is_some() {
                def.insert("parameters".into(), params);
            }
            Value::Object(def)
        }
    }
}

/// The input schema with `"type": "object"` guaranteed at the top (and, for OpenAI, a
/// `properties` object, which its validator wants even when empty).
fn object_schema(schema: &Value, with_properties: bool) -> Value {
    let mut s = match schema {
        Value::Object(m) => m.clone(),
        _ => Map::new(),
    };
    s.entry("type").or_insert_with(|| json!("object"));
    if with_properties && s.get("type") == Some(&json!("object")) {
        s.entry("properties").or_insert_with(|| json!({}));
    }
    Value::Object(s)
}
