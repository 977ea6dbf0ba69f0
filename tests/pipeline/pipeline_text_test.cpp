// What the runner tells a user, without running a separation: output formats,
// missing elements, and error messages from the bus.
#include "demucs_plugin_location.h"
#include "output_format.h"
#include "separation_pipeline.h"
#include "pipeline_error_text.h"

#include <gst/gst.h>
#include <gtest/gtest.h>

#include <string>

namespace demucs {
namespace {

TEST(StemList, SplitsOnCommasAndAllWins) {
  EXPECT_EQ(parse_stem_list("vocals, instrumental"), (std::vector<std::string>{"vocals", "instrumental"}));
  EXPECT_EQ(parse_stem_list("vocals,vocals,,drums"), (std::vector<std::string>{"vocals", "drums"}));
  EXPECT_EQ(parse_stem_list("all"), (std::vector<std::string>{"all"}));
  EXPECT_EQ(parse_stem_list("drums,all"), (std::vector<std::string>{"all"}));
  EXPECT_TRUE(parse_stem_list("").empty());
}

TEST(StemOutputPath, IsTheFolderTheInputNameAndTheStem) {
  EXPECT_EQ(output_name_of_input("/music/My Song.v2.mp3"), "My Song.v2");
  EXPECT_EQ(output_name_of_input(".hidden"), ".hidden");
  EXPECT_EQ(stem_output_path("/out", "song", "vocals", OutputFormat::flac), "/out/song_vocals.flac");
}

TEST(OutputFormat, ComesFromTheNameOrTheExtension) {
  EXPECT_EQ(output_format_from_name("wav"), OutputFormat::wav);
  EXPECT_EQ(output_format_from_name("FLAC"), OutputFormat::flac);
  EXPECT_EQ(output_format_from_name("mp3"), OutputFormat::mp3);
  EXPECT_EQ(output_format_from_name("ogg"), std::nullopt);
  EXPECT_EQ(output_format_from_path("out/vocals.wav"), OutputFormat::wav);
  EXPECT_EQ(output_format_from_path("Karaoke Version.FLAC"), OutputFormat::flac);
  EXPECT_EQ(output_format_from_path("a.b/vocals.mp3"), OutputFormat::mp3);
  EXPECT_EQ(output_format_from_path("a.wav/vocals"), std::nullopt);
  EXPECT_EQ(output_format_from_path("vocals"), std::nullopt);
  EXPECT_EQ(output_format_from_path("vocals.ogg"), std::nullopt);
  EXPECT_STREQ(output_format_name(OutputFormat::flac), "flac");
}

TEST(OutputFormat, EachHasAnInstalledEncoder) {
  gst_init(nullptr, nullptr);
  EXPECT_STREQ(encoder_factory_name(OutputFormat::wav), "wavenc");
  EXPECT_STREQ(encoder_factory_name(OutputFormat::flac), "flacenc");
  EXPECT_STREQ(encoder_factory_name(OutputFormat::mp3), "lamemp3enc");
  for (OutputFormat format : {OutputFormat::wav, OutputFormat::flac, OutputFormat::mp3}) {
    GstElementFactory *factory = gst_element_factory_find(encoder_factory_name(format));
    EXPECT_NE(factory, nullptr) << encoder_factory_name(format);
    if (factory != nullptr) gst_object_unref(factory);
  }
}

TEST(MissingElementText, NamesThePluginAndThePackage) {
  EXPECT_EQ(missing_element_text("lamemp3enc"),
            "the GStreamer element \"lamemp3enc\" is not installed (plugin lame, package gstreamer1.0-plugins-good)");
  EXPECT_EQ(missing_element_text("decodebin"),
            "the GStreamer element \"decodebin\" is not installed (plugin playback, package "
            "gstreamer1.0-plugins-base)");
  EXPECT_EQ(missing_element_text("oddenc"), "the GStreamer element \"oddenc\" is not installed");
}

TEST(MissingElementText, ForDemucsvocalsSaysWhereItWasLookedFor) {
  const std::string text = missing_element_text("demucsvocals");
  EXPECT_NE(text.find("\"demucsvocals\" was not found"), std::string::npos) << text;
  EXPECT_NE(text.find("GST_PLUGIN_PATH"), std::string::npos) << text;
  // This test runs from the build tree: the build's plugin folder.
  EXPECT_EQ(demucs_plugin_folder(), std::string(DEMUCS_BUILD_ROOT) + "/gst-plugin/loader");
  EXPECT_NE(text.find(demucs_plugin_folder()), std::string::npos) << text;
}

TEST(DebugDetail, DropsTheSourceLocationLine) {
  EXPECT_EQ(debug_detail("../plugins/elements/gstfilesrc.c(557): gst_file_src_start (): "
                         "/GstPipeline:separation/GstFileSrc:filesrc0:\nsystem error: No such file or directory"),
            "system error: No such file or directory");
  EXPECT_EQ(debug_detail("gsttypefindelement.c(1005): chain (): /GstPipeline:p/GstDecodeBin:d/GstTypeFindElement:t"),
            "");
  EXPECT_EQ(debug_detail("it has 1 audio channels"), "it has 1 audio channels");
  EXPECT_EQ(debug_detail(nullptr), "");
}

GstMessage *error_message(GQuark domain, int code, const char *text, const char *debug) {
  GError *error = g_error_new_literal(domain, code, text);
  GstMessage *message = gst_message_new_error(nullptr, error, debug);
  g_error_free(error);
  return message;
}

TEST(BusErrorText, IsTheMessagePlusNewDetail) {
  gst_init(nullptr, nullptr);
  GstMessage *message = error_message(GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_SETTINGS,
                                      "Model htdemucs_mono is not a stereo model.",
                                      "gstdemucsvocals.cpp(194): load_model (): /GstPipeline:separation/"
                                      "GstDemucsVocals:demucsvocals0:\nit has 1 audio channels");
  EXPECT_EQ(bus_error_text(message, "song.mp3", {}),
            "Model htdemucs_mono is not a stereo model. (it has 1 audio channels)");
  gst_message_unref(message);

  message = error_message(GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND, "Model 'x' not found.", nullptr);
  EXPECT_EQ(bus_error_text(message, "song.mp3", {}), "Model 'x' not found.");
  gst_message_unref(message);
}

TEST(BusErrorText, SaysWhenTheInputIsNotAudio) {
  gst_init(nullptr, nullptr);
  GstMessage *message = error_message(GST_STREAM_ERROR, GST_STREAM_ERROR_TYPE_NOT_FOUND,
                                      "Could not determine type of stream.", nullptr);
  EXPECT_EQ(bus_error_text(message, "notes.mp3", {}),
            "notes.mp3 is not an audio file that GStreamer can read (Could not determine type of stream.)");
  gst_message_unref(message);
}

TEST(BusErrorText, NamesMissingDecoders) {
  gst_init(nullptr, nullptr);
  GstMessage *message = error_message(GST_CORE_ERROR, GST_CORE_ERROR_MISSING_PLUGIN,
                                      "Your GStreamer installation is missing a plug-in.", nullptr);
  const std::string text = bus_error_text(message, "song.m4a", {"MPEG-4 AAC decoder"});
  gst_message_unref(message);
  EXPECT_EQ(text.rfind("cannot decode song.m4a: Your GStreamer installation is missing a plug-in. Missing: "
                       "MPEG-4 AAC decoder",
                       0),
            0u)
      << text;
  EXPECT_NE(text.find("gstreamer1.0-libav"), std::string::npos) << text;
}

}  // namespace
}  // namespace demucs
