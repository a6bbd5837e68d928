/*
 * host_heap.h -- the host's malloc policy (host_heap.c): allocator
 * settings at start-up, and transparent huge pages for a heap that has
 * grown large.  Part of the host only, not the core.
 */
#ifndef EVENTLET_HOST_HEAP_H
#define EVENTLET_HOST_HEAP_H

#include <lua.h>

/* Settle glibc malloc's thresholds; call before anything allocates. */
void eh_heap_tune(void);

/* Route L's allocations through a wrapper that watches the heap grow
 * and, past a threshold, asks for huge pages ahead of use. */
void eh_heap_watch(lua_State *L);

#endif
