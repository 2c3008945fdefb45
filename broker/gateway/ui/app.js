// The topology page: reads the API (GETs only) and draws what it says.
// The graph is the broker's GET /topology.svg (laid out by Graphviz);
// this script adds the live counters, the service states, the log lines
// and a cube's configuration on click. Every name is set as text
// (textContent, text nodes), never as markup.
'use strict';

const API = '/polycube/v1';
const TOKEN_KEY = 'cubemesh-token';
const LOG_LINES = 20;

const state = {
	topoKey: null,      // the last /topology answer, as text
	services: {},       // name -> {state, kind, ...}
	cubes: {},          // name -> service
	prev: null,         // {t, counters: {cube: {rx, tx, drop}}}
	rates: {},          // cube -> {rx, tx, drop}
	logNext: 0,
	logs: [],
	selected: null,
};

const $ = (id) => document.getElementById(id);

function setStatus(text, error) {
	const s = $('status');
	s.textContent = text;
	s.classList.toggle('error', !!error);
}

class Unauthorized extends Error {}

async function api(path, as) {
	const headers = { Accept: as === 'text' ? '*/*' : 'application/json' };
	const token = sessionStorage.getItem(TOKEN_KEY);
	if (token)
		headers.Authorization = 'Bearer ' + token;
	const r = await fetch(API + path, { headers, cache: 'no-store', credentials: 'omit' });
	if (r.status === 401) {
		$('login').classList.remove('hidden');
		throw new Unauthorized('the API wants a bearer token');
	}
	if (!r.ok)
		throw new Error(path + ': HTTP ' + r.status);
	return as === 'text' ? r.text() : r.json();
}

// ---- the graph --------------------------------------------------------------

function titleOf(g) {
	const t = g.querySelector(':scope > title');
	return t ? t.textContent : '';
}

// Graphviz's SVG, parsed as XML (a parser's document runs nothing) and
// stripped of anything active before it joins the page (there should be
// none: the page's CSP would refuse inline script anyway).
function importSvg(text) {
	const doc = new DOMParser().parseFromString(text, 'image/svg+xml');
	const root = doc.documentElement;
	if (root.nodeName !== 'svg' || root.namespaceURI !== 'http://www.w3.org/2000/svg')
		throw new Error('topology.svg is not an SVG document');
	for (const el of root.querySelectorAll('script, foreignObject, iframe'))
		el.remove();
	for (const el of root.querySelectorAll('*'))
		for (const a of Array.from(el.attributes))
			if (/^on/i.test(a.name) || /^\s*javascript:/i.test(a.value))
				el.removeAttribute(a.name);
	return document.importNode(root, true);
}

function nodeFor(name) {
	for (const g of document.querySelectorAll('#graph g.node'))
		if (titleOf(g) === name)
			return g;
	return null;
}

function drawOverlays() {
	const svg = document.querySelector('#graph svg');
	if (!svg)
		return;
	for (const g of svg.querySelectorAll('g.node')) {
		const name = titleOf(g);
		const svc = state.cubes[name];
		if (svc === undefined)
			continue;
		const up = (state.services[svc] || {}).state === 'running';
		g.classList.add('cube');
		g.classList.toggle('down', !up);
		g.classList.toggle('selected', state.selected === name);
		let t = g.querySelector('text.rates');
		if (!t) {
			const box = g.getBBox();
			t = document.createElementNS('http://www.w3.org/2000/svg', 'text');
			t.setAttribute('class', 'rates');
			t.setAttribute('text-anchor', 'middle');
			t.setAttribute('x', String(box.x + box.width / 2));
			t.setAttribute('y', String(box.y + box.height + 10));
			g.appendChild(t);
		}
		const r = state.rates[name];
		t.classList.toggle('down', !up);
		t.textContent = !up ? (state.services[svc] || {}).state || 'down'
			: r ? `rx ${fmt(r.rx)}/s tx ${fmt(r.tx)}/s drop ${fmt(r.drop)}/s` : '…';
	}
}

async function refreshGraph() {
	const topo = await api('/topology');
	// The SVG colours a cube whose process is down: a state change
	// redraws it as a wiring change does.
	const key = JSON.stringify(topo) + JSON.stringify(Object.entries(state.services).map(([n, s]) => [n, s.state]));
	const cubes = {};
	for (const c of topo.cubes || [])
		cubes[c.name] = c['service-name'];
	state.cubes = cubes;
	if (key === state.topoKey)
		return;
	const svg = importSvg(await api('/topology.svg', 'text'));
	// Graphviz sizes the SVG in points; the viewBox scales it to the pane.
	svg.removeAttribute('width');
	svg.removeAttribute('height');
	const pane = $('graph');
	pane.replaceChildren(svg);
	for (const g of svg.querySelectorAll('g.node'))
		if (cubes[titleOf(g)] !== undefined)
			g.addEventListener('click', () => showConfig(titleOf(g)));
	state.topoKey = key;
	drawOverlays();
}

// ---- a cube's configuration ------------------------------------------------

async function showConfig(name) {
	const svc = state.cubes[name];
	if (svc === undefined)
		return;
	state.selected = name;
	$('config-title').textContent = `Configuration of ${name} (${svc})`;
	drawOverlays();
	try {
		const cfg = await api(`/${encodeURIComponent(svc)}/${encodeURIComponent(name)}/`);
		$('config').textContent = JSON.stringify(cfg, null, 2);
	} catch (e) {
		$('config').textContent = String(e.message || e);
	}
}

