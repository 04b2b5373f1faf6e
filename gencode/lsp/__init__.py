"""The language server (`gencode lsp`): gencode's checker, docs and formatter in any editor.

Modules: `analysis` (text → AST, diagnostics and names, torch-free and without pygls), one module
per feature (`hover`, `completion`, `navigation`, `semantic`), and `server` (pygls wiring over
stdio). Needs the `lsp` extra: pip install 'gencode[lsp]'.
"""
