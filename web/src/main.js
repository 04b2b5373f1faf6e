// The code editor of gencode's live page: CodeMirror 6 over the script file.
// Ctrl+Enter writes the script (the server renames a temp file over it, so the file stays the
// source of truth); errors come back as diagnostics at line and column; completion and
// highlighting use the checker's own tables (/api/words); Alt+drag on a number is a slider;
// Ctrl+Shift+H hides the code. An edit made outside (another editor, git) replaces the text
// when the editor has no unsaved changes of its own.
import { autocompletion } from "@codemirror/autocomplete";
import { defaultKeymap, history, historyKeymap } from "@codemirror/commands";
import { bracketMatching } from "@codemirror/language";
import { linter, lintGutter, setDiagnostics } from "@codemirror/lint";
import { EditorState } from "@codemirror/state";
import { EditorView, drawSelection, highlightActiveLine, keymap, lineNumbers } from "@codemirror/view";
import { completions } from "./complete.js";
import { gencodeHighlight, gencodeLanguage } from "./mode.js";
import { sliders } from "./sliders.js";

const POLL_MS = 500; // how often the page looks for an edit made outside

async function api(path, body) {
  const init = body === undefined ? {} : { method: "POST", body: JSON.stringify(body), headers: { "Content-Type": "application/json" } };
  const reply = await fetch(path, init);
  const data = await reply.json().catch(() => ({ error: `${reply.status} ${reply.statusText}` }));
  if (!reply.ok) throw new Error(data.error || reply.statusText);
  return data;
}

// Server diagnostics ({line, col, end_line, end_col, severity, message}) → CodeMirror's.
function toDiagnostics(doc, list) {
  const at = (line, col) => {
    const l = doc.line(Math.min(Math.max(line, 1), doc.lines));
    return l.from + Math.min(Math.max(col - 1, 0), l.length);
  };
  return list.map((d) => {
    const from = at(d.line, d.col);
    let to = d.end_line ? at(d.end_line, d.end_col) : from;
    if (to <= from) to = Math.min(from + 1, doc.length);
    return { from, to, severity: d.severity, message: d.message };
  });
}

function latestOnly(send) {
  // One request in flight; while it is, only the newest waits (a final one always goes).
  let busy = false;
  let waiting = null;
  const pump = async () => {
    if (busy || !waiting) return;
    busy = true;
    const body = waiting;
    waiting = null;
    try {
      await send(body);
    } finally {
      busy = false;
      pump();
    }
  };
  return (body) => {
    if (!(waiting && waiting.final && !body.final)) waiting = body;
    pump();
  };
}

async function start(root) {
  const [words, source] = await Promise.all([api("/api/words"), api("/api/source")]);
  let saved = source.text; // the file's text as the editor last saw it
  let sha = source.sha;
  const note = document.createElement("div");
  note.className = "gencode-editor-note";
  const say = (text, bad = false) => {
    note.textContent = text;
    note.classList.toggle("bad", bad);
  };

  const evaluate = (view) => {
    const text = view.state.doc.toString();
    api("/api/eval", { text })
      .then((r) => {
        saved = text;
        sha = r.sha;
        view.dispatch(setDiagnostics(view.state, toDiagnostics(view.state.doc, r.diagnostics)));
        say(r.ok ? "evaluated" : "saved — it has errors; the last good program keeps playing", !r.ok);
        view.dom.classList.add("gencode-flash");
        setTimeout(() => view.dom.classList.remove("gencode-flash"), 250);
      })
      .catch((e) => say(`not saved: ${e.message}`, true));
    return true;
  };
  const postNumber = latestOnly((body) =>
    api("/api/number", body)
      .then((r) => {
        if (body.final) {
          saved = r.text ?? saved;
          sha = r.sha ?? sha;
        }
      })
      .catch((e) => say(`slider: ${e.message}`, true)),
  );
  const check = async (view) => {
    const r = await api("/api/check", { text: view.state.doc.toString() });
    return toDiagnostics(view.state.doc, r.diagnostics);
  };

  const view = new EditorView({
    parent: root,
    state: EditorState.create({
      doc: source.text,
      extensions: [
        lineNumbers(),
        history(),
        drawSelection(),
        highlightActiveLine(),
        bracketMatching(),
        gencodeLanguage(words),
        gencodeHighlight,
        autocompletion({ override: [completions(words)] }),
        linter(check, { delay: 400 }),
        lintGutter(),
        sliders(postNumber),
        keymap.of([
          { key: "Mod-Enter", run: evaluate, preventDefault: true },
          { key: "Escape", run: (v) => (v.contentDOM.blur(), true) },
          ...defaultKeymap,
          ...historyKeymap,
        ]),
        EditorView.lineWrapping,
        EditorView.theme({}, { dark: true }),
      ],
    }),
  });
  view.dispatch(setDiagnostics(view.state, toDiagnostics(view.state.doc, source.diagnostics)));
  root.append(note);
  // Keys typed into the editor are the editor's: the page's own shortcuts (P, F) must not fire.
  root.addEventListener("keydown", (e) => e.stopPropagation());

  setInterval(async () => {
    let r;
    try {
      r = await api(`/api/source?sha=${sha}`);
    } catch {
      return;
    }
    if (r.same) return;
    sha = r.sha;
    if (view.state.doc.toString() === r.text) {
      saved = r.text; // our own write (a slider's release), seen before its reply
      return;
    }
    if (view.state.doc.toString() !== saved) {
      say("the file changed outside; your unsaved edits are kept (Ctrl+Enter overwrites it)", true);
      saved = r.text;
      return;
    }
    saved = r.text;
    view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: r.text } });
    view.dispatch(setDiagnostics(view.state, toDiagnostics(view.state.doc, r.diagnostics)));
    say("reloaded: the file changed outside");
  }, POLL_MS);
  return view;
}

function toggleCode() {
  document.body.classList.toggle("code-hidden");
}

document.addEventListener(
  "keydown",
  (e) => {
    if ((e.ctrlKey || e.metaKey) && e.shiftKey && e.key.toLowerCase() === "h") {
      e.preventDefault();
      e.stopPropagation();
      toggleCode();
    }
  },
  true,
);

const root = document.getElementById("editor");
if (root) {
  document.body.classList.add("has-editor");
  window.gencodeEditor = start(root).then((view) => {
    window.gencodeEditor = { view };
    return view;
  });
}
