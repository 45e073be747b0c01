// The page's conductor: loads the wasm core (for the form's rules and the page spec), starts one
// Web Worker per method, routes the Run/Pause/Step/Stop/Reset buttons to them, keeps each run's
// records for the plots and status cards, and keeps the settings in the URL. Numbers of the
// science (defaults, grids, presets, validation, exports) all come from Rust.

import init, { check_form, page_spec, new_seed, run_name } from './pkg/gauss_newton.js';
import { Controls } from './controls.js';
import { LinePlot, fmt } from './plot.js';
import { UnitsPlot } from './units.js';

// Okabe–Ito: blue and vermillion stay distinct for the common colour-vision deficiencies.
const COLOR = { gn: '#0072B2', gd: '#D55E00' };
const GREY = '#7a7a7a';
const INK = '#1c2330';
const NAME = { gn: 'GN', gd: 'GD' };
const BADGE = {
  idle: 'idle', starting: 'preparing…', running: 'running', paused: 'paused', converged: 'converged',
  max_iter: 'iteration limit', diverged: 'diverged', stopped: 'stopped', crashed: 'crashed',
};

const $ = (sel) => document.querySelector(sel);
const int = (k) => Math.round(k).toLocaleString('en-US');

function duration(s) {
  if (!Number.isFinite(s)) return '–';
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
}

function notice(text) {
  const n = $('#notice');
  n.textContent = text;
  n.hidden = !text;
}

// Every call into the wasm core on this thread goes through here: an exception (or a trap)
// becomes a visible message and the fallback, and the page stays usable.
let guardNote = false;
function guard(what, fn, fallback) {
  try {
    const out = fn();
    if (out instanceof Error) throw out; // Rust answers a JS Error when a value cannot be converted
    if (guardNote) (guardNote = false), notice('');
    return out;
  } catch (err) {
    guardNote = true;
    notice(`${what} failed: ${err && err.message ? err.message : err}. The page still works: change the settings or reload it.`);
    return fallback;
  }
}

let spec;
try {
  await init();
  spec = page_spec();
} catch (err) {
  notice(`The WebAssembly module did not load (${err}). Build it first: scripts/web-build.sh`);
  throw err;
}

// ---------------------------------------------------------------------------------------------
// One training run in its worker
// ---------------------------------------------------------------------------------------------

class RunView {
  constructor(method, config, paused) {
    this.method = method;
    this.config = config;
    this.state = 'starting';
    this.progress = null;
    this.summary = null;
    this.data = Object.fromEntries(spec.record_keys.map((k) => [k, []]));
    this.line = null; // {s, teacher}: the learned-function picture's line
    this.picture = null; // the latest Run.picture(): {units, near_units, near_share, line}
    this.startPicture = null; // the first one (iteration 0)
    this.version = 0; // bumped when records or a picture arrive: the plots redraw only then
    this.worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
    this.worker.onmessage = (e) => this.receive(e.data);
    this.worker.onerror = (e) => this.fail(`the worker failed: ${e.message || 'could not load'}`);
    this.send('start', { config, paused });
  }

  send(type, extra = {}) {
    this.worker.postMessage({ type, ...extra });
  }

  receive(msg) {
    switch (msg.type) {
      case 'started':
        for (const k in this.data) this.data[k] = [];
        this.line = msg.line;
        this.startPicture = msg.picture;
      // fall through
      case 'progress':
      case 'done':
        this.append(msg.packed);
        if (msg.picture) (this.picture = msg.picture), this.version++;
        this.progress = msg.progress;
        if (msg.type === 'done') {
          this.summary = msg.summary;
          this.state = msg.stopped ? 'stopped' : msg.summary.status;
        } else {
          this.state = msg.state;
        }
        break;
      case 'export':
        download(`${this.fileStem()}.${msg.format}`, msg.text, msg.format === 'json' ? 'application/json' : 'text/csv');
        return;
      case 'error':
        if (msg.fatal) this.fail(msg.message);
        else notice(`${NAME[this.method]}: ${msg.message}`);
        break;
      default:
        return;
    }
    update(this);
  }

  fail(message) {
    this.state = 'crashed';
    notice(`${NAME[this.method]}: ${message}`);
    update(this);
  }

