-- wrk script: committed writes spread over instances hwm1..hwm50 (a PATCH
-- of helloworld/<instance>/action/, alternating FORWARD and DROP), so that
-- writes of different instances of one service meet in the group commit.
local n = 0
math.randomseed(os.time())
request = function()
  n = n + 1
  local body = (n % 2 == 0) and '"FORWARD"' or '"DROP"'
  local path = wrk.path .. "hwm" .. math.random(1, 50) .. "/action/"
  return wrk.format("PATCH", path, {["Content-Type"] = "application/json"}, body)
end
