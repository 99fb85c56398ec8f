// The doctor's findings as they appear: what, where, why in plain words, and a button per
// remedy that applies it to the current setup.
import { fmt } from "./protocol.js";

export function renderFindings(element, findings, applyRemedy) {
  element.replaceChildren();
  if (!findings.length) {
    const quiet = document.createElement("p");
    quiet.className = "hint";
    quiet.textContent = "No findings: nothing looks wrong so far.";
    element.append(quiet);
    return;
  }
  for (const finding of findings) {
    const card = document.createElement("article");
    card.className = `finding ${finding.severity}`;
    card.dataset.kind = finding.kind;
    card.dataset.testid = `finding-${finding.kind}`;
    const title = document.createElement("h3");
    const badge = document.createElement("span");
    badge.className = "severity";
    badge.textContent = finding.severity;
    title.append(badge, ` ${finding.kind.replaceAll("_", " ")}`);
    if (finding.layer) title.append(` \u00b7 ${finding.layer.name}`);
    const text = document.createElement("p");
    text.textContent = finding.explanation;
    card.append(title, text);
    const evidence = Object.entries(finding.evidence || {}).filter(([, v]) => typeof v !== "object");
    if (evidence.length) {
      const details = document.createElement("details");
      const summary = document.createElement("summary");
      summary.textContent = "evidence";
      const list = document.createElement("dl");
      for (const [key, value] of evidence) {
        const term = document.createElement("dt"); term.textContent = key;
        const data = document.createElement("dd"); data.textContent = typeof value === "number" ? fmt(value, 4) : String(value);
        list.append(term, data);
      }
      details.append(summary, list);
      card.append(details);
    }
    const buttons = document.createElement("div");
    buttons.className = "remedies";
    for (const { remedy, label } of finding.remedies) {
      const button = document.createElement("button");
      button.dataset.testid = "remedy";
      button.dataset.action = remedy.action;
      button.textContent = label;
      button.addEventListener("click", () => applyRemedy(remedy));
      buttons.append(button);
    }
    card.append(buttons);
    element.append(card);
  }
}
