//! Which public mcpmux calls the client makes for a scenario.
//!
//! A scenario name only selects calls (list the tools, call `add_numbers`, read the resources);
//! every protocol behaviour under test (negotiation, sessions, SSE resumption, elicitation
//! defaults, headers) is the library's own.

use serde_json::{Map, Value, json};

/// One public call (or a small group of them) against the server.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Step {
    /// `Guard::list_tools`.
    ListTools,
    /// `Guard::call_tool(name, arguments)`.
    CallTool {
        /// The tool to call.
        name: &'static str,
        /// Its arguments.
        arguments: Value,
    },
    /// Calls the first listed tool with placeholder arguments built from its input schema.
    CallFirstTool,
    /// Calls every listed tool, each with placeholder arguments built from its input schema.
    CallEveryTool,
    /// Calls the tools named in the suite's context (`MCP_CONFORMANCE_CONTEXT.toolCalls`), with
    /// the arguments given there.
    CallToolsFromContext,
    /// Calls tool `echo` with `{"schema": <input schema of tool `of`>}`, passing the schema the
    /// library handed back, untouched.
    EchoInputSchema {
        /// The tool that echoes its `schema` argument back to the suite.
        echo: &'static str,
        /// The tool whose input schema is echoed.
        of: &'static str,
    },
    /// `Guard::list_resources`, then `Guard::read_resource` on each.
    ReadEveryResource,
    /// `Guard::list_prompts`, then `Guard::get_prompt` on each (placeholder arguments).
    GetEveryPrompt,
    /// `Guard::list_skills` only (no skill is needed, so no file may be read).
    ListSkills,
    /// `Guard::list_skills`, then `Guard::load_skill` on each (the library verifies the
    /// `SKILL.md`), and `Guard::read_skill_file` on the files of each skill that loaded.
    UseEverySkill,
}

/// The steps for `scenario`, run after `Server::enter` (the connect and, where the protocol has
/// one, the handshake).
///
/// An unknown scenario gets the generic client: list the tools and call the first one.
pub(crate) fn steps(scenario: &str) -> Vec<Step> {
    match scenario {
        "tools_call" => vec![Step::CallTool {
            name: "add_numbers",
            arguments: json!({"a": 5, "b": 3}),
        }],
        "elicitation-sep1034-client-defaults" => vec![Step::CallTool {
            name: "test_client_elicitation_defaults",
            arguments: json!({}),
        }],
        "sse-retry" => vec![Step::CallTool {
            name: "test_reconnection",
            arguments: json!({}),
        }],
        "json-schema-2020-12-preservation" => vec![Step::EchoInputSchema {
            echo: "json_schema_echo",
            of: "json_schema_2020_12_tool",
        }],
        // Only the listing matters: the schema's network `$ref` must stay unresolved.
        "json-schema-ref-no-deref" => vec![Step::ListTools],
        "http-custom-headers" => vec![Step::ListTools, Step::CallToolsFromContext],
        "http-standard-headers" => vec![
            Step::CallEveryTool,
            Step::ReadEveryResource,
            Step::GetEveryPrompt,
        ],
        // Every tool the library offers: it is expected to leave out invalid ones.
        "http-invalid-tool-headers" | "sep-2322-client-request-state" => {
            vec![Step::CallEveryTool]
        }
        "sep-2640-client-no-prefetch" => vec![Step::ListSkills],
        "sep-2640-client-verify-digest"
        | "sep-2640-client-verify-size"
        | "sep-2640-client-verify-frontmatter" => vec![Step::UseEverySkill],
        _ => vec![Step::CallFirstTool],
    }
}

/// Arguments that satisfy the `required` part of a tool's input schema: for each required
/// property its `const`, `default`, first `enum` value, or a placeholder of its `type`.
/// Optional properties are left out.
pub(crate) fn placeholder_arguments(schema: &Value) -> Value {
    let mut args = Map::new();
    let properties = schema.get("properties").and_then(Value::as_object);
    let required = schema
        .get("required")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for name in required.iter().filter_map(Value::as_str) {
        let prop = properties.and_then(|p| p.get(name));
        args.insert(name.to_owned(), placeholder_value(prop));
    }
    Value::Object(args)
}

