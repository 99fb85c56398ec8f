// Compare mode: more setups trained side by side on the page's data. Each added panel is a
// session of its own on the server (/ws/compare, counted against its cap of sessions); the
// page keeps every panel on its own data and seed and plays, pauses and resets them with its
// own buttons. The page's own setup is the first panel, drawn from its frames.
import { LossCurve } from "./charts.js";
import { drawPoints, paintGrid } from "./plane.js";
import { fmt, num, unpack } from "./protocol.js";

const MAX_SETUPS = 4;  // the page's setup and up to three more
// Settings every panel shares with the page: the same data, seed, view and pace.
const SHARED = ["dataset", "noise", "ratio", "seed", "samples", "show_test", "discretize", "speed"];
const LETTERS = "ABCD";

// A panel's heat-map, points, numbers and loss curve (the page's own panel has no socket).
class PanelView {
  constructor(parent, tip, title) {
    this.element = document.createElement("article");
    this.element.className = "compare-panel";
    this.element.dataset.testid = "compare-panel";
    this.head = document.createElement("header");
    const name = document.createElement("b");
    name.textContent = title;
    this.head.append(name);
    this.controls = document.createElement("div");
    this.controls.className = "compare-controls";
    const plane = document.createElement("div");
    plane.className = "compare-plane";
    this.heat = document.createElement("canvas");
    this.heat.dataset.testid = "compare-heatmap";
    this.heat.width = this.heat.height = 100;
    this.points = document.createElement("canvas");
    this.points.width = this.points.height = 160;
    plane.append(this.heat, this.points);
    this.numbers = document.createElement("div");
    this.numbers.className = "compare-numbers";
    this.epoch = this.field("epoch", "compare-epoch");
    this.testLoss = this.field("test loss", "compare-test-loss");
    this.metric = document.createElement("div");
    this.metric.className = "compare-metric";
    const curve = document.createElement("canvas");
    curve.className = "compare-curve";
    curve.width = 200; curve.height = 50;
    this.curve = new LossCurve(curve, tip);
    this.note = document.createElement("div");
    this.note.className = "compare-note";
    this.element.append(this.head, this.controls, plane, this.numbers, this.metric, curve, this.note);
    parent.append(this.element);
    this.frame = null;
    this.fresh = false;
  }

  field(label, testid) {
    const box = document.createElement("span");
    const value = document.createElement("b");
    value.dataset.testid = testid;
    value.textContent = "\u2013";
    box.append(`${label} `, value);
    this.numbers.append(box);
    return value;
  }

  setup(setup, arrays) {
    if (arrays && arrays.train_points) {
      setup.points = {
        train: arrays.train_points.data, trainLabels: arrays.train_labels.data,
        test: arrays.test_points.data, testLabels: arrays.test_labels.data,
      };
    }
    this.setupMessage = setup;
    this.curve.reset();
    this.frame = null;
    drawPoints(this.points, setup, setup.settings.show_test);
  }

  addFrame(header, arrays) {
    this.frame = { header, arrays };
    this.fresh = true;
    this.curve.add(header.epoch, num(header.train_loss), num(header.test_loss));
  }

  draw(discretize) {
    if (!this.fresh || !this.frame) return;
    this.fresh = false;
    const { header, arrays } = this.frame;
    this.epoch.textContent = String(header.epoch);
    this.testLoss.textContent = fmt(header.test_loss);
    this.metric.textContent = header.test_accuracy !== undefined
      ? `test accuracy ${(num(header.test_accuracy) * 100).toFixed(1)} %`
      : header.test_r2 !== undefined ? `R\u00b2 on test ${fmt(header.test_r2)}` : "";
    if (arrays.heat) paintGrid(this.heat, arrays.heat.data, 100, { discretize, classes: arrays.heat_class ? arrays.heat_class.data : null });
    this.curve.draw();
  }

  findings(findings) {
    const kinds = [...new Set(findings.filter((f) => f.severity !== "info").map((f) => f.kind.replaceAll("_", " ")))];
    this.note.textContent = kinds.length ? `doctor: ${kinds.join(", ")}` : "";
  }
}

