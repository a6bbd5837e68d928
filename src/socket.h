/*
 * socket.h -- wrapped descriptors: the C API other core files use.
 *
 * An eh_sock is the record inside an "eventlet.socket" userdata: a
 * non-blocking fd (TCP, UDP, Unix, or any fd such as a pipe), a read
 * buffer, a per-operation timeout, and one slot for a parked reader and
 * one for a parked writer (full duplex; two readers at once is an error).
 *
 * The two primitives below are how C code does I/O on a socket without
 * ever blocking the hub.  Both try the operation at once; only when the fd
 * would block do they park the calling green thread (with the socket's
 * timeout), and they always end by calling the caller's continuation k --
 * directly when no wait was needed, after the wake otherwise.  In k the
 * outcome is in s->rstatus / s->wstatus (enum eh_io); kills and Timeouts
 * have already been raised by the primitive (it disarms first), so k never
 * sees a cancelled wait.  Keep the socket userdata at a fixed stack index:
 * the stack survives the park.
 *
 *   eh_sock *s = eh_checksocket(L, 1);
 *   size_t n; const char *p = eh_sock_data(s, &n);
 *   if (no complete head in p[0..n)) return eh_sock_fill(L, s, ctx, again_k);
 *   ... parse ...; eh_sock_consume(s, used);
 *   return eh_sock_writev(L, s, iov, 3, ctx, sent_k);   // iov bases must
 *                               // stay valid until sent_k (keep the Lua
 *                               // strings on the stack)
 *
 * TLS plugs in underneath: a socket wrapped by tls.c swaps s->ops for
 * OpenSSL's read/writev (handshake included, wants-read/wants-write
 * handled by the primitives), so the same calls serve HTTP over TLS.
 */
#ifndef EVENTLET_SOCKET_H
#define EVENTLET_SOCKET_H

#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "hub.h"

#define EH_SOCKET_MT "eventlet.socket"
#define EH_SOCK_IOV_MAX 64      /* iovecs one eh_sock_writev may take */
#define EH_SOCK_IOV_SMALL 4     /* ...kept inside the socket (more: malloc) */
#define EH_SOCK_BUFSIZE EH_BUF_SIZE  /* initial read buffer (bufpool.h) */
#define EH_SOCK_BIGREAD 262144  /* buffer a large recv(n) may grow to */

/* What kind of descriptor a socket wraps. */
enum eh_sock_kind { EH_SOCK_STREAM, EH_SOCK_DGRAM, EH_SOCK_FD };

/* Outcome of a primitive, read in its continuation. */
enum eh_io {
  EH_IO_OK = 0,   /* progress: bytes appended to the buffer / all sent */
  EH_IO_EOF,      /* the peer closed its side (reads only) */
  EH_IO_TIMEOUT,  /* the socket's timeout ran out (or is 0) */
  EH_IO_CLOSED,   /* closed locally, possibly while we were parked */
  EH_IO_ERROR,    /* s->err holds errno, or s->errmsg a TLS reason */
  EH_IO_AGAIN     /* eh_sock_read_some only: nothing available now */
};

/* Socket flags. */
#define EH_SOCK_LISTENING 0x01
#define EH_SOCK_CONNECTED 0x02
#define EH_SOCK_SHUT_RD   0x04
#define EH_SOCK_SHUT_WR   0x08
#define EH_SOCK_TLS_LISTENER 0x10  /* tls is the SSL_CTX of accepted conns */

typedef struct eh_sock eh_sock;

/* The transport under a socket: plain fd or TLS.  Each returns bytes
 * (>0), 0 for end of stream (read), or -1 with *wait set to EV_READ or
 * EV_WRITE when the fd would block, or to 0 on error (s->err / s->errmsg
 * set). */
typedef struct eh_sock_ops {
  ssize_t (*read)(eh_sock *s, char *buf, size_t n, int *wait);
  ssize_t (*writev)(eh_sock *s, const struct iovec *iov, int iovcnt, int *wait);
  void (*close)(eh_sock *s);    /* before the fd closes: close_notify, free */
} eh_sock_ops;

