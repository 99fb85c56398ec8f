// The network diagram: a column of inputs, one per hidden layer, the outputs; thumbnails in
// the nodes, and links whose width is |weight| and whose colour is its sign.
import { DIVERGING, divergingCss } from "./colors.js";
import { paintGrid } from "./plane.js";
import { fmt } from "./protocol.js";

const SVG = "http://www.w3.org/2000/svg";
export const FEATURES = ["x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)"];
const LABELS = { "x1": "X\u2081", "x2": "X\u2082", "x1^2": "X\u2081\u00b2", "x2^2": "X\u2082\u00b2",
  "x1*x2": "X\u2081X\u2082", "sin(x1)": "sin(X\u2081)", "sin(x2)": "sin(X\u2082)" };

export class NetworkView {
  // Links and the hidden units' thumbnails are painted on one canvas each frame (repainting
  // hundreds of SVG curves and dozens of small canvases was the slowest part of a frame);
  // invisible SVG paths on top, never restyled, take the mouse.
  constructor(area, canvas, svg, columns, editor, tooltip, actions) {
    Object.assign(this, { area, canvas, svg, columns, editor, tooltip, actions });
    this.links = [];
    this.unitNodes = [];
    this.weights = null;
    this.thumbs = null;
    this.scratch = document.createElement("canvas");
    this.scratch.width = this.scratch.height = 20;
    this.scratchImage = this.scratch.getContext("2d").createImageData(20, 20);
    editor.addEventListener("keydown", (event) => this.onEditorKey(event));
    editor.addEventListener("blur", () => { editor.hidden = true; });
    new ResizeObserver(() => this.layoutLinks()).observe(area);
  }

  // Rebuild the columns for a new run (setup message).
  build(setup, settings, inputThumbs) {
    this.setup = setup;
    this.columns.replaceChildren();
    this.unitNodes = [];
    this.biases = [];
    const builtin = !setup.upload || settings.dataset !== setup.upload.name;
    const inputs = builtin ? FEATURES : setup.inputs;
    const active = builtin ? inputs.filter((name) => setup.inputs.includes(name)) : inputs;
    // Input column: every Playground feature (click to toggle), or the CSV's columns.
    const inputColumn = this.column(builtin ? "Features" : "Inputs", `${active.length} used`);
    this.inputNodes = [];
    inputs.forEach((name) => {
      const index = active.indexOf(name);
      const node = this.node(inputColumn, index >= 0 ? "input" : "input off", LABELS[name] || name);
      if (index >= 0 && inputThumbs) paintGrid(node.canvas, inputThumbs.data.subarray(index * 400, index * 400 + 400), 20);
      if (builtin) {
        node.element.title = index >= 0 ? `${name}: click to stop using it` : `${name}: click to use it`;
        node.element.dataset.testid = `feature-${name}`;
        node.element.addEventListener("click", () => this.actions.toggleFeature(name));
      }
      if (index >= 0) this.inputNodes[index] = node;
    });
    // Hidden layers, each with its own controls.
    setup.layers.forEach((units, layer) => {
      const column = this.column(`${units} neuron${units === 1 ? "" : "s"}`, "", layer);
      const nodes = [];
      for (let unit = 0; unit < units; unit++) {
        const node = this.node(column, "unit", "");
        node.element.addEventListener("mouseenter", () => this.actions.previewUnit(layer, unit));
        node.element.addEventListener("mouseleave", () => this.actions.previewUnit(null));
        this.addBias(node, layer, unit);
        nodes.push(node);
      }
      this.unitNodes.push(nodes);
    });
    const outputColumn = this.column("Output", "");
    this.outputNodes = [];
    for (let k = 0; k < setup.outputs; k++) {
      const node = this.node(outputColumn, "output", setup.outputs > 1 ? `class ${k}` : "");
      this.addBias(node, setup.layers.length, k);
      this.outputNodes.push(node);
    }
    requestAnimationFrame(() => this.makeLinks());
  }

  column(title, subtitle, layer = null) {
    const column = document.createElement("div");
    column.className = "net-column";
    const head = document.createElement("div");
    head.className = "net-head";
    if (layer !== null) head.append(this.actions.layerControls(layer));
    const label = document.createElement("div");
    label.className = "net-title";
    label.textContent = title;
    const sub = document.createElement("div");
    sub.className = "net-sub";
    sub.textContent = subtitle;
    head.append(label, sub);
    const body = document.createElement("div");
    body.className = "net-nodes";
    column.append(head, body);
    this.columns.append(column);
    return body;
  }

