/*
 * checked.h -- whether a memory checker watches this process, so the
 * parts that keep freed memory for reuse (the host's block cache, the
 * sockets' buffer pool) hand every block back at once instead and a use
 * after free is still caught.
 */
#ifndef EVENTLET_CHECKED_H
#define EVENTLET_CHECKED_H

#include <stdlib.h>

#if defined(__SANITIZE_ADDRESS__)
#define EH_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EH_SANITIZED 1
#endif
#endif
#ifndef EH_SANITIZED
#define EH_SANITIZED 0
#endif

/* Built with AddressSanitizer, or run under valgrind by scripts/check.sh
 * (which sets EVENTLET_VALGRIND). */
static inline int eh_memory_checked(void) {
  return EH_SANITIZED || getenv("EVENTLET_VALGRIND") != NULL;
}

#endif
