// Small canvas charts: the loss curve (with hover values), the gradient-flow strip and the
// activation curve with its derivative.
import { flowColor } from "./colors.js";
import { fmt, num } from "./protocol.js";

const MAX_POINTS = 4000;

export class LossCurve {
  constructor(canvas, tip) {
    Object.assign(this, { canvas, tip });
    this.reset();
    canvas.addEventListener("mousemove", (event) => this.hover(event));
    canvas.addEventListener("mouseleave", () => { tip.hidden = true; this.draw(); });
  }

  reset() { this.epochs = []; this.train = []; this.test = []; this.dirty = true; }

  add(epoch, train, test) {
    const last = this.epochs.length - 1;
    if (last >= 0 && this.epochs[last] === epoch) { this.train[last] = train; this.test[last] = test; }
    else { this.epochs.push(epoch); this.train.push(train); this.test.push(test); }
    if (this.epochs.length > MAX_POINTS) {  // keep every other point: the curve's shape stays
      for (const key of ["epochs", "train", "test"]) this[key] = this[key].filter((_, i) => i % 2 === 0 || i === this[key].length - 1);
    }
    this.dirty = true;
  }

  scale() {
    const { width, height } = this.canvas;
    const finite = [...this.train, ...this.test].filter(Number.isFinite);
    const top = Math.max(1e-9, ...finite.slice(-2000)) * 1.05;
    const last = Math.max(1, this.epochs[this.epochs.length - 1] || 1);
    return { x: (e) => (e / last) * (width - 2) + 1, y: (v) => height - 2 - (Math.min(v, top) / top) * (height - 4), top, last };
  }

  draw(highlight = null) {
    const context = this.canvas.getContext("2d");
    const { width, height } = this.canvas;
    context.clearRect(0, 0, width, height);
    if (!this.epochs.length) return;
    const s = this.scale();
    for (const [values, color] of [[this.train, "#777"], [this.test, "#111"]]) {
      context.beginPath();
      context.strokeStyle = color;
      context.lineWidth = 1.5;
      let started = false;
      values.forEach((v, i) => {
        if (!Number.isFinite(v)) { started = false; return; }
        const x = s.x(this.epochs[i]), y = s.y(v);
        if (started) context.lineTo(x, y); else { context.moveTo(x, y); started = true; }
      });
      context.stroke();
    }
    if (highlight !== null) {
      const x = s.x(this.epochs[highlight]);
      context.strokeStyle = "rgba(0,0,0,0.3)";
      context.beginPath(); context.moveTo(x, 0); context.lineTo(x, height); context.stroke();
    }
    this.dirty = false;
  }

  hover(event) {
    if (!this.epochs.length) return;
    const box = this.canvas.getBoundingClientRect();
    const s = this.scale();
    const epoch = ((event.clientX - box.left) / box.width) * s.last;
    let best = 0;
    this.epochs.forEach((e, i) => { if (Math.abs(e - epoch) < Math.abs(this.epochs[best] - epoch)) best = i; });
    this.draw(best);
    this.tip.hidden = false;
    this.tip.textContent = `epoch ${this.epochs[best]}: test ${fmt(this.test[best])}, train ${fmt(this.train[best])}`;
    this.tip.style.left = `${event.clientX + 10}px`;
    this.tip.style.top = `${event.clientY - 28}px`;
  }
}

// Columns of colour: one per probe, one row per Dense layer (input side at the top), drawn
// as one small image that CSS stretches (a few thousand fillRects a frame were too slow).
const FLOW_COLUMNS = 300;
const FLOW_LUT = (() => {
  const lut = [];
  for (let i = 0; i < 256; i++) {
    const match = flowColor(-8 + (9 * i) / 255).match(/\d+/g).map(Number);
    lut.push(match.slice(0, 3));
  }
  return lut;
})();

export class FlowStrip {
  constructor(canvas) { this.canvas = canvas; this.reset(); }
  reset() { this.rows = []; this.dirty = true; }
  add(rows) {
    for (const row of rows) this.rows.push(row);
    if (this.rows.length > FLOW_COLUMNS) this.rows.splice(0, this.rows.length - FLOW_COLUMNS);
    this.dirty = rows.length > 0 || this.dirty;
  }
  draw() {
    this.dirty = false;
    const layers = this.rows.length ? this.rows[this.rows.length - 1][1].length : 1;
    if (this.canvas.width !== FLOW_COLUMNS || this.canvas.height !== layers) {
      this.canvas.width = FLOW_COLUMNS;
      this.canvas.height = layers;
    }
    const context = this.canvas.getContext("2d");
    const image = context.createImageData(FLOW_COLUMNS, layers);
    const offset = FLOW_COLUMNS - this.rows.length;
    for (let layer = 0; layer < layers; layer++) {
      for (let x = 0; x < FLOW_COLUMNS; x++) {
        const at = (layer * FLOW_COLUMNS + x) * 4;
        const row = this.rows[x - offset];
        let rgb = [244, 245, 246];
        if (row && row[1].length === layers) {
          const value = num(row[1][layer]);
          rgb = Number.isFinite(value)
            ? FLOW_LUT[Math.max(0, Math.min(255, Math.round(((Math.log10(Math.max(value, 1e-12)) + 8) / 9) * 255)))]
            : [221, 0, 0];
        }
        image.data[at] = rgb[0]; image.data[at + 1] = rgb[1]; image.data[at + 2] = rgb[2]; image.data[at + 3] = 255;
      }
    }
    context.putImageData(image, 0, 0);
  }
}

export function drawCurve(canvas, curve) {
  const context = canvas.getContext("2d");
  const { width, height } = canvas;
  context.clearRect(0, 0, width, height);
  context.strokeStyle = "#ccc";
  context.beginPath(); context.moveTo(0, height / 2); context.lineTo(width, height / 2);
  context.moveTo(width / 2, 0); context.lineTo(width / 2, height); context.stroke();
  if (!curve) return;
  const values = [...curve.y, ...curve.dy].filter((v) => v !== null && Number.isFinite(v));
  const span = Math.min(10, Math.max(1, ...values.map(Math.abs))) * 1.1;
  const x = (v) => ((v + 5) / 10) * width;
  const y = (v) => height / 2 - (v / span) * (height / 2);
  for (const [series, color, dash] of [[curve.y, "#0877bd", []], [curve.dy, "#f59322", [4, 3]]]) {
    context.beginPath();
    context.setLineDash(dash);
    context.strokeStyle = color;
    context.lineWidth = 2;
    let started = false;
    series.forEach((v, i) => {
      if (v === null || !Number.isFinite(v) || Math.abs(v) > span * 2) { started = false; return; }
      if (started) context.lineTo(x(curve.x[i]), y(v)); else { context.moveTo(x(curve.x[i]), y(v)); started = true; }
    });
    context.stroke();
  }
  context.setLineDash([]);
}
