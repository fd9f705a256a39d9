/**
 * GET /ui/: the dashboard, one self-contained page (no CDN, no build step). The page holds no
 * data, so it is served to anyone; it asks for a user and password and reads /api/v1/events
 * with them (fetch with an Authorization header: EventSource cannot send one), so it shows
 * what the API would show that user. Trouble first, colour for state, a summary line on top,
 * one column on a phone. Everything from the API is put in with textContent, never as HTML.
 */
import type { Router } from '../http/router.js';

const STYLE = `
:root{--ok:#1f8a46;--bad:#d12f2f;--warn:#c98a00;--mute:#6b7480;--bg:#f3f5f8;--card:#fff;--ink:#18202a}
*{box-sizing:border-box}[hidden]{display:none!important}body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;background:var(--bg);color:var(--ink)}
header{background:#18202a;color:#fff;padding:.7em 1em;display:flex;gap:.8em;align-items:center;flex-wrap:wrap}
header h1{font-size:1.05em;margin:0;font-weight:650}#where{opacity:.75;font-size:.85em}
#conn{margin-left:auto;font-size:.8em;opacity:.85}#conn.live::before{content:"●";color:#4cd07d;margin-right:.3em}
#summary{display:flex;gap:.4em;flex-wrap:wrap}
.pill{font-size:.8em;font-weight:650;padding:.15em .6em;border-radius:99px;color:#fff;background:var(--mute);white-space:nowrap}
.pill.bad{background:var(--bad)}.pill.warn{background:var(--warn)}.pill.ok{background:var(--ok)}
main{padding:1em;max-width:1200px;margin:auto}
form{display:flex;flex-direction:column;gap:.6em;margin:3em auto;max-width:320px;background:var(--card);padding:1.2em;border-radius:8px;box-shadow:0 1px 3px #0002}
input,button{font:inherit;padding:.55em .7em;border:1px solid #c7cdd4;border-radius:5px}button{background:#18202a;color:#fff;border:0;cursor:pointer}
#err{color:var(--bad);min-height:1.2em;font-size:.9em}
#entries{display:grid;grid-template-columns:repeat(auto-fill,minmax(330px,1fr));gap:.7em}
.card{background:var(--card);border-radius:8px;box-shadow:0 1px 2px #0002;padding:.7em .9em;border-left:7px solid var(--mute)}
.card.bad{border-color:var(--bad);background:#fff5f5}.card.warn{border-color:var(--warn);background:#fffaf0}.card.ok{border-color:var(--ok)}
.top{display:flex;gap:.6em;align-items:baseline;flex-wrap:wrap}.name{font-weight:650;font-size:1.05em;word-break:break-all}
.card .pill{margin-left:auto}.card.ok .pill{background:var(--ok)}.card.bad .pill{background:var(--bad)}.card.warn .pill{background:var(--warn)}
.meta{color:var(--mute);font-size:.85em}.why{color:var(--bad);font-size:.88em}
ul{margin:.4em 0 0;padding:0;list-style:none}li{font-size:.88em;padding:.1em 0}
.dot{display:inline-block;width:.65em;height:.65em;border-radius:50%;margin-right:.45em;background:var(--mute)}
.dot.ok{background:var(--ok)}.dot.bad{background:var(--bad)}.dot.warn{background:var(--warn)}
h2{font-size:.95em;margin:1.4em 0 .4em;color:var(--mute);text-transform:uppercase;letter-spacing:.04em}
#log{background:var(--card);border-radius:8px;padding:.5em .9em;box-shadow:0 1px 2px #0002}#log li{border-bottom:1px solid #eef0f3}
#log .t{color:var(--mute);margin-right:.5em;font-variant-numeric:tabular-nums}
@media (max-width:600px){main{padding:.5em}#entries{grid-template-columns:1fr}}
`;

