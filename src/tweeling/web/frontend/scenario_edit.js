// The scenario editor: select a building (a click in 3D, or its id typed or picked from the
// list) and change its height or remove it; draw a footprint (clicks on the ground, or the
// corners typed as "longitude, latitude" lines) and give it a height to add a building.
// Every change is one call of the scenario edit API; the page then reloads to show it.
import {
  Cartographic,
  Cesium3DTileFeature,
  Color,
  Math as CesiumMath,
  PointPrimitiveCollection,
  ScreenSpaceEventHandler,
  ScreenSpaceEventType,
} from "cesium";
import { announce, api } from "./studio.js";
import { openViewer as openScenarioViewer } from "./_cesium_view.js";


const SAVED = "tweeling.scenario-edit.saved";
const editor = document.getElementById("scenario-editor");

function message(template, values) {
  return template.replace(/\{(\w+)\}/g, (_, key) => String(values[key] ?? ""));
}

// "4.35, 52.01" lines → [[4.35, 52.01], …]; a line that is not two numbers is named.
function corners(text) {
  return text
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line, index) => {
      const numbers = line.split(/[\s,;]+/).filter(Boolean).map(Number);
      if (numbers.length !== 2 || numbers.some(Number.isNaN)) {
        throw new Error(`${index + 1}: “${line}”`);
      }
      return numbers;
    });
}

async function save(body) {
  await api("POST", editor.dataset.edits, body);
  sessionStorage.setItem(SAVED, editor.dataset.savedText);
  window.location.reload();
}

async function onBuilding(event) {
  event.preventDefault();
  const form = event.target;
  const id = form.elements.id.value.trim();
  const reason = form.elements.reason.value;
  const action = event.submitter ? event.submitter.value : "height";
  try {
    if (action === "remove") await save({ reason, delete: [id] });
    else {
      if (form.elements.height.value === "") {
        form.elements.height.focus();
        throw new Error(form.elements.height.labels[0].textContent);
      }
      await save({ reason, heights: { [id]: Number(form.elements.height.value) } });
    }
  } catch (error) {
    announce(error.message, "error");
  }
}

async function onDraw(event) {
  event.preventDefault();
  const form = event.target;
  try {
    const footprint = {
      id: form.elements.id.value.trim(),
      outline: corners(form.elements.outline.value),
      height: Number(form.elements.height.value),
      base: Number(form.elements.base.value || 0),
    };
    await save({ reason: form.elements.reason.value, footprints: [footprint] });
  } catch (error) {
    announce(error.message, "error");
  }
}

function wireDrawing(widget, markers) {
  const toggle = document.getElementById("draw-toggle");
  const outline = document.getElementById("draw-outline");
  const redraw = () => {
    markers.removeAll();
    try {
      for (const [lon, lat] of corners(outline.value)) {
        markers.add({ position: Cartographic.toCartesian(Cartographic.fromDegrees(lon, lat, 2)), color: Color.ORANGERED, pixelSize: 10 });
      }
    } catch {
      // a line being typed: the markers follow once it reads as two numbers
    }
    widget.scene.requestRender();
  };
  toggle.addEventListener("click", () => {
    const on = toggle.getAttribute("aria-pressed") !== "true";
    toggle.setAttribute("aria-pressed", String(on));
    editor.dataset.drawing = String(on);
  });
  document.getElementById("draw-undo").addEventListener("click", () => {
    outline.value = outline.value.trim().split("\n").slice(0, -1).join("\n");
    redraw();
  });
  document.getElementById("draw-clear").addEventListener("click", () => {
    outline.value = "";
    redraw();
  });
  outline.addEventListener("input", redraw);
  return (cartesian) => {
    const where = Cartographic.fromCartesian(cartesian);
    const line = `${CesiumMath.toDegrees(where.longitude).toFixed(7)}, ${CesiumMath.toDegrees(where.latitude).toFixed(7)}`;
    outline.value = outline.value.trim() ? `${outline.value.trim()}\n${line}` : line;
    redraw();
    const count = outline.value.split("\n").length;
    editor.dataset.corners = String(count);
    announce(message(editor.dataset.pointText, { n: count }));
  };
}

async function start() {
  const saved = sessionStorage.getItem(SAVED);
  if (saved) {
    sessionStorage.removeItem(SAVED);
    announce(saved, "success");
  }
  document.getElementById("building-form").addEventListener("submit", onBuilding);
  document.getElementById("draw-form").addEventListener("submit", onDraw);
  const element = document.getElementById("scenario-viewer");
  const widget = await openScenarioViewer(element);
  const scene = widget.scene;
  const markers = scene.primitives.add(new PointPrimitiveCollection());
  const addCorner = wireDrawing(widget, markers);
  let highlighted = null;
  const handler = new ScreenSpaceEventHandler(scene.canvas);
  handler.setInputAction((click) => {
    if (editor.dataset.drawing === "true") {
      // the footprint is drawn on the ground: the ellipsoid, not the roof under the cursor
      const cartesian = widget.camera.pickEllipsoid(click.position, scene.globe.ellipsoid);
      if (cartesian) addCorner(cartesian);
      return;
    }
    const picked = scene.pick(click.position);
    if (highlighted) highlighted.color = Color.WHITE;
    highlighted = null;
    if (picked instanceof Cesium3DTileFeature) {
      const id = picked.getProperty("id");
      picked.color = Color.YELLOW;
      highlighted = picked;
      document.getElementById("building-id").value = id;
      editor.dataset.selected = id;
      announce(message(editor.dataset.selectedText, { id }));
    }
    scene.requestRender();
  }, ScreenSpaceEventType.LEFT_CLICK);
}

if (editor) start();