// ---- counters ----------------------------------------------------------------

const RX = ['cubemesh_cube_rx_packets'];
const TX = ['cubemesh_cube_tx_netdev_packets', 'cubemesh_cube_tx_cube_packets', 'cubemesh_cube_pass_packets'];
const DROP = ['cubemesh_cube_drop_verdict_packets', 'cubemesh_cube_drop_no_peer_packets',
	'cubemesh_cube_missed_tail_calls'];
const SAMPLE = /^([a-z_]+)_total\{service="([^"]*)",cube="([^"]*)"\} (\d+)$/;

function parseMetrics(text) {
	const out = {};
	for (const line of text.split('\n')) {
		const m = SAMPLE.exec(line);
		if (!m)
			continue;
		const kind = RX.includes(m[1]) ? 'rx' : TX.includes(m[1]) ? 'tx' : DROP.includes(m[1]) ? 'drop' : null;
		if (!kind)
			continue;
		const c = out[m[3]] || (out[m[3]] = { rx: 0, tx: 0, drop: 0 });
		c[kind] += Number(m[4]);
	}
	return out;
}

function fmt(v) {
	return v >= 10000 ? (v / 1000).toFixed(0) + 'k' : v >= 100 ? v.toFixed(0) : v.toFixed(1);
}

async function refreshCounters() {
	const counters = parseMetrics(await api('/metrics', 'text'));
	const now = performance.now();
	if (state.prev) {
		const dt = (now - state.prev.t) / 1000;
		const rates = {};
		for (const [cube, c] of Object.entries(counters)) {
			const p = state.prev.counters[cube];
			if (p && dt > 0)
				rates[cube] = { rx: Math.max(0, c.rx - p.rx) / dt, tx: Math.max(0, c.tx - p.tx) / dt,
					drop: Math.max(0, c.drop - p.drop) / dt };
		}
		state.rates = rates;
	}
	state.prev = { t: now, counters };
	const body = $('rates').tBodies[0];
	const rows = [];
	for (const cube of Object.keys(state.cubes).sort()) {
		const tr = document.createElement('tr');
		tr.dataset.cube = cube;
		const r = state.rates[cube];
		const cells = [cube, r ? fmt(r.rx) : '', r ? fmt(r.tx) : '', r ? fmt(r.drop) : ''];
		cells.forEach((v, i) => {
			const td = document.createElement('td');
			td.textContent = v;
			if (i) {
				td.className = 'num ' + ['', 'rx', 'tx', 'drop'][i];
				td.dataset.value = r ? String([0, r.rx, r.tx, r.drop][i]) : '';
			}
			tr.appendChild(td);
		});
		rows.push(tr);
	}
	body.replaceChildren(...rows);
	drawOverlays();
}

// ---- services ----------------------------------------------------------------

// A service whose new process is taking the instances over from the old
// one (the broker's make-before-break upgrade) is upgrading, whatever the
// new process's own state.
function serviceState(s) {
	return s['upgrading-from'] !== undefined ? 'upgrading' : s.state;
}

async function refreshServices() {
	const list = await api('/services');
	const services = {};
	const rows = [];
	for (const s of list) {
		const st = serviceState(s);
		services[s.name] = { state: st, kind: s.kind };
		const tr = document.createElement('tr');
		tr.dataset.service = s.name;
		const cells = [[s.name, ''], [s.version, 'version'], [s.kind, ''], [st, 'state state-' + st],
			[String(s.pid || ''), 'num']];
		for (const [v, cls] of cells) {
			const td = document.createElement('td');
			td.textContent = v;
			if (cls)
				td.className = cls;
			tr.appendChild(td);
		}
		rows.push(tr);
	}
	state.services = services;
	$('services').tBodies[0].replaceChildren(...rows);
	drawOverlays();
}

// ---- logs ----------------------------------------------------------------------

async function refreshLogs() {
	for (let page = 0; page < 20; page++) {
		const r = await api('/logs?since=' + state.logNext);
		for (const l of r.lines || [])
			state.logs.push(`${new Date(l.time).toISOString().slice(11, 23)} ${l.level} ` +
				`${l.service || 'broker'}${l.cube ? '/' + l.cube : ''}: ${l.message}`);
		const more = r.next > state.logNext && (r.lines || []).length > 0;
		state.logNext = r.next;
		if (!more)
			break;
	}
	state.logs = state.logs.slice(-LOG_LINES);
	const box = $('logs');
	box.textContent = state.logs.join('\n');
	box.scrollTop = box.scrollHeight; // the newest line in view
}

// ---- the loops -------------------------------------------------------------------

function every(ms, fn) {
	let busy = false;
	const tick = async () => {
		if (busy)
			return;
		busy = true;
		try {
			await fn();
			setStatus('live · ' + new Date().toLocaleTimeString());
		} catch (e) {
			setStatus(e instanceof Unauthorized ? e.message : 'error: ' + (e.message || e), true);
		} finally {
			busy = false;
		}
	};
	tick();
	setInterval(tick, ms);
}

document.addEventListener('DOMContentLoaded', () => {
	$('login').addEventListener('submit', (ev) => {
		ev.preventDefault();
		sessionStorage.setItem(TOKEN_KEY, $('token').value);
		$('login').classList.add('hidden');
		state.topoKey = null;
	});
	// Services first and most often: a process gone shows within a second.
	every(500, refreshServices);
	every(1000, refreshGraph);
	every(1000, refreshCounters);
	every(2000, refreshLogs);
});
