-- The chat path end to end in headless Neovim 0.11, against the real sidecar and a scripted provider
-- (KILO_TEST_PROVIDER_URL: OpenRouter's base URL points there): no key at first, so :KiloAsk says
-- what to do; :KiloSetKey with the key typed at the prompt; :'<,'>KiloAsk on a multi-line
-- selection from the file the user is in (its language, selection and diagnostics reach the
-- sidecar); the next question from the chat continues the conversation (`turns`); a preview is a
-- dryRun; :KiloNew starts another conversation; the statusline and :KiloUsage show the spend the
-- server reports; a sidecar that dies is reported once. Same output as plugin.lua.
--
--   KILO_PYTHON=python KILO_TEST_KEY=sk-... nvim --headless --clean -u NONE -l editors/neovim/tests/chat.lua
local here = vim.fn.fnamemodify(debug.getinfo(1, "S").source:sub(2), ":p:h")

local report = dofile(here .. "/report.lua")
local out, check, finish = report.out, report.check, report.finish

local messages = report.capture_notify()
local said = report.said

vim.cmd("filetype on")
local kilo = require("kilo")
kilo.setup({ python = os.getenv("KILO_PYTHON") or "python3", root_markers = { "kilo-test-root" },
  complete = { maxTokens = 64 } })
local work = vim.fn.tempname()
vim.fn.mkdir(work, "p")
vim.fn.writefile({}, work .. "/kilo-test-root")
vim.fn.writefile({
  "def checkout(order, code=None):",
  "    total = sum(i.price for i in order.items)",
  "    return apply_discount(total, code)",
  "",
  "def apply_discount(total, code):",
  "    return total * (1 - CODES[code])",
}, work .. "/orders.py")
vim.cmd("edit " .. vim.fn.fnameescape(work .. "/orders.py"))
local src = vim.api.nvim_get_current_buf()
local started = vim.wait(20000, function() local c = kilo.client(); return c ~= nil and c.initialized end, 20)
check("sidecar starts", started)
if not started then finish() end
local client = kilo.client()
check("the plugin tells the sidecar its command names", client.config.init_options.editorCommands.setKey == ":KiloSetKey")
check("the sidecar is asked to keep INFO lines off stderr", client.config.cmd_env.KILO_STDERR_LEVEL == "error")
local ns = vim.api.nvim_create_namespace("kilo-test")
vim.diagnostic.set(ns, src, { { lnum = 5, col = 25, end_col = 36, severity = vim.diagnostic.severity.ERROR,
  message = "KeyError: None is not in CODES" } })

local function wait_done(stream, ms)
  return vim.wait(ms or 20000, function() return stream.done end, 10)
end

-- 1. no key yet: the error names :KiloSetKey, not a protocol method
vim.cmd("KiloAsk why does checkout fail?")
local s0 = kilo.state.last_stream
wait_done(s0)
check("without a key the answer is an error", s0.outcome == "error", s0.outcome)
local text0 = table.concat(vim.api.nvim_buf_get_lines(s0.chat.buf, 0, -1, false), "\n")
check("the error says to run :KiloSetKey", text0:find(":KiloSetKey", 1, true) ~= nil
  and text0:find("kilo/setCredentials", 1, true) == nil, text0)
out({ screen = ":KiloAsk without a key", lines = vim.api.nvim_buf_get_lines(s0.chat.buf, 0, -1, false) })
vim.cmd("close")
vim.api.nvim_set_current_buf(src)

-- 2. :KiloSetKey: the key is typed at a hidden prompt
local status = kilo.server_status()
check("the provider list comes from the server", status and #status.providers >= 10
  and vim.tbl_contains(vim.tbl_map(function(p) return p.name end, status.providers), "openrouter"))
local key = os.getenv("KILO_TEST_KEY")
vim.api.nvim_feedkeys(key .. "\r", "t", false)
vim.cmd("KiloSetKey openrouter")
local set = vim.wait(5000, function() return said("key for OpenRouter set") ~= nil end, 10)
check(":KiloSetKey sets the key (masked in the message)", set and not said(key), set and said("key for OpenRouter set").msg)
report.clear_messages()
-- 3. :'<,'>KiloAsk on lines 1-3 of orders.py
vim.cmd("normal! ggVjj\27")
vim.cmd("'<,'>KiloAsk why does this fail when no code is given?")
local s1 = kilo.state.last_stream
check("the chat opens in a split and has the focus", s1 and vim.api.nvim_get_current_buf() == s1.chat.buf)
wait_done(s1)
check("the answer completes", s1.outcome == "done", s1.outcome or (s1.err and s1.err.message))
local ctx = s1.params.context or {}
check("the context is the file the user was in", ctx.activeUri == vim.uri_from_bufnr(src) and ctx.languageId == "python",
  ctx)
check("the whole selection is sent", ctx.selection and ctx.selection.start.line == 0 and ctx.selection["end"].line == 3
  and ctx.selectedText and select(2, ctx.selectedText:gsub("\n", "")) == 3, ctx.selection)
check("the diagnostics are sent", ctx.diagnostics and ctx.diagnostics[1].message:find("KeyError", 1, true) ~= nil
  and ctx.diagnosticCounts.errors == 1)
check("the first question sends no turns", s1.params.turns == nil)
local chat = s1.chat
local lines1 = vim.api.nvim_buf_get_lines(chat.buf, 0, -1, false)
check("the chat shows the question, what it is about, the answer and the footer",
  lines1[1] == "> why does this fail when no code is given?" and lines1[2] == "> [orders.py, lines 1-3]"
  and table.concat(lines1, "\n"):find(s1.result.text, 1, true) ~= nil
  and table.concat(lines1, "\n"):find("-- " .. s1.result.model .. " via openrouter", 1, true) ~= nil, lines1)
out({ event = "first", conversationId = s1.result.card.conversationId, turn = s1.result.card.turn })

-- 4. a characterwise selection inside a line
vim.cmd("wincmd p")
check("back in the file", vim.api.nvim_get_current_buf() == src)
vim.cmd("normal! 6G12|v6G24|\27")
local range = { range = 2, line1 = 6, line2 = 6 }
local cctx = require("kilo.context").capture(src, range)
check("a characterwise selection keeps its columns", cctx.selection.start.character == 11
  and cctx.selection["end"].character == 24 and cctx.selectedText == "total * (1 - ", cctx.selectedText)

-- 5. the next question, asked from the chat, continues the conversation
vim.api.nvim_set_current_win(vim.fn.bufwinid(chat.buf))
vim.cmd("KiloAsk and how do I fix it?")
local s2 = kilo.state.last_stream
wait_done(s2)
check("the follow-up goes to the same chat", s2.chat == chat and s2.outcome == "done")
check("the follow-up sends the earlier turns", s2.params.turns and #s2.params.turns == 2
  and s2.params.turns[1].content == "why does this fail when no code is given?"
  and s2.params.turns[2].content == s1.result.text, s2.params.turns)
check("the follow-up keeps the file as context", s2.params.context and s2.params.context.activeUri == ctx.activeUri)
check("same conversation, turn 2", s2.result.card.conversationId == s1.result.card.conversationId
  and s2.result.card.turn == 2, s2.result.card.turn)

-- 6. a preview (dryRun) does not count as a turn
local preview = kilo.route("and add a test for it")
check("a preview is a dryRun of this chat", preview and preview.conversationId == chat.conversation_id
  and preview.turn == 3)
vim.cmd("KiloAsk add a test for it")
local s3 = kilo.state.last_stream
wait_done(s3)
check("after a preview the next question is still turn 3", s3.result and s3.result.card.turn == 3,
  s3.result and s3.result.card.turn)
out({ screen = "the chat after three questions", lines = vim.api.nvim_buf_get_lines(chat.buf, 0, -1, false) })

-- 7. :KiloNew: another conversation
vim.cmd("KiloNew what does apply_discount return?")
local s4 = kilo.state.last_stream
wait_done(s4)
check(":KiloNew starts another chat", s4.chat ~= chat and s4.chat.conversation_id ~= chat.conversation_id)
check("the new conversation has no turns and is turn 1", s4.params.turns == nil and s4.result.card.turn == 1)
check("the first chat keeps its text", #vim.api.nvim_buf_get_lines(chat.buf, 0, -1, false) >= #lines1)

-- 8. spend: statusline and :KiloUsage, from what the server reports
vim.wait(3000, function() return kilo.state.today and kilo.state.today.requests == 4 end, 20)
local today = kilo.state.today or {}
check("the statusline shows today's spend", kilo.statusline():find(string.format("$%.2f today", today.costUsd or -1), 1,
  true) ~= nil and kilo.statusline():find("^kilo: ") ~= nil, kilo.statusline())
vim.cmd("KiloUsage")
local win = vim.api.nvim_get_current_win()
local usage = vim.api.nvim_buf_get_lines(vim.api.nvim_win_get_buf(win), 0, -1, false)
check(":KiloUsage shows today's and all spend with savings", usage[1]:find("^Today") ~= nil
  and usage[1]:find(string.format("$%.4f spent · 4 requests", today.costUsd or -1), 1, true) ~= nil
  and usage[2]:find("^All time") ~= nil and usage[1]:find("saved", 1, true) ~= nil, usage)
out({ screen = ":KiloUsage", lines = usage })
vim.cmd("close")
out({ statusline = kilo.statusline(), today = today })

-- 9. the sidecar dies: said once, with what to do
report.clear_messages()
local pids = vim.api.nvim_get_proc_children(vim.fn.getpid())
check("the sidecar is a child of Neovim", #pids >= 1)
for _, pid in ipairs(pids) do vim.uv.kill(pid, "sigkill") end
vim.wait(5000, function() return said("kilo-lsp stopped") ~= nil end, 20)
vim.wait(300)
local stopped = vim.tbl_filter(function(m) return m.msg:find("kilo-lsp stopped", 1, true) ~= nil end, messages)
check("a dead sidecar is reported once, with what to do", #stopped == 1 and stopped[1].level == vim.log.levels.ERROR
  and stopped[1].msg:find(":LspRestart kilo", 1, true) ~= nil, stopped)
finish()
