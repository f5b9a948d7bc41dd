//! Tool definitions compared with JSON written by hand from each provider's documentation:
//! OpenAI function calling (chat completions `tools[].function`, responses `tools[]` with
//! `strict`), Anthropic tool use (`tools[].input_schema`), Gemini function declarations (OpenAPI
//! subset schema, `nullable`, no `$ref`).

use serde_json::{Value, json};

use super::*;
use crate::Tool;

fn tool(v: Value) -> Tool {
    serde_json::from_value(v).unwrap()
}

/// A calendar tool with `$defs`/`$ref`, `anyOf` with null, a type list, `const`, and keywords
/// Gemini does not accept.
fn create_event() -> ToolInfo {
    ToolInfo::new(
        "cal_create_event",
        "cal",
        tool(json!({
            "name": "create_event",
            "description": "Create a calendar event",
            "inputSchema": {
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "type": "object",
                "$defs": {
                    "Person": {
                        "type": "object",
                        "properties": {
                            "name": {"type": "string"},
                            "email": {"type": "string", "format": "email"}
                        },
                        "required": ["name"]
                    }
                },
                "properties": {
                    "title": {"type": "string", "description": "Event title"},
                    "attendees": {"type": "array", "items": {"$ref": "#/$defs/Person"}},
                    "when": {
                        "description": "Start time",
                        "anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}]
                    },
                    "priority": {"type": ["integer", "null"], "minimum": 1},
                    "kind": {"const": "meeting"}
                },
                "required": ["title"],
                "additionalProperties": false
            }
        })),
    )
}

fn ping() -> ToolInfo {
    ToolInfo::new(
        "util_ping",
        "util",
        tool(json!({"name": "ping", "inputSchema": {"type": "object"}})),
    )
}

/// A dotted tool name and a title but no description.
fn dotted() -> ToolInfo {
    ToolInfo::new(
        "weather_get.forecast",
        "weather",
        tool(json!({
            "name": "get.forecast",
            "title": "Forecast",
            "inputSchema": {"type": "object", "properties": {"city": {"type": "string"}}}
        })),
    )
}

fn long() -> ToolInfo {
    let name = "a".repeat(70);
    ToolInfo::new(
        format!("srv_{name}"),
        "srv",
        tool(json!({"name": name, "description": "d", "inputSchema": {"type": "object"}})),
    )
}

const LONG_API_NAME: &str = "srv_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa_be4476ed";

fn event_schema() -> Value {
    create_event().tool.input_schema
}

#[test]
fn openai_chat_completions() {
    let out = export_tools(
        Provider::OpenAiChat,
        &[create_event(), ping(), dotted(), long()],
    )
    .unwrap();
    let expected = json!([
        {"type": "function", "function": {
            "name": "cal_create_event",
            "description": "Create a calendar event",
            "parameters": event_schema()
        }},
        {"type": "function", "function": {
            "name": "util_ping",
            "parameters": {"type": "object", "properties": {}}
        }},
        {"type": "function", "function": {
            "name": "weather_get_forecast",
            "description": "Forecast",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}
        }},
        {"type": "function", "function": {
            "name": LONG_API_NAME,
            "description": "d",
            "parameters": {"type": "object", "properties": {}}
        }}
    ]);
    assert_eq!(out.to_json(), expected);
    let back = out.resolve("weather_get_forecast").unwrap();
    assert_eq!(
        (back.server.as_str(), back.tool.as_str()),
        ("weather", "get.forecast")
    );
    assert_eq!(back.name, "weather_get.forecast");
    let back = out.resolve(LONG_API_NAME).unwrap();
    assert_eq!(back.tool, "a".repeat(70));
    assert!(out.resolve("weather_get.forecast").is_none());
}

#[test]
fn openai_responses() {
    let out = export_tools(Provider::OpenAiResponses, &[create_event(), ping()]).unwrap();
    let expected = json!([
        {
            "type": "function",
            "name": "cal_create_event",
            "description": "Create a calendar event",
            "parameters": event_schema(),
            "strict": false
        },
        {
            "type": "function",
            "name": "util_ping",
            "parameters": {"type": "object", "properties": {}},
            "strict": false
        }
    ]);
    assert_eq!(out.to_json(), expected);
}

