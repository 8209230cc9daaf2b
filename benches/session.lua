-- wrk script: POST the session of SESSION_BODY (from the environment) as JSON.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = os.getenv("SESSION_BODY")

dofile(os.getenv("BENCHES") .. "/latency.lua")
