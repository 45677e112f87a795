-- A sidecar that is not installed, or that dies at start, in headless Neovim 0.11: said once, with
-- what to do (:KiloInstall, :checkhealth kilo), however many files are opened; the commands say the
-- same instead of failing. Same output as plugin.lua.
--
--   KILO_PYTHON=python nvim --headless --clean -u NONE -l editors/neovim/tests/missing.lua
local here = vim.fn.fnamemodify(debug.getinfo(1, "S").source:sub(2), ":p:h")

local report = dofile(here .. "/report.lua")
local out, check, finish = report.out, report.check, report.finish

local messages = report.capture_notify()
local count = report.count

vim.cmd("filetype on")
local work = vim.fn.tempname()
vim.fn.mkdir(work, "p")
vim.fn.writefile({}, work .. "/kilo-test-root")
for _, name in ipairs({ "a.py", "b.py", "c.lua" }) do vim.fn.writefile({ "x = 1" }, work .. "/" .. name) end

-- 1. not installed: no kilo-lsp on PATH, none made by :KiloInstall (XDG_DATA_HOME is empty)
local kilo = require("kilo")
local cmd, found = kilo.command({})
check("without an install the command is not found", not found and cmd[1] == "kilo-lsp", cmd)
kilo.setup({ root_markers = { "kilo-test-root" } })
for _, name in ipairs({ "a.py", "b.py", "c.lua" }) do vim.cmd("edit " .. vim.fn.fnameescape(work .. "/" .. name)) end
vim.wait(500)
check("a missing sidecar is said once, with :KiloInstall", count("not found") == 1
  and messages[1].level == vim.log.levels.ERROR and messages[1].msg:find(":KiloInstall", 1, true) ~= nil, messages)
check("nothing was started", #vim.lsp.get_clients({ name = "kilo" }) == 0)
report.clear_messages()
vim.cmd("KiloAsk what does x do?")
check(":KiloAsk says to run :KiloInstall", #messages == 1 and messages[1].msg:find("run :KiloInstall", 1, true) ~= nil,
  messages[1])
vim.cmd("checkhealth kilo")
local health = table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), "\n")
check(":checkhealth kilo says to run :KiloInstall", health:find("Run :KiloInstall", 1, true) ~= nil, health)
out({ screen = ":checkhealth kilo (not installed)", lines = vim.api.nvim_buf_get_lines(0, 0, -1, false) })
vim.cmd("bwipeout")

-- 2. a sidecar that dies at start: said once, with what to do, whatever is opened next
report.clear_messages()
local python = os.getenv("KILO_PYTHON") or "python3"
kilo.setup({ root_markers = { "kilo-test-root" },
  cmd = { python, "-c", "import sys; sys.stderr.write('kilo-lsp: cannot start\\n'); sys.exit(3)" } })
vim.cmd("edit " .. vim.fn.fnameescape(work .. "/a.py"))
vim.cmd("edit " .. vim.fn.fnameescape(work .. "/b.py"))
vim.wait(5000, function() return count("kilo-lsp stopped") > 0 end, 20)
vim.cmd("edit " .. vim.fn.fnameescape(work .. "/c.lua"))
vim.wait(1500)
check("a sidecar that dies is said once", count("kilo-lsp stopped") == 1, messages)
local stopped = vim.tbl_filter(function(m) return m.msg:find("kilo-lsp stopped", 1, true) ~= nil end, messages)[1]
check("... with its exit code and what to do", stopped and stopped.msg:find("exit code 3", 1, true) ~= nil
  and stopped.msg:find(":checkhealth kilo", 1, true) ~= nil and stopped.msg:find(":KiloInstall", 1, true) ~= nil,
  stopped and stopped.msg)
finish()
