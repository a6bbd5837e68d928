/*
 * socket.c -- the wrapped socket object and its two I/O primitives.
 *
 * A socket owns a non-blocking fd and a read buffer.  eh_sock_fill and
 * eh_sock_writev (socket.h) try the operation at once and park the calling
 * green thread only when the fd would block: one read per wake, writes
 * attempted before any watcher is armed, no allocation per operation.
 * The methods users call live in sockio.c (receive/send) and sockaddr.c
 * (bind/connect/accept/options); this file has the object itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "socket.h"

/* Read from a plain fd.  */
static ssize_t plain_read(eh_sock *s, char *buf, size_t n, int *wait) {
  ssize_t r;
  do r = read(s->fd, buf, n); while (r < 0 && errno == EINTR);
  if (r >= 0) return r;
  if (errno == EAGAIN || errno == EWOULDBLOCK) { *wait = EV_READ; return -1; }
  *wait = 0;
  eh_sock_seterr(s, errno);
  return -1;
}

/* Write iovecs to a plain fd.  */
static ssize_t plain_writev(eh_sock *s, const struct iovec *iov, int n, int *wait) {
  ssize_t r;
  do r = writev(s->fd, iov, n); while (r < 0 && errno == EINTR);
  if (r >= 0) return r;
  if (errno == EAGAIN || errno == EWOULDBLOCK) { *wait = EV_WRITE; return -1; }
  *wait = 0;
  eh_sock_seterr(s, errno);
  return -1;
}

static const eh_sock_ops plain_ops = {plain_read, plain_writev, NULL};

/* Stable strings for the errnos users meet; strerror for the rest. */
const char *eh_errno_string(int e) {
  switch (e) {
    case ECONNREFUSED: return "connection refused";
    case ECONNRESET: return "connection reset by peer";
    case EPIPE: return "closed";
    case ETIMEDOUT: return "timeout";
    case EHOSTUNREACH: return "host unreachable";
    case ENETUNREACH: return "network unreachable";
    case EADDRINUSE: return "address already in use";
    case EADDRNOTAVAIL: return "address not available";
    case EMFILE: return "too many open files";
    case ENFILE: return "too many open files in system";
    case ENOENT: return "no such file or directory";
    case EACCES: return "permission denied";
    case ENOTCONN: return "not connected";
    case EBADF: return "closed";
    default: return strerror(e);
  }
}

/* Record errno e as the socket's error.  */
int eh_sock_seterr(eh_sock *s, int e) {
  s->err = e;
  free(s->errmsg);
  s->errmsg = NULL;
  return EH_IO_ERROR;
}

/* Record a reason (a TLS one) as the socket's error; kept in a copy of
 * its own (without memory for it, the errno's message stands in). */
int eh_sock_setreason(eh_sock *s, const char *reason) {
  free(s->errmsg);
  s->errmsg = strdup(reason);
  return EH_IO_ERROR;
}

/* A stable message for an eh_io outcome.  */
const char *eh_sock_strerror(eh_sock *s, int status) {
  switch (status) {
    case EH_IO_OK: return "ok";
    case EH_IO_TIMEOUT: case EH_IO_AGAIN: return "timeout";
    case EH_IO_EOF: case EH_IO_CLOSED: return "closed";
    default: return s->errmsg ? s->errmsg : eh_errno_string(s->err);
  }
}

/* Push nil and the outcome's message.  [-0, +2, m] */
int eh_sock_pusherror(lua_State *L, eh_sock *s, int status) {
  lua_pushnil(L);
  lua_pushstring(L, eh_sock_strerror(s, status));
  return 2;
}

/* The socket at idx, or NULL when it is something else. */
eh_sock *eh_tosocket(lua_State *L, int idx) {
  return (eh_sock *)luaL_testudata(L, idx, EH_SOCKET_MT);
}

/* The socket at idx; raises a type error otherwise. */
eh_sock *eh_checksocket(lua_State *L, int idx) {
  return (eh_sock *)eh_checkudata(L, idx, eh_gethub(L)->socket_mt, EH_SOCKET_MT);
}