#[test]
fn anthropic() {
    let out = export_tools(Provider::Anthropic, &[create_event(), ping(), dotted()]).unwrap();
    let expected = json!([
        {
            "name": "cal_create_event",
            "description": "Create a calendar event",
            "input_schema": event_schema()
        },
        {"name": "util_ping", "input_schema": {"type": "object"}},
        {
            "name": "weather_get_forecast",
            "description": "Forecast",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}
        }
    ]);
    assert_eq!(out.to_json(), expected);
}

#[test]
fn gemini_function_declarations() {
    let out = export_tools(
        Provider::Gemini,
        &[create_event(), ping(), dotted(), long()],
    )
    .unwrap();
    let expected = json!([
        {
            "name": "cal_create_event",
            "description": "Create a calendar event",
            "parameters": {
                "type": "object",
                "properties": {
                    "title": {"type": "string", "description": "Event title"},
                    "attendees": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {"name": {"type": "string"}, "email": {"type": "string"}},
                            "required": ["name"]
                        }
                    },
                    "when": {
                        "description": "Start time",
                        "type": "string",
                        "format": "date-time",
                        "nullable": true
                    },
                    "priority": {"type": "integer", "minimum": 1, "nullable": true},
                    "kind": {"type": "string", "enum": ["meeting"]}
                },
                "required": ["title"]
            }
        },
        {"name": "util_ping"},
        {
            "name": "weather_get_forecast",
            "description": "Forecast",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}
        },
        {"name": LONG_API_NAME, "description": "d"}
    ]);
    assert_eq!(out.to_json(), expected);
}

#[test]
fn gemini_recursive_refs_and_one_of() {
    let t = ToolInfo::new(
        "fs_tree",
        "fs",
        tool(json!({
            "name": "tree",
            "inputSchema": {
                "type": "object",
                "definitions": {
                    "Node": {
                        "type": "object",
                        "description": "A node",
                        "properties": {
                            "label": {"type": "string"},
                            "children": {"type": "array", "items": {"$ref": "#/definitions/Node"}}
                        }
                    }
                },
                "properties": {
                    "root": {"$ref": "#/definitions/Node", "description": "The root"},
                    "mode": {"oneOf": [{"type": "string", "enum": ["a", "b"]}, {"type": "integer"}]},
                    "limits": {"allOf": [
                        {"type": "object", "properties": {"depth": {"type": "integer"}}, "required": ["depth"]},
                        {"properties": {"width": {"type": "integer", "exclusiveMinimum": 0}}}
                    ]}
                }
            }
        })),
    );
    let out = export_tools(Provider::Gemini, &[t]).unwrap();
    let expected = json!([{
        "name": "fs_tree",
        "parameters": {
            "type": "object",
            "properties": {
                "root": {
                    "type": "object",
                    "description": "The root",
                    "properties": {
                        "label": {"type": "string"},
                        "children": {"type": "array", "items": {"type": "object"}}
                    }
                },
                "mode": {"anyOf": [{"type": "string", "enum": ["a", "b"]}, {"type": "integer"}]},
                "limits": {
                    "type": "object",
                    "properties": {"depth": {"type": "integer"}, "width": {"type": "integer"}},
                    "required": ["depth"]
                }
            }
        }
    }]);
    assert_eq!(out.to_json(), expected);
}

#[test]
fn names_that_collide_after_cleaning_get_distinct_api_names() {
    let a = ToolInfo::new("s_a.b", "s", tool(json!({"name": "a.b"})));
    let b = ToolInfo::new("s_a_b", "s", tool(json!({"name": "a_b"})));
    for provider in [
        Provider::OpenAiChat,
        Provider::OpenAiResponses,
        Provider::Anthropic,
        Provider::Gemini,
    ] {
        let out = export_tools(provider, &[a.clone(), b.clone()]).unwrap();
        assert_eq!(out.names()[1], "s_a_b", "{provider:?}");
        assert_ne!(out.names()[0], out.names()[1]);
        assert_eq!(out.resolve(&out.names()[0]).unwrap().tool, "a.b");
        assert_eq!(out.resolve("s_a_b").unwrap().tool, "a_b");
    }
}

#[test]
fn gemini_names_start_with_a_letter_or_underscore() {
    let t = ToolInfo::new("1password_get", "1password", tool(json!({"name": "get"})));
    let out = export_tools(Provider::Gemini, std::slice::from_ref(&t)).unwrap();
    assert_eq!(out.names(), ["_1password_get"]);
    let out = export_tools(Provider::OpenAiChat, &[t]).unwrap();
    assert_eq!(out.names(), ["1password_get"]);
}
