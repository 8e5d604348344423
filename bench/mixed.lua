-- The mixed load of `python -m bench.run mixed_load` (wrk). The runner prepends `key`, `run`,
-- `leads` (lead-list paths), `firms` (enterprise ids), `tracks` (the park's track ids),
-- `links` ({chain, link} pairs), `pipeline` (ids of pipeline leads the key's user owns) and
-- `start_versions` (each such lead's version when the load began).
-- Every 20 requests: 6 lead lists, 4 enterprise pages, 3 chain reads, 2 outreach writes (each
-- with its own Idempotency-Key and `run` as its note, so the runner can count the stored
-- records), 2 pipeline lists, 1 pipeline lead and 2 pipeline updates (a note `run-N` with the
-- version last seen for that lead, learnt from the answers; leads are taken in turn, so two
-- updates of one lead are ~2,000 requests apart).
local schedule = {
  "leads", "firm", "chain", "plist", "write", "patch", "leads", "pone", "leads", "firm",
  "leads", "chain", "plist", "firm", "write", "leads", "patch", "chain", "firm", "leads",
}
local versions = {}
local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
  kinds = {}
  counter = 0
  writes = 0
  patches = 0
end

request = function()
  counter = counter + 1
  local kind = schedule[(counter % #schedule) + 1]
  kinds[kind] = (kinds[kind] or 0) + 1
  local headers = { ["X-API-Key"] = key }
  local firm = firms[(counter % #firms) + 1]
  if kind == "plist" then
    return wrk.format("GET", "/api/v1/pipeline?owner=me&limit=50", headers)
  elseif kind == "pone" then
    return wrk.format("GET", "/api/v1/pipeline/" .. pipeline[(counter % #pipeline) + 1], headers)
  elseif kind == "patch" then
    patches = patches + 1
    local id = pipeline[(patches % #pipeline) + 1]
    headers["Content-Type"] = "application/json"
    local body = string.format('{"version":%d,"note":"%s-%d-%d"}', versions[id] or start_versions[id], run, tid, patches)
    return wrk.format("PATCH", "/api/v1/pipeline/" .. id, headers, body)
  elseif kind == "leads" then
    return wrk.format("GET", leads[(counter % #leads) + 1], headers)
  elseif kind == "firm" then
    return wrk.format("GET", "/api/v1/enterprises/" .. firm, headers)
  elseif kind == "chain" then
    local pair = links[(counter % #links) + 1]
    local which = counter % 4
    if which == 0 then
      return wrk.format("GET", "/api/v1/chains", headers)
    elseif which == 1 then
      return wrk.format("GET", "/api/v1/chains/" .. pair[1], headers)
    elseif which == 2 then
      return wrk.format("GET", "/api/v1/chains/" .. pair[1] .. "/gaps", headers)
    end
    return wrk.format("GET", "/api/v1/chains/" .. pair[1] .. "/links/" .. pair[2] .. "/candidates", headers)
  end
  writes = writes + 1
  headers["Content-Type"] = "application/json"
  headers["Idempotency-Key"] = run .. "-" .. tid .. "-" .. writes
  local track = tracks[(writes % #tracks) + 1]
  local body = string.format(
    '{"enterprise_id":"%s","track":"%s","outcome":"pending","contacted_on":"2026-11-26","note":"%s"}',
    firm, track, run)
  return wrk.format("POST", "/api/v1/outreach", headers, body)
end

response = function(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status == 200 and body:sub(1, 6) == '{"id":' then  -- a pipeline lead: remember its version
    local id, version = body:match('^{"id":(%d+),.-"version":(%d+)')
    if id then versions[tonumber(id)] = tonumber(version) end
  end
end

local function json_counts(t)
  local parts = {}
  for k, v in pairs(t) do table.insert(parts, string.format('"%s": %d', tostring(k), v)) end
  return "{" .. table.concat(parts, ", ") .. "}"
end

done = function(summary, latency, requests)
  local statuses_all, kinds_all = {}, {}
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("statuses")) do statuses_all[k] = (statuses_all[k] or 0) + v end
    for k, v in pairs(t:get("kinds")) do kinds_all[k] = (kinds_all[k] or 0) + v end
  end
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests": %d, "seconds": %.3f, "statuses": %s, "kinds": %s, ' ..
    '"socket_errors": %d, "timeouts": %d, ' ..
    '"p50_ms": %.2f, "p90_ms": %.2f, "p99_ms": %.2f, "p999_ms": %.2f, "max_ms": %.2f}\n',
    summary.requests, summary.duration / 1e6, json_counts(statuses_all), json_counts(kinds_all),
    e.connect + e.read + e.write, e.timeout,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency:percentile(99.9) / 1000, latency.max / 1000))
end
