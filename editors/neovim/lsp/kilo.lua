-- nvim-lspconfig-style entry: with this folder on 'runtimepath', `vim.lsp.enable("kilo")` starts
-- kilo-lsp with these defaults (Neovim 0.11+). require("kilo").setup() adds commands on top.
return {
  cmd = { "kilo-lsp", "--stdio" },
  -- Neovim files every stderr line as an error: the sidecar keeps all but errors off stderr (its log
  -- still reaches :LspLog as window/logMessage, with its levels)
  cmd_env = { KILO_STDERR_LEVEL = "error" },
  root_markers = { ".git", "pyproject.toml", "package.json", "go.mod", "Cargo.toml" },
  init_options = { editorPluginInfo = { name = "kilo-lsp-nvim", version = "0.1.0" } },
  settings = { kilo = vim.empty_dict() },
}
