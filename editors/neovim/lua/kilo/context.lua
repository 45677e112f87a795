-- What the user is looking at, as a kilo EditorContext: the file, its language, the selection (any
-- number of lines, or part of a line), the selected text and the diagnostics. Read from the
-- buffer the user was in, before any kilo window opens.
local M = {}

local MAX_DIAGNOSTICS = 50

--- The UTF-16 column (LSP's default position encoding) of a byte column of a line.
local function utf16(line, byte_col)
  byte_col = math.max(0, math.min(byte_col, #line))
  local ok, col = pcall(vim.str_utfindex, line, "utf-16", byte_col, false)
  if ok and col then return col end
  return byte_col
end

--- Is `buf` a file the sidecar knows (a named, normal buffer)?
function M.is_file(buf)
  return vim.api.nvim_buf_is_valid(buf) and vim.bo[buf].buftype == "" and vim.api.nvim_buf_get_name(buf) ~= ""
end

--- The selection of a command's range. `args` is a user command's argument table (range, line1,
--- line2); a range that matches the last visual selection keeps its columns (a characterwise
--- selection), any other range takes whole lines. Returns { start = {line, character}, end = {...} }
--- (0-based, end exclusive) and the selected text, or nil without a range.
function M.selection(buf, args)
  if not args or (args.range or 0) == 0 then return nil end
  local l1, l2 = args.line1, args.line2
  local lines = vim.api.nvim_buf_get_lines(buf, l1 - 1, l2, false)
  local vs, ve = vim.api.nvim_buf_get_mark(buf, "<"), vim.api.nvim_buf_get_mark(buf, ">")
  local mode = vim.fn.visualmode()
  if args.range == 2 and vs[1] == l1 and ve[1] == l2 and mode == "v" and #lines > 0 then
    local first, last = lines[1], lines[#lines]
    local end_byte = math.min(#last, ve[2] + 1)
    -- the last character may be several bytes long
    if end_byte < #last then
      local ok, n = pcall(vim.str_utf_end, last, end_byte)
      if ok and n then end_byte = end_byte + n end
    end
    local text_lines = vim.deepcopy(lines)
    text_lines[#text_lines] = last:sub(1, end_byte)
    text_lines[1] = text_lines[1]:sub(vs[2] + 1)
    return {
      start = { line = l1 - 1, character = utf16(first, vs[2]) },
      ["end"] = { line = l2 - 1, character = utf16(last, end_byte) },
    }, table.concat(text_lines, "\n")
  end
  return { start = { line = l1 - 1, character = 0 }, ["end"] = { line = l2, character = 0 } },
    table.concat(lines, "\n") .. "\n"
end

local function diagnostics(buf, uri)
  local out, counts = {}, { errors = 0, warnings = 0 }
  local items = vim.diagnostic.get(buf)
  table.sort(items, function(a, b) return (a.severity or 4) < (b.severity or 4) end)
  for _, d in ipairs(items) do
    if d.severity == vim.diagnostic.severity.ERROR then counts.errors = counts.errors + 1 end
    if d.severity == vim.diagnostic.severity.WARN then counts.warnings = counts.warnings + 1 end
    if #out < MAX_DIAGNOSTICS then
      local line = vim.api.nvim_buf_get_lines(buf, d.lnum, d.lnum + 1, false)[1] or ""
      local end_lnum = d.end_lnum or d.lnum
      local end_line = end_lnum == d.lnum and line or (vim.api.nvim_buf_get_lines(buf, end_lnum, end_lnum + 1, false)[1] or "")
      table.insert(out, {
        message = d.message, severity = d.severity or 1, uri = uri,
        range = { start = { line = d.lnum, character = utf16(line, d.col or 0) },
                  ["end"] = { line = end_lnum, character = utf16(end_line, d.end_col or d.col or 0) } },
      })
    end
  end
  return out, counts
end

--- The EditorContext of buffer `buf` (and the selection of `args`, a user command's arguments).
--- Also returns a short description for the chat ("app.py, lines 4-6"). nil for a buffer that is no
--- file (a chat, help, a scratch buffer).
function M.capture(buf, args)
  if not M.is_file(buf) then return nil end
  local uri = vim.uri_from_bufnr(buf)
  local ctx = { activeUri = uri }
  if vim.bo[buf].filetype ~= "" then ctx.languageId = vim.bo[buf].filetype end
  local range, text = M.selection(buf, args)
  local where = vim.fn.fnamemodify(vim.api.nvim_buf_get_name(buf), ":t")
  if range then
    ctx.selection, ctx.selectedText = range, text
    local last = range["end"].character == 0 and range["end"].line or range["end"].line + 1
    where = where .. (range.start.line + 1 == last and string.format(", line %d", last)
      or string.format(", lines %d-%d", range.start.line + 1, last))
  end
  local diags, counts = diagnostics(buf, uri)
  if #diags > 0 then ctx.diagnostics = diags end
  ctx.diagnosticCounts = counts
  return ctx, where
end

return M
