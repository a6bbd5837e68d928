/*
 * fuzz_http_response.c -- libFuzzer target for the client's response
 * path: bytes as a server sends them, through the HttpParser
 * eventlet.httpc builds (eventlet.httpc.wire.parser), interim 1xx
 * responses, bodies (chunked, length, close-delimited).
 * The driver is fuzz/http_response.lua; `make fuzz` builds and runs it.
 */
#include "fuzz_lua.h"

/* libFuzzer entry: one input.  */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_lua_run(FUZZ_DRIVER("http_response.lua"), data, size);
  return 0;
}
