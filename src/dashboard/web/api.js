// Theater dashboard: the management protocol (docs/protocol.md) over the dashboard's WebSocket.
// Every command goes out wrapped with a request id; replies come back in order, pushes in between.

const TOKEN_KEY = 'theater.token';

// An externally tagged value as [name, fields]: "ListActors" or {"StopActor": {...}}.
export function variant(value) {
  if (typeof value === 'string') return [value, {}];
  const name = Object.keys(value)[0];
  return [name, value[name] ?? {}];
}

// Bytes as the server writes them (an array of numbers, or base64) as a Uint8Array.
export function bytes(value) {
  if (value == null) return null;
  if (Array.isArray(value)) return Uint8Array.from(value);
  const raw = atob(value);
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}

export function toBase64(u8) {
  let s = '';
  for (let i = 0; i < u8.length; i += 0x8000)
    s += String.fromCharCode(...u8.subarray(i, i + 0x8000));
  return btoa(s);
}

export class CommandError extends Error {
  constructor(kind, message) {
    super(message || kind);
    this.kind = kind;
  }
}

export class Api {
  // onState(state, detail): 'connecting' | 'open' | 'closed' | 'unauthorized'; onPush(name,
  // fields).
  constructor(onState, onPush) {
    this.onState = onState;
    this.onPush = onPush;
    this.pending = new Map();
    this.nextId = 1;
    this.ws = null;
    this.retry = 500;
  }

  get token() { return sessionStorage.getItem(TOKEN_KEY); }
  set token(value) {
    if (value)
      sessionStorage.setItem(TOKEN_KEY, value);
    else
      sessionStorage.removeItem(TOKEN_KEY);
  }

  connect() {
    this.onState('connecting');
    const ws = new WebSocket(`ws://${location.host}/ws`);
    this.ws = ws;
    this.opened = new Promise((resolve) => {
      ws.onopen = () => {
        this.retry = 500;
        this.onState('open');
        resolve();
      };
    });
    ws.onmessage = (e) => {
      // Several management messages waiting at once come as one array (dashboard_server.h).
      const data = JSON.parse(e.data);
      if (Array.isArray(data)) {
        for (const message of data) this.receive(message);
      } else {
        this.receive(data);
      }
    };
    ws.onclose = (e) => {
      for (const {reject} of this.pending.values())
        reject(new CommandError('Closed', 'connection closed'));
      this.pending.clear();
      this.onState('closed', e.reason);
      setTimeout(() => this.connect(), this.retry);
      this.retry = Math.min(this.retry * 2, 10000);
    };
  }

  receive(message) {
    if (message && typeof message === 'object' && 'request_id' in message &&
        'response' in message) {
      const waiter = this.pending.get(message.request_id);
      if (!waiter) return;
      this.pending.delete(message.request_id);
      const [name, fields] = variant(message.response);
      if (name === 'Error') {
        const [kind, detail] = variant(fields.error);
        if (kind === 'Unauthorized') this.onState('unauthorized', fields.message);
        waiter.reject(
            new CommandError(kind, fields.message || (typeof detail === 'string' ? detail : kind)));
      } else {
        waiter.resolve([name, fields]);
      }
      return;
    }
    const [name, fields] = variant(message);
    this.onPush(name, fields);
  }

  // Sends `command` ("ListActors" or {"StopActor": {...}}); resolves with [replyName, fields].
  async call(command) {
    await this.opened;
    const id = this.nextId++;
    const envelope = {request_id: id, command};
    if (this.token) envelope.token = this.token;
    return new Promise((resolve, reject) => {
      this.pending.set(id, {resolve, reject});
      this.ws.send(JSON.stringify(envelope));
    });
  }
}
