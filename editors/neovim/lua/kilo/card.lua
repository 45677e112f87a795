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

--- The statusline text from the last kilo/status notification (and usage, when known).
function M.status(status, usage)
  if status == nil then return "kilo" end
  local text = string.format("kilo: %s · %s", status.model, status.tier)
  if usage and s(usage.todayUsd) then text = text .. " · " .. usd(usage.todayUsd, 2) end
  return text
end

--- Lines of a usage summary (kilo/usage): spend and savings, with a small bar chart per day.
function M.usage_lines(usage)
  if usage == nil or usage == vim.NIL then return { "No usage recorded yet." } end
  local out = {}
  if s(usage.todayUsd) then table.insert(out, "Today     " .. usd(usage.todayUsd, 4)) end
  if s(usage.totalUsd) then table.insert(out, "Total     " .. usd(usage.totalUsd, 4)) end
  if s(usage.savedUsd) then table.insert(out, "Saved     " .. usd(usage.savedUsd, 4) .. " vs Balanced") end
  local days = usage.days or {}
  local max = 0
  for _, d in ipairs(days) do max = math.max(max, d.costUsd or 0) end
  for _, d in ipairs(days) do
    local n = max > 0 and math.floor(20 * (d.costUsd or 0) / max + 0.5) or 0
    table.insert(out, string.format("%s %s %s", d.day or "?", string.rep("#", n) .. string.rep(".", 20 - n), usd(d.costUsd, 4)))
  end
  if #out == 0 then table.insert(out, vim.inspect(usage)) end
  return out
end

return M
