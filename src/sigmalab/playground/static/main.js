// The page: one WebSocket to the server, which trains; this file keeps the controls in step
// with the server's settings and draws the latest frame once per animation frame.
import { drawCurve, FlowStrip, LossCurve } from "./charts.js";
import { CLASS_COLORS, rgb } from "./colors.js";
import { Compare } from "./compare.js";
import { CLASSIFICATION, drawDataset, REGRESSION } from "./datasets.js";
import { renderFindings } from "./doctor.js";
import { NetworkView } from "./network.js";
import { RepairView } from "./repair.js";
import { drawAxes, drawPoints, paintGrid } from "./plane.js";
import { fmt, num, unpack } from "./protocol.js";

const $ = (id) => document.getElementById(id);
const LEARNING_RATES = [0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10];
const RATES = [0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10];
const ACTIVATIONS = ["relu", "tanh", "sigmoid", "linear", "leaky_relu", "elu", "selu", "gelu", "softplus", "swish", "sin", "hard_sigmoid"];
const OPTIMIZERS = ["sgd", "momentum", "adam", "rmsprop"];
const LOSSES = ["auto", "mse", "bce", "cross_entropy"];
const INITS = ["auto", "uniform", "glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_normal", "zeros"];
const SPEEDS = [[0, "full speed"], [1, "1 epoch / frame"], [2, "2 / frame"], [5, "5 / frame"], [10, "10 / frame"], [20, "20 / frame"], [50, "50 / frame"], [100, "100 / frame"]];
const DROPOUTS = [0, 0.1, 0.2, 0.3, 0.5];
const MAX_LAYERS = 6, MAX_UNITS = 8, MAX_UPLOAD = 1000000;

const state = { settings: null, accepted: null, setup: null, run: 0, frame: null, fresh: false, findings: [], preview: null, playing: false };
// Measured by the benchmark and the tests: frames received and drawn, bytes received.
const stats = (window.playgroundStats = { frames: 0, drawn: 0, bytes: 0, epoch: 0, drawMs: 0, decodeMs: 0 });

