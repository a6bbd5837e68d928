/*
 * fuzz_http_request.c -- libFuzzer target for the server's request
 * path: bytes as a client sends them, through the same HttpParser (head scan, limits, chunked decoding) and Request
 * methods that eventlet.httpd uses.
 * The driver is fuzz/http_request.lua; `make fuzz` builds and runs it.
 */
#include "fuzz_lua.h"

/* libFuzzer entry: one input.  */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_lua_run(FUZZ_DRIVER("http_request.lua"), data, size);
  return 0;
}
