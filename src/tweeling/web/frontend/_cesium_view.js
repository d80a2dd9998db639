// The bare 3D view every Studio page shares: a scenario's own 3D Tiles in CesiumJS, nothing
// from another origin. (A module, not an esbuild entry: the pages' entries import it.)
//
// CesiumWidget (not Viewer: its widgets bind with knockout, which needs eval and so a weaker
// Content-Security-Policy). No Cesium ion, no imagery, no terrain: the globe is a plain
// ellipsoid and the twin's tiles carry everything shown. The element's data attributes say
// what to load; `data-tiles-loaded` counts the tiles that arrived and
// `data-all-tiles-loaded` marks a complete view (the browser tests and benchmarks read them).
import {
  Cesium3DTileset,
  CesiumWidget,
  Color,
  HeadingPitchRange,
  Ion,
  Math as CesiumMath,
  buildModuleUrl,
} from "cesium";

Ion.defaultAccessToken = "";
// Cesium's workers and assets lie in build/cesium/. This module ends up in an entry's bundle
// (build/) or, when several entries import it, in a shared chunk (build/chunks/): find
// build/ from wherever it is.
const here = new URL(".", import.meta.url);
const buildRoot = here.pathname.endsWith("/chunks/") ? new URL("../", here) : here;
buildModuleUrl.setBaseUrl(new URL("cesium/", buildRoot).href);

// The first view: looking down at 35° at the twin's middle, from no farther than this (a
// whole city seen from afar would ask for no tile at all until the tileset has coarser
// levels of detail).
const FARTHEST_START_M = 1500;

export async function openViewer(element) {
  const status = document.querySelector("[data-viewer-status]");
  // The tileset's JSON is fetched while the widget starts (both take a while).
  const loading = Cesium3DTileset.fromUrl(element.dataset.tileset);
  const widget = new CesiumWidget(element, {
    baseLayer: false,
    terrainProvider: undefined,
    skyBox: false,
    skyAtmosphere: false,
    requestRenderMode: true,
    maximumRenderTimeChange: Infinity,
  });
  widget.scene.globe.baseColor = Color.fromCssColorString("#dfe6ea");
  widget.scene.globe.showGroundAtmosphere = false;
  widget.scene.backgroundColor = Color.fromCssColorString("#f4f7f9");
  let loaded = 0;
  try {
    const tileset = await loading;
    widget.scene.primitives.add(tileset);
    tileset.tileLoad.addEventListener(() => {
      loaded += 1;
      element.dataset.tilesLoaded = String(loaded);
    });
    tileset.allTilesLoaded.addEventListener(() => {
      element.dataset.allTilesLoaded = "true";
      if (status) status.textContent = status.dataset.loadedText || "";
    });
    const range = Math.min(tileset.boundingSphere.radius * 2.5, FARTHEST_START_M);
    await widget.zoomTo(tileset, new HeadingPitchRange(0, CesiumMath.toRadians(-35), range));
    widget.scene.requestRender();
    element.tweeling = { widget, tileset };
  } catch (error) {
    element.dataset.error = String(error);
    if (status) status.textContent = String(error.message || error);
  }
  return widget;
}
