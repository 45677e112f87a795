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
  local install = require("kilo.install")
  h.start("kilo-lsp")
  if vim.fn.has("nvim-0.11") == 1 then
    h.ok("Neovim " .. tostring(vim.version()))
  else
    h.error("Neovim 0.11 or newer is needed (vim.lsp.config / vim.lsp.enable)")
  end
  local cmd, found = kilo.command()
  if not found then
    h.error(cmd[1] .. " not found", { "Run :KiloInstall: it installs kilo-lsp from this plugin's checkout into "
      .. install.venv(), "or install it as the README's Install section says, or set "
      .. "require('kilo').setup({ cmd = {...} }) / { python = '/path/to/python' }" })
    return
  end
  local probe = vim.list_slice(cmd, 1, #cmd - 1) -- drop --stdio
  table.insert(probe, "--version")
  local ok, res = pcall(function() return vim.system(probe, { text = true }):wait(15000) end)
  if not ok or res.code ~= 0 then
    h.error("`" .. table.concat(probe, " ") .. "` failed: " .. (ok and (res.stderr or "") or tostring(res)),
      { "Reinstall with :KiloInstall" })
    return
  end
  local v = parse_version(res.stdout)
  if not v then
    h.warn("could not read the version from: " .. vim.trim(res.stdout or ""))
  elseif older(v, MIN_SERVER) then
    h.error(string.format("kilo-lsp %s is too old (need %s)", vim.trim(res.stdout), table.concat(MIN_SERVER, ".")),
      { "Upgrade with :KiloInstall" })
  else
    h.ok(vim.trim(res.stdout) .. " (" .. table.concat(cmd, " ") .. ")")
  end
  local caps = kilo.capabilities()
  if not caps then
    h.info("not running in this Neovim (open a file in a project, or check :LspInfo / :checkhealth vim.lsp)")
    return
  end
  h.ok(string.format("running: protocol %s; requests %s", caps.protocolVersion, table.concat(caps.requests or {}, ", ")))
  for _, m in ipairs({ "kilo/complete", "kilo/usage", "kilo/serverStatus" }) do
    if not vim.tbl_contains(caps.requests or {}, m) then h.info(m .. " not offered by this server version") end
  end
  local status = kilo.server_status()
  if not status then return end
  local keyed = {}
  for _, p in ipairs(status.providers or {}) do
    if p.keySet then table.insert(keyed, string.format("%s (%s)", p.name, p.keySource or "?")) end
  end
  if #keyed > 0 then
    h.ok("keys: " .. table.concat(keyed, ", "))
  else
    h.info("no provider key: set one with :KiloSetKey, or use a local model")
  end
  if status.localDiscovery == "off" then
    h.info("local servers: not asked (local.discover is false)")
  end
  for _, s in ipairs(status.localServers or {}) do
    if s.reachable then
      h.ok(string.format("local server %s (%s): %s", s.name, s.url,
        #s.models > 0 and table.concat(s.models, ", ") or "answers, but serves no model"))
    else
      h.info(string.format("local server %s (%s): not answering", s.name, s.url))
    end
  end
  if status.callableModels > 0 then
    h.ok(string.format("%d models callable", status.callableModels))
  else
    h.warn("no model callable: decisions are what-if", { "Set a key with :KiloSetKey, or start a local server "
      .. "(Ollama, LM Studio, llama.cpp; others in settings.local.endpoints)" })
  end
  for _, problem in ipairs(status.settingsProblems or {}) do
    h.warn("setting ignored: " .. problem)
  end
end

return M
