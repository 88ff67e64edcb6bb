// rust_actor: the Rust twin of cpp_actor.cc, written only against the Rust bindings
// `theater bindgen` generates for tests/bindgen/wit/bindgen-actor.wit. init logs a greeting and
// starts the state at "init"; one-way messages append "|send:<msg>"; requests:
//
//   echo:<text>         replies <text>
//   state               replies the state passed to this call
//   get-state           runtime.get-state, replies its bytes or "none"
//   mark:<text>         appends "|<text>" to the state, replies "ok"
//   send:<id>:<msg>     message-server-host.send; replies "ok" or "error:<why>"
//   request:<id>:<msg>  message-server-host.request; replies the answer or "error:<why>"
//   store               store.new, store, store-at-label, list-labels, get-by-label, get;
//                       replies "labels=<l,..>;bylabel=<beta|other>;get=<text>"
//   chain               runtime.get-chain; replies "events=<n>;linked=<yes|no>"
#[path = "actor-rust/bindgen_actor.rs"]  // beside this file, in the build's tests/bindgen/gen
mod bindings;

use bindings::exports::{actor, message_server_client};
use bindings::{message_server_host as host, runtime, store, types};

type State = Option<Vec<u8>>;

fn append(state: State, suffix: &str) -> State {
    let mut out = state.unwrap_or_default();
    out.extend_from_slice(suffix.as_bytes());
    Some(out)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn unit(r: Result<(), String>) -> String {
    match r {
        Ok(()) => "ok".to_string(),
        Err(e) => format!("error:{}", e),
    }
}

fn store_round_trip() -> String {
    let sid = match store::new() {
        Ok(id) => id,
        Err(e) => return format!("error:new:{}", e),
    };
    let a = store::store(&sid, b"alpha");
    let b = store::store_at_label(&sid, "latest", b"beta");
    let labels = store::list_labels(&sid);
    let by_label = store::get_by_label(&sid, "latest");
    let (a, b, labels, by_label) = match (a, b, labels, by_label) {
        (Ok(a), Ok(b), Ok(l), Ok(g)) => (a, b, l, g),
        _ => return "error:store-calls".to_string(),
    };
    let got = store::get(&sid, &a).map(|bytes| text(&bytes)).unwrap_or_else(|_| "error".into());
    let matches = by_label.map_or(false, |r| r.hash == b.hash);
    format!("labels={};bylabel={};get={}", labels.join(","), if matches { "beta" } else { "other" },
            got)
}

fn chain_summary() -> String {
    let chain: types::Chain = runtime::get_chain();
    let events = &chain.events;
    let mut linked = !events.is_empty() && events[0].event.parent.is_none();
    for i in 1..events.len() {
        if events[i].event.parent != Some(events[i - 1].hash) {
            linked = false;
        }
    }
    format!("events={};linked={}", events.len(), if linked { "yes" } else { "no" })
}

// "<head>:<tail>" -> (head, tail); tail is empty without a ':'.
fn split(text: &str) -> (&str, &str) {
    match text.find(':') {
        Some(at) => (&text[..at], &text[at + 1..]),
        None => (text, ""),
    }
}

struct Actor;

impl actor::Guest for Actor {
    fn init(state: State, params: (String,)) -> Result<(State,), String> {
        let (actor_id,) = params;
        runtime::log(&format!("Hello from {}!", actor_id));
        Ok((if state.is_some() { append(state, "|restart") } else { Some(b"init".to_vec()) },))
    }
}

// handle-channel-message and handle-channel-close keep the bindings' defaults (the state stays);
// handle-channel-open replaces its default, which refuses.
impl message_server_client::Guest for Actor {
    fn handle_send(state: State, params: (Vec<u8>,)) -> Result<(State,), String> {
        Ok((append(state, &format!("|send:{}", text(&params.0))),))
    }

    fn handle_request(mut state: State, params: (String, Vec<u8>))
                      -> Result<(State, (State,)), String> {
        let raw = text(&params.1);
        let (cmd, arg) = split(&raw);
        let reply = match cmd {
            "echo" => arg.to_string(),
            "state" => state.as_deref().map_or("none".to_string(), text),
            "get-state" => runtime::get_state().as_deref().map_or("none".to_string(), text),
            "mark" => {
                state = append(state, &format!("|{}", arg));
                "ok".to_string()
            }
            "send" => {
                let (target, msg) = split(arg);
                unit(host::send(target, msg.as_bytes()))
            }
            "request" => {
                let (target, msg) = split(arg);
                match host::request(target, msg.as_bytes()) {
                    Ok(answer) => text(&answer),
                    Err(e) => format!("error:{}", e),
                }
            }
            "store" => store_round_trip(),
            "chain" => chain_summary(),
            _ => format!("error:unknown command {}", cmd),
        };
        Ok((state, (Some(reply.into_bytes()),)))
    }

    fn handle_channel_open(state: State, _params: (String, Vec<u8>))
                           -> Result<(State, (types::ChannelAccept,)), String> {
        Ok((state, (types::ChannelAccept { accepted: true, message: None },)))
    }
}

export_bindgen_actor!(Actor);
