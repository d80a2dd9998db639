// A run's page: the replay button. It calls the API's replay (the page changes nothing
// itself) and shows the verdict with both output hashes, in the page's language (the
// messages come from the verdict element's data-* attributes; no inline script).
import { api, announce } from "./studio.js";

function line(label, value) {
  const item = document.createElement("li");
  item.append(`${label}: `);
  const code = document.createElement("code");
  code.className = "hash";
  code.textContent = value || "—";
  item.append(code);
  return item;
}

async function replay(button) {
  const verdict = document.getElementById("replay-verdict");
  const messages = verdict.dataset;
  button.disabled = true;
  verdict.textContent = messages.running;
  verdict.dataset.verdict = "running";
  try {
    const answer = await api("POST", button.dataset.replay);
    const heading = document.createElement("p");
    heading.className = "verdict-text";
    heading.textContent = answer.identical ? messages.identical : messages.differ;
    const hashes = document.createElement("ul");
    hashes.append(
      line(messages.original, answer.original.output_hash),
      line(messages.replayed, answer.replay.output_hash || answer.replay.message),
    );
    verdict.replaceChildren(heading, hashes);
    if (!answer.same_inputs) {
      const note = document.createElement("p");
      note.textContent = messages.inputsDiffer;
      verdict.append(note);
    }
    verdict.dataset.verdict = answer.identical ? "identical" : "different";
  } catch (error) {
    verdict.textContent = "";
    verdict.dataset.verdict = "failed";
    announce(error.message, "error");
  } finally {
    button.disabled = false;
  }
}

const button = document.getElementById("replay");
if (button) button.addEventListener("click", () => replay(button));