  node(parent, kind, label) {
    const element = document.createElement("div");
    element.className = `node ${kind}`;
    const canvas = document.createElement("canvas");
    canvas.width = 20; canvas.height = 20;
    element.append(canvas);
    if (label) {
      const text = document.createElement("span");
      text.className = "node-label";
      text.textContent = label;
      element.append(text);
    }
    parent.append(element);
    return { element, canvas };
  }

  // The small square at a unit's lower left, as in the Playground: its bias, coloured by
  // sign; hover shows the value, a click edits it.
  addBias(node, layer, unit) {
    const bias = document.createElement("div");
    bias.className = "bias";
    bias.dataset.testid = "bias";
    bias.dataset.layer = layer;
    bias.dataset.unit = unit;
    const target = { kind: "bias", layer, unit, element: bias };
    bias.addEventListener("mouseenter", (event) => this.showTip(event, target));
    bias.addEventListener("mousemove", (event) => this.moveTip(event));
    bias.addEventListener("mouseleave", () => this.hideTip());
    bias.addEventListener("click", (event) => { event.stopPropagation(); this.edit(event, target); });
    node.element.append(bias);
    this.biases.push(target);
  }

  // One SVG path per weight; geometry from the nodes' positions.
  makeLinks() {
    this.svg.replaceChildren();
    this.links = [];
    const columns = [this.inputNodes, ...this.unitNodes, this.outputNodes];
    for (let layer = 0; layer + 1 < columns.length; layer++) {
      const from = columns[layer], to = columns[layer + 1];
      for (let i = 0; i < from.length; i++) {
        for (let j = 0; j < to.length; j++) {
          const path = document.createElementNS(SVG, "path");
          path.classList.add("link");
          const link = { kind: "weight", path, layer, row: i, col: j, fanIn: from.length, a: from[i], b: to[j] };
          path.addEventListener("mouseenter", (event) => this.showTip(event, link));
          path.addEventListener("mousemove", (event) => this.moveTip(event));
          path.addEventListener("mouseleave", () => this.hideTip());
          path.addEventListener("click", (event) => this.edit(event, link));
          this.svg.append(path);
          this.links.push(link);
        }
      }
    }
    this.layoutLinks();
    if (this.weights) this.updateWeights(this.weights);
  }

  layoutLinks() {
    if (!this.links.length) return;
    const box = this.area.getBoundingClientRect();
    this.svg.setAttribute("width", box.width);
    this.svg.setAttribute("height", box.height);
    const scale = window.devicePixelRatio || 1;
    this.canvas.width = Math.round(box.width * scale);
    this.canvas.height = Math.round(box.height * scale);
    this.canvas.style.width = `${box.width}px`;
    this.canvas.style.height = `${box.height}px`;
    const rects = new Map();
    const rect = (node) => {
      if (!rects.has(node)) rects.set(node, node.element.getBoundingClientRect());
      return rects.get(node);
    };
    for (const node of this.unitNodes.flat()) {
      const r = rect(node);
      node.box = [r.left - box.left + 1, r.top - box.top + 1, r.width - 2, r.height - 2];
    }
    for (const link of this.links) {
      const a = rect(link.a), b = rect(link.b);
      const x1 = a.right - box.left, y1 = a.top + a.height / 2 - box.top;
      const x2 = b.left - box.left, y2 = b.top + b.height / 2 - box.top;
      const mx = (x1 + x2) / 2;
      link.path.setAttribute("d", `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`);
      link.curve = [x1, y1, mx, x2, y2];
    }
    this.paint();
  }

  paint() {
    const context = this.canvas.getContext("2d");
    const scale = window.devicePixelRatio || 1;
    context.setTransform(scale, 0, 0, scale, 0, 0);
    context.clearRect(0, 0, this.canvas.width, this.canvas.height);
    context.globalAlpha = 0.8;
    for (const link of this.links) {
      if (!link.curve || link.width === undefined) continue;
      const [x1, y1, mx, x2, y2] = link.curve;
      context.beginPath();
      context.moveTo(x1, y1);
      context.bezierCurveTo(mx, y1, mx, y2, x2, y2);
      context.lineWidth = link.width;
      context.strokeStyle = link.color;
      context.stroke();
    }
    context.globalAlpha = 1;
    if (!this.thumbs) return;
    const pixels = this.scratchImage.data;
    let index = 0;
    for (const node of this.unitNodes.flat()) {
      const bytes = this.thumbs.subarray(index * 400, index * 400 + 400);
      index++;
      if (!node.box || bytes.length < 400) continue;
      const dead = node.status === 1;
      for (let i = 0; i < 400; i++) {
        const o = bytes[i] * 4;
        if (dead) {  // a dead unit in grey: it no longer tells the classes apart
          const grey = 0.3 * DIVERGING[o] + 0.59 * DIVERGING[o + 1] + 0.11 * DIVERGING[o + 2];
          pixels[i * 4] = pixels[i * 4 + 1] = pixels[i * 4 + 2] = 200 + grey * 0.2;
        } else {
          pixels[i * 4] = DIVERGING[o]; pixels[i * 4 + 1] = DIVERGING[o + 1]; pixels[i * 4 + 2] = DIVERGING[o + 2];
        }
        pixels[i * 4 + 3] = 255;
      }
      this.scratch.getContext("2d").putImageData(this.scratchImage, 0, 0);
      context.drawImage(this.scratch, ...node.box);
    }
  }

