/*
 * fsjobs.c -- the core's own tpool jobs: read, write and stat a file off
 * the loop thread (eventlet.fs), and sleep (a blocking nanosleep, for
 * tests and demonstrations).  Each job copies its arguments into one
 * malloc'd block in prepare, so a caller that gives up can never leave a
 * worker holding pointers into Lua memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "socket.h"
#include "tpool.h"

#define READ_CHUNK 65536

/* The block shared by the file jobs. */
typedef struct fsblock {
  char *path;
  char *data;         /* read: what was read; write: what to write */
  size_t len;
  int append;         /* write: O_APPEND instead of O_TRUNC */
  int err;            /* errno of the failure, 0 on success */
  double seconds;     /* sleep */
  struct stat st;     /* stat */
} fsblock;

/* Allocate a block, copying the string argument at idx as its path (when
 * idx > 0).  Raises on bad arguments or memory.  [-0, +0, e] */
static fsblock *new_block(lua_State *L, int idx) {
  size_t n = 0;
  const char *path = idx > 0 ? luaL_checklstring(L, idx, &n) : NULL;
  fsblock *b = (fsblock *)calloc(1, sizeof *b);
  char *copy = path ? (char *)malloc(n + 1) : NULL;
  if (b == NULL || (path && copy == NULL)) {
    free(b);
    free(copy);
    luaL_error(L, "fs: not enough memory");
    return NULL;
  }
  if (copy) memcpy(copy, path, n + 1);
  b->path = copy;
  return b;
}

/* Free a block and what it owns. */
static void release_block(void *block) {
  fsblock *b = (fsblock *)block;
  free(b->path);
  free(b->data);
  free(b);
}

/* Push nil, message for a failed job, or return 0 when it succeeded. */
static int push_failure(lua_State *L, fsblock *b) {
  if (b->err == 0) return 0;
  lua_pushnil(L);
  lua_pushstring(L, eh_errno_string(b->err));
  lua_pushinteger(L, b->err);
  return 3;
}

/* read(path): the whole file. */
static void *read_prepare(lua_State *L, int first, int n) {
  (void)n;
  return new_block(L, first);
}

/* Read all of fd into b->data (grown as needed); errno on failure. */
static int read_all(int fd, fsblock *b) {
  size_t cap = READ_CHUNK;
  struct stat st;
  if (fstat(fd, &st) == 0 && st.st_size > 0) cap = (size_t)st.st_size + 1;
  for (;;) {
    ssize_t r;
    if (b->data == NULL || b->len == cap) {
      char *grown;
      if (b->data) cap *= 2;
      if ((grown = (char *)realloc(b->data, cap)) == NULL) return ENOMEM;
      b->data = grown;
    }
    r = read(fd, b->data + b->len, cap - b->len);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return errno;
    if (r == 0) return 0;
    b->len += (size_t)r;
  }
}

static void read_run(void *block) {
  fsblock *b = (fsblock *)block;
  int fd = open(b->path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) { b->err = errno; return; }
  b->err = read_all(fd, b);
  close(fd);
}

static int read_push(lua_State *L, void *block) {
  fsblock *b = (fsblock *)block;
  if (b->err) return push_failure(L, b);
  lua_pushlstring(L, b->data ? b->data : "", b->len);
  return 1;
}

/* write(path, data[, "w"|"a"]): create or truncate (or append). */
static void *write_prepare(lua_State *L, int first, int n) {
  size_t len;
  const char *data = luaL_checklstring(L, first + 1, &len);
  const char *mode = n >= 3 ? luaL_optstring(L, first + 2, "w") : "w";
  fsblock *b;
  luaL_argcheck(L, strcmp(mode, "w") == 0 || strcmp(mode, "a") == 0, first + 2,
                "mode must be \"w\" or \"a\"");
  b = new_block(L, first);
  b->append = mode[0] == 'a';
  b->len = len;
  if (len > 0 && (b->data = (char *)malloc(len)) == NULL) {
    release_block(b);
    luaL_error(L, "fs: not enough memory");
  }
  if (len > 0) memcpy(b->data, data, len);
  return b;
}

