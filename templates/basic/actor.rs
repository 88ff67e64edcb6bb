//! {{project_name}}: a minimal Theater actor in Rust.
//!
//! init runs once when the actor starts. It logs a greeting and keeps a JSON state,
//! {"starts": N}, that counts how often it started.
//!
//! The actor implements the WIT world `minimal` (wit/worlds.wit): bindings/minimal.rs, generated
//! by `theater bindgen --lang rust`, has the functions the host provides (bindings::runtime::log,
//! ...) and the trait this file implements (bindings::exports::actor::Guest). Only std is used.
#[path = "../bindings/minimal.rs"]
mod bindings;

use bindings::exports::actor;
use bindings::runtime::log;

/// The number after `"key":` in a JSON text, if there is one.
fn json_number(text: &str, key: &str) -> Option<u64> {
    let after_key = &text[text.find(&format!("\"{}\"", key))? + key.len() + 2..];
    let value = after_key.trim_start().strip_prefix(':')?.trim_start();
    let digits = value.find(|c: char| !c.is_ascii_digit()).unwrap_or(value.len());
    value[..digits].parse().ok()
}

struct Actor;

impl actor::Guest for Actor {
    fn init(state: Option<Vec<u8>>, params: (String,)) -> Result<(Option<Vec<u8>>,), String> {
        let (actor_id,) = params;
        log(&format!("Hello from {{project_name}} ({})!", actor_id));

        // The state is the JSON text of init.json (the host keeps it as bytes).
        let text = state.map(|bytes| String::from_utf8_lossy(&bytes).into_owned());
        let starts = text.as_deref().and_then(|t| json_number(t, "starts")).unwrap_or(0) + 1;
        log(&format!("started {} time(s)", starts));
        Ok((Some(format!("{{\"starts\": {}}}", starts).into_bytes()),))
    }
}

export_minimal!(Actor);
