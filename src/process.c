/*
 * process.c -- child processes for eventlet.processes.
 *
 * A child is started with posix_spawnp(): glibc runs it with
 * CLONE_VFORK and reports a failed exec (missing binary, no permission,
 * a bad cwd or redirect file) as spawn's own error, so the caller gets
 * nil, err instead of a child that exits 127.  Every descriptor we
 * create is close-on-exec; the child additionally closes every fd above
 * 2 (closefrom), so it inherits only its three standard streams.  Signal
 * dispositions and the mask are reset to defaults in the child (the hub
 * ignores SIGPIPE and libev may block signals).
 *
 * The hub's loop is not libev's default loop (which would reap every
 * child with waitpid(-1)), so each child is watched through a pidfd
 * (Linux >= 5.3): it becomes readable when the child exits, and then we
 * reap exactly that pid.  The watcher is unreferenced (a running child
 * alone does not keep the program alive); a thread waiting for the child
 * references the loop while it waits.  A ChildProcess collected while its
 * child still runs hands the pidfd to a small malloc'd orphan record that
 * reaps the child later: no zombies.
 *
 * The pipe ends are handed to Lua (takefd) and wrapped there as sockets
 * of kind "fd" (socket.c: one buffered reader for every descriptor).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "process.h"

extern char **environ;

/* A thread parked in wait(); the node lives on that thread's stack. */
typedef struct eh_waitnode {
  struct eh_waitnode *next, *prev;
  eh_thread *thread;
} eh_waitnode;

typedef struct eh_process {
  ev_io watch;          /* on the pidfd: readable once the child exits */
  eh_hub *hub;
  struct eh_process *next, *prev;  /* processes with an armed watcher */
  eh_waitnode *waiters;
  pid_t pid;
  int pidfd;            /* -1 once reaped (or disowned) */
  int fds[3];           /* our ends of the pipes (stdin, stdout, stderr) */
  int status;           /* raw wait status once exited */
  unsigned char exited; /* status is known */
  unsigned char foreign;/* not our child any more (we are a forked copy) */
  unsigned char orphan; /* malloc'd reaper of a collected ChildProcess */
} eh_process;

/* How a standard stream of the child is set up. */
enum stream_kind { S_INHERIT, S_PIPE, S_NULL, S_STDOUT, S_PATH, S_FD };

typedef struct stream_spec {
  int kind;
  int fd;             /* S_FD: the caller's fd */
  const char *path;   /* S_PATH / S_NULL */
  int ours, theirs;   /* S_PIPE: parent and child ends */
} stream_spec;

static eh_process *watched;  /* list of processes with armed watchers */

static void exit_cb(struct ev_loop *loop, ev_io *w, int revents);

/* Link a process into the list of armed watchers. */
static void watch_link(eh_process *p) {
  p->prev = NULL;
  p->next = watched;
  if (watched) watched->prev = p;
  watched = p;
}

/* Remove a process from the list of armed watchers. */
static void watch_unlink(eh_process *p) {
  if (p->prev) p->prev->next = p->next; else if (watched == p) watched = p->next;
  if (p->next) p->next->prev = p->prev;
  p->next = p->prev = NULL;
}

/* Stop the exit watcher (it is unreferenced, so reference it first) and
 * close the pidfd. */
static void stop_watcher(eh_process *p) {
  if (ev_is_active(&p->watch)) {
    ev_ref(p->hub->loop);
    ev_io_stop(p->hub->loop, &p->watch);
    watch_unlink(p);
  }
  if (p->pidfd >= 0) close(p->pidfd);
  p->pidfd = -1;
}

/* Start the exit watcher on the hub's loop, unreferenced. */
static void start_watcher(eh_process *p) {
  ev_io_init(&p->watch, exit_cb, p->pidfd, EV_READ);
  ev_io_start(p->hub->loop, &p->watch);
  ev_unref(p->hub->loop);
  watch_link(p);
}

/* Wake every thread waiting for this process. */
static void wake_waiters(eh_process *p) {
  eh_waitnode *n;
  for (n = p->waiters; n; n = n->next) eh_wake(n->thread, EH_WAKE_IO);
}

/* The pidfd is readable: reap exactly our child, keep its status and
 * wake its waiters (an orphan record frees itself instead). */
static void exit_cb(struct ev_loop *loop, ev_io *w, int revents) {
  eh_process *p = (eh_process *)w;
  int status = 0;
  pid_t r;
  (void)loop; (void)revents;
  do r = waitpid(p->pid, &status, WNOHANG); while (r < 0 && errno == EINTR);
  if (r == 0) return;            /* not yet: spurious wake-up */
  if (r < 0) p->foreign = 1;     /* reaped by someone else: status lost */
  else { p->status = status; p->exited = 1; }
  stop_watcher(p);
  if (p->orphan) { free(p); return; }
  wake_waiters(p);
}

