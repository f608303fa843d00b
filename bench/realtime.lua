-- wrk script for bench/realtime.sh: real-time lookups with `&nocache`, each for
-- a number of its own, and a check of every answer's body.
--
-- Arguments after `--`: prefix authorization expected threads
--   prefix         a 6-digit number block, e.g. 467081 (hlr-sim answers at
--                  once) or 467082 (hlr-sim answers after its delay)
--   authorization  base64 of "user:password" (Basic)
--   expected       the body every answer must have, e.g. result=OK;imsi=24008;location=46
--   threads        wrk's -t, to spread the threads over the block
--
-- Numbers are prefix .. 5 digits (11 digits, a valid Swedish mobile number).
-- Each thread counts up from its own part of the block, so no two requests in
-- flight ask for the same number (as long as fewer than 100000 / threads are
-- in flight per thread): numlookup shares one HLR dialogue among concurrent
-- lookups of one number, and repeats would hold fewer dialogues than requests.
--
-- At the end it prints one line, summed over the threads:
--   bodies: expected=N other=N non2xx=N
-- and, when some 200 answer had another body, `other body: <the first one>`.

local threads = {}
local next_id = 0

function setup(thread)
    thread:set("thread_id", next_id)
    next_id = next_id + 1
    table.insert(threads, thread)
end

function init(args)
    prefix = args[1] or "467081"
    wrk.headers["Authorization"] = "Basic " .. (args[2] or "")
    expected = args[3] or "result=OK;imsi=24008;location=46"
    local thread_count = tonumber(args[4]) or 1
    counter = math.floor(thread_id * 100000 / thread_count)
    got_expected, got_other, got_non2xx = 0, 0, 0
    first_other = ""
end

function request()
    counter = (counter + 1) % 100000
    return wrk.format("GET", "/lookup?msisdn=" .. prefix .. string.format("%05d", counter) .. "&nocache")
end

function response(status, headers, body)
    if status < 200 or status > 299 then
        got_non2xx = got_non2xx + 1
    elseif body == expected then
        got_expected = got_expected + 1
    else
        got_other = got_other + 1
        if first_other == "" then first_other = body end
    end
end

function done(summary, latency, requests)
    local e, o, n, first = 0, 0, 0, ""
    for _, thread in ipairs(threads) do
        e = e + thread:get("got_expected")
        o = o + thread:get("got_other")
        n = n + thread:get("got_non2xx")
        if first == "" then first = thread:get("first_other") end
    end
    io.write(string.format("bodies: expected=%d other=%d non2xx=%d\n", e, o, n))
    if first ~= "" then
        io.write("other body: " .. first:gsub("%s+", " ") .. "\n")
    end
end
