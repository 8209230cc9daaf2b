-- wrk script: print the figures benches/run.sh reads (wrk's own report is printed as well).

function done(summary, latency, requests)
   local seconds = summary.duration / 1e6
   local errors = summary.errors
   io.write(string.format("requests %d\n", summary.requests))
   io.write(string.format("rps %.1f\n", summary.requests / seconds))
   io.write(string.format("non_2xx %d\n", errors.status))
   io.write(string.format("socket_errors %d\n", errors.connect + errors.read + errors.write + errors.timeout))
   io.write(string.format("p50_ms %.3f\n", latency:percentile(50) / 1000))
   io.write(string.format("p99_ms %.3f\n", latency:percentile(99) / 1000))
end
