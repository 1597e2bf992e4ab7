-- one reading per request, each with its own event time, sent with a device token
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("DK")
local n = 0
local base = tonumber(os.getenv("BASE"))
request = function()
  n = n + 1
  return wrk.format(nil, nil, nil, '{"ts":' .. (base + n) .. ',"seq":' .. n .. ',"heart_rate":92.5}')
end