struct eh_sock {
  /* What every read, write and served request touches comes first, so a
   * request of one of thousands of connections reads few cache lines
   * (docs/httpd.md, Performance); the waits' own state follows. */
  int fd;                      /* -1 once closed */
  unsigned char kind;          /* enum eh_sock_kind */
  unsigned char flags;
  short family;                /* AF_INET, AF_INET6, AF_UNIX, AF_UNSPEC */
  double timeout;              /* seconds per wait; < 0 forever, 0 never wait */
  eh_hub *hub;
  const eh_sock_ops *ops;
  void *tls;                   /* SSL * when wrapped by tls.c */
  /* read side */
  char *buf;                   /* data is buf[off .. off+len) */
  size_t cap, off, len;
  int rstatus;                 /* enum eh_io of the last fill */
  int again;                   /* the last read_some found nothing */
  int drained;                 /* the last read emptied the kernel buffer */
  int rwait, wwait;            /* EV_READ/EV_WRITE the transport waits for */
  unsigned char ridle, widle;  /* watcher left armed but unref'd between waits */
  unsigned char pooled;        /* buf is the hub's (bufpool.c), not malloc's */
  unsigned char dormant;       /* dormant: no reader, the hub wakes a callback (dormant.c) */
  /* a serve queue's member: an HTTP server's connection (serveq.c) */
  unsigned char qstate;        /* busy, watched or ready */
  unsigned char qidle;         /* ready because it was quiet, not readable */
  int qref;                    /* registry ref of what workers are handed */
  struct eh_serveq *q;         /* the queue, or NULL */
  eh_sock *qnext;              /* next in the ready list */
  double qsince;               /* ev_now() when its watch began */
  /* the parked threads and the watchers every socket arms */
  eh_thread *reader;           /* parked reader, or NULL */
  eh_thread *writer;           /* parked writer, or NULL */
  ev_io rio;                   /* the reader's watcher */
  ev_timer dtimer;             /* a dormant socket's timeout; or a serve queue's quiet check */
  /* the parked reader's continuation */
  lua_KFunction rk;
  lua_KContext rctx;
  /* write side */
  struct iovec *wiov;          /* the pending iovecs: wiov_small, or */
  struct iovec wiov_small[EH_SOCK_IOV_SMALL];  /* malloc'ed for a long write */
  int wiovcnt;
  int wstatus;
  size_t wsent;                /* bytes the current writev has sent */
  ev_io wio;                   /* the writer's watcher */
  lua_KFunction wk;
  lua_KContext wctx;
  int dref;                    /* dormant: registry ref of {fn, args...} */
  unsigned char was_blocking;  /* we set O_NONBLOCK on a shared fd: undo it */
  unsigned char was_inherited; /* we set FD_CLOEXEC on it: undo on detach */
  /* errors */
  int err;                     /* errno of the last EH_IO_ERROR */
  char *errmsg;                /* or a TLS reason (malloc'ed), or NULL: most
                                  sockets never need one, so no room is kept */
};

/* Arm a slot's watcher (EV_READ or EV_WRITE) for events; stop the reader's. */
void eh_sock_arm(eh_sock *s, int slot, int events);
void eh_sock_disarm_reader(eh_sock *s);

/* dormant.c */
void eh_sock_wake_dormant(eh_sock *s, const char *why, int polled);
void eh_sock_drop_dormant(lua_State *L, eh_sock *s);
extern const luaL_Reg eh_dormant_methods[];

/* serveq.c */
int eh_serveq_readable(eh_sock *s);
void eh_serveq_closing(eh_sock *s);
void eh_open_serveq(lua_State *L);
extern const luaL_Reg eh_serveq_funcs[];