/* Stop a slot's watcher, re-counting it first if it was left idle. */
static void stop_watcher(struct ev_loop *loop, ev_io *w, unsigned char *idle) {
  if (*idle) { ev_ref(loop); *idle = 0; }
  ev_io_stop(loop, w);
}

/* Arm a slot's watcher (EV_READ: the reader's, EV_WRITE: the writer's)
 * for events, counted by the loop.  A watcher left armed for the same
 * events by the last wait is reused as is: no epoll_ctl in steady
 * request/response traffic. */
void eh_sock_arm(eh_sock *s, int slot, int events) {
  struct ev_loop *loop = s->hub->loop;
  ev_io *w = slot == EV_READ ? &s->rio : &s->wio;
  unsigned char *idle = slot == EV_READ ? &s->ridle : &s->widle;
  if (ev_is_active(w) && (w->events & (EV_READ | EV_WRITE)) == events) {
    if (*idle) { ev_ref(loop); *idle = 0; }
    return;
  }
  stop_watcher(loop, w, idle);
  ev_io_set(w, s->fd, events);
  ev_io_start(loop, w);
}

/* Stop the reader's watcher. */
void eh_sock_disarm_reader(eh_sock *s) {
  stop_watcher(s->hub->loop, &s->rio, &s->ridle);
}

/* A watcher of ours fired: wake the thread parked in that slot, or, when
 * nobody waits (an idle watcher), stop watching. */
static void reader_cb(struct ev_loop *loop, ev_io *w, int revents) {
  eh_sock *s = (eh_sock *)w->data;
  (void)revents;
  if (s->reader) eh_wake_polled(s->reader);
  else if (s->dormant) eh_sock_wake_dormant(s, "readable", 1);
  else if (s->q && eh_serveq_readable(s)) return;
  else stop_watcher(loop, w, &s->ridle);
}

/* The writer's twin of reader_cb. */
static void writer_cb(struct ev_loop *loop, ev_io *w, int revents) {
  eh_sock *s = (eh_sock *)w->data;
  (void)revents;
  if (s->writer) eh_wake_polled(s->writer);
  else stop_watcher(loop, w, &s->widle);
}

/* Push a socket owning fd, which the caller made non-blocking and
 * close-on-exec (accept4, socket, socketpair and pipe2 with the flags:
 * no fcntl calls per connection).  Foreign fds go through adopt_fd.
 * [-0, +1, m] */
eh_sock *eh_pushsocket(lua_State *L, int fd, int kind, int family) {
  eh_sock *s = (eh_sock *)lua_newuserdatauv(L, sizeof *s, 1);
  memset(s, 0, sizeof *s);
  s->fd = fd;
  s->kind = (unsigned char)kind;
  s->family = (short)family;
  s->timeout = -1.;
  s->hub = eh_gethub(L);
  s->ops = &plain_ops;
  ev_init(&s->rio, reader_cb);
  s->rio.data = s;
  s->dref = LUA_NOREF;
  s->qref = LUA_NOREF;
  ev_init(&s->wio, writer_cb);
  s->wio.data = s;
  s->wiov = s->wiov_small;
  luaL_setmetatable(L, EH_SOCKET_MT);
  return s;
}

/* Make a wrapped fd we did not open non-blocking and close-on-exec,
 * noting what to give back (restore_fd_flags). */
static void adopt_fd(eh_sock *s) {
  int fl = fcntl(s->fd, F_GETFL), fdfl = fcntl(s->fd, F_GETFD);
  if (fl >= 0 && !(fl & O_NONBLOCK) && fcntl(s->fd, F_SETFL, fl | O_NONBLOCK) == 0)
    s->was_blocking = 1;
  if (fdfl >= 0 && !(fdfl & FD_CLOEXEC) && fcntl(s->fd, F_SETFD, fdfl | FD_CLOEXEC) == 0)
    s->was_inherited = 1;
}

/* Give a wrapped fd back as we found it: O_NONBLOCK lives in the open file
 * description, which a terminal or pipe shares with other processes (the
 * shell); FD_CLOEXEC matters only while the fd stays open (detach). */
