// {{project_name}}: an HTTP server as a Theater actor, in TypeScript.
//
//   theater run --wait manifest.toml     # serves until Ctrl-C
//   curl http://127.0.0.1:<port>/hello    # the port the log prints (init.json: 0, a free one)
//
// init starts a server of the http-framework handler on 127.0.0.1 at the "port" of its state
// (init.json; 0 picks a free port) and routes GET /, GET /hello and GET /count to this actor's
// handleRequest. The state is JSON, {"port": P, "served": N}: N counts the requests served.
//
// The actor implements the WIT world `http-actor` (wit/worlds.wit); types/http_actor.d.ts
// declares what it imports and exports. A host function whose WIT result is result<T, E>
// returns T and throws on an error, which fails init here.
import { log } from 'theater:simple/runtime';
import {
  addRoute,
  createServer,
  registerHandler,
  startServer,
} from 'theater:simple/http-framework';
import type { HttpResponse } from 'theater:simple/http-types';

interface State {
  port?: number;
  served?: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const load = (bytes: Uint8Array | undefined): State =>
  bytes ? (JSON.parse(decoder.decode(bytes)) as State) : {};
const save = (value: State): Uint8Array => encoder.encode(JSON.stringify(value));

const respond = (status: number, body: string): HttpResponse => ({
  status,
  headers: [['content-type', 'text/plain']],
  body: encoder.encode(body),
});

export const actor: HttpActor.Actor = {
  init(state, [actorId]) {
    const { port = 0, served = 0 } = load(state);
    const server = createServer({ port, host: undefined, tlsConfig: undefined });
    const handler = registerHandler('router');
    for (const path of ['/', '/hello', '/count']) addRoute(server, path, 'GET', handler);
    const bound = startServer(server);
    log(`{{project_name}} ${actorId} serving on http://127.0.0.1:${bound}/`);
    return [save({ port, served })];
  },
};

export const httpHandlers: HttpActor.HttpHandlers = {
  handleRequest(state, [_handlerId, request]) {
    const current = load(state);
    const served = (current.served ?? 0) + 1;
    log(`${request.method} ${request.uri}`);
    const path = request.uri.split('?')[0];
    let response: HttpResponse;
    if (path === '/') {
      response = respond(200, 'routes: /hello /count\n');
    } else if (path === '/hello') {
      response = respond(200, 'Hello from {{project_name}}!\n');
    } else if (path === '/count') {
      response = respond(200, `${served}\n`);
    } else {
      response = respond(404, 'no such route\n');
    }
    return [save({ ...current, served }), [response]];
  },
  // No middleware is registered; should one be, it lets every request through unchanged.
  handleMiddleware: (state, [_handlerId, request]) => [state, [{ proceed: true, request }]],
  // No WebSocket endpoint is enabled.
  handleWebsocketConnect: (state) => [state],
  handleWebsocketMessage: (state) => [state, [[]]],
  handleWebsocketDisconnect: (state) => [state],
};
