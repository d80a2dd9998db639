// The accreditation desk and the publisher portal (no inline scripts: the CSP forbids them).
//
// A scoring form (`data-desk-scores="POST /store/apps/…/accreditation/scores"`) holds one
// fieldset per criterion; its scores go to the API as one list, all recorded or none.
// A publishing form (`data-publish="/store/apps"`) sends the chosen .twapp file as the raw
// request body, as the API wants it (not as multipart form data).
import { announce, ApiError, csrfToken, api } from "./studio.js";

const PACKAGE_TYPE = "application/vnd.tweeling.app+zip";

async function submitScores(form) {
  const [method, url] = form.dataset.deskScores.split(" ");
  const scores = [...form.querySelectorAll("fieldset[data-criterion]")].map((fieldset) => ({
    criterion: fieldset.dataset.criterion,
    score: Number(fieldset.querySelector("[name=score]").value),
    evidence: fieldset.querySelector("[name=evidence]").value,
  }));
  const result = await api(method, url, { framework: form.dataset.framework, scores });
  return result;
}

async function publishPackage(form) {
  const file = form.querySelector("input[type=file]").files[0];
  if (!file) throw new Error(form.dataset.missingMessage || "Choose a .twapp file");
  const headers = { Accept: "application/json", "Content-Type": PACKAGE_TYPE };
  const token = csrfToken();
  if (token) headers["X-CSRF-Token"] = token;
  const response = await fetch(form.dataset.publish, {
    method: "POST",
    headers,
    credentials: "same-origin",
    body: file,
  });
  const type = response.headers.get("content-type") || "";
  const parsed = type.includes("json") ? await response.json() : null;
  if (!response.ok) throw new ApiError(response.status, parsed);
  return parsed;
}

async function handle(event, form, action) {
  event.preventDefault();
  const button = form.querySelector("[type=submit]");
  if (button) button.disabled = true;
  try {
    await action(form);
    window.location.reload();
  } catch (error) {
    announce(error.message, "error");
  } finally {
    if (button) button.disabled = false;
  }
}

document.addEventListener("submit", (event) => {
  const scores = event.target.closest("form[data-desk-scores]");
  if (scores) return handle(event, scores, submitScores);
  const publish = event.target.closest("form[data-publish]");
  if (publish) return handle(event, publish, publishPackage);
});