// ---- connection ---------------------------------------------------------------------------
const socket = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws${location.search}`);
socket.binaryType = "arraybuffer";
const send = (message) => { if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message)); };
// A change also updates the page's copy at once, so a second click before the server's
// reply builds on the first (two quick "remove layer" clicks remove two layers); the
// server's reply, or its error, puts back what it accepted.
const change = (settings) => {
  state.settings = { ...state.settings, ...settings };
  send({ type: "settings", settings });
};
socket.addEventListener("message", (event) => {
  if (typeof event.data === "string") return onMessage(JSON.parse(event.data), null);
  stats.bytes += event.data.byteLength;
  const started = performance.now();
  const { header, arrays } = unpack(event.data);
  onMessage(header, arrays);
  stats.decodeMs += performance.now() - started;
});
socket.addEventListener("close", () => showMessage("The server closed the connection: reload the page to start again.", "error", 0));
setInterval(() => { if (document.visibilityState === "visible") command({ type: "ping" }); }, 30000);

function onMessage(message, arrays) {
  switch (message.type) {
    case "setup": return onSetup(message, arrays);
    case "settings": return applySettings(message);
    case "frame":
      if (message.run !== state.run) return;
      stats.frames++;
      stats.epoch = message.epoch;
      state.frame = { header: message, arrays };
      state.fresh = true;
      lossCurve.add(message.epoch, num(message.train_loss), num(message.test_loss));
      flow.add(message.flow || []);
      compare.ownFrame(message, arrays);
      return;
    case "findings":
      if (message.run !== state.run) return;
      state.findings = message.findings;
      return renderFindings($("findings"), message.findings, (remedy) => send({ type: "remedy", remedy }));
    case "status":
      state.playing = message.playing;
      document.body.classList.toggle("playing", message.playing);
      if (message.finished) showMessage(message.finished, "info");
      return;
    case "error":
      state.settings = state.accepted;
      return showMessage(message.message, "error");
    case "file": return download(message, arrays);
    case "repair": return repair.onMessage(message);
    case "curve": return drawCurve($("curve"), message);
  }
}

function onSetup(message, arrays) {
  state.run = message.run;
  state.setup = message;
  state.frame = null;
  state.findings = [];
  if (arrays && arrays.train_points) {
    message.points = {
      train: arrays.train_points.data, trainLabels: arrays.train_labels.data,
      test: arrays.test_points.data, testLabels: arrays.test_labels.data,
    };
  }
  lossCurve.reset();
  flow.reset();
  applySettings(message);
  network.build(message, message.settings, arrays ? arrays.input_thumbs : null);
  $("plane-box").hidden = !message.plane;
  $("no-plane").hidden = Boolean(message.plane);
  drawAxes($("axes"), message.plane);
  drawPoints($("points"), message, message.settings.show_test);
  renderLegend(message);
  compare.ownSetup(message);
  if (message.problems.length) showMessage(`The link had problems; defaults used instead: ${message.problems.join("; ")}`, "error");
  state.playing = message.playing;
  document.body.classList.toggle("playing", message.playing);
}

// ---- controls -----------------------------------------------------------------------------
function fillSelect(select, options) {
  select.replaceChildren(...options.map(([value, label]) => new Option(label, value)));
}
fillSelect($("lr"), LEARNING_RATES.map((v) => [v, String(v)]));
fillSelect($("activation"), ACTIVATIONS.map((v) => [v, v === "relu" ? "ReLU" : v]));
fillSelect($("optimizer"), OPTIMIZERS.map((v) => [v, { sgd: "SGD", momentum: "Momentum", adam: "Adam", rmsprop: "RMSprop" }[v]]));
fillSelect($("loss"), LOSSES.map((v) => [v, v === "auto" ? "auto (square / CE)" : v]));
fillSelect($("l1"), RATES.map((v) => [v, v === 0 ? "none" : String(v)]));
fillSelect($("l2"), RATES.map((v) => [v, v === 0 ? "none" : String(v)]));
fillSelect($("init"), INITS.map((v) => [v, v]));
fillSelect($("speed"), SPEEDS);

function ensureOption(select, value) {
  if (![...select.options].some((o) => o.value === String(value))) select.add(new Option(String(value), value));
  select.value = String(value);
}

function applySettings(message) {
  const s = (state.settings = state.accepted = message.settings);
  history.replaceState(null, "", `?${message.query}`);
  ensureOption($("lr"), s.lr);
  const acts = new Set(s.activation);
  const shared = acts.size === 1 ? s.activation[0] : "";
  if (shared && ACTIVATIONS.includes(shared)) { $("activation").value = shared; }
  else if (shared) { ensureOption($("activation"), shared); }
  else { ensureOption($("activation"), "per layer"); }
  if (shared && !ACTIVATIONS.includes(shared)) $("formula").value = shared;
  if (shared && shared !== state.curveSpec) { state.curveSpec = shared; send({ type: "curve", spec: shared }); }
  for (const key of ["optimizer", "loss", "init"]) $(key).value = s[key];
  ensureOption($("l1"), s.l1);
  ensureOption($("l2"), s.l2);
  ensureOption($("speed"), s.speed);
  for (const [key, id] of [["ratio", "ratio"], ["noise", "noise"], ["batch", "batch"], ["samples", "samples"], ["seed", "seed"], ["scale", "scale"], ["clip", "clip"], ["patience", "patience"]]) $(id).value = s[key];
  $("ratio-value").textContent = `${s.ratio}%`;
  $("noise-value").textContent = s.noise;
  $("batch-value").textContent = s.batch;
  $("standardize").checked = s.standardize;
  $("show-test").checked = s.show_test;
  $("discretize").checked = s.discretize;
  const csv = state.setup && state.setup.upload && state.setup.upload.name === s.dataset;
  const task = csv ? state.setup.upload.task : REGRESSION.includes(s.dataset) ? "regression" : "classification";
  $("problem").value = task;
  $("problem").disabled = Boolean(csv);
  for (const button of document.querySelectorAll(".dataset")) {
    button.classList.toggle("selected", button.dataset.name === s.dataset);
    button.hidden = (task === "regression") !== REGRESSION.includes(button.dataset.name);
  }
  $("layer-count").textContent = `${s.layers.length} hidden layer${s.layers.length === 1 ? "" : "s"}`;
  $("add-layer").disabled = s.layers.length >= MAX_LAYERS;
  $("remove-layer").disabled = s.layers.length === 0;
  if (state.setup) drawPoints($("points"), state.setup, s.show_test);
  compare.follow(s);
  state.fresh = true;
}

const datasets = $("datasets");
for (const name of [...CLASSIFICATION, ...REGRESSION]) {
  const button = document.createElement("button");
  button.className = "dataset";
  button.dataset.name = name;
  button.dataset.testid = `dataset-${name}`;
  button.title = name;
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = 40;
  drawDataset(canvas, name);
  button.append(canvas);
  button.addEventListener("click", () => change({ dataset: name }));
  datasets.append(button);
}

// Play, pause, step and reset act on the page's run and on every compare panel.
const command = (message) => { send(message); compare.broadcast(message); };
$("play").addEventListener("click", () => command({ type: state.playing ? "pause" : "play" }));
$("step").addEventListener("click", () => command({ type: "step" }));
$("reset").addEventListener("click", () => command({ type: "reset" }));
$("regenerate").addEventListener("click", () => send({ type: "regenerate" }));
for (const id of ["lr", "l1", "l2", "speed"]) $(id).addEventListener("change", () => change({ [id]: Number($(id).value) }));
for (const id of ["optimizer", "loss", "init"]) $(id).addEventListener("change", () => change({ [id]: $(id).value }));
$("activation").addEventListener("change", () => change({ activation: $("activation").value }));
for (const [id, key] of [["ratio", "ratio"], ["noise", "noise"], ["batch", "batch"]]) {
  $(id).addEventListener("input", () => { $(`${id}-value`).textContent = $(id).value + (id === "ratio" ? "%" : ""); });
  $(id).addEventListener("change", () => change({ [key]: Number($(id).value) }));
}
for (const id of ["samples", "seed", "scale", "clip", "patience"]) $(id).addEventListener("change", () => change({ [id]: Number($(id).value) }));
$("standardize").addEventListener("change", () => change({ standardize: $("standardize").checked }));
$("show-test").addEventListener("change", () => change({ show_test: $("show-test").checked }));
$("discretize").addEventListener("change", () => change({ discretize: $("discretize").checked }));
$("problem").addEventListener("change", () => change({ dataset: $("problem").value === "regression" ? "reg-plane" : "circle" }));
$("formula").addEventListener("change", () => {
  const spec = $("formula").value.trim();
  if (!spec) return;
  send({ type: "curve", spec });
  change({ activation: spec });
});

function layers(edit) {
  const s = state.settings;
  const next = { layers: [...s.layers], activation: [...s.activation], batchnorm: [...s.batchnorm], dropout: [...s.dropout] };
  edit(next);
  change(next);
}
$("add-layer").addEventListener("click", () => layers((n) => {
  if (n.layers.length >= MAX_LAYERS) return;
  n.layers.push(2);
  n.activation.push(n.activation.length ? n.activation[n.activation.length - 1] : $("activation").value || "tanh");
  n.batchnorm.push(false);
  n.dropout.push(0);
}));
$("remove-layer").addEventListener("click", () => layers((n) => { for (const key of Object.keys(n)) n[key].pop(); }));

// The controls above each hidden layer: units +/-, its activation, BatchNorm, dropout.
function layerControls(layer) {
  const s = state.settings;
  const box = document.createElement("div");
  box.className = "layer-controls";
  const units = document.createElement("div");
  units.className = "unit-buttons";
  for (const [text, delta] of [["+", 1], ["\u2212", -1]]) {
    const button = document.createElement("button");
    button.className = "round small";
    button.textContent = text;
    button.dataset.testid = `${delta > 0 ? "add" : "remove"}-unit-${layer}`;
    button.disabled = delta > 0 ? s.layers[layer] >= MAX_UNITS : s.layers[layer] <= 1;
    button.addEventListener("click", () => layers((n) => { n.layers[layer] += delta; }));
    units.append(button);
  }
  const activation = document.createElement("select");
  activation.className = "small";
  activation.title = "this layer's activation";
  fillSelect(activation, ACTIVATIONS.map((v) => [v, v]));
  ensureOption(activation, s.activation[layer]);
  activation.addEventListener("change", () => layers((n) => { n.activation[layer] = activation.value; }));
  const norm = document.createElement("label");
  norm.className = "tiny";
  const check = document.createElement("input");
  check.type = "checkbox";
  check.checked = s.batchnorm[layer];
  check.addEventListener("change", () => layers((n) => { n.batchnorm[layer] = check.checked; }));
  norm.append(check, "BN");
  const dropout = document.createElement("select");
  dropout.className = "small";
  dropout.title = "dropout rate after this layer";
  fillSelect(dropout, DROPOUTS.map((v) => [v, v ? `drop ${v}` : "no drop"]));
  ensureOption(dropout, s.dropout[layer]);
  dropout.addEventListener("change", () => layers((n) => { n.dropout[layer] = Number(dropout.value); }));
  box.append(units, activation, norm, dropout);
  return box;
}

const network = new NetworkView($("network"), $("link-canvas"), $("links"), $("columns"), $("weight-editor"), $("curve-tip"), {
  layerControls,
  toggleFeature: (name) => {
    const features = new Set(state.settings.features);
    if (features.has(name)) features.delete(name); else features.add(name);
    change({ features: [...features] });
  },
  previewUnit: (layer, unit) => { state.preview = layer === null ? null : [layer, unit]; state.fresh = true; },
  editWeight: (layer, row, col, value) => send({ type: "edit_weight", layer, row, col, value }),
  editBias: (layer, unit, value) => send({ type: "edit_bias", layer, unit, value }),
  message: (text) => showMessage(text, "error"),
});
const lossCurve = new LossCurve($("loss-curve"), $("curve-tip"));
const compare = new Compare($("compare"), $("compare-strip"), $("curve-tip"), {
  error: (text) => showMessage(text, "error"),
  playing: () => state.playing,
  activations: ACTIVATIONS,
  learningRates: LEARNING_RATES,
  optimizers: OPTIMIZERS,
});
$("compare-add").addEventListener("click", () => { if (state.settings) compare.add(state.settings, state.setup); });
const flow = new FlowStrip($("flow"));
const repair = new RepairView({ start: $("repair"), cancel: $("repair-cancel"), status: $("repair-status"), result: $("repair-result") }, send);

// ---- files in and out ---------------------------------------------------------------------
async function sendFile(file) {
  if (file.size > MAX_UPLOAD) return showMessage(`${file.name}: ${file.size.toLocaleString()} bytes is over the upload limit of ${MAX_UPLOAD.toLocaleString()} bytes`, "error");
  const text = await file.text();
  if (file.name.toLowerCase().endsWith(".toml")) send({ type: "load_run", name: file.name, text });
  else send({ type: "upload", name: file.name, text });
}
$("upload").addEventListener("change", () => { const file = $("upload").files[0]; if (file) sendFile(file); $("upload").value = ""; });
let dragDepth = 0;
document.addEventListener("dragenter", (event) => { event.preventDefault(); dragDepth++; $("drop").hidden = false; });
document.addEventListener("dragleave", () => { dragDepth = Math.max(0, dragDepth - 1); if (!dragDepth) $("drop").hidden = true; });
document.addEventListener("dragover", (event) => event.preventDefault());
document.addEventListener("drop", (event) => {
  event.preventDefault();
  dragDepth = 0;
  $("drop").hidden = true;
  const file = event.dataTransfer.files[0];
  if (file) sendFile(file);
});

for (const what of ["run", "model", "python"]) $(`export-${what}`).addEventListener("click", () => send({ type: "export", what }));
function download(message, arrays) {
  const blob = arrays ? new Blob([arrays.data.data], { type: "application/octet-stream" }) : new Blob([message.text], { type: "text/plain" });
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = message.filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10000);
  showMessage(message.note || `${message.filename} saved (epoch ${message.epoch})`, "info");
}
$("share").addEventListener("click", async () => {
  const field = $("share-link");
  field.value = location.href;
  field.hidden = false;
  field.select();
  try { await navigator.clipboard.writeText(location.href); showMessage("Link copied: it opens this exact setup (same data, same initial weights).", "info"); }
  catch { showMessage("Copy the link above: it opens this exact setup.", "info"); }
});

let messageTimer = null;
function showMessage(text, kind, seconds = 10) {
  const box = $("message");
  box.textContent = text;
  box.className = `message ${kind}`;
  box.hidden = false;
  clearTimeout(messageTimer);
  if (seconds) messageTimer = setTimeout(() => { box.hidden = true; }, seconds * 1000);
}

// ---- drawing ------------------------------------------------------------------------------
function renderLegend(setup) {
  const legend = $("legend");
  legend.replaceChildren();
  const k = setup.n_classes || 2;
  if (setup.task === "classification" && k > 2) {
    for (let c = 0; c < k; c++) {
      const item = document.createElement("span");
      item.className = "swatch";
      item.style.background = rgb(CLASS_COLORS[c]);
      legend.append(item, `class ${c} `);
    }
  } else {
    const [low, high] = setup.task === "classification" ? ["class 0", "class 1"] : ["-1", "+1"];
    const bar = document.createElement("span");
    bar.className = "gradient-bar";
    legend.append(low, bar, high);
  }
}

function renderConfusion(matrix) {
  const table = $("confusion");
  table.replaceChildren();
  if (!matrix) return;
  const head = table.insertRow();
  head.insertCell().textContent = "true \\ predicted";
  matrix.forEach((_, j) => { head.insertCell().textContent = j; });
  matrix.forEach((row, i) => {
    const tr = table.insertRow();
    tr.insertCell().textContent = i;
    const total = row.reduce((a, b) => a + b, 0) || 1;
    row.forEach((count, j) => {
      const cell = tr.insertCell();
      cell.textContent = count;
      cell.style.background = i === j ? `rgba(8,119,189,${0.15 + 0.6 * count / total})` : count ? `rgba(245,147,34,${0.15 + 0.6 * count / total})` : "";
    });
  });
}

function draw() {
  requestAnimationFrame(draw);
  if (state.settings) compare.draw(state.settings.discretize);
  if (!state.fresh || !state.frame || !state.setup) return;
  state.fresh = false;
  const started = performance.now();
  const { header, arrays } = state.frame;
  const s = state.settings;
  $("epoch").textContent = String(header.epoch).padStart(6, "0");
  $("train-loss").textContent = fmt(header.train_loss);
  $("test-loss").textContent = fmt(header.test_loss);
  const metric = header.test_accuracy !== undefined
    ? `accuracy: test ${(num(header.test_accuracy) * 100).toFixed(1)} %, train ${(num(header.train_accuracy) * 100).toFixed(1)} %`
    : header.test_r2 !== undefined ? `R\u00b2 on test: ${fmt(header.test_r2)}` : "";
  $("metric-line").textContent = metric;
  if (arrays.heat) {
    const heat = arrays.heat.data;
    if (state.preview && arrays.units) {
      const [layer, unit] = state.preview;
      const index = state.setup.layers.slice(0, layer).reduce((a, b) => a + b, 0) + unit;
      paintGrid($("heatmap"), arrays.units.data.subarray(index * 400, index * 400 + 400), 20, { discretize: s.discretize });
    } else {
      paintGrid($("heatmap"), heat, 100, { discretize: s.discretize, classes: arrays.heat_class ? arrays.heat_class.data : null });
    }
    network.paintOutputs(heat, 100, s.discretize);
  }
  network.update(state.frame);
  lossCurve.draw();
  if (flow.dirty) flow.draw();
  const confusion = JSON.stringify(header.confusion || null);
  if (confusion !== state.confusion) { state.confusion = confusion; renderConfusion(header.confusion); }
  stats.drawn++;
  stats.drawMs += performance.now() - started;
}
requestAnimationFrame(draw);
