// Small pictures of the built-in datasets for the dataset buttons, drawn from each set's rule.
import { CLASS_COLORS, DIVERGING } from "./colors.js";

const SPIRAL_TURN = 1.75 * 2 * Math.PI / 5;
const BACKGROUND = [232, 234, 235];
// Multi-class sets: the class a point belongs to (null: background), one colour each.
const CLASS_RULES = {
  spiral3: (x, y) => {
    const r = Math.hypot(x, y);
    if (r > 5.2) return null;
    const delta = ((Math.atan2(x, y) - SPIRAL_TURN * r) % (2 * Math.PI) + 4 * Math.PI) % (2 * Math.PI);
    return Math.round(delta / (2 * Math.PI / 3)) % 3;
  },
  blobs: (x, y) => {
    const centres = [[2.47, 2.47], [-2.47, 2.47], [-2.47, -2.47], [2.47, -2.47]];
    const near = centres.findIndex(([cx, cy]) => Math.hypot(x - cx, y - cy) < 1.8);
    return near < 0 ? null : near;
  },
};
const RULES = {
  circle: (x, y) => { const r = Math.hypot(x, y); return r < 2.5 ? 1 : r > 3.5 ? -1 : 0; },
  xor: (x, y) => (x * y >= 0 ? 1 : -1),
  gauss: (x, y) => Math.tanh((Math.hypot(x + 2, y + 2) - Math.hypot(x - 2, y - 2)) * 0.8),
  spiral: (x, y) => {
    const r = Math.hypot(x, y);
    if (r > 5.2) return 0;
    const delta = ((Math.atan2(x, y) - SPIRAL_TURN * r) % (2 * Math.PI) + 4 * Math.PI) % (2 * Math.PI);
    return Math.cos(delta);
  },
  moons: (x, y) => {
    const outer = Math.abs(Math.hypot(x + 2, y + 1) - 4) < 1.2 && y > -1.5;
    const inner = Math.abs(Math.hypot(x - 2, y - 1) - 4) < 1.2 && y < 1.5;
    return outer ? -1 : inner ? 1 : 0;
  },
  checkerboard: (x, y) => ((Math.floor(x / 3) + Math.floor(y / 3)) % 2 === 0 ? -1 : 1),
  "reg-plane": (x, y) => (x + y) / 12,
  "reg-gauss": (x, y) => {
    let best = 0;
    for (const [cx, cy, s] of [[-4, 2.5, 1], [0, 2.5, -1], [4, 2.5, 1], [-4, -2.5, -1], [0, -2.5, 1], [4, -2.5, -1]]) {
      const v = s * Math.max(0, Math.min(1, 1 - Math.hypot(x - cx, y - cy) / 2));
      if (Math.abs(v) > Math.abs(best)) best = v;
    }
    return best;
  },
};
export const CLASSIFICATION = ["circle", "xor", "gauss", "spiral", "moons", "checkerboard", "spiral3", "blobs"];
export const REGRESSION = ["reg-plane", "reg-gauss"];

export function drawDataset(canvas, name) {
  const size = canvas.width;
  const context = canvas.getContext("2d");
  const image = context.createImageData(size, size);
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      const x = (px / (size - 1)) * 12 - 6, y = 6 - (py / (size - 1)) * 12;
      if (CLASS_RULES[name]) {
        const c = CLASS_RULES[name](x, y);
        image.data.set([...(c === null ? BACKGROUND : CLASS_COLORS[c]), 255], (py * size + px) * 4);
        continue;
      }
      const v = Math.max(0, Math.min(255, Math.round((RULES[name](x, y) + 1) * 127.5)));
      image.data.set([DIVERGING[v * 4], DIVERGING[v * 4 + 1], DIVERGING[v * 4 + 2], 255], (py * size + px) * 4);
    }
  }
  context.putImageData(image, 0, 0);
}
