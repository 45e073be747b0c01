// End-to-end test of the browser demo, as a new user meets it: serves the repository on a free
// localhost port, drives Debian's Chromium through playwright-core (never a downloaded browser;
// every request outside the local server is blocked), and checks the page: both methods side by
// side, pause/step/resume/stop, invalid input, a shared link, exports, presets, a Rust panic
// reported by the worker, no console errors, a responsive main thread. It then measures GN and
// GD iterations per second in a worker at M = 1000, N = 200 and natively on one thread
// (target/release/gn run, with RAYON_NUM_THREADS=1), and saves target/e2e-screenshot.png.
// Also: hostile links (huge integers, NaN, negatives, markup, unknown keys, empty values); the
// feature-learning preset timed from Run to both cards final, with the hidden-units and
// learned-function pictures (target/e2e-pictures-feature.png, -kernel.png) and their share of a
// worker's time; a 390 px phone (target/e2e-screenshot-narrow.png); GN at the paper's width
// M = 5000; and dist/ served from the sub-path /gauss-newton/ (as on GitHub Pages).
//
// Usage: node tests/e2e/e2e.mjs   (after scripts/web-build.sh; scripts/web-test.sh does both)
// Prints one line per check and closes with "N passed, N failed"; exits 1 on any failure.

import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const TOTAL_LIMIT_MS = 15 * 60 * 1000;
const CLI_CSV_HEADER = 'iter,train_loss,test_loss,sigma_min,sigma_max,eps,step_norm,alignment,refit_test_loss,elapsed_s,flow_time';
const COLORS = { gn: [0, 114, 178], gd: [213, 94, 0] };

// ---------------------------------------------------------------------------------------------
// A static server for the repository (only what the page needs to fetch)
// ---------------------------------------------------------------------------------------------

const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm', '.json': 'application/json', '.png': 'image/png' };

// The repository at /, and dist/ (scripts/web-build.sh --dist) at /gauss-newton/, the sub-path a
// GitHub Pages project site is served from.
const SUB = '/gauss-newton/';

function serve() {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    let rel = decodeURIComponent(url.pathname), dir = ROOT;
    if (rel.startsWith(SUB)) (dir = path.join(ROOT, 'dist')), (rel = `/${rel.slice(SUB.length)}`);
    if (rel.endsWith('/')) rel += 'index.html';
    const file = path.join(dir, rel);
    if (!file.startsWith(dir + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] || 'application/octet-stream', 'cache-control': 'no-store' });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

// ---------------------------------------------------------------------------------------------
// Test harness
// ---------------------------------------------------------------------------------------------

let passed = 0, failed = 0;
const notes = [];

async function check(name, fn) {
  const t0 = Date.now();
  try {
    const note = await fn();
    passed++;
    console.log(`ok   ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)${note ? ` — ${note}` : ''}`);
  } catch (err) {
    failed++;
    console.log(`FAIL ${name}: ${err && err.stack ? err.stack.split('\n').slice(0, 3).join(' | ') : err}`);
  }
}

function assert(cond, message) {
  if (!cond) throw new Error(message);
}

async function until(fn, what, timeout = 20_000, every = 100) {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() - t0 > timeout) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

// ---------------------------------------------------------------------------------------------
// Page helpers
// ---------------------------------------------------------------------------------------------

const cards = (page) =>
  page.evaluate(() =>
    Object.fromEntries(
      [...document.querySelectorAll('.run-card')].map((c) => [
        c.dataset.method,
        { state: c.dataset.state, iteration: Number(c.dataset.iteration || 0), hidden: c.hidden,
          line: c.querySelector('[data-role=line]').textContent, final: c.querySelector('[data-role=final]').textContent },
      ]),
    ),
  );

async function setField(page, name, value) {
  const el = page.locator(`[name="${name}"]`);
  if (!(await el.isVisible())) await page.click('details.more summary');
  await el.fill(String(value));
}

async function setForm(page, values) {
  for (const [k, v] of Object.entries(values)) {
    if (k === 'method') await page.click(`.segmented label:has(input[value="${v}"])`);
    else await setField(page, k, v);
  }
}

/** Pixels of each method's colour on each plot canvas. */
const plotInk = (page) =>
  page.evaluate((colors) => {
    const out = {};
    for (const fig of document.querySelectorAll('figure.plot')) {
      const c = fig.querySelector('canvas');
      const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      const counts = { gn: 0, gd: 0, any: 0 };
      for (let i = 0; i < data.length; i += 4) {
        if (data[i + 3] > 0) counts.any++;
        for (const [m, [r, g, b]] of Object.entries(colors)) {
          if (data[i + 3] > 200 && Math.abs(data[i] - r) < 40 && Math.abs(data[i + 1] - g) < 40 && Math.abs(data[i + 2] - b) < 40) counts[m]++;
        }
      }
      out[fig.id] = counts;
    }
    return out;
  }, COLORS);

