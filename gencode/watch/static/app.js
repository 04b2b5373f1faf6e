// The live preview: status events over one WebSocket → a grid of canvases, sequences looping at
// their fps. A new render's frames are all loaded before they replace the old ones, so the screen
// never shows a half-loaded render; on an error the old frames stay and an overlay names the
// problem (in the perform view, a small dot). Loops run on the server's clock, so every page —
// the normal view on a laptop, the perform view on a projector — shows the same frame.
"use strict";

const $ = (id) => document.getElementById(id);
const grid = $("grid");
const tiles = new Map(); // output name → {el, canvas, ctx, label, images, fps, drawn}
// One clock for every loop, the server's: outputs and pages stay in step, and an updated
// sequence keeps its phase instead of jumping back to frame 0 on each save.
let offset = null; // server time − Date.now(), in ms (the largest seen: the least delayed)
const clock = () => Date.now() + (offset ?? 0);
let session = null; // a restarted watcher is a new session: its generations start again at 1
let shown = 0; // generation on screen
let wanted = 0; // newest generation being loaded
let last = null; // the last status received

// ---- views ----------------------------------------------------------------------------------

function setPerform(on) {
  document.body.classList.toggle("perform", on);
  const url = new URL(location.href);
  if (on) url.searchParams.set("view", "perform");
  else url.searchParams.delete("view");
  history.replaceState(null, "", url);
}

function toggleFullscreen() {
  if (document.fullscreenElement) document.exitFullscreen();
  else document.documentElement.requestFullscreen().catch(() => {});
}

document.addEventListener("keydown", (e) => {
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  const key = e.key.toLowerCase();
  if (key === "p") setPerform(!document.body.classList.contains("perform"));
  else if (key === "f") toggleFullscreen();
});
grid.addEventListener("dblclick", toggleFullscreen);
setPerform(new URLSearchParams(location.search).get("view") === "perform");

// ---- frames ---------------------------------------------------------------------------------

function loadImage(url) {
  // onload, not img.decode(): decode() rejects in a tab that is not in front (EncodingError),
  // which left a background tab on a restarted session's old frames.
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => resolve(img);
    img.onerror = () => reject(new Error(`could not load ${url}`));
    img.src = url;
  });
}

async function showGeneration(status) {
  const gen = status.generation;
  if (gen === 0 || gen <= wanted) return;
  wanted = gen;
  let items;
  try {
    items = await Promise.all(
      // The session in the URL: a restarted watcher's generation 1 is not the cached old one.
      status.items.map(async (it) => ({
        ...it,
        images: await Promise.all(it.frames.map((u) => loadImage(`${u}?session=${status.session}`))),
      })),
    );
  } catch (err) {
    window.__lastLoadError = String(err);
    if (wanted === gen) {
      wanted = shown; // a failed load (a restart, a hidden tab): try again shortly
      setTimeout(() => last && last.generation === gen && showGeneration(last), 500);
    }
    return;
  }
  if (gen !== wanted) return; // a newer render is loading; it will be shown instead
  swap(items, gen);
}

function makeTile(name) {
  const el = document.createElement("figure");
  el.className = "tile";
  const canvas = document.createElement("canvas");
  const label = document.createElement("figcaption");
  el.append(canvas, label);
  el.dataset.name = name;
  return { el, canvas, ctx: canvas.getContext("2d"), label, images: [], fps: 12, drawn: -1 };
}

function swap(items, gen) {
  const names = new Set(items.map((it) => it.name));
  for (const [name, tile] of tiles) {
    if (!names.has(name)) {
      tile.el.remove();
      tiles.delete(name);
    }
  }
  for (const it of items) {
    let tile = tiles.get(it.name);
    if (!tile) tiles.set(it.name, (tile = makeTile(it.name)));
    grid.appendChild(tile.el); // in the script's order
    if (tile.canvas.width !== it.width) tile.canvas.width = it.width;
    if (tile.canvas.height !== it.height) tile.canvas.height = it.height;
    Object.assign(tile, { images: it.images, fps: it.fps, drawn: -1 });
    const frames = it.sequence ? ` · ${it.images.length} frames at ${it.fps} fps` : "";
    tile.label.textContent = `${it.name} · ${it.width}×${it.height}${frames}`;
    draw(tile, performance.now());
  }
  shown = gen;
  grid.dataset.generation = String(gen);
  grid.style.setProperty("--cols", String(Math.ceil(Math.sqrt(Math.max(items.length, 1)))));
  $("empty").hidden = items.length > 0;
}

function draw(tile, now) {
  const n = tile.images.length;
  if (n === 0) return;
  const i = n === 1 ? 0 : Math.floor((clock() / 1000) * tile.fps) % n;
  if (i === tile.drawn) return;
  tile.ctx.drawImage(tile.images[i], 0, 0);
  tile.drawn = i;
}

function tick(now) {
  for (const tile of tiles.values()) draw(tile, now);
  requestAnimationFrame(tick);
}
requestAnimationFrame(tick);

// ---- status ---------------------------------------------------------------------------------

function onStatus(status) {
  if (status.session !== session) {
    session = status.session; // a new session: forget the old one's generations
    shown = wanted = 0;
  }
  const ahead = status.time * 1000 - Date.now();
  if (offset === null || ahead > offset) offset = ahead;
  last = status;
  $("script").textContent = status.script;
  document.body.classList.toggle("error", !status.ok);
  $("overlay").hidden = status.ok;
  $("indicator").hidden = status.ok;
  $("error").textContent = status.error || "";
  const state = $("state");
  state.className = status.ok ? "ok" : "bad";
  if (status.rendering) state.textContent = "rendering…";
  else if (!status.ok) state.textContent = `${status.error_kind} error`;
  else state.textContent = `render ${status.renders}`;
  $("progress").hidden = !status.rendering;
  if (!status.rendering) $("progress-fill").style.width = "0";
  showGeneration(status);
}

function onProgress(p) {
  $("progress").hidden = false;
  $("progress-fill").style.width = `${(100 * p.done) / Math.max(p.total, 1)}%`;
  $("state").textContent = `rendering ${p.label} ${p.done}/${p.total}`;
}

// One WebSocket per page: unlike an event stream, it is not one of the browser's six
// connections per host, so a seventh tab loads too. It reconnects when the watcher restarts.
function connect() {
  const ws = new WebSocket(`ws://${location.host}/ws`);
  ws.onmessage = (e) => {
    const { event, data } = JSON.parse(e.data);
    if (event === "status") onStatus(data);
    else if (event === "progress") onProgress(data);
  };
  ws.onclose = () => {
    const state = $("state");
    state.className = "bad";
    state.textContent = "disconnected — is gencode watch still running?";
    setTimeout(connect, 500);
  };
}
connect();

// For tests and the curious: what the page shows.
window.gencodePreview = { shown: () => shown, status: () => last };
