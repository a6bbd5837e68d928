/*
 * host_attach.c -- `eventlet-lua --attach ADDR`: the client of a backdoor,
 * with line editing and history (libedit).
 *
 * The client says hello with a line that is a Lua comment to anything else
 * ("--@eventlet-attach 1"); the server answers with a marker and from then
 * on frames what it sends: "o<len>\n<bytes>" is output, "p<len>\n<text>" a
 * prompt.  So the client knows exactly when the server waits for a line,
 * and output that arrives while the user types (a green thread printing in
 * the background) is shown above the line being edited.  Ctrl-C sends
 * telnet's IAC IP, which interrupts the evaluation in progress (or drops
 * an unfinished chunk); Ctrl-D ends the session.  The token, if the server
 * wants one, comes from EVENTLET_BACKDOOR_TOKEN; history is kept in
 * $EVENTLET_HISTORY or ~/.eventlet_history.  Not part of the core: it
 * never opens a Lua state.
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <editline/readline.h>

#include "host_attach.h"

#define HELLO "--@eventlet-attach 1\n"
#define MARKER "\0eventlet-attach 1\n"
#define MARKER_LEN (sizeof MARKER - 1)
#define IAC_IP "\377\364"
#define HISTORY_MAX 1000
#define PRE_SYNC_MAX 65536  /* bytes kept while waiting for the marker */
#define SYNC_TIMEOUT 10000  /* ms to wait for the marker: is it a backdoor? */

/* State of one attached session. */
typedef struct attach {
  int fd;              /* the connection */
  int tty;             /* stdin is a terminal: edit lines with libedit */
  int synced;          /* the marker arrived: frames follow */
  int at_prompt;       /* the server waits for a line */
  int stdin_done;      /* stdin ended: our write side is shut */
  char prompt[64];
  char *in;            /* bytes from the server not handled yet */
  size_t len, cap;
  char *typed;         /* stdin bytes not yet sent (no terminal) */
  size_t tlen, tcap;
} attach;

static volatile sig_atomic_t interrupted;
static volatile sig_atomic_t terminated;
static attach *current;  /* for the libedit line callback */

/* SIGINT: noted, acted on by the loop. */
static void on_sigint(int sig) {
  (void)sig;
  interrupted = 1;
}

/* SIGTERM/SIGHUP: end the loop, so the terminal is restored on the way out. */
static void on_sigterm(int sig) {
  (void)sig;
  terminated = 1;
}

/* Append n bytes to a growing buffer; exits when memory runs out. */
static void append(char **buf, size_t *len, size_t *cap, const char *p, size_t n) {
  if (*len + n > *cap) {
    size_t want = *cap ? *cap * 2 : 4096;
    while (want < *len + n) want *= 2;
    *buf = realloc(*buf, want);
    if (*buf == NULL) { perror("eventlet-lua --attach"); exit(1); }
    *cap = want;
  }
  memcpy(*buf + *len, p, n);
  *len += n;
}

/* Drop the first n bytes of a buffer. */
static void consume(char *buf, size_t *len, size_t n) {
  memmove(buf, buf + n, *len - n);
  *len -= n;
}

/* Write all of p to fd; returns 0, or -1 on error. */
static int write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* Connect to a Unix socket path.  Returns the fd or -1 (errno set). */
static int connect_unix(const char *path) {
  struct sockaddr_un un;
  int fd;
  if (strlen(path) >= sizeof un.sun_path) { errno = ENAMETOOLONG; return -1; }
  memset(&un, 0, sizeof un);
  un.sun_family = AF_UNIX;
  strcpy(un.sun_path, path);
  fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd >= 0 && connect(fd, (struct sockaddr *)&un, sizeof un) != 0) {
    int e = errno;
    close(fd);
    errno = e;
    fd = -1;
  }
  return fd;
}

/* Split "host:port", "[v6]:port" or "port" into host and port. */
static void split_addr(const char *addr, char *host, size_t hostlen, const char **port) {
  const char *colon = strrchr(addr, ':');
  size_t n;
  if (colon == NULL) { snprintf(host, hostlen, "127.0.0.1"); *port = addr; return; }
  *port = colon + 1;
  if (addr[0] == '[' && colon > addr && colon[-1] == ']') { addr++; colon--; }
  n = (size_t)(colon - addr);
  if (n == 0) { snprintf(host, hostlen, "127.0.0.1"); return; }
  if (n >= hostlen) n = hostlen - 1;
  memcpy(host, addr, n);
  host[n] = '\0';
}

