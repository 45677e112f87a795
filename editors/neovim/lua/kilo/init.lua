-- kilo-lsp for Neovim 0.11+: starts the sidecar through vim.lsp.config/vim.lsp.enable and adds
-- :KiloRoute, :KiloExplain, :KiloAsk, :KiloTier, :KiloDial, :KiloPin, :KiloUsage and a statusline
-- component. See :help kilo.
local card = require("kilo.card")

local M = {}
M.version = "0.1.0"
M.name = "kilo"

M.defaults = {
  cmd = nil,            -- e.g. { "kilo-lsp", "--stdio" } (the default)
  python = nil,         -- or a Python with kilo-lsp installed: { python, "-m", "kilo_lsp", "--stdio" }
  root_markers = { ".git", "pyproject.toml", "package.json", "go.mod", "Cargo.toml" },
  filetypes = nil,      -- nil: every buffer
  settings = {          -- the 'kilo' settings section, sent at start and on change
    routing = { tier = "efficient", dial = "bill", pin = "" },
    budget = { dailyUsdPerWorkspace = 0 },
  },
  complete = {},          -- extra kilo/complete params for :KiloAsk, e.g. { maxTokens = 512, temperature = 0 }
  conversation_id = nil, -- nil: one session per editor instance
  enable = true,         -- call vim.lsp.enable("kilo")
}

M.state = { status = nil, usage = nil, last_card = nil, streams = {}, opts = nil }

local function notify(msg, level)
  vim.notify("kilo: " .. msg, level or vim.log.levels.INFO)
end

function M.command(opts)
  if opts.cmd then return opts.cmd end
  if opts.python then return { opts.python, "-m", "kilo_lsp", "--stdio" } end
  return { "kilo-lsp", "--stdio" }
end

M.listeners = {} -- method -> list of functions(params)

--- Call fn(params) on every notification `method` from the server (e.g. "kilo/status").
function M.subscribe(method, fn)
  M.listeners[method] = M.listeners[method] or {}
  table.insert(M.listeners[method], fn)
end

local function emit(method, params)
  for _, fn in ipairs(M.listeners[method] or {}) do pcall(fn, params) end
end

local function on_status(_, params)
  M.state.status = params
  emit("kilo/status", params)
  vim.cmd("redrawstatus")
end

local function on_chunk(_, params)
  emit("kilo/chunk", params)
  local stream = params and M.state.streams[params.streamId]
  if not stream and params and (params.streamId == nil or params.streamId == vim.NIL) then
    -- a server that does not echo our id: one stream at a time (a chunk for an id we no longer
    -- know, e.g. one that crossed a cancel, is dropped, never shown in another answer)
    for _, s in pairs(M.state.streams) do stream = s end
  end
  if not stream or stream.done then return end
  if stream.seq and params.seq and params.seq <= stream.seq then return end -- late or repeated
  stream.seq = params.seq
  stream.model = params.model
  stream.on_text(params.text or "")
end

--- The table given to vim.lsp.config("kilo", ...).
function M.lsp_config(opts)
  opts = vim.tbl_deep_extend("force", vim.deepcopy(M.defaults), opts or {})
  local init = vim.deepcopy(opts.settings)
  init.editorPluginInfo = { name = "kilo-lsp-nvim", version = M.version }
  local markers = opts.root_markers
  return {
    cmd = M.command(opts),
    -- Only real files start the sidecar (not the empty start-up buffer, help or scratch buffers);
    -- the project root is the nearest marker, else the file's folder.
    root_dir = function(bufnr, on_dir)
      local name = vim.api.nvim_buf_get_name(bufnr)
      if name == "" or vim.bo[bufnr].buftype ~= "" then return end
      on_dir(vim.fs.root(bufnr, markers) or vim.fs.dirname(name))
    end,
    filetypes = opts.filetypes,
    init_options = init,
    settings = { kilo = vim.deepcopy(opts.settings) },
    handlers = { ["kilo/status"] = on_status, ["kilo/chunk"] = on_chunk },
  }
end

