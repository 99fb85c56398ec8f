// Repair: the doctor's repair loop runs in the server on a copy of the setup while the page
// goes on training; this shows its progress and the before/after it proved.
import { fmt } from "./protocol.js";

export class RepairView {
  constructor({ start, cancel, status, result }, send) {
    Object.assign(this, { start, cancel, status, result, send });
    start.addEventListener("click", () => send({ type: "repair" }));
    cancel.addEventListener("click", () => send({ type: "repair_cancel" }));
  }

  running(on) {
    this.start.hidden = on;
    this.cancel.hidden = !on;
  }

  onMessage(message) {
    switch (message.state) {
      case "running":
        this.running(true);
        this.result.hidden = true;
        this.status.textContent = `retrain ${message.retrain} of at most ${message.most} (${message.epochs} epochs each)\u2026`;
        return;
      case "cancelling":
        this.status.textContent = "cancelling after the current retrain\u2026";
        return;
      case "cancelled":
        this.running(false);
        this.status.textContent = "repair cancelled";
        return;
      case "failed":
        this.running(false);
        this.status.textContent = `repair failed: ${message.message}`;
        return;
      case "done":
        this.running(false);
        this.status.textContent = "";
        return this.show(message);
    }
  }

  show(message) {
    const box = this.result;
    box.replaceChildren();
    box.hidden = false;
    const title = document.createElement("h3");
    title.textContent = message.remedies.length ? "Repair: proved better" : "Repair: nothing proved better";
    const table = document.createElement("table");
    const row = (cells, tag = "td") => {
      const tr = table.insertRow();
      for (const text of cells) {
        const cell = document.createElement(tag);
        cell.textContent = text;
        tr.append(cell);
      }
    };
    row(["", "before", "after"], "th");
    row([message.metric.replaceAll("_", " "), fmt(message.before.metric, 4), fmt(message.after.metric, 4)]);
    row(["problems", message.before.findings.join(", ") || "none", message.after.findings.join(", ") || "none"]);
    const remedies = document.createElement("p");
    remedies.textContent = `remedies applied: ${message.remedies.join("; ") || "none"} (${message.retrains} retrain${message.retrains === 1 ? "" : "s"} of ${message.epochs} epochs, same data and seeds)`;
    box.append(title, table, remedies);
    if (message.attempts.length) {
      const details = document.createElement("details");
      const summary = document.createElement("summary");
      summary.textContent = "every attempt";
      const list = document.createElement("ul");
      for (const attempt of message.attempts) {
        const item = document.createElement("li");
        item.textContent = `${attempt.finding.replaceAll("_", " ")}: ${attempt.remedy} \u2192 ${fmt(attempt.metric_after, 4)}, ${attempt.accepted ? "kept" : "rejected"}`;
        list.append(item);
      }
      details.append(summary, list);
      box.append(details);
    }
    if (message.note) {
      const note = document.createElement("p");
      note.className = "hint";
      note.textContent = message.note;
      box.append(note);
    }
    const adopt = document.createElement("button");
    adopt.dataset.testid = "repair-adopt";
    adopt.textContent = "Adopt the repaired setup";
    adopt.disabled = !message.adoptable;
    adopt.addEventListener("click", () => { this.send({ type: "repair_adopt" }); box.hidden = true; });
    box.append(adopt);
  }
}
