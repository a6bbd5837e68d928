/*
 * main.c -- eventlet-lua, a host that behaves like lua(1) but runs the
 * script as the main green thread of the hub.
 *
 *   eventlet-lua [options] [script [args]]
 *     -e stat   execute string 'stat'        -i   enter interactive mode
 *     -l mod    require 'mod' into global mod  -v   show version
 *     -E        ignore LUA_INIT               -W   turn warnings on
 *     --        stop handling options          -    run stdin
 *     --backdoor ADDR  serve a live REPL on ADDR (eventlet.backdoor)
 *     --attach ADDR    be the line-editing client of one (host_attach.c)
 *
 * The options, the script and the interactive loop all run inside one
 * green thread, so every one of them may block.  The process ends when
 * that thread has finished and nothing is runnable or armed; the exit
 * status is 1 when it failed, 0 otherwise, or whatever os.exit says.
 */
#include <limits.h>
#include <stdio.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lualib.h>

#include "hub.h"
#include "host_attach.h"
#include "host_alloc.h"
#include "host_heap.h"

#define PROGNAME "eventlet-lua"

static const char *progname = PROGNAME;

/* Parsed command line: where the script is and what was asked for. */
typedef struct options {
  int script;       /* index of the script in argv, 0 if none */
  int interactive;  /* -i */
  int version;      /* -v */
  int noenv;        /* -E */
  int stdin_script; /* "-" given as the script */
  int has_e;        /* -e given */
  int warnings;     /* -W: warn() messages are printed */
  int bad;          /* index of an unknown or incomplete option */
  const char *backdoor; /* --backdoor ADDR: serve a REPL while running */
  const char *attach;   /* --attach ADDR: be the client of one instead */
} options;

/* Print a message the way lua.c does: "progname: msg". */
static void message(const char *msg) {
  lua_writestringerror("%s: ", progname);
  lua_writestringerror("%s\n", msg);
}

/* Whether a is one of our long options taking an argument. */
static int long_option(const char *a) {
  return strcmp(a, "--backdoor") == 0 || strcmp(a, "--attach") == 0;
}

/* Print usage after a bad option, like lua(1). */
static void usage(const char *badopt) {
  if (badopt[1] == 'e' || badopt[1] == 'l' || long_option(badopt))
    fprintf(stderr, "%s: '%s' needs argument\n", progname, badopt);
  else
    fprintf(stderr, "%s: unrecognized option '%s'\n", progname, badopt);
  fprintf(stderr, 
      "usage: %s [options] [script [args]]\n"
      "Available options are:\n"
      "  -e stat   execute string 'stat'\n"
      "  -i        enter interactive mode after executing 'script'\n"
      "  -l mod    require library 'mod' into global 'mod'\n"
      "  -v        show version information\n"
      "  -E        ignore environment variables\n"
      "  -W        turn warnings on\n"
      "  --backdoor ADDR  serve a live REPL on ADDR while the script runs\n"
      "  --attach ADDR    connect to such a REPL (host:port or unix:/path)\n"
      "  --        stop handling options\n"
      "  -         stop handling options and execute stdin\n", progname);
  fflush(stderr);
}

/* Scan the options before the script; -e and -l are run later, in order. */
static options scan_args(char **argv) {
  options o;
  int i;
  memset(&o, 0, sizeof o);
  for (i = 1; argv[i] != NULL; i++) {
    const char *a = argv[i];
    if (a[0] != '-') { o.script = i; return o; }
    switch (a[1]) {
      case '\0': o.script = i; o.stdin_script = 1; return o;
      case '-':
        if (long_option(a)) {
          if (argv[i + 1] == NULL) { o.bad = i; return o; }
          if (a[2] == 'b') o.backdoor = argv[++i]; else o.attach = argv[++i];
          break;
        }
        if (a[2] != '\0') { o.bad = i; return o; }
        if (argv[i + 1] != NULL) o.script = i + 1;
        return o;
      case 'E': if (a[2]) { o.bad = i; return o; } o.noenv = 1; break;
      case 'W': if (a[2]) { o.bad = i; return o; } o.warnings = 1; break;
      case 'i': if (a[2]) { o.bad = i; return o; } o.interactive = o.version = 1; break;
      case 'v': if (a[2]) { o.bad = i; return o; } o.version = 1; break;
      case 'e': o.has_e = 1; /* FALLTHROUGH */
      case 'l':
        if (a[2] == '\0' && (argv[++i] == NULL || argv[i][0] == '-')) {
          o.bad = i - 1;
          return o;
        }
        break;
      default: o.bad = i; return o;
    }
  }
  return o;
}

