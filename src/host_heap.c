/*
 * host_heap.c -- how the eventlet-lua host has glibc malloc manage its
 * heap.
 *
 * At start-up (eh_heap_tune): blocks up to 4 MiB come from the heap rather
 * than from mmap -- so reading or building a big string costs no
 * mmap/munmap pair and no fresh zeroed pages each time -- and the heap's
 * top is handed back to the kernel only when 16 MiB are free there.
 *
 * Huge pages for big heaps (eh_heap_watch, eh_heap_look after each
 * allocation that may have grown the heap; host_alloc.c calls it).  A hundred thousand green
 * threads are ~150 MB of new heap, and touching fresh memory 4 KiB at a
 * time is then most of the cost: one page fault per page, each a trap into
 * the kernel and, on a virtual machine, often an exit to the hypervisor
 * as well.  Once the brk heap has grown past HUGE_AFTER, malloc is told
 * to grow it HUGE_STEP at a time, and every new stretch is advised
 * MADV_HUGEPAGE before anything touches it, so the kernel backs it with
 * 2 MiB pages: one fault where there were 512.  When malloc takes the next
 * stretch the previous one has been carved up entirely; it is switched to
 * MADV_NOHUGEPAGE so that khugepaged never re-collapses ranges the runtime
 * has given back with MADV_DONTNEED (a dozing connection's read buffer).
 * Programs that stay below the threshold keep 4 KiB pages throughout.
 *
 * GLIBC_TUNABLES naming any glibc.malloc.* setting leaves malloc entirely
 * to glibc; EVENTLET_HUGEPAGES=0 keeps the start-up settings but never
 * asks for huge pages.  See docs/operations.md.
 */
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "host_heap.h"

#define MIB        ((uintptr_t)1 << 20)
#define HUGE_PAGE  (2 * MIB)    /* x86-64 and arm64 (4 KiB base) PMD size */
#define HUGE_AFTER (16 * MIB)   /* heap growth before huge pages are used */
#define HUGE_STEP  (32 * MIB)   /* brk stride from then on (M_TOP_PAD) */

/* The watched heap: where it began and the ranges advised. */
typedef struct heap_watch {
  int on;              /* watching at all */
  uintptr_t start;     /* brk when watching began */
  uintptr_t seen;      /* brk at the last look */
  uintptr_t hot, edge; /* the stretch advised MADV_HUGEPAGE, [hot, edge) */
  uintptr_t cold;      /* end of what was switched back, 0 before any */
  int striding;        /* M_TOP_PAD raised: huge pages are in use */
} heap_watch;

static heap_watch watch;  /* the host has one Lua state, one heap */

/* Round a down (or up) to a huge-page boundary. */
static uintptr_t huge_down(uintptr_t a) { return a & ~(HUGE_PAGE - 1); }
static uintptr_t huge_up(uintptr_t a) { return huge_down(a + HUGE_PAGE - 1); }

/* True unless the environment leaves malloc's settings to glibc. */
int eh_heap_ours(void) {
  const char *tunables = getenv("GLIBC_TUNABLES");
  return tunables == NULL || strstr(tunables, "glibc.malloc.") == NULL;
}

/* Set the start-up thresholds described above. */
void eh_heap_tune(void) {
  if (!eh_heap_ours()) return;
  mallopt(M_MMAP_THRESHOLD, 4 << 20);
  mallopt(M_TRIM_THRESHOLD, 16 << 20);
}

/* Apply advice to [from, to) when that range is not empty. */
static void advise(uintptr_t from, uintptr_t to, int advice) {
  if (to > from) (void)madvise((void *)from, to - from, advice);
}

/* The heap shrank to brk: forget advice about what is gone. */
static void heap_shrank(heap_watch *w, uintptr_t brk) {
  uintptr_t end = huge_down(brk);
  if (w->edge > end) w->edge = end;
  if (w->hot > w->edge) w->hot = w->edge;
  if (w->cold > w->edge) w->cold = w->edge;
}

/* The heap grew from old to brk, the block of n bytes just allocated
 * lying at its old end: switch the stretch advised last time back to
 * ordinary pages and advise the new one, skipping the pages malloc has
 * already written. */
static void heap_grew(heap_watch *w, uintptr_t old, uintptr_t brk, size_t n) {
  if (!w->striding) {
    if (brk - w->start < HUGE_AFTER) return;
    mallopt(M_TOP_PAD, (int)HUGE_STEP);
    mallopt(M_TRIM_THRESHOLD, (int)(2 * HUGE_STEP));
    w->striding = 1;
    return;  /* this stretch is small; the next one is the first stride */
  }
  if (w->edge > w->hot) {
    advise(w->cold ? w->cold : w->hot, w->edge, MADV_NOHUGEPAGE);
    w->cold = w->edge;
  }
  w->hot = huge_up(old + n + 2 * sizeof(size_t) + 1);
  w->edge = huge_down(brk);
  if (w->edge > w->hot) advise(w->hot, w->edge, MADV_HUGEPAGE);
  else w->edge = w->hot;
}

/* Look whether the allocation of n bytes just made moved the heap's end,
 * and act on it as described above.  Cheap: sbrk(0) reads a variable. */
void eh_heap_look(size_t n) {
  heap_watch *w = &watch;
  uintptr_t brk;
  if (!w->on) return;
  brk = (uintptr_t)sbrk(0);
  if (brk > w->seen) heap_grew(w, w->seen, brk, n);
  else if (brk < w->seen) heap_shrank(w, brk);
  w->seen = brk;
}

/* Start watching the heap, unless told not to. */
void eh_heap_watch(void) {
  const char *env = getenv("EVENTLET_HUGEPAGES");
  if (!eh_heap_ours() || (env != NULL && strcmp(env, "0") == 0)) return;
  watch.start = watch.seen = (uintptr_t)sbrk(0);
  watch.on = 1;
}
