/* demucsvocals: separates one stem (vocals, instrumental, drums, ...) from
 * music with a Demucs v4 (HTDemucs) model, as a streaming GStreamer filter
 * (one sink pad, one source pad: what playbin's audio-filter takes). */
#pragma once

#include "gst-plugin/gstdemucsseparator.h"

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_DEMUCS_VOCALS (gst_demucs_vocals_get_type())
G_DECLARE_FINAL_TYPE(GstDemucsVocals, gst_demucs_vocals, GST, DEMUCS_VOCALS, GstDemucsSeparator)

GST_ELEMENT_REGISTER_DECLARE(demucsvocals);

G_END_DECLS