  /** Appends packed rows (keys in spec.record_keys order) to the columns. */
  append(packed) {
    if (!packed || !packed.length) return;
    this.version++;
    const keys = spec.record_keys, K = keys.length;
    for (let r = 0; r < packed.length / K; r++) {
      for (let j = 0; j < K; j++) this.data[keys[j]].push(packed[r * K + j]);
    }
  }

  fileStem() {
    return run_name(this.config); // the library's, as gn sweep names its files
  }

  get active() {
    return this.state === 'starting' || this.state === 'running' || this.state === 'paused';
  }

  terminate() {
    this.worker.terminate();
  }
}

function download(name, text, type) {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([text], { type }));
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

// ---------------------------------------------------------------------------------------------
// Page state
// ---------------------------------------------------------------------------------------------

let runs = []; // RunView per method of the current comparison
let check = { ok: false, problems: [], configs: [] };
let dirty = false; // settings changed since the runs started

// The page's own URL keys besides the form's: the time axis's scale and quantity.
const VIEW_KEYS = { xaxis: ['lin', 'log'], time: ['iter', 'flow'] };
const controls = new Controls($('#form'), spec, () => {
  linkNotes = [];
  onFormChange();
});
const url = Controls.fromQuery(location.search);
controls.set(spec.defaults);
controls.set(url.values);
for (const [k, allowed] of Object.entries(VIEW_KEYS)) {
  const v = url.other[k];
  if (allowed.includes(v)) document.querySelector(`input[name=${k}][value=${v}]`).checked = true;
}
// Keys a link may carry that this page does not know are named (not applied) until the first edit.
let linkNotes = Object.keys(url.other)
  .filter((k) => !(k in VIEW_KEYS))
  .map((k) => `the link's “${k.length > 40 ? `${k.slice(0, 40)}…` : k}” is not a setting of this page and was ignored`);

function phase() {
  if (!runs.length) return 'idle';
  if (runs.some((r) => r.state === 'running' || r.state === 'starting')) return 'running';
  if (runs.some((r) => r.state === 'paused')) return 'paused';
  return 'done';
}

function onFormChange() {
  // Any edit leaves the preset (a preset's button lights up again right after applying it).
  for (const o of document.querySelectorAll('.preset.on')) o.classList.remove('on');
  $('#preset-note').textContent = '';
  $('#paper-step').hidden = true;
  const failed = { ok: false, problems: [], configs: [], estimated_bytes: [] };
  check = guard('Checking the settings', () => check_form(controls.values()), failed);
  if (!check || !Array.isArray(check.problems)) check = failed;
  controls.showProblems(check.problems, linkNotes);
  const mb = check.ok ? Math.max(...check.estimated_bytes) / 1e6 : NaN;
  $('#memory').textContent = Number.isFinite(mb)
    ? `About ${mb < 10 ? mb.toFixed(1) : Math.round(mb)} MB per run in this tab (limit ${(spec.memory_budget_bytes / 1e9).toFixed(1)} GB).`
    : '';
  if (runs.length) dirty = true;
  history.replaceState(null, '', `?${controls.toQuery(viewKeys())}`);
  $('#link-out').hidden = true;
  renderControls();
  if (!runs.length) showCards(), redrawAll();
}

function xaxis() {
  return document.querySelector('input[name=xaxis]:checked').value;
}

function timeAxis() {
  return document.querySelector('input[name=time]:checked').value;
}

function viewKeys() {
  return { xaxis: xaxis(), time: timeAxis() };
}

/** The records' time coordinate: iteration k, or flow time t = λ·k (computed in Rust). */
const T = (d) => (timeAxis() === 'flow' ? d.flow_time : d.iter);
const T_LABEL = { iter: 'iteration k', flow: 'flow time t = λ·k' };

function renderControls() {
  const p = phase();
  const run = $('#run');
  const resume = p === 'paused' && !dirty;
  run.textContent = resume ? 'Resume' : 'Run';
  run.disabled = p === 'running' || (!resume && !check.ok);
  $('#pause').disabled = p !== 'running';
  $('#step').disabled = !(p === 'paused' ? !dirty || check.ok : p !== 'running' && check.ok);
  $('#stop').disabled = !(p === 'running' || p === 'paused');
  $('#reset').disabled = !runs.length;
  document.body.dataset.phase = p;
}

/** Shows the cards of the methods chosen in the form (before a run) or of the runs. */
function showCards() {
  const methods = runs.length ? runs.map((r) => r.method) : (check.configs.length ? check.configs.map((c) => c.method) : methodsInForm());
  for (const m of ['gn', 'gd']) $(`#card-${m}`).hidden = !methods.includes(m);
}

