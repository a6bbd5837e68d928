/*
 * host_heap.h -- the host's malloc policy (host_heap.c): allocator
 * settings at start-up, and transparent huge pages for a heap that has
 * grown large.  Part of the host only, not the core.
 */
#ifndef EVENTLET_HOST_HEAP_H
#define EVENTLET_HOST_HEAP_H

#include <stddef.h>

/* Whether malloc's settings are ours to choose (no glibc.malloc.*
 * tunable in the environment). */
int eh_heap_ours(void);

/* Settle glibc malloc's thresholds; call before anything allocates. */
void eh_heap_tune(void);

/* Start watching the heap grow (huge pages past a threshold). */
void eh_heap_watch(void);

/* After an allocation of n bytes from malloc: act on the heap's growth. */
void eh_heap_look(size_t n);

#endif
