// The hidden-units picture: one dot per hidden unit of one run, at x = the angle (degrees)
// between its direction and the nearest teacher direction, y = its share of ‖U‖² relative to
// the average unit (log scale). Rust computes the coordinates (Run.picture, src/picture.rs);
// this file only draws them: grey dots where the units started, coloured dots where they are
// now, a dashed line at 0° for the teacher's directions. HiDPI canvas, hover readout, and a
// text alternative (aria-label) set by the caller. No dependencies beyond plot.js.

import { CanvasPlot, drawAxes, fmt, gridLines, ticks } from './plot.js';

const FONT = '11px system-ui, "DejaVu Sans", sans-serif';
const MARGIN = { left: 46, right: 18, top: 10, bottom: 34 };
const START = '#9a9a9a';

export class UnitsPlot extends CanvasPlot {
  /**
   * @param {HTMLElement} container  a .canvas-box
   * @param {string} color           the method's colour
   */
  constructor(container, color) {
    super(container, 'hidden units: no run yet');
    this.color = color;
    this.now = null; // Float64Array of (angle, share) pairs
    this.start = null;
  }

  /** The units at the start of the run and now (either may be null). */
  set(start, now) {
    this.start = start;
    this.now = now;
    this.requestDraw();
  }

  bounds() {
    let a1 = 90, s0 = Infinity, s1 = -Infinity;
    for (const pts of [this.start, this.now]) {
      if (!pts) continue;
      for (let i = 0; i < pts.length; i += 2) {
        const a = pts[i], s = pts[i + 1];
        if (!Number.isFinite(a) || !(s > 0)) continue;
        if (a > a1) a1 = a;
        if (s < s0) s0 = s;
        if (s > s1) s1 = s;
      }
    }
    if (!(s1 >= s0)) return null;
    const lo = Math.floor(Math.log10(s0) * 2) / 2, hi = Math.ceil(Math.log10(s1) * 2) / 2;
    return { x0: -6, x1: Math.ceil(a1 / 30) * 30, y0: 10 ** Math.min(lo, -0.5), y1: 10 ** Math.max(hi, 0.5) };
  }

  draw() {
    const surface = this.surface(FONT, MARGIN);
    if (!surface) return;
    const { ctx, h, ink, faint, muted, L, T, R, B } = surface;
    const b = this.bounds();
    this.map = null;
    if (!b) {
      ctx.fillStyle = muted;
      ctx.textAlign = 'center';
      ctx.textBaseline = 'middle';
      ctx.fillText('Press Run to start', (L + R) / 2, (T + B) / 2);
      ctx.strokeStyle = faint;
      ctx.strokeRect(L + 0.5, T + 0.5, R - L, B - T);
      this.tip.hidden = true;
      return;
    }
    const X = (a) => L + ((a - b.x0) / (b.x1 - b.x0)) * (R - L);
    const ly0 = Math.log10(b.y0), ly1 = Math.log10(b.y1);
    const Y = (s) => B - ((Math.log10(s) - ly0) / (ly1 - ly0)) * (B - T);
    this.map = { X, Y, L, R, T, B };

    ctx.lineWidth = 1;
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    gridLines(ctx, ticks(b.y0, b.y1, true, B - T), 'y', Y, L, R, { faint, muted }, (y) => [L - 5, y]);
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    const step = R - L < 220 ? 30 : 15;
    for (let a = 0; a <= b.x1; a += step) {
      const x = Math.round(X(a)) + 0.5;
      ctx.strokeStyle = faint;
      ctx.beginPath();
      ctx.moveTo(x, T);
      ctx.lineTo(x, B);
      ctx.stroke();
      ctx.fillStyle = muted;
      ctx.fillText(`${a}°`, x, B + 5);
    }
    const yTitle = 'share of ‖U‖² (× average, log)';
    drawAxes(ctx, { L, R, T, B, h }, 'angle to the nearest teacher direction', yTitle, 11, { ink, muted });

    // The teacher's directions: all at angle 0.
    const x0 = Math.round(X(0)) + 0.5;
    ctx.strokeStyle = ink;
    ctx.setLineDash([4, 3]);
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    ctx.moveTo(x0, T);
    ctx.lineTo(x0, B);
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.fillStyle = ink;
    ctx.textAlign = 'left';
    ctx.textBaseline = 'top';
    ctx.fillText('teacher', x0 + 4, T + 2);

    ctx.save();
    ctx.beginPath();
    ctx.rect(L, T, R - L, B - T);
    ctx.clip();
    this.dots(ctx, this.start, START, 0.45, 1.6, X, Y);
    this.dots(ctx, this.now, this.color, 0.55, 2.1, X, Y);
    ctx.restore();
    this.drawHover(ctx);
  }

  dots(ctx, pts, color, alpha, r, X, Y) {
    if (!pts) return;
    ctx.fillStyle = color;
    ctx.globalAlpha = alpha;
    for (let i = 0; i < pts.length; i += 2) {
      if (!Number.isFinite(pts[i]) || !(pts[i + 1] > 0)) continue;
      ctx.fillRect(X(pts[i]) - r, Y(pts[i + 1]) - r, 2 * r, 2 * r);
    }
    ctx.globalAlpha = 1;
  }

  /** The readout of the unit nearest the pointer (now, else at the start). */
  drawHover(ctx) {
    const m = this.mouse, map = this.map;
    this.tip.hidden = true;
    if (!m || !map || m.x < map.L || m.x > map.R || m.y < map.T || m.y > map.B) return;
    let best = null, bestD = 64;
    for (const [pts, when] of [[this.now, 'now'], [this.start, 'at the start']]) {
      if (!pts) continue;
      for (let i = 0; i < pts.length; i += 2) {
        if (!Number.isFinite(pts[i]) || !(pts[i + 1] > 0)) continue;
        const d = (map.X(pts[i]) - m.x) ** 2 + (map.Y(pts[i + 1]) - m.y) ** 2;
        if (d < bestD) (bestD = d), (best = { i: i / 2, a: pts[i], s: pts[i + 1], when });
      }
      if (best) break;
    }
    if (!best) return;
    ctx.strokeStyle = this.color;
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    ctx.arc(map.X(best.a), map.Y(best.s), 5, 0, 2 * Math.PI);
    ctx.stroke();
    this.tip.textContent = `unit ${best.i + 1} (${best.when}): ${fmt(best.a)}° from a teacher direction, share ${fmt(best.s)}× average`;
    this.showTip(m);
  }
}
