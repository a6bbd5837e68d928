/*
 * fuzz_url.c -- libFuzzer target for eventlet.httpc.url: parse, build, resolve and the query codecs.
 * The driver is fuzz/url.lua; `make fuzz` builds and runs it.
 */
#include "fuzz_lua.h"

/* libFuzzer entry: one input.  */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_lua_run(FUZZ_DRIVER("url.lua"), data, size);
  return 0;
}
