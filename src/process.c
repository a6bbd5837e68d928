/*
 * process.c -- child processes for eventlet.processes.
 *
 spawn_process() turns the Lua options into a plan (argv, environment,
 * the paths to try, the three streams) and forkexec.c starts the child:
 * a failed exec (missing binary, no permission, a bad cwd or redirect
 * file) comes back as nil, err -- never as a child that exits 127.  Exits
 * are watched and reaped per pid by childwatch.c.
 *
 * The pipe ends are handed to Lua (takefd) and wrapped there as sockets
 * of kind "fd" (socket.c: one buffered reader for every descriptor).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "process.h"

#define DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"

extern char **environ;

/* Close our end of pipe i (0..2) if we still own it. */
static void close_fd(eh_process *p, int i) {
  if (p->fds[i] >= 0) close(p->fds[i]);
  p->fds[i] = -1;
}

/* Check that the value at idx is a ChildProcess.  [-0, +0, v] */
static eh_process *checkproc(lua_State *L, int idx) {
  return (eh_process *)luaL_checkudata(L, idx, EH_PROCESS_MT);
}

/* Push nil, message, errno for a failed system call.  [-0, +3, m] */
static int push_errno(lua_State *L, int err) {
  lua_pushnil(L);
  if (err == ENOENT) lua_pushliteral(L, "not found");
  else if (err == EACCES || err == EPERM) lua_pushliteral(L, "permission denied");
  else lua_pushstring(L, strerror(err));
  lua_pushinteger(L, err);
  return 3;
}

/* Read one stream option ("pipe", "inherit", "null", "stdout", a path or
 * an fd) of the options table at idx.  [-0, +0, v] */
static void read_spec(lua_State *L, int idx, const char *name, int dflt,
                      eh_stream *s) {
  memset(s, 0, sizeof *s);
  s->ours = s->theirs = -1;
  s->kind = dflt;
  lua_getfield(L, idx, name);
  if (lua_isinteger(L, -1)) {
    s->kind = EH_S_FD;
    s->fd = (int)lua_tointeger(L, -1);
  } else if (lua_type(L, -1) == LUA_TSTRING) {
    const char *v = lua_tostring(L, -1);
    if (strcmp(v, "pipe") == 0) s->kind = EH_S_PIPE;
    else if (strcmp(v, "inherit") == 0) s->kind = EH_S_INHERIT;
    else if (strcmp(v, "null") == 0) { s->kind = EH_S_NULL; s->path = "/dev/null"; }
    else if (strcmp(v, "stdout") == 0) {
      if (strcmp(name, "stderr") != 0)
        luaL_error(L, "spawn: only stderr can be \"stdout\" (merged)");
      s->kind = EH_S_STDOUT;
    } else { s->kind = EH_S_PATH; s->path = v; }  /* anchored by the options table */
  } else if (!lua_isnil(L, -1)) {
    luaL_error(L, "spawn: %s must be \"pipe\", \"inherit\", \"null\", "
               "\"stdout\" (stderr only), a path or an fd", name);
  }
  lua_pop(L, 1);
}

/* Build a NULL-terminated string vector from the array part of the table
 * at idx (argv) or its string pairs (env, "k=v"); the vector and the
 * strings live in userdata/strings left on the stack.  [-0, +1, m] */
static char **make_vector(lua_State *L, int idx, int pairs) {
  int n = 0, i;
  char **v;
  if (pairs) {
    lua_pushnil(L);
    while (lua_next(L, idx)) { n++; lua_pop(L, 1); }
  } else {
    n = (int)luaL_len(L, idx);
  }
  v = (char **)lua_newuserdatauv(L, sizeof(char *) * (size_t)(n + 1), 1);
  lua_createtable(L, n, 0);  /* anchors the strings */
  i = 0;
  if (pairs) {
    lua_pushnil(L);
    while (lua_next(L, idx) && i < n) {
      if (lua_type(L, -2) != LUA_TSTRING) luaL_error(L, "spawn: env keys must be strings");
      lua_pushfstring(L, "%s=%s", luaL_checkstring(L, -2), luaL_checkstring(L, -1));
      v[i] = (char *)lua_tostring(L, -1);
      lua_rawseti(L, -4, ++i);
      lua_pop(L, 1);
    }
  } else {
    for (i = 0; i < n; i++) {
      lua_geti(L, idx, i + 1);
      if (!lua_isstring(L, -1)) luaL_error(L, "spawn: argument %d is not a string", i + 1);
      lua_pushstring(L, lua_tostring(L, -1));  /* numbers become strings */
      v[i] = (char *)lua_tostring(L, -1);
      lua_rawseti(L, -3, i + 1);
      lua_pop(L, 1);
    }
  }
  v[i] = NULL;
  lua_setiuservalue(L, -2, 1);
  return v;
}

