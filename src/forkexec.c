/*
 * forkexec.c -- start a child: pipes, vfork, exec, and an error pipe.
 *
 * The parent makes the pipes (close-on-exec; its own ends non-blocking)
 * and an error pipe (close-on-exec), blocks every signal and vforks.  The
 * child -- which shares our memory until it execs, so it only makes
 * system calls on data prepared beforehand -- resets every signal to its
 * default and unblocks them, sets up its three streams, changes
 * directory, closes every other fd (but the error pipe, which exec
 * closes), and tries each candidate path with execve.  A failure at any
 * step is written to the error pipe as an errno, then the child exits.
 * The parent reads the error pipe: end of file means exec succeeded;
 * an errno becomes the caller's nil, err (never a child exiting 127).
 * Unlike posix_spawn's shared-memory report, the pipe also works where
 * vfork is emulated by fork (valgrind).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "process.h"

#define FD_CLOSE_LIMIT 65536  /* when close_range is missing */

/* Move a close-on-exec fd above 2 (the child's 0..2 are replaced, and
 * must never be one of the fds it still needs).  Returns it, or -1. */
static int above2(int fd) {
  int moved;
  if (fd > 2) return fd;
  moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  close(fd);
  return moved;
}

/* Make the pipe of stream i: our end non-blocking, both close-on-exec,
 * the child's end above 2.  Returns 0 or an errno. */
static int make_pipe(eh_stream *s, int i) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) return errno;
  s->ours = i == 0 ? p[1] : p[0];
  s->theirs = above2(i == 0 ? p[0] : p[1]);
  if (s->theirs < 0) return errno;
  if (fcntl(s->ours, F_SETFL, fcntl(s->ours, F_GETFL) | O_NONBLOCK) < 0) return errno;
  return 0;
}

/* Close the pipe ends of a spawn: the child's always, ours unless kept. */
void eh_close_streams(eh_stream *s, int keep_ours) {
  int i;
  for (i = 0; i < 3; i++) {
    if (s[i].theirs >= 0) close(s[i].theirs);
    if (!keep_ours && s[i].ours >= 0) close(s[i].ours);
    s[i].theirs = -1;
    if (!keep_ours) s[i].ours = -1;
  }
}

/* In the child: report errno on the error pipe and exit. */
static void child_fail(int errfd) {
  int err = errno;
  while (write(errfd, &err, sizeof err) < 0 && errno == EINTR) {}
  _exit(127);
}

/* In the child: every signal to its default action, none blocked. */
static void child_signals(void) {
  struct sigaction dfl;
  sigset_t none;
  int sig;
  dfl.sa_handler = SIG_DFL;
  dfl.sa_flags = 0;
  sigemptyset(&dfl.sa_mask);
  for (sig = 1; sig < NSIG; sig++)
    if (sig != SIGKILL && sig != SIGSTOP) sigaction(sig, &dfl, NULL);
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
}

/* In the child: make stream i what the plan says.  0, or -1 (errno). */
static int child_stream(const eh_stream *s, int i) {
  int fd;
  switch (s->kind) {
    case EH_S_PIPE: return dup2(s->theirs, i) < 0 ? -1 : 0;
    case EH_S_STDOUT: return dup2(1, i) < 0 ? -1 : 0;
    case EH_S_FD:
      if (s->fd == i) return fcntl(i, F_SETFD, 0);  /* keep it across exec */
      return dup2(s->fd, i) < 0 ? -1 : 0;
    case EH_S_NULL: case EH_S_PATH:
      fd = open(s->path, i == 0 ? O_RDONLY : O_WRONLY | O_CREAT | O_TRUNC, 0666);
      if (fd < 0) return -1;
      if (fd != i && (dup2(fd, i) < 0 || close(fd) < 0)) return -1;
      return 0;
    default: return 0;
  }
}

/* In the child: close every fd above 2 but keep. */
static void child_close_fds(int keep) {
  struct rlimit rl;
  int fd, limit = FD_CLOSE_LIMIT;
  if (close_range(3, (unsigned)keep - 1, 0) == 0 &&
      close_range((unsigned)keep + 1, ~0U, 0) == 0) return;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)limit)
    limit = (int)rl.rlim_cur;
  for (fd = 3; fd < limit; fd++)
    if (fd != keep) close(fd);
}

/* In the child: set everything up and exec; never returns. */
static void child_exec(const eh_spawn_plan *pl, int errfd) {
  int i, err = ENOENT;
  child_signals();
  if (pl->setsid && setsid() < 0) child_fail(errfd);
  for (i = 0; i < 3; i++)
    if (child_stream(&pl->s[i], i) < 0) child_fail(errfd);
  if (pl->cwd && chdir(pl->cwd) < 0) child_fail(errfd);
  child_close_fds(errfd);
  for (i = 0; pl->paths[i]; i++) {
    execve(pl->paths[i], pl->argv, pl->envp);
    if (errno == EACCES) err = EACCES;  /* as execvp: remember, go on */
    else if (errno != ENOENT && errno != ENOTDIR) { err = errno; break; }
  }
  errno = err;
  child_fail(errfd);
}

/* vfork and run the child; kept apart so no local of the caller lives
 * across the vfork. */
static pid_t vfork_exec(const eh_spawn_plan *pl, int errfd) {
  pid_t pid = vfork();
  if (pid == 0) child_exec(pl, errfd);
  return pid;
}

/* Read the child's report: 0 when it exec'd, else its errno. */
static int read_report(int fd) {
  int err = 0;
  ssize_t n;
  do n = read(fd, &err, sizeof err); while (n < 0 && errno == EINTR);
  return n == (ssize_t)sizeof err ? err : 0;
}

/* Start the child of a plan: pipes, vfork, exec.  Returns 0 with *pid
 * set and our pipe ends in pl->s[i].ours, or an errno (nothing left
 * open, no child left behind). */
int eh_forkexec(eh_spawn_plan *pl, pid_t *pid) {
  int i, err = 0, errpipe[2], status;
  sigset_t all, old;
  for (i = 0; i < 3 && err == 0; i++)
    if (pl->s[i].kind == EH_S_PIPE) err = make_pipe(&pl->s[i], i);
  if (err == 0 && pipe2(errpipe, O_CLOEXEC) < 0) err = errno;
  if (err == 0 && (errpipe[1] = above2(errpipe[1])) < 0) {
    err = errno;
    close(errpipe[0]);
  }
  if (err != 0) { eh_close_streams(pl->s, 0); return err; }
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  *pid = vfork_exec(pl, errpipe[1]);
  if (*pid < 0) err = errno;
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  close(errpipe[1]);
  if (err == 0) err = read_report(errpipe[0]);
  close(errpipe[0]);
  if (err != 0 && *pid > 0)
    while (waitpid(*pid, &status, 0) < 0 && errno == EINTR) {}
  eh_close_streams(pl->s, err == 0);
  return err;
}