static void restore_fd_flags(eh_sock *s, int keeping) {
  if (s->was_blocking) {
    int fl = fcntl(s->fd, F_GETFL);
    if (fl >= 0) fcntl(s->fd, F_SETFL, fl & ~O_NONBLOCK);
    s->was_blocking = 0;
  }
  if (keeping && s->was_inherited) {
    int fdfl = fcntl(s->fd, F_GETFD);
    if (fdfl >= 0) fcntl(s->fd, F_SETFD, fdfl & ~FD_CLOEXEC);
  }
  s->was_inherited = 0;
}

static void end_write(eh_sock *s);

/* Give s an empty standard read buffer from the hub's pool (bufpool.c:
 * apart from the Lua heap, and warm when a socket closed lately).
 * Returns 0, or -1 when memory ran out. */
static int take_buffer(eh_sock *s) {
  s->buf = eh_buf_take(&s->hub->bufs);
  if (s->buf == NULL) return -1;
  s->pooled = 1;
  s->cap = EH_SOCK_BUFSIZE;
  s->off = s->len = 0;
  return 0;
}

/* Let go of s's read buffer and what it held: back to the pool, or to
 * malloc when it grew. */
static void drop_buffer(eh_sock *s) {
  if (s->pooled) eh_buf_give(&s->hub->bufs, s->buf);
  else free(s->buf);
  s->buf = NULL;
  s->pooled = 0;
  s->cap = s->off = s->len = 0;
}

/* Move the buffered bytes to the start of the buffer. */
static void compact(eh_sock *s) {
  if (s->off > 0 && s->len > 0) memmove(s->buf, s->buf + s->off, s->len);
  s->off = 0;
}

/* Make the buffer n bytes (n > cap), the buffered bytes moved to its
 * start: a malloc'ed one is realloc'ed; a pooled one cannot grow, so its
 * bytes move to a malloc'ed one and it goes back to the pool.  Returns 0,
 * or -1 when memory ran out (the bytes are kept). */
static int grow_buffer(eh_sock *s, size_t n) {
  char *nb;
  if (s->pooled) {
    nb = (char *)malloc(n);
    if (nb == NULL) return -1;
    memcpy(nb, s->buf + s->off, s->len);
    eh_buf_give(&s->hub->bufs, s->buf);
    s->pooled = 0;
  } else {
    compact(s);
    nb = (char *)realloc(s->buf, n);
    if (nb == NULL) return -1;
  }
  s->buf = nb;
  s->cap = n;
  s->off = 0;
  return 0;
}

/* Give the read buffer back while nothing is buffered or being read: an
 * idle keep-alive connection holds no buffer, and its next read takes
 * one (http_sock.c). */
void eh_sock_idle(eh_sock *s) {
  if (s->buf != NULL && s->len == 0 && s->reader == NULL) drop_buffer(s);
}

/* Close the fd once; parked threads wake and find EH_IO_CLOSED. */
void eh_sock_close(eh_sock *s) {
  struct ev_loop *loop = s->hub->loop;
  if (s->fd < 0) return;
  eh_sock_wake_dormant(s, "closed", 0);
  eh_serveq_closing(s);
  stop_watcher(loop, &s->rio, &s->ridle);
  stop_watcher(loop, &s->wio, &s->widle);
  if (s->ops->close) s->ops->close(s);
  s->ops = &plain_ops;
  restore_fd_flags(s, 0);
  close(s->fd);
  s->fd = -1;
  drop_buffer(s);
  if (s->reader) eh_wake(s->reader, EH_WAKE_IO);
  if (s->writer) eh_wake(s->writer, EH_WAKE_IO);
  end_write(s);  /* a killed writer may have left a long write's array */
}

/* The unread bytes of the buffer.  */
const char *eh_sock_data(eh_sock *s, size_t *len) {
  *len = s->len;
  return s->buf ? s->buf + s->off : "";
}

/* Drop n buffered bytes.  */
void eh_sock_consume(eh_sock *s, size_t n) {
  if (n >= s->len) { s->off = s->len = 0; return; }
  s->off += n;
  s->len -= n;
}

/* Grow the buffer to hold at least n bytes (for large reads: fewer,
 * bigger syscalls).  Returns 0, or -1 when memory ran out. */
int eh_sock_reserve(eh_sock *s, size_t n) {
  if (s->cap >= n) return 0;
  return grow_buffer(s, n);
}