/* Push the full paths to try for command cmd: cmd itself when it has a
 * '/', else cmd in each directory of PATH (an empty entry is the current
 * directory).  The vector is a userdata left on the stack.  [-0, +1, m] */
static char **make_paths(lua_State *L, const char *cmd, const char *path) {
  const char *dir, *end;
  int n = 1, i = 0;
  char **v;
  if (strchr(cmd, '/')) path = NULL;  /* no search */
  else if (path == NULL || *path == '\0') path = DEFAULT_PATH;
  for (dir = path; dir && *dir; dir++) n += *dir == ':';
  v = (char **)lua_newuserdatauv(L, sizeof(char *) * (size_t)(n + 1), 1);
  lua_createtable(L, n, 0);  /* anchors the strings */
  if (path == NULL) {
    lua_pushstring(L, cmd);
    v[i] = (char *)lua_tostring(L, -1);
    lua_rawseti(L, -2, ++i);
  }
  for (dir = path; dir; dir = *end ? end + 1 : NULL) {
    luaL_Buffer b;
    end = strchr(dir, ':');
    if (end == NULL) end = dir + strlen(dir);
    luaL_buffinit(L, &b);
    if (end == dir) luaL_addchar(&b, '.');
    else luaL_addlstring(&b, dir, (size_t)(end - dir));
    luaL_addchar(&b, '/');
    luaL_addstring(&b, cmd);
    luaL_pushresult(&b);
    v[i] = (char *)lua_tostring(L, -1);
    lua_rawseti(L, -2, ++i);
  }
  v[i] = NULL;
  lua_setiuservalue(L, -2, 1);
  return v;
}

/* The PATH of a spawn: from its env table when it has one, else ours. */
static const char *spawn_path(lua_State *L, int opts) {
  const char *path = getenv("PATH");
  if (lua_getfield(L, opts, "env") == LUA_TTABLE &&
      lua_getfield(L, -1, "PATH") == LUA_TSTRING)
    path = lua_tostring(L, -1);  /* anchored by the env table */
  lua_settop(L, opts);
  return path;
}

/* Push a new ChildProcess for a started child and watch its exit.
 * Returns 0, or an errno when it cannot be watched (the child is then
 * killed and reaped here).  [-0, +1, m] */
static int new_process(lua_State *L, pid_t pid, const eh_stream *s) {
  eh_process *p = (eh_process *)lua_newuserdatauv(L, sizeof *p, 0);
  int i, err, status;
  memset(p, 0, sizeof *p);
  p->hub = eh_gethub(L);
  p->pid = pid;
  p->pidfd = -1;
  for (i = 0; i < 3; i++) p->fds[i] = -1;
  luaL_setmetatable(L, EH_PROCESS_MT);
  if ((err = eh_child_watch(p)) != 0) {
    kill(pid, SIGKILL);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    return err;
  }
  for (i = 0; s && i < 3; i++) p->fds[i] = s[i].ours;
  return 0;
}

/* spawn_process(argv, opts) -> ChildProcess, or nil, err, errno when the
 * child could not be started.  opts: env (table: the whole environment),
 * cwd, stdin/stdout/stderr, setsid.  [-0, +1|3, e] */
static int l_spawn_process(lua_State *L) {
  eh_spawn_plan pl;
  const char *path;
  pid_t pid;
  int err;
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_settop(L, 2);
  memset(&pl, 0, sizeof pl);
  path = spawn_path(L, 2);                                   /* (PATH anchored by opts) */
  pl.argv = make_vector(L, 1, 0);                            /* 3 */
  luaL_argcheck(L, pl.argv[0] != NULL, 1, "empty command");
  pl.paths = make_paths(L, pl.argv[0], path);                /* 4 */
  pl.envp = environ;
  if (lua_getfield(L, 2, "env") == LUA_TTABLE) pl.envp = make_vector(L, 5, 1);
  lua_getfield(L, 2, "cwd");
  pl.cwd = lua_tostring(L, -1);
  lua_getfield(L, 2, "setsid");
  pl.setsid = lua_toboolean(L, -1);
  read_spec(L, 2, "stdin", EH_S_PIPE, &pl.s[0]);
  read_spec(L, 2, "stdout", EH_S_PIPE, &pl.s[1]);
  read_spec(L, 2, "stderr", EH_S_INHERIT, &pl.s[2]);
  if ((err = eh_forkexec(&pl, &pid)) != 0) return push_errno(L, err);
  if ((err = new_process(L, pid, pl.s)) != 0) {
    eh_close_streams(pl.s, 0);
    return push_errno(L, err);
  }
  return 1;
}

