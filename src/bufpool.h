/*
 * bufpool.h -- the sockets' standard read buffers, in mappings of their
 * own (bufpool.c).  One pool per hub.
 */
#ifndef EVENTLET_BUFPOOL_H
#define EVENTLET_BUFPOOL_H

#include <stddef.h>

#define EH_BUF_SIZE 16384      /* a standard read buffer */
#define EH_BUF_ALIGN 4096      /* ...page-aligned, so its pages can go back alone */
#define EH_BUF_WARM 32         /* given-back buffers kept resident: 512 KiB */

typedef struct eh_bufpool {
  char *warm[EH_BUF_WARM];     /* given back lately, pages still resident */
  int nwarm;
  void **cold;                 /* given back, pages returned to the kernel */
  size_t ncold, cold_cap;
  char *fresh, *fresh_end;     /* the uncarved rest of the newest mapping */
  void **maps;                 /* every mapping, unmapped by eh_buf_close */
  size_t nmaps, maps_cap;
  size_t out;                  /* taken and not given back */
  int checked;                 /* a memory checker runs: malloc and free each */
} eh_bufpool;

/* Start an empty pool. */
void eh_buf_init(eh_bufpool *p);
/* A page-aligned buffer of EH_BUF_SIZE bytes, or NULL (out of memory). */
char *eh_buf_take(eh_bufpool *p);
/* Give back a buffer eh_buf_take made; its contents are lost. */
void eh_buf_give(eh_bufpool *p, char *buf);
/* Unmap everything (at lua_close: every buffer was given back). */
void eh_buf_close(eh_bufpool *p);

#endif