/* Make room after the buffered bytes: compact, or grow when full.
 * Returns 0, or -1 when memory ran out. */
static int make_room(eh_sock *s) {
  if (s->buf == NULL) return take_buffer(s);
  if (s->off + s->len < s->cap) return 0;
  if (s->off > 0) {
    compact(s);
    if (s->len < s->cap) return 0;
  }
  return grow_buffer(s, s->cap * 2);
}

/* One read into the buffer, without parking.  After a small plain read
 * that drained the kernel buffer, the next call reports EH_IO_AGAIN
 * without a syscall: in request/response traffic the next bytes are rarely
 * there yet, and the level-triggered poll finds them at once when they
 * are.  After a large one (a bulk stream) more has usually arrived
 * meanwhile, so the next read is tried at once. */
int eh_sock_read_some(eh_sock *s) {
  ssize_t n;
  size_t room;
  int wait = 0;
  s->again = 0;
  if (s->fd < 0) return EH_IO_CLOSED;
  if (s->drained) {
    s->drained = 0;
    if (s->timeout != 0 && s->ops == &plain_ops) {
      s->rwait = EV_READ;
      s->again = 1;
      return EH_IO_AGAIN;
    }
  }
  if (make_room(s) < 0) return eh_sock_seterr(s, ENOMEM);
  room = s->cap - s->off - s->len;
  n = s->ops->read(s, s->buf + s->off + s->len, room, &wait);
  if (n > 0) {
    s->len += (size_t)n;
    s->drained = (size_t)n < room && (size_t)n < EH_SOCK_BUFSIZE;
    return EH_IO_OK;
  }
  if (n == 0) return EH_IO_EOF;
  if (wait == 0) return EH_IO_ERROR;
  s->rwait = wait;
  s->again = 1;
  return EH_IO_AGAIN;
}

/* Arm a slot's watcher and park; k resumes.  EV_READ is the reader's
 * slot, EV_WRITE the writer's; the watcher's events may be either (TLS). */
static int park_slot(lua_State *L, eh_sock *s, int slot, int events,
                     lua_KFunction k) {
  eh_thread *t = s->hub->current;
  if (eh_pending_cancel(L, t)) { lua_pop(L, 1); return eh_raise_cancel(L, t); }
  if (slot == EV_READ) s->reader = t; else s->writer = t;
  eh_sock_arm(s, slot, events);
  return eh_park(L, s->timeout, slot == EV_READ ? "read" : "write", s->fd,
                 (lua_KContext)s, k);
}

/* End a slot's wait; raises a kill or Timeout.  The watcher stays armed
 * but uncounted (idle) for the next wait.  Returns the eh_io outcome of
 * the wait itself: OK, TIMEOUT or CLOSED. */
static int unpark_slot(lua_State *L, eh_sock *s, int slot) {
  int wake;
  eh_thread *t = s->hub->current;
  ev_io *w = slot == EV_READ ? &s->rio : &s->wio;
  unsigned char *idle = slot == EV_READ ? &s->ridle : &s->widle;
  if (slot == EV_READ) s->reader = NULL; else s->writer = NULL;
  if (ev_is_active(w) && !*idle) { ev_unref(s->hub->loop); *idle = 1; }
  wake = eh_park_check(L);
  lua_pop(L, t->nwake);
  t->nwake = 0;
  if (s->fd < 0) return EH_IO_CLOSED;
  return wake == EH_WAKE_TIMEOUT ? EH_IO_TIMEOUT : EH_IO_OK;
}

/* Refuse a second green thread on a busy slot.  */
static void check_slot(lua_State *L, eh_sock *s, int slot) {
  if (slot == EV_READ ? s->reader != NULL : s->writer != NULL)
    luaL_error(L, "socket: another green thread is already %s this socket",
               slot == EV_READ ? "reading from" : "writing to");
}

/* After a park of eh_sock_fill: read once more, or park again. */
static int fill_k(lua_State *L, int status, lua_KContext ctx) {
  eh_sock *s = (eh_sock *)ctx;
  int st = unpark_slot(L, s, EV_READ);
  (void)status;
  if (st == EH_IO_OK) {
    st = eh_sock_read_some(s);
    if (st == EH_IO_AGAIN) return park_slot(L, s, EV_READ, s->rwait, fill_k);
  }
  s->rstatus = st;
  return s->rk(L, LUA_YIELD, s->rctx);
}

