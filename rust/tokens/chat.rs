//! Prompt-token estimate for a chat request, following OpenAI's cookbook accounting: the text is
//! counted exactly, the framing around it with the cookbook's per-message and per-tool constants.

use super::image::{data_url_size, image_tokens, Detail};
use super::Encoding;
use crate::errors::{CoreError, CoreResult};
use serde_json::{Map, Value};

const TOKENS_PER_MESSAGE: i64 = 3;
const TOKENS_PER_NAME: i64 = 1;
/// Every reply is primed with `<|start|>assistant<|message|>`.
const REPLY_PRIMING: i64 = 3;

struct ToolCosts {
    func_init: i64,
    prop_init: i64,
    prop_key: i64,
    enum_init: i64,
    enum_item: i64,
    func_end: i64,
}

impl ToolCosts {
    /// The cookbook gives one set for gpt-4o/gpt-4o-mini and one for gpt-4/gpt-3.5-turbo; the
    /// vocabulary is what separates the two generations, so it picks the set.
    fn for_encoding(enc: Encoding) -> Self {
        let func_init = match enc {
            Encoding::O200kBase => 7,
            Encoding::Cl100kBase => 10,
        };
        ToolCosts {
            func_init,
            prop_init: 3,
            prop_key: 3,
            enum_init: -3,
            enum_item: 3,
            func_end: 12,
        }
    }
}

pub fn count_chat_tokens(
    messages_json: &[u8],
    enc: Encoding,
    tools_json: Option<&[u8]>,
) -> CoreResult<u64> {
    let messages: Value = parse(messages_json, "messages")?;
    let Value::Array(messages) = messages else {
        return Err(CoreError::InvalidInput(
            "messages must be a JSON array".into(),
        ));
    };
    let mut total = REPLY_PRIMING;
    for message in &messages {
        let Value::Object(message) = message else {
            return Err(CoreError::InvalidInput(
                "each message must be a JSON object".into(),
            ));
        };
        total += message_tokens(message, enc);
    }
    if let Some(tools_json) = tools_json {
        match parse(tools_json, "tools")? {
            Value::Array(tools) => total += tools_tokens(&tools, enc),
            Value::Null => {}
            _ => return Err(CoreError::InvalidInput("tools must be a JSON array".into())),
        }
    }
    Ok(total.max(0) as u64)
}

fn parse(bytes: &[u8], what: &str) -> CoreResult<Value> {
    serde_json::from_slice(bytes)
        .map_err(|e| CoreError::InvalidInput(format!("{what}: invalid JSON: {e}")))
}

fn text(enc: Encoding, s: &str) -> i64 {
    enc.count(s) as i64
}

fn message_tokens(message: &Map<String, Value>, enc: Encoding) -> i64 {
    let mut n = TOKENS_PER_MESSAGE;
    // As in the cookbook, every string field is rendered into the prompt (role, content, name,
    // tool_call_id, refusal); structured fields are counted by what they carry.
    for (key, value) in message {
        match (key.as_str(), value) {
            (_, Value::String(s)) => {
                n += text(enc, s);
                if key == "name" {
                    n += TOKENS_PER_NAME;
                }
            }
            ("content", Value::Array(parts)) => {
                n += parts.iter().map(|p| part_tokens(p, enc)).sum::<i64>()
            }
            ("tool_calls", Value::Array(calls)) => {
                for call in calls {
                    if let Some(f) = call.get("function") {
                        n += function_call_tokens(f, enc);
                    }
                }
            }
            ("function_call", f @ Value::Object(_)) => n += function_call_tokens(f, enc),
            _ => {}
        }
    }
    n
}

fn function_call_tokens(f: &Value, enc: Encoding) -> i64 {
    ["name", "arguments"]
        .iter()
        .filter_map(|k| f.get(k).and_then(Value::as_str))
        .map(|s| text(enc, s))
        .sum()
}

fn part_tokens(part: &Value, enc: Encoding) -> i64 {
    let str_field = |k: &str| part.get(k).and_then(Value::as_str);
    match part {
        Value::String(s) => text(enc, s),
        Value::Object(_) => match str_field("type").unwrap_or("text") {
            "text" | "input_text" | "output_text" => str_field("text").map_or(0, |s| text(enc, s)),
            "refusal" => str_field("refusal").map_or(0, |s| text(enc, s)),
            "image_url" | "input_image" => image_part_tokens(part) as i64,
            // Audio and files are billed by measures this function does not see.
            _ => 0,
        },
        _ => 0,
    }
}

/// Accepts `{"image_url": "…"}` and `{"image_url": {"url", "detail"}}`; an explicit integer
/// `width`/`height` on the part or on `image_url` (set by the gateway) beats header sniffing.
fn image_part_tokens(part: &Value) -> u64 {
    let inner = part.get("image_url");
    let field = |k: &str| inner.and_then(|i| i.get(k)).or_else(|| part.get(k));
    let url = match inner {
        Some(Value::String(s)) => Some(s.as_str()),
        Some(obj) => obj.get("url").and_then(Value::as_str),
        None => None,
    };
    let detail = match field("detail").and_then(Value::as_str) {
        Some("low") => Detail::Low,
        _ => Detail::High,
    };
    if detail == Detail::Low {
        return image_tokens(detail, None);
    }
    let given = field("width")
        .and_then(Value::as_u64)
        .zip(field("height").and_then(Value::as_u64));
    let size = given.or_else(|| url.and_then(data_url_size));
    image_tokens(detail, size)
}

