#define _GNU_SOURCE
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include "CLinux.h"

void *tailcast_memmem(const void *haystack, size_t haystack_len, const void *needle, size_t needle_len) {
    return memmem(haystack, haystack_len, needle, needle_len);
}

int tailcast_pipe2(int fds[2], int flags) {
    return pipe2(fds, flags);
}

#include <malloc.h>
int tailcast_tune_malloc(int mmap_threshold, int arena_max) {
    return mallopt(M_MMAP_THRESHOLD, mmap_threshold) == 1 && mallopt(M_ARENA_MAX, arena_max) == 1;
}
