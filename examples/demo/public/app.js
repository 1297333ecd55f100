// The demo page: a chat on a resumable session (ws6455/browser), the server's statistics and the
// slow reader. Plain JavaScript, no build step; the library comes from /lib/ws6455-browser.js.
import { ReconnectingWebSocket } from '/lib/ws6455-browser.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const pageId = Math.random().toString(36).slice(2, 10);
let counter = 0;
let room = /^[\w-]{1,32}$/.test(params.get('room') ?? '') ? params.get('room') : 'lobby';
$('name').value = params.get('name') ?? sessionStorage.getItem('ws6455-demo-name') ?? `guest-${pageId.slice(0, 4)}`;
$('name').addEventListener('change', () => sessionStorage.setItem('ws6455-demo-name', $('name').value.trim()));

// What this page sent and received, for the eye and for the browser test (window.demo).
const seen = new Set();
const demo = (window.demo = { state: 'connecting', sessionId: null, sent: [], acknowledged: 0, received: [], duplicates: 0, resumed: 0, resets: 0, server: null });

// ---- connection state --------------------------------------------------------------------
let countdown = null;
function setState(kind, text) {
  clearInterval(countdown);
  countdown = null;
  const el = $('state');
  el.className = `state ${kind}`;
  el.textContent = text;
  demo.state = text;
}
function reconnectingIn(ms) {
  const until = Date.now() + ms;
  const tick = () => {
    const left = Math.max(0, Math.ceil((until - Date.now()) / 1000));
    $('state').textContent = left > 0 ? `reconnecting in ${left} s` : 'reconnecting…';
    demo.state = 'reconnecting';
  };
  setState('reconnecting', '');
  tick();
  countdown = setInterval(tick, 250);
}

const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/chat`;
const socket = new ReconnectingWebSocket(url, { session: true, minDelay: 500, maxDelay: 4000 });

socket.on('session', ({ id, resumed }) => {
  demo.sessionId = id;
  if (resumed) {
    demo.resumed += 1;
    setState('open', demo.resumed > 1 ? `resumed (${demo.resumed}×)` : 'resumed');
  } else {
    setState('open', 'open');
  }
  // The server learns the room again (a new session), or sends the room's recent lines again
  // (a resumed one): after a restart, a line published before this session was back on the
  // server reached the room's history but not this session. Lines already shown are skipped.
  send({ t: 'join', room });
  refreshPending();
});
socket.on('close', (code, _reason, willReconnect) => {
  if (!willReconnect) setState('closed', `closed (${code})`);
  else setState('reconnecting', `disconnected (${code})`);
});
socket.on('reconnecting', (_attempt, delay) => reconnectingIn(delay));
socket.on('reset', (err, rejected) => {
  // The session could not be resumed (e.g. it expired): a new one starts. Chat lines it had not
  // acknowledged go out again; they keep their ids, so the server keeps one copy of each.
  demo.resets += 1;
  note(`session lost (${err.code}); a new one started${rejected.length ? `, ${rejected.length} unacknowledged message(s) sent again` : ''}`);
  for (const r of rejected) {
    if (typeof r.data === 'string' && r.data.includes('"t":"say"')) socket.send(r.data).then(acked, () => {});
  }
});
socket.on('message', (data, isBinary) => {
  if (isBinary) return;
  const m = JSON.parse(data);
  if (m.t === 'msg') show(m, true);
  else if (m.t === 'joined' && m.room === room) {
    demo.server = m.server;
    for (const line of m.history) show(line, false);
  } else if (m.t === 'presence' && m.room === room) {
    $('members').textContent = `${m.members} member${m.members === 1 ? '' : 's'}`;
  }
});
addEventListener('pagehide', () => socket.close(1000, 'page closed'));

function send(message) {
  return socket.send(JSON.stringify({ ...message, name: $('name').value.trim() }));
}
function acked() {
  demo.acknowledged += 1;
  refreshPending();
}
function refreshPending() {
  const n = socket.unacknowledged;
  $('pending').textContent = n > 0
    ? `${n} message${n === 1 ? '' : 's'} waiting for the server's acknowledgement (kept and resent on reconnection)`
    : 'Every message is numbered and kept until the server acknowledges it: stop the server, keep typing, start it again.';
}

// ---- chat ----------------------------------------------------------------------------------
function show(m, live) {
  if (m.room !== room) return;
  if (seen.has(m.id)) {
    // A room's history overlaps what was shown; the same line twice from the session would not.
    if (live) demo.duplicates += 1;
    return;
  }
  seen.add(m.id);
  demo.received.push(m.id);
  const log = $('log');
  const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  const li = document.createElement('li');
  const from = document.createElement('span');
  from.className = 'from';
  from.textContent = m.from;
  const meta = document.createElement('span');
  meta.className = 'meta';
  meta.textContent = `${new Date(m.at).toLocaleTimeString()} via ${m.server}`;
  li.append(from, document.createTextNode(m.text), meta);
  li.dataset.at = String(m.at);
  // In time order: lines from the history may be older than the last one shown.
  let next = log.lastElementChild;
  while (next !== null && Number(next.dataset.at) > m.at) next = next.previousElementSibling;
  log.insertBefore(li, next === null ? log.firstElementChild : next.nextElementSibling);
  while (log.children.length > 500) log.firstElementChild.remove();
  if (atBottom) log.scrollTop = log.scrollHeight;
}
function note(text) {
  const li = document.createElement('li');
  li.className = 'note';
  li.dataset.at = String(Date.now());
  li.textContent = text;
  $('log').append(li);
  $('log').scrollTop = $('log').scrollHeight;
}

