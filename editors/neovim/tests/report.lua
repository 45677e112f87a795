-- What the headless test scripts print: one JSON line per check ({"check","ok","detail"}), any
-- screens, and a summary; the process exits 1 when a check failed.
-- Loading it also puts the plugin under test (the folder above this one) on the runtimepath.
local M = { failed = 0, messages = {} }

local here = vim.fn.fnamemodify(debug.getinfo(1, "S").source:sub(2), ":p:h")
vim.opt.rtp:prepend(vim.fn.fnamemodify(here, ":h"))

function M.out(obj) io.stdout:write(vim.json.encode(obj), "\n") end

function M.check(name, ok, detail)
  if not ok then M.failed = M.failed + 1 end
  M.out({ check = name, ok = ok and true or false, detail = detail })
end

-- Keep every vim.notify message (the tests read what the plugin told the user) and return them.
function M.capture_notify()
  vim.notify = function(msg, level) table.insert(M.messages, { msg = msg, level = level }) end
  return M.messages
end

-- Forget the messages kept so far (the table stays the same one).
function M.clear_messages()
  for i = #M.messages, 1, -1 do M.messages[i] = nil end
end

-- The first message kept that contains `pattern` (plain text), or nil.
function M.said(pattern)
  for _, m in ipairs(M.messages) do if m.msg:find(pattern, 1, true) then return m end end
end

-- How many kept messages contain `pattern`.
function M.count(pattern)
  return #vim.tbl_filter(function(m) return m.msg:find(pattern, 1, true) ~= nil end, M.messages)
end

-- A new workspace folder (a temporary directory with the tests' root marker) holding one file of
-- `lines`, opened in the current window. Waits for the sidecar and returns its client; the script
-- ends when the sidecar does not start.
function M.open_workspace(kilo, name, lines)
  local work = vim.fn.tempname()
  vim.fn.mkdir(work, "p")
  vim.fn.writefile({}, work .. "/kilo-test-root")
  vim.fn.writefile(lines, work .. "/" .. name)
  vim.cmd("edit " .. vim.fn.fnameescape(work .. "/" .. name))
  local started = vim.wait(20000, function() local c = kilo.client(); return c ~= nil and c.initialized end, 20)
  M.check("sidecar starts through vim.lsp.enable", started)
  if not started then M.finish() end
  return kilo.client()
end

function M.finish()
  M.out({ summary = true, failed = M.failed })
  os.exit(M.failed == 0 and 0 or 1)
end

return M
