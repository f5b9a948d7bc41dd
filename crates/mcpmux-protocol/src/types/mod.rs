//! MCP message payloads: lifecycle, tools, content and notifications.
//!
//! Every struct keeps the fields it does not know in `extra` (and `_meta` in `meta`), so a
//! server's extensions survive a round trip. `flatten` costs a buffered parse; these payloads are
//! parsed by the caller that asked for them, never on the connection's read loop.

use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::jsonrpc::RequestId;

mod client_features;
mod prompts;
mod resources;
mod tasks;
mod tool_result;

pub use client_features::{
    CreateMessageParams, CreateMessageResult, ElicitAction, ElicitCompleteParams, ElicitParams,
    ElicitResult, ListRootsResult, Root, SamplingMessage,
};
pub use prompts::{
    CompleteParams, CompleteResult, Completion, CompletionArgument, CompletionRef, GetPromptParams,
    GetPromptResult, ListPromptsResult, Prompt, PromptArgument, PromptMessage, Role,
};
pub use resources::{
    ListResourceTemplatesResult, ListResourcesResult, ReadResourceResult, Resource,
    ResourceTemplate, UriParams,
};
pub use tasks::{CreateTaskResult, ListTasksResult, Task, TaskIdParams, TaskMetadata, TaskStatus};

/// A JSON object; the type of `extra`, `_meta` and tool arguments.
pub type JsonObject = Map<String, Value>;

/// Method names this crate has types for.
pub mod methods {
    /// `initialize` (client → server).
    pub const INITIALIZE: &str = "initialize";
    /// `notifications/initialized` (client → server).
    pub const INITIALIZED: &str = "notifications/initialized";
    /// `ping` (either direction).
    pub const PING: &str = "ping";
    /// `tools/list`.
    pub const TOOLS_LIST: &str = "tools/list";
    /// `tools/call`.
    pub const TOOLS_CALL: &str = "tools/call";
    /// `logging/setLevel`.
    pub const LOGGING_SET_LEVEL: &str = "logging/setLevel";
    /// `notifications/cancelled` (either direction).
    pub const CANCELLED: &str = "notifications/cancelled";
    /// `notifications/progress` (either direction).
    pub const PROGRESS: &str = "notifications/progress";
    /// `notifications/message` (server log messages).
    pub const LOG_MESSAGE: &str = "notifications/message";
    /// `notifications/tools/list_changed`.
    pub const TOOLS_LIST_CHANGED: &str = "notifications/tools/list_changed";
    /// `resources/list`.
    pub const RESOURCES_LIST: &str = "resources/list";
    /// `resources/templates/list`.
    pub const RESOURCE_TEMPLATES_LIST: &str = "resources/templates/list";
    /// `resources/read`.
    pub const RESOURCES_READ: &str = "resources/read";
    /// `resources/subscribe`.
    pub const RESOURCES_SUBSCRIBE: &str = "resources/subscribe";
    /// `resources/unsubscribe`.
    pub const RESOURCES_UNSUBSCRIBE: &str = "resources/unsubscribe";
    /// `notifications/resources/updated`.
    pub const RESOURCE_UPDATED: &str = "notifications/resources/updated";
    /// `notifications/resources/list_changed`.
    pub const RESOURCES_LIST_CHANGED: &str = "notifications/resources/list_changed";
    /// `prompts/list`.
    pub const PROMPTS_LIST: &str = "prompts/list";
    /// `prompts/get`.
    pub const PROMPTS_GET: &str = "prompts/get";
    /// `notifications/prompts/list_changed`.
    pub const PROMPTS_LIST_CHANGED: &str = "notifications/prompts/list_changed";
    /// `completion/complete`.
    pub const COMPLETE: &str = "completion/complete";
    /// `sampling/createMessage` (server → client).
    pub const SAMPLING_CREATE_MESSAGE: &str = "sampling/createMessage";
    /// `elicitation/create` (server → client).
    pub const ELICITATION_CREATE: &str = "elicitation/create";
    /// `notifications/elicitation/complete` (URL mode).
    pub const ELICITATION_COMPLETE: &str = "notifications/elicitation/complete";
    /// `roots/list` (server → client).
    pub const ROOTS_LIST: &str = "roots/list";
    /// `tasks/get`.
    pub const TASKS_GET: &str = "tasks/get";
    /// `tasks/result`.
    pub const TASKS_RESULT: &str = "tasks/result";
    /// `tasks/list`.
    pub const TASKS_LIST: &str = "tasks/list";
    /// `tasks/cancel`.
    pub const TASKS_CANCEL: &str = "tasks/cancel";
    /// `notifications/tasks/status`.
    pub const TASK_STATUS: &str = "notifications/tasks/status";
    /// `notifications/roots/list_changed` (client → server).
    pub const ROOTS_LIST_CHANGED: &str = "notifications/roots/list_changed";
}

