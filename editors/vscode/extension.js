// The gencode extension: the TextMate grammar colours .gen files; this thin client starts
// `gencode lsp` (the command is the `gencode.server.command` setting) for everything else.
"use strict";

const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const [command, ...args] = vscode.workspace
    .getConfiguration("gencode")
    .get("server.command", ["gencode", "lsp"]);
  client = new LanguageClient(
    "gencode",
    "gencode",
    { command, args },
    { documentSelector: [{ scheme: "file", language: "gencode" }, { scheme: "untitled", language: "gencode" }] }
  );
  context.subscriptions.push(client);
  client.start().catch((err) => {
    vscode.window.showErrorMessage(
      `gencode: could not start '${command} ${args.join(" ")}' (${err.message}). ` +
        "Install it with: pip install 'gencode[lsp]', or set gencode.server.command."
    );
  });
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
