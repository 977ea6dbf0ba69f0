#include "worker_protocol.h"

#include "json_reply.h"

#include <cstdio>

namespace demucs {

void write_worker_event(JsonObject *event) {
  JsonNode *node = json_object_node(event);
  const std::string line = json_text(node) + "\n";
  json_node_unref(node);
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fflush(stdout);
}

JsonObject *parse_worker_event(const std::string &line) {
  JsonNode *node = json_from_string(line.c_str(), nullptr);
  if (node == nullptr) return nullptr;
  JsonObject *object = JSON_NODE_HOLDS_OBJECT(node) ? json_node_dup_object(node) : nullptr;
  json_node_unref(node);
  if (object && !json_object_has_member(object, "event")) {
    json_object_unref(object);
    return nullptr;
  }
  return object;
}

}  // namespace demucs
