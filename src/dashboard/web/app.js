// Theater dashboard: pages (actors, supervision tree, one actor) over the management protocol.
import {Api, bytes, toBase64} from './api.js';

const page = document.getElementById('page');
const connection = document.getElementById('connection');
const serverInfo = document.getElementById('server-info');
const pushHandlers = new Set();

const api = new Api(onConnectionState, (name, fields) => {
  for (const handler of pushHandlers) handler(name, fields);
});

// ----- Helpers

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key.startsWith('on'))
      node.addEventListener(key.slice(2), value);
    else if (value !== undefined && value !== null && value !== false)
      node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined)
      node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

function shortId(id) { return id ? id.slice(0, 8) : ''; }

function formatBytes(n) {
  if (n === undefined || n === null) return '';
  if (n < 1024) return `${n} B`;
  if (n < 1 << 20) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / (1 << 20)).toFixed(1)} MiB`;
}

function hex(u8, max = 4096) {
  const parts = [];
  for (let i = 0; i < Math.min(u8.length, max); i++)
    parts.push(u8[i].toString(16).padStart(2, '0'));
  return parts.join(' ') + (u8.length > max ? ` … (${u8.length} bytes)` : '');
}

// Bytes shown as pretty JSON when they are JSON, as text when they are printable UTF-8, else hex.
function describeBytes(u8) {
  if (!u8) return '(none)';
  let text;
  try {
    text = new TextDecoder('utf-8', {fatal: true}).decode(u8);
  } catch {
    return hex(u8);
  }
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch { /* not JSON */
  }
  return /^[\P{C}\n\r\t]*$/u.test(text) ? text : hex(u8);
}

// The bytes a message form's text stands for, by its format.
function encodeInput(text, format) {
  if (format === 'hex') {
    const digits = text.replace(/\s+/g, '');
    if (!/^([0-9a-fA-F]{2})*$/.test(digits)) throw new Error('hex must be pairs of digits');
    return Uint8Array.from(digits.match(/../g) || [], (h) => parseInt(h, 16));
  }
  if (format === 'json') JSON.parse(text);  // throws on invalid JSON
  return new TextEncoder().encode(text);
}

function showError(where, error) {
  where.textContent = error.message || String(error);
  where.className = 'error';
}

// ----- Connection and sign-in

function onConnectionState(state, detail) {
  connection.textContent = state === 'open' ? 'connected' :
      state === 'unauthorized'              ? 'sign-in needed' :
                                              state;
  connection.className = `pill ${state === 'open' ? 'ok' : state === 'connecting' ? '' : 'bad'}`;
  if (state === 'unauthorized') {
    api.token = null;
    const error = document.getElementById('login-error');
    error.textContent = detail && !detail.includes('requires') ? detail : '';
    const dialog = document.getElementById('login');
    if (!dialog.open) dialog.showModal();
  }
  if (state === 'open') refreshServerInfo();
}

setInterval(() => {
  if (api.ws && api.ws.readyState === WebSocket.OPEN) refreshServerInfo();
}, 5000);



document.getElementById('login-form').addEventListener('submit', () => {
  api.token = document.getElementById('login-token').value;
  document.getElementById('login-token').value = '';
  route();
});

async function refreshServerInfo() {
  try {
    const [, info] = await api.call('GetServerInfo');
    serverInfo.textContent = `theater ${info.version} · ${info.actors} actors · up ${
        Math.round(info.uptime_ms / 1000)} s`;
  } catch { /* shown by the connection state */
  }
}

// ----- Actors

// The actors table, fed by the server's ActorsSnapshot pushes (WatchActors, one a second).
const actorsView = {
  sort: 'name',
  ascending: true,
  filter: '',
  rows: [],
  at: 0,
  rates: new Map(),
  events: new Map(),
  watch: null
};

const metric = (r, key) => (r[key] === undefined ? -1 : r[key]);
const actorColumns = [
  {
    key: 'id',
    label: 'id',
    value: (r) => r.id,
    render: (r) => el('a', {href: `#/actor/${r.id}`, class: 'mono'}, shortId(r.id))
  },
  {key: 'name', label: 'name', value: (r) => r.name},
  {key: 'phase', label: 'status', value: (r) => r.phase},
  {
    key: 'parent',
    label: 'parent',
    value: (r) => r.parent_id || '',
    render: (r) => r.parent_id ?
        el('a', {href: `#/actor/${r.parent_id}`, class: 'mono'}, shortId(r.parent_id)) :
        ''
  },
  {key: 'handlers', label: 'handlers', value: (r) => (r.handlers || []).join(', ')},
  {
    key: 'mailbox',
    label: 'mailbox',
    num: true,
    value: (r) => metric(r, 'mailbox_depth'),
    render: (r) => r.mailbox_depth ?? ''
  },
  {
    key: 'rate',
    label: 'events/s',
    num: true,
    value: (r) => actorsView.rates.get(r.id) ?? -1,
    render: (r) => actorsView.rates.has(r.id) ? actorsView.rates.get(r.id).toFixed(0) : ''
  },
  {
    key: 'events',
    label: 'events',
    num: true,
    value: (r) => metric(r, 'events'),
    render: (r) => r.events ?? ''
  },
  {
    key: 'memory',
    label: 'memory',
    num: true,
    value: (r) => metric(r, 'memory_bytes'),
    render: (r) => r.hibernated ? 'hibernated' : formatBytes(r.memory_bytes)
  },
];

