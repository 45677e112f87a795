-- Settings the user did not set are not sent, so the user config file's dial holds; :KiloDashboard
-- opens the dashboard the real sidecar serves. Headless Neovim 0.11 against the real sidecar, with
-- a user config file (dial "bar") written by the test before the sidecar starts. Same output format
-- as plugin.lua: one JSON line per check, screens, and a summary; exits 1 when a check fails. The
-- dashboard's URL is never printed (it holds a token): the checks say what was fetched.
--
--   KILO_PYTHON=python XDG_CONFIG_HOME=... nvim --headless --clean -u NONE -l editors/neovim/tests/dashboard.lua
local here = vim.fn.fnamemodify(debug.getinfo(1, "S").source:sub(2), ":p:h")

local report = dofile(here .. "/report.lua")
local out, check, finish = report.out, report.check, report.finish

local messages = report.capture_notify()
local python = os.getenv("KILO_PYTHON") or "python3"

-- the user config file, as `kilo-lsp dashboard` writes it: the dial set to bar
local config_dir = (os.getenv("XDG_CONFIG_HOME") or (os.getenv("HOME") .. "/.config")) .. "/kilo-lsp"
vim.fn.mkdir(config_dir, "p")
vim.fn.writefile({ "[routing]", 'dial = "bar"' }, config_dir .. "/config.toml")

vim.lsp.log.set_level("debug") -- the URL's token must not reach the LSP log even at debug level
local kilo = require("kilo")
kilo.server_poll_ms = 300 -- asked again this often while nothing is callable (10 s for users)
local status_asked = 0
local server_status = kilo.server_status
kilo.server_status = function(...) status_asked = status_asked + 1; return server_status(...) end
kilo.setup({ python = python, root_markers = { "kilo-test-root" }, conversation_id = "nvim-dashboard-test" })
local client = report.open_workspace(kilo, "app.py", { "def total(xs):", "    return sum(xs)" })

-- 0. no key, no local server: the statusline says nothing can be called, and the plugin keeps asking
vim.wait(3000, function() return status_asked >= 3 end, 50)
check("the statusline says when no model is callable", kilo.statusline() == "kilo: no model callable · $0.00 today",
  kilo.statusline())
check("while nothing is callable kilo/serverStatus is asked again", status_asked >= 3, status_asked)

-- 1. nothing set in the editor: no dial, no tier is sent, neither at start nor when asked
check("an unset dial is not in initializationOptions", client.config.init_options.routing == nil,
  client.config.init_options)
local answered = vim.lsp.handlers["workspace/configuration"](nil, { items = { { section = "kilo" } } },
  { client_id = client.id })
check("an unset dial is not in the answer to workspace/configuration", type(answered) == "table"
  and vim.json.encode(answered[1]) == "{}", answered)
vim.wait(500)
local card = kilo.route("fix the off-by-one in the pagination loop")
check("the dial in the user config file is the one the card says", card and card.dial == "bar", card and card.dial)

-- 2. a dial set in the editor wins over the file; removed, the file's holds again
vim.cmd("KiloDial bill")
vim.wait(300)
card = kilo.route("fix the off-by-one in the pagination loop")
check(":KiloDial bill wins over the file", card and card.dial == "bill", card and card.dial)
kilo.set("routing.dial", nil)
vim.wait(300)
card = kilo.route("fix the off-by-one in the pagination loop")
check("a dial removed in the editor is not sent: the file's holds again", card and card.dial == "bar"
  and vim.json.encode(client.settings.kilo) == "{}", { dial = card and card.dial, settings = client.settings.kilo })

-- 3. :KiloDashboard opens the URL the sidecar answers with vim.ui.open
local opened = {}
vim.ui.open = function(url) table.insert(opened, url); return { wait = function() end } end
vim.cmd("KiloDashboard leaderboard")
local url = opened[1]
check(":KiloDashboard leaderboard opens a loopback URL with a token", url ~= nil
  and url:match("^http://127%.0%.0%.1:%d+/leaderboard%?token=[%w_-]+$") ~= nil)
