-- :KiloAsk end to end in headless Neovim 0.11: the plugin, the real sidecar and a real local model
-- server (an OpenAI-compatible URL in KILO_TEST_LLM_URL, given to the plugin as `local.endpoints`,
-- tier "free"). One answer streams to the end; a second is cancelled mid-stream with <C-c>
-- ($/cancelRequest) and the sidecar's -32800 is checked in the LSP log. Same output format as
-- plugin.lua: one JSON line per check, screens, and a summary; exits 1 when a check fails.
--
--   KILO_PYTHON=python KILO_LOCAL_DISCOVER=1 KILO_TEST_LLM_URL=http://127.0.0.1:PORT/v1 \
--     nvim --headless --clean -u NONE -l editors/neovim/tests/ask.lua
local here = vim.fn.fnamemodify(debug.getinfo(1, "S").source:sub(2), ":p:h")

local report = dofile(here .. "/report.lua")
local out, check, finish = report.out, report.check, report.finish

local messages = report.capture_notify()

local url = os.getenv("KILO_TEST_LLM_URL")
if not url or url == "" then
  check("KILO_TEST_LLM_URL names the local model server", false)
  finish()
end

local kilo = require("kilo")
kilo.setup({
  python = os.getenv("KILO_PYTHON") or "python3", root_markers = { "kilo-test-root" },
  conversation_id = "nvim-ask-test",
  settings = { routing = { tier = "free" }, ["local"] = { endpoints = { url }, ollamaUrl = "", lmstudioUrl = "" } },
  complete = { maxTokens = 24, temperature = 0 },
})
local work = vim.fn.tempname()
vim.fn.mkdir(work, "p")
vim.fn.writefile({}, work .. "/kilo-test-root")
vim.fn.writefile({ "def total(xs):", "    return sum(xs)" }, work .. "/app.py")
vim.cmd("edit " .. vim.fn.fnameescape(work .. "/app.py"))
local t0 = vim.uv.hrtime()
local function ms() return math.floor((vim.uv.hrtime() - t0) / 1e6) end
local started = vim.wait(20000, function() local c = kilo.client(); return c ~= nil and c.initialized end, 20)
check("sidecar starts through vim.lsp.enable", started)
if not started then finish() end
local client = kilo.client()
check("the sidecar offers kilo/complete", kilo.supports("kilo/complete"))

-- the local server is probed after `initialized`: wait until the router can call it
local routed
local callable = vim.wait(30000, function()
  routed = kilo.route("What is 2+2?", { dryRun = true })
  return routed ~= nil and routed.callable == true
end, 200)
check("the local model from the plugin's local.endpoints is callable (tier free)", callable,
  routed and (routed.model .. " " .. routed.reasonCode))
if not callable then finish() end
out({ timing = "callable", ms = ms() })

