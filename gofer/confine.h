/* The gofer's confinement (internal to gofer/): namespaces, a root made of
 * the spec's bind mounts only, no fds but the socket, and a seccomp
 * allowlist.  See docs/gofer.md. */
#ifndef HUSK_GOFER_CONFINE_H
#define HUSK_GOFER_CONFINE_H

#include "gofer.h"

/* Steps 1 to 5 of docs/gofer.md ("Confinement"): closes every fd but sock
 * (and stderr), enters new namespaces, clones each bind mount's host tree
 * (nosuid, nodev, read-only where the spec says so), pivots into the "/"
 * mount and drops capabilities the gofer does not need.  root_fds[i]
 * receives an O_PATH fd on the root of spec->mounts[i] (-1 for tmpfs
 * mounts).  On failure returns a negative errno and names the step in
 * *step. */
int gf_confine(const struct gf_spec *spec, int sock, int *root_fds, const char **step);

/* Step 6: no_new_privs and the seccomp allowlist (default: kill). */
int gf_seccomp(int sock, const char **step);

#endif
