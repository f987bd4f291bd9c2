-- wrk script for the echo scenario: POST a 1 KiB body on every request.
wrk.method = "POST"
wrk.body = string.rep("e", 1024)
wrk.headers["Content-Type"] = "application/octet-stream"

local here = debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "./"
dofile(here .. "report.lua")
