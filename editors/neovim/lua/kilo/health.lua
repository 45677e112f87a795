-- :checkhealth kilo
local M = {}

local MIN_SERVER = { 0, 1, 0 }

local function parse_version(text)
  local a, b, c = (text or ""):match("(%d+)%.(%d+)%.(%d+)")
  if not a then return nil end
  return { tonumber(a), tonumber(b), tonumber(c) }
end

local function older(v, min)
  for i = 1, 3 do
    if v[i] ~= min[i] then return v[i] < min[i] end
  end
  return false
end

function M.check()
  local h = vim.health
  local kilo = require("kilo")
  h.start("kilo-lsp")
  if vim.fn.has("nvim-0.11") == 1 then
    h.ok("Neovim " .. tostring(vim.version()))
  else
    h.error("Neovim 0.11 or newer is needed (vim.lsp.config / vim.lsp.enable)")
  end
  local cmd = kilo.command(kilo.state.opts or kilo.defaults)
  if vim.fn.executable(cmd[1]) == 0 then
    h.error(cmd[1] .. " not found", { "Install the sidecar: pip install kilo-lsp",
      "or set require('kilo').setup({ cmd = {...} }) / { python = '/path/to/python' }" })
    return
  end
  local probe = vim.list_slice(cmd, 1, #cmd - 1) -- drop --stdio
  table.insert(probe, "--version")
  local ok, res = pcall(function() return vim.system(probe, { text = true }):wait(15000) end)
  if not ok or res.code ~= 0 then
    h.error("`" .. table.concat(probe, " ") .. "` failed: " .. (ok and (res.stderr or "") or tostring(res)),
      { "Reinstall: pip install -U kilo-lsp" })
    return
  end
  local v = parse_version(res.stdout)
  if not v then
    h.warn("could not read the version from: " .. vim.trim(res.stdout or ""))
  elseif older(v, MIN_SERVER) then
    h.error(string.format("kilo-lsp %s is too old (need %s)", vim.trim(res.stdout), table.concat(MIN_SERVER, ".")),
      { "Upgrade: pip install -U kilo-lsp" })
  else
    h.ok(vim.trim(res.stdout) .. " (" .. table.concat(cmd, " ") .. ")")
  end
  local caps = kilo.capabilities()
  if caps then
    h.ok(string.format("running: protocol %s; requests %s", caps.protocolVersion, table.concat(caps.requests or {}, ", ")))
    for _, m in ipairs({ "kilo/complete", "kilo/usage" }) do
      if not vim.tbl_contains(caps.requests or {}, m) then h.info(m .. " not offered by this server version") end
    end
  else
    h.info("not running in this Neovim (open a file in a project, or check :LspInfo / :checkhealth vim.lsp)")
  end
end

return M
