-- kilo-lsp for Neovim 0.11+: starts the sidecar through vim.lsp.config/vim.lsp.enable and adds
-- :KiloAsk, :KiloNew, :KiloRoute, :KiloExplain, :KiloTier, :KiloDial, :KiloPin, :KiloUsage,
-- :KiloDashboard, :KiloSetKey, :KiloInstall and a statusline component. See :help kilo.
local card = require("kilo.card")
local chats = require("kilo.chat")
local context = require("kilo.context")
local install = require("kilo.install")

local M = {}
M.version = "0.1.0"
M.name = "kilo"

M.defaults = {
  cmd = nil,            -- e.g. { "kilo-lsp", "--stdio" }; nil: kilo-lsp on PATH, else :KiloInstall's
  python = nil,         -- or a Python with kilo-lsp installed: { python, "-m", "kilo_lsp", "--stdio" }
  root_markers = { ".git", "pyproject.toml", "package.json", "go.mod", "Cargo.toml" },
  filetypes = nil,      -- nil: every buffer
  -- the 'kilo' settings section, sent at start and on change: only what is set here (or with
  -- :KiloTier, :KiloDial, :KiloPin). Nothing is sent for what is not set, so the sidecar's own
  -- defaults and the user config file (the dial and tier `kilo-lsp dashboard` writes) apply.
  settings = {},
  complete = {},          -- extra kilo/complete params for :KiloAsk, e.g. { maxTokens = 512, temperature = 0 }
  conversation_id = nil, -- the conversation of previews made outside any chat (nil: the server's default)
  enable = true,         -- call vim.lsp.enable("kilo")
}

--- What the sidecar is told about this plugin's commands, so that its error texts name them.
M.editor_commands = {
  setKey = ":KiloSetKey",
  settings = "require('kilo').setup({ settings = ... })",
}

M.state = {
  status = nil,      -- the last kilo/status
  today = nil,       -- kilo/usage for today (the statusline's spend)
  last_card = nil,
  streams = {},      -- stream id -> stream
  opts = nil,
  server = nil,      -- the last kilo/serverStatus
  keys = {},         -- provider -> key typed with :KiloSetKey, kept in memory only (pushed again after a restart)
  reported = {},     -- what was already reported once (missing sidecar, crash)
}

local function notify(msg, level)
  vim.notify("kilo: " .. msg, level or vim.log.levels.INFO)
end

--- The sidecar's command: `cmd`, else `python -m kilo_lsp`, else kilo-lsp on PATH, else the one
--- :KiloInstall made. The second value is false when that command cannot be found.
function M.command(opts)
  opts = opts or M.state.opts or M.defaults
  if opts.cmd then return opts.cmd, vim.fn.executable(opts.cmd[1]) == 1 end
  if opts.python then return { opts.python, "-m", "kilo_lsp", "--stdio" }, vim.fn.executable(opts.python) == 1 end
  if vim.fn.executable("kilo-lsp") == 1 then return { "kilo-lsp", "--stdio" }, true end
  local installed = install.command()
  if vim.fn.executable(installed) == 1 then return { installed, "--stdio" }, true end
  return { "kilo-lsp", "--stdio" }, false
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
  vim.cmd("redrawstatus!")
end

local function on_chunk(_, params)
  emit("kilo/chunk", params)
  local stream = params and M.state.streams[params.streamId]
  if not stream or stream.done then return end
  if stream.seq and params.seq and params.seq <= stream.seq then return end -- late or repeated
  stream.seq = params.seq
  stream.model = params.model
  stream.on_text(params.text or "")
end

local SHOW_LEVELS = { [1] = vim.log.levels.ERROR, [2] = vim.log.levels.WARN, [3] = vim.log.levels.INFO,
  [4] = vim.log.levels.INFO }

--- window/showMessage through vim.notify with its level (a rejected setting is a warning).
local function on_show_message(_, params)
  if type(params) ~= "table" or type(params.message) ~= "string" then return end
  local message = params.message:gsub("^kilo%-lsp: ", "")
  notify(message, SHOW_LEVELS[params.type] or vim.log.levels.INFO)
end

local function today()
  return os.date("%Y-%m-%d")
end

--- Ask the server for today's spend in this workspace (the statusline), without waiting.
function M.refresh_today()
  local c = M.client()
  if not c or not M.supports("kilo/usage") then return end
  local params = { day = today(), workspaceUri = M.workspace_uri() }
  c:request("kilo/usage", params, function(err, result)
    if not err and type(result) == "table" then
      M.state.today = result
      vim.cmd("redrawstatus!")
    end
  end, 0)
end

--- Push the keys typed in this Neovim again (a restarted sidecar has none).
local function push_keys(client)
  for provider, key in pairs(M.state.keys) do
    M.send_key(client, provider, key, function() end)
  end
end

local function on_init(client)
  M.state.reported.crash = nil
  vim.schedule(function()
    push_keys(client)
    M.refresh_today()
    M.server_status(true)
  end)
end

--- A sidecar that stops by itself is reported once (until one starts again), with what to do.
local function on_exit(code, signal)
  if (code == 0 and (signal or 0) == 0) or M.state.reported.crash then return end
  M.state.reported.crash = true
  vim.schedule(function()
    notify(string.format("kilo-lsp stopped (exit code %s%s). Its log: :LspLog. Start it again with "
      .. ":LspRestart kilo (or reopen the file); if it keeps stopping, run :checkhealth kilo, or reinstall "
      .. "with :KiloInstall.", tostring(code), (signal or 0) ~= 0 and (", signal " .. signal) or ""),
      vim.log.levels.ERROR)
  end)
end

--- A copy of `value` without empty tables (an emptied section, an empty list: nothing set).
local function pruned(value)
  if type(value) ~= "table" or vim.islist(value) then return vim.deepcopy(value) end
  local out = {}
  for k, v in pairs(value) do
    local kept = pruned(v)
    if not (type(kept) == "table" and next(kept) == nil) then out[k] = kept end
  end
  return out
end

--- The 'kilo' settings as the sidecar is sent them: what the user set, and an object ({}) when
--- nothing is (an empty Lua table would go out as a JSON array, which the sidecar ignores).
function M.sidecar_settings(settings)
  local out = pruned(settings or {})
  return next(out) == nil and vim.empty_dict() or out
end

--- The table given to vim.lsp.config("kilo", ...).
function M.lsp_config(opts)
  opts = vim.tbl_deep_extend("force", vim.deepcopy(M.defaults), opts or {})
  local init = pruned(opts.settings)
  init.editorPluginInfo = { name = "kilo-lsp-nvim", version = M.version }
  init.editorCommands = vim.deepcopy(M.editor_commands)
  local markers = opts.root_markers
  return {
    cmd = (M.command(opts)),
    -- Neovim files every stderr line of a server as an error: only errors go there; the rest of
    -- the log comes as window/logMessage, with its level.
    cmd_env = { KILO_STDERR_LEVEL = "error" },
    -- Only real files start the sidecar (not the empty start-up buffer, help or scratch buffers);
    -- the project root is the nearest marker, else the file's folder.
    root_dir = function(bufnr, on_dir)
      local name = vim.api.nvim_buf_get_name(bufnr)
      if name == "" or vim.bo[bufnr].buftype ~= "" then return end
      on_dir(vim.fs.root(bufnr, markers) or vim.fs.dirname(name))
    end,
    filetypes = opts.filetypes,
    init_options = init,
    settings = { kilo = M.sidecar_settings(opts.settings) },
    handlers = { ["kilo/status"] = on_status, ["kilo/chunk"] = on_chunk, ["window/showMessage"] = on_show_message },
    on_init = on_init,
    on_exit = on_exit,
  }
end

function M.client()
  return vim.lsp.get_clients({ name = M.name, bufnr = 0 })[1] or vim.lsp.get_clients({ name = M.name })[1]
end

--- The client once it is ready: right after Neovim starts, a command may come before the sidecar
--- has answered `initialize` (or before it was even spawned for the first file); wait for it a little.
function M.ready(timeout_ms)
  local c = M.client()
  if c and c.initialized then return c end
  local _, found = M.command()
  if not found or (not c and not context.is_file(vim.api.nvim_get_current_buf())) then return c end
  vim.wait(timeout_ms or 10000, function()
    c = M.client()
    return c ~= nil and (c.initialized or c:is_stopped())
  end, 20)
  return c
end

--- The kilo capabilities the running server announced (experimental.kilo), or nil.
function M.capabilities()
  local c = M.ready()
  local exp = c and c.server_capabilities and c.server_capabilities.experimental
  return exp and exp.kilo or nil
end

function M.supports(method)
  local caps = M.capabilities()
  return caps ~= nil and vim.tbl_contains(caps.requests or {}, method)
end

local function not_running()
  local _, found = M.command()
  if not found then
    return "kilo-lsp is not installed: run :KiloInstall (or see :checkhealth kilo)"
  end
  return "kilo-lsp is not running: open a file of a project (see :checkhealth kilo)"
end

--- A blocking request: returns result, err (err is a table with code and message).
function M.request_sync(method, params, timeout_ms)
  local c = M.ready()
  if not c then return nil, { code = -1, message = not_running() } end
  local resp, err = c:request_sync(method, params or vim.empty_dict(), timeout_ms or 10000, 0)
  if not resp then return nil, { code = -1, message = tostring(err) } end
  if resp.err then return nil, resp.err end
  return resp.result, nil
end

--- How often kilo/serverStatus is asked again while no model is callable (milliseconds).
M.server_poll_ms = 10000

--- kilo/serverStatus (providers, local servers, models, settings problems), kept for completion.
--- `async`: ask without waiting (the answer is kept for next time).
function M.server_status(async)
  if not M.supports("kilo/serverStatus") then return nil end
  if async then
    local c = M.client()
    if c then
      c:request("kilo/serverStatus", vim.empty_dict(), function(err, result)
        if err then return end
        M.state.server = result
        vim.cmd("redrawstatus!")
        -- nothing callable: ask again in a while, so that a local server started later (or a key
        -- set outside the editor) clears the statusline's "no model callable"
        if type(result) == "table" and result.callableModels == 0 and not M.state.server_poll then
          M.state.server_poll = true
          vim.defer_fn(function()
            M.state.server_poll = nil
            if not c:is_stopped() then M.server_status(true) end
          end, M.server_poll_ms)
        end
      end, 0)
    end
    return M.state.server
  end
  local result = M.request_sync("kilo/serverStatus", vim.empty_dict(), 3000)
  if result then M.state.server = result end
  return M.state.server
end

--- The workspace folder (URI) of the current buffer's kilo client: sessions are kept per folder.
function M.workspace_uri()
  local c = M.client()
  return c and c.root_dir and vim.uri_from_fname(c.root_dir) or nil
end

--- The file a request is about: the current buffer, or, from a chat, the file the chat was last about.
local function source_buffer()
  local cur = vim.api.nvim_get_current_buf()
  local chat = chats.of_buf(cur)
  if chat then
    local src = chat.source
    return (src and vim.api.nvim_buf_is_valid(src)) and src or nil, chat
  end
  return cur, nil
end

local function request_params(text, chat, ctx, extra)
  local params = { text = text, workspaceUri = M.workspace_uri(), context = ctx }
  if chat then
    params.conversationId = chat.conversation_id
    if #chat.turns > 0 then params.turns = vim.deepcopy(chat.turns) end
  elseif M.state.opts and M.state.opts.conversation_id then
    params.conversationId = M.state.opts.conversation_id
  end
  return vim.tbl_extend("force", params, extra or {})
end

--- Which model would answer `text`, and why: a preview (dryRun: it does not count as a turn of the
--- conversation, nor change its model). Uses the current (or shown) chat's conversation and turns and
--- the context of the file the user is in. `args`: a user command's range arguments.
function M.route(text, extra, args)
  local src, chat = source_buffer()
  chat = chat or chats.visible()
  local ctx = src and context.capture(src, args and not chats.of_buf(vim.api.nvim_get_current_buf()) and args or nil)
  local result, err = M.request_sync("kilo/route", request_params(text, chat, ctx,
    vim.tbl_extend("force", { dryRun = true }, extra or {})))
  if result then M.state.last_card = result end
  return result, err
end

function M.explain()
  local chat = chats.of_buf(vim.api.nvim_get_current_buf()) or chats.visible()
  local params = { workspaceUri = M.workspace_uri() }
  if chat then
    params.conversationId = chat.conversation_id
  elseif M.state.opts and M.state.opts.conversation_id then
    params.conversationId = M.state.opts.conversation_id
  end
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

--- Change a setting (e.g. "routing.tier"; nil removes it) and tell the server
--- (workspace/didChangeConfiguration).
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
    c.settings = { kilo = M.sidecar_settings(opts.settings) } -- what Neovim answers to workspace/configuration
    c:notify("workspace/didChangeConfiguration", { settings = c.settings })
  end
end

function M.statusline()
  return card.status(M.state.status, M.state.today, M.state.server)
end

--- Ask in a chat: the answer (kilo/complete) streams into the chat's split. The context is read from
--- the buffer the user is in (with the selection of `opts.args`, a user command's range) before the
--- split opens; from a chat, the file it was last about. opts: args, new (a new conversation),
--- extra (more kilo/complete params). Returns the stream id and the stream: { chat, chunks, seq,
--- done, outcome ("done", "cancelled", "error"), result, err, params }.
function M.ask(text, opts)
  opts = opts or {}
  if not M.ready() then
    notify(not_running(), vim.log.levels.ERROR)
    return nil
  end
  if not M.supports("kilo/complete") then
    notify("this kilo-lsp has no kilo/complete yet; :KiloRoute shows which model would answer. "
      .. "Upgrade it with :KiloInstall", vim.log.levels.WARN)
    return nil
  end
  local c = M.client()
  local src, chat = source_buffer()
  local from_chat = chat ~= nil
  local ctx, where
  if src then ctx, where = context.capture(src, not from_chat and opts.args or nil) end
  if opts.new or not chat then
    chat = (not opts.new and chats.visible()) or chats.new()
  end
  if chat.stream and not chat.stream.done then
    notify("an answer is still streaming in this chat (<C-c> there cancels it; :KiloNew starts another chat)",
      vim.log.levels.WARN)
    return nil
  end
  if src and ctx then chat.source = src end
  chats.show(chat, opts.new)
  local lines = chats.question_lines(text, where)
  local n = vim.api.nvim_buf_line_count(chat.buf)
  if n > 1 and vim.api.nvim_buf_get_lines(chat.buf, n - 1, n, false)[1] ~= "" then table.insert(lines, 1, "") end
  chats.append(chat, lines)

  local stream_id = string.format("%s-%d", chat.conversation_id, math.floor(#chat.turns / 2) + 1)
  local stream = { id = stream_id, chat = chat, chunks = {}, text = text }
  function stream.on_text(t)
    table.insert(stream.chunks, t)
    chats.stream_text(chat, t)
  end
  local function finish(outcome, tail)
    if stream.done then return end
    stream.done, stream.outcome = true, outcome
    M.state.streams[stream_id] = nil
    if stream.autocmd then pcall(vim.api.nvim_del_autocmd, stream.autocmd) end
    if #stream.chunks == 0 then chats.drop_empty_last(chat) end
    chats.append(chat, tail)
    if outcome == "done" then M.refresh_today() end
  end
  chat.stream = stream
  M.state.streams[stream_id] = stream
  M.state.last_stream = stream
  local defaults = (M.state.opts or M.defaults).complete or {}
  local params = request_params(text, chat, ctx, vim.tbl_extend("force", defaults, opts.extra or {},
    { streamId = stream_id }))
  stream.params = params
  local _, request_id = c:request("kilo/complete", params, function(err, result)
    if err then
      stream.err = err
      return finish("error", { "", "error: " .. (err.message or vim.inspect(err)), "" })
    end
    stream.result = result
    -- a server that sent no kilo/chunk (or chunks for another id): the result has the whole text
    if #stream.chunks == 0 and type(result.text) == "string" and result.text ~= "" then stream.on_text(result.text) end
    if type(result.card) == "table" then M.state.last_card = result.card end
    if type(result.text) == "string" and result.text ~= "" then
      table.insert(chat.turns, { role = "user", content = text })
      table.insert(chat.turns, { role = "assistant", content = result.text })
    end
    finish("done", { "", card.footer(result), "" })
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
          finish("cancelled", { "", "(cancelled)", "" })
          notify("answer cancelled")
        end)
      end
    end,
  })
  function stream.cancel()
    if stream.done or stream.cancelling then return end
    stream.cancelling = true
    c:cancel_request(request_id)
    vim.defer_fn(function() -- a server that never acknowledges: stop waiting for it
      if not stream.done then
        finish("cancelled", { "", "(cancelled; the server did not acknowledge)", "" })
        notify("answer cancelled")
      end
    end, 5000)
  end
  vim.keymap.set("n", "<C-c>", function()
    if chat.stream then chat.stream.cancel() end
  end, { buffer = chat.buf, desc = "kilo: cancel the answer" })
  vim.keymap.set("n", "q", function()
    if chat.stream then chat.stream.cancel() end
    vim.cmd("close")
  end, { buffer = chat.buf, nowait = true, desc = "kilo: cancel and close the chat" })
  return stream_id, stream
end

--- Start a new conversation in a chat split of its own (in place of the one shown, if any), and
--- ask `text` there when given.
function M.new_chat(text, args)
  if text and text ~= "" then return M.ask(text, { args = args, new = true }) end
  local src = source_buffer()
  local chat = chats.new()
  if src then chat.source = src end
  chats.show(chat, true)
  chats.append(chat, { "(a new conversation: :KiloAsk {question})", "" })
  return chat
end

--- kilo/usage for all time and for today in this workspace: result, today, err.
function M.usage()
  if not M.supports("kilo/usage") then
    return nil, nil, { code = -1, message = "this kilo-lsp has no kilo/usage yet; upgrade it with :KiloInstall" }
  end
  local all, err = M.request_sync("kilo/usage", { workspaceUri = M.workspace_uri() })
  if err then return nil, nil, err end
  local day, err2 = M.request_sync("kilo/usage", { workspaceUri = M.workspace_uri(), day = today() })
  if day then M.state.today = day end
  return all, day, err2
end

-- -- keys ------------------------------------------------------------------------------------

--- kilo/setCredentials, with Neovim's LSP log kept above debug while the key is on its way (at
--- debug level it would log every message it sends, the key with it).
function M.send_key(client, provider, key, callback)
  local log = vim.lsp.log
  local level = log.get_level()
  if level < vim.log.levels.INFO then log.set_level(vim.log.levels.INFO) end
  local ok = pcall(client.request, client, "kilo/setCredentials", { provider = provider, apiKey = key },
    function(err, result) callback(err, result) end, 0)
  log.set_level(level)
  if not ok then callback({ message = "the request could not be sent" }, nil) end
end

-- -- the dashboard ------------------------------------------------------------------------------

M.dashboard_pages = { "usage", "leaderboard", "decisions", "settings" }

--- kilo/dashboard: the URL of the dashboard the sidecar serves (`page`: one of dashboard_pages, or
--- nil for usage). `decisions` from a chat that has asked something (or with one shown) opens that
--- conversation's decisions.
--- The URL holds an access token: the LSP log is kept above debug level while it comes back (at
--- debug level Neovim logs every message it receives). Returns url, err.
function M.dashboard_url(page)
  if page and not vim.tbl_contains(M.dashboard_pages, page) then
    return nil, { code = -1, message = string.format("no dashboard page '%s'; there are: %s", page,
      table.concat(M.dashboard_pages, ", ")) }
  end
  if not M.supports("kilo/dashboard") then
    return nil, { code = -1, message = "this kilo-lsp has no dashboard yet; upgrade it with :KiloInstall" }
  end
  local params = { page = page, workspaceUri = M.workspace_uri() }
  local chat = chats.of_buf(vim.api.nvim_get_current_buf()) or chats.visible()
  -- a chat that has asked something has decisions to show; before that, the workspace's list
  if page == "decisions" and chat and #chat.turns > 0 and params.workspaceUri then
    params.conversationId = chat.conversation_id
  end
  local log = vim.lsp.log
  local level = log.get_level()
  if level < vim.log.levels.INFO then log.set_level(vim.log.levels.INFO) end
  local ok, result, err = pcall(M.request_sync, "kilo/dashboard", params, 15000)
  log.set_level(level)
  if not ok then return nil, { code = -1, message = tostring(result) } end
  if err then return nil, err end
  return result.url, nil
end

--- :KiloDashboard [page]: opens the dashboard in the browser with vim.ui.open (Neovim 0.10+); where
--- that cannot open it, shows the URL in a float to copy (not in :messages, it holds a token).
--- Returns "opened" or "shown", or nil and the error.
function M.dashboard(page)
  local url, err = M.dashboard_url(page)
  if not url then return nil, err end
  if vim.ui.open then
    local ok, cmd = pcall(vim.ui.open, url)
    -- the opener (xdg-open, open, ...) fails at once when there is no browser: wait that long
    local done = ok and cmd and cmd.wait and cmd:wait(2000) or nil
    if ok and cmd and not (done and done.code ~= 0) then
      notify("dashboard opened in the browser")
      return "opened"
    end
  end
  M.float({ "Open this address in a browser on this machine", "(it holds an access token: do not share it):", "",
    url }, " kilo: dashboard ")
  return "shown"
end

--- The providers the server takes keys for (kilo/serverStatus), as { name, label, keySet }.
function M.providers()
  local status = M.server_status()
  return status and status.providers or {}
end

--- :KiloSetKey: the key is typed at a hidden prompt and goes only to the sidecar, which keeps it
--- in memory; it is never written to a file. `forget`: drop the key set from the editor.
function M.set_key(provider, forget)
  local c = M.ready()
  if not c then return notify(not_running(), vim.log.levels.ERROR) end
  local providers = M.providers()
  local by = {}
  for _, p in ipairs(providers) do by[p.name] = p end
  local function with(name)
    local p = by[name]
    if not p then
      local names = vim.tbl_map(function(x) return x.name end, providers)
      return notify(string.format("the sidecar takes no key for '%s'; it takes: %s", name,
        table.concat(names, ", ")), vim.log.levels.ERROR)
    end
    local key = ""
    if not forget then
      local ok, typed = pcall(vim.fn.inputsecret, string.format("API key for %s: ", p.label))
      key = ok and vim.trim(typed or "") or ""
      if key == "" then return notify("no key typed; nothing changed") end
    end
    M.send_key(c, name, key, function(err, result)
      if err then return notify("the key was refused: " .. (err.message or "?"), vim.log.levels.ERROR) end
      M.state.keys[name] = (key ~= "" and key) or nil
      notify(forget and string.format("key for %s forgotten; %d models callable", p.label, result.callableModels)
        or string.format("key for %s set (%s), for this session; %d models callable", p.label, result.apiKey,
          result.callableModels))
      M.server_status(true)
    end)
  end
  if provider and provider ~= "" then return with(provider) end
  vim.ui.select(providers, {
    prompt = "Provider:",
    format_item = function(p) return p.label .. (p.keySet and "  (key set)" or "") end,
  }, function(choice) if choice then with(choice.name) end end)
end

-- -- settings checked against the server -----------------------------------------------------

local function choices(kind)
  local caps = M.capabilities() or {}
  if kind == "tier" then return caps.tiers or { "efficient", "balanced", "frontier", "free" } end
  if kind == "dial" then return caps.dials or { "bill", "bar" } end
  local status = M.state.server or M.server_status()
  return vim.tbl_map(function(m) return m.id end, status and status.models or {})
end

--- Is `value` one the server takes for `kind` (tier, dial, model)? Else the message to show.
function M.check(kind, value)
  local list = choices(kind)
  if kind == "model" and #list == 0 then return true end -- an old server: it says so itself
  if vim.tbl_contains(list, value) then return true end
  local near = vim.tbl_filter(function(x) return x:find(value, 1, true) ~= nil end, list)
  local hint = #near > 0 and ("did you mean: " .. table.concat(vim.list_slice(near, 1, 5), ", "))
    or ("it takes: " .. table.concat(vim.list_slice(list, 1, 12), ", ") .. (#list > 12 and ", …" or ""))
  return false, string.format("unknown %s '%s'; %s", kind, value, hint)
end

local function complete_from(kind)
  return function(lead)
    return vim.tbl_filter(function(x) return x:find(lead, 1, true) == 1 end, choices(kind))
  end
end

local function set_checked(kind, path, value, shown)
  local ok, message = M.check(kind, value)
  if not ok then return notify(message, vim.log.levels.ERROR) end
  M.set(path, value)
  notify(shown)
end

-- -- commands -------------------------------------------------------------------------------

local function ask_command(new)
  return function(args)
    local text = args.args
    local go = function(t)
      if not t or t == "" then return end
      if new then M.new_chat(t, args) else M.ask(t, { args = args }) end
    end
    if text ~= "" or (new and args.range == 0) then
      if new and text == "" then return M.new_chat() end
      return go(text)
    end
    local what = args.range > 0 and string.format(" about lines %d-%d", args.line1, args.line2) or ""
    vim.ui.input({ prompt = "Ask kilo" .. what .. ": " }, go)
  end
end

local function create_commands()
  local cmd = vim.api.nvim_create_user_command
  cmd("KiloRoute", function(args)
    local text = args.args
    if text == "" then text = args.range > 0 and "Explain the selected code" or vim.fn.input("Route: ") end
    if text == "" then return end
    local result, err = M.route(text, nil, args)
    if err then return notify(err.message or vim.inspect(err), vim.log.levels.ERROR) end
    M.float(card.lines(result), " kilo: " .. result.model .. " (preview) ")
  end, { nargs = "*", range = true, desc = "Which model kilo-lsp would pick for a request, and why (a preview)" })
  cmd("KiloExplain", function()
    local result, err = M.explain()
    if err then return notify(err.message, vim.log.levels.ERROR) end
    M.float(card.lines(result), " kilo: last decision ")
  end, { desc = "Show the last decision card of this chat" })
  cmd("KiloAsk", ask_command(false), { nargs = "*", range = true,
    desc = "Ask about the file (and selection) you are in; the answer streams into this chat" })
  cmd("KiloNew", ask_command(true), { nargs = "*", range = true, desc = "Start a new conversation" })
  cmd("KiloTier", function(args)
    set_checked("tier", "routing.tier", args.args, "tier " .. args.args)
  end, { nargs = 1, complete = complete_from("tier"), desc = "efficient, balanced, frontier or free" })
  cmd("KiloDial", function(args)
    set_checked("dial", "routing.dial", args.args, "dial " .. args.args)
  end, { nargs = 1, complete = complete_from("dial"), desc = "bill or bar" })
  cmd("KiloPin", function(args)
    if args.bang or args.args == "" then
      M.set("routing.pin", nil)
      return notify("unpinned: routing")
    end
    set_checked("model", "routing.pin", args.args, "pinned " .. args.args)
  end, { nargs = "?", bang = true, complete = complete_from("model"),
    desc = ":KiloPin {model} pins a model; :KiloPin! unpins" })
  cmd("KiloUsage", function()
    local all, day, err = M.usage()
    if err then return notify(err.message, vim.log.levels.WARN) end
    M.float(card.usage_lines(all, day, today()), " kilo: usage ")
  end, { desc = "Spend and savings, today and in all" })
  cmd("KiloDashboard", function(args)
    local _, err = M.dashboard(args.args ~= "" and args.args or nil)
    if err then notify(err.message or vim.inspect(err), vim.log.levels.ERROR) end
  end, { nargs = "?", desc = "Open the dashboard: usage (default), leaderboard, decisions (of this chat) or settings",
    complete = function(lead)
      return vim.tbl_filter(function(x) return x:find(lead, 1, true) == 1 end, M.dashboard_pages)
    end })
  cmd("KiloSetKey", function(args)
    M.set_key(args.args, args.bang)
  end, { nargs = "?", bang = true, desc = "Type an API key for a provider (kept in memory, never written)",
    complete = function(lead)
      return vim.tbl_filter(function(x) return x:find(lead, 1, true) == 1 end,
        vim.tbl_map(function(p) return p.name end, M.providers()))
    end })
  cmd("KiloInstall", function()
    install.run({ on_done = function(ok) if ok then M.after_install() end end })
  end, { desc = "Install kilo-lsp from this plugin's checkout into ~/.local/share/kilo-lsp/venv" })
end

--- After :KiloInstall: use the installed sidecar (start it, or restart a running one).
function M.after_install()
  local opts = M.state.opts or vim.deepcopy(M.defaults)
  M.state.reported = {}
  vim.lsp.config(M.name, M.lsp_config(opts))
  for _, c in ipairs(vim.lsp.get_clients({ name = M.name })) do c:stop() end
  if opts.enable then
    vim.lsp.enable(M.name, false)
    vim.lsp.enable(M.name)
  end
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
  local cmd, found = M.command(opts)
  if not found then
    -- said once, here: Neovim would otherwise fail to spawn it for every file, silently
    if not M.state.reported.missing then
      M.state.reported.missing = true
      -- after start-up: said from setup() in init.lua, an error would read as one in the user's init.lua
      vim.schedule(function() notify(string.format("%s not found. Run :KiloInstall to install kilo-lsp from this plugin's checkout "
        .. "(into %s), or install it as the README says; :checkhealth kilo has the details.", cmd[1],
        install.venv()), vim.log.levels.ERROR) end)
    end
    return
  end
  if opts.enable then vim.lsp.enable(M.name) end
end

return M