  // Each frame: link widths and colours, unit thumbnails and their doctor status.
  update(frame) {
    this.thumbs = frame.arrays.units ? frame.arrays.units.data : null;
    this.unitNodes.forEach((nodes, layer) => {
      const status = frame.header.units[layer] || [];
      nodes.forEach((node, unit) => {
        if (node.status !== status[unit]) {  // the DOM is touched only when the status changes
          node.status = status[unit];
          node.element.classList.toggle("dead", status[unit] === 1);
          node.element.classList.toggle("saturated", status[unit] === 2);
          node.element.title = status[unit] === 1 ? "dead: never active on the training data"
            : status[unit] === 2 ? "saturated: stuck on a flat end of its activation" : "";
        }
      });
    });
    this.updateWeights(frame.arrays);
  }

  updateWeights(arrays) {
    this.weights = arrays;
    for (const link of this.links) {
      const w = arrays[`w${link.layer}`];
      if (!w) continue;
      const value = w.data[link.row * w.shape[1] + link.col];
      link.value = value;
      link.width = 0.6 + Math.min(Math.abs(value), 5) * 1.6;
      const shade = Math.round(Math.max(-1, Math.min(1, value)) * 32);
      if (shade !== link.shade) { link.shade = shade; link.color = divergingCss(shade / 32); }
    }
    for (const bias of this.biases) {
      const b = arrays[`b${bias.layer}`];
      if (!b) continue;
      bias.value = b.data[bias.unit];
      const shade = Math.round(Math.max(-1, Math.min(1, bias.value)) * 32);
      if (shade !== bias.shade) { bias.shade = shade; bias.element.style.background = divergingCss(shade / 32); }
    }
    this.refreshTip();
    this.paint();
  }

  paintOutputs(heat, size, discretize) {
    if (this.outputNodes.length === 1 && heat) {
      const small = new Uint8Array(400);
      const step = size / 20;
      for (let y = 0; y < 20; y++) for (let x = 0; x < 20; x++) small[y * 20 + x] = heat[Math.floor(y * step) * size + Math.floor(x * step)];
      paintGrid(this.outputNodes[0].canvas, small, 20, { discretize });
    }
  }

  showTip(event, link) {
    this.tipTarget = link;
    this.tooltip.hidden = false;
    this.refreshTip();
    this.moveTip(event);
  }

  // The value under the mouse, kept current as frames (or an edit) change it.
  refreshTip() {
    const target = this.tipTarget;
    if (target && !this.tooltip.hidden) this.tooltip.textContent = `${target.kind} ${fmt(target.value, 3)} (click to edit)`;
  }

  hideTip() {
    this.tipTarget = null;
    this.tooltip.hidden = true;
  }

  moveTip(event) {
    this.tooltip.style.left = `${event.clientX + 12}px`;
    this.tooltip.style.top = `${event.clientY + 12}px`;
  }

  edit(event, link) {
    const box = this.area.getBoundingClientRect();
    this.editing = link;
    this.editor.hidden = false;
    this.editor.value = fmt(link.value, 3);
    this.editor.style.left = `${event.clientX - box.left - 30}px`;
    this.editor.style.top = `${event.clientY - box.top - 12}px`;
    this.editor.focus();
    this.editor.select();
  }

  onEditorKey(event) {
    if (event.key === "Escape") { this.editor.hidden = true; return; }
    if (event.key !== "Enter") return;
    const value = Number(this.editor.value);
    this.editor.hidden = true;
    const target = this.editing;
    if (this.editor.value.trim() === "" || !Number.isFinite(value)) {
      this.actions.message(`${target.kind}: must be a number (received ${JSON.stringify(this.editor.value)})`);
      return;
    }
    if (target.kind === "bias") this.actions.editBias(target.layer, target.unit, value);
    else this.actions.editWeight(target.layer, target.row, target.col, value);
  }
}
