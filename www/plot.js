// A small hand-written canvas line chart for the page: log or linear axes with ticks, tick
// labels and axis titles, solid/dashed/dotted series, horizontal reference lines, a hover
// readout, crisp on high-DPI screens, redrawn when its box resizes. No dependencies.
//
//   const p = new LinePlot(container, { yLog: true, yLabel: 'loss', xLabel: 'iteration' });
//   p.setSeries([{ label, color, dash: [5, 4], width: 2, xs: [...], ys: [...] },
//                { label, color, dash: [2, 3], hline: 0.03 }]);
//   p.setXLog(true);   // redraws on the next animation frame

const FONT = '11px system-ui, "DejaVu Sans", sans-serif';
const MARGIN = { left: 58, right: 14, top: 10, bottom: 36 };
const SUPERSCRIPT = { '-': '⁻', 0: '⁰', 1: '¹', 2: '²', 3: '³', 4: '⁴', 5: '⁵', 6: '⁶', 7: '⁷', 8: '⁸', 9: '⁹' };

/** A short, readable number: 3 significant digits, exponent form when very small or large. */
export function fmt(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return '–';
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(2).replace('e+', 'e');
  return Number(v.toPrecision(3)).toString();
}

const pow10Label = (k) => (k === 0 ? '1' : k === 1 ? '10' : '10' + String(k).replace(/./g, (c) => SUPERSCRIPT[c]));

function niceStep(span, count) {
  const raw = span / Math.max(count, 1);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const r = raw / mag;
  return (r < 1.5 ? 1 : r < 3 ? 2 : r < 7 ? 5 : 10) * mag;
}

/** Axis ticks [{v, label, major}] covering [lo, hi] (data units). */
export function ticks(lo, hi, log, pixels) {
  const want = Math.max(2, Math.floor(pixels / 55));
  if (log) {
    const a = Math.floor(Math.log10(lo)), b = Math.ceil(Math.log10(hi));
    const decades = b - a;
    if (decades >= 2) {
      const every = Math.ceil(decades / want);
      const out = [];
      for (let k = a; k <= b; k++) {
        if (k % every === 0) out.push({ v: 10 ** k, label: pow10Label(k), major: true });
        else if (every === 1) out.push({ v: 10 ** k, label: '', major: false });
      }
      // Minor ticks at 2..9 × 10^k when decades are roomy.
      if (pixels / decades > 60) {
        for (let k = a; k < b; k++) for (let m = 2; m <= 9; m++) out.push({ v: m * 10 ** k, label: '', major: false });
      }
      return out.filter((t) => t.v >= lo * 0.999 && t.v <= hi * 1.001);
    }
    // Less than two decades: 1-2-5 steps read better than lone powers of ten.
    const out = [];
    for (let k = a; k <= b; k++) {
      for (const m of [1, 2, 5]) {
        const v = m * 10 ** k;
        if (v >= lo * 0.999 && v <= hi * 1.001) out.push({ v, label: m === 1 ? pow10Label(k) : fmt(v), major: true });
      }
    }
    if (out.length >= 2) return out;
  }
  const step = niceStep(hi - lo, want);
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) {
    const r = Math.abs(v) < step * 1e-9 ? 0 : v;
    if (!log || r > 0) out.push({ v: r, label: fmt(Number(r.toPrecision(12))), major: true });
  }
  return out;
}

// A canvas sized to its box at the device's pixel ratio, cleared, with the page's colours:
// { ctx, w, h, ink, faint, muted } in CSS pixels, or null while the box has no size.
/**
 * Grid lines with their labels, one per tick of `list` ({v, major, label}): along the y axis
 * (`axis` 'y') horizontal lines at pos(v) from x = a to b, else vertical lines at pos(v) from
 * y = a to b; minor ticks fainter. A label is drawn at `labelAt(p)` = [x, y], p the line's
 * pixel position.
 */
