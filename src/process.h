/*
 * process.h -- child processes: the Lua object (process.c), starting a
 * child with vfork+exec and an error pipe (forkexec.c), and watching and
 * reaping exits (childwatch.c).
 */
#ifndef EVENTLET_PROCESS_H
#define EVENTLET_PROCESS_H

#include <sys/types.h>

#include "hub.h"

#define EH_PROCESS_MT "eventlet.ChildProcess"

/* A thread parked in wait(); the node lives on that thread's stack. */
typedef struct eh_waitnode {
  struct eh_waitnode *next, *prev;
  eh_thread *thread;
} eh_waitnode;

/* The record inside a ChildProcess userdata (or a malloc'd orphan). */
typedef struct eh_process {
  ev_io watch;          /* on the pidfd: readable once the child exits */
  eh_hub *hub;
  struct eh_process *next, *prev;  /* the list of watched children */
  eh_waitnode *waiters;
  pid_t pid;
  int pidfd;            /* -1 when closed, or without pidfds (SIGCHLD mode) */
  int fds[3];           /* our ends of the pipes (stdin, stdout, stderr) */
  int status;           /* raw wait status once exited */
  unsigned char watching; /* in the list: not reaped yet */
  unsigned char exited; /* status is known */
  unsigned char foreign;/* not our child (forked copy, or reaped elsewhere) */
  unsigned char orphan; /* malloc'd reaper of a collected ChildProcess */
} eh_process;

/* How a standard stream of the child is set up. */
enum eh_stream_kind { EH_S_INHERIT, EH_S_PIPE, EH_S_NULL, EH_S_STDOUT, EH_S_PATH, EH_S_FD };

typedef struct eh_stream {
  int kind;
  int fd;             /* EH_S_FD: the caller's fd */
  const char *path;   /* EH_S_PATH / EH_S_NULL */
  int ours, theirs;   /* EH_S_PIPE: parent and child ends, or -1 */
} eh_stream;

/* Everything the child needs, prepared by the parent (the child of a
 * vfork may not allocate). */
typedef struct eh_spawn_plan {
  char *const *argv;
  char *const *envp;
  char *const *paths;  /* full paths to try for argv[0], in order */
  const char *cwd;     /* or NULL */
  int setsid;
  eh_stream s[3];
} eh_spawn_plan;

/* process.c */
void eh_open_process(lua_State *L);
extern const luaL_Reg eh_process_funcs[];

/* forkexec.c */
int eh_forkexec(eh_spawn_plan *pl, pid_t *pid);
void eh_close_streams(eh_stream *s, int keep_ours);

/* childwatch.c */
void eh_child_open(void);
int eh_child_watch(eh_process *p);
void eh_child_unwatch(eh_process *p);
int eh_child_signal(eh_process *p, int sig);
void eh_child_orphan(eh_process *p);
void eh_child_disown_all(void);

#endif
