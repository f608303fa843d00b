-- wrk script for bench/scale.sh: portability lookups over the numbers of
-- `bench/make_db.py --csv` (imported with `numlookup np import ported`):
--     "467" .. string.format("%0<digits>d", k * stride)     for k = 0 .. count-1
--
-- Arguments after `--`: mode count stride digits [seed]
--   mode "uncached": a random existing number per request, with &nocache, so
--                    that every request is a database look-up
--   mode "cached":   number k = 0 on every request, without &nocache: after
--                    the first request every answer comes from the cache
-- Every answer is checked: a body other than "result=OK;imsi=" + 5 or 6 digits
-- is counted and reported at the end (wrk counts only non-2xx statuses).

local mode, count, stride, digits = "uncached", 1000000, 7, 9
local counter = 0
local threads = {}

function setup(thread)
    counter = counter + 1
    thread:set("thread_id", counter)
    table.insert(threads, thread)
end

function init(args)
    mode = args[1] or mode
    count = tonumber(args[2]) or count
    stride = tonumber(args[3]) or stride
    digits = tonumber(args[4]) or digits
    local seed = tonumber(args[5]) or 12345
    math.randomseed(seed + (thread_id or 0) * 7919)
    wrk.headers["Authorization"] = "Basic ZGVtbzpkZW1v"
    format = "%0" .. digits .. "d"
    cached_path = "/lookup?msisdn=467" .. string.format(format, 0)
    bad_bodies = 0
end

function request()
    if mode == "cached" then
        return wrk.format("GET", cached_path)
    end
    local n = (math.random(count) - 1) * stride
    return wrk.format("GET", "/lookup?msisdn=467" .. string.format(format, n) .. "&nocache")
end

function response(status, headers, body)
    if not string.match(body, "^result=OK;imsi=%d%d%d%d%d%d?$") then
        bad_bodies = bad_bodies + 1
    end
end

function done(summary, latency, requests)
    local bad = 0
    for _, thread in ipairs(threads) do
        bad = bad + (thread:get("bad_bodies") or 0)
    end
    io.write(string.format("Unexpected bodies: %d\n", bad))
end
