// The scenario pages' 3D view: the same CesiumWidget set-up as viewer.js's openViewer (the
// scenario's own 3D Tiles, no ion, no imagery), kept here rather than imported: importing
// viewer.js from another entry moves its code into a shared chunk, where its
// `import.meta.url` no longer points next to the Cesium assets (build/cesium/), and the
// twin's own 3D page then fails to load them. Each of our entries sets Cesium's base URL
// itself, from its own place at the top of build/ (see `cesiumBase`).
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

// Called by an entry module with its own import.meta.url (entries sit next to cesium/).
export function cesiumBase(entryUrl) {
  buildModuleUrl.setBaseUrl(new URL("./cesium/", entryUrl).href);
}

export async function openScenarioViewer(element) {
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