function enter(next) {
  room = next;
  $('room-name').textContent = `#${room}`;
  $('say-input').placeholder = `Message #${room}`;
  $('members').textContent = '… members';
  $('log').replaceChildren();
  seen.clear();
  for (const b of document.querySelectorAll('[data-room]')) b.setAttribute('aria-pressed', String(b.dataset.room === room));
  const u = new URL(location.href);
  u.searchParams.set('room', room);
  history.replaceState(null, '', u);
  // The first join goes out when the session is established (see 'session').
  if (demo.sessionId !== null) send({ t: 'join', room });
}
for (const b of document.querySelectorAll('[data-room]')) b.addEventListener('click', () => enter(b.dataset.room));
$('room-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const next = $('room-input').value.trim();
  if (/^[\w-]{1,32}$/.test(next)) enter(next);
  $('room-input').value = '';
});
$('say-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const text = $('say-input').value.trim();
  if (text === '') return; // nothing to say
  const id = `${pageId}-${++counter}`;
  demo.sent.push(id);
  // Resolves when the server acknowledged it; while the server is away it waits in the session.
  send({ t: 'say', room, id, text }).then(acked, () => {});
  $('say-input').value = '';
  refreshPending();
});
enter(room);

// ---- statistics ----------------------------------------------------------------------------
const fmt = new Intl.NumberFormat('en');
function bytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}
function uptime(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  return s < 120 ? `${s} s` : s < 7200 ? `${Math.round(s / 60)} min` : `${Math.round(s / 3600)} h`;
}
async function poll() {
  try {
    const s = await (await fetch('/stats.json', { cache: 'no-store' })).json();
    demo.stats = s;
    $('server').textContent = `server ${s.server.label}${s.server.cluster ? ' · cluster' : ''} · up ${uptime(Date.now() - s.server.startedAt)}`;
    $('server').title = `The server this tab is on: pid ${s.server.pid}, started ${new Date(s.server.startedAt).toLocaleTimeString()}`;
    document.querySelector('.stats').classList.remove('stale');
    $('s-connections').textContent = fmt.format(s.stats.connections);
    $('s-sessions').textContent = fmt.format(s.sessions);
    $('s-min').textContent = fmt.format(s.rates.messagesIn);
    $('s-mout').textContent = fmt.format(s.rates.messagesOut);
    $('s-bin').textContent = bytes(s.rates.bytesIn);
    $('s-bout').textContent = bytes(s.rates.bytesOut);
    $('s-dropped').textContent = fmt.format(s.stats.broadcastDropped);
    $('s-bp').textContent = fmt.format(s.stats.backpressureEvents);
    $('s-totals').textContent = `${fmt.format(s.stats.messagesIn)} messages in, ${fmt.format(s.stats.messagesOut)} out, ${bytes(s.stats.bytesIn)} in, ${bytes(s.stats.bytesOut)} out`;
    const codes = Object.entries(s.stats.closeCodes);
    const box = $('s-codes');
    box.replaceChildren();
    // Closed by one of this server's own policies (the peer may never have answered: 1006).
    for (const [reason, n] of Object.entries(s.stats.localCloses)) if (n > 0) codes.push([reason, n]);
    if (codes.length === 0) box.textContent = 'none yet';
    for (const [code, n] of codes) {
      const span = document.createElement('span');
      span.className = 'code';
      span.textContent = `${code} ×${n}`;
      span.title = CLOSE_NAMES[code] ?? '';
      box.append(span);
    }
    const h = s.history.map((r) => r.messagesIn + r.messagesOut);
    const max = Math.max(1, ...h);
    const points = h.map((v, i) => `${(i / Math.max(1, h.length - 1)) * 120},${23 - (v / max) * 22}`).join(' ');
    $('spark').querySelector('polyline').setAttribute('points', points);
    showSlow(s.slow);
    if (s.server.cluster && !document.querySelector('footer a.other')) {
      const port = Number(location.port);
      const other = document.createElement('a');
      other.className = 'other';
      other.href = `${location.protocol}//${location.hostname}:${port % 2 === 0 ? port + 1 : port - 1}/`;
      other.textContent = `the other server (${other.host})`;
      document.querySelector('footer').replaceChildren('Cluster: room messages cross to ', other, ' through Redis.');
    }
  } catch {
    $('server').textContent = 'server unreachable';
    document.querySelector('.stats').classList.add('stale');
  }
}
const CLOSE_NAMES = { 1000: 'normal', 1001: 'going away', 1006: 'no close frame', 1008: 'policy', 1012: 'restart', 1013: 'try again later (backpressure)', 4001: 'session replaced', 4002: 'session ended' };
setInterval(poll, 1000);
poll();

// ---- slow reader ---------------------------------------------------------------------------
function showSlow(r) {
  const el = $('slow-result');
  $('slow-button').disabled = r.state === 'running';
  if (r.state === 'idle') return;
  const parts = [`${r.offered} × 16 KiB offered`, `${r.sent} sent at once`];
  if (r.policy === 'queue') parts.push(`${r.queued} queued (at most ${r.maxQueued} waiting)`);
  if (r.dropped > 0 || r.policy !== 'close') parts.push(`${r.dropped} dropped`);
  if (r.closed) parts.push("then closed with 1013 (its socket destroyed 1 s later)");
  const held = r.closed ? '' : `; at most ${bytes(r.maxBuffered)} held in its socket's buffer`;
  el.textContent = `${r.state === 'running' ? `running (${r.policy})…` : `${r.policy}:`} ${parts.join(', ')}${held}`;
}
$('slow-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  $('slow-button').disabled = true;
  const r = await fetch(`/slow?policy=${$('slow-policy').value}`, { method: 'POST' });
  showSlow(await r.json());
});