/* Push what wait() returns for a known status: the exit code, or nil,
 * "signal", signum.  [-0, +1|3, -] */
static int push_status(lua_State *L, int status) {
  if (WIFSIGNALED(status)) {
    lua_pushnil(L);
    lua_pushliteral(L, "signal");
    lua_pushinteger(L, WTERMSIG(status));
    return 3;
  }
  lua_pushinteger(L, WEXITSTATUS(status));
  return 1;
}

/* Continuation of wait(): unlink the node, drop the loop reference, then
 * report the status or the timeout.  Process at 1, node at 2. */
static int wait_k(lua_State *L, int status, lua_KContext ctx) {
  eh_process *p = (eh_process *)lua_touserdata(L, 1);
  eh_waitnode *n = (eh_waitnode *)lua_touserdata(L, 2);
  (void)status; (void)ctx;
  if (n->prev) n->prev->next = n->next; else p->waiters = n->next;
  if (n->next) n->next->prev = n->prev;
  ev_unref(p->hub->loop);
  if (eh_park_check(L) == EH_WAKE_TIMEOUT && !p->exited) {
    lua_pushnil(L);
    lua_pushliteral(L, "timeout");
    return 2;
  }
  if (!p->exited) {
    lua_pushnil(L);
    lua_pushliteral(L, "not a child");
    return 2;
  }
  return push_status(L, p->status);
}

/* proc:wait([timeout]) -> code | nil, "signal", signum | nil, "timeout".
 * Parks the calling green thread until the child exits.  [-0, +1|2|3, e] */
static int proc_wait(lua_State *L) {
  eh_process *p = checkproc(L, 1);
  double timeout = luaL_optnumber(L, 2, -1.);
  eh_hub *h = p->hub;
  eh_waitnode *n;
  lua_settop(L, 1);
  if (p->exited) return push_status(L, p->status);
  if (p->foreign) {
    lua_pushnil(L);
    lua_pushliteral(L, "not a child");
    return 2;
  }
  if (eh_pending_cancel(L, h->current)) {
    lua_pop(L, 1);
    return eh_raise_cancel(L, h->current);
  }
  n = (eh_waitnode *)lua_newuserdatauv(L, sizeof *n, 0);
  n->thread = h->current;
  n->prev = NULL;
  n->next = p->waiters;
  if (p->waiters) p->waiters->prev = n;
  p->waiters = n;
  ev_ref(h->loop);  /* the child's exit can wake us: not a deadlock */
  return eh_park(L, timeout < 0 ? -1. : timeout, "process", -1, 0, wait_k);
}

/* proc:poll() -> like wait() when the child has exited, else nothing.
 * [-0, +0|1|3, -] */
static int proc_poll(lua_State *L) {
  eh_process *p = checkproc(L, 1);
  if (!p->exited) return 0;
  return push_status(L, p->status);
}

/* proc:kill([signum]) -> true, or nil, "exited" when it is gone.
 * Default SIGTERM.  [-0, +1|2, -] */
static int proc_kill(lua_State *L) {
  eh_process *p = checkproc(L, 1);
  int sig = (int)luaL_optinteger(L, 2, SIGTERM);
  if (eh_child_signal(p, sig) < 0) {
    lua_pushnil(L);
    lua_pushliteral(L, "exited");
    return 2;
  }
  lua_pushboolean(L, 1);
  return 1;
}

/* proc:pid() -> the child's process id.  [-0, +1, -] */
static int proc_pid(lua_State *L) {
  lua_pushinteger(L, checkproc(L, 1)->pid);
  return 1;
}

/* proc:takefd(i) -> our fd of stream i (0 stdin, 1 stdout, 2 stderr), or
 * nil when it is not a pipe; the caller owns it from then on.
 * [-0, +1, -] */
