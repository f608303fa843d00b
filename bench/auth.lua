-- wrk script: every request carries the demo account's Basic credentials
-- (demo:demo). The path comes from the URL given to wrk.
wrk.headers["Authorization"] = "Basic ZGVtbzpkZW1v"