function visibleActors() {
  const filter = actorsView.filter.toLowerCase();
  const column = actorColumns.find((c) => c.key === actorsView.sort) || actorColumns[1];
  const rows = actorsView.rows.filter(
      (r) => !filter || r.id.includes(filter) || r.name.toLowerCase().includes(filter) ||
          (r.phase || '').toLowerCase().includes(filter) ||
          (r.handlers || []).some((h) => h.includes(filter)));
  rows.sort((a, b) => {
    const x = column.value(a);
    const y = column.value(b);
    const order = x < y ? -1 : x > y ? 1 : 0;
    return actorsView.ascending ? order : -order;
  });
  return rows;
}

function renderActorsTable(table) {
  const head =
      el('tr', {},
         actorColumns.map(
             (c) =>
                 el('th', {
                   class: `${c.key === actorsView.sort ? 'sorted' : ''} ${
                       actorsView.ascending ? 'asc' : ''}`,
                   'data-column': c.key,
                   onclick: () => {
                     if (actorsView.sort === c.key)
                       actorsView.ascending = !actorsView.ascending;
                     else {
                       actorsView.sort = c.key;
                       actorsView.ascending = true;
                     }
                     renderActorsTable(table);
                   },
                 },
                    c.label)));
  const body = document.createDocumentFragment();
  for (const row of visibleActors()) {
    body.append(el(
        'tr', {'data-id': row.id},
        actorColumns.map(
            (c) =>
                el('td', {class: c.num ? 'num' : ''}, c.render ? c.render(row) : c.value(row)))));
  }
  table.replaceChildren(el('thead', {}, head), el('tbody', {}, body));
}

function onActorsSnapshot(snapshot, table, status) {
  const seconds = actorsView.at ? (snapshot.at_ms - actorsView.at) / 1000 : 0;
  for (const row of snapshot.actors) {
    const before = actorsView.events.get(row.id);
    if (seconds > 0 && before !== undefined && row.events !== undefined) {
      actorsView.rates.set(row.id, (row.events - before) / seconds);
    }
    if (row.events !== undefined) actorsView.events.set(row.id, row.events);
  }
  actorsView.at = snapshot.at_ms;
  actorsView.rows = snapshot.actors;
  status.textContent = `${snapshot.actors.length} actor${snapshot.actors.length === 1 ? '' : 's'}`;
  status.className = 'muted';
  renderActorsTable(table);
  document.body.dataset.actors = String(snapshot.actors.length);  // for the tests
}

