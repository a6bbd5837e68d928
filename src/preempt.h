/*
 * preempt.h -- core.preemptible() (preempt.c).
 */
#ifndef EVENTLET_PREEMPT_H
#define EVENTLET_PREEMPT_H

#include "hub.h"

extern const luaL_Reg eh_preempt_funcs[];

#endif