/// Name and version of an MCP implementation (`clientInfo` / `serverInfo`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Implementation {
    /// Programmatic name.
    pub name: String,
    /// Version string.
    pub version: String,
    /// Human-readable name (2025-06-18+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Fields this crate does not model (icons, websiteUrl, description, ...).
    #[serde(flatten)]
    pub extra: JsonObject,
}

impl Implementation {
    /// An implementation with a name and version.
    pub fn new(name: impl Into<String>, version: impl Into<String>) -> Self {
        Implementation {
            name: name.into(),
            version: version.into(),
            title: None,
            extra: JsonObject::new(),
        }
    }
}

/// Capabilities a client declares in `initialize`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClientCapabilities {
    /// `roots` support (`{"listChanged": bool}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roots: Option<Value>,
    /// `sampling` support.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sampling: Option<Value>,
    /// `elicitation` support.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elicitation: Option<Value>,
    /// Experimental capabilities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experimental: Option<JsonObject>,
    /// Other capabilities (tasks, extensions, ...).
    #[serde(flatten)]
    pub extra: JsonObject,
}

/// The `tools` server capability.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolsCapability {
    /// Whether the server sends `notifications/tools/list_changed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list_changed: Option<bool>,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: JsonObject,
}

/// Capabilities a server declares in its `initialize` result.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServerCapabilities {
    /// Tools support.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<ToolsCapability>,
    /// Resources support.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Value>,
    /// Prompts support.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompts: Option<Value>,
    /// Logging support (`logging/setLevel`, `notifications/message`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logging: Option<Value>,
    /// Argument completion support.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completions: Option<Value>,
    /// Experimental capabilities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experimental: Option<JsonObject>,
    /// Other capabilities.
    #[serde(flatten)]
    pub extra: JsonObject,
}

/// Parameters of `initialize`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InitializeParams {
    /// The newest version the client speaks.
    pub protocol_version: String,
    /// What the client supports.
    pub capabilities: ClientCapabilities,
    /// Who the client is.
    pub client_info: Implementation,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: JsonObject,
}

/// Result of `initialize`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InitializeResult {
    /// The version the server chose.
    pub protocol_version: String,
    /// What the server supports.
    #[serde(default)]
    pub capabilities: ServerCapabilities,
    /// Who the server is.
    pub server_info: Implementation,
    /// Usage hints for the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: JsonObject,
}

/// Parameters of a paginated list request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PaginatedParams {
    /// The `nextCursor` of the previous page; `None` for the first page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// Hints describing a tool's behaviour (never trust them from an untrusted server).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolAnnotations {
    /// Human-readable title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The tool does not modify its environment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only_hint: Option<bool>,
    /// The tool may perform destructive updates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destructive_hint: Option<bool>,
    /// Repeated calls with the same arguments have no further effect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotent_hint: Option<bool>,
    /// The tool interacts with an open world of external entities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_world_hint: Option<bool>,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: JsonObject,
}

/// A tool a server offers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tool {
    /// The name to call it by.
    pub name: String,
    /// Human-readable title (2025-06-18+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// What the tool does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// JSON Schema of the arguments (an object schema).
    #[serde(default = "empty_object_schema")]
    pub input_schema: Value,
    /// JSON Schema of `structuredContent` (2025-06-18+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_schema: Option<Value>,
    /// Behaviour hints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<ToolAnnotations>,
    /// `_meta`, passed through untouched.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<JsonObject>,
    /// Unmodelled fields (icons, execution, ...).
    #[serde(flatten)]
    pub extra: JsonObject,
}

