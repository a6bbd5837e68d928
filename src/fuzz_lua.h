/*
 * fuzz_lua.h -- the shared half of the libFuzzer targets (src/fuzz_*.c):
 * one Lua state per fuzzer process with eventlet.core preloaded and the
 * tree's lua/ and fuzz/ directories on package.path, running a driver
 * script (fuzz/<target>.lua) that returns the function each input is
 * handed to.  A Lua error raised by the driver is a finding: it is printed and the process aborts, so
 * libFuzzer saves the input.
 */
#ifndef EVENTLET_FUZZ_LUA_H
#define EVENTLET_FUZZ_LUA_H

#include <stddef.h>
#include <stdint.h>

/* Feed one input to the driver script at path `driver` (FUZZ_ROOT is
 * prepended by the FUZZ_DRIVER macro); the state and the driver are
 * loaded on the first call. */
void fuzz_lua_run(const char *driver, const uint8_t *data, size_t size);

#ifndef FUZZ_ROOT
#define FUZZ_ROOT "."
#endif
#define FUZZ_DRIVER(file) FUZZ_ROOT "/fuzz/" file

#endif
