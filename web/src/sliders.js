// Alt+drag on a number: the number follows the mouse, each new value goes to the server at once
// (POST /api/number, the fast path that rebinds one literal), and the file is written on release.
import { syntaxTree } from "@codemirror/language";
import { EditorView } from "@codemirror/view";

const LITERAL = /(\d+\.\d+|\d+|\.\d+)/g;
const PIXELS_PER_STEP = 4;

// The number literal around `pos`: {from, to, text}, with a minus that is part of it (after a
// space or an opening bracket, as the grammar has it), or null.
export function numberAt(doc, pos) {
  const line = doc.lineAt(pos);
  for (const m of line.text.matchAll(LITERAL)) {
    let from = line.from + m.index;
    const to = from + m[0].length;
    const before = line.text.slice(0, m.index);
    if (/[A-Za-z_\d.]$/.test(before)) continue; // part of a name or a size like 64x64
    if (line.text[m.index + m[0].length] === "x" || line.text[m.index + m[0].length] === "b") continue;
    if (pos < from - 1 || pos > to) continue;
    if (/(^|[\s([{,:])-$/.test(before)) from -= 1;
    return { from, to, text: doc.sliceString(from, to), line: line.number, col: from - line.from + 1 };
  }
  return null;
}

function isNumberToken(state, num) {
  const digit = num.text.startsWith("-") ? num.from + 1 : num.from;
  return syntaxTree(state).resolveInner(digit, 1).name === "number";
}

function decimals(text) {
  const dot = text.indexOf(".");
  return dot < 0 ? 0 : text.length - dot - 1;
}

export function sliders(post) {
  return EditorView.domEventHandlers({
    mousedown(event, view) {
      if (!event.altKey || event.button !== 0) return false;
      const pos = view.posAtCoords({ x: event.clientX, y: event.clientY });
      const num = pos == null ? null : numberAt(view.state.doc, pos);
      if (!num || !isNumberToken(view.state, num)) return false; // not in a string or a comment
      event.preventDefault();
      drag(view, num, event.clientX, post);
      return true;
    },
  });
}

function drag(view, num, x0, post) {
  const places = decimals(num.text);
  const step = 10 ** -places;
  const start = Number(num.text);
  let range = { from: num.from, to: num.to };
  let text = num.text;
  view.dom.classList.add("gencode-dragging");
  const move = (e) => {
    const value = start + Math.round((e.clientX - x0) / PIXELS_PER_STEP) * step;
    const next = value.toFixed(places);
    if (next === text) return;
    view.dispatch({ changes: { ...range, insert: next } });
    range = { from: range.from, to: range.from + next.length };
    text = next;
    post({ line: num.line, col: num.col, value: Number(next), text: next, final: false });
  };
  const up = () => {
    window.removeEventListener("mousemove", move);
    window.removeEventListener("mouseup", up);
    view.dom.classList.remove("gencode-dragging");
    post({ line: num.line, col: num.col, value: Number(text), text, final: true });
  };
  window.addEventListener("mousemove", move);
  window.addEventListener("mouseup", up);
}