// An added setup: its own socket, its own controls.
class ComparePanel extends PanelView {
  constructor(parent, tip, title, query, actions) {
    super(parent, tip, title);
    this.actions = actions;
    this.settings = null;
    const remove = document.createElement("button");
    remove.className = "compare-remove";
    remove.dataset.testid = "compare-remove";
    remove.title = "Remove this setup";
    remove.textContent = "\u00d7";
    remove.addEventListener("click", () => actions.remove(this));
    this.head.append(remove);
    this.socket = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws/compare${query}`);
    this.socket.binaryType = "arraybuffer";
    this.socket.addEventListener("message", (event) => {
      if (typeof event.data === "string") this.onMessage(JSON.parse(event.data), null);
      else { const { header, arrays } = unpack(event.data); this.onMessage(header, arrays); }
    });
    this.socket.addEventListener("close", () => { if (!this.closed) this.showNote("the server closed this panel", true); });
  }

  // A change made while the panel's socket still connects is sent once it opens, in order.
  send(message) {
    const text = JSON.stringify(message);
    if (this.socket.readyState === WebSocket.OPEN) this.socket.send(text);
    else if (this.socket.readyState === WebSocket.CONNECTING) {
      this.socket.addEventListener("open", () => this.socket.send(text), { once: true });
    }
  }

  close() { this.closed = true; this.socket.close(); this.element.remove(); }

  onMessage(message, arrays) {
    switch (message.type) {
      case "setup":
        this.run = message.run;
        this.setup(message, arrays);
        return this.applySettings(message.settings);
      case "settings": return this.applySettings(message.settings);
      case "frame": if (message.run === this.run) this.addFrame(message, arrays); return;
      case "findings": if (message.run === this.run) this.findings(message.findings); return;
      case "error":
        this.showNote(message.message, true);
        return this.actions.error(message.message);
    }
  }

  showNote(text, error) {
    this.note.textContent = text;
    this.note.classList.toggle("error", error);
  }

  // The setup's own controls: layers, activation, BatchNorm, learning rate, optimizer. They
  // are built once; a later reply sets their values, except in a field the user is still
  // typing in (a reply to an earlier change must not wipe what is being typed).
  applySettings(settings) {
    this.settings = settings;
    if (this.setupMessage) drawPoints(this.points, this.setupMessage, settings.show_test);
    const values = {
      layers: settings.layers.join(","),
      activation: [...new Set(settings.activation)].join(";"),
      batchnorm: settings.batchnorm.some(Boolean),
      lr: String(settings.lr),
      optimizer: settings.optimizer,
    };
    if (!this.fields) this.buildControls();
    for (const [key, field] of Object.entries(this.fields)) if (!field.editing) setField(field, values[key]);
  }

  buildControls() {
    const layers = this.input("layers", "compare-layers", (text) => ({ layers: text }));
    const activation = this.select("activation", "compare-activation", this.actions.activations, (value) => ({ activation: value }));
    const batchnorm = this.check("compare-batchnorm", (on) => ({ batchnorm: on }));
    const lr = this.select("learning rate", "compare-lr", this.actions.learningRates, (value) => ({ lr: Number(value) }));
    const optimizer = this.select("optimizer", "compare-optimizer", this.actions.optimizers, (value) => ({ optimizer: value }));
    const box = document.createElement("label");
    box.append(batchnorm, "BN");
    this.controls.replaceChildren(layers, activation, box, lr, optimizer);
    this.fields = { layers, activation, batchnorm, lr, optimizer };
  }

  input(label, testid, change) {
    const field = document.createElement("input");
    field.dataset.testid = testid;
    field.title = `${label}: units per hidden layer, e.g. 4,2 (empty: none)`;
    field.size = 7;
    field.editing = false;
    field.addEventListener("input", () => { field.editing = true; });
    field.addEventListener("change", () => {
      field.editing = false;
      this.change(change(field.value.replaceAll(" ", "")));
    });
    return field;
  }

  select(label, testid, options, change) {
    const select = document.createElement("select");
    select.dataset.testid = testid;
    select.title = label;
    for (const option of options) select.add(new Option(String(option), option));
    select.addEventListener("change", () => this.change(change(select.value)));
    return select;
  }

  check(testid, change) {
    const input = document.createElement("input");
    input.type = "checkbox";
    input.dataset.testid = testid;
    input.addEventListener("change", () => this.change(change(input.checked)));
    return input;
  }

  change(settings) {
    this.showNote("", false);
    this.send({ type: "settings", settings });
  }
}

// A control shows a value from the server: a select gains it as an option when it has none.
function setField(field, value) {
  if (field.type === "checkbox") field.checked = value;
  else {
    if (field.tagName === "SELECT" && ![...field.options].some((o) => o.value === value)) field.add(new Option(value, value));
    field.value = value;
  }
}

export class Compare {
  constructor(section, strip, tip, actions) {
    Object.assign(this, { section, strip, tip, actions });
    this.own = null;
    this.panels = [];
  }

  // A new panel with a copy of the page's current setup (its URL holds all of it).
  add(settings, setup) {
    if (1 + this.panels.length >= MAX_SETUPS) {
      this.actions.error(`compare: at most ${MAX_SETUPS} setups side by side (this page's and ${MAX_SETUPS - 1} more); remove one first`);
      return;
    }
    if (settings.dataset.toLowerCase().endsWith(".csv")) {
      this.actions.error("compare: the panels train the built-in datasets; pick one (an uploaded CSV trains on this page only)");
      return;
    }
    if (!this.own) {
      this.own = new PanelView(this.strip, this.tip, "A \u00b7 this page");
      this.own.setup(setup, null);
    }
    const title = LETTERS[1 + this.panels.length];
    const panel = new ComparePanel(this.strip, this.tip, title, location.search, {
      ...this.actions,
      remove: (removed) => this.remove(removed),
    });
    this.panels.push(panel);
    this.section.hidden = false;
    panel.socket.addEventListener("open", () => { if (this.actions.playing()) panel.send({ type: "play" }); });
  }

  remove(panel) {
    panel.close();
    this.panels = this.panels.filter((p) => p !== panel);
    this.panels.forEach((p, i) => { p.head.firstChild.textContent = LETTERS[i + 1]; });
    if (!this.panels.length) {
      this.own.element.remove();
      this.own = null;
      this.section.hidden = true;
    }
  }

  // A command for the page's run goes to every panel too: one play/pause, step and reset.
  broadcast(message) { for (const panel of this.panels) panel.send(message); }

  // The page's settings changed: panels whose shared settings differ follow them.
  follow(settings) {
    for (const panel of this.panels) {
      if (!panel.settings) continue;
      const changes = {};
      for (const key of SHARED) if (JSON.stringify(panel.settings[key]) !== JSON.stringify(settings[key])) changes[key] = settings[key];
      if (Object.keys(changes).length && !settings.dataset.toLowerCase().endsWith(".csv")) panel.send({ type: "settings", settings: changes });
    }
  }

  ownSetup(setup) { if (this.own) this.own.setup(setup, null); }

  ownFrame(header, arrays) { if (this.own) this.own.addFrame(header, arrays); }

  draw(discretize) {
    if (this.own) this.own.draw(discretize);
    for (const panel of this.panels) panel.draw(panel.settings ? panel.settings.discretize : discretize);
  }
}