fn empty_object_schema() -> Value {
    serde_json::json!({"type": "object"})
}

/// Result of `tools/list` (one page).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListToolsResult {
    /// The tools on this page.
    pub tools: Vec<Tool>,
    /// Cursor of the next page; `None` on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: JsonObject,
}

/// Parameters of `tools/call`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallToolParams {
    /// The tool's name.
    pub name: String,
    /// Run as a task (2025-11-25): the server answers with a [`CreateTaskResult`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<TaskMetadata>,
    /// The arguments, matching the tool's input schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<JsonObject>,
    /// `_meta` (e.g. `progressToken`).
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<JsonObject>,
}

/// Result of `tools/call`. Deserialized in one pass (see `types/tool_result.rs`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CallToolResult {
    /// Unstructured content blocks.
    #[serde(default)]
    pub content: Vec<Content>,
    /// Structured output (2025-06-18+), matching the tool's output schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub structured_content: Option<Value>,
    /// Whether the tool reported an error (a tool error, not a protocol error).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_error: Option<bool>,
    /// `_meta`, passed through untouched.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<JsonObject>,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: JsonObject,
}

impl CallToolResult {
    /// Whether the tool reported an error (`isError: true`).
    pub fn is_error(&self) -> bool {
        self.is_error == Some(true)
    }

    /// The text of every text block, joined by newlines.
    ///
    /// ```
    /// use mcpmux_protocol::{CallToolResult, Content};
    /// let r = CallToolResult { content: vec![Content::text("a"), Content::text("b")], ..Default::default() };
    /// assert_eq!(r.text(), "a\nb");
    /// ```
    pub fn text(&self) -> String {
        let mut out = String::new();
        for c in &self.content {
            if let Content::Text(t) = c {
                if !out.is_empty() {
                    out.push('\n');
                }
                out.push_str(&t.text);
            }
        }
        out
    }
}

/// A text content block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextContent {
    /// The text.
    pub text: String,
    /// Unmodelled fields (annotations, `_meta`).
    #[serde(flatten)]
    pub extra: JsonObject,
}

/// An image or audio content block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MediaContent {
    /// Base64-encoded bytes.
    pub data: String,
    /// MIME type, e.g. `image/png`.
    pub mime_type: String,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: JsonObject,
}

/// The contents of a resource, embedded in a result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceContents {
    /// The resource URI.
    pub uri: String,
    /// MIME type, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    /// Text contents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Base64 binary contents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blob: Option<String>,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: JsonObject,
}

/// An embedded resource content block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbeddedResource {
    /// The resource.
    pub resource: ResourceContents,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: JsonObject,
}

/// A link to a resource (2025-06-18+).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceLink {
    /// The resource URI.
    pub uri: String,
    /// The resource name.
    pub name: String,
    /// MIME type, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    /// Unmodelled fields (title, description, size, ...).
    #[serde(flatten)]
    pub extra: JsonObject,
}

/// One content block of a tool result.
///
/// Blocks of a type this crate does not know are kept whole in [`Content::Unknown`].
///
/// ```
/// use mcpmux_protocol::Content;
/// let c: Content = serde_json::from_str(r#"{"type":"text","text":"hi","annotations":{"priority":1}}"#).unwrap();
/// assert_eq!(c.as_text(), Some("hi"));
/// let back = serde_json::to_value(&c).unwrap();
/// assert_eq!(back["annotations"]["priority"], 1);
/// let odd: Content = serde_json::from_str(r#"{"type":"hologram","x":1}"#).unwrap();
/// assert_eq!(serde_json::to_value(&odd).unwrap()["x"], 1);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Content {
    /// `type: "text"`.
    Text(TextContent),
    /// `type: "image"`.
    Image(MediaContent),
    /// `type: "audio"` (2025-03-26+).
    Audio(MediaContent),
    /// `type: "resource"`.
    Resource(EmbeddedResource),
    /// `type: "resource_link"` (2025-06-18+).
    ResourceLink(ResourceLink),
    /// Any other type, kept as the whole JSON object (including `type`).
    Unknown(JsonObject),
}

