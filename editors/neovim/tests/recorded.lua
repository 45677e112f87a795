-- The plugin's formatting fed with what the real sidecar answered (editors/recorded/*.json, written
-- by tests/test_recorded_responses.py): the decision card, the chat footer, :KiloUsage and the
-- statusline show the fields the server sends, with their values. Same output as plugin.lua.
--
--   nvim --headless --clean -u NONE -l editors/neovim/tests/recorded.lua
local here = vim.fn.fnamemodify(debug.getinfo(1, "S").source:sub(2), ":p:h")
local recorded = vim.fn.fnamemodify(here, ":h:h") .. "/recorded/"

local report = dofile(here .. "/report.lua")
local out, check, finish = report.out, report.check, report.finish
local card = require("kilo.card")

local function load(name)
  return vim.json.decode(table.concat(vim.fn.readfile(recorded .. name .. ".json"), "\n"), { luanil = { object = true } })
end

local function exchange(doc, method, n)
  local seen = 0
  for _, x in ipairs(doc.exchanges) do
    if x.method == method then
      seen = seen + 1
      if seen == (n or 1) then return x end
    end
  end
end

local function usd(x, digits) return string.format("$%." .. (digits or 4) .. "f", x) end

-- the decision card of kilo/route
local route = exchange(load("route"), "kilo/route")
local c = route.result
local lines = card.lines(c)
check("the card's first line names the model, its name and provider",
  lines[1] == string.format("Model    %s (%s) via %s", c.model, c.modelName, c.provider), lines[1])
check("the card shows the task, the tier and the reason", table.concat(lines, "\n"):find(c.reason, 1, true) ~= nil
  and lines[2]:find(c.taskType, 1, true) ~= nil and lines[3]:find(c.tier .. " / dial " .. c.dial, 1, true) ~= nil)
check("the card shows this request's cost and Balanced's", lines[5]:find(usd(c.estimatedCostUsd), 1, true) ~= nil
  and lines[5]:find(c.balanced.model .. " " .. usd(c.balanced.estimatedCostUsd), 1, true) ~= nil, lines[5])
local chosen
for _, l in ipairs(lines) do if l:sub(1, 2) == "> " then chosen = l end end
check("the chosen candidate is marked", chosen and chosen:find(c.model, 1, true) ~= nil, chosen)
out({ screen = "card of route.json", lines = lines })

-- the footer of an answer (kilo/complete)
local result = exchange(load("complete"), "kilo/complete").result
local footer = card.footer(result)
check("the footer names who answered, the cost and the saving", footer == string.format(
  "-- %s via %s · %s (Balanced %s, saved %s) · %s", result.model, result.provider, usd(result.costUsd),
  usd(result.balancedCostUsd), usd(result.balancedCostUsd - result.costUsd), result.finishReason), footer)

-- :KiloUsage and the statusline from kilo/usage
local usage = load("usage")
local all, today = exchange(usage, "kilo/usage", 1).result, exchange(usage, "kilo/usage", 2).result
lines = card.usage_lines(all, today, "2000-01-01")
check("usage: today's spend, requests and saving", lines[1] == string.format(
  "Today      %s spent · %d requests · saved %s vs Balanced, %s vs Frontier  (2000-01-01)", usd(today.costUsd),
  today.requests, usd(today.savedVsBalancedUsd), usd(today.savedVsFrontierUsd)), lines[1])
check("usage: all time", lines[2]:find("^All time +" .. vim.pesc(usd(all.costUsd)) .. " spent · " .. all.requests .. " requests")
  ~= nil, lines[2])
check("usage: tokens", lines[3]:find(string.format("%d in (%d cached), %d out", all.inputTokens, all.cachedInputTokens,
  all.outputTokens), 1, true) ~= nil, lines[3])
local model_id, share = next(all.models)
check("usage: each model's share", table.concat(lines, "\n"):find(vim.pesc(model_id) .. "%s+"
  .. math.floor(100 * share.share + 0.5) .. "%% of answers  " .. vim.pesc(usd(share.costUsd))) ~= nil)
check("usage: a bar per day", vim.startswith(lines[#lines], all.byDay[#all.byDay].day .. " #"), lines[#lines])
out({ screen = ":KiloUsage from usage.json", lines = lines })
local status
for _, n in ipairs(exchange(usage, "kilo/complete", 1).notifications) do
  if n.method == "kilo/status" then status = n.params end
end
local line = card.status(status, today)
check("the statusline: model, tier and today's spend", line == string.format("kilo: %s · %s · %s today", status.model,
  status.tier, usd(today.costUsd, 2)), line)
check("the statusline before any usage", card.status(status, nil) == string.format("kilo: %s · %s", status.model, status.tier))
check("usage with nothing spent", card.usage_lines(nil, nil)[1] == "No usage recorded yet.")

-- without any key (no-key.json): nothing callable, then the model the router would use, marked so
local nokey = load("no-key")
local nothing = exchange(nokey, "kilo/serverStatus", 1).result
check("the statusline with no callable model", nothing.callableModels == 0
  and card.status(nil, nil, nothing) == "kilo: no model callable", card.status(nil, nil, nothing))
local whatif
for _, n in ipairs(exchange(nokey, "kilo/complete", 1).notifications) do
  if n.method == "kilo/status" then whatif = n.params end
end
check("the statusline when the chosen model is not callable", whatif.callable == false
  and card.status(whatif, nil, nothing) == string.format("kilo: %s (not callable) · %s", whatif.model, whatif.tier),
  card.status(whatif, nil, nothing))
check("a callable model is not marked", card.status(status, nil, nothing):find("not callable", 1, true) == nil)
finish()
