/* A slow disk for the daemon tests of work kept off the main loop, loaded
 * into the real daemon with LD_PRELOAD: fsync of a file being received (its
 * name ends in ".partial") and unlinkat of a file named "slow-*" each take
 * DEMUCS_TEST_SLOW_DISK_MS milliseconds more. Everything else is untouched,
 * so SQLite's syncs and the job's own files go at the disk's speed. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void wait_like_a_slow_disk(void) {
  const char *ms = getenv("DEMUCS_TEST_SLOW_DISK_MS");
  if (ms != NULL) usleep((useconds_t)atoi(ms) * 1000);
}

static int ends_with(const char *text, size_t length, const char *suffix) {
  const size_t suffix_length = strlen(suffix);
  return length >= suffix_length && memcmp(text + length - suffix_length, suffix, suffix_length) == 0;
}

int fsync(int fd) {
  static int (*real_fsync)(int);
  if (real_fsync == NULL) real_fsync = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
  char link[64];
  char target[4096];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  const ssize_t length = readlink(link, target, sizeof target);
  if (length > 0 && ends_with(target, (size_t)length, ".partial")) wait_like_a_slow_disk();
  return real_fsync(fd);
}

int unlinkat(int folder, const char *name, int flags) {
  static int (*real_unlinkat)(int, const char *, int);
  if (real_unlinkat == NULL) real_unlinkat = (int (*)(int, const char *, int))dlsym(RTLD_NEXT, "unlinkat");
  const char *base = strrchr(name, '/');
  if (strncmp(base ? base + 1 : name, "slow-", 5) == 0) wait_like_a_slow_disk();
  return real_unlinkat(folder, name, flags);
}