const SCRIPT = `
"use strict";
const $ = (id) => document.getElementById(id);
// trouble first: down, then warnings (flap hold, not enabled, unknown), then fine
const TONE = { unhealthy: 'bad', down: 'bad', unknown: 'warn', operational: 'ok' };
const RANK = { bad: 0, warn: 1, ok: 2 };
const prev = new Map();
function el(tag, cls, text) { const e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined) e.textContent = String(text); return e; }
function key(e) { return e.type + ':' + e.name + ':' + (e.port ?? ''); }
function tone(e) {
  const t = TONE[e.state] || 'warn';
  if (t === 'ok' && (e.flap_hold || (e.availability && e.availability.state !== 'enabled'))) return 'warn';
  return t;
}
function ago(iso) {
  if (!iso) return '';
  const s = Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 1000));
  const d = s < 60 ? s + ' s' : s < 3600 ? Math.round(s / 60) + ' min' : s < 86400 ? Math.round(s / 3600) + ' h' : Math.round(s / 86400) + ' d';
  return new Date(iso).toLocaleTimeString() + ' (' + d + ' ago)';
}
function why(e) { return e.checks ? e.checks.filter((k) => !k.passing && k.detail).map((k) => k.name + ': ' + k.detail).join('; ') : ''; }
function render(view) {
  const list = [...view.result].sort((a, b) => RANK[tone(a)] - RANK[tone(b)] || key(a).localeCompare(key(b)));
  const box = $('entries'); box.replaceChildren();
  const count = { bad: 0, warn: 0, ok: 0 };
  for (const e of list) {
    const t = tone(e); count[t]++;
    const c = el('div', 'card ' + t);
    c.dataset.key = key(e); c.dataset.state = e.state;
    if (e.type === 'cluster') c.dataset.members = String(e.members);
    const top = el('div', 'top');
    top.append(el('span', 'name', e.name + (e.port ? ':' + e.port : '')), el('span', 'pill', e.type === 'cluster' ? e.state + ' · ' + e.members + ' node' + (e.members === 1 ? '' : 's') : e.state));
    c.append(top);
    const since = e.type === 'cluster' ? (e.checked ? 'changed ' + ago(e.checked) : '') : e.since ? 'since ' + ago(e.since) : '';
    c.append(el('div', 'meta', e.node + (since ? ' · ' + since : '')));
    if (e.flap_hold) c.append(el('div', 'why', 'held by flap damping'));
    if (e.availability && e.availability.state !== 'enabled') c.append(el('div', 'why', 'availability: ' + e.availability.state + ' (' + e.availability.effect + ')'));
    if (why(e)) c.append(el('div', 'why', why(e)));
    const u = el('ul');
    for (const k of e.checks || []) { const li = el('li'); li.append(el('span', 'dot ' + (k.passing ? 'ok' : 'bad')), document.createTextNode(k.name + ' ' + (k.passing ? 'passing' : 'failing') + (k.elapsed ? ' · ' + Math.round(k.elapsed * 1000) + ' ms' : ''))); u.append(li); }
    for (const n of e.nodes || []) { const li = el('li'); li.append(el('span', 'dot ' + (n.state === 'up' ? 'ok' : n.state === 'drain' ? 'warn' : n.state === 'down' ? 'bad' : '')), document.createTextNode(n.name + (n.name.endsWith(':' + n.port) ? '' : ' (' + n.address + ':' + n.port + ')') + ' · ' + n.state + (n.weight !== null ? ' · weight ' + n.weight : ''))); u.append(li); }
    if (u.childElementCount) c.append(u);
    box.append(c);
    // a cluster's change is its node count as much as its state
    const now = e.type === 'cluster' ? e.state + ', ' + e.members + ' node' + (e.members === 1 ? '' : 's') : e.state;
    const was = prev.get(key(e));
    if (was && was !== now) {
      const li = el('li'); li.append(el('span', 't', new Date().toLocaleTimeString()), document.createTextNode(e.name + (e.port ? ':' + e.port : '') + ' ' + was + ' → ' + now + (why(e) ? ' (' + why(e) + ')' : '')));
      $('log').prepend(li);
      while ($('log').childElementCount > 50) $('log').lastChild.remove();
    }
    prev.set(key(e), now);
  }
  if (!list.length) box.append(el('p', 'meta', 'Nothing to show for your roles.'));
  const s = $('summary'); s.replaceChildren();
  for (const [t, label] of [['bad', 'down'], ['warn', 'attention'], ['ok', 'up']]) if (count[t]) s.append(el('span', 'pill ' + t, count[t] + ' ' + label));
  $('noevents').hidden = $('log').childElementCount > 0;
  $('log').hidden = !$('noevents').hidden;
  document.title = (count.bad ? '(' + count.bad + ' down) ' : '') + 'Lighthouse';
}
async function follow(auth) {
  for (;;) {
    try {
      const res = await fetch('/api/v1/events', { headers: { authorization: auth } });
      if (res.status === 401 || res.status === 429) { $('err').textContent = res.status === 429 ? 'too many attempts: wait a minute' : 'wrong user or password'; $('login').hidden = false; $('board').hidden = true; return; }
      $('login').hidden = true; $('board').hidden = false; $('conn').textContent = 'live'; $('conn').className = 'live';
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
    $('conn').textContent = 'reconnecting…'; $('conn').className = '';
    await new Promise((r) => setTimeout(r, 2000));
  }
}
$('where').textContent = location.host;
$('login').addEventListener('submit', (ev) => {
  ev.preventDefault(); $('err').textContent = '';
  follow('Basic ' + btoa(unescape(encodeURIComponent($('user').value + ':' + $('pw').value))));
});
`;

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Lighthouse</title><style>${STYLE}</style></head><body>
<header><h1>Lighthouse</h1><span id="where"></span><span id="summary"></span><span id="conn">not connected</span></header>
<main>
<form id="login"><input id="user" placeholder="user" autocomplete="username" required><input id="pw" type="password" placeholder="password" autocomplete="current-password" required><button>Sign in</button><span id="err"></span></form>
<section id="board" hidden><div id="entries"></div><h2>Last transitions</h2><ul id="log"></ul><p id="noevents" class="meta">None since this page was opened.</p></section>
</main>
<script>${SCRIPT}</script></body></html>
`;

export function mountDashboard(router: Router): void {
  const page = () => ({ status: 200, body: PAGE, headers: { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'", 'x-frame-options': 'DENY' } });
  // (/ui and /ui/ are one route: the router ignores empty segments)
  router.add('GET', '/ui/', 'public', page);
}
