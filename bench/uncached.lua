-- wrk script: uncached portability lookups over the database made by
-- bench/make_db.py. That database holds the ported numbers
--     "467" .. string.format("%08d", k * stride)     for k = 0 .. count-1
-- (46700000000 + k*stride), so a random k names an existing number without a list.
-- A share of requests (unknown_share) asks for 46700000000 + k*stride + 1 instead,
-- which is in no data set: the full miss path (database miss, range fallback,
-- UNKNOWN_SUBSCRIBER).
--
-- Arguments after `--`: count stride [unknown_share] [seed]

local count, stride, unknown_share = 10000000, 7, 0.0
local counter = 0

function setup(thread)
    counter = counter + 1
    thread:set("thread_id", counter)
end

function init(args)
    count = tonumber(args[1]) or count
    stride = tonumber(args[2]) or stride
    unknown_share = tonumber(args[3]) or unknown_share
    local seed = tonumber(args[4]) or 12345
    math.randomseed(seed + (thread_id or 0) * 7919)
    wrk.headers["Authorization"] = "Basic ZGVtbzpkZW1v"
end

function request()
    local n = (math.random(count) - 1) * stride
    if unknown_share > 0 and math.random() < unknown_share then
        n = n + 1
    end
    return wrk.format("GET", "/lookup?msisdn=467" .. string.format("%08d", n) .. "&nocache")
end
