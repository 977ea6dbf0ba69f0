#include "folder_removal.h"

#include <dirent.h>
#include <fcntl.h>
#include <glib.h>
#include <unistd.h>

#include <cstring>

namespace demucs {

namespace {

void remove_tree_at(int parent, const char *name) {
  const int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    unlinkat(parent, name, 0);  // a file, a link, or nothing
    return;
  }
  DIR *dir = fdopendir(fd);
  if (dir == nullptr) {
    close(fd);
    return;
  }
  while (const dirent *entry = readdir(dir)) {
    if (std::strcmp(entry->d_name, ".") == 0 || std::strcmp(entry->d_name, "..") == 0) continue;
    if (entry->d_type == DT_DIR || entry->d_type == DT_UNKNOWN)
      remove_tree_at(dirfd(dir), entry->d_name);  // not a folder after all: unlinked there
    else
      unlinkat(dirfd(dir), entry->d_name, 0);
  }
  closedir(dir);
  unlinkat(parent, name, AT_REMOVEDIR);
}

// One thread, started on first use, never stopped: the removals in order.
struct RemovalQueue {
  GMutex mutex;
  GCond idle;
  int waiting = 0;  // asked for and not yet done
  GThreadPool *pool = nullptr;

  RemovalQueue() {
    g_mutex_init(&mutex);
    g_cond_init(&idle);
    pool = g_thread_pool_new(remove_one, this, 1, FALSE, nullptr);
  }

  static void remove_one(gpointer data, gpointer queue_data) {
    auto *queue = static_cast<RemovalQueue *>(queue_data);
    char *path = static_cast<char *>(data);
    remove_tree(path);
    g_free(path);
    g_mutex_lock(&queue->mutex);
    if (--queue->waiting == 0) g_cond_broadcast(&queue->idle);
    g_mutex_unlock(&queue->mutex);
  }
};

RemovalQueue &removal_queue() {
  static RemovalQueue *queue = new RemovalQueue;  // never destroyed: the thread may still run at exit
  return *queue;
}

}  // namespace

void remove_tree(const std::string &path) { remove_tree_at(AT_FDCWD, path.c_str()); }

void remove_tree_in_background(std::string path) {
  RemovalQueue &queue = removal_queue();
  g_mutex_lock(&queue.mutex);
  ++queue.waiting;
  g_mutex_unlock(&queue.mutex);
  g_thread_pool_push(queue.pool, g_strdup(path.c_str()), nullptr);
}

void wait_for_background_removals() {
  RemovalQueue &queue = removal_queue();
  g_mutex_lock(&queue.mutex);
  while (queue.waiting > 0) g_cond_wait(&queue.idle, &queue.mutex);
  g_mutex_unlock(&queue.mutex);
}

}  // namespace demucs
