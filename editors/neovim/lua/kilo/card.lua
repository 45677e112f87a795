-- Pure formatting of kilo-lsp answers (decision cards, status, usage); no editor state.
local M = {}

local function pct(x)
  if x == nil or x == vim.NIL then return "-" end
  return string.format("%d%%", math.floor(100 * x + 0.5))
end

local function usd(x, digits)
  if x == nil or x == vim.NIL then return "-" end
  return string.format("$%." .. (digits or 4) .. "f", x)
end
M.usd = usd

local function s(x)
  if x == nil or x == vim.NIL then return nil end
  return x
end

--- Lines of a decision card (the answer of kilo/route and kilo/explain).
function M.lines(card)
  if card == nil or card == vim.NIL then return { "No decision yet in this session." } end
  local flags = {}
  for _, f in ipairs({ "sticky", "escalated", "fallback", "whatIf" }) do
    if card[f] == true then table.insert(flags, f == "whatIf" and "what-if" or f) end
  end
  local out = {
    string.format("Model    %s (%s)%s", card.model, card.modelName or card.model,
      s(card.provider) and (" via " .. card.provider) or ""),
    string.format("Task     %s, difficulty %s, confidence %.2f", card.taskType, card.difficulty, card.confidence or 0),
    string.format("Tier     %s / dial %s%s", card.tier, card.dial, #flags > 0 and ("   [" .. table.concat(flags, ", ") .. "]") or ""),
    string.format("Why      [%s] %s", card.reasonCode, card.reason),
    string.format("Cost     %s this request; Balanced %s %s; Frontier %s %s", usd(card.estimatedCostUsd),
      card.balanced and card.balanced.model or "-", usd(card.balanced and card.balanced.estimatedCostUsd),
      card.frontier and card.frontier.model or "-", usd(card.frontier and card.frontier.estimatedCostUsd)),
    "",
    "  candidate                 solved  CI         clears  this request",
  }
  for i, c in ipairs(card.candidates or {}) do
    if i > 8 then break end
    local ci = (s(c.ciLow) and (pct(c.ciLow) .. "-" .. pct(c.ciHigh))) or "-"
    table.insert(out, string.format("%s %-25s %-7s %-10s %-7s %s", c.model == card.model and ">" or " ",
      c.model, pct(s(c.accuracy)), ci, c.clearsBar and "yes" or "no", usd(c.estimatedCostUsd)))
  end
  table.insert(out, "")
  table.insert(out, string.format("leaderboard %s · decision %s", card.leaderboardVersion or "?", card.decisionId or "?"))
  return out
end

--- The statusline text: the session's model and tier (the last kilo/status) and today's spend
--- (kilo/usage for today: costUsd), e.g. "kilo: gpt-5-mini · efficient · $0.12 today".
--- `server`: the last kilo/serverStatus (optional): with no callable model at all, the line says so.
function M.status(status, today, server)
  local parts = {}
  if status ~= nil and status ~= vim.NIL then
    -- callable false: the model the router would use cannot be called now (what-if mode, no key)
    table.insert(parts, string.format("%s%s · %s", status.model, status.callable == false and " (not callable)" or "",
      status.tier))
  elseif type(server) == "table" and server.callableModels == 0 then
    table.insert(parts, "no model callable")
  end
  if today ~= nil and today ~= vim.NIL and s(today.costUsd) then
    table.insert(parts, usd(today.costUsd, 2) .. " today")
  end
  if #parts == 0 then return "kilo" end
  return "kilo: " .. table.concat(parts, " · ")
end

local function totals_line(label, u)
  local saved = s(u.savedVsBalancedUsd) or 0
  return string.format("%-10s %s spent · %d request%s · saved %s vs Balanced, %s vs Frontier", label,
    usd(u.costUsd), u.requests or 0, (u.requests or 0) == 1 and "" or "s", usd(saved),
    usd(s(u.savedVsFrontierUsd) or 0))
end

--- Lines of a usage summary, from kilo/usage answers (UsageResult): `today` (params day = today)
--- and `all` (no day), both optional. Spend, requests and savings; each model's share; outcomes;
--- tokens; a bar per day.
function M.usage_lines(all, today, day)
  if (all == nil or all == vim.NIL) and (today == nil or today == vim.NIL) then return { "No usage recorded yet." } end
  local out = {}
  if today and today ~= vim.NIL then table.insert(out, totals_line("Today", today) .. (day and ("  (" .. day .. ")") or "")) end
  if all and all ~= vim.NIL then
    table.insert(out, totals_line("All time", all))
    if (all.requests or 0) == 0 then return out end
    table.insert(out, string.format("%-10s %d in (%d cached), %d out%s", "Tokens", all.inputTokens or 0,
      all.cachedInputTokens or 0, all.outputTokens or 0,
      (all.estimatedRows or 0) > 0 and string.format(" (%d estimated)", all.estimatedRows) or ""))
    local models = {}
    for id, m in pairs(all.models or {}) do table.insert(models, { id = id, m = m }) end
    table.sort(models, function(a, b) return (a.m.share or 0) > (b.m.share or 0) end)
    for i, x in ipairs(models) do
      table.insert(out, string.format("%-10s %-28s %3d%% of answers  %s", i == 1 and "Models" or "", x.id,
        math.floor(100 * (x.m.share or 0) + 0.5), usd(x.m.costUsd)))
    end
    local outcomes = {}
    for k, n in pairs(all.outcomes or {}) do table.insert(outcomes, k .. " " .. n) end
    table.sort(outcomes)
    if #outcomes > 0 then table.insert(out, string.format("%-10s %s", "Calls", table.concat(outcomes, " · "))) end
    local days = all.byDay or {}
    local max = 0
    for _, d in ipairs(days) do max = math.max(max, d.costUsd or 0) end
    if #days > 0 then table.insert(out, "") end
    for _, d in ipairs(days) do
      local n = max > 0 and math.floor(20 * (d.costUsd or 0) / max + 0.5) or 0
      table.insert(out, string.format("%s %s %s  saved %s", d.day or "?", string.rep("#", n) .. string.rep(".", 20 - n),
        usd(d.costUsd), usd(s(d.savedVsBalancedUsd) or 0)))
    end
  end
  return out
end

--- The line under an answer (a kilo/complete result): who answered, the cost, the saving.
function M.footer(result)
  local saved = (tonumber(result.balancedCostUsd) or 0) - (tonumber(result.costUsd) or 0)
  local tail = string.format("-- %s via %s · %s (Balanced %s, saved %s) · %s", result.model or "?",
    result.provider or "?", usd(result.costUsd), usd(result.balancedCostUsd), usd(saved), result.finishReason or "")
  if type(result.error) == "table" then
    tail = tail .. " · " .. (result.error.kind or "") .. ": " .. (result.error.message or "")
  end
  return tail
end

return M
