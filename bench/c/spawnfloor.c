/*
 * spawnfloor.c -- the limit for bench/processes.sh: N children of `true`
 * started at once with posix_spawnp, stdout and stderr on pipes (as
 * run{"true"} captures them), each pipe read to EOF and each child reaped
 * with waitpid.  No event loop: what the kernel's spawn, exec and exit
 * cost on this machine.
 *   spawnfloor N     prints "wall=<seconds>"
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* Wall-clock seconds. */
static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Start `true` with its stdout and stderr on fresh pipes; *out and *err
 * get the read ends.  Returns the pid, or -1. */
static pid_t spawn_true(int *out, int *err) {
  int po[2], pe[2];
  pid_t pid;
  char *argv[] = {"true", NULL};
  posix_spawn_file_actions_t fa;
  if (pipe2(po, O_CLOEXEC) < 0 || pipe2(pe, O_CLOEXEC) < 0) return -1;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, po[1], 1);
  posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
  if (posix_spawnp(&pid, "true", &fa, NULL, argv, environ) != 0) pid = -1;
  posix_spawn_file_actions_destroy(&fa);
  close(po[1]);
  close(pe[1]);
  *out = po[0];
  *err = pe[0];
  return pid;
}

/* Read fd to EOF and close it. */
static void drain(int fd) {
  char buf[4096];
  while (read(fd, buf, sizeof buf) > 0) {}
  close(fd);
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 100, i, status;
  pid_t *pids = calloc((size_t)n, sizeof *pids);
  int *outs = calloc((size_t)n, sizeof *outs), *errs = calloc((size_t)n, sizeof *errs);
  double t0 = now();
  if (!pids || !outs || !errs) return 1;
  for (i = 0; i < n; i++)
    if ((pids[i] = spawn_true(&outs[i], &errs[i])) < 0) { perror("spawn"); return 1; }
  for (i = 0; i < n; i++) {
    drain(outs[i]);
    drain(errs[i]);
    if (waitpid(pids[i], &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      fprintf(stderr, "child %d failed\n", i);
      return 1;
    }
  }
  printf("wall=%f\n", now() - t0);
  return 0;
}
