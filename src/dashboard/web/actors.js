// Theater dashboard: the actors table (live, from the server's ActorsSnapshot pushes) and the
// supervision tree.
import {api, pushHandlers} from './session.js';
import {el, formatBytes, shortId, showError} from './ui.js';

// What the table shows, kept across visits to the page (sort order, filter, rates).
const view = {
  sort: 'name',
  ascending: true,
  filter: '',
  rows: [],
  at: 0,
  rates: new Map(),
  events: new Map()
};

const metric = (r, key) => (r[key] === undefined ? -1 : r[key]);
const actorHref = (id) => (id ? `#/actor/${id}` : null);
// Each column: `value` orders the rows, `show` is the cell's text, `href` (when given) makes the
// cell a link.
const columns = [
  {
    key: 'id',
    label: 'id',
    value: (r) => r.id,
    show: (r) => shortId(r.id),
    href: (r) => actorHref(r.id)
  },
  {key: 'name', label: 'name', value: (r) => r.name, show: (r) => r.name},
  {key: 'phase', label: 'status', value: (r) => r.phase, show: (r) => r.phase},
  {
    key: 'parent',
    label: 'parent',
    value: (r) => r.parent_id || '',
    show: (r) => shortId(r.parent_id),
    href: (r) => actorHref(r.parent_id)
  },
  {
    key: 'handlers',
    label: 'handlers',
    value: (r) => (r.handlers || []).join(', '),
    show: (r) => (r.handlers || []).join(', ')
  },
  {
    key: 'mailbox',
    label: 'mailbox',
    num: true,
    value: (r) => metric(r, 'mailbox_depth'),
    show: (r) => String(r.mailbox_depth ?? '')
  },
  {
    key: 'rate',
    label: 'events/s',
    num: true,
    value: (r) => view.rates.get(r.id) ?? -1,
    show: (r) => (view.rates.has(r.id) ? view.rates.get(r.id).toFixed(0) : '')
  },
  {
    key: 'events',
    label: 'events',
    num: true,
    value: (r) => metric(r, 'events'),
    show: (r) => String(r.events ?? '')
  },
  {
    key: 'memory',
    label: 'memory',
    num: true,
    value: (r) => metric(r, 'memory_bytes'),
    show: (r) => (r.hibernated ? 'hibernated' : formatBytes(r.memory_bytes))
  },
];

function visibleRows() {
  const filter = view.filter.toLowerCase();
  const column = columns.find((c) => c.key === view.sort) || columns[1];
  const matches = (r) => !filter || r.id.includes(filter) ||
      r.name.toLowerCase().includes(filter) || (r.phase || '').toLowerCase().includes(filter) ||
      (r.handlers || []).some((h) => h.includes(filter));
  const rows = view.rows.filter(matches);
  rows.sort((a, b) => {
    const x = column.value(a);
    const y = column.value(b);
    const order = x < y ? -1 : x > y ? 1 : 0;
    return view.ascending ? order : -order;
  });
  return rows;
}

// The table's rows by actor id, kept from one snapshot to the next: a snapshot of a thousand
// actors then changes the cells whose values changed and moves rows whose place changed, instead
// of building ten thousand elements every second.
const rowCache = new Map();  // id -> {tr, keys: [per column], cells: [td]}

function renderHead(table) {
  const head =
      el('tr', {},
         columns.map(
             (c) =>
                 el('th', {
                   class: `${c.key === view.sort ? 'sorted' : ''} ${view.ascending ? 'asc' : ''}`,
                   'data-column': c.key,
                   onclick: () => {
                     if (view.sort === c.key) {
                       view.ascending = !view.ascending;
                     } else {
                       view.sort = c.key;
                       view.ascending = true;
                     }
                     renderHead(table);
                     renderTable(table);
                   },
                 },
                    c.label)));
  const thead = table.tHead || table.createTHead();
  thead.replaceChildren(head);
}

function renderTable(table) {
  if (!table.tHead) renderHead(table);
  const tbody = table.tBodies[0] || table.appendChild(document.createElement('tbody'));
  const rows = visibleRows();
  const order = [];
  for (const row of rows) {
    let entry = rowCache.get(row.id);
    if (!entry) {
      const cells = columns.map((c) => el('td', {class: c.num ? 'num' : ''}));
      entry = {tr: el('tr', {'data-id': row.id}, cells), cells, keys: columns.map(() => undefined)};
      rowCache.set(row.id, entry);
    }
    columns.forEach((c, i) => {
      const text = c.show(row);
      const href = c.href ? c.href(row) : null;
      const key = href ? `${text}\n${href}` : text;
      if (entry.keys[i] === key) return;
      entry.keys[i] = key;
      if (href) {
        entry.cells[i].replaceChildren(el('a', {href, class: 'mono'}, text));
      } else {
        entry.cells[i].textContent = text;
      }
    });
    order.push(entry.tr);
  }
  // Rows in the new order; those no longer shown leave the table.
  const current = tbody.children;
  let same = current.length === order.length;
  for (let i = 0; same && i < order.length; i++) same = current[i] === order[i];
  if (!same) tbody.replaceChildren(...order);
  const alive = new Set(view.rows.map((r) => r.id));
  for (const id of rowCache.keys()) {
    if (!alive.has(id)) rowCache.delete(id);
  }
}

function onSnapshot(snapshot, table, status) {
  const seconds = view.at ? (snapshot.at_ms - view.at) / 1000 : 0;
  for (const row of snapshot.actors) {
    const before = view.events.get(row.id);
    if (seconds > 0 && before !== undefined && row.events !== undefined) {
      view.rates.set(row.id, (row.events - before) / seconds);
    }
    if (row.events !== undefined) view.events.set(row.id, row.events);
  }
  view.at = snapshot.at_ms;
  view.rows = snapshot.actors;
  const n = snapshot.actors.length;
  status.textContent = `${n} actor${n === 1 ? '' : 's'}`;
  status.className = 'muted';
  renderTable(table);
  document.body.dataset.actors = String(n);  // the browser test waits for it
}

// The actors page; returns what leaving it must do.
export function actorsPage(page) {
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
    value: view.filter,
    placeholder: 'filter by id, name, status or handler',
    oninput: (e) => {
      view.filter = e.target.value;
      renderTable(table);
    },
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
        },
      },
      manifest, el('button', {type: 'submit', class: 'primary', id: 'start-button'}, 'Start actor'),
      startResult);
  page.replaceChildren(
      el('h1', {}, 'Actors'), start, el('div', {class: 'toolbar'}, filter, status), table);
  renderTable(table);

  const onPush = (name, fields) => {
    if (name === 'ActorsSnapshot') onSnapshot(fields, table, status);
  };
  pushHandlers.add(onPush);
  let watchId = null;
  let left = false;
  api.call({WatchActors: {interval_ms: 1000}}).then(([, w]) => {
    watchId = w.watch_id;
    if (left) api.call({UnwatchActors: {watch_id: watchId}}).catch(() => {});
  }, (error) => showError(status, error));
  return () => {
    left = true;
    pushHandlers.delete(onPush);
    if (watchId) api.call({UnwatchActors: {watch_id: watchId}}).catch(() => {});
  };
}

// The supervision tree: every running actor under its parent.
export function treePage(page) {
  const holder = el('div', {id: 'tree'}, 'loading…');
  page.replaceChildren(el('h1', {}, 'Supervision tree'), holder);
  api.call('ListActors').then(([, list]) => {
    const rows = list.details || [];
    const ids = new Set(rows.map((r) => r.id));
    const children = new Map();
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
  }, (error) => showError(holder, error));
  return () => {};
}