-- 1. an answer streams into the scratch buffer, and the result matches the chunks
local ask_win = vim.api.nvim_get_current_win()
vim.cmd("KiloAsk Say hello in five words.")
local s1 = kilo.state.last_stream
check(":KiloAsk opens a chat split for the stream", s1 ~= nil and vim.api.nvim_get_current_buf() == s1.chat.buf)
local t1 = vim.uv.hrtime()
local done = vim.wait(60000, function() return s1.done end, 10)
out({ timing = "first answer", ms = math.floor((vim.uv.hrtime() - t1) / 1e6), chunks = #s1.chunks })
check(":KiloAsk answer completes", done and s1.outcome == "done", s1.outcome or (s1.err and s1.err.message))
local r = s1.result or {}
local streamed = table.concat(s1.chunks)
check("kilo/chunk notifications arrived for the stream", #s1.chunks >= 2 and s1.seq == #s1.chunks - 1,
  { chunks = #s1.chunks, seq = s1.seq })
check("final text equals the concatenated chunks", streamed ~= "" and r.text == streamed, { text = r.text, chunks = streamed })
check("chunks name the model that answered", s1.model ~= nil and s1.model == r.model, { chunk = s1.model, result = r.model })
-- the chat: the question, what it is about, a blank line, the answer, a blank line, the footer, a blank line
local lines1 = vim.api.nvim_buf_get_lines(s1.chat.buf, 0, -1, false)
local body1 = table.concat(vim.list_slice(lines1, 4, #lines1 - 3), "\n")
check("the chat names the file asked about", lines1[1] == "> Say hello in five words." and lines1[2] == "> [app.py]", lines1)
check("the buffer holds the streamed text once", body1 == streamed, { buffer = body1 })
local footer1 = lines1[#lines1 - 1]
check("the footer names the model and the cost", footer1:find("-- " .. r.model .. " via ", 1, true) == 1
  and footer1:find("$0.0000", 1, true) ~= nil, footer1)
check("the answer's decision becomes the last card", kilo.state.last_card and kilo.state.last_card.decisionId == r.decisionId)
out({ screen = ":KiloAsk Say hello in five words.", lines = lines1, ttftMs = r.ttftMs, totalMs = r.totalMs,
  usage = r.usage })
vim.cmd("close")
vim.api.nvim_set_current_win(ask_win)

-- 2. a long answer, cancelled with <C-c> after a few chunks
vim.lsp.log.set_level("debug") -- Neovim logs the server's -32800 ("Received cancellation ack"), nothing else sees it
kilo.state.opts.complete = { maxTokens = 400, temperature = 0 }
report.clear_messages()
vim.cmd("KiloNew Write a long story about a robot who learns to paint, in at least twenty sentences.")
local s2 = kilo.state.last_stream
local got = vim.wait(60000, function() return #s2.chunks >= 3 or s2.done end, 5)
check("the second answer is streaming", got and not s2.done and #s2.chunks >= 3, { chunks = #s2.chunks, outcome = s2.outcome })
local at_cancel = #s2.chunks
local tc = vim.uv.hrtime()
vim.api.nvim_feedkeys(vim.api.nvim_replace_termcodes("<C-c>", true, false, true), "x", false)
vim.wait(10000, function() return s2.done end, 5)
out({ timing = "cancel acknowledged", ms = math.floor((vim.uv.hrtime() - tc) / 1e6), chunks_at_cancel = at_cancel,
  chunks = #s2.chunks })
check("<C-c> cancels: the stream ends as cancelled", s2.done and s2.outcome == "cancelled", s2.outcome)
check("the sidecar acknowledged the cancel (request completed without a result)", s2.acknowledged == true)
check("no result arrived for the cancelled request", s2.result == nil and s2.err == nil)
local ack
for _, line in ipairs(vim.fn.readfile(vim.lsp.get_log_path())) do
  if line:find("Received cancellation ack", 1, true) and line:find("id = " .. s2.request_id .. ",", 1, true) then
    ack = line:match("code = (%-?%d+)")
  end
end
check("the sidecar answered the cancelled request with -32800", ack == "-32800", ack)
check("the plugin reports the cancel", #messages >= 1 and messages[#messages].msg:find("cancelled", 1, true) ~= nil,
  messages[#messages] and messages[#messages].msg)
local lines2 = vim.api.nvim_buf_get_lines(s2.chat.buf, 0, -1, false)
local body2 = table.concat(vim.list_slice(lines2, 4, #lines2 - 3), "\n")
check("the buffer keeps the partial text", #s2.chunks >= 3 and body2 == table.concat(s2.chunks)
  and lines2[#lines2 - 1] == "(cancelled)", { buffer = body2, last = lines2[#lines2 - 1] })
check(":KiloNew asked in a chat of its own", s2.chat ~= s1.chat and s2.params.turns == nil)
vim.wait(1000) -- late chunks of the cancelled stream, if any, must not show up
check("nothing is added after the cancel", #vim.api.nvim_buf_get_lines(s2.chat.buf, 0, -1, false) == #lines2)
out({ screen = ":KiloAsk (cancelled)", lines = lines2 })

client:stop()
vim.wait(3000, function() return client:is_stopped() end, 20)
finish()
