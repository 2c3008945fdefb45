-- wrk script: committed writes, PATCH helloworld/<instance>/action/
-- alternating FORWARD and DROP so that every request changes the config.
local n = 0
request = function()
  n = n + 1
  local body = (n % 2 == 0) and '"FORWARD"' or '"DROP"'
  return wrk.format("PATCH", nil, {["Content-Type"] = "application/json"}, body)
end