/* The socket at idx (raises if it is not one). */
eh_sock *eh_checksocket(lua_State *L, int idx);
/* The socket at idx, or NULL. */
eh_sock *eh_tosocket(lua_State *L, int idx);
/* Push a new socket wrapping fd (made non-blocking, close-on-exec). */
eh_sock *eh_pushsocket(lua_State *L, int fd, int kind, int family);

/* The buffered, unread bytes (pointer valid until the next fill). */
const char *eh_sock_data(eh_sock *s, size_t *len);
/* Grow the read buffer to at least n bytes (0, or -1 out of memory). */
int eh_sock_reserve(eh_sock *s, size_t n);
/* Give the read buffer back while nothing is buffered or being read (an
 * idle connection: the next read takes one again). */
void eh_sock_idle(eh_sock *s);
/* Mark n buffered bytes as read. */
void eh_sock_consume(eh_sock *s, size_t n);
/* Read once into the buffer without parking: an eh_io, or EH_IO_AGAIN
 * when nothing is available now.  Loop on this, then eh_sock_fill, so a
 * fast peer cannot make k recurse. */
int eh_sock_read_some(eh_sock *s);
/* Read once more into the buffer (growing it when full), parking with
 * the socket's timeout when nothing is available; then k.  Outcome in
 * s->rstatus.  Raises if another thread is already reading. */
int eh_sock_fill(lua_State *L, eh_sock *s, lua_KContext ctx, lua_KFunction k);
/* Park until the fd is ready for events (EV_READ uses the reader's slot,
 * EV_WRITE the writer's), with the socket's timeout; then k, with
 * EH_IO_OK, EH_IO_TIMEOUT or EH_IO_CLOSED in s->rstatus (EV_READ) or
 * s->wstatus (EV_WRITE).  For accept, connect, datagrams. */
int eh_sock_wait(lua_State *L, eh_sock *s, int events, lua_KContext ctx,
                 lua_KFunction k);
/* Write every byte of iov[0..iovcnt), parking as needed; then k.  Outcome
 * in s->wstatus, bytes written in s->wsent.  Raises if another thread is
 * already writing. */
int eh_sock_writev(lua_State *L, eh_sock *s, const struct iovec *iov,
                   int iovcnt, lua_KContext ctx, lua_KFunction k);
/* A stable message for an eh_io outcome ("timeout", "closed", ...). */
const char *eh_sock_strerror(eh_sock *s, int status);
/* Push nil, message for an eh_io outcome; returns 2. */
int eh_sock_pusherror(lua_State *L, eh_sock *s, int status);
/* Close the fd (idempotent), waking parked threads with EH_IO_CLOSED. */
void eh_sock_close(eh_sock *s);

/* socket.c: the Lua side; sockio.c and sockaddr.c add methods */
void eh_open_socket(lua_State *L);
extern const luaL_Reg eh_socket_funcs[];
extern const luaL_Reg eh_sockio_methods[];
extern const luaL_Reg eh_sockaddr_methods[];
extern const luaL_Reg eh_sockaddr_funcs[];
/* sockaddr.c: numeric host, port at idx, idx+1 (a path for AF_UNIX)
 * into ss; 0, or -1 with nil, err pushed. */
struct sockaddr;
struct sockaddr_storage;
int eh_parseaddr(lua_State *L, int family, int idx, struct sockaddr_storage *ss,
                 unsigned *len);
/* Push host, port of an address (path, nil for Unix); returns 2. */
int eh_pushaddr(lua_State *L, const struct sockaddr *sa, unsigned len);
/* Set s->err to errno-like e and return EH_IO_ERROR. */
int eh_sock_seterr(eh_sock *s, int e);
int eh_sock_setreason(eh_sock *s, const char *reason);
/* A stable message for an errno ("connection refused", ...). */
const char *eh_errno_string(int e);

/* resolve.c: getaddrinfo on the worker pool (workers.h). */
extern const luaL_Reg eh_resolve_funcs[];
/* tls.h has the TLS layer. */

#endif