/* Connect to a TCP address; returns the fd, or -1 with a message. */
static int connect_tcp(const char *addr, const char **why) {
  char host[256];
  const char *port;
  struct addrinfo hints, *res, *ai;
  int fd = -1, rc;
  split_addr(addr, host, sizeof host, &port);
  memset(&hints, 0, sizeof hints);
  hints.ai_socktype = SOCK_STREAM;
  if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) { *why = gai_strerror(rc); return -1; }
  for (ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
      *why = strerror(errno);
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(res);
  return fd;
}

/* Where history is kept. */
static const char *history_file(char *buf, size_t n) {
  const char *env = getenv("EVENTLET_HISTORY"), *home = getenv("HOME");
  if (env && *env) return env;
  if (home == NULL || *home == '\0') return NULL;
  snprintf(buf, n, "%s/.eventlet_history", home);
  return buf;
}

/* Show server output; above the line being edited when at the prompt. */
static void show_output(attach *a, const char *p, size_t n) {
  if (a->tty && a->at_prompt) {
    fputs("\r\033[K", stdout);
    fflush(stdout);
    write_all(1, p, n);
    rl_forced_update_display();
  } else {
    write_all(1, p, n);
  }
}

/* Send a line to the server; it is no longer waiting for one. */
static void submit(attach *a, const char *line, size_t n) {
  a->at_prompt = 0;
  if (write_all(a->fd, line, n) != 0 || write_all(a->fd, "\n", 1) != 0)
    a->stdin_done = 1;
}

/* Stdin ended (Ctrl-D): shut our side; the server ends the session. */
static void end_input(attach *a) {
  a->stdin_done = 1;
  a->at_prompt = 0;
  shutdown(a->fd, SHUT_WR);
}

/* libedit's callback: a whole line was typed (NULL on Ctrl-D). */
static void on_line(char *line) {
  attach *a = current;
  rl_callback_handler_remove();
  if (line == NULL) {
    fputs("\n", stdout);
    end_input(a);
    return;
  }
  if (*line) add_history(line);
  submit(a, line, strlen(line));
  free(line);
}

/* The server waits for a line: show the prompt. */
static void begin_prompt(attach *a) {
  a->at_prompt = 1;
  if (a->tty) {
    rl_callback_handler_install(a->prompt, on_line);
  } else {
    write_all(1, a->prompt, strlen(a->prompt));
  }
}

/* Send lines typed ahead on a non-terminal stdin, one per prompt. */
static void feed_typed(attach *a) {
  char *nl;
  if (!a->at_prompt || a->stdin_done) return;
  nl = memchr(a->typed, '\n', a->tlen);
  if (nl == NULL) return;
  submit(a, a->typed, (size_t)(nl - a->typed));
  consume(a->typed, &a->tlen, (size_t)(nl - a->typed) + 1);
}

/* Handle the frames buffered from the server. */
static void handle_frames(attach *a) {
  for (;;) {
    char *nl, *end;
    unsigned long n;
    if (a->len < 3 || (nl = memchr(a->in, '\n', a->len < 24 ? a->len : 24)) == NULL) return;
    n = strtoul(a->in + 1, &end, 10);
    if (end != nl || (a->in[0] != 'o' && a->in[0] != 'p')) {  /* not a frame */
      show_output(a, a->in, a->len);
      a->len = 0;
      return;
    }
    if (a->len < (size_t)(nl - a->in) + 1 + n) return;  /* incomplete */
    if (a->in[0] == 'o') {
      show_output(a, nl + 1, n);
    } else {
      snprintf(a->prompt, sizeof a->prompt, "%.*s", (int)n, nl + 1);
      begin_prompt(a);
    }
    consume(a->in, &a->len, (size_t)(nl - a->in) + 1 + n);
  }
}

/* Wait for the marker; what comes before it is the unframed banner. */
static void find_marker(attach *a) {
  size_t i;
  for (i = 0; i + MARKER_LEN <= a->len; i++)
    if (memcmp(a->in + i, MARKER, MARKER_LEN) == 0) {
      consume(a->in, &a->len, i + MARKER_LEN);
      a->synced = 1;
      return;
    }
  if (a->len > PRE_SYNC_MAX) consume(a->in, &a->len, a->len - MARKER_LEN);
}

