/*
 * host_attach.h -- `eventlet-lua --attach ADDR`: the line-editing client
 * of a backdoor (host_attach.c).  Part of the host only, not the core.
 */
#ifndef EVENTLET_HOST_ATTACH_H
#define EVENTLET_HOST_ATTACH_H

/* Connect to the backdoor at addr ("host:port", "[v6]:port", a port,
 * "unix:/path") and run an interactive session on the terminal.  Returns
 * the exit status: 0 after a session, 1 when it could not connect, 2 when
 * the server refused the session (wrong token, too many sessions). */
int eh_attach(const char *progname, const char *addr);

#endif
