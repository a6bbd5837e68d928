/*
 * fuzz_httpdate.c -- libFuzzer target for eventlet.httpdate.parse, and format/parse agreeing with each other.
 * The driver is fuzz/httpdate.lua; `make fuzz` builds and runs it.
 */
#include "fuzz_lua.h"

/* libFuzzer entry: one input.  */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_lua_run(FUZZ_DRIVER("httpdate.lua"), data, size);
  return 0;
}
