-- GET /hello on the hello-world server (bench/hello, `hello_http`): the server stack's own cost,
-- the baseline load.sh divides the real routes by.
dofile(os.getenv("LOAD_DIR") .. "/report.lua")

request = function()
  return wrk.format("GET", "/hello")
end
