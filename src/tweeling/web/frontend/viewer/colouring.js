// Colouring the twin's objects by one attribute, and the legend that says what each colour
// means (in words and numbers, not only colour; with the unit where the page knows it).
//
// The values come from the Features API (the data's attributes and the apps' stored outputs
// alike), keyed by object id; the tiles' features carry their object id in their metadata
// (`id` in EXT_structural_metadata), so one lookup colours any attribute, including outputs
// written after the tiles were made.

// Five classes of viridis: ordered light to dark and readable for colour-blind people.
const RAMP = ["#440154", "#3b528b", "#21918c", "#5ec962", "#fde725"];
// Okabe and Ito's categorical palette (colour-blind safe).
const CATEGORIES = ["#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000"];
export const OTHER_COLOUR = "#8c8c8c";
export const NO_VALUE_COLOUR = "#ffffff";
export const SELECTED_COLOUR = "#ff00ff";

function formatNumber(value) {
  const language = document.documentElement.lang || "nl";
  return new Intl.NumberFormat(language, { maximumFractionDigits: Math.abs(value) < 10 ? 2 : 1 }).format(value);
}

export function formatValue(value) {
  if (value === null || value === undefined) return "";
  if (typeof value === "number") return formatNumber(value);
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

// Classes of a numeric attribute: equal intervals between its least and greatest value.
function numericClasses(values, unit, texts) {
  const numbers = values.filter((v) => typeof v === "number" && Number.isFinite(v));
  if (!numbers.length) return { classify: () => null, entries: [] };
  const low = Math.min(...numbers);
  const high = Math.max(...numbers);
  const step = (high - low) / RAMP.length || 1;
  const suffix = unit ? ` ${unit}` : "";
  const entries = RAMP.map((colour, i) => {
    const from = low + i * step;
    const to = i === RAMP.length - 1 ? high : low + (i + 1) * step;
    const count = numbers.filter((n) => classOf(n) === i).length;
    return { colour, label: `${formatNumber(from)} – ${formatNumber(to)}${suffix}`, count };
  });
  function classOf(n) {
    return Math.min(RAMP.length - 1, Math.floor((n - low) / step));
  }
  return {
    classify: (v) => (typeof v === "number" && Number.isFinite(v) ? RAMP[classOf(v)] : null),
    entries: entries.filter((e) => e.count > 0),
  };
}

// Categories of any other attribute: the most frequent values, the rest as "other values".
function categoryClasses(values, texts) {
  const counts = new Map();
  for (const v of values) {
    if (v === null || v === undefined || v === "") continue;
    const key = String(v);
    counts.set(key, (counts.get(key) || 0) + 1);
  }
  const ranked = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const shown = ranked.slice(0, CATEGORIES.length);
  const colours = new Map(shown.map(([key], i) => [key, CATEGORIES[i]]));
  const entries = shown.map(([key, count]) => ({ colour: colours.get(key), label: key, count }));
  const rest = ranked.slice(CATEGORIES.length).reduce((sum, [, count]) => sum + count, 0);
  if (rest) entries.push({ colour: OTHER_COLOUR, label: texts.other, count: rest });
  return {
    classify: (v) => (v === null || v === undefined || v === "" ? null : colours.get(String(v)) || OTHER_COLOUR),
    entries,
  };
}

// A colouring: for each object id its colour, and the legend's entries.
export function colouring(features, attribute, kind, unit, texts) {
  const values = features.map((f) => f.properties[attribute]);
  const classes = kind === "number" ? numericClasses(values, unit, texts) : categoryClasses(values, texts);
  const colours = new Map();
  let missing = 0;
  for (const f of features) {
    const colour = classes.classify(f.properties[attribute]);
    if (colour === null) missing += 1;
    colours.set(String(f.id), colour || NO_VALUE_COLOUR);
  }
  const entries = [...classes.entries];
  if (missing) entries.push({ colour: NO_VALUE_COLOUR, label: texts.noValue, count: missing });
  return { attribute, unit, colours, entries };
}

// The legend as HTML: a swatch, the values in words, and how many objects.
export function showLegend(section, shown, texts) {
  const list = section.querySelector("[data-legend-list]");
  const caption = section.querySelector("[data-legend-caption]");
  list.replaceChildren();
  if (!shown) {
    section.hidden = true;
    section.dataset.legendFor = "";
    return;
  }
  const unit = shown.unit ? ` (${shown.unit})` : "";
  caption.textContent = texts.coloured.replace("{attribute}", shown.attribute + unit);
  for (const entry of shown.entries) {
    const item = document.createElement("li");
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.backgroundColor = entry.colour;
    swatch.setAttribute("aria-hidden", "true");
    const label = document.createElement("span");
    label.textContent = `${entry.label} (${entry.count} ${texts.objects})`;
    item.dataset.legendValue = entry.label;
    item.append(swatch, label);
    list.append(item);
  }
  section.dataset.legendFor = shown.attribute;
  section.hidden = false;
}
