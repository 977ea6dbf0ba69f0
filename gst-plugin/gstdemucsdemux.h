/* demucsdemux: every stem of a Demucs v4 (HTDemucs) model from one pass, a
 * source pad per stem ("src_vocals", "src_drums", ..., "src_instrumental"). */
#pragma once

#include "gst-plugin/gstdemucsseparator.h"

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_DEMUCS_DEMUX (gst_demucs_demux_get_type())
G_DECLARE_FINAL_TYPE(GstDemucsDemux, gst_demucs_demux, GST, DEMUCS_DEMUX, GstDemucsSeparator)

GST_ELEMENT_REGISTER_DECLARE(demucsdemux);

G_END_DECLS
