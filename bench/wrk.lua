-- wrk script for the bench: one fixed request, and a JSON summary on stdout.
-- Usage: wrk -s bench/wrk.lua URL -- METHOD BODY_OR_EMPTY "Header: value" ...
local request_bytes

function init(args)
  local method, body = args[1] or "GET", args[2]
  local headers = {}
  for i = 3, #args do
    local name, value = args[i]:match("^([^:]+):%s*(.*)$")
    if name then headers[name] = value end
  end
  if body == "" then body = nil end
  request_bytes = wrk.format(method, nil, headers, body)
end

function request()
  return request_bytes
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'JSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "mean_us": %.1f, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.mean,
    e.connect, e.read, e.write, e.status, e.timeout))
end
