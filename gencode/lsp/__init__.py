"""The language server (`gencode lsp`): gencode's checker, docs and formatter in any editor.

Input: an editor speaking LSP over stdio. Output: diagnostics, hovers, completions, definitions,
symbols, formatting and semantic tokens. Modules: `analysis` (text → AST and diagnostics, parsed
statement by statement), `context` (what surrounds the cursor), `docs` (Markdown from the
checker's tables), one module per feature (`hover`, `completion`, `navigation`, `semantic`),
`convert` (positions in the client's units) and `server` (the pygls wiring). Only `server`
imports pygls; nothing here imports torch. Needs the `lsp` extra: pip install '.[lsp]'.
"""
