// The objects of the layer shown: read once from the Features API (every page of it), then
// shared by the colouring, the table below the view and the selection panel.
import { api } from "../studio.js";
import { formatValue } from "./colouring.js";

const PAGE = 1000;
// The most objects the page reads (their footprints travel too): beyond it the view colours
// and lists the first ones only, and says so.
export const MAX_OBJECTS = 20000;
const ROWS = 20;

export async function loadFeatures(element) {
  const { features: root, layer, scenario } = element.dataset;
  const found = [];
  let url = `${root}/${encodeURIComponent(layer)}/items?f=json&limit=${PAGE}&scenario=${encodeURIComponent(scenario)}`;
  while (url && found.length < MAX_OBJECTS) {
    const page = await api("GET", url);
    found.push(...page.features);
    const next = (page.links || []).find((link) => link.rel === "next");
    url = next && page.features.length ? next.href : null;
  }
  element.dataset.objectsTruncated = String(Boolean(url));
  return found;
}

// A paged table of the objects: the keyboard's and screen reader's way to pick one.
export class ObjectTable {
  constructor(section, features, texts, onSelect) {
    this.section = section;
    this.features = features;
    this.texts = texts;
    this.onSelect = onSelect;
    this.page = 0;
    this.attribute = null;
    this.selected = null;
    this.body = section.querySelector("[data-objects-body]");
    this.valueHeader = section.querySelector("[data-objects-value-header]");
    this.pageText = section.querySelector("[data-objects-page]");
    this.prev = section.querySelector("[data-objects-prev]");
    this.next = section.querySelector("[data-objects-next]");
    this.defaultHeader = this.valueHeader.textContent;
    this.prev.addEventListener("click", () => this.show(this.page - 1));
    this.next.addEventListener("click", () => this.show(this.page + 1));
    this.body.addEventListener("click", (event) => {
      const button = event.target.closest("[data-select-object]");
      if (button) this.onSelect(button.dataset.selectObject, { focusPanel: true });
    });
  }

  get pages() {
    return Math.max(1, Math.ceil(this.features.length / ROWS));
  }

  showAttribute(attribute) {
    this.attribute = attribute;
    this.valueHeader.textContent = attribute || this.defaultHeader;
    this.show(this.page);
  }

  markSelected(id) {
    this.selected = id;
    const index = this.features.findIndex((f) => String(f.id) === id);
    this.show(index >= 0 ? Math.floor(index / ROWS) : this.page);
  }

  show(page) {
    this.page = Math.min(Math.max(0, page), this.pages - 1);
    const rows = this.features.slice(this.page * ROWS, (this.page + 1) * ROWS).map((f) => this.row(f));
    if (!rows.length) {
      const row = document.createElement("tr");
      const cell = document.createElement("td");
      cell.colSpan = 4;
      cell.textContent = this.texts.noObjects;
      row.append(cell);
      rows.push(row);
    }
    this.body.replaceChildren(...rows);
    this.pageText.textContent = this.texts.page.replace("{page}", this.page + 1).replace("{pages}", this.pages);
    this.prev.disabled = this.page === 0;
    this.next.disabled = this.page >= this.pages - 1;
    this.section.dataset.objectRows = String(this.features.length);
  }

  row(feature) {
    const id = String(feature.id);
    const row = document.createElement("tr");
    const name = document.createElement("th");
    name.scope = "row";
    name.textContent = id;
    const type = document.createElement("td");
    type.textContent = feature.properties.cityjson_type || "";
    const value = document.createElement("td");
    value.textContent = this.attribute ? formatValue(feature.properties[this.attribute]) : "";
    const action = document.createElement("td");
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.selectObject = id;
    button.textContent = this.texts.select;
    button.setAttribute("aria-label", `${this.texts.select} ${id}`);
    if (id === this.selected) {
      row.setAttribute("aria-current", "true");
      button.textContent = this.texts.selected;
      button.setAttribute("aria-label", `${this.texts.selected}: ${id}`);
    }
    action.append(button);
    row.append(name, type, value, action);
    return row;
  }
}
