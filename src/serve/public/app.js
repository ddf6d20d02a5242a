// The dashboard page: lists sweeps and runs, draws the graphs that
// `chinchilla plot` draws (specs come from the server), and redraws when the
// server reports a change over server-sent events. No build step, no CDN:
// vega, vega-lite and vega-embed are served from the project's node_modules.
/* global vegaEmbed */

const state = {
  sweeps: [],
  sweep: decodeURIComponent(location.hash.slice(1)) || null,
  n: 'total',
  selected: new Set(),
  views: {},
  busy: false,
  dirty: false,
  pendingSince: null,
};
// read by the browser tests and the performance check
const dashboard = (window.dashboard = { views: state.views, timings: { firstPaint: null, updates: [] }, draws: 0, marks, points, series });

const $ = (id) => document.getElementById(id);
const fmtCount = (n) => (n == null ? '–' : n >= 1e9 ? (n / 1e9).toFixed(2) + 'B' : n >= 1e6 ? (n / 1e6).toFixed(2) + 'M' : n >= 1e3 ? (n / 1e3).toFixed(1) + 'K' : String(n));
const fmtDur = (s) => (s == null ? '' : s < 90 ? Math.round(s) + ' s' : s < 5400 ? Math.round(s / 60) + ' min' : (s / 3600).toFixed(1) + ' h');
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
const fileUrl = (rel) => '/files/' + rel.split('/').map(encodeURIComponent).join('/');

/** Scenegraph items per named mark layer of a graph (as src/plot/render.ts counts them). */
function marks(graphId) {
  const view = state.views[graphId];
  const out = {};
  if (!view) return out;
  const walk = (node) => {
    if (node.marktype && node.name && node.name.endsWith('_marks')) {
      const k = node.name.slice(0, -6);
      out[k] = (out[k] || 0) + (node.items ? node.items.length : 0);
      return;
    }
    for (const c of node.items || []) walk(c);
  };
  walk(view.scenegraph().root);
  return out;
}

/** The data of the items drawn in a graph's "points" layer. */
function pointData(graphId) {
  const view = state.views[graphId];
  const out = [];
  if (!view) return out;
  const walk = (node) => {
    if (node.name === 'points_marks') {
      for (const it of node.items || []) out.push(it.datum || {});
      return;
    }
    for (const c of node.items || []) walk(c);
  };
  walk(view.scenegraph().root);
  return out;
}

/** Points plotted in a graph's "points" layer, optionally only those of one series label. */
function points(graphId, series) {
  return pointData(graphId).filter((d) => series == null || d.series === series).length;
}

/** The series labels of a graph's plotted points, in order of first appearance. */
function series(graphId) {
  return [...new Set(pointData(graphId).map((d) => d.series))];
}

async function getJson(url) {
  const r = await fetch(url, { cache: 'no-store' });
  if (!r.ok) throw new Error(url + ': ' + r.status);
  return r.json();
}

function renderNav() {
  $('sweeps').innerHTML = state.sweeps
    .map((s) => {
      const running = s.runs.filter((r) => r.status === 'running').length;
      const done = s.runs.filter((r) => r.status === 'finished').length;
      const cls = s.id === state.sweep ? 'active' : '';
      return `<a href="#${encodeURIComponent(s.id)}" class="${cls}" data-id="${esc(s.id)}">${esc(s.name)} <small>(${done}/${s.runs.length}${running ? ', ' + running + ' running' : ''})</small></a>`;
    })
    .join('');
}

function renderRuns(sweep) {
  const rows = sweep.runs.map((r) => {
    const pct = Math.round(r.progress * 100);
    const checked = state.selected.has(r.name) ? 'checked' : '';
    const disabled = r.rows === 0 ? 'disabled' : '';
    return `<tr data-run="${esc(r.name)}">
      <td><input type="checkbox" class="pick" value="${esc(r.name)}" ${checked} ${disabled}></td>
      <td>${esc(r.name)}</td>
      <td class="status-${r.status}">${r.status}${r.status === 'running' && r.quiet_s > 900 ? ` <small title="run.json and metrics.csv have not changed for a while: the process may have died (a re-run resumes it)">(quiet ${fmtDur(r.quiet_s)})</small>` : ''}</td>
      <td><span class="bar"><i style="width:${pct}%"></i></span>${r.step}/${r.steps || '?'}</td>
      <td>${r.status === 'running' ? fmtDur(r.eta_s) : ''}</td>
      <td>${fmtCount(r.params_total)}</td>
      <td>${fmtCount(r.params_non_embedding)}</td>
      <td>${esc(r.backend ?? '')}</td>
      <td>${r.tokens_per_s == null ? '' : Math.round(r.tokens_per_s).toLocaleString()}</td>
      <td>${r.val_loss == null ? '' : r.val_loss.toFixed(4)}${r.skipped_rows ? ` <small title="rows skipped: unfinished or malformed">(+${r.skipped_rows} skipped)</small>` : ''}</td>
    </tr>`;
  });
  document.querySelector('#runs tbody').innerHTML = rows.join('');
  const c = { running: 0, finished: 0, pending: 0 };
  for (const r of sweep.runs) c[r.status] = (c[r.status] || 0) + 1;
  $('summary').textContent = `${sweep.name}${sweep.kind ? ' (' + sweep.kind + ')' : ''}: ${sweep.runs.length} runs · ` +
    Object.entries(c).filter(([, v]) => v).map(([k, v]) => `${v} ${k}`).join(' · ');
}