/* Read once more into the buffer, parking when nothing is available.  */
int eh_sock_fill(lua_State *L, eh_sock *s, lua_KContext ctx, lua_KFunction k) {
  int st;
  check_slot(L, s, EV_READ);
  /* A read_some just found the fd dry: park without asking again. */
  st = s->again ? EH_IO_AGAIN : eh_sock_read_some(s);
  s->again = 0;
  if (st == EH_IO_AGAIN && s->timeout == 0) st = EH_IO_TIMEOUT;
  if (st != EH_IO_AGAIN) {
    s->rstatus = st;
    return k(L, LUA_OK, ctx);
  }
  s->rk = k;
  s->rctx = ctx;
  return park_slot(L, s, EV_READ, s->rwait, fill_k);
}

/* After a park of eh_sock_wait on either slot. */
static int wait_k(lua_State *L, int status, lua_KContext ctx) {
  eh_sock *s = (eh_sock *)ctx;
  int slot = s->reader == eh_gethub(L)->current ? EV_READ : EV_WRITE;
  int st = unpark_slot(L, s, slot);
  (void)status;
  if (slot == EV_READ) {
    if (st == EH_IO_OK) s->drained = 0;  /* readable now: read at once */
    s->rstatus = st;
    return s->rk(L, LUA_YIELD, s->rctx);
  }
  s->wstatus = st;
  return s->wk(L, LUA_YIELD, s->wctx);
}

/* Park until the fd is ready for events, then k.  */
int eh_sock_wait(lua_State *L, eh_sock *s, int events, lua_KContext ctx,
                 lua_KFunction k) {
  int slot = events & EV_READ ? EV_READ : EV_WRITE;
  check_slot(L, s, slot);
  if (s->fd < 0 || s->timeout == 0) {
    int st = s->fd < 0 ? EH_IO_CLOSED : EH_IO_TIMEOUT;
    if (slot == EV_READ) s->rstatus = st; else s->wstatus = st;
    return k(L, LUA_OK, ctx);
  }
  if (slot == EV_READ) { s->rk = k; s->rctx = ctx; }
  else { s->wk = k; s->wctx = ctx; }
  return park_slot(L, s, slot, events, wait_k);
}

/* Drop n written bytes from the front of the pending iovecs.  */
static void advance_iov(eh_sock *s, size_t n) {
  int i = 0;
  while (i < s->wiovcnt && n >= s->wiov[i].iov_len) n -= s->wiov[i++].iov_len;
  if (i > 0) {
    memmove(s->wiov, s->wiov + i, (size_t)(s->wiovcnt - i) * sizeof s->wiov[0]);
    s->wiovcnt -= i;
  }
  if (n > 0 && s->wiovcnt > 0) {
    s->wiov[0].iov_base = (char *)s->wiov[0].iov_base + n;
    s->wiov[0].iov_len -= n;
  }
}

/* Write what the kernel takes of the pending iovecs: EH_IO_OK when all
 * are gone, EH_IO_AGAIN with the watcher's events set, or an error. */
static int write_some(eh_sock *s) {
  while (s->wiovcnt > 0) {
    int wait = 0;
    ssize_t n;
    if (s->fd < 0) return EH_IO_CLOSED;
    n = s->ops->writev(s, s->wiov, s->wiovcnt, &wait);
    if (n < 0) {
      if (wait == 0) return EH_IO_ERROR;
      s->wwait = wait;
      return EH_IO_AGAIN;
    }
    s->wsent += (size_t)n;
    advance_iov(s, (size_t)n);
  }
  return EH_IO_OK;
}

/* The write is over: forget its iovecs (and a long write's array). */
static void end_write(eh_sock *s) {
  s->wiovcnt = 0;
  if (s->wiov != s->wiov_small) free(s->wiov);
  s->wiov = s->wiov_small;
}

