// The training worker: a module Web Worker that loads the wasm core and runs ONE training run,
// in slices of about 50 ms so that pause and stop answer quickly and the page never freezes.
// All numerics, records, speed and ETA come from the Rust `Run`; this file only schedules.
//
// Page → worker: {type:'start', config, paused?} · {type:'pause'} · {type:'resume'} ·
//                {type:'step'} · {type:'stop'} · {type:'reset'} · {type:'export', format:'csv'|'json', id}
// Worker → page: {type:'ready'} · {type:'started', progress, keys, line} · {type:'progress', progress, packed, state, picture?}
//                {type:'done', progress, summary, stopped, picture} · {type:'export', id, format, text}
//                {type:'error', message, problems?, fatal?}
// `packed` is a Float64Array of the new records, row by row in the order of `keys` (NaN = absent).
// `picture` (Rust's Run.picture(): the hidden units and the outputs on the fixed line) comes with
// every message that carries new records, and with 'started' and 'done'; `line` (Run.line()) is
// the line's positions and the teacher's outputs there.

import init, { Run, record_keys, crash_for_testing } from './pkg/gauss_newton.js';

const SLICE_MS = 50;

let run = null;
let state = 'idle'; // idle | running | paused | done | crashed
let sent = 0; // records already posted
let looping = false;

const ready = init().then(
  () => postMessage({ type: 'ready' }),
  (err) => {
    state = 'crashed';
    postMessage({ type: 'error', fatal: true, message: `could not load the WebAssembly module: ${err}` });
  },
);

// A zero-delay yield that lets queued messages (pause, stop) run first; unlike setTimeout(0)
// it is not clamped to 4 ms.
const channel = new MessageChannel();
channel.port1.onmessage = () => tick();
const later = () => channel.port2.postMessage(null);

function postProgress(type = 'progress', extra = {}) {
  const packed = run.recordsPacked(sent);
  const fresh = run.recordCount() > sent || type !== 'progress';
  sent = run.recordCount();
  const msg = { type, packed, state, ...extra };
  const transfer = [packed.buffer];
  if (fresh) {
    msg.picture = run.picture();
    transfer.push(msg.picture.units.buffer, msg.picture.line.buffer);
  }
  msg.progress = run.progress(); // after the picture, so its time is counted
  postMessage(msg, transfer);
}

function finish(stopped) {
  state = 'done';
  postProgress('done', { summary: run.summary(), stopped });
}

// A panic in Rust traps the wasm instance; its message was left in globalThis by the hook.
function crashed(err) {
  state = 'crashed';
  run = null;
  const why = self.gnPanicMessage || String(err);
  postMessage({ type: 'error', fatal: true, message: `the training code crashed: ${why}` });
}

function guarded(fn) {
  try {
    fn();
  } catch (err) {
    if (err instanceof WebAssembly.RuntimeError) crashed(err);
    else postMessage({ type: 'error', message: err.message || String(err), problems: err.problems });
  }
}

function tick() {
  looping = false;
  if (state !== 'running') return;
  guarded(() => {
    run.run_for(SLICE_MS, 1e9);
    if (run.isFinished()) finish(false);
    else {
      postProgress();
      looping = true;
      later();
    }
  });
}

function schedule() {
  if (!looping) {
    looping = true;
    later();
  }
}

const handlers = {
  start({ config, paused }) {
    if (run) run.free();
    run = null;
    sent = 0;
    run = new Run(config); // throws an Error with .problems if the config is invalid
    state = paused ? 'paused' : 'running';
    postProgress('started', { keys: Array.from(record_keys()), line: run.line() });
    if (state === 'running') schedule();
  },
  pause() {
    if (state !== 'running') return;
    state = 'paused';
    postProgress();
  },
  resume() {
    if (state !== 'paused') return;
    state = 'running';
    schedule();
  },
  step() {
    if (!run || state === 'done') return;
    state = 'paused';
    run.step(1);
    if (run.isFinished()) finish(false);
    else postProgress();
  },
  stop() {
    if (!run || state === 'done') return;
    finish(true);
  },
  reset() {
    if (!run) return;
    run.reset();
    sent = 0;
    state = 'paused';
    postProgress('started', { keys: Array.from(record_keys()), line: run.line() });
  },
  export({ format, id }) {
    if (!run) return;
    const text = format === 'json' ? run.json() : run.csv();
    postMessage({ type: 'export', id, format, text });
  },
  // Only for the tests: a Rust panic must reach the page as an error message.
  crash() {
    crash_for_testing();
  },
};

self.onmessage = async (event) => {
  await ready;
  const msg = event.data;
  if (state === 'crashed') {
    postMessage({ type: 'error', fatal: true, message: 'the training code has crashed; reload the page' });
    return;
  }
  const handler = handlers[msg.type];
  if (!handler) {
    postMessage({ type: 'error', message: `unknown command ${JSON.stringify(msg.type)}` });
    return;
  }
  guarded(() => handler(msg));
};