fn str_or_empty(v: Option<&Value>) -> &str {
    v.and_then(Value::as_str).unwrap_or("")
}

fn tools_tokens(tools: &[Value], enc: Encoding) -> i64 {
    if tools.is_empty() {
        return 0;
    }
    let c = ToolCosts::for_encoding(enc);
    let mut n = 0;
    for tool in tools {
        // Chat Completions wraps the definition in `function`; legacy `functions` and the
        // Responses API put it at the top level.
        let f = tool.get("function").unwrap_or(tool);
        n += c.func_init;
        let desc = str_or_empty(f.get("description"));
        n += text(
            enc,
            &format!(
                "{}:{}",
                str_or_empty(f.get("name")),
                desc.strip_suffix('.').unwrap_or(desc)
            ),
        );
        let Some(Value::Object(props)) = f.get("parameters").and_then(|p| p.get("properties"))
        else {
            continue;
        };
        if props.is_empty() {
            continue;
        }
        n += c.prop_init;
        for (key, prop) in props {
            n += c.prop_key;
            if let Some(Value::Array(items)) = prop.get("enum") {
                n += c.enum_init;
                for item in items {
                    n += c.enum_item;
                    n += match item {
                        Value::String(s) => text(enc, s),
                        other => text(enc, &other.to_string()),
                    };
                }
            }
            let ptype = match prop.get("type") {
                Some(Value::String(t)) => t.clone(),
                // `["string", "null"]`: the cookbook predates union types; list them.
                Some(Value::Array(ts)) => ts
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(","),
                _ => String::new(),
            };
            let pdesc = str_or_empty(prop.get("description"));
            n += text(
                enc,
                &format!("{key}:{ptype}:{}", pdesc.strip_suffix('.').unwrap_or(pdesc)),
            );
        }
    }
    n + c.func_end
}

#[cfg(test)]
mod tests {
    use super::*;
    const O: Encoding = Encoding::O200kBase;

    fn count(messages: &str, tools: Option<&str>) -> u64 {
        count_chat_tokens(messages.as_bytes(), O, tools.map(str::as_bytes)).unwrap()
    }

    fn t(s: &str) -> u64 {
        O.count(s) as u64
    }

    #[test]
    fn per_message_overhead_and_name() {
        let got = count(
            r#"[{"role":"system","content":"Be brief."},{"role":"user","name":"ann","content":"Hi there"}]"#,
            None,
        );
        let want =
            3 + (3 + t("system") + t("Be brief.")) + (3 + t("user") + t("ann") + 1 + t("Hi there"));
        assert_eq!(got, want);
        assert_eq!(count("[]", None), 3);
    }

    #[test]
    fn content_parts_and_images() {
        let msg = r#"[{"role":"user","content":[
            {"type":"text","text":"What is this?"},
            {"type":"image_url","image_url":{"url":"https://x.invalid/a.png","detail":"low"}},
            {"type":"image_url","image_url":{"url":"https://x.invalid/b.png","width":2048,"height":4096}},
            {"type":"image_url","image_url":"https://x.invalid/c.png"},
            {"type":"input_audio","input_audio":{"data":"AAAA","format":"wav"}}]}]"#;
        assert_eq!(
            count(msg, None),
            3 + 3 + t("user") + t("What is this?") + 85 + 1105 + 765
        );
    }

    #[test]
    fn assistant_tool_calls_and_tool_results() {
        let msg = r#"[{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function",
            "function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},
            {"role":"tool","tool_call_id":"c1","content":"18C"}]"#;
        let want = 3
            + (3 + t("assistant") + t("get_weather") + t(r#"{"city":"Paris"}"#))
            + (3 + t("tool") + t("c1") + t("18C"));
        assert_eq!(count(msg, None), want);
    }

    #[test]
    fn tool_definitions_follow_the_cookbook() {
        let tools = r#"[{"type":"function","function":{"name":"get_weather","description":"Get the weather.",
            "parameters":{"type":"object","properties":{
                "city":{"type":"string","description":"City name."},
                "unit":{"type":"string","enum":["c","f"]}}}}}]"#;
        let base = count("[]", None);
        let want = 7
            + t("get_weather:Get the weather")
            + 3
            + (3 + t("city:string:City name"))
            // prop_key, then enum_item per item, then enum_init (-3) once.
            + (3 + (3 + t("c")) + (3 + t("f")) - 3 + t("unit:string:"))
            + 12;
        assert_eq!(count("[]", Some(tools)) - base, want);
        assert_eq!(count("[]", Some("[]")), base);
        assert_eq!(count("[]", Some("null")), base);
        let cl = count_chat_tokens(b"[]", Encoding::Cl100kBase, Some(tools.as_bytes())).unwrap();
        assert!(cl > base, "cl100k uses func_init 10");
    }

    #[test]
    fn bad_input_is_an_invalid_input_error() {
        for (m, tools) in [
            ("{", None),
            ("{}", None),
            ("[1]", None),
            ("[]", Some("{}")),
            ("[]", Some("x")),
        ] {
            let err = count_chat_tokens(m.as_bytes(), O, tools.map(str::as_bytes)).unwrap_err();
            assert!(matches!(err, CoreError::InvalidInput(_)), "{m} {tools:?}");
        }
    }
}
