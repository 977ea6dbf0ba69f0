#include "decoded_audio.h"

#include <glib/gstdio.h>
#include <gst/gst.h>
#include <unistd.h>

#include <stdexcept>

namespace demucs::testing {

WavAudio decode_audio_file(const std::string &path) {
  // Decodes to a temporary float WAV, then reads it with read_wav.
  gchar *wav_path = g_strdup_printf("%s/decoded-XXXXXX.wav", g_get_tmp_dir());
  const int descriptor = g_mkstemp(wav_path);
  if (descriptor < 0) throw std::runtime_error("cannot make a temporary file");
  close(descriptor);
  const std::string wav = wav_path;
  g_free(wav_path);

  GstElement *pipeline = gst_pipeline_new("decode");
  GstElement *source = gst_element_factory_make("filesrc", nullptr);
  GstElement *decoder = gst_element_factory_make("decodebin", nullptr);
  GstElement *converter = gst_element_factory_make("audioconvert", nullptr);
  GstElement *filter = gst_element_factory_make("capsfilter", nullptr);
  GstElement *encoder = gst_element_factory_make("wavenc", nullptr);
  GstElement *sink = gst_element_factory_make("filesink", nullptr);
  gst_bin_add_many(GST_BIN(pipeline), source, decoder, converter, filter, encoder, sink, nullptr);
  g_object_set(source, "location", path.c_str(), nullptr);
  g_object_set(sink, "location", wav.c_str(), nullptr);
  GstCaps *caps = gst_caps_from_string("audio/x-raw,format=F32LE,layout=interleaved");
  g_object_set(filter, "caps", caps, nullptr);
  gst_caps_unref(caps);
  gst_element_link(source, decoder);
  gst_element_link_many(converter, filter, encoder, sink, nullptr);
  g_signal_connect(decoder, "pad-added", G_CALLBACK(+[](GstElement *, GstPad *pad, gpointer converter_element) {
                     GstPad *sink_pad = gst_element_get_static_pad(GST_ELEMENT(converter_element), "sink");
                     if (!gst_pad_is_linked(sink_pad)) gst_pad_link(pad, sink_pad);
                     gst_object_unref(sink_pad);
                   }),
                   converter);

  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  GstBus *bus = gst_element_get_bus(pipeline);
  GstMessage *message = gst_bus_timed_pop_filtered(bus, 60 * GST_SECOND,
                                                   static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  std::string problem;
  if (message == nullptr) {
    problem = "decoding " + path + " timed out";
  } else if (GST_MESSAGE_TYPE(message) == GST_MESSAGE_ERROR) {
    GError *error = nullptr;
    gst_message_parse_error(message, &error, nullptr);
    problem = "cannot decode " + path + ": " + error->message;
    g_error_free(error);
  }
  if (message != nullptr) gst_message_unref(message);
  gst_object_unref(bus);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);

  if (!problem.empty()) {
    g_remove(wav.c_str());
    throw std::runtime_error(problem);
  }
  WavAudio audio = read_wav(wav);
  g_remove(wav.c_str());
  return audio;
}

}  // namespace demucs::testing
