// mepserver inspector: reads the JSON API under /api/ and the event stream
// /api/inspector/stream. Plain JavaScript, no framework, no build step.
//
// Safety: everything the server reports (stanzas, payloads, nicks, JIDs)
// is untrusted. It only ever reaches the page as text nodes or attribute
// values set through the DOM (textContent, setAttribute), never as HTML,
// and XML is never parsed into elements, only cut into text tokens. The
// server's Content-Security-Policy forbids inline script as a second line
// of defence.
'use strict';

(() => {
  const MAX_KEPT = 1000;   // stanzas kept in memory
  const MAX_ROWS = 300;    // stanzas shown at once
  const REFRESH_DELAY = 200;    // after a change, before refreshing
  const REFRESH_GAP = 500;      // at least this between two refreshes
  const REFRESH_EVERY = 5000;
  const OPEN_ROOMS = 5;         // rooms shown open by default, if no more

  let token = sessionStorage.getItem('mepserver-token') || '';
  let lastSeq = 0;
  let paused = false;
  let held = 0;
  let dropped = 0;
  const stanzas = [];
  const openState = new Map();
  let refreshTimer = null;
  let lastRefresh = 0;
  let refreshing = false;
  let refreshAgain = false;

  const $ = (id) => document.getElementById(id);

  // DOM building: text only.

  function el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === 'class') node.className = value;
      else node.setAttribute(name, value === true ? '' : String(value));
    }
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function tags(values, kind) {
    return (values || []).map((value) => el('span', {class: 'tag ' + (kind || '')}, value));
  }

  function details(key, summary, openByDefault, ...content) {
    const open = openState.has(key) ? openState.get(key) : openByDefault;
    const node = el('details', {'data-key': key, open: open}, el('summary', {}, summary), ...content);
    node.addEventListener('toggle', () => {
      const was = openState.has(key) ? openState.get(key) : openByDefault;
      openState.set(key, node.open);
      if (node.open && !was) scheduleRefresh();
    });
    return node;
  }

  function table(headings, rows, rowAttributes) {
    return el('table', {},
      el('thead', {}, el('tr', {}, headings.map((h) => el('th', {}, h)))),
      el('tbody', {}, rows.map((cells, i) =>
        el('tr', rowAttributes ? rowAttributes[i] : {}, cells.map((c) => el('td', {}, c))))));
  }

  // XML, pretty-printed as text. A tokenizer, not DOMParser: a parsed
  // document would still hold live elements (an XHTML <img> in a payload
  // tries to load), and this text is only ever shown.

  function prettyXml(text) {
    // The server's serialiser escapes '<' and '>' in text and attribute
    // values, so a tag is '<' to the next '>'; a cut stanza ends anywhere.
    const tokens = text.match(/<[^>]*>?|[^<]+/g) || [];
    const lines = [];
    let depth = 0;
    const pad = () => '  '.repeat(depth);
    for (let i = 0; i < tokens.length; i++) {
      const token = tokens[i];
      if (token.startsWith('</')) {
        depth = Math.max(0, depth - 1);
        lines.push(pad() + token);
      } else if (token.startsWith('<')) {
        const next = tokens[i + 1];
        const after = tokens[i + 2];
        if (token.endsWith('/>') || !token.endsWith('>')) {
          lines.push(pad() + token);
        } else if (next !== undefined && next.startsWith('</')) {
          lines.push(pad() + token + next);
          i += 1;
        } else if (next !== undefined && !next.startsWith('<') && after !== undefined && after.startsWith('</')) {
          lines.push(pad() + token + next + after);
          i += 2;
        } else {
          lines.push(pad() + token);
          depth += 1;
        }
      } else if (token.trim()) {
        lines.push(pad() + token.trim());
      }
    }
    return lines.join('\n');
  }

  // The API.

  function headers() {
    return token ? {Authorization: 'Bearer ' + token} : {};
  }

  function needToken() {
    $('token-form').hidden = false;
  }

  async function api(path) {
    const response = await fetch('/api/' + path, {headers: headers(), cache: 'no-store'});
    if (response.status === 401) {
      needToken();
      throw new Error('this server wants its [http] token');
    }
    const body = await response.json();
    if (!response.ok) throw new Error(body.message || ('HTTP ' + response.status));
    return body;
  }

  // Sessions.

  function tlsText(tls) {
    if (!tls.secure) return 'none';
    return [tls.how, tls.version].filter(Boolean).join(', ');
  }

  function smText(sm) {
    if (!sm) return 'off';
    const state = sm.hibernating ? 'hibernating' : (sm.resumable ? 'resumable' : 'on');
    return `${state}; in ${sm.inbound}, out ${sm.sent}, acked ${sm.acked}, unacked ${sm.unacked}`;
  }

  function capsCell(caps, state) {
    if (!caps) return el('span', {class: 'muted'}, state ? state.reason : 'no caps');
    const status = state ? state.code : (caps.status || 'unknown');
    const good = status === 'verified' || status === 'unverified';
    return [
      el('div', {}, 'node ', el('code', {}, caps.node)),
      el('div', {}, 'ver ', el('code', {}, caps.ver), ` (${caps.hash}) `,
        el('span', {class: good ? 'ok caps-status' : 'bad caps-status', 'data-status': status}, status)),
      caps.computed ? el('div', {}, 'its answer hashes to ', el('code', {}, caps.computed)) : null,
      caps.error ? el('div', {class: 'bad'}, caps.error) : null,
      state && !good ? el('div', {class: 'hint'}, state.reason) : null,
      caps.features ? details('features ' + caps.ver, `${caps.features.length} features`, false,
        el('ul', {}, caps.features.map((f) => el('li', {}, el('code', {}, f))))) : null,
    ];
  }

  function renderSessions(body) {
    const sessions = body.sessions;
    $('session-count').textContent = `(${sessions.length})`;
    const list = $('sessions-list');
    if (!sessions.length) {
      list.replaceChildren(el('p', {class: 'empty'}, 'No session.'));
      return;
    }
    list.replaceChildren(table(
      ['JID', 'transport', 'TLS', 'SASL', 'presence', 'stream management', 'carbons', 'caps', 'rooms'],
      sessions.map((s) => [
        el('span', {class: 'jid'}, s.jid),
        [s.transport, s.peer ? el('div', {class: 'hint'}, s.peer) : null],
        tlsText(s.tls),
        s.sasl || '—',
        [s.available ? `available (${s.priority})` : 'not available', s.active ? '' : ', inactive (CSI)'],
        smText(s.streamManagement),
        s.carbons ? 'on' : 'off',
        capsCell(s.caps, null),
        s.rooms.map((r) => el('div', {}, el('span', {class: 'jid'}, r.room), ' as ', r.nick)),
      ]),
      sessions.map((s) => ({class: 'session', 'data-jid': s.jid}))));
  }

  // Rooms.

  function deliveriesTable(deliveries) {
    return table(
      ['nick', 'session', 'delivered', 'code', 'reason'],
      deliveries.map((d) => [
        d.nick === null ? '—' : d.nick,
        el('span', {class: 'jid'}, d.jid),
        el('span', {class: d.delivered ? 'ok' : 'bad'}, d.delivered ? 'yes' : 'no'),
        el('code', {class: 'code'}, d.code),
        el('span', {class: 'reason'}, d.reason),
      ]),
      deliveries.map((d) => ({class: 'delivery', 'data-jid': d.jid, 'data-code': d.code,
        'data-delivered': String(d.delivered)})));
  }

  function renderService(room, service) {
    const title = service.occupant === null ? "The room's nodes" : `Nodes of ${service.occupant}`;
    if (!service.nodes.length) return null;
    return el('div', {class: 'service', 'data-service': service.jid},
      el('h4', {}, title, ' ', el('span', {class: 'jid'}, service.jid)),
      service.nodes.map((node) => details(`node ${service.jid} ${node.node}`,
        [el('code', {}, node.node), ` — ${node.items.length} item(s)`], true,
        node.subscriptions.length ? el('div', {}, 'explicit subscriptions: ', tags(node.subscriptions)) : null,
        node.items.map((item) => el('div', {class: 'item', 'data-item': item.id},
          el('div', {class: 'hint'}, `item ${item.id}, published ${item.published} by ${item.publisher}`),
          el('pre', {class: 'payload'}, item.payload === null ? '(no payload)' : prettyXml(item.payload)))))));
  }

  function roomSummary(room) {
    return [el('span', {class: 'jid'}, room.jid), room.name ? ` — ${room.name}` : '',
      ` (${room.occupants.length === undefined ? room.occupants : room.occupants.length} occupant(s)` +
      `${room.locked ? ', locked' : ''}${room.persistent ? ', persistent' : ''})`];
  }

  function renderClosedRoom(room) {
    // Only open rooms are fetched in full.
    return el('div', {class: 'card room', 'data-room': room.jid},
      details('room ' + room.jid, roomSummary(room), false, el('p', {class: 'hint'}, 'loading…')));
  }

  function renderRoom(room, openByDefault) {
    const occupants = room.occupants.map((o) => [
      o.nick, o.role, o.affiliation, el('span', {class: 'jid'}, o.realJID), el('code', {}, o.occupantId),
      o.sessions.map((s) => el('div', {class: 'occupant-session', 'data-jid': s.jid},
        el('div', {class: 'jid'}, s.jid),
        capsCell(s.caps, s.capsState),
        el('div', {}, 'interests: ', s.interests.length ? tags(s.interests, 'ns') : 'none'))),
    ]);
    const config = Object.entries(room.config).map(([key, value]) =>
      [el('code', {}, key), Array.isArray(value) ? value.join(', ') : String(value)]);
    return el('div', {class: 'card room', 'data-room': room.jid},
      details('room ' + room.jid, roomSummary(room), openByDefault,
        room.subject ? el('div', {}, 'subject: ', room.subject) : null,
        details('config ' + room.jid, 'configuration', false, table(['field', 'value'], config)),
        el('h3', {}, 'Occupants'),
        room.occupants.length
          ? table(['nick', 'role', 'affiliation', 'real JID', 'occupant id', 'sessions'], occupants,
            room.occupants.map((o) => ({class: 'occupant', 'data-nick': o.nick})))
          : el('p', {class: 'empty'}, 'Nobody.'),
        el('h3', {}, 'MEP nodes'),
        room.services.map((s) => renderService(room, s)),
        el('h3', {}, 'Recent publications'),
        room.publications.length ? room.publications.map((p) =>
          el('div', {class: 'publication', 'data-node': p.node, 'data-item': p.item, 'data-service': p.service},
            el('div', {}, 'item ', el('code', {}, p.item), ' of ', el('code', {}, p.node), ' at ',
              el('span', {class: 'jid'}, p.service), `, ${p.published}`),
            deliveriesTable(p.deliveries))) : el('p', {class: 'empty'}, 'None recorded.')));
  }

  async function refresh() {
    if (refreshing) {
      refreshAgain = true;
      return;
    }
    refreshing = true;
    lastRefresh = Date.now();
    try {
      try {
        renderSessions(await api('sessions'));
      } catch (e) {
        // A component has no sessions (its host has them).
        $('sessions-list').replaceChildren(el('p', {class: 'empty'}, e.message));
      }
      const rooms = (await api('rooms')).rooms;
      $('room-count').textContent = `(${rooms.length})`;
      $('room-names').replaceChildren(...rooms.map((r) => el('option', {value: r.jid})));
      const openByDefault = rooms.length <= OPEN_ROOMS;
      const cards = [];
      for (const room of rooms) {
        const key = 'room ' + room.jid;
        if (!(openState.has(key) ? openState.get(key) : openByDefault)) {
          cards.push(renderClosedRoom(room));
          continue;
        }
        try {
          cards.push(renderRoom(await api('inspector/rooms/' + encodeURIComponent(room.jid)), openByDefault));
        } catch (e) {
          // Gone meanwhile.
        }
      }
      $('rooms-list').replaceChildren(...(cards.length ? cards : [el('p', {class: 'empty'}, 'No room.')]));
    } catch (e) {
      // Shown by the stream's status; the next refresh tries again.
    } finally {
      refreshing = false;
      if (refreshAgain) {
        refreshAgain = false;
        scheduleRefresh();
      }
    }
  }

  function scheduleRefresh() {
    if (refreshTimer === null) {
      const wait = Math.max(REFRESH_DELAY, lastRefresh + REFRESH_GAP - Date.now());
      refreshTimer = setTimeout(() => {
        refreshTimer = null;
        refresh();
      }, wait);
    }
  }

  // The explainer.

  async function explain(event) {
    event.preventDefault();
    const room = $('explain-room').value.trim();
    const node = $('explain-node').value.trim();
    const item = $('explain-item').value.trim();
    const occupant = $('explain-occupant').value.trim();
    const result = $('explain-result');
    let path = `rooms/${encodeURIComponent(room)}/nodes/${encodeURIComponent(node)}` +
      `/items/${encodeURIComponent(item)}/deliveries`;
    if (occupant) path += '?occupant=' + encodeURIComponent(occupant);
    try {
      const body = await api(path);
      result.replaceChildren(
        el('p', {}, 'Item ', el('code', {}, body.item), ' of ', el('code', {}, body.node), ' in ',
          el('span', {class: 'jid'}, body.room), ':'),
        deliveriesTable(body.deliveries));
    } catch (e) {
      result.replaceChildren(el('p', {class: 'bad'}, e.message));
    }
  }

  // The stanza stream.

  function matches(entry) {
    const jid = $('filter-jid').value.trim().toLowerCase();
    const room = $('filter-room').value.trim().toLowerCase();
    const ns = $('filter-ns').value.trim().toLowerCase();
    if (jid && ![entry.session, entry.from, entry.to].some((a) => a && a.toLowerCase().includes(jid))) return false;
    if (room && !entry.rooms.some((r) => r.toLowerCase().includes(room))) return false;
    if (ns && !entry.namespaces.some((n) => n.toLowerCase().includes(ns))) return false;
    return true;
  }

  function stanzaRow(entry) {
    const arrow = entry.direction === 'in' ? 'client → server' : 'server → client';
    return el('div', {class: 'stanza', 'data-seq': entry.seq, 'data-direction': entry.direction,
      'data-session': entry.session},
      el('div', {class: 'meta'},
        el('span', {class: 'dir'}, arrow), ' ', el('span', {class: 'jid'}, entry.session), ' · ',
        entry.name, entry.type ? `[${entry.type}]` : '', ' · ', new Date(entry.time * 1000).toISOString(),
        entry.from ? [' · from ', el('span', {class: 'jid'}, entry.from)] : null,
        entry.to ? [' · to ', el('span', {class: 'jid'}, entry.to)] : null, ' ',
        tags(entry.namespaces, 'ns')),
      el('pre', {class: 'xml'}, entry.truncated ? entry.xml + '\n… (cut)' : prettyXml(entry.xml)));
  }

  function renderStanzas() {
    const shown = [];
    for (let i = stanzas.length - 1; i >= 0 && shown.length < MAX_ROWS; i--) {
      if (matches(stanzas[i])) shown.push(stanzaRow(stanzas[i]));
    }
    $('stanzas').replaceChildren(...shown);
    $('stanza-count').textContent = `(${stanzas.length} kept)`;
  }

  function addStanza(entry) {
    lastSeq = Math.max(lastSeq, entry.seq);
    stanzas.push(entry);
    if (stanzas.length > MAX_KEPT) stanzas.splice(0, stanzas.length - MAX_KEPT);
    if (paused) {
      held += 1;
      $('held').textContent = `${held} new while paused`;
      return;
    }
    const list = $('stanzas');
    if (matches(entry)) {
      list.prepend(stanzaRow(entry));
      while (list.childElementCount > MAX_ROWS) list.lastElementChild.remove();
    }
    $('stanza-count').textContent = `(${stanzas.length} kept)`;
  }

  function setStatus(state, text) {
    const status = $('stream-status');
    status.dataset.state = state;
    status.textContent = text;
  }

  function dispatch(block) {
    let event = 'message';
    let data = '';
    for (const line of block.split('\n')) {
      if (line.startsWith('event: ')) event = line.slice(7);
      else if (line.startsWith('data: ')) data += line.slice(6);
    }
    if (!data) return;
    const payload = JSON.parse(data);
    if (event === 'hello') {
      setStatus('live', 'live');
      $('buffer-info').textContent = `The server keeps the last ${payload.size} stanzas ` +
        (payload.always ? '(recording always).' : '(recording while a page is open).');
    } else if (event === 'stanza') {
      addStanza(payload);
      scheduleRefresh();
    } else if (event === 'publication') {
      scheduleRefresh();
    } else if (event === 'dropped') {
      dropped += payload.count;
      $('buffer-info').textContent = `${dropped} stanza(s) were dropped while this page lagged behind.`;
    }
  }

  async function stream() {
    setStatus('connecting', 'connecting…');
    try {
      const response = await fetch('/api/inspector/stream?since=' + lastSeq,
        {headers: headers(), cache: 'no-store'});
      if (response.status === 401) {
        needToken();
        setStatus('error', 'token needed');
        return;
      }
      if (response.status === 503) {
        // No stream here (a component), or too many pages open.
        const body = await response.json();
        setStatus('error', body.message);
        setTimeout(stream, 30000);
        return;
      }
      if (!response.ok) throw new Error('HTTP ' + response.status);
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = '';
      for (;;) {
        const {value, done} = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, {stream: true});
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          dispatch(block);
        }
      }
    } catch (e) {
      // Reconnect below.
    }
    setStatus('error', 'disconnected, reconnecting…');
    setTimeout(stream, 2000);
  }

  // Wiring.

  function start() {
    $('token-form').addEventListener('submit', (event) => {
      event.preventDefault();
      token = $('token').value.trim();
      sessionStorage.setItem('mepserver-token', token);
      $('token-form').hidden = true;
      refresh();
      stream();
    });
    $('explain-form').addEventListener('submit', explain);
    for (const id of ['filter-jid', 'filter-room', 'filter-ns']) {
      $(id).addEventListener('input', renderStanzas);
    }
    $('pause').addEventListener('click', () => {
      paused = !paused;
      $('pause').textContent = paused ? 'Resume' : 'Pause';
      if (!paused) {
        held = 0;
        $('held').textContent = '';
        renderStanzas();
      }
    });
    $('clear').addEventListener('click', () => {
      stanzas.length = 0;
      renderStanzas();
    });
    refresh();
    setInterval(refresh, REFRESH_EVERY);
    stream();
  }

  start();
})();