if not url then finish() end

--- The HTTP status of a GET (a real request, from the test's Python).
local function status_of(u)
  local r = vim.system({ python, "-c", [[
import sys, urllib.request, urllib.error
try:
    print(urllib.request.urlopen(sys.argv[1], timeout=10).status)
except urllib.error.HTTPError as e:
    print(e.code)
]], u }, { text = true }):wait(20000)
  return tonumber(vim.trim(r.stdout or ""))
end
check("the dashboard answers 200 with the token", status_of(url) == 200)
local bare = url:gsub("%?token=[%w_-]+$", "")
local refused = status_of(bare)
check("the dashboard refuses a request without the token", refused == 403 or refused == 401, refused)

-- decisions of the chat shown: before it asked anything, the workspace's list; after, its own
local chats = require("kilo.chat")
local chat = chats.new()
chats.show(chat, true)
vim.cmd("KiloDashboard decisions")
local list_status = opened[2] and status_of(opened[2])
check(":KiloDashboard decisions from a chat that asked nothing opens the workspace's decisions", opened[2] ~= nil
  and opened[2]:find("/decisions?", 1, true) ~= nil and opened[2]:find("conversation=", 1, true) == nil
  and list_status == 200, list_status)
-- a decision of the chat's conversation (a route that is not a preview is kept), as an answer leaves one
local decided = kilo.request_sync("kilo/route", { text = "fix the off-by-one in the pagination loop",
  conversationId = chat.conversation_id, workspaceUri = kilo.workspace_uri() })
table.insert(chat.turns, { role = "user", content = "fix the off-by-one in the pagination loop" })
table.insert(chat.turns, { role = "assistant", content = "(answered)" })
local decisions_status
vim.wait(5000, function()
  vim.cmd("KiloDashboard decisions")
  decisions_status = status_of(opened[#opened])
  return decisions_status == 200
end, 200)
check(":KiloDashboard decisions from a chat opens that conversation's decisions", decided ~= nil
  and opened[3]:find("/decisions?", 1, true) ~= nil
  and opened[3]:find("conversation=" .. chat.conversation_id, 1, true) ~= nil)
check("the conversation's decisions page answers 200", decisions_status == 200, decisions_status)
vim.cmd("close")

-- an unknown page is said, not sent
report.clear_messages()
vim.cmd("KiloDashboard graphs")
check(":KiloDashboard refuses an unknown page", #messages == 1 and messages[1].level == vim.log.levels.ERROR
  and messages[1].msg:find("no dashboard page 'graphs'", 1, true) ~= nil, messages[1])
check(":KiloDashboard completes the pages", vim.deep_equal(vim.fn.getcompletion("KiloDashboard l", "cmdline"),
  { "leaderboard" }))

-- 4. no browser: the URL is shown in a float to copy, not put in :messages
vim.ui.open = function() return nil, "vim.ui.open: no handler found" end
report.clear_messages()
vim.cmd("KiloDashboard")
local win = vim.api.nvim_get_current_win()
local shown = vim.api.nvim_win_get_config(win).relative ~= "" and vim.api.nvim_buf_get_lines(0, 0, -1, false) or {}
local in_float = shown[#shown] or ""
check("without a browser the URL is shown in a float", in_float:match("^http://127%.0%.0%.1:%d+/%?token=") ~= nil)
check("and it is not in the messages", not vim.iter(messages):any(function(m) return m.msg:find("token=", 1, true) end))
if #shown > 0 then vim.cmd("close") end

-- 5. the token is in no log: Neovim's LSP log (at debug level) and the sidecar's log messages
local token = url:match("token=([%w_-]+)")
local log_text = table.concat(vim.fn.readfile(vim.lsp.get_log_path()), "\n")
check("the URL's token is not in Neovim's LSP log", log_text:find(token, 1, true) == nil
  and log_text:find("kilo/route", 1, true) ~= nil) -- it is at debug level: the routes above are in it

client:stop()
vim.wait(3000, function() return client:is_stopped() end, 20)
finish()
