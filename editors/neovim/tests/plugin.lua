-- The kilo Neovim plugin end to end in headless Neovim 0.11, against the real sidecar:
-- :KiloRoute, :KiloExplain, :KiloTier, :KiloPin, :KiloUsage, :KiloAsk, the statusline and
-- :checkhealth kilo. Prints one JSON line per check ({"check","ok","detail"}) and the text a user
-- would see ({"screen": name, "lines": [...]}); exits 1 when a check fails.
--
--   KILO_PYTHON=python nvim --headless --clean -u NONE -l editors/neovim/tests/plugin.lua
local here = vim.fn.fnamemodify(debug.getinfo(1, "S").source:sub(2), ":p:h")

local report = dofile(here .. "/report.lua")
local out, check, finish = report.out, report.check, report.finish

local messages = report.capture_notify()

vim.cmd("filetype on")
vim.lsp.log.set_level("info")
local kilo = require("kilo")
-- a bad setting next to a good one: the sidecar rejects only the bad value and says so
kilo.setup({ python = os.getenv("KILO_PYTHON") or "python3", root_markers = { "kilo-test-root" },
  conversation_id = "nvim-plugin-test", settings = { routing = { dial = "fast", pin = "" } } })
local client = report.open_workspace(kilo, "app.py", { "def total(xs):", "    return sum(xs)" })
check("client is attached to the buffer", vim.wait(5000, function() return vim.lsp.buf_is_attached(0, client.id) end, 20))
check("plugin info reaches the server", client.config.init_options.editorPluginInfo.name == "kilo-lsp-nvim")

-- the rejected setting is shown as a warning (window/showMessage), and logged as WARN, not ERROR
vim.wait(5000, function()
  for _, m in ipairs(messages) do if m.msg:find("routing.dial", 1, true) then return true end end
end, 20)
local warned
for _, m in ipairs(messages) do if m.msg:find("routing.dial", 1, true) then warned = m end end
check("a rejected setting is shown as a warning naming the value", warned and warned.level == vim.log.levels.WARN
  and warned.msg:find("'fast'", 1, true) ~= nil and warned.msg:find("keeping 'bill'", 1, true) ~= nil, warned)
vim.wait(300)
local log_warn, log_error = false, false
for _, line in ipairs(vim.fn.readfile(vim.lsp.get_log_path())) do
  if line:find("routing.dial", 1, true) then
    if line:find("^%[WARN%]") then log_warn = true end
    if line:find("^%[ERROR%]") then log_error = true end
  end
end
check("Neovim's LSP log files the sidecar's warning as WARN, never as ERROR", log_warn and not log_error,
  { warn = log_warn, error = log_error })
check("statusline before any answer", kilo.statusline():find("^kilo") ~= nil, kilo.statusline())

local function float_lines()
  local win = vim.api.nvim_get_current_win()
  local cfg = vim.api.nvim_win_get_config(win)
  if cfg.relative == "" then return nil end
  local lines = vim.api.nvim_buf_get_lines(vim.api.nvim_win_get_buf(win), 0, -1, false)
  vim.cmd("close")
  return lines
end

-- :KiloRoute shows the decision card in a float; it is a preview (dryRun): no kilo/status
local status_before = kilo.state.status
vim.cmd("KiloRoute rename total to sum_all in app.py")
local lines = float_lines()
check(":KiloRoute opens a float with the card", lines ~= nil and lines[1]:match("^Model ") ~= nil, lines and lines[1])
if lines then out({ screen = ":KiloRoute rename total to sum_all in app.py", lines = lines }) end
check("card names the task", lines ~= nil and table.concat(lines, "\n"):find("small_edit", 1, true) ~= nil)
vim.wait(300)
check("a preview changes no session (no kilo/status)", kilo.state.status == status_before)
local first = kilo.state.last_card
check("a preview is turn 1 of the conversation, again and again", first.turn == 1
  and kilo.route("rename total to sum_all in app.py").turn == 1)

