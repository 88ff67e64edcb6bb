// Theater dashboard: the connection's state, signing in, and the pages by address
// (#/ actors, #/tree, #/actor/<id>).
import {actorPage} from './actor.js';
import {actorsPage, treePage} from './actors.js';
import {api, stateHandlers} from './session.js';

const page = document.getElementById('page');
const connection = document.getElementById('connection');
const serverInfo = document.getElementById('server-info');

async function refreshServerInfo() {
  try {
    const [, info] = await api.call('GetServerInfo');
    serverInfo.textContent = `theater ${info.version} · ${info.actors} actors · up ${
        Math.round(info.uptime_ms / 1000)} s`;
  } catch {
    // shown by the connection's state
  }
}

stateHandlers.add((state, detail) => {
  const labels = {open: 'connected', unauthorized: 'sign-in needed'};
  connection.textContent = labels[state] || state;
  connection.className = `pill ${state === 'open' ? 'ok' : state === 'connecting' ? '' : 'bad'}`;
  if (state === 'unauthorized') {
    api.token = null;
    const error = document.getElementById('login-error');
    error.textContent = detail && detail.includes('wrong token') ? detail : '';
    const dialog = document.getElementById('login');
    if (!dialog.open) dialog.showModal();
  }
  if (state === 'open') refreshServerInfo();
});

setInterval(() => {
  if (api.ws && api.ws.readyState === WebSocket.OPEN) refreshServerInfo();
}, 5000);

// The token goes to the server in the first command of the connection (docs/protocol.md,
// "Tokens"), and is kept for this tab only (sessionStorage), never in the address.
document.getElementById('login-form').addEventListener('submit', () => {
  api.token = document.getElementById('login-token').value;
  document.getElementById('login-token').value = '';
  route();
});

let leave = () => {};

function route() {
  leave();
  const hash = location.hash || '#/';
  const current = hash.startsWith('#/tree') ? 'tree' : hash === '#/' ? 'actors' : '';
  for (const a of document.querySelectorAll('header nav a')) {
    a.classList.toggle('active', a.dataset.page === current);
  }
  const actor = hash.match(/^#\/actor\/([0-9a-f-]{36})$/);
  if (actor) {
    leave = actorPage(page, actor[1]);
  } else if (hash === '#/tree') {
    leave = treePage(page);
  } else {
    leave = actorsPage(page);
  }
}

window.addEventListener('hashchange', route);
api.connect();
route();
