/**
 * GET /ui/: the dashboard, one self-contained page (no CDN, no build step). The page holds no
 * data, so it is served to anyone; it asks for a user and password and reads
 * /api/v1/events with them (fetch with an Authorization header: EventSource cannot send one),
 * so it shows what the API would show that user. Trouble first, colour for state, one column
 * on a phone.
 */
import type { Router } from '../http/router.js';

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Lighthouse</title>
<style>
body{font:15px/1.4 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1d232b}
header{background:#1d232b;color:#fff;padding:.6em 1em;display:flex;gap:1em;align-items:center;flex-wrap:wrap}
header h1{font-size:1.1em;margin:0}#conn{font-size:.85em;opacity:.8}
main{padding:1em;max-width:1100px;margin:auto}
form{display:flex;gap:.5em;flex-wrap:wrap;margin:2em auto;max-width:420px}
input,button{font:inherit;padding:.4em .6em}
.card{background:#fff;border-radius:6px;box-shadow:0 1px 2px #0002;margin:.5em 0;padding:.6em .8em;border-left:6px solid #999}
.card.operational{border-color:#2e9e4f}.card.unhealthy,.card.down{border-color:#d63b3b}.card.unknown,.card.held{border-color:#e0a100}
.row{display:flex;gap:1em;flex-wrap:wrap;align-items:baseline}.name{font-weight:600}
.state{font-weight:600;text-transform:uppercase;font-size:.8em;padding:.1em .5em;border-radius:3px;color:#fff;background:#999}
.operational .state{background:#2e9e4f}.unhealthy .state,.down .state{background:#d63b3b}.unknown .state{background:#e0a100}
.meta{color:#5a6470;font-size:.85em}ul{margin:.3em 0;padding-left:1.2em}
#log li{font-size:.85em}
</style></head><body>
<header><h1>Lighthouse</h1><span id="conn">not connected</span></header>
<main>
<form id="login"><input id="user" placeholder="user" autocomplete="username" required><input id="pw" type="password" placeholder="password" autocomplete="current-password" required><button>Sign in</button><span id="err"></span></form>
<section id="board" hidden><div id="entries"></div><h2>Last transitions</h2><ul id="log"></ul></section>
</main>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const RANK = { unhealthy: 0, down: 0, unknown: 1, operational: 2 };
const prev = new Map();
function el(tag, cls, text) { const e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined) e.textContent = String(text); return e; }
function key(e) { return e.type + ':' + e.name + ':' + (e.port ?? ''); }
function render(view) {
  const list = [...view.result].sort((a, b) => (RANK[a.state] ?? 1) - (RANK[b.state] ?? 1) || key(a).localeCompare(key(b)));
  const box = $('entries'); box.replaceChildren();
  for (const e of list) {
    const c = el('div', 'card ' + e.state + (e.flap_hold ? ' held' : ''));
    c.dataset.key = key(e); c.dataset.state = e.state;
    const r = el('div', 'row');
    r.append(el('span', 'name', e.name + (e.port ? ':' + e.port : '')), el('span', 'state', e.state), el('span', 'meta', e.node + (e.since ? ' · since ' + new Date(e.since).toLocaleTimeString() : '')));
    if (e.availability && e.availability.state !== 'enabled') r.append(el('span', 'meta', 'availability: ' + e.availability.state));
    if (e.flap_hold) r.append(el('span', 'meta', 'held by flap damping'));
    c.append(r);
    const items = e.checks ? e.checks.map((k) => k.name + ': ' + (k.passing ? 'passing' : 'failing') + (k.detail ? ' (' + k.detail + ')' : '')) : (e.nodes || []).map((n) => n.name + ' ' + n.state + (n.weight !== null ? ' w' + n.weight : ''));
    if (items.length) { const u = el('ul'); for (const t of items) u.append(el('li', 'meta', t)); c.append(u); }
    box.append(c);
    const was = prev.get(key(e));
    if (was && was !== e.state) {
      const why = e.checks ? e.checks.filter((k) => !k.passing).map((k) => k.detail).filter(Boolean).join('; ') : '';
      const li = el('li', '', new Date().toLocaleTimeString() + ' ' + e.name + (e.port ? ':' + e.port : '') + ' ' + was + ' → ' + e.state + (why ? ' (' + why + ')' : ''));
      $('log').prepend(li);
    }
    prev.set(key(e), e.state);
  }
  if (!list.length) box.append(el('p', 'meta', 'Nothing to show for your roles.'));
}
async function follow(auth) {
  for (;;) {
    try {
      const res = await fetch('/api/v1/events', { headers: { authorization: auth } });
      if (res.status === 401 || res.status === 429) { $('err').textContent = res.status === 429 ? 'too many attempts, wait a minute' : 'wrong user or password'; $('login').hidden = false; $('board').hidden = true; return; }
      $('login').hidden = true; $('board').hidden = false; $('conn').textContent = 'live';
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let i;
        while ((i = buf.indexOf('\\n\\n')) >= 0) {
          const msg = buf.slice(0, i); buf = buf.slice(i + 2);
          const data = msg.split('\\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\\n');
          if (data) render(JSON.parse(data));
        }
      }
    } catch (err) { /* reconnect below */ }
    $('conn').textContent = 'reconnecting…';
    await new Promise((r) => setTimeout(r, 2000));
  }
}
$('login').addEventListener('submit', (ev) => {
  ev.preventDefault(); $('err').textContent = '';
  follow('Basic ' + btoa(unescape(encodeURIComponent($('user').value + ':' + $('pw').value))));
});
</script></body></html>
`;

export function mountDashboard(router: Router): void {
  const page = () => ({ status: 200, body: PAGE, headers: { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'", 'x-frame-options': 'DENY' } });
  // (/ui and /ui/ are one route: the router ignores empty segments)
  router.add('GET', '/ui/', 'public', page);
}
