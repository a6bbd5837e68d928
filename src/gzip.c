/*
 * gzip.c -- streaming zlib inflate: core.inflater() -> an object whose
 * :inflate(chunk) returns the bytes decoded so far, for response bodies
 * sent with Content-Encoding: gzip or deflate.  The gzip or zlib header
 * is detected; raw deflate (what some servers send as "deflate") is
 * tried when the zlib header is missing.  Concatenated gzip members are
 * decoded one after another, as gzip(1) does.
 */
#include <string.h>
#include <zlib.h>

#include "gzip.h"

#define INFLATER_MT "eventlet.inflater"
#define AUTO_WINDOW (15 + 32) /* gzip or zlib header, detected */
#define RAW_WINDOW (-15)      /* headerless deflate */

typedef struct inflater {
  z_stream z;
  int open;       /* inflateInit succeeded and inflateEnd is still due */
  int ended;      /* the stream reached its end */
  int started;    /* some output was produced (no more raw retries) */
  int fed;        /* chunks fed so far */
} inflater;

/* End the zlib stream once. */
static void inflater_end(inflater *inf) {
  if (inf->open) inflateEnd(&inf->z);
  inf->open = 0;
}

/* (Re)start the zlib stream with a window mode; 0 on success. */
static int inflater_init(inflater *inf, int window) {
  inflater_end(inf);
  memset(&inf->z, 0, sizeof inf->z);
  if (inflateInit2(&inf->z, window) != Z_OK) return -1;
  inf->open = 1;
  return 0;
}

/* Check argument 1 is an open inflater. */
static inflater *check_inflater(lua_State *L) {
  inflater *inf = (inflater *)luaL_checkudata(L, 1, INFLATER_MT);
  if (!inf->open && !inf->ended) luaL_error(L, "inflater is closed");
  return inf;
}

/* Run inflate over [data, data+len) into buffer b; returns zlib's last
 * status (Z_OK, Z_STREAM_END, Z_BUF_ERROR when input ran out, or an
 * error). */
static int inflate_into(inflater *inf, const char *data, size_t len, luaL_Buffer *b) {
  int rc = Z_OK;
  inf->z.next_in = (Bytef *)data;
  inf->z.avail_in = (uInt)len;
  while (inf->z.avail_in > 0 || rc == Z_OK) {
    char *out = luaL_prepbuffer(b);
    inf->z.next_out = (Bytef *)out;
    inf->z.avail_out = LUAL_BUFFERSIZE;
    rc = inflate(&inf->z, Z_NO_FLUSH);
    luaL_addsize(b, LUAL_BUFFERSIZE - inf->z.avail_out);
    if (LUAL_BUFFERSIZE - inf->z.avail_out > 0) inf->started = 1;
    if (rc == Z_STREAM_END) {
      if (inf->z.avail_in == 0 || inflateReset(&inf->z) != Z_OK) break;
      rc = Z_OK;  /* another gzip member follows */
    } else if (rc != Z_OK) {
      break;
    } else if (inf->z.avail_in == 0 && inf->z.avail_out != 0) {
      break;  /* all input consumed, output not full: need more input */
    }
  }
  return rc;
}

/* inflater:inflate(chunk) -> decoded bytes (possibly ""), or nil, err on
 * corrupt data.  [-1, +(1|2), m] */
static int l_inflate(lua_State *L) {
  inflater *inf = check_inflater(L);
  size_t len;
  const char *data = luaL_checklstring(L, 2, &len);
  luaL_Buffer b;
  int rc;
  if (inf->ended || len == 0) {
    lua_pushliteral(L, "");
    return 1;
  }
  luaL_buffinit(L, &b);
  rc = inflate_into(inf, data, len, &b);
  if (rc == Z_DATA_ERROR && inf->fed == 0 && !inf->started
      && inflater_init(inf, RAW_WINDOW) == 0)
    rc = inflate_into(inf, data, len, &b);
  inf->fed++;
  if (rc == Z_STREAM_END) {
    inf->ended = 1;
    inflater_end(inf);
  } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
    lua_pushnil(L);
    lua_pushfstring(L, "gzip: %s", inf->z.msg ? inf->z.msg : "corrupt data");
    return 2;
  }
  luaL_pushresult(&b);
  return 1;
}

/* inflater:done() -> true once the compressed stream ended (a body that
 * stops earlier was truncated).  [-0, +1, -] */
static int l_done(lua_State *L) {
  inflater *inf = (inflater *)luaL_checkudata(L, 1, INFLATER_MT);
  lua_pushboolean(L, inf->ended);
  return 1;
}

/* inflater:close(): free zlib's state now (also __gc, __close).  [-0, +0, -] */
static int l_close(lua_State *L) {
  inflater_end((inflater *)luaL_checkudata(L, 1, INFLATER_MT));
  return 0;
}

/* tostring(inflater) -> "eventlet.inflater (open|ended|closed): 0x..". */
static int l_tostring(lua_State *L) {
  inflater *inf = (inflater *)luaL_checkudata(L, 1, INFLATER_MT);
  lua_pushfstring(L, INFLATER_MT " (%s): %p",
                  inf->ended ? "ended" : inf->open ? "open" : "closed", (void *)inf);
  return 1;
}

/* inflater() -> a new streaming inflater (gzip or zlib header detected,
 * raw deflate as fallback).  [-0, +1, m] */
static int l_inflater(lua_State *L) {
  inflater *inf = (inflater *)lua_newuserdatauv(L, sizeof *inf, 0);
  memset(inf, 0, sizeof *inf);
  luaL_setmetatable(L, INFLATER_MT);
  if (inflater_init(inf, AUTO_WINDOW) != 0) return luaL_error(L, "inflater: out of memory");
  return 1;
}

static const luaL_Reg inflater_methods[] = {
  {"inflate", l_inflate}, {"done", l_done}, {"close", l_close}, {NULL, NULL}};

static const luaL_Reg inflater_meta[] = {
  {"__gc", l_close}, {"__close", l_close}, {"__tostring", l_tostring}, {NULL, NULL}};

/* Create the inflater metatable. */
void eh_open_gzip(lua_State *L) {
  if (luaL_newmetatable(L, INFLATER_MT)) {
    luaL_setfuncs(L, inflater_meta, 0);
    luaL_newlib(L, inflater_methods);
    lua_setfield(L, -2, "__index");
  }
  lua_pop(L, 1);
}

const luaL_Reg eh_gzip_funcs[] = {{"inflater", l_inflater}, {NULL, NULL}};