export function gridLines(ctx, list, axis, pos, a, b, colors, labelAt) {
  for (const t of list) {
    const p = Math.round(pos(t.v)) + 0.5;
    ctx.strokeStyle = colors.faint;
    ctx.globalAlpha = t.major ? 1 : 0.45;
    ctx.beginPath();
    if (axis === 'y') {
      ctx.moveTo(a, p);
      ctx.lineTo(b, p);
    } else {
      ctx.moveTo(p, a);
      ctx.lineTo(p, b);
    }
    ctx.stroke();
    ctx.globalAlpha = 1;
    if (t.label) {
      ctx.fillStyle = colors.muted;
      const [x, y] = labelAt(p);
      ctx.fillText(t.label, x, y);
    }
  }
}

export function prepareCanvas(box, canvas, font) {
  const dpr = window.devicePixelRatio || 1;
  const w = box.clientWidth, h = box.clientHeight;
  if (!w || !h) return null;
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
    canvas.style.width = `${w}px`;
    canvas.style.height = `${h}px`;
  }
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  ctx.font = font;
  const css = getComputedStyle(box);
  const ink = css.getPropertyValue('--ink').trim() || '#222';
  const faint = css.getPropertyValue('--grid').trim() || '#e5e5e5';
  const muted = css.getPropertyValue('--muted').trim() || '#666';
  return { ctx, w, h, ink, faint, muted };
}

/**
 * The left and bottom axis lines of the plot area (L, R, T, B), the x title centred at the
 * bottom of the canvas (height h), the y title turned along the left edge at x = `yAt`.
 */
export function drawAxes(ctx, { L, R, T, B, h }, xTitle, yTitle, yAt, { ink, muted }) {
  ctx.strokeStyle = muted;
  ctx.beginPath();
  ctx.moveTo(L + 0.5, T);
  ctx.lineTo(L + 0.5, B + 0.5);
  ctx.lineTo(R, B + 0.5);
  ctx.stroke();
  ctx.fillStyle = ink;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'bottom';
  ctx.fillText(xTitle, (L + R) / 2, h - 2);
  ctx.save();
  ctx.translate(yAt, (T + B) / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.textBaseline = 'middle';
  ctx.fillText(yTitle, 0, 0);
  ctx.restore();
}

/**
 * What the page's canvas plots share: a canvas (role img, `label` its aria-label) and a hover
 * readout in `container`, redrawn (`draw()`, the subclass's) on resize and as the pointer
 * moves, at most once per animation frame.
 */
export class CanvasPlot {
  constructor(container, label) {
    this.box = container;
    this.mouse = null;
    this.canvas = document.createElement('canvas');
    this.canvas.setAttribute('role', 'img');
    this.canvas.setAttribute('aria-label', label);
    this.tip = document.createElement('div');
    this.tip.className = 'plot-tip';
    this.tip.hidden = true;
    container.append(this.canvas, this.tip);
    this.pending = false;
    new ResizeObserver(() => this.draw()).observe(container);
    this.canvas.addEventListener('pointermove', (e) => {
      const r = this.canvas.getBoundingClientRect();
      this.mouse = { x: e.clientX - r.left, y: e.clientY - r.top };
      this.requestDraw();
    });
    this.canvas.addEventListener('pointerleave', () => {
      this.mouse = null;
      this.requestDraw();
    });
  }

  /** Coalesces redraws to one per animation frame. */
  requestDraw() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.draw();
    });
  }

  /**
   * The canvas ready to draw on (prepareCanvas) and the plot area L, T, R, B inside `margin`;
   * null while the box has no size.
   */
  surface(font, margin) {
    const s = prepareCanvas(this.box, this.canvas, font);
    if (!s) return null;
    return { ...s, L: margin.left, T: margin.top, R: s.w - margin.right, B: s.h - margin.bottom };
  }

  /** Shows the readout beside the pointer `m`, on the side where it fits. */
  showTip(m) {
    this.tip.hidden = false;
    const tw = this.tip.offsetWidth, th = this.tip.offsetHeight;
    const left = m.x + 14 + tw > this.box.clientWidth ? m.x - 14 - tw : m.x + 14;
    this.tip.style.left = `${Math.max(0, left)}px`;
    this.tip.style.top = `${Math.max(0, Math.min(m.y - th / 2, this.box.clientHeight - th))}px`;
  }
}