fn placeholder_value(prop: Option<&Value>) -> Value {
    let Some(prop) = prop else {
        return json!("x");
    };
    if let Some(v) = prop.get("const").or_else(|| prop.get("default")) {
        return v.clone();
    }
    if let Some(first) = prop
        .get("enum")
        .and_then(Value::as_array)
        .and_then(|e| e.first())
    {
        return first.clone();
    }
    // `type` may be a list; the first entry is as good as any.
    let ty = match prop.get("type") {
        Some(Value::String(t)) => t.as_str(),
        Some(Value::Array(ts)) => ts.first().and_then(Value::as_str).unwrap_or("string"),
        _ => "string",
    };
    match ty {
        "integer" | "number" => json!(1),
        "boolean" => json!(true),
        "object" => placeholder_arguments(prop),
        "array" => json!([]),
        "null" => Value::Null,
        _ => json!("x"),
    }
}

/// The `toolCalls` of the suite's context: `[(name, arguments)]`. Entries without a string
/// `name` are skipped; missing arguments become `{}`.
pub(crate) fn context_tool_calls(context: &Value) -> Vec<(String, Value)> {
    context
        .get("toolCalls")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|call| {
            let name = call.get("name")?.as_str()?.to_owned();
            let arguments = call.get("arguments").cloned().unwrap_or_else(|| json!({}));
            Some((name, arguments))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_scenarios_get_the_generic_client() {
        assert_eq!(steps("initialize"), vec![Step::CallFirstTool]);
        assert_eq!(steps("request-metadata"), vec![Step::CallFirstTool]);
        assert_eq!(steps("no-such-scenario"), vec![Step::CallFirstTool]);
    }

    #[test]
    fn tools_call_calls_add_numbers() {
        assert_eq!(
            steps("tools_call"),
            vec![Step::CallTool {
                name: "add_numbers",
                arguments: json!({"a": 5, "b": 3}),
            }]
        );
    }

    #[test]
    fn placeholders_fill_required_properties_only() {
        let schema = json!({
            "type": "object",
            "properties": {
                "s": {"type": "string"},
                "n": {"type": "number"},
                "i": {"type": "integer"},
                "b": {"type": "boolean"},
                "e": {"type": "string", "enum": ["red", "green"]},
                "d": {"type": "string", "default": "dflt"},
                "o": {"type": "object", "properties": {"k": {"type": "boolean"}}, "required": ["k"]},
                "a": {"type": "array"},
                "z": {"type": "null"},
                "t": {"type": ["integer", "null"]},
                "optional": {"type": "string"}
            },
            "required": ["s", "n", "i", "b", "e", "d", "o", "a", "z", "t", "undeclared"]
        });
        assert_eq!(
            placeholder_arguments(&schema),
            json!({
                "s": "x", "n": 1, "i": 1, "b": true, "e": "red", "d": "dflt",
                "o": {"k": true}, "a": [], "z": null, "t": 1, "undeclared": "x"
            })
        );
    }

    #[test]
    fn placeholders_survive_odd_schemas() {
        assert_eq!(placeholder_arguments(&json!(true)), json!({}));
        assert_eq!(placeholder_arguments(&json!({"required": "a"})), json!({}));
        assert_eq!(
            placeholder_arguments(&json!({"required": [1, "a"], "properties": []})),
            json!({"a": "x"})
        );
    }

    #[test]
    fn context_tool_calls_are_read_leniently() {
        let ctx = json!({"name": "http-custom-headers", "toolCalls": [
            {"name": "one", "arguments": {"region": "us"}},
            {"name": "two"},
            {"arguments": {}},
            "garbage"
        ]});
        assert_eq!(
            context_tool_calls(&ctx),
            vec![
                ("one".to_owned(), json!({"region": "us"})),
                ("two".to_owned(), json!({})),
            ]
        );
        assert!(context_tool_calls(&json!(null)).is_empty());
        assert!(context_tool_calls(&json!({"toolCalls": {}})).is_empty());
    }
}
