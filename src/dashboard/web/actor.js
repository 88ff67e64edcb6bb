// Theater dashboard: one actor — its status, manifest, state (now, or after any event of its
// chain, by replay), messages, requests and channels, and its chain as a live list.
import {toBase64} from './api.js';
import {api, pushHandlers} from './session.js';
import {bytes, describeBytes, el, encodeInput, eventRow, formatBytes, formatSelect, showDecodedOnHover, showError} from './ui.js';

// The chain list keeps the latest this many events on the page: an actor recording ten thousand
// events a second must not grow the page without bound.
const kMaxRows = 2000;
// The list is brought up to date ten times a second, with at most this many new rows each time;
// a faster stream shows its newest events, and says how many it left out.
const kFlushMs = 100;
const kRowsPerFlush = 250;
// The server sends the page at most this many of an actor's events a second, and counts the rest
// (docs/protocol.md, SubscribeToActor): a faster actor costs the server and the page no more.
const kMaxEventsPerSecond = 500;

function card(title, ...content) {
  return el('div', {class: 'card'}, el('h2', {}, title), ...content);
}

// The actor page; returns what leaving it must do.
export function actorPage(page, id) {
  const cleanups = [];
  const summary = el('dl', {id: 'summary'});
  const manifest = el('pre', {id: 'manifest'}, 'loading…');
  const permissions = el('dl', {id: 'permissions'});
  const state = el('pre', {id: 'state'}, 'loading…');
  const stateLabel = el('span', {class: 'muted', id: 'state-label'}, 'now');
  const slider = el('input', {type: 'range', id: 'state-slider', min: 0, max: 0, value: 0});
  const verify = el('span', {id: 'verify-result'});
  const actionResult = el('span', {id: 'action-result'});

  // ----- Status, manifest, state
  let total = 0;  // events in the chain, as far as the page knows
  const loadState = async () => {
    try {
      const [, s] = await api.call({GetActorState: {id}});
      state.textContent = describeBytes(bytes(s.state));
      stateLabel.textContent = 'now';
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
      } catch {
        // a stopped actor has no metrics
      }
      summary.replaceChildren(...rows.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
    } catch (error) {
      showError(summary, error);
    }
  };
  // The state after event #n, by replaying the chain up to it (docs/replay.md).
  const replayTo = async (n) => {
    stateLabel.textContent = `after event #${n} (replaying…)`;
    try {
      const [, r] = await api.call({ReplayActor: {id, until: n}});
      state.textContent = describeBytes(bytes(r.state));
      stateLabel.textContent = r.divergence ?
          `after event #${n}: replay diverged at #${r.divergence.index}` :
          `after event #${n}`;
    } catch (error) {
      showError(stateLabel, error);
    }
  };
  slider.addEventListener('change', () => {
    const n = Number(slider.value);
    if (n >= total - 1)
      loadState();
    else
      replayTo(n);
  });

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
        },
      },
         label);
  const verifyButton =
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
        },
      },
         'Verify chain');

  // ----- Messages and requests
  const messageText = el('textarea', {id: 'message-text', placeholder: 'message'});
  const messageFormat = formatSelect('message-format');
  const reply = el('pre', {id: 'message-reply'}, '');
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
      const encoded = toBase64(data);
      const [name, fields] = await api.call(
          request ? {RequestActorMessage: {id, data: encoded}} :
                    {SendActorMessage: {id, data: encoded}});
      reply.className = '';
      reply.textContent = request ? describeBytes(bytes(fields.message)) : `${name}: queued`;
    } catch (error) {
      showError(reply, error);
    }
  };

  // ----- A channel
  let channel = null;
  const unclaimed = [];  // ChannelMessage pushes that came before their channel's id
  const channelText = el('input', {type: 'text', id: 'channel-text', placeholder: 'message'});
  const channelFormat = formatSelect('channel-format');
  const channelLog = el('pre', {id: 'channel-log'}, '');
  const channelState = el('span', {id: 'channel-state', class: 'muted'}, 'no channel');
  const logLine = (line) => {
    channelLog.textContent += `${line}\n`;
  };
  const channelButton =
      el('button', {
        id: 'channel-open',
        onclick: async () => {
          try {
            if (channel) {
              await api.call({CloseChannel: {channel_id: channel}});
              logLine('— closed');
              channel = null;
            } else {
              const data = encodeInput(channelText.value, channelFormat.value);
              const [, opened] = await api.call(
                  {OpenChannel: {actor_id: {Actor: id}, initial_message: toBase64(data)}});
              channel = opened.channel_id;
              logLine(`— opened ${channel}`);
              // The accept message may have been read together with the reply, before this.
              for (const early of unclaimed.splice(0)) {
                if (early.channel_id === channel)
                  logLine(`< ${describeBytes(bytes(early.message))}`);
              }
            }
          } catch (error) {
            logLine(`error: ${error.message}`);
          }
          channelState.textContent = channel ? `channel ${channel.slice(0, 8)}` : 'no channel';
          channelButton.textContent = channel ? 'Close channel' : 'Open channel';
        },
      },
         'Open channel');
  const channelSend =
      el('button', {
        id: 'channel-send',
        onclick: async () => {
          if (!channel) return logLine('open a channel first');
          try {
            const data = encodeInput(channelText.value, channelFormat.value);
            await api.call({SendOnChannel: {channel_id: channel, message: toBase64(data)}});
            logLine(`> ${describeBytes(data)}`);
          } catch (error) {
            logLine(`error: ${error.message}`);
          }
        },
      },
         'Send on channel');

  // ----- The log: the lines among the listed events that record one (the server marks them:
  // `log` on a decoded event), as `theater logs` prints them.
  const log = el('div', {id: 'log', class: 'log'});
  const logCount = el('span', {class: 'muted', id: 'log-count'}, 'no lines yet');
  const appendLogLines = (items) => {
    const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 80;
    const fragment = document.createDocumentFragment();
    for (const item of items) {
      if (item.event && typeof item.event.log === 'string') {
        fragment.append(el('div', {class: 'logline', 'data-index': item.index}, item.event.log));
      }
    }
    if (!fragment.childNodes.length) return;
    log.append(fragment);
    while (log.children.length > kMaxRows) log.firstElementChild.remove();
    if (atBottom) log.scrollTop = log.scrollHeight;
    logCount.textContent = `${log.children.length} lines`;
  };

  // ----- The chain
  const events = el('div', {id: 'events'});
  const eventFilter = el(
      'input', {type: 'search', id: 'events-filter', placeholder: 'filter events by type or text'});
  const eventCount = el('span', {class: 'muted', id: 'events-count'});
  const matches = (row, f) => !f || row.textContent.toLowerCase().includes(f);
  let notSent = 0;  // events the server counted but did not send (max_events_per_s)
  const updateCount = () => {
    const shown = events.querySelectorAll('.event:not([hidden])').length;
    const rows = events.children.length;
    const skipped = notSent ?
        `; ${notSent} not sent to this page, which gets at most ${kMaxEventsPerSecond} a second` :
        '';
    eventCount.textContent =
        (rows < total ? `${shown} shown of the latest ${rows} of ${total} events` :
                        `${shown} of ${total} events`) +
        skipped;
    slider.max = Math.max(0, total - 1);
    if (Number(slider.value) >= total - 2) slider.value = slider.max;
  };

  eventFilter.addEventListener('input', () => {
    const f = eventFilter.value.toLowerCase();
    for (const row of events.children) row.hidden = !matches(row, f);
    updateCount();
  });
  // New rows are added ten times a second, however fast they come.
  let pending = [];
  let timer = 0;
  const flush = () => {
    timer = 0;
    let batch = pending;
    pending = [];
    let skipped = 0;
    if (batch.length > kRowsPerFlush) {
      skipped = batch.slice(0, -kRowsPerFlush).reduce((n, item) => n + (item.gap || 1), 0);
      batch = batch.slice(-kRowsPerFlush);
    }
    const f = eventFilter.value.toLowerCase();
    const atBottom = events.scrollHeight - events.scrollTop - events.clientHeight < 80;
    const fragment = document.createDocumentFragment();
    if (skipped) {
      const gap =
          el('div', {class: 'event gap'},
             `${skipped} events recorded meanwhile are not listed (the list keeps up ` +
                 'with the newest)');
      gap.hidden = !matches(gap, f);
      fragment.append(gap);
    }
    for (const item of batch) {
      const row = item.gap ? el('div', {class: 'event gap'},
                                `${item.gap} events were not sent to this page (it fell behind)`) :
                             eventRow(item.index, item.event);
      row.hidden = !matches(row, f);
      fragment.append(row);
    }
    events.append(fragment);
    while (events.children.length > kMaxRows) events.firstElementChild.remove();
    appendLogLines(batch);
    if (atBottom) events.scrollTop = events.scrollHeight;
    updateCount();
  };
  const queue = (item) => {
    pending.push(item);
    if (!timer) timer = setTimeout(flush, kFlushMs);
  };
  showDecodedOnHover(events);

  page.replaceChildren(
      el('h1', {}, 'Actor ', el('span', {class: 'mono'}, id)),
      el('div', {class: 'toolbar'}, act('Stop', {StopActor: {id}}),
         act('Restart', {RestartActor: {id}}, () => loadState()), verifyButton, verify,
         actionResult),
      el('div', {class: 'grid'}, card('Status', summary), card('Manifest', manifest),
         card('Permissions', permissions),
         card('State', el('div', {class: 'toolbar'}, slider, stateLabel), state),
         card(
             'Message', messageText,
             el('div', {class: 'toolbar'}, messageFormat,
                el('button', {id: 'send', onclick: () => send(false)}, 'Send'),
                el('button', {id: 'request', class: 'primary', onclick: () => send(true)},
                   'Request')),
             reply),
         card(
             'Channel', el('div', {class: 'toolbar'}, channelText, channelFormat),
             el('div', {class: 'toolbar'}, channelButton, channelSend, channelState), channelLog)),
      el('h2', {}, 'Log'), el('div', {class: 'toolbar'}, logCount), log, el('h2', {}, 'Chain'),
      el('div', {class: 'toolbar'}, eventFilter, eventCount), events);

  loadSummary();
  loadState();
  api.call({GetActorManifest: {id}}).then(([, m]) => {
    manifest.textContent = JSON.stringify(m.manifest, null, 2);
    // What the actor may do: its handlers (each the permission to use it) and the policy that
    // narrows them (docs/permissions.md).
    const handlers = (m.manifest.handler || []).map((h) => h.type);
    const policy = m.manifest.permission_policy || {};
    permissions.replaceChildren(
        el('dt', {}, 'handlers'),
        el('dd', {},
           handlers.length ? handlers.join(', ') :
                             'none declared (auto_handlers: those its imports need)'),
        el('dt', {}, 'policy'),
        el('dd', {},
           Object.keys(policy).length ? el('pre', {}, JSON.stringify(policy, null, 2)) :
                                        'none: what its parent and the server allow'));
  }, (error) => showError(manifest, error));

  // Pushes: the actor's new events, and its channel's messages.
  let next = 0;  // the index of the next event the list expects
  let refresh = 0;
  const onPush = (name, fields) => {
    if (name === 'ChannelMessage') {
      if (fields.channel_id === channel) {
        logLine(`< ${describeBytes(bytes(fields.message))}`);
      } else if (unclaimed.length < 16) {
        unclaimed.push(fields);  // perhaps the channel being opened (see channelButton)
      }
      return;
    }
    if (name === 'ChannelClosed' && fields.channel_id === channel) {
      logLine(`— closed by the ${fields.closed_by || 'actor'}`);
      channel = null;
      channelButton.textContent = 'Open channel';
      channelState.textContent = 'no channel';
      return;
    }
    if (name !== 'ActorEvent' || fields.actor_id !== id) return;
    if (!fields.event) {
      if (fields.limited) {
        notSent += fields.dropped;  // said in the count, not as rows between the events
        if (!timer) timer = setTimeout(flush, kFlushMs);
      } else {
        queue({gap: fields.dropped});
      }
      return;
    }
    if (fields.index !== undefined && fields.index < next) return;  // already listed
    const index = fields.index ?? next;
    next = index + 1;
    total = Math.max(total, next);
    queue({index, event: fields.event});
    if (!refresh) {
      // Status and state follow the stream, once a second at most.
      refresh = setTimeout(() => {
        refresh = 0;
        loadSummary();
        if (stateLabel.textContent === 'now') loadState();
      }, 1000);
    }
  };
  pushHandlers.add(onPush);
  let subscription = null;
  let left = false;
  cleanups.push(() => {
    left = true;
    pushHandlers.delete(onPush);
    if (timer) clearTimeout(timer);
    if (refresh) clearTimeout(refresh);
    if (subscription) {
      api.call({UnsubscribeFromActor: {id, subscription_id: subscription}}).catch(() => {});
    }
    if (channel) api.call({CloseChannel: {channel_id: channel}}).catch(() => {});
  });

  // The latest events so far (at most kMaxRows), then the new ones as they are recorded.
  (async () => {
    try {
      let from = 0;
      try {
        const [, m] = await api.call({GetActorMetrics: {id}});
        from = Math.max(0, m.metrics.events - kMaxRows);
      } catch {
        // a stopped actor: its saved chain is read from the start, the list keeps the latest
      }
      next = from;
      for (;;) {
        const [, got] = await api.call({
          GetActorEvents:
              {id, from_index: next, max_bytes: 1 << 20, byte_encoding: 'base64', decoded: true}
        });
        got.events.forEach((e, i) => queue({index: got.first_index + i, event: e}));
        next = got.next_index;
        total = Math.max(total, next);
        if (!got.more || left) break;
      }
      if (left) return;
      const [, subscribed] = await api.call({
        SubscribeToActor:
            {id, byte_encoding: 'base64', decoded: true, max_events_per_s: kMaxEventsPerSecond}
      });
      subscription = subscribed.subscription_id;
      if (left)
        api.call({UnsubscribeFromActor: {id, subscription_id: subscription}}).catch(() => {});
    } catch (error) {
      showError(eventCount, error);
    }
  })();
  return () => cleanups.forEach((f) => f());
}
