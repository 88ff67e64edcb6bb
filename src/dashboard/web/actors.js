// Theater dashboard: the actors table (live, from the server's ActorsSnapshot pushes; in a
// lattice also the other hosts' actors and the hosts themselves) and the supervision tree.
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
  events: new Map(),
  // In a lattice (theater server --cluster): this host's name, and the other hosts' actors
  // (from ListActors every 2 s: no metrics, as another host knows them).
  lattice: null,
  remote: []
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
  {
    key: 'host',
    label: 'host',
    lattice: true,
    value: (r) => r.host || (view.lattice ? view.lattice.self : ''),
    show: (r) => r.host || (view.lattice ? view.lattice.self : '')
  },
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

// The columns shown: the host's only in a lattice.
const shownColumns = () => columns.filter((c) => !c.lattice || view.lattice);

function visibleRows() {
  const filter = view.filter.toLowerCase();
  const column = shownColumns().find((c) => c.key === view.sort) || columns[1];
  const matches = (r) => !filter || r.id.includes(filter) ||
      r.name.toLowerCase().includes(filter) || (r.phase || '').toLowerCase().includes(filter) ||
      (r.handlers || []).some((h) => h.includes(filter)) ||
      (r.host || '').toLowerCase().includes(filter);
  const rows = view.rows.concat(view.remote).filter(matches);
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
         shownColumns().map(
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
  const shown = shownColumns();
  const order = [];
  for (const row of rows) {
    let entry = rowCache.get(row.id);
    if (!entry) {
      const cells = shown.map((c) => el('td', {class: c.num ? 'num' : ''}));
      entry = {tr: el('tr', {'data-id': row.id}, cells), cells, keys: shown.map(() => undefined)};
      rowCache.set(row.id, entry);
    }
    shown.forEach((c, i) => {
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
  const alive = new Set(view.rows.concat(view.remote).map((r) => r.id));
  for (const id of rowCache.keys()) {
    if (!alive.has(id)) rowCache.delete(id);
  }
}

// "3 actors", or in a lattice "3 actors here, 2 on other hosts".
function countText(here) {
  const text = `${here} actor${here === 1 ? '' : 's'}`;
  return view.lattice ? `${text} here, ${view.remote.length} on other hosts` : text;
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
  status.textContent = countText(n);
  status.className = 'muted';
  renderTable(table);
  document.body.dataset.actors = String(n);  // the browser test waits for it
}

// The hosts of the lattice, as this host hears them.
function renderHosts(holder, hosts) {
  const age = (h) => (h.self ? '-' : `${(h.heartbeat_age_ms / 1000).toFixed(1)} s ago`);
  holder.replaceChildren(
      el('h2', {}, 'Hosts'),
      el('table', {id: 'hosts'},
         el('thead', {},
            el('tr', {}, ['host', 'actors', 'load', 'heartbeat', 'management'].map(
                             (label) => el('th', {}, label)))),
         el('tbody', {},
            hosts.map(
                (h) => el('tr', {'data-host': h.host_id},
                          el('td', {}, h.self ? `${h.host_id} (this host)` : h.host_id),
                          el('td', {class: 'num'}, String(h.actors)),
                          el('td', {class: 'num'}, Number(h.load).toFixed(2)),
                          el('td', {}, age(h)), el('td', {class: 'mono'}, h.management_address))))));
}

// In a lattice: the hosts, and the other hosts' actors in the table, every 2 s. Returns the
// interval to clear, or null outside a lattice (ListHosts then says so, and nothing changes).
async function followLattice(table, hostsHolder, status) {
  let hosts;
  try {
    [, hosts] = await api.call('ListHosts');
  } catch (error) {
    return null;  // not in a lattice
  }
  view.lattice = {self: hosts.host_id};
  rowCache.clear();
  renderHead(table);
  const refresh = async () => {
    try {
      const [, listed] = await api.call('ListHosts');
      renderHosts(hostsHolder, listed.hosts || []);
      const [, actors] = await api.call('ListActors');
      view.remote = (actors.details || []).filter((d) => d.host && d.host !== view.lattice.self);
      renderTable(table);
      if (document.body.dataset.actors !== undefined) {
        status.textContent = countText(Number(document.body.dataset.actors));
      }
    } catch (error) {
      showError(hostsHolder, error);
    }
  };
  await refresh();
  return setInterval(refresh, 2000);
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
  const hostsHolder = el('div', {id: 'lattice'});
  page.replaceChildren(
      el('h1', {}, 'Actors'), start, el('div', {class: 'toolbar'}, filter, status), table,
      hostsHolder);
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
  let latticeTimer = null;
  followLattice(table, hostsHolder, status).then((timer) => {
    if (left) {
      if (timer) clearInterval(timer);
    } else {
      latticeTimer = timer;
    }
  });
  return () => {
    left = true;
    pushHandlers.delete(onPush);
    if (watchId) api.call({UnwatchActors: {watch_id: watchId}}).catch(() => {});
    if (latticeTimer) clearInterval(latticeTimer);
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
