-- POST /v1/public/{slug}/appointments at random quarter hours of the next four weeks, each from a
-- new client: as in real life, most lose to someone who got there first (409) or ask for a time
-- the clinic is closed (422). Needs LOCATION_ID, SERVICE_ID, FIRST_DAY and SLUG.
dofile(os.getenv("LOAD_DIR") .. "/report.lua")

local location, service, slug = os.getenv("LOCATION_ID"), os.getenv("SERVICE_ID"), os.getenv("SLUG")
local year, month, day = os.getenv("FIRST_DAY"):match("(%d+)-(%d+)-(%d+)")
local first = os.time({ year = tonumber(year), month = tonumber(month), day = tonumber(day), hour = 0 }) + 8 * 3600
local n = 0

function init_requests(args)
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)") or "0", 16))
end

request = function()
  n = n + 1
  local start = first + math.random(0, 27) * 86400 + math.random(0, 40) * 900
  local body = string.format(
    '{"location_id":"%s","service_id":"%s","start":"%s","client":{"first_name":"Load","last_name":"Test","email":"load-%d-%d@clients.test"},"screening":{"pregnant_or_breastfeeding":false,"anticoagulants":false,"bleeding_disorder":false,"lidocaine_allergy":false,"isotretinoin_last_6_months":false,"active_skin_infection_at_site":false,"autoimmune_disease":false}}',
    location, service, os.date("!%Y-%m-%dT%H:%M:00Z", start), math.random(1, 1e9), n)
  return wrk.format("POST", "/v1/public/" .. slug .. "/appointments", { ["Content-Type"] = "application/json" }, body)
end