/* Prepend the directories holding our Lua modules to package.path and
 * package.cpath: the build tree next to the binary, or the install
 * prefix above it.  No environment variable is needed. */
static void set_paths(lua_State *L) {
  char exe[PATH_MAX], probe[PATH_MAX + 64];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  char *slash;
  const char *lpath, *cpath;
  if (n <= 0) return;
  exe[n] = '\0';
  slash = strrchr(exe, '/');
  if (slash == NULL) return;
  *slash = '\0';
  snprintf(probe, sizeof probe, "%s/lua/eventlet/init.lua", exe);
  lua_getglobal(L, LUA_LOADLIBNAME);
  if (access(probe, R_OK) == 0) {
    lpath = lua_pushfstring(L, "%s/lua/?.lua;%s/lua/?/init.lua;", exe, exe);
    cpath = lua_pushfstring(L, "%s/lua/?.so;", exe);
  } else {
    lpath = lua_pushfstring(L, "%s/../share/lua/" LUA_VERSION_MAJOR "."
                            LUA_VERSION_MINOR "/?.lua;%s/../share/lua/"
                            LUA_VERSION_MAJOR "." LUA_VERSION_MINOR
                            "/?/init.lua;", exe, exe);
    cpath = lua_pushfstring(L, "%s/../lib/lua/" LUA_VERSION_MAJOR "."
                            LUA_VERSION_MINOR "/?.so;", exe);
  }
  lua_getfield(L, -3, "path");
  lua_pushfstring(L, "%s%s", lpath, lua_tostring(L, -1));
  lua_setfield(L, -5, "path");
  lua_getfield(L, -4, "cpath");
  lua_pushfstring(L, "%s%s", cpath, lua_tostring(L, -1));
  lua_setfield(L, -6, "cpath");
  lua_pop(L, 5);
}

/* Build the global `arg` table as lua(1) does: arg[0] is the script,
 * negative indices the interpreter and its options. */
static void create_arg(lua_State *L, char **argv, int argc, int script) {
  int i;
  lua_createtable(L, argc, script + 1);
  for (i = 0; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i - script);
  }
  lua_setglobal(L, "arg");
}

/* Message handler: the error with a traceback appended. */
static int msghandler(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (msg == NULL) {
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
      return 1;
    msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  }
  luaL_traceback(L, L, msg, 1);
  return 1;
}

/* Report a chunk that failed to load (syntax error, missing file) the way
 * lua(1) does, without a traceback; returns -1. */
static int report_load(lua_State *L) {
  message(lua_tostring(L, -1));
  lua_pop(L, 1);
  return -1;
}

/* Print the version banner. */
static void print_version(void) {
  char v[32];
  lua_writestring(PROGNAME " 0.1.0", strlen(PROGNAME " 0.1.0"));
  lua_writestring(" (" LUA_RELEASE ", libev ", strlen(" (" LUA_RELEASE ", libev "));
  snprintf(v, sizeof v, "%d.%d)", ev_version_major(), ev_version_minor());
  lua_writestring(v, strlen(v));
  lua_writeline();
}

/* What the main green thread does, in order: one step per option, then
 * the script, then interactive mode.  Each step is one protected call
 * made with lua_pcallk, so a script's top level is yieldable like any
 * green thread (no nested loops for its waits). */
enum step_kind { S_INIT, S_BACKDOOR, S_EXEC, S_LIB, S_SCRIPT, S_VERSION, S_REPL };

typedef struct step {
  int kind;
  const char *arg;   /* code, module ("g=mod"), script name, address */
} step;

typedef struct plan {
  int n;
  step steps[1];     /* n of them */
} plan;

/* Stack slots of host_main: the message handler, then the plan. */
#define MSGH_SLOT 1
#define PLAN_SLOT 2

/* Add a step to the plan. */
static void add_step(plan *p, int kind, const char *arg) {
  p->steps[p->n].kind = kind;
  p->steps[p->n].arg = arg;
  p->n++;
}