/** Animation frames seen by the main thread over `ms` milliseconds, and the longest gap. */
const frames = (page, ms) =>
  page.evaluate(
    (ms) =>
      new Promise((resolve) => {
        let n = 0, last = performance.now(), worst = 0;
        const t0 = last;
        const tick = (t) => {
          n++;
          worst = Math.max(worst, t - last);
          last = t;
          if (t - t0 < ms) requestAnimationFrame(tick);
          else resolve({ frames: n, worstGapMs: Math.round(worst) });
        };
        requestAnimationFrame(tick);
      }),
    ms,
  );

/** Runs one method in a fresh worker to its end and returns iterations per second of compute. */
const workerSpeed = (page, config) =>
  page.evaluate(
    (config) =>
      new Promise((resolve, reject) => {
        const w = new Worker('www/worker.js', { type: 'module' });
        w.onmessage = (e) => {
          const m = e.data;
          if (m.type === 'error') reject(new Error(m.message));
          if (m.type === 'done') {
            w.terminate();
            resolve({ iterations: m.summary.iterations, wall_s: m.summary.wall_s, itPerS: m.summary.iterations / m.summary.wall_s });
          }
        };
        w.postMessage({ type: 'start', config });
      }),
    config,
  );

function nativeSpeed(method, maxIter) {
  const bin = path.join(ROOT, 'target/release/gn');
  if (!fs.existsSync(bin)) return null;
  const out = path.join(os.tmpdir(), `gn-e2e-native-${process.pid}-${method}.json`);
  execFileSync(bin, ['run', '--method', method, '--tau0', '0.1', '--m', '1000', '--n', '200', '--max-iter', String(maxIter),
    '--eval-every', '1000000', '--quiet', '--out', out], { env: { ...process.env, RAYON_NUM_THREADS: '1' }, timeout: 120_000 });
  const s = JSON.parse(fs.readFileSync(out, 'utf8')).summary;
  fs.rmSync(out, { force: true });
  return s.iterations / s.wall_s;
}

// ---------------------------------------------------------------------------------------------
// The checks
// ---------------------------------------------------------------------------------------------

