/*
 * netpair.c -- the limit for bench/net.sh: a plain blocking C client and
 * server over loopback TCP (one connection, no event loop).
 *
 * Servers given port 0 bind an ephemeral port and print "port=N" first.
 *   netpair echo-server PORT          echo bytes back until EOF
 *   netpair echo-client PORT N SIZE   N round trips of SIZE bytes
 *   netpair bulk-server PORT          read until EOF, then answer "k"
 *   netpair bulk-client PORT BYTES    send BYTES, wait for the "k"
 * Clients print one line: "ns=<per round trip or per MiB> wall=<s>".
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CHUNK 65536

/* Wall-clock seconds. */
static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* A loopback address for port. */
static struct sockaddr_in loopback(int port) {
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((unsigned short)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

/* Accept one connection on port. */
static int accept_one(int port) {
  struct sockaddr_in a = loopback(port);
  socklen_t al = sizeof a;
  int one = 1, l = socket(AF_INET, SOCK_STREAM, 0), c;
  setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, 16) < 0) { perror("listen"); exit(1); }
  getsockname(l, (struct sockaddr *)&a, &al);
  printf("port=%d\n", ntohs(a.sin_port));
  fflush(stdout);
  c = accept(l, NULL, NULL);
  close(l);
  setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return c;
}

/* Connect to port (the server is listening: it printed its port). */
static int connect_to(int port) {
  struct sockaddr_in a = loopback(port);
  int one = 1, s = socket(AF_INET, SOCK_STREAM, 0);
  if (connect(s, (struct sockaddr *)&a, sizeof a) != 0) { perror("connect"); exit(1); }
  setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return s;
}

/* Write all of buf. */
static void write_all(int fd, const char *buf, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, buf, n);
    if (w <= 0) { perror("write"); exit(1); }
    buf += w;
    n -= (size_t)w;
  }
}

int main(int argc, char **argv) {
  static char buf[CHUNK];
  if (argc < 3) { fprintf(stderr, "usage: see netpair.c\n"); return 2; }
  if (strcmp(argv[1], "echo-server") == 0) {
    int c = accept_one(atoi(argv[2]));
    ssize_t n;
    while ((n = read(c, buf, sizeof buf)) > 0) write_all(c, buf, (size_t)n);
    return 0;
  }
  if (strcmp(argv[1], "bulk-server") == 0) {
    int c = accept_one(atoi(argv[2]));
    while (read(c, buf, sizeof buf) > 0) {}
    write_all(c, "k", 1);
    return 0;
  }
  if (strcmp(argv[1], "echo-client") == 0 && argc >= 5) {
    int s = connect_to(atoi(argv[2]));
    long n = atol(argv[3]), i;
    size_t size = (size_t)atol(argv[4]);
    double t0;
    memset(buf, 'x', size);
    buf[size - 1] = '\n';
    t0 = now();
    for (i = 0; i < n; i++) {
      size_t got = 0;
      write_all(s, buf, size);
      while (got < size) {
        ssize_t r = read(s, buf + CHUNK / 2, CHUNK / 2);
        if (r <= 0) { perror("read"); return 1; }
        got += (size_t)r;
      }
    }
    t0 = now() - t0;
    printf("ns=%.1f wall=%.3f\n", t0 * 1e9 / (double)n, t0);
    return 0;
  }
  if (strcmp(argv[1], "bulk-client") == 0 && argc >= 4) {
    int s = connect_to(atoi(argv[2]));
    long long total = atoll(argv[3]), sent = 0;
    double t0;
    memset(buf, 'b', sizeof buf);
    t0 = now();
    while (sent < total) {
      size_t n = total - sent < CHUNK ? (size_t)(total - sent) : CHUNK;
      write_all(s, buf, n);
      sent += (long long)n;
    }
    shutdown(s, SHUT_WR);
    if (read(s, buf, 1) != 1) { perror("ack"); return 1; }
    t0 = now() - t0;
    printf("ns=%.1f wall=%.3f\n", t0 * 1e9 / ((double)total / 1048576.0), t0);
    return 0;
  }
  fprintf(stderr, "netpair: unknown mode %s\n", argv[1]);
  return 2;
}