function actorsPage() {
  const table = el('table', {id: 'actors'});
  const status = el('span', {class: 'muted', id: 'actors-status'}, 'loading…');
  const manifest = el('input', {
    type: 'text',
    id: 'start-manifest',
    size: 50,
    placeholder: 'manifest path, store://… or http(s)://…'
  });
  const startResult = el('span', {id: 'start-result'});
  const filter = el('input', {
    type: 'search',
    id: 'actors-filter',
    placeholder: 'filter by id, name, status or handler',
    value: actorsView.filter,
    oninput: (e) => {
      actorsView.filter = e.target.value;
      renderActorsTable(table);
    }
  });
  const start = el(
      'form', {
        class: 'toolbar',
        onsubmit: async (e) => {
          e.preventDefault();
          startResult.textContent = 'starting…';
          startResult.className = 'muted';
          try {
            const [, started] = await api.call(
                {StartActor: {manifest: manifest.value, parent: false, subscribe: false}});
            startResult.replaceChildren(
                'started ',
                el('a', {href: `#/actor/${started.id}`, class: 'mono', id: 'started-link'},
                   started.id));
            startResult.className = '';
          } catch (error) {
            showError(startResult, error);
          }
        }
      },
      manifest, el('button', {type: 'submit', class: 'primary', id: 'start-button'}, 'Start actor'),
      startResult);
  page.replaceChildren(
      el('h1', {}, 'Actors'), start, el('div', {class: 'toolbar'}, filter, status), table);
  renderActorsTable(table);
  const onPush = (name, fields) => {
    if (name === 'ActorsSnapshot') onActorsSnapshot(fields, table, status);
  };
  pushHandlers.add(onPush);
  actorsView.watch = {onPush, id: null};
  const watch = actorsView.watch;
  api.call({WatchActors: {interval_ms: 1000}}).then(([, w]) => {
    if (actorsView.watch === watch)
      watch.id = w.watch_id;
    else
      api.call({UnwatchActors: {watch_id: w.watch_id}}).catch(() => {});
  }, (error) => showError(status, error));
}

// ----- Supervision tree

async function treePage() {
  const holder = el('div', {id: 'tree'}, 'loading…');
  page.replaceChildren(el('h1', {}, 'Supervision tree'), holder);
  try {
    const [, list] = await api.call('ListActors');
    const rows = list.details || [];
    const children = new Map();
    const ids = new Set(rows.map((r) => r.id));
    for (const r of rows) {
      const parent = r.parent_id && ids.has(r.parent_id) ? r.parent_id : '';
      if (!children.has(parent)) children.set(parent, []);
      children.get(parent).push(r);
    }
    const build = (parent) =>
        el('ul', {class: 'tree'},
           (children.get(parent) || [])
               .map(
                   (r) =>
                       el('li', {}, el('a', {href: `#/actor/${r.id}`}, r.name), ' ',
                          el('span', {class: 'mono muted'}, shortId(r.id)), ' ',
                          el('span', {class: 'pill'}, r.phase),
                          children.has(r.id) ? build(r.id) : null)));
    holder.replaceChildren(
        rows.length ? build('') : el('p', {class: 'muted'}, 'No actor is running.'));
  } catch (error) {
    showError(holder, error);
  }
}

// ----- One actor

let actorSubscription = null;

