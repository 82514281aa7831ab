#ifndef TAILCAST_CLINUX_H
#define TAILCAST_CLINUX_H
/* GNU extensions that Glibc's Swift module does not show without _GNU_SOURCE. */
#include <stddef.h>
#include <sys/types.h>

/* memmem(3): first occurrence of needle in haystack, or NULL. */
void *tailcast_memmem(const void *haystack, size_t haystack_len, const void *needle, size_t needle_len);
/* pipe2(2) with flags (O_CLOEXEC, O_NONBLOCK). */
int tailcast_pipe2(int fds[2], int flags);


/* mallopt(3) M_MMAP_THRESHOLD and M_ARENA_MAX; returns 1 when both were set. */
int tailcast_tune_malloc(int mmap_threshold, int arena_max);
#endif