/* Bytes from the server are readable.  Returns 0 at end of stream. */
static int read_server(attach *a) {
  char buf[16384];
  ssize_t n = read(a->fd, buf, sizeof buf);
  if (n < 0) return errno == EINTR || errno == EAGAIN;
  if (n == 0) return 0;
  append(&a->in, &a->len, &a->cap, buf, (size_t)n);
  if (!a->synced) find_marker(a);
  if (a->synced) handle_frames(a);
  return 1;
}

/* Stdin is readable. */
static void read_stdin(attach *a) {
  char buf[4096];
  ssize_t n;
  if (a->tty) { rl_callback_read_char(); return; }
  n = read(0, buf, sizeof buf);
  if (n < 0 && errno == EINTR) return;
  if (n <= 0) { end_input(a); return; }
  append(&a->typed, &a->tlen, &a->tcap, buf, (size_t)n);
  feed_typed(a);
}

/* Ctrl-C: interrupt the evaluation, or drop the line being typed. */
static void handle_interrupt(attach *a) {
  interrupted = 0;
  if (!a->at_prompt) {
    write_all(a->fd, IAC_IP, 2);
    if (a->tty) write_all(1, "\n", 1);
    return;
  }
  if (a->tty) {
    rl_replace_line("", 0);
    fputs("^C\n", stdout);
    fflush(stdout);
    rl_callback_handler_remove();
  }
  a->at_prompt = 0;
  write_all(a->fd, IAC_IP, 2);  /* the server answers with a fresh prompt */
}

/* The session: poll the server and (at the prompt) stdin until the
 * server closes.  Returns 0 after a session, 2 when refused early. */
static int session(attach *a) {
  for (;;) {
    struct pollfd p[2];
    int np = 1, rc;
    if (terminated) break;
    if (interrupted) handle_interrupt(a);
    if (!a->tty) feed_typed(a);
    p[0].fd = a->fd;
    p[0].events = POLLIN;
    if (a->at_prompt && !a->stdin_done) { p[1].fd = 0; p[1].events = POLLIN; np = 2; }
    rc = poll(p, (nfds_t)np, a->synced ? -1 : SYNC_TIMEOUT);
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0) return 1;
    if (rc == 0) break;  /* no marker in time: not a backdoor */
    if (p[0].revents && !read_server(a)) break;
    if (np == 2 && p[1].revents) read_stdin(a);
  }
  if (a->tty && a->at_prompt) {
    rl_callback_handler_remove();
    fputs("\n", stdout);
  }
  if (!a->synced) {
    fwrite(a->in, 1, a->len, stderr);
    if (getenv("EVENTLET_BACKDOOR_TOKEN") == NULL)
      fputs("(a token is sent from EVENTLET_BACKDOOR_TOKEN)\n", stderr);
    return 2;
  }
  return 0;
}

/* Connect, say hello (after the token), run the session. */
int eh_attach(const char *progname, const char *addr) {
  attach a;
  const char *why = NULL, *token = getenv("EVENTLET_BACKDOOR_TOKEN");
  char hbuf[4096];
  const char *hist;
  struct sigaction sa;
  int rc;
  memset(&a, 0, sizeof a);
  a.fd = strncmp(addr, "unix:", 5) == 0 ? connect_unix(addr + 5) : connect_tcp(addr, &why);
  if (a.fd < 0) {
    fprintf(stderr, "%s: cannot attach to %s: %s\n", progname, addr, why ? why : strerror(errno));
    return 1;
  }
  signal(SIGPIPE, SIG_IGN);
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sigint;  /* no SA_RESTART: poll returns EINTR */
  sigaction(SIGINT, &sa, NULL);
  sa.sa_handler = on_sigterm;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
  if (token && *token && (write_all(a.fd, token, strlen(token)) || write_all(a.fd, "\n", 1)))
    return 2;
  if (write_all(a.fd, HELLO, sizeof HELLO - 1) != 0) return 2;
  a.tty = isatty(0);
  current = &a;
  hist = a.tty ? history_file(hbuf, sizeof hbuf) : NULL;
  if (a.tty) {
    rl_catch_signals = 0;
    stifle_history(HISTORY_MAX);
    if (hist) read_history(hist);
  }
  rc = session(&a);
  if (hist && a.synced) write_history(hist);
  close(a.fd);
  free(a.in);
  free(a.typed);
  return rc;
}
