// gencode's syntax for CodeMirror: a stream tokenizer over the vocabulary the server sends
// (/api/words — the checker's own tables, so no list of names is copied here).
import { HighlightStyle, StreamLanguage, syntaxHighlighting } from "@codemirror/language";
import { tags as t } from "@lezer/highlight";

const NUMBER = /^(\d+x\d+|(\d+\.\d+|\d+)b(?!\w)|(\d+\.\d+|\d+|\.\d+)([eE][+-]?\d+)?)/;
const WORD = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?/;

export function gencodeLanguage(words) {
  const sets = {
    setting: new Set(words.settings),
    op: new Set(words.ops.map((o) => o.name)),
    keyword: new Set(words.keywords),
    statement: new Set(words.statements),
    fn: new Set(words.functions),
    variable: new Set(words.variables),
    signal: new Set(words.signals.map((s) => s.name)),
    symbol: new Set([...words.samplers, ...words.symbols]),
  };
  return StreamLanguage.define({
    name: "gencode",
    startState: () => ({ lineStart: true }),
    token(stream, state) {
      if (stream.sol()) state.lineStart = true;
      if (stream.eatSpace()) return null;
      const first = state.lineStart;
      state.lineStart = false;
      if (stream.match(/^#.*/)) return "comment";
      if (stream.match(/^"([^"\\\n]|\\.)*"?/)) return "string";
      if (stream.match(NUMBER)) return "number";
      if (stream.match(/^-(?=[\d.])/) && stream.match(NUMBER)) return "number";
      if (stream.eat(";")) {
        state.lineStart = true;
        return "punctuation";
      }
      const m = stream.match(WORD);
      if (m) return wordStyle(m[0], first, sets);
      if (stream.match(/^[-+*/=]/)) return "operator";
      if (stream.match(/^[{}()[\]:,]/)) return "bracket";
      stream.next();
      return null;
    },
    languageData: { commentTokens: { line: "#" } },
  });
}

function wordStyle(word, first, sets) {
  if (first && sets.setting.has(word)) return "keyword";
  if (sets.statement.has(word)) return "keyword";
  if (sets.signal.has(word) || word.includes(".")) return "variable-2";
  if (sets.op.has(word)) return "def";
  if (sets.fn.has(word)) return "builtin";
  if (sets.variable.has(word)) return "atom";
  if (sets.keyword.has(word) || sets.setting.has(word)) return "propertyName";
  if (sets.symbol.has(word)) return "atom";
  return "variableName";
}

export const gencodeHighlight = syntaxHighlighting(
  HighlightStyle.define([
    { tag: t.comment, color: "#7a8290", fontStyle: "italic" },
    { tag: t.string, color: "#e6c07b" },
    { tag: t.number, color: "#f0a45d" },
    { tag: t.keyword, color: "#c678dd", fontWeight: "bold" },
    { tag: t.definition(t.variableName), color: "#61afef", fontWeight: "bold" },
    { tag: t.propertyName, color: "#56b6c2" },
    { tag: t.standard(t.variableName), color: "#61afef" },
    { tag: t.atom, color: "#d19a66" },
    { tag: t.special(t.variableName), color: "#98c379", fontWeight: "bold" },
    { tag: t.operator, color: "#abb2bf" },
    { tag: t.variableName, color: "#e0e0e0" },
  ]),
);