static void write_run(void *block) {
  fsblock *b = (fsblock *)block;
  size_t done = 0;
  int fd = open(b->path, O_WRONLY | O_CREAT | O_CLOEXEC | (b->append ? O_APPEND : O_TRUNC),
                0666);
  if (fd < 0) { b->err = errno; return; }
  while (done < b->len) {
    ssize_t w = write(fd, b->data + done, b->len - done);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) { b->err = errno; break; }
    done += (size_t)w;
  }
  if (close(fd) < 0 && b->err == 0) b->err = errno;
}

static int write_push(lua_State *L, void *block) {
  fsblock *b = (fsblock *)block;
  if (b->err) return push_failure(L, b);
  lua_pushinteger(L, (lua_Integer)b->len);
  return 1;
}

/* stat(path): a table like lfs.attributes. */
static void stat_run(void *block) {
  fsblock *b = (fsblock *)block;
  if (stat(b->path, &b->st) < 0) b->err = errno;
}

/* The name of a file type from st_mode. */
static const char *type_name(mode_t m) {
  return S_ISREG(m) ? "file" : S_ISDIR(m) ? "directory" : S_ISLNK(m) ? "link"
       : S_ISFIFO(m) ? "fifo" : S_ISSOCK(m) ? "socket" : S_ISCHR(m) ? "char device"
       : S_ISBLK(m) ? "block device" : "other";
}

static int stat_push(lua_State *L, void *block) {
  fsblock *b = (fsblock *)block;
  if (b->err) return push_failure(L, b);
  lua_createtable(L, 0, 10);
  lua_pushstring(L, type_name(b->st.st_mode));
  lua_setfield(L, -2, "type");
  lua_pushinteger(L, (lua_Integer)b->st.st_size);
  lua_setfield(L, -2, "size");
  lua_pushinteger(L, (lua_Integer)(b->st.st_mode & 07777));
  lua_setfield(L, -2, "mode");
  lua_pushnumber(L, (double)b->st.st_mtim.tv_sec + b->st.st_mtim.tv_nsec * 1e-9);
  lua_setfield(L, -2, "mtime");
  lua_pushnumber(L, (double)b->st.st_atim.tv_sec + b->st.st_atim.tv_nsec * 1e-9);
  lua_setfield(L, -2, "atime");
  lua_pushnumber(L, (double)b->st.st_ctim.tv_sec + b->st.st_ctim.tv_nsec * 1e-9);
  lua_setfield(L, -2, "ctime");
  lua_pushinteger(L, (lua_Integer)b->st.st_uid);
  lua_setfield(L, -2, "uid");
  lua_pushinteger(L, (lua_Integer)b->st.st_gid);
  lua_setfield(L, -2, "gid");
  lua_pushinteger(L, (lua_Integer)b->st.st_nlink);
  lua_setfield(L, -2, "nlink");
  lua_pushinteger(L, (lua_Integer)b->st.st_ino);
  lua_setfield(L, -2, "ino");
  return 1;
}

/* sleep(seconds): block a pool thread (tests: the hub keeps running). */
static void *sleep_prepare(lua_State *L, int first, int n) {
  double s = luaL_checknumber(L, first);
  fsblock *b;
  (void)n;
  luaL_argcheck(L, s >= 0, first, "negative duration");
  b = new_block(L, 0);
  b->seconds = s;
  return b;
}

static void sleep_run(void *block) {
  fsblock *b = (fsblock *)block;
  struct timespec ts;
  ts.tv_sec = (time_t)b->seconds;
  ts.tv_nsec = (long)((b->seconds - (double)ts.tv_sec) * 1e9);
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {}
}

static int sleep_push(lua_State *L, void *block) {
  (void)block;
  lua_pushboolean(L, 1);
  return 1;
}

static const eh_tpool_job jobs[] = {
  {"fs.read", read_prepare, read_run, read_push, release_block},
  {"fs.write", write_prepare, write_run, write_push, release_block},
  {"fs.stat", read_prepare, stat_run, stat_push, release_block},
  {"tpool.sleep", sleep_prepare, sleep_run, sleep_push, release_block}};
static const char *const job_names[] = {"read", "write", "stat", "sleep"};

/* Set the jobs in the table on top, registering them.  [-0, +0, m] */
void eh_push_fsjobs(lua_State *L) {
  size_t i;
  for (i = 0; i < sizeof jobs / sizeof jobs[0]; i++) {
    eh_tpool_pushjob(L, &jobs[i]);
    lua_setfield(L, -2, job_names[i]);
  }
}
