//! {{project_name}}: a Theater supervisor actor in Rust.
//!
//! Commands, sent as requests (`theater message --request <id> "<command>"`):
//!   spawn:<manifest>   start a child (a manifest path under this actor's directory or the
//!                      server's --spawn-root, a URL, a store:// reference or TOML text);
//!                      answers its id
//!   list               the children's ids, comma-separated
//!   stop:<child-id>    stop a child
//! A child that fails is restarted; one that exits or is stopped from outside is only logged.
//!
//! The actor implements the world `supervisor-messages` (wit/supervisor-messages.wit: the
//! supervisor-actor and message-server-actor worlds together); bindings/supervisor_messages.rs
//! has what it imports and the traits it implements. One-way messages and channels are left to
//! the traits' defaults (the state stays; channels are refused).
#[path = "../bindings/supervisor_messages.rs"]
mod bindings;

use bindings::exports::{actor, message_server_client, supervisor_handlers};
use bindings::runtime::log;
use bindings::supervisor;
use bindings::types::WitActorError;

type State = Option<Vec<u8>>;

// What a request asks for, answered as text.
fn command(request: &str) -> Result<String, String> {
    if let Some(manifest) = request.strip_prefix("spawn:") {
        let child = supervisor::spawn(manifest, &None)?;
        log(&format!("spawned child {}", child));
        Ok(child)
    } else if let Some(child) = request.strip_prefix("stop:") {
        supervisor::stop_child(child)?;
        Ok("ok".to_string())
    } else if request.starts_with("list") {
        Ok(supervisor::list_children().join(","))
    } else {
        Ok("commands: spawn:<manifest>, list, stop:<child-id>".to_string())
    }
}

struct Actor;

impl actor::Guest for Actor {
    fn init(state: State, params: (String,)) -> Result<(State,), String> {
        log(&format!("supervisor {{project_name}} {} started", params.0));
        Ok((state,))
    }
}

impl message_server_client::Guest for Actor {
    fn handle_request(state: State, params: (String, Vec<u8>)) -> Result<(State, (State,)), String> {
        let reply = command(&String::from_utf8_lossy(&params.1))
            .unwrap_or_else(|error| format!("error: {}", error));
        Ok((state, (Some(reply.into_bytes()),)))
    }
}

impl supervisor_handlers::Guest for Actor {
    fn handle_child_error(state: State, params: (String, WitActorError)) -> Result<(State,), String> {
        let (child_id, error) = params;
        log(&format!("child {} failed ({:?}); restarting it", child_id, error.error_type));
        if let Err(why) = supervisor::restart_child(&child_id) {
            log(&format!("restart failed: {}", why));
        }
        Ok((state,))
    }

    fn handle_child_exit(state: State, params: (String, State)) -> Result<(State,), String> {
        let with_data = if params.1.is_some() { " with data" } else { "" };
        log(&format!("child {} exited{}", params.0, with_data));
        Ok((state,))
    }

    fn handle_child_external_stop(state: State, params: (String,)) -> Result<(State,), String> {
        log(&format!("child {} was stopped from outside", params.0));
        Ok((state,))
    }
}

export_supervisor_messages!(Actor);
