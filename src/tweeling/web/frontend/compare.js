// The comparison page: both scenarios in one 3D view with a divider (a swipe): scenario a
// left of it, b right of it, the same camera for both. One view, not two side by side:
// CesiumJS shares some GPU resources between widgets on a page, which then render black in
// the first one ("object does not belong to this context").
import { Cesium3DTileset, SplitDirection } from "cesium";
import { openViewer } from "./_cesium_view.js";

async function start() {
  const element = document.getElementById("compare");
  if (!element) return;
  const widget = await openViewer(element);
  if (!element.tweeling) return;
  const { scene } = widget;
  const a = element.tweeling.tileset;
  a.splitDirection = SplitDirection.LEFT;
  const b = await Cesium3DTileset.fromUrl(element.dataset.tilesetB);
  b.splitDirection = SplitDirection.RIGHT;
  let loaded = 0;
  b.tileLoad.addEventListener(() => {
    loaded += 1;
    element.dataset.tilesLoadedB = String(loaded);
  });
  scene.primitives.add(b);
  const slider = document.querySelector("[data-swipe]");
  const line = element.querySelector(".swipe-line");
  function place() {
    const at = Number(slider.value) / 100;
    scene.splitPosition = at;
    line.style.left = `${at * 100}%`;
    scene.requestRender();
  }
  slider.addEventListener("input", place);
  place();
}

start();
