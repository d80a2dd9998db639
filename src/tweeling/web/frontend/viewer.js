// The twin viewer: the scenario's own 3D Tiles in CesiumJS, nothing from another origin.
//
// CesiumWidget (not Viewer: its widgets bind with knockout, which needs eval and so a weaker
// Content-Security-Policy). No Cesium ion, no imagery, no terrain: the globe is a plain
// ellipsoid and the twin's tiles carry everything shown. The element's data attributes say
// what to load; `data-tiles-loaded` counts the tiles that arrived (the browser tests read it).
import {
  Cartesian3,
  Cesium3DTileset,
  CesiumWidget,
  Color,
  HeadingPitchRange,
  Ion,
  Math as CesiumMath,
  buildModuleUrl,
} from "cesium";

Ion.defaultAccessToken = "";
// Cesium's workers and assets are served next to this bundle (copied by the build).
buildModuleUrl.setBaseUrl(new URL("./cesium/", import.meta.url).href);

export async function openViewer(element) {
  const status = document.querySelector("[data-viewer-status]");
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
    const tileset = await Cesium3DTileset.fromUrl(element.dataset.tileset);
    widget.scene.primitives.add(tileset);
    tileset.tileLoad.addEventListener(() => {
      loaded += 1;
      element.dataset.tilesLoaded = String(loaded);
    });
    tileset.allTilesLoaded.addEventListener(() => {
      element.dataset.allTilesLoaded = "true";
      if (status) status.textContent = status.dataset.loadedText || "";
    });
    await widget.zoomTo(
      tileset,
      new HeadingPitchRange(0, CesiumMath.toRadians(-35), tileset.boundingSphere.radius * 2.5),
    );
    widget.scene.requestRender();
    element.tweeling = { widget, tileset };
  } catch (error) {
    element.dataset.error = String(error);
    if (status) status.textContent = String(error.message || error);
  }
  return widget;
}

const element = document.getElementById("viewer");
if (element) openViewer(element);