export class LinePlot extends CanvasPlot {
  constructor(container, { yLog = true, yLabel = '', xLabel = 'iteration', empty = 'Press Run to start', xFmt = null } = {}) {
    super(container, yLabel ? `plot of ${yLabel}` : 'plot');
    this.opts = { yLog, yLabel, xLabel, empty, xFmt: xFmt || ((x) => Math.round(x).toLocaleString('en-US')) };
    this.xLog = false;
    this.series = [];
  }

  setSeries(series) {
    this.series = series;
    this.requestDraw();
  }

  setXLog(on) {
    this.xLog = on;
    this.requestDraw();
  }

  setXLabel(label) {
    this.opts.xLabel = label;
    this.requestDraw();
  }

  validX(x) {
    return Number.isFinite(x) && (!this.xLog || x > 0);
  }

  validY(y) {
    return Number.isFinite(y) && (!this.opts.yLog || y > 0);
  }

  bounds() {
    let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    for (const s of this.series) {
      if (s.hline !== undefined) {
        if (this.validY(s.hline)) (y0 = Math.min(y0, s.hline)), (y1 = Math.max(y1, s.hline));
        continue;
      }
      for (let i = 0; i < s.xs.length; i++) {
        const x = s.xs[i], y = s.ys[i];
        if (!this.validX(x) || !this.validY(y)) continue;
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
    if (!(x1 >= x0) || !(y1 >= y0)) return null;
    if (x1 === x0) (x0 = this.xLog ? x0 / 2 : x0 - 1), (x1 = this.xLog ? x1 * 2 : x1 + 1);
    // A little room on the right, so the last point (often a dot) is not cut by the frame.
    if (this.xLog) x1 = 10 ** (Math.log10(x1) + (Math.log10(x1) - Math.log10(x0)) * 0.02);
    else x1 += (x1 - x0) * 0.02;
    if (this.opts.yLog) {
      const pad = Math.max((Math.log10(y1) - Math.log10(y0)) * 0.06, 0.15);
      y0 = 10 ** (Math.log10(y0) - pad);
      y1 = 10 ** (Math.log10(y1) + pad);
    } else {
      const pad = (y1 - y0) * 0.08 || Math.abs(y1) * 0.1 || 1;
      y0 -= pad;
      y1 += pad;
      if (y0 < 0 && y0 + pad >= 0) y0 = 0;
    }
    return { x0, x1, y0, y1 };
  }

  draw() {
    const surface = this.surface(FONT, MARGIN);
    if (!surface) return;
    const { ctx, h, ink, faint, muted, L, T, R, B } = surface;
    const b = this.bounds();
    if (!b) {
      ctx.fillStyle = muted;
      ctx.textAlign = 'center';
      ctx.textBaseline = 'middle';
      ctx.fillText(this.opts.empty, (L + R) / 2, (T + B) / 2);
      ctx.strokeStyle = faint;
      ctx.strokeRect(L + 0.5, T + 0.5, R - L, B - T);
      this.tip.hidden = true;
      this.map = null;
      return;
    }
    const yLog = this.opts.yLog, xLog = this.xLog;
    const tx = (v) => (xLog ? Math.log10(v) : v);
    const ty = (v) => (yLog ? Math.log10(v) : v);
    const X = (v) => L + ((tx(v) - tx(b.x0)) / (tx(b.x1) - tx(b.x0))) * (R - L);
    const Y = (v) => B - ((ty(v) - ty(b.y0)) / (ty(b.y1) - ty(b.y0))) * (B - T);
    this.map = { X, Y, b, L, R, T, B };

    // Grid and ticks.
    ctx.lineWidth = 1;
    ctx.textBaseline = 'middle';
    ctx.textAlign = 'right';
    gridLines(ctx, ticks(b.y0, b.y1, yLog, B - T), 'y', Y, L, R, { faint, muted }, (y) => [L - 6, y]);
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    gridLines(ctx, ticks(b.x0, b.x1, xLog, R - L), 'x', X, T, B, { faint, muted }, (x) => [x, B + 5]);
    const xTitle = this.opts.xLabel + (xLog ? ' (log scale)' : '');
    drawAxes(ctx, { L, R, T, B, h }, xTitle, this.opts.yLabel + (yLog ? ' (log)' : ''), 12, { ink, muted });

    // Series, clipped to the plot area; a gap where a value is missing.
    ctx.save();
    ctx.beginPath();
    ctx.rect(L, T - 2, R - L + 2, B - T + 4);
    ctx.clip();
    for (const s of this.series) {
      ctx.strokeStyle = s.color;
      ctx.lineWidth = s.width || 1.8;
      ctx.globalAlpha = s.alpha ?? 1;
      ctx.setLineDash(s.dash || []);
      ctx.lineJoin = 'round';
      ctx.beginPath();
      if (s.hline !== undefined) {
        if (this.validY(s.hline)) {
          ctx.moveTo(L, Y(s.hline));
          ctx.lineTo(R, Y(s.hline));
        }
      } else {
        let run = 0; // points in the current unbroken stretch
        const dots = [];
        const n = s.xs.length;
        for (let i = 0; i < n; i++) {
          const ok = this.validX(s.xs[i]) && this.validY(s.ys[i]);
          if (!ok) {
            if (run === 1) dots.push(i - 1);
            run = 0;
            continue;
          }
          const x = X(s.xs[i]), y = Y(s.ys[i]);
          if (run) ctx.lineTo(x, y);
          else ctx.moveTo(x, y);
          run++;
        }
        if (run === 1) dots.push(n - 1);
        ctx.stroke();
        // A point with no neighbour to join is drawn as a dot.
        ctx.fillStyle = s.color;
        for (const i of dots) {
          ctx.beginPath();
          ctx.arc(X(s.xs[i]), Y(s.ys[i]), 3, 0, 2 * Math.PI);
          ctx.fill();
        }
        continue;
      }
      ctx.stroke();
    }
    ctx.restore();
    ctx.setLineDash([]);
    ctx.globalAlpha = 1;
    this.drawHover(ctx);
  }

  /** Crosshair at the pointer, a marker on each series' nearest point, and the readout. */
  drawHover(ctx) {
    const m = this.mouse, map = this.map;
    if (!m || !map || m.x < map.L || m.x > map.R || m.y < map.T || m.y > map.B) {
      this.tip.hidden = true;
      return;
    }
    ctx.strokeStyle = 'rgba(0,0,0,0.35)';
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(Math.round(m.x) + 0.5, map.T);
    ctx.lineTo(Math.round(m.x) + 0.5, map.B);
    ctx.stroke();
    const rows = [];
    for (const s of this.series) {
      if (s.hline !== undefined) {
        if (this.validY(s.hline)) rows.push({ s, y: s.hline });
        continue;
      }
      // The nearest point, if the pointer is within the series' span (sparse records too).
      let best = -1, bestD = Infinity, lo = Infinity, hi = -Infinity;
      for (let i = 0; i < s.xs.length; i++) {
        if (!this.validX(s.xs[i]) || !this.validY(s.ys[i])) continue;
        const px = map.X(s.xs[i]);
        lo = Math.min(lo, px);
        hi = Math.max(hi, px);
        const d = Math.abs(px - m.x);
        if (d < bestD) (bestD = d), (best = i);
      }
      if (best < 0 || m.x < lo - 12 || m.x > hi + 12) continue;
      const x = map.X(s.xs[best]), y = map.Y(s.ys[best]);
      ctx.fillStyle = s.color;
      ctx.beginPath();
      ctx.arc(x, y, 3.5, 0, 2 * Math.PI);
      ctx.fill();
      rows.push({ s, x: s.xs[best], y: s.ys[best] });
    }
    if (!rows.length) {
      this.tip.hidden = true;
      return;
    }
    this.tip.replaceChildren(
      ...rows.map(({ s, x, y }) => {
        const row = document.createElement('div');
        const key = document.createElement('i');
        key.style.background = s.color;
        const text = document.createElement('span');
        text.textContent = `${s.label}: ${fmt(y)}` + (x === undefined ? '' : `  @ ${this.opts.xFmt(x)}`);
        row.append(key, text);
        return row;
      }),
    );
    this.showTip(m);
  }
}
