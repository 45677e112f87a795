-- Conformance fixtures (tests/conformance/*.json) against the real sidecar, from headless Neovim
-- 0.11 through the kilo plugin (vim.lsp.config + vim.lsp.enable):
--
--   KILO_PYTHON=python nvim --headless --clean -u NONE -l editors/neovim/tests/conformance.lua
--
-- Prints one JSON line per case ({"file","case","ok","failures"}) and a summary line; exits 1 on
-- any failure. The caller isolates the environment (tests/test_editors_neovim.py does).
local here = vim.fn.fnamemodify(debug.getinfo(1, "S").source:sub(2), ":p:h")
local plugin_dir = vim.fn.fnamemodify(here, ":h")
local root = vim.fn.fnamemodify(plugin_dir, ":h:h")
vim.opt.rtp:prepend(plugin_dir)

local function out(obj) io.stdout:write(vim.json.encode(obj), "\n") end
local function die(msg) out({ fatal = msg }); os.exit(2) end

local notes = {}
local kilo = require("kilo")
local python = os.getenv("KILO_PYTHON") or "python3"
kilo.setup({ python = python, root_markers = { "kilo-conformance-root" } })
for _, method in ipairs({ "kilo/status", "kilo/chunk" }) do
  kilo.subscribe(method, function(params)
    notes[method] = notes[method] or {}
    table.insert(notes[method], params)
  end)
end

local work = vim.fn.tempname()
vim.fn.mkdir(work, "p")
vim.fn.writefile({}, work .. "/kilo-conformance-root")
vim.fn.writefile({ "def total(xs):", "    return sum(xs)" }, work .. "/app.py")
vim.cmd("edit " .. vim.fn.fnameescape(work .. "/app.py"))

local ok = vim.wait(20000, function()
  local c = kilo.client()
  return c ~= nil and c.initialized == true
end, 20)
if not ok then die("the sidecar did not start: " .. vim.inspect(vim.lsp.get_clients())) end
local client = kilo.client()

local MISSING = {}

local function at(value, path)
  if path == "" then return value end
  for part in string.gmatch(path, "[^.]+") do
    if type(value) ~= "table" then return MISSING end
    local n = tonumber(part)
    if n and vim.islist(value) then value = value[n + 1] else value = value[part] end
    if value == nil then return MISSING end
  end
  return value
end

local function is_null(v) return v == nil or v == vim.NIL end
local function resolve(v, saved)
  if type(v) == "string" and v:sub(1, 1) == "$" then return saved[v:sub(2)] end
  return v
end
local function show(v)
  if v == MISSING then return "(missing)" end
  local okj, s = pcall(vim.json.encode, v)
  return (okj and s or tostring(v)):sub(1, 200)
end
local function equal(a, b)
  if is_null(a) and is_null(b) then return true end
  return vim.deep_equal(a, b)
end

local TYPES = {
  string = function(v) return type(v) == "string" end,
  boolean = function(v) return type(v) == "boolean" end,
  null = function(v) return v == vim.NIL end,
  number = function(v) return type(v) == "number" end,
  integer = function(v) return type(v) == "number" and math.floor(v) == v end,
  array = function(v) return type(v) == "table" and (vim.islist(v) or next(v) == nil) end,
  object = function(v) return type(v) == "table" and (not vim.islist(v) or next(v) == nil) end,
}

local function check(expect, value, err, saved)
  local fails = {}
  if expect.error then
    if not err then return { "expected error " .. expect.error.code .. ", got result " .. show(value) } end
    if err.code ~= expect.error.code then
      table.insert(fails, string.format("error code %s, expected %s: %s", err.code, expect.error.code, err.message))
    end
    local needle = expect.error.messageContains
    if needle and not string.find(err.message or "", needle, 1, true) then
      table.insert(fails, string.format("error message %q does not contain %q", err.message or "", needle))
    end
    return fails
  end
  if err then return { "unexpected error: " .. show(err) } end
  if expect.null and not is_null(value) then table.insert(fails, "expected null, got " .. show(value)) end
  for path, want in pairs(expect.equals or {}) do
    local got = at(value, path)
    want = resolve(want, saved)
    if not equal(got, want) then table.insert(fails, path .. ": expected " .. show(want) .. ", got " .. show(got)) end
  end
  for _, path in ipairs(expect.has or {}) do
    local got = at(value, path)
    if got == MISSING or is_null(got) then table.insert(fails, path .. ": missing") end
  end
  for path, prefix in pairs(expect.startsWith or {}) do
    local got = at(value, path)
    if type(got) ~= "string" or got:sub(1, #prefix) ~= prefix then
      table.insert(fails, path .. ": " .. show(got) .. " does not start with " .. prefix)
    end
  end
  for path, item in pairs(expect.contains or {}) do
    local got, want = at(value, path), resolve(item, saved)
    local found = (type(got) == "string" and string.find(got, want, 1, true) ~= nil)
      or (type(got) == "table" and vim.tbl_contains(got, want))
    if not found then table.insert(fails, path .. ": " .. show(got) .. " does not contain " .. show(want)) end
  end
  for path, n in pairs(expect.minItems or {}) do
    local got = at(value, path)
    if type(got) ~= "table" or #got < n then table.insert(fails, path .. ": expected at least " .. n .. " items") end
  end
  for path, options in pairs(expect.oneOf or {}) do
    local got, hit = at(value, path), false
    for _, o in ipairs(options) do hit = hit or equal(got, o) end
    if not hit then table.insert(fails, path .. ": " .. show(got) .. " not one of " .. show(options)) end
  end
  for path, kind in pairs(expect.type or {}) do
    local got = at(value, path)
    if got == MISSING or not TYPES[kind](got) then table.insert(fails, path .. ": expected " .. kind .. ", got " .. show(got)) end
  end
  -- "schema": validated by the pytest-lsp and Node runners; not repeated here
  return fails
end

local function params_of(step)
  local p = step.params
  if p == nil or (type(p) == "table" and next(p) == nil) then return vim.empty_dict() end
  return p
end

local function matches(params, match, saved)
  for k, v in pairs(match or {}) do
    if not equal(at(params, k), resolve(v, saved)) then return false end
  end
  return true
end

local init_result = { serverInfo = client.server_info, capabilities = client.server_capabilities }

local function play(case)
  local saved = {}
  for i, step in ipairs(case.steps) do
    local value, err
    local label = step.request or step.awaitNotification or step.notify or "initialize"
    if step.initializeResult then
      value = init_result
    elseif step.request then
      local resp, rerr = client:request_sync(step.request, params_of(step), 10000, 0)
      if not resp then return { string.format("step %d (%s): no answer: %s", i - 1, label, tostring(rerr)) } end
      value, err = resp.result, resp.err
    elseif step.notify then
      client:notify(step.notify, params_of(step))
      goto continue
    elseif step.awaitNotification then
      local found
      vim.wait(5000, function()
        for _, p in ipairs(notes[step.awaitNotification] or {}) do
          if matches(p, step.match, saved) then found = p end
        end
        return found ~= nil
      end, 20)
      if not found then return { string.format("step %d: no %s matching %s", i - 1, label, show(step.match)) } end
      value = found
    end
    do
      local fails = check(step.expect or {}, value, err, saved)
      if #fails > 0 then
        for j, f in ipairs(fails) do fails[j] = string.format("step %d (%s): %s", i - 1, label, f) end
        return fails
      end
      for name, path in pairs(step.save or {}) do saved[name] = at(value, path) end
    end
    ::continue::
  end
  return {}
end

local files = vim.fn.sort(vim.fn.glob(root .. "/tests/conformance/*.json", false, true))
local passed, failed = 0, 0
for _, file in ipairs(files) do
  local doc = vim.json.decode(table.concat(vim.fn.readfile(file), "\n"))
  for _, case in ipairs(doc.cases) do
    local okp, fails = pcall(play, case)
    if not okp then fails = { "runner error: " .. tostring(fails) } end
    if #fails == 0 then passed = passed + 1 else failed = failed + 1 end
    out({ file = vim.fn.fnamemodify(file, ":t"), case = case.name, ok = #fails == 0, failures = fails })
  end
end
out({ summary = true, passed = passed, failed = failed, client = "Neovim " .. tostring(vim.version()) })

client:stop()
vim.wait(3000, function() return client:is_stopped() end, 20)
os.exit(failed == 0 and passed > 0 and 0 or 1)
