// The live page: frames arrive as binary WebSocket messages ([u32 header length][JSON][JPEG])
// and are drawn on a canvas as they come. window.liveStats lets tests and tools read the
// page's own fps. ?view=perform (or P) shows the picture alone; an error is a small red dot.
"use strict";
(() => {
  const canvas = document.getElementById("stream");
  const ctx = canvas.getContext("2d");
  const meta = document.getElementById("meta");
  const errorBox = document.getElementById("error");
  const indicator = document.getElementById("indicator");
  // firstPainted: program number -> when its first frame was painted (ms since the epoch), so a
  // tool can time a swap from a save without polling the page while the swap happens.
  const stats = (window.liveStats = { frames: 0, fps: 0, frame: -1, program: 0, ok: true, session: null, firstPainted: {} });
  const params = new URLSearchParams(location.search);
  if (params.get("view") === "perform") document.body.classList.add("perform");
  const painted = [];

  function show(head) {
    stats.ok = head.ok;
    indicator.hidden = head.ok;
    errorBox.hidden = head.ok;
    errorBox.textContent = head.error || "";
    meta.textContent = `frame ${head.frame} · program ${head.program} · stream ${head.fps} fps · page ${stats.fps} fps · dropped ${head.dropped}`;
  }

  async function paint(buffer) {
    const view = new DataView(buffer);
    const n = view.getUint32(0);
    const head = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 4, n)));
    const bitmap = await createImageBitmap(new Blob([new Uint8Array(buffer, 4 + n)], { type: "image/jpeg" }));
    if (canvas.width !== bitmap.width || canvas.height !== bitmap.height) {
      canvas.width = bitmap.width;
      canvas.height = bitmap.height;
    }
    ctx.drawImage(bitmap, 0, 0);
    const now = performance.now();
    painted.push(now);
    while (painted.length && now - painted[0] > 1000) painted.shift();
    if (!(head.program in stats.firstPainted)) stats.firstPainted[head.program] = performance.timeOrigin + now;
    Object.assign(stats, { frames: stats.frames + 1, fps: painted.length, frame: head.frame, program: head.program, session: head.session, paintedAt: now });
    show(head);
  }

  function connect() {
    const ws = new WebSocket(`ws://${location.host}/ws`);
    ws.binaryType = "arraybuffer";
    let chain = Promise.resolve();
    ws.onmessage = (e) => { chain = chain.then(() => paint(e.data)).catch(() => {}); };
    ws.onclose = () => { meta.textContent = "reconnecting…"; setTimeout(connect, 500); };
  }
  connect();

  document.addEventListener("keydown", (e) => {
    if (e.target.closest && e.target.closest("#editor")) return;
    if (e.key === "p" || e.key === "P") document.body.classList.toggle("perform");
    if (e.key === "f" || e.key === "F") {
      if (document.fullscreenElement) document.exitFullscreen();
      else document.documentElement.requestFullscreen().catch(() => {});
    }
  });
  canvas.addEventListener("dblclick", () => document.documentElement.requestFullscreen().catch(() => {}));
})();
