-- wrk script: the mixed workload over the client ids in the file CLIENT_IDS (one per line):
-- 70 % GET /clients/{id}, 10 % the first page of the list, 10 % a name search, 10 % POST a
-- session (SESSION_BODY). BENCH_TOKEN authenticates every request.

local ids = {}
local prefixes = { "kad", "mag", "ali", "iva", "ahm", "nur", "ole", "moh", "fat", "ser" }
local headers, body

function init(args)
   for line in io.lines(os.getenv("CLIENT_IDS")) do
      ids[#ids + 1] = line
   end
   headers = { Authorization = "Bearer " .. os.getenv("BENCH_TOKEN") }
   body = os.getenv("SESSION_BODY")
   math.randomseed(os.time())
end

function request()
   local draw = math.random(100)
   local id = ids[math.random(#ids)]
   if draw <= 70 then
      return wrk.format("GET", "/api/v1/clients/" .. id, headers)
   elseif draw <= 80 then
      return wrk.format("GET", "/api/v1/clients?limit=50", headers)
   elseif draw <= 90 then
      return wrk.format("GET", "/api/v1/clients?limit=50&q=" .. prefixes[math.random(#prefixes)], headers)
   end
   local post = { Authorization = headers.Authorization, ["Content-Type"] = "application/json" }
   return wrk.format("POST", "/api/v1/clients/" .. id .. "/sessions", post, body)
end

dofile(os.getenv("BENCHES") .. "/latency.lua")
