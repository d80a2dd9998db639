// Builds the Studio's static assets with esbuild: one bundle per entry (content-hashed file
// names, listed in manifest.json for the templates) plus CesiumJS's workers and assets, which
// it loads at run time from next to the bundle. Run by `make assets` (npm run build).
import { build } from "esbuild";
import { cpSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..", "..", "..");
const out = join(here, "..", "static", "build");
const entries = readdirSync(here)
  .filter((name) => /\.(js|css)$/.test(name) && !name.startsWith("_"))
  .map((name) => join(here, name));

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const result = await build({
  entryPoints: entries,
  outdir: out,
  bundle: true,
  format: "esm",
  splitting: true,
  minify: true,
  sourcemap: false,
  target: ["chrome110", "firefox110", "safari16"],
  entryNames: "[name]-[hash]",
  chunkNames: "chunks/[name]-[hash]",
  assetNames: "assets/[name]-[hash]",
  loader: { ".png": "file", ".svg": "file", ".woff": "file", ".woff2": "file", ".gif": "file", ".jpg": "file" },
  metafile: true,
  logLevel: "warning",
  nodePaths: [join(root, "node_modules")],
});
const manifest = {};
for (const [file, meta] of Object.entries(result.metafile.outputs)) {
  if (!meta.entryPoint) continue;
  manifest[basename(meta.entryPoint)] = relative(out, join(root, file));
}
const cesium = join(root, "node_modules", "cesium", "Build", "Cesium");
for (const part of ["Workers", "ThirdParty", "Assets"]) {
  cpSync(join(cesium, part), join(out, "cesium", part), { recursive: true });
}
writeFileSync(join(out, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n");
console.log(`built ${Object.keys(manifest).length} entries into ${relative(root, out)}`);
