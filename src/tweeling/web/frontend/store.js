// The store's product page: after a successful installation (the calibration form is a
// data-api form handled by studio.js), offer a run on a scenario, start it as an OGC
// Processes job (Prefer: respond-async) and follow it by server-sent events
// (GET /ogc/{twin}/jobs/{id}/events) into a <progress> and an aria-live status line.
import { announce, csrfToken, ApiError } from "./studio.js";

const panel = document.getElementById("run-panel");
const installForm = document.getElementById("install-form");
const lang = document.documentElement.lang;
const words = {
  nl: {
    installed: "Geïnstalleerd in {twin}. U kunt de app nu draaien.",
    started: "Gestart, wacht op een plek…",
    accepted: "In de wachtrij",
    running: "Bezig: {progress}%",
    successful: "Klaar.",
    failed: "Mislukt: {message}",
    dismissed: "Afgebroken.",
    lost: "De verbinding met de voortgang is verbroken.",
  },
  en: {
    installed: "Installed in {twin}. You can run the app now.",
    started: "Started, waiting for a slot…",
    accepted: "Queued",
    running: "Running: {progress}%",
    successful: "Done.",
    failed: "Failed: {message}",
    dismissed: "Dismissed.",
    lost: "The connection to the progress was lost.",
  },
};

function say(key, values = {}) {
  const text = (words[lang] || words.en)[key] || key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ""));
}

function twinOf() {
  return installForm.elements.twin.value;
}

// data-then="none" on the form: studio.js only sends it; what follows is said here
installForm?.addEventListener("api:done", (event) => {
  const installation = event.detail.installation || {};
  panel.hidden = false;
  panel.dataset.twin = installation.twin || twinOf();
  announce(say("installed", { twin: panel.dataset.twin }), "success");
  document.getElementById("run-scenario").focus();
});

async function startJob(twin, app, scenario) {
  const headers = {
    Accept: "application/json",
    "Content-Type": "application/json",
    Prefer: "respond-async",
  };
  const token = csrfToken();
  if (token) headers["X-CSRF-Token"] = token;
  const response = await fetch(
    `/ogc/${encodeURIComponent(twin)}/processes/${encodeURIComponent(app)}/execution`,
    {
      method: "POST",
      headers,
      credentials: "same-origin",
      body: JSON.stringify({ inputs: { scenario } }),
    },
  );
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

function show(job) {
  const progress = document.getElementById("run-progress");
  const status = document.getElementById("run-status");
  progress.value = job.progress ?? 0;
  progress.textContent = `${progress.value}%`;
  status.textContent = say(job.status, { progress: job.progress ?? 0, message: job.message });
  status.dataset.status = job.status;
  panel.dataset.status = job.status;
}

function finish(job, twin) {
  const links = document.getElementById("run-links");
  document.getElementById("run-result").href = `/studio/runs/${encodeURIComponent(job.jobID)}`;
  const viewer = document.getElementById("run-viewer");
  if (viewer && panel.dataset.colour) {
    viewer.href = `/studio/twins/${encodeURIComponent(twin)}?colour=${encodeURIComponent(panel.dataset.colour)}`;
  }
  links.hidden = job.status !== "successful";
}

document.getElementById("run-form")?.addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const button = form.querySelector("[type=submit]");
  const twin = panel.dataset.twin || twinOf();
  button.disabled = true;
  try {
    const job = await startJob(twin, panel.dataset.app, form.elements.scenario.value);
    show(job);
    const source = new EventSource(
      `/ogc/${encodeURIComponent(twin)}/jobs/${encodeURIComponent(job.jobID)}/events`,
    );
    source.addEventListener("status", (message) => {
      const current = JSON.parse(message.data);
      show(current);
      if (!["accepted", "running"].includes(current.status)) {
        source.close();
        finish(current, twin);
        button.disabled = false;
      }
    });
    source.addEventListener("error", (message) => {
      // a named "error" event carries the server's reason; a bare one is a lost connection,
      // which the browser retries by itself while it says it is connecting (the server
      // ends a long stream on purpose)
      if (!message.data && source.readyState === EventSource.CONNECTING) return;
      source.close();
      const detail = message.data ? JSON.parse(message.data).detail : say("lost");
      announce(detail, "error");
      button.disabled = false;
    });
  } catch (error) {
    announce(error.message, "error");
    button.disabled = false;
  }
});
