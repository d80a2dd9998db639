// The twin in 2D: the layer's footprints from the Features API (GeoJSON in CRS84, as the API
// serves by default) on a MapLibre GL JS map, coloured as the 3D view is. No basemap unless
// the operator set one (TWEELING_BASEMAP_STYLE, `data-basemap-style`): a plain background
// keeps the page free of other origins. A toggle switches between the 3D and the 2D view.
//
// viewer.js tells this module what it knows through events on the viewer element:
// `tweeling:features` (the layer's features), `tweeling:colours` (object id → colour, and
// the selected id); a click on a footprint asks it to select through `tweeling:select`.
// MapLibre itself (a megabyte) is loaded when the map is first shown.

const FALLBACK_COLOUR = "#9aa5ad";
const viewer = document.getElementById("viewer");
const container = document.getElementById("map");
const buttons = [...document.querySelectorAll("[data-view-mode]")];
let features = [];
let colours = new Map();
let selected = null;
let map = null;
let maplibre = null;

function data() {
  return {
    type: "FeatureCollection",
    features: features.map((f) => ({
      type: "Feature",
      id: undefined,
      geometry: f.geometry,
      properties: {
        object_id: String(f.id),
        colour: colours.get(String(f.id)) || FALLBACK_COLOUR,
        selected: String(f.id) === selected,
      },
    })),
  };
}

function refresh() {
  const source = map && map.getSource("objects");
  if (source) source.setData(data());
}

function bounds() {
  const box = new maplibre.LngLatBounds();
  const add = (coordinates) => {
    if (typeof coordinates[0] === "number") box.extend(coordinates);
    else coordinates.forEach(add);
  };
  for (const f of features) if (f.geometry) add(f.geometry.coordinates);
  return box;
}

function addObjects() {
  map.addSource("objects", { type: "geojson", data: data() });
  map.addLayer({
    id: "objects-fill",
    type: "fill",
    source: "objects",
    paint: { "fill-color": ["get", "colour"], "fill-opacity": 0.85 },
  });
  map.addLayer({
    id: "objects-line",
    type: "line",
    source: "objects",
    paint: {
      "line-color": ["case", ["get", "selected"], "#ff00ff", "#333333"],
      "line-width": ["case", ["get", "selected"], 3, 0.5],
    },
  });
  map.on("click", "objects-fill", (event) => {
    const hit = event.features && event.features[0];
    if (hit) viewer.dispatchEvent(new CustomEvent("tweeling:select", { detail: hit.properties.object_id }));
  });
  map.once("idle", () => {
    container.dataset.mapFeatures = String(features.length);
  });
}

async function openMap() {
  maplibre = await import("maplibre-gl");
  maplibre.setWorkerUrl(new URL(container.dataset.worker, document.baseURI).href);
  const basemap = container.dataset.basemapStyle;
  const style = basemap || {
    version: 8,
    sources: {},
    layers: [{ id: "background", type: "background", paint: { "background-color": "#f4f7f9" } }],
  };
  map = new maplibre.Map({ container, style, attributionControl: basemap ? {} : false });
  map.on("load", () => {
    addObjects();
    const box = bounds();
    if (!box.isEmpty()) map.fitBounds(box, { padding: 24, duration: 0 });
  });
  map.on("error", (event) => {
    container.dataset.error = String(event.error && event.error.message);
  });
}

async function show(mode) {
  for (const button of buttons) button.setAttribute("aria-pressed", String(button.dataset.viewMode === mode));
  viewer.hidden = mode !== "3d";
  container.hidden = mode !== "2d";
  container.dataset.shown = String(mode === "2d");
  if (mode === "2d") {
    if (!map) await openMap();
    else map.resize();
  }
}

if (viewer && container) {
  viewer.addEventListener("tweeling:features", (event) => {
    features = event.detail;
    refresh();
  });
  viewer.addEventListener("tweeling:colours", (event) => {
    colours = event.detail.colours || new Map();
    selected = event.detail.selected;
    refresh();
  });
  for (const button of buttons) button.addEventListener("click", () => show(button.dataset.viewMode));
}