function M.client()
  return vim.lsp.get_clients({ name = M.name, bufnr = 0 })[1] or vim.lsp.get_clients({ name = M.name })[1]
end

--- The kilo capabilities the running server announced (experimental.kilo), or nil.
function M.capabilities()
  local c = M.client()
  local exp = c and c.server_capabilities and c.server_capabilities.experimental
  return exp and exp.kilo or nil
end

function M.supports(method)
  local caps = M.capabilities()
  return caps ~= nil and vim.tbl_contains(caps.requests or {}, method)
end

--- A blocking request: returns result, err (err is a table with code and message).
function M.request_sync(method, params, timeout_ms)
  local c = M.client()
  if not c then return nil, { code = -1, message = "kilo-lsp is not running (see :checkhealth kilo)" } end
  local resp, err = c:request_sync(method, params or vim.empty_dict(), timeout_ms or 10000, 0)
  if not resp then return nil, { code = -1, message = tostring(err) } end
  if resp.err then return nil, resp.err end
  return resp.result, nil
end

local function editor_context()
  local buf = vim.api.nvim_get_current_buf()
  local ctx = { activeUri = vim.uri_from_bufnr(buf), languageId = vim.bo[buf].filetype ~= "" and vim.bo[buf].filetype or nil }
  local counts = { errors = #vim.diagnostic.get(buf, { severity = vim.diagnostic.severity.ERROR }),
    warnings = #vim.diagnostic.get(buf, { severity = vim.diagnostic.severity.WARN }) }
  ctx.diagnosticCounts = counts
  return ctx
end

--- The workspace folder (URI) of the current buffer's kilo client: sessions are kept per folder.
function M.workspace_uri()
  local c = M.client()
  return c and c.root_dir and vim.uri_from_fname(c.root_dir) or nil
end

local function route_params(text, extra)
  local params = { text = text, context = editor_context(), workspaceUri = M.workspace_uri() }
  if M.state.opts and M.state.opts.conversation_id then params.conversationId = M.state.opts.conversation_id end
  return vim.tbl_extend("force", params, extra or {})
end

function M.route(text, extra)
  local result, err = M.request_sync("kilo/route", route_params(text, extra))
  if result then M.state.last_card = result end
  return result, err
end

function M.explain()
  local params = { workspaceUri = M.workspace_uri() }
  if M.state.opts and M.state.opts.conversation_id then params.conversationId = M.state.opts.conversation_id end
  if next(params) == nil then params = vim.empty_dict() end
  return M.request_sync("kilo/explain", params)
end

--- Show lines in a floating window; returns the buffer and window.
function M.float(lines, title)
  local split = {}  -- a value may hold newlines; buffer lines may not
  for _, l in ipairs(lines) do vim.list_extend(split, vim.split(tostring(l), "\n", { plain = true })) end
  lines = split
  local buf = vim.api.nvim_create_buf(false, true)
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.bo[buf].bufhidden = "wipe"
  vim.bo[buf].filetype = "kilo"
  local width = 20
  for _, l in ipairs(lines) do width = math.max(width, vim.fn.strdisplaywidth(l)) end
  width = math.min(width, math.max(20, vim.o.columns - 4))
  local win = vim.api.nvim_open_win(buf, true, {
    relative = "editor", style = "minimal", border = "rounded", title = title, title_pos = "center",
    row = 1, col = math.max(0, math.floor((vim.o.columns - width) / 2)), width = width,
    height = math.min(#lines, math.max(1, vim.o.lines - 4)),
  })
  vim.keymap.set("n", "q", "<cmd>close<cr>", { buffer = buf, nowait = true })
  return buf, win
end

--- Change a setting (e.g. "routing.tier") and tell the server (workspace/didChangeConfiguration).
function M.set(path, value)
  local opts = M.state.opts or vim.deepcopy(M.defaults)
  local node = opts.settings
  local keys = vim.split(path, ".", { plain = true })
  for i = 1, #keys - 1 do
    node[keys[i]] = node[keys[i]] or {}
    node = node[keys[i]]
  end
  node[keys[#keys]] = value
  M.state.opts = opts
  local c = M.client()
  if c then
    c.settings = { kilo = vim.deepcopy(opts.settings) } -- what Neovim answers to workspace/configuration
    c:notify("workspace/didChangeConfiguration", { settings = c.settings })
  end
end

function M.statusline()
  return card.status(M.state.status, M.state.usage)
end

--- Stream an answer (kilo/complete) into a scratch buffer; q or <C-c> cancels.
--- `extra` is merged into the kilo/complete params (after `opts.complete`, e.g. { maxTokens = 256 }).
--- Returns the stream id and the stream: { buf, chunks, seq, done, outcome, result, err }, where
--- outcome is "done", "cancelled" or "error" once the request has ended.
function M.ask(text, extra)
  if not M.supports("kilo/complete") then
    notify("this kilo-lsp has no kilo/complete yet; :KiloRoute shows which model would answer. "
      .. "Upgrade with: pip install -U kilo-lsp", vim.log.levels.WARN)
    return nil
  end
  local c = M.client()
  vim.cmd("botright new")
  local buf = vim.api.nvim_get_current_buf()
  vim.bo[buf].buftype, vim.bo[buf].bufhidden, vim.bo[buf].swapfile = "nofile", "wipe", false
  vim.bo[buf].filetype = "markdown"
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, { "> " .. text, "" })
  local stream_id = string.format("nvim-%d-%d", vim.fn.getpid(), vim.uv.hrtime())
  local stream = { id = stream_id, buf = buf, chunks = {} }
  function stream.on_text(t)
    table.insert(stream.chunks, t)
    if not vim.api.nvim_buf_is_valid(buf) then return end
    local last = vim.api.nvim_buf_line_count(buf)
    local cur = vim.api.nvim_buf_get_lines(buf, last - 1, last, false)[1] or ""
    local parts = vim.split(cur .. t, "\n", { plain = true })
    vim.api.nvim_buf_set_lines(buf, last - 1, last, false, parts)
  end
  local function finish(outcome, tail)
    if stream.done then return end
    stream.done, stream.outcome = true, outcome
    M.state.streams[stream_id] = nil
    if stream.autocmd then pcall(vim.api.nvim_del_autocmd, stream.autocmd) end
    if vim.api.nvim_buf_is_valid(buf) then vim.api.nvim_buf_set_lines(buf, -1, -1, false, tail) end
  end
  M.state.streams[stream_id] = stream
  M.state.last_stream = stream
  local opts = M.state.opts or M.defaults
  local params = route_params(text, vim.tbl_extend("force", opts.complete or {}, extra or {}, { streamId = stream_id }))
  local _, request_id = c:request("kilo/complete", params, function(err, result)
    if err then
      stream.err = err
      return finish("error", { "", "error: " .. (err.message or vim.inspect(err)) })
    end
    stream.result = result
    -- a server that sent no kilo/chunk (or chunks for another id): the result has the whole text
    if #stream.chunks == 0 and type(result.text) == "string" and result.text ~= "" then stream.on_text(result.text) end
    if type(result.card) == "table" then M.state.last_card = result.card end
    local saved = (tonumber(result.balancedCostUsd) or 0) - (tonumber(result.costUsd) or 0)
    local tail = string.format("-- %s via %s · %s (Balanced %s, saved %s) · %s", result.model or "?",
      result.provider or "?", card.usd(result.costUsd), card.usd(result.balancedCostUsd), card.usd(saved),
      result.finishReason or "")
    if type(result.error) == "table" then tail = tail .. " · " .. (result.error.kind or "") .. ": " .. (result.error.message or "") end
    finish("done", { "", tail })
  end, 0)
  stream.request_id = request_id
  -- Neovim's RPC layer drops a -32800 (RequestCancelled) answer without calling the handler above;
  -- the server's acknowledgement shows only as the request completing (LspRequest) with no callback.
  stream.autocmd = vim.api.nvim_create_autocmd("LspRequest", {
    callback = function(ev)
      local d = ev.data or {}
      if d.client_id ~= c.id or d.request_id ~= request_id or not stream.cancelling then return end
      if d.request and d.request.type == "complete" then
        vim.schedule(function() -- a real result, if one crossed the cancel, is handled first
          if stream.done then return end
          stream.acknowledged = true
          finish("cancelled", { "", "(cancelled)" })
          notify("answer cancelled")
        end)
      end
    end,
  })
  local cancel = function()
    if stream.done or stream.cancelling then return end
    stream.cancelling = true
    c:cancel_request(request_id)
    vim.defer_fn(function() -- a server that never acknowledges: stop waiting for it
      if not stream.done then
        finish("cancelled", { "", "(cancelled; the server did not acknowledge)" })
        notify("answer cancelled")
      end
    end, 5000)
  end
  stream.cancel = cancel
  vim.keymap.set("n", "<C-c>", cancel, { buffer = buf })
  vim.keymap.set("n", "q", function() cancel(); vim.cmd("close") end, { buffer = buf, nowait = true })
  return stream_id, stream
end

function M.usage()
  if not M.supports("kilo/usage") then
    return nil, { code = -1, message = "this kilo-lsp has no kilo/usage yet; upgrade with: pip install -U kilo-lsp" }
  end
  local result, err = M.request_sync("kilo/usage", vim.empty_dict())
  if result then M.state.usage = result end
  return result, err
end

local function selection_or_args(args)
  if args.range > 0 then
    local lines = vim.api.nvim_buf_get_lines(0, args.line1 - 1, args.line2, false)
    local prefix = args.args ~= "" and (args.args .. "\n\n") or ""
    return prefix .. table.concat(lines, "\n")
  end
  return args.args
end

local function create_commands()
  local cmd = vim.api.nvim_create_user_command
  cmd("KiloRoute", function(args)
    local text = selection_or_args(args)
    if text == "" then text = vim.fn.input("Route: ") end
    if text == "" then return end
    local result, err = M.route(text)
    if err then return notify(err.message or vim.inspect(err), vim.log.levels.ERROR) end
    M.float(card.lines(result), " kilo: " .. result.model .. " ")
  end, { nargs = "*", range = true, desc = "Show which model kilo-lsp picks for a request, and why" })
  cmd("KiloExplain", function()
    local result, err = M.explain()
    if err then return notify(err.message, vim.log.levels.ERROR) end
    M.float(card.lines(result), " kilo: last decision ")
  end, { desc = "Show the last decision card of this session" })
  cmd("KiloAsk", function(args)
    local text = selection_or_args(args)
    if text == "" then text = vim.fn.input("Ask: ") end
    if text ~= "" then M.ask(text) end
  end, { nargs = "*", range = true, desc = "Ask the routed model; the answer streams into a scratch buffer" })
  cmd("KiloTier", function(args)
    M.set("routing.tier", args.args)
    notify("tier " .. args.args)
  end, { nargs = 1, complete = function() return { "efficient", "balanced", "frontier", "free" } end })
  cmd("KiloDial", function(args)
    M.set("routing.dial", args.args)
    notify("dial " .. args.args)
  end, { nargs = 1, complete = function() return { "bill", "bar" } end })
  cmd("KiloPin", function(args)
    local model = args.bang and "" or args.args
    M.set("routing.pin", model)
    notify(model == "" and "unpinned: routing" or ("pinned " .. model))
  end, { nargs = "?", bang = true, desc = ":KiloPin {model} pins a model; :KiloPin! unpins" })
  cmd("KiloUsage", function()
    local result, err = M.usage()
    if err then return notify(err.message, vim.log.levels.WARN) end
    M.float(card.usage_lines(result), " kilo: usage ")
  end, { desc = "Spend and savings" })
end

function M.setup(opts)
  opts = vim.tbl_deep_extend("force", vim.deepcopy(M.defaults), opts or {})
  M.state.opts = opts
  if vim.fn.has("nvim-0.11") == 0 then
    notify("needs Neovim 0.11 or newer (vim.lsp.config)", vim.log.levels.ERROR)
    return
  end
  vim.lsp.config(M.name, M.lsp_config(opts))
  create_commands()
  if opts.enable then vim.lsp.enable(M.name) end
end

return M
