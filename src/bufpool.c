/*
 * bufpool.c -- the sockets' standard read buffers, in mappings of their
 * own.
 *
 * Every connection needs a 16 KiB read buffer while it is busy, and none
 * while it idles: an idle keep-alive connection gives its buffer back
 * (http_sock.c).  Taken from malloc, those buffers would sit in the same
 * heap as the Lua objects, and each connection's few small records -- its
 * socket, tables, parser -- would end up on pages of their own between
 * buffers, so an idle connection would keep at least a page resident
 * however little it holds.  Here the buffers come from anonymous mappings
 * carved 64 at a time, apart from the heap.  A given-back buffer is kept
 * warm (resident) while fewer than EH_BUF_WARM are, so a server that
 * takes a connection per request reuses the same few buffers without a
 * page fault; past that its pages go back to the kernel (MADV_DONTNEED)
 * and the buffer waits, cold, for the next connection.  Mappings are kept
 * until the hub closes: their address space stays, their memory does not.
 *
 * Under a memory checker every buffer is malloc'ed and freed instead, so
 * a use after the give is still caught.
 */
#include <stdlib.h>
#include <sys/mman.h>

#include "bufpool.h"
#include "checked.h"

#define MAP_BUFS 64                                 /* buffers a mapping holds */
#define MAP_BYTES ((size_t)MAP_BUFS * EH_BUF_SIZE)  /* 1 MiB */

/* Start an empty pool. */
void eh_buf_init(eh_bufpool *p) {
  *p = (eh_bufpool){0};
  p->checked = eh_memory_checked();
}

/* Append item to a growable array of pointers; 0, or -1 out of memory. */
static int push(void ***items, size_t *n, size_t *cap, void *item) {
  if (*n == *cap) {
    size_t more = *cap ? *cap * 2 : 64;
    void **grown = (void **)realloc(*items, more * sizeof *grown);
    if (grown == NULL) return -1;
    *items = grown;
    *cap = more;
  }
  (*items)[(*n)++] = item;
  return 0;
}

/* Map MAP_BYTES more to carve buffers from; 0, or -1 out of memory.
 * Small pages only: a buffer's pages must be able to go back alone. */
static int map_more(eh_bufpool *p) {
  void *m = mmap(NULL, MAP_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) return -1;
  if (push(&p->maps, &p->nmaps, &p->maps_cap, m) < 0) {
    munmap(m, MAP_BYTES);
    return -1;
  }
#ifdef MADV_NOHUGEPAGE
  (void)madvise(m, MAP_BYTES, MADV_NOHUGEPAGE);
#endif
  p->fresh = (char *)m;
  p->fresh_end = p->fresh + MAP_BYTES;
  return 0;
}

/* A buffer: a warm one, else a cold one, else a fresh one. */
char *eh_buf_take(eh_bufpool *p) {
  char *buf;
  if (p->checked) buf = (char *)aligned_alloc(EH_BUF_ALIGN, EH_BUF_SIZE);
  else if (p->nwarm > 0) buf = p->warm[--p->nwarm];
  else if (p->ncold > 0) buf = (char *)p->cold[--p->ncold];
  else if (p->fresh == p->fresh_end && map_more(p) < 0) buf = NULL;
  else {
    buf = p->fresh;
    p->fresh += EH_BUF_SIZE;
  }
  if (buf != NULL) p->out++;
  return buf;
}

/* Keep buf warm if there is room, else give its pages to the kernel and
 * keep it cold.  (Should even the cold list fail to grow, buf stays
 * mapped, unused, until the hub closes: nothing is corrupted.) */
void eh_buf_give(eh_bufpool *p, char *buf) {
  p->out--;
  if (p->checked) { free(buf); return; }
  if (p->nwarm < EH_BUF_WARM) { p->warm[p->nwarm++] = buf; return; }
  (void)madvise(buf, EH_BUF_SIZE, MADV_DONTNEED);
  (void)push(&p->cold, &p->ncold, &p->cold_cap, buf);
}

/* Unmap everything; the pool is empty after. */
void eh_buf_close(eh_bufpool *p) {
  size_t i;
  for (i = 0; i < p->nmaps; i++) munmap(p->maps[i], MAP_BYTES);
  free(p->maps);
  free(p->cold);
  eh_buf_init(p);
}