async function renderGraphs(sweep) {
  const q = new URLSearchParams({ sweep: sweep.id, n: state.n, runs: [...state.selected].join(',') });
  const res = await getJson('/api/graphs?' + q);
  const box = $('graphs');
  const keep = new Set();
  for (const g of res.graphs) {
    keep.add(g.id);
    let el = document.getElementById('g-' + g.id);
    if (!el) {
      el = document.createElement('div');
      el.id = 'g-' + g.id;
      box.appendChild(el);
    }
    if (g.skipped) {
      state.views[g.id]?.finalize();
      delete state.views[g.id];
      el.className = 'graph skipped';
      el.innerHTML = `<h2>${esc(g.title)}</h2><p>not drawn yet: ${esc(g.skipped)}</p>`;
      continue;
    }
    el.className = 'graph';
    // the spec carries its own title
    if (!el.querySelector('.vis')) el.innerHTML = `<div class="vis"></div><p class="caption">${esc(g.caption)}</p>`;
    const result = await vegaEmbed(el.querySelector('.vis'), g.spec, { actions: false, renderer: 'canvas' });
    state.views[g.id]?.finalize();
    state.views[g.id] = result.view;
  }
  for (const el of [...box.children]) if (!keep.has(el.id.slice(2))) el.remove();
  renderFit(sweep, res);
}

function renderFit(sweep, res) {
  const parts = [];
  if (res.fit_text) parts.push(`<h2>Fit (fit.json)</h2><pre>${esc(res.fit_text)}</pre>`);
  else if (sweep.fit_json) parts.push(`<p>fit.json is older than the runs or made with another N; the graphs use a live fit of the rows so far.</p>`);
  if (sweep.report_html) parts.push(`<p><a href="${fileUrl(sweep.report_html)}" target="_blank">report.html</a></p>`);
  if (sweep.plots.length) parts.push(`<details><summary>Report pictures (${sweep.plots.length}, from <code>chinchilla plot</code>)</summary>` + sweep.plots.map((p) => `<img alt="${esc(p)}" src="${fileUrl(p)}?v=${sweep.version}">`).join('') + '</details>');
  $('fit').innerHTML = parts.join('');
}

/** Fetch and redraw everything; calls that arrive while one runs are folded into one more pass. */
async function refresh() {
  if (state.busy) {
    state.dirty = true;
    return;
  }
  state.busy = true;
  try {
    do {
      state.dirty = false;
      const since = state.pendingSince;
      state.pendingSince = null;
      state.sweeps = await getJson('/api/sweeps');
      if (!state.sweeps.some((s) => s.id === state.sweep)) state.sweep = state.sweeps[0]?.id ?? null;
      renderNav();
      const sweep = state.sweeps.find((s) => s.id === state.sweep);
      if (!sweep) {
        $('summary').textContent = 'No runs under the served folder yet; this page updates when some appear.';
        continue;
      }
      const names = new Set(sweep.runs.map((r) => r.name));
      for (const s of [...state.selected]) if (!names.has(s)) state.selected.delete(s);
      renderRuns(sweep);
      await renderGraphs(sweep);
      dashboard.draws++;
      const now = performance.now();
      if (dashboard.timings.firstPaint == null) dashboard.timings.firstPaint = now;
      else if (since != null) dashboard.timings.updates.push(now - since);
    } while (state.dirty);
  } catch (e) {
    $('summary').textContent = 'error: ' + e.message;
  } finally {
    state.busy = false;
  }
}

$('n').addEventListener('change', (e) => {
  state.n = e.target.value;
  refresh();
});
$('clear').addEventListener('click', () => {
  state.selected.clear();
  refresh();
});
document.querySelector('#runs tbody').addEventListener('change', (e) => {
  if (!e.target.classList.contains('pick')) return;
  if (e.target.checked) state.selected.add(e.target.value);
  else state.selected.delete(e.target.value);
  refresh();
});
window.addEventListener('hashchange', () => {
  state.sweep = decodeURIComponent(location.hash.slice(1));
  state.selected.clear();
  for (const id of Object.keys(state.views)) {
    state.views[id].finalize();
    delete state.views[id];
  }
  $('graphs').innerHTML = '';
  refresh();
});

const events = new EventSource('/api/events');
events.addEventListener('open', () => ($('live').textContent = '● live'));
events.addEventListener('error', () => ($('live').textContent = '○ reconnecting'));
events.addEventListener('sweeps', () => {
  state.pendingSince ??= performance.now();
  refresh();
});
refresh();
