#include "json_reply.h"

namespace demucs {

std::string json_text(JsonNode *node) {
  gchar *text = json_to_string(node, FALSE);
  std::string result = text;
  g_free(text);
  return result;
}

void reply_json(SoupServerMessage *message, guint status, JsonNode *node) {
  std::string text = json_text(node);
  json_node_unref(node);
  text += "\n";
  soup_server_message_set_status(message, status, nullptr);
  soup_message_headers_replace(soup_server_message_get_response_headers(message), "Cache-Control", "no-store");
  soup_server_message_set_response(message, "application/json", SOUP_MEMORY_COPY, text.data(), text.size());
}

void reply_error(SoupServerMessage *message, guint status, const std::string &text) {
  JsonBuilder *builder = json_builder_new();
  json_builder_begin_object(builder);
  json_builder_set_member_name(builder, "error");
  json_builder_add_string_value(builder, text.c_str());
  json_builder_end_object(builder);
  reply_json(message, status, json_builder_get_root(builder));
  g_object_unref(builder);
}

}  // namespace demucs