function methodsInForm() {
  const m = controls.values().method;
  return m === 'both' ? ['gn', 'gd'] : [m];
}

function start(paused) {
  stopAll();
  notice('');
  dirty = false;
  runs = check.configs.map((c) => new RunView(c.method, c, paused));
  for (const m of ['gn', 'gd']) resetCard(m);
  showCards();
  for (const r of runs) update(r);
  redrawAll();
}

function stopAll() {
  for (const r of runs) r.terminate();
  runs = [];
}

$('#run').addEventListener('click', () => {
  if (phase() === 'paused' && !dirty) for (const r of runs) r.state === 'paused' && r.send('resume');
  else start(false);
});
$('#pause').addEventListener('click', () => runs.forEach((r) => r.active && r.send('pause')));
$('#step').addEventListener('click', () => {
  if (phase() !== 'paused' || dirty) start(true);
  for (const r of runs) r.active && r.send('step');
});
$('#stop').addEventListener('click', () => runs.forEach((r) => r.active && r.send('stop')));
$('#reset').addEventListener('click', () => {
  stopAll();
  notice('');
  for (const m of ['gn', 'gd']) resetCard(m);
  showCards();
  redrawAll();
  renderControls();
});
$('#new-seed').addEventListener('click', () => {
  const seed = guard('Drawing a random seed', () => new_seed(), null);
  if (seed === null) return;
  controls.set({ seed });
  onFormChange();
});
for (const r of document.querySelectorAll('input[name=xaxis], input[name=time]')) {
  r.addEventListener('change', () => {
    for (const p of plots) {
      p.plot.setXLog(xaxis() === 'log');
      p.plot.setXLabel(T_LABEL[timeAxis()]);
    }
    redrawAll();
    history.replaceState(null, '', `?${controls.toQuery(viewKeys())}`);
  });
}
for (const card of document.querySelectorAll('.run-card')) {
  card.addEventListener('click', (e) => {
    const fmtName = e.target.dataset?.export;
    const run = runs.find((r) => r.method === card.dataset.method);
    if (fmtName && run) run.send('export', { format: fmtName });
  });
}
$('#copy-link').addEventListener('click', async () => {
  // The link is shown (and selected) at once; the clipboard write may take a while or be refused.
  const link = location.href;
  const out = $('#link-out');
  out.value = link;
  out.hidden = false;
  out.select();
  try {
    await navigator.clipboard.writeText(link);
    $('#copy-note').textContent = 'Link copied.';
  } catch {
    $('#copy-note').textContent = 'Copy this link:';
  }
  setTimeout(() => ($('#copy-note').textContent = ''), 4000);
});

// Presets.
for (const p of spec.presets) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'preset';
  b.dataset.preset = p.id;
  b.textContent = p.label;
  b.title = p.description;
  b.addEventListener('click', () => {
    controls.applyPreset(p.id);
    b.classList.add('on');
    $('#preset-note').textContent = p.description;
    // A preset whose GD step is not the paper's offers the paper's, one click away.
    const paper = $('#paper-step');
    paper.hidden = !p.paper_step;
    if (p.paper_step) {
      paper.textContent = p.paper_step[0];
      paper.onclick = () => {
        controls.set(p.paper_step[1]);
        controls.changed();
        b.classList.add('on');
        $('#preset-note').textContent = p.description;
      };
    }
  });
  $('#presets').append(b);
}

// ---------------------------------------------------------------------------------------------
// Status cards
// ---------------------------------------------------------------------------------------------

function resetCard(method) {
  const card = $(`#card-${method}`);
  card.dataset.state = 'idle';
  card.dataset.iteration = '0';
  card.querySelector('[data-role=badge]').textContent = BADGE.idle;
  card.querySelector('[data-role=line]').textContent = 'Not started.';
  card.querySelector('[data-role=final]').textContent = '';
  card.querySelector('[data-role=meter]').style.width = '0';
  for (const b of card.querySelectorAll('[data-export]')) b.disabled = true;
}

