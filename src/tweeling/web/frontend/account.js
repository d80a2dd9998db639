// Sign-in, two-step verification, API tokens, members and sharing (the account section).
// Every change is a call to the JSON API through studio.js's api(); nothing inline.
import { api, announce, formJson } from "./studio.js";

const signIn = document.getElementById("sign-in");
if (signIn) {
  signIn.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!signIn.reportValidity()) return;
    const button = signIn.querySelector("[type=submit]");
    button.disabled = true;
    try {
      const answer = await api("POST", "/auth/login", formJson(signIn));
      const next = signIn.dataset.next || "/";
      // An organisation that demands two-step verification: set it up before anything else.
      if (answer.second_factor_required) {
        window.location.assign(`/studio/account?next=${encodeURIComponent(next)}`);
      } else {
        window.location.assign(next);
      }
    } catch (error) {
      const code = error.problem && error.problem.code;
      if (code === "second_factor_needed") reveal("[data-second-factor]");
      else if (error.status === 400 && /organisation/.test(error.message)) {
        reveal("[data-organisation]");
      }
      announce(error.message, "error");
    } finally {
      button.disabled = false;
    }
  });
}

function reveal(selector) {
  const holder = document.querySelector(selector);
  if (!holder) return;
  holder.hidden = false;
  const input = holder.querySelector("input");
  input.disabled = false;
  input.required = true;
  input.focus();
}

const start = document.querySelector("[data-totp-start]");
if (start) {
  start.addEventListener("click", async () => {
    start.disabled = true;
    try {
      const { secret, otpauth_uri } = await api("POST", "/auth/totp");
      const { data_uri } = await api("POST", "/studio/account/qr", { otpauth_uri });
      document.querySelector("[data-totp-qr]").src = data_uri;
      document.querySelector("[data-totp-secret]").textContent = secret;
      const enrol = document.querySelector("[data-totp-enrol]");
      enrol.hidden = false;
      start.hidden = true;
      document.getElementById("confirm-code").focus();
    } catch (error) {
      start.disabled = false;
      announce(error.message, "error");
    }
  });
}

// Shown once: the API's answer holds the secret that is stored nowhere else in clear.
document.addEventListener("api:done", (event) => {
  const form = event.target;
  if (form.id === "new-token") {
    show("[data-new-token]", "[data-new-token-value]", event.detail.token);
  } else if (form.id === "new-member") {
    if (event.detail.password) {
      show("[data-new-member]", "[data-new-member-password]", event.detail.password);
    } else {
      window.location.reload();
    }
  }
});

function show(holderSelector, valueSelector, value) {
  const holder = document.querySelector(holderSelector);
  holder.querySelector(valueSelector).textContent = value;
  holder.hidden = false;
  announce(holder.textContent.trim(), "success");
}

document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-revoke]");
  if (!button) return;
  button.disabled = true;
  try {
    await api("DELETE", button.dataset.revoke);
    window.location.reload();
  } catch (error) {
    button.disabled = false;
    announce(error.message, "error");
  }
});

const share = document.getElementById("share");
if (share) {
  share.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = formJson(share);
    body.purposes = (body.purposes || "")
      .split(",")
      .map((purpose) => purpose.trim())
      .filter(Boolean);
    try {
      await api("POST", share.dataset.share, body);
      announce(share.dataset.doneMessage, "success");
    } catch (error) {
      announce(error.message, "error");
    }
  });
}
