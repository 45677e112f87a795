-- :KiloInstall: make the sidecar's environment from the plugin's own checkout of kilo-lsp, the way
-- the README's "Install" does: a virtualenv in ~/.local/share/kilo-lsp/venv ($XDG_DATA_HOME) and
-- `pip install` of the checkout into it. The plugin then finds `kilo-lsp` there.
local M = {}

--- The root of the kilo-lsp checkout this plugin lives in (editors/neovim/lua/kilo/ -> four up).
function M.checkout()
  local here = debug.getinfo(1, "S").source:sub(2)
  local root = vim.fn.fnamemodify(here, ":p:h:h:h:h:h")
  local pyproject = root .. "/pyproject.toml"
  if vim.fn.filereadable(pyproject) == 1 then
    for _, line in ipairs(vim.fn.readfile(pyproject, "", 20)) do
      if line:match('^name%s*=%s*"kilo%-lsp"') then return root end
    end
  end
  return nil
end

--- The environment the sidecar is installed into, and where its command is.
function M.venv()
  local data = os.getenv("XDG_DATA_HOME")
  if not data or data == "" then data = vim.fs.joinpath(vim.uv.os_homedir(), ".local", "share") end
  return vim.fs.joinpath(data, "kilo-lsp", "venv")
end

function M.command()
  local exe = vim.fs.joinpath(M.venv(), "bin", "kilo-lsp")
  if vim.fn.has("win32") == 1 then exe = vim.fs.joinpath(M.venv(), "Scripts", "kilo-lsp.exe") end
  return exe
end

local function tail(text, n)
  local lines = vim.split(vim.trim(text or ""), "\n", { plain = true })
  return table.concat(vim.list_slice(lines, math.max(1, #lines - (n or 6) + 1)), "\n")
end

--- The steps of an install: { title, argv } each.
function M.steps(python, root, venv)
  local bin = vim.fs.joinpath(venv, vim.fn.has("win32") == 1 and "Scripts" or "bin")
  return {
    { "checking Python (3.11 or newer)", { python, "-c",
      "import sys; sys.exit(0 if sys.version_info >= (3, 11) else 'kilo-lsp needs Python 3.11 or newer, this is ' + sys.version.split()[0])" } },
    { "creating " .. venv, { python, "-m", "venv", venv } },
    { "installing kilo-lsp from " .. root .. " (pip)", { vim.fs.joinpath(bin, "python"), "-m", "pip", "install",
      "--disable-pip-version-check", "--upgrade", root } },
    { "checking the sidecar", { vim.fs.joinpath(bin, "kilo-lsp"), "--version" } },
  }
end

--- Run the install. opts: python (default "python3"), wait (block until done: lazy.nvim's build
--- step), on_done(ok, message). Progress and the outcome are shown with vim.notify; a failure
--- says which step failed and the end of its output.
function M.run(opts)
  opts = opts or {}
  local notify = function(msg, level) vim.notify("kilo: " .. msg, level or vim.log.levels.INFO) end
  local root = opts.root or M.checkout()
  if not root then
    local msg = "cannot find the kilo-lsp checkout around this plugin; install the sidecar as README.md says"
    notify(msg, vim.log.levels.ERROR)
    if opts.on_done then opts.on_done(false, msg) end
    return false, msg
  end
  local python = opts.python or (vim.fn.executable("python3") == 1 and "python3" or "python")
  local venv = opts.venv or M.venv()
  local steps = M.steps(python, root, venv)
  local finished, outcome, message = false, false, nil
  local function finish(ok, msg)
    finished, outcome, message = true, ok, msg
    notify(msg, ok and vim.log.levels.INFO or vim.log.levels.ERROR)
    if opts.on_done then opts.on_done(ok, msg) end
  end
  local function step(i)
    if i > #steps then
      return finish(true, "kilo-lsp installed in " .. venv .. " (" .. vim.trim(message or "") .. ")")
    end
    local title, argv = steps[i][1], steps[i][2]
    notify(string.format("installing (%d/%d): %s…", i, #steps, title))
    local ok, err = pcall(vim.system, argv, { text = true }, function(res)
      vim.schedule(function()
        if res.code ~= 0 then
          return finish(false, string.format("install failed at %s (exit %d):\n%s", title, res.code,
            tail((res.stderr or "") .. "\n" .. (res.stdout or ""))))
        end
        message = res.stdout
        step(i + 1)
      end)
    end)
    if not ok then finish(false, string.format("install failed at %s: %s", title, tostring(err))) end
  end
  step(1)
  if opts.wait then
    vim.wait(15 * 60 * 1000, function() return finished end, 100)
  end
  return outcome, message
end

return M
