-- What the headless test scripts print: one JSON line per check ({"check","ok","detail"}), any
-- screens, and a summary; the process exits 1 when a check failed.
local M = { failed = 0 }

function M.out(obj) io.stdout:write(vim.json.encode(obj), "\n") end

function M.check(name, ok, detail)
  if not ok then M.failed = M.failed + 1 end
  M.out({ check = name, ok = ok and true or false, detail = detail })
end

function M.finish()
  M.out({ summary = true, failed = M.failed })
  os.exit(M.failed == 0 and 0 or 1)
end

return M
