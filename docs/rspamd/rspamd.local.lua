-- /etc/rspamd/rspamd.local.lua
-- Vouch: every message rspamd rejects or marks as spam is handed to the
-- local node, which reports the host that sent it. (An idempotent rule
-- rather than the metadata exporter, which skips messages a pre-result
-- decided, GTUBE among them, so a recipe built on it could not be tested.)
local rspamd_http = require "rspamd_http"
local rspamd_logger = require "rspamd_logger"

local VOUCH_URL = "http://127.0.0.1:7701/v1/report/message?source=rspamd"
-- A copy of the node's api.token that rspamd's user may read.
local VOUCH_TOKEN_FILE = "/etc/rspamd/vouch.token"

local SPAM = { ["reject"] = true, ["add header"] = true, ["rewrite subject"] = true }

local function token()
  local file = io.open(VOUCH_TOKEN_FILE, "r")
  if not file then
    return nil
  end
  local value = file:read("*l")
  file:close()
  return value
end

rspamd_config:register_symbol({
  name = "VOUCH_REPORT",
  type = "idempotent",
  -- Also after a pre-result (GTUBE, a reject by a prefilter).
  flags = "empty,ignore_passthrough",
  callback = function(task)
    if not SPAM[task:get_metric_action()] then
      return
    end
    local bearer = token()
    if not bearer then
      rspamd_logger.errx(task, "vouch: cannot read %s", VOUCH_TOKEN_FILE)
      return
    end
    rspamd_http.request({
      task = task,
      url = VOUCH_URL,
      body = task:get_content(),
      mime_type = "message/rfc822",
      headers = { ["Authorization"] = "Bearer " .. bearer },
      timeout = 5.0,
      callback = function(err, code)
        -- 422: nothing to report (every hop is the operator's own).
        if err or (code ~= 200 and code ~= 422) then
          rspamd_logger.errx(task, "vouch: the node answered %s %s", err, code)
        end
      end,
    })
  end,
})