-- :KiloExplain: a preview leaves no decision in the session
vim.cmd("KiloExplain")
lines = float_lines()
check(":KiloExplain: previews are not decisions of the session", lines ~= nil and lines[1] == "No decision yet in this session.",
  lines)

-- :KiloTier changes the setting on the server (workspace/didChangeConfiguration)
vim.cmd("KiloTier frontier")
vim.wait(300)
local card = kilo.route("fix the off-by-one in the pagination loop")
check(":KiloTier frontier reaches the server", card and card.tier == "frontier" and card.reasonCode == "tier_frontier",
  card and (card.tier .. " " .. card.reasonCode))
report.clear_messages()
vim.cmd("KiloTier gold")
check(":KiloTier checks the tier against the server's", #messages == 1 and messages[1].level == vim.log.levels.ERROR
  and messages[1].msg:find("unknown tier 'gold'", 1, true) ~= nil, messages[1])
check("a tier the server refuses is not sent", kilo.state.opts.settings.routing.tier == "frontier")
check(":KiloTier completes from the server's tiers",
  vim.deep_equal(vim.fn.getcompletion("KiloTier f", "cmdline"), { "frontier", "free" }),
  vim.fn.getcompletion("KiloTier f", "cmdline"))
vim.cmd("KiloTier efficient")
check(":KiloDial completes from the server's dials", vim.deep_equal(vim.fn.getcompletion("KiloDial b", "cmdline"),
  { "bill", "bar" }), vim.fn.getcompletion("KiloDial b", "cmdline"))

-- :KiloPin / :KiloPin!, checked against the models the server knows
vim.cmd("KiloPin gpt-5-mini")
vim.wait(300)
card = kilo.route("fix the off-by-one in the pagination loop")
check(":KiloPin pins the model", card and card.model == "gpt-5-mini" and card.reasonCode == "pinned", card and card.model)
report.clear_messages()
vim.cmd("KiloPin gpt-5-mni")
check(":KiloPin refuses a model the server does not know", #messages == 1 and messages[1].msg:find("unknown model", 1, true) ~= nil,
  messages[1])
check(":KiloPin completes model ids from the server", vim.tbl_contains(vim.fn.getcompletion("KiloPin gpt-5", "cmdline"),
  "gpt-5-mini"))
vim.cmd("KiloPin!")
vim.wait(300)
card = kilo.route("fix the off-by-one in the pagination loop")
check(":KiloPin! unpins", card and card.reasonCode ~= "pinned", card and card.reasonCode)

-- an error from the server is shown, never swallowed
local _, err = kilo.request_sync("kilo/route", { text = 5 })
check("bad params come back as -32602 naming the field", err and err.code == -32602 and err.message:find("text", 1, true) ~= nil,
  err and err.message)

-- :KiloUsage: nothing spent yet, said with the server's own figures
vim.cmd("KiloUsage")
lines = float_lines()
check(":KiloUsage shows today's and all spend", lines ~= nil and lines[1]:find("^Today +%$0%.0000 spent · 0 requests") ~= nil
  and lines[2]:find("^All time") ~= nil, lines)
if lines then out({ screen = ":KiloUsage", lines = lines }) end
check("the statusline shows today's spend", kilo.statusline():find("$0.00 today", 1, true) ~= nil, kilo.statusline())

-- :checkhealth kilo
vim.cmd("checkhealth kilo")
local report = vim.api.nvim_buf_get_lines(0, 0, -1, false)
local text = table.concat(report, "\n")
check(":checkhealth kilo finds the server and its version", text:find("OK kilo%-lsp %d+%.%d+%.%d+") ~= nil, text)
check(":checkhealth kilo sees it running", text:find("running: protocol", 1, true) ~= nil)
check(":checkhealth kilo lists the settings problems", text:find("setting ignored", 1, true) ~= nil
  and text:find("routing.dial", 1, true) ~= nil)
check(":checkhealth kilo says how to get a callable model", text:find(":KiloSetKey", 1, true) ~= nil)
out({ screen = ":checkhealth kilo", lines = report })

client:stop()
vim.wait(3000, function() return client:is_stopped() end, 20)
finish()