impl Content {
    /// A text block.
    pub fn text(text: impl Into<String>) -> Self {
        Content::Text(TextContent {
            text: text.into(),
            extra: JsonObject::new(),
        })
    }

    /// The text, if this is a text block.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Content::Text(t) => Some(&t.text),
            _ => None,
        }
    }

    /// The wire name of this block's type.
    pub fn type_name(&self) -> &str {
        match self {
            Content::Text(_) => "text",
            Content::Image(_) => "image",
            Content::Audio(_) => "audio",
            Content::Resource(_) => "resource",
            Content::ResourceLink(_) => "resource_link",
            Content::Unknown(m) => m.get("type").and_then(Value::as_str).unwrap_or(""),
        }
    }
}

impl Serialize for Content {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        /// `type` first (what readers look at first), then the block's own fields.
        #[derive(Serialize)]
        struct Tagged<'a, T> {
            #[serde(rename = "type")]
            tag: &'a str,
            #[serde(flatten)]
            block: &'a T,
        }
        fn tagged<T: Serialize, S: Serializer>(
            tag: &str,
            block: &T,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            Tagged { tag, block }.serialize(s)
        }
        match self {
            Content::Text(v) => tagged("text", v, s),
            Content::Image(v) => tagged("image", v, s),
            Content::Audio(v) => tagged("audio", v, s),
            Content::Resource(v) => tagged("resource", v, s),
            Content::ResourceLink(v) => tagged("resource_link", v, s),
            Content::Unknown(m) => m.serialize(s),
        }
    }
}

impl Content {
    /// A block from its JSON object (the general path of its deserializer): a known `type`
    /// becomes its variant, any other is kept whole as [`Content::Unknown`].
    ///
    /// # Errors
    /// No string `type`, or a known type whose fields do not fit.
    pub fn from_object(mut map: JsonObject) -> Result<Self, String> {
        let tag = match map.get("type") {
            Some(Value::String(t)) => t.clone(),
            _ => return Err("content block without a string `type`".to_owned()),
        };
        fn from<T: serde::de::DeserializeOwned>(m: JsonObject) -> Result<T, String> {
            serde_json::from_value(Value::Object(m)).map_err(|e| e.to_string())
        }
        let known = matches!(
            tag.as_str(),
            "text" | "image" | "audio" | "resource" | "resource_link"
        );
        if !known {
            return Ok(Content::Unknown(map));
        }
        map.remove("type");
        if tag == "text"
            && let Some(Value::String(_)) = map.get("text")
            && let Some(Value::String(text)) = map.remove("text")
        {
            // No round trip through `from_value` for the common block.
            return Ok(Content::Text(TextContent { text, extra: map }));
        }
        Ok(match tag.as_str() {
            "text" => Content::Text(from(map)?),
            "image" => Content::Image(from(map)?),
            "audio" => Content::Audio(from(map)?),
            "resource" => Content::Resource(from(map)?),
            _ => Content::ResourceLink(from(map)?),
        })
    }
}

/// A progress token: a string or a number chosen by the requester.
pub type ProgressToken = RequestId;

/// Parameters of `notifications/cancelled`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CancelledParams {
    /// The id of the request to cancel.
    pub request_id: RequestId,
    /// Why, for logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Parameters of `notifications/progress`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProgressParams {
    /// The token from the request's `_meta.progressToken`.
    pub progress_token: ProgressToken,
    /// Progress so far (increases with each notification).
    pub progress: f64,
    /// Total, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<f64>,
    /// A human-readable message (2025-03-26+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Syslog severity levels used by MCP logging.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LoggingLevel {
    /// Debug-level messages.
    Debug,
    /// Informational messages.
    Info,
    /// Normal but significant events.
    Notice,
    /// Warning conditions.
    Warning,
    /// Error conditions.
    Error,
    /// Critical conditions.
    Critical,
    /// Action must be taken immediately.
    Alert,
    /// System is unusable.
    Emergency,
}

