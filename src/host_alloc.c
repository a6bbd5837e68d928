/*
 * host_alloc.c -- the host's lua_Alloc: glibc malloc with a cache of
 * small blocks in front of it.
 *
 * A server that takes a connection per request makes and drops the same
 * few dozen small objects each time (a coroutine and its stack, the
 * connection and response tables, the parser, the socket, the request),
 * and a garbage-collection step frees them by the hundred.  glibc keeps
 * only 7 freed blocks of a size in its per-thread cache; the rest go to
 * its bins, and getting them back costs a few hundred instructions each
 * (callgrind: a quarter of a Connection: close request's user time went
 * to malloc and free).  So freed blocks of up to CACHE_MAX bytes are kept
 * here, in lists by size class, up to CACHE_BYTES in all, and handed out
 * again first.  The classes are glibc's own chunk sizes (usable 24, 40,
 * 56, ... bytes: 16 c + 8), so rounding a request up to its class costs
 * no memory.  A freed block goes into the class of the size Lua last
 * asked of it: malloc's usable size for a request is the smallest class
 * size that holds it, so the block has at least its class's size,
 * whoever allocated it, and serves any request of its class.
 *
 * 4 MiB holds what one collection frees while 1,000 keep-alive
 * connections are busy (the heap swings between ~2.5 and ~5 MB there);
 * with 1 MiB the rest of a sweep went back to glibc's bins and the next
 * requests' tables came from them again: 4-5 cache misses and ~700
 * instructions a request (bench/httpd/misses.sh).  Idle connections'
 * memory did not change (docs/operations.md).
 *
 * Every block still comes from malloc and, past the cache, goes back to
 * free: the cache only delays free.  Under AddressSanitizer, and under
 * valgrind (EVENTLET_VALGRIND, as scripts/check.sh sets it), there is no
 * cache, so a use after free of Lua memory is still caught.
 */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "checked.h"
#include "host_alloc.h"
#include "host_heap.h"

#define CACHE_MAX   520                    /* largest request served (class 32) */
#define CLASSES     32
#define CACHE_BYTES ((size_t)4 << 20)      /* most memory held at once */

/* A free block in a list: its first word links to the next. */
typedef struct block { struct block *next; } block;

/* The blocks kept, by class (class c holds blocks of usable size at
 * least 16 c + 8 bytes), and their total. */
typedef struct cache {
  block *spare[CLASSES + 1];
  size_t bytes;
} cache;

static cache kept;  /* the host has one Lua state */

/* The usable size of class c's blocks: glibc's chunk sizes. */
static size_t class_size(size_t c) {
  return 16 * c + 8;
}

/* The class that serves a request of n bytes (1 <= n <= CACHE_MAX). */
static size_t class_of(size_t n) {
  return n <= 24 ? 1 : (n - 8 + 15) / 16;
}

/* realloc (malloc when ptr is NULL), then let the heap watch see
 * whether that grew the heap. */
static void *from_malloc(void *ptr, size_t n) {
  void *p = realloc(ptr, n);
  eh_heap_look(n);
  return p;
}

/* Keep a block no longer in use (Lua last asked for size bytes of it),
 * or free it when it is big or the cache is full.  Its class comes from
 * size: glibc's usable sizes are the class sizes, so a block asked for
 * size bytes has at least class_size(class_of(size)) -- no need to read
 * its header (malloc_usable_size), a cache miss when the collector frees
 * a cold block. */
static void keep(cache *k, void *ptr, size_t size) {
  size_t c = class_of(size);
  if (size == 0 || size > CACHE_MAX || k->bytes + class_size(c) > CACHE_BYTES) {
    free(ptr);
    return;
  }
  ((block *)ptr)->next = k->spare[c];
  k->spare[c] = (block *)ptr;
  k->bytes += class_size(c);
}

/* A block for n bytes (n <= CACHE_MAX): a kept one of its class, else a
 * new one of the class's full size. */
static void *take(cache *k, size_t n) {
  size_t c = class_of(n);
  block *b = k->spare[c];
  if (b == NULL) return from_malloc(NULL, class_size(c));
  k->spare[c] = b->next;
  k->bytes -= class_size(c);
  return b;
}

/* Move ptr (osize bytes in use) to a small block of nsize bytes.  Lua
 * may not fail a shrink: then the old block stays. */
static void *move_small(cache *k, void *ptr, size_t osize, size_t nsize) {
  size_t usable = malloc_usable_size(ptr);
  void *p;
  if (usable >= nsize && usable <= CACHE_MAX) return ptr;  /* it still fits */
  p = take(k, nsize);
  if (p == NULL) return nsize <= osize ? ptr : NULL;
  memcpy(p, ptr, osize < nsize ? osize : nsize);
  keep(k, ptr, osize);
  return p;
}

/* The lua_Alloc: small blocks through the cache, the rest straight to
 * malloc, watching the heap grow either way. */
static void *lua_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  cache *k = ud;
  if (nsize == 0) {
    if (ptr != NULL) keep(k, ptr, osize);
    return NULL;
  }
  if (nsize <= CACHE_MAX) return ptr == NULL ? take(k, nsize) : move_small(k, ptr, osize, nsize);
  return from_malloc(ptr, nsize);
}

/* The lua_Alloc without a cache (sanitizers, valgrind): malloc, and the
 * heap watch. */
static void *plain_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  (void)ud; (void)osize;
  if (nsize == 0) {
    free(ptr);
    return NULL;
  }
  return from_malloc(ptr, nsize);
}

/* Install the allocator on L (its state is new: nothing allocated by
 * another allocator is freed by this one that malloc did not make). */
void eh_alloc_install(lua_State *L) {
  if (!eh_heap_ours()) return;
  eh_heap_watch();
  if (eh_memory_checked()) {
    lua_setallocf(L, plain_alloc, NULL);
    return;
  }
  lua_setallocf(L, lua_alloc, &kept);
}

/* Free every kept block. */
void eh_alloc_release(void) {
  size_t c;
  for (c = 1; c <= CLASSES; c++) {
    while (kept.spare[c] != NULL) {
      block *b = kept.spare[c];
      kept.spare[c] = b->next;
      free(b);
    }
  }
  kept.bytes = 0;
}