/* After a park of eh_sock_writev: write more, or park again. */
static int writev_k(lua_State *L, int status, lua_KContext ctx) {
  eh_sock *s = (eh_sock *)ctx;
  int st = unpark_slot(L, s, EV_WRITE);
  (void)status;
  if (st == EH_IO_OK) {
    st = write_some(s);
    if (st == EH_IO_AGAIN)
      return park_slot(L, s, EV_WRITE, s->wwait, writev_k);
  }
  end_write(s);
  s->wstatus = st;
  return s->wk(L, LUA_YIELD, s->wctx);
}

/* Write all of iov, parking as needed, then k.  */
int eh_sock_writev(lua_State *L, eh_sock *s, const struct iovec *iov,
                   int iovcnt, lua_KContext ctx, lua_KFunction k) {
  int st, i, j = 0;
  check_slot(L, s, EV_WRITE);
  if (iovcnt > EH_SOCK_IOV_MAX)
    return luaL_error(L, "socket: more than %d buffers in one write", EH_SOCK_IOV_MAX);
  if (iovcnt > EH_SOCK_IOV_SMALL) {
    s->wiov = (struct iovec *)malloc((size_t)iovcnt * sizeof *s->wiov);
    if (s->wiov == NULL) {
      s->wiov = s->wiov_small;
      return luaL_error(L, "socket: not enough memory");
    }
  }
  for (i = 0; i < iovcnt; i++)
    if (iov[i].iov_len > 0) s->wiov[j++] = iov[i];
  s->wiovcnt = j;
  s->wsent = 0;
  st = write_some(s);
  if (st == EH_IO_AGAIN && s->timeout == 0) st = EH_IO_TIMEOUT;
  if (st != EH_IO_AGAIN) {
    end_write(s);
    s->wstatus = st;
    return k(L, LUA_OK, ctx);
  }
  s->wk = k;
  s->wctx = ctx;
  return park_slot(L, s, EV_WRITE, s->wwait, writev_k);
}

/* sock:close() -> 1: idempotent; wakes parked readers/writers with nil,
 * "closed".  [-0, +1, -] */
static int l_close(lua_State *L) {
  eh_sock_close(eh_checksocket(L, 1));
  lua_pushinteger(L, 1);
  return 1;
}

/* sock:detach() -> fd: give up the fd without closing it (the socket
 * reads as closed; buffered bytes are dropped).  [-0, +1, e] */
static int l_detach(lua_State *L) {
  eh_sock *s = eh_checksocket(L, 1);
  int fd = s->fd;
  if (s->tls) return luaL_error(L, "socket: cannot detach a TLS connection");
  if (s->reader || s->writer || s->dormant || s->q)
    return luaL_error(L, "socket: cannot detach while in use");
  stop_watcher(s->hub->loop, &s->rio, &s->ridle);
  stop_watcher(s->hub->loop, &s->wio, &s->widle);
  restore_fd_flags(s, 1);
  s->fd = -1;
  drop_buffer(s);
  lua_pushinteger(L, fd);
  return 1;
}

/* sock:settimeout(s|nil) -> 1: seconds per wait; nil or negative waits
 * forever, 0 never waits.  [-0, +1, -] */
static int l_settimeout(lua_State *L) {
  eh_sock *s = eh_checksocket(L, 1);
  double t = luaL_optnumber(L, 2, -1.);
  s->timeout = t < 0 ? -1. : t;
  lua_pushinteger(L, 1);
  return 1;
}

/* sock:gettimeout() -> seconds or nil.  [-0, +1, -] */
static int l_gettimeout(lua_State *L) {
  eh_sock *s = eh_checksocket(L, 1);
  if (s->timeout < 0) lua_pushnil(L); else lua_pushnumber(L, s->timeout);
  return 1;
}

/* sock:getfd() -> fd (-1 once closed).  [-0, +1, -] */
static int l_getfd(lua_State *L) {
  lua_pushinteger(L, eh_checksocket(L, 1)->fd);
  return 1;
}

/* sock:dirty() -> whether unread bytes are buffered.  [-0, +1, -] */
static int l_dirty(lua_State *L) {
  lua_pushboolean(L, eh_checksocket(L, 1)->len > 0);
  return 1;
}

