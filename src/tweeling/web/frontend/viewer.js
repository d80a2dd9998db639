// The twin viewer: the scenario's own 3D Tiles in CesiumJS, nothing from another origin.
//
// CesiumWidget (not Viewer: its widgets bind with knockout, which needs eval and so a weaker
// Content-Security-Policy). No Cesium ion, no imagery, no terrain: the globe is a plain
// ellipsoid and the twin's tiles carry everything shown. The element's data attributes say
// what to load; `data-tiles-loaded` counts the tiles that arrived (the browser tests read it).
//
// On the twin's page (`openTwinPage`) the view gets its tools: colour by an attribute or an
// app's output (with an HTML legend), select an object (a click, or the table below the view)
// to see its attributes and why an output has its value, and the sun at a chosen time.
import {
  Cesium3DTileFeature,
  Cesium3DTileStyle,
  Color,
  JulianDate,
  ScreenSpaceEventType,
  ShadowMode,
} from "cesium";
import { openViewer } from "./_cesium_view.js";
import { announce } from "./studio.js";
import { SELECTED_COLOUR, colouring, showLegend } from "./viewer/colouring.js";
import { MAX_OBJECTS, ObjectTable, loadFeatures } from "./viewer/objects.js";
import { ObjectPanel } from "./viewer/panel.js";

export { openViewer };

// The objects' colours: a Cesium3DTileStyle whose colour is looked up by the feature's object
// id (so an app's outputs colour the tiles without remaking them); the selected object stands
// out in magenta whatever the colouring.
function applyStyle(view, state) {
  const element = document.getElementById("viewer");
  element.dispatchEvent(
    new CustomEvent("tweeling:colours", {
      detail: { colours: state.shown ? state.shown.colours : null, selected: state.selected },
    }),
  );
  if (!view) return;
  const { tileset, widget } = view;
  if (!state.shown && !state.selected) {
    tileset.style = undefined;
  } else {
    const selected = Color.fromCssColorString(SELECTED_COLOUR);
    const cache = new Map();
    const style = new Cesium3DTileStyle();
    style.color = {
      evaluateColor(feature, result) {
        const id = String(feature.getProperty("id"));
        if (id === state.selected) return Color.clone(selected, result);
        const css = state.shown ? state.shown.colours.get(id) : undefined;
        if (!css) return Color.clone(Color.WHITE, result);
        if (!cache.has(css)) cache.set(css, Color.fromCssColorString(css));
        return Color.clone(cache.get(css), result);
      },
    };
    tileset.style = style;
  }
  widget.scene.requestRender();
}

function tileProperties(feature) {
  const properties = {};
  for (const id of feature.getPropertyIds()) properties[id] = feature.getProperty(id);
  return properties;
}

// Sun and shade: the clock's time places the sun; shadows only when asked (they are costly).
function sunAndShade(element, texts) {
  const view = element.tweeling;
  const date = document.querySelector("[data-sun-date]");
  const time = document.querySelector("[data-sun-time]");
  const shown = document.querySelector("[data-sun-time-shown]");
  const shadows = document.querySelector("[data-shadows]");
  if (!date || !time || !view) return;
  const { widget, tileset } = view;
  const today = new Date();
  date.value = today.toISOString().slice(0, 10);
  widget.clock.shouldAnimate = false;
  tileset.shadows = ShadowMode.ENABLED;
  widget.scene.globe.shadows = ShadowMode.RECEIVE_ONLY;
  function update() {
    const minutes = Number(time.value);
    const clock = `${String(Math.floor(minutes / 60)).padStart(2, "0")}:${String(minutes % 60).padStart(2, "0")}`;
    shown.textContent = clock;
    time.setAttribute("aria-valuetext", clock);
    const when = new Date(`${date.value || today.toISOString().slice(0, 10)}T${clock}`);
    if (Number.isNaN(when.getTime())) return;
    widget.clock.currentTime = JulianDate.fromDate(when);
    widget.scene.shadowMap.enabled = shadows.checked;
    element.dataset.sunTime = when.toISOString();
    widget.scene.requestRender();
  }
  date.addEventListener("change", update);
  time.addEventListener("input", update);
  shadows.addEventListener("change", () => {
    update();
    announce(shadows.checked ? texts.shadowsAt.replace("{time}", shown.textContent) : "");
  });
  update();
}

export async function openTwinPage(element) {
  const texts = JSON.parse(element.dataset.texts || "{}");
  const state = { shown: null, selected: null };
  const viewing = openViewer(element);
  const legend = document.getElementById("legend");
  const select = document.querySelector("[data-colour-by]");
  const tableSection = document.querySelector("[data-objects-table]")?.closest("section");
  const panel = new ObjectPanel(document.getElementById("object-panel"), element, texts);
  let features = [];
  let table = null;

  async function selectObject(id, { focusPanel = false, tile = null } = {}) {
    state.selected = id;
    element.dataset.selectedObject = id;
    applyStyle(element.tweeling, state);
    if (table) table.markSelected(id);
    try {
      await panel.show(id, tile ? tileProperties(tile) : null);
      if (focusPanel) panel.focus();
    } catch (error) {
      announce(String(error.message || error), "error");
    }
  }

  function colourBy() {
    const option = select.selectedOptions[0];
    const attribute = select.value;
    state.shown = attribute
      ? colouring(features, attribute, option.dataset.kind, option.dataset.unit, texts)
      : null;
    showLegend(legend, state.shown, texts);
    element.dataset.colouredBy = attribute;
    if (table) table.showAttribute(attribute || null);
    applyStyle(element.tweeling, state);
    announce(attribute ? texts.coloured.replace("{attribute}", attribute) : texts.uncoloured);
  }

  if (element.dataset.layer) {
    try {
      features = await loadFeatures(element);
      if (element.dataset.objectsTruncated === "true") {
        announce(texts.truncated.replace("{count}", String(MAX_OBJECTS)));
      }
    } catch (error) {
      announce(String(error.message || error), "error");
    }
    element.dispatchEvent(new CustomEvent("tweeling:features", { detail: features }));
    element.addEventListener("tweeling:select", (event) => selectObject(event.detail));
    if (tableSection) {
      table = new ObjectTable(tableSection, features, texts, selectObject);
      table.show(0);
    }
  }
  if (select) {
    select.addEventListener("change", colourBy);
    if (select.value) colourBy();
  }
  const widget = await viewing;
  if (!element.tweeling) return;
  applyStyle(element.tweeling, state);
  sunAndShade(element, texts);
  widget.screenSpaceEventHandler.setInputAction((click) => {
    const picked = widget.scene.pick(click.position);
    if (picked instanceof Cesium3DTileFeature) {
      selectObject(String(picked.getProperty("id")), { tile: picked });
    }
  }, ScreenSpaceEventType.LEFT_CLICK);
  element.dataset.ready = "true";
}

// The twin page has the layer, colouring, panel and table around the view; a page that only
// shows a tileset (a published plan, another site embedding the bundle) gets the view alone.
const element = document.getElementById("viewer");
if (element) {
  if (element.dataset.layer) openTwinPage(element);
  else openViewer(element);
}
