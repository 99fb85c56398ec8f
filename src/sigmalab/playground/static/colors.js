// The Playground's colours: orange for negative / class 0, blue for positive / class 1.
const NEG = [245, 147, 34];
const MID = [232, 234, 235];
const POS = [8, 119, 189];
export const CLASS_COLORS = [
  [245, 147, 34], [8, 119, 189], [46, 160, 67], [214, 39, 40], [148, 103, 189],
  [140, 86, 75], [227, 119, 194], [127, 127, 127], [188, 189, 34], [23, 190, 207],
];

function mix(a, b, t) {
  return [0, 1, 2].map((i) => Math.round(a[i] + (b[i] - a[i]) * t));
}

// 256 RGBA entries: byte 0 -> -1 (orange), 128 -> 0 (light grey), 255 -> +1 (blue).
export const DIVERGING = (() => {
  const lut = new Uint8ClampedArray(256 * 4);
  for (let v = 0; v < 256; v++) {
    const t = (v / 255) * 2 - 1;
    const rgb = t < 0 ? mix(MID, NEG, -t) : mix(MID, POS, t);
    lut.set([...rgb, 255], v * 4);
  }
  return lut;
})();

export function rgb(triple, alpha = 1) {
  return `rgba(${triple[0]},${triple[1]},${triple[2]},${alpha})`;
}

// A value in [-1, 1] as a CSS colour on the diverging scale.
export function divergingCss(t) {
  const v = Math.max(0, Math.min(255, Math.round(((t + 1) / 2) * 255)));
  return `rgb(${DIVERGING[v * 4]},${DIVERGING[v * 4 + 1]},${DIVERGING[v * 4 + 2]})`;
}

// Log-scale colour for the gradient-flow strip: dark (vanishing) to bright to red (exploding).
export function flowColor(log10) {
  const t = Math.max(0, Math.min(1, (log10 + 8) / 9));
  const stops = [[20, 20, 40], [60, 40, 120], [40, 120, 190], [90, 200, 120], [250, 220, 60], [220, 40, 30]];
  const x = t * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  return rgb(mix(stops[i], stops[i + 1], x - i));
}
