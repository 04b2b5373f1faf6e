// Completion from the checker's tables (/api/words): ops, settings, keywords, samplers, signals
// and math outside strings; the current model's prompt words inside a string.
function option(label, type, info) {
  return info ? { label, type, info } : { label, type };
}

export function completions(words) {
  const code = [
    ...words.ops.map((o) => option(o.name, "function", o.doc)),
    ...words.settings.map((s) => option(s, "keyword")),
    ...words.statements.map((s) => option(s, "keyword")),
    ...words.keywords.map((k) => option(k, "property")),
    ...words.samplers.map((s) => option(s, "enum", "sampler")),
    ...words.symbols.map((s) => option(s, "enum")),
    ...words.functions.map((f) => option(f, "function", "math")),
    ...words.variables.map((v) => option(v, "variable")),
    ...words.signals.map((s) => option(s.name, "variable", s.doc)),
  ];
  const unique = [...new Map(code.map((o) => [o.label, o])).values()];
  const prompt = words.prompt_words.map((w) => option(w, "text", "the model knows this word"));
  return (context) => {
    const line = context.state.doc.lineAt(context.pos);
    const before = line.text.slice(0, context.pos - line.from);
    const inString = (before.replace(/\\./g, "").match(/"/g) || []).length % 2 === 1;
    if (before.includes("#") && !inString) return null;
    const word = context.matchBefore(inString ? /[a-z]*/ : /[\w.]*/);
    if (!word || (word.from === word.to && !context.explicit)) return null;
    return { from: word.from, options: inString ? prompt : unique, validFor: /^[\w.]*$/ };
  };
}