/* Lay out the steps lua(1) would take for these options. */
static void make_plan(plan *p, const options *o, char **argv) {
  int i, last = o->script ? o->script : INT_MAX;
  const char *init = getenv("LUA_INIT_" LUA_VERSION_MAJOR "_" LUA_VERSION_MINOR);
  if (o->version) add_step(p, S_VERSION, NULL);
  if (init == NULL) init = getenv("LUA_INIT");
  if (!o->noenv && init != NULL) add_step(p, S_INIT, init);
  if (o->backdoor) add_step(p, S_BACKDOOR, o->backdoor);
  for (i = 1; i < last && argv[i] != NULL; i++) {
    const char *a = argv[i];
    if (a[0] != '-') continue;
    if (long_option(a)) { i++; continue; }
    if (a[1] != 'e' && a[1] != 'l') continue;
    add_step(p, a[1] == 'e' ? S_EXEC : S_LIB, a[2] ? a + 2 : argv[++i]);
  }
  if (o->script) add_step(p, S_SCRIPT, argv[o->script]);
  if (o->interactive) {
    add_step(p, S_REPL, NULL);
  } else if (o->script == 0 && !o->has_e && !o->version) {
    if (isatty(0)) { add_step(p, S_VERSION, NULL); add_step(p, S_REPL, NULL); }
    else add_step(p, S_SCRIPT, "-");  /* not a tty: run stdin */
  }
}

/* Load LUA_INIT: "@file" or a chunk of code. */
static int load_init(lua_State *L, const char *init) {
  if (init[0] == '@') return luaL_loadfile(L, init + 1);
  return luaL_loadbuffer(L, init, strlen(init), "=LUA_INIT");
}

/* Push the function and arguments of a step; returns the number of
 * arguments, or -1 after reporting a load error.  *nres: results kept. */
static int prepare(lua_State *L, const step *s, int *nres) {
  int status = LUA_OK, n = 0, i;
  *nres = 0;
  switch (s->kind) {
    case S_INIT: status = load_init(L, s->arg); break;
    case S_EXEC:
      status = luaL_loadbuffer(L, s->arg, strlen(s->arg), "=(command line)");
      break;
    case S_LIB: {
      const char *eq = strchr(s->arg, '=');
      lua_getglobal(L, "require");
      lua_pushstring(L, eq ? eq + 1 : s->arg);
      *nres = 1;
      return 1;
    }
    case S_BACKDOOR:
      status = luaL_loadstring(L, "return require('eventlet.backdoor').host_start(...)");
      lua_pushstring(L, s->arg);
      *nres = 2;
      return status == LUA_OK ? 1 : (lua_pop(L, 1), report_load(L));
    case S_REPL:
      status = luaL_loadstring(L, "return require('eventlet.repl').run()");
      break;
    case S_SCRIPT:
      status = luaL_loadfile(L, strcmp(s->arg, "-") == 0 ? NULL : s->arg);
      if (status != LUA_OK) break;
      if (lua_getglobal(L, "arg") != LUA_TTABLE) { lua_pop(L, 1); return 0; }
      n = (int)luaL_len(L, -1);
      luaL_checkstack(L, n + 3, "too many arguments to script");
      for (i = 1; i <= n; i++) lua_rawgeti(L, -i, i);
      lua_remove(L, -(n + 1));
      return n;
  }
  return status == LUA_OK ? n : report_load(L);
}

/* After a step's call: report its error, or use its results.  Returns
 * whether the plan goes on. */
static int finish(lua_State *L, const step *s, int status) {
  if (status != LUA_OK) {
    message(lua_tostring(L, -1));
    lua_pop(L, 1);
    return 0;
  }
  if (s->kind == S_LIB) {
    const char *eq = strchr(s->arg, '=');
    if (eq) {
      lua_pushlstring(L, s->arg, (size_t)(eq - s->arg));
      lua_insert(L, -2);
      lua_setglobal(L, lua_tostring(L, -2));
      lua_pop(L, 1);
    } else {
      lua_setglobal(L, s->arg);
    }
  } else if (s->kind == S_BACKDOOR) {
    int ok = !lua_isnil(L, -2);
    if (!ok) message(lua_tostring(L, -1));
    lua_pop(L, 2);
    return ok;
  }
  return 1;
}

/* The plan's end: the main thread returns whether every step succeeded. */
static int plan_done(lua_State *L, int ok) {
  lua_settop(L, 0);
  lua_pushboolean(L, ok);
  return 1;
}

static int plan_k(lua_State *L, int status, lua_KContext ctx);

