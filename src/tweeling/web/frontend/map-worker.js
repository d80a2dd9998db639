// MapLibre's worker as a bundle of our own (listed in the manifest), so the 2D map's worker
// comes from our origin like everything else; map.js points MapLibre at it. The module starts
// the worker when it runs; it is referenced here because its package marks it free of side
// effects, and the bundler would otherwise leave it out.
import MapLibreWorker from "maplibre-gl/dist/maplibre-gl-worker.mjs";

self.mapLibreWorker = MapLibreWorker;
