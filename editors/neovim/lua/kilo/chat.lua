-- Chat splits: one conversation each (its own conversationId and its turns), shown in a scratch
-- buffer `kilo://chat/N`. The answer of the latest question streams in at the end of the buffer.
local M = { by_buf = {}, count = 0 }

--- A new chat (its buffer is not shown yet).
function M.new()
  M.count = M.count + 1
  local buf = vim.api.nvim_create_buf(false, true)
  vim.bo[buf].buftype, vim.bo[buf].bufhidden, vim.bo[buf].swapfile = "nofile", "hide", false
  vim.bo[buf].filetype = "markdown"
  pcall(vim.api.nvim_buf_set_name, buf, "kilo://chat/" .. M.count)
  local chat = {
    n = M.count, buf = buf, turns = {}, stream = nil, source = nil,
    conversation_id = string.format("nvim-%d-chat-%d", vim.fn.getpid(), M.count),
  }
  M.by_buf[buf] = chat
  vim.api.nvim_create_autocmd("BufWipeout", { buffer = buf, once = true, callback = function()
    if chat.stream and not chat.stream.done and chat.stream.cancel then chat.stream.cancel() end
    M.by_buf[buf] = nil
  end })
  return chat
end

function M.of_buf(buf)
  return M.by_buf[buf]
end

--- The chat shown in a window of the current tab page (the current window's first), or nil.
function M.visible()
  local cur = vim.api.nvim_get_current_win()
  local chat = M.by_buf[vim.api.nvim_win_get_buf(cur)]
  if chat then return chat, cur end
  for _, win in ipairs(vim.api.nvim_tabpage_list_wins(0)) do
    chat = M.by_buf[vim.api.nvim_win_get_buf(win)]
    if chat then return chat, win end
  end
  return nil
end

--- Show `chat` in a split at the bottom (or in the window of the chat shown in this tab page, when
--- `replace`), and make it the current window. Returns the window.
function M.show(chat, replace)
  for _, win in ipairs(vim.api.nvim_tabpage_list_wins(0)) do
    if vim.api.nvim_win_get_buf(win) == chat.buf then
      vim.api.nvim_set_current_win(win)
      return win
    end
  end
  local _, win = M.visible()
  if not (replace and win) then
    vim.cmd("botright split")
    win = vim.api.nvim_get_current_win()
  end
  vim.api.nvim_win_set_buf(win, chat.buf)
  vim.api.nvim_set_current_win(win)
  vim.wo[win].wrap, vim.wo[win].linebreak = true, true
  return win
end

local function scroll(chat)
  for _, win in ipairs(vim.api.nvim_list_wins()) do
    if vim.api.nvim_win_get_buf(win) == chat.buf then
      pcall(vim.api.nvim_win_set_cursor, win, { vim.api.nvim_buf_line_count(chat.buf), 0 })
    end
  end
end

--- Append lines (each may hold newlines) at the end of the chat.
function M.append(chat, lines)
  if not vim.api.nvim_buf_is_valid(chat.buf) then return end
  local split = {}
  for _, l in ipairs(lines) do vim.list_extend(split, vim.split(l, "\n", { plain = true })) end
  local n = vim.api.nvim_buf_line_count(chat.buf)
  local first = vim.api.nvim_buf_get_lines(chat.buf, 0, 1, false)[1]
  local last = vim.api.nvim_buf_get_lines(chat.buf, n - 1, n, false)[1]
  if last == "" and split[1] == "" and n > 1 then table.remove(split, 1) end  -- one blank line between blocks
  if n == 1 and first == "" then
    vim.api.nvim_buf_set_lines(chat.buf, 0, 1, false, split)
  else
    vim.api.nvim_buf_set_lines(chat.buf, n, n, false, split)
  end
  scroll(chat)
end

--- Drop the last line when it is empty (the line an answer that never came would have filled).
function M.drop_empty_last(chat)
  if not vim.api.nvim_buf_is_valid(chat.buf) then return end
  local n = vim.api.nvim_buf_line_count(chat.buf)
  if n > 1 and vim.api.nvim_buf_get_lines(chat.buf, n - 1, n, false)[1] == "" then
    vim.api.nvim_buf_set_lines(chat.buf, n - 1, n, false, {})
  end
end

--- Add streamed text to the last line of the chat (text may hold newlines).
function M.stream_text(chat, text)
  if not vim.api.nvim_buf_is_valid(chat.buf) then return end
  local last = vim.api.nvim_buf_line_count(chat.buf)
  local cur = vim.api.nvim_buf_get_lines(chat.buf, last - 1, last, false)[1] or ""
  vim.api.nvim_buf_set_lines(chat.buf, last - 1, last, false, vim.split(cur .. text, "\n", { plain = true }))
  scroll(chat)
end

--- The lines that open a question in the chat: the question quoted, and what it is about.
function M.question_lines(text, where)
  local out = {}
  for _, l in ipairs(vim.split(text, "\n", { plain = true })) do table.insert(out, "> " .. l) end
  if where then table.insert(out, "> [" .. where .. "]") end
  table.insert(out, "")
  table.insert(out, "")
  return out
end

return M