/* Run the plan from step i on; a step that yields comes back in plan_k. */
static int run_plan(lua_State *L, int i) {
  plan *p = (plan *)lua_touserdata(L, PLAN_SLOT);
  for (; i < p->n; i++) {
    const step *s = &p->steps[i];
    int nres, nargs;
    if (s->kind == S_VERSION) { print_version(); continue; }
    if ((nargs = prepare(L, s, &nres)) < 0) return plan_done(L, 0);
    if (!finish(L, s, lua_pcallk(L, nargs, nres, MSGH_SLOT, i, plan_k)))
      return plan_done(L, 0);
  }
  return plan_done(L, 1);
}

/* Continuation of a step that yielded: finish it and go on. */
static int plan_k(lua_State *L, int status, lua_KContext ctx) {
  plan *p = (plan *)lua_touserdata(L, PLAN_SLOT);
  if (!finish(L, &p->steps[ctx], status == LUA_YIELD ? LUA_OK : status))
    return plan_done(L, 0);
  return run_plan(L, (int)ctx + 1);
}

/* Body of the main green thread.  Upvalues: the options and argv, as
 * light userdata.  Returns true when every step succeeded. */
static int host_main(lua_State *L) {
  const options *o = (const options *)lua_touserdata(L, lua_upvalueindex(1));
  char **argv = (char **)lua_touserdata(L, lua_upvalueindex(2));
  int argc = 0;
  plan *p;
  while (argv[argc]) argc++;
  lua_settop(L, 0);
  lua_pushcfunction(L, msghandler);                           /* MSGH_SLOT */
  p = (plan *)lua_newuserdatauv(L, sizeof *p + (size_t)(argc + 4) * sizeof(step), 0);
  p->n = 0;                                                   /* PLAN_SLOT */
  make_plan(p, o, argv);
  return run_plan(L, 0);
}

/* Everything that runs with the Lua state open; returns the exit status. */
static int pmain(lua_State *L) {
  int argc = (int)lua_tointeger(L, 1);
  char **argv = (char **)lua_touserdata(L, 2);
  options *o = (options *)lua_touserdata(L, 3);
  eh_hub *h;
  eh_thread *t;
  luaL_checkversion(L);
  if (o->noenv) {
    lua_pushboolean(L, 1);
    lua_setfield(L, LUA_REGISTRYINDEX, "LUA_NOENV");
  }
  luaL_openlibs(L);
  if (o->warnings) lua_warning(L, "@on", 0);  /* -W, as lua(1) */
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  lua_pushcfunction(L, luaopen_eventlet_core);
  lua_setfield(L, -2, "eventlet.core");
  lua_pop(L, 1);
  set_paths(L);
  create_arg(L, argv, argc, o->script);
  lua_getglobal(L, "require");
  lua_pushliteral(L, "eventlet.core");
  lua_call(L, 1, 1);
  lua_pop(L, 1);
  h = eh_gethub(L);
  lua_pushlightuserdata(L, o);
  lua_pushlightuserdata(L, argv);
  lua_pushcclosure(L, host_main, 2);
  eh_spawn(L, h, 0);
  t = eh_tothread(L, -1);
  eh_extra(L, t);
  lua_pushliteral(L, "main");
  lua_setfield(L, -2, "name");
  lua_pop(L, 1);
  eh_enqueue(h, t);
  eh_run(L, h, NULL);
  lua_pushboolean(L, (t->flags & EH_F_FINISHED) && !(t->flags & EH_F_ERROR) &&
                     t->nres > 0 && lua_toboolean(t->co, 1));
  return 1;
}

int main(int argc, char **argv) {
  lua_State *L;
  options o;
  int status, ok;
  eh_heap_tune();
  if (argv[0] && argv[0][0]) progname = argv[0];
  o = scan_args(argv);
  if (o.bad) { usage(argv[o.bad]); return EXIT_FAILURE; }
  if (o.attach) return eh_attach(progname, o.attach);
  L = luaL_newstate();
  if (L == NULL) { message("cannot create state: not enough memory"); return EXIT_FAILURE; }
  eh_alloc_install(L);
  lua_pushcfunction(L, pmain);
  lua_pushinteger(L, argc);
  lua_pushlightuserdata(L, argv);
  lua_pushlightuserdata(L, &o);
  status = lua_pcall(L, 3, 1, 0);
  ok = status == LUA_OK && lua_toboolean(L, -1);
  if (status != LUA_OK) message(lua_tostring(L, -1));
  lua_close(L);
  eh_alloc_release();
  return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}
