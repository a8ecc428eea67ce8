-- wrk script for bench/webhook_load.py: signed Shopify webhooks, each a new event.
-- wrk -s bench/_wrk_webhooks.lua URL -- <shop domain> <signature> <body> <run prefix>
-- Shopify's HMAC covers the body only, so one body and one signature serve every request;
-- each carries its own X-Shopify-Event-Id (thread number + counter), so each is verified,
-- inserted and queued, as with the locust user (bench/_locust_webhooks.py).

local threads = {}
local next_thread = 0

function setup(thread)
  next_thread = next_thread + 1
  thread:set("thread_no", next_thread)
  table.insert(threads, thread)
end

local counter = 0
local prefix

function init(args)
  wrk.method = "POST"
  wrk.path = "/webhooks/shopify/"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["X-Shopify-Topic"] = "inventory_levels/update"
  wrk.headers["X-Shopify-Shop-Domain"] = args[1]
  wrk.headers["X-Shopify-Hmac-Sha256"] = args[2]
  wrk.body = args[3]
  prefix = args[4] .. "-" .. thread_no .. "-"
end

function request()
  counter = counter + 1
  wrk.headers["X-Shopify-Event-Id"] = prefix .. counter
  return wrk.format(nil, nil, wrk.headers, wrk.body)
end

-- One JSON line for bench/webhook_load.py; latencies in microseconds.
function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "non_2xx": %d, "socket_errors": %d, '
      .. '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, errors.status,
    errors.connect + errors.read + errors.write + errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max
  ))
end