function update(run) {
  if (!runs.includes(run)) return;
  const card = $(`#card-${run.method}`);
  const p = run.progress;
  card.dataset.state = run.state;
  card.dataset.iteration = p ? String(p.iteration) : '0';
  // For tests and tools: the latest test loss and the worker's time split (Rust's numbers).
  card.dataset.test = p?.last?.test_loss ?? '';
  card.dataset.computeS = p ? p.compute_s : '';
  card.dataset.pictureS = p ? p.picture_s : '';
  card.dataset.nearShare = run.picture ? run.picture.near_share : '';
  card.querySelector('[data-role=badge]').textContent = BADGE[run.state] || run.state;
  card.querySelector('[data-role=meter]').style.width = p ? `${(100 * p.iteration) / Math.max(p.max_iter, 1)}%` : '0';
  for (const b of card.querySelectorAll('[data-export]')) b.disabled = !p || run.state === 'crashed';
  const line = card.querySelector('[data-role=line]');
  if (!p) {
    line.textContent = run.state === 'crashed' ? 'The run crashed.' : 'Drawing the data and measuring the random-features baseline…';
  } else {
    const parts = [`iteration ${int(p.iteration)} / ${int(p.max_iter)}`];
    if (run.active && p.it_per_s) parts.push(`${fmt(p.it_per_s)} it/s`);
    if (run.state === 'running' && p.eta_s != null) parts.push(`ETA ≤ ${duration(p.eta_s)}`);
    if (p.last) parts.push(`train ${fmt(p.last.train_loss)}`, `test ${fmt(p.last.test_loss)}`);
    line.textContent = parts.join('  ·  ');
  }
  const final = card.querySelector('[data-role=final]');
  if (run.summary) {
    const s = run.summary;
    const what = run.state === 'stopped' ? 'Stopped' : run.state === 'converged' ? 'Converged' : run.state === 'diverged' ? 'Diverged' : 'Reached the iteration limit';
    const bits = [`${what} after ${int(s.iterations)} iterations in ${duration(s.wall_s)}`];
    bits.push(`random-features baseline ${fmt(s.rf_test_loss)}`);
    if (s.refit_test_loss != null) bits.push(`last-layer refit ${fmt(s.refit_test_loss)}`);
    final.textContent = bits.join('  ·  ');
  } else {
    final.textContent = p && p.rf_test_loss != null ? `Random-features baseline (test loss): ${fmt(p.rf_test_loss)}` : '';
  }
  redrawAll();
  renderControls();
}

// ---------------------------------------------------------------------------------------------
// Plots
// ---------------------------------------------------------------------------------------------

const PLOTS = [
  {
    id: 'loss', yLabel: 'loss', yLog: true,
    series: (r, d, n, c) => [
      { label: `${n} train`, color: c, xs: T(d), ys: d.train_loss },
      { label: `${n} test`, color: c, dash: [6, 4], xs: T(d), ys: d.test_loss },
    ],
  },
  {
    id: 'spectrum', yLabel: 'eigenvalue', yLog: true,
    series: (r, d, n, c) => [
      { label: `${n} λmin(A)`, color: c, xs: T(d), ys: d.sigma_min },
      ...(r.method === 'gn' ? [{ label: 'GN ε', color: c, dash: [2, 3], width: 2.4, xs: T(d), ys: d.eps }] : []),
    ],
  },
  {
    id: 'alignment', yLabel: 'alignment', yLog: false,
    series: (r, d, n, c) => [{ label: n, color: c, xs: T(d), ys: d.alignment }],
  },
  {
    id: 'refit', yLabel: 'test loss', yLog: true,
    empty: 'Tick “Record the last-layer refit”, or wait for the end of a run',
    series: (r, d, n, c) => [
      { label: `${n} refit`, color: c, xs: T(d), ys: d.refit_test_loss },
      { label: `${n} test`, color: c, dash: [6, 4], alpha: 0.45, xs: T(d), ys: d.test_loss },
    ],
    extra: () => {
      const rf = runs.map((r) => r.progress?.rf_test_loss).find((v) => v != null);
      return rf != null ? [{ label: 'random features', color: GREY, dash: [2, 4], hline: rf }] : [];
    },
  },
];

const plots = PLOTS.map((def) => {
  const fig = $(`#plot-${def.id}`);
  const plot = new LinePlot(fig.querySelector('.canvas-box'), { yLog: def.yLog, yLabel: def.yLabel, empty: def.empty, xLabel: T_LABEL[timeAxis()] });
  plot.setXLog(xaxis() === 'log');
  return { def, plot, legend: fig.querySelector('.legend'), legendKey: '' };
});