/* use_hub() replaced the loop: move the armed exit watchers across. */
static int loop_hook(eh_hub *h, int phase) {
  eh_process *p, *all = watched;
  (void)h;
  if (phase == EH_LOOP_CHECK) return 0;
  for (p = all; p; p = p->next) {
    if (phase == EH_LOOP_STOP) {
      ev_ref(p->hub->loop);
      ev_io_stop(p->hub->loop, &p->watch);
    } else {
      ev_io_start(p->hub->loop, &p->watch);
      ev_unref(p->hub->loop);
    }
  }
  return 0;
}

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
                      stream_spec *s) {
  memset(s, 0, sizeof *s);
  s->ours = s->theirs = -1;
  s->kind = dflt;
  lua_getfield(L, idx, name);
  if (lua_isinteger(L, -1)) {
    s->kind = S_FD;
    s->fd = (int)lua_tointeger(L, -1);
  } else if (lua_type(L, -1) == LUA_TSTRING) {
    const char *v = lua_tostring(L, -1);
    if (strcmp(v, "pipe") == 0) s->kind = S_PIPE;
    else if (strcmp(v, "inherit") == 0) s->kind = S_INHERIT;
    else if (strcmp(v, "null") == 0) { s->kind = S_NULL; s->path = "/dev/null"; }
    else if (strcmp(v, "stdout") == 0) {
      if (strcmp(name, "stderr") != 0)
        luaL_error(L, "spawn: only stderr can be \"stdout\" (merged)");
      s->kind = S_STDOUT;
    } else { s->kind = S_PATH; s->path = v; }  /* anchored by the options table */
  } else if (!lua_isnil(L, -1)) {
    luaL_error(L, "spawn: %s must be \"pipe\", \"inherit\", \"null\", "
               "\"stdout\" (stderr only), a path or an fd", name);
  }
  lua_pop(L, 1);
}

/* Make a pipe for stream i: our end non-blocking, both close-on-exec, the
 * child's end above 2 so dup2 onto 0..2 never meets itself.  Returns 0 or
 * an errno. */
static int make_pipe(stream_spec *s, int i) {
  int p[2], child;
  if (pipe2(p, O_CLOEXEC) < 0) return errno;
  s->ours = i == 0 ? p[1] : p[0];
  child = i == 0 ? p[0] : p[1];
  if (child <= 2) {
    s->theirs = fcntl(child, F_DUPFD_CLOEXEC, 3);
    close(child);
    if (s->theirs < 0) return errno;
  } else {
    s->theirs = child;
  }
  if (fcntl(s->ours, F_SETFL, fcntl(s->ours, F_GETFL) | O_NONBLOCK) < 0) return errno;
  return 0;
}

