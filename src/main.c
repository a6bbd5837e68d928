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
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lualib.h>

#include "hub.h"
#include "host_attach.h"

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
      case 'W': if (a[2]) { o.bad = i; return o; } break;
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

/* Call the function under msghandler with n args; report a failure. */
static int docall(lua_State *L, int narg, int nres) {
  int base = lua_gettop(L) - narg, status;
  lua_pushcfunction(L, msghandler);
  lua_insert(L, base);
  status = lua_pcall(L, narg, nres, base);
  lua_remove(L, base);
  if (status != LUA_OK) {
    message(lua_tostring(L, -1));
    lua_pop(L, 1);
  }
  return status;
}

/* Run LUA_INIT_5_4 or LUA_INIT: "@file" or a chunk of code. */
static int run_init(lua_State *L) {
  const char *name = "=LUA_INIT_" LUA_VERSION_MAJOR "_" LUA_VERSION_MINOR;
  const char *init = getenv(name + 1);
  if (init == NULL) { name = "=LUA_INIT"; init = getenv(name + 1); }
  if (init == NULL) return LUA_OK;
  if (init[0] == '@') {
    if (luaL_loadfile(L, init + 1) != LUA_OK) goto failed;
  } else if (luaL_loadbuffer(L, init, strlen(init), name) != LUA_OK) {
    goto failed;
  }
  return docall(L, 0, 0);
failed:
  message(lua_tostring(L, -1));
  lua_pop(L, 1);
  return LUA_ERRSYNTAX;
}

/* Run the -e and -l options in order, before the script. */
static int run_options(lua_State *L, char **argv, int script) {
  int i, last = script ? script : INT_MAX;
  for (i = 1; i < last && argv[i] != NULL; i++) {
    const char *a = argv[i], *extra;
    if (a[0] != '-' || (a[1] != 'e' && a[1] != 'l')) continue;
    extra = a[2] ? a + 2 : argv[++i];
    if (a[1] == 'e') {
      if (luaL_loadbuffer(L, extra, strlen(extra), "=(command line)") != LUA_OK) {
        message(lua_tostring(L, -1));
        return LUA_ERRSYNTAX;
      }
      if (docall(L, 0, 0) != LUA_OK) return LUA_ERRRUN;
    } else {
      const char *eq = strchr(extra, '=');
      const char *global = extra, *mod = extra;
      if (eq) { global = lua_pushlstring(L, extra, (size_t)(eq - extra)); mod = eq + 1; }
      lua_getglobal(L, "require");
      lua_pushstring(L, mod);
      if (docall(L, 1, 1) != LUA_OK) return LUA_ERRRUN;
      lua_setglobal(L, global);
      if (eq) lua_pop(L, 1);
    }
  }
  return LUA_OK;
}

/* Load and call the script (or stdin) with its arguments from `arg`. */
static int run_script(lua_State *L, const char *fname) {
  int n, i, status;
  if (fname != NULL && strcmp(fname, "-") == 0) fname = NULL;
  status = luaL_loadfile(L, fname);
  if (status != LUA_OK) {
    message(lua_tostring(L, -1));
    lua_pop(L, 1);
    return status;
  }
  if (lua_getglobal(L, "arg") != LUA_TTABLE)
    return luaL_error(L, "'arg' is not a table");
  n = (int)luaL_len(L, -1);
  luaL_checkstack(L, n + 3, "too many arguments to script");
  for (i = 1; i <= n; i++) lua_rawgeti(L, -i, i);
  lua_remove(L, -i);
  return docall(L, n, 0);
}

/* Print the version banner. */
static void print_version(void) {
  lua_writestring(PROGNAME " " "0.1.0", strlen(PROGNAME " 0.1.0"));
  lua_writestring(" (" LUA_RELEASE ", libev ", strlen(" (" LUA_RELEASE ", libev "));
  {
    char v[32];
    snprintf(v, sizeof v, "%d.%d)", ev_version_major(), ev_version_minor());
    lua_writestring(v, strlen(v));
  }
  lua_writeline();
}

/* Run the interactive loop of eventlet.repl (it reads through the hub). */
static int run_repl(lua_State *L) {
  int status;
  lua_getglobal(L, "require");
  lua_pushliteral(L, "eventlet.repl");
  if ((status = docall(L, 1, 1)) != LUA_OK) return status;
  lua_getfield(L, -1, "run");
  lua_remove(L, -2);
  return docall(L, 0, 0);
}

/* Start the backdoor of --backdoor ADDR (eventlet.backdoor.host_start,
 * which returns nil and a message when it cannot listen). */
static int start_backdoor(lua_State *L, const char *addr) {
  int status;
  lua_getglobal(L, "require");
  lua_pushliteral(L, "eventlet.backdoor");
  if ((status = docall(L, 1, 1)) != LUA_OK) return status;
  lua_getfield(L, -1, "host_start");
  lua_remove(L, -2);
  lua_pushstring(L, addr);
  if ((status = docall(L, 1, 2)) != LUA_OK) return status;
  if (lua_isnil(L, -2)) {
    message(lua_tostring(L, -1));
    status = LUA_ERRRUN;
  }
  lua_pop(L, 2);
  return status;
}

/* Body of the main green thread: options, script, interactive mode.
 * Upvalue: a light userdata with the options; argv comes in arg. */
static int host_main(lua_State *L) {
  options *o = (options *)lua_touserdata(L, lua_upvalueindex(1));
  char **argv = (char **)lua_touserdata(L, lua_upvalueindex(2));
  int status = LUA_OK;
  if (o->version) print_version();
  if (!o->noenv) status = run_init(L);
  if (status == LUA_OK && o->backdoor) status = start_backdoor(L, o->backdoor);
  if (status == LUA_OK) status = run_options(L, argv, o->script);
  if (status == LUA_OK && o->script)
    status = run_script(L, argv[o->script]);
  if (status != LUA_OK) goto done;
  if (o->interactive) {
    status = run_repl(L);
  } else if (o->script == 0 && !o->has_e && !o->version) {
    if (isatty(0)) { print_version(); status = run_repl(L); }
    else status = run_script(L, NULL);  /* not a tty: run stdin */
  }
done:
  lua_pushboolean(L, status == LUA_OK);
  return 1;
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
  if (argv[0] && argv[0][0]) progname = argv[0];
  o = scan_args(argv);
  if (o.bad) { usage(argv[o.bad]); return EXIT_FAILURE; }
  if (o.attach) return eh_attach(progname, o.attach);
  L = luaL_newstate();
  if (L == NULL) { message("cannot create state: not enough memory"); return EXIT_FAILURE; }
  lua_pushcfunction(L, pmain);
  lua_pushinteger(L, argc);
  lua_pushlightuserdata(L, argv);
  lua_pushlightuserdata(L, &o);
  status = lua_pcall(L, 3, 1, 0);
  ok = status == LUA_OK && lua_toboolean(L, -1);
  if (status != LUA_OK) message(lua_tostring(L, -1));
  lua_close(L);
  return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}
