/*
 * host_alloc.h -- the allocator the eventlet-lua host gives its Lua state
 * (host_alloc.c).  Part of the host only, not the core.
 */
#ifndef EVENTLET_HOST_ALLOC_H
#define EVENTLET_HOST_ALLOC_H

#include <lua.h>

/* Make L allocate through the host's allocator (unless the environment
 * leaves malloc to glibc), and watch the heap (host_heap.c). */
void eh_alloc_install(lua_State *L);

/* Give the blocks the allocator keeps back to malloc (after lua_close). */
void eh_alloc_release(void);

#endif
