-- GET /v1/public/{slug}/availability for one service over a week, with a rotating start day so
-- the requests are not all alike. Needs LOCATION_ID, SERVICE_ID, FIRST_DAY (YYYY-MM-DD) and SLUG
-- in the environment.
dofile(os.getenv("LOAD_DIR") .. "/report.lua")

local location, service, slug = os.getenv("LOCATION_ID"), os.getenv("SERVICE_ID"), os.getenv("SLUG")
local year, month, day = os.getenv("FIRST_DAY"):match("(%d+)-(%d+)-(%d+)")
local first = os.time({ year = tonumber(year), month = tonumber(month), day = tonumber(day), hour = 12 })
local n = 0

request = function()
  n = n + 1
  local from = os.date("!%Y-%m-%d", first + (n % 14) * 86400)
  local to = os.date("!%Y-%m-%d", first + (n % 14 + 6) * 86400)
  local path = string.format("/v1/public/%s/availability?location_id=%s&service_id=%s&from=%s&to=%s", slug, location, service, from, to)
  return wrk.format("GET", path)
end
