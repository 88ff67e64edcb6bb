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
const idLink = (id) => el('a', {href: `#/actor/${id}`, class: 'mono'}, shortId(id));
const columns = [
  {key: 'id', label: 'id', value: (r) => r.id, render: (r) => idLink(r.id)},
  {key: 'name', label: 'name', value: (r) => r.name},
  {key: 'phase', label: 'status', value: (r) => r.phase},
  {
    key: 'parent',
    label: 'parent',
    value: (r) => r.parent_id || '',
    render: (r) => (r.parent_id ? idLink(r.parent_id) : '')
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
    value: (r) => view.rates.get(r.id) ?? -1,
    render: (r) => (view.rates.has(r.id) ? view.rates.get(r.id).toFixed(0) : '')
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
    render: (r) => (r.hibernated ? 'hibernated' : formatBytes(r.memory_bytes))
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

function renderTable(table) {
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
                     renderTable(table);
                   },
                 },
                    c.label)));
  const body = document.createDocumentFragment();
  for (const row of visibleRows()) {
    body.append(el(
        'tr', {'data-id': row.id},
        columns.map(
            (c) =>
                el('td', {class: c.num ? 'num' : ''}, c.render ? c.render(row) : c.value(row)))));
  }
  table.replaceChildren(el('thead', {}, head), el('tbody', {}, body));
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
