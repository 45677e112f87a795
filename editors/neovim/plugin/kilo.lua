-- Nothing starts until require("kilo").setup() is called (or vim.lsp.enable("kilo") with lsp/kilo.lua).
if vim.g.loaded_kilo then return end
vim.g.loaded_kilo = true
