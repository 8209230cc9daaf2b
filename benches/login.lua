-- wrk script: POST /api/v1/auth/login with one account's credentials (BENCH_EMAIL,
-- BENCH_PASSWORD from the environment) and count the answers by HTTP status, so that only
-- successful sign-ins (200) are counted as throughput.

local email = os.getenv("BENCH_EMAIL")
local password = os.getenv("BENCH_PASSWORD")

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = string.format('{"email":"%s","password":"%s"}', email, password)

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   statuses = {}
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
   local seconds = summary.duration / 1e6
   local totals = {}
   for _, thread in ipairs(threads) do
      for status, count in pairs(thread:get("statuses")) do
         totals[status] = (totals[status] or 0) + count
      end
   end
   io.write(string.format("seconds %.2f\n", seconds))
   for status, count in pairs(totals) do
      io.write(string.format("status_%d %d %.2f\n", status, count, count / seconds))
   end
   io.write(string.format("p50_ms %.3f\n", latency:percentile(50) / 1000))
   io.write(string.format("p99_ms %.3f\n", latency:percentile(99) / 1000))
end
