// The Studio's shared behaviour: every page loads this module (no inline scripts anywhere).
//
// Pages change nothing themselves: a form marked `data-api="POST /twins/delft/scenarios"`
// is sent as JSON to the platform's API with the session's CSRF token, so every change goes
// through the same policy point, audit and error messages as any API client's. Errors come
// back as RFC 9457 problem details; their `detail` is shown in the page's status region.

export function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : null;
}

export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

// Call the JSON API as the signed-in visitor; resolves to the parsed body (or null).
export async function api(method, url, body) {
  const headers = { Accept: "application/json" };
  const token = csrfToken();
  if (token && method !== "GET") headers["X-CSRF-Token"] = token;
  const init = { method, headers, credentials: "same-origin" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(url, init);
  const type = response.headers.get("content-type") || "";
  const parsed = type.includes("json") ? await response.json() : null;
  if (!response.ok) throw new ApiError(response.status, parsed);
  return parsed;
}

// Tell the visitor something in the page's live region (screen readers announce it).
export function announce(message, kind = "info") {
  const region = document.getElementById("status");
  if (!region) return;
  region.textContent = message;
  region.dataset.kind = kind;
}

// A form's fields as JSON: numbers for type=number, booleans for checkboxes, arrays for
// multiple selects; fields named "a.b" nest; empty optional fields are left out.
export function formJson(form) {
  const out = {};
  for (const element of form.elements) {
    if (!element.name || element.disabled || element.dataset.skip !== undefined) continue;
    let value;
    if (element.type === "checkbox") value = element.checked;
    else if (element.type === "number" || element.dataset.type === "number") {
      if (element.value === "") continue;
      value = Number(element.value);
    } else if (element.multiple) value = [...element.selectedOptions].map((o) => o.value);
    else if (element.type === "radio") {
      if (!element.checked) continue;
      value = element.value;
    } else {
      if (element.value === "" && !element.required) continue;
      value = element.dataset.type === "json" ? JSON.parse(element.value) : element.value;
    }
    const path = element.name.split(".");
    let target = out;
    for (const key of path.slice(0, -1)) target = target[key] ??= {};
    target[path[path.length - 1]] = value;
  }
  return out;
}

async function submitApiForm(event) {
  const form = event.target.closest("form[data-api]");
  if (!form) return;
  event.preventDefault();
  const [method, url] = form.dataset.api.split(" ");
  const button = form.querySelector("[type=submit]");
  if (button) button.disabled = true;
  try {
    const result = await api(method, url, formJson(form));
    form.dispatchEvent(new CustomEvent("api:done", { detail: result, bubbles: true }));
    const then = form.dataset.then || "reload";
    if (then === "reload") window.location.reload();
    else if (then.startsWith("go:")) window.location.assign(fill(then.slice(3), result));
    else if (then === "announce") announce(form.dataset.doneMessage || "OK", "success");
    if (form.dataset.reset !== undefined) form.reset();
  } catch (error) {
    announce(error.message, "error");
    form.dispatchEvent(new CustomEvent("api:failed", { detail: error, bubbles: true }));
  } finally {
    if (button) button.disabled = false;
  }
}

// "go:/studio/runs/{job_id}" with the API's answer {job_id: "…"} → "/studio/runs/…"
function fill(template, result) {
  return template.replace(/\{(\w+)\}/g, (_, key) =>
    encodeURIComponent(result && result[key] !== undefined ? result[key] : ""),
  );
}

document.addEventListener("submit", submitApiForm);

document.addEventListener("change", (event) => {
  const select = event.target.closest("[data-auto-submit]");
  if (select && select.form) select.form.requestSubmit();
});

document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-sign-out]");
  if (!button) return;
  try {
    await api("POST", "/auth/logout");
  } finally {
    window.location.assign("/");
  }
});
