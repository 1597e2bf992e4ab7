-- One reading per request, each with its own event time, sent with a device token (DK).
-- BASE: the first event time in epoch ms. DELAY_MS (optional): each connection waits this long
-- before each request, which turns wrk's closed loop into a fixed offered rate.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("DK")
local n = 0
local base = tonumber(os.getenv("BASE"))
local pause = tonumber(os.getenv("DELAY_MS") or "")
request = function()
  n = n + 1
  return wrk.format(nil, nil, nil, '{"ts":' .. (base + n) .. ',"seq":' .. n .. ',"heart_rate":92.5}')
end
if pause then
  delay = function() return pause end
end