/* Add the file action that sets up stream i of the child. */
static int add_action(posix_spawn_file_actions_t *fa, stream_spec *s, int i) {
  switch (s->kind) {
    case S_PIPE: return posix_spawn_file_actions_adddup2(fa, s->theirs, i);
    case S_FD: return posix_spawn_file_actions_adddup2(fa, s->fd, i);
    case S_STDOUT: return posix_spawn_file_actions_adddup2(fa, 1, i);
    case S_NULL: case S_PATH:
      return posix_spawn_file_actions_addopen(
          fa, i, s->path, i == 0 ? O_RDONLY : O_WRONLY | O_CREAT | O_TRUNC, 0666);
    default: return 0;
  }
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

/* Set the spawn attributes: default signal dispositions, an empty mask
 * and, on request, a new session. */
static int set_attrs(posix_spawnattr_t *attr, int setsid) {
  sigset_t all, none;
  short flags = POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK;
  sigfillset(&all);
  sigdelset(&all, SIGKILL);
  sigdelset(&all, SIGSTOP);
  sigemptyset(&none);
#ifdef POSIX_SPAWN_SETSID
  if (setsid) flags |= POSIX_SPAWN_SETSID;
#else
  (void)setsid;
#endif
  return posix_spawnattr_setsigdefault(attr, &all) ||
         posix_spawnattr_setsigmask(attr, &none) ||
         posix_spawnattr_setflags(attr, flags);
}

/* Set up pipes and file actions for the three streams; returns an errno. */
static int prepare_streams(posix_spawn_file_actions_t *fa, stream_spec *s,
                           const char *cwd) {
  int i, err;
  for (i = 0; i < 3; i++)
    if (s[i].kind == S_PIPE && (err = make_pipe(&s[i], i)) != 0) return err;
  for (i = 0; i < 3; i++)
    if ((err = add_action(fa, &s[i], i)) != 0) return err;
  if (cwd && (err = posix_spawn_file_actions_addchdir_np(fa, cwd)) != 0) return err;
  return posix_spawn_file_actions_addclosefrom_np(fa, 3);
}

/* Close the pipe ends of a failed or finished spawn; keep ours on success. */
static void close_streams(stream_spec *s, int keep_ours) {
  int i;
  for (i = 0; i < 3; i++) {
    if (s[i].theirs >= 0) close(s[i].theirs);
    if (!keep_ours && s[i].ours >= 0) close(s[i].ours);
  }
}

/* Push a new ChildProcess for a started child and arm its exit watcher.
 * Returns 0, or an errno when no pidfd could be had (the child is then
 * killed and reaped here).  [-0, +1, m] */
static int new_process(lua_State *L, pid_t pid, const stream_spec *s) {
  eh_process *p = (eh_process *)lua_newuserdatauv(L, sizeof *p, 0);
  int i, status;
  memset(p, 0, sizeof *p);
  p->hub = eh_gethub(L);
  p->pid = pid;
  for (i = 0; i < 3; i++) p->fds[i] = -1;
  luaL_setmetatable(L, EH_PROCESS_MT);
  p->pidfd = pidfd_open(pid, 0);  /* always close-on-exec */
  if (p->pidfd < 0) {
    int err = errno;
    kill(pid, SIGKILL);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    return err;
  }
  for (i = 0; s && i < 3; i++) p->fds[i] = s[i].ours;
  start_watcher(p);
  return 0;
}

/* spawn_process(argv, opts) -> ChildProcess, or nil, err, errno when the
 * child could not be started.  opts: env (table: the whole environment),
 * cwd, stdin/stdout/stderr, setsid.  [-0, +1|3, e] */
static int l_spawn_process(lua_State *L) {
  stream_spec s[3];
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  char **argv, **envp = environ;
  const char *cwd;
  pid_t pid;
  int err;
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_settop(L, 2);
  argv = make_vector(L, 1, 0);
  luaL_argcheck(L, argv[0] != NULL, 1, "empty command");
  if (lua_getfield(L, 2, "env") == LUA_TTABLE) envp = make_vector(L, 4, 1);
  lua_getfield(L, 2, "cwd");
  cwd = lua_tostring(L, -1);
  read_spec(L, 2, "stdin", S_PIPE, &s[0]);
  read_spec(L, 2, "stdout", S_PIPE, &s[1]);
  read_spec(L, 2, "stderr", S_INHERIT, &s[2]);
  lua_getfield(L, 2, "setsid");
  posix_spawn_file_actions_init(&fa);
  posix_spawnattr_init(&attr);
  err = set_attrs(&attr, lua_toboolean(L, -1));
  if (err == 0) err = prepare_streams(&fa, s, cwd);
  if (err == 0) err = posix_spawnp(&pid, argv[0], &fa, &attr, argv, envp);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (err == 0 && (err = new_process(L, pid, s)) != 0) lua_pop(L, 1);
  close_streams(s, err == 0);
  if (err != 0) return push_errno(L, err);
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
  if (p->pidfd < 0 || pidfd_send_signal(p->pidfd, sig, NULL, 0) < 0) {
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
  if (p->pidfd >= 0) pidfd_send_signal(p->pidfd, SIGKILL, NULL, 0);
  return 0;
}

/* __gc: close pipes not taken; if the child still runs, leave it running
 * and hand its watcher to a malloc'd orphan that reaps it.  [-0, +0, -] */
static int proc_gc(lua_State *L) {
  eh_process *p = checkproc(L, 1), *o;
  int i;
  for (i = 0; i < 3; i++) close_fd(p, i);
  if (!ev_is_active(&p->watch) || (o = (eh_process *)malloc(sizeof *o)) == NULL) {
    stop_watcher(p);
    return 0;
  }
  ev_ref(p->hub->loop);
  ev_io_stop(p->hub->loop, &p->watch);
  watch_unlink(p);
  memcpy(o, p, sizeof *o);
  o->waiters = NULL;
  o->orphan = 1;
  p->pidfd = -1;
  start_watcher(o);
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

/* In a forked child: the parent's children are not ours; stop watching
 * them and wake their waiters with "not a child". */
static void disown_children(void) {
  while (watched) {
    eh_process *p = watched;
    p->foreign = 1;
    stop_watcher(p);
    if (p->orphan) free(p); else wake_waiters(p);
  }
}

/* fork() -> pid, ChildProcess in the parent; 0 in the child; or nil,
 * err.  The child re-initialises the loop (ev_loop_fork) and disowns the
 * parent's children; dropping green threads is the Lua side's policy.
 * [-0, +1|2|3, m] */
static int l_fork(lua_State *L) {
  eh_hub *h = eh_gethub(L);
  pid_t pid;
  int err;
  lua_settop(L, 0);
  luaL_checkstack(L, 4, NULL);
  pid = fork();
  if (pid < 0) return push_errno(L, errno);
  lua_pushinteger(L, pid);
  if (pid == 0) {
    ev_loop_fork(h->loop);
    disown_children();
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

/* Create the ChildProcess metatable; register the loop hook.  [-0, +0, m] */
void eh_open_process(lua_State *L) {
  eh_add_loop_hook(loop_hook);
  if (luaL_newmetatable(L, EH_PROCESS_MT)) {
    luaL_setfuncs(L, proc_meta, 0);
    luaL_newlib(L, proc_methods);
    lua_setfield(L, -2, "__index");
  }
  lua_pop(L, 1);
}

const luaL_Reg eh_process_funcs[] = {
  {"spawn_process", l_spawn_process}, {"fork", l_fork}, {NULL, NULL}};