/// Parameters of `notifications/message` (a server log message).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoggingMessageParams {
    /// Severity.
    pub level: LoggingLevel,
    /// The logger's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logger: Option<String>,
    /// The message: any JSON.
    pub data: Value,
}

/// Parameters of `logging/setLevel`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SetLevelParams {
    /// The minimum level the server should send.
    pub level: LoggingLevel,
}

/// Serializes `None` parameters as an absent field: a helper for `Option<&()>` call sites.
pub const NO_PARAMS: Option<&()> = None;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tool_keeps_unknown_fields_on_round_trip() {
        let wire = json!({
            "name": "t", "inputSchema": {"type": "object", "$defs": {"a": {}}},
            "icons": [{"src": "x.png"}], "execution": {"taskSupport": "optional"},
            "_meta": {"vendor/x": 1}, "annotations": {"readOnlyHint": true, "vendorHint": 2}
        });
        let tool: Tool = serde_json::from_value(wire.clone()).unwrap();
        assert_eq!(
            tool.annotations.as_ref().unwrap().read_only_hint,
            Some(true)
        );
        assert_eq!(serde_json::to_value(&tool).unwrap(), wire);
    }

    #[test]
    fn call_result_round_trips_every_content_type() {
        let wire = json!({
            "content": [
                {"type": "text", "text": "t"},
                {"type": "image", "data": "AA==", "mimeType": "image/png"},
                {"type": "audio", "data": "AA==", "mimeType": "audio/wav"},
                {"type": "resource", "resource": {"uri": "file:///a", "text": "x"}},
                {"type": "resource_link", "uri": "file:///b", "name": "b", "size": 3},
                {"type": "future_kind", "payload": [1]}
            ],
            "structuredContent": {"sum": 3},
            "isError": false,
            "_meta": {"k": "v"},
            "vendorField": true
        });
        let r: CallToolResult = serde_json::from_value(wire.clone()).unwrap();
        assert_eq!(r.content.len(), 6);
        assert_eq!(r.content[4].type_name(), "resource_link");
        assert_eq!(r.content[5].type_name(), "future_kind");
        assert!(!r.is_error());
        assert_eq!(serde_json::to_value(&r).unwrap(), wire);
    }

    #[test]
    fn content_without_type_is_an_error() {
        assert!(serde_json::from_value::<Content>(json!({"text": "x"})).is_err());
        assert!(serde_json::from_value::<Content>(json!({"type": "text"})).is_err());
    }

    #[test]
    fn initialize_result_parses_minimal_and_full() {
        let r: InitializeResult = serde_json::from_value(json!({
            "protocolVersion": "2024-11-05",
            "serverInfo": {"name": "s", "version": "1"}
        }))
        .unwrap();
        assert!(r.capabilities.tools.is_none());
        let r: InitializeResult = serde_json::from_value(json!({
            "protocolVersion": "2025-11-25",
            "capabilities": {"tools": {"listChanged": true}, "logging": {}, "tasks": {"list": {}}},
            "serverInfo": {"name": "s", "version": "1", "description": "d"},
            "instructions": "use it"
        }))
        .unwrap();
        assert_eq!(r.capabilities.tools.unwrap().list_changed, Some(true));
        assert!(r.capabilities.extra.contains_key("tasks"));
        assert_eq!(r.server_info.extra["description"], "d");
    }

    #[test]
    fn notifications_parse() {
        let p: ProgressParams = serde_json::from_value(
            json!({"progressToken": "t", "progress": 1, "total": 3, "message": "m"}),
        )
        .unwrap();
        assert_eq!(p.total, Some(3.0));
        let l: LoggingMessageParams =
            serde_json::from_value(json!({"level": "warning", "data": {"a": 1}})).unwrap();
        assert_eq!(l.level, LoggingLevel::Warning);
        let c: CancelledParams = serde_json::from_value(json!({"requestId": 4})).unwrap();
        assert_eq!(c.request_id, RequestId::Number(4));
    }
}
