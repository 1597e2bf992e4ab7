-- One reading per request, each with its own event time, sent with a device token (DK: one,
-- or several separated by commas, taken in turn).
-- BASE: the first event time in epoch ms. DELAY_MS (optional): each connection waits this long
-- before each request, which turns wrk's closed loop into a fixed offered rate.
wrk.method = "POST"
local tokens = {}
for token in string.gmatch(os.getenv("DK"), "[^,]+") do
  -- wrk.format takes a request's whole header table (not added to wrk.headers).
  tokens[#tokens + 1] = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token }
end
local n = 0
local base = tonumber(os.getenv("BASE"))
local pause = tonumber(os.getenv("DELAY_MS") or "")
request = function()
  n = n + 1
  local headers = tokens[n % #tokens + 1]
  return wrk.format(nil, nil, headers, '{"ts":' .. (base + n) .. ',"seq":' .. n .. ',"heart_rate":92.5}')
end
if pause then
  delay = function() return pause end
end
