-- wrk script: POST /api/v1/referrals for each line "client_id consent_id" of the file
-- OUTBOX_PAIRS in turn, to the partner OUTBOX_PARTNER. A client has one open referral to a
-- partner for a service: a run that outlasts the list is answered 409 from then on (counted as
-- non-2xx), so the list must be longer than a run's requests.

local bodies = {}
for line in io.lines(os.getenv("OUTBOX_PAIRS")) do
   local client, consent = line:match("(%S+)%s+(%S+)")
   if client then
      bodies[#bodies + 1] = string.format(
         '{"client_id":"%s","to_organisation_id":"%s","service":"legal","urgency":"routine",' ..
         '"reason":"Appeal against a negative decision","shared_fields":["given_names","family_name"],' ..
         '"consent_id":"%s"}', client, os.getenv("OUTBOX_PARTNER"), consent)
   end
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local sent = 0

function request()
   sent = sent + 1
   return wrk.format(nil, "/api/v1/referrals", nil, bodies[(sent - 1) % #bodies + 1])
end

dofile(os.getenv("BENCHES") .. "/latency.lua")