async function main() {
  const server = await serve();
  const base = `http://127.0.0.1:${server.address().port}/`;
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'gn-e2e-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-quic'],
    viewport: { width: 1440, height: 1000 },
    deviceScaleFactor: 1,
    acceptDownloads: true,
  });
  const killer = setTimeout(() => {
    console.log(`FAIL the whole test took longer than ${TOTAL_LIMIT_MS / 1000} s`);
    console.log(`${passed} passed, ${failed + 1} failed`);
    process.exit(1);
  }, TOTAL_LIMIT_MS);

  // Nothing may come from the network: block every request that is not to our server.
  const offsite = [];
  await context.route('**/*', (route) => {
    const u = route.request().url();
    if (u.startsWith(base) || u.startsWith('data:') || u.startsWith('blob:')) return route.continue();
    offsite.push(u);
    return route.abort();
  });

  const errors = [];
  const page = context.pages()[0] || (await context.newPage());
  page.on('console', (m) => m.type() === 'error' && errors.push(`console: ${m.text()}`));
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  page.on('response', (r) => r.status() >= 400 && errors.push(`HTTP ${r.status()} ${r.url()}`));

  try {
    await check('the page loads, builds its controls from Rust and shows both methods', async () => {
      await page.goto(base);
      await page.waitForSelector('body[data-ready=true]', { timeout: 30_000 });
      const c = await cards(page);
      assert(!c.gn.hidden && !c.gd.hidden, 'both cards are shown for "both"');
      const chips = await page.locator('.chips[data-for=tau0] .chip').allTextContents();
      assert(chips.join(',') === '0.01,0.1,0.5,1,5,10,100', `τ₀ grid chips: ${chips}`);
      assert((await page.locator('.preset').count()) >= 2, 'presets');
      assert(await page.isEnabled('#run'), 'Run is enabled');
    });

    await check('hostile links: each shows a field message, never a page error, and Run works once fixed', async () => {
      // [query, field whose message must show (form = under the form), the message's pattern, fix]
      const small = 'method=gn&n=40&m=60&max_iter=30&eval_every_gn=5&tau0=0.5';
      const cases = [
        ['seed=18446744073709551615', 'seed', /0\.\.=9007199254740991/i, { seed: 1 }],
        ['max_iter=1e400', 'max_iter', /9007199254740991/i, { max_iter: 30 }],
        ['eval_every_gn=9007199254740993', 'eval_every_gn', /1\.\.=9007199254740991/i, { eval_every_gn: 5 }],
        ['n=NaN', 'n', /whole number/i, { n: 40 }],
        ['tau0=NaN', 'tau0', /finite number > 0, got NaN/i, { tau0: 0.5 }],
        ['m=-5', 'm', /whole number in 0\.\./i, { m: 60 }],
        ['seed=-1', 'seed', /whole number in 0\.\./i, { seed: 1 }],
        ['n=%3Cimg%20src%3Dx%20onerror%3D%22window.__pwned%3D1%22%3E', 'n', /<img src=x onerror=/i, { n: 40 }],
        ['lr_gn=%3Cscript%3Ewindow.__pwned%3D1%3C%2Fscript%3E', 'lr_gn', /must be a number/i, { lr_gn: 10 }],
        ['method=%3Cb%3Ex%3C%2Fb%3E', 'method', /must be gn, gd or both/i, { method: 'gn' }],
        ['lr_gn=', 'lr_gn', /must be a number, got ""/i, { lr_gn: 10 }],
        ['n=&m=', 'n', /whole number/i, { n: 40, m: 60 }],
        ['bogus=1&%3Cimg%20src%3Dx%3E=2&xaxis=%3Cb%3E', 'form', /“bogus” is not a setting/i, null],
      ];
      const seen = [];
      for (const [bad, field, pattern, fix] of cases) {
        const p = await context.newPage();
        const errs = [];
        p.on('pageerror', (e) => errs.push(e.message));
        p.on('console', (m) => m.type() === 'error' && errs.push(m.text()));
        try {
          await p.goto(`${base}?${small}&${bad}`);
          await p.waitForSelector('body[data-ready=true]', { timeout: 30_000 });
          const msg = await p.textContent(`.field-msg[data-for="${field}"]`);
          assert(pattern.test(msg), `${bad}: message under ${field}: “${msg}”`);
          assert(!(await p.evaluate(() => window.__pwned)) && (await p.locator('form img, .field-msg img, .field-msg script').count()) === 0, `${bad}: markup ran`);
          if (fix) {
            assert(await p.isDisabled('#run'), `${bad}: Run is disabled`);
            for (const [k, v] of Object.entries(fix)) {
              if (k === 'method') await p.click(`.segmented label:has(input[value="${v}"])`);
              else await setField(p, k, v);
            }
          }
          assert(await p.isEnabled('#run'), `${bad}: Run enabled after the fix (${await p.textContent('.field-msg[data-for=form]')})`);
          await p.click('#run');
          await until(async () => (await cards(p)).gn.iteration >= 1, `${bad}: the run to advance after the fix`, 30_000);
          assert(errs.length === 0, `${bad}: ${errs.join(' | ')}`);
          seen.push(`${field}: “${msg.slice(0, 70)}”`);
        } finally {
          await p.close();
        }
      }
      return `${cases.length} links; e.g. ${seen[0]}`;
    });

    await page.bringToFront(); // a page in the background gets (almost) no animation frames
    await check('GN and GD run side by side: both status lines advance and the plots draw', async () => {
      await page.click('.chips[data-for=tau0] .chip:text-is("0.1")');
      // A small GN step keeps GN from converging while the next checks pause, step and stop it.
      await setForm(page, { n: 200, m: 1000, method: 'both', max_iter: 100000, lr_gn: 1 });
      assert((await page.inputValue('#tau0')) === '0.1', 'τ₀ set by its chip');
      await page.click('#run');
      await until(async () => {
        const c = await cards(page);
        return c.gn.iteration > 3 && c.gd.iteration > 30 && c.gn.state === 'running' && c.gd.state === 'running';
      }, 'both runs to advance', 60_000);
      const a = await cards(page);
      await page.waitForTimeout(1500);
      const b = await cards(page);
      assert(b.gn.iteration > a.gn.iteration && b.gd.iteration > a.gd.iteration, 'iterations keep increasing');
      assert(/it\/s/.test(b.gn.line) && /ETA/.test(b.gd.line) && /train/.test(b.gn.line), `status line: ${b.gn.line}`);
      const ink = await until(async () => {
        const k = await plotInk(page);
        return k['plot-loss'].gn > 50 && k['plot-loss'].gd > 50 && k['plot-alignment'].gn > 20 ? k : null;
      }, 'both methods drawn on the plots', 20_000);
      return `GN at ${b.gn.iteration}, GD at ${b.gd.iteration}; loss plot pixels GN ${ink['plot-loss'].gn}, GD ${ink['plot-loss'].gd}`;
    });

    await check('the main thread stays responsive during a run (requestAnimationFrame keeps firing)', async () => {
      const f = await frames(page, 2000);
      assert(f.frames >= 40, `only ${f.frames} frames in 2 s`);
      assert(f.worstGapMs < 500, `a frame gap of ${f.worstGapMs} ms`);
      // Hovering a plot over the data shows a readout of the values.
      await page.locator('#plot-loss canvas').scrollIntoViewIfNeeded();
      const box = await page.locator('#plot-loss canvas').boundingBox();
      let tip = '';
      for (const fx of [0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]) {
        await page.mouse.move(box.x + box.width * fx, box.y + box.height * 0.5);
        await page.waitForTimeout(150);
        if (await page.isVisible('#plot-loss .plot-tip')) {
          tip = await page.textContent('#plot-loss .plot-tip');
          if (/GN train/.test(tip)) break;
        }
      }
      assert(/GN train: [0-9.e-]+ +@ [0-9,]+/.test(tip) && /GN test/.test(tip), `readout: ${tip}`);
      await page.mouse.move(5, 5);
      return `${f.frames} frames in 2 s, longest gap ${f.worstGapMs} ms`;
    });

    await check('Pause stops both runs quickly and the iteration stays put', async () => {
      const ms = await page.evaluate(
        () =>
          new Promise((resolve) => {
            const t0 = performance.now();
            document.querySelector('#pause').click();
            const poll = () => {
              const states = [...document.querySelectorAll('.run-card:not([hidden])')].map((c) => c.dataset.state);
              if (states.every((s) => s === 'paused')) resolve(performance.now() - t0);
              else if (performance.now() - t0 > 10_000) resolve(`not paused after 10 s: ${states}`);
              else setTimeout(poll, 2);
            };
            poll();
          }),
      );
      assert(typeof ms === 'number', ms);
      const a = await cards(page);
      await page.waitForTimeout(1200);
      const b = await cards(page);
      assert(a.gn.iteration === b.gn.iteration && a.gd.iteration === b.gd.iteration, 'iterations changed while paused');
      assert(ms < 1500, `pause took ${ms} ms`);
      assert((await page.textContent('#run')) === 'Resume', 'Run turns into Resume');
      return `paused ${Math.round(ms)} ms after the click (one slice is ~50 ms, plus the step in progress)`;
    });

    await check('Step takes exactly one step of each method', async () => {
      const a = await cards(page);
      await page.click('#step');
      await until(async () => {
        const b = await cards(page);
        return b.gn.iteration === a.gn.iteration + 1 && b.gd.iteration === a.gd.iteration + 1;
      }, 'one more iteration each', 10_000);
    });

    await check('Resume continues, Stop ends both runs with a final status', async () => {
      const a = await cards(page);
      await page.click('#run');
      await until(async () => (await cards(page)).gd.iteration > a.gd.iteration + 5, 'GD to continue', 20_000);
      await page.click('#stop');
      const c = await until(async () => {
        const c = await cards(page);
        return c.gn.state === 'stopped' && c.gd.state === 'stopped' ? c : null;
      }, 'both runs to stop', 10_000);
      assert(/Stopped after/.test(c.gn.final) && /random-features baseline/.test(c.gd.final), `final line: ${c.gn.final}`);
      assert(await page.isEnabled('#run'), 'Run is enabled again');
    });

    await check('Export CSV and JSON give the CLI formats', async () => {
      const [csvDl] = await Promise.all([page.waitForEvent('download'), page.click('#card-gn [data-export=csv]')]);
      const csv = fs.readFileSync(await csvDl.path(), 'utf8').trim().split('\n');
      assert(csv[0] === CLI_CSV_HEADER, `CSV header: ${csv[0]}`);
      assert(csv.length > 2, 'CSV rows');
      assert(/^gn-silu-tau0_0\.1-n200-m1000-lr1-seed1\.csv$/.test(csvDl.suggestedFilename()), csvDl.suggestedFilename());
      const [jsonDl] = await Promise.all([page.waitForEvent('download'), page.click('#card-gd [data-export=json]')]);
      const doc = JSON.parse(fs.readFileSync(await jsonDl.path(), 'utf8'));
      assert(doc.config.method === 'gd' && doc.config.tau0 === 0.1 && doc.config.n === 200 && doc.config.lr === 10, 'JSON config');
      assert(doc.records.length > 1, 'JSON records');
      assert(Object.keys(doc.records[0]).join(',') === CLI_CSV_HEADER, 'record keys');
      assert(doc.summary.iterations > 0, 'JSON summary');
      return `${csv.length - 1} GN rows, ${doc.records.length} GD records`;
    });

    await check('invalid input is marked at its field, Run is disabled, too-large runs point to the CLI', async () => {
      await setField(page, 'n', '0');
      await until(async () => (await page.textContent('#msg-n')).length > 0, 'the message under N');
      const msg0 = await page.textContent('#msg-n');
      assert(/1\.\.=/.test(msg0), `message: ${msg0}`);
      assert((await page.getAttribute('#n', 'aria-invalid')) === 'true', 'N marked invalid');
      assert(await page.isDisabled('#run'), 'Run disabled');
      assert(await page.isDisabled('#step'), 'Step disabled');
      await setField(page, 'n', 'abc');
      const msg1 = await page.textContent('#msg-n');
      assert(/whole number/.test(msg1), `message: ${msg1}`);
      await setField(page, 'n', '20000');
      await setField(page, 'm', '5000');
      const big = await page.textContent('#msg-size');
      assert(/native CLI/.test(big) && /gn run/.test(big), `memory message: ${big}`);
      assert(await page.isDisabled('#run'), 'Run disabled for a too-large run');
      await setField(page, 'lr_gd', '-1');
      assert(/> 0/.test(await page.textContent('[data-for=lr_gd].field-msg')), 'λ_GD message');
      await setForm(page, { n: 100, m: 1000, lr_gd: 10 });
      assert(await page.isEnabled('#run'), 'Run enabled once the input is fixed');
      return `N=0: “${msg0}”`;
    });

    await check('the URL holds the settings and a copied link reproduces them', async () => {
      await page.click('.chips[data-for=tau0] .chip:text-is("0.5")');
      await setForm(page, { n: 150, method: 'gd', seed: 42 });
      await page.click('.segmented.small label:has(input[value=lin])');
      await page.click('#copy-link');
      await page.waitForSelector('#link-out:visible');
      const link = await page.inputValue('#link-out');
      assert(link === page.url(), 'the copied link is the page URL');
      const q = new URL(link).searchParams;
      assert(q.get('tau0') === '0.5' && q.get('n') === '150' && q.get('method') === 'gd' && q.get('seed') === '42' && q.get('xaxis') === 'lin', link);
      const other = await context.newPage();
      other.on('pageerror', (e) => errors.push(`page error (shared link): ${e.message}`));
      await other.goto(link);
      await other.waitForSelector('body[data-ready=true]');
      const v = await other.evaluate(() => ({
        tau0: document.querySelector('#tau0').value, n: document.querySelector('#n').value, seed: document.querySelector('#seed').value,
        method: document.querySelector('input[name=method]:checked').value, xaxis: document.querySelector('input[name=xaxis]:checked').value,
        gdShown: !document.querySelector('#card-gd').hidden, gnShown: !document.querySelector('#card-gn').hidden,
      }));
      assert(v.tau0 === '0.5' && v.n === '150' && v.seed === '42' && v.method === 'gd' && v.xaxis === 'lin', JSON.stringify(v));
      assert(v.gdShown && !v.gnShown, 'only the GD card for method=gd');
      await other.close();
    });

    await check('presets and the random seed come from Rust', async () => {
      await page.click('.preset[data-preset=kernel]');
      assert((await page.inputValue('#tau0')) === '10', 'kernel preset τ₀');
      assert((await page.inputValue('#lr_gd')) === '5', 'kernel preset λ_GD');
      assert((await page.textContent('#preset-note')).length > 20, 'preset description');
      await page.click('.preset[data-preset=feature]');
      assert((await page.inputValue('#tau0')) === '0.01', 'feature preset τ₀');
      const before = await page.inputValue('#seed');
      await page.click('#new-seed');
      const after = await page.inputValue('#seed');
      assert(after !== before && Number(after) >= 1, `seed ${before} → ${after}`);
    });

    await check('a full comparison runs to the end and reports status and baseline', async () => {
      await page.click('.segmented.small label:has(input[value=log])');
      await page.click('.chips[data-for=tau0] .chip:text-is("0.1")');
      await setForm(page, { method: 'both', n: 100, m: 500, seed: 1, max_iter: 400, eval_every_gn: 2, eval_every_gd: 10, lr_gn: 10, lr_gd: 10 });
      await page.click('#run');
      const c = await until(async () => {
        const c = await cards(page);
        return ['converged', 'max_iter'].includes(c.gn.state) && ['converged', 'max_iter'].includes(c.gd.state) ? c : null;
      }, 'both runs to finish', 120_000, 250);
      assert(c.gn.state === 'converged', `GN ${c.gn.state}: ${c.gn.final}`);
      assert(/Converged after/.test(c.gn.final) && /random-features baseline/.test(c.gn.final), c.gn.final);
      assert(/iteration limit/.test(c.gd.final), c.gd.final);
      await page.waitForTimeout(300);
      const ink = await plotInk(page);
      for (const id of ['plot-loss', 'plot-spectrum', 'plot-alignment', 'plot-refit']) assert(ink[id].gn > 5, `${id} has GN ink`);
      await page.screenshot({ path: path.join(ROOT, 'target/e2e-screenshot.png'), fullPage: true });
      return `${c.gn.final} | ${c.gd.final}`;
    });

    await check('plots match device pixels and follow the window size', async () => {
      const size = () =>
        page.evaluate(() => {
          const c = document.querySelector('#plot-loss canvas');
          return { w: c.width, h: c.height, css: c.clientWidth, cssH: c.clientHeight, dpr: devicePixelRatio };
        });
      const a = await size();
      assert(a.w === Math.round(a.css * a.dpr) && a.h === Math.round(a.cssH * a.dpr), `backing store ${a.w}×${a.h} for ${a.css}×${a.cssH} at dpr ${a.dpr}`);
      await page.setViewportSize({ width: 1000, height: 1000 });
      const b = await until(async () => {
        const b = await size();
        return b.css !== a.css && b.w === Math.round(b.css * b.dpr) ? b : null;
      }, 'the plots to resize', 5000);
      await page.setViewportSize({ width: 1440, height: 1000 });
      return `${a.css} px → ${b.css} px wide`;
    });

    const thesis = {};
    await check('feature-learning preset: from Run to both cards final (GN converged, GD\'s test loss below GN\'s)', async () => {
      await page.bringToFront(); // pages opened by earlier checks leave it in the background, without animation frames
      await page.goto(base);
      await page.waitForSelector('body[data-ready=true]');
      await page.click('.preset[data-preset=feature]');
      assert((await page.inputValue('#lr_gd')) === '30', 'the preset\'s GD step is its flow-equivalent λ = 30');
      assert(await page.isVisible('#paper-step'), 'the paper\'s step is one click away');
      await page.click('.segmented.small label:has(input[value=flow])');
      const t0 = Date.now();
      await page.click('#run');
      const final = (s) => ['converged', 'max_iter', 'diverged'].includes(s);
      const c = await until(async () => {
        const c = await cards(page);
        return final(c.gn.state) && final(c.gd.state) ? c : null;
      }, 'both runs to finish', 120_000, 100);
      thesis.seconds = (Date.now() - t0) / 1000;
      const d = await page.evaluate(() => Object.fromEntries(['gn', 'gd'].map((m) => [m, { ...document.querySelector(`#card-${m}`).dataset }])));
      thesis.gnTest = Number(d.gn.test), thesis.gdTest = Number(d.gd.test);
      thesis.near = { gn: Number(d.gn.nearShare), gd: Number(d.gd.nearShare) };
      thesis.pictureShare = Object.fromEntries(['gn', 'gd'].map((m) => [m, Number(d[m].pictureS) / (Number(d[m].pictureS) + Number(d[m].computeS))]));
      assert(c.gn.state === 'converged', `GN ${c.gn.state}`);
      assert(thesis.gdTest < thesis.gnTest, `GD's test loss ${thesis.gdTest} is not below GN's ${thesis.gnTest}`);
      assert(thesis.seconds < 90, `took ${thesis.seconds} s (target 15 s)`);
      // The pictures say it: GD's weight sits on the teacher's directions far more than GN's.
      assert(thesis.near.gd > thesis.near.gn + 0.2, `share of ‖U‖² within 10° of the teacher: GN ${thesis.near.gn}, GD ${thesis.near.gd}`);
      const ink = await plotInk(page);
      assert(ink['units-gn'].gn > 50 && ink['units-gd'].gd > 50 && ink['plot-function'].gn > 20 && ink['plot-function'].gd > 20, `picture ink ${JSON.stringify(ink)}`);
      const text = await page.getAttribute('#units-gd canvas', 'aria-label');
      assert(/units within 10° of a teacher direction/.test(text), `aria-label: ${text}`);
      // Hovering the units picture names the unit under the pointer.
      await page.locator('#units-gd canvas').scrollIntoViewIfNeeded();
      const box = await page.locator('#units-gd canvas').boundingBox();
      let tip = '';
      // Where the units started (75° at the average share), a dense cloud: a dot is within reach.
      for (const fx of [0.64, 0.68, 0.6, 0.72, 0.56, 0.76]) {
        if (tip) break;
        for (const fy of [0.32, 0.28, 0.36, 0.24, 0.4]) {
          await page.mouse.move(box.x + box.width * fx, box.y + box.height * fy);
          await page.waitForTimeout(150);
          if (await page.isVisible('#units-gd .plot-tip')) {
            tip = await page.textContent('#units-gd .plot-tip');
            break;
          }
        }
      }
      assert(/unit \d+ .*° from a teacher direction, share/.test(tip), `units readout: ${tip}`);
      await page.mouse.move(5, 5);
      await page.locator('.pictures').screenshot({ path: path.join(ROOT, 'target/e2e-pictures-feature.png') });
      await page.screenshot({ path: path.join(ROOT, 'target/e2e-screenshot.png'), fullPage: true });
      return `${thesis.seconds.toFixed(1)} s; test loss GN ${thesis.gnTest.toExponential(2)}, GD ${thesis.gdTest.toExponential(2)}; weight within 10° of the teacher: GN ${(100 * thesis.near.gn).toFixed(0)} %, GD ${(100 * thesis.near.gd).toFixed(0)} %`;
    });
    console.log(`thesis: feature-learning preset, Run to both final: ${thesis.seconds?.toFixed(1)} s (target <= 15 s; ${os.cpus()[0].model}, ${os.cpus().length} cores)`);
    console.log(`pictures: share of a worker's time spent on the pictures at M = 1000: GN ${(100 * thesis.pictureShare?.gn).toFixed(2)} %, GD ${(100 * thesis.pictureShare?.gd).toFixed(2)} % (target <= 10 %)`);

    await check('kernel-regime preset: the units stay where they started, unlike the feature-learning regime', async () => {
      // The paper's step is one click away (same flow time: 3× the steps).
      await page.click('#paper-step');
      assert((await page.inputValue('#lr_gd')) === '10' && (await page.inputValue('#max_iter')) === '6000', 'the paper\'s step');
      await page.click('.preset[data-preset=kernel]');
      await page.click('#run');
      await until(async () => {
        const c = await cards(page);
        return c.gn.state === 'converged' && c.gd.iteration >= 1500 ? c : null;
      }, 'GN to converge and GD to take 1500 steps', 120_000, 200);
      await page.click('#stop');
      await until(async () => (await cards(page)).gd.state === 'stopped', 'GD to stop', 10_000);
      const near = await page.evaluate(() => ['gn', 'gd'].map((m) => Number(document.querySelector(`#card-${m}`).dataset.nearShare)));
      assert(near[0] < 0.1 && near[1] < 0.1, `kernel regime: weight within 10° of the teacher GN ${near[0]}, GD ${near[1]}`);
      await page.locator('.pictures').screenshot({ path: path.join(ROOT, 'target/e2e-pictures-kernel.png') });
      return `weight within 10° of the teacher: GN ${(100 * near[0]).toFixed(1)} %, GD ${(100 * near[1]).toFixed(1)} % (feature-learning: GN ${(100 * thesis.near?.gn).toFixed(0)} %, GD ${(100 * thesis.near?.gd).toFixed(0)} %)`;
    });

    await check('a phone (390 px wide): no horizontal scrolling, the plots fit', async () => {
      const p = await context.newPage();
      await p.setViewportSize({ width: 390, height: 844 });
      p.on('pageerror', (e) => errors.push(`page error (phone): ${e.message}`));
      await p.goto(`${base}?method=both&n=100&m=500&max_iter=300&tau0=0.01&lr_gd=30&eval_every_gd=20`);
      await p.waitForSelector('body[data-ready=true]');
      await p.click('#run');
      await until(async () => (await cards(p)).gn.state === 'converged', 'GN to converge', 60_000);
      await p.waitForTimeout(500);
      const w = await p.evaluate(() => ({ scroll: document.scrollingElement.scrollWidth, canvases: [...document.querySelectorAll('canvas')].map((c) => c.getBoundingClientRect().right) }));
      await p.screenshot({ path: path.join(ROOT, 'target/e2e-screenshot-narrow.png'), fullPage: true });
      await p.close();
      assert(w.scroll <= 390, `scrollWidth ${w.scroll} > 390`);
      assert(w.canvases.every((r) => r <= 390), `a canvas ends at ${Math.max(...w.canvases)} px`);
      return `scrollWidth ${w.scroll} px`;
    });

    await check('the paper\'s width M = 5000 (N = 200) passes the memory check and GN runs to convergence in the tab', async () => {
      const p = await context.newPage();
      p.on('pageerror', (e) => errors.push(`page error (M = 5000): ${e.message}`));
      await p.goto(`${base}?method=gn&n=200&m=5000&tau0=0.01&lr_gn=10&max_iter=1000&eval_every_gn=5`);
      await p.waitForSelector('body[data-ready=true]');
      assert(await p.isEnabled('#run'), `Run disabled: ${await p.textContent('#msg-size')}`);
      const mem = await p.textContent('#memory');
      const t0 = Date.now();
      await p.click('#run');
      const c = await until(async () => {
        const c = await cards(p);
        return ['converged', 'max_iter', 'diverged'].includes(c.gn.state) ? c : null;
      }, 'GN at M = 5000 to finish', 240_000, 250);
      thesis.m5000 = (Date.now() - t0) / 1000;
      await p.close();
      assert(c.gn.state === 'converged', `GN ${c.gn.state}: ${c.gn.final}`);
      return `${mem} ${c.gn.final}; ${thesis.m5000.toFixed(1)} s from Run to converged`;
    });
    console.log(`paper width: GN at M = 5000, N = 200, tau0 = 0.01 in one worker: ${thesis.m5000?.toFixed(1)} s from Run to converged (${os.cpus()[0].model})`);

    await check('dist/ served from a sub-path (/gauss-newton/) runs a GN run', async () => {
      assert(fs.existsSync(path.join(ROOT, 'dist/index.html')), 'dist/ is not built: scripts/web-build.sh --dist');
      const p = await context.newPage();
      const errs = [];
      p.on('pageerror', (e) => errs.push(e.message));
      p.on('response', (r) => r.status() >= 400 && errs.push(`HTTP ${r.status()} ${r.url()}`));
      await p.goto(`${base.replace(/\/$/, '')}${SUB}?method=gn&n=100&m=300&max_iter=300&tau0=0.5`);
      await p.waitForSelector('body[data-ready=true]', { timeout: 30_000 });
      await p.click('#run');
      const c = await until(async () => {
        const c = await cards(p);
        return c.gn.state === 'converged' ? c : null;
      }, 'GN to converge under the sub-path', 60_000);
      await p.close();
      assert(errs.length === 0, errs.join(' | '));
      return c.gn.final;
    });

    await check('the page logged no errors and fetched nothing from the network', async () => {
      assert(errors.length === 0, errors.join(' | '));
      assert(offsite.length === 0, `blocked requests: ${offsite.join(', ')}`);
    });

    await check('a panic in Rust reaches the page as an error message', async () => {
      const p = await context.newPage();
      await p.goto(base);
      await p.waitForSelector('body[data-ready=true]');
      const msg = await p.evaluate(
        () =>
          new Promise((resolve) => {
            const w = new Worker('www/worker.js', { type: 'module' });
            w.onmessage = (e) => {
              if (e.data.type === 'ready') w.postMessage({ type: 'crash' });
              if (e.data.type === 'error') resolve(e.data);
            };
          }),
      );
      assert(msg.fatal && /crashed/.test(msg.message) && /crash_for_testing/.test(msg.message), JSON.stringify(msg));
      await p.close();
      return msg.message.split('\n')[0];
    });

    // Speed: one worker at a time (so each has a core), same sizes natively on one thread.
    const speeds = {};
    await check('speed at M = 1000, N = 200: browser (one worker) vs native single-threaded', async () => {
      await page.goto(`${base}?method=gn`);
      await page.waitForSelector('body[data-ready=true]');
      const cfg = { tau0: 0.1, n: 200, m: 1000, eval_every: 1_000_000 };
      speeds.gnWeb = (await workerSpeed(page, { ...cfg, method: 'gn', max_iter: 50 })).itPerS;
      speeds.gdWeb = (await workerSpeed(page, { ...cfg, method: 'gd', max_iter: 1000 })).itPerS;
      speeds.gnNative = nativeSpeed('gn', 50);
      speeds.gdNative = nativeSpeed('gd', 1000);
      assert(speeds.gnWeb > 1 && speeds.gdWeb > 10, 'the browser runs at a plausible speed');
      return speeds.gnNative ? '' : 'native numbers skipped: target/release/gn is not built';
    });
    const f = (x) => (x ? x.toFixed(1) : 'n/a');
    const ratio = (a, b) => (a && b ? `${(a / b).toFixed(2)}x` : 'n/a');
    console.log(`perf: browser (wasm, one worker)      GN ${f(speeds.gnWeb)} it/s   GD ${f(speeds.gdWeb)} it/s   (M=1000, N=200, tau0=0.1)`);
    console.log(`perf: native (RAYON_NUM_THREADS=1)    GN ${f(speeds.gnNative)} it/s   GD ${f(speeds.gdNative)} it/s`);
    console.log(`perf: native/browser ratio            GN ${ratio(speeds.gnNative, speeds.gnWeb)}   GD ${ratio(speeds.gdNative, speeds.gdWeb)}   (GN target: >= 10 it/s in the browser, ratio <= 4x)`);
  } finally {
    clearTimeout(killer);
    await context.close().catch(() => {});
    server.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

await main().catch((err) => {
  failed++;
  console.log(`FAIL the test harness: ${err.stack || err}`);
});
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
