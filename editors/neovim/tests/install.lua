-- :KiloInstall in headless Neovim 0.11: with no kilo-lsp anywhere, the plugin says so once; then
-- :KiloInstall makes ~/.local/share/kilo-lsp/venv ($XDG_DATA_HOME) from the plugin's own checkout,
-- and the sidecar starts from there and answers. Then the blocking form a lazy.nvim `build` step
-- uses runs again (an upgrade). Same output as plugin.lua.
--
--   XDG_DATA_HOME=$(mktemp -d) nvim --headless --clean -u NONE -l editors/neovim/tests/install.lua
local here = vim.fn.fnamemodify(debug.getinfo(1, "S").source:sub(2), ":p:h")

local report = dofile(here .. "/report.lua")
local out, check, finish = report.out, report.check, report.finish

local messages = report.capture_notify()
local said = report.said

vim.cmd("filetype on")
local kilo = require("kilo")
local install = require("kilo.install")
check("the plugin finds its checkout", install.checkout() ~= nil and vim.fn.filereadable(install.checkout() .. "/pyproject.toml") == 1)
check("the environment goes to $XDG_DATA_HOME/kilo-lsp/venv", install.venv() == os.getenv("XDG_DATA_HOME") .. "/kilo-lsp/venv")
kilo.setup({ root_markers = { "kilo-test-root" } })
vim.wait(2000, function() return said(":KiloInstall") ~= nil end, 20) -- said once start-up is over
check("before the install the sidecar is missing, and :KiloInstall is named", said(":KiloInstall") ~= nil)

local t0 = vim.uv.hrtime()
local done
local run = install.run
install.run = function(opts)       -- the command's own callback, observed
  local on_done = opts.on_done
  opts.on_done = function(ok, msg) done = { ok = ok, msg = msg }; if on_done then on_done(ok, msg) end end
  return run(opts)
end
vim.cmd("KiloInstall")
vim.wait(10 * 60 * 1000, function() return done ~= nil end, 100)
install.run = run
local secs = math.floor((vim.uv.hrtime() - t0) / 1e6) / 1000
check(":KiloInstall succeeds", done and done.ok, done and done.msg)
out({ timing = ":KiloInstall", seconds = secs })
local progress = vim.tbl_filter(function(m) return m.msg:find("installing (", 1, true) ~= nil end, messages)
check(":KiloInstall shows its progress step by step", #progress == 4, vim.tbl_map(function(m) return m.msg end, progress))
local cmd, found = kilo.command()
check("the plugin now finds the installed sidecar", found and cmd[1] == install.command(), cmd)

local work = vim.fn.tempname()
vim.fn.mkdir(work, "p")
vim.fn.writefile({}, work .. "/kilo-test-root")
vim.fn.writefile({ "x = 1" }, work .. "/a.py")
vim.cmd("edit " .. vim.fn.fnameescape(work .. "/a.py"))
local started = vim.wait(30000, function() local c = kilo.client(); return c ~= nil and c.initialized end, 50)
check("the installed sidecar starts", started and kilo.client().config.cmd[1] == install.command(),
  started and kilo.client().config.cmd)
local card = started and kilo.route("rename x to y") or nil
check("... and answers", card ~= nil and card.model ~= nil)

-- lazy.nvim: build = function() require("kilo.install").run({ wait = true }) end
local ok = install.run({ wait = true })
check("the blocking form (a lazy.nvim build step) runs to the end", ok == true)
if kilo.client() then kilo.client():stop() end
finish()
