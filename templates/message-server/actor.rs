//! {{project_name}}: a Theater actor that talks through the message-server handler, in Rust.
//!
//! Try it against a running server (`theater server`):
//!   id=$(theater start manifest.toml)
//!   theater message $id "hello"              # handle-send: logged and counted
//!   theater message --request $id "ping"     # handle-request: answers "pong"
//!   theater message --request $id "count"    # answers how many messages it received
//!   theater channel open $id                 # each line comes back as "echo: <line>"
//!
//! State: the number of messages received, as decimal text.
//!
//! The actor implements the WIT world `message-server-actor` (wit/worlds.wit);
//! bindings/message_server_actor.rs has what it imports and the traits it implements. Every
//! export takes the state and returns the new one first; an Err fails the call with its text.
#[path = "../bindings/message_server_actor.rs"]
mod bindings;

use bindings::exports::{actor, message_server_client};
use bindings::message_server_host::send_on_channel;
use bindings::runtime::log;
use bindings::types::ChannelAccept;

type State = Option<Vec<u8>>;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
fn count_of(state: &State) -> u64 {
    state.as_deref().and_then(|bytes| text(bytes).parse().ok()).unwrap_or(0)
}
fn count_state(n: u64) -> State {
    Some(n.to_string().into_bytes())
}

struct Actor;

impl actor::Guest for Actor {
    fn init(_state: State, params: (String,)) -> Result<(State,), String> {
        log(&format!("{{project_name}} {} is ready for messages", params.0));
        Ok((count_state(0),))
    }
}

impl message_server_client::Guest for Actor {
    fn handle_send(state: State, params: (Vec<u8>,)) -> Result<(State,), String> {
        log(&format!("message: {}", text(&params.0)));
        Ok((count_state(count_of(&state) + 1),))
    }

    fn handle_request(state: State, params: (String, Vec<u8>)) -> Result<(State, (State,)), String> {
        // params.0, the request id, is only needed to answer later with respond_to_request.
        let count = count_of(&state) + 1;
        let reply = match text(&params.1).as_str() {
            "ping" => "pong".to_string(),
            "count" => count.to_string(),
            other => format!("you said: {}", other),
        };
        Ok((count_state(count), (Some(reply.into_bytes()),)))
    }

    fn handle_channel_open(state: State, params: (String, Vec<u8>))
                           -> Result<(State, (ChannelAccept,)), String> {
        log(&format!("channel {} opened", params.0));
        let welcome = b"welcome to {{project_name}}".to_vec();
        Ok((state, (ChannelAccept { accepted: true, message: Some(welcome) },)))
    }

    fn handle_channel_message(state: State, params: (String, Vec<u8>)) -> Result<(State,), String> {
        // `?` fails this call when the host cannot send: the error is the host's message.
        let (channel_id, message) = params;
        send_on_channel(&channel_id, format!("echo: {}", text(&message)).as_bytes())?;
        Ok((count_state(count_of(&state) + 1),))
    }

    fn handle_channel_close(state: State, params: (String,)) -> Result<(State,), String> {
        log(&format!("channel {} closed", params.0));
        Ok((state,))
    }
}

export_message_server_actor!(Actor);
