#include "json_reply.h"

namespace demucs {

JsonNode *json_object_node(JsonObject *object) {
  JsonNode *node = json_node_init_object(json_node_alloc(), object);
  json_object_unref(object);
  return node;
}

std::string json_text(JsonNode *node) {
  gchar *text = json_to_string(node, FALSE);
  std::string result = text;
  g_free(text);
  return result;
}

const char *status_phrase(guint status) {
  return status == SOUP_STATUS_MISDIRECTED_REQUEST ? "Misdirected Request" : soup_status_get_phrase(status);
}

void reply_json(SoupServerMessage *message, guint status, JsonNode *node) {
  std::string text = json_text(node);
  json_node_unref(node);
  text += "\n";
  soup_server_message_set_status(message, status, status_phrase(status));
  soup_message_headers_replace(soup_server_message_get_response_headers(message), "Cache-Control", "no-store");
  soup_server_message_set_response(message, "application/json", SOUP_MEMORY_COPY, text.data(), text.size());
}

void reply_error(SoupServerMessage *message, guint status, const std::string &text) {
  JsonObject *object = json_object_new();
  json_object_set_string_member(object, "error", text.c_str());
  reply_json(message, status, json_object_node(object));
}

}  // namespace demucs