static int proc_takefd(lua_State *L) {
  eh_process *p = checkproc(L, 1);
  int i = (int)luaL_checkinteger(L, 2);
  luaL_argcheck(L, i >= 0 && i <= 2, 2, "stream must be 0, 1 or 2");
  if (p->fds[i] < 0) lua_pushnil(L);
  else lua_pushinteger(L, p->fds[i]);
  p->fds[i] = -1;
  return 1;
}

/* proc:close(): close pipes not taken, and SIGKILL the child if it still
 * runs; the armed watcher reaps it.  Also __close.  [-0, +0, -] */
static int proc_close(lua_State *L) {
  eh_process *p = checkproc(L, 1);
  int i;
  for (i = 0; i < 3; i++) close_fd(p, i);
  eh_child_signal(p, SIGKILL);
  return 0;
}

/* __gc: close pipes not taken; a child that still runs is left running
 * and handed to an orphan record that reaps it.  [-0, +0, -] */
static int proc_gc(lua_State *L) {
  eh_process *p = checkproc(L, 1);
  int i;
  for (i = 0; i < 3; i++) close_fd(p, i);
  eh_child_orphan(p);
  return 0;
}

/* __tostring: "ChildProcess (pid 123, running)". */
static int proc_tostring(lua_State *L) {
  eh_process *p = checkproc(L, 1);
  if (!p->exited)
    lua_pushfstring(L, "ChildProcess (pid %d, %s)", (int)p->pid,
                    p->foreign ? "not ours" : "running");
  else if (WIFSIGNALED(p->status))
    lua_pushfstring(L, "ChildProcess (pid %d, killed by signal %d)", (int)p->pid,
                    WTERMSIG(p->status));
  else
    lua_pushfstring(L, "ChildProcess (pid %d, exited %d)", (int)p->pid,
                    WEXITSTATUS(p->status));
  return 1;
}

/* In a new child: receive signal sig when the parent dies (Linux), and
 * at once if it died before this could be set. */
static void die_with_parent(int sig, pid_t parent) {
#ifdef PR_SET_PDEATHSIG
  if (prctl(PR_SET_PDEATHSIG, sig) == 0 && getppid() != parent) raise(sig);
#else
  (void)sig; (void)parent;
#endif
}

/* fork([death_signal]) -> pid, ChildProcess in the parent; 0 in the
 * child; or nil, err.  The child re-initialises the loop (ev_loop_fork)
 * and disowns the parent's children; with death_signal it gets that
 * signal when the parent dies.  Dropping green threads is the Lua side's
 * policy.  [-0|1, +1|2|3, m] */
static int l_fork(lua_State *L) {
  eh_hub *h = eh_gethub(L);
  int sig = (int)luaL_optinteger(L, 1, 0), err;
  pid_t parent = getpid(), pid;
  lua_settop(L, 0);
  luaL_checkstack(L, 4, NULL);
  pid = fork();
  if (pid < 0) return push_errno(L, errno);
  lua_pushinteger(L, pid);
  if (pid == 0) {
    if (sig > 0) die_with_parent(sig, parent);
    ev_loop_fork(h->loop);
    eh_child_disown_all();
    return 1;
  }
  if ((err = new_process(L, pid, NULL)) != 0) return push_errno(L, err);
  return 2;
}

static const luaL_Reg proc_meta[] = {
  {"__gc", proc_gc}, {"__close", proc_close}, {"__tostring", proc_tostring},
  {"__index", NULL}, {NULL, NULL}};
static const luaL_Reg proc_methods[] = {
  {"wait", proc_wait}, {"poll", proc_poll}, {"kill", proc_kill},
  {"pid", proc_pid}, {"takefd", proc_takefd}, {"close", proc_close},
  {NULL, NULL}};

/* Create the ChildProcess metatable; set up child watching.  [-0, +0, m] */
void eh_open_process(lua_State *L) {
  eh_child_open();
  if (luaL_newmetatable(L, EH_PROCESS_MT)) {
    luaL_setfuncs(L, proc_meta, 0);
    luaL_newlib(L, proc_methods);
    lua_setfield(L, -2, "__index");
  }
  lua_pop(L, 1);
}

/* unsetenv(name): remove a variable from the environment children
 * inherit (a secret read at start-up must not leak into them).
 * [-0, +0, e] */
static int l_unsetenv(lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  if (unsetenv(name) != 0) return luaL_error(L, "unsetenv %s: %s", name, strerror(errno));
  return 0;
}

const luaL_Reg eh_process_funcs[] = {
  {"unsetenv", l_unsetenv},
  {"spawn_process", l_spawn_process}, {"fork", l_fork}, {NULL, NULL}};
