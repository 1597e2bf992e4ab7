-- One reading per request, spread over many devices (DKS: their tokens, separated by spaces),
-- each with its own event time. BASE: the first event time in epoch ms.
wrk.method = "POST"
local tokens = {}
for token in string.gmatch(os.getenv("DKS"), "%S+") do
  tokens[#tokens + 1] = token
end
local base = tonumber(os.getenv("BASE"))
local n = 0
request = function()
  n = n + 1
  local headers = {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. tokens[(n % #tokens) + 1],
  }
  return wrk.format(nil, nil, headers, '{"ts":' .. (base + n) .. ',"seq":' .. n .. ',"heart_rate":92.5}')
end