/* __tostring: "socket{tcp}: 0x... (fd 5)" in luasocket's spirit. */
static int l_tostring(lua_State *L) {
  eh_sock *s = eh_checksocket(L, 1);
  const char *kind = s->kind == EH_SOCK_DGRAM ? "udp"
                     : s->kind == EH_SOCK_FD ? "fd"
                     : s->family == AF_UNIX ? "unix" : "tcp";
  const char *role = s->flags & EH_SOCK_LISTENING ? "server"
                     : s->flags & EH_SOCK_CONNECTED ? "client" : "master";
  if (s->fd < 0)
    lua_pushfstring(L, "socket{%s}: %p (closed)", kind, (void *)s);
  else
    lua_pushfstring(L, "socket{%s %s%s}: %p (fd %d)", kind, role,
                    s->tls ? " tls" : "", (void *)s, s->fd);
  return 1;
}

/* __gc: close, without waking a dormant registration (the state is
 * closing: nothing would run it).  [-0, +0, -] */
static int l_gc(lua_State *L) {
  eh_sock *s = eh_checksocket(L, 1);
  eh_sock_drop_dormant(L, s);
  eh_sock_close(s);
  free(s->errmsg);
  s->errmsg = NULL;
  return 0;
}

static const luaL_Reg socket_methods[] = {
  {"close", l_close}, {"detach", l_detach}, {"settimeout", l_settimeout},
  {"gettimeout", l_gettimeout}, {"getfd", l_getfd}, {"dirty", l_dirty},
  {NULL, NULL}};

static const luaL_Reg socket_meta[] = {
  {"__gc", l_gc}, {"__close", l_close}, {"__tostring", l_tostring},
  {NULL, NULL}};

/* Create the socket metatable: methods from this file, sockio.c and
 * sockaddr.c under __index (tls.c adds its own). */
void eh_open_socket(lua_State *L) {
  if (luaL_newmetatable(L, EH_SOCKET_MT)) {
    luaL_setfuncs(L, socket_meta, 0);
    lua_newtable(L);
    luaL_setfuncs(L, socket_methods, 0);
    luaL_setfuncs(L, eh_sockio_methods, 0);
    luaL_setfuncs(L, eh_sockaddr_methods, 0);
    luaL_setfuncs(L, eh_dormant_methods, 0);
    lua_setfield(L, -2, "__index");
  }
  eh_gethub(L)->socket_mt = lua_topointer(L, -1);
  lua_pop(L, 1);
}

/* wrap_fd(fd[, kind]) -> socket owning fd ("stream", "dgram" or "fd";
 * default "fd": read/write, no socket calls).  [-0, +1, m] */
static int l_wrap_fd(lua_State *L) {
  static const char *const kinds[] = {"stream", "dgram", "fd", NULL};
  int fd = (int)luaL_checkinteger(L, 1);
  int kind = luaL_checkoption(L, 2, "fd", kinds);
  luaL_argcheck(L, fd >= 0 && fcntl(fd, F_GETFD) >= 0, 1, "not an open file descriptor");
  adopt_fd(eh_pushsocket(L, fd, kind, AF_UNSPEC));
  if (kind != EH_SOCK_FD) eh_checksocket(L, -1)->flags |= EH_SOCK_CONNECTED;
  return 1;
}

/* pipe() -> reader, writer: a pipe as two fd sockets (receive on one,
 * send on the other), for talking to child processes.  [-0, +2, m] */
static int l_pipe(lua_State *L) {
  int fds[2];
  if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) < 0) {
    lua_pushnil(L);
    lua_pushstring(L, eh_errno_string(errno));
    return 2;
  }
  eh_pushsocket(L, fds[0], EH_SOCK_FD, AF_UNSPEC);
  eh_pushsocket(L, fds[1], EH_SOCK_FD, AF_UNSPEC);
  return 2;
}

/* socket_methods() -> the table of socket methods, for Lua modules that
 * add methods written in Lua (starttls).  [-0, +1, -] */
static int l_socket_methods(lua_State *L) {
  luaL_getmetatable(L, EH_SOCKET_MT);
  lua_getfield(L, -1, "__index");
  return 1;
}

const luaL_Reg eh_socket_funcs[] = {
  {"wrap_fd", l_wrap_fd}, {"pipe", l_pipe}, {"socket_methods", l_socket_methods},
  {NULL, NULL}};
