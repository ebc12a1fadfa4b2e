-- Shared by the load scripts: counts statuses per thread and prints p50/p95/p99 and req/s.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
  if init_requests then init_requests(args) end
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  io.write("------------------------------------------------------------\n")
  io.write(string.format("requests      %d in %.1f s = %.0f req/s\n", summary.requests, seconds, summary.requests / seconds))
  io.write(string.format("latency p50   %.2f ms\n", latency:percentile(50) / 1000))
  io.write(string.format("latency p95   %.2f ms\n", latency:percentile(95) / 1000))
  io.write(string.format("latency p99   %.2f ms\n", latency:percentile(99) / 1000))
  io.write(string.format("latency max   %.2f ms\n", latency.max / 1000))
  local totals = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      totals[status] = (totals[status] or 0) + count
    end
  end
  for status, count in pairs(totals) do
    io.write(string.format("status %d     %d\n", status, count))
  end
  local errors = summary.errors
  io.write(string.format("socket errors connect %d read %d write %d timeout %d\n", errors.connect, errors.read, errors.write, errors.timeout))
  -- One line for scripts/load.sh's summary: req/s, p50, p95, p99 (ms), socket errors.
  io.write(string.format("summary %.1f %.3f %.3f %.3f %d\n", summary.requests / seconds, latency:percentile(50) / 1000,
    latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    errors.connect + errors.read + errors.write + errors.timeout))
end
