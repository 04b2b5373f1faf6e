// Build the live page's code editor: web/src → gencode/watch/static/editor.js (one file, committed,
// so `pip install` needs no node). The bundle's first line carries a sha256 of its sources and
// lockfile; tests/test_editor_bundle.py recomputes it, and `node build.mjs --check` rebuilds and
// compares byte for byte (CI does when npm is present).
import { createHash } from "node:crypto";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const OUT = join(here, "..", "gencode", "watch", "static", "editor.js");

// The files the bundle is made from (tests/test_editor_bundle.py hashes the same list).
function sources() {
  const src = readdirSync(join(here, "src")).filter((f) => f.endsWith(".js")).map((f) => `src/${f}`);
  return ["build.mjs", "package.json", "package-lock.json", ...src].sort();
}

function sourcesSha() {
  const h = createHash("sha256");
  for (const name of sources()) {
    h.update(name + "\0");
    h.update(readFileSync(join(here, name)));
    h.update("\0");
  }
  return h.digest("hex");
}

const result = await build({
  entryPoints: [join(here, "src", "main.js")],
  bundle: true,
  minify: true,
  format: "iife",
  target: "es2020",
  legalComments: "none",
  write: false,
  logLevel: "warning",
});
const banner = `/* gencode editor (CodeMirror 6), built by web/build.mjs; sources-sha256: ${sourcesSha()} */\n`;
const text = banner + result.outputFiles[0].text;

if (process.argv.includes("--check")) {
  const committed = readFileSync(OUT, "utf8");
  if (committed !== text) {
    console.error(`${OUT} differs from a fresh build of web/: run 'cd web && npm ci && npm run build'`);
    process.exit(1);
  }
  console.log("editor.js matches its sources");
} else {
  writeFileSync(OUT, text);
  console.log(`wrote ${OUT} (${text.length} bytes)`);
}
