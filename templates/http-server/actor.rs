//! {{project_name}}: an HTTP server as a Theater actor, in Rust.
//!
//!   theater run --wait manifest.toml     # serves until Ctrl-C
//!   curl http://127.0.0.1:<port>/hello    # the port the log prints (init.json: 0, a free one)
//!
//! init starts a server of the http-framework handler on 127.0.0.1 at the "port" of its state
//! (init.json; 0 picks a free port) and routes GET /, GET /hello and GET /count to this actor's
//! handle_request. The state is JSON, {"port": P, "served": N}: N counts the requests served.
//!
//! The actor implements the WIT world `http-actor` (wit/worlds.wit); bindings/http_actor.rs has
//! what it imports and the traits it implements. Middleware and WebSocket callbacks keep the
//! trait's defaults (every request goes through; the state stays).
#[path = "../bindings/http_actor.rs"]
mod bindings;

use bindings::exports::{actor, http_handlers};
use bindings::http_framework::{add_route, create_server, register_handler, start_server};
use bindings::http_types::{HttpRequest, HttpResponse, ServerConfig};
use bindings::runtime::log;

type State = Option<Vec<u8>>;

/// The number after `"key":` in a JSON text, if there is one.
fn json_number(text: &str, key: &str) -> Option<u64> {
    let after_key = &text[text.find(&format!("\"{}\"", key))? + key.len() + 2..];
    let value = after_key.trim_start().strip_prefix(':')?.trim_start();
    let digits = value.find(|c: char| !c.is_ascii_digit()).unwrap_or(value.len());
    value[..digits].parse().ok()
}

/// (port, served) from the state.
fn load(state: &State) -> (u64, u64) {
    let text = state.as_deref().map(String::from_utf8_lossy).unwrap_or_default();
    (json_number(&text, "port").unwrap_or(0), json_number(&text, "served").unwrap_or(0))
}
fn save(port: u64, served: u64) -> State {
    Some(format!("{{\"port\": {}, \"served\": {}}}", port, served).into_bytes())
}

fn respond(status: u16, body: &str) -> HttpResponse {
    HttpResponse {
        status,
        headers: vec![("content-type".to_string(), "text/plain".to_string())],
        body: Some(body.as_bytes().to_vec()),
    }
}

struct Actor;

impl actor::Guest for Actor {
    fn init(state: State, params: (String,)) -> Result<(State,), String> {
        let (port, served) = load(&state);
        let config = ServerConfig { port: Some(port as u16), ..Default::default() };
        let server = create_server(&config)?;
        let handler = register_handler("router")?;
        for path in ["/", "/hello", "/count"] {
            add_route(server, path, "GET", handler)?;
        }
        let bound = start_server(server)?;
        log(&format!("{{project_name}} {} serving on http://127.0.0.1:{}/", params.0, bound));
        Ok((save(port, served),))
    }
}

impl http_handlers::Guest for Actor {
    fn handle_request(state: State, params: (u64, HttpRequest))
                      -> Result<(State, (HttpResponse,)), String> {
        let (port, served) = load(&state);
        let served = served + 1;
        let request = params.1;
        log(&format!("{} {}", request.method, request.uri));
        let response = match request.uri.split('?').next().unwrap_or("") {
            "/" => respond(200, "routes: /hello /count\n"),
            "/hello" => respond(200, "Hello from {{project_name}}!\n"),
            "/count" => respond(200, &format!("{}\n", served)),
            _ => respond(404, "no such route\n"),
        };
        Ok((save(port, served), (response,)))
    }
}

export_http_actor!(Actor);
