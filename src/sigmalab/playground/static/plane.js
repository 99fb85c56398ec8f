// The output heat-map over the plane, the data points on it, and unit thumbnails.
import { CLASS_COLORS, DIVERGING, divergingCss, rgb } from "./colors.js";

// Paint bytes (0..255 on the diverging scale) into a canvas of the grid's size.
export function paintGrid(canvas, bytes, size, { discretize = false, classes = null, k = 2 } = {}) {
  if (canvas.width !== size) { canvas.width = size; canvas.height = size; canvas.image = null; }
  const context = canvas.getContext("2d");
  if (!canvas.image) canvas.image = context.createImageData(size, size);  // reused every frame
  const image = canvas.image;
  const out = image.data;
  for (let i = 0; i < size * size; i++) {
    if (classes) {
      // Multi-class: the winning class's colour, paler where the network is unsure.
      const c = CLASS_COLORS[classes[i] % CLASS_COLORS.length];
      const sure = discretize ? 1 : 0.25 + 0.6 * (bytes[i] / 255);
      for (let j = 0; j < 3; j++) out[i * 4 + j] = 245 + (c[j] - 245) * sure;
      out[i * 4 + 3] = 255;
    } else {
      let v = bytes[i];
      if (discretize) v = v >= 128 ? 255 : 0;
      const o = v * 4;
      out[i * 4] = DIVERGING[o]; out[i * 4 + 1] = DIVERGING[o + 1]; out[i * 4 + 2] = DIVERGING[o + 2];
      out[i * 4 + 3] = 255;
    }
  }
  context.putImageData(image, 0, 0);
}

// Training points (white ring) and, when asked, test points (black ring).
export function drawPoints(canvas, setup, showTest) {
  const context = canvas.getContext("2d");
  const { width, height } = canvas;
  context.clearRect(0, 0, width, height);
  if (!setup.plane || !setup.points) return;
  const [x0, x1] = setup.plane.x, [y0, y1] = setup.plane.y;
  const color = pointColor(setup);
  const draw = (points, labels, stroke) => {
    for (let i = 0; i < labels.length; i++) {
      const px = ((points[2 * i] - x0) / (x1 - x0)) * width;
      const py = (1 - (points[2 * i + 1] - y0) / (y1 - y0)) * height;
      context.beginPath();
      context.arc(px, py, 3.2, 0, 2 * Math.PI);
      context.fillStyle = color(labels[i]);
      context.fill();
      context.lineWidth = 1;
      context.strokeStyle = stroke;
      context.stroke();
    }
  };
  draw(setup.points.train, setup.points.trainLabels, "white");
  if (showTest) draw(setup.points.test, setup.points.testLabels, "black");
}

export function pointColor(setup) {
  if (setup.task === "regression") return (v) => divergingCss(Math.max(-1, Math.min(1, v)));
  if ((setup.n_classes || 2) > 2) return (v) => rgb(CLASS_COLORS[v % CLASS_COLORS.length]);
  return (v) => (v > 0.5 ? rgb(CLASS_COLORS[1]) : rgb(CLASS_COLORS[0]));
}

// Axis ticks under and beside the plane.
export function drawAxes(element, plane) {
  element.replaceChildren();
  if (!plane) return;
  for (const [axis, range] of [["x", plane.x], ["y", plane.y]]) {
    for (const t of [0, 0.5, 1]) {
      const tick = document.createElement("span");
      tick.className = `tick tick-${axis}`;
      const value = range[0] + (range[1] - range[0]) * t;
      tick.textContent = Math.abs(value) < 1e-9 ? "0" : String(Math.round(value * 10) / 10);
      if (axis === "x") tick.style.left = `${t * 100}%`;
      else tick.style.top = `${(1 - t) * 100}%`;
      element.append(tick);
    }
  }
}
