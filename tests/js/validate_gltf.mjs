// Validates GLB files with Khronos' glTF validator and prints one JSON report per file.
// Usage: node validate_gltf.mjs FILE...
import { readFile } from "node:fs/promises";
import validator from "gltf-validator";

const reports = [];
for (const path of process.argv.slice(2)) {
  const bytes = new Uint8Array(await readFile(path));
  const report = await validator.validateBytes(bytes, { maxIssues: 50 });
  reports.push({
    path,
    errors: report.issues.numErrors,
    warnings: report.issues.numWarnings,
    infos: report.issues.numInfos,
    messages: report.issues.messages.filter((m) => m.severity <= 2).slice(0, 20),
    info: report.info ?? null,
    keys: Object.keys(report),
  });
}
process.stdout.write(JSON.stringify(reports));