// A payload decoded by the server (docs/chain-format.md, "Rendering") as one line.
function compact(value) {
  const text = JSON.stringify(value);
  return text && text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
function outcome(o) {
  if (!o) return '';
  return 'error' in o ? `error: ${o.error}` : `ok ${compact(o.ok)}`;
}
function summarize(decoded) {
  if (!decoded) return '';
  switch (decoded.kind) {
    case 'host-call':
      return `${decoded.interface}.${decoded.function}(${compact(decoded.input).slice(1, -1)}) -> ${
          outcome(decoded.output)}`;
    case 'export-call': {
      const state = decoded.new_state ? `, state ${decoded.new_state.size} B` : '';
      return `${decoded.function}(${compact(decoded.params).slice(1, -1)}) -> ${
          outcome(decoded.result)}${state}`;
    }
    case 'lifecycle':
      return `${decoded.step}: ${decoded.message}`;
    case 'log':
      return `[${decoded.level}] ${decoded.message}`;
    case 'initial-state':
      return `initial state from ${decoded.source}`;
    default:
      return `undecodable: ${decoded.error}`;
  }
}

function eventRow(index, event) {
  const time = new Date(event.timestamp).toISOString().replace('T', ' ').replace('Z', '');
  const line = summarize(event.decoded) + (event.description ? ` | ${event.description}` : '');
  return el(
      'div', {class: 'event', 'data-type': event.event_type},
      el('span', {class: 'muted'}, `#${index}`), el('span', {class: 'muted'}, time),
      el('span', {class: 'type'}, event.event_type),
      el('span', {class: 'payload', title: JSON.stringify(event.decoded, null, 2)}, line));
}

async function actorPage(id) {
  const title = el('h1', {}, 'Actor ', el('span', {class: 'mono'}, id));
  const summary = el('dl', {});
  const manifest = el('pre', {id: 'manifest'}, 'loading…');
  const state = el('pre', {id: 'state'}, 'loading…');
  const verify = el('span', {id: 'verify-result'});
  const events = el('div', {id: 'events'});
  const eventFilter = el('input', {
    type: 'search',
    id: 'events-filter',
    placeholder: 'filter events by type or text',
    oninput: () => applyEventFilter()
  });
  const eventCount = el('span', {class: 'muted', id: 'events-count'});
  const reply = el('pre', {id: 'message-reply'}, '');
  const messageText = el('textarea', {id: 'message-text', placeholder: 'message'});
  const messageFormat =
      el('select', {id: 'message-format'}, el('option', {value: 'text'}, 'text'),
         el('option', {value: 'json'}, 'JSON'), el('option', {value: 'hex'}, 'hex'));
  const actionResult = el('span', {id: 'action-result'});

  const applyEventFilter = () => {
    const f = eventFilter.value.toLowerCase();
    let shown = 0;
    for (const row of events.children) {
      const match = !f || row.textContent.toLowerCase().includes(f);
      row.style.display = match ? '' : 'none';
      if (match) shown++;
    }
    eventCount.textContent = `${shown} of ${events.children.length} events`;
  };

  const act = (label, command, after) =>
      el('button', {
        class: label === 'Stop' ? 'danger' : '',
        id: `action-${label.toLowerCase()}`,
        onclick: async () => {
          actionResult.textContent = `${label.toLowerCase()}…`;
          actionResult.className = 'muted';
          try {
            const [name] = await api.call(command);
            actionResult.textContent = name;
            if (after) after();
          } catch (error) {
            showError(actionResult, error);
          }
        }
      },
         label);

  const send = async (request) => {
    reply.textContent = '';
    let data;
    try {
      data = encodeInput(messageText.value, messageFormat.value);
    } catch (error) {
      showError(reply, error);
      return;
    }
    try {
      const command = request ? {RequestActorMessage: {id, data: toBase64(data)}} :
                                {SendActorMessage: {id, data: toBase64(data)}};
      const [name, fields] = await api.call(command);
      reply.className = '';
      reply.textContent = request ? describeBytes(bytes(fields.message)) : `${name}: queued`;
    } catch (error) {
      showError(reply, error);
    }
  };

  page.replaceChildren(
      title,
      el('div', {class: 'toolbar'}, act('Stop', {StopActor: {id}}),
         act('Restart', {RestartActor: {id}}, () => loadState()),
         el('button', {
           id: 'verify',
           onclick: async () => {
             verify.textContent = 'verifying…';
             verify.className = 'muted';
             try {
               const [, v] = await api.call({VerifyChain: {id}});
               verify.textContent = v.valid ? `verified: ${v.events} events` :
                                              `broken after ${v.events} events: ${v.error}`;
               verify.className = v.valid ? 'verified' : 'broken';
             } catch (error) {
               showError(verify, error);
             }
           }
         },
            'Verify chain'),
         verify, actionResult),
      el('div', {class: 'grid'}, el('div', {class: 'card'}, el('h2', {}, 'Status'), summary),
         el('div', {class: 'card'}, el('h2', {}, 'Manifest'), manifest),
         el('div', {class: 'card'}, el('h2', {}, 'State'), state),
         el('div', {class: 'card'}, el('h2', {}, 'Message'), messageText,
            el('div', {class: 'toolbar'}, messageFormat,
               el('button', {id: 'send', onclick: () => send(false)}, 'Send'),
               el('button', {id: 'request', class: 'primary', onclick: () => send(true)},
                  'Request')),
            reply)),
      el('h2', {}, 'Chain'), el('div', {class: 'toolbar'}, eventFilter, eventCount), events);

  const loadState = async () => {
    try {
      const [, s] = await api.call({GetActorState: {id}});
      state.textContent = describeBytes(bytes(s.state));
    } catch (error) {
      showError(state, error);
    }
  };
  const loadSummary = async () => {
    try {
      const [, status] = await api.call({GetActorStatus: {id}});
      const rows = [['status', status.status], ['phase', status.phase]];
      try {
        const [, m] = await api.call({GetActorMetrics: {id}});
        const metrics = m.metrics;
        rows.push(
            ['events', metrics.events], ['calls', metrics.calls], ['failures', metrics.failures],
            ['mailbox', metrics.mailbox_depth], ['memory', formatBytes(metrics.memory_bytes)],
            ['uptime', `${Math.round(metrics.uptime_ms / 1000)} s`]);
      } catch { /* a stopped actor has no metrics */
      }
      summary.replaceChildren(...rows.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
    } catch (error) {
      showError(summary, error);
    }
  };

  loadSummary();
  loadState();
  api.call({GetActorManifest: {id}}).then(([, m]) => {
    manifest.textContent = JSON.stringify(m.manifest, null, 2);
  }, (error) => showError(manifest, error));

  // The chain so far, page by page, then its new events as they are recorded.
  let next = 0;
  try {
    for (;;) {
      const [, pageOfEvents] = await api.call({
        GetActorEvents:
            {id, from_index: next, max_bytes: 1 << 20, byte_encoding: 'base64', decoded: true}
      });
      pageOfEvents.events.forEach(
          (e, i) => events.append(eventRow(pageOfEvents.first_index + i, e)));
      next = pageOfEvents.next_index;
      if (!pageOfEvents.more) break;
    }
    applyEventFilter();
  } catch (error) {
    showError(eventCount, error);
  }

  const onPush = (name, fields) => {
    if (name !== 'ActorEvent' || fields.actor_id !== id || !fields.event) return;
    if (fields.index !== undefined && fields.index < next) return;  // already read above
    next = (fields.index ?? next) + 1;
    const row = eventRow(fields.index ?? next - 1, fields.event);
    const f = eventFilter.value.toLowerCase();
    if (f && !row.textContent.toLowerCase().includes(f)) row.style.display = 'none';
    events.append(row);
    eventCount.textContent = `${events.children.length} events`;
    if (events.scrollHeight - events.scrollTop - events.clientHeight < 80)
      events.scrollTop = events.scrollHeight;
    loadSummaryThrottled();
  };
  let summaryPending = false;
  const loadSummaryThrottled = () => {
    if (summaryPending) return;
    summaryPending = true;
    setTimeout(() => {
      summaryPending = false;
      loadSummary();
      loadState();
    }, 200);
  };
  pushHandlers.add(onPush);
  try {
    const [, subscribed] =
        await api.call({SubscribeToActor: {id, byte_encoding: 'base64', decoded: true}});
    actorSubscription = {id, subscription_id: subscribed.subscription_id, onPush};
  } catch {
    actorSubscription = {id, onPush};
  }
}

// ----- Routing

function leavePage() {
  if (actorsView.watch) {
    pushHandlers.delete(actorsView.watch.onPush);
    if (actorsView.watch.id) {
      api.call({UnwatchActors: {watch_id: actorsView.watch.id}}).catch(() => {});
    }
    actorsView.watch = null;
  }
  if (actorSubscription) {
    pushHandlers.delete(actorSubscription.onPush);
    if (actorSubscription.subscription_id) {
      api.call({
           UnsubscribeFromActor:
               {id: actorSubscription.id, subscription_id: actorSubscription.subscription_id}
         })
          .catch(() => {});
    }
    actorSubscription = null;
  }
}

function route() {
  leavePage();
  const hash = location.hash || '#/';
  for (const a of document.querySelectorAll('header nav a')) {
    a.classList.toggle(
        'active',
        (hash.startsWith('#/tree') ? 'tree' :
             hash === '#/'         ? 'actors' :
                                     '') === a.dataset.page);
  }
  const actor = hash.match(/^#\/actor\/([0-9a-f-]{36})$/);
  if (actor)
    actorPage(actor[1]);
  else if (hash === '#/tree')
    treePage();
  else
    actorsPage();
}

window.addEventListener('hashchange', route);
api.connect();
route();
