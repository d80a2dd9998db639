// The comparison page: the two scenarios in 3D side by side, their cameras kept together
// (moving one moves the other), so the same street is seen in both.
import { openViewer as openScenarioViewer } from "./_cesium_view.js";


let busy = false; // one camera copied at a time: the copy must not echo back

function follow(leader, follower) {
  leader.camera.changed.addEventListener(() => {
    if (busy) return;
    busy = true;
    follower.camera.setView({
      destination: leader.camera.positionWC.clone(),
      orientation: {
        heading: leader.camera.heading,
        pitch: leader.camera.pitch,
        roll: leader.camera.roll,
      },
    });
    follower.scene.requestRender();
    busy = false;
  });
  leader.camera.percentageChanged = 0.01;
}

async function start() {
  const elements = [...document.querySelectorAll(".compare-viewer")];
  if (elements.length !== 2) return;
  const [a, b] = await Promise.all(elements.map((element) => openScenarioViewer(element)));
  follow(a, b);
  follow(b, a);
}

start();