// The pictures of what each run has learned (coordinates from Rust's Run.picture()).
const unitPlots = Object.fromEntries(['gn', 'gd'].map((m) => [m, new UnitsPlot($(`#units-${m} .canvas-box`), COLOR[m])]));
const linePlot = {
  plot: new LinePlot($('#plot-function .canvas-box'), { yLog: false, yLabel: 'output', xLabel: 'position s on the line x = s·w', xFmt: (s) => s.toFixed(2) }),
  legend: $('#plot-function .legend'),
  legendKey: '',
};

/** One line of text per method saying what its hidden-units picture shows (also its aria-label). */
function unitsText(run) {
  const p = run.picture, p0 = run.startPicture;
  if (!p) return `${NAME[run.method]}: no picture yet.`;
  const m = p.units.length / 2, pct = (x) => `${Math.round(100 * x)} %`;
  const at = p0 ? ` (at the start: ${int(p0.near_units)}, ${pct(p0.near_share)})` : '';
  return `${NAME[run.method]}, iteration ${int(run.progress?.iteration ?? 0)}: ${int(p.near_units)} of ${int(m)} units within ${run.line?.near_deg ?? 10}° of a teacher direction, carrying ${pct(p.near_share)} of ‖U‖²${at}.`;
}

function redrawPictures() {
  for (const m of ['gn', 'gd']) {
    const run = runs.find((r) => r.method === m);
    const fig = $(`#units-${m}`);
    fig.hidden = runs.length ? !run : !methodsInForm().includes(m);
    unitPlots[m].set(run?.startPicture?.units ?? null, run?.picture?.units ?? null);
    const text = run ? unitsText(run) : 'Press Run to start.';
    const el = fig.querySelector('.units-text');
    if (el.textContent !== text) el.textContent = text;
    unitPlots[m].canvas.setAttribute('aria-label', `Hidden units picture. ${text}`);
  }
  const withLine = runs.filter((r) => r.line);
  const series = [];
  if (withLine.length) {
    const l = withLine[0].line;
    series.push({ label: 'teacher', color: INK, width: 2.6, xs: l.s, ys: l.teacher });
  }
  for (const r of withLine) if (r.picture) series.push({ label: NAME[r.method], color: COLOR[r.method], xs: r.line.s, ys: r.picture.line });
  linePlot.plot.setSeries(series);
  const key = series.map((s) => s.label).join('|');
  if (key !== linePlot.legendKey) {
    linePlot.legendKey = key;
    linePlot.legend.replaceChildren(...series.map(legendItem));
  }
  linePlot.plot.canvas.setAttribute('aria-label', withLine.length
    ? `Learned function along a line through input space: the teacher's outputs and ${withLine.map((r) => NAME[r.method]).join(' and ')}'s, s from −3 to 3.`
    : 'Learned function: no run yet.');
}

// What the plots last drew: runs, their data versions and the axes. Status updates that bring
// no new records (most of them) then cost no canvas redraw.
let drawn = '';

function redrawAll() {
  const key = [...runs.map((r) => `${r.method}${r.version}`), runs.length ? '' : methodsInForm().join(), timeAxis(), xaxis()].join('|');
  if (key === drawn) return;
  drawn = key;
  redrawPictures();
  for (const p of plots) {
    const series = runs.flatMap((r) => p.def.series(r, r.data, NAME[r.method], COLOR[r.method]));
    if (p.def.extra) series.push(...p.def.extra());
    p.plot.setSeries(series);
    const key = series.map((s) => s.label).join('|');
    if (key !== p.legendKey) {
      p.legendKey = key;
      p.legend.replaceChildren(...series.map(legendItem));
    }
  }
}

function legendItem(s) {
  const span = document.createElement('span');
  span.className = 'key';
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('width', '22');
  svg.setAttribute('height', '8');
  const line = document.createElementNS('http://www.w3.org/2000/svg', 'line');
  Object.entries({ x1: 1, y1: 4, x2: 21, y2: 4, stroke: s.color, 'stroke-width': 2.2, 'stroke-dasharray': (s.dash || []).join(' '), opacity: s.alpha ?? 1 })
    .forEach(([k, v]) => line.setAttribute(k, v));
  svg.append(line);
  span.append(svg, s.label);
  return span;
}

onFormChange();
redrawAll();
document.body.dataset.ready = 'true';
