// JSON responses: a document with a status code, and the errors of the REST
// contract, {"error": "<what went wrong, in words a user understands>"}.
#pragma once

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include <string>

namespace demucs {

/// Sets `status` and `node` (consumed) as the response, application/json.
void reply_json(SoupServerMessage *message, guint status, JsonNode *node);
/// Sets `status` and {"error": text}.
void reply_error(SoupServerMessage *message, guint status, const std::string &text);
/// The reason phrase for `status` (libsoup 3.2 has none for 421).
const char *status_phrase(guint status);
/// A node holding `object` (consumed).
JsonNode *json_object_node(JsonObject *object);
/// `node` as compact JSON text (node is not consumed).
std::string json_text(JsonNode *node);

}  // namespace demucs
