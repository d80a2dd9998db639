// The selected object's panel: its attributes, the outputs apps stored on it, and for each
// output "why this number?": the provenance chain from the data (owner, hash) through the
// app's version to the run (who, when, for what purpose), linked to the run's page.
import { ApiError, announce, api } from "../studio.js";
import { formatValue } from "./colouring.js";

function cells(row, ...values) {
  for (const value of values) {
    const cell = document.createElement(row.children.length ? "td" : "th");
    if (cell.tagName === "TH") cell.scope = "row";
    if (value instanceof Node) cell.append(value);
    else cell.textContent = value;
    row.append(cell);
  }
  return row;
}

function short(hash) {
  return hash ? String(hash).slice(0, 12) : "";
}

function item(label, ...parts) {
  const li = document.createElement("li");
  const strong = document.createElement("strong");
  strong.textContent = `${label}: `;
  li.append(strong, ...parts);
  return li;
}

export class ObjectPanel {
  constructor(panel, element, texts) {
    this.panel = panel;
    this.element = element;
    this.texts = texts;
    this.apps = new Set((element.dataset.apps || "").split(" ").filter(Boolean));
    this.title = panel.querySelector("[data-object-title]");
    this.note = panel.querySelector("[data-object-note]");
    this.attributes = panel.querySelector("[data-object-attributes] tbody");
    this.outputs = panel.querySelector("[data-object-outputs] tbody");
    this.why = panel.querySelector("[data-why]");
    this.outputs.addEventListener("click", (event) => {
      const button = event.target.closest("[data-why-attribute]");
      if (button) {
        this.explain(button.dataset.whyAttribute).catch((error) => announce(String(error.message || error), "error"));
      }
    });
  }

  isOutput(name) {
    const dot = name.indexOf(".");
    return dot > 0 && this.apps.has(name.slice(0, dot));
  }

  itemUrl(id) {
    const { features, layer } = this.element.dataset;
    return `${features}/${encodeURIComponent(layer)}/items/${encodeURIComponent(id)}`;
  }

  // Show one object: from the Features API, or (an object of another layer, picked in 3D)
  // the properties its tile carries.
  async show(id, tileProperties) {
    this.id = id;
    this.title.textContent = this.texts.selectedObject.replace("{id}", id);
    this.why.hidden = true;
    let properties;
    try {
      const found = await api("GET", `${this.itemUrl(id)}?f=json&scenario=${encodeURIComponent(this.element.dataset.scenario)}`);
      properties = found.properties;
      this.note.hidden = true;
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 404) || !tileProperties) throw error;
      properties = tileProperties;
      this.note.textContent = this.texts.notInLayer;
      this.note.hidden = false;
    }
    if (this.id !== id) return; // another object was selected meanwhile
    const own = [];
    const outputs = [];
    for (const [name, value] of Object.entries(properties).sort(([a], [b]) => a.localeCompare(b))) {
      (this.isOutput(name) ? outputs : own).push([name, value]);
    }
    this.attributes.replaceChildren(
      ...own.map(([name, value]) => cells(document.createElement("tr"), name, formatValue(value))),
    );
    this.outputs.replaceChildren(
      ...outputs.map(([name, value]) => {
        const button = document.createElement("button");
        button.type = "button";
        button.dataset.whyAttribute = name;
        button.textContent = this.texts.whyThis;
        button.setAttribute("aria-label", `${this.texts.whyThis} ${name}`);
        return cells(document.createElement("tr"), name, formatValue(value), button);
      }),
    );
    if (!outputs.length) {
      const row = document.createElement("tr");
      const cell = document.createElement("td");
      cell.colSpan = 3;
      cell.textContent = this.texts.noOutputs;
      row.append(cell);
      this.outputs.append(row);
    }
    this.panel.hidden = false;
    this.panel.dataset.shownObject = id;
  }

  focus() {
    this.panel.focus();
  }

  async explain(attribute) {
    const { scenario } = this.element.dataset;
    const why = await api(
      "GET",
      `${this.itemUrl(this.id)}/why?attribute=${encodeURIComponent(attribute)}&scenario=${encodeURIComponent(scenario)}`,
    );
    const texts = this.texts;
    this.why.querySelector("[data-why-title]").textContent = texts.whyTitle
      .replace("{attribute}", attribute)
      .replace("{value}", formatValue(why.value));
    const chain = why.chain && why.chain.length ? why.chain : [why.run];
    const list = this.why.querySelector("[data-why-chain]");
    list.replaceChildren();
    for (const run of chain) {
      for (const dataset of (run.inputs && run.inputs.datasets) || []) {
        const owner = dataset.owner || run.inputs.twin_owner || "";
        list.append(
          item(texts.data, `${dataset.name} (${texts.owner} ${owner}, ${texts.hash} ${short(dataset.content_hash)})`),
        );
      }
      list.append(item(texts.app, `${run.app_id} ${run.version} (${texts.hash} ${short(run.package_hash)})`));
      const link = document.createElement("a");
      link.href = `/studio/runs/${encodeURIComponent(run.run_id)}`;
      link.textContent = run.run_id;
      link.dataset.runLink = run.run_id;
      const when = run.ended_at || run.created_at || "";
      list.append(
        item(
          texts.run,
          link,
          ` ${texts.by} ${run.actor}${run.organisation ? ` (${run.organisation})` : ""}, ${texts.at} ${when}, ${texts.purpose} ${run.purpose || ""}`,
        ),
      );
    }
    this.why.hidden = false;
    this.why.dataset.whyFor = attribute;
  }
}
