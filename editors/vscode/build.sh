#!/usr/bin/env bash
# The VS Code extension: test the TextMate grammar on the annotated snippets in tests/, then
# build gencode.vsix. Needs node and npm; CI runs it (.ci/run). Install the result with:
#   code --install-extension editors/vscode/gencode.vsix
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund --loglevel=error
npm test
npm run package
