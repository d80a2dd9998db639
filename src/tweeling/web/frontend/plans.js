// Publishing a plan: the form names "twin/scenario" in one select; the API wants them in the
// path (POST /twins/{twin}/scenarios/{scenario}/plan). Afterwards, the plan's public page.
import { announce, api, formJson } from "./studio.js";

const form = document.querySelector("form[data-plan-form]");
if (form) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const [twin, scenario] = form.elements.target.value.split("/");
    const button = form.querySelector("[type=submit]");
    button.disabled = true;
    try {
      const url = `/twins/${encodeURIComponent(twin)}/scenarios/${encodeURIComponent(scenario)}/plan`;
      const plan = await api("POST", url, formJson(form));
      window.location.assign(`/studio/plans/${encodeURIComponent(plan.slug)}`);
    } catch (error) {
      announce(error.message, "error");
    } finally {
      button.disabled = false;
    }
  });
}
